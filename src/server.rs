//! The HTTPS front end: accept, TLS, HTTP/1.1 keep-alive, limits, routing,
//! authentication, body reading, and one access-log line per request.
//!
//! Request pipeline: route lookup (404 / 405 / 501) → authentication
//! (401) → tier check (401 / 403) → body read within the tier's size limit
//! and the body timeout (413) → handler → response with security headers.

use crate::api::{Reply, Req};
use crate::app::App;
use crate::auth::Tier;
use crate::routes::Lookup;
use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::header::{self, HeaderMap, HeaderName, HeaderValue};
use hyper::service::Service as _;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use socketioxide::service::SocketIoService;
use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::net::TcpListener;
use tokio::sync::{watch, Semaphore};
use tokio_rustls::TlsAcceptor;
use vp2730_model::ApiError;

/// Largest request head hyper buffers at all.
const HYPER_MAX_HEAD: usize = 64 * 1024;

/// Response body type.
pub type Body = Full<Bytes>;

/// Serves connections from `listener` until `shutdown` turns true, then
/// waits (bounded) for in-flight requests to finish.
pub async fn serve(
    app: Arc<App>,
    listener: TcpListener,
    tls: TlsAcceptor,
    service: ApiService,
    mut shutdown: watch::Receiver<bool>,
) {
    let cfg = app.config.server.clone();
    let slots = Arc::new(Semaphore::new(cfg.max_connections));
    let (conn_done_tx, mut conn_done_rx) = watch::channel(());
    loop {
        let (tcp, peer) = tokio::select! {
            r = listener.accept() => match r {
                Ok(x) => x,
                Err(e) => {
                    // EMFILE and friends: back off instead of spinning.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            _ = shutdown.changed() => break,
        };
        let Ok(permit) = slots.clone().try_acquire_owned() else {
            tracing::warn!(%peer, max = cfg.max_connections, "connection limit reached; refusing");
            drop(tcp);
            continue;
        };
        let _ = tcp.set_nodelay(true);
        let local = tcp
            .local_addr()
            .unwrap_or_else(|_| SocketAddr::from(([127, 0, 0, 1], 0)));
        let tls = tls.clone();
        let service = service.clone();
        let cfg = cfg.clone();
        let mut shutdown = shutdown.clone();
        let done = conn_done_tx.clone();
        tokio::spawn(async move {
            let _permit = permit;
            let _done = done;
            let hs = Duration::from_millis(cfg.tls_handshake_timeout_ms);
            let stream = match tokio::time::timeout(hs, tls.accept(tcp)).await {
                Ok(Ok(s)) => s,
                Ok(Err(e)) => {
                    tracing::debug!(%peer, error = %e, "TLS handshake failed");
                    return;
                }
                Err(_) => {
                    tracing::debug!(%peer, "TLS handshake timed out");
                    return;
                }
            };
            // One service for all connections (the Socket.IO engine keeps its
            // sessions there; long-polling spans connections); the peer
            // address travels in the request's extensions.
            let svc = hyper::service::service_fn(move |mut req: Request<Incoming>| {
                req.extensions_mut().insert(Peer {
                    remote: peer,
                    local,
                });
                service.call(req)
            });
            let mut builder = hyper::server::conn::http1::Builder::new();
            builder
                .keep_alive(true)
                .timer(TokioTimer::new())
                .header_read_timeout(Duration::from_millis(cfg.header_read_timeout_ms))
                // hyper's own ceiling (beyond it, it answers a bare 431);
                // the configured header limit is enforced in `dispatch` with
                // the guide's 413.
                .max_buf_size(HYPER_MAX_HEAD.max(cfg.max_header_bytes));
            let conn = builder
                .serve_connection(TokioIo::new(stream), svc)
                .with_upgrades();
            tokio::pin!(conn);
            tokio::select! {
                r = conn.as_mut() => {
                    if let Err(e) = r {
                        tracing::debug!(%peer, error = %e, "connection ended with an error");
                    }
                }
                _ = shutdown.changed() => {
                    conn.as_mut().graceful_shutdown();
                    let _ = tokio::time::timeout(Duration::from_secs(5), conn).await;
                }
            }
        });
    }
    drop(conn_done_tx);
    // Every connection task holds a sender; wait until all are gone.
    let _ = tokio::time::timeout(Duration::from_secs(6), async {
        while conn_done_rx.changed().await.is_ok() {}
    })
    .await;
}

/// The addresses of a request's connection (set per connection): the
/// client's, and ours as the client reached it.
#[derive(Clone, Copy)]
pub struct Peer {
    pub remote: SocketAddr,
    pub local: SocketAddr,
}

/// The REST pipeline as a hyper service: everything that is not
/// `/socket.io/`.
#[derive(Clone)]
pub struct Rest {
    pub app: Arc<App>,
}

impl hyper::service::Service<Request<Incoming>> for Rest {
    type Response = Response<Body>;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Response<Body>, Infallible>> + Send>>;

    fn call(&self, req: Request<Incoming>) -> Self::Future {
        let app = self.app.clone();
        let peer = req.extensions().get::<Peer>().copied().unwrap_or(Peer {
            remote: SocketAddr::from(([0, 0, 0, 0], 0)),
            local: SocketAddr::from(([127, 0, 0, 1], 0)),
        });
        Box::pin(async move { Ok(handle(app, req, peer).await) })
    }
}

/// REST behind the Socket.IO engine: what each connection is served with.
pub type ApiService = crate::socket::polling::SplitPolls<SocketIoService<Rest>>;

/// One request, end to end, with its access-log line.
async fn handle(app: Arc<App>, req: Request<Incoming>, conn: Peer) -> Response<Body> {
    let peer = conn.remote;
    let start = Instant::now();
    let method = req.method().clone();
    let path = req.uri().path().to_string();
    // The request runs as its own task: a panic in a handler becomes a
    // 500 instead of a dropped connection, and a client that hangs up does
    // not cancel a write half-way (the writer finishes or refuses it whole).
    let task = tokio::spawn({
        let app = app.clone();
        async move { dispatch(&app, req, conn).await }
    });
    let mut resp = match task.await {
        Ok(Ok(r)) => r,
        Ok(Err(e)) => error_response(&e),
        Err(e) => {
            tracing::error!(error = %e, %method, "request handler failed");
            error_response(&ApiError::System)
        }
    };
    security_headers(&mut resp);
    tracing::info!(
        target: "vp2730d::access",
        peer = %peer.ip(),
        %method,
        path = %path.chars().take(200).collect::<String>(),
        status = resp.status().as_u16(),
        latency_us = start.elapsed().as_micros() as u64,
    );
    resp
}

async fn dispatch(
    app: &Arc<App>,
    req: Request<Incoming>,
    conn: Peer,
) -> Result<Response<Body>, ApiError> {
    let peer = conn.remote;
    let head: usize = req.uri().to_string().len()
        + req
            .headers()
            .iter()
            .map(|(k, v)| k.as_str().len() + v.len() + 4)
            .sum::<usize>();
    if head > app.config.server.max_header_bytes {
        return Err(ApiError::TooLarge);
    }
    let path = req.uri().path().to_string();
    let (route, params) = match app.routes.lookup(req.method(), &path) {
        Lookup::Found(r, p) => (r, p),
        Lookup::NotFound => return Err(ApiError::not_found(&path)),
        Lookup::BadVersion => return Err(ApiError::VersionUnsupported),
        Lookup::WrongMethod(allowed) => {
            let mut resp = error_response(&ApiError::MethodNotAllowed);
            let list: Vec<&str> = allowed.iter().map(|m| m.as_str()).collect();
            if let Ok(v) = HeaderValue::from_str(&list.join(", ")) {
                resp.headers_mut().insert(header::ALLOW, v);
            }
            return Ok(resp);
        }
    };
    // Public routes (ping, login, the room picture) ignore credentials: a
    // stale header must not stop a client from logging in again.
    let caller = if route.tier == Tier::Public {
        crate::auth::Caller {
            tier: Tier::Public,
            credential: None,
        }
    } else {
        let snap = app.snapshot();
        let header = only_header(req.headers(), &header::AUTHORIZATION)
            .map_err(|_| ApiError::Unauthorized)?
            .map(HeaderValue::as_bytes);
        app.auth.check(header, &snap.room, peer.ip()).await?
    };
    if caller.tier < route.tier {
        return Err(if caller.tier == Tier::Public {
            ApiError::Unauthorized
        } else {
            ApiError::Refused
        });
    }
    let cfg = &app.config.server;
    let limit = if caller.tier == Tier::Public {
        cfg.max_body_bytes_unauthenticated
    } else {
        cfg.max_body_bytes
    };
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit as u64) {
        return Err(ApiError::TooLarge);
    }
    let base = format!("https://{}", host_of(&req, conn.local));
    let body = tokio::time::timeout(
        Duration::from_millis(cfg.body_read_timeout_ms),
        Limited::new(req.into_body(), limit).collect(),
    )
    .await
    .map_err(|_| ApiError::Invalid {
        field: "body".into(),
        value: "not received in time".into(),
    })?
    .map_err(|e| {
        if e.downcast_ref::<http_body_util::LengthLimitError>()
            .is_some()
        {
            ApiError::TooLarge
        } else {
            ApiError::Invalid {
                field: "body".into(),
                value: "unreadable".into(),
            }
        }
    })?
    .to_bytes();
    let handler_req = Req {
        params,
        body,
        tier: caller.tier,
        base,
        credential: caller.credential,
        peer: peer.ip(),
    };
    let reply = (route.handler)(app.clone(), handler_req).await?;
    Ok(reply_response(reply))
}

/// The host (and port) the client addressed, if it is a plausible host
/// name; else our address on the connection, which the client did reach.
fn host_of(req: &Request<Incoming>, local: SocketAddr) -> String {
    let authority = req.uri().authority().map(|a| a.as_str());
    addressed_host(req.headers(), authority)
        .map(str::to_string)
        .unwrap_or_else(|| local.to_string())
}

/// The one value of header `name`, if any; `Err(())` when the request
/// carries it more than once. For `Authorization` and `Host`, which line
/// counts would depend on who reads the request (a proxy may take the last,
/// hyper's `get` the first), so none does: REST and the Socket.IO handshake
/// both refuse two credentials (401) and ignore two hosts.
#[allow(clippy::result_unit_err)]
pub fn only_header<'a>(
    headers: &'a HeaderMap,
    name: &HeaderName,
) -> Result<Option<&'a HeaderValue>, ()> {
    let mut all = headers.get_all(name).iter();
    match (all.next(), all.next()) {
        (_, Some(_)) => Err(()),
        (one, None) => Ok(one),
    }
}

/// The host the client addressed — its one `Host` header, else the request
/// target's authority — if it is safe to build URLs from (RFC 9112 3.2: two
/// `Host` lines name none).
pub fn addressed_host<'a>(headers: &'a HeaderMap, authority: Option<&'a str>) -> Option<&'a str> {
    let host = match only_header(headers, &header::HOST) {
        Ok(Some(v)) => v.to_str().ok().or(authority)?,
        Ok(None) => authority?,
        Err(()) => return None,
    };
    plausible_host(host).then_some(host)
}

/// Whether a `Host` value is safe to build URLs from.
pub fn plausible_host(host: &str) -> bool {
    !host.is_empty()
        && host.len() <= 255
        && host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-.:[]_".contains(&b))
}

fn json_response(status: StatusCode, value: &serde_json::Value) -> Response<Body> {
    let mut resp = Response::new(Full::new(crate::api::json_bytes(value)));
    *resp.status_mut() = status;
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    resp
}

/// The guide's error body with its status.
pub fn error_response(e: &ApiError) -> Response<Body> {
    let status = StatusCode::from_u16(e.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    json_response(status, &e.body())
}

fn reply_response(r: Reply) -> Response<Body> {
    match r {
        Reply::Json(v) => json_response(StatusCode::OK, &v),
        Reply::NoContent => {
            let mut resp = Response::new(Full::new(Bytes::new()));
            *resp.status_mut() = StatusCode::NO_CONTENT;
            resp
        }
        Reply::Bytes { content_type, body } => {
            let mut resp = Response::new(Full::new(body));
            resp.headers_mut()
                .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
            resp
        }
    }
}

fn security_headers(resp: &mut Response<Body>) {
    let h = resp.headers_mut();
    h.insert(
        header::STRICT_TRANSPORT_SECURITY,
        HeaderValue::from_static("max-age=31536000"),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("default-src 'none'; frame-ancestors 'none'"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
}

//! Long-polling payload splitter.
//!
//! python-engineio (the transport under python-socketio 5.x) refuses a
//! polling payload holding more than 16 packets (`Payload.max_decode_packets`)
//! and drops the connection. Our engine sends whatever is queued in one
//! payload — the initial state alone is 16 events plus the connect and ping
//! packets. This wrapper caps every long-polling response at
//! [`MAX_PACKETS`] packets: the rest is kept, in order, and answered to the
//! client's next poll (which it sends at once) without waiting on the
//! engine. Websocket traffic and every other request pass through.

use bytes::Bytes;
use http_body_util::combinators::UnsyncBoxBody;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::service::Service;
use hyper::{Method, Request, Response, StatusCode};
use std::collections::{HashMap, VecDeque};
use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Most packets in one polling response (python-engineio's limit).
pub const MAX_PACKETS: usize = 16;
/// Engine.IO v4 packet separator in polling payloads.
const SEPARATOR: char = '\u{1e}';
/// Kept packets of a session nobody polls for are forgotten after this.
const STASH_TTL: Duration = Duration::from_secs(60);

/// Response body of the whole service stack.
pub type BoxBody = UnsyncBoxBody<Bytes, Box<dyn std::error::Error + Send + Sync>>;

type Stash = Arc<Mutex<HashMap<String, (Instant, VecDeque<String>)>>>;

/// Wraps the Engine.IO service `S`.
#[derive(Clone)]
pub struct SplitPolls<S> {
    inner: S,
    stash: Stash,
}

impl<S> SplitPolls<S> {
    /// Wraps `inner`.
    pub fn new(inner: S) -> Self {
        SplitPolls {
            inner,
            stash: Arc::new(Mutex::new(HashMap::new())),
        }
    }
}

/// The session id of a long-polling GET, if this is one.
fn polling_sid(req: &Request<Incoming>) -> Option<String> {
    if req.method() != Method::GET || !req.uri().path().starts_with("/socket.io") {
        return None;
    }
    let query = req.uri().query()?;
    let mut polling = false;
    let mut sid = None;
    for pair in query.split('&') {
        match pair.split_once('=') {
            Some(("transport", "polling")) => polling = true,
            Some(("sid", s)) if !s.is_empty() => sid = Some(s.to_string()),
            _ => {}
        }
    }
    sid.filter(|_| polling)
}

fn lock(stash: &Stash) -> std::sync::MutexGuard<'_, HashMap<String, (Instant, VecDeque<String>)>> {
    stash.lock().unwrap_or_else(|p| p.into_inner())
}

/// Takes up to [`MAX_PACKETS`] kept packets of `sid`.
fn take(stash: &Stash, sid: &str) -> Option<Vec<String>> {
    let mut map = lock(stash);
    let (_, queue) = map.get_mut(sid)?;
    let n = queue.len().min(MAX_PACKETS);
    let out: Vec<String> = queue.drain(..n).collect();
    if queue.is_empty() {
        map.remove(sid);
    }
    (!out.is_empty()).then_some(out)
}

fn keep(stash: &Stash, sid: String, rest: Vec<String>) {
    let mut map = lock(stash);
    let now = Instant::now();
    map.retain(|_, (t, _)| now.duration_since(*t) < STASH_TTL);
    map.entry(sid)
        .or_insert_with(|| (now, VecDeque::new()))
        .1
        .extend(rest);
}

fn payload_response(packets: &[String]) -> Response<BoxBody> {
    let body = packets.join(&SEPARATOR.to_string());
    let mut resp = Response::new(boxed(Full::new(Bytes::from(body))));
    resp.headers_mut().insert(
        hyper::header::CONTENT_TYPE,
        hyper::header::HeaderValue::from_static("text/plain; charset=UTF-8"),
    );
    resp
}

fn boxed<B>(body: B) -> BoxBody
where
    B: hyper::body::Body<Data = Bytes> + Send + 'static,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    body.map_err(Into::into).boxed_unsync()
}

impl<S, B> Service<Request<Incoming>> for SplitPolls<S>
where
    S: Service<Request<Incoming>, Response = Response<B>, Error = Infallible>
        + Clone
        + Send
        + 'static,
    S::Future: Send + 'static,
    B: hyper::body::Body<Data = Bytes> + Send + 'static,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    type Response = Response<BoxBody>;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Response<BoxBody>, Infallible>> + Send>>;

    fn call(&self, req: Request<Incoming>) -> Self::Future {
        let Some(sid) = polling_sid(&req) else {
            let fut = self.inner.call(req);
            return Box::pin(async move { Ok(fut.await?.map(boxed)) });
        };
        if let Some(packets) = take(&self.stash, &sid) {
            return Box::pin(async move { Ok(payload_response(&packets)) });
        }
        let fut = self.inner.call(req);
        let stash = self.stash.clone();
        Box::pin(async move {
            let resp = fut.await?;
            if resp.status() != StatusCode::OK {
                tracing::debug!(%sid, status = resp.status().as_u16(), "long poll refused by the engine");
                return Ok(resp.map(boxed));
            }
            let (parts, body) = resp.into_parts();
            let bytes = match body.collect().await {
                Ok(b) => b.to_bytes(),
                Err(_) => return Ok(Response::from_parts(parts, boxed(Full::new(Bytes::new())))),
            };
            let Ok(text) = std::str::from_utf8(&bytes) else {
                return Ok(Response::from_parts(parts, boxed(Full::new(bytes))));
            };
            let packets: Vec<String> = text.split(SEPARATOR).map(str::to_string).collect();
            if packets.len() <= MAX_PACKETS {
                return Ok(Response::from_parts(parts, boxed(Full::new(bytes))));
            }
            let rest = packets[MAX_PACKETS..].to_vec();
            keep(&stash, sid, rest);
            let mut out = payload_response(&packets[..MAX_PACKETS]);
            let mut headers = parts.headers;
            // The length is the new body's, set by hyper.
            headers.remove(hyper::header::CONTENT_LENGTH);
            *out.headers_mut() = headers;
            Ok(out)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stash_hands_back_in_order_and_in_chunks() {
        let stash: Stash = Arc::new(Mutex::new(HashMap::new()));
        keep(&stash, "s".into(), (0..20).map(|i| i.to_string()).collect());
        let first = take(&stash, "s").unwrap();
        assert_eq!(first.len(), MAX_PACKETS);
        assert_eq!(first[0], "0");
        let second = take(&stash, "s").unwrap();
        assert_eq!(second, vec!["16", "17", "18", "19"]);
        assert!(take(&stash, "s").is_none());
    }
}

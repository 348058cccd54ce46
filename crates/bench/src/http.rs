//! HTTPS load generator: keep-alive HTTP/1.1 connections (hyper 1 client
//! over tokio-rustls), each driven by its own task for a fixed time.

use crate::stats::Samples;
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::SendRequest;
use hyper::{Method, Request};
use hyper_util::rt::TokioIo;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::net::TcpStream;
use tokio::sync::Semaphore;
use tokio_rustls::TlsConnector;

/// Longest one request may take before it counts as failed.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
/// Longest a TCP + TLS + HTTP handshake may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// Connections being opened at once.
const CONNECT_PARALLEL: usize = 32;

/// One keep-alive connection.
pub struct Conn {
    sender: SendRequest<Full<Bytes>>,
    host: String,
}

/// An answer, fully read.
pub struct Answer {
    /// HTTP status.
    pub status: u16,
    /// Body bytes.
    pub body: Bytes,
}

impl Conn {
    /// Opens a TLS connection to `addr` and does the HTTP/1.1 handshake.
    pub async fn open(addr: SocketAddr, tls: &TlsConnector) -> Result<Conn, String> {
        let fut = async {
            let tcp = TcpStream::connect(addr)
                .await
                .map_err(|e| format!("connect: {e}"))?;
            let _ = tcp.set_nodelay(true);
            let stream = tls
                .connect(crate::tls::server_name(), tcp)
                .await
                .map_err(|e| format!("TLS: {e}"))?;
            let (sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
                .await
                .map_err(|e| format!("HTTP handshake: {e}"))?;
            tokio::spawn(async move {
                let _ = conn.await;
            });
            Ok(Conn {
                sender,
                host: addr.to_string(),
            })
        };
        tokio::time::timeout(CONNECT_TIMEOUT, fut)
            .await
            .map_err(|_| "connect timed out".to_string())?
    }

    /// Opens `n` connections, a few at a time.
    pub async fn open_many(
        addr: SocketAddr,
        tls: &TlsConnector,
        n: usize,
    ) -> Result<Vec<Conn>, String> {
        let gate = Arc::new(Semaphore::new(CONNECT_PARALLEL));
        let mut tasks = Vec::with_capacity(n);
        for _ in 0..n {
            let gate = gate.clone();
            let tls = tls.clone();
            tasks.push(tokio::spawn(async move {
                let _permit = gate.acquire_owned().await;
                Conn::open(addr, &tls).await
            }));
        }
        let mut out = Vec::with_capacity(n);
        for t in tasks {
            out.push(t.await.map_err(|e| e.to_string())??);
        }
        Ok(out)
    }

    /// Sends one request and reads the whole answer.
    pub async fn send(
        &mut self,
        method: &Method,
        path: &str,
        auth: Option<&str>,
        body: Option<Bytes>,
    ) -> Result<Answer, String> {
        let mut req = Request::builder()
            .method(method.clone())
            .uri(path)
            .header("host", &self.host);
        if let Some(a) = auth {
            req = req.header("authorization", a);
        }
        if body.is_some() {
            req = req.header("content-type", "application/json");
        }
        let req = req
            .body(Full::new(body.unwrap_or_default()))
            .map_err(|e| e.to_string())?;
        let fut = async {
            self.sender
                .ready()
                .await
                .map_err(|e| format!("connection: {e}"))?;
            let resp = self
                .sender
                .send_request(req)
                .await
                .map_err(|e| format!("request: {e}"))?;
            let status = resp.status().as_u16();
            let body = resp
                .into_body()
                .collect()
                .await
                .map_err(|e| format!("body: {e}"))?
                .to_bytes();
            Ok(Answer { status, body })
        };
        tokio::time::timeout(REQUEST_TIMEOUT, fut)
            .await
            .map_err(|_| format!("{method} {path}: no answer within {REQUEST_TIMEOUT:?}"))?
    }
}

/// What a request of a load run looks like, per connection and iteration.
pub trait Workload: Send + Sync + 'static {
    /// Method, path and optional body of request `k` on connection `c`.
    fn request(&self, c: usize, k: u64) -> (Method, &str, Option<Bytes>);
    /// The status that counts as success.
    fn expected_status(&self) -> u16;
}

/// A GET of one path.
pub struct Get(pub String);

impl Workload for Get {
    fn request(&self, _c: usize, _k: u64) -> (Method, &str, Option<Bytes>) {
        (Method::GET, &self.0, None)
    }
    fn expected_status(&self) -> u16 {
        200
    }
}

/// PATCH of `/audio/outputs/ALL` with a volume that changes on every
/// request of a connection (so each one is a real, durable write).
pub struct PatchVolume;

impl Workload for PatchVolume {
    fn request(&self, c: usize, k: u64) -> (Method, &str, Option<Bytes>) {
        // Connection c cycles through its own residues: consecutive writes
        // of one connection always differ; across connections a write
        // repeats the current value only by rare coincidence.
        let v = (c as u64 * 37 + k * 13) % 101;
        (
            Method::PATCH,
            "/api/v2.0/audio/outputs/ALL",
            Some(Bytes::from(format!("{{\"volume\":{v}}}"))),
        )
    }
    fn expected_status(&self) -> u16 {
        204
    }
}

/// Result of a load run.
pub struct LoadResult {
    /// Connections used.
    pub conns: usize,
    /// Successful requests per second over the measured window.
    pub rps: f64,
    /// Latency of successful requests.
    pub latency: Samples,
    /// Requests with another status, or failed.
    pub errors: u64,
    /// First error seen, for the report.
    pub first_error: Option<String>,
}

/// Drives `conns` keep-alive connections with `work` for `duration`
/// (after one warm-up request each), then returns the figures.
pub async fn run<W: Workload>(
    addr: SocketAddr,
    tls: &TlsConnector,
    auth: Option<String>,
    work: Arc<W>,
    conns: usize,
    duration: Duration,
) -> Result<LoadResult, String> {
    let mut opened = Conn::open_many(addr, tls, conns).await?;
    // Warm-up: one request per connection, not measured.
    for (c, conn) in opened.iter_mut().enumerate() {
        let (m, p, b) = work.request(c, u64::MAX / 2);
        conn.send(&m, p, auth.as_deref(), b).await?;
    }
    let start = Instant::now();
    let end = start + duration;
    let mut tasks = Vec::with_capacity(conns);
    for (c, mut conn) in opened.into_iter().enumerate() {
        let work = work.clone();
        let auth = auth.clone();
        tasks.push(tokio::spawn(async move {
            let mut lat = Vec::with_capacity(4096);
            let mut errors = 0u64;
            let mut first_error = None;
            let mut k = 0u64;
            while Instant::now() < end {
                let (m, p, b) = work.request(c, k);
                k += 1;
                let t = Instant::now();
                match conn.send(&m, p, auth.as_deref(), b).await {
                    Ok(a) if a.status == work.expected_status() => {
                        lat.push(t.elapsed());
                    }
                    Ok(a) => {
                        errors += 1;
                        first_error.get_or_insert_with(|| {
                            format!("status {}: {}", a.status, String::from_utf8_lossy(&a.body))
                        });
                    }
                    Err(e) => {
                        errors += 1;
                        first_error.get_or_insert(e);
                        break;
                    }
                }
            }
            (lat, errors, first_error)
        }));
    }
    let mut all = Vec::new();
    let mut errors = 0;
    let mut first_error = None;
    for t in tasks {
        let (lat, e, fe) = t.await.map_err(|e| e.to_string())?;
        all.extend(lat);
        errors += e;
        if first_error.is_none() {
            first_error = fe;
        }
    }
    let elapsed = start.elapsed().as_secs_f64();
    Ok(LoadResult {
        conns,
        rps: all.len() as f64 / elapsed,
        latency: Samples::new(all),
        errors,
        first_error,
    })
}

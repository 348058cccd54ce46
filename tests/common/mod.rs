//! Harness of the HTTPS integration tests: runs the real `vp2730d` binary on
//! the simulated device and talks to it over real TLS with a small hyper 1
//! client.
//!
//! * [`Daemon::start`] / [`Daemon::start_with_config`]: a daemon on
//!   `127.0.0.1:0` with its own temporary data dir; killed on drop (its
//!   stderr is printed when the test failed).
//! * [`Daemon::request`] and the `get`/`patch`/`post`/`delete` helpers; paths
//!   of the API groups may be given relative to `/api/v2.0`
//!   (`"/system/info"`), anything else (`/static/...`, `/sim/...`, `/`) is
//!   sent as is.
//! * [`routes`]: the route table, read from `src/routes.rs`.
//! * [`Daemon::raw`]: arbitrary bytes over TLS (oversized headers, chunked
//!   bodies, odd request lines).
//! * Assertions on the guide's error body ([`assert_error`]) and a read-back
//!   helper for rejected PATCHes ([`Daemon::assert_patch_rejected`]).

#![allow(dead_code)]

use base64::Engine;
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::header::{HeaderMap, HeaderName, HeaderValue};
use hyper::{Method, Request};
use hyper_util::rt::TokioIo;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{ClientConfig, DigitallySignedStruct, SignatureScheme};
use serde_json::Value;
use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tempfile::TempDir;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;

/// The API prefix.
pub const API: &str = "/api/v2.0";
/// How long the daemon may take to print its readiness line.
const START_TIMEOUT: Duration = Duration::from_secs(30);
/// How long one request may take before the test fails as a hang.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(20);
/// How long a SIGTERM'd daemon may take to exit.
const STOP_TIMEOUT: Duration = Duration::from_secs(15);

/// The factory account.
pub const USER: &str = "administrator";
pub const PASSWORD: &str = "password";

/// A response, fully read.
#[derive(Debug, Clone)]
pub struct Resp {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
}

impl Resp {
    /// The body as JSON (panics with the body text if it is not JSON).
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| {
            panic!(
                "response body is not JSON ({e}); status {}: {:?}",
                self.status,
                self.text()
            )
        })
    }

    /// The body as (lossy) text.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// A header value as a string.
    pub fn header(&self, name: &str) -> Option<String> {
        self.headers
            .get(name)
            .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
    }

    /// Asserts 200 with a JSON body and returns it.
    #[track_caller]
    pub fn ok_json(&self) -> Value {
        assert_eq!(
            self.status,
            200,
            "expected 200, got {}: {}",
            self.status,
            self.text()
        );
        assert_eq!(
            self.header("content-type").as_deref(),
            Some("application/json"),
            "content type of a JSON answer"
        );
        self.json()
    }

    /// Asserts 204 with an empty body.
    #[track_caller]
    pub fn assert_204(&self) {
        assert_eq!(
            self.status,
            204,
            "expected 204, got {}: {}",
            self.status,
            self.text()
        );
        assert!(self.body.is_empty(), "204 with a body: {:?}", self.text());
    }
}

/// The guide's error message template for `code`: (prefix, suffix) of the
/// message, or the whole message for codes without a parameter.
fn template(code: u64) -> (&'static str, &'static str) {
    match code {
        40000 => ("The value of ", ""),
        40001 => ("The value of ", ""),
        40002 => ("The operation on ", " is disallowed."),
        40003 => ("The field cannot be recognized: ", "."),
        40004 => ("No message content found.", ""),
        40100 => ("User account is unauthorized.", ""),
        40300 => ("The demand on the resource is refused.", ""),
        40400 => ("The resource is not found: ", "."),
        40401 => ("The instance of the resource is not found: ", "."),
        40500 => ("The operation is disallowed.", ""),
        41300 => ("The message is too large.", ""),
        50000 => ("System error.", ""),
        50100 => ("API version is unsupported.", ""),
        50300 => ("System is overloaded.", ""),
        50301 => ("System is down for maintenance.", ""),
        50302 => ("Service is not ready.", ""),
        50303 => ("Maximum is exceeded.", ""),
        50304 => ("System is in recovery mode.", ""),
        other => panic!("code {other} is not in the guide's error table"),
    }
}

/// The HTTP status the guide gives each error code.
fn status_of(code: u64) -> u16 {
    (code / 100) as u16
}

/// Asserts that `r` is the guide's error `code` (with its status), with a
/// body of exactly `{"code", "message"}`, `Content-Type: application/json`,
/// and a message following the guide's template (placeholders rendered, no
/// brackets, as spec-notes W2 says). Returns the message.
#[track_caller]
pub fn assert_error(r: &Resp, code: u64) -> String {
    let status = status_of(code);
    assert_eq!(
        r.status,
        status,
        "expected {status}/{code}, got {}: {}",
        r.status,
        r.text()
    );
    assert_eq!(
        r.header("content-type").as_deref(),
        Some("application/json"),
        "error content type; body {}",
        r.text()
    );
    let v = r.json();
    let obj = v.as_object().expect("error body is an object");
    let mut keys: Vec<&str> = obj.keys().map(String::as_str).collect();
    keys.sort_unstable();
    assert_eq!(keys, ["code", "message"], "error body keys: {v}");
    assert_eq!(v["code"], code, "error code in {v}");
    let msg = v["message"]
        .as_str()
        .expect("message is a string")
        .to_string();
    let (prefix, suffix) = template(code);
    match code {
        40000 | 40001 => {
            let word = if code == 40000 {
                "invalid"
            } else {
                "unsupported"
            };
            assert!(msg.starts_with(prefix), "message {msg:?}");
            assert!(msg.ends_with('.'), "message {msg:?}");
            assert!(
                msg.contains(&format!(" is {word}: ")),
                "message {msg:?} should say `is {word}:`"
            );
        }
        40002 | 40003 | 40400 | 40401 => {
            assert!(
                msg.starts_with(prefix)
                    && msg.ends_with(suffix)
                    && msg.len() > prefix.len() + suffix.len(),
                "message {msg:?} does not follow the template {prefix:?}...{suffix:?}"
            );
        }
        _ => assert_eq!(msg, prefix, "message of {code}"),
    }
    if matches!(code, 40000..=40003) {
        // W2: placeholders rendered without the guide's brackets.
        let field = msg
            .strip_prefix(prefix)
            .and_then(|m| m.split(" is ").next())
            .unwrap_or("");
        assert!(
            !field.contains('<') && !field.contains('{'),
            "field of {msg:?} keeps template brackets"
        );
    }
    msg
}

/// [`assert_error`] plus the exact message.
#[track_caller]
pub fn assert_error_msg(r: &Resp, code: u64, message: &str) {
    let msg = assert_error(r, code);
    assert_eq!(msg, message, "message of {code}");
}

/// `base64(user:password)`.
pub fn b64(s: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(s)
}

/// `Basic base64(user:password)`.
pub fn basic(user: &str, password: &str) -> String {
    format!("Basic {}", b64(&format!("{user}:{password}")))
}

/// JSON merge of `patch` into `base` (objects merge key by key; anything
/// else replaces): what a resource should read after a valid PATCH made of
/// its own fields.
pub fn merged(base: &Value, patch: &Value) -> Value {
    let mut out = base.clone();
    merge_into(&mut out, patch);
    out
}

fn merge_into(base: &mut Value, patch: &Value) {
    match (base, patch) {
        (Value::Object(b), Value::Object(p)) => {
            for (k, v) in p {
                match b.get_mut(k) {
                    Some(slot) => merge_into(slot, v),
                    None => {
                        b.insert(k.clone(), v.clone());
                    }
                }
            }
        }
        (slot, v) => *slot = v.clone(),
    }
}

/// Accepts any server certificate (the daemon's is self-signed).
#[derive(Debug)]
struct AcceptAnyCert(Arc<CryptoProvider>);

impl ServerCertVerifier for AcceptAnyCert {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

/// A TLS connector that accepts the daemon's self-signed certificate.
pub fn tls_connector() -> TlsConnector {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .expect("TLS versions")
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(AcceptAnyCert(provider)))
        .with_no_client_auth();
    TlsConnector::from(Arc::new(config))
}

/// The command that starts the daemon binary.
///
/// - `VP2730_DAEMON`: another daemon binary to test instead of the one cargo
///   built beside these tests. `scripts/qemu/user-tests.sh` points it at the
///   aarch64 release build, so the same (native) suite checks the ARM artefact.
/// - `VP2730_RUNNER`: a command line put before the binary, e.g.
///   `qemu-aarch64 -L /usr/aarch64-linux-gnu` (`scripts/qemu/run-aarch64`).
fn daemon_command() -> Command {
    let bin = std::env::var_os("VP2730_DAEMON")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_BIN_EXE_vp2730d")));
    let runner = std::env::var("VP2730_RUNNER").unwrap_or_default();
    let mut words = runner.split_whitespace();
    match words.next() {
        Some(program) => {
            let mut cmd = Command::new(program);
            cmd.args(words).arg(bin);
            cmd
        }
        None => Command::new(bin),
    }
}

/// A running daemon on a temporary data dir.
pub struct Daemon {
    child: Option<Child>,
    /// Where it listens.
    pub addr: SocketAddr,
    tmp: TempDir,
    config: Option<PathBuf>,
    rt: tokio::runtime::Runtime,
    tls: TlsConnector,
}

impl Daemon {
    /// Starts a daemon with the built-in configuration.
    pub fn start() -> Daemon {
        Self::launch(None)
    }

    /// Starts a daemon with `toml` as its `--config` file.
    pub fn start_with_config(toml: &str) -> Daemon {
        Self::launch(Some(toml))
    }

    /// Starts a daemon with the built-in configuration after `prepare` ran
    /// on its (empty, existing) data dir: e.g. to mount a file system there.
    pub fn start_prepared(prepare: impl FnOnce(&Path)) -> Daemon {
        Self::launch_with(None, prepare)
    }

    fn launch(toml: Option<&str>) -> Daemon {
        Self::launch_with(toml, |_| {})
    }

    fn launch_with(toml: Option<&str>, prepare: impl FnOnce(&Path)) -> Daemon {
        let tmp = tempfile::Builder::new()
            .prefix("vp2730d-test-")
            .tempdir()
            .expect("temp dir");
        let data = tmp.path().join("data");
        std::fs::create_dir_all(&data).expect("data dir");
        prepare(&data);
        let config = toml.map(|t| {
            let path = tmp.path().join("config.toml");
            std::fs::write(&path, t).expect("write config");
            path
        });
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("tokio runtime");
        let mut d = Daemon {
            child: None,
            addr: "127.0.0.1:0".parse().unwrap(),
            tmp,
            config,
            rt,
            tls: tls_connector(),
        };
        d.spawn();
        d
    }

    /// The daemon's data dir.
    pub fn data_dir(&self) -> PathBuf {
        self.tmp.path().join("data")
    }

    fn stderr_path(&self) -> PathBuf {
        self.tmp.path().join("stderr.log")
    }

    /// Everything the daemon wrote on stderr so far (all runs).
    pub fn stderr(&self) -> String {
        std::fs::read_to_string(self.stderr_path()).unwrap_or_default()
    }

    /// The process id of the running daemon.
    pub fn pid(&self) -> u32 {
        self.child.as_ref().expect("daemon running").id()
    }

    fn spawn(&mut self) {
        let stderr = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.stderr_path())
            .expect("stderr file");
        let mut cmd = daemon_command();
        cmd.arg("--sim")
            .arg("--listen")
            .arg("127.0.0.1:0")
            .arg("--data-dir")
            .arg(self.data_dir());
        if let Some(c) = &self.config {
            cmd.arg("--config").arg(c);
        }
        cmd.env("RUST_LOG", "info")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::from(stderr));
        let mut child = cmd.spawn().expect("spawn vp2730d");
        let stdout = child.stdout.take().expect("stdout");
        let (tx, rx) = mpsc::channel();
        // Reads stdout for the readiness line, then keeps draining it so the
        // daemon never blocks on a full pipe.
        std::thread::spawn(move || {
            let mut tx = Some(tx);
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if let Some(addr) = line.strip_prefix("vp2730d listening on https://") {
                    if let Some(tx) = tx.take() {
                        let _ = tx.send(addr.trim().to_string());
                    }
                }
            }
        });
        self.child = Some(child);
        let deadline = Instant::now() + START_TIMEOUT;
        loop {
            match rx.recv_timeout(Duration::from_millis(100)) {
                Ok(addr) => {
                    self.addr = addr.parse().expect("listening address");
                    return;
                }
                Err(mpsc::RecvTimeoutError::Timeout) => {
                    if let Some(status) = self.child.as_mut().unwrap().try_wait().unwrap() {
                        self.child = None;
                        panic!(
                            "vp2730d exited before it was ready ({status}); stderr:\n{}",
                            self.stderr()
                        );
                    }
                    if Instant::now() > deadline {
                        panic!(
                            "vp2730d did not print its readiness line within {START_TIMEOUT:?}; stderr:\n{}",
                            self.stderr()
                        );
                    }
                }
                Err(mpsc::RecvTimeoutError::Disconnected) => {
                    let status = self.child.as_mut().unwrap().wait().ok();
                    self.child = None;
                    panic!(
                        "vp2730d closed stdout before it was ready ({status:?}); stderr:\n{}",
                        self.stderr()
                    );
                }
            }
        }
    }

    /// Stops the daemon with SIGTERM, checks it exits cleanly (status 0)
    /// and starts it again on the same data dir (the port changes).
    pub fn restart(&mut self) {
        self.restart_after(|_| {});
    }

    /// [`Daemon::restart`], with `meddle` run on the data dir while the
    /// daemon is stopped (to damage or remove its files, say).
    pub fn restart_after(&mut self, meddle: impl FnOnce(&Path)) {
        let mut child = self.child.take().expect("daemon running");
        let ok = Command::new("kill")
            .arg("-TERM")
            .arg(child.id().to_string())
            .status()
            .expect("run kill")
            .success();
        assert!(ok, "kill -TERM failed");
        let deadline = Instant::now() + STOP_TIMEOUT;
        let status = loop {
            if let Some(s) = child.try_wait().expect("wait") {
                break s;
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                panic!(
                    "vp2730d did not exit within {STOP_TIMEOUT:?} of SIGTERM; stderr:\n{}",
                    self.stderr()
                );
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        assert!(
            status.success(),
            "vp2730d exited with {status} on SIGTERM; stderr:\n{}",
            self.stderr()
        );
        meddle(&self.data_dir());
        self.spawn();
    }

    /// Kills the daemon with SIGKILL (no chance to clean up) and starts it
    /// again on the same data dir.
    pub fn kill9_and_restart(&mut self) {
        let mut child = self.child.take().expect("daemon running");
        child.kill().expect("SIGKILL");
        child.wait().expect("wait");
        self.spawn();
    }

    /// Whether the daemon process is still running.
    pub fn is_running(&mut self) -> bool {
        match self.child.as_mut() {
            Some(c) => c.try_wait().expect("try_wait").is_none(),
            None => false,
        }
    }

    /// Full path of `path`: paths of the API groups (`/system/...`,
    /// `/audio/...`, `/video/...`, `/auth/...`, `/maintenance/...`,
    /// `/ping`) are taken relative to `/api/v2.0`; anything else is sent as
    /// is.
    pub fn path(path: &str) -> String {
        let first = path.trim_start_matches('/').split('/').next().unwrap_or("");
        if path.starts_with('/')
            && matches!(
                first,
                "system" | "audio" | "video" | "auth" | "maintenance" | "ping"
            )
        {
            format!("{API}{path}")
        } else {
            path.to_string()
        }
    }

    /// One request on a new TLS connection. `auth` is sent as the
    /// `Authorization` header as is.
    pub fn request(
        &self,
        method: &str,
        path: &str,
        auth: Option<&str>,
        body: Option<&[u8]>,
    ) -> Resp {
        let mut headers = Vec::new();
        if let Some(a) = auth {
            headers.push(("authorization", a));
        }
        self.request_with(method, path, &headers, body)
    }

    /// [`Daemon::request`] with arbitrary extra headers (`Host` included:
    /// when given it replaces the default `Host: <addr>`).
    pub fn request_with(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<&[u8]>,
    ) -> Resp {
        let url = Self::path(path);
        let method = Method::from_bytes(method.as_bytes()).expect("method");
        let mut req = Request::builder().method(method.clone()).uri(url.as_str());
        let has_host = headers.iter().any(|(k, _)| k.eq_ignore_ascii_case("host"));
        if !has_host {
            req = req.header("host", self.addr.to_string());
        }
        for (k, v) in headers {
            req = req.header(
                HeaderName::from_bytes(k.as_bytes()).expect("header name"),
                HeaderValue::from_bytes(v.as_bytes()).expect("header value"),
            );
        }
        let body = Bytes::copy_from_slice(body.unwrap_or(&[]));
        if !body.is_empty() {
            req = req.header("content-type", "application/json");
        }
        let req = req.body(Full::new(body)).expect("request");
        let addr = self.addr;
        let tls = self.tls.clone();
        let fut = async move {
            let tcp = TcpStream::connect(addr).await.expect("connect");
            let stream = tls
                .connect(ServerName::try_from("localhost").unwrap(), tcp)
                .await
                .expect("TLS handshake");
            let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
                .await
                .expect("HTTP handshake");
            tokio::spawn(async move {
                let _ = conn.await;
            });
            let resp = sender.send_request(req).await.expect("send request");
            let status = resp.status().as_u16();
            let headers = resp.headers().clone();
            let body = resp
                .into_body()
                .collect()
                .await
                .expect("read body")
                .to_bytes()
                .to_vec();
            Resp {
                status,
                headers,
                body,
            }
        };
        match self
            .rt
            .block_on(async { tokio::time::timeout(REQUEST_TIMEOUT, fut).await })
        {
            Ok(r) => r,
            Err(_) => panic!(
                "{method} {url}: no answer within {REQUEST_TIMEOUT:?}; stderr:\n{}",
                self.stderr()
            ),
        }
    }

    /// Sends `bytes` on a new TLS connection and returns everything the
    /// daemon sends back until it closes the connection (or `wait` passes).
    pub fn raw(&self, bytes: &[u8], wait: Duration) -> Vec<u8> {
        let addr = self.addr;
        let tls = self.tls.clone();
        let bytes = bytes.to_vec();
        self.rt.block_on(async move {
            let tcp = TcpStream::connect(addr).await.expect("connect");
            let mut stream = tls
                .connect(ServerName::try_from("localhost").unwrap(), tcp)
                .await
                .expect("TLS handshake");
            // The server may answer (and close) before it has read everything.
            let _ = stream.write_all(&bytes).await;
            let _ = stream.flush().await;
            let mut out = Vec::new();
            let mut buf = [0u8; 16384];
            let deadline = tokio::time::Instant::now() + wait;
            loop {
                match tokio::time::timeout_at(deadline, stream.read(&mut buf)).await {
                    Ok(Ok(0)) | Ok(Err(_)) | Err(_) => break,
                    Ok(Ok(n)) => out.extend_from_slice(&buf[..n]),
                }
            }
            out
        })
    }

    /// An HTTP/1.1 request with `Content-Length` written on a raw TLS
    /// connection (`Connection: close`), for bodies the daemon may refuse
    /// before reading them (hyper's client fails when the peer stops
    /// reading).
    pub fn raw_request(&self, method: &str, path: &str, auth: Option<&str>, body: &[u8]) -> Resp {
        let mut head = format!(
            "{method} {} HTTP/1.1\r\nHost: {}\r\nContent-Length: {}\r\nConnection: close\r\n",
            Self::path(path),
            self.addr,
            body.len()
        );
        if let Some(a) = auth {
            head.push_str(&format!("Authorization: {a}\r\n"));
        }
        head.push_str("\r\n");
        let mut bytes = head.into_bytes();
        bytes.extend_from_slice(body);
        parse_raw(&self.raw(&bytes, Duration::from_secs(10))).to_resp()
    }

    /// `POST /auth/tokens` as the factory administrator; the credential.
    pub fn login(&self) -> String {
        let body = serde_json::json!({ "authorization": b64(&format!("{USER}:{PASSWORD}")) });
        let r = self.request(
            "POST",
            "/auth/tokens",
            None,
            Some(body.to_string().as_bytes()),
        );
        let v = r.ok_json();
        v["credential"]
            .as_str()
            .unwrap_or_else(|| panic!("no credential in {v}"))
            .to_string()
    }

    /// GET.
    pub fn get(&self, path: &str, auth: &str) -> Resp {
        self.request("GET", path, Some(auth), None)
    }

    /// GET expecting 200 JSON.
    #[track_caller]
    pub fn get_json(&self, path: &str, auth: &str) -> Value {
        let r = self.get(path, auth);
        assert_eq!(r.status, 200, "GET {path}: {} {}", r.status, r.text());
        r.ok_json()
    }

    /// PATCH with a JSON body.
    pub fn patch(&self, path: &str, auth: &str, body: &Value) -> Resp {
        self.request("PATCH", path, Some(auth), Some(body.to_string().as_bytes()))
    }

    /// PATCH with raw body bytes.
    pub fn patch_raw(&self, path: &str, auth: &str, body: &[u8]) -> Resp {
        self.request("PATCH", path, Some(auth), Some(body))
    }

    /// PATCH expecting 204.
    #[track_caller]
    pub fn patch_ok(&self, path: &str, auth: &str, body: &Value) {
        let r = self.patch(path, auth, body);
        assert_eq!(
            r.status,
            204,
            "PATCH {path} {body}: {} {}",
            r.status,
            r.text()
        );
        r.assert_204();
    }

    /// PATCH expecting 204, then checks the resource reads back as before
    /// with `body` merged in; returns what it reads.
    #[track_caller]
    pub fn patch_and_verify(&self, path: &str, auth: &str, body: &Value) -> Value {
        let before = self.get_json(path, auth);
        self.patch_ok(path, auth, body);
        let after = self.get_json(path, auth);
        assert_eq!(
            after,
            merged(&before, body),
            "PATCH {path} {body} did not read back"
        );
        after
    }

    /// POST, with an optional JSON body.
    pub fn post(&self, path: &str, auth: &str, body: Option<&Value>) -> Resp {
        let b = body.map(|b| b.to_string());
        self.request("POST", path, Some(auth), b.as_deref().map(str::as_bytes))
    }

    /// DELETE.
    pub fn delete(&self, path: &str, auth: &str) -> Resp {
        self.request("DELETE", path, Some(auth), None)
    }

    /// PATCHes raw `body` to `path`, expects error `code` (and `message`
    /// when given), and checks that `path` reads back unchanged.
    #[track_caller]
    pub fn assert_patch_rejected(
        &self,
        path: &str,
        auth: &str,
        body: &[u8],
        code: u64,
        message: Option<&str>,
    ) {
        let before = self.get_json(path, auth);
        let r = self.patch_raw(path, auth, body);
        let ctx = String::from_utf8_lossy(body);
        assert!(
            r.status >= 400,
            "PATCH {path} {ctx}: expected {code}, got {} {}",
            r.status,
            r.text()
        );
        let msg = assert_error(&r, code);
        if let Some(m) = message {
            assert_eq!(msg, m, "PATCH {path} {ctx}");
        }
        let after = self.get_json(path, auth);
        assert_eq!(
            before, after,
            "PATCH {path} {ctx} was refused but changed the resource"
        );
    }

    /// [`Daemon::assert_patch_rejected`] with a JSON body.
    #[track_caller]
    pub fn assert_rejected(
        &self,
        path: &str,
        auth: &str,
        body: &Value,
        code: u64,
        message: Option<&str>,
    ) {
        self.assert_patch_rejected(path, auth, body.to_string().as_bytes(), code, message)
    }

    /// The room code, read as an administrator.
    pub fn room_code(&self, auth: &str) -> String {
        self.get_json("/system/room", auth)["security"]["code"]
            .as_str()
            .expect("room code")
            .to_string()
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
        if std::thread::panicking() {
            let log = self.stderr();
            let tail: Vec<&str> = log.lines().rev().take(60).collect();
            eprintln!("---- vp2730d stderr (last {} lines) ----", tail.len());
            for l in tail.iter().rev() {
                eprintln!("{l}");
            }
        }
    }
}

/// A file under `dir`, recursively, whose name satisfies `pred`.
pub fn find_files(dir: &Path, pred: &dyn Fn(&str) -> bool) -> Vec<PathBuf> {
    let mut out = Vec::new();
    if let Ok(rd) = std::fs::read_dir(dir) {
        for e in rd.flatten() {
            let p = e.path();
            if p.is_dir() {
                out.extend(find_files(&p, pred));
            } else if p.file_name().and_then(|n| n.to_str()).is_some_and(pred) {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

/// Checks `bytes` is a well-formed BMP (magic, size field, header size);
/// returns (width, height).
#[track_caller]
pub fn assert_bmp(bytes: &[u8]) -> (i32, i32) {
    assert!(bytes.len() > 54, "BMP too short: {} bytes", bytes.len());
    assert_eq!(&bytes[..2], b"BM", "BMP magic");
    let size = u32::from_le_bytes(bytes[2..6].try_into().unwrap()) as usize;
    assert_eq!(size, bytes.len(), "BMP size field");
    let w = i32::from_le_bytes(bytes[18..22].try_into().unwrap());
    let h = i32::from_le_bytes(bytes[22..26].try_into().unwrap());
    assert!(w > 0 && h != 0, "BMP dimensions {w}x{h}");
    (w, h)
}

/// Least tier a route needs (mirror of `src/routes.rs`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Tier {
    Public,
    Room,
    Admin,
}

/// One route of `src/routes.rs`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    pub method: String,
    pub pattern: String,
    pub tier: Tier,
}

/// The route table, read from `src/routes.rs` (`table()` then
/// `sim_table()`, which `--sim` registers), in table order. The tests
/// follow the table as it is, whatever routes it gains.
pub fn routes() -> Vec<Route> {
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/src/routes.rs"))
        .expect("src/routes.rs");
    let compact: String = text.chars().filter(|c| !c.is_whitespace()).collect();
    let mut out = Vec::new();
    for chunk in compact.split("r(M::").skip(1) {
        let mut parts = chunk.splitn(4, ',');
        let (Some(method), Some(pattern), Some(tier)) = (parts.next(), parts.next(), parts.next())
        else {
            continue;
        };
        let tier = match tier {
            "Public" => Tier::Public,
            "Room" => Tier::Room,
            "Admin" => Tier::Admin,
            other => panic!("unknown tier {other:?} in src/routes.rs"),
        };
        out.push(Route {
            method: method.to_string(),
            pattern: pattern.trim_matches('"').to_string(),
            tier,
        });
    }
    assert!(out.len() > 40, "could not read the route table: {out:?}");
    out
}

/// The guide's endpoints (`endpoints.md`) and the additions spec-notes
/// makes (A7, S8, V14, the `/static` files of A6), with the tier spec-notes
/// gives them: the route table must hold at least these.
pub const GUIDE_ROUTES: &[(&str, &str, Tier)] = &[
    ("GET", "/api/v2.0/ping", Tier::Public),
    ("POST", "/api/v2.0/auth/tokens", Tier::Public),
    ("DELETE", "/api/v2.0/auth/tokens", Tier::Admin),
    ("GET", "/api/v2.0/system/resources", Tier::Room),
    ("GET", "/api/v2.0/system/info", Tier::Room),
    ("GET", "/api/v2.0/system/osd", Tier::Admin),
    ("PATCH", "/api/v2.0/system/osd", Tier::Admin),
    ("GET", "/api/v2.0/system/room", Tier::Room),
    ("PATCH", "/api/v2.0/system/room", Tier::Admin),
    ("GET", "/api/v2.0/system/participants", Tier::Room),
    ("POST", "/api/v2.0/system/participants", Tier::Room),
    ("GET", "/api/v2.0/system/participants/{id}", Tier::Room),
    ("DELETE", "/api/v2.0/system/participants/{id}", Tier::Admin),
    ("GET", "/api/v2.0/maintenance/status", Tier::Admin),
    ("GET", "/api/v2.0/audio/resources", Tier::Admin),
    ("GET", "/api/v2.0/audio/inputs", Tier::Admin),
    ("PATCH", "/api/v2.0/audio/inputs", Tier::Admin),
    ("GET", "/api/v2.0/audio/inputs/{id}", Tier::Admin),
    ("PATCH", "/api/v2.0/audio/inputs/{id}", Tier::Admin),
    ("GET", "/api/v2.0/audio/outputs", Tier::Admin),
    ("PATCH", "/api/v2.0/audio/outputs", Tier::Admin),
    ("GET", "/api/v2.0/audio/outputs/{id}", Tier::Admin),
    ("PATCH", "/api/v2.0/audio/outputs/{id}", Tier::Admin),
    ("GET", "/api/v2.0/video/resources", Tier::Admin),
    ("GET", "/api/v2.0/video/configs", Tier::Admin),
    ("PATCH", "/api/v2.0/video/configs", Tier::Admin),
    ("GET", "/api/v2.0/video/scalerResolutions", Tier::Admin),
    ("GET", "/api/v2.0/video/vpProfiles", Tier::Admin),
    ("GET", "/api/v2.0/video/vpProfiles/now", Tier::Admin),
    ("PATCH", "/api/v2.0/video/vpProfiles/now", Tier::Admin),
    ("GET", "/api/v2.0/video/vpProfiles/{id}", Tier::Admin),
    ("GET", "/api/v2.0/video/multiviews", Tier::Admin),
    ("PATCH", "/api/v2.0/video/multiviews", Tier::Admin),
    ("GET", "/api/v2.0/video/multiviews/{id}", Tier::Admin),
    ("PATCH", "/api/v2.0/video/multiviews/{id}", Tier::Admin),
    ("GET", "/api/v2.0/video/inputs", Tier::Admin),
    ("PATCH", "/api/v2.0/video/inputs", Tier::Admin),
    ("GET", "/api/v2.0/video/inputs/{id}", Tier::Admin),
    ("PATCH", "/api/v2.0/video/inputs/{id}", Tier::Admin),
    ("GET", "/api/v2.0/video/outputs", Tier::Admin),
    ("PATCH", "/api/v2.0/video/outputs", Tier::Admin),
    ("GET", "/api/v2.0/video/outputs/{id}", Tier::Admin),
    ("PATCH", "/api/v2.0/video/outputs/{id}", Tier::Admin),
    ("GET", "/api/v2.0/video/connections", Tier::Admin),
    ("PATCH", "/api/v2.0/video/connections", Tier::Admin),
    ("GET", "/api/v2.0/video/connections/{id}", Tier::Admin),
    ("PATCH", "/api/v2.0/video/connections/{id}", Tier::Admin),
    ("GET", "/api/v2.0/video/golive", Tier::Admin),
    ("GET", "/api/v2.0/video/golive/{id}", Tier::Admin),
    ("POST", "/api/v2.0/video/golive/{id}", Tier::Admin),
    ("DELETE", "/api/v2.0/video/golive/{id}", Tier::Admin),
    ("POST", "/api/v2.0/video/snapshots", Tier::Admin),
    ("GET", "/api/v2.0/video/snapshots/state", Tier::Admin),
    ("POST", "/api/v2.0/video/snapshots/{id}", Tier::Admin),
    ("GET", "/static/picture/default_icon.jpg", Tier::Public),
    ("GET", "/static/picture/qrcode.svg", Tier::Public),
    ("GET", "/static/thumbnails/{id}", Tier::Admin),
];

/// Whether a concrete `path` matches a route `pattern` (`{id}`: one
/// non-empty segment), as the daemon's router does.
pub fn route_matches(pattern: &str, path: &str) -> bool {
    let p: Vec<&str> = pattern.split('/').collect();
    let s: Vec<&str> = path.split('/').collect();
    p.len() == s.len()
        && p.iter()
            .zip(&s)
            .all(|(p, s)| if *p == "{id}" { !s.is_empty() } else { p == s })
}

/// The methods the route table takes for a concrete path, in table order.
pub fn allowed_methods(path: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for r in routes() {
        if route_matches(&r.pattern, path) && !out.contains(&r.method) {
            out.push(r.method);
        }
    }
    out
}

/// A concrete path for a route pattern, with an id that exists.
pub fn sample_path(pattern: &str) -> String {
    let id = if pattern.starts_with("/api/v2.0/audio/inputs") {
        "STM1"
    } else if pattern.starts_with("/api/v2.0/audio/outputs") {
        "ALL"
    } else if pattern.starts_with("/static/thumbnails") {
        "Snapshot0.bmp"
    } else if pattern.starts_with("/api/v2.0/system/participants") {
        "nobody"
    } else {
        "0"
    };
    pattern.replace("{id}", id)
}

/// A response read off a raw connection: status, lower-cased headers, body.
#[derive(Debug)]
pub struct RawResp {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl RawResp {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// As a [`Resp`], for the shared assertions.
    pub fn to_resp(&self) -> Resp {
        let mut headers = HeaderMap::new();
        for (k, v) in &self.headers {
            if let (Ok(k), Ok(v)) = (
                HeaderName::from_bytes(k.as_bytes()),
                HeaderValue::from_str(v),
            ) {
                headers.append(k, v);
            }
        }
        Resp {
            status: self.status,
            headers,
            body: self.body.clone(),
        }
    }
}

/// Parses the first HTTP/1.x response in `bytes` (Content-Length bodies).
#[track_caller]
pub fn parse_raw(bytes: &[u8]) -> RawResp {
    let text = String::from_utf8_lossy(bytes);
    let end = bytes
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or_else(|| panic!("no complete response head in {text:?}"));
    let head = String::from_utf8_lossy(&bytes[..end]).into_owned();
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap_or("");
    let status: u16 = status_line
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("bad status line {status_line:?}"));
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    let rest = &bytes[end + 4..];
    let len = headers
        .iter()
        .find(|(k, _)| k == "content-length")
        .and_then(|(_, v)| v.parse::<usize>().ok())
        .unwrap_or(rest.len())
        .min(rest.len());
    RawResp {
        status,
        headers,
        body: rest[..len].to_vec(),
    }
}

/// `config/device-profile.toml` as JSON (the port map the daemon is built
/// with).
pub fn device_profile() -> Value {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/config/device-profile.toml"
    ))
    .expect("device profile");
    let table: toml::Table = toml::from_str(&text).expect("device profile TOML");
    serde_json::to_value(table).expect("profile as JSON")
}

/// The `[sim]` section of `config/default.toml`.
pub fn sim_config() -> Value {
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/config/default.toml"))
        .expect("default config");
    let table: toml::Table = toml::from_str(&text).expect("default config TOML");
    serde_json::to_value(table).expect("config as JSON")["sim"].clone()
}

/// Whether JSON array `list` holds string `id`.
pub fn holds(list: &Value, id: &str) -> bool {
    list.as_array()
        .is_some_and(|a| a.iter().any(|x| x.as_str() == Some(id)))
}

/// A ratio as the daemon prints it (V10): whole numbers without a fraction.
pub fn ratio(v: &Value) -> Value {
    let f = v.as_f64().expect("ratio");
    if f.fract() == 0.0 {
        serde_json::json!(f as i64)
    } else {
        serde_json::json!(f)
    }
}

/// Polls `cond` every 25 ms until it holds or `timeout` passes; whether it
/// held.
pub fn wait_until(timeout: Duration, mut cond: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + timeout;
    loop {
        if cond() {
            return true;
        }
        if Instant::now() > deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(25));
    }
}

/// A config that lifts the failed-attempt lockout (`[auth] max_failures`,
/// `room_code_failures_per_minute`), for tests that send many bad
/// credentials on purpose.
pub const NO_LOCKOUT: &str =
    "[auth]\nmax_failures = 100000\nroom_code_failures_per_minute = 100000\n";

/// Every PATCH endpoint of the route table: (path, and for bulk endpoints
/// the list key and an id in it). Tests that sweep them check the count
/// against `routes()`.
pub const PATCH_ENDPOINTS: &[(&str, Option<(&str, &str)>)] = &[
    ("/system/osd", None),
    ("/system/room", None),
    ("/video/configs", None),
    ("/video/vpProfiles/now", None),
    ("/audio/inputs", Some(("inputs", "STM1"))),
    ("/audio/inputs/MIC1", None),
    ("/audio/outputs", Some(("outputs", "ALL"))),
    ("/audio/outputs/HDBTC", None),
    ("/video/multiviews", Some(("multiviews", "3"))),
    ("/video/multiviews/1", None),
    ("/video/inputs", Some(("inputs", "6"))),
    ("/video/inputs/2", None),
    ("/video/outputs", Some(("outputs", "2"))),
    ("/video/outputs/1", None),
    ("/video/connections", Some(("connections", "1"))),
    ("/video/connections/2", None),
];

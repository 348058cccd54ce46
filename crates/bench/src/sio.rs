//! A minimal Socket.IO v5 client over Engine.IO v4 websocket transport
//! (tokio-tungstenite over tokio-rustls), enough to count events:
//!
//! 1. `GET wss://ADDR/socket.io/?EIO=4&transport=websocket` (upgrade);
//! 2. read the Engine.IO open packet `0{"sid":...}`;
//! 3. send the Socket.IO connect `40{"token":"<credential>"}`, read `40{...}`
//!    (`44{...}` is a refusal);
//! 4. answer each ping `2` with a pong `3`; events arrive as
//!    `42["<event name>",<payload>]`.
//!
//! Each client runs one task that reads its socket; every
//! `/api/v2.0/audio/outputs` event is reported with its arrival time and
//! the volume of output `ALL` it carries.

use futures_util::{SinkExt, StreamExt};
use serde_json::Value;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::net::TcpStream;
use tokio::sync::{mpsc, Semaphore};
use tokio::task::JoinHandle;
use tokio_rustls::TlsConnector;
use tokio_tungstenite::tungstenite::Message;

/// Event whose arrivals are reported.
pub const AUDIO_OUTPUTS: &str = "/api/v2.0/audio/outputs";
/// Longest the whole connect sequence may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(20);
/// Clients connecting at once.
const CONNECT_PARALLEL: usize = 32;

/// One `/api/v2.0/audio/outputs` event as a client received it.
#[derive(Debug, Clone, Copy)]
pub struct Receipt {
    /// Volume of output `ALL` in the payload.
    pub volume: i64,
    /// When the client read it.
    pub at: Instant,
}

/// A connected client; its reader task stops when this is dropped.
pub struct Client {
    task: JoinHandle<()>,
    closed: Arc<std::sync::Mutex<Option<String>>>,
}

impl Client {
    /// Why the socket was closed (by the server or an error), if it was.
    pub fn closed(&self) -> Option<String> {
        self.closed.lock().ok()?.clone()
    }
}

impl Drop for Client {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Volume of output `ALL` in an `audio/outputs` event packet, if `text` is
/// one.
pub fn audio_event_volume(text: &str) -> Option<i64> {
    let rest = text.strip_prefix("42")?;
    if !rest.starts_with(&format!("[\"{AUDIO_OUTPUTS}\"")) {
        return None;
    }
    let v: Value = serde_json::from_str(rest).ok()?;
    v.get(1)?
        .get("outputs")?
        .as_array()?
        .iter()
        .find(|o| o.get("id").and_then(Value::as_str) == Some("ALL"))?
        .get("volume")?
        .as_i64()
}

impl Client {
    /// Connects and authenticates with `token`; receipts go to `tx`.
    pub async fn connect(
        addr: SocketAddr,
        tls: &TlsConnector,
        token: &str,
        tx: mpsc::UnboundedSender<Receipt>,
    ) -> Result<Client, String> {
        let fut = async {
            let tcp = TcpStream::connect(addr)
                .await
                .map_err(|e| format!("connect: {e}"))?;
            let _ = tcp.set_nodelay(true);
            let stream = tls
                .connect(crate::tls::server_name(), tcp)
                .await
                .map_err(|e| format!("TLS: {e}"))?;
            let url = format!("wss://{addr}/socket.io/?EIO=4&transport=websocket");
            let (mut ws, _) = tokio_tungstenite::client_async(url, stream)
                .await
                .map_err(|e| format!("websocket upgrade: {e}"))?;
            // Engine.IO open packet.
            match ws.next().await {
                Some(Ok(Message::Text(t))) if t.starts_with('0') => {}
                other => return Err(format!("expected the open packet, got {other:?}")),
            }
            ws.send(Message::text(format!("40{{\"token\":\"{token}\"}}")))
                .await
                .map_err(|e| format!("send connect: {e}"))?;
            loop {
                match ws.next().await {
                    Some(Ok(Message::Text(t))) if t.starts_with("40") => break,
                    Some(Ok(Message::Text(t))) if t.as_str() == "2" => {
                        ws.send(Message::text("3"))
                            .await
                            .map_err(|e| format!("pong: {e}"))?;
                    }
                    Some(Ok(Message::Text(t))) if t.starts_with("44") => {
                        return Err(format!("connection refused: {t}"))
                    }
                    Some(Ok(_)) => {}
                    other => return Err(format!("expected the connect packet, got {other:?}")),
                }
            }
            Ok(ws)
        };
        let mut ws = tokio::time::timeout(CONNECT_TIMEOUT, fut)
            .await
            .map_err(|_| "Socket.IO connect timed out".to_string())??;
        let closed = Arc::new(std::sync::Mutex::new(None));
        let why = closed.clone();
        let task = tokio::spawn(async move {
            let since = Instant::now();
            let mut packets = 0u64;
            let mut kinds = String::new();
            let reason = loop {
                let msg = match ws.next().await {
                    Some(Ok(m)) => m,
                    Some(Err(e)) => break format!("error: {e}"),
                    None => break "closed".to_string(),
                };
                let t = match msg {
                    Message::Text(t) => t,
                    Message::Close(f) => break format!("close frame {f:?}"),
                    _ => continue,
                };
                packets += 1;
                if kinds.len() < 64 {
                    kinds.push_str(t.get(..2).unwrap_or(t.as_str()));
                    kinds.push(' ');
                }
                if t.as_str() == "2" {
                    if let Err(e) = ws.send(Message::text("3")).await {
                        break format!("pong: {e}");
                    }
                } else if let Some(volume) = audio_event_volume(&t) {
                    let _ = tx.send(Receipt {
                        volume,
                        at: Instant::now(),
                    });
                } else if !t.starts_with("42") {
                    break format!(
                        "unexpected packet {:?}",
                        t.chars().take(80).collect::<String>()
                    );
                }
            };
            if let Ok(mut c) = why.lock() {
                *c = Some(format!(
                    "{reason} after {packets} packets ({kinds}), {:?} after connecting",
                    since.elapsed()
                ));
            }
        });
        Ok(Client { task, closed })
    }

    /// Connects `n` clients, a few at a time.
    pub async fn connect_many(
        addr: SocketAddr,
        tls: &TlsConnector,
        token: &str,
        n: usize,
        tx: mpsc::UnboundedSender<Receipt>,
    ) -> Result<Vec<Client>, String> {
        let gate = Arc::new(Semaphore::new(CONNECT_PARALLEL));
        let mut tasks = Vec::with_capacity(n);
        for _ in 0..n {
            let (gate, tls, tx, token) = (gate.clone(), tls.clone(), tx.clone(), token.to_string());
            tasks.push(tokio::spawn(async move {
                let _permit = gate.acquire_owned().await;
                Client::connect(addr, &tls, &token, tx).await
            }));
        }
        let mut out = Vec::with_capacity(n);
        for t in tasks {
            out.push(t.await.map_err(|e| e.to_string())??);
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn audio_event_volume_reads_output_all() {
        let t = r#"42["/api/v2.0/audio/outputs",{"outputs":[{"id":"LINEOUT","volume":3},{"id":"ALL","volume":57}]}]"#;
        assert_eq!(audio_event_volume(t), Some(57));
        assert_eq!(
            audio_event_volume(r#"42["/api/v2.0/audio/inputs",{"inputs":[]}]"#),
            None
        );
        assert_eq!(audio_event_volume("2"), None);
        assert_eq!(
            audio_event_volume(r#"42["/api/v2.0/audio/outputs",{"outputs":[]}]"#),
            None
        );
    }
}

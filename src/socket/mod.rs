//! Socket.IO event push (guide: "SocketIO Usage").
//!
//! Clients connect to `https://<device>/socket.io/` (Engine.IO v4, websocket
//! and long-polling) on the same listener as the REST API and authenticate
//! at connect time like REST requests: handshake `auth` `{"token": ...}` or
//! `{"roomcode": ...}`, or an `Authorization` header on the handshake
//! request. A refused connection gets a `connect_error` whose message is the
//! guide's error body as JSON text (`{"code":40100,"message":"..."}`).
//!
//! One task, the hub, does all the sending, so every client sees:
//!
//! 1. right after connecting, the current payload of every event it may see
//!    (administrators: all of them; the room-code tier: room, participants,
//!    share), rendered from the same committed state the hub last forwarded;
//! 2. then each committed change, in commit order, exactly once.
//!
//! Payloads are what a GET of the event's path returns at that commit,
//! rendered once per (tier, host) group and sent pre-serialised (shared by
//! all clients of the group). Each client has a bounded buffer: the
//! engine's transport channel ([`CLIENT_BUFFER`] packets) and behind it a
//! hub queue ([`PENDING_MAX`] events); a client that lets both fill is
//! disconnected rather than slowing the others or growing memory, and gets
//! the full state again when it reconnects. Sockets whose credential
//! is revoked or expires, or whose room code is changed, are disconnected.

pub mod polling;

use crate::app::App;
use crate::auth::{Caller, Tier};
use crate::events::{Event, Topic};
use crate::resources::{render_topic_for, View};
use crate::server::{ApiService, Rest};
use crate::state::Snapshot;
use serde_json::value::RawValue;
use serde_json::{json, Value};
use socketioxide::extract::{SocketRef, TryData};
use socketioxide::handler::ConnectHandler;
use socketioxide::socket::Sid;
use socketioxide::SocketIo;
use socketioxide::{SendError, SocketError};
use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{broadcast, mpsc};
use vp2730_model::ApiError;

/// Packets the engine buffers per client (its transport channel). Room for
/// the connect packet, the whole initial state and a burst, with headroom:
/// the engine closes a session whose heartbeat ping finds the channel full.
/// (python-engineio's limit of 16 packets per polling payload is kept by
/// [`polling::SplitPolls`], not by this channel.)
const CLIENT_BUFFER: usize = 64;
/// Events the hub queues per client behind a full transport channel before
/// the client counts as stalled and is disconnected.
const PENDING_MAX: usize = 512;
/// How often the hub retries clients with queued events.
const FLUSH: Duration = Duration::from_millis(5);
/// Largest Engine.IO payload either way (our largest event is a few KiB).
const MAX_PAYLOAD: u64 = 64 * 1024;
/// How often live sockets' credentials are re-checked.
const SWEEP: Duration = Duration::from_secs(2);

/// Messages to the hub.
pub enum HubMsg {
    /// A socket finished connecting.
    Joined(SocketRef, Client),
    /// A socket went away.
    Left(Sid),
    /// A credential was revoked: disconnect its sockets now.
    Revoked(String),
}

/// What the hub knows about a connected socket.
#[derive(Clone)]
pub struct Client {
    pub tier: Tier,
    /// `https://<host the client used>`.
    pub base: String,
    /// The credential token the socket authenticated with, if any.
    pub credential: Option<String>,
    /// The room code it authenticated with, if any.
    pub room_code: Option<String>,
}

/// Handle to the hub, held by the REST side.
#[derive(Clone)]
pub struct Hub {
    tx: mpsc::UnboundedSender<HubMsg>,
}

impl Hub {
    /// Tells the hub a credential was revoked.
    pub fn revoked(&self, token: &str) {
        let _ = self.tx.send(HubMsg::Revoked(token.to_string()));
    }
}

/// Builds the service every connection is served with: the Socket.IO
/// engine (behind the polling payload splitter) in front of the REST
/// pipeline.
pub fn service(app: Arc<App>) -> (ApiService, SocketIo) {
    let (engine, io) = SocketIo::builder()
        .max_buffer_size(CLIENT_BUFFER)
        // Bounds what one client can make us buffer or parse, before and
        // after it authenticates.
        .max_payload(MAX_PAYLOAD)
        .ws_max_message_size(MAX_PAYLOAD as usize)
        .ws_max_frame_size(MAX_PAYLOAD as usize)
        .connect_timeout(Duration::from_secs(10))
        .ping_interval(Duration::from_secs(25))
        .ping_timeout(Duration::from_secs(20))
        .build_with_inner_svc(Rest { app });
    (polling::SplitPolls::new(engine), io)
}

/// Creates the hub channel (before the app exists).
pub fn channel() -> (Hub, mpsc::UnboundedReceiver<HubMsg>) {
    let (tx, rx) = mpsc::unbounded_channel();
    (Hub { tx }, rx)
}

/// Registers the namespace and starts the hub task.
pub fn start(app: Arc<App>, io: SocketIo, rx: mpsc::UnboundedReceiver<HubMsg>) {
    // Subscribe before reading the snapshot: no commit can fall in between.
    let events = app.shared.subscribe();
    let last = app.snapshot();
    let auth_app = app.clone();
    let join_app = app.clone();
    let handler = move |s: SocketRef| {
        let app = join_app.clone();
        async move {
            let Some(client) = s.extensions.get::<Client>() else {
                let _ = s.disconnect();
                return;
            };
            let hub = app.hub.clone();
            let sid = s.id;
            let hub_left = hub.clone();
            s.on_disconnect(move || {
                let _ = hub_left.tx.send(HubMsg::Left(sid));
                async {}
            });
            let _ = hub.tx.send(HubMsg::Joined(s, client));
        }
    };
    let middleware = move |s: SocketRef, TryData(auth): TryData<Value>| {
        let app = auth_app.clone();
        async move {
            match authenticate(&app, &s, auth.ok()).await {
                Ok(client) => {
                    s.extensions.insert(client);
                    Ok(())
                }
                Err(e) => Err(ConnectRefused(e)),
            }
        }
    };
    io.ns("/", handler.with(middleware));
    tokio::spawn(hub(app, last, events, rx));
}

/// A refused connection; displays as the guide's error body.
#[derive(Debug)]
pub struct ConnectRefused(ApiError);

impl std::fmt::Display for ConnectRefused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.0.body())
    }
}

async fn authenticate(app: &App, s: &SocketRef, auth: Option<Value>) -> Result<Client, ApiError> {
    let snap = app.snapshot();
    let parts = s.req_parts();
    let token = auth
        .as_ref()
        .and_then(|a| a.get("token"))
        .and_then(Value::as_str);
    let code = auth
        .as_ref()
        .and_then(|a| a.get("roomcode"))
        .and_then(Value::as_str);
    let header_value = match (token, code) {
        (Some(t), _) => Some(t.to_string()),
        (None, Some(c)) => Some(format!("roomcode:{c}")),
        (None, None) => crate::server::only_header(&parts.headers, &hyper::header::AUTHORIZATION)
            .map_err(|_| ApiError::Unauthorized)?
            .and_then(|v| v.to_str().ok())
            .map(str::to_string),
    };
    let conn = parts.extensions.get::<crate::server::Peer>().copied();
    let peer = conn
        .map(|p| p.remote.ip())
        .unwrap_or(std::net::IpAddr::from([0, 0, 0, 0]));
    let Caller { tier, credential } = app
        .auth
        .check(header_value.as_deref().map(str::as_bytes), &snap.room, peer)
        .await?;
    if tier == Tier::Public {
        return Err(ApiError::Unauthorized);
    }
    let local = conn
        .map(|p| p.local.to_string())
        .unwrap_or_else(|| app.config.server.listen.clone());
    let authority = parts.uri.authority().map(|a| a.as_str());
    let host = crate::server::addressed_host(&parts.headers, authority).unwrap_or(&local);
    let room_code = header_value.as_deref().and_then(|h| {
        h.get(..9)
            .filter(|p| p.eq_ignore_ascii_case("roomcode:"))
            .map(|_| h[9..].trim().to_string())
    });
    Ok(Client {
        tier,
        base: format!("https://{host}"),
        credential,
        room_code,
    })
}

/// Topics a tier receives (what it may read over REST).
pub fn visible(tier: Tier, t: Topic) -> bool {
    match tier {
        Tier::Admin => true,
        Tier::Room => matches!(
            t,
            Topic::SystemRoom | Topic::SystemParticipants | Topic::ParticipantsShare
        ),
        Tier::Public => false,
    }
}

/// The payload of `t` for a client of `tier` at `base`, from state `s`.
pub fn payload(app: &App, t: Topic, s: &crate::state::State, tier: Tier, base: &str) -> Value {
    if t == Topic::SessionConfigs {
        return session_configs(app);
    }
    let v = View {
        profile: &app.profile,
        state: s,
        base,
        tier,
    };
    render_topic_for(t, &v).unwrap_or(Value::Null)
}

/// Payload of `/system/sessionConfigs`: the session policy in force.
pub fn session_configs(app: &App) -> Value {
    json!({
        "idleTimeout": app.config.auth.idle_timeout_secs,
        "maxSessionsPerAccount": app.config.auth.max_sessions_per_account,
        "maxParticipants": app.profile.max_participants,
    })
}

fn raw(v: &Value) -> Option<Arc<RawValue>> {
    serde_json::value::to_raw_value(v).ok().map(Arc::from)
}

struct Conn {
    socket: SocketRef,
    client: Client,
    /// Events waiting for room in the transport channel, in order.
    pending: VecDeque<(Topic, Arc<RawValue>)>,
}

/// What became of an attempt to hand a client an event.
enum Delivery {
    Sent,
    Queued,
    /// The client cannot keep up or is gone: drop it.
    Drop,
}

impl Conn {
    /// Sends queued events while the transport channel takes them.
    fn flush(&mut self) -> Delivery {
        while let Some((t, body)) = self.pending.front() {
            match self.socket.emit(t.path(), &**body) {
                Ok(()) => {
                    self.pending.pop_front();
                }
                Err(SendError::Socket(SocketError::InternalChannelFull)) => {
                    return Delivery::Queued
                }
                Err(e) => {
                    tracing::debug!(sid = %self.socket.id, error = %e, "socket gone");
                    return Delivery::Drop;
                }
            }
        }
        Delivery::Sent
    }

    /// Hands one event to the client, behind any it has queued.
    fn deliver(&mut self, t: Topic, body: Arc<RawValue>) -> Delivery {
        if self.pending.len() >= PENDING_MAX {
            tracing::warn!(sid = %self.socket.id, "socket cannot keep up; disconnecting");
            return Delivery::Drop;
        }
        self.pending.push_back((t, body));
        self.flush()
    }
}

/// The hub: owns the client list and does every send.
async fn hub(
    app: Arc<App>,
    mut last: Snapshot,
    mut events: broadcast::Receiver<Event>,
    mut rx: mpsc::UnboundedReceiver<HubMsg>,
) {
    let mut conns: HashMap<Sid, Conn> = HashMap::new();
    let mut sweep = tokio::time::interval(SWEEP);
    let mut flush = tokio::time::interval(FLUSH);
    flush.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    loop {
        let backlog = conns.values().any(|c| !c.pending.is_empty());
        tokio::select! {
            biased;
            msg = rx.recv() => match msg {
                Some(HubMsg::Joined(socket, client)) => {
                    let sid = socket.id;
                    let mut conn = Conn { socket, client, pending: VecDeque::new() };
                    if send_initial(&app, &mut conn, &last) {
                        conns.insert(sid, conn);
                    } else {
                        let _ = conn.socket.disconnect();
                    }
                }
                Some(HubMsg::Left(sid)) => {
                    conns.remove(&sid);
                }
                Some(HubMsg::Revoked(token)) => {
                    drop_where(&mut conns, |c| c.client.credential.as_deref() == Some(token.as_str()));
                }
                None => break,
            },
            ev = events.recv() => match ev {
                Ok(ev) => {
                    last = ev.state.clone();
                    fan_out(&app, &mut conns, ev.topic, &ev.state);
                }
                Err(broadcast::error::RecvError::Lagged(n)) => {
                    tracing::warn!(missed = n, "event hub fell behind; resending full state");
                    last = app.snapshot();
                    let stale: Vec<Sid> = conns
                        .iter_mut()
                        .filter_map(|(sid, c)| {
                            c.pending.clear();
                            (!send_initial(&app, c, &last)).then_some(*sid)
                        })
                        .collect();
                    for sid in stale {
                        if let Some(c) = conns.remove(&sid) {
                            let _ = c.socket.disconnect();
                        }
                    }
                }
                Err(broadcast::error::RecvError::Closed) => break,
            },
            _ = flush.tick(), if backlog => {
                let gone: Vec<Sid> = conns
                    .iter_mut()
                    .filter(|(_, c)| !c.pending.is_empty())
                    .filter_map(|(sid, c)| matches!(c.flush(), Delivery::Drop).then_some(*sid))
                    .collect();
                for sid in gone {
                    if let Some(c) = conns.remove(&sid) {
                        let _ = c.socket.disconnect();
                    }
                }
            }
            _ = sweep.tick() => {
                let snap = app.snapshot();
                drop_where(&mut conns, |c| !still_authorised(&app, &c.client, &snap));
            }
        }
    }
}

/// Whether a socket's authentication still holds; keeps its credential
/// alive while it does.
fn still_authorised(app: &App, c: &Client, snap: &Snapshot) -> bool {
    if let Some(token) = &c.credential {
        return app.auth.touch(token);
    }
    if let Some(code) = &c.room_code {
        return !snap.room.verification
            || crate::auth::ct_eq(code.as_bytes(), snap.room.code.as_bytes());
    }
    true
}

fn drop_where(conns: &mut HashMap<Sid, Conn>, pred: impl Fn(&Conn) -> bool) {
    let gone: Vec<Sid> = conns
        .iter()
        .filter(|(_, c)| pred(c))
        .map(|(s, _)| *s)
        .collect();
    for sid in gone {
        if let Some(c) = conns.remove(&sid) {
            tracing::info!(%sid, "disconnecting socket: credential no longer valid");
            let _ = c.socket.disconnect();
        }
    }
}

/// Queues every visible topic for a new client. False if it is gone.
fn send_initial(app: &App, c: &mut Conn, s: &Snapshot) -> bool {
    for t in Topic::ALL {
        if !visible(c.client.tier, t) {
            continue;
        }
        let Some(body) = raw(&payload(app, t, s, c.client.tier, &c.client.base)) else {
            continue;
        };
        if matches!(c.deliver(t, body), Delivery::Drop) {
            return false;
        }
    }
    true
}

/// Hands one committed topic to every client that may see it; disconnects
/// clients that cannot keep up.
fn fan_out(app: &App, conns: &mut HashMap<Sid, Conn>, t: Topic, s: &Snapshot) {
    let mut rendered: HashMap<(Tier, String), Option<Arc<RawValue>>> = HashMap::new();
    let mut gone = Vec::new();
    for (sid, c) in conns.iter_mut() {
        if !visible(c.client.tier, t) {
            continue;
        }
        let body = rendered
            .entry((c.client.tier, c.client.base.clone()))
            .or_insert_with(|| raw(&payload(app, t, s, c.client.tier, &c.client.base)));
        let Some(body) = body.clone() else { continue };
        if matches!(c.deliver(t, body), Delivery::Drop) {
            gone.push(*sid);
        }
    }
    for sid in gone {
        if let Some(c) = conns.remove(&sid) {
            let _ = c.socket.disconnect();
        }
    }
}

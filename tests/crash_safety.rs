//! Crash and power-loss safety: the daemon is `kill -9`ed at random moments
//! (seeded, so every run kills at the same offsets) while several threads
//! PATCH as fast as they can, each value unique so every write can be told
//! apart. After each kill:
//!
//! * the database files, copied as the kill left them, open with the
//!   store's own checks (SQLite `quick_check`, schema) without recovery;
//! * the daemon restarts on them (`Daemon::kill9_and_restart`) and reports
//!   `database: "ok"` in `/maintenance/status`;
//! * for every key, the value read back — from the copied database and from
//!   the restarted daemon, which must agree — is the last acknowledged
//!   (204) value, or the one later write that was in flight at the kill;
//! * a bulk PATCH of two items is all or nothing: both hold the same value.
//!
//! Run alone with `cargo test --test crash_safety -- --nocapture` to see the
//! number of cycles and writes verified.

mod common;

use bytes::Bytes;
use common::Daemon;
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::SendRequest;
use hyper::Request;
use hyper_util::rt::TokioIo;
use rustls::pki_types::ServerName;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Barrier;
use std::time::{Duration, Instant};
use tokio::net::TcpStream;

/// Kill / restart cycles.
const CYCLES: usize = 25;
/// Seed of the kill times.
const SEED: u64 = 0x2730_dead_beef;
/// A kill lands this long (uniform, milliseconds) after the storm started.
const KILL_AFTER_MS: (u64, u64) = (50, 500);
/// Bounds of one writer thread in one cycle.
const MAX_WRITES_PER_CYCLE: u64 = 20_000;
const MAX_STORM: Duration = Duration::from_secs(10);
/// One request's bound (a request cut by the kill fails at once).
const REQUEST_TIMEOUT: Duration = Duration::from_secs(5);

/// splitmix64: small, seeded, good enough for kill times.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.next() % (hi - lo + 1)
    }
}

/// A setting the storm writes: its REST location and its store key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Key {
    VideoInput(&'static str),
    VideoOutput(&'static str),
}

impl Key {
    fn store_key(self) -> String {
        match self {
            Key::VideoInput(id) => format!("video.input.{id}"),
            Key::VideoOutput(id) => format!("video.output.{id}"),
        }
    }

    /// The name of this item in the daemon's lists.
    fn read(self, inputs: &Value, outputs: &Value) -> String {
        let (list, field, id) = match self {
            Key::VideoInput(id) => (inputs, "inputs", id),
            Key::VideoOutput(id) => (outputs, "outputs", id),
        };
        list[field]
            .as_array()
            .and_then(|a| a.iter().find(|x| x["id"] == id))
            .and_then(|x| x["name"].as_str())
            .unwrap_or_else(|| panic!("no name for {self:?} in {list}"))
            .to_string()
    }
}

/// What one writer thread PATCHes.
#[derive(Debug, Clone, Copy)]
enum Writer {
    /// `PATCH /video/inputs/<id>` `{"name"}`.
    Input(&'static str),
    /// `PATCH /video/outputs/<id>` `{"name"}`.
    Output(&'static str),
    /// `PATCH /video/inputs` naming two inputs the same in one request.
    BulkInputs(&'static str, &'static str),
}

const WRITERS: [Writer; 4] = [
    Writer::Input("0"),
    Writer::Input("1"),
    Writer::Output("2"),
    Writer::BulkInputs("5", "6"),
];

impl Writer {
    fn keys(self) -> Vec<Key> {
        match self {
            Writer::Input(id) => vec![Key::VideoInput(id)],
            Writer::Output(id) => vec![Key::VideoOutput(id)],
            Writer::BulkInputs(a, b) => vec![Key::VideoInput(a), Key::VideoInput(b)],
        }
    }

    fn request(self, value: &str) -> (String, String) {
        match self {
            Writer::Input(id) => (
                format!("/api/v2.0/video/inputs/{id}"),
                json!({ "name": value }).to_string(),
            ),
            Writer::Output(id) => (
                format!("/api/v2.0/video/outputs/{id}"),
                json!({ "name": value }).to_string(),
            ),
            Writer::BulkInputs(a, b) => (
                "/api/v2.0/video/inputs".to_string(),
                json!({ "inputs": [{ "id": a, "name": value }, { "id": b, "name": value }] })
                    .to_string(),
            ),
        }
    }
}

/// What one writer did in one cycle. A refused write (a 503 from a board
/// that did not answer in time, say) must leave nothing behind: its value is
/// never among the ones allowed after the restart.
#[derive(Debug, Default)]
struct Log {
    /// Values acknowledged with 204, in order.
    acked: Vec<String>,
    /// The write that was cut by the kill (sent, no answer).
    in_flight: Option<String>,
    /// Writes answered with another status.
    refused: Vec<(String, u16)>,
}

async fn open(addr: SocketAddr) -> Result<SendRequest<Full<Bytes>>, String> {
    let tcp = TcpStream::connect(addr).await.map_err(|e| e.to_string())?;
    let _ = tcp.set_nodelay(true);
    let tls = common::tls_connector()
        .connect(ServerName::try_from("localhost").unwrap(), tcp)
        .await
        .map_err(|e| e.to_string())?;
    let (sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(tls))
        .await
        .map_err(|e| e.to_string())?;
    tokio::spawn(async move {
        let _ = conn.await;
    });
    Ok(sender)
}

/// PATCHes `path`; the status, or an error if no answer came.
async fn patch(
    sender: &mut SendRequest<Full<Bytes>>,
    addr: SocketAddr,
    tok: &str,
    path: &str,
    body: String,
) -> Result<u16, String> {
    let req = Request::builder()
        .method("PATCH")
        .uri(path)
        .header("host", addr.to_string())
        .header("authorization", tok)
        .header("content-type", "application/json")
        .body(Full::new(Bytes::from(body)))
        .expect("request");
    let fut = async {
        sender.ready().await.map_err(|e| e.to_string())?;
        let resp = sender.send_request(req).await.map_err(|e| e.to_string())?;
        let status = resp.status().as_u16();
        resp.into_body()
            .collect()
            .await
            .map_err(|e| e.to_string())?;
        Ok(status)
    };
    tokio::time::timeout(REQUEST_TIMEOUT, fut)
        .await
        .map_err(|_| "timed out".to_string())?
}

/// One writer thread: PATCHes unique values back to back until the daemon
/// dies under it (or `stop` / the bounds).
fn storm(
    addr: SocketAddr,
    tok: &str,
    writer: Writer,
    thread: usize,
    seq: &mut u64,
    stop: &AtomicBool,
    ready: &Barrier,
) -> Log {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let mut log = Log::default();
    rt.block_on(async {
        let opened = open(addr).await;
        ready.wait();
        let mut sender = opened.unwrap_or_else(|e| panic!("writer {thread}: connect: {e}"));
        let start = Instant::now();
        for _ in 0..MAX_WRITES_PER_CYCLE {
            if stop.load(Ordering::SeqCst) || start.elapsed() > MAX_STORM {
                break;
            }
            *seq += 1;
            let value = format!("w{thread}-{}", *seq);
            let (path, body) = writer.request(&value);
            match patch(&mut sender, addr, tok, &path, body).await {
                Ok(204) => log.acked.push(value),
                Ok(status) => log.refused.push((value, status)),
                Err(_) => {
                    log.in_flight = Some(value);
                    break;
                }
            }
        }
    });
    log
}

/// Copies the database files as the kill left them and opens the copy with
/// the store's checks; the stored names by key.
fn offline_names(data_dir: &Path, cycle: usize) -> BTreeMap<String, String> {
    let copy = tempfile::tempdir().expect("temp dir");
    for f in ["settings.db", "settings.db-wal"] {
        let src = data_dir.join(f);
        if src.exists() {
            std::fs::copy(&src, copy.path().join(f)).expect("copy database file");
        }
    }
    let db = copy.path().join("settings.db");
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        let opened = vp2730_store::Store::open(&db)
            .await
            .unwrap_or_else(|e| panic!("cycle {cycle}: database copy does not open: {e}"));
        assert!(
            opened.recovered.is_none(),
            "cycle {cycle}: the database failed the store's checks after kill -9 (moved to {:?})",
            opened.recovered
        );
        let rows = opened.store.load_settings().await.expect("load settings");
        opened.store.close().await;
        rows.into_iter()
            .filter_map(|(k, v)| {
                let v: Value = serde_json::from_str(&v)
                    .unwrap_or_else(|e| panic!("cycle {cycle}: row {k} is not JSON ({e}): {v}"));
                v["name"].as_str().map(|n| (k, n.to_string()))
            })
            .collect()
    })
}

/// Names of every storm key as the daemon shows them.
fn daemon_names(d: &Daemon, tok: &str) -> BTreeMap<Key, String> {
    let inputs = d.get_json("/video/inputs", tok);
    let outputs = d.get_json("/video/outputs", tok);
    WRITERS
        .iter()
        .flat_map(|w| w.keys())
        .map(|k| (k, k.read(&inputs, &outputs)))
        .collect()
}

#[test]
fn acknowledged_writes_survive_kill_9_and_the_database_stays_sound() {
    let started = Instant::now();
    let mut d = Daemon::start();
    let mut tok = d.login();
    // What each key holds now (the defaults to begin with).
    let mut known = daemon_names(&d, &tok);
    let mut rng = Rng(SEED);
    let mut seqs = [0u64; WRITERS.len()];
    let (mut acked, mut in_flight, mut in_flight_applied, mut refused) = (0usize, 0, 0, 0);
    let mut keys_checked = 0usize;

    for cycle in 0..CYCLES {
        let kill_after = Duration::from_millis(rng.range(KILL_AFTER_MS.0, KILL_AFTER_MS.1));
        let stop = AtomicBool::new(false);
        let ready = Barrier::new(WRITERS.len() + 1);
        let addr = d.addr;
        let pid = d.pid();
        let logs: Vec<Log> = std::thread::scope(|s| {
            let handles: Vec<_> = WRITERS
                .iter()
                .zip(seqs.iter_mut())
                .enumerate()
                .map(|(i, (w, seq))| {
                    let (tok, stop, ready) = (&tok, &stop, &ready);
                    s.spawn(move || storm(addr, tok, *w, i, seq, stop, ready))
                })
                .collect();
            ready.wait();
            std::thread::sleep(kill_after);
            nix::sys::signal::kill(
                nix::unistd::Pid::from_raw(pid as i32),
                nix::sys::signal::Signal::SIGKILL,
            )
            .expect("SIGKILL the daemon");
            stop.store(true, Ordering::SeqCst);
            handles
                .into_iter()
                .map(|h| h.join().expect("writer thread"))
                .collect()
        });

        // What each key may hold now.
        let mut allowed: BTreeMap<Key, Vec<String>> = BTreeMap::new();
        for (w, log) in WRITERS.iter().zip(&logs) {
            acked += log.acked.len();
            refused += log.refused.len();
            for k in w.keys() {
                let mut ok = vec![log
                    .acked
                    .last()
                    .cloned()
                    .unwrap_or_else(|| known[&k].clone())];
                ok.extend(log.in_flight.clone());
                allowed.insert(k, ok);
            }
        }
        // The files as the kill left them.
        let stored = offline_names(&d.data_dir(), cycle);
        d.kill9_and_restart();
        tok = d.login();
        let status = d.get_json("/maintenance/status", &tok);
        assert_eq!(
            status["database"], "ok",
            "cycle {cycle}: database not sound after kill -9: {status}"
        );
        assert_eq!(status["storage"], "ok", "cycle {cycle}: {status}");
        let now = daemon_names(&d, &tok);
        for (k, ok) in &allowed {
            let v = &now[k];
            let on_disk = stored.get(&k.store_key()).unwrap_or(&known[k]);
            assert_eq!(
                on_disk, v,
                "cycle {cycle}: {k:?} reads {v:?} from the daemon but {on_disk:?} from the database"
            );
            assert!(
                ok.contains(v),
                "cycle {cycle} (kill after {kill_after:?}): {k:?} reads {v:?}; \
                 the last acknowledged write was {:?}, in flight {:?}",
                ok[0],
                ok.get(1)
            );
            keys_checked += 1;
        }
        // The bulk PATCH is all or nothing.
        for w in WRITERS {
            if let Writer::BulkInputs(a, b) = w {
                assert_eq!(
                    now[&Key::VideoInput(a)],
                    now[&Key::VideoInput(b)],
                    "cycle {cycle}: a bulk PATCH was applied in part"
                );
            }
        }
        for (w, log) in WRITERS.iter().zip(&logs) {
            if let Some(f) = &log.in_flight {
                in_flight += 1;
                if w.keys().iter().any(|k| &now[k] == f) {
                    in_flight_applied += 1;
                }
            }
        }
        known = now;
    }

    println!(
        "crash safety: {CYCLES} kill -9 cycles in {:.1} s; {acked} acknowledged writes \
         ({keys_checked} key checks after restart, each the last acknowledged value or a later \
         one in flight); {in_flight} writes in flight at a kill, {in_flight_applied} of them \
         found applied; {refused} refused",
        started.elapsed().as_secs_f64()
    );
    // The storm really ran, and the kills really cut writes in flight.
    assert!(
        acked >= CYCLES * 10,
        "only {acked} writes acknowledged in {CYCLES} cycles"
    );
    assert!(
        in_flight >= CYCLES,
        "only {in_flight} writes were in flight at {CYCLES} kills"
    );
}

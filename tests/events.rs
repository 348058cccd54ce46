//! Socket.IO event push, tested with the off-the-shelf clients:
//! socket.io-client 4.x under Node and python-socketio 5.x, over both
//! transports, against the real daemon. The clients run as "taps"
//! (`tests/socketio/tap.mjs`, `tap.py`) that print one JSON line per thing
//! that happens; `scripts/test.sh` installs them.

mod common;

use common::Daemon;
use serde_json::{json, Value};
use std::io::{BufRead, BufReader, Write};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

const WAIT: Duration = Duration::from_secs(15);

#[derive(Clone, Copy, Debug)]
enum Lang {
    Node,
    Python,
}

/// A running Socket.IO client.
struct Tap {
    child: Child,
    stdin: Option<ChildStdin>,
    lines: mpsc::Receiver<Value>,
    what: String,
}

impl Tap {
    fn start(d: &Daemon, lang: Lang, transport: &str, auth: &[&str]) -> Tap {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/socketio");
        let (program, script) = match lang {
            Lang::Node => (
                std::env::var("VP2730_NODE").unwrap_or_else(|_| "node".into()),
                "tap.mjs",
            ),
            Lang::Python => (
                std::env::var("VP2730_PYTHON").unwrap_or_else(|_| "python3".into()),
                "tap.py",
            ),
        };
        let ca = d.data_dir().join("tls-cert.pem");
        let url = format!("https://{}", d.addr);
        let mut cmd = Command::new(&program);
        cmd.arg(format!("{dir}/{script}"))
            .arg(&url)
            .arg("--ca")
            .arg(&ca)
            .arg("--transport")
            .arg(transport)
            .args(auth)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        let mut child = cmd.spawn().unwrap_or_else(|e| {
            panic!("cannot run {program} {script} ({e}); run the suite with scripts/test.sh, which installs the clients")
        });
        let stdin = child.stdin.take();
        let stdout = child.stdout.take().expect("stdout");
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                match serde_json::from_str::<Value>(&line) {
                    Ok(v) => {
                        if tx.send(v).is_err() {
                            break;
                        }
                    }
                    Err(_) => eprintln!("tap: {line}"),
                }
            }
        });
        Tap {
            child,
            stdin,
            lines: rx,
            what: format!("{lang:?}/{transport}"),
        }
    }

    fn next(&self, timeout: Duration) -> Option<Value> {
        self.lines.recv_timeout(timeout).ok()
    }

    /// Waits for the connection; panics on connect_error. Transport
    /// failures the client retries by itself (as real clients do) are
    /// reported, not fatal.
    fn connected(&self) {
        loop {
            let v = self
                .next(WAIT)
                .unwrap_or_else(|| panic!("{}: no connect", self.what));
            if let Some(r) = v.get("retrying") {
                eprintln!("{}: client retries after a transport error: {r}", self.what);
                continue;
            }
            assert_eq!(v["connected"], json!(true), "{}: {v}", self.what);
            return;
        }
    }

    /// The connect_error message, parsed as the guide's error body.
    fn refused(&self) -> Value {
        let v = self
            .next(WAIT)
            .unwrap_or_else(|| panic!("{}: no answer", self.what));
        let msg = v["connect_error"]
            .as_str()
            .unwrap_or_else(|| panic!("{}: expected connect_error, got {v}", self.what));
        serde_json::from_str(msg)
            .unwrap_or_else(|_| panic!("{}: connect_error not JSON: {msg}", self.what))
    }

    /// Collects events (skipping transport notices) until `n` arrived.
    fn events(&self, n: usize) -> Vec<(String, Value)> {
        let mut out = Vec::new();
        let deadline = Instant::now() + WAIT;
        while out.len() < n {
            let left = deadline.saturating_duration_since(Instant::now());
            let v = self.next(left).unwrap_or_else(|| {
                panic!(
                    "{}: got {} of {n} events: {:?}",
                    self.what,
                    out.len(),
                    names(&out)
                )
            });
            if let Some(e) = v["event"].as_str() {
                out.push((e.to_string(), v["data"].clone()));
            } else if v.get("disconnect").is_some() {
                panic!(
                    "{}: disconnected after {} events: {v}",
                    self.what,
                    out.len()
                );
            }
        }
        out
    }

    /// The next event named `name`, skipping others.
    fn event(&self, name: &str) -> Value {
        let deadline = Instant::now() + WAIT;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let v = self
                .next(left)
                .unwrap_or_else(|| panic!("{}: no {name} event", self.what));
            if v["event"] == json!(name) {
                return v["data"].clone();
            }
            assert!(
                v.get("disconnect").is_none(),
                "{}: disconnected: {v}",
                self.what
            );
        }
    }

    /// Asserts nothing but transport notices arrives for `d`.
    fn quiet(&self, d: Duration) {
        let deadline = Instant::now() + d;
        while let Some(v) = self.next(deadline.saturating_duration_since(Instant::now())) {
            assert!(
                v.get("event").is_none() && v.get("disconnect").is_none(),
                "{}: unexpected {v}",
                self.what
            );
        }
    }

    /// Waits for the server to disconnect the client.
    fn disconnected(&self) -> Value {
        let deadline = Instant::now() + WAIT;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let v = self
                .next(left)
                .unwrap_or_else(|| panic!("{}: not disconnected", self.what));
            if let Some(r) = v.get("disconnect") {
                return r.clone();
            }
        }
    }
}

impl Drop for Tap {
    fn drop(&mut self) {
        drop(self.stdin.take());
        let deadline = Instant::now() + Duration::from_secs(3);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn names(evs: &[(String, Value)]) -> Vec<&str> {
    evs.iter().map(|(n, _)| n.as_str()).collect()
}

const ALL_EVENTS: [&str; 16] = [
    "/api/v2.0/maintenance/status",
    "/api/v2.0/system/sessionConfigs",
    "/api/v2.0/system/osd",
    "/api/v2.0/system/room",
    "/api/v2.0/system/participants",
    "/api/v2.0/system/participants/share",
    "/api/v2.0/audio/inputs",
    "/api/v2.0/audio/outputs",
    "/api/v2.0/video/config",
    "/api/v2.0/video/golive",
    "/api/v2.0/video/inputs",
    "/api/v2.0/video/outputs",
    "/api/v2.0/video/connections",
    "/api/v2.0/video/multiviews",
    "/api/v2.0/video/vpProfiles/now",
    "/api/v2.0/video/snapshots/state",
];

/// Every event's initial payload equals a GET of its path (the event name
/// is a readable path, `video/config` included).
fn check_initial_state(d: &Daemon, tok: &str, tap: &Tap) {
    let evs = tap.events(ALL_EVENTS.len());
    assert_eq!(names(&evs), ALL_EVENTS.to_vec(), "{}", tap.what);
    for (name, data) in &evs {
        let got = d.get_json(name, tok);
        assert_eq!(&got, data, "{}: initial {name} differs from GET", tap.what);
    }
}

fn initial_then_event(lang: Lang, transport: &str) {
    let d = Daemon::start();
    let tok = d.login();
    let tap = Tap::start(&d, lang, transport, &["--token", &tok]);
    tap.connected();
    check_initial_state(&d, &tok, &tap);
    d.patch_ok("/audio/outputs/ALL", &tok, &json!({"volume": 37}));
    let ev = tap.event("/api/v2.0/audio/outputs");
    assert_eq!(ev["outputs"][0]["volume"], json!(37));
    assert_eq!(ev, d.get_json("/audio/outputs", &tok));
    // A PATCH that changes nothing emits nothing.
    d.patch_ok("/audio/outputs/ALL", &tok, &json!({"volume": 37}));
    tap.quiet(Duration::from_millis(700));
}

#[test]
fn node_websocket_initial_state_and_events() {
    initial_then_event(Lang::Node, "websocket");
}

#[test]
fn node_polling_initial_state_and_events() {
    initial_then_event(Lang::Node, "polling");
}

#[test]
fn node_upgrade_initial_state_and_events() {
    initial_then_event(Lang::Node, "upgrade");
}

#[test]
fn python_websocket_initial_state_and_events() {
    initial_then_event(Lang::Python, "websocket");
}

#[test]
fn python_polling_initial_state_and_events() {
    initial_then_event(Lang::Python, "polling");
}

#[test]
fn python_upgrade_initial_state_and_events() {
    initial_then_event(Lang::Python, "upgrade");
}

#[test]
fn connections_without_valid_credentials_are_refused() {
    let d = Daemon::start();
    for lang in [Lang::Node, Lang::Python] {
        for auth in [
            vec![],
            vec!["--token", "0123456789abcdef0123456789abcdef"],
            vec!["--roomcode", "99999"],
        ] {
            let tap = Tap::start(&d, lang, "websocket", &auth);
            let err = tap.refused();
            assert_eq!(err["code"], json!(40100), "{lang:?} {auth:?}: {err}");
            assert_eq!(err["message"], json!("User account is unauthorized."));
        }
    }
}

#[test]
fn authorization_header_and_basic_are_accepted_at_connect() {
    let d = Daemon::start();
    let tok = d.login();
    let tap = Tap::start(
        &d,
        Lang::Node,
        "polling",
        &["--header", &format!("Authorization: {tok}")],
    );
    tap.connected();
    assert_eq!(tap.events(16).len(), 16);
    let basic = common::basic("administrator", "password");
    let tap = Tap::start(
        &d,
        Lang::Python,
        "polling",
        &["--header", &format!("Authorization: {basic}")],
    );
    tap.connected();
    assert_eq!(tap.events(16).len(), 16);
}

#[test]
fn room_tier_sees_only_what_it_may_read() {
    let d = Daemon::start();
    let tok = d.login();
    let code = d.room_code(&tok);
    for (n, lang) in [Lang::Node, Lang::Python].into_iter().enumerate() {
        let tap = Tap::start(&d, lang, "websocket", &["--roomcode", &code]);
        tap.connected();
        let evs = tap.events(3);
        assert_eq!(
            names(&evs),
            vec![
                "/api/v2.0/system/room",
                "/api/v2.0/system/participants",
                "/api/v2.0/system/participants/share"
            ]
        );
        assert!(
            evs[0].1["security"].get("code").is_none(),
            "room code leaked: {}",
            evs[0].1
        );
        // Admin-only changes are not pushed to the room tier...
        d.patch_ok("/audio/outputs/ALL", &tok, &json!({"volume": 12}));
        tap.quiet(Duration::from_millis(500));
        // ...a join is.
        let r = d.post(
            "/system/participants",
            &format!("roomcode:{code}"),
            Some(&json!({"name": "Ann"})),
        );
        assert_eq!(r.status, 200);
        let ev = tap.event("/api/v2.0/system/participants");
        assert_eq!(ev["participants"].as_array().map(Vec::len), Some(n + 1));
        assert_eq!(ev["participants"][n]["name"], json!("Ann"));
        d.patch_ok("/audio/outputs/ALL", &tok, &json!({"volume": 50}));
    }
}

#[test]
fn hardware_events_are_pushed() {
    let d = Daemon::start();
    let tok = d.login();
    let tap = Tap::start(&d, Lang::Node, "websocket", &["--token", &tok]);
    tap.connected();
    tap.events(16);
    // Plug a source into input 4 (DisplayPort) on the simulated board.
    let r = d.post(
        "/sim/inputs/4",
        &tok,
        Some(&json!({"signal": true, "hdcp": 3})),
    );
    assert_eq!(r.status, 204, "{}", r.text());
    // One commit, two topics, in the guide's order: audio inputs (the DP
    // embedded audio now has a source), then video inputs.
    let evs = tap.events(2);
    assert_eq!(
        names(&evs),
        vec!["/api/v2.0/audio/inputs", "/api/v2.0/video/inputs"]
    );
    let (audio, inputs) = (evs[0].1.clone(), evs[1].1.clone());
    assert_eq!(inputs["inputs"][4]["status"], json!(0));
    assert_eq!(inputs["inputs"][4]["hdcp"]["value"], json!(3));
    let dp = audio["inputs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["id"] == "DP1")
        .unwrap()
        .clone();
    assert_eq!(dp["status"], json!(0));
    assert_eq!(inputs, d.get_json("/video/inputs", &tok));
    // Unplug the display of output 0.
    d.post("/sim/outputs/0", &tok, Some(&json!({"sink": false})))
        .assert_204();
    let outs = tap.event("/api/v2.0/video/outputs");
    assert_eq!(outs["outputs"][0]["status"], json!(1));
}

#[test]
fn auto_switch_follows_a_plugged_source() {
    let d = Daemon::start();
    let tok = d.login();
    d.patch_ok(
        "/video/outputs/1",
        &tok,
        &json!({"autoSwitch": {"value": 2, "plugin": {"mode": {"value": 2}}}}),
    );
    let tap = Tap::start(&d, Lang::Python, "websocket", &["--token", &tok]);
    tap.connected();
    tap.events(16);
    d.post("/sim/inputs/5", &tok, Some(&json!({"signal": true})))
        .assert_204();
    let conns = tap.event("/api/v2.0/video/connections");
    assert_eq!(conns["connections"][1]["videoInput"], json!("5"));
    assert_eq!(
        d.get_json("/video/connections/1", &tok)["videoInput"],
        json!("5")
    );
}

#[test]
fn events_arrive_in_commit_order_exactly_once_under_concurrent_writers() {
    let d = Daemon::start();
    let tok = d.login();
    let a = Tap::start(&d, Lang::Node, "websocket", &["--token", &tok]);
    let b = Tap::start(&d, Lang::Python, "websocket", &["--token", &tok]);
    a.connected();
    b.connected();
    a.events(16);
    b.events(16);
    const WRITERS: usize = 4;
    const EACH: usize = 10;
    std::thread::scope(|s| {
        for w in 0..WRITERS {
            let d = &d;
            let tok = &tok;
            s.spawn(move || {
                for i in 0..EACH {
                    d.patch_ok(
                        "/video/outputs/2",
                        tok,
                        &json!({"name": format!("w{w}-{i}")}),
                    );
                }
            });
        }
    });
    let seq = |t: &Tap| -> Vec<String> {
        (0..WRITERS * EACH)
            .map(|_| {
                t.event("/api/v2.0/video/outputs")["outputs"][2]["name"]
                    .as_str()
                    .unwrap()
                    .to_string()
            })
            .collect()
    };
    let sa = seq(&a);
    let sb = seq(&b);
    assert_eq!(sa, sb, "two clients saw different orders");
    let mut sorted = sa.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(
        sorted.len(),
        WRITERS * EACH,
        "an event was duplicated or lost: {sa:?}"
    );
    // Each writer's own changes appear in the order it made them.
    for w in 0..WRITERS {
        let mine: Vec<&String> = sa
            .iter()
            .filter(|n| n.starts_with(&format!("w{w}-")))
            .collect();
        let expected: Vec<String> = (0..EACH).map(|i| format!("w{w}-{i}")).collect();
        assert_eq!(mine, expected.iter().collect::<Vec<_>>());
    }
    assert_eq!(
        d.get_json("/video/outputs/2", &tok)["name"]
            .as_str()
            .unwrap(),
        sa.last().unwrap()
    );
    a.quiet(Duration::from_millis(300));
}

#[test]
fn revoking_a_credential_disconnects_its_sockets() {
    let d = Daemon::start();
    let tok = d.login();
    let other = d.login();
    let tap = Tap::start(&d, Lang::Node, "websocket", &["--token", &tok]);
    let keep = Tap::start(&d, Lang::Python, "websocket", &["--token", &other]);
    tap.connected();
    keep.connected();
    tap.events(16);
    keep.events(16);
    d.delete("/auth/tokens", &tok).assert_204();
    tap.disconnected();
    // The other credential's socket is untouched and still gets events.
    d.patch_ok("/system/osd", &other, &json!({"multiviewLabel": 1}));
    assert_eq!(
        keep.event("/api/v2.0/system/osd")["multiviewLabel"],
        json!(1)
    );
}

#[test]
fn changing_the_room_code_disconnects_room_sockets() {
    let d = Daemon::start();
    let tok = d.login();
    let code = d.room_code(&tok);
    let tap = Tap::start(&d, Lang::Node, "polling", &["--roomcode", &code]);
    tap.connected();
    tap.events(3);
    let new_code = if code == "4321" { "1234" } else { "4321" };
    d.patch_ok(
        "/system/room",
        &tok,
        &json!({"security": {"code": new_code}}),
    );
    tap.disconnected();
}

#[test]
fn a_client_that_stops_sending_its_credential_state_survives_other_clients() {
    // Many sockets at once; all get the same change.
    let d = Daemon::start();
    let tok = d.login();
    let taps: Vec<Tap> = (0..6)
        .map(|i| {
            let lang = if i % 2 == 0 { Lang::Node } else { Lang::Python };
            let t = if i % 3 == 0 { "polling" } else { "websocket" };
            Tap::start(&d, lang, t, &["--token", &tok])
        })
        .collect();
    for t in &taps {
        t.connected();
        t.events(16);
    }
    d.patch_ok("/video/configs", &tok, &json!({"edid": {"value": 2}}));
    for t in &taps {
        assert_eq!(t.event("/api/v2.0/video/config")["edid"]["value"], json!(2));
    }
    let _ = std::io::stdout().flush();
}

//! Settings survive restarts: a clean SIGTERM restart and a SIGKILL right
//! after the 204 (writes are durable before they are acknowledged).
//! Sessions (credentials, participants, moderator, go-live) are not settings.

mod common;

use common::*;
use serde_json::{json, Value};

/// Every settings resource, read with a fixed Host so that URLs inside do
/// not depend on the (changing) port.
const RESOURCES: &[&str] = &[
    "/system/osd",
    "/system/room",
    "/audio/inputs",
    "/audio/outputs",
    "/video/configs",
    "/video/vpProfiles/now",
    "/video/multiviews",
    "/video/inputs",
    "/video/outputs",
    "/video/connections",
];

fn dump(d: &Daemon, tok: &str) -> Value {
    let mut out = serde_json::Map::new();
    for path in RESOURCES {
        let r = d.request_with(
            "GET",
            path,
            &[("host", "vp2730.test"), ("authorization", tok)],
            None,
        );
        out.insert(path.to_string(), r.ok_json());
    }
    let mut info = d.get_json("/system/info", tok);
    info.as_object_mut().unwrap().remove("uptime");
    out.insert("/system/info".into(), info);
    Value::Object(out)
}

/// Changes at least one field of every settings resource, each away from
/// its default; returns nothing, the caller dumps.
fn change_everything(d: &Daemon, tok: &str) {
    d.patch_ok(
        "/system/osd",
        tok,
        &json!({"multiviewLabel": 1, "notification": {"systemEvent": 1}, "language": {"value": "de_DE"}}),
    );
    d.patch_ok(
        "/system/room",
        tok,
        &json!({"name": "Persisted Room", "description": "Third floor", "linkInfo": 1,
                "security": {"code": "2468", "verification": 2}}),
    );
    d.patch_ok(
        "/audio/inputs",
        tok,
        &json!({"inputs": [
            {"id": "MIC1", "volume": 42, "gain": 25, "mute": {"value": 2}},
            {"id": "STM2", "volume": 7},
            {"id": "LINE1", "gain": 30},
        ]}),
    );
    d.patch_ok(
        "/audio/outputs/ALL",
        tok,
        &json!({"volume": 55, "mute": {"value": 2}}),
    );
    d.patch_ok("/audio/outputs/LINEOUT", tok, &json!({"volume": 3}));
    d.patch_ok(
        "/video/configs",
        tok,
        &json!({"edid": {"value": 2}, "inputStream": {"value": 1}}),
    );
    d.patch_ok(
        "/video/inputs/0",
        tok,
        &json!({"name": "Lectern", "idx": 5}),
    );
    d.patch_ok(
        "/video/inputs",
        tok,
        &json!({"inputs": [{"id": "6", "name": "VGA cart", "idx": 0}]}),
    );
    d.patch_ok(
        "/video/outputs/0",
        tok,
        &json!({"displayResolution": {"value": 77}, "fixHDCP": {"value": 1}, "osd": {"value": 2},
                "blank": {"value": 2}, "freeze": {"value": 2}, "fitMode": {"value": 4},
                "autoSwitch": {"value": 2, "plugin": {"mode": {"value": 2}}, "plugout": {"mode": {"value": 3}}}}),
    );
    d.patch_ok(
        "/video/outputs/2",
        tok,
        &json!({"name": "Hallway", "displayResolution": {"value": 29}}),
    );
    d.patch_ok(
        "/video/multiviews/1",
        tok,
        &json!({"description": "Quad", "mainView": "2", "views": [
            {"id": "0", "source": "6", "coordinate": {"wRatio": 0.25, "hRatio": 0.3, "xRatio": 0.125, "yRatio": 0.7, "zOrder": 12}}
        ]}),
    );
    d.patch_ok(
        "/video/multiviews",
        tok,
        &json!({"multiviews": [{"id": "3", "views": [{"id": "1", "coordinate": {"zOrder": 9}}]}]}),
    );
    // Profile 2 routes 0/1/2 to 4/5/6; then one manual change on top.
    d.patch_ok("/video/vpProfiles/now", tok, &json!({"id": "2"}));
    d.patch_ok("/video/connections/1", tok, &json!({"videoInput": "-1"}));
}

#[test]
fn settings_survive_a_clean_restart() {
    let mut d = Daemon::start();
    let tok = d.login();
    let defaults = dump(&d, &tok);
    change_everything(&d, &tok);
    let changed = dump(&d, &tok);
    // Every resource really changed.
    for path in RESOURCES {
        assert_ne!(changed[path], defaults[path], "{path} did not change");
    }
    assert_eq!(changed["/system/info"]["deviceName"], "Persisted Room");
    assert_eq!(changed["/video/vpProfiles/now"]["id"], "2");
    assert_eq!(
        changed["/video/connections"],
        json!({"connections": [
            {"id": "0", "videoInput": "4"}, {"id": "1", "videoInput": "-1"}, {"id": "2", "videoInput": "6"}
        ]})
    );
    // Sessions: a participant as moderator, two outputs live.
    let room = "roomcode:2468";
    let id = d.post("/system/participants", room, None).ok_json()["id"]
        .as_str()
        .unwrap()
        .to_string();
    d.patch_ok("/system/room", &tok, &json!({"moderator": id}));
    d.post("/video/golive/0", &tok, None).assert_204();
    d.post("/video/golive/2", &tok, None).assert_204();

    d.restart();
    let tok = d.login();
    let after = dump(&d, &tok);
    // Settings identical; the moderator (a session) is gone (S6).
    let mut expected = changed.clone();
    expected["/system/room"]["moderator"] = json!("");
    for path in RESOURCES.iter().chain(&["/system/info"]) {
        assert_eq!(after[path], expected[path], "{path} after restart");
    }
    // Not persisted: participants, live state (V12).
    assert_eq!(
        d.get_json("/system/participants", &tok),
        json!({"participants": []})
    );
    assert_eq!(
        d.get_json("/video/golive", &tok),
        json!({"golive": [{"id": "0", "status": 1}, {"id": "1", "status": 1}, {"id": "2", "status": 1}]})
    );
    // The persisted room code still admits presenters.
    assert_eq!(d.get("/system/info", room).status, 200);
    // And a second restart changes nothing.
    d.restart();
    let tok = d.login();
    assert_eq!(dump(&d, &tok), after);
}

#[test]
fn settings_survive_kill_9_right_after_the_204() {
    let mut d = Daemon::start();
    let mut tok = d.login();
    // (path, body, what to read back, the expected value there)
    type Step = (&'static str, Value, &'static str, &'static str, Value);
    let steps: Vec<Step> = vec![
        (
            "/system/osd",
            json!({"language": {"value": "ko_KR"}}),
            "/system/osd",
            "/language/value",
            json!("ko_KR"),
        ),
        (
            "/system/room",
            json!({"name": "Crash Room"}),
            "/system/info",
            "/deviceName",
            json!("Crash Room"),
        ),
        (
            "/system/room",
            json!({"security": {"code": "1357"}}),
            "/system/room",
            "/security/code",
            json!("1357"),
        ),
        (
            "/audio/inputs",
            json!({"inputs": [{"id": "MIC2", "gain": 3}, {"id": "HDMI4", "mute": {"value": 2}}]}),
            "/audio/inputs/MIC2",
            "/gain",
            json!(3),
        ),
        (
            "/audio/outputs/HDMIB",
            json!({"volume": 1}),
            "/audio/outputs/HDMIB",
            "/volume",
            json!(1),
        ),
        (
            "/video/configs",
            json!({"inputStream": {"value": 1}}),
            "/video/configs",
            "/inputStream/value",
            json!(1),
        ),
        (
            "/video/inputs/3",
            json!({"name": "Blu-ray"}),
            "/video/inputs/3",
            "/name",
            json!("Blu-ray"),
        ),
        (
            "/video/outputs/1",
            json!({"fitMode": {"value": 3}}),
            "/video/outputs/1",
            "/fitMode/value",
            json!(3),
        ),
        (
            "/video/multiviews/2",
            json!({"views": [{"id": "1", "source": "5"}]}),
            "/video/multiviews/2",
            "/views/1/source",
            json!("5"),
        ),
        (
            "/video/vpProfiles/now",
            json!({"id": "3"}),
            "/video/connections/2",
            "/videoInput",
            json!("-1"),
        ),
        (
            "/video/connections",
            json!({"connections": [{"id": "2", "videoInput": "6"}]}),
            "/video/connections/2",
            "/videoInput",
            json!("6"),
        ),
    ];
    let mut before_kill = Value::Null;
    for (path, body, read, pointer, value) in steps {
        d.patch_ok(path, &tok, &body);
        before_kill = dump(&d, &tok);
        d.kill9_and_restart();
        tok = d.login();
        let got = d.get_json(read, &tok);
        assert_eq!(
            got.pointer(pointer),
            Some(&value),
            "PATCH {path} {body} lost by kill -9: {read} is {got}"
        );
    }
    assert_eq!(
        dump(&d, &tok),
        before_kill,
        "everything acknowledged survived"
    );
    assert_eq!(d.get_json("/video/vpProfiles/now", &tok)["id"], "3");
    // The room code from the last steps admits presenters.
    assert_eq!(d.get("/system/room", "roomcode:1357").status, 200);

    // A burst of acknowledged writes, then kill -9 at once.
    for v in 0..=20 {
        d.patch_ok("/audio/outputs/ALL", &tok, &json!({ "volume": v }));
    }
    d.kill9_and_restart();
    let tok = d.login();
    assert_eq!(d.get_json("/audio/outputs/ALL", &tok)["volume"], 20);
}

#[test]
fn first_boot_room_code_and_certificate_are_kept() {
    let mut d = Daemon::start();
    let tok = d.login();
    let code = d.room_code(&tok);
    let cert = std::fs::read(d.data_dir().join("tls-cert.pem")).unwrap();
    let defaults = dump(&d, &tok);
    d.kill9_and_restart();
    let tok = d.login();
    assert_eq!(d.room_code(&tok), code, "A5: generated once and persisted");
    d.restart();
    let tok = d.login();
    assert_eq!(d.room_code(&tok), code);
    assert_eq!(
        d.get("/system/info", &format!("roomcode:{code}")).status,
        200
    );
    assert_eq!(
        std::fs::read(d.data_dir().join("tls-cert.pem")).unwrap(),
        cert
    );
    // Nothing else drifted from the factory settings.
    assert_eq!(dump(&d, &tok), defaults);
}

/// A damaged or missing database at boot (issue 6): the daemon starts from
/// the factory settings instead of crash-looping, keeps the bad file aside
/// for diagnosis, and says so in its log and in `maintenance/status`; the
/// fresh database then keeps new settings as usual.
#[test]
fn a_damaged_or_missing_database_starts_from_defaults_and_says_so() {
    let mut d = Daemon::start();
    let tok = d.login();
    let factory = d.get_json("/audio/outputs/ALL", &tok)["volume"].clone();
    let db = |dir: &std::path::Path| dir.join("settings.db");
    let set = |d: &Daemon, v: i64| {
        let tok = d.login();
        d.patch_ok("/audio/outputs/ALL", &tok, &json!({"volume": v}));
    };
    let asides = |d: &Daemon| {
        find_files(&d.data_dir(), &|name: &str| {
            name.starts_with("settings.db.corrupt-")
                && !name.ends_with("-wal")
                && !name.ends_with("-shm")
        })
        .len()
    };
    type Damage = fn(&std::path::Path);
    let damages: [(&str, Damage); 3] = [
        ("truncated to half", |p| {
            let len = std::fs::metadata(p).expect("db").len();
            let f = std::fs::OpenOptions::new()
                .write(true)
                .open(p)
                .expect("open db");
            f.set_len(len / 2).expect("truncate");
        }),
        ("overwritten with garbage", |p| {
            let len = std::fs::metadata(p).expect("db").len() as usize;
            let garbage: Vec<u8> = (0..len).map(|i| (i * 131 + 7) as u8).collect();
            std::fs::write(p, garbage).expect("write garbage");
        }),
        ("header zeroed", |p| {
            let mut bytes = std::fs::read(p).expect("db");
            bytes[..100].fill(0);
            std::fs::write(p, bytes).expect("write");
        }),
    ];
    for (n, (what, damage)) in damages.into_iter().enumerate() {
        set(&d, 11 + n as i64);
        d.restart_after(|dir| {
            for side in ["settings.db-wal", "settings.db-shm"] {
                let _ = std::fs::remove_file(dir.join(side));
            }
            damage(&db(dir));
        });
        let tok = d.login();
        let status = d.get_json("/maintenance/status", &tok);
        assert_eq!(status["database"], "recovered", "{what}: {status}");
        assert_eq!(
            d.get_json("/audio/outputs/ALL", &tok)["volume"],
            factory,
            "{what}"
        );
        assert_eq!(asides(&d), n + 1, "{what}: the bad file is kept aside");
        assert!(
            d.stderr().contains("settings database unusable"),
            "{what}: nothing in the log"
        );
        // The fresh database works: a new setting survives a restart, and
        // that restart is not a recovery.
        set(&d, 40 + n as i64);
        d.restart();
        let tok = d.login();
        assert_eq!(
            d.get_json("/audio/outputs/ALL", &tok)["volume"],
            40 + n as i64
        );
        assert_eq!(
            d.get_json("/maintenance/status", &tok)["database"],
            "ok",
            "{what}"
        );
    }
    // Missing altogether (flash wiped): a first boot, not a recovery.
    d.restart_after(|dir| {
        for f in ["settings.db", "settings.db-wal", "settings.db-shm"] {
            let _ = std::fs::remove_file(dir.join(f));
        }
    });
    let tok = d.login();
    assert_eq!(d.get_json("/audio/outputs/ALL", &tok)["volume"], factory);
    assert_eq!(d.get_json("/maintenance/status", &tok)["database"], "ok");
}

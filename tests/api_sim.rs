//! Hardware-driven behaviour, using the `/sim/...` routes (`--sim` only)
//! to plug sources and displays and to silence the board: status and HDCP
//! follow the hardware, auto-switching (V5), and a silent board (E3).

mod common;

use common::*;
use serde_json::{json, Value};
use std::time::Duration;

const SETTLE: Duration = Duration::from_secs(5);

fn plug(d: &Daemon, tok: &str, input: &str, signal: bool, hdcp: i64) {
    d.post(
        &format!("/sim/inputs/{input}"),
        tok,
        Some(&json!({"signal": signal, "hdcp": hdcp})),
    )
    .assert_204();
}

#[track_caller]
fn wait_for(d: &Daemon, tok: &str, path: &str, pointer: &str, want: Value) {
    let mut last = Value::Null;
    let ok = wait_until(SETTLE, || {
        last = d
            .get_json(path, tok)
            .pointer(pointer)
            .cloned()
            .unwrap_or(Value::Null);
        last == want
    });
    assert!(ok, "{path}{pointer} is {last}, expected {want}");
}

fn routes_now(d: &Daemon, tok: &str) -> Vec<String> {
    d.get_json("/video/connections", tok)["connections"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["videoInput"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn hot_plug_updates_inputs_audio_outputs_and_golive() {
    let d = Daemon::start();
    let tok = d.login();
    // A source on DisplayPort (4), HDCP 2.2.
    plug(&d, &tok, "4", true, 3);
    wait_for(&d, &tok, "/video/inputs/4", "/status", json!(0));
    assert_eq!(d.get_json("/video/inputs/4", &tok)["hdcp"]["value"], 3);
    wait_for(&d, &tok, "/audio/inputs/DP1", "/status", json!(0));
    // V2: capped to the port (USB-C supports 1.4 at most).
    plug(&d, &tok, "5", true, 3);
    wait_for(&d, &tok, "/video/inputs/5", "/hdcp/value", json!(2));
    // VGA with a source: status 0, HDCP always 0.
    plug(&d, &tok, "6", true, 1);
    wait_for(&d, &tok, "/video/inputs/6", "/status", json!(0));
    assert_eq!(d.get_json("/video/inputs/6", &tok)["hdcp"]["value"], 0);
    // Unplugging: status 1, HDCP back to 1, embedded audio disconnected.
    plug(&d, &tok, "0", false, 1);
    wait_for(&d, &tok, "/video/inputs/0", "/status", json!(1));
    assert_eq!(d.get_json("/video/inputs/0", &tok)["hdcp"]["value"], 1);
    wait_for(&d, &tok, "/audio/inputs/HDMI1", "/status", json!(1));
    // Displays.
    d.post("/sim/outputs/2", &tok, Some(&json!({"sink": true})))
        .assert_204();
    wait_for(&d, &tok, "/video/outputs/2", "/status", json!(0));
    d.post("/sim/outputs/0", &tok, Some(&json!({"sink": false})))
        .assert_204();
    wait_for(&d, &tok, "/video/outputs/0", "/status", json!(1));
    // A live output's source starting HDCP 2.2 makes it "protected" (V12).
    d.post("/video/golive/1", &tok, None).assert_204();
    assert_eq!(d.get_json("/video/golive/1", &tok)["status"], 2);
    plug(&d, &tok, "1", true, 3);
    wait_for(&d, &tok, "/video/golive/1", "/status", json!(101));
    plug(&d, &tok, "1", false, 1);
    wait_for(&d, &tok, "/video/golive/1", "/status", json!(2));
    // The /sim routes validate like the API.
    let cases: Vec<(&str, Value, u64)> = vec![
        ("/sim/inputs/9", json!({"signal": true}), 40401),
        ("/sim/inputs/0", json!({"signal": "yes"}), 40000),
        ("/sim/inputs/0", json!({"signal": true, "hdcp": 4}), 40001),
        ("/sim/inputs/0", json!({"hdcp": 2}), 40000),
        ("/sim/inputs/0", json!({"signal": true, "x": 1}), 40003),
        ("/sim/outputs/3", json!({"sink": true}), 40401),
        ("/sim/hardware", json!({"responding": 1}), 40000),
    ];
    for (path, body, code) in cases {
        assert_error(&d.post(path, &tok, Some(&body)), code);
    }
    let room = format!("roomcode:{}", d.room_code(&tok));
    assert_error(
        &d.post("/sim/inputs/0", &room, Some(&json!({"signal": true}))),
        40300,
    );
}

#[test]
fn auto_switch_follows_plug_in_and_plug_out() {
    let mut d = Daemon::start();
    let tok = d.login();
    // Output 0: auto, plug-in switches. Output 1: auto, plug-in off,
    // plug-out 2. Output 2: plug-in 2 but auto-switching off.
    d.patch_ok(
        "/video/outputs",
        &tok,
        &json!({"outputs": [
            {"id": "0", "autoSwitch": {"value": 2, "plugin": {"mode": {"value": 2}}}},
            {"id": "1", "autoSwitch": {"value": 2, "plugin": {"mode": {"value": 1}}, "plugout": {"mode": {"value": 2}}}},
            {"id": "2", "autoSwitch": {"value": 1, "plugin": {"mode": {"value": 2}}, "plugout": {"mode": {"value": 2}}}},
        ]}),
    );
    assert_eq!(routes_now(&d, &tok), ["0", "1", "2"]);
    // V5: plug-in 2 switches to the source just plugged in.
    plug(&d, &tok, "5", true, 1);
    wait_for(&d, &tok, "/video/connections/0", "/videoInput", json!("5"));
    assert_eq!(routes_now(&d, &tok), ["5", "1", "2"]);
    // Plug-out 2: output 1 loses input 1, goes to the first input with a
    // signal (0; 2, 3, 5 have one too).
    plug(&d, &tok, "1", false, 1);
    wait_for(&d, &tok, "/video/connections/1", "/videoInput", json!("0"));
    // Output 2 (auto off) keeps input 2 when it is unplugged.
    plug(&d, &tok, "2", false, 1);
    wait_for(&d, &tok, "/video/inputs/2", "/status", json!(1));
    assert_eq!(routes_now(&d, &tok), ["5", "0", "2"]);
    // V5: plug-out 3 behaves as 2.
    d.patch_ok(
        "/video/outputs/0",
        &tok,
        &json!({"autoSwitch": {"plugout": {"mode": {"value": 3}}}}),
    );
    plug(&d, &tok, "5", false, 1);
    wait_for(&d, &tok, "/video/connections/0", "/videoInput", json!("0"));
    // Plug-out 1 (off): output 1 stays on a lost source.
    d.patch_ok(
        "/video/outputs/1",
        &tok,
        &json!({"autoSwitch": {"plugout": {"mode": {"value": 1}}}}),
    );
    d.patch_ok("/video/connections/1", &tok, &json!({"videoInput": "3"}));
    plug(&d, &tok, "3", false, 1);
    wait_for(&d, &tok, "/video/inputs/3", "/status", json!(1));
    assert_eq!(routes_now(&d, &tok), ["0", "3", "2"]);
    // Routes chosen by auto-switching are settings like any other.
    let before = d.get_json("/video/connections", &tok);
    d.kill9_and_restart();
    let tok = d.login();
    assert_eq!(d.get_json("/video/connections", &tok), before);
}

#[test]
fn a_silent_board_is_503_and_nothing_changes() {
    let mut d = Daemon::start_with_config("[hardware]\ntimeout_ms = 300\n");
    let tok = d.login();
    d.post("/sim/hardware", &tok, Some(&json!({"responding": false})))
        .assert_204();
    // E3: 503/50302, nothing applied or persisted.
    let r = d.patch("/system/osd", &tok, &json!({"multiviewLabel": 1}));
    assert_error_msg(&r, 50302, "Service is not ready.");
    assert_eq!(d.get_json("/system/osd", &tok)["multiviewLabel"], 2);
    let r = d.patch("/audio/inputs/STM1", &tok, &json!({"volume": 5}));
    assert_error_msg(&r, 50302, "Service is not ready.");
    assert_eq!(d.get_json("/audio/inputs/STM1", &tok)["volume"], 100);
    let r = d.post("/video/snapshots/0", &tok, Some(&json!({"storage": "0"})));
    assert_error(&r, 50302);
    let m = d.get_json("/maintenance/status", &tok);
    assert_eq!(m["status"], "degraded", "{m}");
    assert_eq!(m["hardware"], "notResponding", "{m}");
    assert!(!m["notes"].as_array().unwrap().is_empty(), "{m}");
    // Reads are still served from the last state.
    assert_eq!(d.get_json("/video/connections/0", &tok)["videoInput"], "0");
    // The board answers again: the daemon notices (probe every second).
    d.post("/sim/hardware", &tok, Some(&json!({"responding": true})))
        .assert_204();
    wait_for(&d, &tok, "/maintenance/status", "/hardware", json!("ok"));
    assert_eq!(d.get_json("/maintenance/status", &tok)["status"], "normal");
    d.patch_ok("/audio/inputs/STM1", &tok, &json!({"volume": 5}));
    assert_eq!(d.get_json("/audio/inputs/STM1", &tok)["volume"], 5);
    // After a restart: the successful change is there, the refused one not.
    d.restart();
    let tok = d.login();
    assert_eq!(d.get_json("/audio/inputs/STM1", &tok)["volume"], 5);
    assert_eq!(d.get_json("/system/osd", &tok)["multiviewLabel"], 2);
}

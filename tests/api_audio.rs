//! Audio group over real HTTPS: inputs and outputs, single and bulk PATCH.

mod common;

use common::*;
use serde_json::{json, Value};

/// (id, name, type, idx, status, volume, gain) of the profile's inputs, with
/// the `[sim]` wiring: HDMI1-4 carry a signal, DP1/USBC1 do not, jacks are
/// plugged, nobody shares audio (so STMn are disconnected, U4).
const INPUTS: [(&str, &str, &str, i64, i64, i64, i64); 11] = [
    ("STM1", "STM1", "digital", -1, 1, 100, -1),
    ("STM2", "STM2", "digital", -1, 1, 100, -1),
    ("HDMI1", "HDMI 1", "embedded", 0, 0, 100, -1),
    ("HDMI2", "HDMI 2", "embedded", 1, 0, 100, -1),
    ("HDMI3", "HDMI 3", "embedded", 2, 0, 100, -1),
    ("HDMI4", "HDMI 4", "embedded", 3, 0, 100, -1),
    ("DP1", "DisplayPort", "embedded", 4, 1, 100, -1),
    ("USBC1", "USB-C", "embedded", 5, 1, 100, -1),
    ("MIC1", "Mic 1", "mic", 0, 0, 80, 10),
    ("MIC2", "Mic 2", "mic", 1, 0, 80, 10),
    ("LINE1", "Line In", "analog", 0, 0, 100, 0),
];

const OUTPUTS: [(&str, &str, &str, i64, i64, i64, i64); 5] = [
    ("ALL", "ALL", "overall", -1, 0, 100, -1),
    ("HDMIA", "Display A", "HDMI", 0, 0, 100, -1),
    ("HDMIB", "Display B", "HDMI", 1, 0, 100, -1),
    ("HDBTC", "Display C", "HDBaseT", 2, 0, 100, -1),
    ("LINEOUT", "Line Out", "analog", 0, 0, 100, -1),
];

fn channel(c: &(&str, &str, &str, i64, i64, i64, i64)) -> Value {
    json!({
        "id": c.0, "name": c.1, "type": c.2, "idx": c.3, "status": c.4,
        "volume": c.5, "gain": c.6, "mute": {"value": 1, "valid": [1, 2]},
    })
}

fn has_gain(id: &str) -> bool {
    matches!(id, "MIC1" | "MIC2" | "LINE1")
}

#[test]
fn audio_inputs_and_outputs_get_shape() {
    let d = Daemon::start();
    let tok = d.login();
    let inputs: Vec<Value> = INPUTS.iter().map(channel).collect();
    assert_eq!(
        d.get_json("/audio/inputs", &tok),
        json!({ "inputs": inputs })
    );
    let outputs: Vec<Value> = OUTPUTS.iter().map(channel).collect();
    assert_eq!(
        d.get_json("/audio/outputs", &tok),
        json!({ "outputs": outputs })
    );
}

#[test]
fn audio_get_of_one_equals_its_list_entry() {
    let d = Daemon::start();
    let tok = d.login();
    // Change something first so the comparison is not only of defaults.
    d.patch_ok(
        "/audio/inputs/MIC2",
        &tok,
        &json!({"volume": 33, "mute": {"value": 2}}),
    );
    d.patch_ok("/audio/outputs/HDBTC", &tok, &json!({"volume": 12}));
    for (list, key) in [("/audio/inputs", "inputs"), ("/audio/outputs", "outputs")] {
        let all = d.get_json(list, &tok);
        let items = all[key].as_array().unwrap();
        assert!(!items.is_empty());
        for item in items {
            let id = item["id"].as_str().unwrap();
            assert_eq!(
                &d.get_json(&format!("{list}/{id}"), &tok),
                item,
                "{list}/{id}"
            );
        }
        for bad in ["NOPE", "stm1", "all", "0", "%20"] {
            let r = d.get(&format!("{list}/{bad}"), &tok);
            assert_error(&r, 40401);
        }
        assert_error_msg(
            &d.get(&format!("{list}/NOPE"), &tok),
            40401,
            "The instance of the resource is not found: NOPE.",
        );
    }
}

fn patch_every_field(d: &Daemon, tok: &str, list: &str, ids: &[&str]) {
    for id in ids {
        let p = format!("{list}/{id}");
        for v in [0, 100, 37] {
            d.patch_and_verify(&p, tok, &json!({ "volume": v }));
        }
        d.patch_and_verify(&p, tok, &json!({"mute": {"value": 2}}));
        d.patch_and_verify(&p, tok, &json!({"mute": {"value": 1}}));
        if has_gain(id) {
            for g in [0, 30, 17] {
                d.patch_and_verify(&p, tok, &json!({ "gain": g }));
            }
        } else {
            // U1: -1 is the only value, a no-op.
            d.patch_and_verify(&p, tok, &json!({"gain": -1}));
        }
        // The guide's example body shape (gain only where it means something).
        let gain = if has_gain(id) { 5 } else { -1 };
        d.patch_and_verify(
            &p,
            tok,
            &json!({"volume": 64, "gain": gain, "mute": {"value": 2}}),
        );
        // PATCH back exactly what GET shows.
        let shown = d.get_json(&p, tok);
        d.patch_ok(&p, tok, &shown);
        assert_eq!(d.get_json(&p, tok), shown);
    }
}

#[test]
fn audio_inputs_patch_every_writable_field() {
    let d = Daemon::start();
    let tok = d.login();
    let ids: Vec<&str> = INPUTS.iter().map(|c| c.0).collect();
    patch_every_field(&d, &tok, "/audio/inputs", &ids);
    // Other channels were not touched by each other's PATCHes.
    let all = d.get_json("/audio/inputs", &tok);
    for item in all["inputs"].as_array().unwrap() {
        assert_eq!(item["volume"], 64);
        assert_eq!(item["mute"]["value"], 2);
    }
}

#[test]
fn audio_outputs_patch_every_writable_field() {
    let d = Daemon::start();
    let tok = d.login();
    let ids: Vec<&str> = OUTPUTS.iter().map(|c| c.0).collect();
    patch_every_field(&d, &tok, "/audio/outputs", &ids);
}

#[test]
fn audio_patch_rejections() {
    let d = Daemon::start();
    let tok = d.login();
    let cases: Vec<(&str, Value, u64, &str)> = vec![
        (
            "/audio/inputs/STM1",
            json!({"volume": 101}),
            40001,
            "The value of volume is unsupported: 101.",
        ),
        (
            "/audio/inputs/STM1",
            json!({"volume": -1}),
            40001,
            "The value of volume is unsupported: -1.",
        ),
        (
            "/audio/inputs/STM1",
            json!({"volume": 50.5}),
            40000,
            "The value of volume is invalid: 50.5.",
        ),
        (
            "/audio/inputs/STM1",
            json!({"volume": "50"}),
            40000,
            "The value of volume is invalid: 50.",
        ),
        (
            "/audio/inputs/STM1",
            json!({"volume": null}),
            40000,
            "The value of volume is invalid: null.",
        ),
        (
            "/audio/inputs/STM1",
            json!({"volume": [50]}),
            40000,
            "The value of volume is invalid: [50].",
        ),
        // U1: no gain stage: only -1.
        (
            "/audio/inputs/STM1",
            json!({"gain": 10}),
            40001,
            "The value of gain is unsupported: 10.",
        ),
        (
            "/audio/inputs/HDMI1",
            json!({"gain": 0}),
            40001,
            "The value of gain is unsupported: 0.",
        ),
        (
            "/audio/outputs/ALL",
            json!({"gain": 10}),
            40001,
            "The value of gain is unsupported: 10.",
        ),
        (
            "/audio/outputs/LINEOUT",
            json!({"gain": 0}),
            40001,
            "The value of gain is unsupported: 0.",
        ),
        // With a gain stage: 0-30, not -1.
        (
            "/audio/inputs/MIC1",
            json!({"gain": -1}),
            40001,
            "The value of gain is unsupported: -1.",
        ),
        (
            "/audio/inputs/MIC1",
            json!({"gain": 31}),
            40001,
            "The value of gain is unsupported: 31.",
        ),
        (
            "/audio/inputs/LINE1",
            json!({"gain": 2.5}),
            40000,
            "The value of gain is invalid: 2.5.",
        ),
        (
            "/audio/inputs/MIC2",
            json!({"mute": {"value": 0}}),
            40001,
            "The value of mute.value is unsupported: 0.",
        ),
        (
            "/audio/inputs/MIC2",
            json!({"mute": {"value": 3}}),
            40001,
            "The value of mute.value is unsupported: 3.",
        ),
        (
            "/audio/inputs/MIC2",
            json!({"mute": {"value": "2"}}),
            40000,
            "The value of mute.value is invalid: 2.",
        ),
        (
            "/audio/inputs/MIC2",
            json!({"mute": 2}),
            40000,
            "The value of mute is invalid: 2.",
        ),
        (
            "/audio/inputs/MIC2",
            json!({"mute": true}),
            40000,
            "The value of mute is invalid: true.",
        ),
        ("/audio/outputs/HDMIA", json!({"volume": 1e300}), 40000, ""),
        (
            "/audio/outputs/HDMIA",
            json!({"volume": 9223372036854775808u64}),
            40000,
            "",
        ),
        // Read-only fields (W6, U3).
        (
            "/audio/inputs/HDMI1",
            json!({"name": "Laptop"}),
            40002,
            "The operation on name is disallowed.",
        ),
        (
            "/audio/inputs/HDMI1",
            json!({"type": "mic"}),
            40002,
            "The operation on type is disallowed.",
        ),
        (
            "/audio/inputs/HDMI1",
            json!({"idx": 3}),
            40002,
            "The operation on idx is disallowed.",
        ),
        (
            "/audio/inputs/HDMI1",
            json!({"status": 1}),
            40002,
            "The operation on status is disallowed.",
        ),
        (
            "/audio/inputs/HDMI1",
            json!({"id": "HDMI2"}),
            40002,
            "The operation on id is disallowed.",
        ),
        (
            "/audio/inputs/HDMI1",
            json!({"mute": {"valid": [1]}}),
            40002,
            "The operation on mute.valid is disallowed.",
        ),
        (
            "/audio/outputs/ALL",
            json!({"name": "Main"}),
            40002,
            "The operation on name is disallowed.",
        ),
        // Unknown fields (W7).
        (
            "/audio/inputs/HDMI1",
            json!({"hdcv": 1}),
            40003,
            "The field cannot be recognized: hdcv.",
        ),
        (
            "/audio/inputs/HDMI1",
            json!({"mute": {"value": 2, "level": 1}}),
            40003,
            "The field cannot be recognized: mute.level.",
        ),
        (
            "/audio/outputs/ALL",
            json!({"balance": 0}),
            40003,
            "The field cannot be recognized: balance.",
        ),
        // A valid field next to a bad one: nothing applied.
        (
            "/audio/inputs/MIC1",
            json!({"volume": 5, "gain": 99}),
            40001,
            "The value of gain is unsupported: 99.",
        ),
        (
            "/audio/outputs/ALL",
            json!({"volume": 5, "mute": {"value": 7}}),
            40001,
            "The value of mute.value is unsupported: 7.",
        ),
    ];
    for (path, body, code, msg) in cases {
        let msg = (!msg.is_empty()).then_some(msg);
        d.assert_rejected(path, &tok, &body, code, msg);
    }
    // Read-only fields sent back unchanged are accepted (W6); numbers by value.
    d.patch_and_verify(
        "/audio/inputs/HDMI1",
        &tok,
        &json!({"id": "HDMI1", "name": "HDMI 1", "type": "embedded", "idx": 0, "status": 0, "volume": 10}),
    );
    // Read-only numbers compare by value (`0.0` equals `0`)...
    d.patch_ok(
        "/audio/inputs/HDMI1",
        &tok,
        &json!({"idx": 0.0, "volume": 11}),
    );
    let hdmi1 = d.get_json("/audio/inputs/HDMI1", &tok);
    assert_eq!(
        (hdmi1["idx"].clone(), hdmi1["volume"].clone()),
        (json!(0), json!(11))
    );
    // ...but a writable integer written `11.0` is refused as not an integer
    // (W3 is silent on integral floats; this is what the daemon does).
    d.assert_rejected(
        "/audio/inputs/HDMI1",
        &tok,
        &json!({"volume": 12.0}),
        40000,
        Some("The value of volume is invalid: 12.0."),
    );
    // A PATCH of an unknown channel.
    let r = d.patch("/audio/inputs/NOPE", &tok, &json!({"volume": 1}));
    assert_error_msg(
        &r,
        40401,
        "The instance of the resource is not found: NOPE.",
    );
}

#[test]
fn audio_bulk_patch_changes_exactly_the_listed_subset() {
    let d = Daemon::start();
    let tok = d.login();
    let before = d.get_json("/audio/inputs", &tok);
    let body = json!({"inputs": [
        {"id": "MIC2", "gain": 20, "mute": {"value": 2}},
        {"id": "HDMI1", "volume": 10},
        {"id": "STM1", "volume": 100, "gain": -1, "mute": {"value": 1}},
    ]});
    d.patch_ok("/audio/inputs", &tok, &body);
    let mut expected = before.clone();
    for item in expected["inputs"].as_array_mut().unwrap() {
        match item["id"].as_str().unwrap() {
            "MIC2" => {
                item["gain"] = json!(20);
                item["mute"]["value"] = json!(2);
            }
            "HDMI1" => item["volume"] = json!(10),
            _ => {}
        }
    }
    assert_eq!(d.get_json("/audio/inputs", &tok), expected);

    let body = json!({"outputs": [
        {"id": "ALL", "volume": 70, "mute": {"value": 2}},
        {"id": "LINEOUT", "volume": 0},
    ]});
    let before = d.get_json("/audio/outputs", &tok);
    d.patch_ok("/audio/outputs", &tok, &body);
    let mut expected = before.clone();
    expected["outputs"][0]["volume"] = json!(70);
    expected["outputs"][0]["mute"]["value"] = json!(2);
    expected["outputs"][4]["volume"] = json!(0);
    assert_eq!(d.get_json("/audio/outputs", &tok), expected);

    // Sending back the whole GET list is accepted and changes nothing.
    for list in ["/audio/inputs", "/audio/outputs"] {
        let all = d.get_json(list, &tok);
        d.patch_ok(list, &tok, &all);
        assert_eq!(d.get_json(list, &tok), all);
    }
    // W5: an empty list is a valid no-op.
    d.patch_ok("/audio/inputs", &tok, &json!({"inputs": []}));
    d.patch_ok("/audio/outputs", &tok, &json!({"outputs": []}));
}

#[test]
fn audio_bulk_patch_is_all_or_nothing() {
    let d = Daemon::start();
    let tok = d.login();
    let cases: Vec<(&str, Value, u64, &str)> = vec![
        (
            "/audio/inputs",
            json!({"inputs": [{"id": "HDMI1", "volume": 10}, {"id": "MIC2", "gain": 31}]}),
            40001,
            "The value of inputs[1].gain is unsupported: 31.",
        ),
        (
            "/audio/inputs",
            json!({"inputs": [{"id": "MIC1", "volume": 1}, {"id": "STM2", "gain": 10}]}),
            40001,
            "The value of inputs[1].gain is unsupported: 10.",
        ),
        (
            "/audio/inputs",
            json!({"inputs": [{"id": "HDMI1", "volume": 10}, {"id": "NOPE", "volume": 1}]}),
            40401,
            "The instance of the resource is not found: NOPE.",
        ),
        (
            "/audio/inputs",
            json!({"inputs": [{"id": "HDMI1", "volume": 10}, {"id": "HDMI2", "hdcv": 1}]}),
            40003,
            "The field cannot be recognized: inputs[1].hdcv.",
        ),
        (
            "/audio/inputs",
            json!({"inputs": [{"id": "HDMI1", "volume": 10}, {"id": "HDMI2", "name": "x"}]}),
            40002,
            "The operation on inputs[1].name is disallowed.",
        ),
        (
            "/audio/inputs",
            json!({"inputs": [{"id": "HDMI1", "volume": 10}, {"volume": 5}]}),
            40000,
            "The value of inputs[1].id is invalid: null.",
        ),
        (
            "/audio/inputs",
            json!({"inputs": [{"id": "HDMI1", "volume": 10}, {"id": "HDMI1", "volume": 20}]}),
            40000,
            "The value of inputs[1].id is invalid: HDMI1.",
        ),
        (
            "/audio/inputs",
            json!({"inputs": [{"id": "HDMI1", "volume": 10}, 5]}),
            40000,
            "The value of inputs[1] is invalid: 5.",
        ),
        (
            "/audio/inputs",
            json!({"inputs": {"id": "HDMI1", "volume": 10}}),
            40000,
            "",
        ),
        (
            "/audio/inputs",
            json!({"inputs": [{"id": "HDMI1", "volume": 10}], "extra": 1}),
            40003,
            "The field cannot be recognized: extra.",
        ),
        (
            "/audio/inputs",
            json!({"outputs": [{"id": "ALL", "volume": 10}]}),
            40000,
            "",
        ),
        (
            "/audio/outputs",
            json!({"outputs": [{"id": "ALL", "volume": 10}, {"id": "HDMIA", "mute": {"value": 0}}]}),
            40001,
            "The value of outputs[1].mute.value is unsupported: 0.",
        ),
        (
            "/audio/outputs",
            json!({"outputs": [{"id": "ALL", "volume": 10}, {"id": "MIC1", "volume": 5}]}),
            40401,
            "The instance of the resource is not found: MIC1.",
        ),
    ];
    for (path, body, code, msg) in cases {
        // assert_rejected compares every entry of the list before and after.
        let msg = (!msg.is_empty()).then_some(msg);
        d.assert_rejected(path, &tok, &body, code, msg);
    }
}

/// GET bodies are rendered once per commit and view (src/render_cache.rs):
/// the audio and video lists share the guide's key `inputs` and must never
/// be served each other's body; a room-tier caller never gets the
/// administrator's rendering; and a GET right after a 204 shows the change.
#[test]
fn cached_get_bodies_are_per_resource_tier_and_commit() {
    let d = Daemon::start();
    let tok = d.login();
    for _ in 0..3 {
        let video = d.get_json("/video/inputs", &tok);
        let audio = d.get_json("/audio/inputs", &tok);
        assert_ne!(video, audio);
        assert_eq!(audio["inputs"][0]["id"], "STM1", "{audio}");
        assert!(video["inputs"][0].get("volume").is_none(), "{video}");
        assert_eq!(d.get_json("/audio/inputs/STM1", &tok), channel(&INPUTS[0]));
        assert_ne!(d.get_json("/video/inputs/0", &tok), audio["inputs"][0]);
    }
    // Room tier: the room resource without its code, though the
    // administrator's rendering of the same snapshot is cached.
    let admin_room = d.get_json("/system/room", &tok);
    let code = d.room_code(&tok);
    let room = d.get_json("/system/room", &format!("roomcode:{code}"));
    assert_ne!(room, admin_room);
    assert_eq!(d.get_json("/system/room", &tok), admin_room);
    // Read-your-write through the cache, many times over.
    for v in 1..=20 {
        d.patch_ok("/audio/outputs/ALL", &tok, &json!({"volume": v}));
        assert_eq!(d.get_json("/audio/outputs/ALL", &tok)["volume"], v);
        assert_eq!(
            d.get_json("/audio/outputs", &tok)["outputs"][0]["volume"],
            v
        );
    }
}

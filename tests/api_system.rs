//! System group over real HTTPS: ping, info, resources, OSD, room,
//! participants, maintenance status, and the room's picture and QR code.

mod common;

use common::*;
use serde_json::{json, Value};

const LANGUAGES: [&str; 11] = [
    "en_US", "zh_TW", "zh_CN", "ja_JP", "de_DE", "ko_KR", "ru_RU", "fr_FR", "es_ES", "pt_PT",
    "it_IT",
];

fn keys(v: &Value) -> Vec<String> {
    let mut k: Vec<String> = v
        .as_object()
        .unwrap_or_else(|| panic!("not an object: {v}"))
        .keys()
        .cloned()
        .collect();
    k.sort();
    k
}

#[test]
fn ping_answers_without_credentials() {
    let d = Daemon::start();
    let r = d.request("GET", "/ping", None, None);
    assert_eq!(r.ok_json(), json!({}));
    // Public routes ignore whatever credential is sent (W9, server.rs).
    let r = d.request("GET", "/ping", Some("not-a-credential"), None);
    assert_eq!(r.ok_json(), json!({}));
    // Security headers on every answer.
    assert_eq!(
        r.header("x-content-type-options").as_deref(),
        Some("nosniff")
    );
    assert_eq!(r.header("cache-control").as_deref(), Some("no-store"));
}

/// `YYMMDDHH` (UTC) of Unix seconds, as `build.rs` computes it.
fn yymmddhh(secs: i64) -> String {
    let days = secs.div_euclid(86_400);
    let hour = secs.rem_euclid(86_400) / 3600;
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!("{:02}{:02}{:02}{:02}", year % 100, month, day, hour)
}

/// What `build.rs` stamps: SOURCE_DATE_EPOCH, else the last commit's time.
fn expected_build_version() -> Option<String> {
    if let Ok(s) = std::env::var("SOURCE_DATE_EPOCH") {
        return s.trim().parse::<i64>().ok().map(yymmddhh);
    }
    let out = std::process::Command::new("git")
        .args(["log", "-1", "--format=%ct"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .ok()?;
    let secs = String::from_utf8(out.stdout)
        .ok()?
        .trim()
        .parse::<i64>()
        .ok()?;
    Some(yymmddhh(secs))
}

#[test]
fn system_info_shape_and_values() {
    let d = Daemon::start();
    let tok = d.login();
    let info = d.get_json("/system/info", &tok);
    assert_eq!(
        keys(&info),
        [
            "boardVersion",
            "buildVersion",
            "deviceName",
            "fwUpgradeType",
            "fwVersion",
            "modelName",
            "serialNumber",
            "status",
            "uptime"
        ]
    );
    assert_eq!(info["modelName"], "VP2730");
    assert_eq!(info["deviceName"], "VP2730");
    assert_eq!(info["serialNumber"], "VP27300000001");
    assert_eq!(info["status"], "normal");
    assert_eq!(info["fwVersion"], env!("CARGO_PKG_VERSION"));
    assert_eq!(info["fwUpgradeType"], 3);
    assert_eq!(info["boardVersion"], "A-05");
    let build = info["buildVersion"]
        .as_str()
        .expect("buildVersion is a string");
    assert_eq!(build.len(), 8, "YYMMDDHH: {build}");
    assert!(build.bytes().all(|b| b.is_ascii_digit()), "{build}");
    if let Some(expected) = expected_build_version() {
        assert_eq!(build, expected, "S11: YYMMDDHH of the commit time");
    }
    // S9: seconds since start, a number that grows.
    let up = info["uptime"]
        .as_u64()
        .expect("uptime is an unsigned number");
    assert!(up < 60, "uptime {up} right after start");
    std::thread::sleep(std::time::Duration::from_millis(1100));
    let up2 = d.get_json("/system/info", &tok)["uptime"].as_u64().unwrap();
    assert!(up2 > up, "uptime did not grow: {up} then {up2}");
    // The room tier may read it (A4), and sees the same.
    let code = d.room_code(&tok);
    let as_room = d.get_json("/system/info", &format!("roomcode:{code}"));
    assert_eq!(as_room["deviceName"], "VP2730");
    assert_eq!(keys(&as_room), keys(&info));
}

fn resource_list(paths: &[&str]) -> Value {
    let list: Vec<Value> = paths
        .iter()
        .enumerate()
        .map(|(i, p)| json!({"id": i.to_string(), "resource": p}))
        .collect();
    json!({ "resources": list })
}

/// S10: one entry per distinct path of the group the tier may use, from the
/// route table, `<id>` for parameters.
fn expected_group(prefix: &str, tier: Tier) -> Value {
    let mut paths: Vec<String> = Vec::new();
    for r in routes() {
        let p = r.pattern.replace("{id}", "<id>");
        if r.pattern.starts_with(prefix) && r.tier <= tier && !paths.contains(&p) {
            paths.push(p);
        }
    }
    let refs: Vec<&str> = paths.iter().map(String::as_str).collect();
    resource_list(&refs)
}

#[test]
fn group_resources_list_the_route_table() {
    let d = Daemon::start();
    let tok = d.login();
    let sys = d.get_json("/system/resources", &tok);
    assert_eq!(sys, expected_group("/api/v2.0/system/", Tier::Admin));
    // The guide's system resources are all listed, ids are indexes.
    let listed: Vec<&str> = sys["resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["resource"].as_str().unwrap())
        .collect();
    for p in [
        "/api/v2.0/system/resources",
        "/api/v2.0/system/info",
        "/api/v2.0/system/osd",
        "/api/v2.0/system/room",
        "/api/v2.0/system/participants",
        "/api/v2.0/system/participants/<id>",
    ] {
        assert!(listed.contains(&p), "{p} missing from {sys}");
    }
    let audio = d.get_json("/audio/resources", &tok);
    assert_eq!(
        audio,
        resource_list(&[
            "/api/v2.0/audio/resources",
            "/api/v2.0/audio/inputs",
            "/api/v2.0/audio/inputs/<id>",
            "/api/v2.0/audio/outputs",
            "/api/v2.0/audio/outputs/<id>",
        ])
    );
    let video = d.get_json("/video/resources", &tok);
    assert_eq!(video, expected_group("/api/v2.0/video/", Tier::Admin));
    assert!(video["resources"].as_array().unwrap().len() >= 19);
    assert_eq!(audio, expected_group("/api/v2.0/audio/", Tier::Admin));
    // The room tier sees what its tier may use (the exact A4 list is
    // checked in api_errors_auth.rs).
    let code = d.room_code(&tok);
    let room = d.get_json("/system/resources", &format!("roomcode:{code}"));
    assert_eq!(room, expected_group("/api/v2.0/system/", Tier::Room));
}

#[test]
fn osd_get_shape() {
    let d = Daemon::start();
    let tok = d.login();
    assert_eq!(
        d.get_json("/system/osd", &tok),
        json!({
            "multiviewLabel": 2,
            "notification": {"systemEvent": 2, "interactiveEvent": 2},
            "language": {"value": "en_US", "valid": LANGUAGES},
        })
    );
}

#[test]
fn osd_patch_every_writable_field() {
    let d = Daemon::start();
    let tok = d.login();
    let p = "/system/osd";
    d.patch_and_verify(p, &tok, &json!({"multiviewLabel": 1}));
    d.patch_and_verify(p, &tok, &json!({"notification": {"systemEvent": 1}}));
    d.patch_and_verify(p, &tok, &json!({"notification": {"interactiveEvent": 1}}));
    for lang in LANGUAGES.iter().rev() {
        d.patch_and_verify(p, &tok, &json!({"language": {"value": lang}}));
    }
    d.patch_and_verify(
        p,
        &tok,
        &json!({"multiviewLabel": 2, "notification": {"systemEvent": 2, "interactiveEvent": 1},
                "language": {"value": "ja_JP"}}),
    );
    // The guide's example body.
    d.patch_and_verify(
        p,
        &tok,
        &json!({"multiviewLabel": 2, "notification": {"systemEvent": 2, "interactiveEvent": 2},
                "language": {"value": "en_US"}}),
    );
    // PATCH back exactly what GET shows (read-only `valid` unchanged).
    let shown = d.get_json(p, &tok);
    d.patch_ok(p, &tok, &shown);
    assert_eq!(d.get_json(p, &tok), shown);
}

#[test]
fn osd_patch_rejections() {
    let d = Daemon::start();
    let tok = d.login();
    let p = "/system/osd";
    let cases: Vec<(Value, u64, &str)> = vec![
        (
            json!({"multiviewLabel": 3}),
            40001,
            "The value of multiviewLabel is unsupported: 3.",
        ),
        (
            json!({"multiviewLabel": 0}),
            40001,
            "The value of multiviewLabel is unsupported: 0.",
        ),
        (
            json!({"multiviewLabel": "2"}),
            40000,
            "The value of multiviewLabel is invalid: 2.",
        ),
        (
            json!({"multiviewLabel": 1.5}),
            40000,
            "The value of multiviewLabel is invalid: 1.5.",
        ),
        (
            json!({"multiviewLabel": true}),
            40000,
            "The value of multiviewLabel is invalid: true.",
        ),
        (
            json!({"notification": {"systemEvent": 0}}),
            40001,
            "The value of notification.systemEvent is unsupported: 0.",
        ),
        (
            json!({"notification": {"interactiveEvent": 9}}),
            40001,
            "The value of notification.interactiveEvent is unsupported: 9.",
        ),
        (
            json!({"notification": 2}),
            40000,
            "The value of notification is invalid: 2.",
        ),
        (
            json!({"language": {"value": "xx_XX"}}),
            40001,
            "The value of language.value is unsupported: xx_XX.",
        ),
        (
            json!({"language": {"value": 1}}),
            40000,
            "The value of language.value is invalid: 1.",
        ),
        (
            json!({"language": "en_US"}),
            40000,
            "The value of language is invalid: en_US.",
        ),
        (
            json!({"hdcv": 1}),
            40003,
            "The field cannot be recognized: hdcv.",
        ),
        (
            json!({"notification": {"email": 2}}),
            40003,
            "The field cannot be recognized: notification.email.",
        ),
        (
            json!({"language": {"valid": ["en_US"]}}),
            40002,
            "The operation on language.valid is disallowed.",
        ),
        // A valid field next to an invalid one: nothing is applied.
        (
            json!({"multiviewLabel": 1, "language": {"value": "nope"}}),
            40001,
            "The value of language.value is unsupported: nope.",
        ),
    ];
    for (body, code, msg) in cases {
        d.assert_rejected(p, &tok, &body, code, Some(msg));
    }
}

#[test]
fn room_get_shape_for_admin_and_room_tier() {
    let d = Daemon::start();
    let tok = d.login();
    let room = d.get_json("/system/room", &tok);
    let base = format!("https://{}", d.addr);
    let code = room["security"]["code"].as_str().expect("code").to_string();
    // S5/A5: a random 4-digit code generated at first boot, verification on.
    assert!(
        code.len() == 4 && code.bytes().all(|b| b.is_ascii_digit()),
        "room code {code:?}"
    );
    assert_eq!(
        room,
        json!({
            "name": "VP2730",
            "description": "VP2730",
            "security": {"code": code, "verification": 2},
            "moderator": "",
            "photo": format!("{base}/static/picture/default_icon.jpg"),
            "qrCode": format!("{base}/static/picture/qrcode.svg"),
            "linkInfo": 2,
        })
    );
    // The room tier sees everything but the code (A4).
    let as_room = d.get_json("/system/room", &format!("roomcode:{code}"));
    let mut expected = room.clone();
    expected["security"].as_object_mut().unwrap().remove("code");
    assert_eq!(as_room, expected);
    assert!(!as_room.to_string().contains(&format!("\"{code}\"")));
}

#[test]
fn room_name_is_the_device_name() {
    let d = Daemon::start();
    let tok = d.login();
    d.patch_and_verify("/system/room", &tok, &json!({"name": "Board Room 3"}));
    assert_eq!(
        d.get_json("/system/info", &tok)["deviceName"],
        "Board Room 3"
    );
    let name32 = "N".repeat(32);
    d.patch_and_verify("/system/room", &tok, &json!({"name": name32}));
    assert_eq!(
        d.get_json("/system/info", &tok)["deviceName"],
        name32.as_str()
    );
    // Unicode counts characters, not bytes.
    let uni = "会議室".repeat(10);
    d.patch_and_verify("/system/room", &tok, &json!({"name": uni}));
    assert_eq!(d.get_json("/system/info", &tok)["deviceName"], uni.as_str());
    // Refused names leave both unchanged.
    for (name, code) in [
        (json!(""), 40001),
        (json!("   "), 40001),
        (json!("N".repeat(33)), 40001),
        (json!("a\u{7}b"), 40001),
        (json!("line\nbreak"), 40001),
        (json!(5), 40000),
        (json!(null), 40000),
    ] {
        d.assert_rejected("/system/room", &tok, &json!({ "name": name }), code, None);
        assert_eq!(d.get_json("/system/info", &tok)["deviceName"], uni.as_str());
    }
    d.assert_rejected(
        "/system/room",
        &tok,
        &json!({"name": ""}),
        40001,
        Some("The value of name is unsupported: ."),
    );
}

#[test]
fn room_patch_writable_fields() {
    let d = Daemon::start();
    let tok = d.login();
    let p = "/system/room";
    d.patch_and_verify(p, &tok, &json!({"description": "Second floor, east wing"}));
    d.patch_and_verify(p, &tok, &json!({"description": ""}));
    d.patch_and_verify(p, &tok, &json!({"description": "d".repeat(128)}));
    d.patch_and_verify(p, &tok, &json!({"security": {"code": "0042"}}));
    d.patch_and_verify(p, &tok, &json!({"linkInfo": 1}));
    d.patch_and_verify(p, &tok, &json!({"linkInfo": 2}));
    d.patch_and_verify(p, &tok, &json!({"moderator": ""}));
    // The old code no longer lets presenters in; the new one does.
    d.patch_and_verify(p, &tok, &json!({"security": {"code": "7311"}}));
    assert_eq!(d.get("/system/info", "roomcode:0042").status, 401);
    d.get_json("/system/info", "roomcode:7311");
    // PATCH back exactly what GET shows.
    let shown = d.get_json(p, &tok);
    d.patch_ok(p, &tok, &shown);
    assert_eq!(d.get_json(p, &tok), shown);
}

#[test]
fn room_verification_encoding() {
    // S2: GET shows 1 off / 2 on; PATCH takes 1 or 0 for off, 2 for on.
    let d = Daemon::start();
    let tok = d.login();
    let p = "/system/room";
    let v = |d: &Daemon| d.get_json(p, &tok)["security"]["verification"].clone();
    assert_eq!(v(&d), 2, "default on");
    d.patch_ok(p, &tok, &json!({"security": {"verification": 1}}));
    assert_eq!(v(&d), 1);
    // A5: verification off grants the room tier with any code...
    d.get_json("/system/info", "roomcode:abcd");
    d.get_json("/system/room", "roomcode:");
    // ...and only the room tier: administrators still need an account.
    assert_error(&d.get("/system/osd", "roomcode:abcd"), 40300);
    assert_error(
        &d.patch("/system/room", "roomcode:abcd", &json!({"name": "x"})),
        40300,
    );
    d.patch_ok(p, &tok, &json!({"security": {"verification": 2}}));
    assert_eq!(v(&d), 2);
    assert_error(&d.get("/system/info", "roomcode:abcd"), 40100);
    d.patch_ok(p, &tok, &json!({"security": {"verification": 0}}));
    assert_eq!(v(&d), 1, "0 (the PATCH table's off) is off");
    d.patch_ok(p, &tok, &json!({"security": {"verification": 2}}));
    assert_eq!(v(&d), 2);
    for (val, code) in [(json!(3), 40001), (json!(-1), 40001), (json!("2"), 40000)] {
        d.assert_rejected(
            p,
            &tok,
            &json!({"security": {"verification": val}}),
            code,
            None,
        );
    }
    d.assert_rejected(
        p,
        &tok,
        &json!({"security": {"verification": 3}}),
        40001,
        Some("The value of security.verification is unsupported: 3."),
    );
}

#[test]
fn room_patch_rejections() {
    let d = Daemon::start();
    let tok = d.login();
    let p = "/system/room";
    let cases: Vec<(Value, u64, &str)> = vec![
        (
            json!({"security": {"code": "123"}}),
            40001,
            "The value of security.code is unsupported: 123.",
        ),
        (
            json!({"security": {"code": "12345"}}),
            40001,
            "The value of security.code is unsupported: 12345.",
        ),
        (
            json!({"security": {"code": "12a4"}}),
            40001,
            "The value of security.code is unsupported: 12a4.",
        ),
        (
            json!({"security": {"code": "１２３４"}}),
            40001,
            "The value of security.code is unsupported: １２３４.",
        ),
        (
            json!({"security": {"code": 1234}}),
            40000,
            "The value of security.code is invalid: 1234.",
        ),
        (json!({"description": "d".repeat(129)}), 40001, ""),
        (
            json!({"description": {"text": "x"}}),
            40000,
            "The value of description is invalid: {\"text\":\"x\"}.",
        ),
        (
            json!({"moderator": "nobody"}),
            40001,
            "The value of moderator is unsupported: nobody.",
        ),
        (
            json!({"moderator": 1}),
            40000,
            "The value of moderator is invalid: 1.",
        ),
        (
            json!({"linkInfo": 0}),
            40001,
            "The value of linkInfo is unsupported: 0.",
        ),
        (
            json!({"linkInfo": 3}),
            40001,
            "The value of linkInfo is unsupported: 3.",
        ),
        (
            json!({"photo": "https://evil.example/x.jpg"}),
            40002,
            "The operation on photo is disallowed.",
        ),
        (
            json!({"qrCode": ""}),
            40002,
            "The operation on qrCode is disallowed.",
        ),
        (
            json!({"hdcv": 1}),
            40003,
            "The field cannot be recognized: hdcv.",
        ),
        (
            json!({"security": {"pin": "1234"}}),
            40003,
            "The field cannot be recognized: security.pin.",
        ),
        (
            json!({"security": "1234"}),
            40000,
            "The value of security is invalid: 1234.",
        ),
        // A good name with a bad code: nothing applied.
        (
            json!({"name": "Changed", "security": {"code": "x"}}),
            40001,
            "The value of security.code is unsupported: x.",
        ),
    ];
    for (body, code, msg) in cases {
        let msg = (!msg.is_empty()).then_some(msg);
        d.assert_rejected(p, &tok, &body, code, msg);
    }
    assert_eq!(d.get_json("/system/info", &tok)["deviceName"], "VP2730");
}

#[test]
fn participants_join_list_get_and_leave() {
    let d = Daemon::start();
    let tok = d.login();
    let code = d.room_code(&tok);
    let room = format!("roomcode:{code}");
    assert_eq!(
        d.get_json("/system/participants", &room),
        json!({"participants": []})
    );

    // Join without a body, then with a name (S7).
    let j1 = d.post("/system/participants", &room, None).ok_json();
    assert_eq!(keys(&j1), ["count", "id"]);
    assert_eq!(j1["count"], 1, "count is a number, after the join");
    let id1 = j1["id"].as_str().expect("id").to_string();
    assert!(
        !id1.is_empty() && id1.bytes().all(|b| b.is_ascii_alphanumeric()),
        "{id1}"
    );
    let j2 = d
        .post(
            "/system/participants",
            &room,
            Some(&json!({"name": "Alice"})),
        )
        .ok_json();
    assert_eq!(j2["count"], 2);
    let id2 = j2["id"].as_str().unwrap().to_string();
    assert_ne!(id1, id2);
    // The `roomcode: <code>` spelling (with a space) works as well (A2).
    let j3 = d
        .post("/system/participants", &format!("roomcode: {code}"), None)
        .ok_json();
    assert_eq!(j3["count"], 3);
    let id3 = j3["id"].as_str().unwrap().to_string();

    let list = d.get_json("/system/participants", &room);
    assert_eq!(
        list,
        json!({"participants": [
            {"id": id1, "name": "Presenter 1", "share": []},
            {"id": id2, "name": "Alice", "share": []},
            {"id": id3, "name": "Presenter 3", "share": []},
        ]})
    );
    // Each one equals its list entry, for both tiers.
    for entry in list["participants"].as_array().unwrap() {
        let id = entry["id"].as_str().unwrap();
        assert_eq!(
            &d.get_json(&format!("/system/participants/{id}"), &room),
            entry
        );
        assert_eq!(
            &d.get_json(&format!("/system/participants/{id}"), &tok),
            entry
        );
    }
    assert_eq!(d.get_json("/system/participants", &tok), list);
    assert_error_msg(
        &d.get("/system/participants/nobody", &room),
        40401,
        "The instance of the resource is not found: nobody.",
    );

    // S8: administrators remove participants; the room tier may not.
    assert_error(
        &d.delete(&format!("/system/participants/{id2}"), &room),
        40300,
    );
    d.delete(&format!("/system/participants/{id2}"), &tok)
        .assert_204();
    assert_error(&d.get(&format!("/system/participants/{id2}"), &tok), 40401);
    assert_error(
        &d.delete(&format!("/system/participants/{id2}"), &tok),
        40401,
    );
    let ids: Vec<Value> = d.get_json("/system/participants", &tok)["participants"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["id"].clone())
        .collect();
    assert_eq!(ids, [json!(id1), json!(id3)]);

    // Bad join bodies.
    for (body, code) in [
        (json!({"name": ""}), 40001),
        (json!({"name": "x".repeat(33)}), 40001),
        (json!({"name": 5}), 40000),
        (json!({"nick": "x"}), 40003),
    ] {
        let r = d.post("/system/participants", &room, Some(&body));
        assert_error(&r, code);
    }
    let r = d.request(
        "POST",
        "/system/participants",
        Some(&room),
        Some(b"{\"name\":"),
    );
    assert_error(&r, 40000);
    // `{}` is "no body" (W5): a join.
    let j = d
        .post("/system/participants", &room, Some(&json!({})))
        .ok_json();
    assert_eq!(j["count"], 3);
}

#[test]
fn participants_are_capped_at_32() {
    let d = Daemon::start();
    let tok = d.login();
    let room = format!("roomcode:{}", d.room_code(&tok));
    for n in 1..=32 {
        let j = d.post("/system/participants", &room, None).ok_json();
        assert_eq!(j["count"], n);
    }
    assert_error_msg(
        &d.post("/system/participants", &room, None),
        50303,
        "Maximum is exceeded.",
    );
    assert_eq!(
        d.get_json("/system/participants", &tok)["participants"]
            .as_array()
            .unwrap()
            .len(),
        32
    );
}

#[test]
fn room_moderator_must_be_a_participant_and_is_cleared_when_it_leaves() {
    let d = Daemon::start();
    let tok = d.login();
    let room = format!("roomcode:{}", d.room_code(&tok));
    let id = d.post("/system/participants", &room, None).ok_json()["id"]
        .as_str()
        .unwrap()
        .to_string();
    d.patch_and_verify("/system/room", &tok, &json!({"moderator": id}));
    assert_eq!(d.get_json("/system/room", &room)["moderator"], id.as_str());
    d.patch_and_verify("/system/room", &tok, &json!({"moderator": ""}));
    d.patch_and_verify("/system/room", &tok, &json!({"moderator": id}));
    d.delete(&format!("/system/participants/{id}"), &tok)
        .assert_204();
    assert_eq!(d.get_json("/system/room", &tok)["moderator"], "");
    d.assert_rejected(
        "/system/room",
        &tok,
        &json!({"moderator": id}),
        40001,
        Some(&format!("The value of moderator is unsupported: {id}.")),
    );
}

#[test]
fn room_photo_and_qr_code_are_public_and_built_from_the_host_used() {
    let d = Daemon::start();
    let tok = d.login();
    let host = format!("meeting-room.example:{}", d.addr.port());
    let room = d
        .request_with(
            "GET",
            "/system/room",
            &[("host", &host), ("authorization", &tok)],
            None,
        )
        .ok_json();
    let photo = room["photo"].as_str().unwrap();
    let qr = room["qrCode"].as_str().unwrap();
    assert_eq!(
        photo,
        format!("https://{host}/static/picture/default_icon.jpg")
    );
    assert_eq!(qr, format!("https://{host}/static/picture/qrcode.svg"));
    // Same for the input thumbnails.
    let inputs = d
        .request_with(
            "GET",
            "/video/inputs",
            &[("host", &host), ("authorization", &tok)],
            None,
        )
        .ok_json();
    assert_eq!(
        inputs["inputs"][2]["thumbnail"],
        format!("https://{host}/static/thumbnails/Snapshot2.bmp")
    );

    // Fetch them (path of the URL) without credentials (A6).
    let path_of = |url: &str| {
        url.strip_prefix(&format!("https://{host}"))
            .unwrap()
            .to_string()
    };
    let r = d.request("GET", &path_of(photo), None, None);
    assert_eq!(r.status, 200);
    assert_eq!(r.header("content-type").as_deref(), Some("image/jpeg"));
    let icon = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/config/static/default_icon.jpg"
    ))
    .expect("default icon");
    assert_eq!(
        r.body, icon,
        "the room picture is config/static/default_icon.jpg"
    );
    assert_eq!(&r.body[..2], [0xff, 0xd8], "JPEG magic");

    let q1 = d.request_with("GET", &path_of(qr), &[("host", &host)], None);
    assert_eq!(q1.status, 200);
    assert_eq!(q1.header("content-type").as_deref(), Some("image/svg+xml"));
    assert!(q1.text().contains("<svg"), "{}", q1.text());
    // The QR code encodes the address the client used: another host, another code.
    let q2 = d.request_with("GET", &path_of(qr), &[("host", "10.3.56.46:443")], None);
    assert_eq!(q2.status, 200);
    assert_ne!(q1.body, q2.body, "QR code does not depend on the host used");
    // The room tier can fetch them too (the join page).
    let code = d.room_code(&tok);
    assert_eq!(
        d.request(
            "GET",
            &path_of(photo),
            Some(&format!("roomcode:{code}")),
            None
        )
        .status,
        200
    );
    // A host that is not a plausible host name is not echoed into URLs.
    let evil = d
        .request_with(
            "GET",
            "/system/room",
            &[("host", "evil\"><script>"), ("authorization", &tok)],
            None,
        )
        .ok_json();
    assert!(!evil.to_string().contains("<script"), "{evil}");
    assert!(!evil.to_string().contains("evil"), "{evil}");
    assert!(evil["photo"]
        .as_str()
        .unwrap()
        .ends_with("/static/picture/default_icon.jpg"));
}

#[test]
fn maintenance_status_shape() {
    let d = Daemon::start();
    let tok = d.login();
    assert_eq!(
        d.get_json("/maintenance/status", &tok),
        json!({"status": "normal", "hardware": "ok", "storage": "ok", "database": "ok", "notes": []})
    );
    let code = d.room_code(&tok);
    assert_error(
        &d.get("/maintenance/status", &format!("roomcode:{code}")),
        40300,
    );
    assert_error(&d.request("GET", "/maintenance/status", None, None), 40100);
}

#[test]
fn room_urls_without_a_host_header_still_point_at_the_daemon() {
    // S3: `photo` and `qrCode` always point at files we serve. An HTTP/1.0
    // client sends no Host; the URL must still reach this daemon (e.g. the
    // local address the client connected to), not the wildcard listen
    // address of the config.
    let d = Daemon::start();
    let tok = d.login();
    let req = format!(
        "GET /api/v2.0/system/room HTTP/1.0\r\nAuthorization: {tok}\r\nConnection: close\r\n\r\n"
    );
    let r = parse_raw(&d.raw(req.as_bytes(), std::time::Duration::from_secs(5)));
    assert_eq!(r.status, 200);
    let room: Value = serde_json::from_slice(&r.body).unwrap();
    let photo = room["photo"].as_str().unwrap();
    assert_eq!(
        photo,
        format!("https://{}/static/picture/default_icon.jpg", d.addr),
        "{room}"
    );
}

#[test]
fn session_configs_and_participant_shares() {
    // Additions of the route table (event payloads readable over REST;
    // spec-notes V14 does not list them): checked as the daemon serves them.
    let d = Daemon::start_with_config(
        "[auth]\nidle_timeout_secs = 900\nmax_sessions_per_account = 5\n",
    );
    let tok = d.login();
    assert_eq!(
        d.get_json("/system/sessionConfigs", &tok),
        json!({"idleTimeout": 900, "maxSessionsPerAccount": 5, "maxParticipants": 32})
    );
    let room = format!("roomcode:{}", d.room_code(&tok));
    assert_error(&d.get("/system/sessionConfigs", &room), 40300);
    assert_eq!(
        d.get_json("/system/participants/share", &tok),
        json!({"share": []})
    );
    d.post("/system/participants", &room, None).ok_json();
    // Nobody shares anything yet: only sharing participants are listed.
    assert_eq!(
        d.get_json("/system/participants/share", &tok),
        json!({"share": []})
    );
}

#[test]
fn echoed_values_are_cut_to_64_characters_without_control_characters() {
    // W2: the value in a message is what the client sent, cut to 64
    // characters, control characters replaced.
    let d = Daemon::start();
    let tok = d.login();
    let long: String = ('a'..='z').cycle().take(300).collect();
    let r = d.patch("/system/room", &tok, &json!({ "name": long }));
    let msg = assert_error(&r, 40001);
    let value = msg
        .strip_prefix("The value of name is unsupported: ")
        .and_then(|m| m.strip_suffix('.'))
        .unwrap_or_else(|| panic!("{msg}"));
    assert!(value.starts_with(&long[..64]), "{msg}");
    assert!(
        value.chars().count() <= 64 + 3,
        "value not cut: {} chars",
        value.chars().count()
    );
    assert!(
        !value.contains(&long[..65]),
        "more than 64 characters echoed: {msg}"
    );
    let r = d.patch("/system/room", &tok, &json!({"name": "bell\u{7}new\nline"}));
    let msg = assert_error(&r, 40001);
    assert!(!msg.chars().any(char::is_control), "{msg:?}");
    assert!(
        msg.starts_with("The value of name is unsupported: bell"),
        "{msg:?}"
    );
    // Unknown field names are bounded and cleaned the same way.
    let key = format!("x\u{1b}[31m{}", "k".repeat(200));
    let body = format!("{{\"{}\": 1}}", key.replace('\u{1b}', "\\u001b"));
    let r = d.patch_raw("/system/osd", &tok, body.as_bytes());
    let msg = assert_error(&r, 40003);
    assert!(!msg.chars().any(char::is_control), "{msg:?}");
    assert!(msg.len() < 140, "{msg}");
}

#[test]
fn keep_alive_serves_several_requests_on_one_connection() {
    let d = Daemon::start();
    let host = d.addr.to_string();
    let req = format!(
        "GET /api/v2.0/ping HTTP/1.1\r\nHost: {host}\r\n\r\n\
         GET /api/v2.0/nope HTTP/1.1\r\nHost: {host}\r\n\r\n\
         GET /api/v2.0/ping HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n"
    );
    let out = String::from_utf8_lossy(&d.raw(req.as_bytes(), std::time::Duration::from_secs(10)))
        .into_owned();
    assert_eq!(out.matches("HTTP/1.1 200 OK").count(), 2, "{out}");
    assert_eq!(out.matches("HTTP/1.1 404 Not Found").count(), 1, "{out}");
    assert!(
        out.contains(r#"{"code":40400,"message":"The resource is not found: /api/v2.0/nope."}"#)
    );
}

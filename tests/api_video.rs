//! Video group over real HTTPS: configs, scaler resolutions, VP profiles,
//! multiviews, inputs, outputs, connections, go-live, snapshots and input
//! thumbnails. Expected shapes come from `config/device-profile.toml` and
//! the `[sim]` wiring of `config/default.toml`.

mod common;

use common::*;
use serde_json::{json, Value};

fn arr(v: &Value) -> &Vec<Value> {
    v.as_array().unwrap_or_else(|| panic!("not an array: {v}"))
}

fn s(v: &Value) -> &str {
    v.as_str().unwrap_or_else(|| panic!("not a string: {v}"))
}

// ---------------------------------------------------------------- configs

#[test]
fn video_configs_get_and_patch() {
    let d = Daemon::start();
    let tok = d.login();
    let p = "/video/configs";
    assert_eq!(
        d.get_json(p, &tok),
        json!({"edid": {"valid": [1, 2], "value": 1}, "inputStream": {"valid": [1, 2], "value": 2}})
    );
    d.patch_and_verify(p, &tok, &json!({"edid": {"value": 2}}));
    d.patch_and_verify(p, &tok, &json!({"inputStream": {"value": 1}}));
    d.patch_and_verify(
        p,
        &tok,
        &json!({"edid": {"value": 1}, "inputStream": {"value": 2}}),
    );
    d.patch_and_verify(
        p,
        &tok,
        &json!({"edid": {"value": 2}, "inputStream": {"value": 1}}),
    );
    let shown = d.get_json(p, &tok);
    d.patch_ok(p, &tok, &shown);
    assert_eq!(d.get_json(p, &tok), shown);
    let cases: Vec<(Value, u64, &str)> = vec![
        (
            json!({"edid": {"value": 3}}),
            40001,
            "The value of edid.value is unsupported: 3.",
        ),
        (
            json!({"edid": {"value": 0}}),
            40001,
            "The value of edid.value is unsupported: 0.",
        ),
        (
            json!({"inputStream": {"value": 9}}),
            40001,
            "The value of inputStream.value is unsupported: 9.",
        ),
        (
            json!({"edid": {"value": "1"}}),
            40000,
            "The value of edid.value is invalid: 1.",
        ),
        (
            json!({"edid": 1}),
            40000,
            "The value of edid is invalid: 1.",
        ),
        (
            json!({"edid": {"valid": [1]}}),
            40002,
            "The operation on edid.valid is disallowed.",
        ),
        (
            json!({"inputStream": {"valid": [1, 2, 3]}}),
            40002,
            "The operation on inputStream.valid is disallowed.",
        ),
        (
            json!({"edid": {"mode": 1}}),
            40003,
            "The field cannot be recognized: edid.mode.",
        ),
        (
            json!({"hdcv": 1}),
            40003,
            "The field cannot be recognized: hdcv.",
        ),
        (
            json!({"edid": {"value": 1}, "inputStream": {"value": 3}}),
            40001,
            "The value of inputStream.value is unsupported: 3.",
        ),
    ];
    for (body, code, msg) in cases {
        d.assert_rejected(p, &tok, &body, code, Some(msg));
    }
}

#[test]
fn scaler_resolutions_are_the_profile_table() {
    let d = Daemon::start();
    let tok = d.login();
    let prof = device_profile();
    let expected: Vec<Value> = arr(&prof["scaler_resolutions"])
        .iter()
        .enumerate()
        .map(|(i, desc)| json!({"id": i, "description": desc}))
        .collect();
    assert_eq!(expected.len(), 150, "V11: a 150-entry table");
    let got = d.get_json("/video/scalerResolutions", &tok);
    assert_eq!(got, json!({ "scalerResolutions": expected }));
    // The guide's two examples and the output timings V11 names.
    let list = arr(&got["scalerResolutions"]);
    assert_eq!(list[0], json!({"id": 0, "description": "1920x1200@85"}));
    assert_eq!(list[1], json!({"id": 1, "description": "1920x1200@75"}));
    assert_eq!(list[17]["description"], "3840x2160@60");
    assert_eq!(list[77]["description"], "1920x1080@60");
}

// ------------------------------------------------------------- vpProfiles

fn vp_expected(prof: &Value) -> Vec<Value> {
    arr(&prof["vp_profiles"])
        .iter()
        .map(|p| json!({"id": p["id"], "name": p["name"], "multiview": p["multiview"]}))
        .collect()
}

#[test]
fn vp_profiles_list_one_and_now() {
    let d = Daemon::start();
    let tok = d.login();
    let expected = vp_expected(&device_profile());
    let list = d.get_json("/video/vpProfiles", &tok);
    assert_eq!(list, json!({ "profiles": expected }));
    for p in &expected {
        // V7: multiview is a string everywhere.
        assert!(p["multiview"].is_string());
        assert_eq!(
            &d.get_json(&format!("/video/vpProfiles/{}", s(&p["id"])), &tok),
            p
        );
    }
    assert_eq!(
        d.get_json("/video/vpProfiles/now", &tok),
        json!({"id": "0", "name": "Profile 0", "multiview": "0"})
    );
    assert_error_msg(
        &d.get("/video/vpProfiles/9", &tok),
        40401,
        "The instance of the resource is not found: 9.",
    );
}

fn routes_of(profile: &Value) -> Value {
    let mut conns: Vec<Value> = vec![];
    for out in arr(&device_profile()["video_outputs"]) {
        let id = s(&out["id"]);
        let input = arr(&profile["routes"])
            .iter()
            .find(|r| r[0] == id)
            .map(|r| r[1].clone())
            .expect("route for every output");
        conns.push(json!({"id": id, "videoInput": input}));
    }
    json!({ "connections": conns })
}

#[test]
fn selecting_a_vp_profile_applies_its_routing() {
    let d = Daemon::start();
    let tok = d.login();
    let prof = device_profile();
    let profiles = arr(&prof["vp_profiles"]).clone();
    // Go through them all, last first so each one changes something.
    for p in profiles.iter().rev() {
        let id = s(&p["id"]);
        d.patch_ok("/video/vpProfiles/now", &tok, &json!({ "id": id }));
        assert_eq!(
            d.get_json("/video/vpProfiles/now", &tok),
            json!({"id": id, "name": p["name"], "multiview": p["multiview"]})
        );
        assert_eq!(
            d.get_json("/video/connections", &tok),
            routes_of(p),
            "profile {id}"
        );
    }
    // The exact routings of device-profile.toml, spelled out.
    d.patch_ok("/video/vpProfiles/now", &tok, &json!({"id": "2"}));
    assert_eq!(
        d.get_json("/video/connections", &tok),
        json!({"connections": [
            {"id": "0", "videoInput": "4"}, {"id": "1", "videoInput": "5"}, {"id": "2", "videoInput": "6"}
        ]})
    );
    d.patch_ok("/video/vpProfiles/now", &tok, &json!({"id": "3"}));
    assert_eq!(
        d.get_json("/video/connections", &tok),
        json!({"connections": [
            {"id": "0", "videoInput": "3"}, {"id": "1", "videoInput": "3"}, {"id": "2", "videoInput": "-1"}
        ]})
    );
    // Re-selecting the current profile (V8: no id = the current one)
    // re-applies its routing after a manual change.
    d.patch_ok("/video/connections/0", &tok, &json!({"videoInput": "6"}));
    d.patch_ok("/video/connections/2", &tok, &json!({"videoInput": "1"}));
    d.patch_ok("/video/vpProfiles/now", &tok, &json!({"name": "Profile 3"}));
    assert_eq!(
        d.get_json("/video/connections", &tok),
        routes_of(&profiles[3])
    );
    d.patch_ok("/video/connections/1", &tok, &json!({"videoInput": "0"}));
    d.patch_ok("/video/vpProfiles/now", &tok, &json!({"id": "3"}));
    assert_eq!(
        d.get_json("/video/connections", &tok),
        routes_of(&profiles[3])
    );
    // The guide's body shape, with a description matching the target.
    d.patch_ok(
        "/video/vpProfiles/now",
        &tok,
        &json!({"id": "1", "name": "Profile 1", "multiview": "1"}),
    );
    assert_eq!(
        d.get_json("/video/connections", &tok),
        routes_of(&profiles[1])
    );
    // V8: descriptions equal to the *current* profile's are accepted too
    // (a client read `now`, changed only the id).
    let now = d.get_json("/video/vpProfiles/now", &tok);
    let mut body = now.clone();
    body["id"] = json!("0");
    d.patch_ok("/video/vpProfiles/now", &tok, &body);
    assert_eq!(d.get_json("/video/vpProfiles/now", &tok)["id"], "0");
    assert_eq!(
        d.get_json("/video/connections", &tok),
        routes_of(&profiles[0])
    );
    // PATCH back exactly what GET shows.
    let shown = d.get_json("/video/vpProfiles/now", &tok);
    d.patch_ok("/video/vpProfiles/now", &tok, &shown);
    assert_eq!(d.get_json("/video/vpProfiles/now", &tok), shown);
}

#[test]
fn vp_profile_now_rejections() {
    let d = Daemon::start();
    let tok = d.login();
    let p = "/video/vpProfiles/now";
    let cases: Vec<(Value, u64, &str)> = vec![
        (
            json!({"id": "9"}),
            40001,
            "The value of id is unsupported: 9.",
        ),
        (
            json!({"id": "now"}),
            40001,
            "The value of id is unsupported: now.",
        ),
        (json!({"id": 1}), 40000, "The value of id is invalid: 1."),
        (
            json!({"id": "1", "name": "Renamed"}),
            40002,
            "The operation on name is disallowed.",
        ),
        (
            json!({"id": "1", "multiview": "3"}),
            40002,
            "The operation on multiview is disallowed.",
        ),
        (
            json!({"multiview": 0}),
            40000,
            "The value of multiview is invalid: 0.",
        ),
        (
            json!({"id": "1", "hdcv": 1}),
            40003,
            "The field cannot be recognized: hdcv.",
        ),
        (
            json!({"id": "1", "routes": []}),
            40003,
            "The field cannot be recognized: routes.",
        ),
    ];
    for (body, code, msg) in cases {
        let before = d.get_json("/video/connections", &tok);
        d.assert_rejected(p, &tok, &body, code, Some(msg));
        assert_eq!(d.get_json("/video/connections", &tok), before, "{body}");
    }
}

// ------------------------------------------------------------- multiviews

fn multiviews_expected(prof: &Value) -> Value {
    let list: Vec<Value> = arr(&prof["multiviews"])
        .iter()
        .map(|m| {
            let views: Vec<Value> = arr(&m["views"])
                .iter()
                .map(|v| {
                    json!({"id": v["id"], "source": v["source"], "coordinate": {
                        "wRatio": ratio(&v["w"]), "hRatio": ratio(&v["h"]),
                        "xRatio": ratio(&v["x"]), "yRatio": ratio(&v["y"]), "zOrder": v["z"],
                    }})
                })
                .collect();
            json!({"id": m["id"], "description": m["description"], "mainView": m["main_view"], "views": views})
        })
        .collect();
    json!({ "multiviews": list })
}

#[test]
fn multiviews_get_shape_and_one_equals_its_entry() {
    let d = Daemon::start();
    let tok = d.login();
    let got = d.get_json("/video/multiviews", &tok);
    assert_eq!(got, multiviews_expected(&device_profile()));
    // The guide's example: layout 0, `xRatio` printed `0`.
    assert_eq!(
        got["multiviews"][0],
        json!({"id": "0", "description": "Layout 0", "mainView": "-1", "views": [
            {"id": "0", "source": "0", "coordinate": {"wRatio": 0.5, "hRatio": 0.5, "xRatio": 0, "yRatio": 0.25, "zOrder": 0}},
            {"id": "1", "source": "1", "coordinate": {"wRatio": 0.5, "hRatio": 0.5, "xRatio": 0.5, "yRatio": 0.25, "zOrder": 1}},
        ]})
    );
    assert!(got["multiviews"][0]["views"][0]["coordinate"]["xRatio"].is_i64());
    d.patch_ok(
        "/video/multiviews/2",
        &tok,
        &json!({"description": "Changed"}),
    );
    let got = d.get_json("/video/multiviews", &tok);
    for m in arr(&got["multiviews"]) {
        assert_eq!(
            &d.get_json(&format!("/video/multiviews/{}", s(&m["id"])), &tok),
            m
        );
    }
    assert_error(&d.get("/video/multiviews/4", &tok), 40401);
}

#[test]
fn multiview_patch_every_writable_field() {
    let d = Daemon::start();
    let tok = d.login();
    let p = "/video/multiviews/1";
    d.patch_and_verify(p, &tok, &json!({"description": "Quad split"}));
    d.patch_and_verify(p, &tok, &json!({"description": "d".repeat(64)}));
    d.patch_and_verify(p, &tok, &json!({"mainView": "3"}));
    d.patch_and_verify(p, &tok, &json!({"mainView": "-1"}));
    let before = d.get_json(p, &tok);
    // Views are changed by id, any subset, in any order.
    d.patch_ok(
        p,
        &tok,
        &json!({"views": [
            {"id": "3", "source": "6"},
            {"id": "0", "source": "5", "coordinate": {"wRatio": 0.25, "hRatio": 0.75, "xRatio": 0.125, "yRatio": 0.25, "zOrder": 15}},
        ]}),
    );
    let mut expected = before.clone();
    expected["views"][3]["source"] = json!("6");
    expected["views"][0]["source"] = json!("5");
    expected["views"][0]["coordinate"] =
        json!({"wRatio": 0.25, "hRatio": 0.75, "xRatio": 0.125, "yRatio": 0.25, "zOrder": 15});
    assert_eq!(d.get_json(p, &tok), expected);
    // Every input may be a view's source.
    for input in ["0", "1", "2", "3", "4", "5", "6"] {
        d.patch_ok(p, &tok, &json!({"views": [{"id": "2", "source": input}]}));
        assert_eq!(d.get_json(p, &tok)["views"][2]["source"], input);
    }
    // V10: ratios are returned as sent; whole numbers without a fraction.
    d.patch_ok(
        p,
        &tok,
        &json!({"views": [{"id": "1", "coordinate": {"xRatio": 0.0, "yRatio": 0.0, "wRatio": 1.0, "hRatio": 1.0, "zOrder": 0}}]}),
    );
    let c = d.get_json(p, &tok)["views"][1]["coordinate"].clone();
    assert_eq!(
        c,
        json!({"wRatio": 1, "hRatio": 1, "xRatio": 0, "yRatio": 0, "zOrder": 0})
    );
    assert!(c["wRatio"].is_i64() && c["xRatio"].is_i64(), "{c}");
    d.patch_ok(
        p,
        &tok,
        &json!({"views": [{"id": "1", "coordinate": {"wRatio": 0.333, "xRatio": 0.667, "hRatio": 0.1, "yRatio": 0.9}}]}),
    );
    assert_eq!(
        d.get_json(p, &tok)["views"][1]["coordinate"],
        json!({"wRatio": 0.333, "hRatio": 0.1, "xRatio": 0.667, "yRatio": 0.9, "zOrder": 0})
    );
    // A window exactly filling to the edge is inside.
    d.patch_ok(
        p,
        &tok,
        &json!({"views": [{"id": "1", "coordinate": {"xRatio": 0.5, "wRatio": 0.5}}]}),
    );
    // Views, description and mainView together.
    d.patch_ok(
        p,
        &tok,
        &json!({"description": "All", "mainView": "2", "views": [{"id": "2", "source": "3"}]}),
    );
    let now = d.get_json(p, &tok);
    assert_eq!(
        (now["description"].clone(), now["mainView"].clone()),
        (json!("All"), json!("2"))
    );
    assert_eq!(now["views"][2]["source"], "3");
    // PATCH back exactly what GET shows (the guide's example body shape).
    d.patch_ok(p, &tok, &now);
    assert_eq!(d.get_json(p, &tok), now);
    // Other layouts untouched.
    let all = d.get_json("/video/multiviews", &tok);
    let fresh = multiviews_expected(&device_profile());
    for i in [0, 2, 3] {
        assert_eq!(all["multiviews"][i], fresh["multiviews"][i]);
    }
}

#[test]
fn multiview_patch_rejections() {
    let d = Daemon::start();
    let tok = d.login();
    let p = "/video/multiviews/0";
    let outside = "window outside the output";
    let cases: Vec<(Value, u64, String)> = vec![
        (
            json!({"description": ""}),
            40001,
            "The value of description is unsupported: .".into(),
        ),
        (json!({"description": "d".repeat(65)}), 40001, String::new()),
        (
            json!({"description": 1}),
            40000,
            "The value of description is invalid: 1.".into(),
        ),
        (
            json!({"mainView": "2"}),
            40001,
            "The value of mainView is unsupported: 2.".into(),
        ),
        (
            json!({"mainView": -1}),
            40000,
            "The value of mainView is invalid: -1.".into(),
        ),
        (json!({"views": {"id": "0"}}), 40000, String::new()),
        (
            json!({"views": [{"source": "1"}]}),
            40000,
            "The value of views[0].id is invalid: null.".into(),
        ),
        (
            json!({"views": [{"id": "9", "source": "1"}]}),
            40001,
            "The value of views[0].id is unsupported: 9.".into(),
        ),
        (
            json!({"views": [{"id": 0, "source": "1"}]}),
            40000,
            "The value of views[0].id is invalid: 0.".into(),
        ),
        (
            json!({"views": [{"id": "0", "source": "7"}]}),
            40001,
            "The value of views[0].source is unsupported: 7.".into(),
        ),
        (
            json!({"views": [{"id": "0", "source": 1}]}),
            40000,
            "The value of views[0].source is invalid: 1.".into(),
        ),
        (
            json!({"views": [{"id": "1", "coordinate": {"wRatio": 1.5}}]}),
            40001,
            "The value of views[0].coordinate.wRatio is unsupported: 1.5.".into(),
        ),
        (
            json!({"views": [{"id": "1", "coordinate": {"hRatio": -0.1}}]}),
            40001,
            "The value of views[0].coordinate.hRatio is unsupported: -0.1.".into(),
        ),
        (
            json!({"views": [{"id": "1", "coordinate": {"xRatio": "0.5"}}]}),
            40000,
            "The value of views[0].coordinate.xRatio is invalid: 0.5.".into(),
        ),
        (
            json!({"views": [{"id": "1", "coordinate": {"zOrder": 16}}]}),
            40001,
            "The value of views[0].coordinate.zOrder is unsupported: 16.".into(),
        ),
        (
            json!({"views": [{"id": "1", "coordinate": {"zOrder": -1}}]}),
            40001,
            "The value of views[0].coordinate.zOrder is unsupported: -1.".into(),
        ),
        (
            json!({"views": [{"id": "1", "coordinate": {"zOrder": 2.5}}]}),
            40000,
            "The value of views[0].coordinate.zOrder is invalid: 2.5.".into(),
        ),
        // View 0 is at x 0, w 0.5: x 0.6 puts it past the right edge.
        (
            json!({"views": [{"id": "0", "coordinate": {"xRatio": 0.6}}]}),
            40001,
            format!("The value of views[0].coordinate is unsupported: {outside}."),
        ),
        // View 1 is at y 0.25, h 0.5: h 0.8 past the bottom.
        (
            json!({"views": [{"id": "0", "source": "2"}, {"id": "1", "coordinate": {"hRatio": 0.8}}]}),
            40001,
            format!("The value of views[1].coordinate is unsupported: {outside}."),
        ),
        (
            json!({"views": [{"id": "1", "label": "x"}]}),
            40003,
            "The field cannot be recognized: views[0].label.".into(),
        ),
        (
            json!({"views": [{"id": "1", "coordinate": {"rotation": 90}}]}),
            40003,
            "The field cannot be recognized: views[0].coordinate.rotation.".into(),
        ),
        (
            json!({"id": "1"}),
            40002,
            "The operation on id is disallowed.".into(),
        ),
        (
            json!({"hdcv": 1}),
            40003,
            "The field cannot be recognized: hdcv.".into(),
        ),
        // A valid description with a bad view: nothing applied.
        (
            json!({"description": "New", "views": [{"id": "0", "source": "99"}]}),
            40001,
            "The value of views[0].source is unsupported: 99.".into(),
        ),
    ];
    for (body, code, msg) in &cases {
        let msg = (!msg.is_empty()).then_some(msg.as_str());
        d.assert_rejected(p, &tok, body, *code, msg);
    }
}

#[test]
fn multiview_bulk_patch_subset_and_all_or_nothing() {
    let d = Daemon::start();
    let tok = d.login();
    let before = d.get_json("/video/multiviews", &tok);
    d.patch_ok(
        "/video/multiviews",
        &tok,
        &json!({"multiviews": [
            {"id": "3", "mainView": "2", "views": [{"id": "2", "source": "6"}]},
            {"id": "1", "description": "Quad"},
        ]}),
    );
    let mut expected = before.clone();
    expected["multiviews"][3]["mainView"] = json!("2");
    expected["multiviews"][3]["views"][2]["source"] = json!("6");
    expected["multiviews"][1]["description"] = json!("Quad");
    assert_eq!(d.get_json("/video/multiviews", &tok), expected);
    // The whole GET list back is accepted (the guide's bulk example).
    d.patch_ok("/video/multiviews", &tok, &expected);
    assert_eq!(d.get_json("/video/multiviews", &tok), expected);
    d.patch_ok("/video/multiviews", &tok, &json!({"multiviews": []}));

    let cases: Vec<(Value, u64, &str)> = vec![
        (
            json!({"multiviews": [{"id": "0", "description": "A"}, {"id": "2", "views": [{"id": "1", "coordinate": {"xRatio": 0.9}}]}]}),
            40001,
            "The value of multiviews[1].views[0].coordinate is unsupported: window outside the output.",
        ),
        (
            json!({"multiviews": [{"id": "0", "description": "A"}, {"id": "1", "views": [{"id": "0", "source": "x"}]}]}),
            40001,
            "The value of multiviews[1].views[0].source is unsupported: x.",
        ),
        (
            json!({"multiviews": [{"id": "0", "description": "A"}, {"id": "7", "description": "B"}]}),
            40401,
            "The instance of the resource is not found: 7.",
        ),
        (
            json!({"multiviews": [{"id": "0", "description": "A"}, {"id": "1", "hdcv": 1}]}),
            40003,
            "The field cannot be recognized: multiviews[1].hdcv.",
        ),
    ];
    for (body, code, msg) in cases {
        d.assert_rejected("/video/multiviews", &tok, &body, code, Some(msg));
    }
}

// ----------------------------------------------------------------- inputs

fn inputs_expected(base: &str) -> Value {
    let prof = device_profile();
    let sim = sim_config();
    let list: Vec<Value> = arr(&prof["video_inputs"])
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let id = s(&p["id"]);
            let signal = holds(&sim["signal_inputs"], id);
            // V2: 0 on a port without HDCP, else what the source presents.
            let hdcp = if p["hdcp"] == json!([0]) {
                0
            } else if signal && holds(&sim["hdcp22_inputs"], id) {
                3
            } else if signal && holds(&sim["hdcp14_inputs"], id) {
                2
            } else {
                1
            };
            json!({
                "id": id, "name": p["default_name"], "type": p["type"], "idx": i,
                "status": if signal { 0 } else { 1 },
                "source": {"valid": p["sources"], "value": p["sources"][0]},
                "hdcp": {"valid": p["hdcp"], "value": hdcp},
                "thumbnail": format!("{base}/static/thumbnails/Snapshot{id}.bmp"),
            })
        })
        .collect();
    json!({ "inputs": list })
}

#[test]
fn video_inputs_get_shape_and_one_equals_its_entry() {
    let d = Daemon::start();
    let tok = d.login();
    let base = format!("https://{}", d.addr);
    let got = d.get_json("/video/inputs", &tok);
    assert_eq!(got, inputs_expected(&base));
    // The `[sim]` wiring, spelled out: input 2 HDCP 1.4, 3 HDCP 2.2, 6 VGA.
    let hdcp: Vec<Value> = arr(&got["inputs"])
        .iter()
        .map(|i| i["hdcp"]["value"].clone())
        .collect();
    assert_eq!(
        hdcp,
        [
            json!(1),
            json!(1),
            json!(2),
            json!(3),
            json!(1),
            json!(1),
            json!(0)
        ]
    );
    let status: Vec<Value> = arr(&got["inputs"])
        .iter()
        .map(|i| i["status"].clone())
        .collect();
    assert_eq!(
        status,
        [
            json!(0),
            json!(0),
            json!(0),
            json!(0),
            json!(1),
            json!(1),
            json!(1)
        ]
    );
    // V1: `hdcp`, never `hdcv`, in the list and in each item.
    assert!(!got.to_string().contains("hdcv"));
    d.patch_ok(
        "/video/inputs/4",
        &tok,
        &json!({"name": "Document camera", "idx": 0}),
    );
    let got = d.get_json("/video/inputs", &tok);
    for item in arr(&got["inputs"]) {
        let one = d.get_json(&format!("/video/inputs/{}", s(&item["id"])), &tok);
        assert_eq!(&one, item);
        assert!(one.get("hdcp").is_some() && one.get("hdcv").is_none());
    }
    assert_error_msg(
        &d.get("/video/inputs/7", &tok),
        40401,
        "The instance of the resource is not found: 7.",
    );
}

#[test]
fn video_inputs_patch_every_writable_field() {
    let d = Daemon::start();
    let tok = d.login();
    for id in ["0", "1", "2", "3", "4", "5", "6"] {
        let p = format!("/video/inputs/{id}");
        d.patch_and_verify(&p, &tok, &json!({"name": format!("Laptop {id}")}));
        d.patch_and_verify(&p, &tok, &json!({"name": "N".repeat(32)}));
        for idx in [6, 0, 3] {
            d.patch_and_verify(&p, &tok, &json!({ "idx": idx }));
        }
        d.patch_and_verify(&p, &tok, &json!({"source": {"value": "0"}}));
        // The guide's example body shape.
        d.patch_and_verify(
            &p,
            &tok,
            &json!({"name": format!("Source {id}!"), "idx": 1, "source": {"value": "0"}}),
        );
        // Read-only fields sent back unchanged are accepted (W6).
        let shown = d.get_json(&p, &tok);
        d.patch_ok(&p, &tok, &shown);
        assert_eq!(d.get_json(&p, &tok), shown);
    }
    // V3: idx is not unique-checked.
    let idx: Vec<Value> = arr(&d.get_json("/video/inputs", &tok)["inputs"])
        .iter()
        .map(|i| i["idx"].clone())
        .collect();
    assert!(idx.iter().all(|x| *x == 1));
}

#[test]
fn video_inputs_patch_rejections() {
    let d = Daemon::start();
    let tok = d.login();
    let p = "/video/inputs/0";
    let cases: Vec<(Value, u64, &str)> = vec![
        (
            json!({"hdcv": {"value": 2}}),
            40003,
            "The field cannot be recognized: hdcv.",
        ),
        (
            json!({"name": ""}),
            40001,
            "The value of name is unsupported: .",
        ),
        (json!({"name": "N".repeat(33)}), 40001, ""),
        (json!({"name": "tab\there"}), 40001, ""),
        (
            json!({"name": 1}),
            40000,
            "The value of name is invalid: 1.",
        ),
        (
            json!({"idx": 7}),
            40001,
            "The value of idx is unsupported: 7.",
        ),
        (
            json!({"idx": -1}),
            40001,
            "The value of idx is unsupported: -1.",
        ),
        (
            json!({"idx": "1"}),
            40000,
            "The value of idx is invalid: 1.",
        ),
        (
            json!({"idx": 1.5}),
            40000,
            "The value of idx is invalid: 1.5.",
        ),
        (
            json!({"source": {"value": "1"}}),
            40001,
            "The value of source.value is unsupported: 1.",
        ),
        (
            json!({"source": {"value": 0}}),
            40000,
            "The value of source.value is invalid: 0.",
        ),
        (
            json!({"source": "0"}),
            40000,
            "The value of source is invalid: 0.",
        ),
        (
            json!({"source": {"valid": ["0", "1"]}}),
            40002,
            "The operation on source.valid is disallowed.",
        ),
        (
            json!({"source": {"value": "0", "alt": 1}}),
            40003,
            "The field cannot be recognized: source.alt.",
        ),
        // V2: hdcp is read-only.
        (
            json!({"hdcp": {"valid": [1, 2, 3], "value": 3}}),
            40002,
            "The operation on hdcp is disallowed.",
        ),
        (
            json!({"hdcp": {"value": 1}}),
            40002,
            "The operation on hdcp is disallowed.",
        ),
        (
            json!({"type": "VGA"}),
            40002,
            "The operation on type is disallowed.",
        ),
        (
            json!({"status": 1}),
            40002,
            "The operation on status is disallowed.",
        ),
        (
            json!({"thumbnail": "https://x/y.bmp"}),
            40002,
            "The operation on thumbnail is disallowed.",
        ),
        (
            json!({"id": "1"}),
            40002,
            "The operation on id is disallowed.",
        ),
        (
            json!({"name": "Fine", "idx": 99}),
            40001,
            "The value of idx is unsupported: 99.",
        ),
    ];
    for (body, code, msg) in cases {
        let msg = (!msg.is_empty()).then_some(msg);
        d.assert_rejected(p, &tok, &body, code, msg);
    }
    // hdcp sent back as shown is accepted.
    let shown = d.get_json("/video/inputs/3", &tok);
    d.patch_ok(
        "/video/inputs/3",
        &tok,
        &json!({"hdcp": shown["hdcp"], "name": "Blu-ray"}),
    );
    assert_eq!(d.get_json("/video/inputs/3", &tok)["name"], "Blu-ray");
    assert_error(
        &d.patch("/video/inputs/7", &tok, &json!({"name": "x"})),
        40401,
    );
}

#[test]
fn video_inputs_bulk_patch() {
    let d = Daemon::start();
    let tok = d.login();
    let before = d.get_json("/video/inputs", &tok);
    d.patch_ok(
        "/video/inputs",
        &tok,
        &json!({"inputs": [
            {"id": "6", "name": "Old VGA", "idx": 0},
            {"id": "1", "name": "Laptop", "idx": 6, "source": {"value": "0"}},
        ]}),
    );
    let mut expected = before.clone();
    expected["inputs"][6]["name"] = json!("Old VGA");
    expected["inputs"][6]["idx"] = json!(0);
    expected["inputs"][1]["name"] = json!("Laptop");
    expected["inputs"][1]["idx"] = json!(6);
    assert_eq!(d.get_json("/video/inputs", &tok), expected);
    // Whole GET list back.
    d.patch_ok("/video/inputs", &tok, &expected);
    assert_eq!(d.get_json("/video/inputs", &tok), expected);
    let cases: Vec<(Value, u64, &str)> = vec![
        (
            json!({"inputs": [{"id": "0", "name": "X"}, {"id": "1", "idx": 9}]}),
            40001,
            "The value of inputs[1].idx is unsupported: 9.",
        ),
        (
            json!({"inputs": [{"id": "0", "name": "X"}, {"id": "2", "hdcv": {"value": 2}}]}),
            40003,
            "The field cannot be recognized: inputs[1].hdcv.",
        ),
        (
            json!({"inputs": [{"id": "0", "hdcp": {"valid": [1, 2, 3], "value": 3}}]}),
            40002,
            "The operation on inputs[0].hdcp is disallowed.",
        ),
        (
            json!({"inputs": [{"id": "0", "name": "X"}, {"id": "7", "name": "Y"}]}),
            40401,
            "The instance of the resource is not found: 7.",
        ),
    ];
    for (body, code, msg) in cases {
        d.assert_rejected("/video/inputs", &tok, &body, code, Some(msg));
    }
}

// ---------------------------------------------------------------- outputs

fn outputs_expected() -> Value {
    let prof = device_profile();
    let sim = sim_config();
    let onoff = |v: i64| json!({"valid": [1, 2], "value": v});
    let list: Vec<Value> = arr(&prof["video_outputs"])
        .iter()
        .map(|p| {
            let id = s(&p["id"]);
            json!({
                "id": id, "name": p["default_name"], "type": p["type"], "idx": -1,
                "status": if holds(&sim["connected_outputs"], id) { 0 } else { 1 },
                "displayResolution": {"valid": p["resolutions"], "value": p["default_resolution"]},
                "fixHDCP": onoff(2), "osd": onoff(1), "blank": onoff(1), "freeze": onoff(1),
                "fitMode": {"valid": p["fit_modes"], "value": p["default_fit_mode"]},
                "autoSwitch": {
                    "valid": [1, 2], "value": 1,
                    "plugout": {"mode": {"valid": p["plugout_modes"], "value": 1}},
                    "plugin": {"mode": {"valid": p["plugin_modes"], "value": 1}},
                },
            })
        })
        .collect();
    json!({ "outputs": list })
}

#[test]
fn video_outputs_get_shape_and_one_equals_its_entry() {
    let d = Daemon::start();
    let tok = d.login();
    let got = d.get_json("/video/outputs", &tok);
    assert_eq!(got, outputs_expected());
    // The guide's example output 0 (plus V4's autoSwitch valid/value).
    assert_eq!(
        got["outputs"][0]["displayResolution"]["valid"],
        json!([17, 19, 29, 53, 73, 77, 89, 91, 97, 101, 109, 113, 127, 137, 145, 149])
    );
    assert_eq!(got["outputs"][2]["displayResolution"]["value"], 77);
    assert_eq!(got["outputs"][2]["status"], 1, "no display on output C");
    d.patch_ok("/video/outputs/1", &tok, &json!({"blank": {"value": 2}}));
    let got = d.get_json("/video/outputs", &tok);
    for item in arr(&got["outputs"]) {
        assert_eq!(
            &d.get_json(&format!("/video/outputs/{}", s(&item["id"])), &tok),
            item
        );
    }
    assert_error(&d.get("/video/outputs/3", &tok), 40401);
}

#[test]
fn video_outputs_patch_every_writable_field() {
    let d = Daemon::start();
    let tok = d.login();
    let prof = device_profile();
    for out in arr(&prof["video_outputs"]) {
        let id = s(&out["id"]);
        let p = format!("/video/outputs/{id}");
        d.patch_and_verify(&p, &tok, &json!({"name": format!("Projector {id}")}));
        for r in arr(&out["resolutions"]).iter().rev() {
            d.patch_and_verify(&p, &tok, &json!({"displayResolution": {"value": r}}));
        }
        for key in ["fixHDCP", "osd", "blank", "freeze"] {
            d.patch_and_verify(&p, &tok, &json!({ key: {"value": 1} }));
            d.patch_and_verify(&p, &tok, &json!({ key: {"value": 2} }));
        }
        for m in [3, 4, 2] {
            d.patch_and_verify(&p, &tok, &json!({"fitMode": {"value": m}}));
        }
        d.patch_and_verify(&p, &tok, &json!({"autoSwitch": {"value": 2}}));
        d.patch_and_verify(
            &p,
            &tok,
            &json!({"autoSwitch": {"plugin": {"mode": {"value": 2}}}}),
        );
        // V5: plug-out 3 is accepted.
        for m in [2, 3, 1] {
            d.patch_and_verify(
                &p,
                &tok,
                &json!({"autoSwitch": {"plugout": {"mode": {"value": m}}}}),
            );
        }
        d.patch_and_verify(
            &p,
            &tok,
            &json!({"autoSwitch": {"value": 1, "plugin": {"mode": {"value": 1}}, "plugout": {"mode": {"value": 3}}}}),
        );
        // Several fields at once (the guide's single PATCH table).
        d.patch_and_verify(
            &p,
            &tok,
            &json!({"name": "Main", "displayResolution": {"value": 77}, "fixHDCP": {"value": 1},
                    "osd": {"value": 2}, "blank": {"value": 1}, "freeze": {"value": 2},
                    "fitMode": {"value": 4}, "autoSwitch": {"value": 2}}),
        );
        // The whole GET back (the guide's bulk example sends GET objects).
        let shown = d.get_json(&p, &tok);
        d.patch_ok(&p, &tok, &shown);
        assert_eq!(d.get_json(&p, &tok), shown);
    }
}

#[test]
fn video_outputs_patch_rejections() {
    let d = Daemon::start();
    let tok = d.login();
    let cases: Vec<(&str, Value, u64, &str)> = vec![
        // V11: HDBaseT output C refuses 4K50/60.
        (
            "/video/outputs/2",
            json!({"displayResolution": {"value": 17}}),
            40001,
            "The value of displayResolution.value is unsupported: 17.",
        ),
        (
            "/video/outputs/2",
            json!({"displayResolution": {"value": 19}}),
            40001,
            "The value of displayResolution.value is unsupported: 19.",
        ),
        (
            "/video/outputs/0",
            json!({"displayResolution": {"value": 0}}),
            40001,
            "The value of displayResolution.value is unsupported: 0.",
        ),
        (
            "/video/outputs/0",
            json!({"displayResolution": {"value": 150}}),
            40001,
            "The value of displayResolution.value is unsupported: 150.",
        ),
        (
            "/video/outputs/0",
            json!({"displayResolution": {"value": "17"}}),
            40000,
            "The value of displayResolution.value is invalid: 17.",
        ),
        (
            "/video/outputs/0",
            json!({"displayResolution": 17}),
            40000,
            "The value of displayResolution is invalid: 17.",
        ),
        // V6: valid wins over the 0-4 table.
        (
            "/video/outputs/0",
            json!({"fitMode": {"value": 0}}),
            40001,
            "The value of fitMode.value is unsupported: 0.",
        ),
        (
            "/video/outputs/1",
            json!({"fitMode": {"value": 1}}),
            40001,
            "The value of fitMode.value is unsupported: 1.",
        ),
        (
            "/video/outputs/1",
            json!({"fitMode": {"value": 5}}),
            40001,
            "The value of fitMode.value is unsupported: 5.",
        ),
        (
            "/video/outputs/0",
            json!({"fixHDCP": {"value": 0}}),
            40001,
            "The value of fixHDCP.value is unsupported: 0.",
        ),
        (
            "/video/outputs/0",
            json!({"osd": {"value": 3}}),
            40001,
            "The value of osd.value is unsupported: 3.",
        ),
        (
            "/video/outputs/0",
            json!({"blank": {"value": true}}),
            40000,
            "The value of blank.value is invalid: true.",
        ),
        (
            "/video/outputs/0",
            json!({"freeze": {"value": 2.0}}),
            40000,
            "The value of freeze.value is invalid: 2.0.",
        ),
        (
            "/video/outputs/0",
            json!({"autoSwitch": {"value": 0}}),
            40001,
            "The value of autoSwitch.value is unsupported: 0.",
        ),
        (
            "/video/outputs/0",
            json!({"autoSwitch": {"plugin": {"mode": {"value": 3}}}}),
            40001,
            "The value of autoSwitch.plugin.mode.value is unsupported: 3.",
        ),
        (
            "/video/outputs/0",
            json!({"autoSwitch": {"plugout": {"mode": {"value": 4}}}}),
            40001,
            "The value of autoSwitch.plugout.mode.value is unsupported: 4.",
        ),
        (
            "/video/outputs/0",
            json!({"autoSwitch": {"plugout": {"mode": {"value": 0}}}}),
            40001,
            "The value of autoSwitch.plugout.mode.value is unsupported: 0.",
        ),
        (
            "/video/outputs/0",
            json!({"autoSwitch": {"plugin": {"mode": 2}}}),
            40000,
            "The value of autoSwitch.plugin.mode is invalid: 2.",
        ),
        // Read-only fields.
        (
            "/video/outputs/0",
            json!({"type": "DVI"}),
            40002,
            "The operation on type is disallowed.",
        ),
        (
            "/video/outputs/0",
            json!({"idx": 0}),
            40002,
            "The operation on idx is disallowed.",
        ),
        (
            "/video/outputs/0",
            json!({"status": 1}),
            40002,
            "The operation on status is disallowed.",
        ),
        (
            "/video/outputs/0",
            json!({"id": "1"}),
            40002,
            "The operation on id is disallowed.",
        ),
        (
            "/video/outputs/0",
            json!({"displayResolution": {"valid": [17]}}),
            40002,
            "The operation on displayResolution.valid is disallowed.",
        ),
        (
            "/video/outputs/0",
            json!({"fitMode": {"valid": [0, 1, 2, 3, 4]}}),
            40002,
            "The operation on fitMode.valid is disallowed.",
        ),
        (
            "/video/outputs/0",
            json!({"autoSwitch": {"valid": [1]}}),
            40002,
            "The operation on autoSwitch.valid is disallowed.",
        ),
        (
            "/video/outputs/0",
            json!({"autoSwitch": {"plugin": {"mode": {"valid": [1, 2, 3]}}}}),
            40002,
            "The operation on autoSwitch.plugin.mode.valid is disallowed.",
        ),
        // Unknown fields.
        (
            "/video/outputs/0",
            json!({"hdcv": 1}),
            40003,
            "The field cannot be recognized: hdcv.",
        ),
        (
            "/video/outputs/0",
            json!({"fitMode": {"value": 2, "mode": 1}}),
            40003,
            "The field cannot be recognized: fitMode.mode.",
        ),
        (
            "/video/outputs/0",
            json!({"autoSwitch": {"delay": 5}}),
            40003,
            "The field cannot be recognized: autoSwitch.delay.",
        ),
        (
            "/video/outputs/0",
            json!({"autoSwitch": {"plugin": {"delay": 5}}}),
            40003,
            "The field cannot be recognized: autoSwitch.plugin.delay.",
        ),
        (
            "/video/outputs/0",
            json!({"name": ""}),
            40001,
            "The value of name is unsupported: .",
        ),
        (
            "/video/outputs/0",
            json!({"name": "OK", "fitMode": {"value": 1}}),
            40001,
            "The value of fitMode.value is unsupported: 1.",
        ),
    ];
    for (path, body, code, msg) in cases {
        d.assert_rejected(path, &tok, &body, code, Some(msg));
    }
    // Read-only values sent back unchanged are accepted.
    d.patch_ok(
        "/video/outputs/2",
        &tok,
        &json!({"id": "2", "type": "HDBaseT", "idx": -1, "status": 1, "fitMode": {"valid": [2, 3, 4], "value": 3}}),
    );
    assert_eq!(d.get_json("/video/outputs/2", &tok)["fitMode"]["value"], 3);
}

#[test]
fn video_outputs_bulk_patch() {
    let d = Daemon::start();
    let tok = d.login();
    let before = d.get_json("/video/outputs", &tok);
    d.patch_ok(
        "/video/outputs",
        &tok,
        &json!({"outputs": [
            {"id": "2", "displayResolution": {"value": 29}, "osd": {"value": 2}},
            {"id": "0", "name": "Left", "autoSwitch": {"value": 2, "plugout": {"mode": {"value": 3}}}},
        ]}),
    );
    let mut expected = before.clone();
    expected["outputs"][2]["displayResolution"]["value"] = json!(29);
    expected["outputs"][2]["osd"]["value"] = json!(2);
    expected["outputs"][0]["name"] = json!("Left");
    expected["outputs"][0]["autoSwitch"]["value"] = json!(2);
    expected["outputs"][0]["autoSwitch"]["plugout"]["mode"]["value"] = json!(3);
    assert_eq!(d.get_json("/video/outputs", &tok), expected);
    // The guide's bulk example: whole GET objects.
    d.patch_ok("/video/outputs", &tok, &expected);
    assert_eq!(d.get_json("/video/outputs", &tok), expected);
    let cases: Vec<(Value, u64, &str)> = vec![
        // W2's example path.
        (
            json!({"outputs": [{"id": "0", "fitMode": {"value": 3}}, {"id": "1", "fitMode": {"value": 1}}]}),
            40001,
            "The value of outputs[1].fitMode.value is unsupported: 1.",
        ),
        // W7's example.
        (
            json!({"outputs": [{"id": "0", "hdcv": 1}]}),
            40003,
            "The field cannot be recognized: outputs[0].hdcv.",
        ),
        (
            json!({"outputs": [{"id": "1", "blank": {"value": 2}}, {"id": "2", "displayResolution": {"value": 17}}]}),
            40001,
            "The value of outputs[1].displayResolution.value is unsupported: 17.",
        ),
        (
            json!({"outputs": [{"id": "1", "blank": {"value": 2}}, {"id": "5", "blank": {"value": 2}}]}),
            40401,
            "The instance of the resource is not found: 5.",
        ),
        (
            json!({"outputs": [{"id": "1", "blank": {"value": 2}}, {"id": "0", "status": 1}]}),
            40002,
            "The operation on outputs[1].status is disallowed.",
        ),
    ];
    for (body, code, msg) in cases {
        d.assert_rejected("/video/outputs", &tok, &body, code, Some(msg));
    }
}

// ------------------------------------------------------------ connections

#[test]
fn connections_get_patch_and_bulk() {
    let d = Daemon::start();
    let tok = d.login();
    let p = "/video/connections";
    let defaults = json!({"connections": [
        {"id": "0", "videoInput": "0"}, {"id": "1", "videoInput": "1"}, {"id": "2", "videoInput": "2"}
    ]});
    assert_eq!(d.get_json(p, &tok), defaults);
    for c in arr(&defaults["connections"]) {
        assert_eq!(&d.get_json(&format!("{p}/{}", s(&c["id"])), &tok), c);
    }
    assert_error(&d.get(&format!("{p}/3"), &tok), 40401);
    // V9: any input, or "-1" for none.
    for out in ["0", "1", "2"] {
        for input in ["-1", "6", "5", "4", "3", "2", "1", "0"] {
            d.patch_and_verify(&format!("{p}/{out}"), &tok, &json!({ "videoInput": input }));
        }
    }
    d.patch_ok(
        &format!("{p}/2"),
        &tok,
        &json!({"id": "2", "videoInput": "-1"}),
    );
    assert_eq!(d.get_json(&format!("{p}/2"), &tok)["videoInput"], "-1");
    let cases: Vec<(&str, Value, u64, &str)> = vec![
        (
            "/video/connections/0",
            json!({"videoInput": "7"}),
            40001,
            "The value of videoInput is unsupported: 7.",
        ),
        (
            "/video/connections/0",
            json!({"videoInput": ""}),
            40001,
            "The value of videoInput is unsupported: .",
        ),
        (
            "/video/connections/0",
            json!({"videoInput": "-2"}),
            40001,
            "The value of videoInput is unsupported: -2.",
        ),
        (
            "/video/connections/0",
            json!({"videoInput": 1}),
            40000,
            "The value of videoInput is invalid: 1.",
        ),
        (
            "/video/connections/0",
            json!({"videoInput": -1}),
            40000,
            "The value of videoInput is invalid: -1.",
        ),
        (
            "/video/connections/0",
            json!({"videoInput": null}),
            40000,
            "The value of videoInput is invalid: null.",
        ),
        (
            "/video/connections/0",
            json!({"id": "1", "videoInput": "1"}),
            40002,
            "The operation on id is disallowed.",
        ),
        (
            "/video/connections/0",
            json!({"videoinput": "1"}),
            40003,
            "The field cannot be recognized: videoinput.",
        ),
        (
            "/video/connections/0",
            json!({"hdcv": 1}),
            40003,
            "The field cannot be recognized: hdcv.",
        ),
    ];
    for (path, body, code, msg) in cases {
        d.assert_rejected(path, &tok, &body, code, Some(msg));
    }
    // Bulk: the guide's example, then a subset.
    d.patch_ok(
        p,
        &tok,
        &json!({"connections": [{"id": "0", "videoInput": "0"}, {"id": "1", "videoInput": "1"}]}),
    );
    d.patch_ok(
        p,
        &tok,
        &json!({"connections": [{"id": "2", "videoInput": "5"}]}),
    );
    assert_eq!(
        d.get_json(p, &tok),
        json!({"connections": [
            {"id": "0", "videoInput": "0"}, {"id": "1", "videoInput": "1"}, {"id": "2", "videoInput": "5"}
        ]})
    );
    let shown = d.get_json(p, &tok);
    d.patch_ok(p, &tok, &shown);
    assert_eq!(d.get_json(p, &tok), shown);
    let bulk_cases: Vec<(Value, u64, &str)> = vec![
        (
            json!({"connections": [{"id": "0", "videoInput": "6"}, {"id": "1", "videoInput": "9"}]}),
            40001,
            "The value of connections[1].videoInput is unsupported: 9.",
        ),
        (
            json!({"connections": [{"id": "0", "videoInput": "6"}, {"id": "3", "videoInput": "1"}]}),
            40401,
            "The instance of the resource is not found: 3.",
        ),
        (
            json!({"connections": [{"id": "0", "videoInput": "6"}, {"id": "0", "videoInput": "1"}]}),
            40000,
            "The value of connections[1].id is invalid: 0.",
        ),
    ];
    for (body, code, msg) in bulk_cases {
        d.assert_rejected(p, &tok, &body, code, Some(msg));
    }
}

// ----------------------------------------------------------------- golive

fn golive(d: &Daemon, tok: &str) -> Vec<i64> {
    let v = d.get_json("/video/golive", tok);
    arr(&v["golive"])
        .iter()
        .map(|g| g["status"].as_i64().unwrap())
        .collect()
}

#[test]
fn golive_start_stop_and_protected_content() {
    let d = Daemon::start();
    let tok = d.login();
    assert_eq!(
        d.get_json("/video/golive", &tok),
        json!({"golive": [{"id": "0", "status": 1}, {"id": "1", "status": 1}, {"id": "2", "status": 1}]})
    );
    for id in ["0", "1", "2"] {
        assert_eq!(
            d.get_json(&format!("/video/golive/{id}"), &tok),
            json!({"id": id, "status": 1})
        );
    }
    // Output 0 shows input 0 (no HDCP): playing.
    d.post("/video/golive/0", &tok, None).assert_204();
    assert_eq!(golive(&d, &tok), [2, 1, 1]);
    assert_eq!(
        d.get_json("/video/golive/0", &tok),
        json!({"id": "0", "status": 2})
    );
    d.post("/video/golive/0", &tok, None).assert_204(); // V12: no-op
    assert_eq!(golive(&d, &tok), [2, 1, 1]);
    // Output 1 routed to input 3 (HDCP 2.2): content is protected.
    d.patch_ok("/video/connections/1", &tok, &json!({"videoInput": "3"}));
    d.post("/video/golive/1", &tok, None).assert_204();
    assert_eq!(golive(&d, &tok), [2, 101, 1]);
    assert_eq!(
        d.get_json("/video/golive/1", &tok),
        json!({"id": "1", "status": 101})
    );
    // Re-routing a live output changes its status: HDCP 1.4 is protected too,
    // a plain source plays, no source plays (nothing protected).
    d.patch_ok("/video/connections/1", &tok, &json!({"videoInput": "2"}));
    assert_eq!(golive(&d, &tok), [2, 101, 1]);
    d.patch_ok("/video/connections/1", &tok, &json!({"videoInput": "0"}));
    assert_eq!(golive(&d, &tok), [2, 2, 1]);
    d.patch_ok("/video/connections/1", &tok, &json!({"videoInput": "-1"}));
    assert_eq!(golive(&d, &tok), [2, 2, 1]);
    d.patch_ok("/video/connections/0", &tok, &json!({"videoInput": "3"}));
    assert_eq!(golive(&d, &tok), [101, 2, 1]);
    // Each item equals its list entry.
    for g in arr(&d.get_json("/video/golive", &tok)["golive"]) {
        assert_eq!(
            &d.get_json(&format!("/video/golive/{}", s(&g["id"])), &tok),
            g
        );
    }
    // Stop.
    d.delete("/video/golive/1", &tok).assert_204();
    assert_eq!(golive(&d, &tok), [101, 1, 1]);
    d.delete("/video/golive/1", &tok).assert_204(); // V12: no-op
    d.delete("/video/golive/0", &tok).assert_204();
    assert_eq!(golive(&d, &tok), [1, 1, 1]);
    // Output 2 (no display connected) can stream too; it shows input 2
    // (HDCP 1.4) by default.
    d.post("/video/golive/2", &tok, None).assert_204();
    assert_eq!(golive(&d, &tok), [1, 1, 101]);
    d.patch_ok("/video/connections/2", &tok, &json!({"videoInput": "4"}));
    assert_eq!(
        golive(&d, &tok),
        [1, 1, 2],
        "input 4 has no signal: nothing protected"
    );
    // Unknown output.
    for (m, code) in [("GET", 40401), ("POST", 40401), ("DELETE", 40401)] {
        let r = d.request(m, "/video/golive/3", Some(&tok), None);
        assert_error_msg(&r, code, "The instance of the resource is not found: 3.");
    }
    assert_eq!(golive(&d, &tok), [1, 1, 2]);
    // Live outputs follow a profile change too (profile 3 routes 0 and 1 to input 3).
    d.post("/video/golive/0", &tok, None).assert_204();
    d.patch_ok("/video/vpProfiles/now", &tok, &json!({"id": "3"}));
    assert_eq!(golive(&d, &tok), [101, 1, 2]);
}

// -------------------------------------------------------------- snapshots

fn snapshot_state(d: &Daemon, tok: &str) -> Value {
    d.get_json("/video/snapshots/state", tok)
}

fn idle(id: &str) -> Value {
    json!({"id": id, "status": "idle", "progress": 0, "storage": "", "path": ""})
}

fn usb(d: &Daemon) -> std::path::PathBuf {
    d.data_dir().join("storage/usb0")
}

fn bmps(d: &Daemon) -> Vec<std::path::PathBuf> {
    find_files(&usb(d), &|n| n.ends_with(".bmp"))
}

#[test]
fn snapshot_writes_a_bmp_into_the_storage() {
    let d = Daemon::start();
    let tok = d.login();
    assert_eq!(
        snapshot_state(&d, &tok),
        json!({"snapshots": [idle("0"), idle("1"), idle("2")]})
    );
    let t0 = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis();
    // The guide's example body.
    d.post(
        "/video/snapshots/0",
        &tok,
        Some(&json!({"id": "0", "storage": "0", "path": "/"})),
    )
    .assert_204();
    let files = bmps(&d);
    assert_eq!(files.len(), 1, "{files:?}");
    let name = files[0].file_name().unwrap().to_str().unwrap().to_string();
    assert_eq!(
        files[0].parent().unwrap(),
        usb(&d),
        "written at the storage root"
    );
    // V13: Snapshot_<output>_<unix ms>.bmp
    let ms: u128 = name
        .strip_prefix("Snapshot_0_")
        .and_then(|r| r.strip_suffix(".bmp"))
        .and_then(|r| r.parse().ok())
        .unwrap_or_else(|| panic!("file name {name}"));
    assert!(ms >= t0 && ms < t0 + 60_000, "{ms} vs {t0}");
    let bytes = std::fs::read(&files[0]).unwrap();
    assert_eq!(assert_bmp(&bytes), (160, 90));
    let state = snapshot_state(&d, &tok);
    assert_eq!(
        state,
        json!({"snapshots": [
            {"id": "0", "status": "done", "progress": 100, "storage": "0", "path": format!("/{name}")},
            idle("1"), idle("2"),
        ]})
    );

    // Into a directory (created), without the optional `id`.
    d.post(
        "/video/snapshots/1",
        &tok,
        Some(&json!({"storage": "0", "path": "/meetings/2026 Q1_final-v2.x"})),
    )
    .assert_204();
    let dir = usb(&d).join("meetings/2026 Q1_final-v2.x");
    let in_dir = find_files(&dir, &|n| {
        n.starts_with("Snapshot_1_") && n.ends_with(".bmp")
    });
    assert_eq!(in_dir.len(), 1, "{:?}", bmps(&d));
    assert_bmp(&std::fs::read(&in_dir[0]).unwrap());
    let n1 = in_dir[0].file_name().unwrap().to_str().unwrap();
    assert_eq!(
        snapshot_state(&d, &tok)["snapshots"][1],
        json!({"id": "1", "status": "done", "progress": 100, "storage": "0",
               "path": format!("/meetings/2026 Q1_final-v2.x/{n1}")})
    );
    // `path` defaults to the root; a trailing slash is fine.
    d.post("/video/snapshots/2", &tok, Some(&json!({"storage": "0"})))
        .assert_204();
    d.post(
        "/video/snapshots/2",
        &tok,
        Some(&json!({"id": "2", "storage": "0", "path": "/trail/"})),
    )
    .assert_204();
    assert_eq!(
        find_files(&usb(&d).join("trail"), &|n| n.ends_with(".bmp")).len(),
        1
    );
    assert_eq!(bmps(&d).len(), 4);
}

#[test]
fn snapshots_of_several_outputs_at_once() {
    let d = Daemon::start();
    let tok = d.login();
    d.post(
        "/video/snapshots",
        &tok,
        Some(&json!({"snapshots": [
            {"id": "2", "storage": "0", "path": "/b"},
            {"id": "0", "storage": "0", "path": "/a"},
        ]})),
    )
    .assert_204();
    let a = find_files(&usb(&d).join("a"), &|n| n.starts_with("Snapshot_0_"));
    let b = find_files(&usb(&d).join("b"), &|n| n.starts_with("Snapshot_2_"));
    assert_eq!((a.len(), b.len()), (1, 1), "{:?}", bmps(&d));
    assert_bmp(&std::fs::read(&a[0]).unwrap());
    assert_bmp(&std::fs::read(&b[0]).unwrap());
    let st = snapshot_state(&d, &tok);
    assert_eq!(st["snapshots"][0]["status"], "done");
    assert_eq!(st["snapshots"][1], idle("1"));
    assert_eq!(st["snapshots"][2]["status"], "done");
    assert_eq!(
        st["snapshots"][2]["path"],
        format!("/b/{}", b[0].file_name().unwrap().to_str().unwrap())
    );
}

#[test]
fn snapshot_rejections_write_nothing() {
    let d = Daemon::start();
    let tok = d.login();
    let one = "/video/snapshots/0";
    let cases: Vec<(&str, Value, u64, &str)> = vec![
        (
            one,
            json!({"storage": "0", "path": "relative"}),
            40001,
            "The value of path is unsupported: relative.",
        ),
        (
            one,
            json!({"storage": "0", "path": "/../etc"}),
            40001,
            "The value of path is unsupported: /../etc.",
        ),
        (
            one,
            json!({"storage": "0", "path": "/a/../../b"}),
            40001,
            "The value of path is unsupported: /a/../../b.",
        ),
        (
            one,
            json!({"storage": "0", "path": "/a/./b"}),
            40001,
            "The value of path is unsupported: /a/./b.",
        ),
        (one, json!({"storage": "0", "path": "/a\\b"}), 40001, ""),
        (
            one,
            json!({"storage": "0", "path": "/a:b"}),
            40001,
            "The value of path is unsupported: /a:b.",
        ),
        (
            one,
            json!({"storage": "0", "path": ""}),
            40001,
            "The value of path is unsupported: .",
        ),
        (
            one,
            json!({"storage": "0", "path": 5}),
            40000,
            "The value of path is invalid: 5.",
        ),
        (
            one,
            json!({"storage": "1", "path": "/"}),
            40001,
            "The value of storage is unsupported: 1.",
        ),
        (
            one,
            json!({"storage": 0, "path": "/"}),
            40000,
            "The value of storage is invalid: 0.",
        ),
        (
            one,
            json!({"path": "/"}),
            40000,
            "The value of storage is invalid: null.",
        ),
        (
            one,
            json!({"id": "1", "storage": "0", "path": "/"}),
            40002,
            "The operation on id is disallowed.",
        ),
        (
            one,
            json!({"storage": "0", "path": "/", "format": "png"}),
            40003,
            "The field cannot be recognized: format.",
        ),
        (
            "/video/snapshots/3",
            json!({"storage": "0", "path": "/"}),
            40401,
            "The instance of the resource is not found: 3.",
        ),
        (
            "/video/snapshots",
            json!({"snapshots": [{"id": "0", "storage": "0"}, {"id": "9", "storage": "0"}]}),
            40401,
            "The instance of the resource is not found: 9.",
        ),
        (
            "/video/snapshots",
            json!({"snapshots": [{"id": "0", "storage": "0"}, {"storage": "0"}]}),
            40000,
            "The value of snapshots[1].id is invalid: null.",
        ),
        (
            "/video/snapshots",
            json!({"snapshots": [{"id": "0", "storage": "0"}, {"id": "1", "storage": "0", "path": "x"}]}),
            40001,
            "The value of snapshots[1].path is unsupported: x.",
        ),
        (
            "/video/snapshots",
            json!({"snapshots": [{"id": "0", "storage": "0"}, {"id": "0", "storage": "0"}]}),
            40000,
            "The value of snapshots is invalid: an output is listed twice.",
        ),
        (
            "/video/snapshots",
            json!({"snapshots": {"id": "0"}}),
            40000,
            "",
        ),
        (
            "/video/snapshots",
            json!({"id": "0", "storage": "0"}),
            40000,
            "The value of snapshots is invalid: null.",
        ),
        // An empty list asks for nothing (the daemon answers 40004).
        (
            "/video/snapshots",
            json!({"snapshots": []}),
            40004,
            "No message content found.",
        ),
    ];
    for (path, body, code, msg) in cases {
        let r = d.post(path, &tok, Some(&body));
        if msg.is_empty() {
            assert_error(&r, code);
        } else {
            assert_error_msg(&r, code, msg);
        }
        assert!(
            bmps(&d).is_empty(),
            "POST {path} {body} wrote {:?}",
            bmps(&d)
        );
    }
    assert_error(&d.request("POST", one, Some(&tok), None), 40004);
    assert_error(
        &d.request("POST", "/video/snapshots", Some(&tok), Some(b"{")),
        40000,
    );
    // Nothing escaped the storage either.
    assert!(find_files(&d.data_dir(), &|n| n.ends_with(".bmp")).is_empty());
    assert_eq!(
        snapshot_state(&d, &tok),
        json!({"snapshots": [idle("0"), idle("1"), idle("2")]})
    );
}

// ------------------------------------------------------------- thumbnails

#[test]
fn thumbnails_need_an_administrator_and_are_bmp() {
    let d = Daemon::start();
    let tok = d.login();
    let code = d.room_code(&tok);
    for i in 0..7 {
        let path = format!("/static/thumbnails/Snapshot{i}.bmp");
        let r = d.get(&path, &tok);
        assert_eq!(r.status, 200, "{path}: {}", r.text());
        assert_eq!(r.header("content-type").as_deref(), Some("image/bmp"));
        assert_eq!(&r.body[..2], b"BM");
        assert_bmp(&r.body);
    }
    // The thumbnail URL the API returns is the one served.
    let url = d.get_json("/video/inputs/3", &tok)["thumbnail"]
        .as_str()
        .unwrap()
        .to_string();
    let path = url.strip_prefix(&format!("https://{}", d.addr)).unwrap();
    assert_eq!(d.get(path, &tok).status, 200);
    // Basic works as well; no credential is 401, the room tier 403 (A6).
    let r = d.get("/static/thumbnails/Snapshot0.bmp", &basic(USER, PASSWORD));
    assert_eq!(r.status, 200);
    assert_error(
        &d.request("GET", "/static/thumbnails/Snapshot0.bmp", None, None),
        40100,
    );
    assert_error(
        &d.get(
            "/static/thumbnails/Snapshot0.bmp",
            &format!("roomcode:{code}"),
        ),
        40300,
    );
    for bad in [
        "Snapshot7.bmp",
        "snapshot0.bmp",
        "Snapshot0.BMP",
        "Snapshot0.png",
        "Snapshot.bmp",
        "Snapshot_0.bmp",
    ] {
        let path = format!("/static/thumbnails/{bad}");
        assert_error_msg(
            &d.get(&path, &tok),
            40400,
            &format!("The resource is not found: {path}."),
        );
    }
}

#[test]
fn sim_wiring_from_the_config_drives_status_and_hdcp() {
    // Another room: only USB-C (HDCP 2.2 source on a 1.4 port) and VGA have
    // a source, only output C has a display.
    let d = Daemon::start_with_config(
        "[sim]\nsignal_inputs = [\"5\", \"6\"]\nhdcp14_inputs = []\n\
         hdcp22_inputs = [\"5\", \"6\"]\nconnected_outputs = [\"2\"]\n",
    );
    let tok = d.login();
    let inputs = d.get_json("/video/inputs", &tok);
    let col = |key: &str, sub: Option<&str>| -> Vec<Value> {
        arr(&inputs["inputs"])
            .iter()
            .map(|i| match sub {
                Some(s) => i[key][s].clone(),
                None => i[key].clone(),
            })
            .collect()
    };
    assert_eq!(col("status", None), [1, 1, 1, 1, 1, 0, 0].map(|x| json!(x)));
    // V2: capped to what the port supports (USB-C: 1.4), VGA always 0.
    assert_eq!(
        col("hdcp", Some("value")),
        [1, 1, 1, 1, 1, 2, 0].map(|x| json!(x))
    );
    let outputs = d.get_json("/video/outputs", &tok);
    let st: Vec<Value> = arr(&outputs["outputs"])
        .iter()
        .map(|o| o["status"].clone())
        .collect();
    assert_eq!(st, [1, 1, 0].map(|x| json!(x)));
    // U4: embedded audio follows its video input.
    let audio = d.get_json("/audio/inputs", &tok);
    let st: Vec<(String, Value)> = arr(&audio["inputs"])
        .iter()
        .map(|a| (s(&a["id"]).to_string(), a["status"].clone()))
        .collect();
    for (id, status) in st {
        let expected = match id.as_str() {
            "HDMI1" | "HDMI2" | "HDMI3" | "HDMI4" | "DP1" | "STM1" | "STM2" => 1,
            _ => 0,
        };
        assert_eq!(status, expected, "audio input {id}");
    }
    // Output 0 showing input 5 (protected) goes live as 101.
    d.patch_ok("/video/connections/0", &tok, &json!({"videoInput": "5"}));
    d.post("/video/golive/0", &tok, None).assert_204();
    assert_eq!(
        d.get_json("/video/golive/0", &tok),
        json!({"id": "0", "status": 101})
    );
    let info = d.get_json("/system/info", &tok);
    assert_eq!(
        (info["serialNumber"].clone(), info["boardVersion"].clone()),
        (json!("VP27300000001"), json!("A-05"))
    );
}

#[test]
fn snapshot_to_a_missing_storage_is_503_and_reported_failed() {
    let d = Daemon::start();
    let tok = d.login();
    // V13: the USB stick is gone.
    std::fs::remove_dir_all(usb(&d)).unwrap();
    let r = d.post(
        "/video/snapshots/1",
        &tok,
        Some(&json!({"storage": "0", "path": "/x"})),
    );
    assert_error_msg(&r, 50302, "Service is not ready.");
    let st = snapshot_state(&d, &tok)["snapshots"][1].clone();
    assert_eq!(st["status"], "failed");
    assert_eq!(st["progress"], 100);
    assert!(
        !usb(&d).exists(),
        "the daemon must not create the mount point"
    );
    // Back: works again.
    std::fs::create_dir_all(usb(&d)).unwrap();
    d.post(
        "/video/snapshots/1",
        &tok,
        Some(&json!({"storage": "0", "path": "/x"})),
    )
    .assert_204();
    assert_eq!(snapshot_state(&d, &tok)["snapshots"][1]["status"], "done");
    assert_eq!(bmps(&d).len(), 1);
}

#[test]
fn video_config_reads_like_video_configs() {
    // V14: `video/config` carries what `GET /video/configs` returns.
    let d = Daemon::start();
    let tok = d.login();
    assert_eq!(
        d.get_json("/video/config", &tok),
        d.get_json("/video/configs", &tok)
    );
    d.patch_ok("/video/configs", &tok, &json!({"edid": {"value": 2}}));
    let c = d.get_json("/video/configs", &tok);
    assert_eq!(c["edid"]["value"], 2);
    assert_eq!(d.get_json("/video/config", &tok), c);
}

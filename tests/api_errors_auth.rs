//! Errors (routing, limits, malformed bodies on every PATCH endpoint) and
//! authentication (login, credential forms, room-code tier, revocation).

mod common;

use common::*;
use serde_json::{json, Value};
use std::time::Duration;

// ----------------------------------------------------------------- routing

#[test]
fn unknown_paths_are_404_with_or_without_credentials() {
    let d = Daemon::start();
    let tok = d.login();
    for path in [
        "/api/v2.0/nope",
        "/",
        "/favicon.ico",
        "/api",
        "/api/v2.0",
        "/api/v2.0/system",
        "/api/v2.0/video/inputs/0/extra",
        "/api/v2.0/video/inputs//",
        "/api/other/x",
        "/api/v2.0/Video/inputs",
        "/static/",
        "/static/picture/other.jpg",
    ] {
        for auth in [None, Some(tok.as_str())] {
            let r = d.request("GET", path, auth, None);
            assert_error_msg(&r, 40400, &format!("The resource is not found: {path}."));
        }
    }
    // E2: a path that exists needs credentials before anything is said
    // about the instance.
    assert_error(
        &d.request("GET", "/api/v2.0/video/inputs/99", None, None),
        40100,
    );
    assert_error(&d.get("/api/v2.0/video/inputs/99", &tok), 40401);
    // Long unknown paths are echoed bounded (W2's 64 characters).
    let long = format!("/api/v2.0/{}", "z".repeat(500));
    let msg = assert_error(&d.get(&long, &tok), 40400);
    assert!(
        msg.starts_with("The resource is not found: /api/v2.0/zzz"),
        "{msg}"
    );
    assert!(msg.len() < 120, "{} characters: {msg}", msg.len());
    // A query string does not change the route.
    assert_eq!(d.get("/api/v2.0/system/info?verbose=1", &tok).status, 200);
    // One trailing slash is tolerated.
    assert_eq!(d.get("/api/v2.0/system/info/", &tok).status, 200);
}

#[test]
fn wrong_method_is_405_with_an_allow_header() {
    let d = Daemon::start();
    let mut patterns: Vec<String> = Vec::new();
    for r in routes() {
        if !patterns.contains(&r.pattern) {
            patterns.push(r.pattern);
        }
    }
    let mut checked = 0;
    for pattern in &patterns {
        let path = sample_path(pattern);
        let allowed = allowed_methods(&path);
        for m in ["GET", "POST", "PATCH", "DELETE", "PUT"] {
            if allowed.iter().any(|a| a == m) {
                continue;
            }
            // E2: before authentication, so no credential is needed.
            let r = d.request(m, &path, None, None);
            assert_error_msg(&r, 40500, "The operation is disallowed.");
            assert_eq!(
                r.header("allow").as_deref(),
                Some(allowed.join(", ").as_str()),
                "{m} {path}"
            );
            checked += 1;
        }
    }
    assert!(checked > 80, "{checked}");
    // The examples from the route table's own tests.
    let r = d.request("DELETE", "/api/v2.0/system/osd", None, None);
    assert_eq!(r.header("allow").as_deref(), Some("GET, PATCH"));
    let r = d.request("GET", "/api/v2.0/auth/tokens", None, None);
    assert_eq!(r.header("allow").as_deref(), Some("POST, DELETE"));
    let r = d.request("POST", "/api/v2.0/ping", None, None);
    assert_eq!(r.header("allow").as_deref(), Some("GET"));
}

#[test]
fn other_api_versions_are_501() {
    let d = Daemon::start();
    let tok = d.login();
    for path in [
        "/api/v1.0/system/info",
        "/api/v1/system/info",
        "/api/v2.1/ping",
        "/api/v3/anything",
        "/api/v10.0.3/video/inputs",
        "/api/v1.0/nope",
    ] {
        for m in ["GET", "PATCH", "DELETE"] {
            for auth in [None, Some(tok.as_str())] {
                let r = d.request(m, path, auth, None);
                assert_error_msg(&r, 50100, "API version is unsupported.");
            }
        }
    }
}

// ------------------------------------------------------------------ limits

#[test]
fn request_bodies_over_the_limits_are_413() {
    let d = Daemon::start();
    let tok = d.login();
    // Authenticated: 64 KiB.
    let mut body = br#"{"multiviewLabel": 1}"#.to_vec();
    body.resize(65_536, b' ');
    d.request("PATCH", "/system/osd", Some(&tok), Some(&body))
        .assert_204();
    assert_eq!(d.get_json("/system/osd", &tok)["multiviewLabel"], 1);
    let mut big = br#"{"multiviewLabel": 2}"#.to_vec();
    big.resize(65_537, b' ');
    let r = d.raw_request("PATCH", "/system/osd", Some(&tok), &big);
    assert_error_msg(&r, 41300, "The message is too large.");
    assert_eq!(
        d.get_json("/system/osd", &tok)["multiviewLabel"],
        1,
        "nothing applied"
    );
    let huge = vec![b' '; 1 << 20];
    // Refused on the declared length, without reading the body.
    assert_error(
        &d.raw_request("PATCH", "/video/outputs", Some(&tok), &huge),
        41300,
    );

    // Before login: 4 KiB.
    let login = json!({"authorization": b64(&format!("{USER}:{PASSWORD}"))}).to_string();
    let mut ok = login.clone().into_bytes();
    ok.resize(4096, b' ');
    let r = d.request("POST", "/auth/tokens", None, Some(&ok));
    assert!(r.ok_json()["credential"].is_string());
    let mut over = login.into_bytes();
    over.resize(4097, b' ');
    assert_error(&d.raw_request("POST", "/auth/tokens", None, &over), 41300);
    // A room-code caller is authenticated: the 64 KiB limit applies.
    let code = d.room_code(&tok);
    let mut join = br#"{"name": "Big"}"#.to_vec();
    join.resize(10_000, b' ');
    let r = d.request(
        "POST",
        "/system/participants",
        Some(&format!("roomcode:{code}")),
        Some(&join),
    );
    assert_eq!(r.ok_json()["count"], 1);
    // An unauthenticated body to a protected route is refused for the
    // credential first.
    assert_error(&d.raw_request("PATCH", "/system/osd", None, &big), 40100);

    // Chunked bodies (no Content-Length) are cut at the limit too.
    let mut raw = format!(
        "PATCH /api/v2.0/system/osd HTTP/1.1\r\nHost: {}\r\nAuthorization: {tok}\r\n\
         Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n",
        d.addr
    )
    .into_bytes();
    for _ in 0..20 {
        raw.extend_from_slice(format!("{:x}\r\n", 4096).as_bytes());
        raw.extend(std::iter::repeat_n(b' ', 4096));
        raw.extend_from_slice(b"\r\n");
    }
    raw.extend_from_slice(b"0\r\n\r\n");
    let resp = parse_raw(&d.raw(&raw, Duration::from_secs(10)));
    assert_error(&resp.to_resp(), 41300);
    // Still serving.
    assert_eq!(d.request("GET", "/ping", None, None).status, 200);
}

#[test]
fn oversized_request_headers_are_refused_and_the_daemon_keeps_serving() {
    let d = Daemon::start();
    let tok = d.login();
    // Well under the 8 KiB header limit: served.
    let fine = "a".repeat(4000);
    let r = d.request_with(
        "GET",
        "/system/info",
        &[("authorization", &tok), ("x-pad", &fine)],
        None,
    );
    assert_eq!(r.status, 200);
    // Over the configured 8 KiB: the guide's 413/41300 (E1, error table),
    // whether one header is long or many add up.
    let req = format!(
        "GET /api/v2.0/ping HTTP/1.1\r\nHost: {}\r\nX-Pad: {}\r\nConnection: close\r\n\r\n",
        d.addr,
        "a".repeat(20_000)
    );
    let resp = parse_raw(&d.raw(req.as_bytes(), Duration::from_secs(10)));
    assert_error_msg(&resp.to_resp(), 41300, "The message is too large.");
    let mut req = format!(
        "GET /api/v2.0/system/osd HTTP/1.1\r\nHost: {}\r\nAuthorization: {tok}\r\nConnection: close\r\n",
        d.addr
    );
    for i in 0..60 {
        req.push_str(&format!("X-H{i}: {}\r\n", "b".repeat(150)));
    }
    req.push_str("\r\n");
    let resp = parse_raw(&d.raw(req.as_bytes(), Duration::from_secs(10)));
    assert_error_msg(&resp.to_resp(), 41300, "The message is too large.");
    // A long request target counts too.
    let long_path = format!("/api/v2.0/{}", "p".repeat(9000));
    let req = format!(
        "GET {long_path} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n\r\n",
        d.addr
    );
    let resp = parse_raw(&d.raw(req.as_bytes(), Duration::from_secs(10)));
    assert_error(&resp.to_resp(), 41300);
    // Far beyond (past what the HTTP parser buffers at all): refused at
    // the connection level (hyper's bare 431), without taking the daemon down.
    let req = format!(
        "GET /api/v2.0/ping HTTP/1.1\r\nHost: {}\r\nX-Pad: {}\r\nConnection: close\r\n\r\n",
        d.addr,
        "a".repeat(200_000)
    );
    let out = d.raw(req.as_bytes(), Duration::from_secs(10));
    if !out.is_empty() {
        let resp = parse_raw(&out);
        assert!(resp.status == 431 || resp.status == 413, "{}", resp.status);
    }
    // More than the HTTP parser's header count (100): the same bare 431.
    let mut req = format!(
        "GET /api/v2.0/ping HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n",
        d.addr
    );
    for i in 0..150 {
        req.push_str(&format!("X-H{i}: b\r\n"));
    }
    req.push_str("\r\n");
    let out = d.raw(req.as_bytes(), Duration::from_secs(10));
    if !out.is_empty() {
        let resp = parse_raw(&out);
        assert!(resp.status == 431 || resp.status == 413, "{}", resp.status);
    }
    assert_eq!(d.request("GET", "/ping", None, None).ok_json(), json!({}));
}

// ------------------------------------------------------ malformed bodies

#[test]
fn every_patch_endpoint_refuses_bad_bodies_and_takes_back_its_get() {
    let d = Daemon::start();
    let tok = d.login();
    assert_eq!(
        PATCH_ENDPOINTS.len(),
        routes().iter().filter(|r| r.method == "PATCH").count(),
        "one entry per PATCH route"
    );
    for (path, bulk) in PATCH_ENDPOINTS {
        // W5: nothing to do.
        for body in ["", "  \r\n", "null", "{}", " { } "] {
            d.assert_patch_rejected(
                path,
                &tok,
                body.as_bytes(),
                40004,
                Some("No message content found."),
            );
        }
        // W1/W3/W4: not strict JSON.
        for body in [
            &b"{\"a\": 1,}"[..],
            b"{\"a\": 1",
            b"{'a': 1}",
            b"{\"a\": 1} trailing",
            b"{\"a\": 01}",
            b"{\"a\": NaN}",
            b"\xff\xfe{}",
            b"{\"a\": \"\xc3\x28\"}",
        ] {
            let before = d.get_json(path, &tok);
            let r = d.patch_raw(path, &tok, body);
            let msg = assert_error(&r, 40000);
            assert!(
                msg.starts_with("The value of body is invalid: "),
                "{path} {:?}: {msg}",
                String::from_utf8_lossy(body)
            );
            assert_eq!(d.get_json(path, &tok), before);
        }
        d.assert_patch_rejected(
            path,
            &tok,
            br#"{"zz": 1, "zz": 2}"#,
            40000,
            Some("The value of body is invalid: duplicate key zz."),
        );
        d.assert_patch_rejected(
            path,
            &tok,
            br#"{"x": {"v": 1, "v": 1}}"#,
            40000,
            Some("The value of body is invalid: duplicate key v."),
        );
        for (body, shown) in [
            ("[1]", "[1]"),
            ("\"text\"", "text"),
            ("7", "7"),
            ("true", "true"),
        ] {
            d.assert_patch_rejected(
                path,
                &tok,
                body.as_bytes(),
                40000,
                Some(&format!("The value of body is invalid: {shown}.")),
            );
        }
        // W7: unknown fields name their full path.
        match bulk {
            None => d.assert_rejected(
                path,
                &tok,
                &json!({"hdcv": 1}),
                40003,
                Some("The field cannot be recognized: hdcv."),
            ),
            Some((key, id)) => {
                d.assert_rejected(
                    path,
                    &tok,
                    &json!({ *key: [{"id": id, "hdcv": 1}] }),
                    40003,
                    Some(&format!("The field cannot be recognized: {key}[0].hdcv.")),
                );
                d.assert_rejected(
                    path,
                    &tok,
                    &json!({ *key: [{"id": "no-such-id"}] }),
                    40401,
                    Some("The instance of the resource is not found: no-such-id."),
                );
                d.assert_rejected(
                    path,
                    &tok,
                    &json!({ *key: [{"id": 0}] }),
                    40000,
                    Some(&format!("The value of {key}[0].id is invalid: 0.")),
                );
                // W5: an empty list is a valid no-op.
                let before = d.get_json(path, &tok);
                d.patch_ok(path, &tok, &json!({ *key: [] }));
                assert_eq!(d.get_json(path, &tok), before);
            }
        }
        // W6: GET then PATCH the same object back.
        let shown = d.get_json(path, &tok);
        let r = d.patch(path, &tok, &shown);
        assert_eq!(r.status, 204, "PATCH {path} with its own GET: {}", r.text());
        assert_eq!(d.get_json(path, &tok), shown, "{path}");
    }
    // The duplicate-key example of W4, on a real field.
    d.assert_patch_rejected(
        "/audio/inputs/STM1",
        &tok,
        br#"{"volume":1,"volume":100}"#,
        40000,
        Some("The value of body is invalid: duplicate key volume."),
    );
    assert_eq!(d.get_json("/audio/inputs/STM1", &tok)["volume"], 100);
}

// -------------------------------------------------------------------- auth

fn login_with(d: &Daemon, authorization: &Value) -> Resp {
    let body = json!({ "authorization": authorization }).to_string();
    d.request("POST", "/auth/tokens", None, Some(body.as_bytes()))
}

#[test]
fn login_issues_long_random_credentials_usable_in_every_documented_form() {
    let d = Daemon::start();
    let a = d.login();
    let b = d.login();
    for c in [&a, &b] {
        assert!(
            c.len() >= 32,
            "credential {c:?} shorter than 128 bits of hex"
        );
        assert!(c.bytes().all(|x| x.is_ascii_hexdigit()), "{c:?}");
    }
    assert_ne!(a, b);
    // The body is exactly {"credential"}.
    let r = login_with(&d, &json!(b64(&format!("{USER}:{PASSWORD}"))));
    let v = r.ok_json();
    assert_eq!(v.as_object().unwrap().len(), 1, "{v}");
    // A1: bare and Bearer; Basic; all administrator tier.
    for auth in [
        a.clone(),
        format!("Bearer {a}"),
        format!("bearer {b}"),
        basic(USER, PASSWORD),
        format!("basic {}", b64(&format!("{USER}:{PASSWORD}"))),
    ] {
        let r = d.get("/system/osd", &auth);
        assert_eq!(r.status, 200, "{auth}: {}", r.text());
        assert_eq!(d.get("/video/outputs", &auth).status, 200, "{auth}");
    }
}

#[test]
fn login_failures_are_400_and_never_echo_the_secret() {
    let d = Daemon::start_with_config(NO_LOCKOUT);
    let secret = "s3cr3t-Pa55";
    let not_shown = "The value of authorization is invalid: (not shown).";
    for raw in [
        format!("{USER}:{secret}"),
        format!("nobody:{secret}"),
        format!("{USER}:"),
        format!("{USER}{secret}"),
        format!(":{secret}"),
        format!("{}:{PASSWORD}", USER.to_uppercase()),
    ] {
        let enc = b64(&raw);
        let r = login_with(&d, &json!(enc));
        assert_error_msg(&r, 40000, not_shown);
        assert!(
            !r.text().contains(secret) && !r.text().contains(&enc),
            "{}",
            r.text()
        );
    }
    for garbage in [
        format!("!!{secret}!!"),
        "not base64 at all".to_string(),
        String::new(),
    ] {
        let r = login_with(&d, &json!(garbage));
        assert_error_msg(&r, 40000, not_shown);
        assert!(!r.text().contains(secret));
    }
    // Wrong shapes.
    assert_error_msg(
        &login_with(&d, &json!(5)),
        40000,
        "The value of authorization is invalid: 5.",
    );
    let r = d.request(
        "POST",
        "/auth/tokens",
        None,
        Some(br#"{"user": "administrator"}"#),
    );
    assert_error_msg(&r, 40000, "The value of authorization is invalid: null.");
    let body = json!({"authorization": b64(&format!("{USER}:{PASSWORD}")), "remember": true});
    let r = d.request(
        "POST",
        "/auth/tokens",
        None,
        Some(body.to_string().as_bytes()),
    );
    assert_error_msg(&r, 40003, "The field cannot be recognized: remember.");
    assert_error(&d.request("POST", "/auth/tokens", None, None), 40004);
    assert_error(
        &d.request("POST", "/auth/tokens", None, Some(b"{\"authorization\":")),
        40000,
    );
    // The daemon still logs in the right password after all that.
    d.login();
}

#[test]
fn missing_or_invalid_credentials_are_401() {
    let d = Daemon::start_with_config(NO_LOCKOUT);
    let tok = d.login();
    let wrong_basic = basic(USER, "wrong");
    let unknown_basic = basic("nobody", PASSWORD);
    let upper = tok.to_uppercase();
    let bad: Vec<Option<&str>> = vec![
        None,
        Some(""),
        Some("deadbeefdeadbeefdeadbeefdeadbeefdeadbeef"),
        Some("Bearer "),
        Some("Bearer deadbeef"),
        Some(&wrong_basic),
        Some(&unknown_basic),
        Some("Basic !!!"),
        Some("Basic "),
        Some(&upper),
    ];
    for auth in bad {
        for path in [
            "/system/osd",
            "/video/inputs",
            "/audio/outputs/ALL",
            "/system/info",
        ] {
            let r = d.request("GET", path, auth, None);
            assert_error_msg(&r, 40100, "User account is unauthorized.");
        }
        let r = d.request(
            "PATCH",
            "/system/osd",
            auth,
            Some(br#"{"multiviewLabel": 1}"#),
        );
        assert_error(&r, 40100);
    }
    assert_eq!(d.get_json("/system/osd", &tok)["multiviewLabel"], 2);
}

#[test]
fn room_code_tier_may_only_use_its_resources() {
    let d = Daemon::start();
    let tok = d.login();
    let code = d.room_code(&tok);
    let room = format!("roomcode:{code}");
    let mut allowed_seen = 0;
    for Route {
        method,
        pattern,
        tier,
    } in routes()
    {
        let method = method.as_str();
        let path = sample_path(&pattern);
        let r = d.request(method, &path, Some(&room), None);
        if tier <= Tier::Room {
            assert!(
                r.status != 401 && r.status != 403 && r.status < 500,
                "room tier refused {method} {path}: {} {}",
                r.status,
                r.text()
            );
            allowed_seen += 1;
        } else {
            assert_error_msg(&r, 40300, "The demand on the resource is refused.");
        }
        // Without any credential: only the public routes.
        let r = d.request(method, &path, None, None);
        if tier == Tier::Public {
            assert!(
                r.status != 401 && r.status != 403,
                "{method} {path}: {}",
                r.status
            );
        } else {
            assert_error_msg(&r, 40100, "User account is unauthorized.");
        }
    }
    // At least: ping, login, 2 pictures, resources, info, room, participants x3.
    assert!(allowed_seen >= 10, "{allowed_seen}");
    // What the room tier can do, concretely (A4).
    assert_eq!(d.get_json("/system/info", &room)["modelName"], "VP2730");
    let joined = d.post("/system/participants", &room, None).ok_json();
    let id = joined["id"].as_str().unwrap();
    assert_eq!(
        d.get_json(&format!("/system/participants/{id}"), &room)["id"],
        id
    );
    assert!(d.get_json("/system/room", &room)["security"]
        .get("code")
        .is_none());
    // A2: spellings.
    for auth in [
        format!("roomcode: {code}"),
        format!("RoomCode:{code}"),
        format!("ROOMCODE:  {code} "),
    ] {
        assert_eq!(d.get("/system/room", &auth).status, 200, "{auth}");
        assert_error(&d.get("/system/osd", &auth), 40300);
    }
    // Writes refused, and nothing changed.
    let osd = d.get_json("/system/osd", &tok);
    assert_error(
        &d.patch("/system/osd", &room, &json!({"multiviewLabel": 1})),
        40300,
    );
    assert_error(
        &d.patch("/system/room", &room, &json!({"name": "Hijacked"})),
        40300,
    );
    assert_error(
        &d.patch("/video/connections/0", &room, &json!({"videoInput": "6"})),
        40300,
    );
    assert_eq!(d.get_json("/system/osd", &tok), osd);
    assert_eq!(d.get_json("/system/info", &tok)["deviceName"], "VP2730");
    assert_eq!(d.get_json("/video/connections/0", &tok)["videoInput"], "0");
}

#[test]
fn wrong_room_code_is_401() {
    let d = Daemon::start_with_config(NO_LOCKOUT);
    let tok = d.login();
    let code = d.room_code(&tok);
    let other: String = code
        .bytes()
        .map(|b| (b'0' + (b - b'0' + 1) % 10) as char)
        .collect();
    for auth in [
        format!("roomcode:{other}"),
        "roomcode:".to_string(),
        "roomcode:abcd".to_string(),
        format!("roomcode:{code}0"),
        format!("roomcode:{}", &code[..3]),
    ] {
        for path in ["/system/info", "/system/room", "/system/participants"] {
            let r = d.get(path, &auth);
            assert_error_msg(&r, 40100, "User account is unauthorized.");
        }
        assert_error(&d.post("/system/participants", &auth, None), 40100);
    }
    assert_eq!(
        d.get_json("/system/participants", &tok),
        json!({"participants": []})
    );
}

#[test]
fn deleting_the_token_revokes_exactly_that_credential() {
    let d = Daemon::start();
    let a = d.login();
    let b = d.login();
    assert_eq!(d.get("/system/osd", &a).status, 200);
    d.delete("/auth/tokens", &a).assert_204();
    assert_error(&d.get("/system/osd", &a), 40100);
    assert_error(&d.get("/system/osd", &format!("Bearer {a}")), 40100);
    assert_error(&d.delete("/auth/tokens", &a), 40100);
    assert_eq!(
        d.get("/system/osd", &b).status,
        200,
        "other credentials live on"
    );
    // Revoking with the Bearer form.
    d.delete("/auth/tokens", &format!("Bearer {b}"))
        .assert_204();
    assert_error(&d.get("/system/osd", &b), 40100);
    // A7: nothing to revoke with Basic; room tier may not; none is 401.
    let r = d.delete("/auth/tokens", &basic(USER, PASSWORD));
    assert_error_msg(&r, 40002, "The operation on Authorization is disallowed.");
    let c = d.login();
    let code = d.room_code(&c);
    assert_error(
        &d.delete("/auth/tokens", &format!("roomcode:{code}")),
        40300,
    );
    assert_error(&d.request("DELETE", "/auth/tokens", None, None), 40100);
    // Public routes ignore a stale credential: logging in again works.
    let body = json!({"authorization": b64(&format!("{USER}:{PASSWORD}"))}).to_string();
    let r = d.request("POST", "/auth/tokens", Some(&a), Some(body.as_bytes()));
    assert!(r.ok_json()["credential"].is_string());
    assert_eq!(d.request("GET", "/ping", Some(&a), None).status, 200);
}

// ----------------------------------------------------------------- /static

#[test]
fn path_traversal_under_static_is_404() {
    let d = Daemon::start();
    let tok = d.login();
    let key = std::fs::read_to_string(d.data_dir().join("tls-key.pem")).unwrap();
    assert!(key.contains("PRIVATE KEY"));
    for path in [
        "/static/../settings.db",
        "/static/../tls-key.pem",
        "/static/picture/../../tls-key.pem",
        "/static/picture/../../settings.db",
        "/static/picture/..%2F..%2Ftls-key.pem",
        "/static/picture/%2e%2e/%2e%2e/tls-key.pem",
        "/static/picture/default_icon.jpg/../../../tls-key.pem",
        "/static/thumbnails/../../tls-key.pem",
        "/static/thumbnails/..%2F..%2Ftls-key.pem",
        "/static/thumbnails/..%2f..%2fsettings.db",
        "/static/thumbnails/Snapshot..%2F..%2Ftls-key.pem",
        "/static/thumbnails/Snapshot0.bmp%2F..%2F..%2Ftls-key.pem",
        "/static/thumbnails/Snapshot..%2F..%2F..%2Fetc%2Fpasswd%00.bmp",
        "/static/thumbnails/%2e%2e%5c%2e%2e%5ctls-key.pem",
        "/static/tls-key.pem",
        "/static/settings.db",
        "/static//etc/passwd",
        "/static/storage/usb0",
        "/static/thumbnails/Snapshot0.bmp/..",
    ] {
        for auth in [Some(tok.as_str()), None] {
            let r = d.request("GET", path, auth, None);
            let thumbnail_route =
                path.starts_with("/static/thumbnails/") && path.matches('/').count() == 3;
            if auth.is_none() && thumbnail_route {
                // E2: the thumbnail route exists; credentials come first.
                assert_error(&r, 40100);
            } else {
                assert_error_msg(&r, 40400, &format!("The resource is not found: {path}."));
            }
            assert!(!r.text().contains("PRIVATE KEY") && !r.text().contains("SQLite"));
        }
    }
}

#[test]
fn credentials_expire_when_idle_and_are_capped_per_account() {
    let d =
        Daemon::start_with_config("[auth]\nidle_timeout_secs = 2\nmax_sessions_per_account = 2\n");
    // Per-account cap: a third login evicts the least recently used.
    let a = d.login();
    let b = d.login();
    assert_eq!(d.get("/system/osd", &a).status, 200); // a is now more recent than b
    let c = d.login();
    assert_error(&d.get("/system/osd", &b), 40100);
    assert_eq!(d.get("/system/osd", &a).status, 200);
    assert_eq!(d.get("/system/osd", &c).status, 200);
    // Idle timeout.
    std::thread::sleep(Duration::from_millis(2300));
    assert_error(&d.get("/system/osd", &a), 40100);
    assert_error(&d.get("/system/osd", &c), 40100);
    // Basic needs no session.
    assert_eq!(d.get("/system/osd", &basic(USER, PASSWORD)).status, 200);
}

#[test]
fn route_table_holds_every_guide_endpoint_with_its_tier() {
    let table = routes();
    for (m, p, t) in GUIDE_ROUTES {
        let found = table.iter().find(|r| r.method == *m && r.pattern == *p);
        let r = found.unwrap_or_else(|| panic!("{m} {p} missing from src/routes.rs"));
        assert_eq!(r.tier, *t, "{m} {p}");
    }
    // Every (method, pattern) once.
    for (i, a) in table.iter().enumerate() {
        assert!(
            !table[i + 1..]
                .iter()
                .any(|b| b.method == a.method && b.pattern == a.pattern),
            "{} {} twice",
            a.method,
            a.pattern
        );
    }
}

/// A4: the room-code tier may use ping, join, `GET /system/info`,
/// `GET /system/room`, `GET /system/participants[/<id>]` and
/// `GET /system/resources` (public routes aside: login and the A6 pictures).
const A4_ROOM_ROUTES: &[(&str, &str)] = &[
    ("GET", "/api/v2.0/system/resources"),
    ("GET", "/api/v2.0/system/info"),
    ("GET", "/api/v2.0/system/room"),
    ("GET", "/api/v2.0/system/participants"),
    ("POST", "/api/v2.0/system/participants"),
    ("GET", "/api/v2.0/system/participants/share"),
    ("GET", "/api/v2.0/system/participants/{id}"),
];

#[test]
fn room_tier_has_exactly_the_a4_resources() {
    let room_routes: Vec<(String, String)> = routes()
        .into_iter()
        .filter(|r| r.tier == Tier::Room)
        .map(|r| (r.method, r.pattern))
        .collect();
    let d = Daemon::start();
    let tok = d.login();
    let room = format!("roomcode:{}", d.room_code(&tok));
    // Live: everything the table opens to the room tier beyond A4 must be 403.
    for (m, p) in &room_routes {
        if A4_ROOM_ROUTES.iter().any(|(am, ap)| am == m && ap == p) {
            continue;
        }
        let path = sample_path(p);
        let r = d.request(m, &path, Some(&room), None);
        assert_eq!(
            r.status,
            403,
            "{m} {path} is open to the room tier: {} {}",
            r.status,
            r.text()
        );
    }
    // And /system/resources lists exactly A4's paths.
    let listed = d.get_json("/system/resources", &room);
    assert_eq!(
        listed,
        json!({"resources": [
            {"id": "0", "resource": "/api/v2.0/system/resources"},
            {"id": "1", "resource": "/api/v2.0/system/info"},
            {"id": "2", "resource": "/api/v2.0/system/room"},
            {"id": "3", "resource": "/api/v2.0/system/participants"},
            {"id": "4", "resource": "/api/v2.0/system/participants/share"},
            {"id": "5", "resource": "/api/v2.0/system/participants/<id>"},
        ]})
    );
}

#[test]
fn repeated_failures_lock_the_address_out_for_a_while() {
    // Not in spec-notes: the daemon's brute-force protection, with the
    // limits set explicitly (`[auth]` max_failures, lockout_secs).
    let d = Daemon::start_with_config(
        "[auth]\nmax_failures = 3\nfailure_window_secs = 60\nlockout_secs = 2\n",
    );
    let tok = d.login();
    for _ in 0..2 {
        assert_error(&login_with(&d, &json!(b64(&format!("{USER}:nope")))), 40000);
    }
    assert_error(&d.get("/system/osd", &basic(USER, "nope")), 40100);
    // Third failure: locked out; even the right password is refused.
    let right = json!(b64(&format!("{USER}:{PASSWORD}")));
    assert_error_msg(
        &login_with(&d, &right),
        40300,
        "The demand on the resource is refused.",
    );
    assert_error(&d.get("/system/osd", &basic(USER, PASSWORD)), 40300);
    let code = d.room_code(&tok);
    assert_error(&d.get("/system/info", &format!("roomcode:{code}")), 40300);
    // Credentials already issued keep working.
    assert_eq!(d.get("/system/osd", &tok).status, 200);
    // The lockout ends.
    assert!(wait_until(Duration::from_secs(5), || login_with(
        &d, &right
    )
    .status
        == 200));
    assert_eq!(d.get("/system/osd", &basic(USER, PASSWORD)).status, 200);
}

//! Bad-input sweep: wrong types, hostile numbers, NaN-like strings in every
//! field of every PATCH endpoint; deep nesting; odd `Authorization`,
//! `Content-Length`, `Transfer-Encoding` and `Host` headers; odd request
//! lines and paths. Every one is answered with a 4xx of the guide's error
//! table (or, for HTTP the parser cannot read at all, hyper's bare 400),
//! never a 5xx or a hang, and leaves the settings as they were.
//!
//! What `tests/api_errors_auth.rs` already covers is not repeated here:
//! malformed JSON, duplicate keys, non-object bodies, unknown fields, body
//! and header size limits, path traversal under `/static`.

mod common;

use common::*;
use serde_json::{json, Value};
use std::panic::AssertUnwindSafe;
use std::time::{Duration, Instant};

// ------------------------------------------------------------------ helpers

/// The readable settings and runtime state: none of the requests of this
/// file may change any of them (bar the 204s the guide allows, which are
/// undone at once).
const STATE_PATHS: &[&str] = &[
    "/system/osd",
    "/system/room",
    "/system/participants",
    "/video/configs",
    "/video/vpProfiles/now",
    "/audio/inputs",
    "/audio/outputs",
    "/video/multiviews",
    "/video/inputs",
    "/video/outputs",
    "/video/connections",
    "/video/golive",
    "/video/snapshots/state",
];

/// The codes of the guide's error table.
const GUIDE_CODES: &[u64] = &[
    40000, 40001, 40002, 40003, 40004, 40100, 40300, 40400, 40401, 40500, 41300, 50000, 50100,
    50300, 50301, 50302, 50303, 50304,
];

/// Wrong JSON types, for every node (objects and arrays included).
const WRONG_TYPES: &[&str] = &[
    r#""7""#,
    "7",
    "{}",
    r#"{"zz": 1}"#,
    "[]",
    "[1]",
    "true",
    "false",
    "null",
];

/// Numbers a naive parser gets wrong, for every scalar field.
const HOSTILE_NUMBERS: &[&str] = &[
    "1e400",
    "-1e400",
    "18446744073709551616",
    "-9223372036854775809",
    "1.5",
    "-0",
];

/// Strings a lenient number parser would read as numbers, for every scalar.
const NAN_STRINGS: &[&str] = &[
    r#""NaN""#,
    r#""Infinity""#,
    r#""-Infinity""#,
    r#""1e999""#,
    r#""0x10""#,
    r#"" 1""#,
    r#""""#,
];

/// Whether raw JSON `raw` is a number for a number or a string for a
/// string (objects and arrays are probed with every shape, `{}` included).
fn same_type(current: &Value, raw: &str) -> bool {
    let v: Value = serde_json::from_str(raw).expect("WRONG_TYPES are JSON");
    (current.is_number() && v.is_number()) || (current.is_string() && v.is_string())
}

/// Every current GET of [`STATE_PATHS`].
fn state(d: &Daemon, tok: &str) -> Vec<(&'static str, Value)> {
    STATE_PATHS
        .iter()
        .map(|p| (*p, d.get_json(p, tok)))
        .collect()
}

/// Asserts that the daemon still serves (ping, an authenticated GET) and
/// that no setting changed since `before`.
#[track_caller]
fn assert_alive_and_unchanged(d: &Daemon, tok: &str, before: &[(&str, Value)], group: &str) {
    let r = d.request("GET", "/ping", None, None);
    assert_eq!(
        r.status,
        200,
        "after {group}: ping answered {} {}",
        r.status,
        r.text()
    );
    assert_eq!(r.json(), json!({}), "after {group}: ping body");
    for (path, was) in before {
        let now = d.get_json(path, tok);
        assert_eq!(&now, was, "after {group}: GET {path} changed");
    }
}

/// Checks that `r` is a 4xx of the guide's error table: status 4xx, a JSON
/// body `{"code", "message"}` whose code is in the table, status equal to
/// code / 100 and a message that follows the table's template. Returns
/// (code, message).
#[track_caller]
fn assert_guide_4xx(r: &Resp, ctx: &str) -> (u64, String) {
    assert!(
        (400..500).contains(&r.status),
        "{ctx}: expected a 4xx of the guide's table, got {} {}",
        r.status,
        r.text()
    );
    let v: Value = serde_json::from_slice(&r.body).unwrap_or_else(|e| {
        panic!(
            "{ctx}: {} with a body that is not JSON ({e}): {:?}",
            r.status,
            r.text()
        )
    });
    let code = v["code"]
        .as_u64()
        .unwrap_or_else(|| panic!("{ctx}: no numeric code in {v}"));
    assert!(
        GUIDE_CODES.contains(&code),
        "{ctx}: code {code} is not in the guide's error table: {v}"
    );
    assert_eq!(
        u64::from(r.status),
        code / 100,
        "{ctx}: status {} does not go with code {code}",
        r.status
    );
    if code == 40401 && v["message"] == "The instance of the resource is not found: ." {
        // A bulk entry with `"id": ""`: the empty id is echoed as sent (W2
        // echoes strings without quotes), leaving the placeholder empty,
        // which the shared template check does not take.
        return (code, String::new());
    }
    let msg =
        std::panic::catch_unwind(AssertUnwindSafe(|| assert_error(r, code))).unwrap_or_else(|_| {
            panic!(
                "{ctx}: error body does not follow the guide's template: {}",
                r.text()
            )
        });
    (code, msg)
}

/// The field a 40000-40003 message names (`None` for other codes).
fn blamed_field(code: u64, msg: &str) -> Option<String> {
    let rest = match code {
        40000 | 40001 => msg.strip_prefix("The value of ")?.split(" is ").next()?,
        40002 => msg
            .strip_prefix("The operation on ")?
            .strip_suffix(" is disallowed.")?,
        40003 => msg
            .strip_prefix("The field cannot be recognized: ")?
            .strip_suffix('.')?,
        _ => return None,
    };
    Some(rest.to_string())
}

/// Whether field path `a` is `b` or an ancestor of it (`views[0]` of
/// `views[0].coordinate.zOrder`).
fn path_covers(a: &str, b: &str) -> bool {
    b == a || b.starts_with(&format!("{a}.")) || b.starts_with(&format!("{a}["))
}

/// JSON equality where numbers compare by value (`0`, `-0.0` and `0.0` are
/// the same), as the daemon compares read-only fields (W6).
fn same_json(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_f64() == y.as_f64(),
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(p, q)| same_json(p, q))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(k, v)| y.get(k).is_some_and(|w| same_json(v, w)))
        }
        _ => a == b,
    }
}

/// What a GET should show after an accepted PATCH `patch` of a resource
/// that showed `base`: objects merge key by key, lists of objects with an
/// `id` merge entry by entry (how bulk bodies and multiview `views` work),
/// anything else is replaced.
fn patched(base: &Value, patch: &Value) -> Value {
    match (base, patch) {
        (Value::Object(b), Value::Object(p)) => {
            let mut out = b.clone();
            for (k, v) in p {
                let next = match b.get(k) {
                    Some(old) => patched(old, v),
                    None => v.clone(),
                };
                out.insert(k.clone(), next);
            }
            Value::Object(out)
        }
        (Value::Array(b), Value::Array(p))
            if b.first().is_some_and(|e| e.get("id").is_some())
                && p.iter().all(|e| e.get("id").is_some()) =>
        {
            let mut out = b.clone();
            for e in p {
                if let Some(slot) = out.iter_mut().find(|x| x.get("id") == e.get("id")) {
                    *slot = patched(slot, e);
                }
            }
            Value::Array(out)
        }
        (_, p) => p.clone(),
    }
}

/// What GET `path` should show after the daemon accepted `body` there,
/// starting from `before`: [`patched`], except for `vpProfiles/now`, which
/// selects a profile (V8) and then shows that profile.
fn expected_after(d: &Daemon, tok: &str, path: &str, before: &Value, body: &Value) -> Value {
    if path == "/video/vpProfiles/now" {
        let id = body["id"].as_str().unwrap_or_else(|| {
            before["id"]
                .as_str()
                .expect("vpProfiles/now shows a string id")
        });
        return d.get_json(&format!("/video/vpProfiles/{id}"), tok);
    }
    patched(before, body)
}

/// One step of a path inside a body.
#[derive(Clone, Debug)]
enum Seg {
    Key(String),
    Idx(usize),
}

/// A path as the daemon names it in messages (`outputs[0].fitMode.value`).
fn show(path: &[Seg]) -> String {
    let mut s = String::new();
    for seg in path {
        match seg {
            Seg::Key(k) => {
                if !s.is_empty() {
                    s.push('.');
                }
                s.push_str(k);
            }
            Seg::Idx(i) => s.push_str(&format!("[{i}]")),
        }
    }
    s
}

fn get_at<'a>(v: &'a Value, path: &[Seg]) -> Option<&'a Value> {
    path.iter().try_fold(v, |v, seg| match seg {
        Seg::Key(k) => v.get(k.as_str()),
        Seg::Idx(i) => v.get(*i),
    })
}

fn set_at(v: &mut Value, path: &[Seg], new: Value) {
    let mut slot = v;
    for seg in path {
        slot = match seg {
            Seg::Key(k) => slot
                .get_mut(k.as_str())
                .unwrap_or_else(|| panic!("no key {k} on the path {}", show(path))),
            Seg::Idx(i) => slot
                .get_mut(*i)
                .unwrap_or_else(|| panic!("no index {i} on the path {}", show(path))),
        };
    }
    *slot = new;
}

/// Every node of `v` below the root: every key of every object, and the
/// first element of every array (the others have the same shape).
fn nodes(v: &Value, prefix: &[Seg], out: &mut Vec<Vec<Seg>>) {
    match v {
        Value::Object(m) => {
            for (k, child) in m {
                let mut p = prefix.to_vec();
                p.push(Seg::Key(k.clone()));
                out.push(p.clone());
                nodes(child, &p, out);
            }
        }
        Value::Array(a) => {
            if let Some(first) = a.first() {
                let mut p = prefix.to_vec();
                p.push(Seg::Idx(0));
                out.push(p.clone());
                nodes(first, &p, out);
            }
        }
        _ => {}
    }
}

/// A placeholder replaced by raw JSON text after serialisation, so that
/// numbers serde_json cannot hold (`1e400`, `-0`, 2^64) go out verbatim.
const MARK: &str = "@@bad-input@@";

/// `base` serialised with the node at `path` replaced by the raw text `raw`.
fn body_with(base: &Value, path: &[Seg], raw: &str) -> Vec<u8> {
    let mut b = base.clone();
    set_at(&mut b, path, Value::String(MARK.into()));
    let text = b.to_string();
    let quoted = format!("\"{MARK}\"");
    assert_eq!(text.matches(&quoted).count(), 1, "marker in {text}");
    text.replacen(&quoted, raw, 1).into_bytes()
}

/// A valid change of one item (as a merge patch), used next to every bad
/// value: a refused request must not apply it either (all or nothing).
/// Each is a real change from the factory state.
fn probe(path: &str) -> (Vec<Seg>, Value) {
    let key = |k: &str| Seg::Key(k.to_string());
    let (p, v) = if path.starts_with("/system/osd") {
        (vec![key("multiviewLabel")], json!(1))
    } else if path.starts_with("/system/room") {
        (vec![key("linkInfo")], json!(1))
    } else if path.starts_with("/video/configs") {
        (vec![key("edid"), key("value")], json!(2))
    } else if path.starts_with("/video/vpProfiles/now") {
        (vec![key("id")], json!("1"))
    } else if path.starts_with("/audio/") {
        (vec![key("volume")], json!(55))
    } else if path.starts_with("/video/multiviews") {
        (vec![key("description")], json!("Probe"))
    } else if path.starts_with("/video/inputs") || path.starts_with("/video/outputs") {
        (vec![key("name")], json!("Probe"))
    } else if path.starts_with("/video/connections") {
        (vec![key("videoInput")], json!("-1"))
    } else {
        panic!("no probe change for {path}")
    };
    (p, v)
}

/// A name as S4 and the input/output/multiview tables allow it: 1 to `max`
/// characters, not blank, no control characters.
fn name_ok(s: &str, max: usize) -> bool {
    let n = s.chars().count();
    n >= 1 && n <= max && !s.trim().is_empty() && !s.chars().any(char::is_control)
}

/// Whether the guide allows a PATCH of `endpoint` that sets the node at
/// `node` to `raw` (which may make a 204 legitimate):
///
/// * the value equals what the body had there or what the GET shows (W6:
///   read-only fields sent back unchanged, numbers compared by value, so
///   `-0` for a `0`);
/// * `{}` for a nested object, `[]` for a list patched by `id` (multiview
///   `views`, the bulk list itself: W5): nothing to change;
/// * free-text fields: room `name` (S4) and `description` (S1, may be
///   empty), input and output `name`, multiview `description`;
/// * multiview ratios within 0-1 (V10), e.g. `-0`.
///
/// Everything else must be refused.
fn may_accept(
    endpoint: &str,
    bulk: bool,
    node: &[Seg],
    raw: &str,
    sent: &Value,
    shown: Option<&Value>,
) -> bool {
    let Ok(v) = serde_json::from_str::<Value>(raw) else {
        return false;
    };
    if same_json(&v, sent) || shown.is_some_and(|s| same_json(&v, s)) {
        return true;
    }
    let Some(Seg::Key(key)) = node.last() else {
        return false;
    };
    match &v {
        Value::Object(m) if m.is_empty() && sent.is_object() => return true,
        Value::Array(a)
            if a.is_empty()
                && sent
                    .as_array()
                    .and_then(|x| x.first())
                    .is_some_and(|e| e.get("id").is_some()) =>
        {
            return true
        }
        _ => {}
    }
    // A field of the item itself (`name`), not of a nested object; bulk
    // bodies hold the item at `<list>[0]`.
    let item_level = node.len() == if bulk { 3 } else { 1 };
    match (key.as_str(), &v) {
        ("name", Value::String(s)) if item_level => {
            (endpoint.starts_with("/system/room")
                || endpoint.starts_with("/video/inputs")
                || endpoint.starts_with("/video/outputs"))
                && name_ok(s, 32)
        }
        ("description", Value::String(s)) if endpoint.starts_with("/system/room") => {
            s.chars().count() <= 128 && !s.chars().any(char::is_control)
        }
        ("description", Value::String(s)) if item_level => {
            endpoint.starts_with("/video/multiviews") && name_ok(s, 64)
        }
        ("wRatio" | "hRatio" | "xRatio" | "yRatio", Value::Number(n)) => {
            endpoint.starts_with("/video/multiviews")
                && n.as_f64().is_some_and(|f| (0.0..=1.0).contains(&f))
        }
        _ => false,
    }
}

/// Sweeps one PATCH endpoint; returns how many bad bodies were sent and
/// which of them the guide allowed and the daemon accepted.
fn sweep(d: &Daemon, tok: &str, path: &str, bulk: Option<(&str, &str)>) -> (usize, Vec<String>) {
    let baseline = d.get_json(path, tok);
    let (probe_path, probe_value) = probe(path);
    let with_probe = |item: &Value| {
        let mut v = item.clone();
        set_at(&mut v, &probe_path, probe_value.clone());
        v
    };
    // What is sent: the GET with the probe change, in which one node at a
    // time is replaced. Bulk bodies hold two entries: first another item
    // with the probe change, then the swept item (with the probe too), so
    // that a bad value in a later entry must also undo an earlier one.
    let mut all = Vec::new();
    let (base, restore) = match bulk {
        None => {
            let base = with_probe(&baseline);
            nodes(&base, &[], &mut all);
            (base, baseline.clone())
        }
        Some((key, id)) => {
            let list = baseline[key]
                .as_array()
                .unwrap_or_else(|| panic!("GET {path} has no list {key}: {baseline}"));
            let item = list
                .iter()
                .find(|e| e["id"] == id)
                .unwrap_or_else(|| panic!("GET {path} has no {key} entry {id}: {baseline}"));
            let other = list
                .iter()
                .find(|e| e["id"] != id)
                .unwrap_or_else(|| panic!("GET {path} has one entry only: {baseline}"));
            let prefix = [Seg::Key(key.to_string()), Seg::Idx(1)];
            all.push(prefix[..1].to_vec());
            all.push(prefix.to_vec());
            nodes(&with_probe(item), &prefix, &mut all);
            (
                json!({ key: [with_probe(other), with_probe(item)] }),
                json!({ key: [other, item] }),
            )
        }
    };

    let undo = |ctx: &str| {
        let r = d.patch(path, tok, &restore);
        assert_eq!(
            r.status,
            204,
            "{ctx}: undoing with the original GET: {} {}",
            r.status,
            r.text()
        );
        assert_eq!(
            d.get_json(path, tok),
            baseline,
            "{ctx}: GET {path} after undoing"
        );
    };

    // The probe alone is a real, accepted change (else the all-or-nothing
    // checks below would prove nothing).
    let r = d.patch(path, tok, &base);
    assert_eq!(
        r.status,
        204,
        "PATCH {path} {base} (probe): {} {}",
        r.status,
        r.text()
    );
    let after = d.get_json(path, tok);
    assert_ne!(
        after, baseline,
        "PATCH {path} {base} (probe) changed nothing"
    );
    assert!(
        same_json(&after, &expected_after(d, tok, path, &baseline, &base)),
        "PATCH {path} {base} (probe) reads back {after}"
    );
    undo(&format!("PATCH {path} (probe)"));

    let mut sent = 0;
    let mut accepted = Vec::new();
    for node in &all {
        let field = show(node);
        let current = get_at(&base, node).expect("node of the body");
        let shown = get_at(&restore, node);
        let scalar = !current.is_object() && !current.is_array();
        // Wrong types are of another JSON type than the field (a number
        // for a string, a string for a number, ...); hostile numbers and
        // NaN-like strings go into every scalar field.
        let values = WRONG_TYPES
            .iter()
            .filter(|raw| !same_type(current, raw))
            .chain(HOSTILE_NUMBERS.iter().chain(NAN_STRINGS).filter(|_| scalar));
        for raw in values {
            let body = body_with(&base, node, raw);
            sent += 1;
            let ctx = format!(
                "PATCH {path} with {field} = {raw} (body {})",
                String::from_utf8_lossy(&body)
            );
            let r = d.patch_raw(path, tok, &body);
            if r.status == 204 {
                assert!(
                    may_accept(path, bulk.is_some(), node, raw, current, shown),
                    "{ctx}: accepted (204) a value the guide does not allow there"
                );
                let sent_json: Value =
                    serde_json::from_slice(&body).expect("accepted body is JSON");
                let want = expected_after(d, tok, path, &baseline, &sent_json);
                let got = d.get_json(path, tok);
                assert!(
                    same_json(&got, &want),
                    "{ctx}: answered 204 but GET shows {got}, expected {want}"
                );
                undo(&ctx);
                accepted.push(format!("{path} {field} = {raw}"));
                continue;
            }
            let (code, msg) = assert_guide_4xx(&r, &ctx);
            if let Some(blamed) = blamed_field(code, &msg) {
                let parse_error = serde_json::from_str::<Value>(raw).is_err();
                assert!(
                    (parse_error && blamed == "body")
                        || path_covers(&blamed, &field)
                        || path_covers(&field, &blamed),
                    "{ctx}: the message blames {blamed:?}, not {field:?}: {msg}"
                );
            }
            let got = d.get_json(path, tok);
            assert_eq!(
                got, baseline,
                "{ctx}: refused with {code} but GET {path} changed (half-applied)"
            );
        }
    }
    (sent, accepted)
}

/// Sweeps the PATCH endpoints `filter` selects on one daemon; returns the
/// bad values the guide allowed and the daemon accepted (then undid).
fn sweep_endpoints(filter: impl Fn(&str) -> bool) -> Vec<String> {
    let d = Daemon::start();
    let tok = d.login();
    let before = state(&d, &tok);
    let start = Instant::now();
    let mut sent = 0;
    let mut accepted = Vec::new();
    for (path, bulk) in PATCH_ENDPOINTS.iter().filter(|(p, _)| filter(p)) {
        let (n, ok) = sweep(&d, &tok, path, *bulk);
        sent += n;
        accepted.extend(ok);
        assert_alive_and_unchanged(&d, &tok, &before, &format!("the sweep of PATCH {path}"));
    }
    eprintln!(
        "{sent} bad bodies in {:?}; accepted (and undone): {accepted:#?}",
        start.elapsed()
    );
    accepted
}

// ------------------------------------------------- 1. field-by-field sweep

#[test]
fn patch_endpoint_list_matches_the_route_table() {
    let table: Vec<String> = routes()
        .into_iter()
        .filter(|r| r.method == "PATCH")
        .map(|r| r.pattern)
        .collect();
    assert_eq!(
        PATCH_ENDPOINTS.len(),
        table.len(),
        "one entry per PATCH route"
    );
    for pattern in &table {
        assert!(
            PATCH_ENDPOINTS
                .iter()
                .any(|(p, _)| route_matches(pattern, &Daemon::path(p))),
            "PATCH {pattern} is not swept"
        );
    }
}

/// Singletons and audio: every field of the GET (recursively) replaced by
/// wrong types, hostile numbers and NaN-like strings.
#[test]
fn system_video_config_and_audio_fields_refuse_bad_values() {
    let accepted = sweep_endpoints(|p| {
        !p.starts_with("/video/")
            || p.starts_with("/video/configs")
            || p.starts_with("/video/vpProfiles")
    });
    // The free-text exceptions were really exercised (and read back).
    for case in [
        r#"/system/room name = "NaN""#,
        r#"/system/room name = "0x10""#,
        r#"/system/room description = """#,
    ] {
        assert!(accepted.iter().any(|a| a == case), "{case} not accepted");
    }
}

/// The video collections, one-item and bulk forms.
#[test]
fn video_collection_fields_refuse_bad_values() {
    let accepted = sweep_endpoints(|p| {
        p.starts_with("/video/")
            && !p.starts_with("/video/configs")
            && !p.starts_with("/video/vpProfiles")
    });
    for case in [
        r#"/video/inputs/2 name = "Infinity""#,
        r#"/video/outputs outputs[1].name = "1e999""#,
        r#"/video/multiviews/1 description = " 1""#,
        "/video/multiviews/1 views[0].coordinate.xRatio = -0",
    ] {
        assert!(accepted.iter().any(|a| a == case), "{case} not accepted");
    }
}

// ------------------------------------------------------- 2. deep nesting

/// `[[[...]]]`, `depth` deep.
fn deep_array(depth: usize) -> String {
    format!("{}{}", "[".repeat(depth), "]".repeat(depth))
}

/// `{"a":{"a":...1...}}`, `depth` deep.
fn deep_object(depth: usize) -> String {
    format!("{}1{}", r#"{"a":"#.repeat(depth), "}".repeat(depth))
}

#[test]
fn deep_nesting_is_400_and_the_daemon_keeps_serving() {
    let d = Daemon::start();
    let tok = d.login();
    let before = state(&d, &tok);

    // Whole bodies nested 10 000 deep (20 KB of brackets, 60 KB of
    // `{"a":`, under the 64 KiB limit), on every route that reads a body:
    // every PATCH and every POST but go-live (which takes no body and
    // ignores one: it would start streaming). Login is public, with a 4 KiB
    // body limit: it gets the deepest bodies that fit.
    let mut targets = Vec::new();
    for r in routes() {
        if (r.method == "PATCH" || r.method == "POST") && !r.pattern.contains("/golive/") {
            targets.push((r.method.clone(), sample_path(&r.pattern), r.tier));
        }
    }
    assert!(targets.len() >= 20, "body routes: {targets:?}");
    for (method, path, tier) in &targets {
        let public = *tier == Tier::Public;
        let bodies = if public {
            [
                (deep_array(2_000), "arrays 2 000"),
                (deep_object(600), "objects 600"),
            ]
        } else {
            [
                (deep_array(10_000), "arrays 10 000"),
                (deep_object(10_000), "objects 10 000"),
            ]
        };
        for (body, kind) in bodies {
            let limit = if public { 4_096 } else { 65_536 };
            assert!(body.len() <= limit, "{kind}: {} bytes", body.len());
            let auth = (!public).then_some(tok.as_str());
            let ctx = format!("{method} {path} with {kind} deep");
            let r = d.request(method, path, auth, Some(body.as_bytes()));
            let (code, msg) = assert_guide_4xx(&r, &ctx);
            assert_eq!(code, 40000, "{ctx}: {msg}");
            assert!(
                msg.starts_with("The value of body is invalid: "),
                "{ctx}: {msg}"
            );
        }
    }
    assert_alive_and_unchanged(&d, &tok, &before, "10 000-deep bodies");

    // 100 deep inside a field the resource has: parsed (serde_json's limit
    // is 128), then refused for the field's type, naming the field, with
    // the echoed value cut short. 200 deep there: refused as a body.
    for (path, bulk) in PATCH_ENDPOINTS {
        let (field, _) = probe(path);
        let mut item = json!({});
        let mut slot = &mut item;
        for seg in &field {
            let Seg::Key(k) = seg else {
                unreachable!("probe paths are keys")
            };
            slot[k.as_str()] = json!({});
            slot = &mut slot[k.as_str()];
        }
        *slot = Value::String(MARK.into());
        let (body, shown) = match bulk {
            None => (item, show(&field)),
            Some((key, id)) => {
                item["id"] = json!(id);
                (
                    json!({ *key: [item] }),
                    format!("{key}[0].{}", show(&field)),
                )
            }
        };
        let with = |nested: &str| body.to_string().replacen(&format!("\"{MARK}\""), nested, 1);
        for (nested, kind) in [(deep_array(100), "arrays"), (deep_object(100), "objects")] {
            let ctx = format!("PATCH {path} with {shown} = {kind} 100 deep");
            let r = d.patch_raw(path, &tok, with(&nested).as_bytes());
            let (code, msg) = assert_guide_4xx(&r, &ctx);
            assert_eq!(code, 40000, "{ctx}: {msg}");
            assert!(
                msg.starts_with(&format!("The value of {shown} is invalid: ")),
                "{ctx}: {msg}"
            );
            assert!(msg.len() < 200, "{ctx}: echo not bounded: {msg}");
        }
        let ctx = format!("PATCH {path} with {shown} = arrays 200 deep");
        let r = d.patch_raw(path, &tok, with(&deep_array(200)).as_bytes());
        let (code, msg) = assert_guide_4xx(&r, &ctx);
        assert_eq!(code, 40000, "{ctx}: {msg}");
        assert!(
            msg.starts_with("The value of body is invalid: "),
            "{ctx}: {msg}"
        );
    }
    assert_alive_and_unchanged(&d, &tok, &before, "100-deep fields");
}

// ------------------------------------------------- 3. headers and framing

/// Sends `bytes` on a raw connection and returns what came back. The
/// daemon must answer and close (every request here asks for `close`, or
/// is one hyper cannot keep the connection open after), well within the
/// wait: a connection still open at the end is a hang.
#[track_caller]
fn exchange(d: &Daemon, bytes: &[u8], ctx: &str) -> Vec<u8> {
    let wait = Duration::from_secs(8);
    let start = Instant::now();
    let out = d.raw(bytes, wait);
    assert!(
        start.elapsed() < wait - Duration::from_secs(1),
        "{ctx}: the daemon kept the connection open for {:?} (got {:?})",
        start.elapsed(),
        String::from_utf8_lossy(&out)
    );
    out
}

/// How many responses `out` holds.
fn responses(out: &[u8]) -> usize {
    out.windows(9)
        .enumerate()
        .filter(|(i, w)| {
            (w == b"HTTP/1.1 " || w == b"HTTP/1.0 ")
                && (*i == 0 || out[..*i].ends_with(b"\n") || out[..*i].ends_with(b"}"))
        })
        .count()
}

/// What a raw request may be answered with.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Answer {
    /// A 4xx of the guide's table: the request reached the router.
    Guide,
    /// The guide's 4xx, or hyper's bare 400 (empty body): the HTTP parser
    /// refused the request, so it never reached the router and none of our
    /// code could answer it.
    GuideOrBare400,
}

/// Checks the one response of a raw exchange; returns it.
#[track_caller]
fn assert_raw_4xx(out: &[u8], answer: Answer, ctx: &str) -> RawResp {
    assert!(
        !out.is_empty(),
        "{ctx}: the connection closed without an answer"
    );
    assert_eq!(
        responses(out),
        1,
        "{ctx}: expected exactly one response: {:?}",
        String::from_utf8_lossy(out)
    );
    let resp = parse_raw(out);
    let bare = resp.header("content-type").is_none() && resp.body.is_empty();
    if bare {
        assert_eq!(
            answer,
            Answer::GuideOrBare400,
            "{ctx}: a bare {} where the router should answer: {:?}",
            resp.status,
            String::from_utf8_lossy(out)
        );
        assert_eq!(
            resp.status,
            400,
            "{ctx}: bare answer {:?}",
            String::from_utf8_lossy(out)
        );
    } else {
        assert_guide_4xx(&resp.to_resp(), ctx);
    }
    resp
}

/// A `GET path` with `extra` header lines (each ending in CRLF).
fn raw_get(d: &Daemon, path: &str, extra: &[u8]) -> Vec<u8> {
    let mut req = format!("GET {path} HTTP/1.1\r\nHost: {}\r\n", d.addr).into_bytes();
    req.extend_from_slice(extra);
    req.extend_from_slice(b"Connection: close\r\n\r\n");
    req
}

/// No lockout (many bad credentials on purpose), and short body and head
/// timeouts so that stalled requests are cut quickly.
const HEADER_TEST_CONFIG: &str =
    "[auth]\nmax_failures = 100000\nroom_code_failures_per_minute = 100000\n\
     [server]\nbody_read_timeout_ms = 1000\nheader_read_timeout_ms = 2000\n";

#[test]
fn authorization_header_forms_never_authenticate_by_ambiguity() {
    let d = Daemon::start_with_config(HEADER_TEST_CONFIG);
    let tok = d.login();
    let before = state(&d, &tok);
    let good_basic = basic(USER, PASSWORD);
    let osd = "/system/osd";

    // Controls: the documented forms work (A1, A2), so the refusals below
    // are about the forms, not the credentials.
    for auth in [
        tok.clone(),
        format!("Bearer {tok}"),
        format!("bearer   {tok}  "),
        good_basic.clone(),
        format!("BASIC {}", b64(&format!("{USER}:{PASSWORD}"))),
    ] {
        assert_eq!(d.get(osd, &auth).status, 200, "control {auth:?}");
    }

    // Two Authorization headers. Which one would count depends on who reads
    // the request (a proxy may take the last, a server the first), so the
    // daemon takes neither: more than one `Authorization` line is 401/40100,
    // whatever the order or the values (even two copies of a valid one).
    let bogus = "Bearer deadbeefdeadbeefdeadbeefdeadbeef";
    for pair in [
        [tok.as_str(), bogus],
        [bogus, tok.as_str()],
        [good_basic.as_str(), bogus],
        [bogus, good_basic.as_str()],
        [tok.as_str(), tok.as_str()],
        [tok.as_str(), ""],
    ] {
        let ctx = format!("GET {osd} with Authorization {pair:?}");
        let r = d.request_with(
            "GET",
            osd,
            &[("authorization", pair[0]), ("authorization", pair[1])],
            None,
        );
        let (code, _) = assert_guide_4xx(&r, &ctx);
        assert_eq!(code, 40100, "{ctx}");
        let ctx = format!("PATCH {osd} with Authorization {pair:?}");
        let r = d.request_with(
            "PATCH",
            osd,
            &[("authorization", pair[0]), ("authorization", pair[1])],
            Some(br#"{"multiviewLabel": 1}"#),
        );
        let (code, _) = assert_guide_4xx(&r, &ctx);
        assert_eq!(code, 40100, "{ctx}");
    }
    // Public routes ignore credentials, however many.
    let r = d.request_with(
        "GET",
        "/ping",
        &[("authorization", &tok), ("authorization", bogus)],
        None,
    );
    assert_eq!(r.status, 200, "ping with two Authorization headers");
    // One header holding both, comma-joined: not a credential.
    assert_error(&d.get(osd, &format!("{tok}, {bogus}")), 40100);
    assert_error(&d.get(osd, &format!("{bogus}, {tok}")), 40100);

    // Forms that are well-formed HTTP but not credentials: 401/40100.
    let no_colon = format!("Basic {}", b64(USER));
    let long_password = basic(USER, &"p".repeat(5000));
    let huge_token = "a".repeat(7000);
    let huge_bearer = format!("Bearer {}", "f".repeat(7000));
    let url_safe = format!(
        "Basic {}",
        b64(&format!("{USER}:{PASSWORD}"))
            .replace('+', "-")
            .replace('/', "_")
            .trim_end_matches('=')
    );
    for auth in [
        "Bearer",
        "Bearer ",
        "Bearer\t",
        "Bearer Bearer",
        "Basic",
        "Basic ====",
        "Basic YQ",
        "Basic *",
        "Basic \u{0009}",
        &no_colon,
        &url_safe,
        &format!(
            "Basic {}",
            b64(&format!("{USER}:{PASSWORD}")).replace('=', "")
        ),
        &format!("Basic {} x", b64(&format!("{USER}:{PASSWORD}"))),
        &format!("Basic {}", b64(&format!("{USER}:{PASSWORD}:"))),
        &format!("Basic {}", b64(&format!(" {USER}:{PASSWORD}"))),
        &format!("Digest {tok}"),
        &format!("Bearer\t{tok}"),
        &format!("Bearer {tok} {tok}"),
        &format!("{tok}{tok}"),
        &tok[..tok.len() - 1],
        &long_password,
        &huge_token,
        &huge_bearer,
        "roomcode:",
        "roomcode:NaN",
        "roomcode:-0",
        "roomcode:1e999",
        "roomcode: 0x10",
        &format!("roomcode:{}", "9".repeat(7000)),
    ] {
        let shown: String = auth.chars().take(60).collect();
        for (method, body) in [
            ("GET", None),
            ("PATCH", Some(&br#"{"multiviewLabel": 1}"#[..])),
        ] {
            let ctx = format!("{method} {osd} with Authorization {shown:?}");
            let r = d.request_with(method, osd, &[("authorization", auth)], body);
            let (code, _) = assert_guide_4xx(&r, &ctx);
            assert_eq!(code, 40100, "{ctx}");
        }
    }
    assert_alive_and_unchanged(&d, &tok, &before, "well-formed bad Authorization values");

    // Bytes hyper's client will not send: non-UTF-8 (valid obs-text in
    // HTTP, not a credential: 401/40100) and control bytes (the HTTP parser
    // refuses the head: bare 400 before routing).
    let basic_bad_utf8 = format!("Basic {}", base64_bytes(&[0xff, 0xfe, b':', b'p', b'w']));
    let mut non_utf8: Vec<Vec<u8>> = vec![
        b"Bearer \xff\xfe".to_vec(),
        b"\xc3\x28".to_vec(),
        b"roomcode:\xff".to_vec(),
        basic_bad_utf8.into_bytes(),
    ];
    let mut tok_latin1 = tok.clone().into_bytes();
    tok_latin1.push(0xe9);
    non_utf8.push(tok_latin1);
    for value in &non_utf8 {
        let ctx = format!(
            "GET {osd} with Authorization {:?}",
            String::from_utf8_lossy(value)
        );
        let mut line = b"Authorization: ".to_vec();
        line.extend_from_slice(value);
        line.extend_from_slice(b"\r\n");
        let out = exchange(&d, &raw_get(&d, &Daemon::path(osd), &line), &ctx);
        let resp = assert_raw_4xx(&out, Answer::Guide, &ctx);
        assert_eq!(resp.status, 401, "{ctx}");
    }
    // Two headers, one of them not UTF-8.
    let mut two = format!("Authorization: {tok}\r\n").into_bytes();
    two.extend_from_slice(b"Authorization: \xff\r\n");
    let ctx = "GET with a valid and a non-UTF-8 Authorization";
    let out = exchange(&d, &raw_get(&d, &Daemon::path(osd), &two), ctx);
    assert_eq!(
        assert_raw_4xx(&out, Answer::Guide, ctx).status,
        401,
        "{ctx}"
    );
    for value in [
        format!("{tok}\x01").into_bytes(),
        format!("Bearer \x00{tok}").into_bytes(),
        format!("Basic {}\x7f", b64(&format!("{USER}:{PASSWORD}"))).into_bytes(),
        format!("Bearer {tok}\rX-Injected: 1").into_bytes(),
        format!("Bearer\r\n {tok}").into_bytes(), // obs-fold
    ] {
        let ctx = format!(
            "GET {osd} with Authorization {:?}",
            String::from_utf8_lossy(&value)
        );
        let mut line = b"Authorization: ".to_vec();
        line.extend_from_slice(&value);
        line.extend_from_slice(b"\r\n");
        let out = exchange(&d, &raw_get(&d, &Daemon::path(osd), &line), &ctx);
        let resp = assert_raw_4xx(&out, Answer::GuideOrBare400, &ctx);
        assert_ne!(resp.status, 200, "{ctx}");
    }
    // Header-name games: a space before the colon (refused by the parser)
    // and a lookalike name (not `Authorization`, so no credential at all).
    for (line, answer) in [
        (format!("Authorization : {tok}\r\n"), Answer::GuideOrBare400),
        (format!("Authorisation: {tok}\r\n"), Answer::Guide),
        (format!("X-Authorization: {tok}\r\n"), Answer::Guide),
    ] {
        let ctx = format!("GET {osd} with {line:?}");
        let out = exchange(&d, &raw_get(&d, &Daemon::path(osd), line.as_bytes()), &ctx);
        let resp = assert_raw_4xx(&out, answer, &ctx);
        assert_ne!(resp.status, 200, "{ctx}");
    }
    assert_alive_and_unchanged(&d, &tok, &before, "raw Authorization bytes");
    // And the credential still works.
    assert_eq!(d.get(osd, &tok).status, 200);
}

/// Standard base64 of raw bytes.
fn base64_bytes(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

#[test]
fn content_length_and_transfer_encoding_games_are_refused_without_smuggling() {
    let d = Daemon::start_with_config(HEADER_TEST_CONFIG);
    let tok = d.login();
    let before = state(&d, &tok);
    let host = d.addr.to_string();
    let osd = Daemon::path("/system/osd");
    let change = r#"{"multiviewLabel": 1}"#;
    let head = format!("PATCH {osd} HTTP/1.1\r\nHost: {host}\r\nAuthorization: {tok}\r\n");

    // Content-Length the parser cannot read: bare 400 before routing.
    for cl in [
        "abc",
        "-1",
        "+21",
        "0x15",
        "21.0",
        "1e1",
        "",
        "18446744073709551616",
        "99999999999999999999999",
    ] {
        let req = format!(
            "{}Content-Length: {cl}\r\nConnection: close\r\n\r\n{change}",
            head
        );
        let ctx = format!("PATCH with Content-Length {cl:?}");
        let out = exchange(&d, req.as_bytes(), &ctx);
        assert_raw_4xx(&out, Answer::GuideOrBare400, &ctx);
    }
    // Conflicting duplicates: bare 400 (RFC 9112 6.3).
    for (a, b) in [("21", "22"), ("21", "0"), ("0", "21")] {
        let req = format!(
            "{}Content-Length: {a}\r\nContent-Length: {b}\r\nConnection: close\r\n\r\n{change}",
            head
        );
        let ctx = format!("PATCH with Content-Length {a} and {b}");
        let out = exchange(&d, req.as_bytes(), &ctx);
        assert_raw_4xx(&out, Answer::GuideOrBare400, &ctx);
    }
    // Equal duplicates are one length (RFC 9112 6.3 allows it): the body
    // reaches the handler, here with a field the resource does not have.
    let req = format!(
        "{}Content-Length: 9\r\nContent-Length: 9\r\nConnection: close\r\n\r\n{{\"zz\": 1}}",
        head
    );
    let ctx = "PATCH with Content-Length 9 twice";
    let out = exchange(&d, req.as_bytes(), ctx);
    let resp = assert_raw_4xx(&out, Answer::Guide, ctx);
    assert_error_msg(
        &resp.to_resp(),
        40003,
        "The field cannot be recognized: zz.",
    );
    // A body shorter than its Content-Length: the body timeout answers.
    let req = format!(
        "{}Content-Length: 100\r\nConnection: close\r\n\r\n{change}",
        head
    );
    let ctx = "PATCH with a body shorter than Content-Length";
    let out = exchange(&d, req.as_bytes(), ctx);
    let resp = assert_raw_4xx(&out, Answer::Guide, ctx);
    assert_error_msg(
        &resp.to_resp(),
        40000,
        "The value of body is invalid: not received in time.",
    );
    assert_alive_and_unchanged(&d, &tok, &before, "Content-Length games");

    // Content-Length and Transfer-Encoding together (request smuggling).
    // hyper frames by Transfer-Encoding, drops Content-Length and closes the
    // connection after its answer (RFC 9112 6.1), so the bytes after the
    // chunked body never become a second request: exactly one response,
    // and the smuggled PATCH is not applied.
    let smuggled = format!(
        "PATCH {osd} HTTP/1.1\r\nHost: {host}\r\nAuthorization: {tok}\r\n\
         Content-Length: {}\r\n\r\n{change}",
        change.len()
    );
    // CL.TE: the length covers the smuggled request; chunked ends before it.
    let chunked_empty = format!("0\r\n\r\n{smuggled}");
    // TE.CL: the chunk holds the smuggled request; the length stops before it.
    let chunk = format!("{:x}\r\n{smuggled}\r\n0\r\n\r\n", smuggled.len());
    for (order, body) in [
        (
            format!(
                "Content-Length: {}\r\nTransfer-Encoding: chunked\r\n",
                chunked_empty.len()
            ),
            chunked_empty.clone(),
        ),
        (
            format!(
                "Transfer-Encoding: chunked\r\nContent-Length: {}\r\n",
                chunked_empty.len()
            ),
            chunked_empty.clone(),
        ),
        (
            "Transfer-Encoding: chunked\r\nContent-Length: 4\r\n".to_string(),
            chunk.clone(),
        ),
        (
            "Content-Length: 4\r\nTransfer-Encoding: chunked\r\n".to_string(),
            chunk.clone(),
        ),
        (
            "Content-Length: 0\r\nTransfer-Encoding: chunked\r\n".to_string(),
            chunked_empty.clone(),
        ),
    ] {
        let req = format!("{}{order}\r\n{body}", head);
        let ctx = format!("smuggling with {order:?}");
        let out = exchange(&d, req.as_bytes(), &ctx);
        let resp = assert_raw_4xx(&out, Answer::Guide, &ctx);
        assert_eq!(
            resp.header("connection"),
            Some("close"),
            "{ctx}: the connection must close after the answer"
        );
        assert_eq!(
            d.get_json("/system/osd", &tok),
            before[0].1,
            "{ctx}: the smuggled PATCH was applied"
        );
    }
    // Transfer-Encoding forms hyper refuses outright (not chunked last,
    // unknown, duplicated with another coding, HTTP/1.0): bare 400.
    for te in [
        "Transfer-Encoding: identity\r\n",
        "Transfer-Encoding: xchunked\r\n",
        "Transfer-Encoding: chunked, identity\r\n",
        "Transfer-Encoding: chunked\r\nTransfer-Encoding: identity\r\n",
        "Transfer-Encoding : chunked\r\n",
    ] {
        let req = format!(
            "{}{te}Content-Length: {}\r\nConnection: close\r\n\r\n{chunked_empty}",
            head,
            chunked_empty.len()
        );
        let ctx = format!("PATCH with {te:?}");
        let out = exchange(&d, req.as_bytes(), &ctx);
        let resp = assert_raw_4xx(&out, Answer::GuideOrBare400, &ctx);
        assert_ne!(resp.status, 204, "{ctx}");
    }
    let req = format!(
        "PATCH {osd} HTTP/1.0\r\nHost: {host}\r\nAuthorization: {tok}\r\n\
         Transfer-Encoding: chunked\r\n\r\n{chunked_empty}"
    );
    let ctx = "HTTP/1.0 with Transfer-Encoding";
    let out = exchange(&d, req.as_bytes(), ctx);
    assert_raw_4xx(&out, Answer::GuideOrBare400, ctx);
    // Broken chunked framing: a bad size line, a chunk longer than said,
    // a size beyond u64.
    for body in [
        "zz\r\n{}\r\n0\r\n\r\n".to_string(),
        format!("2\r\n{change}\r\n0\r\n\r\n"),
        "ffffffffffffffffff\r\n{}\r\n0\r\n\r\n".to_string(),
        "-1\r\n{}\r\n0\r\n\r\n".to_string(),
    ] {
        let req = format!(
            "{}Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n{body}",
            head
        );
        let ctx = format!("chunked body {body:?}");
        let out = exchange(&d, req.as_bytes(), &ctx);
        // The framing error surfaces while the daemon reads the body:
        // 400/40000 "unreadable".
        let resp = assert_raw_4xx(&out, Answer::Guide, &ctx);
        assert_error_msg(
            &resp.to_resp(),
            40000,
            "The value of body is invalid: unreadable.",
        );
    }
    assert_alive_and_unchanged(&d, &tok, &before, "Transfer-Encoding games");
}

#[test]
fn host_request_line_and_path_oddities_are_4xx_or_documented() {
    let d = Daemon::start_with_config(HEADER_TEST_CONFIG);
    let tok = d.login();
    let before = state(&d, &tok);
    let addr = d.addr.to_string();
    let room = Daemon::path("/system/room");
    let local_photo = format!("https://{addr}/static/picture/default_icon.jpg");

    // Host missing, or not a plausible host name: E5 (documented) serves
    // the request and builds URLs from the address the client reached,
    // never from the header. Two Host lines are no usable Host either.
    let absurd: Vec<Vec<u8>> = vec![
        b"".to_vec(),
        b"Host: evil.example/<script>\r\n".to_vec(),
        b"Host: evil.example?x=1\r\n".to_vec(),
        b"Host: user@evil.example\r\n".to_vec(),
        b"Host: a b\r\n".to_vec(),
        b"Host: \"quoted\"\r\n".to_vec(),
        b"Host: \xff\xfe\r\n".to_vec(),
        b"Host: \r\n".to_vec(),
        format!("Host: {}\r\n", "h".repeat(300)).into_bytes(),
        b"Host: evil.example\r\nHost: other.example\r\n".to_vec(),
        format!("Host: {addr}\r\nHost: evil.example\r\n").into_bytes(),
    ];
    for host in &absurd {
        let ctx = format!("GET {room} with {:?}", String::from_utf8_lossy(host));
        let mut req = format!("GET {room} HTTP/1.1\r\n").into_bytes();
        req.extend_from_slice(host);
        req.extend_from_slice(
            format!("Authorization: {tok}\r\nConnection: close\r\n\r\n").as_bytes(),
        );
        let out = exchange(&d, &req, &ctx);
        assert_eq!(
            responses(&out),
            1,
            "{ctx}: {:?}",
            String::from_utf8_lossy(&out)
        );
        let resp = parse_raw(&out);
        if resp.status == 200 {
            let v: Value = serde_json::from_slice(&resp.body).expect("room JSON");
            assert_eq!(
                v["photo"],
                local_photo.as_str(),
                "{ctx}: URL from the Host header"
            );
            assert!(
                !String::from_utf8_lossy(&resp.body).contains("evil"),
                "{ctx}: reflected"
            );
        } else {
            assert_raw_4xx(&out, Answer::GuideOrBare400, &ctx);
        }
    }
    // HTTP/1.0 without Host: served (E5), and the connection closes.
    for (req, want) in [
        ("GET /api/v2.0/ping HTTP/1.0\r\n\r\n".to_string(), 200),
        (
            format!("GET {room} HTTP/1.0\r\nAuthorization: {tok}\r\n\r\n"),
            200,
        ),
        ("GET /api/v2.0/video/osd HTTP/1.0\r\n\r\n".to_string(), 404),
    ] {
        let ctx = format!("{req:?}");
        let out = exchange(&d, req.as_bytes(), &ctx);
        let resp = parse_raw(&out);
        assert_eq!(
            resp.status,
            want,
            "{ctx}: {:?}",
            String::from_utf8_lossy(&out)
        );
        if want == 200 && req.contains("room") {
            let v: Value = serde_json::from_slice(&resp.body).expect("room JSON");
            assert_eq!(v["photo"], local_photo.as_str(), "{ctx}");
        }
        if want != 200 {
            assert_raw_4xx(&out, Answer::Guide, &ctx);
        }
    }
    assert_alive_and_unchanged(&d, &tok, &before, "Host oddities");

    // Request lines. Methods that are valid tokens reach the router (405
    // with Allow, or 404); anything the parser cannot read is hyper's bare
    // 400 (or, for the HTTP/2 preface, a closed connection).
    let line = |l: &str| format!("{l}\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    for (req, answer) in [
        (line("get /api/v2.0/ping HTTP/1.1"), Answer::Guide),
        (line("FOO /api/v2.0/ping HTTP/1.1"), Answer::Guide),
        (
            line("PROPFIND /api/v2.0/system/osd HTTP/1.1"),
            Answer::Guide,
        ),
        (line("TRACE /api/v2.0/ping HTTP/1.1"), Answer::Guide),
        (line("OPTIONS * HTTP/1.1"), Answer::Guide),
        (
            line(&format!("{} /api/v2.0/ping HTTP/1.1", "X".repeat(2000))),
            Answer::GuideOrBare400,
        ),
        (line("G@T /api/v2.0/ping HTTP/1.1"), Answer::GuideOrBare400),
        (line("GE(T /api/v2.0/ping HTTP/1.1"), Answer::GuideOrBare400),
        (line(" /api/v2.0/ping HTTP/1.1"), Answer::GuideOrBare400),
        (
            line("GET\x00 /api/v2.0/ping HTTP/1.1"),
            Answer::GuideOrBare400,
        ),
        (line("GET  /api/v2.0/ping HTTP/1.1"), Answer::GuideOrBare400),
        (line("GET /api/v2.0/ping HTTP/1.2"), Answer::GuideOrBare400),
        (line("GET /api/v2.0/ping HTTP/2.0"), Answer::GuideOrBare400),
        (line("GET /api/v2.0/ping HTTP/0.9"), Answer::GuideOrBare400),
        (line("GET /api/v2.0/ping http/1.1"), Answer::GuideOrBare400),
        (line("GET /api/v2.0/ping"), Answer::GuideOrBare400),
        (
            line("GET /api/v2.0/ping HTTP/1.1 extra"),
            Answer::GuideOrBare400,
        ),
        (line("GET api/v2.0/ping HTTP/1.1"), Answer::GuideOrBare400),
        (line("GET /api/v2.0/pi ng HTTP/1.1"), Answer::GuideOrBare400),
        (
            line("GET /api/v2.0/video/inputs/\x00 HTTP/1.1"),
            Answer::GuideOrBare400,
        ),
        (
            line("GET /api/v2.0/video\\inputs HTTP/1.1"),
            Answer::GuideOrBare400,
        ),
        (
            line("GET /api/v2.0/vid\u{e9}o HTTP/1.1"),
            Answer::GuideOrBare400,
        ),
    ] {
        let ctx = format!("{:?}", &req[..req.len().min(80)]);
        let out = exchange(&d, req.as_bytes(), &ctx);
        let resp = assert_raw_4xx(&out, answer, &ctx);
        assert_ne!(resp.status, 200, "{ctx}");
    }
    let ctx = "HTTP/2 preface";
    let out = exchange(&d, b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", ctx);
    if !out.is_empty() {
        assert_raw_4xx(&out, Answer::GuideOrBare400, ctx);
    }
    // A head that never ends: dropped after the header timeout (2 s here),
    // answered or not, never held open.
    let ctx = "unfinished head";
    let out = exchange(
        &d,
        format!("GET /api/v2.0/ping HTTP/1.1\r\nHost: {addr}\r\nX-Slow: 1\r\n").as_bytes(),
        ctx,
    );
    if !out.is_empty() {
        let resp = parse_raw(&out);
        assert!((400..500).contains(&resp.status), "{ctx}: {}", resp.status);
    }
    assert_alive_and_unchanged(&d, &tok, &before, "request lines");

    // Paths: invalid percent-encoding, NUL, dot segments and their encoded
    // forms outside /static. Nothing is decoded or normalised, so none of
    // them names another resource: 404/40400, or for an `{id}` route 40401
    // (401 first without credentials, E2).
    let id_routes = [
        "video/inputs/",
        "video/outputs/",
        "audio/inputs/",
        "system/participants/",
        "video/multiviews/",
        "static/thumbnails/",
    ];
    for path in [
        "/api/v2.0/pi%zzng",
        "/api/v2.0/ping%",
        "/api/v2.0/ping%2",
        "/api/v2.0/ping%00",
        "/api/v2.0/ping%0a",
        "/api/v2.0/%70ing",
        "/api/v2.0/video/inputs/%zz",
        "/api/v2.0/video/inputs/%",
        "/api/v2.0/video/inputs/%00",
        "/api/v2.0/video/inputs/0%00",
        "/api/v2.0/video/inputs/%ff%fe",
        "/api/v2.0/audio/inputs/STM1%00.json",
        "/api/v2.0/system/participants/%00",
        "/api/v2.0/../../etc/passwd",
        "/api/v2.0/system/../video/inputs",
        "/api/v2.0/system/./osd",
        "/api/v2.0/./ping",
        "/api/v2.0/ping/..",
        "/api/v2.0/ping/.",
        "/api/v2.0/%2e%2e/%2e%2e/etc/passwd",
        "/api/v2.0/system/%2e%2e/video/inputs",
        "/api/v2.0/video/inputs/..",
        "/api/v2.0/video/inputs/%2e%2e",
        "/api/v2.0/video/inputs/..%2f..%2fsystem%2fosd",
        "/api/v2.0/video/inputs/..%5c..%5csettings.db",
        "/api/v2.0/video/multiviews/0/../1",
        "/api/v2.0/video%2finputs",
        "/api/../api/v2.0/system/osd",
        "/api/v2.0/system/osd/..%2f..%2f..%2ftls-key.pem",
        "//api/v2.0/system/osd",
        "/api//v2.0/system/osd",
        "/../tls-key.pem",
        "/%2e%2e/settings.db",
        "/join/../tls-key.pem",
    ] {
        for auth in [Some(tok.as_str()), None] {
            let ctx = format!("GET {path} (credentials: {})", auth.is_some());
            let r = d.request("GET", path, auth, None);
            let (code, msg) = assert_guide_4xx(&r, &ctx);
            let id_route = id_routes.iter().any(|p| {
                path.strip_prefix("/api/v2.0/")
                    .or_else(|| path.strip_prefix('/'))
                    .and_then(|rest| rest.strip_prefix(p))
                    .is_some_and(|id| !id.is_empty() && !id.contains('/'))
            });
            match (code, auth.is_some()) {
                (40400, _) => {}
                (40401, true) if id_route => {}
                (40100, false) if id_route => {}
                _ => panic!("{ctx}: unexpected {code}: {msg}"),
            }
            assert!(
                !r.text().contains("PRIVATE KEY") && !r.text().contains("SQLite"),
                "{ctx}: leaked a file"
            );
        }
    }
    // Under /socket.io/ the Engine.IO layer answers with its own protocol
    // error (400 `{"code":"0","message":"Transport unknown"}`), not the
    // guide's table; a dot segment there must not reach the REST routes.
    for path in [
        "/socket.io/../api/v2.0/system/osd",
        "/socket.io/%2e%2e/api/v2.0/system/osd",
    ] {
        let r = d.get(path, &tok);
        assert_eq!(r.status, 400, "GET {path}: {}", r.text());
        assert!(
            !r.text().contains("multiviewLabel"),
            "GET {path}: {}",
            r.text()
        );
    }
    assert_alive_and_unchanged(&d, &tok, &before, "odd paths");
}

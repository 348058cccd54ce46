//! Fuzz harnesses of vp2730d, shared by the libFuzzer targets in
//! `fuzz_targets/` and by the replay test (`cargo test` in `fuzz/`), which
//! runs every input kept under `fuzz/regressions/<target>/`.
//!
//! Each harness panics when a property fails; a panic anywhere below (a
//! slice out of range, an overflow with debug assertions, an `unwrap`) is a
//! finding too.
//!
//! | harness | what it drives |
//! |---|---|
//! | [`router`] | `Router::lookup` (method + path → route, 404, 405, 501) |
//! | [`auth_header`] | `Auth::check` on the raw `Authorization` header |
//! | [`patch_bodies`] | `parse_body` + every resource's PATCH validation (one item, bulk, singletons), then GET → PATCH back |
//! | [`hal_protocol`] | the video board line protocol: request, status, notification, version, text and capture parsers |
//! | [`hal_uart_link`] | the UART driver's line reader and answer matching, against arbitrary board bytes |

use hyper::Method;
use serde_json::Value;
use std::net::{IpAddr, Ipv4Addr};
use std::sync::OnceLock;
use vp2730_model::{parse_body, ApiError, Obj, Profile};
use vp2730d::auth::Tier;
use vp2730d::resources::collection::{Collection, Singleton};
use vp2730d::resources::{bulk_entries, View};
use vp2730d::routes::{Lookup, Router};
use vp2730d::state::State;

// ---------------------------------------------------------------------------
// Routing.

/// `METHOD SP PATH`: the method (any token, extension methods included) and
/// the path as the router sees it.
pub fn router(data: &[u8]) {
    static ROUTER: OnceLock<Router> = OnceLock::new();
    let r = ROUTER.get_or_init(|| Router::new(true));
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let (m, path) = text.split_once(' ').unwrap_or(("GET", text));
    let Ok(method) = Method::from_bytes(m.as_bytes()) else {
        return;
    };
    let result = r.lookup(&method, path);
    // hyper hands the router origin-form paths (`/...`) and `*` only; the
    // router ignores whatever precedes the first `/`, so only the absence
    // of a panic is checked for other inputs.
    if !path.starts_with('/') {
        return;
    }
    match result {
        Lookup::Found(route, params) => {
            assert_eq!(
                route.method, method,
                "{path}: found a route of another method"
            );
            let holes = route.pattern.matches("{id}").count();
            assert_eq!(
                params.len(),
                holes,
                "{path}: {params:?} for {}",
                route.pattern
            );
            for p in &params {
                assert!(!p.is_empty() && !p.contains('/'), "{path}: parameter {p:?}");
            }
            // The route's own pattern, filled with the parameters, finds it again.
            let mut filled = route.pattern.to_string();
            for p in &params {
                filled = filled.replacen("{id}", p, 1);
            }
            match r.lookup(&method, &filled) {
                Lookup::Found(again, _) => assert_eq!(again.pattern, route.pattern, "{filled}"),
                _ => panic!("{path} matched {} but {filled} does not", route.pattern),
            }
        }
        Lookup::WrongMethod(allowed) => {
            assert!(!allowed.is_empty(), "{path}: 405 with no method allowed");
            assert!(
                !allowed.contains(&method),
                "{path}: 405 although {method} is allowed"
            );
        }
        Lookup::BadVersion => {
            assert!(path.starts_with("/api/"), "{path}: 501 outside /api/");
        }
        Lookup::NotFound => {}
    }
}

// ---------------------------------------------------------------------------
// Authorization header.

struct AuthFixture {
    rt: tokio::runtime::Runtime,
    auth: vp2730d::auth::Auth,
    room: vp2730d::resources::system_room::Room,
    token: String,
    _dir: tempfile::TempDir,
}

fn auth_fixture() -> &'static AuthFixture {
    static F: OnceLock<AuthFixture> = OnceLock::new();
    F.get_or_init(|| {
        use base64::Engine;
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        let dir = tempfile::tempdir().expect("temp dir");
        let db = dir.path().join("settings.db");
        let (auth, token) = rt.block_on(async {
            let opened = vp2730_store::Store::open(&db).await.expect("store");
            let policy = vp2730d::auth::AuthPolicy {
                idle_timeout: std::time::Duration::from_secs(3600),
                max_sessions_per_account: 8,
                max_failures: 5,
                failure_window: std::time::Duration::from_secs(60),
                lockout: std::time::Duration::from_secs(60),
                room_code_failures_per_minute: 30,
            };
            let auth = vp2730d::auth::Auth::init(opened.store, policy)
                .await
                .expect("auth");
            let enc = base64::engine::general_purpose::STANDARD.encode("administrator:password");
            let token = auth
                .login(&enc, IpAddr::V4(Ipv4Addr::LOCALHOST))
                .await
                .expect("login");
            (auth, token)
        });
        let profile = Profile::builtin().expect("profile");
        let mut room = State::defaults(&profile).room;
        room.verification = true;
        room.code = "2730".into();
        AuthFixture {
            rt,
            auth,
            room,
            token,
            _dir: dir,
        }
    })
}

/// The raw `Authorization` header. A first byte of `0x01` splices the live
/// credential into the rest (`<rest with @ replaced by the token>`), so
/// the accepting path is reached too.
///
/// Every input goes through the pure parser (`parse_authorization`), whose
/// result is checked against an independent reading of the header; then
/// through `Auth::check` itself, except `Basic` headers that decode to a
/// `user:password` pair, each of which would cost an argon2 verification.
pub fn auth_header(data: &[u8]) {
    let f = auth_fixture();
    let header: Vec<u8> = match data.split_first() {
        Some((1, rest)) => {
            let mut out = Vec::new();
            for &b in rest {
                if b == b'@' {
                    out.extend_from_slice(f.token.as_bytes());
                } else {
                    out.push(b);
                }
            }
            out
        }
        _ => data.to_vec(),
    };
    if !parsed_as_written(&header) {
        return;
    }
    // Each input from its own address, so lockouts do not hide the parser.
    let peer = IpAddr::V4(Ipv4Addr::from(0x0a00_0000 | (crc(&header) & 0x00ff_ffff)));
    let res = f.rt.block_on(f.auth.check(Some(&header), &f.room, peer));
    if let Ok(c) = &res {
        match c.tier {
            Tier::Admin => {
                let tok = c
                    .credential
                    .as_deref()
                    .expect("admin by token has the token");
                assert_eq!(tok, f.token, "admitted with a token that was never issued");
            }
            Tier::Room => {}
            Tier::Public => panic!("a header authenticated as Public"),
        }
    }
}

/// Checks `parse_authorization` against the forms of docs/spec-notes.md
/// (A1-A3), read here independently; returns whether `Auth::check` may be
/// run on the header cheaply (no argon2 verification).
fn parsed_as_written(header: &[u8]) -> bool {
    use base64::Engine;
    use vp2730d::auth::{parse_authorization, Presented};
    let parsed = parse_authorization(header);
    let Ok(text) = std::str::from_utf8(header) else {
        assert_eq!(parsed, Err(ApiError::Unauthorized), "non-UTF-8 header");
        return true;
    };
    let t = text.trim();
    let lower = t.to_ascii_lowercase();
    let parsed = parsed.expect("a UTF-8 header always parses to a form");
    if lower.starts_with("basic ") {
        let expect = base64::engine::general_purpose::STANDARD
            .decode(t[6..].trim())
            .ok()
            .and_then(|b| String::from_utf8(b).ok())
            .and_then(|s| {
                s.split_once(':')
                    .map(|(u, p)| (u.to_string(), p.to_string()))
            });
        let cheap = expect.is_none();
        assert_eq!(parsed, Presented::Basic(expect), "{t:?}");
        return cheap;
    }
    if lower.starts_with("roomcode:") {
        assert_eq!(parsed, Presented::RoomCode(t[9..].trim()), "{t:?}");
        return true;
    }
    let token = if lower.starts_with("bearer ") {
        t[7..].trim()
    } else {
        t
    };
    assert_eq!(parsed, Presented::Token(token), "{t:?}");
    true
}

fn crc(b: &[u8]) -> u32 {
    b.iter().fold(0x811c_9dc5u32, |h, &x| {
        (h ^ x as u32).wrapping_mul(0x0100_0193)
    })
}

// ---------------------------------------------------------------------------
// PATCH bodies.

struct Patches {
    profile: Profile,
    defaults: State,
}

fn patches() -> &'static Patches {
    static P: OnceLock<Patches> = OnceLock::new();
    P.get_or_init(|| {
        let profile = Profile::builtin().expect("built-in profile");
        let defaults = State::defaults(&profile);
        Patches { profile, defaults }
    })
}

const BASE: &str = "https://vp2730.fuzz";

fn view<'a>(p: &'a Profile, s: &'a State) -> View<'a> {
    View {
        profile: p,
        state: s,
        base: BASE,
        tier: Tier::Admin,
    }
}

/// Checks an error is one a PATCH may answer with (400 family or 404xx),
/// never a 5xx from validation.
fn refusal(e: &ApiError, what: &str) {
    let code = e.code();
    assert!(
        (40000..=40499).contains(&code),
        "{what}: validation answered {code} ({e})"
    );
}

/// Validates `body` for item `i` exactly as `PATCH /<list>/<id>` does;
/// applies it to `s` when accepted.
fn patch_item<C: Collection>(
    p: &Profile,
    s: &mut State,
    i: usize,
    body: &Value,
    path: &str,
) -> Result<(), ApiError> {
    let next = {
        let v = view(p, s);
        let shown = C::render(&v, i);
        let mut obj = Obj::new(body, path)?;
        obj.read_only("id", &shown["id"])?;
        C::patch(p, i, obj, &shown, &C::items(s)[i])?
    };
    let cur = C::items(s)[i].clone();
    let _ = C::commands(p, i, Some(&cur), &next);
    let _ = C::commands(p, i, Some(&next), &cur);
    let _ = C::commands(p, i, None, &next);
    C::items_mut(s)[i] = next;
    Ok(())
}

/// One item or the bulk form of collection `C`, then GET → PATCH back.
fn collection<C: Collection>(p: &Profile, s: &mut State, sel: u8, body: &Value) {
    let n = C::ids(p).len();
    let what = std::any::type_name::<C>();
    if sel & 0x80 != 0 {
        // Bulk: all or nothing.
        let before = s.clone();
        let mut next = s.clone();
        let res = bulk_entries(body, C::LIST, &C::ids(p)).and_then(|entries| {
            for (i, entry, path) in entries {
                patch_item::<C>(p, &mut next, i, entry, &path)?;
            }
            Ok(())
        });
        match res {
            Ok(()) => *s = next,
            Err(e) => {
                refusal(&e, what);
                assert_eq!(*s, before);
            }
        }
    } else {
        let i = sel as usize % n;
        if let Err(e) = patch_item::<C>(p, s, i, body, "") {
            refusal(&e, what);
        }
    }
    // What a GET shows can always be PATCHed back, and changes nothing.
    for i in 0..n {
        let shown = C::render(&view(p, s), i);
        let before = C::items(s)[i].clone();
        if let Err(e) = patch_item::<C>(p, s, i, &shown, "") {
            panic!("{what}[{i}]: PATCH of its own GET {shown} refused: {e}");
        }
        assert!(
            C::items(s)[i] == before,
            "{what}[{i}]: PATCH of its own GET {shown} changed the item"
        );
    }
    // The list renders, and is valid JSON text.
    let list = vp2730d::resources::collection::render_list::<C>(&view(p, s));
    serde_json::to_string(&list).expect("list serialises");
}

fn singleton<S: Singleton>(p: &Profile, s: &mut State, body: &Value) {
    let what = std::any::type_name::<S>();
    let patch = |s: &mut State, body: &Value| -> Result<(), ApiError> {
        let next = {
            let v = view(p, s);
            let shown = S::render(&v);
            S::patch(&v, Obj::new(body, "")?, &shown)?
        };
        let cur = S::item(s).clone();
        let _ = S::commands(p, Some(&cur), &next);
        let _ = S::commands(p, None, &next);
        *S::item_mut(s) = next;
        Ok(())
    };
    if let Err(e) = patch(s, body) {
        refusal(&e, what);
    }
    let shown = S::render(&view(p, s));
    let before = S::item(s).clone();
    if let Err(e) = patch(s, &shown) {
        panic!("{what}: PATCH of its own GET {shown} refused: {e}");
    }
    assert!(
        *S::item(s) == before,
        "{what}: PATCH of its own GET {shown} changed it"
    );
}

/// Up to four PATCHes applied in turn to one state, separated by the byte
/// `0xFF`. Each record: a resource selector byte (low nibble: which
/// resource; bit 7: bulk form; the rest picks the item), then the body.
pub fn patch_bodies(data: &[u8]) {
    use vp2730d::resources::*;
    let fixture = patches();
    let p = &fixture.profile;
    let mut s = fixture.defaults.clone();
    for record in data.split(|&b| b == 0xff).take(4) {
        let Some((&sel, body)) = record.split_first() else {
            continue;
        };
        let body = match parse_body(body) {
            Ok(v) => v,
            Err(e) => {
                assert!(
                    matches!(e.code(), 40000 | 40004),
                    "parse_body answered {}",
                    e.code()
                );
                continue;
            }
        };
        // The parsed body serialises back to JSON that parses the same (up
        // to the last bit of long decimals: serde_json is built without
        // `float_roundtrip`, so 32 digits may come back one ulp off).
        let text = serde_json::to_vec(&body).expect("serialises");
        let again = parse_body(&text).expect("reparses");
        assert!(same_json(&again, &body), "{body} reparses as {again}");
        // Bit 7: bulk form; bits 4-6: which item.
        let item = (sel & 0x80) | ((sel >> 4) & 0x07);
        match sel & 0x0f {
            0 => collection::<audio_ports::AudioInputs>(p, &mut s, item, &body),
            1 => collection::<audio_ports::AudioOutputs>(p, &mut s, item, &body),
            2 => collection::<multiviews::Multiviews>(p, &mut s, item, &body),
            3 => collection::<video_inputs::VideoInputs>(p, &mut s, item, &body),
            4 => collection::<video_outputs::VideoOutputs>(p, &mut s, item, &body),
            5 => collection::<video_connections::VideoConnections>(p, &mut s, item, &body),
            6 => singleton::<system_osd::SystemOsd>(p, &mut s, &body),
            7 => singleton::<system_room::SystemRoom>(p, &mut s, &body),
            8 => singleton::<video_configs::VideoConfigs>(p, &mut s, &body),
            _ => {}
        }
    }
    // Every event payload renders from the state reached.
    for t in vp2730d::events::Topic::ALL {
        if let Some(v) = render_topic_for(t, &view(p, &s)) {
            serde_json::to_string(&v).expect("payload serialises");
        }
    }
}

/// JSON equality with numbers compared to within a few ulps.
fn same_json(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => match (x.as_f64(), y.as_f64()) {
            (Some(p), Some(q)) => {
                p == q || (p - q).abs() <= 4.0 * f64::EPSILON * p.abs().max(q.abs())
            }
            _ => x == y,
        },
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

// ---------------------------------------------------------------------------
// HAL: video board line protocol.

/// One board or host line (CR LF stripped), through every parser of
/// `vp2730_hal::protocol`; whatever parses re-encodes to a line that parses
/// to the same value. The line is also split into a capture answer (header
/// + data lines at `|`).
pub fn hal_protocol(data: &[u8]) {
    use vp2730_hal::protocol::*;
    let echo = echo_of(data);
    assert!(
        !echo.starts_with(NOTIFY) && echo.bytes().all(|b| (0x20..=0x7e).contains(&b)),
        "echo {echo:?}"
    );
    assert_eq!(echo.len(), data.len());
    let Ok(line) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(r) = Request::parse(line) {
        let l = r.encode();
        assert_eq!(Request::parse(&l).as_ref(), Ok(&r), "{line:?} -> {l:?}");
        if let Request::Set(cmd) = &r {
            assert_eq!(encode_command(cmd), l);
        }
    }
    if let Ok(r) = Report::parse(line) {
        let l = r.encode();
        assert_eq!(Report::parse(&l).as_ref(), Ok(&r), "{line:?} -> {l:?}");
        let _ = r.event();
    }
    if let Ok(n) = Notification::parse(line) {
        let l = n.encode();
        assert!(l.starts_with(NOTIFY), "{l:?}");
        // A boot banner with an unreadable version re-encodes with empty
        // fields, which is still a boot banner.
        match (&n, Notification::parse(&l)) {
            (Notification::Boot(_), Ok(Notification::Boot(_))) => {}
            (_, again) => assert_eq!(again.as_ref(), Ok(&n), "{line:?} -> {l:?}"),
        }
        let _ = n.event();
    }
    if let Ok(v) = Version::parse(line) {
        let l = v.encode();
        assert_eq!(Version::parse(&l).as_ref(), Ok(&v), "{line:?} -> {l:?}");
    }
    if let Ok(t) = decode_text(line) {
        // Escaping a byte that needs none (`%74` for `t`) is tolerated.
        assert_eq!(decode_text(&encode_text(&t)).as_deref(), Ok(t.as_str()));
    }
    let text = encode_text(line);
    assert_eq!(decode_text(&text).as_deref(), Ok(line));
    let lines: Vec<String> = line.split('|').map(str::to_string).collect();
    if let Ok(image) = decode_capture(&lines) {
        // The header's checksum is read case-insensitively; what we write
        // reads back.
        assert_eq!(decode_capture(&encode_capture(&image)), Ok(image));
    }
}

// ---------------------------------------------------------------------------
// HAL: the UART driver against an arbitrary board.

/// The board side of the link sends `data` (in chunks cut at `0x00` bytes,
/// each after a short pause) while the host asks for the status, the
/// version, a setting and a capture; every call must end (timeouts run on
/// tokio's paused clock) with a value or an error, never a panic or a hang.
pub fn hal_uart_link(data: &[u8]) {
    use tokio::io::AsyncWriteExt;
    use vp2730_hal::{Capture, UartConfig, UartVideoBoard, VideoBoard, VideoCommand};
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .start_paused(true)
        .build()
        .expect("runtime");
    rt.block_on(async {
        let (host, mut board) = tokio::io::duplex(4096);
        let link = UartVideoBoard::new(host, UartConfig::default());
        let mut events = link.subscribe();
        let chunks: Vec<Vec<u8>> = data.split(|&b| b == 0).map(<[u8]>::to_vec).collect();
        let feeder = tokio::spawn(async move {
            let mut sink = [0u8; 4096];
            for c in chunks {
                tokio::time::sleep(std::time::Duration::from_millis(7)).await;
                if board.write_all(&c).await.is_err() {
                    return;
                }
                // Drain what the host wrote so it never blocks.
                let _ = tokio::time::timeout(
                    std::time::Duration::from_millis(1),
                    tokio::io::AsyncReadExt::read(&mut board, &mut sink),
                )
                .await;
            }
            // Keep the link open, silent, until the host gives up.
            tokio::time::sleep(std::time::Duration::from_secs(30)).await;
        });
        let bound = std::time::Duration::from_secs(20);
        let calls = async {
            let _ = link.status().await;
            let _ = link.version().await;
            let _ = link
                .apply(&VideoCommand::Route {
                    output: 1,
                    input: Some(2),
                })
                .await;
            let _ = link.capture(Capture::Input(1)).await;
        };
        tokio::time::timeout(bound, calls)
            .await
            .expect("a UART call did not end within its timeouts");
        while events.try_recv().is_ok() {}
        feeder.abort();
    });
}

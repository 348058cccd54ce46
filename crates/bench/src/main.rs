//! `vp2730-bench`: measures the `vp2730d` release binary on the simulated
//! device and writes `docs/benchmarks.md`. Run through `scripts/bench.sh`,
//! which builds both binaries first.
//!
//! ```text
//! vp2730-bench [--daemon target/release/vp2730d] [--out docs/benchmarks.md]
//!              [--duration 5] [--quick] [--work-dir target/bench]
//!              [--aarch64 target/aarch64-unknown-linux-gnu/release/vp2730d]
//! vp2730-bench hello-server [ADDR]     # the hello-world ceiling (internal)
//! ```
//!
//! Everything runs on loopback, every loop is bounded in count and time,
//! and the whole run takes about two minutes with the default 5 s points.

mod hello;
mod http;
mod proc;
mod report;
mod sio;
mod stats;
mod sys;
mod tls;

use bytes::Bytes;
use hyper::Method;
use report::{EventRound, GetPoint, Results, Startup};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::mpsc;

/// Command-line options.
struct Opts {
    daemon: PathBuf,
    aarch64: PathBuf,
    out: PathBuf,
    work_dir: PathBuf,
    duration: Duration,
    quick: bool,
}

impl Opts {
    fn parse(args: &[String]) -> Result<Opts, String> {
        let mut o = Opts {
            daemon: "target/release/vp2730d".into(),
            aarch64: "target/aarch64-unknown-linux-gnu/release/vp2730d".into(),
            out: "docs/benchmarks.md".into(),
            work_dir: "target/bench".into(),
            duration: Duration::from_secs(5),
            quick: false,
        };
        let mut it = args.iter();
        while let Some(a) = it.next() {
            let mut val = || it.next().cloned().ok_or(format!("{a} needs a value"));
            match a.as_str() {
                "--daemon" => o.daemon = val()?.into(),
                "--aarch64" => o.aarch64 = val()?.into(),
                "--out" => o.out = val()?.into(),
                "--work-dir" => o.work_dir = val()?.into(),
                "--duration" => {
                    let s: f64 = val()?.parse().map_err(|e| format!("--duration: {e}"))?;
                    if !(0.2..=60.0).contains(&s) {
                        return Err("--duration must be within 0.2..=60 seconds".into());
                    }
                    o.duration = Duration::from_secs_f64(s);
                }
                "--quick" => o.quick = true,
                "-h" | "--help" => return Err(USAGE.into()),
                other => return Err(format!("unknown argument {other:?}\n{USAGE}")),
            }
        }
        if o.quick {
            o.duration = o.duration.min(Duration::from_secs(1));
        }
        Ok(o)
    }
}

const USAGE: &str = "usage: vp2730-bench [--daemon PATH] [--aarch64 PATH] [--out FILE] \
[--work-dir DIR] [--duration SECS] [--quick]";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("hello-server") {
        return hello::serve(args.get(1).map(String::as_str).unwrap_or("127.0.0.1:0"));
    }
    let opts = match Opts::parse(&args) {
        Ok(o) => o,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(2);
        }
    };
    let nofile = sys::raise_nofile();
    if nofile < 4096 {
        eprintln!("warning: RLIMIT_NOFILE is {nofile}; 1000 sockets + 256 connections may not fit");
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    // The whole run is bounded: a wedged phase ends the benchmark.
    let limit = Duration::from_secs(600);
    match rt.block_on(async { tokio::time::timeout(limit, bench(&opts)).await }) {
        Ok(Ok(results)) => {
            let md = report::render(&results, std::fs::read_to_string(&opts.out).ok().as_deref());
            if let Err(e) = std::fs::write(&opts.out, md) {
                eprintln!("cannot write {}: {e}", opts.out.display());
                return ExitCode::FAILURE;
            }
            println!("== wrote {}", opts.out.display());
            for line in report::summary(&results) {
                println!("{line}");
            }
            ExitCode::SUCCESS
        }
        Ok(Err(e)) => {
            eprintln!("benchmark failed: {e}");
            ExitCode::FAILURE
        }
        Err(_) => {
            eprintln!("benchmark did not finish within {limit:?}");
            ExitCode::FAILURE
        }
    }
}

fn say(msg: impl AsRef<str>) {
    println!("-- {}", msg.as_ref());
}

/// Logs in; returns the credential.
async fn login(conn: &mut http::Conn) -> Result<String, String> {
    use base64::Engine;
    let auth = base64::engine::general_purpose::STANDARD.encode("administrator:password");
    let body = Bytes::from(format!("{{\"authorization\":\"{auth}\"}}"));
    let a = conn
        .send(&Method::POST, "/api/v2.0/auth/tokens", None, Some(body))
        .await?;
    if a.status != 200 {
        return Err(format!("login: status {}", a.status));
    }
    let v: serde_json::Value = serde_json::from_slice(&a.body).map_err(|e| e.to_string())?;
    v["credential"]
        .as_str()
        .map(str::to_string)
        .ok_or_else(|| format!("login: no credential in {v}"))
}

/// Current volume of audio output ALL.
async fn volume_all(conn: &mut http::Conn, tok: &str) -> Result<i64, String> {
    let a = conn
        .send(&Method::GET, "/api/v2.0/audio/outputs/ALL", Some(tok), None)
        .await?;
    let v: serde_json::Value = serde_json::from_slice(&a.body).map_err(|e| e.to_string())?;
    v["volume"]
        .as_i64()
        .ok_or_else(|| format!("no volume in {v}"))
}

async fn patch_volume(conn: &mut http::Conn, tok: &str, v: i64) -> Result<(), String> {
    let a = conn
        .send(
            &Method::PATCH,
            "/api/v2.0/audio/outputs/ALL",
            Some(tok),
            Some(Bytes::from(format!("{{\"volume\":{v}}}"))),
        )
        .await?;
    if a.status == 204 {
        Ok(())
    } else {
        Err(format!(
            "PATCH volume {v}: status {} {}",
            a.status,
            String::from_utf8_lossy(&a.body)
        ))
    }
}

/// Waits until `n` receipts with volume `v` arrived (or `limit` passed);
/// returns their arrival times. Receipts of other volumes are dropped.
async fn collect_receipts(
    rx: &mut mpsc::UnboundedReceiver<sio::Receipt>,
    v: i64,
    n: usize,
    limit: Duration,
) -> Vec<Instant> {
    let deadline = tokio::time::Instant::now() + limit;
    let mut out = Vec::with_capacity(n);
    while out.len() < n {
        match tokio::time::timeout_at(deadline, rx.recv()).await {
            Ok(Some(r)) if r.volume == v => out.push(r.at),
            Ok(Some(_)) => {}
            Ok(None) | Err(_) => break,
        }
    }
    out
}

/// One PATCH-to-event round with `n` connected clients and `patches`
/// sequential PATCHes. With `extra_http`, also opens that many keep-alive
/// HTTP connections afterwards and reads the daemon's RSS with everything
/// open.
async fn event_round(
    d: &proc::Server,
    tok: &str,
    n: usize,
    patches: usize,
    extra_http: usize,
) -> Result<(EventRound, Option<u64>), String> {
    let tls_ws = tls::connector(&[]);
    let tls_http = tls::connector(&[b"http/1.1"]);
    let (tx, mut rx) = mpsc::unbounded_channel::<sio::Receipt>();
    let t0 = Instant::now();
    let mut clients = sio::Client::connect_many(d.addr, &tls_ws, tok, n, tx.clone()).await?;
    let connect_time = t0.elapsed();
    // Sockets the daemon closes right after they connected (see the report)
    // are counted and replaced, a bounded number of times.
    let mut dropped_early = 0usize;
    let mut first_drop = None;
    for _ in 0..5 {
        tokio::time::sleep(Duration::from_millis(300)).await;
        let mut replaced = 0;
        for c in clients.iter_mut() {
            if let Some(why) = c.closed() {
                first_drop.get_or_insert(why);
                *c = sio::Client::connect(d.addr, &tls_ws, tok, tx.clone()).await?;
                replaced += 1;
            }
        }
        dropped_early += replaced;
        if replaced == 0 {
            break;
        }
    }
    drop(tx);
    let mut conn = http::Conn::open(d.addr, &tls_http).await?;
    // A baseline value below the ones measured, confirmed by every client:
    // after it, each client has seen its full initial state.
    let base = if volume_all(&mut conn, tok).await? == 5 {
        6
    } else {
        5
    };
    patch_volume(&mut conn, tok, base).await?;
    let got = collect_receipts(&mut rx, base, n, Duration::from_secs(30)).await;
    if got.len() < n {
        let closed: Vec<String> = clients.iter().filter_map(|c| c.closed()).collect();
        return Err(format!(
            "{n} clients: only {} saw the baseline event; {} sockets were closed (first: {:?})",
            got.len(),
            closed.len(),
            closed.first()
        ));
    }
    let mut from_resp = Vec::with_capacity(n * patches);
    let mut from_send = Vec::with_capacity(n * patches);
    let mut early = 0usize;
    let mut missing = 0usize;
    let mut patch_lat = Vec::with_capacity(patches);
    for i in 0..patches {
        let v = 10 + (i % 80) as i64;
        let sent = Instant::now();
        patch_volume(&mut conn, tok, v).await?;
        let answered = Instant::now();
        patch_lat.push(answered - sent);
        let arrivals = collect_receipts(&mut rx, v, n, Duration::from_secs(10)).await;
        missing += n - arrivals.len();
        for at in arrivals {
            if at < answered {
                early += 1;
            }
            from_resp.push(at.saturating_duration_since(answered));
            from_send.push(at.saturating_duration_since(sent));
        }
    }
    let mut rss = None;
    if extra_http > 0 {
        let tls = tls::connector(&[b"http/1.1"]);
        let mut conns = http::Conn::open_many(d.addr, &tls, extra_http).await?;
        for c in conns.iter_mut() {
            let a = c
                .send(&Method::GET, "/api/v2.0/system/info", Some(tok), None)
                .await?;
            if a.status != 200 {
                return Err(format!("GET system/info: status {}", a.status));
            }
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
        rss = Some(d.rss_kib());
        drop(conns);
    }
    let dropped_late = clients.iter().filter(|c| c.closed().is_some()).count();
    drop(clients);
    Ok((
        EventRound {
            dropped_early,
            first_drop,
            dropped_late,
            clients: n,
            patches,
            connect_time,
            from_resp: stats::Samples::new(from_resp),
            from_send: stats::Samples::new(from_send),
            patch: stats::Samples::new(patch_lat),
            early,
            missing,
        },
        rss,
    ))
}

async fn get_point(
    addr: std::net::SocketAddr,
    tok: Option<&str>,
    path: &str,
    conns: usize,
    duration: Duration,
) -> Result<http::LoadResult, String> {
    let tls = tls::connector(&[b"http/1.1"]);
    let r = http::run(
        addr,
        &tls,
        tok.map(str::to_string),
        Arc::new(http::Get(path.to_string())),
        conns,
        duration,
    )
    .await?;
    say(format!(
        "GET {path} x{conns}: {:.0} req/s, p50 {} ms, p99 {} ms, errors {}",
        r.rps,
        stats::ms(r.latency.p50()),
        stats::ms(r.latency.p99()),
        r.errors
    ));
    Ok(r)
}

async fn bench(o: &Opts) -> Result<Results, String> {
    std::fs::create_dir_all(&o.work_dir).map_err(|e| e.to_string())?;
    // Data on the same file system as the checkout (not a tmpfs), so that
    // fsync costs what it costs.
    let tmp = tempfile::Builder::new()
        .prefix("run-")
        .tempdir_in(&o.work_dir)
        .map_err(|e| e.to_string())?;
    match run_all(o, &tmp).await {
        Ok(r) => Ok(r),
        Err(e) => {
            // Keep the daemons' logs for diagnosis.
            let kept = tmp.keep();
            Err(format!("{e} (logs in {})", kept.display()))
        }
    }
}

async fn run_all(o: &Opts, tmp: &tempfile::TempDir) -> Result<Results, String> {
    let machine = sys::Machine::probe();
    let config = tmp.path().join("bench.toml");
    std::fs::write(&config, "[server]\nmax_connections = 3000\n").map_err(|e| e.to_string())?;
    let daemon_cmd = |name: &str| proc::DaemonCmd {
        binary: o.daemon.clone(),
        data_dir: tmp.path().join(name),
        config: config.clone(),
        stderr: tmp.path().join(format!("{name}.stderr.log")),
    };
    if !o.daemon.exists() {
        return Err(format!(
            "{} not found: build it with `cargo build --release` (scripts/bench.sh does)",
            o.daemon.display()
        ));
    }

    // Sizes.
    let mut sizes = Vec::new();
    if let Some(s) = sys::binary_size(
        &o.daemon,
        "x86_64-unknown-linux-gnu",
        &["strip"],
        tmp.path(),
    ) {
        sizes.push(s);
    }
    if let Some(s) = sys::binary_size(
        &o.aarch64,
        "aarch64-unknown-linux-gnu",
        &["aarch64-linux-gnu-strip", "llvm-strip"],
        tmp.path(),
    ) {
        sizes.push(s);
    }

    // Start-up: the first boot on an empty data dir, then warm boots.
    say("start-up");
    let boot = daemon_cmd("startup");
    let first = boot.start();
    let cold = first.startup;
    first.stop();
    let runs = if o.quick { 3 } else { 7 };
    let mut warm = Vec::with_capacity(runs);
    let mut clean_exits = 0;
    for _ in 0..runs {
        let s = boot.start();
        warm.push(s.startup);
        if s.stop() {
            clean_exits += 1;
        }
    }
    let startup = Startup {
        cold,
        warm: stats::Samples::new(warm),
        runs,
        clean_exits,
    };
    say(format!(
        "start-up: first boot {} ms, warm median {} ms",
        stats::ms(startup.cold),
        stats::ms(startup.warm.p50())
    ));

    // The daemon under load, and the ceiling.
    let main = daemon_cmd("main");
    let d = main.start();
    tokio::time::sleep(Duration::from_secs(1)).await;
    let rss_idle = d.rss_kib();
    let rss_idle_largest_anon = proc::largest_anon_rss_kib(d.pid());
    let hello = proc::start_hello(&tmp.path().join("hello.stderr.log"));
    let tls_http = tls::connector(&[b"http/1.1"]);
    let mut admin = http::Conn::open(d.addr, &tls_http).await?;
    let tok = login(&mut admin).await?;

    let dur = o.duration;
    let conn_points: &[usize] = &[1, 64, 256];
    let mut gets = Vec::new();
    // Each point twice, interleaved, keeping the better of the two: a burst
    // of other work on the machine then spoils one measurement, not the
    // figure.
    let best = |a: http::LoadResult, b: http::LoadResult| if b.rps > a.rps { b } else { a };
    for &c in conn_points {
        let mut ceiling = get_point(hello.addr, None, "/", c, dur).await?;
        let mut info = get_point(d.addr, Some(&tok), "/api/v2.0/system/info", c, dur).await?;
        let mut list = get_point(d.addr, Some(&tok), "/api/v2.0/video/outputs", c, dur).await?;
        if !o.quick {
            list = best(
                list,
                get_point(d.addr, Some(&tok), "/api/v2.0/video/outputs", c, dur).await?,
            );
            info = best(
                info,
                get_point(d.addr, Some(&tok), "/api/v2.0/system/info", c, dur).await?,
            );
            ceiling = best(ceiling, get_point(hello.addr, None, "/", c, dur).await?);
        }
        gets.push(GetPoint {
            conns: c,
            ceiling,
            info,
            list,
        });
    }
    // Where the time goes: cheaper and smaller answers at 64 connections.
    let mut breakdown = Vec::new();
    for (path, auth) in [
        ("/api/v2.0/ping", None),
        ("/api/v2.0/video/outputs/0", Some(tok.as_str())),
        ("/api/v2.0/video/connections", Some(tok.as_str())),
    ] {
        let r = get_point(d.addr, auth, path, 64, dur).await?;
        breakdown.push((path.to_string(), r));
    }
    hello.stop();

    // Durable writes.
    let mut patches = Vec::new();
    for &c in &[1usize, 16] {
        let r = http::run(
            d.addr,
            &tls_http,
            Some(tok.clone()),
            Arc::new(http::PatchVolume),
            c,
            dur,
        )
        .await?;
        say(format!(
            "PATCH x{c}: {:.0} writes/s, p50 {} ms, p99 {} ms, errors {}",
            r.rps,
            stats::ms(r.latency.p50()),
            stats::ms(r.latency.p99()),
            r.errors
        ));
        patches.push(r);
    }

    // PATCH to event.
    let rounds_spec: &[(usize, usize)] = if o.quick {
        &[(1, 20), (100, 10), (1000, 5)]
    } else {
        &[(1, 200), (100, 100), (1000, 40)]
    };
    let mut rounds = Vec::new();
    let mut rss_loaded = None;
    for &(n, p) in rounds_spec {
        let extra = if n == 1000 { 256 } else { 0 };
        let (r, rss) = event_round(&d, &tok, n, p, extra).await?;
        say(format!(
            "events x{n}: from 204 p50 {} ms p99 {} ms max {} ms; missing {}",
            stats::ms(r.from_resp.p50()),
            stats::ms(r.from_resp.p99()),
            stats::ms(r.from_resp.max()),
            r.missing
        ));
        rounds.push(r);
        if rss.is_some() {
            rss_loaded = rss;
        }
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    let rss_after = d.rss_kib();
    // Socket churn: does memory come back, or grow with each generation?
    let mut rss_churn = Vec::new();
    let churn = if o.quick { 1 } else { 3 };
    for _ in 0..churn {
        let (tx, _rx) = mpsc::unbounded_channel();
        let tls_ws = tls::connector(&[]);
        let clients = sio::Client::connect_many(d.addr, &tls_ws, &tok, 1000, tx).await?;
        tokio::time::sleep(Duration::from_millis(300)).await;
        drop(clients);
        tokio::time::sleep(Duration::from_secs(2)).await;
        rss_churn.push(d.rss_kib());
    }
    say(format!("RSS after socket churn: {rss_churn:?} KiB"));
    drop(admin);
    let main_clean_exit = d.stop();

    // The cost of the access log: one list GET point with RUST_LOG=warn.
    let q = daemon_cmd("quiet").start_with_log("warn");
    let mut qconn = http::Conn::open(q.addr, &tls_http).await?;
    let qtok = login(&mut qconn).await?;
    let quiet = get_point(q.addr, Some(&qtok), "/api/v2.0/video/outputs", 64, dur).await?;
    drop(qconn);
    q.stop();

    Ok(Results {
        machine,
        duration: dur,
        quick: o.quick,
        sizes,
        startup,
        rss_idle,
        rss_idle_largest_anon,
        rss_loaded,
        rss_after,
        rss_churn,
        gets,
        breakdown,
        patches,
        rounds,
        quiet,
        main_clean_exit,
    })
}

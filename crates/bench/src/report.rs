//! The figures of one run and their Markdown report (`docs/benchmarks.md`).

use crate::http::LoadResult;
use crate::stats::{ms, Samples};
use crate::sys::{BinarySize, Machine};
use std::fmt::Write as _;
use std::time::Duration;

/// Start-up times.
pub struct Startup {
    /// First boot on an empty data dir (certificate, database, account).
    pub cold: Duration,
    /// Later boots on the same data dir.
    pub warm: Samples,
    /// Number of warm boots.
    pub runs: usize,
    /// Warm boots that exited cleanly on SIGTERM.
    pub clean_exits: usize,
}

/// One GET load point: the ceiling and the two daemon endpoints at the
/// same connection count.
pub struct GetPoint {
    /// Connections.
    pub conns: usize,
    /// Hello-world server.
    pub ceiling: LoadResult,
    /// `GET /api/v2.0/system/info`.
    pub info: LoadResult,
    /// `GET /api/v2.0/video/outputs`.
    pub list: LoadResult,
}

/// One PATCH-to-event round.
pub struct EventRound {
    /// Connected Socket.IO clients.
    pub clients: usize,
    /// Sequential PATCHes measured.
    pub patches: usize,
    /// Time to connect and authenticate all clients.
    pub connect_time: Duration,
    /// Event arrival minus the 204's arrival (0 when the event came first).
    pub from_resp: Samples,
    /// Event arrival minus the moment the PATCH was sent.
    pub from_send: Samples,
    /// PATCH latency during the round.
    pub patch: Samples,
    /// Events that arrived before the 204.
    pub early: usize,
    /// Events that never arrived (within 10 s).
    pub missing: usize,
    /// Sockets the daemon closed within ~300 ms of connecting (replaced).
    pub dropped_early: usize,
    /// Why the first of them was closed, as the client saw it.
    pub first_drop: Option<String>,
    /// Sockets closed during the measured patches.
    pub dropped_late: usize,
}

/// Everything one run measured.
pub struct Results {
    /// Where it ran.
    pub machine: Machine,
    /// Length of each load point.
    pub duration: Duration,
    /// `--quick` (short points, few patches): not for the record.
    pub quick: bool,
    /// Release binaries.
    pub sizes: Vec<BinarySize>,
    /// Start-up times.
    pub startup: Startup,
    /// VmRSS KiB one second after start, before any request.
    pub rss_idle: u64,
    /// Of which the largest anonymous mapping, KiB.
    pub rss_idle_largest_anon: u64,
    /// VmRSS KiB with 1000 sockets and 256 keep-alive connections open.
    pub rss_loaded: Option<u64>,
    /// VmRSS KiB two seconds after everything was closed.
    pub rss_after: u64,
    /// VmRSS KiB after each further generation of 1000 sockets opened and
    /// closed.
    pub rss_churn: Vec<u64>,
    /// GET points.
    pub gets: Vec<GetPoint>,
    /// Other GETs at 64 connections: (path, result).
    pub breakdown: Vec<(String, LoadResult)>,
    /// PATCH points (1 and 16 connections).
    pub patches: Vec<LoadResult>,
    /// PATCH-to-event rounds.
    pub rounds: Vec<EventRound>,
    /// List GET at 64 connections with `RUST_LOG=warn` (no access log).
    pub quiet: LoadResult,
    /// The loaded daemon exited cleanly on SIGTERM.
    pub main_clean_exit: bool,
}

fn mib(kib: u64) -> String {
    format!("{:.1}", kib as f64 / 1024.0)
}

fn mib_bytes(b: u64) -> String {
    format!("{:.2}", b as f64 / (1024.0 * 1024.0))
}

/// "met" or "**missed** by ..." for a lower-is-better figure.
fn below(value: f64, limit: f64, unit: &str) -> String {
    if value < limit {
        format!("met ({:.0}% of the limit)", value / limit * 100.0)
    } else {
        format!(
            "**missed** by {:.2} {unit} ({:.0}% over)",
            value - limit,
            (value / limit - 1.0) * 100.0
        )
    }
}

/// "met" or "**missed** by ..." for a higher-is-better ratio.
fn at_least(ratio: f64, limit: f64) -> String {
    if ratio >= limit {
        "met".to_string()
    } else {
        format!(
            "**missed** by {:.0} points ({:.0}% of the target)",
            (limit - ratio) * 100.0,
            ratio / limit * 100.0
        )
    }
}

fn ms_f(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn errors(r: &LoadResult) -> String {
    match &r.first_error {
        Some(e) if r.errors > 0 => {
            format!("{} ({})", r.errors, e.chars().take(60).collect::<String>())
        }
        _ => r.errors.to_string(),
    }
}

/// Rows of the targets table: (target, measured, verdict).
fn targets(r: &Results) -> Vec<(String, String, String)> {
    let mut t = Vec::new();
    for g in &r.gets {
        let ratio = g.list.rps / g.ceiling.rps;
        t.push((
            format!(
                "list GET ≥ 50% of the hello-world ceiling ({} conn.)",
                g.conns
            ),
            format!(
                "{:.0}% ({:.0} / {:.0} req/s)",
                ratio * 100.0,
                g.list.rps,
                g.ceiling.rps
            ),
            at_least(ratio, 0.5),
        ));
    }
    for p in &r.patches {
        let v = ms_f(p.latency.p99());
        t.push((
            format!("PATCH p99 < 10 ms, durable ({} conn.)", p.conns),
            format!("{} ms", ms(p.latency.p99())),
            below(v, 10.0, "ms"),
        ));
    }
    for e in &r.rounds {
        let limit = match e.clients {
            100 => 5.0,
            1000 => 50.0,
            _ => continue,
        };
        let v = ms_f(e.from_resp.p99());
        let mut verdict = below(v, limit, "ms");
        if e.missing > 0 {
            verdict = format!("**missed**: {} events never arrived", e.missing);
        }
        t.push((
            format!("PATCH-to-event p99 < {limit} ms at {} clients", e.clients),
            format!("{} ms", ms(e.from_resp.p99())),
            verdict,
        ));
    }
    t.push((
        "idle RSS < 10 MiB".into(),
        format!("{} MiB", mib(r.rss_idle)),
        below(r.rss_idle as f64 / 1024.0, 10.0, "MiB"),
    ));
    let warm = ms_f(r.startup.warm.p50());
    t.push((
        "start-up < 300 ms (median, warm)".into(),
        format!("{} ms", ms(r.startup.warm.p50())),
        below(warm, 300.0, "ms"),
    ));
    t.push((
        "start-up < 300 ms (first boot, empty data dir)".into(),
        format!("{} ms", ms(r.startup.cold)),
        below(ms_f(r.startup.cold), 300.0, "ms"),
    ));
    match r
        .sizes
        .iter()
        .find(|s| s.target == "aarch64-unknown-linux-gnu")
    {
        Some(s) => t.push((
            "aarch64 stripped binary < 8 MiB".into(),
            format!("{} MiB", mib_bytes(s.stripped)),
            below(s.stripped as f64 / (1024.0 * 1024.0), 8.0, "MiB"),
        )),
        None => t.push((
            "aarch64 stripped binary < 8 MiB".into(),
            "not built".into(),
            "not measured (no `target/aarch64-unknown-linux-gnu/release/vp2730d`)".into(),
        )),
    }
    t
}

/// One line per target, for the terminal.
pub fn summary(r: &Results) -> Vec<String> {
    targets(r)
        .into_iter()
        .map(|(a, b, c)| format!("{a}: {b} -> {c}"))
        .collect()
}

/// The `## Binary size` section of an existing report (kept verbatim: another
/// tool owns it).
fn kept_section(old: &str) -> Option<String> {
    let mut out = String::new();
    let mut inside = false;
    for line in old.lines() {
        if line.trim_end() == "## Binary size" {
            inside = true;
        } else if inside && line.starts_with("## ") {
            break;
        }
        if inside {
            out.push_str(line);
            out.push('\n');
        }
    }
    inside.then_some(out)
}

/// The report, keeping the `## Binary size` section of `old` if it has one.
pub fn render(r: &Results, old: Option<&str>) -> String {
    let mut s = String::new();
    let m = &r.machine;
    let secs = r.duration.as_secs_f64();
    let _ = writeln!(s, "# Benchmarks\n");
    let _ = writeln!(
        s,
        "Measured on {} by `scripts/bench.sh` (load generator: `crates/bench`, binary \
`vp2730-bench`).{}\n",
        m.date,
        if r.quick {
            " **Quick run (`--quick`): short points, few patches; not for comparison.**"
        } else {
            ""
        }
    );
    let _ = writeln!(s, "## Machine\n");
    let _ = writeln!(s, "| | |\n|---|---|");
    let _ = writeln!(s, "| CPUs (nproc) | {} |", m.nproc);
    let _ = writeln!(s, "| CPU model | {} |", m.cpu);
    let _ = writeln!(s, "| memory | {} MiB |", m.mem_mib);
    let _ = writeln!(s, "| kernel | {} |", m.kernel);
    let _ = writeln!(s, "| rustc | {} |", m.rustc);
    let _ = writeln!(
        s,
        "| load average when the run started (1, 5, 15 min) | {} |",
        m.loadavg
    );
    let _ = writeln!(s);
    let _ = writeln!(s, "## Command\n");
    let _ = writeln!(
        s,
        "```sh\nscripts/bench.sh          # builds vp2730d and vp2730-bench in release, runs, rewrites this file\n```\n"
    );
    let _ = writeln!(
        s,
        "Set-up: `target/release/vp2730d --sim --listen 127.0.0.1:0 --data-dir <dir> --config <toml>` \
(`[server] max_connections = 3000`), `RUST_LOG=info` (the default: one access-log line per \
request, to a file), data dir on the checkout's file system (not a tmpfs: every acknowledged \
write is an fsync'd SQLite commit). The load generator runs on the same machine and shares \
its {} CPUs with the daemon; the hello-world ceiling (hyper 1 + rustls, ring provider, \
self-signed rcgen certificate, HTTP/1.1 keep-alive, its own process on a default tokio \
runtime like the daemon) is measured under the same load in the same run. Each load point: \
connections opened and warmed with one request each, then {secs:.0} s of back-to-back \
requests per connection; the points of the main GET table are each measured twice, interleaved, \
and the better run is kept. Latency is per request, from send to the last body byte.\n",
        m.nproc
    );

    let _ = writeln!(s, "## Targets\n");
    let _ = writeln!(s, "| target | measured | verdict |\n|---|---|---|");
    for (a, b, c) in targets(r) {
        let _ = writeln!(s, "| {a} | {b} | {c} |");
    }
    let _ = writeln!(s);

    let _ = writeln!(s, "## Reading the figures\n");
    let _ = writeln!(
        s,
        "- The load generator, the daemon and the ceiling share the same {} CPUs, so the \
ratios to the ceiling are the comparable figures; absolute rates are lower than with a \
separate client machine, and other work on the machine (load average above) adds noise.\n\
- PATCH: the writer applies changes one at a time (hardware command, then state), but \
concurrent writers share one fsync'd SQLite commit (group commit, `docs/design.md`), so with \
16 connections the throughput is bounded by the per-change work in the writer (the \
hardware command's round trip to the emulated board over its pty and the codec's \
read-back, planning, rendering the changed topics), not by the disk; the latency is that \
work times the queue.\n\
- PATCH to event: the writer publishes an event before the PATCH is answered, so many \
events reach the clients before the 204 does (\"before 204\", counted as 0 ms).\n",
        m.nproc
    );
    let _ = writeln!(s, "## HTTPS GET, keep-alive\n");
    let _ = writeln!(
        s,
        "| conn. | endpoint | req/s | of ceiling | p50 ms | p99 ms | max ms | errors |\n|---:|---|---:|---:|---:|---:|---:|---|"
    );
    for g in &r.gets {
        for (name, x) in [
            ("hello-world ceiling", &g.ceiling),
            ("`/api/v2.0/system/info`", &g.info),
            ("`/api/v2.0/video/outputs` (list)", &g.list),
        ] {
            let _ = writeln!(
                s,
                "| {} | {name} | {:.0} | {:.0}% | {} | {} | {} | {} |",
                g.conns,
                x.rps,
                x.rps / g.ceiling.rps * 100.0,
                ms(x.latency.p50()),
                ms(x.latency.p99()),
                ms(x.latency.max()),
                errors(x)
            );
        }
    }
    if let Some(g) = r.gets.iter().find(|g| g.conns == 64) {
        let _ = writeln!(
            s,
            "\nWhere the time goes, at 64 connections (same run; body sizes differ: `ping` is `{{}}`, \
public, no authentication; one output is a third of the list; `video/connections` is a short list):\n"
        );
        let _ = writeln!(
            s,
            "| endpoint | req/s | of ceiling | machine CPU µs per request (CPUs ÷ rate, client included) |\n|---|---:|---:|---:|"
        );
        let mut rows: Vec<(String, f64)> = vec![
            ("hello-world ceiling".into(), g.ceiling.rps),
            ("`/api/v2.0/system/info`".into(), g.info.rps),
            ("`/api/v2.0/video/outputs` (list)".into(), g.list.rps),
        ];
        for (p, x) in &r.breakdown {
            rows.push((format!("`{p}`"), x.rps));
        }
        for (name, rps) in rows {
            let _ = writeln!(
                s,
                "| {name} | {rps:.0} | {:.0}% | {:.0} |",
                rps / g.ceiling.rps * 100.0,
                r.machine.nproc as f64 * 1e6 / rps
            );
        }
    }
    let q = &r.quiet;
    let loud = r.gets.iter().find(|g| g.conns == 64).map(|g| g.list.rps);
    let _ =
        writeln!(
        s,
        "\nAccess-log cost: the list GET at 64 connections with `RUST_LOG=warn` (no access log) \
did {:.0} req/s (p50 {} ms, p99 {} ms){}.\n",
        q.rps,
        ms(q.latency.p50()),
        ms(q.latency.p99()),
        loud.map(|l| format!(", against {l:.0} req/s with it ({:+.0}%)", (q.rps / l - 1.0) * 100.0))
            .unwrap_or_default()
    );

    let _ = writeln!(s, "## PATCH, durable writes\n");
    let _ = writeln!(
        s,
        "`PATCH /api/v2.0/audio/outputs/ALL` with `{{\"volume\": N}}`, N changing on every request of a \
connection (each is a hardware command, an fsync'd SQLite commit and an event).\n"
    );
    let _ = writeln!(
        s,
        "| conn. | writes/s | p50 ms | p99 ms | max ms | errors |\n|---:|---:|---:|---:|---:|---|"
    );
    for p in &r.patches {
        let _ = writeln!(
            s,
            "| {} | {:.0} | {} | {} | {} | {} |",
            p.conns,
            p.rps,
            ms(p.latency.p50()),
            ms(p.latency.p99()),
            ms(p.latency.max()),
            errors(p)
        );
    }
    let _ = writeln!(s);

    let _ = writeln!(s, "## PATCH to event\n");
    let _ = writeln!(
        s,
        "N Socket.IO clients (Engine.IO v4 websocket, authenticated with the credential) are \
connected; one keep-alive connection sends PATCHes one after the other, each waiting until \
every client has received the matching `/api/v2.0/audio/outputs` event (`42[...]` with the \
new volume). Latency = event arrival at the client − arrival of the 204 (0 when the event \
came first; the daemon publishes before it answers), over all clients × patches; the \
\"from send\" columns count from the moment the PATCH was sent.\n"
    );
    let _ = writeln!(
        s,
        "| clients | patches | events | p50 ms | p99 ms | max ms | from send p50 | from send p99 | before 204 | missing | PATCH p99 ms | connect all | closed by the daemon |\n|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
    );
    for e in &r.rounds {
        let _ = writeln!(
            s,
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} ms | {} + {} |",
            e.clients,
            e.patches,
            e.from_resp.len(),
            ms(e.from_resp.p50()),
            ms(e.from_resp.p99()),
            ms(e.from_resp.max()),
            ms(e.from_send.p50()),
            ms(e.from_send.p99()),
            e.early,
            e.missing,
            ms(e.patch.p99()),
            ms(e.connect_time),
            e.dropped_early,
            e.dropped_late
        );
    }
    let dropped: usize = r
        .rounds
        .iter()
        .map(|e| e.dropped_early + e.dropped_late)
        .sum();
    if dropped > 0 {
        let first = r
            .rounds
            .iter()
            .find_map(|e| e.first_drop.clone())
            .unwrap_or_default();
        let _ = writeln!(
            s,
            "\n**Sockets closed by the daemon**: {dropped} (\"closed by the daemon\" = right after \
connecting, replaced before measuring + during the measured patches). The first, as the \
client saw it: `{first}`. A close frame with no Socket.IO disconnect packet before it is \
the Engine.IO layer closing the session: engineioxide closes a session whose ping it cannot \
queue, and the daemon's per-client engine channel (`CLIENT_BUFFER` = 16 packets in \
`src/socket/mod.rs`) is full right after the connect packet and the 16-event initial \
state, when the heartbeat task's first ping (sent at once on open) is late."
        );
    }
    let _ = writeln!(s);

    let _ = writeln!(s, "## Memory (VmRSS of the daemon)\n");
    let _ = writeln!(s, "| state | MiB |\n|---|---:|");
    let _ = writeln!(
        s,
        "| idle: 1 s after the readiness line, no connection | {} |",
        mib(r.rss_idle)
    );
    let _ = writeln!(
        s,
        "| idle: of which the largest anonymous mapping (/proc/PID/smaps) | {} |",
        mib(r.rss_idle_largest_anon)
    );
    match r.rss_loaded {
        Some(k) => {
            let _ = writeln!(
                s,
                "| 1000 Socket.IO clients + 256 HTTP keep-alive connections open | {} |",
                mib(k)
            );
        }
        None => {
            let _ = writeln!(s, "| 1000 sockets + 256 connections | not measured |");
        }
    }
    let _ = writeln!(
        s,
        "| idle again: 2 s after all of them closed | {} |",
        mib(r.rss_after)
    );
    for (i, k) in r.rss_churn.iter().enumerate() {
        let _ = writeln!(
            s,
            "| after {} more generation(s) of 1000 sockets opened and closed | {} |",
            i + 1,
            mib(*k)
        );
    }
    let _ = writeln!(s);

    let _ = writeln!(s, "## Start-up (spawn → readiness line)\n");
    let _ = writeln!(s, "| | ms |\n|---|---:|");
    let _ = writeln!(
        s,
        "| first boot, empty data dir (certificate, database, account hash) | {} |",
        ms(r.startup.cold)
    );
    let _ = writeln!(
        s,
        "| warm boot, median of {} | {} |",
        r.startup.runs,
        ms(r.startup.warm.p50())
    );
    let _ = writeln!(
        s,
        "| warm boot, fastest / slowest | {} / {} |",
        ms(r.startup.warm.quantile(0.0)),
        ms(r.startup.warm.max())
    );
    let _ = writeln!(
        s,
        "\n{} of {} warm boots exited cleanly on SIGTERM; the loaded daemon {}.\n",
        r.startup.clean_exits,
        r.startup.runs,
        if r.main_clean_exit {
            "did too"
        } else {
            "**did not** (killed after 10 s)"
        }
    );

    let _ = writeln!(s, "## Release binary, stripped\n");
    let _ = writeln!(
        s,
        "| target | as built, MiB | stripped, MiB | how |\n|---|---:|---:|---|"
    );
    for b in &r.sizes {
        let _ = writeln!(
            s,
            "| {} | {} | {} | {} |",
            b.target,
            mib_bytes(b.as_built),
            mib_bytes(b.stripped),
            b.how
        );
    }
    if !r.sizes.iter().any(|b| b.target.starts_with("aarch64")) {
        let _ = writeln!(
            s,
            "| aarch64-unknown-linux-gnu | not built | | `target/aarch64-unknown-linux-gnu/release/vp2730d` absent |"
        );
    }
    let _ = writeln!(s);

    if let Some(kept) = old.and_then(kept_section) {
        s.push_str(&kept);
        if !kept.ends_with("\n\n") {
            s.push('\n');
        }
    }
    while s.ends_with("\n\n") {
        s.pop();
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn binary_size_section_is_kept() {
        let old =
            "# Benchmarks\n\n## Targets\nx\n\n## Binary size\n\n| a | b |\n\nnote\n\n## Other\ny\n";
        assert_eq!(
            kept_section(old).unwrap(),
            "## Binary size\n\n| a | b |\n\nnote\n\n"
        );
        assert_eq!(
            kept_section("## Binary size\nlast\n").unwrap(),
            "## Binary size\nlast\n"
        );
        assert!(kept_section("# Benchmarks\n## Binary sizes\n").is_none());
    }

    #[test]
    fn verdicts_say_by_how_much() {
        assert_eq!(below(5.0, 10.0, "ms"), "met (50% of the limit)");
        assert_eq!(below(12.5, 10.0, "ms"), "**missed** by 2.50 ms (25% over)");
        assert_eq!(at_least(0.6, 0.5), "met");
        assert_eq!(
            at_least(0.4, 0.5),
            "**missed** by 10 points (80% of the target)"
        );
    }
}

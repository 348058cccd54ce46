//! Server processes under test: spawn, wait for the readiness line, read
//! their resident memory, stop them.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// How long a server may take to print its readiness line.
const READY_TIMEOUT: Duration = Duration::from_secs(30);
/// How long a SIGTERM'd server may take to exit before it is killed.
const STOP_TIMEOUT: Duration = Duration::from_secs(10);

/// A running server process.
pub struct Server {
    child: Option<Child>,
    /// Where it listens.
    pub addr: SocketAddr,
    /// Spawn to readiness line.
    pub startup: Duration,
}

impl Server {
    /// Spawns `cmd` (stdout is taken over) and waits until it prints a line
    /// starting with `ready_prefix` followed by the address.
    pub fn spawn(mut cmd: Command, ready_prefix: &'static str, stderr: &Path) -> Server {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(stderr)
            .expect("stderr log file");
        cmd.stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::from(log));
        let start = Instant::now();
        let mut child = cmd.spawn().expect("spawn server");
        let stdout = child.stdout.take().expect("stdout");
        let (tx, rx) = mpsc::channel();
        // Reads the readiness line, then keeps draining stdout so the server
        // never blocks on a full pipe.
        std::thread::spawn(move || {
            let mut tx = Some(tx);
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if let Some(addr) = line.strip_prefix(ready_prefix) {
                    if let Some(tx) = tx.take() {
                        let _ = tx.send((addr.trim().to_string(), Instant::now()));
                    }
                }
            }
        });
        match rx.recv_timeout(READY_TIMEOUT) {
            Ok((addr, at)) => Server {
                child: Some(child),
                addr: addr.parse().expect("listening address"),
                startup: at - start,
            },
            Err(_) => {
                let _ = child.kill();
                let status = child.wait().ok();
                panic!(
                    "server did not print {ready_prefix:?} within {READY_TIMEOUT:?} ({status:?}); see {}",
                    stderr.display()
                );
            }
        }
    }

    /// Process id.
    pub fn pid(&self) -> u32 {
        self.child.as_ref().expect("running").id()
    }

    /// Resident set size (VmRSS) in KiB.
    pub fn rss_kib(&self) -> u64 {
        rss_kib(self.pid())
    }

    /// SIGTERM, then SIGKILL if it does not exit in time. Returns whether
    /// it exited by itself.
    pub fn stop(mut self) -> bool {
        self.stop_inner()
    }

    fn stop_inner(&mut self) -> bool {
        let Some(mut child) = self.child.take() else {
            return true;
        };
        let pid = nix::unistd::Pid::from_raw(child.id() as i32);
        let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM);
        let deadline = Instant::now() + STOP_TIMEOUT;
        loop {
            if let Ok(Some(_)) = child.try_wait() {
                return true;
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                return false;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// VmRSS of `pid` in KiB (0 if unreadable).
pub fn rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmRSS:"))
                .and_then(|v| v.split_whitespace().next()?.parse().ok())
        })
        .unwrap_or(0)
}

/// Resident KiB of the largest anonymous mapping of `pid` (heap arenas and
/// big allocations live there), from /proc/PID/smaps; 0 if unreadable.
pub fn largest_anon_rss_kib(pid: u32) -> u64 {
    let Ok(smaps) = std::fs::read_to_string(format!("/proc/{pid}/smaps")) else {
        return 0;
    };
    let mut best = 0;
    let mut anon = false;
    for line in smaps.lines() {
        let first = line.split_whitespace().next().unwrap_or("");
        if first.contains('-') && first.bytes().all(|b| b.is_ascii_hexdigit() || b == b'-') {
            // A mapping header: address perms offset dev inode [path].
            let fields: Vec<&str> = line.split_whitespace().collect();
            anon = fields.len() == 5 || fields.get(5) == Some(&"[heap]");
        } else if let Some(v) = line.strip_prefix("Rss:") {
            if anon {
                let kib: u64 = v
                    .split_whitespace()
                    .next()
                    .and_then(|n| n.parse().ok())
                    .unwrap_or(0);
                best = best.max(kib);
            }
        }
    }
    best
}

/// How to start the daemon under test.
#[derive(Clone)]
pub struct DaemonCmd {
    /// The `vp2730d` binary.
    pub binary: PathBuf,
    /// `--data-dir`.
    pub data_dir: PathBuf,
    /// `--config`.
    pub config: PathBuf,
    /// Its stderr goes here (appended).
    pub stderr: PathBuf,
}

impl DaemonCmd {
    /// Starts `vp2730d --sim --listen 127.0.0.1:0` with the default log
    /// level (`info`: one access-log line per request; `VP2730_BENCH_RUST_LOG`
    /// overrides it, for diagnosis) and waits until ready.
    pub fn start(&self) -> Server {
        let filter = std::env::var("VP2730_BENCH_RUST_LOG").unwrap_or_else(|_| "info".into());
        self.start_with_log(&filter)
    }

    /// [`DaemonCmd::start`] with `RUST_LOG` set to `filter`.
    pub fn start_with_log(&self, filter: &str) -> Server {
        let mut cmd = Command::new(&self.binary);
        cmd.arg("--sim")
            .arg("--listen")
            .arg("127.0.0.1:0")
            .arg("--data-dir")
            .arg(&self.data_dir)
            .arg("--config")
            .arg(&self.config)
            .env("RUST_LOG", filter)
            .env_remove("JOURNAL_STREAM")
            .env_remove("NOTIFY_SOCKET");
        Server::spawn(cmd, "vp2730d listening on https://", &self.stderr)
    }
}

/// Starts the hello-world ceiling (this binary, `hello-server`).
pub fn start_hello(stderr: &Path) -> Server {
    let exe = std::env::current_exe().expect("own executable");
    let mut cmd = Command::new(exe);
    cmd.arg("hello-server").arg("127.0.0.1:0");
    Server::spawn(cmd, "hello listening on https://", stderr)
}

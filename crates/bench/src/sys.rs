//! The machine the benchmark ran on, file sizes, and the bench process's own
//! file-descriptor limit.

use std::path::Path;
use std::process::Command;

/// Raises this process's RLIMIT_NOFILE soft limit to its hard limit (1000+
/// sockets plus 256 HTTP connections need more than the usual 1024).
/// Returns the soft limit now in force.
pub fn raise_nofile() -> u64 {
    use nix::sys::resource::{getrlimit, setrlimit, Resource};
    match getrlimit(Resource::RLIMIT_NOFILE) {
        Ok((soft, hard)) if soft < hard => {
            if setrlimit(Resource::RLIMIT_NOFILE, hard, hard).is_ok() {
                hard
            } else {
                soft
            }
        }
        Ok((soft, _)) => soft,
        Err(_) => 0,
    }
}

/// Description of the machine, for the report.
pub struct Machine {
    /// Logical CPUs.
    pub nproc: usize,
    /// `model name` from /proc/cpuinfo.
    pub cpu: String,
    /// MemTotal, MiB.
    pub mem_mib: u64,
    /// Kernel release.
    pub kernel: String,
    /// `rustc -V`.
    pub rustc: String,
    /// UTC date and time of the run.
    pub date: String,
    /// /proc/loadavg when the run started (other work on the machine).
    pub loadavg: String,
}

fn command_line(cmd: &str, args: &[&str]) -> String {
    Command::new(cmd)
        .args(args)
        .output()
        .ok()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "unknown".into())
}

impl Machine {
    /// Reads /proc and asks rustc and date.
    pub fn probe() -> Machine {
        let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
        let cpu = cpuinfo
            .lines()
            .find_map(|l| l.strip_prefix("model name"))
            .and_then(|l| l.split_once(':'))
            .map(|(_, v)| v.trim().to_string())
            .unwrap_or_else(|| "unknown".into());
        let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
        let mem_kib: u64 = meminfo
            .lines()
            .find_map(|l| l.strip_prefix("MemTotal:"))
            .and_then(|v| v.split_whitespace().next()?.parse().ok())
            .unwrap_or(0);
        Machine {
            nproc: std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(0),
            cpu,
            mem_mib: mem_kib / 1024,
            kernel: std::fs::read_to_string("/proc/sys/kernel/osrelease")
                .map(|s| s.trim().to_string())
                .unwrap_or_else(|_| "unknown".into()),
            rustc: command_line("rustc", &["-V"]),
            date: command_line("date", &["-u", "+%Y-%m-%d %H:%M UTC"]),
            loadavg: std::fs::read_to_string("/proc/loadavg")
                .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
                .unwrap_or_else(|_| "unknown".into()),
        }
    }
}

/// Size of a release binary after stripping.
pub struct BinarySize {
    /// Target triple.
    pub target: &'static str,
    /// The file as built, bytes.
    pub as_built: u64,
    /// Stripped, bytes.
    pub stripped: u64,
    /// How the stripped size was obtained.
    pub how: String,
}

/// Measures `path` (None if it does not exist): copies it and strips the
/// copy with the first of `tools` that works; if none does, the file as
/// built counts (the release profile already has `strip = true`).
pub fn binary_size(
    path: &Path,
    target: &'static str,
    tools: &[&str],
    scratch: &Path,
) -> Option<BinarySize> {
    let as_built = std::fs::metadata(path).ok()?.len();
    let copy = scratch.join(format!("strip-{target}"));
    for tool in tools {
        if std::fs::copy(path, &copy).is_err() {
            break;
        }
        let ok = Command::new(tool)
            .arg(&copy)
            .output()
            .map(|o| o.status.success())
            .unwrap_or(false);
        if ok {
            if let Ok(m) = std::fs::metadata(&copy) {
                let _ = std::fs::remove_file(&copy);
                return Some(BinarySize {
                    target,
                    as_built,
                    stripped: m.len(),
                    how: format!("`{tool}` on a copy"),
                });
            }
        }
    }
    let _ = std::fs::remove_file(&copy);
    Some(BinarySize {
        target,
        as_built,
        stripped: as_built,
        how: "as built (release profile `strip = true`; no strip tool for this target)".into(),
    })
}

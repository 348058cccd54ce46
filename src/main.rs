//! `vp2730d` command line.

use clap::Parser;
use std::path::PathBuf;

/// API daemon of the ATEN VP2730 presentation switch: REST + Socket.IO over HTTPS.
#[derive(Parser, Debug)]
#[command(name = "vp2730d", version)]
struct Cli {
    /// Run on the simulated device (no hardware needed); listens on
    /// 127.0.0.1:8443 and keeps its data in ./data unless told otherwise.
    #[arg(long)]
    sim: bool,
    /// Address to listen on (default 0.0.0.0:443; 127.0.0.1:8443 with --sim).
    #[arg(long, value_name = "ADDR:PORT")]
    listen: Option<String>,
    /// Settings database, TLS certificate and snapshot storage
    /// (default /var/lib/vp2730d; ./data with --sim).
    #[arg(long, value_name = "DIR")]
    data_dir: Option<PathBuf>,
    /// TOML file overriding the built-in defaults (see config/default.toml).
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
}

fn main() -> std::process::ExitCode {
    tune_allocator();
    let cli = Cli::parse();
    init_logging();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("vp2730d: cannot start the runtime: {e}");
            return std::process::ExitCode::from(1);
        }
    };
    let opts = vp2730d::Options {
        sim: cli.sim,
        listen: cli.listen,
        data_dir: cli.data_dir,
        config: cli.config,
    };
    match runtime.block_on(vp2730d::run(opts)) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!(error = %e, "vp2730d failed");
            eprintln!("vp2730d: {e}");
            std::process::ExitCode::from(2)
        }
    }
}

/// Logs to the journal (with proper priorities) when systemd connected our
/// stderr to it, else plain text on stderr. `RUST_LOG` filters either way.
fn init_logging() {
    use tracing_subscriber::layer::SubscriberExt;
    use tracing_subscriber::util::SubscriberInitExt;
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let registry = tracing_subscriber::registry().with(filter);
    if std::env::var_os("JOURNAL_STREAM").is_some() {
        if let Ok(journald) = tracing_journald::layer() {
            registry
                .with(journald.with_syslog_identifier("vp2730d".into()))
                .init();
            return;
        }
    }
    registry
        .with(tracing_subscriber::fmt::layer().with_writer(std::io::stderr))
        .init();
}

/// glibc raises its mmap threshold each time a large block is freed, after
/// which multi-MiB allocations (argon2's memory, bulk bodies) come from the
/// heap and stay resident. A fixed threshold keeps them mmapped, so they go
/// back to the kernel when freed; two arenas bound per-thread heaps on a
/// 2-core board.
fn tune_allocator() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only adjusts allocator parameters; called before any
    // other thread exists.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 128 * 1024);
        libc::mallopt(libc::M_ARENA_MAX, 2);
    }
}

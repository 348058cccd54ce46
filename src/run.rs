//! Start-up and shutdown.

use crate::app::SimBackend;
use crate::app::{storage_root, App};
use crate::auth::{Auth, AuthPolicy};
use crate::config::Config;
use crate::routes::Router;
use crate::writer::Writer;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::net::TcpListener;
use tokio::sync::watch;
use vp2730_hal::sim::{SimDevice, SimSetup};
use vp2730_hal::video_uart::UartConfig;
use vp2730_hal::{BoardIdentity, Hdcp, InputStatus, OutputStatus};
use vp2730_model::Profile;
use vp2730_sim::{Emulator, EmulatorConfig};
use vp2730_store::Store;

/// What the command line decided.
#[derive(Debug, Clone)]
pub struct Options {
    pub sim: bool,
    pub listen: Option<String>,
    pub data_dir: Option<PathBuf>,
    pub config: Option<PathBuf>,
}

/// Runs the daemon until SIGTERM or SIGINT.
pub async fn run(opts: Options) -> Result<(), String> {
    let started = Instant::now();
    let config = Config::load(opts.config.as_deref()).map_err(|e| e.to_string())?;
    let profile = Arc::new(if config.profile.is_empty() {
        Profile::builtin().map_err(|e| e.to_string())?
    } else {
        let text = std::fs::read_to_string(&config.profile)
            .map_err(|e| format!("{}: {e}", config.profile))?;
        Profile::from_toml(&text).map_err(|e| e.to_string())?
    });
    let data_dir = opts.data_dir.clone().unwrap_or_else(|| {
        if opts.sim {
            PathBuf::from("data")
        } else {
            PathBuf::from("/var/lib/vp2730d")
        }
    });
    std::fs::create_dir_all(&data_dir).map_err(|e| format!("{}: {e}", data_dir.display()))?;
    let listen = opts.listen.clone().unwrap_or_else(|| {
        if opts.sim {
            "127.0.0.1:8443".to_string()
        } else {
            config.server.listen.clone()
        }
    });

    raise_fd_limit();
    if !opts.sim {
        return Err("this build has no driver for the real board yet; run with --sim".into());
    }
    let setup = sim_setup(&config, &profile);
    let (hal, sim, emulator) = match config.sim.backend.as_str() {
        "memory" => {
            let device = SimDevice::new(setup);
            (device.hal(), SimBackend::Memory(device), None)
        }
        "emulator" => {
            // The shipping drivers (UART, I2C codec, sysfs) against the board
            // emulator on a pseudo-terminal, as on the device.
            let emulator = Emulator::start(EmulatorConfig {
                tty_link: Some(data_dir.join("sim-ttyS1")),
                sysfs_dir: Some(data_dir.join("sim-sysfs")),
                ..EmulatorConfig::from(setup)
            })
            .map_err(|e| format!("board emulator: {e}"))?;
            let hal = emulator
                .connect(UartConfig::default())
                .map_err(|e| format!("cannot open the emulated board: {e}"))?;
            tracing::info!(tty = %emulator.tty_path().display(), sysfs = %emulator.sysfs_root().display(),
                "running on the board emulator");
            (
                hal,
                SimBackend::Emulator(emulator.control()),
                Some(emulator),
            )
        }
        other => {
            return Err(format!(
                "[sim] backend must be \"emulator\" or \"memory\", not {other:?}"
            ))
        }
    };
    for s in &profile.storages {
        let root = storage_root(&data_dir, s);
        if !PathBuf::from(&s.mount).is_absolute() {
            std::fs::create_dir_all(&root).map_err(|e| format!("{}: {e}", root.display()))?;
        }
    }

    let opened = Store::open(&data_dir.join("settings.db"))
        .await
        .map_err(|e| e.to_string())?;
    let store = opened.store;
    let mut state = crate::reconcile::load(&profile, &store)
        .await
        .map_err(|e| e.to_string())?;
    if let Some(aside) = &opened.recovered {
        state.maintenance.database_recovered = true;
        state.maintenance.note(format!(
            "settings database was unusable; kept as {}; factory settings in use",
            aside.display()
        ));
    }
    let hw_timeout = config.hardware.timeout();
    let identity = match tokio::time::timeout(hw_timeout, hal.board.identity()).await {
        Ok(Ok(id)) => id,
        _ => BoardIdentity {
            serial_number: String::new(),
            board_version: String::new(),
        },
    };
    match tokio::time::timeout(hw_timeout, hal.video.status()).await {
        Ok(Ok(status)) => state = crate::reconcile::on_status(&state, &profile, &status).next,
        _ => state.maintenance.hardware_ok = false,
    }
    if state.maintenance.hardware_ok {
        if let Err(e) = crate::reconcile::apply_all(&hal, &profile, &state, hw_timeout).await {
            tracing::error!(error = %e, "could not apply stored settings to the hardware");
            state.maintenance.hardware_ok = false;
        }
    }
    if !state.maintenance.hardware_ok {
        state
            .maintenance
            .note("hardware not answering at boot".into());
    }

    let auth = Auth::init(
        store.clone(),
        AuthPolicy {
            idle_timeout: Duration::from_secs(config.auth.idle_timeout_secs),
            max_sessions_per_account: config.auth.max_sessions_per_account.max(1),
            max_failures: config.auth.max_failures.max(1),
            failure_window: Duration::from_secs(config.auth.failure_window_secs),
            lockout: Duration::from_secs(config.auth.lockout_secs),
            room_code_failures_per_minute: config.auth.room_code_failures_per_minute.max(1),
        },
    )
    .await
    .map_err(|e| e.to_string())?;
    let (writer, shared) = Writer::new(state, profile.clone(), hal.clone(), store, hw_timeout);
    let writer = writer.spawn();

    let cert = (!config.tls.certificate.is_empty()).then(|| PathBuf::from(&config.tls.certificate));
    let key = (!config.tls.private_key.is_empty()).then(|| PathBuf::from(&config.tls.private_key));
    let tls = crate::tls::server_config(cert.as_deref(), key.as_deref(), &data_dir)
        .map_err(|e| e.to_string())?;
    let listener = TcpListener::bind(&listen)
        .await
        .map_err(|e| format!("cannot listen on {listen}: {e}"))?;
    let local = listener.local_addr().map_err(|e| e.to_string())?;

    let (hub, hub_rx) = crate::socket::channel();
    let app = Arc::new(App {
        profile,
        config,
        shared,
        writer,
        auth,
        hal,
        identity,
        started,
        data_dir,
        routes: Router::new(opts.sim),
        sim: Some(sim),
        hub,
        renders: Default::default(),
    });
    let (service, io) = crate::socket::service(app.clone());
    crate::socket::start(app.clone(), io.clone(), hub_rx);
    let (stop_tx, stop_rx) = watch::channel(false);
    let server = tokio::spawn(crate::server::serve(
        app.clone(),
        listener,
        tokio_rustls::TlsAcceptor::from(tls),
        service,
        stop_rx,
    ));
    tracing::info!(address = %local, startup_ms = started.elapsed().as_millis() as u64, "ready");
    // Store loaded, hardware reconciled, listening: tell systemd (no-op
    // outside systemd), and keep its watchdog fed while the writer answers.
    let _ = sd_notify::notify(&[sd_notify::NotifyState::Ready]);
    if let Some(period) = sd_notify::watchdog_enabled() {
        tokio::spawn(watchdog(app.clone(), period));
    }
    // Machine-readable readiness line (tests and scripts wait for it).
    println!("vp2730d listening on https://{local}");

    wait_for_signal().await;
    tracing::info!("shutting down");
    let _ = sd_notify::notify(&[sd_notify::NotifyState::Stopping]);
    // Stop accepting, let in-flight requests finish, close event sockets
    // cleanly, then close the store after the last queued write.
    let _ = stop_tx.send(true);
    let _ = tokio::time::timeout(Duration::from_secs(3), io.close()).await;
    let _ = tokio::time::timeout(Duration::from_secs(8), server).await;
    app.writer.shutdown().await;
    if let Some(emulator) = emulator {
        emulator.shutdown().await;
    }
    tracing::info!(uptime_s = app.started.elapsed().as_secs(), "stopped");
    Ok(())
}

async fn wait_for_signal() {
    use tokio::signal::unix::{signal, SignalKind};
    match (
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
    ) {
        (Ok(mut term), Ok(mut int)) => {
            tokio::select! {
                _ = term.recv() => {}
                _ = int.recv() => {}
            }
        }
        _ => {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}

/// The simulated room, wired as the `[sim]` config says.
fn sim_setup(config: &Config, p: &Profile) -> SimSetup {
    let sim = &config.sim;
    let has = |list: &[String], id: &str| list.iter().any(|x| x == id);
    SimSetup {
        inputs: p
            .video_inputs
            .iter()
            .map(|i| InputStatus {
                port: i.port,
                signal: has(&sim.signal_inputs, &i.id),
                hdcp: if has(&sim.hdcp22_inputs, &i.id) {
                    Hdcp::V22
                } else if has(&sim.hdcp14_inputs, &i.id) {
                    Hdcp::V14
                } else {
                    Hdcp::None
                },
            })
            .collect(),
        outputs: p
            .video_outputs
            .iter()
            .map(|o| OutputStatus {
                port: o.port,
                sink: has(&sim.connected_outputs, &o.id),
            })
            .collect(),
        jacks: p
            .audio_inputs
            .iter()
            .chain(&p.audio_outputs)
            .filter(|a| a.status_source == "jack")
            .map(|a| (a.channel, true))
            .collect(),
        identity: BoardIdentity {
            serial_number: sim.serial_number.clone(),
            board_version: sim.board_version.clone(),
        },
    }
}

/// Raises the open-file limit to its hard maximum: every client connection
/// and event socket is a file descriptor, and the default soft limit (1024)
/// is below what the connection cap allows.
fn raise_fd_limit() {
    use nix::sys::resource::{getrlimit, setrlimit, Resource};
    if let Ok((soft, hard)) = getrlimit(Resource::RLIMIT_NOFILE) {
        if soft < hard {
            if let Err(e) = setrlimit(Resource::RLIMIT_NOFILE, hard, hard) {
                tracing::warn!(error = %e, "cannot raise the open-file limit");
            }
        }
    }
}

/// Feeds systemd's watchdog at half its period, but only while a round trip
/// through the writer succeeds: a wedged runtime or writer stops the pings
/// and systemd restarts the service.
async fn watchdog(app: Arc<App>, period: Duration) {
    let mut tick = tokio::time::interval(period / 2);
    loop {
        tick.tick().await;
        let probe = app
            .writer
            .write(|state, _| Ok(crate::writer::Plan::new(state)));
        match tokio::time::timeout(period / 2, probe).await {
            Ok(Ok(())) => {
                let _ = sd_notify::notify(&[sd_notify::NotifyState::Watchdog]);
            }
            _ => tracing::error!("writer did not answer the watchdog probe"),
        }
    }
}

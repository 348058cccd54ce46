//! `vp2730-sim`: runs the board emulator as its own process, or controls a
//! running one.
//!
//! ```text
//! vp2730-sim run --tty-link /tmp/ttyVP --sysfs /tmp/vp-sysfs --control /tmp/vp.sock
//! vp2730-sim ctl /tmp/vp.sock plug 3 --hdcp 2.2
//! vp2730-sim ctl /tmp/vp.sock silent on
//! vp2730-sim ctl /tmp/vp.sock state
//! ```
//!
//! `run` prints one line `vp2730-sim ready tty=... sysfs=... control=...`
//! once the pty, the sysfs tree and the socket exist, then serves until
//! SIGINT or SIGTERM.

use clap::{Parser, Subcommand, ValueEnum};
use std::path::PathBuf;
use std::process::ExitCode;
use vp2730_sim::control::{self, ControlRequest, HdcpArg};
use vp2730_sim::{Emulator, EmulatorConfig};

#[derive(Parser)]
#[command(name = "vp2730-sim", version, about = "VP2730 board emulator")]
struct Cli {
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Runs the emulator until SIGINT/SIGTERM.
    Run {
        /// Symlink to the pty slave (what the daemon opens as its UART).
        #[arg(long)]
        tty_link: Option<PathBuf>,
        /// Directory for the sysfs tree (default: a temporary directory).
        #[arg(long)]
        sysfs: Option<PathBuf>,
        /// Unix socket for control requests.
        #[arg(long)]
        control: Option<PathBuf>,
        /// Serial number burnt into the EEPROM image.
        #[arg(long)]
        serial: Option<String>,
        /// Send the boot banner at start, as a powered-on board does.
        #[arg(long)]
        boot_banner: bool,
    },
    /// Sends one control request to a running emulator.
    Ctl {
        /// The emulator's control socket.
        socket: PathBuf,
        #[command(subcommand)]
        action: Action,
    },
}

#[derive(Clone, Copy, ValueEnum)]
enum OnOff {
    On,
    Off,
}

impl From<OnOff> for bool {
    fn from(v: OnOff) -> bool {
        matches!(v, OnOff::On)
    }
}

#[derive(Clone, Copy, ValueEnum)]
enum HdcpCli {
    None,
    #[value(name = "1.4")]
    V14,
    #[value(name = "2.2")]
    V22,
}

#[derive(Subcommand)]
enum Action {
    /// Plugs a source into an input port.
    Plug {
        port: u8,
        #[arg(long, value_enum, default_value = "none")]
        hdcp: HdcpCli,
    },
    /// Unplugs the source of an input port.
    Unplug { port: u8 },
    /// The source stays plugged, its signal drops.
    DropSignal { port: u8 },
    /// The source's signal locks again.
    RestoreSignal { port: u8 },
    /// The source changes timing (e.g. 3840x2160@30).
    Timing { port: u8, timing: String },
    /// Connects (on) or disconnects (off) the display of an output port.
    Sink { port: u8, state: OnOff },
    /// Plugs (on) or pulls (off) an audio jack.
    Jack { channel: u8, state: OnOff },
    /// Hangs (on) or un-hangs (off) the MCU.
    Silent { state: OnOff },
    /// Delays every answer by this many milliseconds (0: none).
    Delay { ms: u64 },
    /// Noise before the next answer(s).
    Garbage {
        #[arg(long, default_value_t = 1)]
        count: u32,
    },
    /// Noise in front of the next received command(s).
    CorruptRx {
        #[arg(long, default_value_t = 1)]
        count: u32,
    },
    /// Reboots the MCU now, or while it handles the next command.
    Reboot {
        #[arg(long)]
        mid_command: bool,
    },
    /// Sets the board temperature (millidegrees Celsius).
    Temperature { millideg: i32 },
    /// Disarms every fault.
    ClearFaults,
    /// Prints the board state and the armed faults.
    State,
    /// Prints the command lines the MCU received.
    Received,
    /// Sends a raw JSON request line.
    Json { line: String },
}

impl Action {
    fn request(self) -> Result<ControlRequest, String> {
        Ok(match self {
            Action::Plug { port, hdcp } => ControlRequest::Plug {
                port,
                hdcp: match hdcp {
                    HdcpCli::None => HdcpArg::None,
                    HdcpCli::V14 => HdcpArg::V14,
                    HdcpCli::V22 => HdcpArg::V22,
                },
            },
            Action::Unplug { port } => ControlRequest::Unplug { port },
            Action::DropSignal { port } => ControlRequest::DropSignal { port },
            Action::RestoreSignal { port } => ControlRequest::RestoreSignal { port },
            Action::Timing { port, timing } => ControlRequest::Timing { port, timing },
            Action::Sink { port, state } => ControlRequest::Sink {
                port,
                connected: state.into(),
            },
            Action::Jack { channel, state } => ControlRequest::Jack {
                channel,
                connected: state.into(),
            },
            Action::Silent { state } => ControlRequest::Silent { on: state.into() },
            Action::Delay { ms } => ControlRequest::Delay { ms },
            Action::Garbage { count } => ControlRequest::Garbage { count },
            Action::CorruptRx { count } => ControlRequest::CorruptRx { count },
            Action::Reboot { mid_command } => ControlRequest::Reboot { mid_command },
            Action::Temperature { millideg } => ControlRequest::Temperature { millideg },
            Action::ClearFaults => ControlRequest::ClearFaults,
            Action::State => ControlRequest::State,
            Action::Received => ControlRequest::Received,
            Action::Json { line } => {
                serde_json::from_str(&line).map_err(|e| format!("bad request: {e}"))?
            }
        })
    }
}

async fn run(
    tty_link: Option<PathBuf>,
    sysfs: Option<PathBuf>,
    control_path: Option<PathBuf>,
    serial: Option<String>,
    boot_banner: bool,
) -> Result<(), String> {
    let mut config = EmulatorConfig {
        tty_link,
        sysfs_dir: sysfs,
        boot_banner,
        ..EmulatorConfig::default()
    };
    if let Some(s) = serial {
        config.identity.serial_number = s;
    }
    let emu = Emulator::start(config).map_err(|e| e.to_string())?;
    let server = match &control_path {
        Some(p) => Some(control::serve(emu.control(), p).map_err(|e| e.to_string())?),
        None => None,
    };
    println!(
        "vp2730-sim ready tty={} sysfs={} control={}",
        emu.tty_path().display(),
        emu.sysfs_root().display(),
        control_path
            .as_ref()
            .map(|p| p.display().to_string())
            .unwrap_or_else(|| "-".into())
    );
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .map_err(|e| e.to_string())?;
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
    }
    if let Some(s) = server {
        s.abort();
    }
    if let Some(p) = &control_path {
        let _ = std::fs::remove_file(p);
    }
    emu.shutdown().await;
    Ok(())
}

async fn ctl(socket: PathBuf, action: Action) -> Result<bool, String> {
    let req = action.request()?;
    let resp = control::request(&socket, &req)
        .await
        .map_err(|e| e.to_string())?;
    let text = serde_json::to_string_pretty(&resp).map_err(|e| e.to_string())?;
    println!("{text}");
    Ok(resp.ok)
}

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("vp2730-sim: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = rt.block_on(async move {
        match cli.command {
            Cmd::Run {
                tty_link,
                sysfs,
                control,
                serial,
                boot_banner,
            } => run(tty_link, sysfs, control, serial, boot_banner)
                .await
                .map(|()| true),
            Cmd::Ctl { socket, action } => ctl(socket, action).await,
        }
    });
    match result {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(1),
        Err(e) => {
            eprintln!("vp2730-sim: {e}");
            ExitCode::from(2)
        }
    }
}

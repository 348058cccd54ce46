//! `vp2730-sim`: an emulator of the VP2730 board, on the far side of the
//! same wires the daemon's real drivers use.
//!
//! * the **video board MCU** answers the line protocol of
//!   `docs/hardware/video-board.md` on the master side of a pseudo-terminal;
//!   the daemon opens the slave path with tokio-serial as it opens
//!   `/dev/ttyS1` on the device;
//! * a **sysfs tree** in a directory (GPIO hot-plug and sink-sense inputs
//!   kept in step with what is plugged, LEDs, thermal zone, identity
//!   EEPROM) for [`vp2730_hal::SysfsBoard`];
//! * the **audio codec** as a [`FakeCodecBus`] register map for
//!   [`vp2730_hal::I2cCodec`] (in-process only: no machine here has an I2C
//!   bus).
//!
//! In-process use (the daemon's `--sim`, tests):
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use vp2730_sim::{Emulator, EmulatorConfig};
//! let emu = Emulator::start(EmulatorConfig::default())?;
//! let hal = emu.connect(vp2730_hal::UartConfig::default())?; // the shipping drivers
//! emu.control().plug(3, vp2730_hal::Hdcp::V22)?;              // a technician with a cable
//! emu.control().set_silent(true);                              // a hung MCU
//! # Ok(()) }
//! ```
//!
//! The `vp2730-sim` binary offers the same control over a Unix socket
//! ([`control`]).

pub mod board;
pub mod control;
pub mod pty;

pub use board::{BoardState, Change};

use board::{InputPort, Physical, DEFAULT_TIMING};
use serde::Serialize;
use std::collections::VecDeque;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::{mpsc, oneshot};
use vp2730_hal::codec::DEFAULT_ADDRESS;
use vp2730_hal::protocol::{self, Request};
use vp2730_hal::sim::SimSetup;
use vp2730_hal::sysfs::{self, SysfsLayout};
use vp2730_hal::{
    BoardIdentity, FakeCodecBus, Hal, HalError, Hdcp, I2cCodec, InputStatus, Led, OutputStatus,
    SysfsBoard, UartConfig, UartVideoBoard,
};

/// Why the emulator could not do something.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EmuError {
    /// Creating the pty, the sysfs tree or the socket failed.
    #[error("emulator I/O: {0}")]
    Io(String),
    /// The request names a port or value the board does not have.
    #[error("{0}")]
    Invalid(String),
}

fn io(e: impl std::fmt::Display) -> EmuError {
    EmuError::Io(e.to_string())
}

/// How the emulated board is wired and where its files go.
#[derive(Debug, Clone)]
pub struct EmulatorConfig {
    /// Input ports; `signal` means a source is plugged and locked.
    pub inputs: Vec<InputStatus>,
    /// Output ports and whether a display is connected.
    pub outputs: Vec<OutputStatus>,
    /// Codec channels with a jack, and whether something is plugged.
    pub jacks: Vec<(u8, bool)>,
    /// Burnt into the EEPROM image of the sysfs tree.
    pub identity: BoardIdentity,
    /// MCU firmware version reported by `ver` and the boot banner.
    pub firmware: String,
    /// Also make a symlink to the pty slave here (like `/dev/ttyS1`).
    pub tty_link: Option<PathBuf>,
    /// Where to build the sysfs tree; `None`: a temporary directory that
    /// lives as long as the emulator.
    pub sysfs_dir: Option<PathBuf>,
    /// GPIO numbers, LED names, EEPROM path.
    pub layout: SysfsLayout,
    /// I2C address the fake codec answers at.
    pub codec_address: u8,
    /// Send the boot banner as the first line, as a powered-on board does.
    pub boot_banner: bool,
}

impl Default for EmulatorConfig {
    /// The room of `config/default.toml`'s `[sim]`: sources on inputs 1-4
    /// (HDCP 1.4 on 3, 2.2 on 4), displays on outputs 1-2, every jack
    /// plugged.
    fn default() -> Self {
        EmulatorConfig {
            inputs: (1..=7)
                .map(|port| InputStatus {
                    port,
                    signal: port <= 4,
                    hdcp: match port {
                        3 => Hdcp::V14,
                        4 => Hdcp::V22,
                        _ => Hdcp::None,
                    },
                })
                .collect(),
            outputs: (1..=3)
                .map(|port| OutputStatus {
                    port,
                    sink: port <= 2,
                })
                .collect(),
            jacks: [8, 9, 10, 17, 18, 19, 20]
                .into_iter()
                .map(|c| (c, true))
                .collect(),
            identity: BoardIdentity {
                serial_number: "VP27300000001".into(),
                board_version: "A-05".into(),
            },
            firmware: "1.4.2".into(),
            tty_link: None,
            sysfs_dir: None,
            layout: SysfsLayout::vp2730(),
            codec_address: DEFAULT_ADDRESS,
            boot_banner: false,
        }
    }
}

impl From<SimSetup> for EmulatorConfig {
    /// The same room the in-memory [`vp2730_hal::sim::SimDevice`] would be
    /// built from, so `--sim` can switch backends without new settings.
    fn from(s: SimSetup) -> Self {
        EmulatorConfig {
            inputs: s.inputs,
            outputs: s.outputs,
            jacks: s.jacks,
            identity: s.identity,
            ..EmulatorConfig::default()
        }
    }
}

/// Faults currently armed (see [`Control`]).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Faults {
    /// The MCU is hung: it reads lines but answers nothing and sends no
    /// notifications.
    pub silent: bool,
    /// Every answer is sent this late.
    pub delay_ms: u64,
    /// The next N answers are preceded by a line of noise and a half line.
    pub garbage_answers: u32,
    /// The next N received commands arrive with noise in front (line noise
    /// on the MCU's receive side).
    pub corrupt_commands: u32,
    /// The MCU reboots while handling the next command.
    pub reboot_on_next: bool,
    /// Physical changes to make between the echo and the answer of the
    /// next command (their notifications land inside the answer).
    #[serde(skip)]
    pub interleave: Vec<Change>,
}

/// Bytes sent by the board task outside of an answer.
enum Outgoing {
    Notification(String),
    Raw(Vec<u8>),
}

/// Noise the garbage fault puts in front of an answer: one complete junk
/// line, then a half line that the echo completes.
const GARBAGE: &[u8] = b"\x15\x7f#~noise\xfe\r\n\x00\xff@@";
/// Noise the corrupt-command fault puts in front of a received command.
const RX_NOISE: &[u8] = b"\xff#";
/// Lines of the received-command log kept.
const RECEIVED_KEPT: usize = 4096;

struct Shared {
    board: Mutex<BoardState>,
    faults: Mutex<Faults>,
    out: mpsc::UnboundedSender<Outgoing>,
    sysfs_root: PathBuf,
    layout: SysfsLayout,
    codec: FakeCodecBus,
    received: Mutex<VecDeque<String>>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // Plain data; a panic elsewhere does not make it unusable.
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Shared {
    /// Applies a physical change to the board, the GPIO files and the codec
    /// jack bits; returns the notification lines.
    fn change(&self, c: &Change) -> Result<Vec<String>, EmuError> {
        let (lines, plugged) = {
            let mut b = lock(&self.board);
            let lines = b.apply_change(c).map_err(EmuError::Invalid)?;
            let plugged = match c {
                Change::Plug { port, .. } | Change::Unplug { port } => b
                    .physical
                    .inputs
                    .iter()
                    .find(|i| i.port == *port)
                    .map(|i| i.plugged),
                _ => None,
            };
            (lines, plugged)
        };
        match c {
            Change::Plug { port, .. } | Change::Unplug { port } => {
                if let (Some(g), Some(p)) = (gpio_of(&self.layout.hotplug_gpio, *port), plugged) {
                    sysfs::write_gpio(&self.sysfs_root, g, p).map_err(io)?;
                }
            }
            Change::Sink { port, connected } => {
                if let Some(g) = gpio_of(&self.layout.sink_gpio, *port) {
                    sysfs::write_gpio(&self.sysfs_root, g, *connected).map_err(io)?;
                }
            }
            Change::Jack { channel, connected } => self.codec.set_jack(*channel, *connected),
            Change::Signal { .. } | Change::Timing { .. } => {}
        }
        Ok(lines)
    }

    fn record(&self, line: &str) {
        let mut r = lock(&self.received);
        if r.len() == RECEIVED_KEPT {
            r.pop_front();
        }
        r.push_back(line.to_string());
    }
}

fn gpio_of(map: &[(u8, u32)], port: u8) -> Option<u32> {
    map.iter().find(|(p, _)| *p == port).map(|(_, g)| *g)
}

/// Acts on the emulated board: cables and faults. Cheap to clone; every
/// clone acts on the same board.
#[derive(Clone)]
pub struct Control {
    shared: Arc<Shared>,
}

impl Control {
    /// Makes a physical change; the MCU notifies it (unless it is hung).
    pub fn change(&self, c: Change) -> Result<(), EmuError> {
        for line in self.shared.change(&c)? {
            let _ = self.shared.out.send(Outgoing::Notification(line));
        }
        Ok(())
    }

    /// Plugs a source into an input port; its signal locks with `hdcp`.
    pub fn plug(&self, port: u8, hdcp: Hdcp) -> Result<(), EmuError> {
        self.change(Change::Plug { port, hdcp })
    }

    /// Unplugs the source of an input port.
    pub fn unplug(&self, port: u8) -> Result<(), EmuError> {
        self.change(Change::Unplug { port })
    }

    /// The source stays plugged but its signal drops (cable fault, source
    /// asleep).
    pub fn drop_signal(&self, port: u8) -> Result<(), EmuError> {
        self.change(Change::Signal {
            port,
            locked: false,
        })
    }

    /// The source's signal locks again.
    pub fn restore_signal(&self, port: u8) -> Result<(), EmuError> {
        self.change(Change::Signal { port, locked: true })
    }

    /// The source switches timing (`3840x2160@30`).
    pub fn set_timing(&self, port: u8, timing: &str) -> Result<(), EmuError> {
        self.change(Change::Timing {
            port,
            timing: timing.to_string(),
        })
    }

    /// Connects a display to an output port.
    pub fn connect_sink(&self, port: u8) -> Result<(), EmuError> {
        self.change(Change::Sink {
            port,
            connected: true,
        })
    }

    /// Disconnects the display of an output port.
    pub fn disconnect_sink(&self, port: u8) -> Result<(), EmuError> {
        self.change(Change::Sink {
            port,
            connected: false,
        })
    }

    /// Plugs or pulls an analogue audio jack.
    pub fn set_jack(&self, channel: u8, connected: bool) -> Result<(), EmuError> {
        self.change(Change::Jack { channel, connected })
    }

    /// Makes the physical change while the MCU handles the next command,
    /// so its notification arrives between that command's echo and its
    /// answer.
    pub fn interleave_next(&self, c: Change) {
        lock(&self.shared.faults).interleave.push(c);
    }

    /// Hangs the MCU (it stops answering and notifying) or un-hangs it.
    pub fn set_silent(&self, silent: bool) {
        lock(&self.shared.faults).silent = silent;
    }

    /// Delays every answer (zero: answer at once).
    pub fn set_delay(&self, delay: Duration) {
        lock(&self.shared.faults).delay_ms = u64::try_from(delay.as_millis()).unwrap_or(u64::MAX);
    }

    /// Sends noise (a junk line and a half line) before each of the next
    /// `n` answers.
    pub fn garbage_before_answers(&self, n: u32) {
        lock(&self.shared.faults).garbage_answers = n;
    }

    /// Sends a burst of noise now, outside of any answer.
    pub fn send_garbage(&self) {
        let _ = self.shared.out.send(Outgoing::Raw(GARBAGE.to_vec()));
    }

    /// Corrupts the next `n` received commands (noise in front of them, as
    /// line noise on the MCU's receive pin would).
    pub fn corrupt_next_commands(&self, n: u32) {
        lock(&self.shared.faults).corrupt_commands = n;
    }

    /// Makes the MCU reboot while it handles the next command: it stops
    /// halfway through the echo, sends the boot banner, never answers that
    /// command and comes back with factory settings.
    pub fn reboot_on_next_command(&self) {
        lock(&self.shared.faults).reboot_on_next = true;
    }

    /// Reboots the MCU now: boot banner, factory settings. A reboot also
    /// ends a hang.
    pub fn reboot(&self) {
        let banner = lock(&self.shared.board).reboot();
        lock(&self.shared.faults).silent = false;
        let _ = self
            .shared
            .out
            .send(Outgoing::Raw(format!("\r\n{banner}\r\n").into_bytes()));
    }

    /// Makes the codec NAK every transfer (or answer again).
    pub fn codec_nak(&self, on: bool) {
        self.shared.codec.set_nak(on);
    }

    /// Makes the codec NAK the next `n` transfers.
    pub fn codec_nak_next(&self, n: u32) {
        self.shared.codec.nak_next(n);
    }

    /// Disarms every fault (MCU and codec).
    pub fn clear_faults(&self) {
        *lock(&self.shared.faults) = Faults::default();
        self.shared.codec.set_nak(false);
        self.shared.codec.nak_next(0);
    }

    /// The faults armed now.
    pub fn faults(&self) -> Faults {
        lock(&self.shared.faults).clone()
    }

    /// The board's state (physical world and settings) now.
    pub fn state(&self) -> BoardState {
        lock(&self.shared.board).clone()
    }

    /// The command lines the MCU received, oldest first (the last 4096).
    pub fn received(&self) -> Vec<String> {
        lock(&self.shared.received).iter().cloned().collect()
    }

    /// The codec's register map (the same chip the driver talks to).
    pub fn codec_bus(&self) -> FakeCodecBus {
        self.shared.codec.clone()
    }

    /// Sets the temperature the thermal zone reports.
    pub fn set_temperature(&self, millideg: i32) -> Result<(), EmuError> {
        sysfs::write_temperature(&self.shared.sysfs_root, &self.shared.layout, millideg).map_err(io)
    }

    /// Whether an LED is lit (as the daemon last set it through sysfs).
    pub fn led(&self, led: Led) -> Result<bool, EmuError> {
        let path = sysfs::led_dir(&self.shared.sysfs_root, self.shared.layout.led_name(led))
            .join("brightness");
        let v = std::fs::read_to_string(&path).map_err(io)?;
        Ok(v.trim().parse::<u32>().map(|b| b > 0).unwrap_or(false))
    }
}

/// A running emulator. Dropping it stops the MCU task and removes the tty
/// link (and the temporary sysfs tree, if it made one).
pub struct Emulator {
    control: Control,
    slave_path: PathBuf,
    tty_path: PathBuf,
    tty_link: Option<PathBuf>,
    sysfs_root: PathBuf,
    layout: SysfsLayout,
    codec_address: u8,
    stop: Option<oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<()>,
    _tmp: Option<tempfile::TempDir>,
}

impl Emulator {
    /// Opens the pty, builds the sysfs tree and starts the MCU task. Must
    /// be called inside a tokio runtime.
    pub fn start(config: EmulatorConfig) -> Result<Emulator, EmuError> {
        let (tmp, sysfs_root) = match &config.sysfs_dir {
            Some(dir) => {
                std::fs::create_dir_all(dir).map_err(io)?;
                (None, dir.clone())
            }
            None => {
                let t = tempfile::Builder::new()
                    .prefix("vp2730-sim-sysfs.")
                    .tempdir()
                    .map_err(io)?;
                let p = t.path().to_path_buf();
                (Some(t), p)
            }
        };
        sysfs::create_tree(&sysfs_root, &config.layout, &config.identity)
            .map_err(|e| EmuError::Io(e.to_string()))?;

        let pty = pty::PtyMaster::open().map_err(io)?;
        let slave_path = pty.slave_path().to_path_buf();
        let tty_path = match &config.tty_link {
            Some(link) => {
                if let Ok(meta) = std::fs::symlink_metadata(link) {
                    if meta.file_type().is_symlink() {
                        std::fs::remove_file(link).map_err(io)?;
                    } else {
                        return Err(EmuError::Io(format!(
                            "{} exists and is not a symlink",
                            link.display()
                        )));
                    }
                }
                std::os::unix::fs::symlink(&slave_path, link).map_err(io)?;
                link.clone()
            }
            None => slave_path.clone(),
        };

        let physical = Physical {
            inputs: config
                .inputs
                .iter()
                .map(|i| InputPort {
                    port: i.port,
                    plugged: i.signal,
                    locked: i.signal,
                    hdcp: if i.signal { i.hdcp } else { Hdcp::None },
                    timing: DEFAULT_TIMING.into(),
                })
                .collect(),
            outputs: config.outputs.iter().map(|o| (o.port, o.sink)).collect(),
            jacks: config.jacks.iter().copied().collect(),
        };
        let codec = FakeCodecBus::new(config.codec_address);
        for (c, j) in &physical.jacks {
            codec.set_jack(*c, *j);
        }
        for i in &physical.inputs {
            if let Some(g) = gpio_of(&config.layout.hotplug_gpio, i.port) {
                sysfs::write_gpio(&sysfs_root, g, i.plugged).map_err(io)?;
            }
        }
        for (p, s) in &physical.outputs {
            if let Some(g) = gpio_of(&config.layout.sink_gpio, *p) {
                sysfs::write_gpio(&sysfs_root, g, *s).map_err(io)?;
            }
        }
        let board = BoardState::new(
            physical,
            config.firmware.clone(),
            config.identity.board_version.clone(),
        );
        let banner = board.banner();
        let (out, out_rx) = mpsc::unbounded_channel();
        if config.boot_banner {
            let _ = out.send(Outgoing::Raw(format!("\r\n{banner}\r\n").into_bytes()));
        }
        let shared = Arc::new(Shared {
            board: Mutex::new(board),
            faults: Mutex::new(Faults::default()),
            out,
            sysfs_root: sysfs_root.clone(),
            layout: config.layout.clone(),
            codec,
            received: Mutex::new(VecDeque::new()),
        });
        let (stop, stop_rx) = oneshot::channel();
        let task = tokio::spawn(run_mcu(shared.clone(), pty, out_rx, stop_rx));
        tracing::info!(tty = %tty_path.display(), sysfs = %sysfs_root.display(), "board emulator running");
        Ok(Emulator {
            control: Control { shared },
            slave_path,
            tty_path,
            tty_link: config.tty_link,
            sysfs_root,
            layout: config.layout,
            codec_address: config.codec_address,
            stop: Some(stop),
            task,
            _tmp: tmp,
        })
    }

    /// The serial device the daemon opens: the link if one was asked for,
    /// else the pty slave.
    pub fn tty_path(&self) -> &Path {
        &self.tty_path
    }

    /// The pty slave itself (`/dev/pts/N`).
    pub fn slave_path(&self) -> &Path {
        &self.slave_path
    }

    /// The root of the emulated sysfs tree (what `/` is on the device).
    pub fn sysfs_root(&self) -> &Path {
        &self.sysfs_root
    }

    /// The sysfs layout the tree follows.
    pub fn layout(&self) -> &SysfsLayout {
        &self.layout
    }

    /// The control handle (cables and faults).
    pub fn control(&self) -> Control {
        self.control.clone()
    }

    /// The codec's register map, to hand to [`I2cCodec::new`].
    pub fn codec_bus(&self) -> FakeCodecBus {
        self.control.codec_bus()
    }

    /// The codec's I2C address.
    pub fn codec_address(&self) -> u8 {
        self.codec_address
    }

    /// The shipping drivers, connected to this emulator: the UART driver on
    /// the pty, the I2C codec driver on the fake bus, the sysfs driver on
    /// the tree. This is what `vp2730d --sim` runs.
    pub fn connect(&self, uart: UartConfig) -> Result<Hal, HalError> {
        let video = UartVideoBoard::open_with(&self.tty_path, protocol::DEFAULT_BAUD, uart)?;
        Ok(Hal {
            video: Arc::new(video),
            audio: Arc::new(I2cCodec::new(self.codec_bus(), self.codec_address)),
            board: Arc::new(SysfsBoard::with_layout(
                &self.sysfs_root,
                self.layout.clone(),
            )),
        })
    }

    /// Stops the MCU task and waits for it.
    pub async fn shutdown(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        let _ = (&mut self.task).await;
    }
}

impl Drop for Emulator {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        self.task.abort();
        if let Some(link) = &self.tty_link {
            let _ = std::fs::remove_file(link);
        }
    }
}

/// Splits received bytes into lines the way the MCU's receiver does: CR
/// or LF ends a line, empty lines are ignored, a line longer than the
/// buffer keeps its first [`protocol::MAX_LINE`] bytes and is refused.
#[derive(Default)]
struct LineAssembler {
    buf: Vec<u8>,
    overflow: bool,
}

/// A received line; `overflow`: it did not fit the receive buffer.
struct Received {
    bytes: Vec<u8>,
    overflow: bool,
}

impl LineAssembler {
    fn push(&mut self, bytes: &[u8]) -> Vec<Received> {
        let mut lines = Vec::new();
        for &b in bytes {
            if b == b'\r' || b == b'\n' {
                if !self.buf.is_empty() {
                    lines.push(Received {
                        bytes: std::mem::take(&mut self.buf),
                        overflow: std::mem::take(&mut self.overflow),
                    });
                }
            } else if self.buf.len() < protocol::MAX_LINE {
                self.buf.push(b);
            } else {
                self.overflow = true;
            }
        }
        lines
    }
}

/// How long a write to the pty may block (nobody reading the slave)
/// before the MCU drops it.
const WRITE_TIMEOUT: Duration = Duration::from_secs(2);

async fn write_bytes(pty: &mut pty::PtyMaster, bytes: &[u8]) {
    match tokio::time::timeout(WRITE_TIMEOUT, pty.write_all(bytes)).await {
        Ok(Ok(())) => {}
        Ok(Err(e)) => tracing::warn!(error = %e, "emulator: pty write failed"),
        Err(_) => tracing::warn!("emulator: nobody reads the tty; output dropped"),
    }
}

/// The MCU: reads command lines, answers them, sends notifications.
async fn run_mcu(
    shared: Arc<Shared>,
    mut pty: pty::PtyMaster,
    mut out_rx: mpsc::UnboundedReceiver<Outgoing>,
    mut stop: oneshot::Receiver<()>,
) {
    let mut lines = LineAssembler::default();
    let mut chunk = [0u8; 1024];
    loop {
        tokio::select! {
            _ = &mut stop => break,
            r = pty.read(&mut chunk) => match r {
                Ok(0) => tokio::time::sleep(Duration::from_millis(20)).await,
                Ok(n) => {
                    for line in lines.push(&chunk[..n]) {
                        serve_line(&shared, &mut pty, line).await;
                    }
                }
                Err(e) => {
                    tracing::warn!(error = %e, "emulator: pty read failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            },
            Some(o) = out_rx.recv() => {
                if lock(&shared.faults).silent {
                    continue; // a hung MCU says nothing
                }
                match o {
                    Outgoing::Notification(line) => {
                        write_bytes(&mut pty, format!("{line}\r\n").as_bytes()).await
                    }
                    Outgoing::Raw(bytes) => write_bytes(&mut pty, &bytes).await,
                }
            }
        }
    }
}

/// Handles one received command line, faults included.
async fn serve_line(shared: &Shared, pty: &mut pty::PtyMaster, received: Received) {
    let Received {
        bytes: mut line,
        overflow,
    } = received;
    let (silent, reboot, delay, garbage, interleave) = {
        let mut f = lock(&shared.faults);
        if f.corrupt_commands > 0 {
            f.corrupt_commands -= 1;
            let mut noisy = RX_NOISE.to_vec();
            noisy.extend_from_slice(&line);
            line = noisy;
        }
        let reboot = std::mem::take(&mut f.reboot_on_next) && !f.silent;
        let garbage = f.garbage_answers > 0 && !f.silent;
        if garbage {
            f.garbage_answers -= 1;
        }
        let interleave = if f.silent {
            Vec::new()
        } else {
            std::mem::take(&mut f.interleave)
        };
        (
            f.silent,
            reboot,
            Duration::from_millis(f.delay_ms),
            garbage,
            interleave,
        )
    };
    let echo = protocol::echo_of(&line);
    shared.record(&echo);
    if silent {
        return;
    }
    if reboot {
        let banner = lock(&shared.board).reboot();
        lock(&shared.faults).silent = false;
        // Cut off halfway through the echo; the banner starts a new line.
        let half = &echo[..echo.len() / 2];
        write_bytes(pty, format!("{half}\r\n{banner}\r\n").as_bytes()).await;
        return;
    }
    if !delay.is_zero() {
        tokio::time::sleep(delay).await;
    }
    let mut out = Vec::new();
    if garbage {
        out.extend_from_slice(GARBAGE);
    }
    out.extend_from_slice(echo.as_bytes());
    out.extend_from_slice(b"\r\n");
    for c in &interleave {
        match shared.change(c) {
            Ok(notes) => {
                for n in notes {
                    out.extend_from_slice(n.as_bytes());
                    out.extend_from_slice(b"\r\n");
                }
            }
            Err(e) => tracing::warn!(error = %e, "emulator: interleaved change failed"),
        }
    }
    let request = std::str::from_utf8(&line)
        .ok()
        .filter(|_| !overflow)
        .and_then(|t| Request::parse(t).ok());
    let answer = match request {
        Some(req) => lock(&shared.board).execute(&req),
        None => vec![protocol::INCORRECT.to_string()],
    };
    for l in answer {
        out.extend_from_slice(l.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    write_bytes(pty, &out).await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_receiver_splits_on_cr_or_lf_and_flags_overlong_lines() {
        let mut a = LineAssembler::default();
        let got = a.push(b"sw o01 i02\r\n\r\nread\rve");
        assert_eq!(got.len(), 2);
        assert_eq!(got[0].bytes, b"sw o01 i02");
        assert_eq!(got[1].bytes, b"read");
        let got = a.push(b"r\n");
        assert_eq!(got[0].bytes, b"ver");
        assert!(!got[0].overflow);
        let mut long = vec![b'x'; protocol::MAX_LINE + 10];
        long.push(b'\n');
        let got = a.push(&long);
        assert_eq!(got[0].bytes.len(), protocol::MAX_LINE);
        assert!(got[0].overflow);
        assert!(!a.push(b"ver\n")[0].overflow);
    }
}

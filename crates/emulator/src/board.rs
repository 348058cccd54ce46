//! The board MCU's state and command interpreter, without any I/O.
//!
//! [`BoardState`] keeps what the real MCU keeps: the physical world it senses
//! (sources with signal, HDCP and timing; displays; audio jacks) and the
//! settings the host gave it (routes, output settings, layouts, names, OSD,
//! ...). [`BoardState::execute`] answers a parsed command line exactly as the
//! protocol document says; [`BoardState::apply_change`] changes the
//! physical world and returns the notifications the MCU sends for it.

use serde::Serialize;
use std::collections::BTreeMap;
use vp2730_hal::protocol::{self, InputReport, Notification, OutputReport, Report, Request};
use vp2730_hal::{bmp, Capture, Hdcp, OutputFlag, VideoCommand, Window};

/// Width and height of capture frames (thumbnails and snapshots).
pub const CAPTURE_SIZE: (u32, u32) = (160, 90);
/// Timing a freshly plugged source reports.
pub const DEFAULT_TIMING: &str = "1920x1080@60";
/// Highest scaler resolution id (the profile's table has 150 entries).
pub const MAX_RESOLUTION: u16 = 149;
/// Highest layout slot and window z-order.
pub const MAX_LAYOUT: u8 = 15;
/// Windows per layout.
pub const MAX_WINDOWS: usize = 16;
/// Longest text field (name, banner) in bytes.
pub const MAX_TEXT: usize = 255;

fn hdcp_str<S: serde::Serializer>(h: &Hdcp, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(match h {
        Hdcp::None => "none",
        Hdcp::V14 => "1.4",
        Hdcp::V22 => "2.2",
    })
}

/// One input port as the board senses it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct InputPort {
    /// Port number, 1-based.
    pub port: u8,
    /// A source is connected (+5 V / HPD).
    pub plugged: bool,
    /// Its signal is locked.
    pub locked: bool,
    /// HDCP of the source's content.
    #[serde(serialize_with = "hdcp_str")]
    pub hdcp: Hdcp,
    /// The source's timing, reported while locked.
    pub timing: String,
}

impl InputPort {
    fn report(&self) -> Report {
        Report::Input(InputReport {
            port: self.port,
            plugged: self.plugged,
            locked: self.locked,
            hdcp: if self.plugged { self.hdcp } else { Hdcp::None },
            timing: (self.plugged && self.locked).then(|| self.timing.clone()),
        })
    }

    /// A usable picture is there.
    pub fn signal(&self) -> bool {
        self.plugged && self.locked
    }
}

/// What the board senses (survives a reboot: cables stay plugged).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Physical {
    /// Input ports in port order.
    pub inputs: Vec<InputPort>,
    /// Output port → display connected.
    pub outputs: BTreeMap<u8, bool>,
    /// Codec channel → jack plugged.
    pub jacks: BTreeMap<u8, bool>,
}

/// Settings of one output port.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OutputSettings {
    /// Input shown (`sw`); `None`: no source.
    pub route: Option<u8>,
    /// Scaler resolution id (`res`).
    pub resolution: u16,
    /// Forced HDCP on the link (`fixhdcp`).
    pub fix_hdcp: bool,
    /// OSD overlay (`osd`).
    pub osd: bool,
    /// Black output (`blank`).
    pub blank: bool,
    /// Frozen frame (`freeze`).
    pub freeze: bool,
    /// Aspect handling (`fit`).
    pub fit: u8,
    /// Auto-switching on hot-plug (`auto`).
    pub auto_enabled: bool,
    /// Auto-switch mode on plug-in.
    pub auto_plugin: u8,
    /// Auto-switch mode on plug-out.
    pub auto_plugout: u8,
    /// Streaming to the network (`live`).
    pub live: bool,
}

/// One window of a stored layout (serialisable mirror of [`Window`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct WindowState {
    /// View number within the layout.
    pub view: u8,
    /// Input shown, 0 for none.
    pub input_port: u8,
    /// Left edge, thousandths of the output width.
    pub x: u16,
    /// Top edge, thousandths of the output height.
    pub y: u16,
    /// Width, thousandths.
    pub w: u16,
    /// Height, thousandths.
    pub h: u16,
    /// Stacking order, 0 at the bottom.
    pub z: u8,
}

impl From<&Window> for WindowState {
    fn from(w: &Window) -> Self {
        WindowState {
            view: w.view,
            input_port: w.input_port,
            x: w.x,
            y: w.y,
            w: w.w,
            h: w.h,
            z: w.z,
        }
    }
}

/// A stored multiview layout.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LayoutState {
    /// The view that gets the main audio / focus.
    pub main_view: Option<u8>,
    /// The windows, as set.
    pub windows: Vec<WindowState>,
}

/// OSD settings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OsdState {
    /// Labels on multiview windows.
    pub labels: bool,
    /// System event banners.
    pub system_events: bool,
    /// Interactive event banners.
    pub interactive_events: bool,
    /// OSD language (`en_US`).
    pub language: String,
}

/// Room banner.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BannerState {
    /// Room name.
    pub name: String,
    /// Room code, when verification is on.
    pub code: Option<String>,
    /// Show how to join.
    pub link_info: bool,
}

/// Everything the host set (lost on reboot).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Settings {
    /// Per output port.
    pub outputs: BTreeMap<u8, OutputSettings>,
    /// Multiview layout slots that were set.
    pub layouts: BTreeMap<u8, LayoutState>,
    /// Layout shown (`mv`); `None`: single view.
    pub active_layout: Option<u8>,
    /// Input names set by the host (factory names are not listed).
    pub names: BTreeMap<u8, String>,
    /// Sub-source per input, where set (`src`).
    pub sources: BTreeMap<u8, u8>,
    /// OSD settings (`osdcfg`).
    pub osd: OsdState,
    /// Room banner (`banner`), once set.
    pub banner: Option<BannerState>,
    /// EDID mode (`edid`).
    pub edid_mode: u8,
    /// Input stream mode (`stream`).
    pub input_stream: u8,
}

impl Settings {
    /// What the MCU holds after a power-on: output N shows input N, the
    /// first timing, no multiview, OSD on.
    pub fn factory(outputs: impl Iterator<Item = u8>) -> Self {
        Settings {
            outputs: outputs
                .map(|p| {
                    (
                        p,
                        OutputSettings {
                            route: Some(p),
                            resolution: 17,
                            fix_hdcp: false,
                            osd: true,
                            blank: false,
                            freeze: false,
                            fit: 2,
                            auto_enabled: false,
                            auto_plugin: 1,
                            auto_plugout: 1,
                            live: false,
                        },
                    )
                })
                .collect(),
            layouts: BTreeMap::new(),
            active_layout: None,
            names: BTreeMap::new(),
            sources: BTreeMap::new(),
            osd: OsdState {
                labels: true,
                system_events: true,
                interactive_events: true,
                language: "en_US".into(),
            },
            banner: None,
            edid_mode: 1,
            input_stream: 1,
        }
    }
}

/// A change in the physical world (a technician with cables).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// A source is connected and its signal locks, with this HDCP.
    Plug {
        /// Input port.
        port: u8,
        /// HDCP of the source.
        hdcp: Hdcp,
    },
    /// The source is disconnected.
    Unplug {
        /// Input port.
        port: u8,
    },
    /// The source stays connected but its signal is lost or regained.
    Signal {
        /// Input port.
        port: u8,
        /// Signal locked.
        locked: bool,
    },
    /// The source changes its timing (a resolution change).
    Timing {
        /// Input port.
        port: u8,
        /// `WIDTHxHEIGHT@RATE`.
        timing: String,
    },
    /// A display is connected or disconnected.
    Sink {
        /// Output port.
        port: u8,
        /// Display connected.
        connected: bool,
    },
    /// An analogue audio jack is plugged or pulled.
    Jack {
        /// Codec channel.
        channel: u8,
        /// Jack plugged.
        connected: bool,
    },
}

/// The MCU: physical world + settings + firmware identity.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BoardState {
    /// What it senses.
    pub physical: Physical,
    /// What it was told.
    pub settings: Settings,
    /// Firmware version (`ver`, boot banner).
    pub firmware: String,
    /// Board revision (`ver`, boot banner).
    pub board_version: String,
    /// Boots so far (1 after the first power-on).
    pub boots: u32,
}

fn refuse() -> Vec<String> {
    vec![protocol::INCORRECT.to_string()]
}

impl BoardState {
    /// A powered-on board with factory settings.
    pub fn new(physical: Physical, firmware: String, board_version: String) -> Self {
        let settings = Settings::factory(physical.outputs.keys().copied());
        BoardState {
            physical,
            settings,
            firmware,
            board_version,
            boots: 1,
        }
    }

    /// The MCU restarts: settings back to factory, the physical world as it
    /// is. Returns the boot banner.
    pub fn reboot(&mut self) -> String {
        self.settings = Settings::factory(self.physical.outputs.keys().copied());
        self.boots += 1;
        self.banner()
    }

    /// The boot banner line.
    pub fn banner(&self) -> String {
        Notification::Boot(self.version()).encode()
    }

    fn version(&self) -> protocol::Version {
        protocol::Version {
            firmware: self.firmware.clone(),
            board: self.board_version.clone(),
        }
    }

    fn input(&self, port: u8) -> Option<&InputPort> {
        self.physical.inputs.iter().find(|i| i.port == port)
    }

    fn has_input(&self, port: u8) -> bool {
        self.input(port).is_some()
    }

    fn output_report(&self, port: u8) -> Option<Report> {
        let sink = *self.physical.outputs.get(&port)?;
        Some(Report::Output(OutputReport {
            port,
            sink,
            route: self.settings.outputs.get(&port).and_then(|o| o.route),
        }))
    }

    /// The `read` answer's data lines.
    pub fn status_lines(&self) -> Vec<String> {
        let mut lines: Vec<String> = self
            .physical
            .inputs
            .iter()
            .map(|i| i.report().encode())
            .collect();
        lines.extend(
            self.physical
                .outputs
                .keys()
                .filter_map(|p| self.output_report(*p))
                .map(|r| r.encode()),
        );
        lines.extend(self.physical.jacks.iter().map(|(c, j)| {
            Report::Jack {
                channel: *c,
                connected: *j,
            }
            .encode()
        }));
        lines
    }

    /// The frame a capture returns: the source's test pattern, black
    /// without a signal (or on a blanked output).
    pub fn frame(&self, what: Capture) -> Option<Vec<u8>> {
        let (w, h) = CAPTURE_SIZE;
        let (port, signal) = match what {
            Capture::Input(p) => (p, self.input(p)?.signal()),
            Capture::Output(o) => {
                let out = self.settings.outputs.get(&o)?;
                match out.route {
                    Some(p) if !out.blank => {
                        (p, self.input(p).map(|i| i.signal()).unwrap_or(false))
                    }
                    _ => (0, false),
                }
            }
        };
        Some(bmp::test_pattern(w, h, port, signal))
    }

    /// Answers one parsed command line: data lines, then the final line.
    pub fn execute(&mut self, req: &Request) -> Vec<String> {
        let ok = |mut lines: Vec<String>| {
            lines.push(protocol::OK.to_string());
            lines
        };
        match req {
            Request::Set(cmd) => match self.apply(cmd) {
                Ok(()) => ok(Vec::new()),
                Err(_) => refuse(),
            },
            Request::Read => ok(self.status_lines()),
            Request::ReadInput(p) => match self.input(*p) {
                Some(i) => ok(vec![i.report().encode()]),
                None => refuse(),
            },
            Request::ReadOutput(p) => match self.output_report(*p) {
                Some(r) => ok(vec![r.encode()]),
                None => refuse(),
            },
            Request::Version => ok(vec![self.version().encode()]),
            Request::Capture(what) => match self.frame(*what) {
                Some(img) => ok(protocol::encode_capture(&img)),
                None => refuse(),
            },
        }
    }

    fn output_mut(&mut self, port: u8) -> Result<&mut OutputSettings, String> {
        self.settings
            .outputs
            .get_mut(&port)
            .ok_or_else(|| format!("no output {port}"))
    }

    fn text_ok(s: &str) -> Result<(), String> {
        if s.len() > MAX_TEXT {
            return Err("text too long".into());
        }
        Ok(())
    }

    /// Applies one setting, validating it as the MCU does.
    pub fn apply(&mut self, cmd: &VideoCommand) -> Result<(), String> {
        match cmd {
            VideoCommand::Route { output, input } => {
                if let Some(i) = input {
                    if !self.has_input(*i) {
                        return Err(format!("no input {i}"));
                    }
                }
                self.output_mut(*output)?.route = *input;
            }
            VideoCommand::Resolution { output, mode } => {
                if *mode > MAX_RESOLUTION {
                    return Err("no such resolution".into());
                }
                self.output_mut(*output)?.resolution = *mode;
            }
            VideoCommand::Flag { output, flag, on } => {
                let o = self.output_mut(*output)?;
                match flag {
                    OutputFlag::FixHdcp => o.fix_hdcp = *on,
                    OutputFlag::Osd => o.osd = *on,
                    OutputFlag::Blank => o.blank = *on,
                    OutputFlag::Freeze => o.freeze = *on,
                }
            }
            VideoCommand::FitMode { output, mode } => {
                if !(2..=4).contains(mode) {
                    return Err("no such fit mode".into());
                }
                self.output_mut(*output)?.fit = *mode;
            }
            VideoCommand::AutoSwitch {
                output,
                plugin,
                plugout,
                enabled,
            } => {
                if !(1..=2).contains(plugin) || !(1..=3).contains(plugout) {
                    return Err("no such auto-switch mode".into());
                }
                let o = self.output_mut(*output)?;
                o.auto_enabled = *enabled;
                o.auto_plugin = *plugin;
                o.auto_plugout = *plugout;
            }
            VideoCommand::Layout {
                layout,
                main_view,
                windows,
            } => {
                if *layout > MAX_LAYOUT || windows.len() > MAX_WINDOWS {
                    return Err("layout out of range".into());
                }
                for w in windows {
                    if (w.input_port != 0 && !self.has_input(w.input_port))
                        || w.x > 1000
                        || w.y > 1000
                        || w.w > 1000
                        || w.h > 1000
                        || w.z > MAX_LAYOUT
                    {
                        return Err("window out of range".into());
                    }
                }
                if let Some(m) = main_view {
                    if !windows.iter().any(|w| w.view == *m) {
                        return Err("main view is not a window of the layout".into());
                    }
                }
                self.settings.layouts.insert(
                    *layout,
                    LayoutState {
                        main_view: *main_view,
                        windows: windows.iter().map(WindowState::from).collect(),
                    },
                );
            }
            VideoCommand::ActiveLayout { layout } => {
                if layout.is_some_and(|l| l > MAX_LAYOUT) {
                    return Err("layout out of range".into());
                }
                self.settings.active_layout = *layout;
            }
            VideoCommand::InputName { input, name } => {
                if !self.has_input(*input) {
                    return Err(format!("no input {input}"));
                }
                Self::text_ok(name)?;
                self.settings.names.insert(*input, name.clone());
            }
            VideoCommand::InputSource { input, source } => {
                if !self.has_input(*input) || *source > 3 {
                    return Err("no such input source".into());
                }
                self.settings.sources.insert(*input, *source);
            }
            VideoCommand::Osd {
                labels,
                system_events,
                interactive_events,
                language,
            } => {
                if language.is_empty() || language.len() > 16 {
                    return Err("bad language".into());
                }
                self.settings.osd = OsdState {
                    labels: *labels,
                    system_events: *system_events,
                    interactive_events: *interactive_events,
                    language: language.clone(),
                };
            }
            VideoCommand::Banner {
                name,
                code,
                link_info,
            } => {
                Self::text_ok(name)?;
                if code.as_ref().is_some_and(|c| c.len() > 32) {
                    return Err("code too long".into());
                }
                self.settings.banner = Some(BannerState {
                    name: name.clone(),
                    code: code.clone(),
                    link_info: *link_info,
                });
            }
            VideoCommand::EdidMode { mode } => {
                if !(1..=2).contains(mode) {
                    return Err("no such EDID mode".into());
                }
                self.settings.edid_mode = *mode;
            }
            VideoCommand::InputStream { mode } => {
                if !(1..=2).contains(mode) {
                    return Err("no such stream mode".into());
                }
                self.settings.input_stream = *mode;
            }
            VideoCommand::GoLive { output, on } => {
                self.output_mut(*output)?.live = *on;
            }
        }
        Ok(())
    }

    /// Applies a physical change; returns the notification lines the MCU
    /// sends for it (none when nothing it senses changed).
    pub fn apply_change(&mut self, change: &Change) -> Result<Vec<String>, String> {
        let note = match change {
            Change::Plug { port, hdcp } => self.change_input(*port, |p| {
                p.plugged = true;
                p.locked = true;
                p.hdcp = *hdcp;
                Ok(())
            })?,
            Change::Unplug { port } => self.change_input(*port, |p| {
                p.plugged = false;
                p.locked = false;
                p.hdcp = Hdcp::None;
                Ok(())
            })?,
            Change::Signal { port, locked } => self.change_input(*port, |p| {
                if !p.plugged {
                    return Err(format!("nothing plugged into input {}", p.port));
                }
                p.locked = *locked;
                Ok(())
            })?,
            Change::Timing { port, timing } => {
                if timing.is_empty()
                    || !timing
                        .bytes()
                        .all(|b| b.is_ascii_digit() || b"x@.".contains(&b))
                {
                    return Err(format!("bad timing `{timing}`"));
                }
                // Only a locked source has a timing to report.
                self.change_input(*port, |p| {
                    p.timing = timing.clone();
                    Ok(())
                })?
                .filter(|_| self.input(*port).is_some_and(InputPort::signal))
            }
            Change::Sink { port, connected } => {
                let s = self
                    .physical
                    .outputs
                    .get_mut(port)
                    .ok_or_else(|| format!("no output port {port}"))?;
                let was = std::mem::replace(s, *connected);
                if was == *connected {
                    None
                } else {
                    self.output_report(*port)
                }
            }
            Change::Jack { channel, connected } => {
                let j = self
                    .physical
                    .jacks
                    .get_mut(channel)
                    .ok_or_else(|| format!("no jack on channel {channel}"))?;
                let was = std::mem::replace(j, *connected);
                (was != *connected).then_some(Report::Jack {
                    channel: *channel,
                    connected: *connected,
                })
            }
        };
        Ok(note
            .map(|r| Notification::Report(r).encode())
            .into_iter()
            .collect())
    }

    /// Changes one input; its report when what the board senses changed.
    fn change_input(
        &mut self,
        port: u8,
        f: impl FnOnce(&mut InputPort) -> Result<(), String>,
    ) -> Result<Option<Report>, String> {
        let p = self
            .physical
            .inputs
            .iter_mut()
            .find(|i| i.port == port)
            .ok_or_else(|| format!("no input port {port}"))?;
        let before = p.clone();
        f(p)?;
        Ok((*p != before).then(|| p.report()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn board() -> BoardState {
        BoardState::new(
            Physical {
                inputs: (1..=7)
                    .map(|port| InputPort {
                        port,
                        plugged: port <= 2,
                        locked: port <= 2,
                        hdcp: Hdcp::None,
                        timing: DEFAULT_TIMING.into(),
                    })
                    .collect(),
                outputs: [(1, true), (2, true), (3, false)].into(),
                jacks: [(8, true)].into(),
            },
            "1.4.2".into(),
            "A-05".into(),
        )
    }

    fn run(b: &mut BoardState, line: &str) -> Vec<String> {
        match Request::parse(line) {
            Ok(r) => b.execute(&r),
            Err(_) => refuse(),
        }
    }

    #[test]
    fn settings_are_validated_and_kept() {
        let mut b = board();
        assert_eq!(run(&mut b, "sw o02 i05"), ["Command OK"]);
        assert_eq!(b.settings.outputs[&2].route, Some(5));
        assert_eq!(run(&mut b, "sw o04 i05"), ["Command incorrect"]);
        assert_eq!(run(&mut b, "sw o01 i08"), ["Command incorrect"]);
        assert_eq!(run(&mut b, "fit o01 5"), ["Command incorrect"]);
        assert_eq!(run(&mut b, "res o01 150"), ["Command incorrect"]);
        assert_eq!(
            run(&mut b, "layout l01 main v3 v0:i01:0,0,500,500:0"),
            ["Command incorrect"]
        );
        assert_eq!(run(&mut b, "name i01 \"Caf%C3%A9\""), ["Command OK"]);
        assert_eq!(b.settings.names[&1], "Café");
    }

    #[test]
    fn reboot_forgets_settings_but_not_cables() {
        let mut b = board();
        run(&mut b, "sw o01 i02");
        b.apply_change(&Change::Plug {
            port: 5,
            hdcp: Hdcp::V22,
        })
        .unwrap();
        let banner = b.reboot();
        assert!(banner.starts_with("!BOOT VP2730-MCU fw=1.4.2"));
        assert_eq!(b.settings.outputs[&1].route, Some(1));
        assert!(b.physical.inputs[4].signal());
    }

    #[test]
    fn changes_notify_only_when_something_changed() {
        let mut b = board();
        let n = b
            .apply_change(&Change::Plug {
                port: 3,
                hdcp: Hdcp::V14,
            })
            .unwrap();
        assert_eq!(n, ["!i03 plug=1 lock=1 hdcp=1.4 res=1920x1080@60"]);
        assert!(b
            .apply_change(&Change::Plug {
                port: 3,
                hdcp: Hdcp::V14
            })
            .unwrap()
            .is_empty());
        assert_eq!(
            b.apply_change(&Change::Signal {
                port: 3,
                locked: false
            })
            .unwrap(),
            ["!i03 plug=1 lock=0 hdcp=1.4 res=none"]
        );
        assert_eq!(
            b.apply_change(&Change::Sink {
                port: 3,
                connected: true
            })
            .unwrap(),
            ["!o03 sink=1 route=i03"]
        );
        assert!(b.apply_change(&Change::Unplug { port: 9 }).is_err());
    }

    #[test]
    fn status_and_capture_answers() {
        let mut b = board();
        let lines = run(&mut b, "read");
        assert_eq!(lines.len(), 7 + 3 + 1 + 1);
        assert_eq!(lines[0], "i01 plug=1 lock=1 hdcp=none res=1920x1080@60");
        assert_eq!(lines[9], "o03 sink=0 route=i03");
        assert_eq!(lines[10], "a08 jack=1");
        assert_eq!(run(&mut b, "read i09"), ["Command incorrect"]);
        let cap = run(&mut b, "capture o01");
        assert_eq!(cap.last().map(String::as_str), Some("Command OK"));
        let img = protocol::decode_capture(&cap[..cap.len() - 1]).unwrap();
        assert_eq!(img, bmp::test_pattern(160, 90, 1, true));
        run(&mut b, "blank o01 on");
        let cap = run(&mut b, "capture o01");
        let img = protocol::decode_capture(&cap[..cap.len() - 1]).unwrap();
        assert_eq!(img, bmp::test_pattern(160, 90, 0, false));
    }
}

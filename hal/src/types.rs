//! Values exchanged with the hardware. Port and channel numbers are the
//! board's own (1-based ports, codec channel numbers), taken from the device
//! profile; the API's string ids never reach this layer.

/// A hardware failure, as the daemon needs to tell them apart.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HalError {
    /// The part did not answer in time (or is not there).
    #[error("hardware did not answer: {0}")]
    NotResponding(String),
    /// The part answered and refused the command.
    #[error("hardware refused the command: {0}")]
    Rejected(String),
    /// A transport error (serial, i2c, sysfs).
    #[error("hardware I/O error: {0}")]
    Io(String),
}

/// Output flags that are simple on/off switches on the scaler.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OutputFlag {
    /// Force HDCP on the output link even for unprotected content.
    FixHdcp,
    /// On-screen display overlay.
    Osd,
    /// Blank (black) the output.
    Blank,
    /// Freeze the current frame.
    Freeze,
}

/// One window of a multiview layout. Ratios are in thousandths of the
/// output's width/height, which is the board's native precision.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Window {
    pub view: u8,
    pub input_port: u8,
    pub x: u16,
    pub y: u16,
    pub w: u16,
    pub h: u16,
    pub z: u8,
}

/// A setting for the video board MCU.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VideoCommand {
    /// Route an input port to an output port (`None`: no source).
    Route { output: u8, input: Option<u8> },
    /// Output timing, by scaler resolution id.
    Resolution { output: u8, mode: u16 },
    /// One of the on/off output switches.
    Flag {
        output: u8,
        flag: OutputFlag,
        on: bool,
    },
    /// Aspect handling (2 scale to whole output, 3 fit, 4 cut).
    FitMode { output: u8, mode: u8 },
    /// Auto-switching on hot-plug (modes: 1 off, 2 auto, 3 auto back to the last source).
    AutoSwitch {
        output: u8,
        plugin: u8,
        plugout: u8,
        enabled: bool,
    },
    /// Content and geometry of a multiview layout slot.
    Layout {
        layout: u8,
        main_view: Option<u8>,
        windows: Vec<Window>,
    },
    /// Which layout the multiview engine shows (`None`: single view).
    ActiveLayout { layout: Option<u8> },
    /// Input label shown on the OSD and multiview windows.
    InputName { input: u8, name: String },
    /// Sub-source of an input port.
    InputSource { input: u8, source: u8 },
    /// OSD: multiview labels, notification banners, language.
    Osd {
        labels: bool,
        system_events: bool,
        interactive_events: bool,
        language: String,
    },
    /// Room banner on the OSD: name and, when link info is on, how to join.
    Banner {
        name: String,
        code: Option<String>,
        link_info: bool,
    },
    /// EDID mode (1 ATEN, 2 port 1).
    EdidMode { mode: u8 },
    /// Input stream mode (1 static, 2 dynamic).
    InputStream { mode: u8 },
    /// Start or stop streaming an output to the network.
    GoLive { output: u8, on: bool },
}

/// A setting for the audio codec.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AudioCommand {
    Volume { channel: u8, level: u8 },
    Gain { channel: u8, gain: u8 },
    Mute { channel: u8, muted: bool },
}

/// Any hardware setting.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    Video(VideoCommand),
    Audio(AudioCommand),
}

/// HDCP state of a source, as the receiver reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Hdcp {
    None,
    V14,
    V22,
}

/// What the board sees on one input port.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InputStatus {
    pub port: u8,
    /// A source is plugged in and its signal is locked.
    pub signal: bool,
    pub hdcp: Hdcp,
}

/// What the board sees on one output port.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OutputStatus {
    pub port: u8,
    /// A display (sink) is connected.
    pub sink: bool,
}

/// Everything the board reports at once.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct VideoStatus {
    pub inputs: Vec<InputStatus>,
    pub outputs: Vec<OutputStatus>,
    /// Jack sense of the analogue audio ports, by codec channel.
    pub audio_jacks: Vec<(u8, bool)>,
}

/// What to grab a frame of.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Capture {
    Input(u8),
    Output(u8),
}

/// Unsolicited notification from the hardware.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HwEvent {
    /// An input's signal or HDCP state changed.
    Input(InputStatus),
    /// An output's sink was connected or disconnected.
    Output(OutputStatus),
    /// An analogue audio jack changed.
    AudioJack { channel: u8, connected: bool },
    /// The board restarted and lost its settings: the daemon re-applies them.
    Reset,
}

/// Read-back of one codec channel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ChannelState {
    pub volume: u8,
    pub gain: u8,
    pub muted: bool,
}

/// Identity burnt into the board.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BoardIdentity {
    pub serial_number: String,
    pub board_version: String,
}

/// Front-panel status LEDs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Led {
    Power,
    Live,
    Error,
}

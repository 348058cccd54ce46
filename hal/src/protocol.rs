//! The video board's wire protocol: line-based ASCII over the UART, as
//! specified in `docs/hardware/video-board.md`.
//!
//! This module is the single place that turns [`VideoCommand`]s into command
//! lines and board lines back into values, so the UART driver
//! ([`crate::video_uart`]) and the board emulator (`vp2730-sim`) cannot drift
//! apart. Its tests pin the exact strings of the document, so a change here
//! that both sides would silently agree on still fails a test.
//!
//! Summary of the framing (the document has the details):
//!
//! * the host sends one command per line, terminated by CR LF;
//! * the board echoes each received line, then answers with optional data
//!   lines and a final [`OK`] or [`INCORRECT`] line;
//! * unsolicited notifications start with [`NOTIFY`] (`!`), which no echo,
//!   data or final line ever does;
//! * the boot banner is the notification `!BOOT ...` and means the board
//!   restarted and lost its settings.

use crate::{Capture, Hdcp, HwEvent, InputStatus, OutputFlag, OutputStatus, VideoCommand, Window};
use base64::Engine as _;
use std::fmt::Write as _;

/// Factory baud rate of the board UART (8N1, no flow control).
pub const DEFAULT_BAUD: u32 = 19_200;
/// The board's receive line buffer, CR LF included: a longer line is
/// refused, so the driver refuses to send one.
pub const MAX_LINE: usize = 1024;
/// Final line of an accepted command.
pub const OK: &str = "Command OK";
/// Final line of a command the board could not parse or refused.
pub const INCORRECT: &str = "Command incorrect";
/// First character of every unsolicited notification.
pub const NOTIFY: char = '!';
/// The boot banner's marker; the board sends it (after a CR LF that ends any
/// half line) every time it starts.
pub const BOOT: &str = "!BOOT";
/// Base64 characters per capture data line.
pub const CAPTURE_LINE_CHARS: usize = 76;
/// Largest capture the protocol carries, so a garbled header cannot make the
/// receiver reserve unbounded memory.
pub const MAX_CAPTURE_BYTES: usize = 4 << 20;

/// A line that does not follow the protocol.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ParseError(pub String);

fn bad(what: impl Into<String>) -> ParseError {
    ParseError(what.into())
}

/// Everything the host can send, as the board understands it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Request {
    /// A setting (one line per [`VideoCommand`] variant).
    Set(VideoCommand),
    /// `read`: the status of every port (multi-line answer).
    Read,
    /// `read iNN`: one input's status (single-line answer).
    ReadInput(u8),
    /// `read oNN`: one output's status (single-line answer).
    ReadOutput(u8),
    /// `ver`: firmware and board revision (single-line answer).
    Version,
    /// `capture iNN` / `capture oNN`: one frame as a BMP.
    Capture(Capture),
}

fn out(port: u8) -> String {
    format!("o{port:02}")
}

fn inp(port: u8) -> String {
    format!("i{port:02}")
}

fn on_off(on: bool) -> &'static str {
    if on {
        "on"
    } else {
        "off"
    }
}

fn flag_keyword(flag: OutputFlag) -> &'static str {
    match flag {
        OutputFlag::FixHdcp => "fixhdcp",
        OutputFlag::Osd => "osd",
        OutputFlag::Blank => "blank",
        OutputFlag::Freeze => "freeze",
    }
}

fn window_token(w: &Window) -> String {
    let src = if w.input_port == 0 {
        "off".to_string()
    } else {
        inp(w.input_port)
    };
    format!(
        "v{}:{}:{},{},{},{}:{}",
        w.view, src, w.x, w.y, w.w, w.h, w.z
    )
}

/// Encodes free text (names, language, banner) as one token: a double quote,
/// the UTF-8 bytes with everything but `A-Z a-z 0-9 - . _ ~` written as
/// `%XX` (upper-case hex), and a closing double quote. The token never holds
/// a space, a quote, a `!` or a non-ASCII byte, so it survives any 7-bit
/// link and never splits a line; `""` is the empty string.
pub fn encode_text(s: &str) -> String {
    let mut t = String::with_capacity(s.len() + 2);
    t.push('"');
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            t.push(char::from(b));
        } else {
            let _ = write!(t, "%{b:02X}");
        }
    }
    t.push('"');
    t
}

/// Decodes a token written by [`encode_text`]. Strict: a literal byte that
/// should have been escaped, a bad escape or invalid UTF-8 is an error, so
/// a garbled token is refused rather than stored.
pub fn decode_text(tok: &str) -> Result<String, ParseError> {
    let inner = tok
        .strip_prefix('"')
        .and_then(|t| t.strip_suffix('"'))
        .ok_or_else(|| bad(format!("text token not quoted: {tok}")))?;
    let bytes = inner.as_bytes();
    let mut outb = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if b == b'%' {
            let hex = inner
                .get(i + 1..i + 3)
                .ok_or_else(|| bad("truncated %-escape"))?;
            if !hex
                .bytes()
                .all(|c| c.is_ascii_digit() || (b'A'..=b'F').contains(&c))
            {
                return Err(bad(format!("bad %-escape %{hex}")));
            }
            outb.push(u8::from_str_radix(hex, 16).map_err(|_| bad("bad %-escape"))?);
            i += 3;
        } else if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            outb.push(b);
            i += 1;
        } else {
            return Err(bad(format!("unescaped byte 0x{b:02X} in text")));
        }
    }
    String::from_utf8(outb).map_err(|_| bad("text is not UTF-8"))
}

impl Request {
    /// The command line for this request, without the CR LF.
    pub fn encode(&self) -> String {
        match self {
            Request::Set(cmd) => encode_command(cmd),
            Request::Read => "read".into(),
            Request::ReadInput(p) => format!("read {}", inp(*p)),
            Request::ReadOutput(p) => format!("read {}", out(*p)),
            Request::Version => "ver".into(),
            Request::Capture(Capture::Input(p)) => format!("capture {}", inp(*p)),
            Request::Capture(Capture::Output(p)) => format!("capture {}", out(*p)),
        }
    }

    /// Parses a received command line (without CR LF), as the board does.
    /// Only the syntax is checked here; ranges (which ports exist, which
    /// modes a port takes) are the board's business.
    pub fn parse(line: &str) -> Result<Request, ParseError> {
        let t: Vec<&str> = line.split(' ').filter(|s| !s.is_empty()).collect();
        let arg = |i: usize| -> Result<&str, ParseError> {
            t.get(i).copied().ok_or_else(|| bad("missing argument"))
        };
        let arity = |n: usize| -> Result<(), ParseError> {
            if t.len() == n {
                Ok(())
            } else {
                Err(bad(format!("expected {} arguments", n.saturating_sub(1))))
            }
        };
        let keyword = *t.first().ok_or_else(|| bad("empty line"))?;
        let set = |c: VideoCommand| Ok(Request::Set(c));
        match keyword {
            "sw" => {
                arity(3)?;
                let output = port(arg(1)?, 'o')?;
                let input = match arg(2)? {
                    "off" => None,
                    p => Some(port(p, 'i')?),
                };
                set(VideoCommand::Route { output, input })
            }
            "res" => {
                arity(3)?;
                set(VideoCommand::Resolution {
                    output: port(arg(1)?, 'o')?,
                    mode: number(arg(2)?)?,
                })
            }
            "fixhdcp" | "osd" | "blank" | "freeze" => {
                arity(3)?;
                let flag = match keyword {
                    "fixhdcp" => OutputFlag::FixHdcp,
                    "osd" => OutputFlag::Osd,
                    "blank" => OutputFlag::Blank,
                    _ => OutputFlag::Freeze,
                };
                set(VideoCommand::Flag {
                    output: port(arg(1)?, 'o')?,
                    flag,
                    on: switch(arg(2)?)?,
                })
            }
            "fit" => {
                arity(3)?;
                set(VideoCommand::FitMode {
                    output: port(arg(1)?, 'o')?,
                    mode: number(arg(2)?)?,
                })
            }
            "auto" => {
                arity(5)?;
                set(VideoCommand::AutoSwitch {
                    output: port(arg(1)?, 'o')?,
                    enabled: switch(arg(2)?)?,
                    plugin: number(arg(3)?)?,
                    plugout: number(arg(4)?)?,
                })
            }
            "layout" => {
                if t.len() < 4 || arg(2)? != "main" {
                    return Err(bad("layout: expected `layout lNN main vN|off [windows]`"));
                }
                let layout = port(arg(1)?, 'l')?;
                let main_view = match arg(3)? {
                    "off" => None,
                    v => Some(port(v, 'v')?),
                };
                let windows = t[4..]
                    .iter()
                    .map(|w| parse_window(w))
                    .collect::<Result<Vec<_>, _>>()?;
                set(VideoCommand::Layout {
                    layout,
                    main_view,
                    windows,
                })
            }
            "mv" => {
                arity(2)?;
                let layout = match arg(1)? {
                    "off" => None,
                    l => Some(port(l, 'l')?),
                };
                set(VideoCommand::ActiveLayout { layout })
            }
            "name" => {
                arity(3)?;
                set(VideoCommand::InputName {
                    input: port(arg(1)?, 'i')?,
                    name: decode_text(arg(2)?)?,
                })
            }
            "src" => {
                arity(3)?;
                set(VideoCommand::InputSource {
                    input: port(arg(1)?, 'i')?,
                    source: number(arg(2)?)?,
                })
            }
            "osdcfg" => {
                arity(5)?;
                set(VideoCommand::Osd {
                    labels: switch(arg(1)?)?,
                    system_events: switch(arg(2)?)?,
                    interactive_events: switch(arg(3)?)?,
                    language: decode_text(arg(4)?)?,
                })
            }
            "banner" => {
                arity(4)?;
                let code = match arg(2)? {
                    "off" => None,
                    c => Some(decode_text(c)?),
                };
                set(VideoCommand::Banner {
                    name: decode_text(arg(1)?)?,
                    code,
                    link_info: switch(arg(3)?)?,
                })
            }
            "edid" => {
                arity(2)?;
                set(VideoCommand::EdidMode {
                    mode: number(arg(1)?)?,
                })
            }
            "stream" => {
                arity(2)?;
                set(VideoCommand::InputStream {
                    mode: number(arg(1)?)?,
                })
            }
            "live" => {
                arity(3)?;
                set(VideoCommand::GoLive {
                    output: port(arg(1)?, 'o')?,
                    on: switch(arg(2)?)?,
                })
            }
            "read" => match t.len() {
                1 => Ok(Request::Read),
                2 => {
                    let a = arg(1)?;
                    if a.starts_with('i') {
                        Ok(Request::ReadInput(port(a, 'i')?))
                    } else {
                        Ok(Request::ReadOutput(port(a, 'o')?))
                    }
                }
                _ => Err(bad("read: too many arguments")),
            },
            "ver" => {
                arity(1)?;
                Ok(Request::Version)
            }
            "capture" => {
                arity(2)?;
                let a = arg(1)?;
                if a.starts_with('i') {
                    Ok(Request::Capture(Capture::Input(port(a, 'i')?)))
                } else {
                    Ok(Request::Capture(Capture::Output(port(a, 'o')?)))
                }
            }
            other => Err(bad(format!("unknown command `{other}`"))),
        }
    }
}

/// The command line of one setting, without the CR LF.
pub fn encode_command(cmd: &VideoCommand) -> String {
    match cmd {
        VideoCommand::Route { output, input } => format!(
            "sw {} {}",
            out(*output),
            input.map(inp).unwrap_or_else(|| "off".into())
        ),
        VideoCommand::Resolution { output, mode } => format!("res {} {mode}", out(*output)),
        VideoCommand::Flag { output, flag, on } => {
            format!("{} {} {}", flag_keyword(*flag), out(*output), on_off(*on))
        }
        VideoCommand::FitMode { output, mode } => format!("fit {} {mode}", out(*output)),
        VideoCommand::AutoSwitch {
            output,
            plugin,
            plugout,
            enabled,
        } => format!(
            "auto {} {} {plugin} {plugout}",
            out(*output),
            on_off(*enabled)
        ),
        VideoCommand::Layout {
            layout,
            main_view,
            windows,
        } => {
            let mut s = format!(
                "layout l{layout:02} main {}",
                main_view
                    .map(|v| format!("v{v}"))
                    .unwrap_or_else(|| "off".into())
            );
            for w in windows {
                s.push(' ');
                s.push_str(&window_token(w));
            }
            s
        }
        VideoCommand::ActiveLayout { layout } => match layout {
            Some(l) => format!("mv l{l:02}"),
            None => "mv off".into(),
        },
        VideoCommand::InputName { input, name } => {
            format!("name {} {}", inp(*input), encode_text(name))
        }
        VideoCommand::InputSource { input, source } => format!("src {} {source}", inp(*input)),
        VideoCommand::Osd {
            labels,
            system_events,
            interactive_events,
            language,
        } => format!(
            "osdcfg {} {} {} {}",
            on_off(*labels),
            on_off(*system_events),
            on_off(*interactive_events),
            encode_text(language)
        ),
        VideoCommand::Banner {
            name,
            code,
            link_info,
        } => format!(
            "banner {} {} {}",
            encode_text(name),
            code.as_deref()
                .map(encode_text)
                .unwrap_or_else(|| "off".into()),
            on_off(*link_info)
        ),
        VideoCommand::EdidMode { mode } => format!("edid {mode}"),
        VideoCommand::InputStream { mode } => format!("stream {mode}"),
        VideoCommand::GoLive { output, on } => format!("live {} {}", out(*output), on_off(*on)),
    }
}

/// `<prefix><decimal>`, 1 to 3 digits, 0-255.
fn port(tok: &str, prefix: char) -> Result<u8, ParseError> {
    let digits = tok
        .strip_prefix(prefix)
        .ok_or_else(|| bad(format!("expected {prefix}NN, got `{tok}`")))?;
    if digits.is_empty() || digits.len() > 3 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad(format!("bad number in `{tok}`")));
    }
    digits
        .parse()
        .map_err(|_| bad(format!("number out of range in `{tok}`")))
}

fn number<T: std::str::FromStr>(tok: &str) -> Result<T, ParseError> {
    if tok.is_empty() || tok.len() > 10 || !tok.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad(format!("bad number `{tok}`")));
    }
    tok.parse()
        .map_err(|_| bad(format!("number out of range `{tok}`")))
}

fn switch(tok: &str) -> Result<bool, ParseError> {
    match tok {
        "on" => Ok(true),
        "off" => Ok(false),
        _ => Err(bad(format!("expected on/off, got `{tok}`"))),
    }
}

fn parse_window(tok: &str) -> Result<Window, ParseError> {
    let mut parts = tok.split(':');
    let (Some(v), Some(src), Some(rect), Some(z), None) = (
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
    ) else {
        return Err(bad(format!("bad window `{tok}`")));
    };
    let view = port(v, 'v')?;
    let input_port = if src == "off" { 0 } else { port(src, 'i')? };
    let r: Vec<u16> = rect
        .split(',')
        .map(number::<u16>)
        .collect::<Result<_, _>>()?;
    let [x, y, w, h] = r[..] else {
        return Err(bad(format!("bad window geometry `{rect}`")));
    };
    Ok(Window {
        view,
        input_port,
        x,
        y,
        w,
        h,
        z: number(z)?,
    })
}

// ---------------------------------------------------------------------------
// Board → host: status lines, notifications, capture frames.

/// What the board reports about one input port.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InputReport {
    /// Input port, 1-based.
    pub port: u8,
    /// +5 V / hot-plug seen: a source is connected.
    pub plugged: bool,
    /// The receiver has locked onto the source's signal.
    pub locked: bool,
    /// HDCP of the content (`none` when unplugged).
    pub hdcp: Hdcp,
    /// Detected timing (`1920x1080@60`), when locked.
    pub timing: Option<String>,
}

impl InputReport {
    /// The HAL's view: a usable signal is a plugged and locked source.
    pub fn status(&self) -> InputStatus {
        InputStatus {
            port: self.port,
            signal: self.plugged && self.locked,
            hdcp: self.hdcp,
        }
    }
}

/// What the board reports about one output port.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutputReport {
    /// Output port, 1-based.
    pub port: u8,
    /// A display's hot-plug line is high.
    pub sink: bool,
    /// The input routed to it, if any.
    pub route: Option<u8>,
}

/// One status line (`read` answers and `!` notifications share the form).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Report {
    /// `iNN ...`
    Input(InputReport),
    /// `oNN ...`
    Output(OutputReport),
    /// `aNN jack=B`: jack sense of an analogue audio port, by codec channel.
    Jack {
        /// Codec channel.
        channel: u8,
        /// Something is plugged into the jack.
        connected: bool,
    },
}

fn hdcp_text(h: Hdcp) -> &'static str {
    match h {
        Hdcp::None => "none",
        Hdcp::V14 => "1.4",
        Hdcp::V22 => "2.2",
    }
}

fn parse_hdcp(s: &str) -> Result<Hdcp, ParseError> {
    match s {
        "none" => Ok(Hdcp::None),
        "1.4" => Ok(Hdcp::V14),
        "2.2" => Ok(Hdcp::V22),
        _ => Err(bad(format!("bad hdcp `{s}`"))),
    }
}

fn bit(s: &str) -> Result<bool, ParseError> {
    match s {
        "1" => Ok(true),
        "0" => Ok(false),
        _ => Err(bad(format!("expected 0/1, got `{s}`"))),
    }
}

/// `key=value` pairs after the port token. Unknown keys are skipped so a
/// newer board firmware can add fields.
fn fields<'a>(tokens: &[&'a str]) -> Result<Vec<(&'a str, &'a str)>, ParseError> {
    tokens
        .iter()
        .map(|t| {
            t.split_once('=')
                .ok_or_else(|| bad(format!("bad field `{t}`")))
        })
        .collect()
}

fn field<'a>(f: &[(&'a str, &'a str)], key: &str) -> Result<&'a str, ParseError> {
    f.iter()
        .find(|(k, _)| *k == key)
        .map(|(_, v)| *v)
        .ok_or_else(|| bad(format!("missing field `{key}`")))
}

impl Report {
    /// The status line, without the CR LF (and without the `!` of a
    /// notification).
    pub fn encode(&self) -> String {
        match self {
            Report::Input(r) => format!(
                "{} plug={} lock={} hdcp={} res={}",
                inp(r.port),
                u8::from(r.plugged),
                u8::from(r.locked),
                hdcp_text(r.hdcp),
                r.timing.as_deref().unwrap_or("none")
            ),
            Report::Output(r) => format!(
                "{} sink={} route={}",
                out(r.port),
                u8::from(r.sink),
                r.route.map(inp).unwrap_or_else(|| "off".into())
            ),
            Report::Jack { channel, connected } => {
                format!("a{channel:02} jack={}", u8::from(*connected))
            }
        }
    }

    /// Parses a status line (without `!`).
    pub fn parse(line: &str) -> Result<Report, ParseError> {
        let t: Vec<&str> = line.split(' ').filter(|s| !s.is_empty()).collect();
        let first = *t.first().ok_or_else(|| bad("empty status line"))?;
        let f = fields(&t[1..])?;
        match first.as_bytes().first() {
            Some(b'i') => {
                let timing = match field(&f, "res")? {
                    "none" => None,
                    r if !r.is_empty()
                        && r.bytes().all(|b| b.is_ascii_digit() || b"x@.".contains(&b)) =>
                    {
                        Some(r.to_string())
                    }
                    r => return Err(bad(format!("bad timing `{r}`"))),
                };
                Ok(Report::Input(InputReport {
                    port: port(first, 'i')?,
                    plugged: bit(field(&f, "plug")?)?,
                    locked: bit(field(&f, "lock")?)?,
                    hdcp: parse_hdcp(field(&f, "hdcp")?)?,
                    timing,
                }))
            }
            Some(b'o') => Ok(Report::Output(OutputReport {
                port: port(first, 'o')?,
                sink: bit(field(&f, "sink")?)?,
                route: match field(&f, "route")? {
                    "off" => None,
                    r => Some(port(r, 'i')?),
                },
            })),
            Some(b'a') => Ok(Report::Jack {
                channel: port(first, 'a')?,
                connected: bit(field(&f, "jack")?)?,
            }),
            _ => Err(bad(format!("unknown status line `{line}`"))),
        }
    }

    /// The HAL event this report is, when it arrives as a notification.
    pub fn event(&self) -> HwEvent {
        match self {
            Report::Input(r) => HwEvent::Input(r.status()),
            Report::Output(r) => HwEvent::Output(OutputStatus {
                port: r.port,
                sink: r.sink,
            }),
            Report::Jack { channel, connected } => HwEvent::AudioJack {
                channel: *channel,
                connected: *connected,
            },
        }
    }
}

/// Firmware identity, the answer to `ver` and the body of the boot banner.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Version {
    /// MCU firmware version.
    pub firmware: String,
    /// Board revision.
    pub board: String,
}

impl Version {
    /// `VP2730-MCU fw=<firmware> board=<board>`.
    pub fn encode(&self) -> String {
        format!("VP2730-MCU fw={} board={}", self.firmware, self.board)
    }

    /// Parses the form [`Version::encode`] writes.
    pub fn parse(line: &str) -> Result<Version, ParseError> {
        let t: Vec<&str> = line.split(' ').filter(|s| !s.is_empty()).collect();
        if t.first() != Some(&"VP2730-MCU") {
            return Err(bad(format!("bad version line `{line}`")));
        }
        let f = fields(&t[1..])?;
        Ok(Version {
            firmware: field(&f, "fw")?.to_string(),
            board: field(&f, "board")?.to_string(),
        })
    }
}

/// An unsolicited line from the board.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Notification {
    /// A port changed: `!` followed by its status line.
    Report(Report),
    /// `!BOOT VP2730-MCU fw=... board=...`: the board (re)started with
    /// factory settings.
    Boot(Version),
}

impl Notification {
    /// The notification line, without the CR LF.
    pub fn encode(&self) -> String {
        match self {
            Notification::Report(r) => format!("{NOTIFY}{}", r.encode()),
            Notification::Boot(v) => format!("{BOOT} {}", v.encode()),
        }
    }

    /// Parses a line that starts with `!`. A boot banner is also recognised
    /// after leading noise (the board may have been cut off mid-line by its
    /// own reset); any other notification must be the whole line.
    pub fn parse(line: &str) -> Result<Notification, ParseError> {
        if let Some(at) = line.find(BOOT) {
            let rest = &line[at + BOOT.len()..];
            let version = Version::parse(rest.trim_start()).unwrap_or(Version {
                firmware: String::new(),
                board: String::new(),
            });
            return Ok(Notification::Boot(version));
        }
        let body = line
            .strip_prefix(NOTIFY)
            .ok_or_else(|| bad("not a notification"))?;
        Ok(Notification::Report(Report::parse(body)?))
    }

    /// The HAL event this notification is.
    pub fn event(&self) -> HwEvent {
        match self {
            Notification::Report(r) => r.event(),
            Notification::Boot(_) => HwEvent::Reset,
        }
    }
}

/// What the board echoes for a received line: printable ASCII kept, every
/// other byte replaced by `?`, and a leading `!` replaced by `?` so an echo
/// can never look like a notification.
pub fn echo_of(received: &[u8]) -> String {
    let mut s: String = received
        .iter()
        .map(|&b| {
            if (0x20..=0x7E).contains(&b) {
                char::from(b)
            } else {
                '?'
            }
        })
        .collect();
    if s.starts_with(NOTIFY) {
        s.replace_range(..1, "?");
    }
    s
}

/// The data lines of a capture answer: the header `BMP <bytes> <crc32>`
/// (CRC-32/ISO-HDLC of the image, 8 upper-case hex digits), then the image
/// in standard base64 with padding, [`CAPTURE_LINE_CHARS`] characters per
/// line.
pub fn encode_capture(image: &[u8]) -> Vec<String> {
    let b64 = base64::engine::general_purpose::STANDARD.encode(image);
    let mut lines = Vec::with_capacity(2 + b64.len() / CAPTURE_LINE_CHARS);
    lines.push(format!(
        "BMP {} {:08X}",
        image.len(),
        crc32fast::hash(image)
    ));
    let mut rest = b64.as_str();
    while !rest.is_empty() {
        let (chunk, tail) = rest.split_at(rest.len().min(CAPTURE_LINE_CHARS));
        lines.push(chunk.to_string());
        rest = tail;
    }
    lines
}

/// Reassembles and checks a capture from its data lines (header first).
/// Any mismatch (length, checksum, alphabet, line width) is an error: the
/// caller asks again rather than serve a corrupt image.
pub fn decode_capture(lines: &[String]) -> Result<Vec<u8>, ParseError> {
    let (header, data) = lines
        .split_first()
        .ok_or_else(|| bad("capture: no header"))?;
    let h: Vec<&str> = header.split(' ').collect();
    let [tag, len, crc] = h[..] else {
        return Err(bad(format!("capture: bad header `{header}`")));
    };
    if tag != "BMP" {
        return Err(bad(format!("capture: bad header `{header}`")));
    }
    let len: usize = number(len)?;
    if len > MAX_CAPTURE_BYTES {
        return Err(bad("capture: too large"));
    }
    if crc.len() != 8 {
        return Err(bad("capture: bad checksum field"));
    }
    let crc = u32::from_str_radix(crc, 16).map_err(|_| bad("capture: bad checksum field"))?;
    let mut b64 = String::with_capacity(len.div_ceil(3) * 4);
    for (i, l) in data.iter().enumerate() {
        let last = i + 1 == data.len();
        if l.len() > CAPTURE_LINE_CHARS || (!last && l.len() != CAPTURE_LINE_CHARS) {
            return Err(bad("capture: bad data line width"));
        }
        b64.push_str(l);
    }
    let image = base64::engine::general_purpose::STANDARD
        .decode(b64.as_bytes())
        .map_err(|e| bad(format!("capture: {e}")))?;
    if image.len() != len {
        return Err(bad(format!(
            "capture: {} bytes received, header says {len}",
            image.len()
        )));
    }
    if crc32fast::hash(&image) != crc {
        return Err(bad("capture: checksum mismatch"));
    }
    Ok(image)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(line: &str) -> VideoCommand {
        match Request::parse(line).unwrap() {
            Request::Set(c) => c,
            other => panic!("{line} parsed as {other:?}"),
        }
    }

    /// Every command, as `docs/hardware/video-board.md` writes it.
    fn documented() -> Vec<(VideoCommand, &'static str)> {
        vec![
            (
                VideoCommand::Route {
                    output: 1,
                    input: Some(2),
                },
                "sw o01 i02",
            ),
            (
                VideoCommand::Route {
                    output: 3,
                    input: None,
                },
                "sw o03 off",
            ),
            (
                VideoCommand::Resolution {
                    output: 2,
                    mode: 17,
                },
                "res o02 17",
            ),
            (
                VideoCommand::Flag {
                    output: 1,
                    flag: OutputFlag::FixHdcp,
                    on: true,
                },
                "fixhdcp o01 on",
            ),
            (
                VideoCommand::Flag {
                    output: 1,
                    flag: OutputFlag::Osd,
                    on: false,
                },
                "osd o01 off",
            ),
            (
                VideoCommand::Flag {
                    output: 2,
                    flag: OutputFlag::Blank,
                    on: true,
                },
                "blank o02 on",
            ),
            (
                VideoCommand::Flag {
                    output: 3,
                    flag: OutputFlag::Freeze,
                    on: true,
                },
                "freeze o03 on",
            ),
            (VideoCommand::FitMode { output: 1, mode: 3 }, "fit o01 3"),
            (
                VideoCommand::AutoSwitch {
                    output: 1,
                    plugin: 2,
                    plugout: 3,
                    enabled: true,
                },
                "auto o01 on 2 3",
            ),
            (
                VideoCommand::Layout {
                    layout: 1,
                    main_view: Some(0),
                    windows: vec![
                        Window {
                            view: 0,
                            input_port: 1,
                            x: 0,
                            y: 250,
                            w: 500,
                            h: 500,
                            z: 0,
                        },
                        Window {
                            view: 1,
                            input_port: 0,
                            x: 500,
                            y: 250,
                            w: 500,
                            h: 500,
                            z: 1,
                        },
                    ],
                },
                "layout l01 main v0 v0:i01:0,250,500,500:0 v1:off:500,250,500,500:1",
            ),
            (
                VideoCommand::Layout {
                    layout: 3,
                    main_view: None,
                    windows: vec![],
                },
                "layout l03 main off",
            ),
            (VideoCommand::ActiveLayout { layout: Some(2) }, "mv l02"),
            (VideoCommand::ActiveLayout { layout: None }, "mv off"),
            (
                VideoCommand::InputName {
                    input: 2,
                    name: "Salle Réunion \"A\"".into(),
                },
                "name i02 \"Salle%20R%C3%A9union%20%22A%22\"",
            ),
            (
                VideoCommand::InputName {
                    input: 7,
                    name: String::new(),
                },
                "name i07 \"\"",
            ),
            (
                VideoCommand::InputSource {
                    input: 4,
                    source: 0,
                },
                "src i04 0",
            ),
            (
                VideoCommand::Osd {
                    labels: true,
                    system_events: true,
                    interactive_events: false,
                    language: "en_US".into(),
                },
                "osdcfg on on off \"en_US\"",
            ),
            (
                VideoCommand::Banner {
                    name: "Room 1".into(),
                    code: Some("4711".into()),
                    link_info: true,
                },
                "banner \"Room%201\" \"4711\" on",
            ),
            (
                VideoCommand::Banner {
                    name: "Room 1".into(),
                    code: None,
                    link_info: false,
                },
                "banner \"Room%201\" off off",
            ),
            (VideoCommand::EdidMode { mode: 2 }, "edid 2"),
            (VideoCommand::InputStream { mode: 1 }, "stream 1"),
            (
                VideoCommand::GoLive {
                    output: 1,
                    on: true,
                },
                "live o01 on",
            ),
        ]
    }

    #[test]
    fn commands_encode_as_documented_and_parse_back() {
        for (cmd, line) in documented() {
            assert_eq!(encode_command(&cmd), line);
            assert_eq!(set(line), cmd, "{line}");
        }
    }

    #[test]
    fn queries_encode_as_documented() {
        let q = [
            (Request::Read, "read"),
            (Request::ReadInput(3), "read i03"),
            (Request::ReadOutput(1), "read o01"),
            (Request::Version, "ver"),
            (Request::Capture(Capture::Input(3)), "capture i03"),
            (Request::Capture(Capture::Output(2)), "capture o02"),
        ];
        for (r, line) in q {
            assert_eq!(r.encode(), line);
            assert_eq!(Request::parse(line).unwrap(), r);
        }
    }

    #[test]
    fn malformed_commands_are_refused() {
        for line in [
            "",
            "sw",
            "sw o01",
            "sw o01 i02 x",
            "sw 01 i02",
            "sw o1234 i02",
            "sw o01 i2x",
            "res o01 -1",
            "osd o01 maybe",
            "name i02 Room A",
            "name i02 \"Room A\"",
            "name i02 \"%C3\"",
            "name i02 \"%zz\"",
            "layout l01 v0",
            "layout l01 main v0 v0:i01:0,0,500:0",
            "mv 3",
            "xyzzy",
            "??sw o01 i02",
        ] {
            assert!(Request::parse(line).is_err(), "accepted `{line}`");
        }
    }

    #[test]
    fn text_round_trips_anything() {
        for s in [
            "",
            "a b",
            "100%",
            "日本語",
            "\"quoted\"",
            "!bang",
            "tab\there",
            "~._-",
        ] {
            let t = encode_text(s);
            assert!(t.bytes().all(|b| b.is_ascii_graphic()), "{t}");
            assert!(!t[1..t.len() - 1].contains('"'));
            assert_eq!(decode_text(&t).unwrap(), s);
        }
    }

    #[test]
    fn status_lines_are_as_documented() {
        let r = Report::Input(InputReport {
            port: 3,
            plugged: true,
            locked: true,
            hdcp: Hdcp::V22,
            timing: Some("1920x1080@60".into()),
        });
        assert_eq!(r.encode(), "i03 plug=1 lock=1 hdcp=2.2 res=1920x1080@60");
        assert_eq!(Report::parse(&r.encode()).unwrap(), r);
        let o = Report::Output(OutputReport {
            port: 1,
            sink: true,
            route: None,
        });
        assert_eq!(o.encode(), "o01 sink=1 route=off");
        assert_eq!(Report::parse(&o.encode()).unwrap(), o);
        let j = Report::Jack {
            channel: 8,
            connected: false,
        };
        assert_eq!(j.encode(), "a08 jack=0");
        assert_eq!(Report::parse("a08 jack=0 future=1").unwrap(), j);
        assert!(Report::parse("i03 plug=1 lock=1").is_err());
        assert!(Report::parse("x03 plug=1").is_err());
    }

    #[test]
    fn notifications_start_with_a_bang_and_map_to_events() {
        let n = Notification::parse("!i02 plug=1 lock=0 hdcp=1.4 res=none").unwrap();
        assert_eq!(
            n.event(),
            HwEvent::Input(InputStatus {
                port: 2,
                signal: false,
                hdcp: Hdcp::V14
            })
        );
        assert_eq!(n.encode(), "!i02 plug=1 lock=0 hdcp=1.4 res=none");
        let boot = Notification::Boot(Version {
            firmware: "1.4.2".into(),
            board: "A-05".into(),
        });
        assert_eq!(boot.encode(), "!BOOT VP2730-MCU fw=1.4.2 board=A-05");
        assert_eq!(Notification::parse(&boot.encode()).unwrap(), boot);
        // A banner that cut a half line short is still a banner.
        assert_eq!(
            Notification::parse("Comm!BOOT VP2730-MCU fw=1 board=2")
                .unwrap()
                .event(),
            HwEvent::Reset
        );
        assert!(Notification::parse("i02 plug=1 lock=0 hdcp=1.4 res=none").is_err());
    }

    #[test]
    fn echoes_never_look_like_notifications() {
        assert_eq!(echo_of(b"sw o01 i02"), "sw o01 i02");
        assert_eq!(echo_of(b"!i02 plug=1"), "?i02 plug=1");
        assert_eq!(echo_of(b"\x00\xffsw"), "??sw");
    }

    #[test]
    fn captures_round_trip_and_detect_corruption() {
        let img = crate::bmp::test_pattern(160, 90, 3, true);
        let lines = encode_capture(&img);
        assert!(lines[0].starts_with(&format!("BMP {} ", img.len())));
        assert!(lines[1..].iter().all(|l| l.len() <= CAPTURE_LINE_CHARS));
        assert_eq!(decode_capture(&lines).unwrap(), img);

        let mut flipped = lines.clone();
        let first = if flipped[5].starts_with('A') {
            "B"
        } else {
            "A"
        };
        flipped[5].replace_range(0..1, first);
        assert!(decode_capture(&flipped).is_err());
        let mut short = lines.clone();
        short.remove(3);
        assert!(decode_capture(&short).is_err());
        let mut bad_header = lines;
        bad_header[0] = "BMP 99999999 00000000".into();
        assert!(decode_capture(&bad_header).is_err());
    }
}

//! The emulator's control socket: JSON lines over a Unix socket, so a
//! separately running `vp2730-sim run` can be driven by scripts, the CLI
//! (`vp2730-sim ctl SOCK ...`) or an out-of-process test.
//!
//! One request object per line, one response object per line:
//!
//! ```text
//! {"cmd":"plug","port":3,"hdcp":"2.2"}       → {"ok":true}
//! {"cmd":"unplug","port":3}
//! {"cmd":"drop_signal","port":3}  {"cmd":"restore_signal","port":3}
//! {"cmd":"timing","port":3,"timing":"3840x2160@30"}
//! {"cmd":"sink","port":1,"connected":false}
//! {"cmd":"jack","channel":8,"connected":false}
//! {"cmd":"silent","on":true}
//! {"cmd":"delay","ms":300}
//! {"cmd":"garbage","count":1}                 noise before the next answer(s)
//! {"cmd":"corrupt_rx","count":1}              noise in front of the next command(s)
//! {"cmd":"reboot","mid_command":false}
//! {"cmd":"codec_nak","on":true}               (in-process codec only)
//! {"cmd":"temperature","millideg":61000}
//! {"cmd":"clear_faults"}
//! {"cmd":"state"}                             → {"ok":true,"state":{...},"faults":{...}}
//! {"cmd":"received"}                          → {"ok":true,"received":["sw o01 i02",...]}
//! ```
//!
//! A request that cannot be done answers `{"ok":false,"error":"..."}`.

use crate::{Control, EmuError};
use serde::{Deserialize, Serialize};
use std::path::Path;
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{UnixListener, UnixStream};
use vp2730_hal::Hdcp;

/// HDCP as the control protocol spells it (`"none"`, `"1.4"`, `"2.2"`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum HdcpArg {
    /// Unprotected content (the default when `hdcp` is left out).
    #[default]
    #[serde(rename = "none")]
    None,
    /// HDCP 1.4.
    #[serde(rename = "1.4")]
    V14,
    /// HDCP 2.2.
    #[serde(rename = "2.2")]
    V22,
}

impl From<HdcpArg> for Hdcp {
    fn from(h: HdcpArg) -> Hdcp {
        match h {
            HdcpArg::None => Hdcp::None,
            HdcpArg::V14 => Hdcp::V14,
            HdcpArg::V22 => Hdcp::V22,
        }
    }
}

fn one() -> u32 {
    1
}

/// One control request; `cmd` names the variant in snake case, the other
/// keys are its fields. Each maps to one [`Control`] method.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "cmd", rename_all = "snake_case", deny_unknown_fields)]
pub enum ControlRequest {
    /// [`Control::plug`]: a source on input `port`.
    Plug {
        /// Input port, 1-7.
        port: u8,
        /// HDCP of the source.
        #[serde(default)]
        hdcp: HdcpArg,
    },
    /// [`Control::unplug`].
    Unplug {
        /// Input port, 1-7.
        port: u8,
    },
    /// [`Control::drop_signal`].
    DropSignal {
        /// Input port, 1-7.
        port: u8,
    },
    /// [`Control::restore_signal`].
    RestoreSignal {
        /// Input port, 1-7.
        port: u8,
    },
    /// [`Control::set_timing`].
    Timing {
        /// Input port, 1-7.
        port: u8,
        /// `WIDTHxHEIGHT@RATE`.
        timing: String,
    },
    /// [`Control::connect_sink`] / [`Control::disconnect_sink`].
    Sink {
        /// Output port, 1-3.
        port: u8,
        /// Display connected.
        connected: bool,
    },
    /// [`Control::set_jack`].
    Jack {
        /// Codec channel of the jack.
        channel: u8,
        /// Jack plugged.
        connected: bool,
    },
    /// [`Control::set_silent`].
    Silent {
        /// Hung (true) or answering (false).
        on: bool,
    },
    /// [`Control::set_delay`].
    Delay {
        /// Answer delay in milliseconds (0: none).
        ms: u64,
    },
    /// [`Control::garbage_before_answers`].
    Garbage {
        /// How many answers (default 1).
        #[serde(default = "one")]
        count: u32,
    },
    /// [`Control::corrupt_next_commands`].
    CorruptRx {
        /// How many commands (default 1).
        #[serde(default = "one")]
        count: u32,
    },
    /// [`Control::reboot`] or, with `mid_command`,
    /// [`Control::reboot_on_next_command`].
    Reboot {
        /// Reboot while handling the next command instead of now.
        #[serde(default)]
        mid_command: bool,
    },
    /// [`Control::codec_nak`] (affects the in-process codec only).
    CodecNak {
        /// NAK every transfer (true) or answer (false).
        on: bool,
    },
    /// [`Control::set_temperature`].
    Temperature {
        /// Millidegrees Celsius.
        millideg: i32,
    },
    /// [`Control::clear_faults`].
    ClearFaults,
    /// [`Control::state`] and [`Control::faults`].
    State,
    /// [`Control::received`].
    Received,
}

/// One control response.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ControlResponse {
    /// The request was carried out.
    pub ok: bool,
    /// Why not, when `ok` is false.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// The board state (`state` requests).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<serde_json::Value>,
    /// The armed faults (`state` requests).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub faults: Option<serde_json::Value>,
    /// Received command lines (`received` requests).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub received: Option<Vec<String>>,
}

impl ControlResponse {
    fn ok() -> Self {
        ControlResponse {
            ok: true,
            error: None,
            state: None,
            faults: None,
            received: None,
        }
    }

    fn err(e: impl ToString) -> Self {
        ControlResponse {
            ok: false,
            error: Some(e.to_string()),
            ..Self::ok()
        }
    }
}

/// Carries out one request on the emulator.
pub fn handle(control: &Control, req: ControlRequest) -> ControlResponse {
    let done = |r: Result<(), EmuError>| match r {
        Ok(()) => ControlResponse::ok(),
        Err(e) => ControlResponse::err(e),
    };
    match req {
        ControlRequest::Plug { port, hdcp } => done(control.plug(port, hdcp.into())),
        ControlRequest::Unplug { port } => done(control.unplug(port)),
        ControlRequest::DropSignal { port } => done(control.drop_signal(port)),
        ControlRequest::RestoreSignal { port } => done(control.restore_signal(port)),
        ControlRequest::Timing { port, timing } => done(control.set_timing(port, &timing)),
        ControlRequest::Sink { port, connected } => done(if connected {
            control.connect_sink(port)
        } else {
            control.disconnect_sink(port)
        }),
        ControlRequest::Jack { channel, connected } => done(control.set_jack(channel, connected)),
        ControlRequest::Silent { on } => {
            control.set_silent(on);
            ControlResponse::ok()
        }
        ControlRequest::Delay { ms } => {
            control.set_delay(Duration::from_millis(ms));
            ControlResponse::ok()
        }
        ControlRequest::Garbage { count } => {
            control.garbage_before_answers(count);
            ControlResponse::ok()
        }
        ControlRequest::CorruptRx { count } => {
            control.corrupt_next_commands(count);
            ControlResponse::ok()
        }
        ControlRequest::Reboot { mid_command } => {
            if mid_command {
                control.reboot_on_next_command();
            } else {
                control.reboot();
            }
            ControlResponse::ok()
        }
        ControlRequest::CodecNak { on } => {
            control.codec_nak(on);
            ControlResponse::ok()
        }
        ControlRequest::Temperature { millideg } => done(control.set_temperature(millideg)),
        ControlRequest::ClearFaults => {
            control.clear_faults();
            ControlResponse::ok()
        }
        ControlRequest::State => {
            match (
                serde_json::to_value(control.state()),
                serde_json::to_value(control.faults()),
            ) {
                (Ok(state), Ok(faults)) => ControlResponse {
                    state: Some(state),
                    faults: Some(faults),
                    ..ControlResponse::ok()
                },
                (Err(e), _) | (_, Err(e)) => ControlResponse::err(e),
            }
        }
        ControlRequest::Received => ControlResponse {
            received: Some(control.received()),
            ..ControlResponse::ok()
        },
    }
}

/// Longest request line accepted.
const MAX_REQUEST: usize = 64 * 1024;

/// Serves the control socket at `path` until the returned task is aborted.
/// A stale socket file from an earlier run is replaced.
pub fn serve(control: Control, path: &Path) -> Result<tokio::task::JoinHandle<()>, EmuError> {
    if let Ok(meta) = std::fs::symlink_metadata(path) {
        use std::os::unix::fs::FileTypeExt as _;
        if meta.file_type().is_socket() {
            std::fs::remove_file(path).map_err(|e| EmuError::Io(e.to_string()))?;
        }
    }
    let listener =
        UnixListener::bind(path).map_err(|e| EmuError::Io(format!("{}: {e}", path.display())))?;
    Ok(tokio::spawn(async move {
        loop {
            match listener.accept().await {
                Ok((stream, _)) => {
                    tokio::spawn(session(control.clone(), stream));
                }
                Err(e) => {
                    tracing::warn!(error = %e, "control socket accept failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            }
        }
    }))
}

async fn session(control: Control, stream: UnixStream) {
    let (r, mut w) = stream.into_split();
    let mut lines = BufReader::new(r).lines();
    while let Ok(Some(line)) = lines.next_line().await {
        if line.trim().is_empty() {
            continue;
        }
        let resp = if line.len() > MAX_REQUEST {
            ControlResponse::err("request too long")
        } else {
            match serde_json::from_str::<ControlRequest>(&line) {
                Ok(req) => handle(&control, req),
                Err(e) => ControlResponse::err(format!("bad request: {e}")),
            }
        };
        let mut out = match serde_json::to_string(&resp) {
            Ok(s) => s,
            Err(e) => format!("{{\"ok\":false,\"error\":\"{e}\"}}"),
        };
        out.push('\n');
        if w.write_all(out.as_bytes()).await.is_err() {
            break;
        }
    }
}

/// Sends one request to a control socket and returns the response.
pub async fn request(path: &Path, req: &ControlRequest) -> Result<ControlResponse, EmuError> {
    let line = serde_json::to_string(req).map_err(|e| EmuError::Invalid(e.to_string()))?;
    request_raw(path, &line).await
}

/// Sends one raw JSON line to a control socket and returns the response.
pub async fn request_raw(path: &Path, line: &str) -> Result<ControlResponse, EmuError> {
    let io = |e: std::io::Error| EmuError::Io(format!("{}: {e}", path.display()));
    let stream = UnixStream::connect(path).await.map_err(io)?;
    let (r, mut w) = stream.into_split();
    w.write_all(format!("{}\n", line.trim()).as_bytes())
        .await
        .map_err(io)?;
    let mut lines = BufReader::new(r).lines();
    let answer = lines
        .next_line()
        .await
        .map_err(io)?
        .ok_or_else(|| EmuError::Io("control socket closed without answering".into()))?;
    serde_json::from_str(&answer).map_err(|e| EmuError::Io(format!("bad response: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_have_the_documented_json_form() {
        let r: ControlRequest =
            serde_json::from_str(r#"{"cmd":"plug","port":3,"hdcp":"2.2"}"#).unwrap();
        assert_eq!(
            r,
            ControlRequest::Plug {
                port: 3,
                hdcp: HdcpArg::V22
            }
        );
        let r: ControlRequest = serde_json::from_str(r#"{"cmd":"garbage"}"#).unwrap();
        assert_eq!(r, ControlRequest::Garbage { count: 1 });
        assert_eq!(
            serde_json::to_string(&ControlRequest::DropSignal { port: 2 }).unwrap(),
            r#"{"cmd":"drop_signal","port":2}"#
        );
        assert!(
            serde_json::from_str::<ControlRequest>(r#"{"cmd":"plug","port":3,"x":1}"#).is_err()
        );
        assert!(serde_json::from_str::<ControlRequest>(r#"{"cmd":"fly"}"#).is_err());
    }
}

//! The video board driver: [`VideoBoard`] over the board's UART.
//!
//! One task (the link actor) owns the serial stream. It runs the commands
//! callers queue, strictly one at a time, and between commands it keeps
//! reading so notifications reach [`VideoBoard::subscribe`] even when the
//! daemon is idle. The protocol is in `docs/hardware/video-board.md` and
//! [`crate::protocol`]; what this file adds is the discipline around it:
//!
//! * **one command in flight**: the actor takes the next command only after
//!   the previous one finished (answered, refused or given up on);
//! * **a response timeout per attempt** and **bounded retries** on timeout,
//!   on a garbled exchange and on a board reset;
//! * **matching answers to commands**: the board echoes every line it
//!   received; an answer counts only after the echo of the command just
//!   sent, so a late answer to an earlier, abandoned attempt is never taken
//!   for the current one;
//! * **notifications are never answers**: `!` lines are routed to the event
//!   channel wherever they fall, even between an echo and its `Command OK`
//!   or between the lines of a capture;
//! * **resynchronisation** after garbage, a half line, a timeout or a reset:
//!   complete lines already read are dispatched, a bare CR LF flushes
//!   whatever half line the board holds, and lines are drained until the
//!   link has been quiet for a moment. A half line from the board is kept
//!   until its line end and judged as a whole: it is discarded, unless it
//!   ends with the expected echo (noise in front of a good echo).
//!
//! Error mapping: no valid answer after every attempt →
//! [`HalError::NotResponding`]; `Command incorrect` after an exact echo (the
//! board understood the line and refused it) → [`HalError::Rejected`]; a
//! serial read or write failure → [`HalError::Io`].

use crate::protocol::{self, Notification, Report, Request};
use crate::{Capture, HalError, HwEvent, VideoBoard, VideoCommand, VideoStatus};
use async_trait::async_trait;
use std::path::Path;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::sync::{broadcast, mpsc, oneshot};
use tokio::time::{timeout, timeout_at, Instant};

/// Timing and retry policy of the link.
///
/// The defaults keep a command's worst case (every attempt timing out, plus
/// resynchronisation) well inside the daemon's 2 s hardware timeout, so a
/// silent board turns into a 503 rather than a hung request.
#[derive(Debug, Clone)]
pub struct UartConfig {
    /// How long one attempt waits for the complete answer to a setting or a
    /// status query.
    pub timeout: Duration,
    /// How long one attempt waits for a complete capture (bigger answers).
    pub capture_timeout: Duration,
    /// Attempts per command, the first included (at least 1).
    pub attempts: u32,
    /// Resynchronisation ends once the link has been quiet this long.
    pub resync_quiet: Duration,
}

impl Default for UartConfig {
    fn default() -> Self {
        UartConfig {
            timeout: Duration::from_millis(400),
            capture_timeout: Duration::from_millis(1500),
            attempts: 3,
            resync_quiet: Duration::from_millis(30),
        }
    }
}

/// What a command's answer must contain.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Expect {
    /// Echo and `Command OK`, no data.
    Ack,
    /// Status lines.
    Status,
    /// One version line.
    Version,
    /// A capture frame.
    Image,
}

#[derive(Debug)]
enum Answer {
    Ack,
    Status(VideoStatus),
    Version(protocol::Version),
    Image(Vec<u8>),
}

struct Job {
    line: String,
    expect: Expect,
    reply: oneshot::Sender<Result<Answer, HalError>>,
}

/// The video board MCU behind a UART (or anything that carries its bytes).
///
/// Cheap to clone; clones share the link. The link task ends when the last
/// clone is dropped.
#[derive(Clone)]
pub struct UartVideoBoard {
    jobs: mpsc::Sender<Job>,
    events: broadcast::Sender<HwEvent>,
}

impl UartVideoBoard {
    /// Drives the board over `stream` with the given policy. Spawns the link
    /// task, so it must be called inside a tokio runtime.
    pub fn new<S>(stream: S, config: UartConfig) -> Self
    where
        S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    {
        let (events, _) = broadcast::channel(256);
        let (jobs, rx) = mpsc::channel(64);
        let link = Link {
            io: stream,
            buf: Vec::with_capacity(protocol::MAX_LINE),
            overflow: false,
            events: events.clone(),
            config: UartConfig {
                attempts: config.attempts.max(1),
                ..config
            },
            broken: false,
            failed_reads: 0,
        };
        tokio::spawn(link.run(rx));
        UartVideoBoard { jobs, events }
    }

    /// Opens the board's serial port (`/dev/ttyS1` on the device, the
    /// emulator's pty under `--sim`) at `baud`, 8N1, no flow control, with
    /// the default policy. Must be called inside a tokio runtime.
    pub fn open(path: impl AsRef<Path>, baud: u32) -> Result<Self, HalError> {
        Self::open_with(path, baud, UartConfig::default())
    }

    /// [`UartVideoBoard::open`] with an explicit policy.
    pub fn open_with(
        path: impl AsRef<Path>,
        baud: u32,
        config: UartConfig,
    ) -> Result<Self, HalError> {
        let path = path.as_ref();
        let stream = open_serial(path, baud)?;
        Ok(Self::new(stream, config))
    }

    /// Firmware version and board revision (`ver`); a cheap liveness probe.
    pub async fn version(&self) -> Result<protocol::Version, HalError> {
        match self.run(Request::Version.encode(), Expect::Version).await? {
            Answer::Version(v) => Ok(v),
            other => Err(unexpected(other)),
        }
    }

    async fn run(&self, line: String, expect: Expect) -> Result<Answer, HalError> {
        let (reply, rx) = oneshot::channel();
        self.jobs
            .send(Job {
                line,
                expect,
                reply,
            })
            .await
            .map_err(|_| HalError::Io("video board link task has stopped".into()))?;
        rx.await
            .map_err(|_| HalError::Io("video board link task has stopped".into()))?
    }
}

fn unexpected(a: Answer) -> HalError {
    HalError::Io(format!("internal: unexpected answer {a:?}"))
}

/// Opens a serial port for the board. A pseudo-terminal (the emulator)
/// refuses the modem-line and speed ioctls a real UART takes; the serial
/// crate treats those as best effort, and the line settings that matter for
/// a pty (raw mode) are applied either way.
fn open_serial(path: &Path, baud: u32) -> Result<tokio_serial::SerialStream, HalError> {
    use tokio_serial::SerialPortBuilderExt as _;
    let name = path.to_string_lossy();
    tokio_serial::new(name.as_ref(), baud)
        .data_bits(tokio_serial::DataBits::Eight)
        .parity(tokio_serial::Parity::None)
        .stop_bits(tokio_serial::StopBits::One)
        .flow_control(tokio_serial::FlowControl::None)
        .open_native_async()
        .map_err(|e| HalError::Io(format!("{name}: {e}")))
}

#[async_trait]
impl VideoBoard for UartVideoBoard {
    async fn apply(&self, cmd: &VideoCommand) -> Result<(), HalError> {
        match self.run(protocol::encode_command(cmd), Expect::Ack).await? {
            Answer::Ack => Ok(()),
            other => Err(unexpected(other)),
        }
    }

    async fn status(&self) -> Result<VideoStatus, HalError> {
        match self.run(Request::Read.encode(), Expect::Status).await? {
            Answer::Status(s) => Ok(s),
            other => Err(unexpected(other)),
        }
    }

    async fn capture(&self, what: Capture) -> Result<Vec<u8>, HalError> {
        match self
            .run(Request::Capture(what).encode(), Expect::Image)
            .await?
        {
            Answer::Image(img) => Ok(img),
            other => Err(unexpected(other)),
        }
    }

    fn subscribe(&self) -> broadcast::Receiver<HwEvent> {
        self.events.subscribe()
    }
}

/// How one attempt ended, when it did not produce the answer.
enum Step {
    Done(Answer),
    /// Echoed exactly and refused.
    Rejected(String),
    /// Worth another attempt after resynchronising.
    Retry(String),
    /// The stream itself failed.
    Failed(String),
}

/// What an incoming line is, before it is matched against a command.
enum Kind {
    Boot,
    Event(HwEvent),
    /// Starts with `!` but does not parse: dropped.
    BadNotification,
    Other,
}

fn classify(text: &str) -> Kind {
    if text.contains(protocol::BOOT) {
        return Kind::Boot;
    }
    if text.starts_with(protocol::NOTIFY) {
        return match Notification::parse(text) {
            Ok(n) => Kind::Event(n.event()),
            Err(e) => {
                tracing::debug!(line = %text, error = %e, "unparseable notification dropped");
                Kind::BadNotification
            }
        };
    }
    Kind::Other
}

/// Upper bound on the data lines of one answer (a maximal capture).
const MAX_DATA_BYTES: usize = protocol::MAX_CAPTURE_BYTES / 3 * 4 + 4096;

struct Link<S> {
    io: S,
    /// Bytes received and not yet a complete line.
    buf: Vec<u8>,
    /// The current line overflowed [`protocol::MAX_LINE`]: drop bytes up to
    /// its end.
    overflow: bool,
    events: broadcast::Sender<HwEvent>,
    config: UartConfig,
    /// The last read failed; idle reads pause so a dead port does not spin.
    broken: bool,
    /// Consecutive failed idle reads (only the first is logged as an error).
    failed_reads: u32,
}

impl<S: AsyncRead + AsyncWrite + Unpin + Send> Link<S> {
    async fn run(mut self, mut jobs: mpsc::Receiver<Job>) {
        loop {
            tokio::select! {
                job = jobs.recv() => match job {
                    Some(job) => {
                        let result = self.exchange(&job).await;
                        if let Err(e) = &result {
                            tracing::warn!(command = %job.line, error = %e, "video board command failed");
                        }
                        let _ = job.reply.send(result);
                    }
                    None => break,
                },
                line = self.read_line(), if !self.broken => match line {
                    Ok(line) => {
                        self.failed_reads = 0;
                        self.unsolicited(&line);
                    }
                    Err(e) => {
                        if self.failed_reads == 0 {
                            tracing::error!(error = %e, "video board link read failed");
                        } else {
                            tracing::debug!(error = %e, "video board link read still failing");
                        }
                        self.failed_reads = self.failed_reads.saturating_add(1);
                        self.broken = true;
                    }
                },
                _ = tokio::time::sleep(Duration::from_millis(500)), if self.broken => {
                    self.broken = false;
                }
            }
        }
    }

    /// Takes one complete line out of the buffer (CR and LF stripped).
    fn take_line(&mut self) -> Option<Vec<u8>> {
        loop {
            let pos = self.buf.iter().position(|&b| b == b'\n')?;
            let mut line: Vec<u8> = self.buf.drain(..=pos).collect();
            line.pop();
            while line.last() == Some(&b'\r') {
                line.pop();
            }
            if self.overflow {
                self.overflow = false;
                continue;
            }
            return Some(line);
        }
    }

    /// The next complete line. Cancel-safe: bytes are only ever moved from
    /// the stream into `buf`, and a cancelled read has moved none.
    async fn read_line(&mut self) -> std::io::Result<Vec<u8>> {
        loop {
            if let Some(line) = self.take_line() {
                return Ok(line);
            }
            if self.buf.len() > protocol::MAX_LINE {
                // Not a line the board would send: drop it to its end.
                self.buf.clear();
                self.overflow = true;
            }
            let mut chunk = [0u8; 512];
            let n = self.io.read(&mut chunk).await?;
            if n == 0 {
                return Err(std::io::Error::new(
                    std::io::ErrorKind::UnexpectedEof,
                    "serial link closed",
                ));
            }
            self.broken = false;
            self.buf.extend_from_slice(&chunk[..n]);
        }
    }

    /// A line that is no answer: notifications go to subscribers, the rest
    /// (late answers, noise) is dropped.
    fn unsolicited(&self, line: &[u8]) {
        let text = String::from_utf8_lossy(line);
        match classify(&text) {
            Kind::Boot => self.reset_seen(),
            Kind::Event(ev) => {
                let _ = self.events.send(ev);
            }
            Kind::BadNotification => {}
            Kind::Other => {
                if !text.is_empty() {
                    tracing::debug!(line = %text, "stray line from the video board dropped");
                }
            }
        }
    }

    fn reset_seen(&self) {
        tracing::warn!("video board reset (boot banner)");
        let _ = self.events.send(HwEvent::Reset);
    }

    /// Dispatches the complete lines already buffered.
    fn drain_buffered(&mut self) {
        while let Some(line) = self.take_line() {
            self.unsolicited(&line);
        }
    }

    async fn send(&mut self, bytes: &[u8]) -> Result<(), Step> {
        let write = async {
            self.io.write_all(bytes).await?;
            self.io.flush().await
        };
        match timeout(self.config.timeout, write).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => Err(Step::Failed(format!("serial write: {e}"))),
            Err(_) => Err(Step::Retry("serial write timed out".into())),
        }
    }

    async fn exchange(&mut self, job: &Job) -> Result<Answer, HalError> {
        if job.line.len() + 2 > protocol::MAX_LINE {
            return Err(HalError::Rejected(format!(
                "command of {} bytes exceeds the board's line buffer",
                job.line.len()
            )));
        }
        let per_attempt = match job.expect {
            Expect::Image => self.config.capture_timeout,
            _ => self.config.timeout,
        };
        let mut wire = job.line.clone().into_bytes();
        wire.extend_from_slice(b"\r\n");
        let mut last = String::from("no attempt made");
        for attempt in 1..=self.config.attempts {
            if job.reply.is_closed() {
                // The caller gave up (its own timeout); do not keep the
                // board busy for nobody.
                return Err(HalError::NotResponding("caller gave up".into()));
            }
            self.drain_buffered();
            let step = match self.send(&wire).await {
                Ok(()) => self.await_answer(job, Instant::now() + per_attempt).await,
                Err(step) => step,
            };
            match step {
                Step::Done(answer) => return Ok(answer),
                Step::Rejected(m) => return Err(HalError::Rejected(m)),
                Step::Failed(m) => return Err(HalError::Io(m)),
                Step::Retry(reason) => {
                    tracing::debug!(command = %job.line, attempt, %reason, "retrying video board command");
                    last = reason;
                    self.resync().await;
                }
            }
        }
        Err(HalError::NotResponding(format!(
            "video board: `{}` failed {} attempts (last: {last})",
            job.line, self.config.attempts
        )))
    }

    /// Reads the answer to the line just sent.
    async fn await_answer(&mut self, job: &Job, deadline: Instant) -> Step {
        let cmd = job.line.as_str();
        // The echo of `cmd` has been seen; `tainted`: with noise in front.
        let mut echoed = false;
        let mut tainted = false;
        // A line that is neither a notification nor part of our answer has
        // been seen since sending: noise, or an echo mangled by it.
        let mut foreign = false;
        let mut data: Vec<String> = Vec::new();
        let mut data_bytes = 0usize;
        loop {
            let line = match timeout_at(deadline, self.read_line()).await {
                Err(_) => {
                    return Step::Retry(if echoed {
                        "answer incomplete before the timeout".into()
                    } else {
                        "no answer before the timeout".into()
                    })
                }
                Ok(Err(e)) => return Step::Failed(format!("serial read: {e}")),
                Ok(Ok(line)) => line,
            };
            let text = String::from_utf8_lossy(&line).into_owned();
            match classify(&text) {
                Kind::Boot => {
                    self.reset_seen();
                    return Step::Retry("board reset while the command was in flight".into());
                }
                Kind::Event(ev) => {
                    let _ = self.events.send(ev);
                    continue;
                }
                Kind::BadNotification => continue,
                Kind::Other => {}
            }
            if text.is_empty() {
                continue;
            }
            if !echoed {
                if text == cmd {
                    echoed = true;
                } else if text.ends_with(cmd) {
                    echoed = true;
                    tainted = true;
                } else if text == protocol::INCORRECT && foreign {
                    // Our line reached the board mangled (its echo was the
                    // foreign line): not a refusal of the command.
                    return Step::Retry("command garbled on the line".into());
                } else if text != protocol::OK && text != protocol::INCORRECT {
                    foreign = true;
                }
                // A final line before our echo belongs to an earlier attempt.
                continue;
            }
            if text == protocol::OK {
                return match finish(job.expect, &data) {
                    Ok(answer) => Step::Done(answer),
                    Err(e) => Step::Retry(format!("garbled answer: {e}")),
                };
            }
            if text == protocol::INCORRECT {
                return if tainted {
                    Step::Retry("command garbled on the line".into())
                } else {
                    Step::Rejected(format!("video board refused `{cmd}`"))
                };
            }
            if job.expect == Expect::Ack {
                tracing::debug!(line = %text, "unexpected line in an acknowledgement dropped");
                continue;
            }
            data_bytes += text.len();
            if data_bytes > MAX_DATA_BYTES {
                return Step::Retry("answer too long".into());
            }
            data.push(text);
        }
    }

    /// Brings the link back to a line boundary after a failed attempt.
    async fn resync(&mut self) {
        self.drain_buffered();
        // Ends whatever half line the board's receiver holds; the board
        // ignores empty lines.
        if let Err(Step::Failed(e)) = self.send(b"\r\n").await {
            tracing::debug!(error = %e, "resync write failed");
        }
        let hard_stop = Instant::now() + self.config.timeout;
        while Instant::now() < hard_stop {
            match timeout(self.config.resync_quiet, self.read_line()).await {
                Ok(Ok(line)) => self.unsolicited(&line),
                Ok(Err(_)) | Err(_) => break,
            }
        }
    }
}

fn finish(expect: Expect, data: &[String]) -> Result<Answer, String> {
    match expect {
        Expect::Ack => Ok(Answer::Ack),
        Expect::Status => {
            let mut status = VideoStatus::default();
            for line in data {
                match Report::parse(line).map_err(|e| e.to_string())? {
                    Report::Input(r) => status.inputs.push(r.status()),
                    Report::Output(r) => status.outputs.push(crate::OutputStatus {
                        port: r.port,
                        sink: r.sink,
                    }),
                    Report::Jack { channel, connected } => {
                        status.audio_jacks.push((channel, connected))
                    }
                }
            }
            Ok(Answer::Status(status))
        }
        Expect::Version => match data {
            [line] => protocol::Version::parse(line)
                .map(Answer::Version)
                .map_err(|e| e.to_string()),
            _ => Err(format!(
                "{} lines where one version line was due",
                data.len()
            )),
        },
        Expect::Image => protocol::decode_capture(data)
            .map(Answer::Image)
            .map_err(|e| e.to_string()),
    }
}

#[cfg(test)]
mod tests {
    //! Scripted exchanges over an in-memory pipe, for the cases that need
    //! byte-exact control of what the "board" sends and when. The same
    //! driver is exercised against the emulator over a real pty in the
    //! `vp2730-sim` crate's tests.

    use super::*;
    use crate::{Hdcp, InputStatus};
    use tokio::io::{AsyncBufReadExt, BufReader, DuplexStream};

    /// Scripted exchanges must never hit a timeout by accident (a loaded
    /// machine), so the scripts' line sequences stay exact.
    fn patient() -> UartConfig {
        UartConfig {
            timeout: Duration::from_secs(2),
            capture_timeout: Duration::from_secs(2),
            attempts: 3,
            resync_quiet: Duration::from_millis(10),
        }
    }

    /// For the test that measures the timeout itself.
    fn quick() -> UartConfig {
        UartConfig {
            timeout: Duration::from_millis(200),
            ..patient()
        }
    }

    struct Board {
        rx: BufReader<tokio::io::ReadHalf<DuplexStream>>,
        tx: tokio::io::WriteHalf<DuplexStream>,
    }

    impl Board {
        async fn line(&mut self) -> String {
            let mut s = String::new();
            self.rx.read_line(&mut s).await.unwrap();
            s
        }
        async fn send(&mut self, raw: &str) {
            self.tx.write_all(raw.as_bytes()).await.unwrap();
        }
    }

    fn pair() -> (UartVideoBoard, Board) {
        pair_with(patient())
    }

    fn pair_with(config: UartConfig) -> (UartVideoBoard, Board) {
        let (a, b) = tokio::io::duplex(1 << 16);
        let drv = UartVideoBoard::new(a, config);
        let (r, w) = tokio::io::split(b);
        (
            drv,
            Board {
                rx: BufReader::new(r),
                tx: w,
            },
        )
    }

    const SW: VideoCommand = VideoCommand::Route {
        output: 1,
        input: Some(2),
    };

    #[tokio::test]
    async fn a_command_is_a_line_and_ok_after_its_echo_completes_it() {
        let (drv, mut board) = pair();
        let call = tokio::spawn(async move { drv.apply(&SW).await });
        assert_eq!(board.line().await, "sw o01 i02\r\n");
        board.send("sw o01 i02\r\nCommand OK\r\n").await;
        call.await.unwrap().unwrap();
    }

    #[tokio::test]
    async fn a_late_ok_of_an_earlier_command_is_not_taken_as_the_answer() {
        let (drv, mut board) = pair();
        let mut events = drv.subscribe();
        let call = tokio::spawn(async move { drv.apply(&SW).await });
        assert_eq!(board.line().await, "sw o01 i02\r\n");
        // Leftovers of an abandoned exchange, then a notification, then ours.
        board
            .send("res o01 17\r\nCommand OK\r\n!o02 sink=0 route=off\r\n")
            .await;
        // The notification after the stale OK has been read, so the OK has.
        assert!(matches!(events.recv().await.unwrap(), HwEvent::Output(_)));
        tokio::time::sleep(Duration::from_millis(20)).await;
        assert!(!call.is_finished(), "took a stale OK for the answer");
        board.send("sw o01 i02\r\nCommand OK\r\n").await;
        call.await.unwrap().unwrap();
    }

    #[tokio::test]
    async fn an_exact_echo_then_incorrect_is_a_refusal_without_retry() {
        let (drv, mut board) = pair();
        let call = tokio::spawn(async move { drv.apply(&SW).await });
        board.line().await;
        board.send("sw o01 i02\r\nCommand incorrect\r\n").await;
        assert!(matches!(call.await.unwrap(), Err(HalError::Rejected(_))));
    }

    #[tokio::test]
    async fn a_mangled_command_is_resent_after_a_bare_crlf() {
        let (drv, mut board) = pair();
        let mut events = drv.subscribe();
        let call = tokio::spawn(async move { drv.apply(&SW).await });
        board.line().await;
        // The board received noise in front of the command.
        board.send("#~sw o01 i02\r\nCommand incorrect\r\n").await;
        assert_eq!(
            board.line().await,
            "\r\n",
            "resync must flush the board's line buffer"
        );
        // A notification during resync still reaches subscribers.
        board
            .send("!i03 plug=1 lock=1 hdcp=2.2 res=1920x1080@60\r\n")
            .await;
        assert_eq!(board.line().await, "sw o01 i02\r\n");
        board.send("sw o01 i02\r\nCommand OK\r\n").await;
        call.await.unwrap().unwrap();
        assert_eq!(
            events.recv().await.unwrap(),
            HwEvent::Input(InputStatus {
                port: 3,
                signal: true,
                hdcp: Hdcp::V22
            })
        );
    }

    #[tokio::test]
    async fn a_half_line_of_noise_before_the_echo_is_survived() {
        let (drv, mut board) = pair();
        let call = tokio::spawn(async move { drv.apply(&SW).await });
        board.line().await;
        board.send("\x7f\x00gar").await;
        board.send("sw o01 i02\r\nCommand OK\r\n").await;
        call.await.unwrap().unwrap();
    }

    #[tokio::test]
    async fn silence_is_not_responding_after_every_attempt() {
        let (drv, mut board) = pair_with(quick());
        let started = Instant::now();
        let call = tokio::spawn(async move { drv.apply(&SW).await });
        let mut lines = Vec::new();
        for _ in 0..5 {
            lines.push(board.line().await);
        }
        assert_eq!(
            lines,
            [
                "sw o01 i02\r\n",
                "\r\n",
                "sw o01 i02\r\n",
                "\r\n",
                "sw o01 i02\r\n"
            ]
        );
        assert!(matches!(
            call.await.unwrap(),
            Err(HalError::NotResponding(_))
        ));
        let spent = started.elapsed();
        assert!(spent >= Duration::from_millis(600), "{spent:?}");
        assert!(spent < Duration::from_millis(1500), "{spent:?}");
    }

    #[tokio::test]
    async fn a_boot_banner_mid_command_is_a_reset_event_and_the_command_is_resent() {
        let (drv, mut board) = pair();
        let mut events = drv.subscribe();
        let call = tokio::spawn(async move { drv.apply(&SW).await });
        board.line().await;
        board
            .send("sw o0\r\n!BOOT VP2730-MCU fw=1.4.2 board=A-05\r\n")
            .await;
        assert_eq!(board.line().await, "\r\n");
        assert_eq!(board.line().await, "sw o01 i02\r\n");
        board.send("sw o01 i02\r\nCommand OK\r\n").await;
        call.await.unwrap().unwrap();
        assert_eq!(events.recv().await.unwrap(), HwEvent::Reset);
    }

    #[tokio::test]
    async fn status_lines_with_a_notification_among_them() {
        let (drv, mut board) = pair();
        let mut events = drv.subscribe();
        let d = drv.clone();
        let call = tokio::spawn(async move { d.status().await });
        assert_eq!(board.line().await, "read\r\n");
        board
            .send(concat!(
                "read\r\n",
                "i01 plug=1 lock=1 hdcp=none res=1920x1080@60\r\n",
                "!o01 sink=0 route=i01\r\n",
                "i02 plug=0 lock=0 hdcp=none res=none\r\n",
                "o01 sink=0 route=i01\r\n",
                "a08 jack=1\r\n",
                "Command OK\r\n"
            ))
            .await;
        let st = call.await.unwrap().unwrap();
        assert_eq!(st.inputs.len(), 2);
        assert!(st.inputs[0].signal && !st.inputs[1].signal);
        assert_eq!(st.outputs.len(), 1);
        assert_eq!(st.audio_jacks, vec![(8, true)]);
        assert!(matches!(events.recv().await.unwrap(), HwEvent::Output(_)));
    }

    #[tokio::test]
    async fn a_corrupt_capture_is_fetched_again() {
        let (drv, mut board) = pair();
        let d = drv.clone();
        let call = tokio::spawn(async move { d.capture(Capture::Input(2)).await });
        let img = crate::bmp::test_pattern(32, 8, 2, true);
        let mut lines = protocol::encode_capture(&img);
        assert_eq!(board.line().await, "capture i02\r\n");
        let good = lines.join("\r\n");
        let first = if lines[2].starts_with('A') { "B" } else { "A" };
        lines[2].replace_range(0..1, first);
        board
            .send(&format!(
                "capture i02\r\n{}\r\nCommand OK\r\n",
                lines.join("\r\n")
            ))
            .await;
        assert_eq!(board.line().await, "\r\n");
        assert_eq!(board.line().await, "capture i02\r\n");
        board
            .send(&format!("capture i02\r\n{good}\r\nCommand OK\r\n"))
            .await;
        assert_eq!(call.await.unwrap().unwrap(), img);
    }

    #[tokio::test]
    async fn notifications_arrive_while_idle() {
        let (drv, mut board) = pair();
        let mut events = drv.subscribe();
        board.send("!a09 jack=0\r\n").await;
        assert_eq!(
            events.recv().await.unwrap(),
            HwEvent::AudioJack {
                channel: 9,
                connected: false
            }
        );
    }

    #[tokio::test]
    async fn an_overlong_command_is_refused_before_it_is_sent() {
        let (drv, _board) = pair();
        let name = "x".repeat(2000);
        assert!(matches!(
            drv.apply(&VideoCommand::InputName { input: 1, name }).await,
            Err(HalError::Rejected(_))
        ));
    }
}

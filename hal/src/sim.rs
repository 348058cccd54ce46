//! The simulated VP2730: every chip of the board, in memory.
//!
//! It keeps the state a real board keeps (routes, output settings, codec
//! levels, what is plugged where), answers status queries from it, produces
//! frames for captures, and emits the notifications a real board emits when
//! tests (or the daemon's `--sim` control) plug and unplug things. It can also
//! be told to stop answering, to exercise the daemon's 503 path.

use crate::*;
use async_trait::async_trait;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;
use tokio::sync::broadcast;

/// Initial wiring of the simulated room.
#[derive(Debug, Clone)]
pub struct SimSetup {
    /// Input ports with their initial state.
    pub inputs: Vec<InputStatus>,
    /// Output ports with their initial state.
    pub outputs: Vec<OutputStatus>,
    /// Codec channels with a jack, and whether something is plugged in.
    pub jacks: Vec<(u8, bool)>,
    pub identity: BoardIdentity,
}

#[derive(Debug, Default)]
struct SimState {
    inputs: Vec<InputStatus>,
    outputs: Vec<OutputStatus>,
    jacks: Vec<(u8, bool)>,
    routes: HashMap<u8, Option<u8>>,
    channels: HashMap<u8, ChannelState>,
    /// Every command applied, in order (what a logic analyser on the UART
    /// would have seen).
    log: Vec<Command>,
    unresponsive: bool,
}

/// The simulated board. Cheap to clone; clones share the board.
#[derive(Clone)]
pub struct SimDevice {
    state: Arc<Mutex<SimState>>,
    events: broadcast::Sender<HwEvent>,
    identity: BoardIdentity,
    /// How long an unresponsive board keeps the caller waiting before the
    /// "transport" gives up (the daemon's own timeout is usually shorter).
    stall: Duration,
}

impl SimDevice {
    /// A board wired as `setup` says.
    pub fn new(setup: SimSetup) -> Self {
        let (events, _) = broadcast::channel(256);
        SimDevice {
            state: Arc::new(Mutex::new(SimState {
                inputs: setup.inputs,
                outputs: setup.outputs,
                jacks: setup.jacks,
                ..SimState::default()
            })),
            events,
            identity: setup.identity,
            stall: Duration::from_secs(30),
        }
    }

    /// The three HAL parts backed by this board.
    pub fn hal(&self) -> Hal {
        let me = Arc::new(self.clone());
        Hal {
            video: me.clone(),
            audio: me.clone(),
            board: me,
        }
    }

    fn lock(&self) -> MutexGuard<'_, SimState> {
        // A poisoned lock only means a test panicked mid-update; the state
        // itself is plain data and still usable.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    async fn gate(&self) -> Result<(), HalError> {
        if self.lock().unresponsive {
            tokio::time::sleep(self.stall).await;
            return Err(HalError::NotResponding("simulated board is silent".into()));
        }
        Ok(())
    }

    /// Plugs or unplugs a source on an input port (with its HDCP state).
    pub fn set_input(&self, port: u8, signal: bool, hdcp: Hdcp) {
        let st = InputStatus { port, signal, hdcp };
        let changed = {
            let mut s = self.lock();
            match s.inputs.iter_mut().find(|i| i.port == port) {
                Some(i) if *i != st => {
                    *i = st;
                    true
                }
                _ => false,
            }
        };
        if changed {
            let _ = self.events.send(HwEvent::Input(st));
        }
    }

    /// Connects or disconnects the display on an output port.
    pub fn set_sink(&self, port: u8, sink: bool) {
        let st = OutputStatus { port, sink };
        let changed = {
            let mut s = self.lock();
            match s.outputs.iter_mut().find(|o| o.port == port) {
                Some(o) if *o != st => {
                    *o = st;
                    true
                }
                _ => false,
            }
        };
        if changed {
            let _ = self.events.send(HwEvent::Output(st));
        }
    }

    /// Makes the board stop (or resume) answering.
    pub fn set_unresponsive(&self, silent: bool) {
        self.lock().unresponsive = silent;
    }

    /// Every command applied so far.
    pub fn command_log(&self) -> Vec<Command> {
        self.lock().log.clone()
    }

    /// The input currently routed to an output port, as the board has it.
    pub fn route_of(&self, output: u8) -> Option<u8> {
        self.lock().routes.get(&output).copied().flatten()
    }
}

#[async_trait]
impl VideoBoard for SimDevice {
    async fn apply(&self, cmd: &VideoCommand) -> Result<(), HalError> {
        self.gate().await?;
        let mut s = self.lock();
        if let VideoCommand::Route { output, input } = cmd {
            if !s.outputs.iter().any(|o| o.port == *output) {
                return Err(HalError::Rejected(format!("no output port {output}")));
            }
            s.routes.insert(*output, *input);
        }
        s.log.push(Command::Video(cmd.clone()));
        Ok(())
    }

    async fn status(&self) -> Result<VideoStatus, HalError> {
        self.gate().await?;
        let s = self.lock();
        Ok(VideoStatus {
            inputs: s.inputs.clone(),
            outputs: s.outputs.clone(),
            audio_jacks: s.jacks.clone(),
        })
    }

    async fn capture(&self, what: Capture) -> Result<Vec<u8>, HalError> {
        self.gate().await?;
        let s = self.lock();
        let (port, signal) = match what {
            Capture::Input(p) => (p, s.inputs.iter().any(|i| i.port == p && i.signal)),
            Capture::Output(o) => match s.routes.get(&o).copied().flatten() {
                Some(p) => (p, s.inputs.iter().any(|i| i.port == p && i.signal)),
                None => (0, false),
            },
        };
        Ok(bmp::test_pattern(160, 90, port, signal))
    }

    fn subscribe(&self) -> broadcast::Receiver<HwEvent> {
        self.events.subscribe()
    }
}

#[async_trait]
impl AudioCodec for SimDevice {
    async fn set_volume(&self, channel: u8, level: u8) -> Result<(), HalError> {
        self.gate().await?;
        let mut s = self.lock();
        s.channels.entry(channel).or_default().volume = level.min(100);
        s.log
            .push(Command::Audio(AudioCommand::Volume { channel, level }));
        Ok(())
    }

    async fn set_gain(&self, channel: u8, gain: u8) -> Result<(), HalError> {
        self.gate().await?;
        let mut s = self.lock();
        s.channels.entry(channel).or_default().gain = gain.min(30);
        s.log
            .push(Command::Audio(AudioCommand::Gain { channel, gain }));
        Ok(())
    }

    async fn set_mute(&self, channel: u8, muted: bool) -> Result<(), HalError> {
        self.gate().await?;
        let mut s = self.lock();
        s.channels.entry(channel).or_default().muted = muted;
        s.log
            .push(Command::Audio(AudioCommand::Mute { channel, muted }));
        Ok(())
    }

    async fn read_channel(&self, channel: u8) -> Result<ChannelState, HalError> {
        self.gate().await?;
        Ok(self
            .lock()
            .channels
            .get(&channel)
            .copied()
            .unwrap_or_default())
    }
}

#[async_trait]
impl BoardIo for SimDevice {
    async fn identity(&self) -> Result<BoardIdentity, HalError> {
        self.gate().await?;
        Ok(self.identity.clone())
    }

    async fn temperature_mc(&self) -> Result<i32, HalError> {
        self.gate().await?;
        Ok(45_000)
    }

    async fn set_led(&self, _led: Led, _on: bool) -> Result<(), HalError> {
        self.gate().await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn board() -> SimDevice {
        SimDevice::new(SimSetup {
            inputs: (1..=2)
                .map(|port| InputStatus {
                    port,
                    signal: port == 1,
                    hdcp: Hdcp::None,
                })
                .collect(),
            outputs: vec![OutputStatus {
                port: 1,
                sink: true,
            }],
            jacks: vec![(8, true)],
            identity: BoardIdentity {
                serial_number: "SIM0000001".into(),
                board_version: "A-05".into(),
            },
        })
    }

    #[tokio::test]
    async fn routes_and_levels_are_kept() {
        let b = board();
        let hal = b.hal();
        hal.apply(&Command::Video(VideoCommand::Route {
            output: 1,
            input: Some(2),
        }))
        .await
        .unwrap();
        assert_eq!(b.route_of(1), Some(2));
        hal.audio.set_volume(8, 42).await.unwrap();
        assert_eq!(hal.audio.read_channel(8).await.unwrap().volume, 42);
        assert!(hal
            .apply(&Command::Video(VideoCommand::Route {
                output: 9,
                input: None
            }))
            .await
            .is_err());
    }

    #[tokio::test]
    async fn plugging_emits_one_event_per_change() {
        let b = board();
        let mut rx = b.subscribe();
        b.set_input(2, true, Hdcp::V22);
        b.set_input(2, true, Hdcp::V22);
        assert_eq!(
            rx.recv().await.unwrap(),
            HwEvent::Input(InputStatus {
                port: 2,
                signal: true,
                hdcp: Hdcp::V22
            })
        );
        assert!(rx.try_recv().is_err());
    }

    #[tokio::test(start_paused = true)]
    async fn a_silent_board_fails_instead_of_answering() {
        let b = board();
        b.set_unresponsive(true);
        assert!(matches!(b.status().await, Err(HalError::NotResponding(_))));
    }
}

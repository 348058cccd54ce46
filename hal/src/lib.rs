//! The VP2730 hardware layer.
//!
//! The daemon never touches a device node: it talks to three small traits,
//! one per chip family on the board, in the spirit of `embedded-hal`:
//!
//! * [`VideoBoard`]: the scaler / HDMI matrix / multiview MCU (routing, output
//!   timing, overlays, layouts, capture, hot-plug and signal status);
//! * [`AudioCodec`]: the audio codec (per-channel volume, gain, mute);
//! * [`BoardIo`]: identity EEPROM, LEDs, temperature.
//!
//! [`sim::SimDevice`] implements all three in memory and behaves like the
//! box (sources with signal and HDCP that can be plugged and unplugged, sinks
//! on outputs, a codec whose levels follow what is set), so the daemon and
//! its tests run on any machine.
//!
//! The real drivers, which ship on the device and run unchanged against the
//! `vp2730-sim` board emulator under `--sim`:
//!
//! * [`video_uart::UartVideoBoard`]: [`VideoBoard`] over the MCU's UART
//!   (line protocol in [`protocol`], `docs/hardware/video-board.md`);
//! * [`codec::I2cCodec`]: [`AudioCodec`] over an embedded-hal I2C bus
//!   (Linux i2c-dev with the `linux-i2c` feature; [`codec::FakeCodecBus`]
//!   models the chip where there is no bus);
//! * [`sysfs::SysfsBoard`]: [`BoardIo`] over sysfs files under a
//!   configurable root.

pub mod bmp;
pub mod codec;
pub mod protocol;
pub mod sim;
pub mod sysfs;
mod types;
pub mod video_uart;

pub use codec::{FakeCodecBus, I2cCodec};
pub use sysfs::SysfsBoard;
pub use types::*;
pub use video_uart::{UartConfig, UartVideoBoard};

use async_trait::async_trait;
use std::sync::Arc;
use tokio::sync::broadcast;

/// The video board MCU: matrix switch, scaler and multiview engine.
#[async_trait]
pub trait VideoBoard: Send + Sync {
    /// Applies one setting. Returns once the board acknowledged it.
    async fn apply(&self, cmd: &VideoCommand) -> Result<(), HalError>;
    /// Reads what the board currently sees on every port.
    async fn status(&self) -> Result<VideoStatus, HalError>;
    /// Grabs one frame of an input (thumbnail) or an output (snapshot), as a
    /// BMP image.
    async fn capture(&self, what: Capture) -> Result<Vec<u8>, HalError>;
    /// Unsolicited notifications (hot-plug, signal, HDCP, sinks).
    fn subscribe(&self) -> broadcast::Receiver<HwEvent>;
}

/// The audio codec.
#[async_trait]
pub trait AudioCodec: Send + Sync {
    /// Sets a channel's level, 0-100 (mapped to the codec's dB steps by the driver).
    async fn set_volume(&self, channel: u8, level: u8) -> Result<(), HalError>;
    /// Sets a channel's analogue gain, 0-30 dB.
    async fn set_gain(&self, channel: u8, gain: u8) -> Result<(), HalError>;
    /// Mutes or unmutes a channel.
    async fn set_mute(&self, channel: u8, muted: bool) -> Result<(), HalError>;
    /// Reads back a channel (volume, gain, muted) for verification.
    async fn read_channel(&self, channel: u8) -> Result<ChannelState, HalError>;
}

/// Board-level I/O: identity, LEDs, sensors.
#[async_trait]
pub trait BoardIo: Send + Sync {
    /// Identity from the board EEPROM.
    async fn identity(&self) -> Result<BoardIdentity, HalError>;
    /// Board temperature in milli-degrees Celsius.
    async fn temperature_mc(&self) -> Result<i32, HalError>;
    /// Sets a status LED.
    async fn set_led(&self, led: Led, on: bool) -> Result<(), HalError>;
}

/// The three parts of the hardware, as the daemon holds them.
#[derive(Clone)]
pub struct Hal {
    pub video: Arc<dyn VideoBoard>,
    pub audio: Arc<dyn AudioCodec>,
    pub board: Arc<dyn BoardIo>,
}

impl Hal {
    /// Applies one command to whichever part owns it.
    pub async fn apply(&self, cmd: &Command) -> Result<(), HalError> {
        match cmd {
            Command::Video(v) => self.video.apply(v).await,
            Command::Audio(AudioCommand::Volume { channel, level }) => {
                self.audio.set_volume(*channel, *level).await
            }
            Command::Audio(AudioCommand::Gain { channel, gain }) => {
                self.audio.set_gain(*channel, *gain).await
            }
            Command::Audio(AudioCommand::Mute { channel, muted }) => {
                self.audio.set_mute(*channel, *muted).await
            }
        }
    }
}

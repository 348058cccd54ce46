//! The audio codec driver: [`AudioCodec`] over I2C.
//!
//! The driver is written against the blocking embedded-hal 1.0
//! [`I2c`] trait, so the same code runs on the
//! device (Linux i2c-dev through `linux-embedded-hal`, cargo feature
//! `linux-i2c`), against [`FakeCodecBus`] (a register-map model of the chip,
//! used by the emulator, the daemon's `--sim` mode and tests) and against
//! `embedded-hal-mock` (tests that pin exact transaction sequences).
//! Transactions run on the blocking thread pool behind a mutex, so the async
//! daemon never blocks on the bus and two sequences never interleave.
//!
//! Register map (`docs/hardware/audio-codec.md`): see [`regs`]. Every write
//! is read back; a register that does not hold what was written is an error
//! (a stuck or reset chip must not look like a successful change).

use crate::{AudioCodec, ChannelState, HalError};
use async_trait::async_trait;
use embedded_hal::i2c::{Error as _, ErrorKind, ErrorType, I2c, NoAcknowledgeSource, Operation};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

/// The codec's 7-bit I2C address on the VP2730 board (ADDR pin low).
pub const DEFAULT_ADDRESS: u8 = 0x1A;
/// The i2c-dev node the codec hangs off on the device.
pub const DEFAULT_BUS: &str = "/dev/i2c-1";

/// Register addresses and bit fields of the codec.
pub mod regs {
    /// Chip identification, read-only, always [`CHIP_ID_VALUE`].
    pub const CHIP_ID: u8 = 0x00;
    /// The value of [`CHIP_ID`]; anything else is another chip (or none).
    pub const CHIP_ID_VALUE: u8 = 0x27;
    /// Silicon revision, read-only.
    pub const REVISION: u8 = 0x01;
    /// Interface configuration; bit 0 enables register auto-increment
    /// (the reset value, which the driver relies on for block reads).
    pub const CONFIG: u8 = 0x02;
    /// First register of channel 0's block.
    pub const CHANNEL_BASE: u8 = 0x80;
    /// Registers per channel block.
    pub const CHANNEL_STRIDE: u8 = 4;
    /// Highest channel number the chip has (32 channel blocks, 0x80-0xFF).
    pub const MAX_CHANNEL: u8 = 31;
    /// Offset of the volume register: attenuation in 0.5 dB steps
    /// (0x00 = 0 dB ... 0xFE = -127 dB), [`VOL_MUTE`] = -inf.
    pub const VOL: u8 = 0;
    /// Offset of the analogue gain register: 0-30 dB in 1 dB steps (bits
    /// 4:0; 31 reads back as 30). Only mic/line channels have the stage;
    /// the register exists on all.
    pub const GAIN: u8 = 1;
    /// Offset of the control register (bit 0: [`CTRL_MUTE`]; other bits
    /// reserved, read 0).
    pub const CTRL: u8 = 2;
    /// Offset of the status register, read-only (bit 0: [`STAT_JACK`]).
    pub const STAT: u8 = 3;
    /// Volume code for silence (-inf dB).
    pub const VOL_MUTE: u8 = 0xFF;
    /// Channel mute bit in the control register.
    pub const CTRL_MUTE: u8 = 0x01;
    /// Jack sense bit in the status register.
    pub const STAT_JACK: u8 = 0x01;
    /// Highest analogue gain in dB.
    pub const MAX_GAIN_DB: u8 = 30;

    /// Address of a channel register (`offset` one of [`VOL`], [`GAIN`],
    /// [`CTRL`], [`STAT`]).
    /// Wraps rather than panics for channels past [`MAX_CHANNEL`], which
    /// callers check first.
    pub const fn channel_reg(channel: u8, offset: u8) -> u8 {
        CHANNEL_BASE
            .wrapping_add(channel.wrapping_mul(CHANNEL_STRIDE))
            .wrapping_add(offset)
    }
}

/// The volume code for an API level: 0 is silence, 1-100 map to -49.5 dB ...
/// 0 dB in 0.5 dB steps (code = attenuation in half dB = 100 - level).
pub fn volume_code(level: u8) -> u8 {
    if level == 0 {
        regs::VOL_MUTE
    } else {
        100 - level.min(100)
    }
}

/// The API level of a volume code: inverse of [`volume_code`]; attenuations
/// below the lowest level (codes 100-254) read as 0.
pub fn volume_level(code: u8) -> u8 {
    100u8.saturating_sub(code)
}

/// The audio codec on an I2C bus.
pub struct I2cCodec<I> {
    bus: Arc<Mutex<I>>,
    address: u8,
    retries: u32,
}

impl<I> Clone for I2cCodec<I> {
    fn clone(&self) -> Self {
        I2cCodec {
            bus: self.bus.clone(),
            address: self.address,
            retries: self.retries,
        }
    }
}

/// Register access on a locked bus, in the blocking pool.
struct Regs<'a, I> {
    bus: MutexGuard<'a, I>,
    address: u8,
    retries: u32,
}

impl<I: I2c> Regs<'_, I> {
    /// Runs one bus operation; a NAK (the chip busy or absent) is tried
    /// again up to `retries` times, any other bus error fails at once.
    fn with_retry<T>(
        &mut self,
        what: &str,
        mut op: impl FnMut(&mut I, u8) -> Result<T, I::Error>,
    ) -> Result<T, HalError> {
        let mut attempt = 0;
        loop {
            match op(&mut self.bus, self.address) {
                Ok(v) => return Ok(v),
                Err(e) => match e.kind() {
                    ErrorKind::NoAcknowledge(_) if attempt < self.retries => {
                        attempt += 1;
                        std::thread::sleep(Duration::from_millis(1));
                    }
                    ErrorKind::NoAcknowledge(_) => {
                        return Err(HalError::NotResponding(format!(
                            "audio codec at 0x{:02X}: {what}: no acknowledge",
                            self.address
                        )))
                    }
                    kind => {
                        return Err(HalError::Io(format!(
                            "audio codec at 0x{:02X}: {what}: {kind:?}",
                            self.address
                        )))
                    }
                },
            }
        }
    }

    fn read(&mut self, reg: u8) -> Result<u8, HalError> {
        let mut b = [0u8; 1];
        self.with_retry(&format!("read 0x{reg:02X}"), |bus, a| {
            bus.write_read(a, &[reg], &mut b)
        })?;
        Ok(b[0])
    }

    fn read_block<const N: usize>(&mut self, reg: u8) -> Result<[u8; N], HalError> {
        let mut b = [0u8; N];
        self.with_retry(&format!("read 0x{reg:02X}+{N}"), |bus, a| {
            bus.write_read(a, &[reg], &mut b)
        })?;
        Ok(b)
    }

    /// Writes a register and reads it back.
    fn write_verified(&mut self, reg: u8, value: u8) -> Result<(), HalError> {
        self.with_retry(&format!("write 0x{reg:02X}"), |bus, a| {
            bus.write(a, &[reg, value])
        })?;
        let got = self.read(reg)?;
        if got != value {
            return Err(HalError::Io(format!(
                "audio codec register 0x{reg:02X}: wrote 0x{value:02X}, read back 0x{got:02X}"
            )));
        }
        Ok(())
    }
}

fn check_channel(channel: u8) -> Result<(), HalError> {
    if channel > regs::MAX_CHANNEL {
        return Err(HalError::Rejected(format!(
            "audio codec has no channel {channel}"
        )));
    }
    Ok(())
}

impl<I: I2c + Send + 'static> I2cCodec<I> {
    /// The codec at `address` on `bus`. No bus traffic until the first call.
    pub fn new(bus: I, address: u8) -> Self {
        I2cCodec {
            bus: Arc::new(Mutex::new(bus)),
            address,
            retries: 2,
        }
    }

    /// How often a NAKed transfer is tried again (default 2).
    pub fn with_retries(mut self, retries: u32) -> Self {
        self.retries = retries;
        self
    }

    /// Checks the chip answers and is the expected part; returns its
    /// revision. The daemon calls it once at start-up.
    pub async fn probe(&self) -> Result<u8, HalError> {
        self.run(|r| {
            let [id, rev] = r.read_block::<2>(regs::CHIP_ID)?;
            if id != regs::CHIP_ID_VALUE {
                return Err(HalError::Io(format!(
                    "audio codec: chip id 0x{id:02X}, expected 0x{:02X}",
                    regs::CHIP_ID_VALUE
                )));
            }
            Ok(rev)
        })
        .await
    }

    /// Runs a register sequence on the blocking pool with the bus locked.
    async fn run<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Regs<'_, I>) -> Result<T, HalError> + Send + 'static,
    ) -> Result<T, HalError> {
        let bus = self.bus.clone();
        let address = self.address;
        let retries = self.retries;
        tokio::task::spawn_blocking(move || {
            // A poisoned lock means an earlier sequence panicked; the bus
            // handle itself is still usable.
            let guard = bus.lock().unwrap_or_else(|p| p.into_inner());
            let mut regs = Regs {
                bus: guard,
                address,
                retries,
            };
            f(&mut regs)
        })
        .await
        .map_err(|e| HalError::Io(format!("audio codec task failed: {e}")))?
    }
}

#[cfg(feature = "linux-i2c")]
impl I2cCodec<linux_embedded_hal::I2cdev> {
    /// Opens the codec on a Linux i2c-dev node (`/dev/i2c-1` on the device).
    pub fn open_linux(path: impl AsRef<std::path::Path>, address: u8) -> Result<Self, HalError> {
        let path = path.as_ref();
        let dev = linux_embedded_hal::I2cdev::new(path)
            .map_err(|e| HalError::Io(format!("{}: {e}", path.display())))?;
        Ok(Self::new(dev, address))
    }
}

#[async_trait]
impl<I: I2c + Send + 'static> AudioCodec for I2cCodec<I> {
    async fn set_volume(&self, channel: u8, level: u8) -> Result<(), HalError> {
        check_channel(channel)?;
        if level > 100 {
            return Err(HalError::Rejected(format!("volume {level} out of 0-100")));
        }
        self.run(move |r| {
            r.write_verified(regs::channel_reg(channel, regs::VOL), volume_code(level))
        })
        .await
    }

    async fn set_gain(&self, channel: u8, gain: u8) -> Result<(), HalError> {
        check_channel(channel)?;
        if gain > regs::MAX_GAIN_DB {
            return Err(HalError::Rejected(format!("gain {gain} dB out of 0-30")));
        }
        self.run(move |r| r.write_verified(regs::channel_reg(channel, regs::GAIN), gain))
            .await
    }

    async fn set_mute(&self, channel: u8, muted: bool) -> Result<(), HalError> {
        check_channel(channel)?;
        self.run(move |r| {
            let reg = regs::channel_reg(channel, regs::CTRL);
            let ctrl = r.read(reg)?;
            let next = if muted {
                ctrl | regs::CTRL_MUTE
            } else {
                ctrl & !regs::CTRL_MUTE
            };
            r.write_verified(reg, next)
        })
        .await
    }

    async fn read_channel(&self, channel: u8) -> Result<ChannelState, HalError> {
        check_channel(channel)?;
        self.run(move |r| {
            let [vol, gain, ctrl, _stat] =
                r.read_block::<4>(regs::channel_reg(channel, regs::VOL))?;
            Ok(ChannelState {
                volume: volume_level(vol),
                gain: gain.min(regs::MAX_GAIN_DB),
                muted: ctrl & regs::CTRL_MUTE != 0,
            })
        })
        .await
    }
}

// ---------------------------------------------------------------------------
// The fake chip.

/// An I2C error of the fake bus.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FakeI2cError(pub ErrorKind);

impl embedded_hal::i2c::Error for FakeI2cError {
    fn kind(&self) -> ErrorKind {
        self.0
    }
}

struct FakeChip {
    address: u8,
    regs: [u8; 256],
    pointer: u8,
    nak_all: bool,
    nak_next: u32,
    stuck: Vec<(u8, u8)>,
    transactions: u64,
}

impl FakeChip {
    fn power_on(address: u8) -> Self {
        let mut regs = [0u8; 256];
        regs[usize::from(regs::CHIP_ID)] = regs::CHIP_ID_VALUE;
        regs[usize::from(regs::REVISION)] = 0x03;
        regs[usize::from(regs::CONFIG)] = 0x01;
        for ch in 0..=regs::MAX_CHANNEL {
            regs[usize::from(regs::channel_reg(ch, regs::VOL))] = regs::VOL_MUTE;
        }
        FakeChip {
            address,
            regs,
            pointer: 0,
            nak_all: false,
            nak_next: 0,
            stuck: Vec::new(),
            transactions: 0,
        }
    }

    fn store(&mut self, reg: u8, value: u8) {
        if self.stuck.iter().any(|(r, _)| *r == reg) {
            return;
        }
        let value = match reg {
            regs::CONFIG => value & 0x01,
            r if r >= regs::CHANNEL_BASE => match (r - regs::CHANNEL_BASE) % regs::CHANNEL_STRIDE {
                regs::VOL => value,
                regs::GAIN => (value & 0x1F).min(regs::MAX_GAIN_DB),
                regs::CTRL => value & regs::CTRL_MUTE,
                _ => return, // STAT is read-only
            },
            _ => return, // identification and unmapped registers
        };
        self.regs[usize::from(reg)] = value;
    }

    fn load(&self, reg: u8) -> u8 {
        self.stuck
            .iter()
            .find(|(r, _)| *r == reg)
            .map(|(_, v)| *v)
            .unwrap_or(self.regs[usize::from(reg)])
    }

    fn step(&mut self) {
        if self.regs[usize::from(regs::CONFIG)] & 0x01 != 0 {
            self.pointer = self.pointer.wrapping_add(1);
        }
    }
}

/// A register-map model of the codec that implements the embedded-hal
/// [`I2c`] trait, for machines without an I2C bus (CI, `--sim`).
///
/// It behaves as the chip does: one register pointer set by the first byte
/// of a write, auto-increment, read-only identification and status
/// registers, reserved bits that read 0, power-on values. Test and
/// fault-injection hooks: NAK every transfer or the next few, pin a register
/// to a value (a stuck chip: read-back mismatch), set jack sense, power
/// cycle. Cheap to clone; clones share the chip, so the emulator keeps one
/// to inject faults while the driver owns another.
#[derive(Clone)]
pub struct FakeCodecBus {
    chip: Arc<Mutex<FakeChip>>,
}

impl FakeCodecBus {
    /// A powered-on chip answering at `address`.
    pub fn new(address: u8) -> Self {
        FakeCodecBus {
            chip: Arc::new(Mutex::new(FakeChip::power_on(address))),
        }
    }

    fn lock(&self) -> MutexGuard<'_, FakeChip> {
        self.chip.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The chip's 7-bit address.
    pub fn address(&self) -> u8 {
        self.lock().address
    }

    /// A register as the bus would read it.
    pub fn register(&self, reg: u8) -> u8 {
        self.lock().load(reg)
    }

    /// The channel state held by the chip, decoded like the driver does.
    pub fn channel(&self, channel: u8) -> ChannelState {
        let c = self.lock();
        ChannelState {
            volume: volume_level(c.load(regs::channel_reg(channel, regs::VOL))),
            gain: c.load(regs::channel_reg(channel, regs::GAIN)),
            muted: c.load(regs::channel_reg(channel, regs::CTRL)) & regs::CTRL_MUTE != 0,
        }
    }

    /// NAKs every transfer (the chip in reset or gone) until turned off.
    pub fn set_nak(&self, on: bool) {
        self.lock().nak_all = on;
    }

    /// NAKs the next `n` transfers (a busy chip).
    pub fn nak_next(&self, n: u32) {
        self.lock().nak_next = n;
    }

    /// Pins a register to a value that writes do not change (`None` frees
    /// it): the driver's read-back must notice.
    pub fn set_stuck(&self, reg: u8, value: Option<u8>) {
        let mut c = self.lock();
        c.stuck.retain(|(r, _)| *r != reg);
        if let Some(v) = value {
            c.stuck.push((reg, v));
        }
    }

    /// Sets a channel's jack-sense bit (hardware input, not writable over
    /// the bus).
    pub fn set_jack(&self, channel: u8, connected: bool) {
        if channel > regs::MAX_CHANNEL {
            return;
        }
        let mut c = self.lock();
        let r = usize::from(regs::channel_reg(channel, regs::STAT));
        if connected {
            c.regs[r] |= regs::STAT_JACK;
        } else {
            c.regs[r] &= !regs::STAT_JACK;
        }
    }

    /// Power cycle: every register back to its reset value, faults kept.
    pub fn power_cycle(&self) {
        let mut c = self.lock();
        let fresh = FakeChip::power_on(c.address);
        c.regs = fresh.regs;
        c.pointer = 0;
    }

    /// Transfers seen so far (NAKed ones included).
    pub fn transactions(&self) -> u64 {
        self.lock().transactions
    }
}

impl ErrorType for FakeCodecBus {
    type Error = FakeI2cError;
}

impl I2c for FakeCodecBus {
    fn transaction(
        &mut self,
        address: u8,
        operations: &mut [Operation<'_>],
    ) -> Result<(), Self::Error> {
        let mut c = self.lock();
        c.transactions += 1;
        if address != c.address || c.nak_all {
            return Err(FakeI2cError(ErrorKind::NoAcknowledge(
                NoAcknowledgeSource::Address,
            )));
        }
        if c.nak_next > 0 {
            c.nak_next -= 1;
            return Err(FakeI2cError(ErrorKind::NoAcknowledge(
                NoAcknowledgeSource::Address,
            )));
        }
        for op in operations {
            match op {
                Operation::Write(bytes) => {
                    let Some((&reg, data)) = bytes.split_first() else {
                        continue;
                    };
                    c.pointer = reg;
                    for &b in data {
                        let p = c.pointer;
                        c.store(p, b);
                        c.step();
                    }
                }
                Operation::Read(buf) => {
                    for b in buf.iter_mut() {
                        *b = c.load(c.pointer);
                        c.step();
                    }
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use embedded_hal_mock::eh1::i2c::{Mock, Transaction as T};

    const A: u8 = DEFAULT_ADDRESS;

    #[test]
    fn volume_mapping_is_half_db_steps_with_zero_as_silence() {
        assert_eq!(volume_code(100), 0x00);
        assert_eq!(volume_code(99), 0x01);
        assert_eq!(volume_code(1), 99);
        assert_eq!(volume_code(0), regs::VOL_MUTE);
        for l in 0..=100 {
            assert_eq!(volume_level(volume_code(l)), l);
        }
        assert_eq!(volume_level(150), 0);
    }

    #[tokio::test]
    async fn the_fake_keeps_what_is_written_and_reads_it_back() {
        let bus = FakeCodecBus::new(A);
        let codec = I2cCodec::new(bus.clone(), A);
        assert_eq!(codec.probe().await.unwrap(), 0x03);
        codec.set_volume(8, 42).await.unwrap();
        codec.set_gain(8, 12).await.unwrap();
        codec.set_mute(8, true).await.unwrap();
        let want = ChannelState {
            volume: 42,
            gain: 12,
            muted: true,
        };
        assert_eq!(codec.read_channel(8).await.unwrap(), want);
        assert_eq!(bus.channel(8), want);
        assert_eq!(bus.register(regs::channel_reg(8, regs::VOL)), 58);
        codec.set_mute(8, false).await.unwrap();
        assert!(!codec.read_channel(8).await.unwrap().muted);
        // Other channels untouched, at power-on values.
        assert_eq!(
            codec.read_channel(9).await.unwrap(),
            ChannelState {
                volume: 0,
                gain: 0,
                muted: false
            }
        );
    }

    #[tokio::test]
    async fn out_of_range_values_never_reach_the_bus() {
        let bus = FakeCodecBus::new(A);
        let codec = I2cCodec::new(bus.clone(), A);
        for r in [
            codec.set_volume(8, 101).await,
            codec.set_gain(8, 31).await,
            codec.set_mute(32, true).await,
        ] {
            assert!(matches!(r, Err(HalError::Rejected(_))), "{r:?}");
        }
        assert_eq!(bus.transactions(), 0);
    }

    #[tokio::test]
    async fn a_busy_chip_is_retried_and_a_gone_chip_is_not_responding() {
        let bus = FakeCodecBus::new(A);
        let codec = I2cCodec::new(bus.clone(), A);
        bus.nak_next(2);
        codec.set_volume(16, 80).await.unwrap();
        assert_eq!(bus.channel(16).volume, 80);

        bus.set_nak(true);
        let before = bus.transactions();
        assert!(matches!(
            codec.set_volume(16, 70).await,
            Err(HalError::NotResponding(_))
        ));
        assert_eq!(bus.transactions() - before, 3, "1 try + 2 retries");
        bus.set_nak(false);
        codec.set_volume(16, 70).await.unwrap();
        assert_eq!(bus.channel(16).volume, 70);
    }

    #[tokio::test]
    async fn a_register_that_does_not_take_the_write_is_an_error() {
        let bus = FakeCodecBus::new(A);
        let codec = I2cCodec::new(bus.clone(), A);
        bus.set_stuck(regs::channel_reg(9, regs::GAIN), Some(5));
        let err = codec.set_gain(9, 20).await.unwrap_err();
        assert!(
            matches!(&err, HalError::Io(m) if m.contains("read back 0x05")),
            "{err:?}"
        );
        bus.set_stuck(regs::channel_reg(9, regs::GAIN), None);
        codec.set_gain(9, 20).await.unwrap();
    }

    #[tokio::test]
    async fn the_wrong_chip_fails_the_probe() {
        let bus = FakeCodecBus::new(A);
        bus.set_stuck(regs::CHIP_ID, Some(0x42));
        assert!(matches!(
            I2cCodec::new(bus, A).probe().await,
            Err(HalError::Io(_))
        ));
        // Nothing at another address.
        assert!(matches!(
            I2cCodec::new(FakeCodecBus::new(A), 0x1B).probe().await,
            Err(HalError::NotResponding(_))
        ));
    }

    #[test]
    fn the_fake_models_read_only_and_reserved_bits() {
        let mut bus = FakeCodecBus::new(A);
        bus.write(A, &[regs::CHIP_ID, 0x00]).unwrap();
        bus.write(A, &[regs::channel_reg(3, regs::CTRL), 0xFF])
            .unwrap();
        bus.write(A, &[regs::channel_reg(3, regs::STAT), 0xFF])
            .unwrap();
        bus.set_jack(3, true);
        let mut b = [0u8; 4];
        bus.write_read(A, &[regs::channel_reg(3, regs::VOL)], &mut b)
            .unwrap();
        assert_eq!(b, [0xFF, 0x00, 0x01, 0x01]);
        assert_eq!(bus.register(regs::CHIP_ID), regs::CHIP_ID_VALUE);
        bus.power_cycle();
        assert_eq!(bus.register(regs::channel_reg(3, regs::CTRL)), 0);
    }

    // --- exact transaction sequences (embedded-hal-mock) ---

    #[tokio::test]
    async fn set_volume_is_one_write_and_one_read_back() {
        let reg = regs::channel_reg(17, regs::VOL);
        let mut mock = Mock::new(&[
            T::write(A, vec![reg, 20]),
            T::write_read(A, vec![reg], vec![20]),
        ]);
        I2cCodec::new(mock.clone(), A)
            .set_volume(17, 80)
            .await
            .unwrap();
        mock.done();
    }

    #[tokio::test]
    async fn set_mute_is_read_modify_write_with_read_back() {
        let reg = regs::channel_reg(8, regs::CTRL);
        let mut mock = Mock::new(&[
            T::write_read(A, vec![reg], vec![0x00]),
            T::write(A, vec![reg, 0x01]),
            T::write_read(A, vec![reg], vec![0x01]),
        ]);
        I2cCodec::new(mock.clone(), A)
            .set_mute(8, true)
            .await
            .unwrap();
        mock.done();
    }

    #[tokio::test]
    async fn read_channel_is_one_block_read() {
        let mut mock = Mock::new(&[T::write_read(
            A,
            vec![regs::channel_reg(10, regs::VOL)],
            vec![0, 7, 1, 1],
        )]);
        let st = I2cCodec::new(mock.clone(), A)
            .read_channel(10)
            .await
            .unwrap();
        assert_eq!(
            st,
            ChannelState {
                volume: 100,
                gain: 7,
                muted: true
            }
        );
        mock.done();
    }

    #[tokio::test]
    async fn a_nak_is_retried_then_the_sequence_goes_on() {
        let reg = regs::channel_reg(9, regs::GAIN);
        let nak = ErrorKind::NoAcknowledge(NoAcknowledgeSource::Data);
        let mut mock = Mock::new(&[
            T::write(A, vec![reg, 15]).with_error(nak),
            T::write(A, vec![reg, 15]),
            T::write_read(A, vec![reg], vec![15]),
        ]);
        I2cCodec::new(mock.clone(), A)
            .set_gain(9, 15)
            .await
            .unwrap();
        mock.done();
    }

    #[tokio::test]
    async fn a_bus_error_is_io_and_not_retried() {
        let reg = regs::channel_reg(9, regs::GAIN);
        let mut mock =
            Mock::new(&[T::write(A, vec![reg, 15]).with_error(ErrorKind::ArbitrationLoss)]);
        let r = I2cCodec::new(mock.clone(), A).set_gain(9, 15).await;
        assert!(matches!(r, Err(HalError::Io(_))), "{r:?}");
        mock.done();
    }

    #[tokio::test]
    async fn a_read_back_mismatch_stops_the_sequence() {
        let reg = regs::channel_reg(9, regs::VOL);
        let mut mock = Mock::new(&[
            T::write(A, vec![reg, 50]),
            T::write_read(A, vec![reg], vec![0xFF]),
        ]);
        let r = I2cCodec::new(mock.clone(), A).set_volume(9, 50).await;
        assert!(matches!(r, Err(HalError::Io(_))), "{r:?}");
        mock.done();
    }
}

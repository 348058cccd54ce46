//! Board I/O through Linux sysfs: [`BoardIo`] plus the board's GPIO inputs.
//!
//! Everything is a file under a configurable root (`/` on the device, a
//! temporary directory in tests and under the emulator), laid out as
//! `docs/hardware/board-io.md` documents:
//!
//! * hot-plug detect of the inputs and sink sense of the outputs: GPIO
//!   inputs, `sys/class/gpio/gpioN/value` (`0`/`1`);
//! * front-panel LEDs: `sys/class/leds/<name>/brightness` (written with the
//!   LED's `max_brightness`, or `0`);
//! * board temperature: `sys/class/thermal/thermal_zone0/temp`
//!   (millidegrees Celsius);
//! * identity: the at24 EEPROM's nvmem dump,
//!   `sys/bus/nvmem/devices/0-00500/nvmem`, in the format of [`eeprom`].
//!
//! The files are read on every call (sysfs values are live), through
//! tokio's file API so a slow sysfs read never stalls the runtime.

use crate::{BoardIdentity, BoardIo, HalError, Led};
use async_trait::async_trait;
use std::path::{Path, PathBuf};

/// Where the board's signals are, relative to the sysfs root.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SysfsLayout {
    /// Input port → GPIO of its +5 V / hot-plug detect (1 = source present).
    pub hotplug_gpio: Vec<(u8, u32)>,
    /// Output port → GPIO of its sink sense (HPD from the display, 1 =
    /// display connected).
    pub sink_gpio: Vec<(u8, u32)>,
    /// LED class device of the power LED.
    pub led_power: String,
    /// LED class device of the live (streaming) LED.
    pub led_live: String,
    /// LED class device of the error LED.
    pub led_error: String,
    /// Thermal zone of the board sensor.
    pub thermal_zone: String,
    /// The identity EEPROM's nvmem file, relative to the root.
    pub eeprom: PathBuf,
}

impl SysfsLayout {
    /// The VP2730 main board (rev A-05): inputs 1-7 on GPIO 100-106,
    /// outputs 1-3 on GPIO 110-112.
    pub fn vp2730() -> Self {
        SysfsLayout {
            hotplug_gpio: (1..=7).map(|p| (p, 99 + u32::from(p))).collect(),
            sink_gpio: (1..=3).map(|p| (p, 109 + u32::from(p))).collect(),
            led_power: "vp2730:green:power".into(),
            led_live: "vp2730:red:live".into(),
            led_error: "vp2730:amber:error".into(),
            thermal_zone: "thermal_zone0".into(),
            eeprom: PathBuf::from("sys/bus/nvmem/devices/0-00500/nvmem"),
        }
    }

    /// The LED class device of a front-panel LED.
    pub fn led_name(&self, led: Led) -> &str {
        match led {
            Led::Power => &self.led_power,
            Led::Live => &self.led_live,
            Led::Error => &self.led_error,
        }
    }

    /// Every GPIO the layout uses.
    pub fn gpios(&self) -> impl Iterator<Item = u32> + '_ {
        self.hotplug_gpio
            .iter()
            .chain(&self.sink_gpio)
            .map(|(_, g)| *g)
    }
}

impl Default for SysfsLayout {
    fn default() -> Self {
        Self::vp2730()
    }
}

/// `sys/class/gpio/gpioN/value` under `root`.
pub fn gpio_value_path(root: &Path, gpio: u32) -> PathBuf {
    root.join(format!("sys/class/gpio/gpio{gpio}/value"))
}

/// `sys/class/leds/<name>` under `root`.
pub fn led_dir(root: &Path, name: &str) -> PathBuf {
    root.join("sys/class/leds").join(name)
}

/// `sys/class/thermal/<zone>/temp` under `root`.
pub fn thermal_path(root: &Path, zone: &str) -> PathBuf {
    root.join("sys/class/thermal").join(zone).join("temp")
}

/// The identity EEPROM's content (first [`eeprom::SIZE`] bytes of the
/// at24 part):
///
/// | bytes | content |
/// |---|---|
/// | 0-3 | magic `VP27` |
/// | 4 | format version, 1 |
/// | 5-7 | reserved, 0 |
/// | 8-31 | serial number, ASCII, NUL-padded |
/// | 32-39 | board version, ASCII, NUL-padded |
/// | 40-59 | reserved, 0xFF |
/// | 60-63 | CRC-32/ISO-HDLC of bytes 0-59, little-endian |
pub mod eeprom {
    use crate::{BoardIdentity, HalError};

    /// Bytes the format uses.
    pub const SIZE: usize = 64;
    /// The first four bytes.
    pub const MAGIC: &[u8; 4] = b"VP27";
    const SERIAL: std::ops::Range<usize> = 8..32;
    const VERSION: std::ops::Range<usize> = 32..40;

    /// The EEPROM image of an identity (manufacturing, the emulator, tests).
    pub fn encode(id: &BoardIdentity) -> Result<Vec<u8>, HalError> {
        let mut b = vec![0u8; SIZE];
        b[..4].copy_from_slice(MAGIC);
        b[4] = 1;
        for (field, range) in [(&id.serial_number, SERIAL), (&id.board_version, VERSION)] {
            if field.len() > range.len() || !field.bytes().all(|c| c.is_ascii_graphic()) {
                return Err(HalError::Rejected(format!(
                    "`{field}` does not fit the EEPROM field"
                )));
            }
            b[range.start..range.start + field.len()].copy_from_slice(field.as_bytes());
        }
        b[40..60].fill(0xFF);
        let crc = crc32fast::hash(&b[..60]);
        b[60..].copy_from_slice(&crc.to_le_bytes());
        Ok(b)
    }

    fn text(b: &[u8]) -> Result<String, HalError> {
        let end = b.iter().position(|&c| c == 0).unwrap_or(b.len());
        let (s, pad) = b.split_at(end);
        if !pad.iter().all(|&c| c == 0) || !s.iter().all(|c| c.is_ascii_graphic()) {
            return Err(HalError::Io("identity EEPROM: bad text field".into()));
        }
        Ok(String::from_utf8_lossy(s).into_owned())
    }

    /// Reads an EEPROM image (at least [`SIZE`] bytes; the rest of the part
    /// is ignored). A blank or damaged EEPROM is an I/O error, never a
    /// made-up identity.
    pub fn decode(b: &[u8]) -> Result<BoardIdentity, HalError> {
        if b.len() < SIZE {
            return Err(HalError::Io(format!(
                "identity EEPROM: {} bytes, expected {SIZE}",
                b.len()
            )));
        }
        if &b[..4] != MAGIC {
            return Err(HalError::Io(
                "identity EEPROM: no VP27 magic (blank?)".into(),
            ));
        }
        if b[4] != 1 {
            return Err(HalError::Io(format!(
                "identity EEPROM: unknown format version {}",
                b[4]
            )));
        }
        let stored = u32::from_le_bytes([b[60], b[61], b[62], b[63]]);
        if crc32fast::hash(&b[..60]) != stored {
            return Err(HalError::Io("identity EEPROM: checksum mismatch".into()));
        }
        Ok(BoardIdentity {
            serial_number: text(&b[SERIAL])?,
            board_version: text(&b[VERSION])?,
        })
    }
}

/// Writes a file by renaming a fully written sibling over it, so a reader
/// never sees it half written.
fn write_atomic(path: &Path, content: &[u8]) -> std::io::Result<()> {
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    let tmp = PathBuf::from(tmp);
    std::fs::write(&tmp, content)?;
    std::fs::rename(&tmp, path)
}

/// Sets a GPIO input's value in a fake sysfs tree (emulator, tests).
pub fn write_gpio(root: &Path, gpio: u32, high: bool) -> std::io::Result<()> {
    write_atomic(
        &gpio_value_path(root, gpio),
        if high { b"1\n" } else { b"0\n" },
    )
}

/// Sets the board temperature in a fake sysfs tree (emulator, tests).
pub fn write_temperature(root: &Path, layout: &SysfsLayout, millideg: i32) -> std::io::Result<()> {
    write_atomic(
        &thermal_path(root, &layout.thermal_zone),
        format!("{millideg}\n").as_bytes(),
    )
}

/// Builds the sysfs files [`SysfsBoard`] reads under `root`, as a booted
/// board has them: exported GPIO inputs (all low), LEDs off, 45 °C, the
/// identity EEPROM. For the emulator and tests.
pub fn create_tree(
    root: &Path,
    layout: &SysfsLayout,
    identity: &BoardIdentity,
) -> Result<(), HalError> {
    let io = |e: std::io::Error| HalError::Io(format!("{}: {e}", root.display()));
    let gpio_class = root.join("sys/class/gpio");
    std::fs::create_dir_all(&gpio_class).map_err(io)?;
    std::fs::write(gpio_class.join("export"), b"").map_err(io)?;
    for g in layout.gpios() {
        let dir = gpio_class.join(format!("gpio{g}"));
        std::fs::create_dir_all(&dir).map_err(io)?;
        std::fs::write(dir.join("direction"), b"in\n").map_err(io)?;
        std::fs::write(dir.join("active_low"), b"0\n").map_err(io)?;
        write_gpio(root, g, false).map_err(io)?;
    }
    for led in [Led::Power, Led::Live, Led::Error] {
        let dir = led_dir(root, layout.led_name(led));
        std::fs::create_dir_all(&dir).map_err(io)?;
        std::fs::write(dir.join("max_brightness"), b"255\n").map_err(io)?;
        std::fs::write(dir.join("brightness"), b"0\n").map_err(io)?;
    }
    let thermal = thermal_path(root, &layout.thermal_zone);
    if let Some(dir) = thermal.parent() {
        std::fs::create_dir_all(dir).map_err(io)?;
    }
    write_temperature(root, layout, 45_000).map_err(io)?;
    let eeprom = root.join(&layout.eeprom);
    if let Some(dir) = eeprom.parent() {
        std::fs::create_dir_all(dir).map_err(io)?;
    }
    let mut image = eeprom::encode(identity)?;
    image.resize(256, 0xFF); // the whole 24C02, as the nvmem file shows it
    std::fs::write(&eeprom, image).map_err(io)?;
    Ok(())
}

/// The board's sysfs-facing I/O.
#[derive(Debug, Clone)]
pub struct SysfsBoard {
    root: PathBuf,
    layout: SysfsLayout,
}

fn io_err(path: &Path, e: std::io::Error) -> HalError {
    HalError::Io(format!("{}: {e}", path.display()))
}

impl SysfsBoard {
    /// The VP2730 layout under `root` (`/` on the device).
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self::with_layout(root, SysfsLayout::vp2730())
    }

    /// Another board revision's layout under `root`.
    pub fn with_layout(root: impl Into<PathBuf>, layout: SysfsLayout) -> Self {
        SysfsBoard {
            root: root.into(),
            layout,
        }
    }

    /// The sysfs root this board reads.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The layout in use.
    pub fn layout(&self) -> &SysfsLayout {
        &self.layout
    }

    /// Exports the layout's GPIOs that are not exported yet (writes their
    /// numbers to `sys/class/gpio/export`) and makes them inputs. The
    /// daemon calls it once at start-up on the device.
    pub async fn export_gpios(&self) -> Result<(), HalError> {
        let export = self.root.join("sys/class/gpio/export");
        for g in self.layout.gpios() {
            let value = gpio_value_path(&self.root, g);
            if tokio::fs::try_exists(&value).await.unwrap_or(false) {
                continue;
            }
            tokio::fs::write(&export, g.to_string())
                .await
                .map_err(|e| io_err(&export, e))?;
            let dir = self.root.join(format!("sys/class/gpio/gpio{g}/direction"));
            tokio::fs::write(&dir, b"in")
                .await
                .map_err(|e| io_err(&dir, e))?;
        }
        Ok(())
    }

    async fn read_trimmed(&self, path: &Path) -> Result<String, HalError> {
        let s = tokio::fs::read_to_string(path)
            .await
            .map_err(|e| io_err(path, e))?;
        Ok(s.trim().to_string())
    }

    async fn gpio(&self, gpio: u32) -> Result<bool, HalError> {
        let path = gpio_value_path(&self.root, gpio);
        match self.read_trimmed(&path).await?.as_str() {
            "0" => Ok(false),
            "1" => Ok(true),
            other => Err(HalError::Io(format!(
                "{}: unexpected value `{other}`",
                path.display()
            ))),
        }
    }

    fn lookup(map: &[(u8, u32)], port: u8, what: &str) -> Result<u32, HalError> {
        map.iter()
            .find(|(p, _)| *p == port)
            .map(|(_, g)| *g)
            .ok_or_else(|| HalError::Rejected(format!("no {what} GPIO for port {port}")))
    }

    /// Whether a source is connected to an input port (its +5 V / HPD line).
    pub async fn source_present(&self, input: u8) -> Result<bool, HalError> {
        self.gpio(Self::lookup(&self.layout.hotplug_gpio, input, "hot-plug")?)
            .await
    }

    /// Whether a display is connected to an output port (its HPD line).
    pub async fn sink_present(&self, output: u8) -> Result<bool, HalError> {
        self.gpio(Self::lookup(&self.layout.sink_gpio, output, "sink-sense")?)
            .await
    }

    /// Whether an LED is lit, as the LED class reports it.
    pub async fn led(&self, led: Led) -> Result<bool, HalError> {
        let path = led_dir(&self.root, self.layout.led_name(led)).join("brightness");
        let v = self.read_trimmed(&path).await?;
        v.parse::<u32>()
            .map(|b| b > 0)
            .map_err(|_| HalError::Io(format!("{}: unexpected value `{v}`", path.display())))
    }
}

#[async_trait]
impl BoardIo for SysfsBoard {
    async fn identity(&self) -> Result<BoardIdentity, HalError> {
        let path = self.root.join(&self.layout.eeprom);
        let image = tokio::fs::read(&path).await.map_err(|e| io_err(&path, e))?;
        eeprom::decode(&image)
    }

    async fn temperature_mc(&self) -> Result<i32, HalError> {
        let path = thermal_path(&self.root, &self.layout.thermal_zone);
        let v = self.read_trimmed(&path).await?;
        v.parse()
            .map_err(|_| HalError::Io(format!("{}: unexpected value `{v}`", path.display())))
    }

    async fn set_led(&self, led: Led, on: bool) -> Result<(), HalError> {
        let dir = led_dir(&self.root, self.layout.led_name(led));
        let value = if on {
            let max = dir.join("max_brightness");
            match self.read_trimmed(&max).await {
                Ok(v) if v.parse::<u32>().map(|m| m > 0).unwrap_or(false) => v,
                _ => "1".to_string(),
            }
        } else {
            "0".to_string()
        };
        let path = dir.join("brightness");
        tokio::fs::write(&path, value)
            .await
            .map_err(|e| io_err(&path, e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id() -> BoardIdentity {
        BoardIdentity {
            serial_number: "VP27300000042".into(),
            board_version: "A-05".into(),
        }
    }

    fn tree() -> (tempfile::TempDir, SysfsBoard) {
        let dir = tempfile::tempdir().unwrap();
        create_tree(dir.path(), &SysfsLayout::vp2730(), &id()).unwrap();
        let board = SysfsBoard::new(dir.path());
        (dir, board)
    }

    #[tokio::test]
    async fn identity_and_temperature_come_from_their_files() {
        let (dir, b) = tree();
        assert_eq!(b.identity().await.unwrap(), id());
        assert_eq!(b.temperature_mc().await.unwrap(), 45_000);
        write_temperature(dir.path(), b.layout(), 61_250).unwrap();
        assert_eq!(b.temperature_mc().await.unwrap(), 61_250);
    }

    #[tokio::test]
    async fn a_damaged_or_blank_eeprom_is_an_error() {
        let (dir, b) = tree();
        let path = dir.path().join(&b.layout().eeprom);
        let mut image = std::fs::read(&path).unwrap();
        image[10] ^= 0x01;
        std::fs::write(&path, &image).unwrap();
        assert!(matches!(b.identity().await, Err(HalError::Io(m)) if m.contains("checksum")));
        std::fs::write(&path, [0xFFu8; 256]).unwrap();
        assert!(matches!(b.identity().await, Err(HalError::Io(m)) if m.contains("magic")));
        std::fs::remove_file(&path).unwrap();
        assert!(matches!(b.identity().await, Err(HalError::Io(_))));
    }

    #[tokio::test]
    async fn gpios_report_plug_state_by_port() {
        let (dir, b) = tree();
        assert!(!b.source_present(3).await.unwrap());
        write_gpio(dir.path(), 102, true).unwrap();
        assert!(b.source_present(3).await.unwrap());
        assert!(!b.source_present(4).await.unwrap());
        write_gpio(dir.path(), 111, true).unwrap();
        assert!(b.sink_present(2).await.unwrap());
        assert!(matches!(
            b.source_present(8).await,
            Err(HalError::Rejected(_))
        ));
        std::fs::write(gpio_value_path(dir.path(), 110), "x").unwrap();
        assert!(matches!(b.sink_present(1).await, Err(HalError::Io(_))));
    }

    #[tokio::test]
    async fn leds_are_written_with_their_max_brightness() {
        let (dir, b) = tree();
        b.set_led(Led::Live, true).await.unwrap();
        let file = led_dir(dir.path(), "vp2730:red:live").join("brightness");
        assert_eq!(std::fs::read_to_string(&file).unwrap(), "255");
        assert!(b.led(Led::Live).await.unwrap());
        assert!(!b.led(Led::Error).await.unwrap());
        b.set_led(Led::Live, false).await.unwrap();
        assert_eq!(std::fs::read_to_string(&file).unwrap(), "0");
    }

    #[tokio::test]
    async fn missing_files_are_io_errors_not_panics() {
        let dir = tempfile::tempdir().unwrap();
        let b = SysfsBoard::new(dir.path());
        assert!(matches!(b.temperature_mc().await, Err(HalError::Io(_))));
        assert!(matches!(
            b.set_led(Led::Power, true).await,
            Err(HalError::Io(_))
        ));
        assert!(matches!(b.source_present(1).await, Err(HalError::Io(_))));
    }

    #[tokio::test]
    async fn unexported_gpios_are_exported_through_the_export_file() {
        let dir = tempfile::tempdir().unwrap();
        let class = dir.path().join("sys/class/gpio");
        std::fs::create_dir_all(&class).unwrap();
        std::fs::write(class.join("export"), "").unwrap();
        let layout = SysfsLayout {
            hotplug_gpio: vec![(1, 100)],
            sink_gpio: vec![],
            ..SysfsLayout::vp2730()
        };
        // A fake kernel: the export file records the number, and the gpio
        // directory (which the kernel would create) already exists.
        std::fs::create_dir_all(class.join("gpio100")).unwrap();
        let b = SysfsBoard::with_layout(dir.path(), layout);
        b.export_gpios().await.unwrap();
        assert_eq!(
            std::fs::read_to_string(class.join("export")).unwrap(),
            "100"
        );
        assert_eq!(
            std::fs::read_to_string(class.join("gpio100/direction")).unwrap(),
            "in"
        );
    }

    #[test]
    fn eeprom_refuses_identities_that_do_not_fit() {
        let long = BoardIdentity {
            serial_number: "X".repeat(25),
            board_version: "A".into(),
        };
        assert!(eeprom::encode(&long).is_err());
        let spaced = BoardIdentity {
            serial_number: "A B".into(),
            board_version: "A".into(),
        };
        assert!(eeprom::encode(&spaced).is_err());
        let img = eeprom::encode(&id()).unwrap();
        assert_eq!(img.len(), eeprom::SIZE);
        assert_eq!(eeprom::decode(&img).unwrap(), id());
    }
}

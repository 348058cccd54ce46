//! Daemon configuration: `config/default.toml` (built in) overlaid with the
//! `--config` file, then command-line flags.

use serde::Deserialize;
use std::path::PathBuf;
use std::time::Duration;

/// Built-in defaults (the file `config/default.toml`).
pub const DEFAULTS: &str = include_str!("../config/default.toml");

/// The whole configuration.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Device profile file; empty: built in.
    pub profile: String,
    pub server: ServerConfig,
    pub tls: TlsConfig,
    pub auth: AuthConfig,
    pub hardware: HardwareConfig,
    pub sim: SimConfig,
}

/// Listener and limits.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServerConfig {
    pub listen: String,
    pub max_connections: usize,
    pub max_header_bytes: usize,
    pub max_body_bytes: usize,
    pub max_body_bytes_unauthenticated: usize,
    pub tls_handshake_timeout_ms: u64,
    pub header_read_timeout_ms: u64,
    pub body_read_timeout_ms: u64,
}

/// Certificate and key (PEM); empty: self-signed, generated once.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TlsConfig {
    pub certificate: String,
    pub private_key: String,
}

/// Credential policy.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuthConfig {
    pub idle_timeout_secs: u64,
    pub max_sessions_per_account: usize,
    pub max_failures: u32,
    pub failure_window_secs: u64,
    pub lockout_secs: u64,
    pub room_code_failures_per_minute: u32,
}

/// Hardware access.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HardwareConfig {
    pub timeout_ms: u64,
}

impl HardwareConfig {
    /// The hardware timeout.
    pub fn timeout(&self) -> Duration {
        Duration::from_millis(self.timeout_ms)
    }
}

/// The simulated room.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SimConfig {
    /// "emulator" (the shipping drivers against the board emulator on a
    /// pseudo-terminal) or "memory" (the in-process board; for places
    /// without ttys, such as qemu-user).
    pub backend: String,
    pub serial_number: String,
    pub board_version: String,
    pub signal_inputs: Vec<String>,
    pub hdcp14_inputs: Vec<String>,
    pub hdcp22_inputs: Vec<String>,
    pub connected_outputs: Vec<String>,
}

/// A configuration that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read {0}: {1}")]
    Read(PathBuf, std::io::Error),
    #[error("invalid configuration: {0}")]
    Parse(#[from] toml::de::Error),
}

impl Config {
    /// Defaults overlaid with `file` (if any).
    pub fn load(file: Option<&std::path::Path>) -> Result<Config, ConfigError> {
        let mut base: toml::Table = toml::from_str(DEFAULTS)?;
        if let Some(path) = file {
            let text =
                std::fs::read_to_string(path).map_err(|e| ConfigError::Read(path.into(), e))?;
            let user: toml::Table = toml::from_str(&text)?;
            merge(&mut base, user);
        }
        Ok(toml::Value::Table(base).try_into()?)
    }
}

fn merge(base: &mut toml::Table, over: toml::Table) {
    for (k, v) in over {
        match (base.get_mut(&k), v) {
            (Some(toml::Value::Table(b)), toml::Value::Table(o)) => merge(b, o),
            (_, v) => {
                base.insert(k, v);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_parse_and_files_override_single_keys() {
        let c = Config::load(None).unwrap();
        assert_eq!(c.server.max_connections, 1500);
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("c.toml");
        std::fs::write(&f, "[auth]\nidle_timeout_secs = 5\n").unwrap();
        let c = Config::load(Some(&f)).unwrap();
        assert_eq!(c.auth.idle_timeout_secs, 5);
        assert_eq!(c.auth.max_sessions_per_account, 64);
        std::fs::write(&f, "[auth]\nidle_timeout = 5\n").unwrap();
        assert!(Config::load(Some(&f)).is_err(), "typos are refused");
    }
}

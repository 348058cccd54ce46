//! The device profile: the VP2730's port map and fixed tables, as data.
//!
//! Nothing about which ports exist, what they are called by default or which
//! values each accepts is hard-coded in the daemon: it all comes from
//! `config/device-profile.toml` (built into the binary, overridable with
//! `--config`). The profile is checked once at start-up ([`Profile::validate`])
//! so that the rest of the code can index it without re-checking.

use serde::Deserialize;

/// Built-in profile of the VP2730 (the file `config/device-profile.toml`).
pub const BUILTIN_PROFILE: &str = include_str!("../../../config/device-profile.toml");

/// The whole device profile.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Profile {
    pub model_name: String,
    pub default_device_name: String,
    pub default_description: String,
    /// `/system/osd` `language.valid`, in the order a GET shows it.
    pub languages: Vec<String>,
    pub default_language: String,
    /// Scaler resolution table: the index is the resolution id.
    pub scaler_resolutions: Vec<String>,
    pub video_inputs: Vec<VideoInputProfile>,
    pub video_outputs: Vec<VideoOutputProfile>,
    pub audio_inputs: Vec<AudioPortProfile>,
    pub audio_outputs: Vec<AudioPortProfile>,
    pub multiviews: Vec<MultiviewProfile>,
    pub vp_profiles: Vec<VpProfile>,
    pub default_vp_profile: String,
    /// Snapshot storages (`storage` field of snapshot requests).
    pub storages: Vec<StorageProfile>,
    /// Most participants that may join at once.
    pub max_participants: usize,
}

/// One video input port.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VideoInputProfile {
    pub id: String,
    /// Hardware port number on the video board.
    pub port: u8,
    pub default_name: String,
    #[serde(rename = "type")]
    pub kind: String,
    /// HDCP values this port can report (`hdcp.valid`).
    pub hdcp: Vec<i64>,
    /// Selectable sub-sources of the port (`source.valid`).
    pub sources: Vec<String>,
}

/// One video output port.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VideoOutputProfile {
    pub id: String,
    pub port: u8,
    pub default_name: String,
    #[serde(rename = "type")]
    pub kind: String,
    /// Scaler resolution ids this output accepts (`displayResolution.valid`).
    pub resolutions: Vec<i64>,
    pub default_resolution: i64,
    pub fit_modes: Vec<i64>,
    pub default_fit_mode: i64,
    pub plugin_modes: Vec<i64>,
    pub plugout_modes: Vec<i64>,
    pub default_input: String,
}

/// One audio input or output channel of the codec.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AudioPortProfile {
    pub id: String,
    /// Codec channel number.
    pub channel: u8,
    pub default_name: String,
    #[serde(rename = "type")]
    pub kind: String,
    /// Port index shown as `idx` (-1: not a physical port).
    pub idx: i64,
    /// Whether the channel has an analogue gain stage (`gain` 0-30); when not,
    /// `gain` reads -1.
    pub has_gain: bool,
    #[serde(default)]
    pub default_gain: i64,
    pub default_volume: i64,
    /// What `status` follows: `"video:<input id>"`, `"stream:<n>"`, `"jack"`
    /// or `"none"` (always N/A).
    pub status_source: String,
}

/// A multiview layout template and its default content.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MultiviewProfile {
    pub id: String,
    pub description: String,
    pub main_view: String,
    pub views: Vec<ViewProfile>,
}

/// One window of a layout.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ViewProfile {
    pub id: String,
    pub source: String,
    pub w: f64,
    pub h: f64,
    pub x: f64,
    pub y: f64,
    pub z: i64,
}

/// A VP profile: a named preset of multiview layout and routing.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VpProfile {
    pub id: String,
    pub name: String,
    /// Multiview layout id shown by this profile, or "-1" for none.
    pub multiview: String,
    /// `(output id, input id)` routes applied when the profile is selected.
    pub routes: Vec<(String, String)>,
}

/// A place snapshots can be written to.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StorageProfile {
    pub id: String,
    pub name: String,
    /// Mount point on the device; relative paths are under the data dir.
    pub mount: String,
}

/// A profile that does not hold together.
#[derive(Debug, thiserror::Error)]
pub enum ProfileError {
    #[error("device profile is not valid TOML: {0}")]
    Parse(#[from] toml::de::Error),
    #[error("device profile is inconsistent: {0}")]
    Inconsistent(String),
}

impl Profile {
    /// Parses and checks a profile.
    pub fn from_toml(text: &str) -> Result<Self, ProfileError> {
        let p: Profile = toml::from_str(text)?;
        p.validate()?;
        Ok(p)
    }

    /// The built-in VP2730 profile.
    pub fn builtin() -> Result<Self, ProfileError> {
        Self::from_toml(BUILTIN_PROFILE)
    }

    /// Cross-checks every reference inside the profile.
    pub fn validate(&self) -> Result<(), ProfileError> {
        let bad = |m: String| Err(ProfileError::Inconsistent(m));
        if !self.languages.contains(&self.default_language) {
            return bad("default_language not in languages".into());
        }
        unique(self.video_inputs.iter().map(|i| &i.id), "video input")?;
        unique(self.video_outputs.iter().map(|i| &i.id), "video output")?;
        unique(self.audio_inputs.iter().map(|i| &i.id), "audio input")?;
        unique(self.audio_outputs.iter().map(|i| &i.id), "audio output")?;
        unique(self.multiviews.iter().map(|i| &i.id), "multiview")?;
        unique(self.vp_profiles.iter().map(|i| &i.id), "vp profile")?;
        unique(self.storages.iter().map(|i| &i.id), "storage")?;
        for o in &self.video_outputs {
            let n = self.scaler_resolutions.len() as i64;
            if o.resolutions.iter().any(|r| *r < 0 || *r >= n) {
                return bad(format!("output {}: resolution id out of table", o.id));
            }
            if !o.resolutions.contains(&o.default_resolution)
                || !o.fit_modes.contains(&o.default_fit_mode)
            {
                return bad(format!("output {}: default not in its valid list", o.id));
            }
            if !self.is_route_target(&o.default_input) {
                return bad(format!("output {}: default input unknown", o.id));
            }
        }
        for i in &self.video_inputs {
            if i.sources.is_empty() {
                return bad(format!("input {}: no sources", i.id));
            }
        }
        for a in self.audio_inputs.iter().chain(&self.audio_outputs) {
            let ok = match a.status_source.split_once(':') {
                Some(("video", id)) => self.video_input(id).is_some(),
                Some(("stream", n)) => n.parse::<u8>().is_ok(),
                None => a.status_source == "jack" || a.status_source == "none",
                _ => false,
            };
            if !ok {
                return bad(format!("audio {}: bad status_source", a.id));
            }
        }
        for m in &self.multiviews {
            if m.views.is_empty() {
                return bad(format!("multiview {}: no views", m.id));
            }
            for v in &m.views {
                if self.video_input(&v.source).is_none() {
                    return bad(format!("multiview {}: unknown source", m.id));
                }
            }
        }
        for p in &self.vp_profiles {
            if p.multiview != "-1" && self.multiview(&p.multiview).is_none() {
                return bad(format!("vp profile {}: unknown multiview", p.id));
            }
            for (o, i) in &p.routes {
                if self.video_output(o).is_none() || !self.is_route_target(i) {
                    return bad(format!("vp profile {}: bad route", p.id));
                }
            }
        }
        if !self
            .vp_profiles
            .iter()
            .any(|p| p.id == self.default_vp_profile)
        {
            return bad("default_vp_profile unknown".into());
        }
        Ok(())
    }

    /// A video input by id.
    pub fn video_input(&self, id: &str) -> Option<&VideoInputProfile> {
        self.video_inputs.iter().find(|i| i.id == id)
    }

    /// A video output by id.
    pub fn video_output(&self, id: &str) -> Option<&VideoOutputProfile> {
        self.video_outputs.iter().find(|i| i.id == id)
    }

    /// A multiview layout by id.
    pub fn multiview(&self, id: &str) -> Option<&MultiviewProfile> {
        self.multiviews.iter().find(|i| i.id == id)
    }

    /// A VP profile by id.
    pub fn vp_profile(&self, id: &str) -> Option<&VpProfile> {
        self.vp_profiles.iter().find(|i| i.id == id)
    }

    /// Whether `id` may be routed to an output: an input id, or "-1" (none).
    pub fn is_route_target(&self, id: &str) -> bool {
        id == NO_INPUT || self.video_input(id).is_some()
    }

    /// Values a connection's `videoInput` accepts, in the order inputs are
    /// declared, then "-1".
    pub fn route_targets(&self) -> Vec<String> {
        self.video_inputs
            .iter()
            .map(|i| i.id.clone())
            .chain(std::iter::once(NO_INPUT.to_string()))
            .collect()
    }
}

/// `videoInput` value meaning "nothing routed to this output".
pub const NO_INPUT: &str = "-1";

fn unique<'a>(ids: impl Iterator<Item = &'a String>, what: &str) -> Result<(), ProfileError> {
    let mut seen = std::collections::HashSet::new();
    for id in ids {
        if !seen.insert(id) {
            return Err(ProfileError::Inconsistent(format!(
                "duplicate {what} id {id}"
            )));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_profile_is_the_7x3_vp2730() {
        let p = Profile::builtin().expect("built-in profile");
        assert_eq!(p.model_name, "VP2730");
        assert_eq!(p.video_inputs.len(), 7);
        assert_eq!(p.video_outputs.len(), 3);
        // The guide's example output valid list.
        assert_eq!(
            p.video_outputs[0].resolutions,
            vec![17, 19, 29, 53, 73, 77, 89, 91, 97, 101, 109, 113, 127, 137, 145, 149]
        );
        assert_eq!(p.scaler_resolutions[0], "1920x1200@85");
        assert_eq!(p.scaler_resolutions[1], "1920x1200@75");
    }

    #[test]
    fn inconsistent_profiles_are_refused() {
        let text =
            BUILTIN_PROFILE.replace("default_vp_profile = \"0\"", "default_vp_profile = \"9\"");
        assert!(Profile::from_toml(&text).is_err());
    }
}

//! `/api/v2.0/video/configs` — guide 0501-01/02 (event `/api/v2.0/video/config`).
//!
//! EDID mode (1 ATEN, 2 port 1) and input stream mode (1 static, 2 dynamic).
//! Hardware: `EdidMode`, `InputStream`.

use super::collection::Singleton;
use super::View;
use crate::state::{keys, State};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use vp2730_hal::{Command, VideoCommand};
use vp2730_model::{ApiError, Obj, Profile};

/// Values of `edid.value`.
pub const EDID_MODES: [i64; 2] = [1, 2];
/// Values of `inputStream.value`.
pub const STREAM_MODES: [i64; 2] = [1, 2];

/// Persisted video configuration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VideoConfig {
    pub edid: i64,
    pub input_stream: i64,
}

impl VideoConfig {
    /// Factory settings (the guide's example values).
    pub fn defaults() -> Self {
        VideoConfig {
            edid: 1,
            input_stream: 2,
        }
    }
}

/// The `/video/configs` resource.
pub struct VideoConfigs;

impl Singleton for VideoConfigs {
    type Item = VideoConfig;
    const KEY: &'static str = keys::VIDEO_CONFIG;

    fn item(s: &State) -> &VideoConfig {
        &s.video_config
    }
    fn item_mut(s: &mut State) -> &mut VideoConfig {
        &mut s.video_config
    }

    fn render(v: &View<'_>) -> Value {
        let c = &v.state.video_config;
        json!({
            "edid": { "valid": EDID_MODES, "value": c.edid },
            "inputStream": { "valid": STREAM_MODES, "value": c.input_stream },
        })
    }

    fn patch(v: &View<'_>, mut o: Obj<'_>, shown: &Value) -> Result<VideoConfig, ApiError> {
        let mut next = v.state.video_config.clone();
        if let Some(x) = o.choice("edid", &EDID_MODES, shown)? {
            next.edid = x;
        }
        if let Some(x) = o.choice("inputStream", &STREAM_MODES, shown)? {
            next.input_stream = x;
        }
        o.finish()?;
        Ok(next)
    }

    fn commands(_p: &Profile, old: Option<&VideoConfig>, new: &VideoConfig) -> Vec<Command> {
        let mut cmds = Vec::new();
        if old.is_none_or(|o| o.edid != new.edid) {
            cmds.push(VideoCommand::EdidMode {
                mode: new.edid as u8,
            });
        }
        if old.is_none_or(|o| o.input_stream != new.input_stream) {
            cmds.push(VideoCommand::InputStream {
                mode: new.input_stream as u8,
            });
        }
        cmds.into_iter().map(Command::Video).collect()
    }
}

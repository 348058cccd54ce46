//! `/api/v2.0/video/inputs[/<id>]` — guide 0520-01..04.
//!
//! The seven sources: name, display index and sub-source are settings; status
//! (signal) and HDCP come from the hardware; the thumbnail URL points at a
//! frame grabbed on demand (`/static/thumbnails/Snapshot<id>.bmp`).
//! Hardware: `InputName` (OSD labels) and `InputSource`.

use super::collection::Collection;
use super::View;
use crate::state::{keys, State};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use vp2730_hal::{Command, Hdcp, VideoCommand};
use vp2730_model::profile::VideoInputProfile;
use vp2730_model::{ApiError, Obj, Profile};

/// Persisted settings of one input, plus what the hardware reports.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VideoInput {
    pub name: String,
    pub idx: i64,
    pub source: String,
    /// A source is connected and its signal locked (hardware; not persisted).
    #[serde(skip)]
    pub signal: bool,
    /// HDCP state of the source (hardware; not persisted).
    #[serde(skip, default = "no_hdcp")]
    pub hdcp: Hdcp,
}

fn no_hdcp() -> Hdcp {
    Hdcp::None
}

impl VideoInput {
    /// Factory settings of the input at position `i`.
    pub fn defaults(p: &VideoInputProfile, i: usize) -> Self {
        VideoInput {
            name: p.default_name.clone(),
            idx: i as i64,
            source: p.sources[0].clone(),
            signal: false,
            hdcp: Hdcp::None,
        }
    }

    /// Whether the source's content is HDCP-protected right now.
    pub fn protected(&self) -> bool {
        self.signal && self.hdcp != Hdcp::None
    }
}

/// The guide's HDCP value of an input: 0 when the port has no HDCP at all,
/// else 1 (none), 2 (1.4) or 3 (2.2), capped to what the port supports.
pub fn hdcp_value(p: &VideoInputProfile, i: &VideoInput) -> i64 {
    if p.hdcp == [0] {
        return 0;
    }
    let v = match (i.signal, i.hdcp) {
        (false, _) | (true, Hdcp::None) => 1,
        (true, Hdcp::V14) => 2,
        (true, Hdcp::V22) => 3,
    };
    let max = p.hdcp.iter().copied().max().unwrap_or(1);
    v.min(max)
}

/// The `/video/inputs` collection.
pub struct VideoInputs;

impl Collection for VideoInputs {
    type Item = VideoInput;
    const LIST: &'static str = "inputs";

    fn ids(p: &Profile) -> Vec<&String> {
        p.video_inputs.iter().map(|i| &i.id).collect()
    }
    fn items(s: &State) -> &Vec<VideoInput> {
        &s.video_inputs
    }
    fn items_mut(s: &mut State) -> &mut Vec<VideoInput> {
        &mut s.video_inputs
    }
    fn key(id: &str) -> String {
        keys::video_input(id)
    }

    fn render(v: &View<'_>, i: usize) -> Value {
        let p = &v.profile.video_inputs[i];
        let s = &v.state.video_inputs[i];
        json!({
            "id": p.id,
            "name": s.name,
            "type": p.kind,
            "idx": s.idx,
            "status": if s.signal { 0 } else { 1 },
            "source": { "valid": p.sources, "value": s.source },
            "hdcp": { "valid": p.hdcp, "value": hdcp_value(p, s) },
            "thumbnail": format!("{}/static/thumbnails/Snapshot{}.bmp", v.base, p.id),
        })
    }

    fn patch(
        p: &Profile,
        i: usize,
        mut o: Obj<'_>,
        shown: &Value,
        cur: &VideoInput,
    ) -> Result<VideoInput, ApiError> {
        let n = p.video_inputs.len() as i64;
        let p = &p.video_inputs[i];
        o.read_only_from(&["type", "status", "hdcp", "thumbnail"], shown)?;
        let mut next = cur.clone();
        if let Some(f) = o.field("name") {
            next.name = f.name(32)?;
        }
        if let Some(f) = o.field("idx") {
            next.idx = f.int_range(0, n - 1)?;
        }
        if let Some(mut src) = o.object("source")? {
            src.read_only("valid", &shown["source"]["valid"])?;
            if let Some(f) = src.field("value") {
                next.source = f.str_in(&p.sources)?.to_string();
            }
            src.finish()?;
        }
        o.finish()?;
        Ok(next)
    }

    fn commands(p: &Profile, i: usize, old: Option<&VideoInput>, new: &VideoInput) -> Vec<Command> {
        let p = &p.video_inputs[i];
        let mut cmds = Vec::new();
        if old.is_none_or(|o| o.name != new.name) {
            cmds.push(VideoCommand::InputName {
                input: p.port,
                name: new.name.clone(),
            });
        }
        if old.is_none_or(|o| o.source != new.source) {
            let source = p.sources.iter().position(|s| *s == new.source).unwrap_or(0) as u8;
            cmds.push(VideoCommand::InputSource {
                input: p.port,
                source,
            });
        }
        cmds.into_iter().map(Command::Video).collect()
    }
}

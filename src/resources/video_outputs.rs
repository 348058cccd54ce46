//! `/api/v2.0/video/outputs[/<id>]` — guide 0521-01..04.
//!
//! Output name, display timing, HDCP forcing, OSD, blank, freeze, fit mode
//! and auto-switching of the three outputs. Hardware: scaler commands
//! `Resolution`, `Flag`, `FitMode`, `AutoSwitch` (see
//! `docs/hardware/video-board.md` for their wire form).

use super::collection::Collection;
use super::{on_off, on_off_choice, read_on_off, View, ON_OFF};
use crate::state::{keys, State};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use vp2730_hal::{Command, OutputFlag, VideoCommand};
use vp2730_model::profile::VideoOutputProfile;
use vp2730_model::{ApiError, Obj, Profile};

/// Persisted settings of one output, plus its sink state.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VideoOutput {
    pub name: String,
    pub display_resolution: i64,
    pub fix_hdcp: bool,
    pub osd: bool,
    pub blank: bool,
    pub freeze: bool,
    pub fit_mode: i64,
    pub auto_switch: bool,
    pub plugin_mode: i64,
    pub plugout_mode: i64,
    /// A display is connected (from the hardware; not persisted).
    #[serde(skip)]
    pub sink: bool,
}

impl VideoOutput {
    /// Factory settings of an output.
    pub fn defaults(p: &VideoOutputProfile) -> Self {
        VideoOutput {
            name: p.default_name.clone(),
            display_resolution: p.default_resolution,
            fix_hdcp: true,
            osd: false,
            blank: false,
            freeze: false,
            fit_mode: p.default_fit_mode,
            auto_switch: false,
            plugin_mode: 1,
            plugout_mode: 1,
            sink: false,
        }
    }
}

/// Reads one on/off switch of an output.
type FlagOf = fn(&VideoOutput) -> bool;

/// The `/video/outputs` collection.
pub struct VideoOutputs;

impl Collection for VideoOutputs {
    type Item = VideoOutput;
    const LIST: &'static str = "outputs";

    fn ids(p: &Profile) -> Vec<&String> {
        p.video_outputs.iter().map(|o| &o.id).collect()
    }
    fn items(s: &State) -> &Vec<VideoOutput> {
        &s.video_outputs
    }
    fn items_mut(s: &mut State) -> &mut Vec<VideoOutput> {
        &mut s.video_outputs
    }
    fn key(id: &str) -> String {
        keys::video_output(id)
    }

    fn render(v: &View<'_>, i: usize) -> Value {
        let p = &v.profile.video_outputs[i];
        let o = &v.state.video_outputs[i];
        json!({
            "id": p.id,
            "name": o.name,
            "type": p.kind,
            "idx": -1,
            "status": if o.sink { 0 } else { 1 },
            "displayResolution": { "valid": p.resolutions, "value": o.display_resolution },
            "fixHDCP": on_off_choice(o.fix_hdcp),
            "osd": on_off_choice(o.osd),
            "blank": on_off_choice(o.blank),
            "freeze": on_off_choice(o.freeze),
            "fitMode": { "valid": p.fit_modes, "value": o.fit_mode },
            "autoSwitch": {
                "valid": ON_OFF,
                "value": on_off(o.auto_switch),
                "plugout": { "mode": { "valid": p.plugout_modes, "value": o.plugout_mode } },
                "plugin": { "mode": { "valid": p.plugin_modes, "value": o.plugin_mode } },
            },
        })
    }

    fn patch(
        p: &Profile,
        i: usize,
        mut o: Obj<'_>,
        shown: &Value,
        cur: &VideoOutput,
    ) -> Result<VideoOutput, ApiError> {
        let p = &p.video_outputs[i];
        o.read_only_from(&["type", "idx", "status"], shown)?;
        let mut next = cur.clone();
        if let Some(f) = o.field("name") {
            next.name = f.name(32)?;
        }
        if let Some(v) = o.choice("displayResolution", &p.resolutions, shown)? {
            next.display_resolution = v;
        }
        for (key, slot) in [
            ("fixHDCP", &mut next.fix_hdcp),
            ("osd", &mut next.osd),
            ("blank", &mut next.blank),
            ("freeze", &mut next.freeze),
        ] {
            if let Some(v) = o.choice(key, &ON_OFF, shown)? {
                *slot = v == 2;
            }
        }
        if let Some(v) = o.choice("fitMode", &p.fit_modes, shown)? {
            next.fit_mode = v;
        }
        if let Some(mut a) = o.object("autoSwitch")? {
            let shown_a = &shown["autoSwitch"];
            a.read_only("valid", &shown_a["valid"])?;
            if let Some(f) = a.field("value") {
                next.auto_switch = read_on_off(&f)?;
            }
            for (key, allowed, slot) in [
                ("plugin", &p.plugin_modes, &mut next.plugin_mode),
                ("plugout", &p.plugout_modes, &mut next.plugout_mode),
            ] {
                if let Some(mut side) = a.object(key)? {
                    if let Some(v) = side.choice("mode", allowed, &shown_a[key])? {
                        *slot = v;
                    }
                    side.finish()?;
                }
            }
            a.finish()?;
        }
        o.finish()?;
        Ok(next)
    }

    fn commands(
        p: &Profile,
        i: usize,
        old: Option<&VideoOutput>,
        new: &VideoOutput,
    ) -> Vec<Command> {
        let out = p.video_outputs[i].port;
        let mut cmds = Vec::new();
        if old.is_none_or(|o| o.display_resolution != new.display_resolution) {
            cmds.push(VideoCommand::Resolution {
                output: out,
                mode: new.display_resolution as u16,
            });
        }
        let flags: [(OutputFlag, FlagOf); 4] = [
            (OutputFlag::FixHdcp, |o| o.fix_hdcp),
            (OutputFlag::Osd, |o| o.osd),
            (OutputFlag::Blank, |o| o.blank),
            (OutputFlag::Freeze, |o| o.freeze),
        ];
        for (flag, get) in flags {
            if old.is_none_or(|o| get(o) != get(new)) {
                cmds.push(VideoCommand::Flag {
                    output: out,
                    flag,
                    on: get(new),
                });
            }
        }
        if old.is_none_or(|o| o.fit_mode != new.fit_mode) {
            cmds.push(VideoCommand::FitMode {
                output: out,
                mode: new.fit_mode as u8,
            });
        }
        let auto = |o: &VideoOutput| (o.auto_switch, o.plugin_mode, o.plugout_mode);
        if old.is_none_or(|o| auto(o) != auto(new)) {
            cmds.push(VideoCommand::AutoSwitch {
                output: out,
                plugin: new.plugin_mode as u8,
                plugout: new.plugout_mode as u8,
                enabled: new.auto_switch,
            });
        }
        cmds.into_iter().map(Command::Video).collect()
    }
}

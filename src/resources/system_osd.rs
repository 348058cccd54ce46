//! `/api/v2.0/system/osd` — guide 0123-01/02.
//!
//! Multiview labels, notification banners and OSD language. Hardware: `Osd`.

use super::collection::Singleton;
use super::{on_off, read_on_off, View, ON_OFF};
use crate::state::{keys, State};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use vp2730_hal::{Command, VideoCommand};
use vp2730_model::{ApiError, Obj, Profile};

/// Persisted OSD settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Osd {
    pub multiview_label: bool,
    pub system_event: bool,
    pub interactive_event: bool,
    pub language: String,
}

impl Osd {
    /// Factory settings (the guide's example values).
    pub fn defaults(p: &Profile) -> Self {
        Osd {
            multiview_label: true,
            system_event: true,
            interactive_event: true,
            language: p.default_language.clone(),
        }
    }
}

/// The `/system/osd` resource.
pub struct SystemOsd;

impl Singleton for SystemOsd {
    type Item = Osd;
    const KEY: &'static str = keys::OSD;

    fn item(s: &State) -> &Osd {
        &s.osd
    }
    fn item_mut(s: &mut State) -> &mut Osd {
        &mut s.osd
    }

    fn render(v: &View<'_>) -> Value {
        let o = &v.state.osd;
        json!({
            "multiviewLabel": on_off(o.multiview_label),
            "notification": {
                "systemEvent": on_off(o.system_event),
                "interactiveEvent": on_off(o.interactive_event),
            },
            "language": { "value": o.language, "valid": v.profile.languages },
        })
    }

    fn patch(v: &View<'_>, mut o: Obj<'_>, shown: &Value) -> Result<Osd, ApiError> {
        let mut next = v.state.osd.clone();
        if let Some(f) = o.field("multiviewLabel") {
            next.multiview_label = read_on_off(&f)?;
        }
        if let Some(mut n) = o.object("notification")? {
            for (key, slot) in [
                ("systemEvent", &mut next.system_event),
                ("interactiveEvent", &mut next.interactive_event),
            ] {
                if let Some(f) = n.field(key) {
                    *slot = f.int_in(&ON_OFF)? == 2;
                }
            }
            n.finish()?;
        }
        if let Some(mut l) = o.object("language")? {
            l.read_only("valid", &shown["language"]["valid"])?;
            if let Some(f) = l.field("value") {
                next.language = f.str_in(&v.profile.languages)?.to_string();
            }
            l.finish()?;
        }
        o.finish()?;
        Ok(next)
    }

    fn commands(_p: &Profile, old: Option<&Osd>, new: &Osd) -> Vec<Command> {
        if old == Some(new) {
            return Vec::new();
        }
        vec![Command::Video(VideoCommand::Osd {
            labels: new.multiview_label,
            system_events: new.system_event,
            interactive_events: new.interactive_event,
            language: new.language.clone(),
        })]
    }
}

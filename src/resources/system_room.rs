//! `/api/v2.0/system/room` — guide 0124-01/02.
//!
//! The meeting room: its name (which is the device name), description,
//! security (verification on/off and the 4-digit room code presenters join
//! with), moderator, the avatar photo and QR code URLs, and whether the OSD
//! shows how to join. The room code is shown only to administrators.
//! Hardware: `Banner` (room name and join information on the OSD).

use super::collection::Singleton;
use super::{on_off, read_on_off, View};
use crate::auth::Tier;
use crate::state::{keys, State};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use vp2730_hal::{Command, VideoCommand};
use vp2730_model::{ApiError, Obj, Profile};

/// Persisted room settings (the moderator is a session and is not).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Room {
    pub name: String,
    pub description: String,
    /// Joining requires the room code.
    pub verification: bool,
    pub code: String,
    pub link_info: bool,
    /// Participant id of the moderator, or "".
    #[serde(skip)]
    pub moderator: String,
}

impl Room {
    /// Factory settings: verification on, a random room code.
    pub fn defaults(p: &Profile) -> Self {
        Room {
            name: p.default_device_name.clone(),
            description: p.default_description.clone(),
            verification: true,
            code: crate::auth::random_digits(4),
            link_info: true,
            moderator: String::new(),
        }
    }
}

/// Whether `code` is a valid room code (4 ASCII digits).
pub fn valid_code(code: &str) -> bool {
    code.len() == 4 && code.bytes().all(|b| b.is_ascii_digit())
}

/// The `/system/room` resource.
pub struct SystemRoom;

impl Singleton for SystemRoom {
    type Item = Room;
    const KEY: &'static str = keys::ROOM;

    fn item(s: &State) -> &Room {
        &s.room
    }
    fn item_mut(s: &mut State) -> &mut Room {
        &mut s.room
    }

    fn render(v: &View<'_>) -> Value {
        let r = &v.state.room;
        let security = if v.tier >= Tier::Admin {
            json!({ "code": r.code, "verification": on_off(r.verification) })
        } else {
            json!({ "verification": on_off(r.verification) })
        };
        json!({
            "name": r.name,
            "description": r.description,
            "security": security,
            "moderator": r.moderator,
            "photo": format!("{}/static/picture/default_icon.jpg", v.base),
            "qrCode": format!("{}/static/picture/qrcode.svg", v.base),
            "linkInfo": on_off(r.link_info),
        })
    }

    fn patch(v: &View<'_>, mut o: Obj<'_>, shown: &Value) -> Result<Room, ApiError> {
        let mut next = v.state.room.clone();
        o.read_only_from(&["photo", "qrCode"], shown)?;
        if let Some(f) = o.field("name") {
            next.name = f.name(32)?;
        }
        if let Some(f) = o.field("description") {
            let d = f.str()?;
            if d.chars().count() > 128 || d.chars().any(char::is_control) {
                return Err(f.unsupported());
            }
            next.description = d.to_string();
        }
        if let Some(mut s) = o.object("security")? {
            if let Some(f) = s.field("verification") {
                // 1/2 as GET shows it; 0 (the PATCH table's "off") also means off.
                next.verification = f.int_in(&[0, 1, 2])? == 2;
            }
            if let Some(f) = s.field("code") {
                let c = f.str()?;
                if !valid_code(c) {
                    return Err(f.unsupported());
                }
                next.code = c.to_string();
            }
            s.finish()?;
        }
        if let Some(f) = o.field("moderator") {
            let m = f.str()?;
            if !m.is_empty() && !v.state.participants.iter().any(|p| p.id == m) {
                return Err(f.unsupported());
            }
            next.moderator = m.to_string();
        }
        if let Some(f) = o.field("linkInfo") {
            next.link_info = read_on_off(&f)?;
        }
        o.finish()?;
        Ok(next)
    }

    fn commands(_p: &Profile, old: Option<&Room>, new: &Room) -> Vec<Command> {
        let banner = |r: &Room| (r.name.clone(), r.verification, r.code.clone(), r.link_info);
        if old.is_some_and(|o| banner(o) == banner(new)) {
            return Vec::new();
        }
        vec![Command::Video(VideoCommand::Banner {
            name: new.name.clone(),
            code: new.verification.then(|| new.code.clone()),
            link_info: new.link_info,
        })]
    }
}

//! One file per resource of the guide.
//!
//! Each file holds everything about its resource: the persisted settings
//! type, how it renders as JSON (GET and event payloads), how a PATCH body is
//! validated into new settings, which hardware commands a change becomes, and
//! the route handlers. The route table (`src/routes.rs`) says which handler
//! serves which path and method, and at which tier.

pub mod audio_ports;
pub mod auth_tokens;
pub mod collection;
pub mod golive;
pub mod group_resources;
pub mod maintenance;
pub mod multiviews;
pub mod scaler_resolutions;
pub mod sim_control;
pub mod snapshots;
pub mod static_files;
pub mod system_info;
pub mod system_osd;
pub mod system_participants;
pub mod system_room;
pub mod video_configs;
pub mod video_connections;
pub mod video_inputs;
pub mod video_outputs;
pub mod vp_profiles;

use crate::auth::Tier;
use crate::state::State;
use serde_json::{json, Value};
use std::collections::HashSet;
use vp2730_model::{ApiError, Field, Obj, Profile};

/// What renderers need: the profile, a state, who is asking and the base URL
/// (`https://<host the client used>`) for the URLs inside responses.
pub struct View<'a> {
    pub profile: &'a Profile,
    pub state: &'a State,
    pub base: &'a str,
    pub tier: Tier,
}

/// The guide's on/off encoding (1 off, 2 on).
pub fn on_off(on: bool) -> i64 {
    if on {
        2
    } else {
        1
    }
}

/// The values an on/off field accepts.
pub const ON_OFF: [i64; 2] = [1, 2];

/// `{"valid": [1, 2], "value": 1|2}`.
pub fn on_off_choice(on: bool) -> Value {
    json!({ "valid": ON_OFF, "value": on_off(on) })
}

/// A ratio as the guide prints it: whole numbers without a fraction (`0`,
/// `1`), others as decimals (`0.25`).
pub fn ratio(v: f64) -> Value {
    if v.fract() == 0.0 && v.abs() < 1e15 {
        json!(v as i64)
    } else {
        json!(v)
    }
}

/// The entries of a bulk PATCH body `{"<key>": [{"id": ..., ...}, ...]}`,
/// each resolved to its item index, with the path to name it in messages.
///
/// The body must hold exactly `key`; each entry must be an object with a
/// string `id` naming an existing item (40401 otherwise); an id may appear
/// once.
pub fn bulk_entries<'a>(
    body: &'a Value,
    key: &'static str,
    ids: &[&String],
) -> Result<Vec<(usize, &'a Value, String)>, ApiError> {
    let mut root = Obj::new(body, "")?;
    let list = root.required(key)?;
    let entries = list.array()?;
    root.finish()?;
    let mut seen = HashSet::new();
    let mut out = Vec::with_capacity(entries.len());
    for entry in entries {
        let path = entry.path().to_string();
        let value = entry.value();
        let mut obj = entry.object()?;
        let id_field = obj.required("id")?;
        let id = id_field.str()?;
        let idx = ids
            .iter()
            .position(|x| x.as_str() == id)
            .ok_or_else(|| ApiError::instance(id))?;
        if !seen.insert(idx) {
            return Err(id_field.invalid());
        }
        out.push((idx, value, path));
    }
    Ok(out)
}

/// Reads an on/off field (`1` or `2`).
pub fn read_on_off(f: &Field<'_>) -> Result<bool, ApiError> {
    Ok(f.int_in(&ON_OFF)? == 2)
}

/// Base URL used when comparing renders for change detection: any constant
/// works, since URLs only depend on the requesting client's host.
const DIFF_BASE: &str = "https://device";

/// The payload of an event topic for state `s`: exactly what a GET of the
/// topic's path returns to an administrator (`base` aside). `None` for
/// topics whose payload does not depend on the state.
pub fn render_topic_for(t: crate::events::Topic, v: &View<'_>) -> Option<Value> {
    use crate::events::Topic as T;
    use collection::{render_list, Singleton};
    Some(match t {
        T::MaintenanceStatus => maintenance::render(v),
        T::SessionConfigs => return None,
        T::SystemOsd => system_osd::SystemOsd::render(v),
        T::SystemRoom => system_room::SystemRoom::render(v),
        T::SystemParticipants => system_participants::render_list(v),
        T::ParticipantsShare => system_participants::render_share(v),
        T::AudioInputs => render_list::<audio_ports::AudioInputs>(v),
        T::AudioOutputs => render_list::<audio_ports::AudioOutputs>(v),
        T::VideoConfig => video_configs::VideoConfigs::render(v),
        T::VideoGolive => golive::render_list(v),
        T::VideoInputs => render_list::<video_inputs::VideoInputs>(v),
        T::VideoOutputs => render_list::<video_outputs::VideoOutputs>(v),
        T::VideoConnections => render_list::<video_connections::VideoConnections>(v),
        T::VideoMultiviews => render_list::<multiviews::Multiviews>(v),
        T::VpProfilesNow => vp_profiles::render_now(v),
        T::SnapshotsState => snapshots::render_state(v),
    })
}

/// [`render_topic_for`] as an administrator, for change detection.
pub fn render_topic(t: crate::events::Topic, profile: &Profile, state: &State) -> Option<Value> {
    render_topic_for(
        t,
        &View {
            profile,
            state,
            base: DIFF_BASE,
            tier: Tier::Admin,
        },
    )
}

//! Between the state and the hardware, in both directions.
//!
//! * [`boot`]: factory defaults, overlaid with the stored settings
//!   (each re-validated by its resource's own PATCH rules), then what the
//!   hardware reports, then every setting applied to the hardware;
//! * [`apply_all`]: the whole state onto the hardware (boot, and after the
//!   hardware comes back from a failure or a reset);
//! * [`on_event`] / [`on_status`]: what the hardware reports, into the state
//!   (including auto-switching on hot-plug).

use crate::auth::Tier;
use crate::resources::collection::{stage, Collection, Singleton};
use crate::resources::{
    audio_ports::{AudioInputs, AudioOutputs},
    multiviews::Multiviews,
    system_osd::SystemOsd,
    system_room::SystemRoom,
    video_configs::VideoConfigs,
    video_connections::VideoConnections,
    video_inputs::VideoInputs,
    video_outputs::VideoOutputs,
    vp_profiles, View,
};
use crate::state::{keys, State};
use crate::writer::Plan;
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::Value;
use std::collections::HashMap;
use std::time::Duration;
use vp2730_hal::{Command, Hal, HalError, Hdcp, HwEvent, InputStatus, VideoStatus};
use vp2730_model::{Obj, Profile};
use vp2730_store::{Store, StoreError};

/// Overlays stored JSON on the default's JSON, field by field, so settings
/// added by a newer firmware keep their defaults.
fn overlay<T: Serialize + DeserializeOwned + Clone>(default: &T, stored: &str) -> Option<T> {
    let mut base = serde_json::to_value(default).ok()?;
    let over: Value = serde_json::from_str(stored).ok()?;
    match (&mut base, over) {
        (Value::Object(b), Value::Object(o)) => b.extend(o),
        (b, o) => *b = o,
    }
    serde_json::from_value(base).ok()
}

fn admin_view<'a>(p: &'a Profile, s: &'a State) -> View<'a> {
    View {
        profile: p,
        state: s,
        base: "",
        tier: Tier::Admin,
    }
}

fn load_collection<C: Collection>(p: &Profile, st: &mut State, rows: &HashMap<String, String>)
where
    C::Item: DeserializeOwned,
{
    let ids: Vec<String> = C::ids(p).into_iter().cloned().collect();
    for (i, id) in ids.iter().enumerate() {
        let Some(row) = rows.get(&C::key(id)) else {
            continue;
        };
        let default = C::items(st)[i].clone();
        let Some(candidate) = overlay(&default, row) else {
            tracing::warn!(key = %C::key(id), "stored setting unreadable; using default");
            continue;
        };
        C::items_mut(st)[i] = candidate.clone();
        // Re-validate through the resource's PATCH rules.
        let shown = C::render(&admin_view(p, st), i);
        let ok = Obj::new(&shown, "")
            .and_then(|mut o| {
                o.read_only("id", &shown["id"])?;
                C::patch(p, i, o, &shown, &candidate)
            })
            .is_ok_and(|v| v == candidate);
        if !ok {
            tracing::warn!(key = %C::key(id), "stored setting not valid for this device; using default");
            C::items_mut(st)[i] = default;
        }
    }
}

fn load_singleton<S: Singleton>(p: &Profile, st: &mut State, rows: &HashMap<String, String>)
where
    S::Item: DeserializeOwned,
{
    let Some(row) = rows.get(S::KEY) else { return };
    let default = S::item(st).clone();
    let Some(candidate) = overlay(&default, row) else {
        tracing::warn!(key = S::KEY, "stored setting unreadable; using default");
        return;
    };
    *S::item_mut(st) = candidate.clone();
    let shown = S::render(&admin_view(p, st));
    let ok = Obj::new(&shown, "")
        .and_then(|o| S::patch(&admin_view(p, st), o, &shown))
        .is_ok_and(|v| v == candidate);
    if !ok {
        tracing::warn!(
            key = S::KEY,
            "stored setting not valid for this device; using default"
        );
        *S::item_mut(st) = default;
    }
}

/// Builds the boot state: defaults, then stored settings. On first boot the
/// generated room code is persisted so it stays the same.
pub async fn load(p: &Profile, store: &Store) -> Result<State, StoreError> {
    let rows: HashMap<String, String> = store.load_settings().await?.into_iter().collect();
    let mut st = State::defaults(p);
    load_singleton::<SystemOsd>(p, &mut st, &rows);
    load_singleton::<SystemRoom>(p, &mut st, &rows);
    load_singleton::<VideoConfigs>(p, &mut st, &rows);
    load_collection::<VideoInputs>(p, &mut st, &rows);
    load_collection::<VideoOutputs>(p, &mut st, &rows);
    load_collection::<VideoConnections>(p, &mut st, &rows);
    load_collection::<Multiviews>(p, &mut st, &rows);
    load_collection::<AudioInputs>(p, &mut st, &rows);
    load_collection::<AudioOutputs>(p, &mut st, &rows);
    if let Some(now) = rows
        .get(keys::PROFILE_NOW)
        .and_then(|v| serde_json::from_str::<String>(v).ok())
        .filter(|id| p.vp_profile(id).is_some())
    {
        st.profile_now = now;
    }
    if !rows.contains_key(keys::ROOM) {
        if let Ok(json) = serde_json::to_string(&st.room) {
            store.commit(&[(keys::ROOM.to_string(), json)]).await?;
        }
    }
    Ok(st)
}

/// Every command that puts the hardware in state `st`.
pub fn all_commands(p: &Profile, st: &State) -> Vec<Command> {
    let mut cmds = Vec::new();
    cmds.extend(VideoConfigs::commands(p, None, &st.video_config));
    cmds.extend(SystemOsd::commands(p, None, &st.osd));
    cmds.extend(SystemRoom::commands(p, None, &st.room));
    for i in 0..st.video_inputs.len() {
        cmds.extend(VideoInputs::commands(p, i, None, &st.video_inputs[i]));
    }
    for i in 0..st.video_outputs.len() {
        cmds.extend(VideoOutputs::commands(p, i, None, &st.video_outputs[i]));
    }
    for i in 0..st.multiviews.len() {
        cmds.extend(Multiviews::commands(p, i, None, &st.multiviews[i]));
    }
    if let Some(vp) = p.vp_profile(&st.profile_now) {
        cmds.push(vp_profiles::layout_command(p, vp));
    }
    for i in 0..st.routes.len() {
        cmds.extend(VideoConnections::commands(p, i, None, &st.routes[i]));
    }
    for i in 0..st.audio_inputs.len() {
        cmds.extend(AudioInputs::commands(p, i, None, &st.audio_inputs[i]));
    }
    for i in 0..st.audio_outputs.len() {
        cmds.extend(AudioOutputs::commands(p, i, None, &st.audio_outputs[i]));
    }
    cmds
}

/// Applies the whole state to the hardware, each command within `timeout`.
pub async fn apply_all(
    hal: &Hal,
    p: &Profile,
    st: &State,
    timeout: Duration,
) -> Result<(), HalError> {
    for cmd in all_commands(p, st) {
        tokio::time::timeout(timeout, hal.apply(&cmd))
            .await
            .map_err(|_| HalError::NotResponding(format!("{cmd:?}")))??;
    }
    Ok(())
}

fn set_input(p: &Profile, st: &mut State, s: &InputStatus) -> Option<usize> {
    let i = p.video_inputs.iter().position(|x| x.port == s.port)?;
    let item = &mut st.video_inputs[i];
    item.signal = s.signal;
    item.hdcp = if s.signal { s.hdcp } else { Hdcp::None };
    Some(i)
}

/// Folds a full status report into the state (no auto-switching).
pub fn on_status(st: &State, p: &Profile, status: &VideoStatus) -> Plan {
    let mut plan = Plan::new(st);
    for s in &status.inputs {
        set_input(p, &mut plan.next, s);
    }
    for o in &status.outputs {
        if let Some(i) = p.video_outputs.iter().position(|x| x.port == o.port) {
            plan.next.video_outputs[i].sink = o.sink;
        }
    }
    for (channel, connected) in &status.audio_jacks {
        set_jack(p, &mut plan.next, *channel, *connected);
    }
    plan
}

fn set_jack(p: &Profile, st: &mut State, channel: u8, connected: bool) {
    for (i, a) in p.audio_inputs.iter().enumerate() {
        if a.channel == channel {
            st.audio_inputs[i].jack = connected;
        }
    }
    for (i, a) in p.audio_outputs.iter().enumerate() {
        if a.channel == channel {
            st.audio_outputs[i].jack = connected;
        }
    }
}

/// Follows one hardware notification. A source appearing or disappearing
/// also re-routes the outputs whose auto-switch asks for it:
/// plug-in mode 2 switches to the new source; plug-out modes 2 and 3 switch
/// from a lost source to the first input that has a signal.
pub fn on_event(st: &State, p: &Profile, ev: &HwEvent) -> Plan {
    let mut plan = Plan::new(st);
    match ev {
        HwEvent::Input(s) => {
            let Some(i) = set_input(p, &mut plan.next, s) else {
                return plan;
            };
            let was = st.video_inputs[i].signal;
            let id = p.video_inputs[i].id.clone();
            for (o, out) in st.video_outputs.iter().enumerate() {
                if !out.auto_switch {
                    continue;
                }
                let target = if !was && s.signal && out.plugin_mode == 2 {
                    Some(id.clone())
                } else if was && !s.signal && st.routes[o] == id && out.plugout_mode >= 2 {
                    plan.next
                        .video_inputs
                        .iter()
                        .position(|x| x.signal)
                        .map(|x| p.video_inputs[x].id.clone())
                } else {
                    None
                };
                if let Some(t) = target {
                    tracing::info!(output = %p.video_outputs[o].id, input = %t, "auto-switch");
                    let before = plan.next.clone();
                    stage::<VideoConnections>(&mut plan, p, &before, o, t);
                }
            }
        }
        HwEvent::Output(o) => {
            if let Some(i) = p.video_outputs.iter().position(|x| x.port == o.port) {
                plan.next.video_outputs[i].sink = o.sink;
            }
        }
        HwEvent::AudioJack { channel, connected } => {
            set_jack(p, &mut plan.next, *channel, *connected)
        }
        HwEvent::Reset => {}
    }
    plan
}

//! `/api/v2.0/audio/inputs[/<id>]` and `/api/v2.0/audio/outputs[/<id>]` —
//! guide 0620-01..04 and 0621-01..04.
//!
//! Inputs and outputs have the same shape: volume 0-100, gain 0-30 (-1 where
//! the channel has no gain stage), mute. Hardware: codec `Volume`, `Gain`,
//! `Mute` on the profile's channel number.

use super::collection::Collection;
use super::{on_off, View, ON_OFF};
use crate::state::{keys, State};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use vp2730_hal::{AudioCommand, Command};
use vp2730_model::profile::AudioPortProfile;
use vp2730_model::{ApiError, Obj, Profile};

/// Persisted settings of one audio channel, plus its jack sense.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AudioPort {
    pub volume: i64,
    /// Gain in dB; meaningless (and shown as -1) without a gain stage.
    pub gain: i64,
    pub muted: bool,
    /// Something is plugged into the jack (hardware; not persisted).
    #[serde(skip)]
    pub jack: bool,
}

impl AudioPort {
    /// Factory settings of a channel.
    pub fn defaults(p: &AudioPortProfile) -> Self {
        AudioPort {
            volume: p.default_volume,
            gain: if p.has_gain { p.default_gain } else { -1 },
            muted: false,
            jack: false,
        }
    }
}

/// `status` of a channel: 0 normal, 1 disconnected, 2 N/A.
fn status(p: &AudioPortProfile, port: &AudioPort, v: &View<'_>) -> i64 {
    let connected = match p.status_source.split_once(':') {
        Some(("video", id)) => v
            .profile
            .video_inputs
            .iter()
            .position(|i| i.id == id)
            .is_some_and(|i| v.state.video_inputs[i].signal),
        Some(("stream", n)) => {
            let n: usize = n.parse().unwrap_or(0);
            v.state
                .participants
                .iter()
                .filter(|p| p.shares_audio())
                .count()
                >= n
        }
        _ if p.status_source == "jack" => port.jack,
        _ => return 0,
    };
    if connected {
        0
    } else {
        1
    }
}

fn render(p: &AudioPortProfile, port: &AudioPort, v: &View<'_>) -> Value {
    json!({
        "id": p.id,
        "name": p.default_name,
        "type": p.kind,
        "idx": p.idx,
        "status": status(p, port, v),
        "volume": port.volume,
        "gain": if p.has_gain { port.gain } else { -1 },
        "mute": { "value": on_off(port.muted), "valid": ON_OFF },
    })
}

fn patch(
    p: &AudioPortProfile,
    mut o: Obj<'_>,
    shown: &Value,
    cur: &AudioPort,
) -> Result<AudioPort, ApiError> {
    o.read_only_from(&["name", "type", "idx", "status"], shown)?;
    let mut next = cur.clone();
    if let Some(f) = o.field("volume") {
        next.volume = f.int_range(0, 100)?;
    }
    if let Some(f) = o.field("gain") {
        next.gain = if p.has_gain {
            f.int_range(0, 30)?
        } else {
            f.int_in(&[-1])?
        };
    }
    if let Some(mut m) = o.object("mute")? {
        m.read_only("valid", &shown["mute"]["valid"])?;
        if let Some(f) = m.field("value") {
            next.muted = f.int_in(&ON_OFF)? == 2;
        }
        m.finish()?;
    }
    o.finish()?;
    Ok(next)
}

fn commands(p: &AudioPortProfile, old: Option<&AudioPort>, new: &AudioPort) -> Vec<Command> {
    let channel = p.channel;
    let mut cmds = Vec::new();
    if old.is_none_or(|o| o.volume != new.volume) {
        cmds.push(AudioCommand::Volume {
            channel,
            level: new.volume.clamp(0, 100) as u8,
        });
    }
    if p.has_gain && old.is_none_or(|o| o.gain != new.gain) {
        cmds.push(AudioCommand::Gain {
            channel,
            gain: new.gain.clamp(0, 30) as u8,
        });
    }
    if old.is_none_or(|o| o.muted != new.muted) {
        cmds.push(AudioCommand::Mute {
            channel,
            muted: new.muted,
        });
    }
    cmds.into_iter().map(Command::Audio).collect()
}

/// The `/audio/inputs` collection.
pub struct AudioInputs;

impl Collection for AudioInputs {
    type Item = AudioPort;
    const LIST: &'static str = "inputs";

    fn ids(p: &Profile) -> Vec<&String> {
        p.audio_inputs.iter().map(|a| &a.id).collect()
    }
    fn items(s: &State) -> &Vec<AudioPort> {
        &s.audio_inputs
    }
    fn items_mut(s: &mut State) -> &mut Vec<AudioPort> {
        &mut s.audio_inputs
    }
    fn key(id: &str) -> String {
        keys::audio_input(id)
    }
    fn render(v: &View<'_>, i: usize) -> Value {
        render(&v.profile.audio_inputs[i], &v.state.audio_inputs[i], v)
    }
    fn patch(
        p: &Profile,
        i: usize,
        o: Obj<'_>,
        shown: &Value,
        cur: &AudioPort,
    ) -> Result<AudioPort, ApiError> {
        patch(&p.audio_inputs[i], o, shown, cur)
    }
    fn commands(p: &Profile, i: usize, old: Option<&AudioPort>, new: &AudioPort) -> Vec<Command> {
        commands(&p.audio_inputs[i], old, new)
    }
}

/// The `/audio/outputs` collection.
pub struct AudioOutputs;

impl Collection for AudioOutputs {
    type Item = AudioPort;
    const LIST: &'static str = "outputs";

    fn ids(p: &Profile) -> Vec<&String> {
        p.audio_outputs.iter().map(|a| &a.id).collect()
    }
    fn items(s: &State) -> &Vec<AudioPort> {
        &s.audio_outputs
    }
    fn items_mut(s: &mut State) -> &mut Vec<AudioPort> {
        &mut s.audio_outputs
    }
    fn key(id: &str) -> String {
        keys::audio_output(id)
    }
    fn render(v: &View<'_>, i: usize) -> Value {
        render(&v.profile.audio_outputs[i], &v.state.audio_outputs[i], v)
    }
    fn patch(
        p: &Profile,
        i: usize,
        o: Obj<'_>,
        shown: &Value,
        cur: &AudioPort,
    ) -> Result<AudioPort, ApiError> {
        patch(&p.audio_outputs[i], o, shown, cur)
    }
    fn commands(p: &Profile, i: usize, old: Option<&AudioPort>, new: &AudioPort) -> Vec<Command> {
        commands(&p.audio_outputs[i], old, new)
    }
}

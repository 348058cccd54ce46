//! The device state: every setting the API exposes plus what the hardware
//! reports, in one value.
//!
//! The writer ([`crate::writer`]) owns the only mutable copy. Everyone else
//! reads an immutable [`Snapshot`] published after each commit, so a GET never
//! sees a half-applied bulk update and never touches SQLite.

use crate::resources::{
    audio_ports::AudioPort, golive::Live, multiviews::Multiview, snapshots::SnapshotJob,
    system_osd::Osd, system_participants::Participant, system_room::Room,
    video_configs::VideoConfig, video_inputs::VideoInput, video_outputs::VideoOutput,
};
use std::sync::Arc;
use vp2730_model::Profile;

/// Everything the daemon knows about the device. Item vectors are in the
/// device profile's order, so index `i` of `video_outputs` is
/// `profile.video_outputs[i]`.
#[derive(Debug, Clone, PartialEq)]
pub struct State {
    pub osd: Osd,
    pub room: Room,
    pub video_config: VideoConfig,
    /// Id of the current VP profile.
    pub profile_now: String,
    pub video_inputs: Vec<VideoInput>,
    pub video_outputs: Vec<VideoOutput>,
    /// Input id routed to each output ("-1": none).
    pub routes: Vec<String>,
    pub multiviews: Vec<Multiview>,
    pub audio_inputs: Vec<AudioPort>,
    pub audio_outputs: Vec<AudioPort>,
    // Runtime state: not persisted, rebuilt from the hardware and sessions.
    pub participants: Vec<Participant>,
    pub live: Vec<Live>,
    pub snapshots: Vec<SnapshotJob>,
    pub maintenance: Maintenance,
}

/// Health of the device as `/maintenance/status` reports it.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Maintenance {
    /// The hardware answered the last command.
    pub hardware_ok: bool,
    /// The settings database had to be recreated at boot.
    pub database_recovered: bool,
    /// The last write could not be made durable.
    pub storage_ok: bool,
    /// Human-readable notes on recoveries since boot (bounded).
    pub notes: Vec<String>,
}

impl Maintenance {
    const MAX_NOTES: usize = 16;

    /// Appends a note, forgetting the oldest beyond the bound.
    pub fn note(&mut self, text: String) {
        self.notes.push(text);
        if self.notes.len() > Self::MAX_NOTES {
            self.notes.remove(0);
        }
    }
}

/// A published, immutable state.
pub type Snapshot = Arc<State>;

/// Where each item of the state lives in the store.
pub mod keys {
    pub const OSD: &str = "system.osd";
    pub const ROOM: &str = "system.room";
    pub const VIDEO_CONFIG: &str = "video.configs";
    pub const PROFILE_NOW: &str = "video.profile.now";
    pub fn video_input(id: &str) -> String {
        format!("video.input.{id}")
    }
    pub fn video_output(id: &str) -> String {
        format!("video.output.{id}")
    }
    pub fn connection(id: &str) -> String {
        format!("video.connection.{id}")
    }
    pub fn multiview(id: &str) -> String {
        format!("video.multiview.{id}")
    }
    pub fn audio_input(id: &str) -> String {
        format!("audio.input.{id}")
    }
    pub fn audio_output(id: &str) -> String {
        format!("audio.output.{id}")
    }
}

impl State {
    /// Factory defaults, from the device profile.
    pub fn defaults(p: &Profile) -> State {
        use crate::resources::*;
        State {
            osd: system_osd::Osd::defaults(p),
            room: system_room::Room::defaults(p),
            video_config: video_configs::VideoConfig::defaults(),
            profile_now: p.default_vp_profile.clone(),
            video_inputs: p
                .video_inputs
                .iter()
                .enumerate()
                .map(|(i, ip)| video_inputs::VideoInput::defaults(ip, i))
                .collect(),
            video_outputs: p
                .video_outputs
                .iter()
                .map(video_outputs::VideoOutput::defaults)
                .collect(),
            routes: p
                .video_outputs
                .iter()
                .map(|o| o.default_input.clone())
                .collect(),
            multiviews: p
                .multiviews
                .iter()
                .map(multiviews::Multiview::defaults)
                .collect(),
            audio_inputs: p
                .audio_inputs
                .iter()
                .map(audio_ports::AudioPort::defaults)
                .collect(),
            audio_outputs: p
                .audio_outputs
                .iter()
                .map(audio_ports::AudioPort::defaults)
                .collect(),
            participants: Vec::new(),
            live: p
                .video_outputs
                .iter()
                .map(|_| golive::Live::default())
                .collect(),
            snapshots: p
                .video_outputs
                .iter()
                .map(|_| snapshots::SnapshotJob::default())
                .collect(),
            maintenance: Maintenance {
                hardware_ok: true,
                storage_ok: true,
                ..Maintenance::default()
            },
        }
    }
}

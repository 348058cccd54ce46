//! Event topics: the Socket.IO event names of the guide, one per state area.
//!
//! The writer publishes an [`Event`] for each topic a commit touched, after
//! the commit, in commit order; the event carries the snapshot it was
//! committed with so that every listener renders the same payload a GET would
//! have returned at that moment.

use crate::state::Snapshot;

/// One event name of the guide's "SocketIO Usage" section.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Topic {
    MaintenanceStatus,
    SessionConfigs,
    SystemOsd,
    SystemRoom,
    SystemParticipants,
    ParticipantsShare,
    AudioInputs,
    AudioOutputs,
    VideoConfig,
    VideoGolive,
    VideoInputs,
    VideoOutputs,
    VideoConnections,
    VideoMultiviews,
    VpProfilesNow,
    SnapshotsState,
}

impl Topic {
    /// Every topic, in the guide's order.
    pub const ALL: [Topic; 16] = [
        Topic::MaintenanceStatus,
        Topic::SessionConfigs,
        Topic::SystemOsd,
        Topic::SystemRoom,
        Topic::SystemParticipants,
        Topic::ParticipantsShare,
        Topic::AudioInputs,
        Topic::AudioOutputs,
        Topic::VideoConfig,
        Topic::VideoGolive,
        Topic::VideoInputs,
        Topic::VideoOutputs,
        Topic::VideoConnections,
        Topic::VideoMultiviews,
        Topic::VpProfilesNow,
        Topic::SnapshotsState,
    ];

    /// The event name, which is also the path of the GET returning its payload.
    pub fn path(self) -> &'static str {
        match self {
            Topic::MaintenanceStatus => "/api/v2.0/maintenance/status",
            Topic::SessionConfigs => "/api/v2.0/system/sessionConfigs",
            Topic::SystemOsd => "/api/v2.0/system/osd",
            Topic::SystemRoom => "/api/v2.0/system/room",
            Topic::SystemParticipants => "/api/v2.0/system/participants",
            Topic::ParticipantsShare => "/api/v2.0/system/participants/share",
            Topic::AudioInputs => "/api/v2.0/audio/inputs",
            Topic::AudioOutputs => "/api/v2.0/audio/outputs",
            Topic::VideoConfig => "/api/v2.0/video/config",
            Topic::VideoGolive => "/api/v2.0/video/golive",
            Topic::VideoInputs => "/api/v2.0/video/inputs",
            Topic::VideoOutputs => "/api/v2.0/video/outputs",
            Topic::VideoConnections => "/api/v2.0/video/connections",
            Topic::VideoMultiviews => "/api/v2.0/video/multiviews",
            Topic::VpProfilesNow => "/api/v2.0/video/vpProfiles/now",
            Topic::SnapshotsState => "/api/v2.0/video/snapshots/state",
        }
    }
}

/// A committed change of one topic.
#[derive(Debug, Clone)]
pub struct Event {
    /// Commit sequence number (strictly increasing across all topics).
    pub seq: u64,
    pub topic: Topic,
    /// The state as committed.
    pub state: Snapshot,
}

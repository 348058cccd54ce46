//! The daemon's shared context, handed to every handler.

use crate::api::{Reply, Req};
use crate::auth::Auth;
use crate::config::Config;
use crate::render_cache::{RenderCache, ViewKey};
use crate::resources::View;
use crate::routes::Router;
use crate::state::{Snapshot, State};
use crate::writer::{Shared, WriterHandle};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;
use vp2730_hal::{BoardIdentity, Hal};
use vp2730_model::profile::StorageProfile;
use vp2730_model::Profile;

/// Everything a handler may need.
pub struct App {
    pub profile: Arc<Profile>,
    pub config: Config,
    pub shared: Arc<Shared>,
    pub writer: WriterHandle,
    pub auth: Auth,
    pub hal: Hal,
    pub identity: BoardIdentity,
    pub started: Instant,
    pub data_dir: PathBuf,
    pub routes: Router,
    /// The simulated board, when running with `--sim`.
    pub sim: Option<SimBackend>,
    /// The Socket.IO hub (for revocations).
    pub hub: crate::socket::Hub,
    /// GET bodies rendered from the current snapshot.
    pub renders: RenderCache,
}

impl App {
    /// The latest committed state.
    pub fn snapshot(&self) -> Snapshot {
        self.shared.snapshot()
    }

    /// A renderer's view of `state` for the caller of `req`.
    pub fn view<'a>(&'a self, state: &'a State, req: &'a Req) -> View<'a> {
        View {
            profile: &self.profile,
            state,
            base: &req.base,
            tier: req.tier,
        }
    }

    /// A GET's JSON answer: `render` of the current snapshot for the caller
    /// of `req`, rendered at most once per commit and view (see
    /// [`crate::render_cache`]).
    pub fn cached_json(
        &self,
        req: &Req,
        resource: &'static str,
        item: Option<usize>,
        render: impl FnOnce(&View<'_>) -> Value,
    ) -> Reply {
        let s = self.snapshot();
        let key = ViewKey {
            resource,
            item,
            tier: req.tier,
            base: req.base.clone(),
        };
        let body = self.renders.body(key, &s, || render(&self.view(&s, req)));
        Reply::Bytes {
            content_type: "application/json",
            body,
        }
    }

    /// Mount point of a snapshot storage.
    pub fn storage_root(&self, s: &StorageProfile) -> PathBuf {
        storage_root(&self.data_dir, s)
    }
}

/// What `--sim` runs on.
pub enum SimBackend {
    /// The in-memory board (`[sim] backend = "memory"`): no tty needed.
    Memory(vp2730_hal::sim::SimDevice),
    /// The board emulator behind the shipping drivers (the default).
    Emulator(vp2730_sim::Control),
}

/// Mount point of a storage: absolute as configured, or under the data dir.
pub fn storage_root(data_dir: &Path, s: &StorageProfile) -> PathBuf {
    let m = Path::new(&s.mount);
    if m.is_absolute() {
        m.to_path_buf()
    } else {
        data_dir.join(m)
    }
}

//! `vp2730d`: the API daemon of the ATEN VP2730 presentation switch.
//!
//! Request flow (see README for the sketch):
//! `server` (TLS, limits) → `routes` (path, method, tier) → `auth` →
//! a handler in `resources/*` (validation by the resource's own rules) →
//! `writer` (hardware via `vp2730_hal`, then SQLite via `vp2730_store`, then
//! publish the snapshot and events) → 204. GETs render the published
//! snapshot.

pub mod api;
pub mod app;
pub mod auth;
pub mod config;
pub mod events;
pub mod reconcile;
pub mod render_cache;
pub mod resources;
pub mod routes;
pub mod server;
pub mod socket;
pub mod state;
pub mod tls;
pub mod writer;

mod run;
pub use run::{run, Options};

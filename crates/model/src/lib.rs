//! Shared model of the VP2730 API v2.0.
//!
//! * [`error`]: the guide's error table as a type;
//! * [`patch`]: strict body parsing and field-by-field validation;
//! * [`profile`]: the device profile (port map and fixed tables as data).
//!
//! Resource-specific rules live with each resource in the daemon
//! (`src/resources/*.rs`), built from these pieces.

pub mod error;
pub mod patch;
pub mod profile;

pub use error::ApiError;
pub use patch::{parse_body, Field, Obj};
pub use profile::{Profile, NO_INPUT};

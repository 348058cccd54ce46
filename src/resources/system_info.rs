//! `/api/v2.0/system/info` — guide 0101-01 — and `/api/v2.0/ping`.

use crate::api::{Reply, Req};
use crate::app::App;
use serde_json::json;
use std::sync::Arc;
use vp2730_model::ApiError;

/// Firmware version, from the workspace version.
pub const FW_VERSION: &str = env!("CARGO_PKG_VERSION");
/// Build stamp (`YYMMDDHH` of the commit, see `build.rs`).
pub const BUILD_VERSION: &str = env!("VP2730_BUILD_VERSION");

/// GET /system/info
pub async fn get(app: Arc<App>, _req: Req) -> Result<Reply, ApiError> {
    let s = app.snapshot();
    Ok(Reply::Json(json!({
        "modelName": app.profile.model_name,
        "deviceName": s.room.name,
        "serialNumber": app.identity.serial_number,
        "uptime": app.started.elapsed().as_secs(),
        "status": "normal",
        "fwVersion": FW_VERSION,
        "fwUpgradeType": 3,
        "boardVersion": app.identity.board_version,
        "buildVersion": BUILD_VERSION,
    })))
}

/// GET /ping: server alive test, no authentication.
pub async fn ping(_app: Arc<App>, _req: Req) -> Result<Reply, ApiError> {
    Ok(Reply::Json(json!({})))
}

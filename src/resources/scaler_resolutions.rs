//! `/api/v2.0/video/scalerResolutions` — guide 0502-01. The scaler's timing
//! table from the device profile; output `displayResolution` values are ids
//! into it.

use crate::api::{Reply, Req};
use crate::app::App;
use serde_json::{json, Value};
use std::sync::Arc;
use vp2730_model::ApiError;

/// GET /video/scalerResolutions
pub async fn list(app: Arc<App>, _req: Req) -> Result<Reply, ApiError> {
    let list: Vec<Value> = app
        .profile
        .scaler_resolutions
        .iter()
        .enumerate()
        .map(|(id, d)| json!({ "id": id, "description": d }))
        .collect();
    Ok(Reply::Json(json!({ "scalerResolutions": list })))
}

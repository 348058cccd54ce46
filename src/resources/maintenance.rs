//! `/api/v2.0/maintenance/status` — the payload of the guide's
//! `maintenance/status` event, readable over REST too (an addition; see
//! `docs/spec-notes.md`): hardware, storage and database health, and what
//! the daemon recovered from since boot.

use super::View;
use crate::api::{Reply, Req};
use crate::app::App;
use serde_json::{json, Value};
use std::sync::Arc;
use vp2730_model::ApiError;

/// The status as pushed and served.
pub fn render(v: &View<'_>) -> Value {
    let m = &v.state.maintenance;
    let healthy = m.hardware_ok && m.storage_ok;
    json!({
        "status": if healthy { "normal" } else { "degraded" },
        "hardware": if m.hardware_ok { "ok" } else { "notResponding" },
        "storage": if m.storage_ok { "ok" } else { "failed" },
        "database": if m.database_recovered { "recovered" } else { "ok" },
        "notes": m.notes,
    })
}

/// GET /maintenance/status
pub async fn get(app: Arc<App>, req: Req) -> Result<Reply, ApiError> {
    let s = app.snapshot();
    Ok(Reply::Json(render(&app.view(&s, &req))))
}

/// GET /system/sessionConfigs (payload of the `system/sessionConfigs` event).
pub async fn session_configs(app: Arc<App>, _req: Req) -> Result<Reply, ApiError> {
    Ok(Reply::Json(crate::socket::session_configs(&app)))
}

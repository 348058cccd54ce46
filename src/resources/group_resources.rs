//! `/api/v2.0/{system,audio,video}/resources` — guide 0100-01, 0600-01,
//! 0500-01: the resource paths of a group that the caller may access,
//! derived from the route table so they can never disagree with it.

use crate::api::{Reply, Req};
use crate::app::App;
use serde_json::{json, Value};
use std::sync::Arc;
use vp2730_model::ApiError;

async fn group(app: Arc<App>, req: Req, prefix: &str) -> Result<Reply, ApiError> {
    let mut paths: Vec<&'static str> = Vec::new();
    for r in app.routes.routes() {
        if r.pattern.starts_with(prefix) && r.tier <= req.tier && !paths.contains(&r.pattern) {
            paths.push(r.pattern);
        }
    }
    let list: Vec<Value> = paths
        .iter()
        .enumerate()
        .map(|(i, p)| json!({ "id": i.to_string(), "resource": p.replace("{id}", "<id>") }))
        .collect();
    Ok(Reply::Json(json!({ "resources": list })))
}

/// GET /system/resources
pub async fn system(app: Arc<App>, req: Req) -> Result<Reply, ApiError> {
    group(app, req, "/api/v2.0/system/").await
}

/// GET /audio/resources
pub async fn audio(app: Arc<App>, req: Req) -> Result<Reply, ApiError> {
    group(app, req, "/api/v2.0/audio/").await
}

/// GET /video/resources
pub async fn video(app: Arc<App>, req: Req) -> Result<Reply, ApiError> {
    group(app, req, "/api/v2.0/video/").await
}

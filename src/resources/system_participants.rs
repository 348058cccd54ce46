//! `/api/v2.0/system/participants[/<id>]` — guide 0125-01..03.
//!
//! Presenters in the room. Joining (`POST`) is what the room-code tier is
//! for; participants are sessions, not settings, so they are not persisted.
//! `DELETE /system/participants/<id>` (an extension, administrators only)
//! removes one, e.g. from the device's web page.

use super::View;
use crate::api::{Reply, Req};
use crate::app::App;
use crate::writer::Plan;
use serde_json::{json, Value};
use std::sync::Arc;
use vp2730_model::{ApiError, Obj};

/// One participant.
#[derive(Debug, Clone, PartialEq)]
pub struct Participant {
    pub id: String,
    pub name: String,
    /// What the participant is sharing: "video", "audio".
    pub share: Vec<String>,
}

impl Participant {
    /// Whether the participant shares audio (drives the `STMn` inputs' status).
    pub fn shares_audio(&self) -> bool {
        self.share.iter().any(|s| s == "audio")
    }
}

fn render(p: &Participant) -> Value {
    json!({ "id": p.id, "name": p.name, "share": p.share })
}

/// The list as the guide shows it.
pub fn render_list(v: &View<'_>) -> Value {
    let list: Vec<Value> = v.state.participants.iter().map(render).collect();
    json!({ "participants": list })
}

/// Who shares what (payload of the `participants/share` event).
pub fn render_share(v: &View<'_>) -> Value {
    let list: Vec<Value> = v
        .state
        .participants
        .iter()
        .filter(|p| !p.share.is_empty())
        .map(|p| json!({ "id": p.id, "share": p.share }))
        .collect();
    json!({ "share": list })
}

/// GET /system/participants
pub async fn list(app: Arc<App>, req: Req) -> Result<Reply, ApiError> {
    let s = app.snapshot();
    Ok(Reply::Json(render_list(&app.view(&s, &req))))
}

/// GET /system/participants/share (payload of the `participants/share` event)
pub async fn share(app: Arc<App>, req: Req) -> Result<Reply, ApiError> {
    let s = app.snapshot();
    Ok(Reply::Json(render_share(&app.view(&s, &req))))
}

/// GET /system/participants/<id>
pub async fn get(app: Arc<App>, req: Req) -> Result<Reply, ApiError> {
    let s = app.snapshot();
    let id = req.param(0);
    s.participants
        .iter()
        .find(|p| p.id == id)
        .map(|p| Reply::Json(render(p)))
        .ok_or_else(|| ApiError::instance(id))
}

/// POST /system/participants: joins the room. Optional body `{"name": ...}`.
pub async fn join(app: Arc<App>, req: Req) -> Result<Reply, ApiError> {
    let name = match req.json_opt()? {
        None => None,
        Some(body) => {
            let mut o = Obj::new(&body, "")?;
            let name = o.field("name").map(|f| f.name(32)).transpose()?;
            o.finish()?;
            name
        }
    };
    let id = crate::auth::random_id(10);
    let reply_id = id.clone();
    let max = app.profile.max_participants;
    app.writer
        .write(move |state, _p| {
            if state.participants.len() >= max {
                return Err(ApiError::MaxExceeded);
            }
            let mut plan = Plan::new(state);
            let n = state.participants.len() + 1;
            plan.next.participants.push(Participant {
                id,
                name: name.unwrap_or_else(|| format!("Presenter {n}")),
                share: Vec::new(),
            });
            Ok(plan)
        })
        .await?;
    let count = app.snapshot().participants.len();
    Ok(Reply::Json(json!({ "id": reply_id, "count": count })))
}

/// DELETE /system/participants/<id> (extension): the participant leaves.
pub async fn leave(app: Arc<App>, req: Req) -> Result<Reply, ApiError> {
    let id = req.param(0).to_string();
    app.writer
        .write(move |state, _p| {
            let i = state
                .participants
                .iter()
                .position(|p| p.id == id)
                .ok_or_else(|| ApiError::instance(&id))?;
            let mut plan = Plan::new(state);
            plan.next.participants.remove(i);
            if plan.next.room.moderator == id {
                plan.next.room.moderator.clear();
            }
            Ok(plan)
        })
        .await?;
    Ok(Reply::NoContent)
}

//! `/api/v2.0/video/vpProfiles[/<id>|/now]` — guide 0513-01/02, 0514-01/02.
//!
//! VP profiles are presets (from the device profile) of a multiview layout
//! and a routing. Selecting one (`PATCH /now`) applies both: the multiview
//! engine switches layout (`ActiveLayout`) and each output is routed as the
//! profile says (`Route`, persisted like any connection change).

use super::collection::stage;
use super::video_connections::VideoConnections;
use super::View;
use crate::api::{Reply, Req};
use crate::app::App;
use crate::state::keys;
use crate::writer::Plan;
use serde_json::{json, Value};
use std::sync::Arc;
use vp2730_hal::{Command, VideoCommand};
use vp2730_model::profile::VpProfile;
use vp2730_model::{ApiError, Obj, Profile};

fn render(p: &VpProfile) -> Value {
    json!({ "id": p.id, "name": p.name, "multiview": p.multiview })
}

/// The current profile (payload of the `vpProfiles/now` event).
pub fn render_now(v: &View<'_>) -> Value {
    v.profile
        .vp_profile(&v.state.profile_now)
        .map(render)
        .unwrap_or_else(|| json!({}))
}

/// Multiview engine command for a profile.
pub fn layout_command(p: &Profile, vp: &VpProfile) -> Command {
    Command::Video(VideoCommand::ActiveLayout {
        layout: p
            .multiviews
            .iter()
            .position(|m| m.id == vp.multiview)
            .map(|i| i as u8),
    })
}

/// GET /video/vpProfiles
pub async fn list(app: Arc<App>, _req: Req) -> Result<Reply, ApiError> {
    let list: Vec<Value> = app.profile.vp_profiles.iter().map(render).collect();
    Ok(Reply::Json(json!({ "profiles": list })))
}

/// GET /video/vpProfiles/<id>
pub async fn get(app: Arc<App>, req: Req) -> Result<Reply, ApiError> {
    app.profile
        .vp_profile(req.param(0))
        .map(|p| Reply::Json(render(p)))
        .ok_or_else(|| ApiError::instance(req.param(0)))
}

/// GET /video/vpProfiles/now
pub async fn get_now(app: Arc<App>, req: Req) -> Result<Reply, ApiError> {
    let s = app.snapshot();
    Ok(Reply::Json(render_now(&app.view(&s, &req))))
}

/// PATCH /video/vpProfiles/now: selects (or re-applies) a profile.
///
/// `id` picks the profile (default: the current one). `name` and
/// `multiview` describe a profile and cannot be changed here: they are
/// accepted when they equal the target's or the current profile's values
/// (so a client may send back what it read with only `id` changed).
pub async fn set_now(app: Arc<App>, req: Req) -> Result<Reply, ApiError> {
    let body = req.json()?;
    app.writer
        .write(move |state, p| {
            let mut o = Obj::new(&body, "")?;
            let ids: Vec<&String> = p.vp_profiles.iter().map(|v| &v.id).collect();
            let target_id = match o.field("id") {
                Some(f) => f.str_in(&ids)?.to_string(),
                None => state.profile_now.clone(),
            };
            let target = p.vp_profile(&target_id).ok_or(ApiError::System)?;
            let current = p.vp_profile(&state.profile_now).unwrap_or(target);
            for (key, get) in [
                (
                    "name",
                    (|v: &VpProfile| v.name.clone()) as fn(&VpProfile) -> String,
                ),
                ("multiview", |v| v.multiview.clone()),
            ] {
                if let Some(f) = o.field(key) {
                    let sent = f.str()?;
                    if sent != get(target) && sent != get(current) {
                        return Err(ApiError::disallowed(key));
                    }
                }
            }
            o.finish()?;

            let mut plan = Plan::new(state);
            if target.multiview != current.multiview || target_id != state.profile_now {
                plan.hardware(
                    vec![layout_command(p, target)],
                    vec![layout_command(p, current)],
                );
            }
            for (out, input) in &target.routes {
                if let Some(i) = p.video_outputs.iter().position(|o| &o.id == out) {
                    stage::<VideoConnections>(&mut plan, p, state, i, input.clone());
                }
            }
            if target_id != state.profile_now {
                plan.persist(keys::PROFILE_NOW.to_string(), &target_id);
                plan.next.profile_now = target_id;
            }
            Ok(plan)
        })
        .await?;
    Ok(Reply::NoContent)
}

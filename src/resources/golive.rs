//! `/api/v2.0/video/golive[/<id>]` — guide 0524-01..04.
//!
//! Streaming an output to the network. `POST` starts, `DELETE` stops.
//! Status: 1 stopped, 2 playing, 101 playing but the routed source is
//! HDCP-protected (the stream carries a "content is protected" card instead
//! of the picture). Live state is an action, not a setting: it is not
//! persisted and every output is stopped after a restart.
//! Hardware: `GoLive`.

use super::View;
use crate::api::{Reply, Req};
use crate::app::App;
use crate::state::State;
use crate::writer::Plan;
use serde_json::{json, Value};
use std::sync::Arc;
use vp2730_hal::{Command, VideoCommand};
use vp2730_model::{ApiError, Profile};

/// Live state of one output.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Live {
    pub playing: bool,
}

/// The guide's status value of output `i`.
pub fn status(p: &Profile, s: &State, i: usize) -> i64 {
    if !s.live[i].playing {
        return 1;
    }
    let protected = p
        .video_inputs
        .iter()
        .position(|x| x.id == s.routes[i])
        .is_some_and(|x| s.video_inputs[x].protected());
    if protected {
        101
    } else {
        2
    }
}

fn render(p: &Profile, s: &State, i: usize) -> Value {
    json!({ "id": p.video_outputs[i].id, "status": status(p, s, i) })
}

/// The list as the guide shows it.
pub fn render_list(v: &View<'_>) -> Value {
    let list: Vec<Value> = (0..v.state.live.len())
        .map(|i| render(v.profile, v.state, i))
        .collect();
    json!({ "golive": list })
}

fn index(p: &Profile, id: &str) -> Result<usize, ApiError> {
    p.video_outputs
        .iter()
        .position(|o| o.id == id)
        .ok_or_else(|| ApiError::instance(id))
}

/// GET /video/golive
pub async fn list(app: Arc<App>, req: Req) -> Result<Reply, ApiError> {
    let s = app.snapshot();
    Ok(Reply::Json(render_list(&app.view(&s, &req))))
}

/// GET /video/golive/<id>
pub async fn get(app: Arc<App>, req: Req) -> Result<Reply, ApiError> {
    let i = index(&app.profile, req.param(0))?;
    Ok(Reply::Json(render(&app.profile, &app.snapshot(), i)))
}

async fn set(app: Arc<App>, req: Req, on: bool) -> Result<Reply, ApiError> {
    let i = index(&app.profile, req.param(0))?;
    app.writer
        .write(move |state, p| {
            let mut plan = Plan::new(state);
            if state.live[i].playing != on {
                let output = p.video_outputs[i].port;
                plan.hardware(
                    vec![Command::Video(VideoCommand::GoLive { output, on })],
                    vec![Command::Video(VideoCommand::GoLive { output, on: !on })],
                );
                plan.next.live[i].playing = on;
            }
            Ok(plan)
        })
        .await?;
    Ok(Reply::NoContent)
}

/// POST /video/golive/<id>: start streaming.
pub async fn start(app: Arc<App>, req: Req) -> Result<Reply, ApiError> {
    set(app, req, true).await
}

/// DELETE /video/golive/<id>: stop streaming.
pub async fn stop(app: Arc<App>, req: Req) -> Result<Reply, ApiError> {
    set(app, req, false).await
}

//! `/api/v2.0/video/connections[/<id>]` — guide 0522-01..04.
//!
//! Routing of the matrix: for each output (the connection id is the output
//! id), the input shown on it ("-1": none). Hardware: `Route`.

use super::collection::Collection;
use super::View;
use crate::state::{keys, State};
use serde_json::{json, Value};
use vp2730_hal::{Command, VideoCommand};
use vp2730_model::{ApiError, Obj, Profile, NO_INPUT};

/// The `/video/connections` collection. Items are the routed input ids.
pub struct VideoConnections;

/// Board port of a route target ("-1": none).
pub fn input_port(p: &Profile, input: &str) -> Option<u8> {
    p.video_input(input).map(|i| i.port)
}

impl Collection for VideoConnections {
    type Item = String;
    const LIST: &'static str = "connections";

    fn ids(p: &Profile) -> Vec<&String> {
        p.video_outputs.iter().map(|o| &o.id).collect()
    }
    fn items(s: &State) -> &Vec<String> {
        &s.routes
    }
    fn items_mut(s: &mut State) -> &mut Vec<String> {
        &mut s.routes
    }
    fn key(id: &str) -> String {
        keys::connection(id)
    }

    fn render(v: &View<'_>, i: usize) -> Value {
        json!({ "id": v.profile.video_outputs[i].id, "videoInput": v.state.routes[i] })
    }

    fn patch(
        p: &Profile,
        _i: usize,
        mut o: Obj<'_>,
        _shown: &Value,
        cur: &String,
    ) -> Result<String, ApiError> {
        let mut next = cur.clone();
        if let Some(f) = o.field("videoInput") {
            next = f.str_in(&p.route_targets())?.to_string();
        }
        o.finish()?;
        Ok(next)
    }

    fn commands(p: &Profile, i: usize, old: Option<&String>, new: &String) -> Vec<Command> {
        if old == Some(new) {
            return Vec::new();
        }
        let input = if new == NO_INPUT {
            None
        } else {
            input_port(p, new)
        };
        vec![Command::Video(VideoCommand::Route {
            output: p.video_outputs[i].port,
            input,
        })]
    }
}

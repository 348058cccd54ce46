//! `/api/v2.0/video/multiviews[/<id>]` — guide 0515-01..04.
//!
//! Multiview layouts: a description, a focus view (`mainView`, "-1": none)
//! and windows, each showing an input at a position given as ratios of the
//! output. The number of windows is fixed by the layout template (device
//! profile); a PATCH changes windows by view id. Hardware: `Layout` (ratios
//! converted to the board's thousandths).

use super::collection::Collection;
use super::{ratio, View};
use crate::state::{keys, State};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use vp2730_hal::{Command, VideoCommand, Window};
use vp2730_model::profile::MultiviewProfile;
use vp2730_model::{ApiError, Field, Obj, Profile};

/// Persisted content of one layout.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Multiview {
    pub description: String,
    pub main_view: String,
    pub views: Vec<ViewWindow>,
}

/// One window of a layout.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ViewWindow {
    pub id: String,
    pub source: String,
    pub w: f64,
    pub h: f64,
    pub x: f64,
    pub y: f64,
    pub z: i64,
}

impl Multiview {
    /// Factory content of a layout.
    pub fn defaults(p: &MultiviewProfile) -> Self {
        Multiview {
            description: p.description.clone(),
            main_view: p.main_view.clone(),
            views: p
                .views
                .iter()
                .map(|v| ViewWindow {
                    id: v.id.clone(),
                    source: v.source.clone(),
                    w: v.w,
                    h: v.h,
                    x: v.x,
                    y: v.y,
                    z: v.z,
                })
                .collect(),
        }
    }
}

/// Highest z-order accepted (the board stacks 16 planes).
const MAX_Z: i64 = 15;
/// Rounding slack when checking that a window stays inside the output.
const EPS: f64 = 1e-9;

fn patch_window(p: &Profile, f: Field<'_>, views: &mut [ViewWindow]) -> Result<(), ApiError> {
    let path = f.path().to_string();
    let mut o = f.object()?;
    let id_field = o.required("id")?;
    let id = id_field.str()?;
    let w = views
        .iter_mut()
        .find(|v| v.id == id)
        .ok_or_else(|| id_field.unsupported())?;
    if let Some(s) = o.field("source") {
        let ids: Vec<&String> = p.video_inputs.iter().map(|i| &i.id).collect();
        w.source = s.str_in(&ids)?.to_string();
    }
    if let Some(mut c) = o.object("coordinate")? {
        for (key, slot) in [
            ("wRatio", &mut w.w),
            ("hRatio", &mut w.h),
            ("xRatio", &mut w.x),
            ("yRatio", &mut w.y),
        ] {
            if let Some(f) = c.field(key) {
                *slot = f.number_range(0.0, 1.0)?;
            }
        }
        if let Some(f) = c.field("zOrder") {
            w.z = f.int_range(0, MAX_Z)?;
        }
        c.finish()?;
    }
    o.finish()?;
    if w.x + w.w > 1.0 + EPS || w.y + w.h > 1.0 + EPS {
        return Err(vp2730_model::ApiError::Unsupported {
            field: format!("{path}.coordinate"),
            value: "window outside the output".into(),
        });
    }
    Ok(())
}

fn thousandths(r: f64) -> u16 {
    (r * 1000.0).round().clamp(0.0, 1000.0) as u16
}

/// The `/video/multiviews` collection.
pub struct Multiviews;

impl Collection for Multiviews {
    type Item = Multiview;
    const LIST: &'static str = "multiviews";

    fn ids(p: &Profile) -> Vec<&String> {
        p.multiviews.iter().map(|m| &m.id).collect()
    }
    fn items(s: &State) -> &Vec<Multiview> {
        &s.multiviews
    }
    fn items_mut(s: &mut State) -> &mut Vec<Multiview> {
        &mut s.multiviews
    }
    fn key(id: &str) -> String {
        keys::multiview(id)
    }

    fn render(v: &View<'_>, i: usize) -> Value {
        let m = &v.state.multiviews[i];
        let views: Vec<Value> = m
            .views
            .iter()
            .map(|w| {
                json!({
                    "id": w.id,
                    "source": w.source,
                    "coordinate": {
                        "wRatio": ratio(w.w),
                        "hRatio": ratio(w.h),
                        "xRatio": ratio(w.x),
                        "yRatio": ratio(w.y),
                        "zOrder": w.z,
                    },
                })
            })
            .collect();
        json!({
            "id": v.profile.multiviews[i].id,
            "description": m.description,
            "mainView": m.main_view,
            "views": views,
        })
    }

    fn patch(
        p: &Profile,
        _i: usize,
        mut o: Obj<'_>,
        _shown: &Value,
        cur: &Multiview,
    ) -> Result<Multiview, ApiError> {
        let mut next = cur.clone();
        if let Some(f) = o.field("description") {
            next.description = f.name(64)?;
        }
        if let Some(f) = o.field("views") {
            for w in f.array()? {
                patch_window(p, w, &mut next.views)?;
            }
        }
        if let Some(f) = o.field("mainView") {
            let mut allowed: Vec<&str> = next.views.iter().map(|v| v.id.as_str()).collect();
            allowed.push("-1");
            next.main_view = f.str_in(&allowed)?.to_string();
        }
        o.finish()?;
        Ok(next)
    }

    fn commands(p: &Profile, i: usize, old: Option<&Multiview>, new: &Multiview) -> Vec<Command> {
        if old == Some(new) {
            return Vec::new();
        }
        let port = |id: &str| p.video_input(id).map(|i| i.port).unwrap_or(0);
        let view_no = |id: &str| id.parse::<u8>().ok();
        vec![Command::Video(VideoCommand::Layout {
            layout: i as u8,
            main_view: view_no(&new.main_view),
            windows: new
                .views
                .iter()
                .map(|w| Window {
                    view: view_no(&w.id).unwrap_or(0),
                    input_port: port(&w.source),
                    x: thousandths(w.x),
                    y: thousandths(w.y),
                    w: thousandths(w.w),
                    h: thousandths(w.h),
                    z: w.z.clamp(0, MAX_Z) as u8,
                })
                .collect(),
        })]
    }
}

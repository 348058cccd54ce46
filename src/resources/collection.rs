//! The shape shared by the guide's list resources (video inputs, outputs,
//! connections, multiviews, audio inputs and outputs): `GET` of the list,
//! `GET` of one item, bulk `PATCH` of the list and `PATCH` of one item.
//!
//! A resource implements [`Collection`] — how an item renders, how a body is
//! validated into a new item, which hardware commands a change becomes and
//! where it is stored — and the four handlers here do the rest, identically
//! for every resource: one item's GET is by construction its list entry, and
//! a bulk PATCH is validated completely before anything is applied.

use super::{bulk_entries, View};
use crate::api::{Reply, Req};
use crate::app::App;
use crate::state::State;
use crate::writer::Plan;
use serde::Serialize;
use serde_json::{json, Value};
use std::sync::Arc;
use vp2730_hal::Command;
use vp2730_model::{ApiError, Obj, Profile};

/// A list resource of the guide.
pub trait Collection: 'static {
    /// Persisted settings of one item (plus any runtime fields it renders).
    type Item: Clone + PartialEq + Serialize + Send + Sync;
    /// JSON key of the list (`"outputs"`), in GET and bulk PATCH bodies.
    const LIST: &'static str;

    /// Item ids, in profile order.
    fn ids(p: &Profile) -> Vec<&String>;
    /// The items of a state.
    fn items(s: &State) -> &Vec<Self::Item>;
    /// The items of a state, to change.
    fn items_mut(s: &mut State) -> &mut Vec<Self::Item>;
    /// Store key of an item.
    fn key(id: &str) -> String;
    /// Item `i` as the guide shows it.
    fn render(v: &View<'_>, i: usize) -> Value;
    /// Validates a PATCH of item `i`; `shown` is what a GET shows now (for
    /// read-only fields).
    fn patch(
        p: &Profile,
        i: usize,
        body: Obj<'_>,
        shown: &Value,
        cur: &Self::Item,
    ) -> Result<Self::Item, ApiError>;
    /// Hardware commands taking item `i` from `old` (None: unknown, e.g. at
    /// boot) to `new`.
    fn commands(p: &Profile, i: usize, old: Option<&Self::Item>, new: &Self::Item) -> Vec<Command>;
}

/// The list as the guide shows it.
pub fn render_list<C: Collection>(v: &View<'_>) -> Value {
    let items: Vec<Value> = (0..C::items(v.state).len())
        .map(|i| C::render(v, i))
        .collect();
    json!({ C::LIST: items })
}

/// Adds the change of item `i` to `plan` (nothing if it does not change).
pub fn stage<C: Collection>(plan: &mut Plan, p: &Profile, state: &State, i: usize, next: C::Item) {
    let cur = &C::items(state)[i];
    if *cur == next {
        return;
    }
    plan.hardware(
        C::commands(p, i, Some(cur), &next),
        C::commands(p, i, Some(&next), cur),
    );
    plan.persist(C::key(C::ids(p)[i]), &next);
    C::items_mut(&mut plan.next)[i] = next;
}

/// Validates the body of item `i` at `path` and stages it.
fn patch_item<C: Collection>(
    plan: &mut Plan,
    v: &View<'_>,
    i: usize,
    body: &Value,
    path: &str,
) -> Result<(), ApiError> {
    let shown = C::render(v, i);
    let mut obj = Obj::new(body, path)?;
    obj.read_only("id", &shown["id"])?;
    let next = C::patch(v.profile, i, obj, &shown, &C::items(v.state)[i])?;
    stage::<C>(plan, v.profile, v.state, i, next);
    Ok(())
}

fn index<C: Collection>(p: &Profile, id: &str) -> Result<usize, ApiError> {
    C::ids(p)
        .iter()
        .position(|x| x.as_str() == id)
        .ok_or_else(|| ApiError::instance(id))
}

/// GET of the list.
pub async fn list<C: Collection>(app: Arc<App>, req: Req) -> Result<Reply, ApiError> {
    Ok(app.cached_json(&req, std::any::type_name::<C>(), None, render_list::<C>))
}

/// GET of one item.
pub async fn get<C: Collection>(app: Arc<App>, req: Req) -> Result<Reply, ApiError> {
    let i = index::<C>(&app.profile, req.param(0))?;
    Ok(
        app.cached_json(&req, std::any::type_name::<C>(), Some(i), |v| {
            C::render(v, i)
        }),
    )
}

/// PATCH of the list: any subset of items, all or nothing.
pub async fn patch_bulk<C: Collection>(app: Arc<App>, req: Req) -> Result<Reply, ApiError> {
    let body = req.json()?;
    let (base, tier) = (req.base.clone(), req.tier);
    app.writer
        .write(move |state, p| {
            let v = View {
                profile: p,
                state,
                base: &base,
                tier,
            };
            let mut plan = Plan::new(state);
            for (i, entry, path) in bulk_entries(&body, C::LIST, &C::ids(p))? {
                patch_item::<C>(&mut plan, &v, i, entry, &path)?;
            }
            Ok(plan)
        })
        .await?;
    Ok(Reply::NoContent)
}

/// PATCH of one item.
pub async fn patch_one<C: Collection>(app: Arc<App>, req: Req) -> Result<Reply, ApiError> {
    let i = index::<C>(&app.profile, req.param(0))?;
    let body = req.json()?;
    let (base, tier) = (req.base.clone(), req.tier);
    app.writer
        .write(move |state, p| {
            let v = View {
                profile: p,
                state,
                base: &base,
                tier,
            };
            let mut plan = Plan::new(state);
            patch_item::<C>(&mut plan, &v, i, &body, "")?;
            Ok(plan)
        })
        .await?;
    Ok(Reply::NoContent)
}

/// A single-object resource of the guide (`/system/osd`, `/system/room`,
/// `/video/configs`): `GET` and `PATCH`.
pub trait Singleton: 'static {
    /// Persisted settings (plus any runtime fields it renders).
    type Item: Clone + PartialEq + Serialize + Send + Sync;
    /// Store key.
    const KEY: &'static str;

    /// The item in a state.
    fn item(s: &State) -> &Self::Item;
    /// The item in a state, to change.
    fn item_mut(s: &mut State) -> &mut Self::Item;
    /// As the guide shows it, to the caller of `v`.
    fn render(v: &View<'_>) -> Value;
    /// Validates a PATCH; `shown` is what an administrator's GET shows now.
    fn patch(v: &View<'_>, body: Obj<'_>, shown: &Value) -> Result<Self::Item, ApiError>;
    /// Hardware commands taking the device from `old` (None: unknown) to `new`.
    fn commands(p: &Profile, old: Option<&Self::Item>, new: &Self::Item) -> Vec<Command>;
}

/// GET of a singleton.
pub async fn get_one<S: Singleton>(app: Arc<App>, req: Req) -> Result<Reply, ApiError> {
    Ok(app.cached_json(&req, std::any::type_name::<S>(), None, S::render))
}

/// PATCH of a singleton.
pub async fn patch_single<S: Singleton>(app: Arc<App>, req: Req) -> Result<Reply, ApiError> {
    let body = req.json()?;
    let (base, tier) = (req.base.clone(), req.tier);
    app.writer
        .write(move |state, p| {
            let v = View {
                profile: p,
                state,
                base: &base,
                tier,
            };
            let shown = S::render(&v);
            let next = S::patch(&v, Obj::new(&body, "")?, &shown)?;
            let cur = S::item(state);
            let mut plan = Plan::new(state);
            if *cur != next {
                plan.hardware(
                    S::commands(p, Some(cur), &next),
                    S::commands(p, Some(&next), cur),
                );
                plan.persist(S::KEY.to_string(), &next);
                *S::item_mut(&mut plan.next) = next;
            }
            Ok(plan)
        })
        .await?;
    Ok(Reply::NoContent)
}

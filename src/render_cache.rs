//! Rendered GET bodies of the published snapshot.
//!
//! Control systems poll: a Crestron program asking for `/video/outputs`
//! every 200 ms, a web page per presenter, a Q-SYS plugin. Between two
//! commits every one of those GETs would build the same JSON tree and
//! serialise it again. The cache keeps, per resource view, the body rendered
//! from the current snapshot; a commit publishes a new snapshot, and the next
//! GET sees the pointer change and renders once more. Nothing is ever
//! invalidated by hand, so a GET can never answer from a state older than
//! the one it read.

use crate::auth::Tier;
use crate::state::Snapshot;
use bytes::Bytes;
use serde_json::Value;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// Which rendering of the snapshot a body is.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ViewKey {
    /// The resource: its Rust type name (`std::any::type_name`), unique
    /// where the guide's list keys are not (`inputs` is audio and video).
    pub resource: &'static str,
    /// Item index within the resource, or `None` for the whole resource.
    pub item: Option<usize>,
    /// Renders differ by tier (the room tier sees less).
    pub tier: Tier,
    /// URLs inside bodies carry the host the client used.
    pub base: String,
}

struct Entry {
    state: Snapshot,
    body: Bytes,
}

/// The cache. Bounded: the `base` part comes from the client's `Host`
/// header, so past [`RenderCache::MAX_ENTRIES`] views it starts over rather
/// than grow.
#[derive(Default)]
pub struct RenderCache {
    entries: Mutex<HashMap<ViewKey, Entry>>,
}

impl RenderCache {
    /// More distinct views than a real room has (a few resources x tiers x
    /// the one or two host names clients use).
    pub const MAX_ENTRIES: usize = 256;

    /// The body of `key` rendered from `state`: from the cache when it was
    /// rendered from this very snapshot, else by `render` (then kept).
    pub fn body(&self, key: ViewKey, state: &Snapshot, render: impl FnOnce() -> Value) -> Bytes {
        if let Some(e) = self.lock().get(&key) {
            if Arc::ptr_eq(&e.state, state) {
                return e.body.clone();
            }
        }
        // Rendering happens outside the lock: concurrent misses may render
        // the same body twice, never block each other.
        let body = crate::api::json_bytes(&render());
        let mut map = self.lock();
        if map.len() >= Self::MAX_ENTRIES && !map.contains_key(&key) {
            map.clear();
        }
        map.insert(
            key,
            Entry {
                state: state.clone(),
                body: body.clone(),
            },
        );
        body
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<ViewKey, Entry>> {
        match self.entries.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use std::cell::Cell;

    fn key(base: &str) -> ViewKey {
        ViewKey {
            resource: "outputs",
            item: None,
            tier: Tier::Admin,
            base: base.into(),
        }
    }

    fn state() -> Snapshot {
        let profile = vp2730_model::Profile::builtin().expect("profile");
        Arc::new(crate::state::State::defaults(&profile))
    }

    #[test]
    fn renders_once_per_snapshot() {
        let cache = RenderCache::default();
        let renders = Cell::new(0);
        let render = || {
            renders.set(renders.get() + 1);
            json!({"n": renders.get()})
        };
        let s1 = state();
        assert_eq!(cache.body(key("a"), &s1, render), r#"{"n":1}"#);
        assert_eq!(cache.body(key("a"), &s1, render), r#"{"n":1}"#);
        // Another view of the same snapshot renders on its own.
        assert_eq!(cache.body(key("b"), &s1, render), r#"{"n":2}"#);
        // An equal but newly published snapshot is a new state: rendered again.
        let s2 = Arc::new((*s1).clone());
        assert_eq!(cache.body(key("a"), &s2, render), r#"{"n":3}"#);
        assert_eq!(renders.get(), 3);
    }

    #[test]
    fn stays_bounded() {
        let cache = RenderCache::default();
        let s = state();
        for i in 0..(RenderCache::MAX_ENTRIES * 3) {
            cache.body(key(&format!("h{i}")), &s, || json!({}));
        }
        assert!(cache.lock().len() <= RenderCache::MAX_ENTRIES);
    }
}

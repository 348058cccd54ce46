//! The route table: every path of the API, its method, the tier it needs and
//! the handler that serves it. Read this file to find where a request goes.

use crate::api::Handler;
use crate::auth::Tier::{self, Admin, Public, Room};
use crate::resources::collection::{get, get_one, list, patch_bulk, patch_one, patch_single};
use crate::resources::{
    audio_ports::{AudioInputs, AudioOutputs},
    auth_tokens, golive, group_resources, maintenance,
    multiviews::Multiviews,
    scaler_resolutions, sim_control, snapshots, static_files, system_info,
    system_osd::SystemOsd,
    system_participants as participants,
    system_room::SystemRoom,
    video_configs::VideoConfigs,
    video_connections::VideoConnections,
    video_inputs::VideoInputs,
    video_outputs::VideoOutputs,
    vp_profiles,
};
use hyper::Method;

/// Wraps an `async fn(Arc<App>, Req) -> Result<Reply, ApiError>` as a [`Handler`].
macro_rules! h {
    ($f:expr) => {
        |app, req| Box::pin($f(app, req))
    };
}

/// The API, at a glance. `{id}` matches one path segment. Where two
/// patterns match a path (`vpProfiles/now` and `vpProfiles/{id}`), the
/// first listed wins.
#[rustfmt::skip]
fn table() -> Vec<Route> {
    use Method as M;
    vec![
        r(M::GET,    "/api/v2.0/ping",                           Public, h!(system_info::ping)),
        r(M::POST,   "/api/v2.0/auth/tokens",                    Public, h!(auth_tokens::create)),
        r(M::DELETE, "/api/v2.0/auth/tokens",                    Admin,  h!(auth_tokens::revoke)),
        // System
        r(M::GET,    "/api/v2.0/system/resources",               Room,   h!(group_resources::system)),
        r(M::GET,    "/api/v2.0/system/info",                    Room,   h!(system_info::get)),
        r(M::GET,    "/api/v2.0/system/osd",                     Admin,  h!(get_one::<SystemOsd>)),
        r(M::PATCH,  "/api/v2.0/system/osd",                     Admin,  h!(patch_single::<SystemOsd>)),
        r(M::GET,    "/api/v2.0/system/room",                    Room,   h!(get_one::<SystemRoom>)),
        r(M::PATCH,  "/api/v2.0/system/room",                    Admin,  h!(patch_single::<SystemRoom>)),
        r(M::GET,    "/api/v2.0/system/sessionConfigs",          Admin,  h!(maintenance::session_configs)),
        r(M::GET,    "/api/v2.0/system/participants",            Room,   h!(participants::list)),
        r(M::POST,   "/api/v2.0/system/participants",            Room,   h!(participants::join)),
        r(M::GET,    "/api/v2.0/system/participants/share",      Room,   h!(participants::share)),
        r(M::GET,    "/api/v2.0/system/participants/{id}",       Room,   h!(participants::get)),
        r(M::DELETE, "/api/v2.0/system/participants/{id}",       Admin,  h!(participants::leave)),
        // Maintenance (event payload, readable over REST)
        r(M::GET,    "/api/v2.0/maintenance/status",             Admin,  h!(maintenance::get)),
        // Audio
        r(M::GET,    "/api/v2.0/audio/resources",                Admin,  h!(group_resources::audio)),
        r(M::GET,    "/api/v2.0/audio/inputs",                   Admin,  h!(list::<AudioInputs>)),
        r(M::PATCH,  "/api/v2.0/audio/inputs",                   Admin,  h!(patch_bulk::<AudioInputs>)),
        r(M::GET,    "/api/v2.0/audio/inputs/{id}",              Admin,  h!(get::<AudioInputs>)),
        r(M::PATCH,  "/api/v2.0/audio/inputs/{id}",              Admin,  h!(patch_one::<AudioInputs>)),
        r(M::GET,    "/api/v2.0/audio/outputs",                  Admin,  h!(list::<AudioOutputs>)),
        r(M::PATCH,  "/api/v2.0/audio/outputs",                  Admin,  h!(patch_bulk::<AudioOutputs>)),
        r(M::GET,    "/api/v2.0/audio/outputs/{id}",             Admin,  h!(get::<AudioOutputs>)),
        r(M::PATCH,  "/api/v2.0/audio/outputs/{id}",             Admin,  h!(patch_one::<AudioOutputs>)),
        // Video
        r(M::GET,    "/api/v2.0/video/resources",                Admin,  h!(group_resources::video)),
        r(M::GET,    "/api/v2.0/video/configs",                  Admin,  h!(get_one::<VideoConfigs>)),
        r(M::PATCH,  "/api/v2.0/video/configs",                  Admin,  h!(patch_single::<VideoConfigs>)),
        r(M::GET,    "/api/v2.0/video/config",                   Admin,  h!(get_one::<VideoConfigs>)),
        r(M::GET,    "/api/v2.0/video/scalerResolutions",        Admin,  h!(scaler_resolutions::list)),
        r(M::GET,    "/api/v2.0/video/vpProfiles",               Admin,  h!(vp_profiles::list)),
        r(M::GET,    "/api/v2.0/video/vpProfiles/now",           Admin,  h!(vp_profiles::get_now)),
        r(M::PATCH,  "/api/v2.0/video/vpProfiles/now",           Admin,  h!(vp_profiles::set_now)),
        r(M::GET,    "/api/v2.0/video/vpProfiles/{id}",          Admin,  h!(vp_profiles::get)),
        r(M::GET,    "/api/v2.0/video/multiviews",               Admin,  h!(list::<Multiviews>)),
        r(M::PATCH,  "/api/v2.0/video/multiviews",               Admin,  h!(patch_bulk::<Multiviews>)),
        r(M::GET,    "/api/v2.0/video/multiviews/{id}",          Admin,  h!(get::<Multiviews>)),
        r(M::PATCH,  "/api/v2.0/video/multiviews/{id}",          Admin,  h!(patch_one::<Multiviews>)),
        r(M::GET,    "/api/v2.0/video/inputs",                   Admin,  h!(list::<VideoInputs>)),
        r(M::PATCH,  "/api/v2.0/video/inputs",                   Admin,  h!(patch_bulk::<VideoInputs>)),
        r(M::GET,    "/api/v2.0/video/inputs/{id}",              Admin,  h!(get::<VideoInputs>)),
        r(M::PATCH,  "/api/v2.0/video/inputs/{id}",              Admin,  h!(patch_one::<VideoInputs>)),
        r(M::GET,    "/api/v2.0/video/outputs",                  Admin,  h!(list::<VideoOutputs>)),
        r(M::PATCH,  "/api/v2.0/video/outputs",                  Admin,  h!(patch_bulk::<VideoOutputs>)),
        r(M::GET,    "/api/v2.0/video/outputs/{id}",             Admin,  h!(get::<VideoOutputs>)),
        r(M::PATCH,  "/api/v2.0/video/outputs/{id}",             Admin,  h!(patch_one::<VideoOutputs>)),
        r(M::GET,    "/api/v2.0/video/connections",              Admin,  h!(list::<VideoConnections>)),
        r(M::PATCH,  "/api/v2.0/video/connections",              Admin,  h!(patch_bulk::<VideoConnections>)),
        r(M::GET,    "/api/v2.0/video/connections/{id}",         Admin,  h!(get::<VideoConnections>)),
        r(M::PATCH,  "/api/v2.0/video/connections/{id}",         Admin,  h!(patch_one::<VideoConnections>)),
        r(M::GET,    "/api/v2.0/video/golive",                   Admin,  h!(golive::list)),
        r(M::GET,    "/api/v2.0/video/golive/{id}",              Admin,  h!(golive::get)),
        r(M::POST,   "/api/v2.0/video/golive/{id}",              Admin,  h!(golive::start)),
        r(M::DELETE, "/api/v2.0/video/golive/{id}",              Admin,  h!(golive::stop)),
        r(M::POST,   "/api/v2.0/video/snapshots",                Admin,  h!(snapshots::take_many)),
        r(M::GET,    "/api/v2.0/video/snapshots/state",          Admin,  h!(snapshots::state)),
        r(M::POST,   "/api/v2.0/video/snapshots/{id}",           Admin,  h!(snapshots::take_one)),
        // Files referenced by responses
        r(M::GET,    "/static/picture/default_icon.jpg",         Public, h!(static_files::icon)),
        r(M::GET,    "/static/picture/qrcode.svg",               Public, h!(static_files::qrcode)),
        r(M::GET,    "/static/thumbnails/{id}",                  Admin,  h!(static_files::thumbnail)),
        r(M::GET,    "/join",                                    Public, h!(static_files::join_page)),
    ]
}

/// Routes that act on the simulated board (only with `--sim`).
#[rustfmt::skip]
fn sim_table() -> Vec<Route> {
    use Method as M;
    vec![
        r(M::POST,   "/sim/inputs/{id}",                         Admin,  h!(sim_control::input)),
        r(M::POST,   "/sim/outputs/{id}",                        Admin,  h!(sim_control::output)),
        r(M::POST,   "/sim/hardware",                            Admin,  h!(sim_control::hardware)),
    ]
}

/// One entry of the table.
pub struct Route {
    pub method: Method,
    pub pattern: &'static str,
    /// Least tier allowed.
    pub tier: Tier,
    pub handler: Handler,
    segments: Vec<&'static str>,
}

fn r(method: Method, pattern: &'static str, tier: Tier, handler: Handler) -> Route {
    Route {
        method,
        pattern,
        tier,
        handler,
        segments: pattern.split('/').skip(1).collect(),
    }
}

/// Outcome of looking a request up.
pub enum Lookup<'a> {
    /// The route and its path parameters.
    Found(&'a Route, Vec<String>),
    /// 404 / 40400.
    NotFound,
    /// 405 / 40500, with the methods the path does take.
    WrongMethod(Vec<Method>),
    /// 501 / 50100: `/api/<version>/...` with another version.
    BadVersion,
}

/// The route table, ready to match.
pub struct Router {
    routes: Vec<Route>,
}

impl Default for Router {
    /// The device's table (no `/sim/...` routes).
    fn default() -> Self {
        Router::new(false)
    }
}

impl Router {
    /// The table, plus the `/sim/...` routes when `sim` is set.
    pub fn new(sim: bool) -> Self {
        let mut routes = table();
        if sim {
            routes.extend(sim_table());
        }
        Router { routes }
    }

    /// Every route, in table order.
    pub fn routes(&self) -> &[Route] {
        &self.routes
    }

    /// Finds the route for `method` and `path`.
    pub fn lookup(&self, method: &Method, path: &str) -> Lookup<'_> {
        let path = if path.len() > 1 {
            path.strip_suffix('/').unwrap_or(path)
        } else {
            path
        };
        let segs: Vec<&str> = path.split('/').skip(1).collect();
        if segs.first() == Some(&"api") {
            if let Some(v) = segs.get(1) {
                if *v != "v2.0" && looks_like_version(v) {
                    return Lookup::BadVersion;
                }
            }
        }
        let mut allowed = Vec::new();
        for route in &self.routes {
            let Some(params) = matches(&route.segments, &segs) else {
                continue;
            };
            if route.method == method {
                return Lookup::Found(route, params);
            }
            if !allowed.contains(&route.method) {
                allowed.push(route.method.clone());
            }
        }
        if allowed.is_empty() {
            Lookup::NotFound
        } else {
            Lookup::WrongMethod(allowed)
        }
    }
}

fn matches(pattern: &[&str], path: &[&str]) -> Option<Vec<String>> {
    if pattern.len() != path.len() {
        return None;
    }
    let mut params = Vec::new();
    for (p, s) in pattern.iter().zip(path) {
        if *p == "{id}" {
            if s.is_empty() {
                return None;
            }
            params.push((*s).to_string());
        } else if p != s {
            return None;
        }
    }
    Some(params)
}

/// `v1`, `v2.1`, `v10.0.3`...
fn looks_like_version(s: &str) -> bool {
    s.strip_prefix('v').is_some_and(|r| {
        !r.is_empty()
            && r.split('.')
                .all(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literal_routes_win_over_parameters() {
        let r = Router::default();
        match r.lookup(&Method::GET, "/api/v2.0/video/vpProfiles/now") {
            Lookup::Found(route, params) => {
                assert_eq!(route.pattern, "/api/v2.0/video/vpProfiles/now");
                assert!(params.is_empty());
            }
            _ => panic!("not found"),
        }
        match r.lookup(&Method::GET, "/api/v2.0/video/vpProfiles/2/") {
            Lookup::Found(_, params) => assert_eq!(params, vec!["2".to_string()]),
            _ => panic!("not found"),
        }
    }

    #[test]
    fn wrong_method_unknown_path_and_version() {
        let r = Router::default();
        assert!(
            matches!(r.lookup(&Method::DELETE, "/api/v2.0/system/osd"), Lookup::WrongMethod(m) if m == vec![Method::GET, Method::PATCH])
        );
        assert!(matches!(
            r.lookup(&Method::GET, "/api/v2.0/nope"),
            Lookup::NotFound
        ));
        assert!(matches!(
            r.lookup(&Method::GET, "/api/v1.0/system/info"),
            Lookup::BadVersion
        ));
        assert!(matches!(
            r.lookup(&Method::GET, "/api/v3/anything"),
            Lookup::BadVersion
        ));
        assert!(matches!(
            r.lookup(&Method::GET, "/api/other/x"),
            Lookup::NotFound
        ));
        assert!(matches!(
            r.lookup(&Method::GET, "/api/v2.0/video/inputs//"),
            Lookup::NotFound
        ));
    }

    #[test]
    fn every_pattern_method_pair_is_unique() {
        let r = Router::default();
        let mut seen = std::collections::HashSet::new();
        for route in r.routes() {
            assert!(
                seen.insert((route.method.clone(), route.pattern)),
                "{}",
                route.pattern
            );
        }
    }
}

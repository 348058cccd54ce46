//! `POST /api/v2.0/video/snapshots[/<id>]` — guide 0525-01/02 — and
//! `GET /api/v2.0/video/snapshots/state` (payload of the
//! `video/snapshots/state` event).
//!
//! A snapshot grabs a frame of an output from the hardware (`capture`) and
//! stores it as a BMP file in storage `<storage>` (on the device, the USB
//! stick) under directory `<path>`. Progress is state: idle → capturing →
//! saving → done (or failed), pushed as events; the POST answers 204 once the
//! file is on the storage and synced.

use super::View;
use crate::api::{Reply, Req};
use crate::app::App;
use crate::writer::Plan;
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use vp2730_hal::Capture;
use vp2730_model::{ApiError, Field, Obj, Profile};

/// Where a snapshot of an output stands.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct SnapshotJob {
    pub status: JobStatus,
    pub storage: String,
    /// Path of the last file written, inside the storage.
    pub file: String,
}

/// Phases of a snapshot.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum JobStatus {
    #[default]
    Idle,
    Capturing,
    Saving,
    Done,
    Failed,
}

impl JobStatus {
    fn name(self) -> &'static str {
        match self {
            JobStatus::Idle => "idle",
            JobStatus::Capturing => "capturing",
            JobStatus::Saving => "saving",
            JobStatus::Done => "done",
            JobStatus::Failed => "failed",
        }
    }
    fn progress(self) -> u8 {
        match self {
            JobStatus::Idle | JobStatus::Capturing => 0,
            JobStatus::Saving => 50,
            JobStatus::Done | JobStatus::Failed => 100,
        }
    }
    fn busy(self) -> bool {
        matches!(self, JobStatus::Capturing | JobStatus::Saving)
    }
}

/// The state list.
pub fn render_state(v: &View<'_>) -> Value {
    let list: Vec<Value> = v
        .profile
        .video_outputs
        .iter()
        .zip(&v.state.snapshots)
        .map(|(o, j)| {
            json!({
                "id": o.id,
                "status": j.status.name(),
                "progress": j.status.progress(),
                "storage": j.storage,
                "path": j.file,
            })
        })
        .collect();
    json!({ "snapshots": list })
}

/// GET /video/snapshots/state
pub async fn state(app: Arc<App>, req: Req) -> Result<Reply, ApiError> {
    let s = app.snapshot();
    Ok(Reply::Json(render_state(&app.view(&s, &req))))
}

/// One validated request.
struct Job {
    output: usize,
    storage: String,
    dir: String,
}

/// Validates a directory path inside a storage: absolute, `/`-separated
/// names of letters, digits, `.`, `_`, `-` and spaces, no `.`/`..`.
fn storage_dir(f: &Field<'_>) -> Result<String, ApiError> {
    let p = f.str()?;
    let ok = p.starts_with('/')
        && p.len() <= 200
        && p.split('/').skip(1).all(|seg| {
            seg.is_empty()
                || (seg != "."
                    && seg != ".."
                    && seg
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || "._- ".contains(c)))
        });
    if ok {
        Ok(p.to_string())
    } else {
        Err(f.unsupported())
    }
}

fn parse_job(p: &Profile, mut o: Obj<'_>, url_output: Option<usize>) -> Result<Job, ApiError> {
    let outputs: Vec<&String> = p.video_outputs.iter().map(|o| &o.id).collect();
    let output = match (o.field("id"), url_output) {
        (Some(f), Some(i)) => {
            if f.str()? != outputs[i].as_str() {
                return Err(ApiError::disallowed(f.path()));
            }
            i
        }
        (Some(f), None) => {
            let id = f.str()?;
            outputs
                .iter()
                .position(|x| x.as_str() == id)
                .ok_or_else(|| ApiError::instance(id))?
        }
        (None, Some(i)) => i,
        (None, None) => return Err(ApiError::invalid(o.path_of("id"), &Value::Null)),
    };
    let storages: Vec<&String> = p.storages.iter().map(|s| &s.id).collect();
    let storage = o.required("storage")?.str_in(&storages)?.to_string();
    let dir = match o.field("path") {
        Some(f) => storage_dir(&f)?,
        None => "/".to_string(),
    };
    o.finish()?;
    Ok(Job {
        output,
        storage,
        dir,
    })
}

/// POST /video/snapshots — `{"snapshots": [{"id", "storage", "path"}, ...]}`
pub async fn take_many(app: Arc<App>, req: Req) -> Result<Reply, ApiError> {
    let body = req.json()?;
    let mut root = Obj::new(&body, "")?;
    let list = root.required("snapshots")?;
    let mut jobs = Vec::new();
    for entry in list.array()? {
        jobs.push(parse_job(&app.profile, entry.object()?, None)?);
    }
    root.finish()?;
    run(app, jobs).await
}

/// POST /video/snapshots/<id> — `{"id", "storage", "path"}`
pub async fn take_one(app: Arc<App>, req: Req) -> Result<Reply, ApiError> {
    let i = app
        .profile
        .video_outputs
        .iter()
        .position(|o| o.id == req.param(0))
        .ok_or_else(|| ApiError::instance(req.param(0)))?;
    let body = req.json()?;
    let job = parse_job(&app.profile, Obj::new(&body, "")?, Some(i))?;
    run(app, vec![job]).await
}

async fn set_status(
    app: &App,
    jobs: &[(usize, String)],
    status: JobStatus,
    file: Option<String>,
) -> Result<(), ApiError> {
    let jobs = jobs.to_vec();
    app.writer
        .write(move |state, _p| {
            let mut plan = Plan::new(state);
            for (i, storage) in &jobs {
                let j = &mut plan.next.snapshots[*i];
                j.status = status;
                j.storage = storage.clone();
                if let Some(f) = &file {
                    j.file = f.clone();
                }
            }
            Ok(plan)
        })
        .await
}

async fn run(app: Arc<App>, jobs: Vec<Job>) -> Result<Reply, ApiError> {
    if jobs.is_empty() {
        return Err(ApiError::NoContent);
    }
    let mut seen = std::collections::HashSet::new();
    if !jobs.iter().all(|j| seen.insert(j.output)) {
        return Err(ApiError::invalid(
            "snapshots",
            &json!("an output is listed twice"),
        ));
    }
    // Reserve the outputs; refuse if one is already being captured.
    let reserve: Vec<(usize, String)> =
        jobs.iter().map(|j| (j.output, j.storage.clone())).collect();
    let r2 = reserve.clone();
    app.writer
        .write(move |state, _p| {
            if r2.iter().any(|(i, _)| state.snapshots[*i].status.busy()) {
                return Err(ApiError::Overloaded);
            }
            let mut plan = Plan::new(state);
            for (i, storage) in &r2 {
                plan.next.snapshots[*i] = SnapshotJob {
                    status: JobStatus::Capturing,
                    storage: storage.clone(),
                    file: String::new(),
                };
            }
            Ok(plan)
        })
        .await?;
    let mut result = Ok(Reply::NoContent);
    for job in &jobs {
        let one = [(job.output, job.storage.clone())];
        match capture_and_store(&app, job).await {
            Ok(file) => set_status(&app, &one, JobStatus::Done, Some(file)).await?,
            Err(e) => {
                set_status(&app, &one, JobStatus::Failed, None).await?;
                result = Err(e);
            }
        }
    }
    result
}

async fn capture_and_store(app: &Arc<App>, job: &Job) -> Result<String, ApiError> {
    let p = &app.profile;
    let port = p.video_outputs[job.output].port;
    let image = tokio::time::timeout(
        app.config.hardware.timeout(),
        app.hal.video.capture(Capture::Output(port)),
    )
    .await
    .map_err(|_| ApiError::NotReady)?
    .map_err(|e| {
        tracing::warn!(error = %e, "snapshot capture failed");
        ApiError::NotReady
    })?;
    set_status(
        app,
        &[(job.output, job.storage.clone())],
        JobStatus::Saving,
        None,
    )
    .await?;
    let storage = p
        .storages
        .iter()
        .find(|s| s.id == job.storage)
        .ok_or(ApiError::System)?;
    let root = app.storage_root(storage);
    let millis = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis())
        .unwrap_or(0);
    let name = format!("Snapshot_{}_{millis}.bmp", p.video_outputs[job.output].id);
    let rel = format!("{}/{name}", job.dir.trim_end_matches('/'));
    let dir = root.join(job.dir.trim_start_matches('/'));
    let file = dir.join(&name);
    tokio::task::spawn_blocking(move || write_synced(&root, &dir, &file, &image))
        .await
        .map_err(|_| ApiError::System)?
        .map_err(|e| {
            tracing::warn!(error = %e, "snapshot could not be stored");
            ApiError::NotReady
        })?;
    Ok(rel)
}

/// Writes `bytes` to `file` (creating `dir` under an existing `root`) and
/// syncs file and directory.
fn write_synced(root: &Path, dir: &PathBuf, file: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    if !root.is_dir() {
        return Err(std::io::Error::new(
            std::io::ErrorKind::NotFound,
            "storage not mounted",
        ));
    }
    std::fs::create_dir_all(dir)?;
    let mut f = std::fs::File::create(file)?;
    f.write_all(bytes)?;
    f.sync_all()?;
    std::fs::File::open(dir)?.sync_all()
}

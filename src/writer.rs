//! The single writer: the only code that changes the device.
//!
//! Every change — a REST write, a participant joining, a hot-plug reported by
//! the hardware — is a [`Change`]: a function from the current state to a
//! [`Plan`]. The writer runs changes one at a time and, for each plan:
//!
//! 1. applies its hardware commands (within the hardware timeout; if the
//!    hardware refuses one, the commands already applied are undone);
//! 2. commits its settings rows to SQLite in one durable transaction;
//! 3. publishes the new state as the snapshot GETs read;
//! 4. emits one event per topic whose payload changed.
//!
//! Only then is the request acknowledged. Running changes one by one gives
//! commit-ordered events, all-or-nothing bulk updates and durable
//! acknowledgements without any locking in the handlers.

use crate::events::{Event, Topic};
use crate::reconcile;
use crate::state::{Snapshot, State};
use serde::Serialize;
use std::collections::VecDeque;
use std::sync::{Arc, RwLock};
use std::time::Duration;
use tokio::sync::{broadcast, mpsc, oneshot};
use tokio::time::{timeout_at, Instant};
use vp2730_hal::{Command, Hal, HalError, HwEvent};
use vp2730_model::{ApiError, Profile};
use vp2730_store::Store;

/// What a change wants done.
pub struct Plan {
    /// The state after the change.
    pub next: State,
    hal: Vec<Command>,
    undo: Vec<Command>,
    persist: Vec<(String, String)>,
}

impl Plan {
    /// A plan that starts from `state` and changes nothing yet.
    pub fn new(state: &State) -> Self {
        Plan {
            next: state.clone(),
            hal: Vec::new(),
            undo: Vec::new(),
            persist: Vec::new(),
        }
    }

    /// Hardware commands to apply, and those that restore the previous
    /// hardware state if a later step fails.
    pub fn hardware(&mut self, apply: Vec<Command>, undo: Vec<Command>) {
        self.hal.extend(apply);
        // Undo in reverse order of application.
        let mut undo = undo;
        undo.extend(std::mem::take(&mut self.undo));
        self.undo = undo;
    }

    /// A settings row to write (the item's JSON).
    pub fn persist<T: Serialize>(&mut self, key: String, item: &T) {
        // Serialising plain data structs cannot fail; keep the row out
        // rather than panic if it ever did.
        match serde_json::to_string(item) {
            Ok(json) => self.persist.push((key, json)),
            Err(e) => tracing::error!(%key, error = %e, "cannot serialise setting"),
        }
    }

    /// Whether the plan changes nothing at all.
    pub fn is_noop(&self, current: &State) -> bool {
        self.hal.is_empty() && self.persist.is_empty() && self.next == *current
    }
}

/// A change: computes a plan from the current state and the device profile.
pub type Change = Box<dyn FnOnce(&State, &Profile) -> Result<Plan, ApiError> + Send>;

/// Where a change's outcome goes.
type Reply = oneshot::Sender<Result<(), ApiError>>;

enum Msg {
    Write(Change, Reply),
    /// Finish, checkpoint and close the store, then acknowledge.
    Shutdown(oneshot::Sender<()>),
}

/// What readers share with the writer.
pub struct Shared {
    snapshot: RwLock<Snapshot>,
    events: broadcast::Sender<Event>,
}

impl Shared {
    /// The latest committed state.
    pub fn snapshot(&self) -> Snapshot {
        match self.snapshot.read() {
            Ok(s) => s.clone(),
            Err(p) => p.into_inner().clone(),
        }
    }

    /// Subscribes to committed events.
    pub fn subscribe(&self) -> broadcast::Receiver<Event> {
        self.events.subscribe()
    }

    fn publish(&self, state: Snapshot) {
        match self.snapshot.write() {
            Ok(mut s) => *s = state,
            Err(p) => *p.into_inner() = state,
        }
    }
}

/// Handle used by request handlers to submit changes.
#[derive(Clone)]
pub struct WriterHandle {
    tx: mpsc::Sender<Msg>,
}

impl WriterHandle {
    /// Submits a change and waits until it is applied, durable and published
    /// (or refused). If the caller goes away the change still completes or
    /// fails as a whole.
    pub async fn write<F>(&self, change: F) -> Result<(), ApiError>
    where
        F: FnOnce(&State, &Profile) -> Result<Plan, ApiError> + Send + 'static,
    {
        let (tx, rx) = oneshot::channel();
        self.tx
            .try_send(Msg::Write(Box::new(change), tx))
            .map_err(|e| match e {
                mpsc::error::TrySendError::Full(_) => ApiError::Overloaded,
                mpsc::error::TrySendError::Closed(_) => ApiError::NotReady,
            })?;
        rx.await.map_err(|_| ApiError::System)?
    }

    /// Stops the writer after the changes already queued, with the store
    /// checkpointed and closed. Later writes fail with 503.
    pub async fn shutdown(&self) {
        let (tx, rx) = oneshot::channel();
        if self.tx.send(Msg::Shutdown(tx)).await.is_ok() {
            let _ = rx.await;
        }
    }
}

/// The writer task's state.
pub struct Writer {
    state: State,
    profile: Arc<Profile>,
    hal: Hal,
    store: Store,
    shared: Arc<Shared>,
    seq: u64,
    hw_timeout: Duration,
    /// What each topic of [`Topic::ALL`] renders to for `state` (as an
    /// administrator), so that a commit renders only the new state.
    rendered: Vec<Option<serde_json::Value>>,
}

/// Every topic of [`Topic::ALL`], rendered for `state` as an administrator.
fn render_topics(profile: &Profile, state: &State) -> Vec<Option<serde_json::Value>> {
    Topic::ALL
        .into_iter()
        .map(|t| crate::resources::render_topic(t, profile, state))
        .collect()
}

/// Most changes waiting for the writer before new ones are refused (503).
const QUEUE: usize = 1024;

/// Most queued changes made durable by one SQLite commit (group commit).
const MAX_BATCH: usize = 64;

/// A change whose hardware commands are applied and whose rows wait for the
/// batch's commit.
struct Staged {
    plan: Plan,
    noop: bool,
    reply: Reply,
}

/// How applying a plan's hardware commands failed.
enum HwFailure {
    /// The hardware refused a command; the plan's commands were undone.
    Refused,
    /// The hardware failed or did not answer: it is lost until it answers.
    Lost(String),
}

impl Writer {
    /// Creates the writer around an initial state (already loaded and
    /// applied to the hardware by [`reconcile::boot`]).
    pub fn new(
        state: State,
        profile: Arc<Profile>,
        hal: Hal,
        store: Store,
        hw_timeout: Duration,
    ) -> (Self, Arc<Shared>) {
        let (events, _) = broadcast::channel(4096);
        let shared = Arc::new(Shared {
            snapshot: RwLock::new(Arc::new(state.clone())),
            events,
        });
        let rendered = render_topics(&profile, &state);
        (
            Writer {
                rendered,
                state,
                profile,
                hal,
                store,
                shared: shared.clone(),
                seq: 0,
                hw_timeout,
            },
            shared,
        )
    }

    /// Starts the writer task.
    pub fn spawn(self) -> WriterHandle {
        let (tx, rx) = mpsc::channel(QUEUE);
        tokio::spawn(self.run(rx));
        WriterHandle { tx }
    }

    async fn run(mut self, mut rx: mpsc::Receiver<Msg>) {
        let mut hw_events = self.hal.video.subscribe();
        let mut probe = tokio::time::interval(Duration::from_secs(1));
        probe.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                msg = rx.recv() => match msg {
                    Some(Msg::Write(change, reply)) => {
                        // Group commit: whatever else is already queued joins
                        // this change's SQLite transaction.
                        let mut batch = VecDeque::from([(change, reply)]);
                        let mut shutdown = None;
                        while batch.len() < MAX_BATCH {
                            match rx.try_recv() {
                                Ok(Msg::Write(c, r)) => batch.push_back((c, r)),
                                Ok(Msg::Shutdown(done)) => {
                                    shutdown = Some(done);
                                    break;
                                }
                                Err(_) => break,
                            }
                        }
                        self.run_batch(batch).await;
                        if let Some(done) = shutdown {
                            self.close(done).await;
                            return;
                        }
                    }
                    Some(Msg::Shutdown(done)) => {
                        self.close(done).await;
                        return;
                    }
                    None => break,
                },
                ev = hw_events.recv() => match ev {
                    Ok(ev) => self.on_hardware(ev).await,
                    Err(broadcast::error::RecvError::Lagged(n)) => {
                        tracing::warn!(missed = n, "hardware events lost; re-reading status");
                        self.refresh_status().await;
                    }
                    Err(broadcast::error::RecvError::Closed) => {
                        hw_events = self.hal.video.subscribe();
                    }
                },
                _ = probe.tick(), if !self.state.maintenance.hardware_ok => {
                    self.try_recover().await;
                }
            }
        }
        self.store.close().await;
    }

    async fn close(&mut self, done: oneshot::Sender<()>) {
        self.store.close().await;
        tracing::info!("settings store closed");
        let _ = done.send(());
    }

    /// Runs queued changes in order, each planned on top of the ones before
    /// it, and makes all that the hardware accepted durable in one SQLite
    /// transaction; then publishes each in turn (its own snapshot and
    /// events, in queue order) and answers it. Concurrent writers thereby
    /// share one fsync instead of queueing for one each, and every answer
    /// still waits for durability.
    async fn run_batch(&mut self, mut pending: VecDeque<(Change, Reply)>) {
        while !pending.is_empty() {
            let mut staged: Vec<Staged> = Vec::new();
            let mut lost = None;
            while let Some((change, reply)) = pending.pop_front() {
                let base = staged.last().map_or(&self.state, |s| &s.plan.next);
                let plan = match change(base, &self.profile) {
                    Ok(plan) => plan,
                    Err(e) => {
                        let _ = reply.send(Err(e));
                        continue;
                    }
                };
                let noop = plan.is_noop(base);
                match self.apply_hardware(&plan).await {
                    Ok(()) => staged.push(Staged { plan, noop, reply }),
                    Err(HwFailure::Refused) => {
                        let _ = reply.send(Err(ApiError::System));
                    }
                    Err(HwFailure::Lost(why)) => {
                        lost = Some((why, reply));
                        break;
                    }
                }
            }
            // What the hardware took before it was lost is committed; the
            // changes after it are planned again, on the committed state.
            self.commit_staged(staged).await;
            if let Some((why, reply)) = lost {
                self.hardware_lost(why);
                let _ = reply.send(Err(ApiError::NotReady));
            }
        }
    }

    /// One change, as a batch of one; for the writer's own changes (hardware
    /// notifications).
    async fn execute(&mut self, plan: Plan) -> Result<(), ApiError> {
        let (tx, rx) = oneshot::channel();
        let change: Change = Box::new(move |_, _| Ok(plan));
        self.run_batch(VecDeque::from([(change, tx)])).await;
        rx.await.map_err(|_| ApiError::System)?
    }

    /// Applies a plan's hardware commands within the hardware timeout; if the
    /// hardware refuses one, undoes those already applied.
    async fn apply_hardware(&self, plan: &Plan) -> Result<(), HwFailure> {
        let deadline = Instant::now() + self.hw_timeout;
        for cmd in &plan.hal {
            match timeout_at(deadline, self.hal.apply(cmd)).await {
                Ok(Ok(())) => {}
                Ok(Err(HalError::Rejected(why))) => {
                    tracing::error!(?cmd, %why, "hardware refused a command; undoing");
                    self.undo(&plan.undo, deadline).await;
                    return Err(HwFailure::Refused);
                }
                Ok(Err(e)) => {
                    tracing::error!(?cmd, error = %e, "hardware failed");
                    return Err(HwFailure::Lost(format!("hardware failed: {e}")));
                }
                Err(_) => {
                    tracing::error!(?cmd, timeout = ?self.hw_timeout, "hardware did not answer");
                    return Err(HwFailure::Lost("hardware did not answer".into()));
                }
            }
        }
        Ok(())
    }

    /// Commits the rows of `staged` in one durable transaction, then
    /// publishes and answers each change; if the commit fails, undoes their
    /// hardware commands (newest first) and refuses them all.
    async fn commit_staged(&mut self, staged: Vec<Staged>) {
        if staged.is_empty() {
            return;
        }
        let rows: Vec<(String, String)> = staged
            .iter()
            .flat_map(|s| s.plan.persist.iter().cloned())
            .collect();
        if let Err(e) = self.store.commit(&rows).await {
            tracing::error!(error = %e, changes = staged.len(),
                "settings could not be made durable; changes refused");
            let deadline = Instant::now() + self.hw_timeout;
            for s in staged.iter().rev() {
                self.undo(&s.plan.undo, deadline).await;
            }
            if self.state.maintenance.storage_ok {
                let mut next = self.state.clone();
                next.maintenance.storage_ok = false;
                next.maintenance.note(format!("storage write failed: {e}"));
                self.commit_state(next);
            }
            for s in staged {
                let _ = s.reply.send(Err(ApiError::NotReady));
            }
            return;
        }
        if !self.state.maintenance.storage_ok && !rows.is_empty() {
            tracing::info!("settings storage writable again");
            let mut next = self.state.clone();
            next.maintenance.storage_ok = true;
            next.maintenance.note("storage writable again".into());
            self.commit_state(next);
        }
        for s in staged {
            if !s.noop {
                let mut next = s.plan.next;
                // Plans never change the maintenance record (the writer's
                // own); keep the current one, which may be newer than the
                // state the plan started from.
                next.maintenance = self.state.maintenance.clone();
                self.commit_state(next);
            }
            let _ = s.reply.send(Ok(()));
        }
    }

    async fn undo(&self, undo: &[Command], deadline: Instant) {
        for cmd in undo {
            if let Err(e) = timeout_at(deadline, self.hal.apply(cmd)).await {
                tracing::error!(?cmd, error = %e, "undo did not complete");
                return;
            }
        }
    }

    /// Makes `next` the current state, publishes it and emits an event for
    /// each topic whose payload it changed. Topics are found by comparing
    /// what the old and new states render to, so an event is emitted exactly
    /// when a client's GET of that path would now answer differently.
    fn commit_state(&mut self, next: State) {
        let rendered = render_topics(&self.profile, &next);
        let topics: Vec<Topic> = Topic::ALL
            .into_iter()
            .zip(rendered.iter().zip(&self.rendered))
            .filter(|(_, (new, old))| new != old)
            .map(|(t, _)| t)
            .collect();
        self.rendered = rendered;
        self.state = next;
        let snap: Snapshot = Arc::new(self.state.clone());
        self.shared.publish(snap.clone());
        for topic in topics {
            self.seq += 1;
            // No receiver is not an error: nobody is listening.
            let _ = self.shared.events.send(Event {
                seq: self.seq,
                topic,
                state: snap.clone(),
            });
        }
    }

    fn hardware_lost(&mut self, why: String) {
        if self.state.maintenance.hardware_ok {
            let mut next = self.state.clone();
            next.maintenance.hardware_ok = false;
            next.maintenance.note(why);
            self.commit_state(next);
        }
    }

    /// While the hardware is lost: probe it; once it answers, put the stored
    /// state back on it and say so.
    async fn try_recover(&mut self) {
        let deadline = Instant::now() + self.hw_timeout;
        if !matches!(
            timeout_at(deadline, self.hal.video.status()).await,
            Ok(Ok(_))
        ) {
            return;
        }
        match reconcile::apply_all(&self.hal, &self.profile, &self.state, self.hw_timeout).await {
            Ok(()) => {
                let mut next = self.state.clone();
                next.maintenance.hardware_ok = true;
                next.maintenance
                    .note("hardware answered again; stored settings re-applied".into());
                tracing::info!("hardware recovered; stored settings re-applied");
                self.commit_state(next);
                self.refresh_status().await;
            }
            Err(e) => tracing::warn!(error = %e, "hardware answers but re-apply failed"),
        }
    }

    async fn on_hardware(&mut self, ev: HwEvent) {
        if matches!(ev, HwEvent::Reset) {
            tracing::warn!("hardware reset; re-applying stored settings");
            if let Err(e) =
                reconcile::apply_all(&self.hal, &self.profile, &self.state, self.hw_timeout).await
            {
                self.hardware_lost(format!("re-apply after reset failed: {e}"));
            }
            self.refresh_status().await;
            return;
        }
        let plan = reconcile::on_event(&self.state, &self.profile, &ev);
        if let Err(e) = self.execute(plan).await {
            tracing::warn!(?ev, error = %e, "could not follow a hardware event");
        }
    }

    async fn refresh_status(&mut self) {
        let deadline = Instant::now() + self.hw_timeout;
        match timeout_at(deadline, self.hal.video.status()).await {
            Ok(Ok(status)) => {
                let plan = reconcile::on_status(&self.state, &self.profile, &status);
                if let Err(e) = self.execute(plan).await {
                    tracing::warn!(error = %e, "could not follow hardware status");
                }
            }
            _ => self.hardware_lost("hardware status unreadable".into()),
        }
    }
}

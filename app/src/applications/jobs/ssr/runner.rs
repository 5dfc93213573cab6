//! The job runner: claims queued jobs, runs them in the background and records how they end.
//!
//! - **Claiming** is one `UPDATE … WHERE id = (SELECT … FOR UPDATE SKIP LOCKED) RETURNING`, so
//!   several server instances on one PostgreSQL never run the same job (SQLite has one writer).
//! - **Concurrency** is a semaphore of [`JobSettings::concurrency`] permits per instance.
//! - **Heartbeats**: a running job writes its progress and the time at least every second. If
//!   that write finds the job no longer running (stopped, or taken over), the work is cancelled.
//! - **Recovery**: a running job whose heartbeat is older than [`JobSettings::stale_after`] lost
//!   its runner (crash, kill, restart). [`recover`] queues it again, or fails it once it has been
//!   started [`JobSettings::max_attempts`] times. It runs at start and then periodically, so no
//!   job stays `running` forever.
//! - **Shutdown**: once the instance is stopping ([`AppState::stopping`]) the runner claims
//!   nothing more and cancels its jobs; each is handed back ([`hand_back`]: queued again, the
//!   attempt not counted), so another instance starts it at its next look instead of waiting for
//!   the heartbeat to go stale.
//! - Kinds: the runner knows none; [`super::work::perform`] sends each job to its kind's module,
//!   whose reading runs on the blocking pool and stops at the next chunk once cancelled, also
//!   when the runner itself is dropped.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::Utc;
use sea_orm::sea_query::{Alias, Expr, ExprTrait, Func, LockBehavior, LockType, Order, Query};
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter,
    TransactionTrait,
};
use tokio::sync::{Notify, OwnedSemaphorePermit, Semaphore};
use tokio::task::JoinSet;

use super::work::{self, Work};
use crate::applications::jobs::{JobReport, JobStatus};
use crate::archives::{ArchiveLimits, Control};
use crate::db::entity::job;
use crate::error::AppError;
use crate::events::{Event, EventKind};
use crate::mail::ssr::outbox;
use crate::state::AppState;

/// How often an idle runner looks for jobs queued by other instances.
const IDLE_POLL: Duration = Duration::from_secs(2);

/// How a server instance runs jobs.
#[derive(Clone, Debug)]
pub struct JobSettings {
    /// Jobs run at once by this instance.
    pub concurrency: usize,
    /// A running job whose heartbeat is older than this lost its runner.
    pub stale_after: Duration,
    /// Starts after which a job that keeps losing its runner is failed instead of queued again.
    pub max_attempts: i32,
    /// What a job accepts of an archive before it calls it malicious.
    pub limits: ArchiveLimits,
    /// Jobs one user may have queued or running at once, across all instances; more are 429.
    pub per_user: u64,
}

/// Enough for any person; a script that queues hundreds waits its turn instead.
pub const DEFAULT_JOBS_PER_USER: u64 = 20;

impl Default for JobSettings {
    fn default() -> Self {
        Self {
            concurrency: 1,
            stale_after: Duration::from_secs(60),
            max_attempts: 3,
            limits: ArchiveLimits::default(),
            per_user: DEFAULT_JOBS_PER_USER,
        }
    }
}

impl JobSettings {
    pub(super) fn heartbeat_every(&self) -> Duration {
        (self.stale_after / 4).min(Duration::from_secs(1))
    }
}

/// The runner's handle in [`AppState`]: wakes it and cancels the jobs it runs. Cheap to clone.
#[derive(Clone)]
pub struct Jobs(Arc<Inner>);

struct Inner {
    settings: JobSettings,
    wake: Notify,
    running: Mutex<HashMap<i64, Arc<Control>>>,
}

impl Jobs {
    pub fn new(settings: JobSettings) -> Self {
        Self(Arc::new(Inner {
            settings,
            wake: Notify::new(),
            running: Mutex::new(HashMap::new()),
        }))
    }

    pub fn settings(&self) -> &JobSettings {
        &self.0.settings
    }

    /// A job was queued: look for it now rather than at the next poll.
    pub fn wake(&self) {
        self.0.wake.notify_one();
    }

    /// Cancels job `id` at once if this instance runs it (other instances notice at their next
    /// heartbeat).
    pub fn cancel(&self, id: i64) {
        if let Some(control) = self.running().get(&id) {
            control.cancel();
        }
    }

    fn running(&self) -> std::sync::MutexGuard<'_, HashMap<i64, Arc<Control>>> {
        self.0
            .running
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn register(&self, id: i64) -> Running {
        let control = Arc::new(Control::default());
        self.running().insert(id, control.clone());
        Running {
            jobs: self.clone(),
            id,
            control,
        }
    }
}

/// A job this instance runs; dropping it cancels the work and forgets the job.
struct Running {
    jobs: Jobs,
    id: i64,
    control: Arc<Control>,
}

impl Drop for Running {
    fn drop(&mut self) {
        self.control.cancel();
        let mut running = self.jobs.running();
        // A later run of the same job (after a takeover) registers its own control: leave it.
        if running
            .get(&self.id)
            .is_some_and(|control| Arc::ptr_eq(control, &self.control))
        {
            running.remove(&self.id);
        }
    }
}

/// Runs jobs until the instance stops (then hands its jobs back and returns) or until dropped
/// (which aborts the jobs it runs).
pub async fn run(state: AppState) {
    let settings = state.jobs.settings().clone();
    let permits = Arc::new(Semaphore::new(settings.concurrency.max(1)));
    let mut tasks = JoinSet::new();
    let mut recovery = tokio::time::interval(settings.stale_after / 2);
    loop {
        while tasks.try_join_next().is_some() {}
        let permit = tokio::select! {
            () = state.stopping.cancelled() => {
                // Each job sees the stop, ends and hands itself back.
                while tasks.join_next().await.is_some() {}
                return;
            }
            permit = permits.clone().acquire_owned() => permit,
            _ = recovery.tick() => {
                recover_or_log(&state).await;
                continue;
            }
        };
        if state.stopping.is_cancelled() {
            continue;
        }
        let Ok(permit) = permit else { return };
        match claim(&state.db).await {
            Ok(Some(job)) => {
                tracing::info!(job_id = job.id, attempt = job.attempts, "job started");
                crate::metrics::job_started();
                tasks.spawn(execute(state.clone(), job, permit));
            }
            Ok(None) => {
                drop(permit);
                tokio::select! {
                    () = state.jobs.0.wake.notified() => {}
                    () = tokio::time::sleep(IDLE_POLL) => {}
                    _ = recovery.tick() => recover_or_log(&state).await,
                }
            }
            Err(error) => {
                drop(permit);
                tracing::warn!(%error, "could not look for queued jobs");
                tokio::time::sleep(IDLE_POLL).await;
            }
        }
    }
}

async fn recover_or_log(state: &AppState) {
    if let Err(error) = recover(state).await {
        tracing::warn!(%error, "could not recover lost jobs");
    }
}

/// Takes the next queued job, if any, and marks it running.
///
/// Next is fair between users, not first come first served: the oldest queued job of the user
/// with the fewest jobs running (on any instance), and among those the user whose last job
/// started longest ago. One user's hundred queued jobs then take turns with everyone else's.
async fn claim(db: &DatabaseConnection) -> Result<Option<job::Model>, AppError> {
    let now = Utc::now();
    let theirs = Alias::new("theirs");
    // Over the same user's jobs (`theirs`) as the queued candidate's.
    let of_the_same_user = |select: &mut sea_orm::sea_query::SelectStatement| {
        select
            .from_as(job::Entity, theirs.clone())
            .and_where(
                Expr::col((theirs.clone(), job::Column::CreatedBy))
                    .equals((job::Entity, job::Column::CreatedBy)),
            )
            .to_owned()
    };
    let running = of_the_same_user(
        Query::select()
            .expr(Expr::col((theirs.clone(), job::Column::Id)).count())
            .and_where(Expr::col((theirs.clone(), job::Column::Status)).eq(JobStatus::Running)),
    );
    let last_started = of_the_same_user(
        Query::select().expr(Expr::col((theirs.clone(), job::Column::StartedAt)).max()),
    );
    let never = chrono::DateTime::<Utc>::UNIX_EPOCH;
    let next_queued = Query::select()
        .column((job::Entity, job::Column::Id))
        .from(job::Entity)
        .and_where(Expr::col((job::Entity, job::Column::Status)).eq(JobStatus::Queued))
        .order_by_expr(Expr::SubQuery(None, Box::new(running.into())), Order::Asc)
        .order_by_expr(
            Expr::expr(Func::coalesce([
                Expr::SubQuery(None, Box::new(last_started.into())),
                Expr::val(never),
            ])),
            Order::Asc,
        )
        .order_by((job::Entity, job::Column::Id), Order::Asc)
        .limit(1)
        .lock_with_behavior(LockType::Update, LockBehavior::SkipLocked)
        .to_owned();
    let claimed = job::Entity::update_many()
        .col_expr(job::Column::Status, Expr::value(JobStatus::Running))
        .col_expr(job::Column::StartedAt, Expr::value(now))
        .col_expr(job::Column::HeartbeatAt, Expr::value(now))
        .col_expr(job::Column::Progress, Expr::value(0))
        .col_expr(
            job::Column::Attempts,
            Expr::col(job::Column::Attempts).add(1),
        )
        .filter(crate::db::in_claim(
            db.get_database_backend(),
            job::Column::Id,
            next_queued,
        ))
        .filter(job::Column::Status.eq(JobStatus::Queued))
        .exec_with_returning(db)
        .await?;
    Ok(claimed.into_iter().next())
}

async fn execute(state: AppState, job: job::Model, _permit: OwnedSemaphorePermit) {
    let running = state.jobs.register(job.id);
    let work = Work {
        state: &state,
        job: &job,
        control: running.control.clone(),
    };
    let finished = match work::perform(&work).await {
        Ok(report) => finish(&state, &job, Ok(report)).await,
        Err(error) if error.is_final() => finish(&state, &job, Err(error.to_string())).await,
        Err(_) if state.stopping.is_cancelled() => hand_back(&state.db, &job).await,
        Err(_) => Ok(()),
    };
    if let Err(error) = finished {
        tracing::error!(job_id = job.id, %error, "could not record the end of a job");
    }
}

/// This run's job row: still running, and not taken over by a later attempt.
fn still_ours(job: &job::Model) -> Condition {
    Condition::all()
        .add(job::Column::Id.eq(job.id))
        .add(job::Column::Status.eq(JobStatus::Running))
        .add(job::Column::Attempts.eq(job.attempts))
}

/// Writes progress and the heartbeat; `false` when the job is no longer this run's to do.
pub(super) async fn heartbeat(
    db: &impl ConnectionTrait,
    job: &job::Model,
    progress: u8,
) -> Result<bool, AppError> {
    let updated = job::Entity::update_many()
        .col_expr(job::Column::Progress, Expr::value(i16::from(progress)))
        .col_expr(job::Column::HeartbeatAt, Expr::value(Utc::now()))
        .filter(still_ours(job))
        .exec(db)
        .await?;
    Ok(updated.rows_affected == 1)
}

/// Queues a job this instance stops running because it shuts down; the attempt is not counted
/// (the job did not fail). A job stopped or taken over meanwhile is left alone.
async fn hand_back(db: &DatabaseConnection, job: &job::Model) -> Result<(), AppError> {
    let queued = job::Entity::update_many()
        .col_expr(job::Column::Status, Expr::value(JobStatus::Queued))
        .col_expr(job::Column::Progress, Expr::value(0))
        .col_expr(
            job::Column::Attempts,
            Expr::col(job::Column::Attempts).sub(1),
        )
        .filter(still_ours(job))
        .exec(db)
        .await?;
    if queued.rows_affected == 1 {
        tracing::info!(job_id = job.id, "job handed back for another instance");
    }
    Ok(())
}

/// Records success (with the report) or failure (with the error), and its event.
async fn finish(
    state: &AppState,
    job: &job::Model,
    outcome: Result<JobReport, String>,
) -> Result<(), AppError> {
    let txn = state.db.begin().await?;
    let mut update = job::Entity::update_many()
        .col_expr(job::Column::FinishedAt, Expr::value(Utc::now()))
        .filter(still_ours(job));
    let kind = match &outcome {
        Ok(report) => {
            let json = serde_json::to_string(report).map_err(|error| {
                tracing::error!(%error, "could not encode a report");
                AppError::Internal
            })?;
            update = update
                .col_expr(job::Column::Status, Expr::value(JobStatus::Succeeded))
                .col_expr(job::Column::Progress, Expr::value(100))
                .col_expr(job::Column::Result, Expr::value(json));
            EventKind::JobSucceeded
        }
        Err(error) => {
            update = update
                .col_expr(job::Column::Status, Expr::value(JobStatus::Failed))
                .col_expr(job::Column::Error, Expr::value(error.clone()));
            EventKind::JobFailed
        }
    };
    if update.exec(&txn).await?.rows_affected == 1 {
        outbox::record(&txn, &state.config, job_event(job, kind)).await?;
        txn.commit().await?;
        tracing::info!(job_id = job.id, outcome = kind.as_str(), "job finished");
        crate::metrics::job_finished(match kind {
            EventKind::JobSucceeded => "succeeded",
            _ => "failed",
        });
    }
    Ok(())
}

/// A job that ended by itself is attributed to whoever started it.
fn job_event(job: &job::Model, kind: EventKind) -> Event {
    Event {
        kind,
        application_id: job.application_id,
        version_id: Some(job.version_id),
        job_id: Some(job.id),
        actor_id: Some(job.created_by),
        work: Some(job.kind.label()),
    }
}

/// Queues again, or fails, the running jobs whose runner is gone (see the module docs).
pub async fn recover(state: &AppState) -> Result<(), AppError> {
    let settings = state.jobs.settings();
    let stale_before = Utc::now()
        - chrono::Duration::from_std(settings.stale_after).unwrap_or(chrono::Duration::MAX);
    let stale = Condition::any()
        .add(job::Column::HeartbeatAt.lt(stale_before))
        .add(job::Column::HeartbeatAt.is_null());
    let lost = job::Entity::find()
        .filter(job::Column::Status.eq(JobStatus::Running))
        .filter(stale.clone())
        .all(&state.db)
        .await?;
    for job in lost {
        if job.attempts >= settings.max_attempts {
            let txn = state.db.begin().await?;
            let failed = job::Entity::update_many()
                .col_expr(job::Column::Status, Expr::value(JobStatus::Failed))
                .col_expr(job::Column::FinishedAt, Expr::value(Utc::now()))
                .col_expr(
                    job::Column::Error,
                    Expr::value(format!(
                        "The server stopped while this job was running ({} times); it was not \
                         started again. Start a new job to retry.",
                        job.attempts
                    )),
                )
                .filter(still_ours(&job))
                .filter(stale.clone())
                .exec(&txn)
                .await?;
            if failed.rows_affected == 1 {
                outbox::record(&txn, &state.config, job_event(&job, EventKind::JobFailed)).await?;
                txn.commit().await?;
                tracing::warn!(job_id = job.id, "lost job failed after too many attempts");
            }
        } else {
            let queued = job::Entity::update_many()
                .col_expr(job::Column::Status, Expr::value(JobStatus::Queued))
                .col_expr(job::Column::Progress, Expr::value(0))
                .filter(still_ours(&job))
                .filter(stale.clone())
                .exec(&state.db)
                .await?;
            if queued.rows_affected == 1 {
                tracing::warn!(job_id = job.id, "lost job queued again");
                state.jobs.wake();
            }
        }
    }
    Ok(())
}

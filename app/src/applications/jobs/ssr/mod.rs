//! Server side of jobs: starting, stopping and reading them ([`start`], [`stop`], [`get`],
//! [`list`]), the background runner, and what a kind's work gets from it ([`Work`]).
//!
//! Rules:
//! - A job belongs to an application; whoever may see the application may see, start and stop
//!   its jobs (the owner, administrators). Everyone else gets 404.
//! - Every status change is one conditional UPDATE (`WHERE status IN (…)`), so a stop and the
//!   runner's finish cannot both win; the loser changes nothing. Each final status records its
//!   domain event in the same transaction.

mod runner;
mod work;

pub use runner::{DEFAULT_JOBS_PER_USER, JobSettings, Jobs, recover, run};
pub use work::{JobError, Work};

use std::collections::HashMap;

use chrono::Utc;
use sea_orm::sea_query::{Expr, ExprTrait, Query, SelectStatement};
use sea_orm::{
    ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter, QuerySelect,
    TransactionTrait,
};
use serde::Deserialize;

use super::{JobKind, JobReport, JobState, JobStatus, JobSummary, JobView};
use crate::applications::ssr::{visible, visible_to};
use crate::auth::ssr::Principal;
use crate::auth::ssr::usernames;
use crate::db::entity::{application, job, version};
use crate::error::AppError;
use crate::events::{Event, EventKind};
use crate::http::timestamp;
use crate::mail::ssr::outbox;
use crate::paging::Page;
use crate::paging::ssr::{Keyset, PageRequest};
use crate::state::AppState;

/// A request to start a job: `{"application": 1, "version": 2, "type": "analyze"}` (or
/// `"compare"`).
#[derive(Clone, Debug, Deserialize, utoipa::ToSchema)]
pub struct NewJob {
    pub application: i64,
    pub version: i64,
    /// Checked by [`start`], so an unknown type is a clear error about `type`.
    #[serde(rename = "type")]
    #[schema(value_type = JobKind)]
    pub kind: String,
}

/// Queues a job; the runner is woken at once.
#[tracing::instrument(skip(state, principal), err(level = "info"))]
pub async fn start(
    state: &AppState,
    principal: &Principal,
    new: NewJob,
) -> Result<JobView, AppError> {
    let kind = JobKind::parse(&new.kind).ok_or_else(|| {
        let known: Vec<&str> = JobKind::ALL.iter().map(|kind| kind.as_str()).collect();
        AppError::invalid(
            "type",
            format!(
                "Unknown job type “{}”; the console runs: {}.",
                new.kind,
                known.join(", ")
            ),
        )
    })?;
    // One statement checks access, the version and the caller's share of the queue, and queues
    // the job: it is the hot path of tools that submit work (`scripts/bench/jobs.sh`).
    let per_user = state.jobs.settings().per_user;
    let queue = Query::insert()
        .into_table(job::Entity)
        .columns([
            job::Column::ApplicationId,
            job::Column::VersionId,
            job::Column::Kind,
            job::Column::Status,
            job::Column::Progress,
            job::Column::Attempts,
            job::Column::CreatedBy,
            job::Column::CreatedAt,
        ])
        .select_from(queueable(principal, &new, kind, per_user))
        .map_err(|error| {
            tracing::error!(%error, "building the job insert failed");
            AppError::Internal
        })?
        .returning_all()
        .to_owned();
    let backend = state.db.get_database_backend();
    let Some(row) = job::Entity::find()
        .from_raw_sql(backend.build(&queue))
        .one(&state.db)
        .await?
    else {
        // Nothing queued: say why (the application is not theirs, the version is not its, or
        // the caller has their share of the queue).
        visible(&state.db, principal, new.application).await?;
        let version = version::Entity::find_by_id(new.version)
            .filter(version::Column::ApplicationId.eq(new.application))
            .one(&state.db)
            .await?;
        return Err(match version {
            None => AppError::invalid(
                "version",
                format!("The application has no version {}.", new.version),
            ),
            Some(_) => AppError::TooManyJobs { limit: per_user },
        });
    };
    state.jobs.wake();
    Ok(to_view(&row, &principal.own_name()))
}

/// The row to queue for `new`: empty unless `principal` may see the application, the version
/// belongs to it and they have fewer than `per_user` jobs queued or running.
fn queueable(principal: &Principal, new: &NewJob, kind: JobKind, per_user: u64) -> SelectStatement {
    let active = Query::select()
        .expr(Expr::col(job::Column::Id).count())
        .from(job::Entity)
        .and_where(Expr::col(job::Column::CreatedBy).eq(principal.id))
        .and_where(Expr::col(job::Column::Status).is_in([JobStatus::Queued, JobStatus::Running]))
        .to_owned();
    let mut select = Query::select()
        .column((version::Entity, version::Column::ApplicationId))
        .column((version::Entity, version::Column::Id))
        .expr(Expr::val(kind))
        .expr(Expr::val(JobStatus::Queued))
        .expr(Expr::val(0i16))
        .expr(Expr::val(0i32))
        .expr(Expr::val(principal.id))
        .expr(Expr::val(Utc::now()))
        .from(version::Entity)
        .inner_join(
            application::Entity,
            Expr::col((application::Entity, application::Column::Id))
                .equals((version::Entity, version::Column::ApplicationId)),
        )
        .and_where(Expr::col((version::Entity, version::Column::Id)).eq(new.version))
        .and_where(Expr::col((application::Entity, application::Column::Id)).eq(new.application))
        .and_where(
            Expr::SubQuery(None, Box::new(active.into()))
                .lt(i64::try_from(per_user).unwrap_or(i64::MAX)),
        )
        .to_owned();
    if !principal.is_admin() {
        select.and_where(
            Expr::col((application::Entity, application::Column::OwnerId)).eq(principal.id),
        );
    }
    select
}

/// Jobs queued and jobs running now, on every instance.
pub async fn backlog(db: &sea_orm::DatabaseConnection) -> Result<(u64, u64), AppError> {
    let count = |status: JobStatus| {
        job::Entity::find()
            .filter(job::Column::Status.eq(status))
            .count(db)
    };
    Ok((
        count(JobStatus::Queued).await?,
        count(JobStatus::Running).await?,
    ))
}

/// Stops a queued or running job; 409 if it has already finished.
#[tracing::instrument(skip(state, principal), err(level = "info"))]
pub async fn stop(state: &AppState, principal: &Principal, id: i64) -> Result<JobView, AppError> {
    let current = find_visible(&state.db, principal, id).await?;
    let txn = state.db.begin().await?;
    let stopped = job::Entity::update_many()
        .col_expr(job::Column::Status, Expr::value(JobStatus::Stopped))
        .col_expr(job::Column::StoppedBy, Expr::value(principal.id))
        .col_expr(job::Column::FinishedAt, Expr::value(Utc::now()))
        .filter(job::Column::Id.eq(id))
        .filter(job::Column::Status.is_in(unfinished()))
        .exec(&txn)
        .await?;
    if stopped.rows_affected == 0 {
        let status = job::Entity::find_by_id(id)
            .one(&txn)
            .await?
            .map_or(current.status, |row| row.status);
        return Err(AppError::Conflict(format!(
            "The job has already finished ({}); only queued or running jobs can be stopped.",
            status.as_str()
        )));
    }
    outbox::record(
        &txn,
        &state.config,
        Event {
            kind: EventKind::JobStopped,
            application_id: current.application_id,
            version_id: Some(current.version_id),
            job_id: Some(id),
            actor_id: Some(principal.id),
            work: Some(current.kind.label()),
        },
    )
    .await?;
    txn.commit().await?;
    state.jobs.cancel(id);
    tracing::info!(job_id = id, by = principal.id, "job stopped");
    crate::metrics::job_finished("stopped");
    get(state, principal, id).await
}

/// Stops every queued or running job `user_id` started, as `admin` (their account is being
/// disabled), in the caller's transaction; each stop records its event. Returns the ids, for
/// [`Jobs::cancel`] once the transaction has committed.
pub async fn stop_all_started_by(
    txn: &impl ConnectionTrait,
    config: &crate::state::AppConfig,
    user_id: i64,
    admin: i64,
) -> Result<Vec<i64>, AppError> {
    let rows = job::Entity::find()
        .filter(job::Column::CreatedBy.eq(user_id))
        .filter(job::Column::Status.is_in(unfinished()))
        .all(txn)
        .await?;
    let mut stopped = Vec::with_capacity(rows.len());
    for row in rows {
        let updated = job::Entity::update_many()
            .col_expr(job::Column::Status, Expr::value(JobStatus::Stopped))
            .col_expr(job::Column::StoppedBy, Expr::value(admin))
            .col_expr(job::Column::FinishedAt, Expr::value(Utc::now()))
            .filter(job::Column::Id.eq(row.id))
            .filter(job::Column::Status.is_in(unfinished()))
            .exec(txn)
            .await?;
        if updated.rows_affected == 0 {
            continue;
        }
        outbox::record(
            txn,
            config,
            Event {
                kind: EventKind::JobStopped,
                application_id: row.application_id,
                version_id: Some(row.version_id),
                job_id: Some(row.id),
                actor_id: Some(admin),
                work: Some(row.kind.label()),
            },
        )
        .await?;
        stopped.push(row.id);
    }
    Ok(stopped)
}

/// One job, if `principal` may see its application.
pub async fn get(state: &AppState, principal: &Principal, id: i64) -> Result<JobView, AppError> {
    let row = find_visible(&state.db, principal, id).await?;
    let names = usernames(&state.db, people(&row)).await?;
    Ok(to_view(&row, &names))
}

/// Job `id` of application `application`, for a caller already allowed to see the application.
pub(crate) async fn of_application(
    db: &impl ConnectionTrait,
    application: i64,
    id: i64,
) -> Result<JobView, AppError> {
    let row = job::Entity::find_by_id(id)
        .filter(job::Column::ApplicationId.eq(application))
        .one(db)
        .await?
        .ok_or(AppError::NotFound)?;
    let names = usernames(db, people(&row)).await?;
    Ok(to_view(&row, &names))
}

/// Where job `id` is, if `principal` may see it: what the live status polls every second, so
/// without the usernames a whole view needs.
pub async fn state_of(
    state: &AppState,
    principal: &Principal,
    id: i64,
) -> Result<JobState, AppError> {
    let row = find_visible(&state.db, principal, id).await?;
    let summary = match row.status {
        JobStatus::Succeeded => row
            .result
            .as_deref()
            .and_then(|json| JobReport::decode(row.kind, json))
            .map(|report| report.totals()),
        JobStatus::Failed => row.error.clone(),
        _ => None,
    };
    Ok(JobState {
        status: row.status,
        progress: progress(&row),
        summary,
    })
}

/// A page of the jobs `principal` may see, newest first: of one application, or of all of
/// theirs.
pub async fn list(
    db: &impl ConnectionTrait,
    principal: &Principal,
    application: Option<i64>,
    page: &PageRequest,
) -> Result<Page<JobView>, AppError> {
    if let Some(application) = application {
        visible(db, principal, application).await?;
        return jobs_of(db, application, page).await;
    }
    let mut query = job::Entity::find();
    if !principal.is_admin() {
        // Correlated, so the newest jobs are read by id and each checked by its application's
        // key: `application_id IN (their applications)` would build the set of all of them
        // first, on every page (50 ms with 100,000 applications).
        query = query.filter(Expr::exists(
            Query::select()
                .expr(Expr::val(1))
                .from(application::Entity)
                .and_where(
                    Expr::col((application::Entity, application::Column::Id))
                        .equals((job::Entity, job::Column::ApplicationId)),
                )
                .and_where(
                    Expr::col((application::Entity, application::Column::OwnerId)).eq(principal.id),
                )
                .to_owned(),
        ));
    }
    views(db, query, page).await
}

/// A page of the jobs of application `id`, newest first, for a caller already allowed to see it.
pub(crate) async fn jobs_of(
    db: &impl ConnectionTrait,
    application: i64,
    page: &PageRequest,
) -> Result<Page<JobView>, AppError> {
    let query = job::Entity::find().filter(job::Column::ApplicationId.eq(application));
    views(db, query, page).await
}

/// A page of the jobs of application `id` as its page lists them, newest first, for a caller
/// already allowed to see it.
pub(crate) async fn summaries_of(
    db: &impl ConnectionTrait,
    application: i64,
    page: &PageRequest,
) -> Result<Page<JobSummary>, AppError> {
    let jobs = jobs_of(db, application, page).await?;
    let mut ids: Vec<i64> = jobs.items.iter().map(|job| job.version_id).collect();
    ids.sort_unstable();
    ids.dedup();
    let names: HashMap<i64, String> = version::Entity::find()
        .select_only()
        .column(version::Column::Id)
        .column(version::Column::Name)
        .filter(version::Column::Id.is_in(ids))
        .into_tuple()
        .all(db)
        .await?
        .into_iter()
        .collect();
    Ok(jobs.map(|job| {
        let version = names
            .get(&job.version_id)
            .cloned()
            .unwrap_or_else(|| format!("#{}", job.version_id));
        JobSummary::of(job, version)
    }))
}

async fn views(
    db: &impl ConnectionTrait,
    query: sea_orm::Select<job::Entity>,
    page: &PageRequest,
) -> Result<Page<JobView>, AppError> {
    let rows = Keyset::NewestFirst {
        id: job::Column::Id,
    }
    .page(db, query, page)
    .await?;
    let names = usernames(db, rows.items.iter().flat_map(people)).await?;
    Ok(rows.map(|row| to_view(&row, &names)))
}

async fn find_visible(
    db: &impl ConnectionTrait,
    principal: &Principal,
    id: i64,
) -> Result<job::Model, AppError> {
    let row = job::Entity::find_by_id(id)
        .one(db)
        .await?
        .ok_or(AppError::NotFound)?;
    // The same rule as for the application itself.
    visible_to(principal)
        .filter(application::Column::Id.eq(row.application_id))
        .one(db)
        .await?
        .ok_or(AppError::NotFound)?;
    Ok(row)
}

fn unfinished() -> [JobStatus; 2] {
    [JobStatus::Queued, JobStatus::Running]
}

/// 0–100.
fn progress(row: &job::Model) -> u8 {
    u8::try_from(row.progress.clamp(0, 100)).unwrap_or_default()
}

fn people(row: &job::Model) -> impl Iterator<Item = i64> {
    std::iter::once(row.created_by).chain(row.stopped_by)
}

pub fn to_view(row: &job::Model, names: &HashMap<i64, String>) -> JobView {
    let kind = row.kind;
    JobView {
        id: row.id,
        application_id: row.application_id,
        version_id: row.version_id,
        kind,
        status: row.status,
        progress: progress(row),
        created_by: names.get(&row.created_by).cloned().unwrap_or_default(),
        stopped_by: row.stopped_by.and_then(|id| names.get(&id).cloned()),
        created_at: timestamp(row.created_at),
        started_at: row.started_at.map(timestamp),
        finished_at: row.finished_at.map(timestamp),
        error: row.error.clone(),
        result: row
            .result
            .as_deref()
            .and_then(|json| JobReport::decode(kind, json)),
    }
}

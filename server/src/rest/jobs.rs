//! `/rest/jobs`: start, read, list and stop jobs.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use serde::Deserialize;

use app::applications::jobs::JobView;
use app::applications::jobs::ssr::{self as jobs, NewJob};
use app::error::{AppError, ErrorBody};
use app::state::AppState;

use super::caller::Caller;
use super::extract::{Json, Path, Query};

#[derive(Deserialize, utoipa::IntoParams)]
pub struct JobFilter {
    /// Only the jobs of this application.
    application: Option<i64>,
}

#[utoipa::path(
    post, path = "/jobs", tag = "jobs",
    request_body = NewJob,
    responses(
        (status = 202, description = "Queued; it runs in the background", body = JobView),
        (status = 400, description = "Unknown type, or a version of another application", body = ErrorBody),
        (status = 401, body = ErrorBody),
        (status = 404, description = "No such application, or not the caller's", body = ErrorBody),
        (status = 429, description = "The caller already has as many jobs queued or running as one user may", body = ErrorBody),
    )
)]
pub async fn start(
    State(state): State<AppState>,
    Caller(principal, _): Caller,
    Json(new): Json<NewJob>,
) -> Result<impl IntoResponse, AppError> {
    let job = jobs::start(&state, &principal, new).await?;
    Ok((StatusCode::ACCEPTED, axum::Json(job)))
}

#[utoipa::path(
    get, path = "/jobs", tag = "jobs",
    params(JobFilter),
    responses(
        (status = 200, description = "Newest first, at most 200", body = Vec<JobView>),
        (status = 401, body = ErrorBody),
        (status = 404, description = "No such application, or not the caller's", body = ErrorBody),
    )
)]
pub async fn list(
    State(state): State<AppState>,
    Caller(principal, _): Caller,
    Query(filter): Query<JobFilter>,
) -> Result<axum::Json<Vec<JobView>>, AppError> {
    Ok(axum::Json(
        jobs::list(&state.db, &principal, filter.application).await?,
    ))
}

#[utoipa::path(
    get, path = "/jobs/{id}", tag = "jobs",
    params(("id" = i64, Path, description = "Job id")),
    responses(
        (status = 200, body = JobView),
        (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody),
    )
)]
pub async fn get(
    State(state): State<AppState>,
    Caller(principal, _): Caller,
    Path(id): Path<i64>,
) -> Result<axum::Json<JobView>, AppError> {
    Ok(axum::Json(jobs::get(&state, &principal, id).await?))
}

#[utoipa::path(
    post, path = "/jobs/{id}/stop", tag = "jobs",
    params(("id" = i64, Path, description = "Job id")),
    responses(
        (status = 200, description = "Stopped", body = JobView),
        (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody),
        (status = 409, description = "The job has already finished", body = ErrorBody),
    )
)]
pub async fn stop(
    State(state): State<AppState>,
    Caller(principal, _): Caller,
    Path(id): Path<i64>,
) -> Result<axum::Json<JobView>, AppError> {
    Ok(axum::Json(jobs::stop(&state, &principal, id).await?))
}

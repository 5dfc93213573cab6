//! `/rest/jobs`: start, read, list and stop jobs.

use axum::extract::{OriginalUri, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use serde::Deserialize;

use app::applications::jobs::JobView;
use app::applications::jobs::ssr::{self as jobs, NewJob};
use app::error::{AppError, ErrorBody};
use app::state::AppState;

use super::caller::Caller;
use super::extract::{Json, Path, Query};
use super::paging::{PageQuery, Paged};

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct JobFilter {
    /// Only the jobs of this application.
    application: Option<i64>,
}

#[utoipa::path(
    post, path = "/jobs", tag = "jobs", operation_id = "start_job",
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
    get, path = "/jobs", tag = "jobs", operation_id = "list_jobs",
    params(JobFilter, PageQuery),
    responses(
        (status = 200, description = "A page of the jobs, newest first", body = Vec<JobView>),
        (status = 401, body = ErrorBody),
        (status = 404, description = "No such application, or not the caller's", body = ErrorBody),
    )
)]
pub async fn list(
    State(state): State<AppState>,
    Caller(principal, _): Caller,
    Query(filter): Query<JobFilter>,
    Query(page): Query<PageQuery>,
    uri: OriginalUri,
) -> Result<Paged<JobView>, AppError> {
    let page = jobs::list(&state.db, &principal, filter.application, &page.request()?).await?;
    Ok(Paged::new(page, uri))
}

#[utoipa::path(
    get, path = "/jobs/{id}", tag = "jobs", operation_id = "get_job",
    params(("id" = i64, Path, description = "Job id")),
    responses(
        (status = 200, description = "The job", body = JobView),
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
    post, path = "/jobs/{id}/stop", tag = "jobs", operation_id = "stop_job",
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

//! The REST API under `/rest`: JSON in and out, errors as `{"error", "message"}` with the right
//! status (see [`app::error::AppError`]). Callers authenticate with `X-API-KEY`, HTTP Basic or
//! the browser session ([`caller::Caller`]). Described at `/rest/openapi.json` ([`openapi`]).

mod applications;
mod caller;
mod extract;
mod jobs;
mod openapi;
mod users;

use axum::Router;
use axum::routing::{get, post};

use app::error::AppError;
use app::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/openapi.json", get(openapi::document))
        .route("/user", get(users::me))
        .route("/users", post(users::create))
        .route(
            "/applications",
            get(applications::list).post(applications::create),
        )
        .route("/applications/{id}", get(applications::get))
        .route(
            "/applications/{id}/versions",
            get(applications::versions).post(applications::upload),
        )
        .route("/jobs", get(jobs::list).post(jobs::start))
        .route("/jobs/{id}", get(jobs::get))
        .route("/jobs/{id}/stop", post(jobs::stop))
        .fallback(|| async { AppError::NotFound })
}

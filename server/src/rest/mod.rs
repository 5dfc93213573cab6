//! The REST API under `/rest`: JSON in and out, errors as `{"error", "message"}` with the right
//! status (see [`app::error::AppError`]). Callers authenticate with `X-API-KEY`, HTTP Basic or
//! the browser session ([`caller::Caller`]).

mod caller;
mod json;
mod users;

use axum::Router;
use axum::routing::{get, post};

use app::error::AppError;
use app::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/user", get(users::me))
        .route("/users", post(users::create))
        .fallback(|| async { AppError::NotFound })
}

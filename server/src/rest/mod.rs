//! The REST API under `/rest`: JSON in and out, errors as `{"error", "message"}` with the right
//! status (see [`app::error::AppError`]). Callers authenticate with `X-API-KEY`, HTTP Basic or
//! the browser session ([`caller::Caller`]). Described at `/rest/openapi.json` ([`openapi`]).

mod applications;
mod caller;
mod extract;
mod index;
mod jobs;
mod openapi;
mod paging;
mod users;

use axum::Router;
use axum::routing::get;
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use app::error::AppError;
use app::state::AppState;

/// The routes of `/rest`, to merge at the root.
pub fn router() -> Router<AppState> {
    api().split_for_parts().0
}

/// Every REST route, each registered once with its OpenAPI description (`routes!` takes the
/// path and method from the handler's `#[utoipa::path]`).
fn api() -> OpenApiRouter<AppState> {
    let rest = OpenApiRouter::new()
        .route("/openapi.json", get(openapi::document))
        .routes(routes!(index::index))
        .routes(routes!(users::me))
        .routes(routes!(users::events))
        .routes(routes!(users::change_password))
        .routes(routes!(users::create, users::list))
        .routes(routes!(users::update))
        .routes(routes!(users::revoke_api_key))
        .routes(routes!(applications::list, applications::create))
        .routes(routes!(applications::get))
        .routes(routes!(applications::versions, applications::upload))
        .routes(routes!(jobs::list, jobs::start))
        .routes(routes!(jobs::get))
        .routes(routes!(jobs::stop))
        .fallback(|| async { AppError::NotFound });
    OpenApiRouter::with_openapi(openapi::ApiDoc::openapi()).nest("/rest", rest)
}

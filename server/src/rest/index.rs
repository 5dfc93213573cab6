//! `GET /rest`: the API's root, for a tool to check its credential and find its way — the
//! console's version, who is calling, and where the resources and their description are.

use serde::Serialize;

use app::error::ErrorBody;

use super::caller::Caller;

/// What `GET /rest` answers.
#[derive(Serialize, utoipa::ToSchema)]
pub struct ApiIndex {
    /// The console's version.
    pub version: &'static str,
    /// The caller's username.
    pub user: String,
    /// Where to go from here, by name: `openapi`, `user`, `applications`, `jobs`, `users`.
    pub links: Links,
}

/// The API's resources.
#[derive(Serialize, utoipa::ToSchema)]
pub struct Links {
    /// This API's OpenAPI 3.1 description.
    pub openapi: &'static str,
    pub user: &'static str,
    pub applications: &'static str,
    pub jobs: &'static str,
    /// Administrators only.
    pub users: &'static str,
}

#[utoipa::path(
    get, path = "/", tag = "api", operation_id = "get_index",
    responses(
        (status = 200, description = "The credential works: the version, the caller and the resources", body = ApiIndex),
        (status = 401, body = ErrorBody),
        (status = 429, description = "Too many failed authentications from this address", body = ErrorBody),
    )
)]
pub async fn index(Caller(principal, _): Caller) -> axum::Json<ApiIndex> {
    axum::Json(ApiIndex {
        version: env!("CARGO_PKG_VERSION"),
        user: principal.user.username,
        links: Links {
            openapi: "/rest/openapi.json",
            user: "/rest/user",
            applications: "/rest/applications",
            jobs: "/rest/jobs",
            users: "/rest/users",
        },
    })
}

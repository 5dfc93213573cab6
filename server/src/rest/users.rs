//! `/rest/user` (the caller) and `/rest/users` (admins create accounts).

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;

use app::auth::UserView;
use app::auth::ssr::{NewUser, to_view, users::create_user};
use app::error::{AppError, ErrorBody};
use app::state::AppState;

use super::caller::Caller;
use super::extract::Json;

#[utoipa::path(
    get, path = "/user", tag = "users",
    responses(
        (status = 200, description = "The caller", body = UserView),
        (status = 401, body = ErrorBody),
        (status = 429, description = "Too many failed authentications from this address", body = ErrorBody),
    )
)]
pub async fn me(Caller(principal): Caller) -> axum::Json<UserView> {
    axum::Json(principal.user)
}

#[utoipa::path(
    post, path = "/users", tag = "users",
    request_body = NewUser,
    responses(
        (status = 201, body = UserView),
        (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody),
        (status = 403, description = "Administrators only", body = ErrorBody),
        (status = 409, description = "The username is taken", body = ErrorBody),
    )
)]
#[tracing::instrument(skip_all, err(level = "info"))]
pub async fn create(
    State(state): State<AppState>,
    caller: Caller,
    Json(new): Json<NewUser>,
) -> Result<impl IntoResponse, AppError> {
    caller.require_admin()?;
    let user = create_user(&state.db, new).await?;
    tracing::info!(user_id = user.id, by = caller.0.id, "user created");
    Ok((StatusCode::CREATED, axum::Json(to_view(&user))))
}

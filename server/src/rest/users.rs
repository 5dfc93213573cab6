//! `/rest/user` (the caller) and `/rest/users` (admins create accounts).

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;

use app::auth::UserView;
use app::auth::ssr::{NewUser, to_view, users::create_user};
use app::error::AppError;
use app::state::AppState;

use super::caller::Caller;
use super::json::Json;

pub async fn me(Caller(principal): Caller) -> axum::Json<UserView> {
    axum::Json(principal.user)
}

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

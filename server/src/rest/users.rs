//! `/rest/user` (the caller: who they are, their security log, their password) and
//! `/rest/users` (administrators: create, list and change accounts, revoke their keys).

use axum::extract::{OriginalUri, State};
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::response::IntoResponse;

use app::admin::users::ssr::{self as admin_users, AccountChange};
use app::auth::UserView;
use app::auth::log::SecurityEventView;
use app::auth::log::ssr::{Filter, list as list_events};
use app::auth::ssr::accounts::{self, PasswordChange};
use app::auth::ssr::users::{UserFilter, find_by_username, list_users};
use app::auth::ssr::{NewUser, to_view};
use app::error::{AppError, ErrorBody};
use app::state::AppState;

use super::caller::{Caller, Credential};
use super::extract::{Json, Path, Query};
use super::paging::{PageQuery, Paged};

#[utoipa::path(
    get, path = "/user", tag = "users", operation_id = "get_current_user",
    responses(
        (status = 200, description = "The caller", body = UserView),
        (status = 401, body = ErrorBody),
        (status = 429, description = "Too many failed authentications from this address", body = ErrorBody),
    )
)]
pub async fn me(Caller(principal, _): Caller) -> axum::Json<UserView> {
    axum::Json(principal.user)
}

#[utoipa::path(
    post, path = "/users", tag = "users", operation_id = "create_user",
    request_body = NewUser,
    responses(
        (status = 201, description = "Created", body = UserView),
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
    request: Parts,
    Json(new): Json<NewUser>,
) -> Result<impl IntoResponse, AppError> {
    caller.require_admin()?;
    let by = accounts::Actor {
        id: Some(caller.0.id),
        ip: Some(app::http::client_addr(&request)),
    };
    let user = accounts::create(&state.db, new, by).await?;
    Ok((StatusCode::CREATED, axum::Json(to_view(&user))))
}

#[utoipa::path(
    get, path = "/users", tag = "users", operation_id = "list_users",
    params(PageQuery),
    responses(
        (status = 200, description = "A page of the accounts, by username", body = Vec<UserView>),
        (status = 401, body = ErrorBody),
        (status = 403, description = "Administrators only", body = ErrorBody),
    )
)]
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    Query(page): Query<PageQuery>,
    uri: OriginalUri,
) -> Result<Paged<UserView>, AppError> {
    caller.require_admin()?;
    let page = list_users(&state.db, &UserFilter::default(), &page.request()?).await?;
    Ok(Paged::new(page, uri))
}

#[utoipa::path(
    patch, path = "/users/{username}", tag = "users", operation_id = "update_user",
    params(("username" = String, Path, description = "The account's username")),
    request_body = AccountChange,
    responses(
        (status = 200, description = "The account as changed", body = UserView),
        (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody),
        (status = 403, description = "Administrators only", body = ErrorBody),
        (status = 404, description = "No such user", body = ErrorBody),
        (status = 409, description = "It would leave no enabled administrator", body = ErrorBody),
    )
)]
pub async fn update(
    State(state): State<AppState>,
    caller: Caller,
    Path(username): Path<String>,
    request: Parts,
    Json(change): Json<AccountChange>,
) -> Result<axum::Json<UserView>, AppError> {
    caller.require_admin()?;
    let ip = app::http::client_addr(&request);
    let user = admin_users::change(&state, &caller.0, ip, &username, change).await?;
    Ok(axum::Json(user))
}

#[utoipa::path(
    delete, path = "/users/{username}/api-key", tag = "users", operation_id = "revoke_user_api_key",
    params(("username" = String, Path, description = "The account's username")),
    responses(
        (status = 204, description = "The key was revoked: it fails from the next request on"),
        (status = 401, body = ErrorBody),
        (status = 403, description = "Administrators only", body = ErrorBody),
        (status = 404, description = "No such user, or they have no key", body = ErrorBody),
        (status = 409, description = "The caller's own key: delete it on the profile", body = ErrorBody),
    )
)]
pub async fn revoke_api_key(
    State(state): State<AppState>,
    caller: Caller,
    Path(username): Path<String>,
    request: Parts,
) -> Result<StatusCode, AppError> {
    caller.require_admin()?;
    let ip = app::http::client_addr(&request);
    if admin_users::revoke_api_key(&state.db, &caller.0, ip, &username).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(AppError::NotFound)
    }
}

#[utoipa::path(
    get, path = "/user/events", tag = "users", operation_id = "list_current_user_events",
    params(PageQuery),
    responses(
        (status = 200, description = "A page of the caller's security events, newest first", body = Vec<SecurityEventView>),
        (status = 401, body = ErrorBody),
    )
)]
pub async fn events(
    State(state): State<AppState>,
    Caller(principal, _): Caller,
    Query(page): Query<PageQuery>,
    uri: OriginalUri,
) -> Result<Paged<SecurityEventView>, AppError> {
    let filter = Filter {
        user_id: Some(principal.id),
        own: true,
        ..Filter::default()
    };
    let page = list_events(&state.db, filter, &page.request()?).await?;
    Ok(Paged::new(page, uri))
}

#[utoipa::path(
    post, path = "/user/password", tag = "users", operation_id = "change_current_user_password",
    request_body = PasswordChange,
    responses(
        (status = 204, description = "Changed; every session of the account ended"),
        (status = 400, description = "A field is wrong: the current password, a weak or mismatched new one", body = ErrorBody),
        (status = 401, body = ErrorBody),
        (status = 403, description = "Authenticated by API key: a key cannot change the password", body = ErrorBody),
        (status = 429, description = "Too many attempts for this account from this address", body = ErrorBody),
    )
)]
pub async fn change_password(
    State(state): State<AppState>,
    Caller(principal, credential): Caller,
    request: Parts,
    Json(change): Json<PasswordChange>,
) -> Result<StatusCode, AppError> {
    if credential == Credential::ApiKey {
        return Err(AppError::Forbidden);
    }
    let ip = app::http::client_addr(&request);
    let user = find_by_username(&state.db, &principal.user.username)
        .await?
        .ok_or(AppError::Unauthenticated)?;
    accounts::change_password(
        &state.db,
        &state.config,
        &state.throttles,
        &user,
        change,
        ip,
    )
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

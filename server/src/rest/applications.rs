//! `/rest/applications` and their versions.

use axum::extract::{Request, State};
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use serde::Deserialize;

use app::applications::ssr::{self as applications, upload, versions};
use app::applications::{ApplicationView, VersionView};
use app::error::{AppError, ErrorBody};
use app::state::AppState;

use super::caller::Caller;
use super::extract::{Json, Path};

/// `{"name": "MEUDON"}`
#[derive(Deserialize, utoipa::ToSchema)]
pub struct NewApplication {
    /// 1–100 printable characters, unique among the caller's applications.
    pub name: String,
}

/// The multipart form of `POST /rest/applications/{id}/versions`.
#[derive(utoipa::ToSchema)]
#[expect(
    dead_code,
    reason = "describes the multipart form; it is parsed as a stream"
)]
pub struct VersionUpload {
    /// 1–100 printable characters, unique within the application.
    name: String,
    /// The source code as `.zip` or `.tar.gz`.
    #[schema(value_type = String, format = Binary)]
    archive: Vec<u8>,
}

#[utoipa::path(
    get, path = "/applications", tag = "applications",
    responses(
        (status = 200, description = "The applications the caller may see, by name", body = Vec<ApplicationView>),
        (status = 401, body = ErrorBody),
    )
)]
pub async fn list(
    State(state): State<AppState>,
    Caller(principal, _): Caller,
) -> Result<axum::Json<Vec<ApplicationView>>, AppError> {
    Ok(axum::Json(applications::list(&state.db, &principal).await?))
}

#[utoipa::path(
    post, path = "/applications", tag = "applications",
    request_body = NewApplication,
    responses(
        (status = 201, description = "Created; the caller owns it", body = ApplicationView),
        (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody),
        (status = 409, description = "The caller already has an application of that name", body = ErrorBody),
    )
)]
pub async fn create(
    State(state): State<AppState>,
    Caller(principal, _): Caller,
    Json(new): Json<NewApplication>,
) -> Result<impl IntoResponse, AppError> {
    let created = applications::create(&state, &principal, &new.name).await?;
    Ok((StatusCode::CREATED, axum::Json(created)))
}

#[utoipa::path(
    get, path = "/applications/{id}", tag = "applications",
    params(("id" = i64, Path, description = "Application id")),
    responses(
        (status = 200, body = ApplicationView),
        (status = 401, body = ErrorBody),
        (status = 404, description = "No such application, or not the caller's", body = ErrorBody),
    )
)]
pub async fn get(
    State(state): State<AppState>,
    Caller(principal, _): Caller,
    Path(id): Path<i64>,
) -> Result<axum::Json<ApplicationView>, AppError> {
    Ok(axum::Json(
        applications::get(&state.db, &principal, id).await?,
    ))
}

#[utoipa::path(
    get, path = "/applications/{id}/versions", tag = "versions",
    params(("id" = i64, Path, description = "Application id")),
    responses(
        (status = 200, description = "Newest first", body = Vec<VersionView>),
        (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody),
    )
)]
pub async fn versions(
    State(state): State<AppState>,
    Caller(principal, _): Caller,
    Path(id): Path<i64>,
) -> Result<axum::Json<Vec<VersionView>>, AppError> {
    Ok(axum::Json(versions::list(&state.db, &principal, id).await?))
}

#[utoipa::path(
    post, path = "/applications/{id}/versions", tag = "versions",
    params(("id" = i64, Path, description = "Application id")),
    request_body(content = VersionUpload, content_type = "multipart/form-data"),
    responses(
        (status = 201, body = VersionView),
        (status = 400, description = "No name, no archive, or not a .zip/.tar.gz", body = ErrorBody),
        (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody),
        (status = 409, description = "The application already has a version of that name", body = ErrorBody),
        (status = 413, description = "The archive is larger than the server accepts", body = ErrorBody),
    )
)]
pub async fn upload(
    State(state): State<AppState>,
    Caller(principal, _): Caller,
    Path(id): Path<i64>,
    request: Request,
) -> Result<impl IntoResponse, AppError> {
    // The body is capped by `body_limit` before it gets here.
    let boundary = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| multer::parse_boundary(value).ok())
        .ok_or_else(|| {
            AppError::invalid(
                "body",
                "Send the version as multipart/form-data with the fields name and archive.",
            )
        })?;
    let multipart = multer::Multipart::new(request.into_body().into_data_stream(), boundary);
    let version = upload::receive(&state, &principal, Some(id), multipart).await?;
    Ok((StatusCode::CREATED, axum::Json(version)))
}

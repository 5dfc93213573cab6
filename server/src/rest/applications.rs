//! `/rest/applications` and their versions.

use axum::extract::{OriginalUri, Request, State};
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use serde::Deserialize;

use app::applications::ssr::{self as applications, upload, versions};
use app::applications::{ApplicationView, VersionView};
use app::error::{AppError, ErrorBody};
use app::state::AppState;

use super::caller::Caller;
use super::extract::{Json, Path, Query};
use super::paging::{PageQuery, Paged};

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

/// `?name=`: only the applications whose name contains it.
#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ApplicationFilter {
    /// Only applications whose name contains this, in any case.
    name: Option<String>,
}

#[utoipa::path(
    get, path = "/applications", tag = "applications", operation_id = "list_applications",
    params(ApplicationFilter, PageQuery),
    responses(
        (status = 200, description = "A page of the applications the caller may see, by name", body = Vec<ApplicationView>),
        (status = 401, body = ErrorBody),
    )
)]
pub async fn list(
    State(state): State<AppState>,
    Caller(principal, _): Caller,
    Query(filter): Query<ApplicationFilter>,
    Query(page): Query<PageQuery>,
    uri: OriginalUri,
) -> Result<Paged<ApplicationView>, AppError> {
    let page = applications::list(
        &state.db,
        &principal,
        filter.name.as_deref(),
        &page.request()?,
    )
    .await?;
    Ok(Paged::new(page, uri))
}

#[utoipa::path(
    post, path = "/applications", tag = "applications", operation_id = "create_application",
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
    get, path = "/applications/{id}", tag = "applications", operation_id = "get_application",
    params(("id" = i64, Path, description = "Application id")),
    responses(
        (status = 200, description = "The application", body = ApplicationView),
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
    get, path = "/applications/{id}/versions", tag = "versions", operation_id = "list_versions",
    params(("id" = i64, Path, description = "Application id"), PageQuery),
    responses(
        (status = 200, description = "A page of the versions, newest first", body = Vec<VersionView>),
        (status = 401, body = ErrorBody),
        (status = 404, description = "No such application, or not the caller's", body = ErrorBody),
    )
)]
pub async fn versions(
    State(state): State<AppState>,
    Caller(principal, _): Caller,
    Path(id): Path<i64>,
    Query(page): Query<PageQuery>,
    uri: OriginalUri,
) -> Result<Paged<VersionView>, AppError> {
    let page = versions::list(&state.db, &principal, id, &page.request()?).await?;
    Ok(Paged::new(page, uri))
}

#[utoipa::path(
    post, path = "/applications/{id}/versions", tag = "versions", operation_id = "upload_version",
    params(("id" = i64, Path, description = "Application id")),
    request_body(content = VersionUpload, content_type = "multipart/form-data"),
    responses(
        (status = 201, description = "Uploaded", body = VersionView),
        (status = 400, description = "No name, no archive, or not a .zip/.tar.gz", body = ErrorBody),
        (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody),
        (status = 409, description = "The application already has a version of that name", body = ErrorBody),
        (status = 413, description = "The archive is larger than the server accepts, or would take the uploader past their storage quota", body = ErrorBody),
        (status = 429, description = "The caller already has as many uploads under way as one user may", body = ErrorBody),
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

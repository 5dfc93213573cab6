//! Caps the bodies of the two upload routes (`POST /rest/applications/{id}/versions` and the
//! page's `/api/upload_version`) at the archive limit plus room for the multipart framing, so a
//! client cannot make the multipart parser buffer without bound (a body with no boundary, say).
//! Going past the cap ends the upload with 413 (see `applications::ssr::upload`).

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use http_body_util::Limited;

use app::applications::UploadVersion;
use app::error::AppError;
use app::state::AppState;

/// Room for the multipart framing and the small fields around the archive.
pub const MULTIPART_OVERHEAD: u64 = 64 * 1024;

pub async fn limit_uploads(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    if !is_upload(&request) {
        return next.run(request).await;
    }
    // The multipart parser needs a boundary (server_fn's panics without one): refuse the body
    // before anything reads it.
    let boundary = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| multer::parse_boundary(value).ok());
    if boundary.is_none() {
        return AppError::invalid(
            "archive",
            "Send the upload as multipart/form-data with a boundary.",
        )
        .into_response();
    }
    let limit = state.config.max_archive_bytes;
    let cap = limit.saturating_add(MULTIPART_OVERHEAD);
    let declared = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|value| value.to_str().ok()?.parse::<u64>().ok());
    if declared.is_some_and(|length| length > cap) {
        return AppError::TooLarge {
            limit_mb: limit.div_ceil(1024 * 1024),
        }
        .into_response();
    }
    let cap = usize::try_from(cap).unwrap_or(usize::MAX);
    next.run(request.map(|body| Body::new(Limited::new(body, cap))))
        .await
}

fn is_upload(request: &Request) -> bool {
    let path = request.uri().path();
    request.method() == Method::POST
        && (path == <UploadVersion as leptos::server_fn::ServerFn>::PATH
            || (path.starts_with("/rest/applications/") && path.ends_with("/versions")))
}

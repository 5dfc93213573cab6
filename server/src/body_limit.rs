//! Bounds every request body.
//!
//! - The two upload routes (`POST /rest/applications/{id}/versions` and the page's
//!   `/api/upload_version`) stream their archive; their body is capped at the archive limit plus
//!   room for the multipart framing, so a client cannot make the multipart parser buffer without
//!   bound (a body with no boundary, say). Going past the cap ends the upload with 413 (see
//!   `applications::ssr::upload`).
//! - Every other body (forms, JSON) is at most [`MAX_BODY`] and is read in full before the
//!   request is handled, 413 above. So no handler buffers an unbounded body, and a request
//!   refused early (a bad key, a cross-site form) has still been read: the client gets its answer
//!   instead of a connection reset while it is still sending.

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use http_body_util::Limited;

use app::applications::UploadVersion;
use app::error::AppError;

/// Room for the multipart framing and the small fields around the archive.
pub const MULTIPART_OVERHEAD: u64 = 64 * 1024;

/// The largest body of anything but an upload: forms and JSON are a few hundred bytes.
pub const MAX_BODY: usize = 1024 * 1024;

/// The largest archive an upload may carry (`CONSOLE_MAX_ARCHIVE_MB`): all this layer needs of
/// the settings, so no request pays for cloning the whole application state here.
#[derive(Clone, Copy)]
pub struct ArchiveLimit(pub u64);

pub async fn limit_bodies(
    State(ArchiveLimit(limit)): State<ArchiveLimit>,
    request: Request,
    next: Next,
) -> Response {
    if !is_upload(&request) {
        return read_in_full(request, next).await;
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
    let cap = limit.saturating_add(MULTIPART_OVERHEAD);
    if declared_length(&request).is_some_and(|length| length > cap) {
        return AppError::TooLarge {
            limit_mb: limit.div_ceil(1024 * 1024),
        }
        .into_response();
    }
    let cap = usize::try_from(cap).unwrap_or(usize::MAX);
    next.run(request.map(|body| Body::new(Limited::new(body, cap))))
        .await
}

/// Reads a body of at most [`MAX_BODY`] before handing the request on.
async fn read_in_full(request: Request, next: Next) -> Response {
    // Most requests (page loads, GETs) have none: nothing to read.
    if axum::body::HttpBody::is_end_stream(request.body()) {
        return next.run(request).await;
    }
    let too_large = || AppError::BodyTooLarge {
        limit_kb: MAX_BODY as u64 / 1024,
    };
    if declared_length(&request).is_some_and(|length| length > MAX_BODY as u64) {
        return too_large().into_response();
    }
    let (parts, body) = request.into_parts();
    match axum::body::to_bytes(body, MAX_BODY).await {
        Ok(bytes) => {
            next.run(Request::from_parts(parts, Body::from(bytes)))
                .await
        }
        Err(error) => {
            let over = std::error::Error::source(&error)
                .is_some_and(|source| source.is::<http_body_util::LengthLimitError>());
            if over {
                too_large().into_response()
            } else {
                AppError::invalid("body", "The request body could not be read.").into_response()
            }
        }
    }
}

fn declared_length(request: &Request) -> Option<u64> {
    request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|value| value.to_str().ok()?.parse::<u64>().ok())
}

fn is_upload(request: &Request) -> bool {
    let path = request.uri().path();
    request.method() == Method::POST
        && (path == <UploadVersion as leptos::server_fn::ServerFn>::PATH
            || (path.starts_with("/rest/applications/") && path.ends_with("/versions")))
}

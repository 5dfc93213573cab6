//! Server functions answer with the status of their error, for every caller.
//!
//! server_fn 0.8 answers every error with 500, whatever went wrong. A browser's plain form post
//! is redirected back to its page by leptos_axum regardless, but scripts and tools (anything not
//! asking for HTML) read the status: they get the one of the [`AppError`] in the body (400, 401,
//! 403, 404, 409, 413, 429, 503), as REST clients do, with `Retry-After` where it applies.

use axum::body::Body;
use axum::extract::Request;
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::Response;

use app::error::AppError;

/// Where server functions are mounted.
const PREFIX: &str = "/api/";

/// An error body is a serialised `AppError`: a few hundred bytes.
const MAX_ERROR_BODY: usize = 64 * 1024;

pub async fn status_from_error(request: Request, next: Next) -> Response {
    if !request.uri().path().starts_with(PREFIX) {
        return next.run(request).await;
    }
    let response = next.run(request).await;
    if response.status() != StatusCode::INTERNAL_SERVER_ERROR {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, MAX_ERROR_BODY).await else {
        tracing::error!("a server function's error answer could not be read");
        return Response::from_parts(parts, Body::empty());
    };
    if let Ok(error) = serde_json::from_slice::<AppError>(&bytes) {
        parts.status =
            StatusCode::from_u16(error.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        if let Some(seconds) = error.retry_after_secs() {
            parts
                .headers
                .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
    }
    Response::from_parts(parts, Body::from(bytes))
}

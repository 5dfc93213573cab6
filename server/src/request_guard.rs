//! Requests the console never serves are answered before they reach a handler, and a panic
//! anywhere still gets an answer.
//!
//! Policy: nothing a client sends may panic the server or leave a request unanswered. Leptos'
//! handlers assume an origin-form URI (`CONNECT host:22` has none and made them panic), and the
//! static file service turns a file name the file system refuses ("File name too long", for a
//! segment or for the whole path) into a 500. Both are the client's doing, so they get a 4xx
//! here. [`panicked`] is the last line: a panic that slips through is logged as the bug it is and
//! answered 500 without detail.

use std::any::Any;

use axum::body::Body;
use axum::extract::Request;
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

/// Longer path segments than any file system accepts as a name.
const MAX_SEGMENT: usize = 255;

/// Far longer than any console path, and short of the file system's limit on a whole path.
const MAX_PATH: usize = 2048;

pub async fn reject_unservable(request: Request, next: Next) -> Response {
    if matches!(*request.method(), Method::CONNECT | Method::TRACE) {
        let mut response = (StatusCode::METHOD_NOT_ALLOWED, "Method not allowed\n").into_response();
        response.headers_mut().insert(
            header::ALLOW,
            HeaderValue::from_static("GET, HEAD, POST, OPTIONS"),
        );
        return response;
    }
    if request.uri().path_and_query().is_none() || !request.uri().path().starts_with('/') {
        return (StatusCode::BAD_REQUEST, "Bad request target\n").into_response();
    }
    if request.uri().path().len() > MAX_PATH {
        return (StatusCode::URI_TOO_LONG, "URI too long\n").into_response();
    }
    if request
        .uri()
        .path()
        .split('/')
        .any(|segment| segment.len() > MAX_SEGMENT)
    {
        return (StatusCode::NOT_FOUND, "Not found\n").into_response();
    }
    next.run(request).await
}

/// The answer to a request whose handler panicked (see `tower_http::catch_panic`).
pub fn panicked(panic: Box<dyn Any + Send + 'static>) -> Response<Body> {
    let message = panic
        .downcast_ref::<String>()
        .map(String::as_str)
        .or_else(|| panic.downcast_ref::<&str>().copied())
        .unwrap_or("(no message)");
    tracing::error!(panic = message, "bug: a request handler panicked");
    app::error::AppError::Internal.into_response()
}

//! Headers every answer carries, set in one place.
//!
//! - `Content-Security-Policy` ([`app::http::content_security_policy`]; pages send their own
//!   with the nonce of their inline script, every other answer gets it without) and
//!   `X-Frame-Options: DENY`.
//! - `X-Content-Type-Options: nosniff`.
//! - `Referrer-Policy: same-origin`: no referrer to other sites, so an unsubscribe token in a
//!   URL never leaks; same-origin posts still carry the `Origin` the CSRF check compares.
//! - `Strict-Transport-Security` when the public URL is https.
//! - `Cache-Control: no-store` unless the answer says otherwise (only the hashed `/pkg` bundle
//!   does): pages, server-function and REST answers are per user, and some carry secrets.

use axum::extract::{Request, State};
use axum::http::{HeaderValue, header};
use axum::middleware::Next;
use axum::response::Response;

/// For answers that are not pages.
static CSP: std::sync::LazyLock<HeaderValue> = std::sync::LazyLock::new(|| {
    HeaderValue::from_str(&app::http::content_security_policy(None))
        .unwrap_or_else(|_| HeaderValue::from_static("default-src 'self'"))
});

/// Whether the console is served over https (`CONSOLE_PUBLIC_URL`), which turns on HSTS.
#[derive(Clone, Copy)]
pub struct Https(pub bool);

pub async fn add(State(Https(https)): State<Https>, request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    headers
        .entry(header::CACHE_CONTROL)
        .or_insert(HeaderValue::from_static("no-store"));
    headers
        .entry(header::CONTENT_SECURITY_POLICY)
        .or_insert_with(|| CSP.clone());
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    if https {
        headers.insert(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static("max-age=31536000"),
        );
    }
    response
}

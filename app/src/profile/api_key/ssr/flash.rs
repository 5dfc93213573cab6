//! Showing a freshly generated key on the page after the Generate form post.
//!
//! A script caller gets the key in the server function's answer. A form post is answered with a
//! redirect instead, so the key rides along in a short-lived `HttpOnly`, `SameSite=Strict` cookie
//! scoped to `/profile`. The [`take_flashed_key`] middleware removes it from the next request to
//! `/profile`, clears it in the browser and marks that response `no-store`, so it is shown exactly
//! once. The page shows it only if it matches the stored digest. The key is never stored on the
//! server.

use axum::extract::Request;
use axum::http::{HeaderValue, header};
use axum::middleware::Next;
use axum::response::Response;
use tower_sessions::cookie::{Cookie, SameSite, time::Duration};

use super::ApiKey;

const COOKIE: &str = "console_new_api_key";
const PATH: &str = "/profile";

/// A key flashed by the previous request, for the page being rendered.
#[derive(Clone)]
pub struct FlashedKey(pub String);

/// The flash cookie holding `value`, kept for `max_age`.
fn cookie(value: &str, max_age: Duration) -> Cookie<'_> {
    Cookie::build((COOKIE, value))
        .path(PATH)
        .max_age(max_age)
        .http_only(true)
        .same_site(SameSite::Strict)
        .build()
}

/// Hands `key` to the next page load of `/profile` (plain form posts only).
pub fn flash_key(key: &ApiKey, secure: bool) {
    let mut flashed = cookie(key.expose(), Duration::seconds(120));
    flashed.set_secure(secure);
    if let (Some(response), Ok(value)) = (
        leptos::prelude::use_context::<leptos_axum::ResponseOptions>(),
        HeaderValue::from_str(&flashed.to_string()),
    ) {
        response.append_header(header::SET_COOKIE, value);
    }
}

/// Middleware: moves a flashed key from the request's cookies into its extensions (as
/// [`FlashedKey`]) and tells the browser to forget it.
pub async fn take_flashed_key(mut request: Request, next: Next) -> Response {
    let flashed = crate::http::request_cookie(request.headers(), COOKIE)
        .and_then(|cookie| ApiKey::parse(cookie.value().as_bytes()));
    let Some(key) = flashed else {
        return next.run(request).await;
    };
    request
        .extensions_mut()
        .insert(FlashedKey(key.expose().to_owned()));
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    if let Ok(forget) = HeaderValue::from_str(&cookie("", Duration::ZERO).to_string()) {
        headers.append(header::SET_COOKIE, forget);
    }
    // The page holds the secret: never from a cache, never again from the back button.
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// The key flashed to the page being rendered, if any.
pub fn flashed_key() -> Option<String> {
    leptos::prelude::use_context::<axum::http::request::Parts>()
        .and_then(|parts| parts.extensions.get::<FlashedKey>().cloned())
        .map(|FlashedKey(key)| key)
}

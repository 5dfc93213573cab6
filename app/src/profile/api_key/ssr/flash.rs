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

use super::ApiKey;

const COOKIE: &str = "console_new_api_key";
const PATH: &str = "/profile";

/// A key flashed by the previous request, for the page being rendered.
#[derive(Clone)]
pub struct FlashedKey(pub String);

/// Hands `key` to the next page load of `/profile` (plain form posts only).
pub fn flash_key(key: &ApiKey, secure: bool) {
    let secure = if secure { "; Secure" } else { "" };
    let cookie = format!(
        "{COOKIE}={}; Path={PATH}; Max-Age=120; HttpOnly; SameSite=Strict{secure}",
        key.expose()
    );
    if let (Some(response), Ok(value)) = (
        leptos::prelude::use_context::<leptos_axum::ResponseOptions>(),
        HeaderValue::from_str(&cookie),
    ) {
        response.append_header(header::SET_COOKIE, value);
    }
}

/// Middleware: moves a flashed key from the request's cookies into its extensions (as
/// [`FlashedKey`]) and tells the browser to forget it.
pub async fn take_flashed_key(mut request: Request, next: Next) -> Response {
    let flashed = request
        .headers()
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|cookies| cookies.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == COOKIE)
        .and_then(|(_, value)| ApiKey::parse(value.as_bytes()));
    let Some(key) = flashed else {
        return next.run(request).await;
    };
    request
        .extensions_mut()
        .insert(FlashedKey(key.expose().to_owned()));
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    headers.append(
        header::SET_COOKIE,
        HeaderValue::from_static(
            "console_new_api_key=; Path=/profile; Max-Age=0; HttpOnly; SameSite=Strict",
        ),
    );
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

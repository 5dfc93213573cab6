//! Helpers for server functions that must also serve plain HTML forms (before hydration).

use axum::http::{HeaderMap, header};

/// Whether the current server-function call came from a plain form post rather than from a
/// script (an island or a tool, which ask for JSON).
pub fn is_plain_form_post() -> bool {
    leptos::prelude::use_context::<axum::http::request::Parts>()
        .is_some_and(|parts| accepts_html(&parts.headers))
}

/// After a plain form post, sends the browser to `path` (instead of back to the referring page).
/// Script callers handle the result themselves, so they get no redirect.
pub fn redirect_plain_form_to(path: &str) {
    if is_plain_form_post() {
        leptos_axum::redirect(path);
    }
}

fn accepts_html(headers: &HeaderMap) -> bool {
    headers
        .get(header::ACCEPT)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|accept| accept.contains("text/html"))
}

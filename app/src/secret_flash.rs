//! Showing a secret the server just made — a new API key, a temporary password — on the page a
//! plain form post returns to, exactly once.
//!
//! A script caller gets the secret in the server function's answer. A form post is answered
//! with a redirect instead, so the secret rides along in a short-lived `HttpOnly`,
//! `SameSite=Strict` cookie scoped to the one page that shows it. The [`take`] middleware
//! removes it from the next request to that page, clears it in the browser and marks that
//! response `no-store`, so it is shown once. Pages check a flashed secret against what is stored
//! before showing it. Nothing of it is stored on the server.

use axum::extract::Request;
use axum::http::{HeaderValue, header};
use axum::middleware::Next;
use axum::response::Response;
use tower_sessions::cookie::{Cookie, SameSite, time::Duration};

/// A kind of secret, with where it is shown.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Secret {
    /// A freshly generated API key, for `/profile`.
    NewApiKey,
    /// `username:password` of a reset account, for `/admin`.
    TemporaryPassword,
}

impl Secret {
    const ALL: [Self; 2] = [Self::NewApiKey, Self::TemporaryPassword];

    fn cookie_name(self) -> &'static str {
        match self {
            Self::NewApiKey => "console_new_api_key",
            Self::TemporaryPassword => "console_temporary_password",
        }
    }

    fn path(self) -> &'static str {
        match self {
            Self::NewApiKey => "/profile",
            Self::TemporaryPassword => "/admin",
        }
    }

    /// The cookie holding `value`, kept for `max_age`.
    fn cookie(self, value: &str, max_age: Duration) -> Cookie<'_> {
        Cookie::build((self.cookie_name(), value))
            .path(self.path())
            .max_age(max_age)
            .http_only(true)
            .same_site(SameSite::Strict)
            .build()
    }
}

/// Whether a cookie's value can be one of ours: short, of the characters keys, usernames and
/// passwords are made of. The page that shows it checks it against what is stored.
fn well_formed(value: &str) -> bool {
    !value.is_empty()
        && value.len() <= 200
        && value
            .bytes()
            .all(|byte| byte.is_ascii_alphanumeric() || matches!(byte, b'.' | b'_' | b'-' | b':'))
}

/// What [`take`] found in the request: at most one per kind.
#[derive(Clone, Debug, Default)]
struct Flashed(Vec<(Secret, String)>);

/// Hands `value` to the next page load of `secret`'s page (plain form posts only).
pub fn flash(secret: Secret, value: &str, secure: bool) {
    let mut flashed = secret.cookie(value, Duration::seconds(120));
    flashed.set_secure(secure);
    if let (Some(response), Ok(value)) = (
        leptos::prelude::use_context::<leptos_axum::ResponseOptions>(),
        HeaderValue::from_str(&flashed.to_string()),
    ) {
        response.append_header(header::SET_COOKIE, value);
    }
}

/// Middleware: moves flashed secrets from the request's cookies into its extensions and tells
/// the browser to forget them.
pub async fn take(mut request: Request, next: Next) -> Response {
    let found: Vec<(Secret, String)> = Secret::ALL
        .into_iter()
        .filter_map(|secret| {
            let cookie = crate::http::request_cookie(request.headers(), secret.cookie_name())?;
            let value = cookie.value().to_owned();
            well_formed(&value).then_some((secret, value))
        })
        .collect();
    if found.is_empty() {
        return next.run(request).await;
    }
    let kinds: Vec<Secret> = found.iter().map(|(secret, _)| *secret).collect();
    request.extensions_mut().insert(Flashed(found));
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    for secret in kinds {
        if let Ok(forget) = HeaderValue::from_str(&secret.cookie("", Duration::ZERO).to_string()) {
            headers.append(header::SET_COOKIE, forget);
        }
    }
    // The page holds the secret: never from a cache, never again from the back button.
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// The `secret` flashed to the page being rendered, if any.
pub fn flashed(secret: Secret) -> Option<String> {
    leptos::prelude::use_context::<axum::http::request::Parts>().and_then(|parts| {
        let Flashed(found) = parts.extensions.get::<Flashed>()?;
        found
            .iter()
            .find(|(kind, _)| *kind == secret)
            .map(|(_, value)| value.clone())
    })
}

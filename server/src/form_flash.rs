//! Carries the outcome of a plain form post to the next page load, never through the URL (what
//! pages do with it: [`app::forms`]).
//!
//! - A browser's plain post to a server function (`POST /api/…` asking for HTML) is answered by
//!   server_fn with a redirect back to the form's page, a failure encoded in that URL
//!   (`__path`, `__err`). Here the failure is taken out of the `Location` and put, with the
//!   fields as typed (passwords left out), into a signed cookie that lives a minute. A success
//!   gets the same cookie without an error, so the page can say so.
//! - The next page load takes the cookie: the [`Flash`] goes into the request's extensions for
//!   the page, the browser is told to forget it, and that answer is never cached. A reload shows
//!   nothing again.
//! - A page URL carrying `__path` or `__err` (a crafted link, an old bookmark) is redirected to
//!   itself without them: Leptos would show their text as the form's genuine error.
//!
//! Multipart forms (the upload) cannot be read here without buffering the archive: their handler
//! records its text fields itself ([`app::forms::record_field`]).

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use cookie::{Cookie, CookieJar, SameSite};
use serde::{Deserialize, Serialize};

use app::error::AppError;
use app::forms::{Flash, Submitted, is_kept};
use app::http::{accepts_html, request_cookie};

use crate::body_limit::MAX_BODY;

const COOKIE: &str = "console_flash";

/// How long a flash waits for the page load it is meant for.
const LIFETIME_SECS: i64 = 60;

/// Browsers drop a cookie over 4 KB: past this, the values are left out (the error is kept).
const MAX_COOKIE_BYTES: usize = 3800;

/// The key flash cookies are signed with, derived from the server's secret.
#[derive(Clone)]
pub struct FlashKey(cookie::Key);

impl FlashKey {
    pub fn derive(secret: &[u8]) -> Self {
        use hmac::{Hmac, Mac};
        // A key of its own, so a flash can never pass for anything else the secret signs.
        let mut mac = Hmac::<sha2::Sha256>::new_from_slice(secret)
            .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
        mac.update(b"console/form-flash/v1");
        Self(cookie::Key::derive_from(&mac.finalize().into_bytes()))
    }
}

/// What the cookie holds: the flash, when it was made, and for which browser session (a digest
/// of its cookie), so a flash planted from elsewhere is not shown.
#[derive(Serialize, Deserialize)]
struct Sealed {
    at: i64,
    session: String,
    flash: Flash,
}

/// Stands in for a missing `Referer`: server_fn can only encode a failure into an absolute URL,
/// and without one it answers a failure as if it were a success.
const NO_REFERER: &str = "http://referer.invalid/";

/// A digest of the request's session cookie ("" without one).
fn session_of(headers: &HeaderMap) -> String {
    use sha2::Digest;
    let session = request_cookie(headers, crate::startup::SESSION_COOKIE)
        .map(|cookie| cookie.value().to_owned())
        .unwrap_or_default();
    let digest = sha2::Sha256::digest(session.as_bytes());
    digest
        .iter()
        .take(16)
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

/// The middleware; its state says whether cookies must be `Secure`.
pub async fn carry(
    State((key, secure)): State<(FlashKey, bool)>,
    request: Request,
    next: Next,
) -> Response {
    if request.method() == Method::POST
        && request.uri().path().starts_with("/api/")
        && accepts_html(request.headers())
    {
        return after_post(&key, secure, request, next).await;
    }
    let page = !["/api/", "/rest/", "/pkg/"]
        .iter()
        .any(|prefix| request.uri().path().starts_with(prefix));
    if request.method() == Method::GET && page && accepts_html(request.headers()) {
        if let Some(clean) = without_error_params(request.uri()) {
            return Redirect::to(&clean).into_response();
        }
        return page_load(&key, request, next).await;
    }
    next.run(request).await
}

async fn after_post(key: &FlashKey, secure: bool, request: Request, next: Next) -> Response {
    let form = request.uri().path().to_owned();
    let session = session_of(request.headers());
    let submitted = Submitted::default();
    let (mut parts, body) = request.into_parts();
    if !parts.headers.contains_key(header::REFERER) {
        parts
            .headers
            .insert(header::REFERER, HeaderValue::from_static(NO_REFERER));
    }
    let body = if is_urlencoded(&parts.headers) {
        // Already read in full and bounded by `body_limit`.
        let Ok(bytes) = axum::body::to_bytes(body, MAX_BODY).await else {
            return AppError::BodyTooLarge {
                limit_kb: (MAX_BODY / 1024) as u64,
            }
            .into_response();
        };
        for (name, value) in form_urlencoded::parse(&bytes) {
            submitted.record(&name, &value);
        }
        Body::from(bytes)
    } else {
        body
    };
    parts.extensions.insert(submitted.clone());
    let mut response = next.run(Request::from_parts(parts, body)).await;

    if !response.status().is_redirection() {
        return response;
    }
    let Some(location) = response
        .headers()
        .get(header::LOCATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.parse::<Uri>().ok())
    else {
        return response;
    };
    // server_fn appends its own after any the page's address carried: the last one.
    let error = query_pairs(&location)
        .filter(|(name, _)| name == "__err")
        .last()
        .map(|(_, encoded)| {
            leptos::server_fn::error::ServerFnUrlError::<AppError>::decode_err(&encoded)
        });
    // Back to the page without the error in its address (and as a path: on this site).
    let clean = without_error_params(&location)
        .or_else(|| (location == NO_REFERER).then(|| "/".to_owned()));
    if let Some(clean) = clean
        && let Ok(value) = HeaderValue::from_str(&clean)
    {
        response.headers_mut().insert(header::LOCATION, value);
    }
    let values = if error.is_some() {
        submitted.fields()
    } else {
        Vec::new()
    };
    let flash = Flash {
        form,
        error,
        values,
    };
    if let Some(cookie) = seal(key, secure, &session, flash)
        && let Ok(value) = HeaderValue::from_str(&cookie.encoded().to_string())
    {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
    *response.status_mut() = StatusCode::SEE_OTHER;
    response
}

async fn page_load(key: &FlashKey, mut request: Request, next: Next) -> Response {
    let Some(flash) = request_cookie(request.headers(), COOKIE) else {
        return next.run(request).await;
    };
    if let Some(flash) = open(key, &session_of(request.headers()), flash) {
        request.extensions_mut().insert(flash);
    }
    let mut response = next.run(request).await;
    let forget = Cookie::build((COOKIE, ""))
        .path("/")
        .max_age(cookie::time::Duration::ZERO)
        .build();
    if let Ok(value) = HeaderValue::from_str(&forget.to_string()) {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// The signed cookie carrying `flash`; values are dropped if they would make it too large.
fn seal(key: &FlashKey, secure: bool, session: &str, mut flash: Flash) -> Option<Cookie<'static>> {
    flash.values.retain(|(name, value)| is_kept(name, value));
    let sealed = |flash: &Flash| {
        let json = serde_json::to_string(&Sealed {
            at: now(),
            session: session.to_owned(),
            flash: flash.clone(),
        })
        .ok()?;
        let cookie = Cookie::build((COOKIE, json))
            .path("/")
            .max_age(cookie::time::Duration::seconds(LIFETIME_SECS))
            .http_only(true)
            .same_site(SameSite::Lax)
            .secure(secure)
            .build();
        let mut jar = CookieJar::new();
        jar.signed_mut(&key.0).add(cookie);
        jar.delta().next().cloned()
    };
    let cookie = sealed(&flash)?;
    // Measured as sent: percent-encoding can triple what the JSON weighs.
    if cookie.encoded().to_string().len() <= MAX_COOKIE_BYTES {
        return Some(cookie);
    }
    flash.values.clear();
    sealed(&flash).filter(|cookie| cookie.encoded().to_string().len() <= MAX_COOKIE_BYTES)
}

/// The flash in `cookie`, if it is genuine and fresh.
fn open(key: &FlashKey, session: &str, cookie: Cookie<'static>) -> Option<Flash> {
    let mut jar = CookieJar::new();
    jar.add_original(cookie);
    let verified = jar.signed(&key.0).get(COOKIE)?;
    let sealed: Sealed = serde_json::from_str(verified.value()).ok()?;
    let age = now() - sealed.at;
    ((0..=LIFETIME_SECS).contains(&age) && sealed.session == session).then_some(sealed.flash)
}

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

fn query_pairs(uri: &Uri) -> impl Iterator<Item = (String, String)> + '_ {
    form_urlencoded::parse(uri.query().unwrap_or_default().as_bytes())
        .map(|(name, value)| (name.into_owned(), value.into_owned()))
}

/// `uri`'s path and query without `__path` and `__err`, if it had either.
fn without_error_params(uri: &Uri) -> Option<String> {
    let is_error_param = |name: &str| name == "__path" || name == "__err";
    if !query_pairs(uri).any(|(name, _)| is_error_param(&name)) {
        return None;
    }
    let kept: Vec<(String, String)> = query_pairs(uri)
        .filter(|(name, _)| !is_error_param(name))
        .collect();
    // `//host/…` is another site to a browser: such a path goes home instead.
    let path = match uri.path() {
        path if path.starts_with("//") || path.starts_with("/\\") => "/",
        path => path,
    };
    if kept.is_empty() {
        return Some(path.to_owned());
    }
    let query = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(kept)
        .finish();
    Some(format!("{path}?{query}"))
}

fn is_urlencoded(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| value.starts_with("application/x-www-form-urlencoded"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> FlashKey {
        FlashKey::derive(&[7; 32])
    }

    fn failed() -> Flash {
        Flash {
            form: "/api/update_email_settings".into(),
            error: Some(AppError::invalid("email", "Not an address.")),
            values: vec![
                ("email".into(), "nope".into()),
                ("password".into(), "hunter22".into()),
                ("__path".into(), "x".into()),
            ],
        }
    }

    fn reopened(cookie: &Cookie<'_>, key: &FlashKey) -> Option<Flash> {
        // As the browser sends it back, in the same session.
        let sent = Cookie::parse_encoded(cookie.encoded().to_string()).unwrap();
        open(key, "session", sent.into_owned())
    }

    #[test]
    fn a_flash_comes_back_without_secrets_and_only_with_its_key() {
        let cookie = seal(&key(), true, "session", failed()).unwrap();
        assert!(cookie.http_only() == Some(true) && cookie.secure() == Some(true));
        assert!(!cookie.value().contains("hunter22"));
        let flash = reopened(&cookie, &key()).unwrap();
        assert_eq!(flash.values, vec![("email".to_owned(), "nope".to_owned())]);
        assert_eq!(flash.error, failed().error);
        assert_eq!(reopened(&cookie, &FlashKey::derive(&[8; 32])), None);
    }

    #[test]
    fn a_tampered_or_stale_flash_is_ignored() {
        let cookie = seal(&key(), false, "session", failed()).unwrap();
        let tampered = Cookie::new(COOKIE, cookie.value().replace("Not an", "Now an"));
        assert_eq!(reopened(&tampered, &key()), None);

        let stale = serde_json::to_string(&Sealed {
            at: now() - LIFETIME_SECS - 1,
            session: "session".into(),
            flash: failed(),
        })
        .unwrap();
        let mut jar = CookieJar::new();
        jar.signed_mut(&key().0).add(Cookie::new(COOKIE, stale));
        let stale = jar.delta().next().cloned().unwrap();
        assert_eq!(reopened(&stale, &key()), None);
    }

    #[test]
    fn values_that_would_overflow_the_cookie_are_dropped_but_the_error_kept() {
        let mut flash = failed();
        flash.values = (0..10)
            .map(|n| (format!("field{n}"), "x".repeat(900)))
            .collect();
        flash.values.push(("long".into(), "y".repeat(1001)));
        let cookie = seal(&key(), false, "session", flash).unwrap();
        assert!(cookie.encoded().to_string().len() <= MAX_COOKIE_BYTES);
        let flash = reopened(&cookie, &key()).unwrap();
        assert!(flash.values.is_empty());
        assert!(flash.error.is_some());
    }

    #[test]
    fn the_size_is_measured_as_the_cookie_is_sent() {
        // Under the limit as JSON (2 bytes per "é"), over it once percent-encoded (6 bytes).
        let mut flash = failed();
        flash.values = (0..3)
            .map(|n| (format!("field{n}"), "é".repeat(250)))
            .collect();
        let json = serde_json::to_string(&flash).unwrap();
        assert!(json.len() < MAX_COOKIE_BYTES, "{}", json.len());
        let cookie = seal(&key(), false, "session", flash).unwrap();
        assert!(cookie.encoded().to_string().len() <= MAX_COOKIE_BYTES);
        let flash = reopened(&cookie, &key()).unwrap();
        assert!(flash.values.is_empty() && flash.error.is_some());
    }

    #[test]
    fn a_flash_from_another_session_is_not_shown() {
        let cookie = seal(&key(), false, "session", failed()).unwrap();
        let sent = Cookie::parse_encoded(cookie.encoded().to_string()).unwrap();
        assert_eq!(open(&key(), "another", sent.into_owned()), None);
    }

    #[test]
    fn error_parameters_are_cut_from_addresses() {
        let uri: Uri = "http://h/profile?a=1&__path=/api/x&__err=e30&b=%2F"
            .parse()
            .unwrap();
        assert_eq!(
            without_error_params(&uri).as_deref(),
            Some("/profile?a=1&b=%2F")
        );
        let uri: Uri = "/signin?__err=e30".parse().unwrap();
        assert_eq!(without_error_params(&uri).as_deref(), Some("/signin"));
        let uri: Uri = "/signin?next=%2Fapplications".parse().unwrap();
        assert_eq!(without_error_params(&uri), None);
        // Never to another site.
        for evil in ["//evil.example/?__err=e30", "/\\evil.example/?__err=e30"] {
            let uri: Uri = evil.parse().unwrap();
            assert_eq!(without_error_params(&uri).as_deref(), Some("/"), "{evil}");
        }
    }
}

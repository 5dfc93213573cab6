//! Cross-site request forgery defence for cookie-authenticated requests.
//!
//! Policy: a state-changing request (anything but GET/HEAD/OPTIONS) that a browser marks as
//! cross-site — `Sec-Fetch-Site: cross-site`, or an `Origin` whose host differs from `Host` — is
//! refused with 403. Requests that authenticate with `X-API-KEY` or `Authorization` carry no
//! ambient credentials and are exempt, so are tools that send neither header. The session cookie
//! is also `SameSite=Lax`, which keeps it off cross-site posts in the first place.

use axum::extract::Request;
use axum::http::{HeaderMap, Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use app::error::AppError;

/// The header third-party tools authenticate with.
pub const API_KEY_HEADER: &str = "x-api-key";

pub async fn reject_cross_site(request: Request, next: Next) -> Response {
    let safe = matches!(
        *request.method(),
        Method::GET | Method::HEAD | Method::OPTIONS
    );
    let headers = request.headers();
    let token_auth =
        headers.contains_key(API_KEY_HEADER) || headers.contains_key(header::AUTHORIZATION);
    if !safe && !token_auth && is_cross_site(headers) {
        return AppError::CrossSite.into_response();
    }
    next.run(request).await
}

fn is_cross_site(headers: &HeaderMap) -> bool {
    let text = |name| {
        headers
            .get(name)
            .and_then(|value: &header::HeaderValue| value.to_str().ok())
    };
    if text("sec-fetch-site") == Some("cross-site") {
        return true;
    }
    match (text(header::ORIGIN.as_str()), text(header::HOST.as_str())) {
        (Some("null"), _) => true,
        (Some(origin), Some(host)) => origin_host(origin) != Some(host),
        (Some(_), None) => true,
        (None, _) => false,
    }
}

/// `host[:port]` of an origin such as `https://console.example:8443`.
fn origin_host(origin: &str) -> Option<&str> {
    origin
        .split_once("://")
        .map(|(_, rest)| rest.trim_end_matches('/'))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.insert(*name, value.parse().unwrap());
        }
        map
    }

    #[test]
    fn same_origin_and_headerless_requests_pass() {
        assert!(!is_cross_site(&headers(&[
            ("host", "127.0.0.1:3000"),
            ("origin", "http://127.0.0.1:3000")
        ])));
        assert!(!is_cross_site(&headers(&[("host", "127.0.0.1:3000")])));
        assert!(!is_cross_site(&headers(&[(
            "sec-fetch-site",
            "same-origin"
        )])));
    }

    #[test]
    fn foreign_origins_are_cross_site() {
        assert!(is_cross_site(&headers(&[
            ("host", "127.0.0.1:3000"),
            ("origin", "https://evil.example")
        ])));
        assert!(is_cross_site(&headers(&[
            ("host", "127.0.0.1:3000"),
            ("origin", "null")
        ])));
        assert!(is_cross_site(&headers(&[("sec-fetch-site", "cross-site")])));
    }
}

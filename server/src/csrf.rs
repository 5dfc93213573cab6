//! Cross-site request forgery defence for cookie-authenticated requests.
//!
//! Policy: a state-changing request (anything but GET/HEAD/OPTIONS) that a browser marks as
//! cross-site — `Sec-Fetch-Site: cross-site`, or an `Origin` whose host differs from the one it
//! was sent to — is refused with 403. REST requests carrying `X-API-KEY` are exempt: a browser
//! cannot attach that header cross-site without a CORS preflight we never grant, and a key is no
//! ambient credential; REST then decides by the key alone. Only REST: elsewhere (server
//! functions, forms) the header is not what authenticates, so it must not lift the check. (`Authorization` is not exempt: browsers replay cached Basic credentials.) Tools
//! send no `Origin`/`Sec-Fetch-Site`, so they pass. The session cookie is also `SameSite=Lax`,
//! which keeps it off cross-site posts in the first place.
//!
//! When the console is served over https (`CONSOLE_PUBLIC_URL` is `https://…`), an origin must be
//! https too: a page of the same host over plain http (which anyone on the network can write) is
//! another origin. Without a public URL the scheme is unknown here (a TLS proxy may be in front)
//! and only the host is compared.

use axum::extract::{Request, State};
use axum::http::{HeaderMap, Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use app::error::AppError;

/// The header third-party tools authenticate with.
pub const API_KEY_HEADER: &str = "x-api-key";

/// Whether the console is served over https ([`crate::settings::Settings::secure_cookies`]).
#[derive(Clone, Copy, Debug)]
pub struct Https(pub bool);

pub async fn reject_cross_site(
    State(Https(https)): State<Https>,
    request: Request,
    next: Next,
) -> Response {
    let safe = matches!(
        *request.method(),
        Method::GET | Method::HEAD | Method::OPTIONS
    );
    let headers = request.headers();
    // HTTP/1.1 names the target in `Host`, HTTP/2 in the URI's authority.
    let target = request
        .uri()
        .authority()
        .map(|authority| authority.as_str());
    // RFC 8058 one-click unsubscribe: mail clients post from anywhere, and the signed token in
    // the path is the only credential (no cookie is looked at).
    let token_authorised = request.uri().path().starts_with("/unsubscribe/");
    // REST decides by the key alone, wherever the request comes from.
    let key_authorised =
        request.uri().path().starts_with("/rest/") && headers.contains_key(API_KEY_HEADER);
    if !safe && !token_authorised && !key_authorised && is_cross_site(headers, target, https) {
        return AppError::CrossSite.into_response();
    }
    next.run(request).await
}

fn is_cross_site(headers: &HeaderMap, target: Option<&str>, https: bool) -> bool {
    let text = |name: header::HeaderName| headers.get(name).and_then(|value| value.to_str().ok());
    if headers
        .get("sec-fetch-site")
        .is_some_and(|value| value == "cross-site")
    {
        return true;
    }
    match (text(header::ORIGIN), text(header::HOST).or(target)) {
        (Some("null"), _) => true,
        (Some(origin), Some(host)) => {
            origin_host(origin) != Some(host) || (https && !origin.starts_with("https://"))
        }
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
        let same = headers(&[
            ("host", "127.0.0.1:3000"),
            ("origin", "http://127.0.0.1:3000"),
        ]);
        assert!(!is_cross_site(&same, None, false));
        assert!(!is_cross_site(
            &headers(&[("host", "127.0.0.1:3000")]),
            None,
            false
        ));
        assert!(!is_cross_site(
            &headers(&[("sec-fetch-site", "same-origin")]),
            None,
            false
        ));
        // HTTP/2: no Host header, the authority comes from the URI.
        let h2 = headers(&[("origin", "https://console.example")]);
        assert!(!is_cross_site(&h2, Some("console.example"), true));
    }

    #[test]
    fn foreign_origins_are_cross_site() {
        let foreign = headers(&[
            ("host", "127.0.0.1:3000"),
            ("origin", "https://evil.example"),
        ]);
        assert!(is_cross_site(&foreign, None, false));
        let opaque = headers(&[("host", "127.0.0.1:3000"), ("origin", "null")]);
        assert!(is_cross_site(&opaque, None, false));
        assert!(is_cross_site(
            &headers(&[("sec-fetch-site", "cross-site")]),
            None,
            false
        ));
        let h2 = headers(&[("origin", "https://evil.example")]);
        assert!(is_cross_site(&h2, Some("console.example"), true));
    }

    #[test]
    fn on_https_a_plain_http_origin_of_the_same_host_is_cross_site() {
        let plain = headers(&[
            ("host", "console.example"),
            ("origin", "http://console.example"),
        ]);
        assert!(is_cross_site(&plain, None, true));
        // Where the scheme is not known (no https public URL), only the host is compared.
        assert!(!is_cross_site(&plain, None, false));
        let secure = headers(&[
            ("host", "console.example"),
            ("origin", "https://console.example"),
        ]);
        assert!(!is_cross_site(&secure, None, true));
    }
}

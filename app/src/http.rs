//! HTTP policy shared by pages and the server: the Content-Security-Policy, how times are
//! written ([`timestamp`]), who the client is ([`ClientAddr`]), and helpers for server functions
//! that must also serve plain HTML forms (before hydration).

use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use axum::extract::ConnectInfo;
use axum::http::request::Parts;
use axum::http::{HeaderMap, header};
use chrono::{DateTime, Utc};

/// RFC 3339, UTC, whole seconds: how every time leaves the server.
pub fn timestamp(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// The client's address: the socket's peer, or, when that peer is a trusted reverse proxy, the
/// address it forwarded. The server resolves it once per request (`server/src/client_addr.rs`);
/// throttles, "last used from", the audit rows and the logs all read this one value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ClientAddr(pub IpAddr);

/// The client address of a request: [`ClientAddr`] when the server resolved it, else the
/// socket's peer (unspecified when neither is known, as in a request built by hand).
pub fn client_addr(parts: &Parts) -> IpAddr {
    if let Some(ClientAddr(address)) = parts.extensions.get::<ClientAddr>() {
        return *address;
    }
    parts
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |ConnectInfo(peer)| {
            peer.ip().to_canonical()
        })
}

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

/// The Content-Security-Policy of every answer; a page passes the nonce its inline scripts carry.
///
/// Everything comes from the console itself (`default-src 'self'`): no other site may frame a
/// page (two clicks in a frame once deleted a user's API key), no plug-ins, no `<base>`, forms
/// post only here. A page's scripts are the bundle under `/pkg` and the one inline island loader
/// with this response's nonce, which `import()`s the bundle and compiles its WebAssembly
/// (`'wasm-unsafe-eval'`); no other inline script or `eval` runs.
pub fn content_security_policy(nonce: Option<&str>) -> String {
    const BASE: &str = "default-src 'self'; frame-ancestors 'none'; object-src 'none'; \
                        base-uri 'none'; form-action 'self'";
    match nonce {
        Some(nonce) => {
            format!("{BASE}; script-src 'self' 'nonce-{nonce}' 'wasm-unsafe-eval'")
        }
        None => format!("{BASE}; script-src 'self' 'wasm-unsafe-eval'"),
    }
}

/// The CSP source that allows exactly the inline `<style>` element holding `style`
/// (`'sha256-…'`), for the few answers rendered without the console's stylesheet.
pub fn style_source(style: &str) -> String {
    use base64::Engine;
    use sha2::Digest;
    let digest = sha2::Sha256::digest(style.as_bytes());
    format!(
        "'sha256-{}'",
        base64::engine::general_purpose::STANDARD.encode(digest)
    )
}

/// Sends the page being rendered with [`content_security_policy`] for its nonce (Leptos makes one
/// per request and puts it on the scripts it writes).
pub fn send_page_content_security_policy() {
    let nonce = leptos::nonce::use_nonce();
    let response = leptos::prelude::use_context::<leptos_axum::ResponseOptions>();
    if let (Some(nonce), Some(response)) = (nonce, response)
        && let Ok(value) = header::HeaderValue::from_str(&content_security_policy(Some(&nonce)))
    {
        response.insert_header(header::CONTENT_SECURITY_POLICY, value);
    }
}

/// The cookie `name` a request carries (the first, if it carries several), percent-decoded.
pub fn request_cookie(
    headers: &HeaderMap,
    name: &str,
) -> Option<tower_sessions::cookie::Cookie<'static>> {
    use tower_sessions::cookie::Cookie;
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(Cookie::split_parse_encoded)
        .filter_map(Result::ok)
        .find(|cookie| cookie.name() == name)
        .map(Cookie::into_owned)
}

/// Whether a request asks for HTML: a browser's page load or plain form post.
pub fn accepts_html(headers: &HeaderMap) -> bool {
    headers
        .get(header::ACCEPT)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|accept| accept.contains("text/html"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_are_rfc3339_utc() {
        let at = DateTime::parse_from_rfc3339("2026-11-26T14:02:05.123+01:00")
            .unwrap()
            .with_timezone(&Utc);
        assert_eq!(timestamp(at), "2026-11-26T13:02:05Z");
    }
}

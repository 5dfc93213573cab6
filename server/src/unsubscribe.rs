//! The unsubscribe link of every notification mail: `/unsubscribe/<token>`.
//!
//! - `GET` never changes anything: a genuine token lands on the profile page, Email Settings in
//!   view, where the toggle can be turned off (after sign-in when needed) or the one-click
//!   button used.
//! - `POST` (RFC 8058: mail clients send `List-Unsubscribe=One-Click`; the profile's button does
//!   the same) turns notifications off from the token alone — no cookie, no sign-in — and
//!   answers 200. It is exempt from the CSRF check (see `csrf.rs`).
//! - A tampered or foreign token gets a plain error page and changes nothing.

use std::sync::LazyLock;

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::get;

use app::mail::ssr::token;
use app::profile::email_settings::ssr::turn_off_notifications;
use app::state::AppState;

pub fn routes() -> Router<AppState> {
    Router::new().route("/unsubscribe/{token}", get(land).post(one_click))
}

async fn land(State(state): State<AppState>, Path(token): Path<String>) -> Response {
    if token::verify(&state.config.mail.secret, &token).is_none() {
        return invalid(&state);
    }
    // No fragment: browsers skip `autofocus` when the URL targets an element, and focusing
    // the one-click button scrolls Email Settings into view anyway.
    Redirect::to(&format!("/profile?unsubscribe={token}")).into_response()
}

async fn one_click(State(state): State<AppState>, Path(token): Path<String>) -> Response {
    let Some(user_id) = token::verify(&state.config.mail.secret, &token) else {
        return invalid(&state);
    };
    match turn_off_notifications(&state.db, user_id).await {
        Ok(true) => page(
            &state,
            StatusCode::OK,
            "Email notifications are off",
            "You will receive no more email notifications. You can turn them on again in the \
             Email Settings of your profile.",
        ),
        Ok(false) => invalid(&state),
        Err(error) => error.into_response(),
    }
}

fn invalid(state: &AppState) -> Response {
    page(
        state,
        StatusCode::BAD_REQUEST,
        "This unsubscribe link is not valid",
        "The link may have been cut or changed. Nothing was changed. Sign in and use the Email \
         Settings of your profile to turn notifications off.",
    )
}

/// The look of these pages, which are not rendered by the app (and so have no stylesheet).
const STYLE: &str = "body{font-family:Arial,Helvetica,sans-serif;background:#f1f5f9;\
color:#0f172a;margin:0}main{max-width:36rem;margin:3rem auto;background:#fff;padding:2rem;\
border-radius:8px}h1{font-size:1.4rem;margin:0 0 1rem}a{color:#1d4ed8}";

/// The console's policy, plus exactly [`STYLE`].
static POLICY: LazyLock<String> = LazyLock::new(|| {
    format!(
        "{}; style-src {}",
        app::http::content_security_policy(None),
        app::http::style_source(STYLE)
    )
});

fn page(state: &AppState, status: StatusCode, title: &str, text: &str) -> Response {
    let product = app::mail::ssr::compose::escape(&state.config.product_name);
    let html = format!(
        r#"<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>{title} · {product}</title><style>{STYLE}</style></head>
<body><main><h1>{title}</h1><p>{text}</p>
<p><a href="/profile#email-settings">Open your profile</a></p></main></body></html>"#
    );
    (
        status,
        [(header::CONTENT_SECURITY_POLICY, POLICY.as_str())],
        Html(html),
    )
        .into_response()
}

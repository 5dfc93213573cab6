//! `POST /unsubscribe/<token>`: turns notifications off from the signed token alone — no
//! cookie, no sign-in. Mail clients send it (RFC 8058 `List-Unsubscribe=One-Click`) and get
//! 200; the page the link opens (`app::profile::unsubscribe`, `GET` on the same address) posts
//! its one button here and is sent back to it, where the new state shows. A tampered or foreign
//! token changes nothing and gets 400. Exempt from the CSRF check
//! (see `csrf.rs`).

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::post;

use app::mail::ssr::token;
use app::profile::email_settings::ssr::turn_off_notifications;
use app::state::AppState;

pub fn routes() -> Router<AppState> {
    Router::new().route("/unsubscribe/{token}", post(one_click))
}

async fn one_click(
    State(state): State<AppState>,
    Path(token): Path<String>,
    headers: HeaderMap,
    request: axum::http::request::Parts,
) -> Response {
    let ip = app::http::client_addr(&request);
    // A genuine token is the exact path segment (see `token::verify`): safe to put in a header.
    let turned_off = match token::verify(&state.config.mail.secret, &token) {
        Some(user_id) => match turn_off_notifications(&state.db, user_id, Some(ip)).await {
            Ok(found) => found,
            Err(error) => return error.into_response(),
        },
        None => false,
    };
    if turned_off && app::http::accepts_html(&headers) {
        // The page shows the state the account is now in.
        return Redirect::to(&format!("/unsubscribe/{token}")).into_response();
    }
    if turned_off {
        (StatusCode::OK, "Email notifications are off.").into_response()
    } else {
        (
            StatusCode::BAD_REQUEST,
            "This unsubscribe link is not valid. Nothing was changed.",
        )
            .into_response()
    }
}

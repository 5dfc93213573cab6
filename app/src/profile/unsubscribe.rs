//! The page a notification mail's unsubscribe link opens, `/unsubscribe/<token>`, in the
//! console's frame.
//!
//! - Signed in, it lands on the profile with Email Settings in view, as before (while
//!   notifications are on).
//! - Otherwise it names the (masked) address and offers one button, "Turn off email
//!   notifications", authorised by the signed token alone: a plain form posting to the same
//!   address (`server/src/unsubscribe.rs`, which also takes RFC 8058 one-click posts from mail
//!   clients), which comes back here. Once they are off, the page says so and links to the
//!   profile to turn them on again.
//! - A tampered or foreign link gets the same frame, a clear sentence, 400 and nothing changed.

use leptos::prelude::*;
use leptos_router::components::Redirect;
use leptos_router::hooks::use_params_map;
use serde::{Deserialize, Serialize};

use crate::auth::Auth;
use crate::error::AppError;
use crate::render::page_resource;
use crate::ui::primary_button_class;

/// What an unsubscribe link leads to.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum LinkState {
    /// The account it was made for; `address` is masked.
    Account {
        address: Option<String>,
        notifications: bool,
    },
    /// Not a genuine link (or its account is gone).
    Invalid,
}

/// The state of the account an unsubscribe token was made for. Needs no session: the token is
/// the credential, and the page shows no more than a masked address.
#[server(endpoint = "unsubscribe_link")]
pub async fn unsubscribe_link(token: String) -> Result<LinkState, AppError> {
    use sea_orm::EntityTrait;

    use crate::db::entity::user;
    let state = crate::state::app_state()?;
    let Some(user_id) = crate::mail::ssr::token::verify(&state.config.mail.secret, &token) else {
        return Ok(LinkState::Invalid);
    };
    Ok(
        match user::Entity::find_by_id(user_id).one(&state.db).await? {
            Some(user) => LinkState::Account {
                address: user.email.as_deref().map(crate::auth::ssr::masked),
                notifications: user.notifications,
            },
            None => LinkState::Invalid,
        },
    )
}

#[component]
pub fn UnsubscribePage() -> impl IntoView {
    let auth = Auth::expect();
    let token = use_params_map()
        .read_untracked()
        .get("token")
        .unwrap_or_default();
    let link = {
        let token = token.clone();
        page_resource(move || unsubscribe_link(token.clone()))
    };
    view! {
        <main class="mx-auto mt-12 max-w-xl rounded-lg bg-white p-8 shadow">
            <Suspense fallback=|| view! { <p class="text-slate-600">"Loading…"</p> }>
                {move || {
                    let token = token.clone();
                    Suspend::new(async move {
                        let signed_in = matches!(auth.user.await, Ok(Some(_)));
                        let link = link.await;
                        match link {
                            // Once they are off the page says so, signed in or not.
                            Ok(LinkState::Account { notifications: true, .. }) if signed_in => {
                                view! { <Redirect path=format!("/profile?unsubscribe={token}") /> }.into_any()
                            }
                            Ok(LinkState::Account { address, notifications }) => {
                                view! { <AccountState token address notifications /> }.into_any()
                            }
                            Ok(LinkState::Invalid) => {
                                #[cfg(feature = "ssr")]
                                if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
                                    response.set_status(axum::http::StatusCode::BAD_REQUEST);
                                }
                                view! {
                                    <h1 class="mb-4 text-2xl font-semibold text-slate-800">"This unsubscribe link is not valid"</h1>
                                    <p class="text-slate-700" data-testid="unsubscribe-invalid">
                                        "The link may have been cut or changed. Nothing was changed. Sign in and turn notifications off under Email Settings on your "
                                        <a class="text-blue-700 underline" href="/profile#email-settings">"profile"</a>
                                        "."
                                    </p>
                                }
                                    .into_any()
                            }
                            Err(error) => view! { <p class="text-red-700" role="alert">{error.to_string()}</p> }.into_any(),
                        }
                    })
                }}
            </Suspense>
        </main>
    }
}

#[component]
fn AccountState(token: String, address: Option<String>, notifications: bool) -> impl IntoView {
    let address = address.unwrap_or_else(|| "your account".to_owned());
    view! {
        <h1 class="mb-4 text-2xl font-semibold text-slate-800">"Email notifications"</h1>
        {if notifications {
            view! {
                <p class="text-slate-700">
                    "Notification mail currently goes to " <strong>{address}</strong> "."
                </p>
                <form method="post" action=format!("/unsubscribe/{token}") class="mt-6">
                    <input type="hidden" name="List-Unsubscribe" value="One-Click" />
                    <button type="submit" class=primary_button_class()>"Turn off email notifications"</button>
                </form>
            }
                .into_any()
        } else {
            view! {
                <p class="text-slate-700" role="status" data-testid="unsubscribed">
                    "Email notifications are off for " <strong>{address}</strong> ". You will receive no more notification mail."
                </p>
                <p class="mt-4 text-slate-700">
                    "To turn them on again, use Email Settings on your "
                    <a class="text-blue-700 underline" href="/profile#email-settings">"profile"</a>
                    "."
                </p>
            }
                .into_any()
        }}
    }
}

//! Email Settings: the address notifications go to and whether the user wants them.
//!
//! Validation is on the server ([`crate::auth::ssr::EmailAddress`]). The form is a plain HTML
//! form posting to a server function; the page it comes back to shows the outcome
//! ([`crate::forms`]): the error beside the address as typed, or a confirmation.

use leptos::prelude::*;
use leptos_router::hooks::use_query_map;
use serde::{Deserialize, Serialize};

use crate::auth::{Role, UserView};
use crate::error::AppError;
use crate::forms::Posted;
use crate::ui::{ErrorText, SuccessText, TextField, primary_button_class};

/// The saved settings, as the form shows them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EmailSettings {
    pub email: Option<String>,
    /// Whether the address was verified; notifications wait until it is.
    pub email_verified: bool,
    pub notifications: bool,
}

const SAVED_TEXT: &str = "Email settings saved.";
const VERIFY_TEXT: &str =
    "We sent a verification link to the address: open it to receive notifications there.";
/// [`VERIFY_TEXT`] while there is no mail server to send the link through.
const VERIFY_LATER_TEXT: &str = "A verification link goes to the address once the administrator \
     has set up a mail server: open it then to receive notifications there.";

/// Saves the signed-in user's email address and notification choice.
#[server(endpoint = "update_email_settings")]
pub async fn update_email_settings(
    email: String,
    #[server(default)] notifications: bool,
) -> Result<EmailSettings, AppError> {
    let saved = ssr::update(&email, notifications).await?;
    crate::http::redirect_plain_form_to("/profile#email-settings");
    Ok(saved)
}

/// Sends the verification mail of the signed-in user's unverified address again (a new link;
/// the earlier ones stop working). At most five an hour.
#[server(endpoint = "resend_verification")]
pub async fn resend_verification() -> Result<(), AppError> {
    ssr::resend_verification().await?;
    crate::http::redirect_plain_form_to("/profile#email-settings");
    Ok(())
}

/// Whether notification mail leaves the server (an administrator configured a mail server).
#[server(endpoint = "mail_delivery_configured")]
pub async fn mail_delivery_configured() -> Result<bool, AppError> {
    crate::auth::ssr::require_user().await?;
    let state = crate::state::app_state()?;
    if let Some(configured) = state.mail_server.configured() {
        return Ok(configured);
    }
    let row = crate::mail::ssr::settings::load(&state.db).await?;
    state.mail_server.set(row.as_ref());
    Ok(crate::mail::ssr::settings::configured(row.as_ref()))
}

#[component]
pub fn EmailSettingsPanel(
    user: UserView,
    /// [`mail_delivery_configured`], created by the page.
    configured: Resource<Result<bool, AppError>>,
) -> impl IntoView {
    let update = ServerAction::<UpdateEmailSettings>::new();
    let resend = ServerAction::<ResendVerification>::new();
    let query = use_query_map();
    let posted = Posted::of::<UpdateEmailSettings>();
    let resent = Posted::of::<ResendVerification>();
    let other_error = Signal::stored(posted.other_error(&["email"]).or_else(|| resent.error()));
    // What was saved, and where the verification link went — or that it waits for a mail server.
    let needs_link = !user.email_verified && user.email.is_some();
    let saved = |delivered: bool| {
        let verify = if delivered {
            VERIFY_TEXT
        } else {
            VERIFY_LATER_TEXT
        };
        if posted.succeeded() {
            Some(if needs_link {
                format!("{SAVED_TEXT} {verify}")
            } else {
                SAVED_TEXT.to_owned()
            })
        } else {
            resent.succeeded().then(|| verify.to_owned())
        }
    };
    let (if_sent, if_not_sent) = (saved(true), saved(false));
    let verification = user.email.clone().map(|_| user.email_verified);
    let admin = user.role == Role::Admin;

    // Set when the user arrives from a mail's unsubscribe link (the token alone can turn
    // notifications off; the server checks it).
    let unsubscribe = query.read_untracked().get("unsubscribe").filter(|token| {
        !token.is_empty()
            && token.len() <= 100
            && token
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'))
    });

    view! {
        <Suspense>
            {move || Suspend::new(async move {
                (configured.await == Ok(false)).then(|| view! {
                    <p class="mb-4 rounded bg-slate-100 p-3 text-sm text-slate-700" data-testid="mail-not-configured">
                        {if admin {
                            view! {
                                "No mail server is set up yet, so notification mail is written to files on the server instead of being sent. Set one up under "
                                <a class="text-blue-700 underline" href="/admin#mail-server">"Administration"</a>
                                "."
                            }
                                .into_any()
                        } else {
                            "The administrator has not set up a mail server yet, so notification mail is not sent for now. Your settings are kept for when it is."
                                .into_any()
                        }}
                    </p>
                })
            })}
        </Suspense>
        {unsubscribe.map(|token| view! {
            <div class="mb-4 rounded border border-amber-300 bg-amber-50 p-4" data-testid="unsubscribe">
                <p class="text-sm text-amber-900">
                    "You followed the unsubscribe link of a notification mail. Turn the switch off and press Update, or turn notifications off at once:"
                </p>
                <form method="post" action=format!("/unsubscribe/{token}") class="mt-3">
                    <input type="hidden" name="List-Unsubscribe" value="One-Click" />
                    <button type="submit" class=primary_button_class() autofocus>"Turn off email notifications"</button>
                </form>
            </div>
        })}
        <ActionForm action=update attr:class="space-y-4" attr:aria-label="Email settings" attr:novalidate=true>
            <TextField
                id="email-settings-email"
                label="Email"
                name="email"
                kind="email"
                autocomplete="email"
                maxlength=254
                value=user.email.unwrap_or_default()
                posted=posted.clone()
            />
            {verification.map(|verified| if verified {
                view! {
                    <p class="-mt-2 text-sm text-green-800" data-testid="email-verified">"✓ Verified"</p>
                }
                    .into_any()
            } else {
                view! {
                    <p class="-mt-2 flex flex-wrap items-center gap-2 text-sm text-amber-900" data-testid="email-unverified">
                        "Unverified: no notification goes to it until you open the link we sent."
                        <button type="submit" form="resend-verification" class="text-blue-700 underline">"Resend"</button>
                    </p>
                }
                    .into_any()
            })}
            <label class="flex cursor-pointer items-center gap-3">
                <input
                    class="peer sr-only"
                    type="checkbox"
                    role="switch"
                    name="notifications"
                    value="true"
                    checked=posted.checked_or("notifications", user.notifications)
                />
                <span class="relative h-6 w-11 rounded-full bg-slate-300 transition-colors \
                after:absolute after:left-0.5 after:top-0.5 after:h-5 after:w-5 after:rounded-full \
                after:bg-white after:transition-transform peer-checked:bg-blue-600 \
                peer-checked:after:translate-x-5 peer-focus-visible:ring-2 peer-focus-visible:ring-blue-600 \
                peer-focus-visible:ring-offset-2"></span>
                <span class="text-sm text-slate-700">"I want to receive email notifications"</span>
            </label>
            <div id="email-settings-status" class="min-h-5">
                <ErrorText error=other_error />
                <Suspense>
                    {move || {
                        let (if_sent, if_not_sent) = (if_sent.clone(), if_not_sent.clone());
                        Suspend::new(async move {
                            let sent = configured.await.unwrap_or(true);
                            let message = if sent { if_sent } else { if_not_sent };
                            view! { <SuccessText message=Signal::stored(message) /> }
                        })
                    }}
                </Suspense>
            </div>
            <button class=primary_button_class() type="submit">
                "Update"
            </button>
        </ActionForm>
        // Outside the settings form (forms do not nest); its button sits beside the address.
        <ActionForm action=resend attr:id="resend-verification" attr:class="hidden" attr:aria-label="Resend the verification link">
            <span></span>
        </ActionForm>
    }
}

#[cfg(feature = "ssr")]
pub mod ssr {
    //! Server side of Email Settings: the update (the address type is an account's,
    //! [`crate::auth::ssr::EmailAddress`]).

    use sea_orm::{ActiveModelTrait, IntoActiveModel, Set, TransactionTrait};

    use super::EmailSettings;
    use crate::auth::log::SecurityEventKind;
    use crate::auth::log::ssr::{Entry, record};
    use crate::auth::ssr::{EmailAddress, masked, require_user};
    use crate::error::AppError;
    use crate::mail::ssr::account::{SecurityNotice, security_notice, send_verification};
    use crate::state::app_state;
    use chrono::Utc;

    /// Turns notifications off for `user_id` (an unsubscribe link was followed). Returns whether
    /// the account exists.
    pub async fn turn_off_notifications(
        db: &sea_orm::DatabaseConnection,
        user_id: i64,
        ip: Option<std::net::IpAddr>,
    ) -> Result<bool, AppError> {
        use sea_orm::sea_query::Expr;
        use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};

        use crate::db::entity::user;
        let txn = db.begin().await?;
        let updated = user::Entity::update_many()
            .col_expr(user::Column::Notifications, Expr::value(false))
            .filter(user::Column::Id.eq(user_id))
            .filter(user::Column::Notifications.eq(true))
            .exec(&txn)
            .await?;
        if updated.rows_affected == 0 {
            return Ok(user::Entity::find_by_id(user_id).one(&txn).await?.is_some());
        }
        record(
            &txn,
            Entry::new(user_id, SecurityEventKind::Unsubscribed, ip),
        )
        .await?;
        txn.commit().await?;
        tracing::info!(
            user_id,
            "email notifications turned off by an unsubscribe link"
        );
        Ok(updated.rows_affected == 1)
    }

    /// Validates and saves the signed-in user's settings. Notifications need an address. A new
    /// address is unverified until its link is opened: a verification mail goes to it, and a
    /// security notice to the old (verified) one.
    #[tracing::instrument(skip_all, err(level = "info"))]
    pub async fn update(email: &str, notifications: bool) -> Result<EmailSettings, AppError> {
        let email = match email.trim() {
            "" if notifications => {
                return Err(AppError::invalid(
                    "email",
                    "Enter an email address to receive notifications.",
                ));
            }
            "" => None,
            raw => Some(EmailAddress::parse(raw)?),
        };
        let state = app_state()?;
        let old = require_user().await?;
        let email = email.map(EmailAddress::into_string);
        let changed = old.email != email;
        let mut user = old.clone().into_active_model();
        user.notifications = Set(notifications);
        if changed {
            user.email_verified = Set(false);
            user.email_token_issued = Set(email.as_ref().map(|_| Utc::now().timestamp()));
        }
        user.email = Set(email);
        let txn = state.db.begin().await?;
        let user = user.update(&txn).await?;
        if changed {
            let ip = crate::auth::ssr::client_ip().await;
            let address =
                |email: &Option<String>| email.as_deref().map_or("none".to_owned(), masked);
            record(
                &txn,
                Entry::new(user.id, SecurityEventKind::EmailChanged, Some(ip)).detail(format!(
                    "{} → {}",
                    address(&old.email),
                    address(&user.email)
                )),
            )
            .await?;
            send_verification(&txn, &state.config, &user).await?;
            security_notice(
                &txn,
                &state.config,
                &old,
                SecurityNotice::AddressChanged,
                Some(ip),
            )
            .await?;
        }
        txn.commit().await?;
        Ok(EmailSettings {
            email: user.email,
            email_verified: user.email_verified,
            notifications: user.notifications,
        })
    }

    /// A new verification link for the signed-in user's unverified address.
    #[tracing::instrument(skip_all, err(level = "info"))]
    pub async fn resend_verification() -> Result<(), AppError> {
        let state = app_state()?;
        let user = require_user().await?;
        if user.email.is_none() || user.email_verified {
            return Err(AppError::invalid(
                "email",
                "There is no address waiting to be verified.",
            ));
        }
        let mut user = user.into_active_model();
        user.email_token_issued = Set(Some(Utc::now().timestamp()));
        let txn = state.db.begin().await?;
        let user = user.update(&txn).await?;
        send_verification(&txn, &state.config, &user).await?;
        txn.commit().await?;
        Ok(())
    }
}

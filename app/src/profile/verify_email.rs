//! The page a verification mail's link opens, `/verify-email/<token>`: it names the (masked)
//! address and offers one button that verifies it. A button, not the link itself, so a mail
//! scanner that follows links verifies nothing. The token is the credential: no sign-in is
//! needed. A tampered, used or expired link gets a clear sentence, 400, and nothing changed.

use leptos::prelude::*;
use leptos_router::hooks::use_params_map;
use serde::{Deserialize, Serialize};

use crate::error::AppError;
use crate::forms::Posted;
use crate::render::page_resource;
use crate::ui::primary_button_class;

/// The address a verification link would verify (masked), if it still can.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingVerification {
    pub address: String,
    pub verified: bool,
}

/// What `token` would verify, or why it cannot (400).
#[server(endpoint = "verification_link")]
pub async fn verification_link(token: String) -> Result<PendingVerification, AppError> {
    let (user, _) = ssr::check(&token).await?;
    Ok(PendingVerification {
        address: user
            .email
            .as_deref()
            .map(crate::auth::ssr::masked)
            .unwrap_or_default(),
        verified: false,
    })
}

/// Verifies the address `token` was sent to; the link is used up.
#[server(endpoint = "verify_email")]
pub async fn verify_email(token: String) -> Result<PendingVerification, AppError> {
    let address = ssr::verify(&token).await?;
    crate::http::redirect_plain_form_to(&format!("/verify-email/{token}"));
    Ok(PendingVerification {
        address,
        verified: true,
    })
}

#[component]
pub fn VerifyEmailPage() -> impl IntoView {
    let token = use_params_map()
        .read_untracked()
        .get("token")
        .unwrap_or_default();
    let verified = Posted::of::<VerifyEmail>().succeeded();
    let link = {
        let token = token.clone();
        page_resource(move || verification_link(token.clone()))
    };
    let verify = ServerAction::<VerifyEmail>::new();
    view! {
        <main class="mx-auto mt-12 max-w-xl rounded-lg bg-white p-8 shadow">
            <h1 class="mb-4 text-2xl font-semibold text-slate-800">"Verify your email address"</h1>
            {if verified {
                view! {
                    <p class="text-slate-700" role="status" data-testid="email-verified-now">
                        "Your address is verified. Notifications you asked for go to it from now on. See your "
                        <a class="text-blue-700 underline" href="/profile#email-settings">"profile"</a>
                        "."
                    </p>
                }
                    .into_any()
            } else {
                view! {
                    <Suspense fallback=|| view! { <p class="text-slate-600">"Loading…"</p> }>
                        {move || {
                            let token = token.clone();
                            Suspend::new(async move {
                                match link.await {
                                    Ok(pending) => view! {
                                        <p class="text-slate-700">
                                            "Confirm that " <strong>{pending.address}</strong> " is your address."
                                        </p>
                                        <ActionForm action=verify attr:class="mt-6">
                                            <input type="hidden" name="token" value=token />
                                            <button type="submit" class=primary_button_class()>"Verify this address"</button>
                                        </ActionForm>
                                    }
                                        .into_any(),
                                    Err(error) => {
                                        #[cfg(feature = "ssr")]
                                        if let (Some(response), Ok(status)) = (
                                            use_context::<leptos_axum::ResponseOptions>(),
                                            axum::http::StatusCode::from_u16(error.status()),
                                        ) {
                                            response.set_status(status);
                                        }
                                        view! {
                                            <p class="text-slate-700" role="alert" data-testid="verification-invalid">
                                                {error.to_string()}
                                            </p>
                                        }
                                            .into_any()
                                    }
                                }
                            })
                        }}
                    </Suspense>
                }
                    .into_any()
            }}
        </main>
    }
}

#[cfg(feature = "ssr")]
pub mod ssr {
    //! Checking and using a verification link ([`crate::mail::ssr::account`] makes them).

    use chrono::Utc;
    use sea_orm::sea_query::Expr;
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, TransactionTrait};

    use crate::auth::log::SecurityEventKind;
    use crate::auth::log::ssr::{Entry, record};
    use crate::db::entity::user;
    use crate::error::AppError;
    use crate::mail::ssr::account::VerificationToken;
    use crate::state::app_state;

    fn refused(message: &str) -> AppError {
        AppError::invalid("token", message)
    }

    /// The account and token `token` verifies, if it still can.
    pub async fn check(token: &str) -> Result<(user::Model, VerificationToken), AppError> {
        const INVALID: &str = "This verification link is not valid. It may have been cut or \
                               changed. Nothing was changed.";
        let state = app_state()?;
        let parsed = VerificationToken::parse(token).ok_or_else(|| refused(INVALID))?;
        let user = user::Entity::find_by_id(parsed.user_id)
            .one(&state.db)
            .await?
            .ok_or_else(|| refused(INVALID))?;
        let address = user.email.as_deref().ok_or_else(|| refused(INVALID))?;
        if !parsed.is_for(&state.config.mail.secret, address) {
            return Err(refused(INVALID));
        }
        if user.email_token_issued != Some(parsed.issued) {
            return Err(refused(
                "This verification link was already used, or a newer one was sent. Your \
                 profile shows whether the address is verified.",
            ));
        }
        if parsed.expired(Utc::now().timestamp()) {
            return Err(refused(
                "This verification link has expired. Send a new one from Email Settings on your \
                 profile.",
            ));
        }
        Ok((user, parsed))
    }

    /// Verifies the address `token` was sent to, once. Returns it masked.
    #[tracing::instrument(skip_all, err(level = "info"))]
    pub async fn verify(token: &str) -> Result<String, AppError> {
        let state = app_state()?;
        let (user, parsed) = check(token).await?;
        let txn = state.db.begin().await?;
        let used = user::Entity::update_many()
            .col_expr(user::Column::EmailVerified, Expr::value(true))
            .col_expr(
                user::Column::EmailTokenIssued,
                Expr::value(Option::<i64>::None),
            )
            .filter(user::Column::Id.eq(user.id))
            .filter(user::Column::EmailTokenIssued.eq(parsed.issued))
            .filter(user::Column::Email.eq(user.email.clone()))
            .exec(&txn)
            .await?;
        if used.rows_affected == 0 {
            return Err(refused("This verification link was already used."));
        }
        let ip = crate::auth::ssr::client_ip().await;
        record(
            &txn,
            Entry::new(user.id, SecurityEventKind::EmailVerified, Some(ip)),
        )
        .await?;
        txn.commit().await?;
        tracing::info!(user_id = user.id, "email address verified");
        Ok(user
            .email
            .as_deref()
            .map(crate::auth::ssr::masked)
            .unwrap_or_default())
    }
}

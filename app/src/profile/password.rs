//! Password: change it (current password, new one twice; judged on the server, the reason shown
//! beside the field), and sign out everywhere. A successful change ends every other session of
//! the account; this one stays signed in. After an administrator's reset this is the only part
//! of the console that opens.

use leptos::prelude::*;

use crate::error::AppError;
use crate::forms::Posted;
use crate::ui::{
    Confirm, ErrorText, SuccessText, TextField, danger_button_class, primary_button_class,
};

/// Changes the signed-in user's password. Wrong current passwords are throttled like sign-in.
#[server(endpoint = "change_password")]
pub async fn change_password(
    current_password: String,
    new_password: String,
    new_password_again: String,
) -> Result<(), AppError> {
    use crate::auth::ssr::accounts::{self, PasswordChange};
    use crate::auth::ssr::{
        client_ip, keep_session_current, require_user_even_after_reset, session,
    };

    let state = crate::state::app_state()?;
    let user = require_user_even_after_reset().await?;
    let ip = client_ip().await;
    let change = PasswordChange {
        current_password: current_password.into(),
        new_password: new_password.into(),
        new_password_again: new_password_again.into(),
    };
    let epoch = accounts::change_password(
        &state.db,
        &state.config,
        &state.throttles,
        &user,
        change,
        ip,
    )
    .await?;
    // The same session id: the form's outcome is bound to it for the page it returns to.
    keep_session_current(&session().await?, epoch).await?;
    crate::http::redirect_plain_form_to("/profile#password");
    Ok(())
}

/// Ends every session of the signed-in user, this one included.
#[server(endpoint = "sign_out_everywhere")]
pub async fn sign_out_everywhere() -> Result<(), AppError> {
    use crate::auth::ssr::{client_ip, require_user_even_after_reset, sign_out};

    let state = crate::state::app_state()?;
    let user = require_user_even_after_reset().await?;
    crate::auth::ssr::accounts::sign_out_everywhere(&state.db, user.id, client_ip().await).await?;
    sign_out().await?;
    crate::http::redirect_plain_form_to("/signin");
    Ok(())
}

#[component]
pub fn PasswordPanel(
    /// After a reset: the temporary password is the current one, and this form the way on.
    must_change: bool,
) -> impl IntoView {
    let change = ServerAction::<ChangePassword>::new();
    let everywhere = ServerAction::<SignOutEverywhere>::new();
    let posted = Posted::of::<ChangePassword>();
    let fields = ["current_password", "new_password", "new_password_again"];
    let error = Signal::stored(
        posted
            .other_error(&fields)
            .or_else(|| Posted::of::<SignOutEverywhere>().error()),
    );
    let changed = Signal::stored(posted.succeeded().then(|| {
        "Password changed. Every other session of your account was signed out.".to_owned()
    }));
    view! {
        {must_change.then(|| view! {
            <p class="mb-4 rounded border border-amber-300 bg-amber-50 p-3 text-sm text-amber-900" role="status" data-testid="must-change-password">
                "An administrator reset your password. Enter the temporary password you were given as the current one, and choose a new password to continue."
            </p>
        })}
        <ActionForm action=change attr:class="space-y-4" attr:aria-label="Change password" attr:novalidate=true>
            <TextField id="password-current" label="Current password" name="current_password"
                kind="password" autocomplete="current-password" required=true posted=posted.clone() />
            <TextField id="password-new" label="New password (at least 8 characters; several words make a strong one)"
                name="new_password" kind="password" autocomplete="new-password" required=true posted=posted.clone() />
            <TextField id="password-new-again" label="New password again" name="new_password_again"
                kind="password" autocomplete="new-password" required=true posted=posted.clone() />
            <div class="min-h-5">
                <ErrorText error />
                <SuccessText message=changed />
            </div>
            <button class=primary_button_class() type="submit">"Change password"</button>
        </ActionForm>
        <div class="mt-6 border-t border-slate-100 pt-4">
            <p class="mb-3 text-sm text-slate-600">"Signed in somewhere you no longer use? End every session of your account, this one too."</p>
            <Confirm label="Sign out everywhere" id="confirm-sign-out-everywhere" warning="Every browser signed in to your account, this one too, is signed out. API keys keep working.">
                <ActionForm action=everywhere>
                    <button type="submit" class=danger_button_class()>"Yes, sign out everywhere"</button>
                </ActionForm>
            </Confirm>
        </div>
    }
}

//! The accounts table: one row per user, with the actions an administrator may take on it, each
//! behind a confirmation. Plain forms; the outcome of the last one shows above the table.

use leptos::prelude::*;

use super::{PasswordReset, ResetUserPassword, RevokeUserApiKey, SetUserDisabled, SetUserRole};
use crate::auth::{Role, UserView};
use crate::forms::Posted;
use crate::ui::{Confirm, ErrorText, SuccessText, primary_button_class};

/// The outcome of the account action that led to this page load, if any (the table shows the
/// account as it is now).
fn last_action() -> (Option<crate::error::AppError>, Option<String>) {
    let disabled = Posted::of::<SetUserDisabled>();
    let role = Posted::of::<SetUserRole>();
    let revoked = Posted::of::<RevokeUserApiKey>();
    let reset = Posted::of::<ResetUserPassword>();
    let error = [&disabled, &role, &revoked, &reset]
        .into_iter()
        .find_map(Posted::error);
    let done = if disabled.succeeded() || role.succeeded() {
        Some("The account was changed.".to_owned())
    } else if revoked.succeeded() {
        Some("The API key, if there was one, no longer works.".to_owned())
    } else {
        None
    };
    (error, done)
}

#[component]
pub fn UserTable(
    users: Vec<UserView>,
    /// The administrator viewing the page (who cannot lock themselves out).
    me: String,
) -> impl IntoView {
    let (error, done) = last_action();
    view! {
        <div class="min-h-5 mb-2" data-testid="user-action-status">
            <ErrorText error=Signal::stored(error) />
            <SuccessText message=Signal::stored(done) />
        </div>
        // Scrolls sideways on a phone instead of spilling out of its section (and so can be
        // focused, to scroll it with the keyboard).
        <div class="overflow-x-auto" tabindex="0" role="region" aria-label="Users">
        <table class="w-full text-left text-sm" data-testid="users">
            <thead class="text-slate-600">
                <tr>
                    <th scope="col" class="py-2">"Username"</th>
                    <th scope="col">"Name"</th>
                    <th scope="col">"Role"</th>
                    <th scope="col">"Email"</th>
                    <th scope="col">"Status"</th>
                    <th scope="col">"Actions"</th>
                </tr>
            </thead>
            <tbody>
                {users
                    .into_iter()
                    .map(|user| {
                        let is_me = user.username == me;
                        view! { <UserRow user is_me /> }
                    })
                    .collect_view()}
            </tbody>
        </table>
        </div>
    }
}

#[component]
fn UserRow(user: UserView, is_me: bool) -> impl IntoView {
    let status = if user.disabled {
        "Disabled"
    } else if user.must_change_password {
        "Password reset"
    } else {
        "Active"
    };
    let name = user.username.clone();
    view! {
        <tr class="border-t border-slate-100 align-top" data-testid="user-row" data-username=name.clone()>
            <td class="py-2 pr-3 font-medium">{name.clone()}{is_me.then_some(" (you)")}</td>
            <td class="py-2 pr-3">{user.name.clone()}</td>
            <td class="py-2 pr-3">{if user.role == Role::Admin { "Administrator" } else { "User" }}</td>
            <td class="py-2 pr-3 break-all">{user.email.clone().unwrap_or_default()}</td>
            <td class="py-2 pr-3" data-testid="user-status">{status}</td>
            <td class="py-2">
                <div class="flex flex-wrap gap-2">
                    <Actions user is_me />
                </div>
            </td>
        </tr>
    }
}

/// The confirmed actions for one account.
#[component]
fn Actions(
    user: UserView,
    /// The administrator's own account: no disabling or resetting oneself.
    is_me: bool,
) -> impl IntoView {
    let disable = ServerAction::<SetUserDisabled>::new();
    let role = ServerAction::<SetUserRole>::new();
    let revoke = ServerAction::<RevokeUserApiKey>::new();
    let reset = ServerAction::<ResetUserPassword>::new();
    let name = user.username.clone();
    let id = |action: &str| format!("confirm-{action}-{}", user.username);
    let (disable_label, disable_warning, disable_value) = if user.disabled {
        (
            "Enable",
            format!("{name} can sign in again. Their old sessions stay ended."),
            "false",
        )
    } else {
        (
            "Disable",
            format!(
                "{name} is signed out everywhere, their API key and password stop working, \
                 their waiting mail is dropped and their running jobs are stopped."
            ),
            "true",
        )
    };
    let (role_label, role_value) = if user.role == Role::Admin {
        ("Make user", Role::User)
    } else {
        ("Make administrator", Role::Admin)
    };
    let hidden =
        |name: &str| view! { <input type="hidden" name="username" value=name.to_owned() /> };
    let [for_disable, for_role, for_reset, for_revoke] = [(); 4].map(|()| hidden(&user.username));
    view! {
        {(!is_me).then(|| view! {
            <Confirm label=disable_label id=id("disable") warning=disable_warning>
                <ActionForm action=disable>
                    {for_disable}
                    <input type="hidden" name="disabled" value=disable_value />
                    <button type="submit" class=primary_button_class() autofocus>{format!("Yes, {}", disable_label.to_lowercase())}</button>
                </ActionForm>
            </Confirm>
        })}
        <Confirm label=role_label id=id("role") warning=format!("{} becomes {}.", user.username, if role_value == Role::Admin { "an administrator" } else { "a user without administration rights" })>
            <ActionForm action=role>
                {for_role}
                <input type="hidden" name="role" value=role_value.as_str() />
                <button type="submit" class=primary_button_class() autofocus>"Yes, change the role"</button>
            </ActionForm>
        </Confirm>
        {(!is_me).then(|| view! {
            <Confirm label="Reset password" id=id("reset") warning=format!("{} gets a temporary password, shown to you once, that only lets them choose a new one. Their sessions end and their API key is revoked.", user.username)>
                <ActionForm action=reset>
                    {for_reset}
                    <button type="submit" class=primary_button_class() autofocus>"Yes, reset"</button>
                </ActionForm>
            </Confirm>
        })}
        <Confirm label="Revoke API key" id=id("revoke") warning=format!("The API key of {} stops working immediately.", user.username)>
            <ActionForm action=revoke>
                {for_revoke}
                <button type="submit" class=primary_button_class() autofocus>"Yes, revoke"</button>
            </ActionForm>
        </Confirm>
    }
}

/// A temporary password a reset just made: shown to the administrator once.
#[component]
pub fn TemporaryPassword(reset: PasswordReset) -> impl IntoView {
    view! {
        <div class="mb-4 rounded border border-amber-300 bg-amber-50 p-4" data-testid="temporary-password">
            <p class="mb-2 text-sm font-semibold text-amber-900">
                {format!(
                    "Temporary password for {}. Give it to them now; it will not be shown again. It only lets them choose a new password.",
                    reset.username
                )}
            </p>
            <input
                class="w-full rounded border border-slate-300 bg-white px-3 py-2 font-mono text-sm"
                readonly
                aria-label=format!("Temporary password for {}", reset.username)
                value=reset.temporary_password
            />
        </div>
    }
}

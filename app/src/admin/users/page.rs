//! One account's page (`/admin/users/{username}`): what it is, what an administrator may do to
//! it — each action behind a confirmation — and the outcome of the last one, which every action
//! returns to.

use leptos::prelude::*;
use leptos_router::hooks::use_params_map;

use super::table::status;
use super::{
    AccountView, CreateUser, PasswordReset, ResetUserPassword, RevokeUserApiKey, SetUserDisabled,
    SetUserRole, flashed_password_reset, load_user,
};
use crate::admin::AdminsOnly;
use crate::auth::{Role, UserView};
use crate::error::AppError;
use crate::forms::Posted;
use crate::render::page_resource;
use crate::ui::{
    BackLink, Confirm, CopyButton, ErrorText, SuccessText, danger_button_class, loaded,
    primary_button_class,
};

#[component]
pub fn UserPage() -> impl IntoView {
    // Created here, once per request (see `crate::render`).
    let username = use_params_map()
        .read_untracked()
        .get("username")
        .unwrap_or_default();
    let user = {
        let username = username.clone();
        page_resource(move || load_user(username.clone()))
    };
    let reset = page_resource(flashed_password_reset);
    view! {
        <AdminsOnly>
            {
                let me = expect_context::<UserView>().username;
                view! {
                    <main class="mx-auto max-w-3xl p-6">
                        <BackLink href="/admin#users" to="Administration" />
                        <h1 class="mb-4 text-2xl font-semibold text-slate-800 [overflow-wrap:anywhere]">{format!("User {username}")}</h1>
                        <Suspense>
                            {move || Suspend::new(async move {
                                reset.await.ok().flatten().map(|reset| view! { <TemporaryPassword reset /> })
                            })}
                        </Suspense>
                        {loaded(user, move |user| view! { <Account user me=me.clone() /> })}
                    </main>
                }
            }
        </AdminsOnly>
    }
}

#[component]
fn Account(user: AccountView, me: String) -> impl IntoView {
    let AccountView { user, has_api_key } = user;
    let (error, done) = last_action(&user);
    let is_me = user.username == me;
    let username = user.username.clone();
    view! {
        <div class="min-h-5 mb-2" data-testid="user-action-status">
            <ErrorText error=Signal::stored(error) />
            <SuccessText message=Signal::stored(done) />
        </div>
        <section class="rounded-lg bg-white p-6 shadow" data-testid="user-row" data-username=username>
            <dl class="grid grid-cols-[max-content_1fr] gap-x-6 gap-y-2 text-sm">
                <dt class="text-slate-600">"Name"</dt>
                <dd>{user.name.clone()}</dd>
                <dt class="text-slate-600">"Role"</dt>
                <dd>{user.role.label()}</dd>
                <dt class="text-slate-600">"Email"</dt>
                <dd class="break-all">{user.email.clone().unwrap_or_else(|| "—".to_owned())}</dd>
                <dt class="text-slate-600">"Status"</dt>
                <dd data-testid="user-status">{status(&user)}</dd>
            </dl>
            <div class="mt-4 flex flex-wrap gap-2">
                <Actions user is_me has_api_key />
            </div>
        </section>
    }
}

/// The outcome of the account action (or the creation) that led to this page load, if any,
/// naming the account and the change (the page shows the account as it is now).
fn last_action(user: &UserView) -> (Option<AppError>, Option<String>) {
    let created = Posted::of::<CreateUser>();
    let disabled = Posted::of::<SetUserDisabled>();
    let role = Posted::of::<SetUserRole>();
    let revoked = Posted::of::<RevokeUserApiKey>();
    let reset = Posted::of::<ResetUserPassword>();
    let error = [&disabled, &role, &revoked, &reset]
        .into_iter()
        .find_map(Posted::error);
    let name = &user.username;
    let done = if created.succeeded() {
        Some(format!(
            "User {name} created. They can sign in with the password you chose."
        ))
    } else if disabled.succeeded() && user.disabled {
        Some(format!(
            "{name} disabled: signed out everywhere; their API key and password no longer work."
        ))
    } else if disabled.succeeded() {
        Some(format!("{name} enabled: they can sign in again."))
    } else if role.succeeded() {
        Some(format!("{name} is now {}.", role_phrase(user.role)))
    } else if revoked.succeeded() {
        Some(format!("The API key of {name} no longer works."))
    } else {
        None
    };
    (error, done)
}

fn role_phrase(role: Role) -> &'static str {
    match role {
        Role::Admin => "an administrator",
        Role::User => "a user without administration rights",
    }
}

/// The confirmed actions for one account.
#[component]
fn Actions(
    user: UserView,
    /// The administrator's own account: no disabling or resetting oneself.
    is_me: bool,
    /// Revoking is offered only when there is a key.
    has_api_key: bool,
) -> impl IntoView {
    let disable = ServerAction::<SetUserDisabled>::new();
    let role = ServerAction::<SetUserRole>::new();
    let revoke = ServerAction::<RevokeUserApiKey>::new();
    let reset = ServerAction::<ResetUserPassword>::new();
    let name = user.username.clone();
    let id = |action: &str| format!("confirm-{action}");
    let (disable_label, disable_warning, disable_value, disable_class) = if user.disabled {
        (
            "Enable",
            format!("{name} can sign in again. Their old sessions stay ended."),
            "false",
            primary_button_class(),
        )
    } else {
        (
            "Disable",
            format!(
                "{name} is signed out everywhere, their API key and password stop working, \
                 their waiting mail is dropped and their running jobs are stopped."
            ),
            "true",
            danger_button_class(),
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
                    <button type="submit" class=disable_class>{format!("Yes, {}", disable_label.to_lowercase())}</button>
                </ActionForm>
            </Confirm>
        })}
        <Confirm label=role_label id=id("role") warning=format!("{} becomes {}.", user.username, role_phrase(role_value))>
            <ActionForm action=role>
                {for_role}
                <input type="hidden" name="role" value=role_value.as_str() />
                <button type="submit" class=primary_button_class()>"Yes, change the role"</button>
            </ActionForm>
        </Confirm>
        {(!is_me).then(|| view! {
            <Confirm label="Reset password" id=id("reset") warning=format!("{} gets a temporary password, shown to you once, that only lets them choose a new one. Their sessions end and their API key is revoked.", user.username)>
                <ActionForm action=reset>
                    {for_reset}
                    <button type="submit" class=danger_button_class()>"Yes, reset"</button>
                </ActionForm>
            </Confirm>
        })}
        {has_api_key.then(|| view! {
            <Confirm label="Revoke API key" id=id("revoke") warning=format!("The API key of {} stops working immediately.", user.username)>
                <ActionForm action=revoke>
                    {for_revoke}
                    <button type="submit" class=danger_button_class()>"Yes, revoke"</button>
                </ActionForm>
            </Confirm>
        })}
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
            <div class="flex items-start gap-2">
                <input
                    id="temporary-password"
                    class="min-w-0 flex-1 rounded border border-slate-300 bg-white px-3 py-2 font-mono text-sm"
                    readonly
                    aria-label=format!("Temporary password for {}", reset.username)
                    value=reset.temporary_password.clone()
                />
                <CopyButton
                    text=reset.temporary_password
                    fallback_input_id="temporary-password".to_owned()
                    what="temporary password".to_owned()
                />
            </div>
        </div>
    }
}

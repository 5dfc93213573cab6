//! User accounts: the list with what an administrator may do to each account (disable or
//! enable, change the role, reset the password, revoke the API key — each confirmed first),
//! and the form to create one. The same as `/rest/users`.

#[cfg(feature = "ssr")]
pub mod ssr;
mod table;

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::auth::{Role, UserView};
use crate::error::AppError;
use crate::forms::Posted;
use crate::ui::{
    ErrorText, FieldError, SuccessText, TextField, input_class, loaded, primary_button_class,
};
use table::{TemporaryPassword, UserTable};

/// Where every account action returns to.
#[cfg(feature = "ssr")]
const USERS: &str = "/admin#users";

/// The administrator acting, and the client's address, for an account action.
#[cfg(feature = "ssr")]
async fn acting_admin() -> Result<(crate::auth::ssr::Principal, std::net::IpAddr), AppError> {
    let admin = crate::admin::ssr::require_admin().await?;
    Ok((admin, crate::auth::ssr::client_ip().await))
}

/// Disables (`disabled = true`) or enables `username`'s account.
#[server(endpoint = "set_user_disabled")]
pub async fn set_user_disabled(username: String, disabled: bool) -> Result<UserView, AppError> {
    let (admin, ip) = acting_admin().await?;
    let state = crate::state::app_state()?;
    let change = ssr::AccountChange {
        disabled: Some(disabled),
        ..Default::default()
    };
    let user = ssr::change(&state, &admin, ip, &username, change).await?;
    crate::http::redirect_plain_form_to(USERS);
    Ok(user)
}

/// Gives `username` the role `role` (`admin` or `user`).
#[server(endpoint = "set_user_role")]
pub async fn set_user_role(username: String, role: String) -> Result<UserView, AppError> {
    let (admin, ip) = acting_admin().await?;
    let role = Role::parse(role.trim())
        .ok_or_else(|| AppError::invalid("role", "The role must be \"admin\" or \"user\"."))?;
    let state = crate::state::app_state()?;
    let change = ssr::AccountChange {
        role: Some(role),
        ..Default::default()
    };
    let user = ssr::change(&state, &admin, ip, &username, change).await?;
    crate::http::redirect_plain_form_to(USERS);
    Ok(user)
}

/// Revokes `username`'s API key.
#[server(endpoint = "revoke_user_api_key")]
pub async fn revoke_user_api_key(username: String) -> Result<bool, AppError> {
    let (admin, ip) = acting_admin().await?;
    let state = crate::state::app_state()?;
    let revoked = ssr::revoke_api_key(&state.db, &admin, ip, &username).await?;
    crate::http::redirect_plain_form_to(USERS);
    Ok(revoked)
}

/// A reset account and its temporary password, shown to the administrator once.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PasswordReset {
    pub username: String,
    pub temporary_password: String,
}

/// Resets `username`'s password to a temporary one that opens only the change-password form;
/// their sessions end and their API key is revoked.
#[server(endpoint = "reset_user_password")]
pub async fn reset_user_password(username: String) -> Result<PasswordReset, AppError> {
    use secrecy::ExposeSecret;
    let (admin, ip) = acting_admin().await?;
    let state = crate::state::app_state()?;
    let (user, temporary) = ssr::reset_password(
        &state.db,
        Some(&state.config),
        ssr::actor(&admin, ip),
        &username,
    )
    .await?;
    let reset = PasswordReset {
        username: user.username,
        temporary_password: temporary.expose_secret().to_owned(),
    };
    // A script caller gets it in this answer; a form post on the next page load, once.
    if crate::http::is_plain_form_post() {
        crate::secret_flash::flash(
            crate::secret_flash::Secret::TemporaryPassword,
            &format!("{}:{}", reset.username, reset.temporary_password),
            state.config.secure_cookies,
        );
        leptos_axum::redirect(USERS);
    }
    Ok(reset)
}

/// The temporary password a reset just flashed to this page load, if its account still waits
/// for a new password.
#[server(endpoint = "flashed_password_reset")]
pub async fn flashed_password_reset() -> Result<Option<PasswordReset>, AppError> {
    crate::admin::ssr::require_admin().await?;
    let Some(flashed) =
        crate::secret_flash::flashed(crate::secret_flash::Secret::TemporaryPassword)
    else {
        return Ok(None);
    };
    let Some((username, password)) = flashed.split_once(':') else {
        return Ok(None);
    };
    let state = crate::state::app_state()?;
    let waiting = crate::auth::ssr::users::find_by_username(&state.db, username)
        .await?
        .is_some_and(|user| user.must_change_password);
    Ok(waiting.then(|| PasswordReset {
        username: username.to_owned(),
        temporary_password: password.to_owned(),
    }))
}

/// Every account, by username.
#[server(endpoint = "users")]
pub async fn list_users() -> Result<Vec<UserView>, AppError> {
    crate::admin::ssr::require_admin().await?;
    let state = crate::state::app_state()?;
    crate::auth::ssr::users::all_users(&state.db).await
}

/// Creates an account with the same rules as `POST /rest/users`.
#[server(endpoint = "create_user")]
pub async fn create_user(
    username: String,
    password: String,
    role: String,
    #[server(default)] name: String,
    #[server(default)] email: String,
) -> Result<UserView, AppError> {
    use crate::auth::ssr::users::NewUser;
    let admin = crate::admin::ssr::require_admin().await?;
    let state = crate::state::app_state()?;
    let new = NewUser {
        username,
        password: password.into(),
        role,
        name: Some(name),
        email: Some(email),
    };
    let user = crate::auth::ssr::users::create_user(&state.db, new).await?;
    tracing::info!(user_id = user.id, by = admin.id, "user created");
    crate::http::redirect_plain_form_to("/admin#users");
    Ok(crate::auth::ssr::to_view(&user))
}

#[component]
pub fn UsersPanel(
    /// [`list_users`], created by the page.
    users: Resource<Result<Vec<UserView>, AppError>>,
    /// [`flashed_password_reset`], created by the page.
    reset: Resource<Result<Option<PasswordReset>, AppError>>,
    /// The administrator viewing the page.
    me: String,
) -> impl IntoView {
    let create = ServerAction::<CreateUser>::new();
    let posted = Posted::of::<CreateUser>().conflict_on("username");
    let error =
        Signal::stored(posted.other_error(&["username", "password", "name", "email", "role"]));
    let created = Signal::stored(
        posted
            .succeeded()
            .then(|| "User created. They can sign in with the password you chose.".to_owned()),
    );
    let chosen_role = posted.value("role");
    view! {
        <Suspense>
            {move || Suspend::new(async move {
                reset.await.ok().flatten().map(|reset| view! { <TemporaryPassword reset /> })
            })}
        </Suspense>
        {loaded(users, move |users| view! { <UserTable users me=me.clone() /> })}
        <h3 class="mt-6 mb-2 font-semibold text-slate-800">"New user"</h3>
        <ActionForm action=create attr:class="grid gap-4 sm:grid-cols-2" attr:aria-label="New user" attr:novalidate=true>
            <TextField id="new-user-username" label="Username *" name="username" required=true
                autocomplete="off" posted=posted.clone() />
            <TextField id="new-user-password" label="Password * (at least 8 characters)" name="password"
                kind="password" required=true autocomplete="new-password" posted=posted.clone() />
            <TextField id="new-user-name" label="Name" name="name" autocomplete="off" posted=posted.clone() />
            <TextField id="new-user-email" label="Email" name="email" kind="email" autocomplete="off" posted=posted.clone() />
            <div>
                <label class="block" for="new-user-role">
                    <span class="text-sm text-slate-700">"Role"</span>
                </label>
                <select id="new-user-role" class=input_class() name="role">
                    {[(Role::User, "User"), (Role::Admin, "Administrator")]
                        .into_iter()
                        .map(|(role, label)| {
                            let selected = chosen_role
                                .as_deref()
                                .map_or(role == Role::User, |chosen| chosen == role.as_str());
                            view! { <option value=role.as_str() selected=selected>{label}</option> }
                        })
                        .collect_view()}
                </select>
                <FieldError id="new-user-role-error".to_owned() error=posted.field_error("role") />
            </div>
            <div class="sm:col-span-2 min-h-5">
                <ErrorText error />
                <SuccessText message=created />
            </div>
            <div class="sm:col-span-2">
                <button class=primary_button_class() type="submit">"Create user"</button>
            </div>
        </ActionForm>
    }
}

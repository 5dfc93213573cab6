//! User accounts: the list (50 a page, by username, filtered by text, role and state) and the
//! form to create one on the administration page; each account's own page
//! (`/admin/users/{username}`) with what an administrator may do to it (disable or enable,
//! change the role, reset the password, revoke the API key — each confirmed first). The same as
//! `/rest/users`.

mod page;
#[cfg(feature = "ssr")]
pub mod ssr;
mod table;

pub use page::UserPage;

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::auth::{Role, UserView};
use crate::error::AppError;
use crate::forms::Posted;
use crate::paging::Page;
use crate::ui::{
    ErrorText, FieldError, TextField, input_class, loaded, primary_button_class,
    secondary_button_class,
};
use table::UserTable;

/// Accounts a page of the list shows.
pub const USERS_PAGE_LEN: u64 = 50;

/// The address of `username`'s page, where every action on the account returns to.
pub fn user_href(username: &str) -> String {
    format!(
        "/admin/users/{}",
        leptos_router::location::Url::escape(username)
    )
}

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
    crate::http::redirect_plain_form_to(&user_href(&user.username));
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
    crate::http::redirect_plain_form_to(&user_href(&user.username));
    Ok(user)
}

/// Revokes `username`'s API key.
#[server(endpoint = "revoke_user_api_key")]
pub async fn revoke_user_api_key(username: String) -> Result<bool, AppError> {
    let (admin, ip) = acting_admin().await?;
    let state = crate::state::app_state()?;
    let revoked = ssr::revoke_api_key(&state.db, &admin, ip, &username).await?;
    crate::http::redirect_plain_form_to(&user_href(&username));
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
        leptos_axum::redirect(&user_href(&reset.username));
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

/// A page of the accounts, by username: with `q`, those whose username, name or address
/// contains it; with `role` (`admin`, `user`) or `state` (`active`, `disabled`), those only.
#[server(endpoint = "users")]
pub async fn list_users(
    #[server(default)] q: Option<String>,
    #[server(default)] role: Option<String>,
    #[server(default)] state: Option<String>,
    #[server(default)] after: Option<String>,
) -> Result<Page<UserView>, AppError> {
    use crate::auth::ssr::users::UserFilter;
    use crate::paging::ssr::PageRequest;
    crate::admin::ssr::require_admin().await?;
    let app = crate::state::app_state()?;
    let role =
        match role
            .as_deref()
            .map(str::trim)
            .filter(|role| !role.is_empty())
        {
            Some(role) => Some(Role::parse(role).ok_or_else(|| {
                AppError::invalid("role", "The role must be \"admin\" or \"user\".")
            })?),
            None => None,
        };
    let disabled = match state.as_deref().map(str::trim).unwrap_or_default() {
        "" => None,
        "active" => Some(false),
        "disabled" => Some(true),
        _ => {
            return Err(AppError::invalid(
                "state",
                "The state must be \"active\" or \"disabled\".",
            ));
        }
    };
    let filter = UserFilter {
        text: q,
        role,
        disabled,
    };
    let page = PageRequest::after(USERS_PAGE_LEN, after.as_deref(), "after")?;
    crate::auth::ssr::users::list_users(&app.db, &filter, &page).await
}

/// The account `username`, for its page.
#[server(endpoint = "load_user", input = leptos::server_fn::codec::GetUrl)]
pub async fn load_user(username: String) -> Result<AccountView, AppError> {
    use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
    crate::admin::ssr::require_admin().await?;
    let state = crate::state::app_state()?;
    let user = crate::auth::ssr::users::find_by_username(&state.db, &username)
        .await?
        .ok_or(AppError::NotFound)?;
    let keys = crate::db::entity::api_key::Entity::find()
        .filter(crate::db::entity::api_key::Column::UserId.eq(user.id))
        .count(&state.db)
        .await?;
    Ok(AccountView {
        user: crate::auth::ssr::to_view(&user),
        has_api_key: keys > 0,
    })
}

/// One account as its administration page shows it.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct AccountView {
    pub user: UserView,
    /// Whether the account has an API key (to revoke).
    pub has_api_key: bool,
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
    let by = crate::auth::ssr::accounts::Actor {
        id: Some(admin.id),
        ip: Some(crate::auth::ssr::client_ip().await),
    };
    let user = crate::auth::ssr::accounts::create(&state.db, new, by).await?;
    crate::http::redirect_plain_form_to(&user_href(&user.username));
    Ok(crate::auth::ssr::to_view(&user))
}

/// The users list's filter, as the address gives it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct UsersQuery {
    pub q: Option<String>,
    pub role: Option<String>,
    pub state: Option<String>,
    pub after: Option<String>,
}

impl UsersQuery {
    /// The filter of this page load's address.
    pub fn from_address() -> Self {
        let query = leptos_router::hooks::use_query_map().get_untracked();
        let text = |name: &str| query.get(name).filter(|value| !value.trim().is_empty());
        Self {
            q: text("q"),
            role: text("role"),
            state: text("state"),
            after: text("after"),
        }
    }

    fn filtered(&self) -> bool {
        self.q.is_some() || self.role.is_some() || self.state.is_some()
    }
}

#[component]
pub fn UsersPanel(
    /// [`list_users`], created by the page.
    users: Resource<Result<Page<UserView>, AppError>>,
    /// The filter the list was read with.
    query: UsersQuery,
    /// The administrator viewing the page.
    me: String,
) -> impl IntoView {
    let create = ServerAction::<CreateUser>::new();
    let posted = Posted::of::<CreateUser>().conflict_on("username");
    let error =
        Signal::stored(posted.other_error(&["username", "password", "name", "email", "role"]));
    let chosen_role = posted.value("role");
    let filtered = query.filtered();
    let option = |value: &'static str, label: &'static str, chosen: &Option<String>| {
        let selected = chosen.as_deref() == Some(value);
        view! { <option value=value selected=selected>{label}</option> }
    };
    view! {
        <form method="get" action="/admin#users" class="mb-4 flex flex-wrap items-end gap-3" aria-label="Filter users">
            <label class="block">
                <span class="text-sm text-slate-700">"Filter by name, username or email"</span>
                <input class=input_class() name="q" type="search" value=query.q.clone().unwrap_or_default() autocomplete="off" />
            </label>
            <label class="block">
                <span class="text-sm text-slate-700">"Filter by role"</span>
                <select class=input_class() name="role">
                    {option("", "Any role", &query.role)}
                    {option("admin", "Administrators", &query.role)}
                    {option("user", "Users", &query.role)}
                </select>
            </label>
            <label class="block">
                <span class="text-sm text-slate-700">"Filter by state"</span>
                <select class=input_class() name="state">
                    {option("", "Any state", &query.state)}
                    {option("active", "Active", &query.state)}
                    {option("disabled", "Disabled", &query.state)}
                </select>
            </label>
            <button type="submit" class=secondary_button_class()>"Filter"</button>
        </form>
        {loaded(users, move |users| view! { <UserTable users me=me.clone() filtered /> })}
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
                    {[Role::User, Role::Admin]
                        .into_iter()
                        .map(|role| {
                            let selected = chosen_role
                                .as_deref()
                                .map_or(role == Role::User, |chosen| chosen == role.as_str());
                            view! { <option value=role.as_str() selected=selected>{role.label()}</option> }
                        })
                        .collect_view()}
                </select>
                <FieldError id="new-user-role-error".to_owned() error=posted.field_error("role") />
            </div>
            <div class="sm:col-span-2 min-h-5">
                <ErrorText error />
            </div>
            <div class="sm:col-span-2">
                <button class=primary_button_class() type="submit">"Create user"</button>
            </div>
        </ActionForm>
    }
}

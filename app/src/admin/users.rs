//! User accounts: the list, and the form to create one (the same as `POST /rest/users`).

use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

use crate::auth::{Role, UserView};
use crate::error::AppError;
use crate::ui::{ErrorText, SuccessText, input_class, loaded, primary_button_class};

const CREATED_FLAG: &str = "user_created";

/// Every account, by username.
#[server(endpoint = "users")]
pub async fn list_users() -> Result<Vec<UserView>, AppError> {
    use sea_orm::{EntityTrait, QueryOrder};

    use crate::db::entity::user;
    crate::admin::ssr::require_admin().await?;
    let state = crate::state::app_state()?;
    let users = user::Entity::find()
        .order_by_asc(user::Column::Username)
        .all(&state.db)
        .await?;
    Ok(users.iter().map(crate::auth::ssr::to_view).collect())
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
    crate::http::redirect_plain_form_to(&format!("/admin?{CREATED_FLAG}=1#users"));
    Ok(crate::auth::ssr::to_view(&user))
}

#[component]
pub fn UsersPanel(
    /// [`list_users`], created by the page.
    users: Resource<Result<Vec<UserView>, AppError>>,
) -> impl IntoView {
    let create = ServerAction::<CreateUser>::new();
    let query = use_query_map();
    let error = Signal::derive(move || create.value().get().and_then(Result::err));
    let created = Signal::derive(move || {
        (query.read().get(CREATED_FLAG).is_some() && error.get().is_none())
            .then(|| "User created. They can sign in with the password you chose.".to_owned())
    });
    view! {
        {loaded(users, |users| view! { <UserTable users /> })}
        <h3 class="mt-6 mb-2 font-semibold text-slate-800">"New user"</h3>
        <ActionForm action=create attr:class="grid gap-4 sm:grid-cols-2" attr:aria-label="New user" attr:novalidate=true>
            <label class="block">
                <span class="text-sm text-slate-700">"Username *"</span>
                <input class=input_class() type="text" name="username" required autocomplete="off" />
            </label>
            <label class="block">
                <span class="text-sm text-slate-700">"Password * (at least 8 characters)"</span>
                <input class=input_class() type="password" name="password" required autocomplete="new-password" />
            </label>
            <label class="block">
                <span class="text-sm text-slate-700">"Name"</span>
                <input class=input_class() type="text" name="name" autocomplete="off" />
            </label>
            <label class="block">
                <span class="text-sm text-slate-700">"Email"</span>
                <input class=input_class() type="email" name="email" autocomplete="off" />
            </label>
            <label class="block">
                <span class="text-sm text-slate-700">"Role"</span>
                <select class=input_class() name="role">
                    <option value=Role::User.as_str() selected>"User"</option>
                    <option value=Role::Admin.as_str()>"Administrator"</option>
                </select>
            </label>
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

#[component]
fn UserTable(users: Vec<UserView>) -> impl IntoView {
    view! {
        <table class="w-full text-left text-sm" data-testid="users">
            <thead class="text-slate-500">
                <tr>
                    <th scope="col" class="py-2">"Username"</th>
                    <th scope="col">"Name"</th>
                    <th scope="col">"Role"</th>
                    <th scope="col">"Email"</th>
                    <th scope="col">"Notifications"</th>
                </tr>
            </thead>
            <tbody>
                {users
                    .into_iter()
                    .map(|user| view! {
                        <tr class="border-t border-slate-100">
                            <td class="py-2">{user.username}</td>
                            <td>{user.name}</td>
                            <td>{if user.role == Role::Admin { "Administrator" } else { "User" }}</td>
                            <td>{user.email.unwrap_or_default()}</td>
                            <td>{if user.notifications { "On" } else { "Off" }}</td>
                        </tr>
                    })
                    .collect_view()}
            </tbody>
        </table>
    }
}

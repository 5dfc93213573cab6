//! User accounts: the list, and the form to create one (the same as `POST /rest/users`).

use leptos::prelude::*;

use crate::auth::{Role, UserView};
use crate::error::AppError;
use crate::forms::Posted;
use crate::ui::{
    ErrorText, FieldError, SuccessText, TextField, input_class, loaded, primary_button_class,
};

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
    crate::http::redirect_plain_form_to("/admin#users");
    Ok(crate::auth::ssr::to_view(&user))
}

#[component]
pub fn UsersPanel(
    /// [`list_users`], created by the page.
    users: Resource<Result<Vec<UserView>, AppError>>,
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
        {loaded(users, |users| view! { <UserTable users /> })}
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

#[component]
fn UserTable(users: Vec<UserView>) -> impl IntoView {
    view! {
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
        </div>
    }
}

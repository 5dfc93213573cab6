//! The accounts table: one row per account, linking to the account's page where its actions
//! are; a page of 50 with links to the next.

use leptos::prelude::*;

use crate::ui::ScrollX;

use super::user_href;
use crate::auth::UserView;
use crate::paging::{Page, PageLinks};

/// How an account stands, in a word.
pub(super) fn status(user: &UserView) -> &'static str {
    if user.disabled {
        "Disabled"
    } else if user.must_change_password {
        "Password reset"
    } else {
        "Active"
    }
}

#[component]
pub fn UserTable(
    users: Page<UserView>,
    /// The administrator viewing the page.
    me: String,
    /// The list is filtered (an empty one then says so).
    filtered: bool,
) -> impl IntoView {
    let Page { items: users, next } = users;
    if users.is_empty() {
        let text = if filtered {
            "No account matches this filter."
        } else {
            "No accounts."
        };
        return view! { <p class="text-sm text-slate-600" data-testid="no-users">{text}</p> }
            .into_any();
    }
    view! {
        <ScrollX label="Users"><table class="w-full text-left text-sm" data-testid="users">
            <thead class="text-slate-600">
                <tr>
                    <th scope="col" class="py-2">"Username"</th>
                    <th scope="col">"Name"</th>
                    <th scope="col">"Role"</th>
                    <th scope="col">"Email"</th>
                    <th scope="col">"Status"</th>
                </tr>
            </thead>
            <tbody>
                {users
                    .into_iter()
                    .map(|user| {
                        let is_me = user.username == me;
                        view! {
                            <tr class="border-t border-slate-100 align-top" data-testid="user-row" data-username=user.username.clone()>
                                <td class="py-2 pr-3 font-medium">
                                    <a class="text-blue-700 underline" href=user_href(&user.username)>{user.username.clone()}</a>
                                    {is_me.then_some(" (you)")}
                                </td>
                                <td class="py-2 pr-3">{user.name.clone()}</td>
                                <td class="py-2 pr-3">{user.role.label()}</td>
                                <td class="py-2 pr-3 break-all">{user.email.clone().unwrap_or_default()}</td>
                                <td class="py-2 pr-3" data-testid="user-status">{status(&user)}</td>
                            </tr>
                        }
                    })
                    .collect_view()}
            </tbody>
        </table></ScrollX>
        <PageLinks next of="users" param="after" label="Next page" anchor="#users" />
    }
    .into_any()
}

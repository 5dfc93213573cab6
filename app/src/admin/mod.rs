//! Administration, for administrators only: the mail server, mail that could not be delivered,
//! user accounts, and the audit log of every account's security events. The account menu in the
//! top bar links here.

pub mod audit;
pub mod mail_server;
pub mod undelivered;
pub mod users;

use leptos::prelude::*;

use crate::auth::{Role, UserView, with_user};
use crate::render::page_resource;
use crate::ui::Section;
use mail_server::{MailServerPanel, load_mail_server};
use undelivered::{UndeliveredMailPanel, list_undelivered_mail};
use users::{UsersPanel, UsersQuery, list_users};

#[component]
pub fn AdminPage() -> impl IntoView {
    // Created here, once per request, never inside `with_user` (see `crate::render`). Each answers
    // `Forbidden` to anyone but an administrator, whose page then shows none of them.
    let settings = page_resource(load_mail_server);
    let mail_after = leptos_router::hooks::use_query_map()
        .get_untracked()
        .get("mail_after");
    let mails = page_resource(move || list_undelivered_mail(mail_after.clone()));
    let query = UsersQuery::from_address();
    let users = {
        let query = query.clone();
        page_resource(move || {
            let query = query.clone();
            list_users(query.q, query.role, query.state, query.after)
        })
    };
    view! {
        <AdminsOnly>
            {
                let user = expect_context::<UserView>();
                let query = query.clone();
                view! {
                    <main class="mx-auto max-w-5xl p-6">
                        <div class="mb-6 flex flex-wrap items-baseline justify-between gap-3">
                            <h1 class="text-2xl font-semibold text-slate-800">"Administration"</h1>
                            <a class="text-blue-700 underline" href="/admin/audit">"Audit log"</a>
                        </div>
                        <Section title="Mail server" id="mail-server">
                            <MailServerPanel settings admin_email=user.email.clone() />
                        </Section>
                        <Section title="Undelivered mail" id="undelivered-mail">
                            <UndeliveredMailPanel mails />
                        </Section>
                        <Section title="Users" id="users">
                            <UsersPanel users query me=user.username.clone() />
                        </Section>
                    </main>
                }
            }
        </AdminsOnly>
    }
}

/// Renders `children` for an administrator (who is provided to them as context); anyone else
/// signed in gets 403 and a short explanation, anyone else is sent to sign in.
#[component]
pub fn AdminsOnly(children: ChildrenFn) -> impl IntoView {
    let children = std::sync::Arc::new(children);
    with_user(move |user| {
        if user.role != Role::Admin {
            #[cfg(feature = "ssr")]
            if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
                response.set_status(axum::http::StatusCode::FORBIDDEN);
            }
            return view! {
                <main class="mx-auto max-w-3xl p-6">
                    <h1 class="text-2xl font-semibold text-slate-800">"Administrators only"</h1>
                    <p class="mt-2 text-slate-600">"Ask an administrator if you need a change here."</p>
                </main>
            }
            .into_any();
        }
        provide_context(user);
        children().into_any()
    })
}

#[cfg(feature = "ssr")]
pub mod ssr {
    use crate::auth::ssr::{Principal, require_principal};
    use crate::error::AppError;

    /// The signed-in administrator; anyone else is refused.
    pub async fn require_admin() -> Result<Principal, AppError> {
        let principal = require_principal().await?;
        principal.require_admin()?;
        Ok(principal)
    }
}

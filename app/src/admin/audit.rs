//! The Audit page: every account's security events, newest first, filtered by user and kind,
//! a page at a time. The filter and the page are in the address (`/admin/audit?user=alice&
//! kind=signed_in&after=…`), so a view can be bookmarked and shared.

use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

use super::AdminsOnly;
use crate::auth::log::{SecurityEventKind, SecurityEventView};
use crate::error::AppError;
use crate::paging::{Page, PageLinks};
use crate::profile::security_log::EventTable;
use crate::render::page_resource;
use crate::ui::{BackLink, input_class, loaded, primary_button_class};

/// Events per page.
pub const AUDIT_PAGE_LEN: u64 = 50;

/// Security events of every account (or of `user`, of `kind`), a page after cursor `after`.
#[server(endpoint = "audit_log")]
pub async fn audit_log(
    #[server(default)] user: Option<String>,
    #[server(default)] kind: Option<String>,
    #[server(default)] after: Option<String>,
) -> Result<Page<SecurityEventView>, AppError> {
    use crate::auth::log::ssr::{Filter, list};
    use crate::paging::ssr::PageRequest;
    crate::admin::ssr::require_admin().await?;
    let state = crate::state::app_state()?;
    let page = PageRequest::after(AUDIT_PAGE_LEN, after.as_deref(), "after")?;
    let user_id = match user
        .as_deref()
        .map(str::trim)
        .filter(|name| !name.is_empty())
    {
        Some(name) => match crate::auth::ssr::users::find_by_username(&state.db, name).await? {
            Some(user) => Some(user.id),
            None => return Err(AppError::invalid("user", format!("No user named {name}."))),
        },
        None => None,
    };
    let kind = match kind.as_deref().filter(|kind| !kind.is_empty()) {
        Some(name) => Some(
            SecurityEventKind::parse(name)
                .ok_or_else(|| AppError::invalid("kind", "There is no such kind of event."))?,
        ),
        None => None,
    };
    let filter = Filter {
        user_id,
        kind,
        own: false,
    };
    list(&state.db, filter, &page).await
}

#[component]
pub fn AuditPage() -> impl IntoView {
    let query = use_query_map().get_untracked();
    let text = |name: &str| query.get(name).filter(|value| !value.is_empty());
    let (user, kind) = (text("user"), text("kind"));
    let after = text("after");
    let page = {
        let (user, kind) = (user.clone(), kind.clone());
        // Created here, once per request (see `crate::render`).
        page_resource(move || audit_log(user.clone(), kind.clone(), after.clone()))
    };
    view! {
        <AdminsOnly>
            <AuditView page user=user.clone() kind=kind.clone() />
        </AdminsOnly>
    }
}

#[component]
fn AuditView(
    page: Resource<Result<Page<SecurityEventView>, AppError>>,
    /// The filter as the address gives it.
    user: Option<String>,
    kind: Option<String>,
) -> impl IntoView {
    view! {
        <main class="mx-auto max-w-5xl p-6">
            <BackLink href="/admin" to="Administration" />
            <h1 class="mb-6 text-2xl font-semibold text-slate-800">"Audit"</h1>
            <form method="get" action="/admin/audit" class="mb-4 flex flex-wrap items-end gap-3" aria-label="Filter events">
                <label class="block">
                    <span class="text-sm text-slate-700">"User"</span>
                    <input class=input_class() name="user" value=user.clone().unwrap_or_default() autocomplete="off" />
                </label>
                <label class="block">
                    <span class="text-sm text-slate-700">"Event"</span>
                    <select class=input_class() name="kind">
                        <option value="">"All events"</option>
                        {SecurityEventKind::ALL
                            .into_iter()
                            .map(|option| {
                                let selected = kind.as_deref() == Some(option.as_str());
                                view! { <option value=option.as_str() selected=selected>{option.label()}</option> }
                            })
                            .collect_view()}
                    </select>
                </label>
                <button type="submit" class=primary_button_class()>"Filter"</button>
            </form>
            <div class="rounded-lg bg-white p-6 shadow">
                {loaded(page, move |page| {
                    view! {
                        <EventTable events=page.items with_user=true />
                        <PageLinks next=page.next of="events" param="after" label="Older events" />
                    }
                })}
            </div>
        </main>
    }
}

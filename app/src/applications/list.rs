//! The applications page: the applications the user may see, 50 a page by name with a filter,
//! and a form to create one.

use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

use super::{ApplicationView, CreateApplication, list_applications};
use crate::auth::with_user;
use crate::forms::Posted;
use crate::paging::{Page, PageLinks};
use crate::render::page_resource;
use crate::ui::{
    ErrorText, ScrollX, TextField, Time, input_class, loaded, primary_button_class,
    secondary_button_class,
};

#[component]
pub fn ApplicationsPage() -> impl IntoView {
    let query = use_query_map().get_untracked();
    let filter = query.get("name").filter(|name| !name.trim().is_empty());
    let after = query.get("after");
    // Created here, once per request, never inside `with_user` (see `crate::render`).
    let applications = {
        let filter = filter.clone();
        page_resource(move || list_applications(filter.clone(), after.clone()))
    };
    with_user(move |user| {
        // Everyone else sees only their own applications: an Owner column would be their name.
        let admin = user.role == crate::auth::Role::Admin;
        let filter = filter.clone();
        let create = ServerAction::<CreateApplication>::new();
        let posted = Posted::of::<CreateApplication>().conflict_on("name");
        let error = Signal::stored(posted.other_error(&["name"]));
        view! {
            <main class="mx-auto max-w-4xl p-6">
                <h1 class="mb-6 text-2xl font-semibold text-slate-800">"Applications"</h1>
                <section class="mb-6 rounded-lg bg-white p-6 shadow" aria-labelledby="new-application">
                    <h2 id="new-application" class="mb-3 text-lg font-semibold text-slate-800">"New application"</h2>
                    <ActionForm action=create attr:class="flex flex-wrap items-start gap-3" attr:aria-label="New application">
                        <TextField
                            id="new-application-name"
                            label="Application name"
                            name="name"
                            required=true
                            maxlength=100
                            posted
                            class="min-w-64 flex-1"
                        />
                        <button class=format!("{} mt-6", primary_button_class()) type="submit">"Create"</button>
                    </ActionForm>
                    <ErrorText error />
                </section>
                <form method="get" action="/applications" class="mb-4 flex flex-wrap items-end gap-3" aria-label="Filter applications">
                    <label class="block">
                        <span class="text-sm text-slate-700">"Filter by name"</span>
                        <input class=input_class() name="name" type="search" value=filter.clone().unwrap_or_default() autocomplete="off" />
                    </label>
                    <button type="submit" class=secondary_button_class()>"Filter"</button>
                </form>
                {loaded(applications, move |page| view! { <ApplicationTable page filtered=filter.is_some() admin /> })}
            </main>
        }
    })
}

#[component]
fn ApplicationTable(
    page: Page<ApplicationView>,
    filtered: bool,
    /// Administrators see everyone's applications, so whose each is.
    admin: bool,
) -> impl IntoView {
    let Page { items: list, next } = page;
    if list.is_empty() {
        let text = if filtered {
            "No application has a name like that."
        } else {
            "No applications yet. Create one above."
        };
        return view! { <p class="text-slate-600" data-testid="no-applications">{text}</p> }
            .into_any();
    }
    view! {
        <ScrollX label="Applications"><table class="w-full rounded-lg bg-white text-left text-sm shadow" data-testid="applications">
            <thead class="text-slate-600">
                <tr>
                    <th scope="col" class="px-6 py-2">"Name"</th>
                    {admin.then(|| view! { <th scope="col">"Owner"</th> })}
                    <th scope="col">"Created"</th>
                </tr>
            </thead>
            <tbody>
                {list
                    .into_iter()
                    .map(|application| {
                        view! {
                            <tr class="border-t border-slate-100">
                                <td class="px-6 py-2">
                                    <a class="font-medium text-blue-700 underline" href=format!("/applications/{}", application.id)>
                                        {application.name}
                                    </a>
                                </td>
                                {admin.then(|| view! { <td>{application.owner}</td> })}
                                <td><Time at=application.created_at /></td>
                            </tr>
                        }
                    })
                    .collect_view()}
            </tbody>
        </table></ScrollX>
        <PageLinks next of="applications" param="after" label="Next page" />
    }
        .into_any()
}

//! The applications page: the applications the user may see, and a form to create one.

use leptos::prelude::*;

use super::{ApplicationView, CreateApplication, list_applications};
use crate::auth::with_user;
use crate::forms::Posted;
use crate::render::page_resource;
use crate::ui::{ErrorText, TextField, loaded, primary_button_class, short_time};

#[component]
pub fn ApplicationsPage() -> impl IntoView {
    // Created here, once per request, never inside `with_user` (see `crate::render`).
    let applications = page_resource(list_applications);
    with_user(move |_| {
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
                {loaded(applications, |list| view! { <ApplicationTable list /> })}
            </main>
        }
    })
}

#[component]
fn ApplicationTable(list: Vec<ApplicationView>) -> impl IntoView {
    if list.is_empty() {
        return view! { <p class="text-slate-600" data-testid="no-applications">"No applications yet. Create one above."</p> }
            .into_any();
    }
    view! {
        <table class="w-full rounded-lg bg-white text-left text-sm shadow" data-testid="applications">
            <thead class="text-slate-600">
                <tr>
                    <th scope="col" class="px-6 py-2">"Name"</th>
                    <th scope="col">"Owner"</th>
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
                                <td>{application.owner}</td>
                                <td>{short_time(&application.created_at)}</td>
                            </tr>
                        }
                    })
                    .collect_view()}
            </tbody>
        </table>
    }
        .into_any()
}

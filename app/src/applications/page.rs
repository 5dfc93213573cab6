//! One application: its versions (with the upload form) and its jobs (start, stop, live status,
//! results).

use leptos::prelude::*;
use leptos_router::hooks::{use_params_map, use_query_map};

use super::versions::VersionsPanel;
use super::{UploadVersion, load_application};
use crate::applications::jobs::JobsPanel;
use crate::auth::with_user;
use crate::error::AppError;
use crate::forms::Posted;
use crate::render::page_resource;
use crate::ui::{BackLink, PageError, Section, Time};

#[component]
pub fn ApplicationPage() -> impl IntoView {
    // Created here, once per request, never inside `with_user` (see `crate::render`).
    // A page load renders one application: its id is read once.
    let id = use_params_map()
        .read_untracked()
        .get("id")
        .and_then(|id| id.parse::<i64>().ok());
    let query = use_query_map().get_untracked();
    let (versions_after, jobs_after) = (query.get("versions_after"), query.get("jobs_after"));
    let details = page_resource(move || {
        let (versions_after, jobs_after) = (versions_after.clone(), jobs_after.clone());
        async move {
            match id {
                Some(id) => load_application(id, versions_after, jobs_after).await,
                None => Err(AppError::NotFound),
            }
        }
    });
    with_user(move |_| {
        view! {
            <main class="mx-auto max-w-4xl p-6">
                <BackLink href="/applications" to="Applications" />
                <Suspense fallback=|| view! { <p class="text-slate-500">"Loading…"</p> }>
                    {move || Suspend::new(async move {
                        match details.await {
                            Ok(details) => {
                                let application = details.application;
                                let upload = Posted::of::<UploadVersion>();
                                let versions = details.versions;
                                // The start form offers the versions of this page.
                                let startable = versions.items.clone();
                                let jobs = details.jobs;
                                view! {
                                    <h1 class="text-2xl font-semibold text-slate-800" data-testid="application-name">
                                        {application.name.clone()}
                                    </h1>
                                    <p class="mb-6 text-sm text-slate-600">
                                        {format!("Owner {} · created ", application.owner)}
                                        <Time at=application.created_at.clone() />
                                    </p>
                                    <Section title="Versions" id="versions">
                                        <VersionsPanel
                                            application_id=application.id
                                            versions
                                            posted=upload
                                        />
                                    </Section>
                                    <Section title="Jobs" id="jobs">
                                        <JobsPanel application_id=application.id versions=startable jobs />
                                    </Section>
                                }
                                    .into_any()
                            }
                            Err(error) => view! {
                                <PageError
                                    heading="Application"
                                    error
                                    not_found="There is no such application, or it is not yours."
                                />
                            }
                                .into_any(),
                        }
                    })}
                </Suspense>
            </main>
        }
    })
}

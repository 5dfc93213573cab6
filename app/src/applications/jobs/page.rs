//! A job's own page (`/applications/{id}/jobs/{job}`): what it is, its live status, and its
//! full report or error. The application page lists jobs compactly and links here.

use leptos::prelude::*;
use leptos_router::hooks::use_params_map;
use serde::{Deserialize, Serialize};

use super::panel::StopForm;
use super::{JobProgress, JobReport, JobStatus, JobView, StopJob};
use crate::applications::ApplicationView;
use crate::auth::with_user;
use crate::error::AppError;
use crate::render::page_resource;
use crate::ui::{BackLink, PageError, Time};

/// Everything a job's page shows.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobDetails {
    pub application: ApplicationView,
    pub job: JobView,
    /// The version's name.
    pub version: String,
}

/// Job `job` of application `application`, with its report.
#[server(endpoint = "load_job", input = leptos::server_fn::codec::GetUrl)]
pub async fn load_job(application: i64, job: i64) -> Result<JobDetails, AppError> {
    let state = crate::state::app_state()?;
    let principal = crate::auth::ssr::require_principal().await?;
    // One visibility check: the application's; a job is found under its own application only.
    let application = crate::applications::ssr::get(&state.db, &principal, application).await?;
    let job = super::ssr::of_application(&state.db, application.id, job).await?;
    let version = crate::applications::ssr::versions::name_of(&state.db, job.version_id).await?;
    Ok(JobDetails {
        application,
        job,
        version,
    })
}

#[component]
pub fn JobPage() -> impl IntoView {
    // Created here, once per request, never inside `with_user` (see `crate::render`).
    let params = use_params_map().read_untracked();
    let number = |name: &str| params.get(name).and_then(|id| id.parse::<i64>().ok());
    let ids = number("id").zip(number("job"));
    let details = page_resource(move || async move {
        match ids {
            Some((application, job)) => load_job(application, job).await,
            None => Err(AppError::NotFound),
        }
    });
    with_user(move |_| {
        view! {
            <main class="mx-auto max-w-4xl p-6">
                <Suspense fallback=|| view! { <p class="text-slate-500">"Loading…"</p> }>
                    {move || Suspend::new(async move {
                        match details.await {
                            Ok(details) => view! { <JobDetailsView details /> }.into_any(),
                            Err(error) => view! {
                                <PageError heading="Job" error not_found="There is no such job, or it is not yours." />
                            }
                                .into_any(),
                        }
                    })}
                </Suspense>
            </main>
        }
    })
}

#[component]
fn JobDetailsView(details: JobDetails) -> impl IntoView {
    let JobDetails {
        application,
        job,
        version,
    } = details;
    let took = job.took();
    let times = view! {
        {format!("#{} · started by {} · queued ", job.id, job.created_by)}
        <Time at=job.created_at.clone() />
        {job.finished_at.clone().map(|at| view! { " · finished " <Time at /> })}
        {took.map(|took| format!(" · ran {took}"))}
        {job.stopped_by.clone().map(|by| format!(" · stopped by {by}"))}
    };
    let running = !job.status.is_finished();
    let title = format!("{} of {version}", job.kind.label());
    view! {
        <BackLink href=format!("/applications/{}#jobs", application.id) to=application.name />
        <JobHeading title id=job.id status=job.status progress=job.progress />
        <p class="mb-4 text-sm text-slate-600">{times}</p>
        <section class="rounded-lg bg-white p-6 shadow" aria-label="Report">
            {job
                .error
                .map(|error| view! { <p class="text-sm text-red-700" data-testid="job-error">{error}</p> })}
            {job.result.map(JobReport::view)}
            {running.then(|| view! { <p class="text-sm text-slate-600">"The report appears here when the job has finished."</p> })}
        </section>
    }
    .into_any()
}

/// The job's title, its live status and, while it runs, its Stop button.
#[component]
fn JobHeading(title: String, id: i64, status: JobStatus, progress: u8) -> impl IntoView {
    let stop = ServerAction::<StopJob>::new();
    view! {
        <div class="mb-4 flex flex-wrap items-center justify-between gap-3">
            <h1 class="text-2xl font-semibold text-slate-800" data-testid="job-title">{title}</h1>
            <div class="flex items-center gap-3" data-testid="job" data-job-id=id>
                <JobProgress id status progress reload_when_finished=true>
                    {(!status.is_finished()).then(|| view! { <StopForm id action=stop /> })}
                </JobProgress>
            </div>
        </div>
    }
    .into_any()
}

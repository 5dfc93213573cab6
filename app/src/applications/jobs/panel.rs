//! The jobs of an application: start one of any kind on a version, and a page of the jobs,
//! newest first, with their live status, a Stop button while they run, and each finished job's
//! figures or error with a link to its report.

use leptos::prelude::*;

use super::{JobKind, JobProgress, JobStatus, JobSummary, StartJob, StopJob};
use crate::applications::VersionView;
use crate::forms::Posted;
use crate::paging::{Page, PageLinks};
use crate::ui::{ErrorText, Time, input_class, primary_button_class, secondary_button_class};

#[component]
pub fn JobsPanel(
    application_id: i64,
    /// The versions a job may be started on (those of the versions' page shown).
    versions: Vec<VersionView>,
    jobs: Page<JobSummary>,
) -> impl IntoView {
    let Page { items: jobs, next } = jobs;
    let start = ServerAction::<StartJob>::new();
    let stop = ServerAction::<StopJob>::new();
    let started = Posted::of::<StartJob>();
    let start_error = Signal::stored(started.error());
    let stop_error = Signal::stored(Posted::of::<StopJob>().error());
    // The version chosen before a failed start stays chosen.
    let chosen = started.value("version");
    let version_invalid = started.error().is_some();

    view! {
        {if versions.is_empty() {
            view! { <p class="text-slate-600">"Upload a version to analyse it."</p> }.into_any()
        } else {
            view! {
                <ActionForm action=start attr:class="flex flex-wrap items-end gap-3" attr:aria-label="Start a job">
                    <input type="hidden" name="application" value=application_id />
                    <label class="min-w-48">
                        <span class="text-sm text-slate-700">"Version"</span>
                        <select
                            class=input_class()
                            name="version"
                            aria-describedby="start-job-error"
                            aria-invalid=version_invalid.then_some("true")
                            autofocus=version_invalid
                        >
                            {versions
                                .iter()
                                .map(|version| {
                                    let selected = chosen.as_deref() == Some(version.id.to_string().as_str());
                                    view! { <option value=version.id selected=selected>{version.name.clone()}</option> }
                                })
                                .collect_view()}
                        </select>
                    </label>
                    // The button pressed says the kind (browsers send the pressed button's value).
                    {JobKind::ALL
                        .into_iter()
                        .map(|kind| {
                            view! {
                                <button class=primary_button_class() type="submit" name="kind" value=kind.as_str()>
                                    {kind.label()}
                                </button>
                            }
                        })
                        .collect_view()}
                </ActionForm>
            }
                .into_any()
        }}
        <div id="start-job-error"><ErrorText error=start_error /></div>
        <ErrorText error=stop_error />
        {if jobs.is_empty() {
            view! { <p class="mt-4 text-slate-600" data-testid="no-jobs">"No jobs yet."</p> }.into_any()
        } else {
            view! {
                <ul class="mt-4 space-y-4" data-testid="jobs">
                    {jobs.into_iter().map(|job| view! { <JobItem job stop /> }).collect_view()}
                </ul>
                <PageLinks next of="jobs" param="jobs_after" label="Older jobs" anchor="#jobs" />
            }
                .into_any()
        }}
    }
    .into_any()
}

#[component]
fn JobItem(job: JobSummary, stop: ServerAction<StopJob>) -> impl IntoView {
    let running = !job.status.is_finished();
    let who = match (&job.status, &job.stopped_by) {
        (JobStatus::Stopped, Some(by)) => format!("started by {}, stopped by {by}", job.created_by),
        _ => format!("started by {}", job.created_by),
    };
    view! {
        <li class="rounded border border-slate-200 p-4" data-testid="job" data-job-id=job.id>
            <div class="flex flex-wrap items-center justify-between gap-3">
                <div>
                    <p class="font-medium text-slate-800">
                        <a class="text-blue-700 underline" href=job.href()>
                            {format!("{} of {}", job.kind.label(), job.version)}
                        </a>
                    </p>
                    <p class="text-sm text-slate-500">
                        {format!("#{} · ", job.id)}
                        <Time at=job.created_at />
                        {format!(" · {who}")}
                        {job.took.map(|took| format!(" · took {took}"))}
                    </p>
                </div>
                <JobProgress id=job.id status=job.status progress=job.progress reload_when_finished=false>
                    {running.then(|| view! { <StopForm id=job.id action=stop /> })}
                </JobProgress>
            </div>
            {job
                .error
                .map(|error| view! { <p class="mt-2 text-sm text-red-700" data-testid="job-error">{error}</p> })}
            {job
                .totals
                .map(|totals| view! { <p class="mt-2 text-sm text-slate-700" data-testid="job-totals">{totals}</p> })}
        </li>
    }
    .into_any()
}

/// A queued or running job's Stop button (a form, so it works without JavaScript).
#[component]
pub(super) fn StopForm(id: i64, action: ServerAction<StopJob>) -> impl IntoView {
    view! {
        <ActionForm action>
            <input type="hidden" name="id" value=id />
            <button class=secondary_button_class() type="submit" aria-label=format!("Stop job {id}")>
                "Stop"
            </button>
        </ActionForm>
    }
}

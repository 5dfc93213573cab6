//! A job's status badge and progress, kept current without a manual reload: an island that asks
//! the server every second while the job is queued or running. In a list of jobs a finished job
//! shows its outcome in place (the report's figures or the error), so the page never moves under
//! the reader. On the job's own page, which shows the whole report, the page is loaded again
//! instead — unless the user is busy with a form (typing, or a file chosen for upload), in which
//! case it offers a "Show the result" button.

use leptos::prelude::*;

use super::JobStatus;
#[cfg(feature = "hydrate")]
use super::poll_job;
use crate::ui::hydrated_signal;

/// How often a queued or running job is looked at again.
#[cfg(feature = "hydrate")]
const POLL_EVERY: std::time::Duration = std::time::Duration::from_secs(1);

#[island]
pub fn JobProgress(
    id: i64,
    status: JobStatus,
    progress: u8,
    /// On the job's own page: load the page again once finished, to show the whole report.
    reload_when_finished: bool,
    /// What is there only while the job is queued or running (its Stop button): hidden as soon
    /// as the job is seen to finish.
    children: Children,
) -> impl IntoView {
    let current = RwSignal::new((status, progress));
    // The outcome of a job that finished while this page was open.
    let outcome = RwSignal::new(None::<(JobStatus, String)>);
    let ready = hydrated_signal();
    // Finished while the user was busy: the page waits for them.
    let waiting = RwSignal::new(false);
    #[cfg(feature = "hydrate")]
    if !status.is_finished() {
        poll(
            id,
            current,
            outcome,
            reload_when_finished.then_some(waiting),
        );
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = (id, reload_when_finished);

    let badge = move || {
        let (status, _) = current.get();
        let colour = match status {
            JobStatus::Queued => "bg-slate-200 text-slate-800",
            JobStatus::Running => "bg-blue-100 text-blue-900",
            JobStatus::Succeeded => "bg-green-100 text-green-900",
            JobStatus::Failed => "bg-red-100 text-red-900",
            JobStatus::Stopped => "bg-amber-100 text-amber-900",
        };
        format!("rounded px-2 py-0.5 text-xs font-semibold uppercase tracking-wide {colour}")
    };
    view! {
        <span class="flex items-center gap-2" role="status" aria-live="polite">
            <span class=badge data-testid="job-status">{move || current.get().0.as_str()}</span>
            {move || {
                let (status, progress) = current.get();
                (status == JobStatus::Running)
                    .then(|| {
                        // Indeterminate (no value) until the job reports progress, and without
                        // JavaScript, where the figure would never move.
                        let known = ready.get() && progress > 0;
                        view! {
                            <progress class="h-2 w-24" max="100" value=known.then_some(progress) aria-label="Progress"></progress>
                            <span class="w-10 text-right text-sm text-slate-600">{known.then(|| format!("{progress}%"))}</span>
                        }
                    })
            }}
            {move || {
                outcome.get().map(|(status, text)| {
                    // As the row of a job that had finished before the page was loaded says it.
                    let (class, testid) = if status == JobStatus::Failed {
                        ("text-sm text-red-700", "job-error")
                    } else {
                        ("text-sm text-slate-700", "job-totals")
                    };
                    view! { <span class=class data-testid=testid>{text}</span> }
                })
            }}
            {move || {
                waiting
                    .get()
                    .then(|| {
                        view! {
                            <button
                                type="button"
                                class="text-sm text-blue-700 underline"
                                on:click=|_| reload()
                            >
                                "Show the result"
                            </button>
                        }
                    })
            }}
            <span hidden=move || current.try_get().is_some_and(|(status, _)| status.is_finished())>
                {children()}
            </span>
        </span>
    }
}

/// Loads the page again, to show what the server rendered for the finished job.
fn reload() {
    #[cfg(feature = "hydrate")]
    if let Some(window) = web_sys::window() {
        let _ = window.location().reload();
    }
}

/// Whether reloading now would lose the user's work: focus in a field, or a file chosen.
#[cfg(feature = "hydrate")]
fn user_is_busy() -> bool {
    use wasm_bindgen::JsCast;

    let Some(document) = web_sys::window().and_then(|window| window.document()) else {
        return false;
    };
    let typing = document.active_element().is_some_and(|element| {
        matches!(element.tag_name().as_str(), "INPUT" | "TEXTAREA" | "SELECT")
    });
    let file_chosen = document
        .query_selector_all("input[type=file]")
        .ok()
        .is_some_and(|inputs| {
            (0..inputs.length()).any(|index| {
                inputs
                    .item(index)
                    .and_then(|node| node.dyn_into::<web_sys::HtmlInputElement>().ok())
                    .and_then(|input| input.files())
                    .is_some_and(|files| files.length() > 0)
            })
        });
    typing || file_chosen
}

/// Polls until the job has finished, then shows the outcome (see the module docs): in place,
/// or — given `waiting` — by loading the page again when the user is not busy.
#[cfg(feature = "hydrate")]
fn poll(
    id: i64,
    current: RwSignal<(JobStatus, u8)>,
    outcome: RwSignal<Option<(JobStatus, String)>>,
    waiting: Option<RwSignal<bool>>,
) {
    leptos::task::spawn_local(async move {
        loop {
            sleep(POLL_EVERY).await;
            // A transient failure (network, server restart) just waits for the next round.
            let Ok(job) = poll_job(id).await else {
                continue;
            };
            current.set((job.status, job.progress));
            if job.status.is_finished() {
                match waiting {
                    Some(waiting) if user_is_busy() => waiting.set(true),
                    Some(_) => reload(),
                    None => outcome.set(job.summary.map(|text| (job.status, text))),
                }
                return;
            }
        }
    });
}

/// Resolves after `duration`, through the browser's `setTimeout`.
#[cfg(feature = "hydrate")]
async fn sleep(duration: std::time::Duration) {
    let millis = i32::try_from(duration.as_millis()).unwrap_or(i32::MAX);
    let promise = js_sys::Promise::new(&mut |resolve, _reject| {
        if let Some(window) = web_sys::window() {
            let _ = window.set_timeout_with_callback_and_timeout_and_arguments_0(&resolve, millis);
        }
    });
    let _ = wasm_bindgen_futures::JsFuture::from(promise).await;
}

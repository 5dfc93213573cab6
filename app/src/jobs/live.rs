//! A job's status badge and progress, kept current without a manual reload: an island that asks
//! the server every second while the job is queued or running, and reloads the page when it has
//! finished so its result or error is shown.

use leptos::prelude::*;

use super::JobStatus;
#[cfg(feature = "hydrate")]
use super::poll_job;

/// How often a queued or running job is looked at again.
#[cfg(feature = "hydrate")]
const POLL_EVERY: std::time::Duration = std::time::Duration::from_secs(1);

#[island]
pub fn JobProgress(id: i64, status: JobStatus, progress: u8) -> impl IntoView {
    let current = RwSignal::new((status, progress));
    #[cfg(feature = "hydrate")]
    if !status.is_finished() {
        poll(id, current);
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = id;

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
                        view! {
                            <progress class="h-2 w-24" max="100" value=progress aria-label="Progress"></progress>
                            <span class="w-10 text-right text-sm text-slate-600">{format!("{progress}%")}</span>
                        }
                    })
            }}
        </span>
    }
}

/// Polls until the job has finished, then reloads the page to show the outcome.
#[cfg(feature = "hydrate")]
fn poll(id: i64, current: RwSignal<(JobStatus, u8)>) {
    leptos::task::spawn_local(async move {
        loop {
            sleep(POLL_EVERY).await;
            // A transient failure (network, server restart) just waits for the next round.
            let Ok(job) = poll_job(id).await else {
                continue;
            };
            current.set((job.status, job.progress));
            if job.status.is_finished() {
                if let Some(window) = web_sys::window() {
                    let _ = window.location().reload();
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

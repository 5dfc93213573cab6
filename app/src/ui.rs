//! Small building blocks shared by every page: form styles, messages and collapsible sections.

use leptos::prelude::*;

use crate::error::AppError;

pub fn input_class() -> &'static str {
    "mt-1 block w-full rounded border border-slate-300 px-3 py-2 text-slate-900 \
     focus:border-blue-600 focus:outline-none focus:ring-2 focus:ring-blue-600/30"
}

pub fn primary_button_class() -> &'static str {
    "rounded bg-blue-700 px-4 py-2 text-sm font-semibold uppercase tracking-wide text-white \
     hover:bg-blue-800 focus:outline-none focus-visible:ring-2 focus-visible:ring-blue-600 \
     focus-visible:ring-offset-2 disabled:cursor-not-allowed disabled:opacity-50"
}

pub fn secondary_button_class() -> &'static str {
    "rounded border border-slate-300 px-4 py-2 text-sm font-semibold uppercase tracking-wide \
     text-slate-700 hover:bg-slate-100 focus:outline-none focus-visible:ring-2 \
     focus-visible:ring-blue-600 disabled:cursor-not-allowed disabled:opacity-50"
}

/// An error shown next to the form that caused it, announced to screen readers.
#[component]
pub fn ErrorText(#[prop(into)] error: Signal<Option<AppError>>) -> impl IntoView {
    move || {
        error.get().map(|error| {
            view! {
                <p class="text-sm text-red-700" role="alert">
                    {error.to_string()}
                </p>
            }
        })
    }
}

/// A success message next to the form that caused it.
#[component]
pub fn SuccessText(#[prop(into)] message: Signal<Option<String>>) -> impl IntoView {
    move || {
        message.get().map(|message| {
            view! {
                <p class="text-sm text-green-700" role="status">
                    {message}
                </p>
            }
        })
    }
}

/// A titled panel that collapses and expands with an arrow toggle; works without JavaScript.
#[component]
pub fn Section(
    title: &'static str,
    /// The element id, so links can point at the section (`/profile#email-settings`).
    id: &'static str,
    children: Children,
) -> impl IntoView {
    view! {
        <details id=id class="group mb-4 rounded-lg bg-white shadow" open>
            <summary class="flex cursor-pointer list-none items-center justify-between px-6 py-4 \
            text-lg font-semibold text-slate-800 focus:outline-none focus-visible:ring-2 \
            focus-visible:ring-blue-600 [&::-webkit-details-marker]:hidden">
                <h2>{title}</h2>
                <svg
                    class="h-5 w-5 text-slate-500 transition-transform group-open:rotate-180"
                    viewBox="0 0 20 20"
                    fill="currentColor"
                    aria-hidden="true"
                >
                    <path
                        fill-rule="evenodd"
                        d="M5.23 7.21a.75.75 0 011.06.02L10 11.17l3.71-3.94a.75.75 0 111.08 1.04l-4.25 4.5a.75.75 0 01-1.08 0l-4.25-4.5a.75.75 0 01.02-1.06z"
                        clip-rule="evenodd"
                    />
                </svg>
            </summary>
            <div class="border-t border-slate-100 px-6 py-4">{children()}</div>
        </details>
    }
}

/// Navigates with a full page load, so everything (the signed-in user above all) is rendered
/// afresh by the server. Used by islands; does nothing on the server.
pub fn reload_at(path: &str) {
    #[cfg(feature = "hydrate")]
    if let Some(window) = web_sys::window() {
        let _ = window.location().assign(path);
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = path;
}

/// Whether this island has hydrated: `false` when rendered on the server, `true` once the browser
/// has made it interactive. Islands put it in a `data-ready` attribute for tests and styling.
pub fn hydrated_signal() -> ReadSignal<bool> {
    let (ready, set_ready) = signal(false);
    Effect::new(move || set_ready.set(true));
    ready
}

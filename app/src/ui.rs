//! Small building blocks shared by every page: form styles, messages and collapsible sections.

use leptos::prelude::*;

use crate::error::AppError;
use crate::forms::Posted;

pub fn input_class() -> &'static str {
    // One height for inputs and selects alike.
    "mt-1 block h-10 w-full rounded border border-slate-300 bg-white px-3 py-2 text-slate-900 \
     focus:border-blue-600 focus:outline-none focus:ring-2 focus:ring-blue-600/30"
}

pub fn primary_button_class() -> &'static str {
    "rounded bg-blue-700 px-4 py-2 text-sm font-semibold uppercase tracking-wide text-white \
     hover:bg-blue-800 focus:outline-none focus-visible:ring-2 focus-visible:ring-blue-600 \
     focus-visible:ring-offset-2 disabled:cursor-not-allowed disabled:opacity-50"
}

/// The button that confirms a destructive action (disable, reset, revoke, delete): red, and
/// never the one a confirmation focuses first.
pub fn danger_button_class() -> &'static str {
    "rounded bg-red-700 px-4 py-2 text-sm font-semibold uppercase tracking-wide text-white \
     hover:bg-red-800 focus:outline-none focus-visible:ring-2 focus-visible:ring-red-700 \
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

/// A labelled input of a plain form. After a failed post it shows what was typed (a password
/// never), and when it is the field the error is about: the error beside it, `aria-invalid`,
/// and the focus (which also scrolls it into view).
#[component]
pub fn TextField(
    /// The input's id; its error's is `<id>-error`.
    id: &'static str,
    label: &'static str,
    name: &'static str,
    /// What is saved (shown unless a failed post brought back what was typed).
    #[prop(into, optional)]
    value: String,
    /// The outcome of the last post to this field's form.
    posted: Posted,
    #[prop(default = "text")] kind: &'static str,
    #[prop(optional)] autocomplete: Option<&'static str>,
    #[prop(optional, into)] placeholder: Option<String>,
    #[prop(optional)] maxlength: Option<u32>,
    #[prop(optional)] min: Option<u32>,
    #[prop(optional)] max: Option<u32>,
    #[prop(optional)] required: bool,
    #[prop(optional)] autofocus: bool,
    /// Classes of the wrapper (grid placement).
    #[prop(optional)]
    class: &'static str,
) -> impl IntoView {
    let error = posted.field_error(name);
    let invalid = error.is_some();
    let value = if crate::forms::is_secret(name) {
        String::new()
    } else {
        posted.value_or(name, value)
    };
    let error_id = format!("{id}-error");
    view! {
        <div class=class>
            <label class="block" for=id>
                <span class="text-sm text-slate-700">{label}</span>
            </label>
            <input
                id=id
                class=input_class()
                type=kind
                name=name
                value=value
                autocomplete=autocomplete
                placeholder=placeholder
                maxlength=maxlength
                min=min
                max=max
                required=required
                autofocus=autofocus || invalid
                aria-invalid=invalid.then_some("true")
                aria-describedby=invalid.then(|| error_id.clone())
            />
            <FieldError id=error_id error />
        </div>
    }
}

/// The error about one field, beside it; the field points at it with `aria-describedby`.
#[component]
pub fn FieldError(id: String, error: Option<AppError>) -> impl IntoView {
    error.map(|error| {
        view! {
            <p id=id class="mt-1 text-sm text-red-700" role="alert">
                {error.to_string()}
            </p>
        }
    })
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

/// A server resource rendered by `render` once it has loaded ("Loading…" until then), or its
/// error in its place.
pub fn loaded<T, V>(
    resource: Resource<Result<T, AppError>>,
    render: impl Fn(T) -> V + Clone + Send + Sync + 'static,
) -> impl IntoView
where
    T: Clone + Send + Sync + serde::Serialize + serde::de::DeserializeOwned + 'static,
    V: IntoView + 'static,
{
    view! {
        <Suspense fallback=|| view! { <p class="text-slate-500">"Loading…"</p> }>
            {move || {
                let render = render.clone();
                Suspend::new(async move {
                    match resource.await {
                        Ok(value) => render(value).into_any(),
                        Err(error) => {
                            crate::render::set_error_status(&error);
                            view! { <p class="text-red-700" role="alert">{error.to_string()}</p> }
                                .into_any()
                        }
                    }
                })
            }}
        </Suspense>
    }
}

/// Classes of a table cell holding a number (right-aligned, digits of equal width).
pub const NUMBER_CELL: &str = "py-1 pr-4 text-right tabular-nums";

/// A report table's head: the first column's title, then the titles of its number columns.
#[component]
pub fn TableHead(first: &'static str, numbers: &'static [&'static str]) -> impl IntoView {
    view! {
        <thead class="text-slate-600">
            <tr>
                <th scope="col" class="py-1 pr-4">{first}</th>
                {numbers
                    .iter()
                    .map(|title| view! { <th scope="col" class=NUMBER_CELL>{*title}</th> })
                    .collect_view()}
            </tr>
        </thead>
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

/// `2026-11-26T14:02:05Z` → `2026-11-26 14:02 UTC`, how times are shown on pages.
pub fn short_time(rfc3339: &str) -> String {
    match (rfc3339.get(..10), rfc3339.get(11..16)) {
        (Some(date), Some(time)) => format!("{date} {time} UTC"),
        _ => rfc3339.to_owned(),
    }
}

/// `1536` → `1.5 KB`.
pub fn human_bytes(bytes: u64) -> String {
    const UNITS: [&str; 4] = ["B", "KB", "MB", "GB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{bytes} B")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

/// A count with thousands separators: `493,500`.
pub fn human_count(count: u64) -> String {
    let digits = count.to_string();
    let mut grouped = String::with_capacity(digits.len() + digits.len() / 3);
    for (index, digit) in digits.chars().enumerate() {
        if index > 0 && (digits.len() - index).is_multiple_of(3) {
            grouped.push(',');
        }
        grouped.push(digit);
    }
    grouped
}

/// A table (or anything wide) that scrolls sideways by itself when the screen is narrower, rather
/// than widening the page; a labelled, focusable region, so it can be scrolled from the keyboard.
#[component]
pub fn ScrollX(label: &'static str, children: Children) -> impl IntoView {
    view! {
        <div class="max-w-full overflow-x-auto" role="region" aria-label=label tabindex="0">
            {children()}
        </div>
    }
}

/// A button that opens a confirmation with the real submit button inside.
///
/// A modal `<dialog>` the button opens by itself (`command="show-modal"`, no script): while it is
/// open the page behind is inert, so Tab stays inside; the focus starts on Cancel, so Enter
/// never confirms by accident; Escape or a click outside closes it (`closedby="any"`), and the
/// focus goes back to the button. It opens beside its button (`.confirm` in
/// `style/tailwind.css`: CSS anchor positioning, centred where a browser has none).
#[component]
pub fn Confirm(
    #[prop(into)] label: String,
    /// The dialog's id, unique on the page.
    #[prop(into)]
    id: String,
    #[prop(into)] warning: String,
    children: Children,
) -> impl IntoView {
    view! {
        <span class="confirm">
            <button type="button" class=secondary_button_class() commandfor=id.clone() command="show-modal">
                {label.clone()}
            </button>
            <dialog
                id=id.clone()
                closedby="any"
                class="w-80 max-w-[calc(100vw-2rem)] space-y-3 rounded-lg bg-white p-5 text-left shadow-xl ring-1 ring-black/10 backdrop:bg-slate-900/30"
                aria-label=format!("Confirm: {label}")
            >
                <p class="text-sm text-slate-700">{warning}</p>
                <div class="flex flex-wrap gap-3">
                    {children()}
                    <button type="button" class=secondary_button_class() commandfor=id.clone() command="close" autofocus>
                        "Cancel"
                    </button>
                </div>
            </dialog>
        </span>
    }
}

#[cfg(test)]
mod tests {
    use super::{human_bytes, human_count, short_time};

    #[test]
    fn counts_have_thousands_separators() {
        assert_eq!(human_count(0), "0");
        assert_eq!(human_count(999), "999");
        assert_eq!(human_count(1000), "1,000");
        assert_eq!(human_count(493_500), "493,500");
        assert_eq!(human_count(12_345_678), "12,345,678");
    }

    #[test]
    fn sizes_read_like_people_write_them() {
        assert_eq!(human_bytes(0), "0 B");
        assert_eq!(human_bytes(1023), "1023 B");
        assert_eq!(human_bytes(1536), "1.5 KB");
        assert_eq!(human_bytes(10 * 1024 * 1024), "10.0 MB");
    }

    #[test]
    fn times_are_shown_to_the_minute() {
        assert_eq!(short_time("2026-11-26T14:02:05Z"), "2026-11-26 14:02 UTC");
        assert_eq!(short_time("garbage"), "garbage");
    }
}

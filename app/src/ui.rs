//! Small building blocks shared by every page: form styles, messages and collapsible sections.

use leptos::prelude::*;

mod copy;

pub use copy::CopyButton;

use crate::error::AppError;
use crate::forms::Posted;

pub fn input_class() -> &'static str {
    // One height for inputs and selects alike.
    "mt-1 block h-10 w-full rounded border border-slate-300 bg-white px-3 py-2 text-slate-900 \
     focus:border-blue-600 focus:outline-none focus:ring-2 focus:ring-blue-600"
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

/// A page whose subject cannot be shown: its heading, and why — `not_found` when it is missing
/// or someone else's. The answer's status says so too (404, 400, …).
#[component]
pub fn PageError(heading: &'static str, error: AppError, not_found: &'static str) -> impl IntoView {
    crate::render::set_error_status(&error);
    let message = match error {
        AppError::NotFound => not_found.to_owned(),
        other => other.to_string(),
    };
    view! {
        <h1 class="text-2xl font-semibold text-slate-800">{heading}</h1>
        <p class="text-red-700" role="alert">{message}</p>
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
///
/// Attributes read it (and any island signal) with `try_get`: a render dropped midway (at its
/// deadline, or when the server shuts down) disposes the page's signals while a `Suspense` may
/// still walk its view once more on another task, where `get` would panic (an upstream race,
/// leptos-rs/leptos#3595; see `server/src/render_deadline.rs`).
pub fn hydrated_signal() -> ReadSignal<bool> {
    let (ready, set_ready) = signal(false);
    Effect::new(move || set_ready.set(true));
    ready
}

/// A moment as people read it: how long ago ("3 hours ago"; the date after a month), with the
/// exact time on hover and in `<time datetime>`. `at` is as the server writes times (RFC 3339,
/// or the security log's `2026-11-26 14:02:05 UTC`). Pages are rendered on the server, with its
/// clock (and never cached).
#[component]
pub fn Time(#[prop(into)] at: String) -> impl IntoView {
    let Some(then) = parse_time(&at) else {
        return at.into_any();
    };
    let exact = then.format("%Y-%m-%d %H:%M:%S UTC").to_string();
    #[cfg(feature = "ssr")]
    let shown = ago_in_words(chrono::Utc::now() - then, &exact);
    #[cfg(not(feature = "ssr"))]
    let shown = exact.clone();
    view! {
        <time datetime=then.to_rfc3339_opts(chrono::SecondsFormat::Secs, true) title=exact>
            {shown}
        </time>
    }
    .into_any()
}

fn parse_time(at: &str) -> Option<chrono::DateTime<chrono::Utc>> {
    chrono::DateTime::parse_from_rfc3339(at)
        .map(|at| at.to_utc())
        .or_else(|_| {
            chrono::NaiveDateTime::parse_from_str(at, "%Y-%m-%d %H:%M:%S UTC")
                .map(|at| at.and_utc())
        })
        .ok()
}

/// How long ago, in words; `exact` once it is a month or more (its date), or in the future
/// (another instance's clock running ahead).
#[cfg(feature = "ssr")]
fn ago_in_words(ago: chrono::TimeDelta, exact: &str) -> String {
    let plural = |count: i64, unit: &str| format!("{} ago", count_of(count, unit));
    match ago.num_seconds() {
        seconds if seconds < -60 => exact.to_owned(),
        ..60 => "just now".to_owned(),
        seconds @ 60..3_600 => plural(seconds / 60, "minute"),
        seconds @ 3_600..86_400 => plural(seconds / 3_600, "hour"),
        seconds @ 86_400..2_592_000 => plural(seconds / 86_400, "day"),
        _ => exact.get(..10).unwrap_or(exact).to_owned(),
    }
}

/// How long something took from `start` to `end` (both RFC 3339): `45 s`, `2 min 5 s`,
/// `1 h 3 min`; `None` when either cannot be read.
pub fn duration_between(start: &str, end: &str) -> Option<String> {
    let seconds = (parse_time(end)? - parse_time(start)?).num_seconds().max(0);
    Some(match seconds {
        ..60 => format!("{seconds} s"),
        60..3_600 => format!("{} min {} s", seconds / 60, seconds % 60),
        _ => format!("{} h {} min", seconds / 3_600, seconds % 3_600 / 60),
    })
}

/// `1 attempt`, `3 attempts`: a count and its unit, singular or plural.
pub fn count_of(count: i64, unit: &str) -> String {
    let s = if count == 1 { "" } else { "s" };
    format!("{count} {unit}{s}")
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

/// The way back to the page above this one (`← Administration`), above a page's heading.
#[component]
pub fn BackLink(#[prop(into)] href: String, #[prop(into)] to: String) -> impl IntoView {
    view! {
        <p class="mb-2 text-sm">
            <a class="text-blue-700 underline" href=href>
                {format!("← {to}")}
            </a>
        </p>
    }
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
    use super::{duration_between, human_bytes, human_count, parse_time};

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

    #[cfg(feature = "ssr")]
    #[test]
    fn times_read_as_how_long_ago() {
        use super::ago_in_words;
        use chrono::TimeDelta;

        let exact = "2026-11-26 14:02:05 UTC";
        let ago = |seconds| ago_in_words(TimeDelta::seconds(seconds), exact);
        assert_eq!(ago(-5), "just now");
        assert_eq!(ago(59), "just now");
        assert_eq!(ago(60), "1 minute ago");
        assert_eq!(ago(59 * 60 + 59), "59 minutes ago");
        assert_eq!(ago(3_600), "1 hour ago");
        assert_eq!(ago(47 * 3_600), "1 day ago");
        assert_eq!(ago(29 * 86_400), "29 days ago");
        assert_eq!(ago(30 * 86_400), "2026-11-26");
        assert_eq!(ago(-3_600), exact, "a clock ahead shows the time itself");
    }

    #[test]
    fn both_ways_the_server_writes_times_are_read() {
        let at = parse_time("2026-11-26T14:02:05Z");
        assert!(at.is_some());
        assert_eq!(parse_time("2026-11-26 14:02:05 UTC"), at);
        assert_eq!(parse_time("2026-11-26"), None);
    }

    #[test]
    fn durations_read_in_units_that_fit() {
        let took = |end| duration_between("2026-11-26T14:02:05Z", end);
        assert_eq!(took("2026-11-26T14:02:05.800Z").as_deref(), Some("0 s"));
        assert_eq!(took("2026-11-26T14:02:50Z").as_deref(), Some("45 s"));
        assert_eq!(took("2026-11-26T14:04:10Z").as_deref(), Some("2 min 5 s"));
        assert_eq!(took("2026-11-26T15:05:59Z").as_deref(), Some("1 h 3 min"));
        assert_eq!(took("2026-11-26T14:00:00Z").as_deref(), Some("0 s"));
        assert_eq!(took("yesterday"), None);
    }
}

//! The copy-to-clipboard button beside a secret shown once (a new API key, a temporary
//! password): an island. Without JavaScript it is not shown at all — the secret's field is there
//! to select and copy by hand.

use leptos::prelude::*;

use crate::ui::hydrated_signal;

/// Copies `text` to the clipboard and confirms with "Copied". Uses the asynchronous Clipboard
/// API; where it is missing (insecure origins, old browsers) falls back to selecting the field
/// `fallback_input_id` (a text area or an input holding the same text) and
/// `document.execCommand("copy")`. `what` names the text: the button reads "Copy {what}".
#[island]
pub fn CopyButton(text: String, fallback_input_id: String, what: String) -> impl IntoView {
    let ready = hydrated_signal();
    let (copied, set_copied) = signal(None::<bool>);
    let copy = move |_| {
        let text = text.clone();
        let fallback_input_id = fallback_input_id.clone();
        leptos::task::spawn_local(async move {
            set_copied.set(Some(write_clipboard(&text, &fallback_input_id).await));
        });
    };
    // A fixed width, the outcome under the icon: "Copied" never pushes the key aside.
    view! {
        <div class="flex w-24 shrink-0 flex-col items-center">
            <button
                data-ready=move || ready.try_get().unwrap_or_default().to_string()
                hidden=move || !ready.try_get().unwrap_or_default()
                type="button"
                class="rounded p-2 text-slate-600 hover:bg-slate-100 focus:outline-none focus-visible:ring-2 focus-visible:ring-blue-600"
                aria-label=format!("Copy {what}")
                title=format!("Copy {what}")
                on:click=copy
            >
                <svg class="h-5 w-5" viewBox="0 0 24 24" fill="none" stroke="currentColor" stroke-width="2" aria-hidden="true">
                    <rect x="9" y="9" width="13" height="13" rx="2" />
                    <path d="M5 15H4a2 2 0 0 1-2-2V4a2 2 0 0 1 2-2h9a2 2 0 0 1 2 2v1" />
                </svg>
            </button>
            <span role="status" class="text-center text-xs">
                {move || match copied.get() {
                    Some(true) => view! { <span class="text-green-700">"Copied"</span> }.into_any(),
                    Some(false) => {
                        view! { <span class="text-red-700">"Could not copy: select it and copy it by hand."</span> }
                            .into_any()
                    }
                    None => ().into_any(),
                }}
            </span>
        </div>
    }
}

#[cfg(feature = "hydrate")]
async fn write_clipboard(text: &str, fallback_input_id: &str) -> bool {
    use wasm_bindgen::JsCast;

    let Some(window) = web_sys::window() else {
        return false;
    };
    let clipboard = window.navigator().clipboard();
    if !clipboard.is_undefined()
        && wasm_bindgen_futures::JsFuture::from(clipboard.write_text(text))
            .await
            .is_ok()
    {
        return true;
    }
    let Some(document) = window.document() else {
        return false;
    };
    let Some(field) = document.get_element_by_id(fallback_input_id) else {
        return false;
    };
    match field.dyn_into::<web_sys::HtmlTextAreaElement>() {
        Ok(area) => area.select(),
        Err(field) => match field.dyn_into::<web_sys::HtmlInputElement>() {
            Ok(input) => input.select(),
            Err(_) => return false,
        },
    }
    document
        .dyn_into::<web_sys::HtmlDocument>()
        .ok()
        .and_then(|document| document.exec_command("copy").ok())
        .unwrap_or(false)
}

#[cfg(not(feature = "hydrate"))]
async fn write_clipboard(_text: &str, _fallback_input_id: &str) -> bool {
    false
}

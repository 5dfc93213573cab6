//! The copy-to-clipboard button for a new key: an island, the one part of the profile that needs
//! JavaScript.

use leptos::prelude::*;

use crate::ui::hydrated_signal;

/// Copies `text` to the clipboard and confirms with "Copied". Uses the asynchronous Clipboard
/// API; where it is missing (insecure origins, old browsers) falls back to selecting the text
/// area `fallback_input_id` and `document.execCommand("copy")`.
#[island]
pub fn CopyButton(text: String, fallback_input_id: String) -> impl IntoView {
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
                data-ready=move || ready.get().to_string()
                disabled=move || !ready.get()
                type="button"
                class="rounded p-2 text-slate-600 hover:bg-slate-100 focus:outline-none focus-visible:ring-2 focus-visible:ring-blue-600"
                aria-label="Copy API key"
                title="Copy API key"
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
                        view! { <span class="text-red-700">"Could not copy: select the key and copy it by hand."</span> }
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
    let Some(field) = document
        .get_element_by_id(fallback_input_id)
        .and_then(|element| element.dyn_into::<web_sys::HtmlTextAreaElement>().ok())
    else {
        return false;
    };
    field.select();
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

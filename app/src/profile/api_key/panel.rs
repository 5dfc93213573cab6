//! The API Key panel: the stored key's public details, Generate and Delete (each confirmed when
//! a key exists), and a new key shown once with a copy button. Plain forms posting to server
//! functions; only the copy button is an island.

use leptos::prelude::*;

use super::{ApiKeyInfo, ApiKeyState, DeleteApiKey, GenerateApiKey, NO_KEY_TEXT};
use crate::error::AppError;
use crate::forms::Posted;
use crate::ui::{
    Confirm, CopyButton, ErrorText, Time, danger_button_class, primary_button_class,
    secondary_button_class,
};

const REPLACE_WARNING: &str = "Your current key stops working immediately.";

#[component]
pub fn ApiKeyPanel(
    /// The signed-in user's key ([`get_api_key`](super::get_api_key)), created by the page.
    stored: Resource<Result<ApiKeyState, AppError>>,
) -> impl IntoView {
    let generate = ServerAction::<GenerateApiKey>::new();
    let delete = ServerAction::<DeleteApiKey>::new();
    // The error of the form post that led here, if it failed.
    let failed = Posted::of::<GenerateApiKey>()
        .error()
        .or_else(|| Posted::of::<DeleteApiKey>().error());

    view! {
        <Suspense fallback=|| view! { <p class="text-slate-500">"Loading…"</p> }>
            {move || {
                let failed = failed.clone();
                Suspend::new(async move {
                let (state, error) = match stored.await {
                    Ok(state) => (state, failed),
                    Err(error) => (ApiKeyState { info: None, new_key: None }, Some(error)),
                };
                let has_key = state.info.is_some();
                view! {
                    // Set right after a Generate: the form post hands the new key to this page load only.
                    {state.new_key.map(|key| view! { <NewKey key /> })}
                    {match state.info {
                        Some(info) => view! { <KeyDetails info /> }.into_any(),
                        None => view! { <p class="text-slate-600" data-testid="no-api-key">{NO_KEY_TEXT}</p> }.into_any(),
                    }}
                    <div class="mt-4 flex flex-wrap items-start gap-3">
                        {if has_key {
                            view! {
                                <Confirm label="Delete" id="confirm-delete-key" warning=REPLACE_WARNING>
                                    <ActionForm action=delete>
                                        <button type="submit" class=danger_button_class()>"Yes, delete"</button>
                                    </ActionForm>
                                </Confirm>
                                <Confirm label="Generate" id="confirm-generate-key" warning=REPLACE_WARNING>
                                    <ActionForm action=generate>
                                        <button type="submit" class=danger_button_class()>"Generate new key"</button>
                                    </ActionForm>
                                </Confirm>
                            }
                                .into_any()
                        } else {
                            view! {
                                <button type="button" class=secondary_button_class() disabled>"Delete"</button>
                                <ActionForm action=generate>
                                    <button type="submit" class=primary_button_class()>"Generate"</button>
                                </ActionForm>
                            }
                                .into_any()
                        }}
                    </div>
                    <ErrorText error=Signal::stored(error) />
                }
            })
            }}
        </Suspense>
    }
}

/// A freshly generated key: shown once, with a copy button.
#[component]
fn NewKey(key: String) -> impl IntoView {
    view! {
        <div class="mb-4 rounded border border-amber-300 bg-amber-50 p-4" data-testid="new-api-key">
            <p class="mb-2 text-sm font-semibold text-amber-900">
                "Copy your new API key now. It will not be shown again."
            </p>
            // A text area that grows with the key: on a phone it wraps, the whole key in view.
            <div class="flex items-start gap-2">
                <textarea
                    id="new-api-key"
                    class="field-sizing-content min-w-0 flex-1 resize-none break-all rounded border border-slate-300 bg-white px-3 py-2 font-mono text-sm"
                    readonly
                    rows="1"
                    spellcheck="false"
                    aria-label="New API key"
                >
                    {key.clone()}
                </textarea>
                <CopyButton text=key fallback_input_id="new-api-key".to_owned() what="API key".to_owned() />
            </div>
        </div>
    }
}

/// What can be said about a stored key without its secret.
#[component]
fn KeyDetails(info: ApiKeyInfo) -> impl IntoView {
    let last_used = match (info.last_used_at, info.last_used_ip) {
        (Some(at), ip) => view! {
            <Time at />
            {ip.map(|ip| format!(" from {ip}"))}
        }
        .into_any(),
        (None, _) => "never".into_any(),
    };
    view! {
        <dl class="grid grid-cols-[max-content_1fr] gap-x-6 gap-y-1 text-sm" data-testid="api-key-details">
            <dt class="text-slate-500">"Key"</dt>
            <dd class="font-mono" data-testid="api-key-prefix">{format!("{}.••••", info.prefix)}</dd>
            <dt class="text-slate-500">"Created"</dt>
            <dd>
                <Time at=info.created_at />
            </dd>
            <dt class="text-slate-500">"Last used"</dt>
            <dd data-testid="api-key-last-used">{last_used}</dd>
        </dl>
    }
}

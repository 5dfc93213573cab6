//! The sign-in page: a plain form; the server answers it with a redirect to `next`.

use leptos::prelude::*;
use leptos_router::{components::Redirect, hooks::use_query_map};

use super::{Auth, SignIn, next_or_home};
use crate::ui::{ErrorText, input_class, primary_button_class};

#[component]
pub fn SignInPage() -> impl IntoView {
    let auth = Auth::expect();
    // Created here, under the router, so a failed post shows its error after the redirect back.
    let sign_in = ServerAction::<SignIn>::new();
    let query = use_query_map();
    let next = move || query.read().get("next").unwrap_or_default();
    let error = Signal::derive(move || sign_in.value().get().and_then(Result::err));

    view! {
        <Suspense>
            {move || Suspend::new(async move {
                let signed_in = matches!(auth.user.await, Ok(Some(_)));
                signed_in.then(|| view! { <Redirect path=next_or_home(Some(&next())) /> })
            })}
        </Suspense>
        <main class="mx-auto mt-16 max-w-sm rounded-lg bg-white p-8 shadow">
            <h1 class="mb-6 text-2xl font-semibold text-slate-800">"Sign in"</h1>
            <ActionForm action=sign_in attr:class="space-y-4" attr:aria-label="Sign in">
                <input type="hidden" name="next" value=next />
                <label class="block">
                    <span class="text-sm text-slate-700">"Username"</span>
                    <input
                        class=input_class()
                        type="text"
                        name="username"
                        autocomplete="username"
                        required
                        autofocus
                    />
                </label>
                <label class="block">
                    <span class="text-sm text-slate-700">"Password"</span>
                    <input
                        class=input_class()
                        type="password"
                        name="password"
                        autocomplete="current-password"
                        required
                    />
                </label>
                <ErrorText error />
                <button class=primary_button_class() type="submit">
                    "Sign in"
                </button>
            </ActionForm>
        </main>
    }
}

//! The sign-in page: a plain form; the server answers it with a redirect to `next`, or back here
//! with the username as typed and the error (never the password).

use leptos::prelude::*;
use leptos_router::{components::Redirect, hooks::use_query_map};

use super::{Auth, SignIn, next_or_home, session_end_notice};
use crate::forms::Posted;
use crate::ui::{ErrorText, TextField, primary_button_class};

#[component]
pub fn SignInPage() -> impl IntoView {
    let auth = Auth::expect();
    let sign_in = ServerAction::<SignIn>::new();
    let query = use_query_map();
    let next = move || query.read().get("next").unwrap_or_default();
    let posted = Posted::of::<SignIn>();
    let error = Signal::stored(posted.error());
    // Why the last session is over, when it was ended rather than signed out.
    let ended = crate::render::page_resource(session_end_notice);
    let posted_failed = posted.failed();
    // After a failure the username is kept: the password is what to type again.
    let retry = posted.failed()
        && posted
            .value("username")
            .is_some_and(|name| !name.is_empty());

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
                <TextField
                    id="sign-in-username"
                    label="Username"
                    name="username"
                    autocomplete="username"
                    required=true
                    autofocus=!retry
                    posted=posted.clone()
                />
                <TextField
                    id="sign-in-password"
                    label="Password"
                    name="password"
                    kind="password"
                    autocomplete="current-password"
                    required=true
                    autofocus=retry
                    posted
                />
                <ErrorText error />
                {(!posted_failed).then(|| view! {
                    <Suspense>
                        {move || Suspend::new(async move {
                            ended.await.ok().flatten().map(|reason| view! {
                                <p class="text-sm text-amber-800" role="status" data-testid="session-ended">{reason.to_string()}</p>
                            })
                        })}
                    </Suspense>
                })}
                <button class=primary_button_class() type="submit">
                    "Sign in"
                </button>
            </ActionForm>
        </main>
    }
}

//! The session as the page tree sees it, and the guard that sends anonymous visitors to sign-in.

use leptos::prelude::*;
use leptos_router::{components::Redirect, hooks::use_location};

use super::{UserView, current_user};
use crate::error::AppError;

/// The signed-in user of this page load; provided once by [`crate::App`].
///
/// Signing in or out always ends in a new page load, so this is read once per page.
#[derive(Clone, Copy)]
pub struct Auth {
    pub user: Resource<Result<Option<UserView>, AppError>>,
}

impl Auth {
    pub fn provide() -> Self {
        // Blocking, so the server knows the user before it sends headers and can redirect.
        let auth = Self {
            user: crate::render::page_resource(current_user),
        };
        provide_context(auth);
        auth
    }

    pub fn expect() -> Self {
        expect_context::<Self>()
    }
}

/// Renders `page` for the signed-in user; an anonymous visitor is sent to sign-in and back here afterwards.
///
/// **`page` must not create resources.** Leptos' `Suspense` runs its children again once the
/// user has loaded, so `page` may run twice per request; a resource created inside it would be
/// created twice, and a copy disposed before its loader first ran stays "loading" forever, which
/// holds an `SsrMode::Async` render (the whole page) for good. Pages create their resources with
/// [`crate::render::page_resource`] before calling this and hand them down as props: server
/// functions check the caller themselves, so loading before the user is known is safe, and it
/// runs in parallel with the user's own lookup.
pub fn with_user<V>(page: impl Fn(UserView) -> V + Send + Sync + 'static) -> impl IntoView
where
    V: IntoView + 'static,
{
    let auth = Auth::expect();
    let page = std::sync::Arc::new(page);
    // Read now, while the page's owner is alive: the redirect below is built after an await,
    // when a request whose client went away has had its signals disposed (reading one then
    // panics the render task).
    let here = {
        let location = use_location();
        let path = location.pathname.get_untracked();
        let query = location.search.get_untracked();
        if query.is_empty() {
            path
        } else {
            format!("{path}?{query}")
        }
    };
    view! {
        <Suspense fallback=|| view! { <p class="p-8 text-slate-500">"Loading…"</p> }>
            {move || {
                let page = page.clone();
                let here = here.clone();
                Suspend::new(async move {
                match auth.user.await {
                    // After a reset, choosing a new password (on the profile) comes first.
                    Ok(Some(user)) if user.must_change_password && !here.starts_with("/profile") => {
                        view! { <Redirect path="/profile#password" /> }.into_any()
                    }
                    Ok(Some(user)) => page(user).into_any(),
                    Ok(None) => {
                        let next = leptos_router::location::Url::escape(&here);
                        view! { <Redirect path=format!("/signin?next={next}") /> }.into_any()
                    }
                    Err(error) => {
                        view! { <p class="p-8 text-red-700" role="alert">{error.to_string()}</p> }
                            .into_any()
                    }
                }
            })
            }}
        </Suspense>
    }
}

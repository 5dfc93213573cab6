//! The top bar: product name and, upper right, the signed-in user's menu.

use leptos::prelude::*;

use crate::auth::{Auth, Role, SignOut};
use crate::ui::{hydrated_signal, reload_at};

/// The id of the element around the page's content, where "Skip to content" leads.
pub const CONTENT_ID: &str = "content";

/// `aria-current` for a link to `section`: `page` when the address is in it.
fn current_in(path: &str, section: &str) -> Option<&'static str> {
    (path == section || path.starts_with(&format!("{section}/"))).then_some("page")
}

#[component]
pub fn TopBar(product_name: String) -> impl IntoView {
    let auth = Auth::expect();
    let path = leptos_router::hooks::use_location()
        .pathname
        .get_untracked();
    let applications = current_in(&path, "/applications");
    view! {
        // The first stop of Tab: past the top bar to the page's content (`CONTENT_ID`).
        <a
            href=format!("#{CONTENT_ID}")
            class="sr-only focus:not-sr-only focus:absolute focus:left-2 focus:top-2 focus:z-20 focus:rounded focus:bg-white focus:px-3 focus:py-2 focus:text-blue-800 focus:ring-2 focus:ring-blue-700"
        >
            "Skip to content"
        </a>
        // Wraps rather than widening the page on a phone; a long login name is cut with "…".
        <header class="flex flex-wrap items-center justify-between gap-x-4 gap-y-2 bg-slate-900 px-6 py-3 text-white">
            <nav class="flex items-center gap-6" aria-label="Console">
                <a href="/" class="text-lg font-semibold tracking-wide">
                    {product_name}
                </a>
                // Only for the signed in: anyone else would be sent to sign in.
                <Suspense>
                    {move || Suspend::new(async move {
                        matches!(auth.user.await, Ok(Some(_))).then(|| view! {
                            <a
                                href="/applications"
                                aria-current=applications
                                class="rounded px-2 py-1 text-sm hover:bg-slate-700 focus:outline-none focus-visible:ring-2 focus-visible:ring-white aria-[current=page]:bg-slate-700 aria-[current=page]:font-semibold"
                            >
                                "Applications"
                            </a>
                        })
                    })}
                </Suspense>
            </nav>
            <Suspense>
                {move || {
                    let path = path.clone();
                    Suspend::new(async move {
                        auth.user.await.ok().flatten().map(|user| {
                            let admin = user.role == Role::Admin;
                            view! { <UserMenu username=user.username admin path /> }
                        })
                    })
                }}
            </Suspense>
        </header>
    }
}

/// The login name; opens a menu with Profile and Sign out. A `<details>` disclosure, so it works
/// with the keyboard (Enter/Space) and without JavaScript; as an island it also closes on Escape
/// (the focus back on its button) and when the focus leaves it — tabbing past its last item, or a
/// click anywhere else on the page.
#[island]
fn UserMenu(
    username: String,
    admin: bool,
    /// The page's address, to mark the item of the page one is on.
    path: String,
) -> impl IntoView {
    let ready = hydrated_signal();
    let sign_out = ServerAction::<SignOut>::new();
    Effect::new(move || {
        if matches!(sign_out.value().get(), Some(Ok(()))) {
            reload_at("/signin");
        }
    });
    let menu = NodeRef::<leptos::html::Details>::new();
    let button = NodeRef::<leptos::html::Summary>::new();
    // Closing with Escape gives the focus back to the button that opened the menu.
    let close = move || {
        if let Some(menu) = menu.get()
            && menu.open()
        {
            menu.set_open(false);
            if let Some(button) = button.get() {
                let _ = button.focus();
            }
        }
    };
    // Closing when the focus moves outside the menu leaves the focus where it went.
    let left = move |event: leptos::ev::FocusEvent| {
        use wasm_bindgen::JsCast;
        let going_to = event
            .related_target()
            .and_then(|target| target.dyn_into::<web_sys::Node>().ok());
        if let Some(menu) = menu.get()
            && menu.open()
            && !going_to.is_some_and(|node| menu.contains(Some(&node)))
        {
            menu.set_open(false);
        }
    };
    // A blue ring inside the item (6.7:1 on white), not a faint tint.
    let item = "block w-full px-4 py-2 text-left text-sm text-slate-700 hover:bg-slate-100 \
                focus:outline-none focus-visible:bg-blue-50 focus-visible:ring-2 \
                focus-visible:ring-inset focus-visible:ring-blue-700 aria-[current=page]:font-semibold";
    view! {
        <details
            node_ref=menu
            class="relative"
            data-ready=move || ready.try_get().unwrap_or_default().to_string()
            on:keydown=move |event| {
                if event.key() == "Escape" {
                    close();
                }
            }
            on:focusout=left
        >
            <summary
                node_ref=button
                class="flex cursor-pointer list-none items-center gap-1 rounded px-2 py-1 \
                hover:bg-slate-700 focus:outline-none focus-visible:ring-2 focus-visible:ring-white \
                [&::-webkit-details-marker]:hidden"
                aria-label=format!("Account menu for {username}")
            >
                <span class="max-w-48 truncate" data-testid="login-name">{username.clone()}</span>
                <svg class="h-4 w-4" viewBox="0 0 20 20" fill="currentColor" aria-hidden="true">
                    <path d="M5.23 7.21a.75.75 0 011.06.02L10 11.17l3.71-3.94a.75.75 0 111.08 1.04l-4.25 4.5a.75.75 0 01-1.08 0l-4.25-4.5a.75.75 0 01.02-1.06z" />
                </svg>
            </summary>
            <nav
                class="absolute right-0 z-10 mt-2 w-44 rounded bg-white py-1 shadow-lg ring-1 ring-black/5"
                aria-label="Account"
            >
                <a href="/profile" class=item aria-current=current_in(&path, "/profile")>
                    "Profile"
                </a>
                {admin.then(|| view! {
                    <a href="/admin" class=item aria-current=current_in(&path, "/admin")>
                        "Administration"
                    </a>
                })}
                <ActionForm action=sign_out>
                    <button type="submit" class=item>
                        "Sign out"
                    </button>
                </ActionForm>
            </nav>
        </details>
    }
}

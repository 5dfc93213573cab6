//! The console's user interface: the app shell, its routes and every feature's components and
//! server functions. Compiled for the server (`ssr`) and for the browser (`hydrate`).

// Deeply nested `view!` types (the jobs list) exceed the default of 128 in debug builds.
#![recursion_limit = "256"]

pub mod admin;
pub mod applications;
pub mod archives;
pub mod auth;
#[cfg(feature = "ssr")]
pub mod db;
pub mod error;
#[cfg(feature = "ssr")]
pub mod events;
pub mod forms;
#[cfg(feature = "ssr")]
pub mod http;
pub mod mail;
#[cfg(feature = "ssr")]
pub mod metrics;
pub mod paging;
pub mod profile;
pub mod render;
#[cfg(feature = "ssr")]
pub mod secret_flash;
#[cfg(feature = "ssr")]
pub mod shares;
mod shell;
#[cfg(feature = "ssr")]
pub mod state;
#[cfg(feature = "ssr")]
pub mod text;
mod ui;

use leptos::prelude::*;
use leptos_meta::{HashedStylesheet, MetaTags, Title, provide_meta_context};
use leptos_router::{
    ParamSegment, SsrMode, StaticSegment,
    components::{A, Route, Router, Routes},
};

use crate::admin::AdminPage;
use crate::admin::audit::AuditPage;
use crate::admin::users::UserPage;
use crate::applications::jobs::JobPage;
use crate::applications::{ApplicationPage, ApplicationsPage};

use crate::auth::{Auth, SignInPage, with_user};
use crate::profile::ProfilePage;
use crate::profile::unsubscribe::UnsubscribePage;
use crate::profile::verify_email::VerifyEmailPage;
use crate::shell::TopBar;

/// The HTML document the server renders around [`App`].
pub fn shell(options: LeptosOptions) -> impl IntoView {
    #[cfg(feature = "ssr")]
    http::send_page_content_security_policy();
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8" />
                <meta name="viewport" content="width=device-width, initial-scale=1" />
                <AutoReload options=options.clone() />
                <HydrationScripts options=options.clone() islands=true />
                <HashedStylesheet options id="leptos" />
                <link rel="icon" href="/favicon.ico" />
                <MetaTags />
            </head>
            <body class="min-h-screen bg-slate-100">
                <App />
            </body>
        </html>
    }
}

/// The product name when the server's settings do not say (`CONSOLE_PRODUCT_NAME`).
pub const DEFAULT_PRODUCT_NAME: &str = "AIP Console";

/// The product name shown in the top bar and titles, from the server's settings. Pages are
/// rendered on the server only (islands hydrate, the app never does), so no resource is needed.
fn product_name() -> String {
    #[cfg(feature = "ssr")]
    if let Some(state) = use_context::<state::AppState>() {
        return state.config.product_name.clone();
    }
    DEFAULT_PRODUCT_NAME.to_owned()
}

#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    Auth::provide();
    let name = product_name();

    view! {
        <Router>
            <Title text=name.clone() />
            <TopBar product_name=name />
            <div id=shell::CONTENT_ID tabindex="-1" class="focus:outline-none">
            <Routes fallback=NotFound>
                // Async: the whole page is rendered before the first byte is sent, so a redirect
                // can still be a 302 and every section works without JavaScript.
                <Route path=StaticSegment("") view=HomePage ssr=SsrMode::Async />
                <Route path=StaticSegment("signin") view=SignInPage ssr=SsrMode::Async />
                <Route path=StaticSegment("profile") view=ProfilePage ssr=SsrMode::Async />
                <Route path=StaticSegment("admin") view=AdminPage ssr=SsrMode::Async />
                <Route
                    path=(StaticSegment("admin"), StaticSegment("audit"))
                    view=AuditPage
                    ssr=SsrMode::Async
                />
                <Route path=StaticSegment("applications") view=ApplicationsPage ssr=SsrMode::Async />
                <Route
                    path=(StaticSegment("applications"), ParamSegment("id"))
                    view=ApplicationPage
                    ssr=SsrMode::Async
                />
                <Route
                    path=(
                        StaticSegment("applications"),
                        ParamSegment("id"),
                        StaticSegment("jobs"),
                        ParamSegment("job"),
                    )
                    view=JobPage
                    ssr=SsrMode::Async
                />
                <Route
                    path=(StaticSegment("admin"), StaticSegment("users"), ParamSegment("username"))
                    view=UserPage
                    ssr=SsrMode::Async
                />
                <Route
                    path=(StaticSegment("verify-email"), ParamSegment("token"))
                    view=VerifyEmailPage
                    ssr=SsrMode::Async
                />
                <Route
                    path=(StaticSegment("unsubscribe"), ParamSegment("token"))
                    view=UnsubscribePage
                    ssr=SsrMode::Async
                />
            </Routes>
            </div>
        </Router>
    }
}

#[component]
fn HomePage() -> impl IntoView {
    with_user(|user| {
        view! {
            <main class="mx-auto max-w-3xl p-6">
                <h1 class="text-2xl font-semibold text-slate-800">
                    "Welcome, " {user.name}
                </h1>
                <p class="mt-2 text-slate-600">
                    "Upload and analyse your "
                    <A href="/applications" attr:class="text-blue-700 underline">"applications"</A>
                    ". Manage your API key and email notifications on your "
                    <A href="/profile" attr:class="text-blue-700 underline">"profile"</A>"."
                </p>
            </main>
        }
    })
}

#[component]
fn NotFound() -> impl IntoView {
    #[cfg(feature = "ssr")]
    if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
        response.set_status(axum::http::StatusCode::NOT_FOUND);
    }
    view! {
        <main class="mx-auto max-w-3xl p-6">
            <h1 class="text-2xl font-semibold text-slate-800">"Page not found"</h1>
            <A href="/" attr:class="text-blue-700 underline">"Back to the console"</A>
        </main>
    }
}

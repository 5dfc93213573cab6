//! The profile page: avatar, name, and the API Key, Email Settings, Password and Security Log
//! panels. After an administrator reset the password, only the Password panel.

pub mod api_key;
pub mod email_settings;
pub mod password;
pub mod security_log;
pub mod unsubscribe;
pub mod verify_email;

use leptos::prelude::*;

use crate::auth::with_user;
use crate::render::page_resource;
use crate::ui::Section;
use api_key::{ApiKeyPanel, get_api_key};
use email_settings::{EmailSettingsPanel, mail_delivery_configured};
use password::PasswordPanel;
use security_log::{SecurityLogPanel, own_security_log};

#[component]
pub fn ProfilePage() -> impl IntoView {
    // Created here, once per request, never inside `with_user` (see `crate::render`).
    let api_key = page_resource(get_api_key);
    let mail_configured = page_resource(mail_delivery_configured);
    let events_after = leptos_router::hooks::use_query_map()
        .get_untracked()
        .get("events_after");
    let events = page_resource(move || own_security_log(events_after.clone()));
    with_user(move |user| {
        let must_change = user.must_change_password;
        view! {
            <main class="mx-auto max-w-3xl p-6">
                <div class="flex flex-col items-center gap-2 py-6">
                    <Avatar />
                    // A long name or login name wraps inside the screen, even without spaces.
                    <h1 class="max-w-full text-center text-2xl font-semibold text-slate-800 [overflow-wrap:anywhere]" data-testid="profile-name">
                        {user.name.clone()}
                    </h1>
                    <p class="max-w-full text-center text-sm text-slate-600 [overflow-wrap:anywhere]">{user.username.clone()}</p>
                </div>
                {(!must_change).then(|| view! {
                    <Section title="API Key" id="api-key">
                        <ApiKeyPanel stored=api_key />
                    </Section>
                    <Section title="Email Settings" id="email-settings">
                        <EmailSettingsPanel user=user.clone() configured=mail_configured />
                    </Section>
                })}
                <Section title="Password" id="password">
                    <PasswordPanel must_change />
                </Section>
                {(!must_change).then(|| view! {
                    <Section title="Security Log" id="security-log">
                        <SecurityLogPanel events />
                    </Section>
                })}
            </main>
        }
    })
}

/// A blue circle with a white person silhouette.
#[component]
fn Avatar() -> impl IntoView {
    view! {
        <div
            class="flex h-24 w-24 items-center justify-center rounded-full bg-blue-600"
            role="img"
            aria-label="Avatar"
            data-testid="avatar"
        >
            <svg class="h-14 w-14 text-white" viewBox="0 0 24 24" fill="currentColor" aria-hidden="true">
                <path d="M12 12a5 5 0 1 0 0-10 5 5 0 0 0 0 10zm0 2c-4.42 0-8 2.24-8 5v1.5c0 .83.67 1.5 1.5 1.5h13c.83 0 1.5-.67 1.5-1.5V19c0-2.76-3.58-5-8-5z" />
            </svg>
        </div>
    }
}

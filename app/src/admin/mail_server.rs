//! The mail server settings form and "Send test email".
//!
//! Storage and validation are in [`crate::mail::ssr::settings`], the SMTP transport in
//! [`crate::mail::ssr::transport`]. The password is write-only: the form says whether one is
//! saved, never what it is.

use leptos::prelude::*;

use crate::error::AppError;
use crate::forms::Posted;
use crate::mail::{MailServerForm, MailServerView, Security, test_mail_sent};
use crate::ui::{
    ErrorText, FieldError, SuccessText, TextField, input_class, loaded, primary_button_class,
    secondary_button_class,
};

/// The fields of the form, for errors shown beside them.
const FIELDS: &[&str] = &[
    "host",
    "port",
    "security",
    "username",
    "password",
    "sender",
    "public_url",
];

#[server(endpoint = "mail_server")]
pub async fn load_mail_server() -> Result<MailServerView, AppError> {
    crate::admin::ssr::require_admin().await?;
    let state = crate::state::app_state()?;
    let config = &state.config.mail;
    let row = crate::mail::ssr::settings::load(&state.db).await?;
    let row = row.as_ref();
    let text = |value: Option<&String>| value.cloned().unwrap_or_default();
    Ok(MailServerView {
        host: text(row.map(|row| &row.host)),
        port: row
            .filter(|row| !row.host.is_empty())
            .and_then(|row| u16::try_from(row.port).ok()),
        security: row.map(|row| row.security).unwrap_or_default(),
        username: text(row.and_then(|row| row.username.as_ref())),
        has_password: row.is_some_and(|row| row.sealed_password.is_some()),
        sender: text(row.and_then(|row| row.sender.as_ref())),
        public_url: text(row.and_then(|row| row.public_url.as_ref())),
        default_sender: config.sender.clone(),
        default_public_url: config.public_url.clone(),
        spool_dir: config.spool_dir.display().to_string(),
    })
}

/// Saves the mail server settings; they take effect at the next delivery, on every instance.
/// An empty password keeps the saved one.
#[server(endpoint = "save_mail_server")]
pub async fn save_mail_server(#[server(flatten)] form: MailServerForm) -> Result<(), AppError> {
    use crate::auth::log::SecurityEventKind;
    use crate::auth::log::ssr::{Entry, record};
    let admin = crate::admin::ssr::require_admin().await?;
    let state = crate::state::app_state()?;
    let submitted = crate::mail::ssr::settings::Submitted::from(form);
    let txn = sea_orm::TransactionTrait::begin(&state.db).await?;
    let saved =
        crate::mail::ssr::settings::save(&txn, &state.config.mail.secret, submitted).await?;
    let ip = crate::auth::ssr::client_ip().await;
    let entry = Entry::new(admin.id, SecurityEventKind::MailServerChanged, Some(ip)).detail(
        if saved.host.is_empty() {
            "no mail server: mail goes to files".to_owned()
        } else {
            format!("{}:{}, {}", saved.host, saved.port, saved.security.as_str())
        },
    );
    record(&txn, entry).await?;
    txn.commit().await?;
    state.mail_server.set(Some(&saved));
    tracing::info!(by = admin.id, host = %saved.host, port = saved.port, security = saved.security.as_str(), "mail server settings saved");
    crate::http::redirect_plain_form_to("/admin#mail-server");
    Ok(())
}

/// Sends a test mail to the administrator's own address with the saved settings, and says where
/// it went or, in plain words, what the mail server answered.
#[server(endpoint = "send_test_mail")]
pub async fn send_test_mail() -> Result<String, AppError> {
    let admin = crate::admin::ssr::require_admin().await?;
    let state = crate::state::app_state()?;
    let Some(email) = admin.user.email.as_deref() else {
        return Err(AppError::invalid(
            "email",
            "Add your email address under Email Settings on your profile first: the test mail goes there.",
        ));
    };
    let sent = crate::mail::ssr::delivery::send_test(&state, email, &admin.user.username).await;
    match &sent {
        Ok(outcome) => tracing::info!(by = admin.id, %outcome, "test mail sent"),
        Err(error) => tracing::info!(by = admin.id, %error, "test mail failed"),
    }
    let sent = sent?;
    crate::http::redirect_plain_form_to("/admin#mail-server");
    Ok(sent)
}

#[component]
pub fn MailServerPanel(
    /// [`load_mail_server`], created by the page.
    settings: Resource<Result<MailServerView, AppError>>,
    admin_email: Option<String>,
) -> impl IntoView {
    view! {
        {loaded(settings, move |settings| {
            view! { <MailServerForm settings admin_email=admin_email.clone() /> }
        })}
    }
}

#[component]
fn MailServerForm(settings: MailServerView, admin_email: Option<String>) -> impl IntoView {
    let save = ServerAction::<SaveMailServer>::new();
    let test = ServerAction::<SendTestMail>::new();
    let posted = Posted::of::<SaveMailServer>();
    let tested = Posted::of::<SendTestMail>();
    let save_error = Signal::stored(posted.other_error(FIELDS));
    let saved = Signal::stored(
        posted
            .succeeded()
            .then(|| "Mail server settings saved. They apply to the next mail.".to_owned()),
    );
    let test_error = Signal::stored(tested.error());
    // `host:port` of the configured mail server.
    let server = (!settings.host.is_empty()).then(|| {
        format!(
            "{}:{}",
            settings.host,
            settings.port.unwrap_or(settings.security.default_port())
        )
    });
    // What the test mail did, said from the saved settings (a page never echoes the answer).
    let sent_to = match (&admin_email, &server) {
        (Some(email), Some(server)) => test_mail_sent(email, server),
        _ => format!("Test mail written to {}.", settings.spool_dir),
    };
    let tested = Signal::stored(tested.succeeded().then_some(sent_to));
    let password_hint = if settings.has_password {
        "A password is saved; leave empty to keep it"
    } else {
        "No password saved"
    };
    view! {
        <p class="mb-4 text-sm text-slate-600" data-testid="mail-server-status">
            {match &server {
                Some(server) => format!("Notification mail is sent through {server}."),
                None => format!(
                    "No mail server is configured: notification mail is written as .eml files to {} on the server.",
                    settings.spool_dir,
                ),
            }}
        </p>
        <ActionForm action=save attr:class="grid gap-4 sm:grid-cols-2" attr:aria-label="Mail server" attr:novalidate=true>
            <TextField id="mail-host" label="Host" name="host" value=settings.host.clone()
                placeholder="smtp.example.com — empty: write files" autocomplete="off" posted=posted.clone() />
            <TextField id="mail-port" label="Port" name="port" kind="number" min=1 max=65535
                value=settings.port.map(|port| port.to_string()).unwrap_or_default()
                placeholder="587 for STARTTLS, 465 for TLS, 25 for none" posted=posted.clone() />
            <div>
                <label class="block" for="mail-security">
                    <span class="text-sm text-slate-700">"Security"</span>
                </label>
                <select
                    id="mail-security"
                    class=input_class()
                    name="security"
                    autofocus=posted.invalid("security")
                    aria-invalid=posted.invalid("security").then_some("true")
                    aria-describedby=posted.invalid("security").then_some("mail-security-error")
                >
                    {Security::ALL
                        .into_iter()
                        .map(|security| {
                            let chosen = posted.value("security").map_or(
                                security == settings.security,
                                |value| value == security.as_str(),
                            );
                            view! { <option value=security.as_str() selected=chosen>{security.label()}</option> }
                        })
                        .collect_view()}
                </select>
                <FieldError id="mail-security-error".to_owned() error=posted.field_error("security") />
            </div>
            <TextField id="mail-username" label="Username" name="username" value=settings.username.clone()
                placeholder="Empty: no authentication" autocomplete="off" posted=posted.clone() />
            <div>
                <TextField id="mail-password" label="Password" name="password" kind="password"
                    autocomplete="new-password" placeholder=password_hint posted=posted.clone() />
                {settings.has_password.then(|| view! {
                    <label class="mt-1 flex items-center gap-2 text-sm text-slate-700">
                        <input type="checkbox" name="forget_password" value="true"
                            checked=posted.checked_or("forget_password", false) />
                        "Remove the saved password"
                    </label>
                })}
            </div>
            <TextField id="mail-sender" label="Sender address" name="sender" value=settings.sender.clone()
                placeholder=settings.default_sender.clone() autocomplete="off" posted=posted.clone() />
            <TextField id="mail-public-url" label="Public URL used in links" name="public_url"
                value=settings.public_url.clone() placeholder=settings.default_public_url.clone()
                autocomplete="off" posted=posted.clone() class="sm:col-span-2" />
            <div class="sm:col-span-2 min-h-5" role="status">
                <ErrorText error=save_error />
                <SuccessText message=saved />
            </div>
            <div class="sm:col-span-2">
                <button class=primary_button_class() type="submit">"Save"</button>
            </div>
        </ActionForm>
        <ActionForm action=test attr:class="mt-6 border-t border-slate-100 pt-4" attr:aria-label="Send test email">
            <p class="mb-2 text-sm text-slate-600">
                {match admin_email {
                    Some(email) => format!("Sends a mail with the saved settings to your address, {email}."),
                    None => "Sends a mail with the saved settings to your address (add one under Email Settings on your profile).".to_owned(),
                }}
            </p>
            <button class=secondary_button_class() type="submit">"Send test email"</button>
            <div class="mt-2 min-h-5" data-testid="test-mail-result">
                <ErrorText error=test_error />
                <SuccessText message=tested />
            </div>
        </ActionForm>
    }
}

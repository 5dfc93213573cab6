//! The delivery worker: claims due mail from the outbox and hands it to the transport the
//! current settings call for ([`server::Transport`]), a few at a time over pooled connections.
//! Also the administrator's test mail, sent through the same transport.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use futures_util::StreamExt;
use lettre::Message;
use lettre::message::header::{Header, HeaderName, HeaderValue};
use lettre::message::{Mailbox, MultiPart};

use super::server::{self, Failed, Transport};
use super::{Addressing, MailConfig, outbox};
use crate::db::entity::{mail_server, outbox as row};
use crate::error::AppError;
use crate::state::AppState;

/// How often an idle worker looks for due mail.
const POLL: Duration = Duration::from_secs(1);
/// Mails claimed at once: two per connection, so a round ends within the lease even when the
/// mail server never answers ([`server::send_timeout`] is at most half the lease).
const BATCH: u64 = 2 * server::CONNECTIONS as u64;

/// The transport for the settings it was built from; rebuilt when they change, or when a
/// delivery timed out and left a connection in an unknown state.
pub struct Current {
    settings: Option<mail_server::Model>,
    addressing: Addressing,
    transport: Result<Transport, String>,
    timeout: Duration,
    broken: AtomicBool,
}

impl Current {
    fn new(config: &MailConfig, settings: Option<mail_server::Model>) -> Self {
        Self {
            addressing: config.addressing(settings.as_ref()),
            transport: Transport::new(config, settings.as_ref()),
            timeout: server::send_timeout(config.lease),
            broken: AtomicBool::new(false),
            settings,
        }
    }

    fn is_current(&self, settings: &Option<mail_server::Model>) -> bool {
        &self.settings == settings && !self.broken.load(Ordering::Relaxed)
    }

    async fn send(&self, message: Result<Message, String>) -> Result<String, String> {
        let transport = self.transport.as_ref().map_err(Clone::clone)?;
        transport
            .send(message?, self.timeout)
            .await
            .map_err(|failed| {
                if let Failed::TimedOut(_) = failed {
                    self.broken.store(true, Ordering::Relaxed);
                }
                failed.into_message()
            })
    }
}

/// Delivers mail until dropped.
pub async fn run(state: AppState) {
    let mut current = None;
    loop {
        match deliver_due(&state, &mut current).await {
            Ok(0) => tokio::time::sleep(POLL).await,
            Ok(_) => {}
            Err(error) => {
                tracing::warn!(%error, "mail delivery round failed");
                tokio::time::sleep(POLL).await;
            }
        }
    }
}

/// One round: with the settings as they are now, claims due mail and tries each once,
/// [`server::CONNECTIONS`] at a time. Returns how many were tried.
pub async fn deliver_due(
    state: &AppState,
    current: &mut Option<Current>,
) -> Result<usize, AppError> {
    let config = &state.config.mail;
    let settings = server::load(&state.db).await?;
    if !current
        .as_ref()
        .is_some_and(|current| current.is_current(&settings))
    {
        *current = Some(Current::new(config, settings));
    }
    let Some(current) = current.as_ref() else {
        return Err(AppError::Internal);
    };
    let batch = outbox::claim(&state.db, BATCH, config.lease).await?;
    let tried = batch.len();
    // Owned mails: a stream of borrowed ones trips the compiler's higher-ranked lifetime check
    // when the worker is spawned.
    let recorded: Vec<Result<(), AppError>> = futures_util::stream::iter(batch)
        .map(|mail| async move {
            let outcome = current
                .send(build(&current.addressing, &mail))
                .await
                .map(|_| ());
            if let Err(error) = &outcome {
                tracing::warn!(mail_id = mail.id, attempt = mail.attempts, %error, "mail not delivered");
            }
            outbox::record(&state.db, &mail, outcome, config.max_attempts).await
        })
        .buffer_unordered(server::CONNECTIONS as usize)
        .collect()
        .await;
    recorded.into_iter().collect::<Result<(), _>>()?;
    Ok(tried)
}

/// Sends a test mail to `to` with the saved settings, at once (not through the outbox), and
/// says where it went — or, in plain words, why it did not.
pub async fn send_test(state: &AppState, to: &str, admin: &str) -> Result<String, AppError> {
    let config = &state.config.mail;
    let current = Current::new(config, server::load(&state.db).await?);
    let product = &state.config.product_name;
    let text = format!(
        "This is a test mail from {product}, sent by {admin} from the Mail server settings.\n\
         If you can read it, notification mail reaches {to}.\n"
    );
    let message = message(&current.addressing, to).and_then(|builder| {
        builder
            .subject(format!("{product}: test mail"))
            .message_id(Some(format!(
                "<test-{}@{}>",
                chrono::Utc::now().timestamp_micros(),
                current.addressing.domain()
            )))
            .body(text)
            .map_err(|error| format!("The mail could not be built: {error}"))
    });
    match (current.send(message).await, &current.transport) {
        (Ok(file), Ok(Transport::Files(_))) => Ok(format!(
            "No mail server is configured, so the test mail was written to {}.",
            config.spool_dir.join(file).display()
        )),
        (Ok(server), _) => Ok(format!("Test mail sent to {to} through {server}.")),
        (Err(error), _) => Err(AppError::MailServer(error)),
    }
}

/// A message from the configured sender to `to`.
fn message(addressing: &Addressing, to: &str) -> Result<lettre::message::MessageBuilder, String> {
    let from: Mailbox = addressing
        .sender
        .parse()
        .map_err(|error| format!("The sender address is not valid: {error}"))?;
    let to: Mailbox = to
        .parse()
        .map_err(|error| format!("The recipient address is not valid: {error}"))?;
    Ok(Message::builder().from(from).to(to))
}

/// The MIME message: multipart/alternative text + HTML, our own `Message-ID` (the same on every
/// attempt, so a rare duplicate can be recognised), and RFC 8058 one-click unsubscribe headers.
pub fn build(addressing: &Addressing, mail: &row::Model) -> Result<Message, String> {
    message(addressing, &mail.to_address)?
        .subject(mail.subject.clone())
        .message_id(Some(format!(
            "<outbox-{}@{}>",
            mail.id,
            addressing.domain()
        )))
        .header(ListUnsubscribe(format!("<{}>", mail.unsubscribe_url)))
        .header(ListUnsubscribePost)
        .multipart(MultiPart::alternative_plain_html(
            mail.text_body.clone(),
            mail.html_body.clone(),
        ))
        .map_err(|error| format!("The mail could not be built: {error}"))
}

/// `List-Unsubscribe: <https://…/unsubscribe/…>` (RFC 2369).
#[derive(Clone)]
struct ListUnsubscribe(String);

impl Header for ListUnsubscribe {
    fn name() -> HeaderName {
        HeaderName::new_from_ascii_str("List-Unsubscribe")
    }

    fn parse(value: &str) -> Result<Self, Box<dyn std::error::Error + Send + Sync>> {
        Ok(Self(value.to_owned()))
    }

    fn display(&self) -> HeaderValue {
        HeaderValue::new(Self::name(), self.0.clone())
    }
}

/// `List-Unsubscribe-Post: List-Unsubscribe=One-Click` (RFC 8058).
#[derive(Clone)]
struct ListUnsubscribePost;

impl Header for ListUnsubscribePost {
    fn name() -> HeaderName {
        HeaderName::new_from_ascii_str("List-Unsubscribe-Post")
    }

    fn parse(_: &str) -> Result<Self, Box<dyn std::error::Error + Send + Sync>> {
        Ok(Self)
    }

    fn display(&self) -> HeaderValue {
        HeaderValue::new(Self::name(), "List-Unsubscribe=One-Click".to_owned())
    }
}

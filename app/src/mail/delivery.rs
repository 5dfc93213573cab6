//! The delivery worker: claims due mail from the outbox and hands it to the transport — a file
//! per mail (`.eml` under the data directory) while no mail server is configured.

use std::time::Duration;

use lettre::message::header::{Header, HeaderName, HeaderValue};
use lettre::message::{Mailbox, MultiPart};
use lettre::{AsyncFileTransport, AsyncTransport, Message, Tokio1Executor};

use super::{MailConfig, outbox};
use crate::db::entity::outbox as row;
use crate::state::AppState;

/// How often an idle worker looks for due mail.
const POLL: Duration = Duration::from_secs(1);
/// Mails claimed at once.
const BATCH: u64 = 50;
/// A claimed mail is this worker's to deliver for this long.
const LEASE: Duration = Duration::from_secs(120);

/// Delivers mail until dropped.
pub async fn run(state: AppState) {
    loop {
        match deliver_due(&state).await {
            Ok(0) => tokio::time::sleep(POLL).await,
            Ok(_) => {}
            Err(error) => {
                tracing::warn!(%error, "mail delivery round failed");
                tokio::time::sleep(POLL).await;
            }
        }
    }
}

/// One round: claims due mail and tries each once. Returns how many were tried.
pub async fn deliver_due(state: &AppState) -> Result<usize, crate::error::AppError> {
    let batch = outbox::claim(&state.db, BATCH, LEASE).await?;
    let config = &state.config.mail;
    for mail in &batch {
        let outcome = send(config, mail).await;
        if let Err(error) = &outcome {
            tracing::warn!(mail_id = mail.id, attempt = mail.attempts, %error, "mail not delivered");
        }
        outbox::record(&state.db, mail, outcome, config.max_attempts).await?;
    }
    Ok(batch.len())
}

async fn send(config: &MailConfig, mail: &row::Model) -> Result<(), String> {
    let message = build(config, mail)?;
    AsyncFileTransport::<Tokio1Executor>::new(&config.spool_dir)
        .send(message)
        .await
        .map(|_| ())
        .map_err(|error| {
            format!(
                "could not write the mail to {}: {error}",
                config.spool_dir.display()
            )
        })
}

/// The MIME message: multipart/alternative text + HTML, our own `Message-ID` (the same on every
/// attempt, so a rare duplicate can be recognised), and RFC 8058 one-click unsubscribe headers.
pub fn build(config: &MailConfig, mail: &row::Model) -> Result<Message, String> {
    let from: Mailbox = config
        .sender
        .parse()
        .map_err(|error| format!("the sender address is not valid: {error}"))?;
    let to: Mailbox = mail
        .to_address
        .parse()
        .map_err(|error| format!("the recipient address is not valid: {error}"))?;
    Message::builder()
        .from(from)
        .to(to)
        .subject(mail.subject.clone())
        .message_id(Some(format!("<outbox-{}@{}>", mail.id, config.domain())))
        .header(ListUnsubscribe(format!("<{}>", mail.unsubscribe_url)))
        .header(ListUnsubscribePost)
        .multipart(MultiPart::alternative_plain_html(
            mail.text_body.clone(),
            mail.html_body.clone(),
        ))
        .map_err(|error| format!("the mail could not be built: {error}"))
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

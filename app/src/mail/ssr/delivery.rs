//! The delivery worker: claims due mail from the outbox and hands it to the transport the
//! current settings call for ([`Transport`]), a few at a time over pooled connections.
//! Also the administrator's test mail, sent through the same transport.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use lettre::Message;
use lettre::message::header::{Header, HeaderName, HeaderValue};
use lettre::message::{Mailbox, MultiPart};

use super::transport::{self, MailError, Transport};
use super::{Addressing, MailConfig, outbox, settings};
use crate::db::entity::{mail_server, outbox as row};
use crate::error::AppError;
use crate::state::AppState;

/// How often an idle worker looks for due mail.
const POLL: Duration = Duration::from_secs(1);
/// Mails claimed at once: two per connection, so a round ends within the lease even when the
/// mail server never answers ([`transport::send_timeout`] is at most a third of the lease).
const BATCH: u64 = 2 * transport::CONNECTIONS as u64;

/// While the mail server is failing, one mail at a time probes it, this long apart at first…
const FIRST_PAUSE: Duration = Duration::from_secs(5);
/// …doubling up to this: a dead server costs an attempt per probe, not one per queued mail.
const MAX_PAUSE: Duration = Duration::from_secs(60);

/// Whether the mail server is failing: then when to probe it next, and the pause after that.
#[derive(Clone, Copy, Debug, Default)]
struct Probe(Option<(Instant, Duration)>);

impl Probe {
    /// How many mails to claim at `now`: a batch, one to probe a failing server, or none while
    /// waiting to probe it.
    fn claimable(self, now: Instant) -> u64 {
        match self.0 {
            None => BATCH,
            Some((at, _)) if now >= at => 1,
            Some(_) => 0,
        }
    }

    /// After a round at `now`: the server failed (probe later, pausing longer each time) or did
    /// not.
    fn observe(&mut self, server_failed: bool, now: Instant) {
        self.0 = server_failed.then(|| {
            let pause = self.0.map_or(FIRST_PAUSE, |(_, pause)| {
                std::cmp::min(pause.saturating_mul(2), MAX_PAUSE)
            });
            (now + pause, pause)
        });
    }
}

/// The transport for the settings it was built from; rebuilt when they change, or when a
/// delivery timed out and left a connection in an unknown state.
struct Current {
    settings: Option<mail_server::Model>,
    addressing: Addressing,
    transport: Result<Transport, MailError>,
    timeout: Duration,
    broken: AtomicBool,
    probe: Probe,
}

impl Current {
    fn new(config: &MailConfig, settings: Option<mail_server::Model>) -> Self {
        Self {
            addressing: config.addressing(settings.as_ref()),
            transport: Transport::new(config, settings.as_ref()),
            timeout: transport::send_timeout(config.lease),
            broken: AtomicBool::new(false),
            probe: Probe::default(),
            settings,
        }
    }

    fn is_current(&self, settings: &Option<mail_server::Model>) -> bool {
        &self.settings == settings && !self.broken.load(Ordering::Relaxed)
    }

    async fn send(&self, message: Result<Message, MailError>) -> Result<String, MailError> {
        let transport = self.transport.as_ref().map_err(Clone::clone)?;
        let failed = match transport.send(message?, self.timeout).await {
            Ok(sent) => return Ok(sent),
            Err(failed) => failed,
        };
        if let MailError::TimedOut { .. } = failed {
            self.broken.store(true, Ordering::Relaxed);
        }
        Err(failed)
    }
}

/// Delivers mail until the instance stops (a round under way ends first: mails already handed
/// to the mail server are recorded, the others given back) or until dropped.
pub async fn run(state: AppState) {
    let mut current = None;
    while !state.stopping.is_cancelled() {
        let idle = match deliver_due(&state, &mut current).await {
            Ok(tried) => tried == 0,
            Err(error) => {
                tracing::warn!(%error, "mail delivery round failed");
                true
            }
        };
        if idle {
            tokio::select! {
                () = tokio::time::sleep(POLL) => {}
                () = state.stopping.cancelled() => {}
            }
        }
    }
}

/// Delivers the mail due now, as far as it can go now, and returns how many this call tried:
/// rounds until one tries nothing, then until no other worker has mail in flight (at most a
/// lease). Mail that failed waits out its backoff. For tests and tools that must know where mail
/// stands without guessing how long the background worker takes.
pub async fn deliver_now(state: &AppState) -> Result<usize, AppError> {
    let give_up = Instant::now() + state.config.mail.lease;
    let mut current = None;
    let mut tried = 0;
    loop {
        match deliver_due(state, &mut current).await? {
            0 if outbox::in_flight(&state.db).await? == 0 || Instant::now() > give_up => {
                return Ok(tried);
            }
            0 => tokio::time::sleep(Duration::from_millis(20)).await,
            round => tried += round,
        }
    }
}

/// One round: with the settings as they are now, claims due mail and tries each once,
/// [`transport::CONNECTIONS`] at a time. Returns how many were tried.
async fn deliver_due(state: &AppState, current: &mut Option<Current>) -> Result<usize, AppError> {
    let config = &state.config.mail;
    let settings = settings::load(&state.db).await?;
    state.mail_server.set(settings.as_ref());
    if !current
        .as_ref()
        .is_some_and(|current| current.is_current(&settings))
    {
        // A timed-out transport is rebuilt, but a failing server stays on probation.
        let probe = current
            .as_ref()
            .filter(|current| current.settings == settings)
            .map(|current| current.probe);
        let mut fresh = Current::new(config, settings);
        fresh.probe = probe.unwrap_or_default();
        *current = Some(fresh);
    }
    let Some(current) = current.as_mut() else {
        return Err(AppError::Internal);
    };
    let limit = current.probe.claimable(Instant::now());
    if limit == 0 {
        return Ok(0);
    }
    let batch = outbox::claim(&state.db, limit, config.lease).await?;
    let shared: &Current = current;
    let stopping = &state.stopping;
    let claimed = batch.clone();
    // Mails handed to the mail server so far; the others are given back if the instance stops.
    let started = std::sync::Mutex::new(std::collections::HashSet::new());
    let (outcomes, given_back) = {
        // `None`: not tried, because the instance is stopping. Owned mails: a stream of borrowed
        // ones trips the compiler's higher-ranked lifetime check when the worker is spawned.
        let sending = futures_util::stream::iter(batch)
            .map(|mail| {
                let started = &started;
                async move {
                    if stopping.is_cancelled() {
                        return (mail, None);
                    }
                    started
                        .lock()
                        .unwrap_or_else(std::sync::PoisonError::into_inner)
                        .insert(mail.id);
                    let outcome = shared.send(build(&shared.addressing, &mail)).await;
                    (mail, Some(outcome))
                }
            })
            .buffer_unordered(transport::CONNECTIONS as usize)
            .collect::<Vec<(row::Model, Option<Result<String, MailError>>)>>();
        tokio::pin!(sending);
        tokio::select! {
            outcomes = &mut sending => (outcomes, false),
            () = stopping.cancelled() => {
                // At once, not after the mails in flight: nothing else starts from here on.
                let started = started.lock().unwrap_or_else(std::sync::PoisonError::into_inner).clone();
                let untried: Vec<&row::Model> =
                    claimed.iter().filter(|mail| !started.contains(&mail.id)).collect();
                give_back(state, &untried).await;
                (sending.await, true)
            }
        }
    };
    let (tried, untried): (Vec<_>, Vec<_>) = outcomes
        .into_iter()
        .partition(|(_, outcome)| outcome.is_some());
    let outcomes: Vec<(row::Model, Result<String, MailError>)> = tried
        .into_iter()
        .filter_map(|(mail, outcome)| outcome.map(|outcome| (mail, outcome)))
        .collect();
    let sent: Vec<&row::Model> = outcomes
        .iter()
        .filter(|(_, outcome)| outcome.is_ok())
        .map(|(mail, _)| mail)
        .collect();
    outbox::record_sent(&state.db, &sent).await?;
    crate::metrics::mail_sent(sent.len());
    for (mail, outcome) in &outcomes {
        if let Err(failed) = outcome {
            let error = failed.to_string();
            tracing::warn!(mail_id = mail.id, attempt = mail.attempts, %error, "mail not delivered");
            crate::metrics::mail_failed_attempt();
            outbox::record_failure(&state.db, mail, error, config.max_attempts).await?;
        }
    }
    if !given_back {
        give_back(
            state,
            &untried.iter().map(|(mail, _)| mail).collect::<Vec<_>>(),
        )
        .await;
    }
    // A mail went through: the server works. Nothing did, and some failure was not its mail's
    // own (a greeting or sender refused looks like a refusal of the mail): treat the server as
    // failing and probe it. A round of unsendable mails alone says nothing about the server,
    // either way.
    if !sent.is_empty() {
        current.probe.observe(false, Instant::now());
    } else if outcomes.iter().any(|(_, outcome)| {
        outcome
            .as_ref()
            .is_err_and(|failed| !failed.is_the_mails_own())
    }) {
        current.probe.observe(true, Instant::now());
    }
    Ok(outcomes.len())
}

/// Gives claimed mails back to the outbox (the instance stops); a failure leaves them to their
/// lease.
async fn give_back(state: &AppState, mails: &[&row::Model]) {
    if let Err(error) = outbox::release(&state.db, mails).await {
        tracing::warn!(%error, "could not give claimed mail back; it waits for its lease");
    }
}

/// Sends a test mail to `to` with the saved settings, at once (not through the outbox), and
/// says where it went — or, in plain words, why it did not.
pub async fn send_test(state: &AppState, to: &str, admin: &str) -> Result<String, AppError> {
    let config = &state.config.mail;
    let current = Current::new(config, settings::load(&state.db).await?);
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
            .map_err(|error| MailError::Build(error.to_string()))
    });
    match (current.send(message).await, &current.transport) {
        (Ok(file), Ok(Transport::Files(_))) => Ok(format!(
            "No mail server is configured, so the test mail was written to {}.",
            config.spool_dir.join(file).display()
        )),
        (Ok(server), _) => Ok(crate::mail::test_mail_sent(to, &server)),
        (Err(failed), _) => Err(AppError::MailServer(failed.to_string())),
    }
}

/// A message from the configured sender to `to`.
fn message(
    addressing: &Addressing,
    to: &str,
) -> Result<lettre::message::MessageBuilder, MailError> {
    let from: Mailbox = addressing
        .sender
        .parse()
        .map_err(|error: lettre::address::AddressError| MailError::Sender(error.to_string()))?;
    let to: Mailbox = to
        .parse()
        .map_err(|error: lettre::address::AddressError| MailError::Recipient(error.to_string()))?;
    Ok(Message::builder().from(from).to(to))
}

/// The MIME message: multipart/alternative text + HTML, our own `Message-ID` (the same on every
/// attempt, so a rare duplicate can be recognised), and RFC 8058 one-click unsubscribe headers.
fn build(addressing: &Addressing, mail: &row::Model) -> Result<Message, MailError> {
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
        .map_err(|error| MailError::Build(error.to_string()))
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failing_server_is_probed_with_one_mail_ever_longer_apart() {
        let start = Instant::now();
        let mut probe = Probe::default();
        assert_eq!(probe.claimable(start), BATCH);
        probe.observe(true, start);
        // Nothing until the pause is over, then one mail.
        assert_eq!(probe.claimable(start + FIRST_PAUSE / 2), 0);
        assert_eq!(probe.claimable(start + FIRST_PAUSE), 1);
        // The probe failed too: the next pause is twice as long, up to the longest.
        let probed = start + FIRST_PAUSE;
        probe.observe(true, probed);
        assert_eq!(probe.claimable(probed + FIRST_PAUSE), 0);
        assert_eq!(probe.claimable(probed + FIRST_PAUSE * 2), 1);
        for _ in 0..10 {
            probe.observe(true, probed);
        }
        assert_eq!(probe.claimable(probed + MAX_PAUSE), 1);
        // A mail went through: a whole batch again.
        probe.observe(false, probed);
        assert_eq!(probe.claimable(probed), BATCH);
    }
}

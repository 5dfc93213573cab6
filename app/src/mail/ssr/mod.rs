//! Notification mail (server only).
//!
//! Flow: a domain event is recorded ([`outbox::record`]) and, in the same transaction,
//! [`outbox::enqueue`] prepares one mail per recipient — the application's owner and whoever
//! triggered the event, each once, if they have an address and want notifications at that
//! moment. The [`delivery`] worker sends them later, so a slow or dead mail server never slows
//! a request, and retries with exponential backoff until it gives up. Every mail carries a
//! signed unsubscribe link ([`token`]). Where mail goes is the administrator's choice
//! ([`settings`]): an SMTP server, or `.eml` files under the data directory while there is none
//! ([`transport`]).

pub mod account;
pub mod compose;
pub mod delivery;
pub mod outbox;
pub mod seal;
pub mod settings;
pub mod token;
pub mod transport;

pub use transport::MailError;

use std::path::PathBuf;
use std::time::Duration;

use secrecy::SecretSlice;

use crate::db::entity::mail_server;

/// The host of `url` (`https://console.example:8443/x` → `console.example`).
pub fn host_of(url: &str) -> &str {
    let rest = url.split_once("://").map_or(url, |(_, rest)| rest);
    rest.split(['/', ':']).next().unwrap_or(rest)
}

/// Whether an administrator has configured a mail server, as this instance last read it: at
/// each delivery round (at most a second apart while idle) and at each save here. Lets pages
/// say whether mail is sent without a query per page load.
#[derive(Clone, Debug, Default)]
pub struct MailServerStatus(std::sync::Arc<std::sync::atomic::AtomicU8>);

impl MailServerStatus {
    const UNKNOWN: u8 = 0;
    const FILES: u8 = 1;
    const CONFIGURED: u8 = 2;

    pub fn set(&self, row: Option<&mail_server::Model>) {
        let value = if settings::configured(row) {
            Self::CONFIGURED
        } else {
            Self::FILES
        };
        self.0.store(value, std::sync::atomic::Ordering::Relaxed);
    }

    /// `None` until the row was first read.
    pub fn configured(&self) -> Option<bool> {
        match self.0.load(std::sync::atomic::Ordering::Relaxed) {
            Self::UNKNOWN => None,
            value => Some(value == Self::CONFIGURED),
        }
    }
}

/// What mail needs from the server's settings (fixed at start; the mail server itself is
/// configured at run time, see [`settings`]).
#[derive(Clone, Debug)]
pub struct MailConfig {
    /// Signs unsubscribe links and seals the mail server password (shared by every instance,
    /// never stored in the database).
    pub secret: SecretSlice<u8>,
    /// The console's address as users reach it, without a trailing slash, unless the
    /// administrator set another for links.
    pub public_url: String,
    /// The `From` address unless the administrator set one.
    pub sender: String,
    /// Where mail is written as `.eml` files while no mail server is configured.
    pub spool_dir: PathBuf,
    /// Deliveries tried before a mail is marked failed.
    pub max_attempts: i32,
    /// A claimed mail is one instance's to deliver for this long; after that (the instance
    /// died) another may send it.
    pub lease: Duration,
    /// PEM certificates to trust besides the system's, for a mail server with a private CA.
    pub extra_root_certificates: Option<Vec<u8>>,
    /// Notification mails one user is sent in an hour at most; more are held back.
    pub per_user_hourly: u32,
}

/// Plenty for a person; a script looping over jobs cannot flood a mailbox.
pub const DEFAULT_MAIL_PER_USER_HOUR: u32 = 100;

/// Where mail comes from and where its links point, under the current settings.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Addressing {
    pub sender: String,
    pub public_url: String,
}

impl Addressing {
    /// The host part of the public URL, for `Message-ID`s of our own domain.
    pub fn domain(&self) -> &str {
        match host_of(&self.public_url) {
            "" => "localhost",
            host => host,
        }
    }
}

impl MailConfig {
    /// The sender and public URL the administrator set in `row`, else the server's defaults.
    pub fn addressing(&self, row: Option<&mail_server::Model>) -> Addressing {
        let or = |set: Option<&String>, default: &String| set.unwrap_or(default).clone();
        Addressing {
            sender: or(row.and_then(|row| row.sender.as_ref()), &self.sender),
            public_url: or(
                row.and_then(|row| row.public_url.as_ref()),
                &self.public_url,
            ),
        }
    }

    /// The unsubscribe link for `user_id`.
    pub fn unsubscribe_url(&self, addressing: &Addressing, user_id: i64) -> String {
        let token = token::issue(&self.secret, user_id);
        format!("{}/unsubscribe/{token}", addressing.public_url)
    }
}

//! Notification mail (server only).
//!
//! Flow: a domain event is recorded ([`crate::events::record`]) and, in the same transaction,
//! [`outbox::enqueue`] prepares one mail per recipient — the application's owner and whoever
//! triggered the event, each once, if they have an address and want notifications at that
//! moment. The [`delivery`] worker sends them later, so a slow or dead mail server never slows
//! a request, and retries with exponential backoff until it gives up. Every mail carries a
//! signed unsubscribe link ([`token`]).

pub mod compose;
pub mod delivery;
pub mod outbox;
pub mod token;

use std::path::PathBuf;

use secrecy::SecretSlice;

/// The host of `url` (`https://console.example:8443/x` → `console.example`).
pub fn host_of(url: &str) -> &str {
    let rest = url.split_once("://").map_or(url, |(_, rest)| rest);
    rest.split(['/', ':']).next().unwrap_or(rest)
}

/// What mail needs from the server's settings.
#[derive(Clone, Debug)]
pub struct MailConfig {
    /// Signs unsubscribe links (shared by every instance, never stored in the database).
    pub secret: SecretSlice<u8>,
    /// The console's address as users reach it, without a trailing slash; links point here.
    pub public_url: String,
    /// The `From` address.
    pub sender: String,
    /// Where mail is written as `.eml` files while no mail server is configured.
    pub spool_dir: PathBuf,
    /// Deliveries tried before a mail is marked failed.
    pub max_attempts: i32,
}

impl MailConfig {
    /// The host part of the public URL, for `Message-ID`s of our own domain.
    pub fn domain(&self) -> &str {
        match host_of(&self.public_url) {
            "" => "localhost",
            host => host,
        }
    }

    /// The unsubscribe link for `user_id`.
    pub fn unsubscribe_url(&self, user_id: i64) -> String {
        let token = token::issue(&self.secret, user_id);
        format!("{}/unsubscribe/{token}", self.public_url)
    }
}

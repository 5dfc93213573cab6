//! Notification mail: what pages and server share about it (the mail server settings as the
//! admin form shows them, how a connection is protected). The mail itself — composing, the
//! outbox, delivery, the SMTP transport — is server only, in [`ssr`].

#[cfg(feature = "ssr")]
pub mod ssr;

use serde::{Deserialize, Serialize};

/// How the connection to the mail server is protected.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(
    feature = "ssr",
    derive(sea_orm::EnumIter, sea_orm::DeriveActiveEnum),
    sea_orm(rs_type = "String", db_type = "Text", rename_all = "lowercase")
)]
pub enum Security {
    /// Plain SMTP (a password only to localhost).
    None,
    /// Plain connection upgraded with STARTTLS, which is required.
    #[default]
    StartTls,
    /// TLS from the first byte (SMTPS).
    Tls,
}

impl Security {
    pub const ALL: [Self; 3] = [Self::StartTls, Self::Tls, Self::None];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::None => "none",
            Self::StartTls => "starttls",
            Self::Tls => "tls",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|security| security.as_str().eq_ignore_ascii_case(value))
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::None => "None (plain SMTP)",
            Self::StartTls => "STARTTLS",
            Self::Tls => "TLS (SMTPS)",
        }
    }

    /// The port mail servers usually listen on for this kind of connection.
    pub fn default_port(self) -> u16 {
        match self {
            Self::None => 25,
            Self::StartTls => 587,
            Self::Tls => 465,
        }
    }
}

/// The mail server form as posted, one field per input; a field left out is empty. An empty
/// password keeps the saved one.
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct MailServerForm {
    /// Empty: no mail server, mail is written as files.
    pub host: String,
    /// The usual port for the security when empty.
    pub port: String,
    pub security: String,
    pub username: String,
    pub password: String,
    /// The "Remove the saved password" checkbox: sent (as `true`) only when ticked.
    pub forget_password: Option<String>,
    pub sender: String,
    pub public_url: String,
}

impl std::fmt::Debug for MailServerForm {
    /// Everything but the password.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MailServerForm")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("security", &self.security)
            .field("username", &self.username)
            .field("password", &"[redacted]")
            .field("forget_password", &self.forget_password)
            .field("sender", &self.sender)
            .field("public_url", &self.public_url)
            .finish()
    }
}

/// The settings as the form shows them (without the password).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MailServerView {
    /// Empty when no mail server is configured.
    pub host: String,
    pub port: Option<u16>,
    pub security: Security,
    pub username: String,
    pub has_password: bool,
    pub sender: String,
    pub public_url: String,
    /// Used when `sender` / `public_url` are empty.
    pub default_sender: String,
    pub default_public_url: String,
    /// Where mail is written while no mail server is configured.
    pub spool_dir: String,
}

/// What "Send test email" says when the mail went to `server` (`host:port`).
pub fn test_mail_sent(to: &str, server: &str) -> String {
    format!("Test mail sent to {to} through {server}.")
}

//! The mail server an administrator configures: validating and storing it (one row, the
//! password sealed with the server's secret), presetting it from the environment, and the
//! transport built from it — SMTP when a host is set, `.eml` files otherwise.
//!
//! Every instance reads the row on each delivery round, so a change takes effect without a
//! restart, on every instance.

use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use chacha20poly1305::aead::{Aead, KeyInit};
use chacha20poly1305::{ChaCha20Poly1305, Key, Nonce};
use chrono::Utc;
use hmac::{Hmac, Mac};
use lettre::message::Mailbox;
use lettre::transport::smtp::PoolConfig;
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
use lettre::{AsyncFileTransport, AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use sea_orm::sea_query::OnConflict;
use sea_orm::{ConnectionTrait, EntityTrait, Set};
use secrecy::{ExposeSecret, SecretSlice, SecretString};
use sha2::Sha256;

use super::MailConfig;
use super::outbox;
use crate::db::entity::mail_server::{self, Model as Row};
use crate::error::AppError;
pub use crate::mail::Security;

/// A mail server that has not taken a mail within this long has failed the attempt (less when
/// the lease is short, see [`send_timeout`]).
pub const TIMEOUT: Duration = Duration::from_secs(30);

/// How long one delivery may take: [`TIMEOUT`], but at most a third of the lease, so a round of
/// two mails per connection (and its bookkeeping) ends while its mails are still this instance's.
pub fn send_timeout(lease: Duration) -> Duration {
    std::cmp::min(TIMEOUT, lease / 3)
}

/// SMTP connections kept open to the mail server (also how many mails are sent at once). Each
/// carries at most about 20 mails a second: lettre writes a message's final `.` separately and
/// without `TCP_NODELAY`, so every mail waits out the server's delayed ACK (about 40 ms).
pub const CONNECTIONS: u32 = 8;

/// The row's id: there is one mail server.
const ID: i32 = 1;

/// Bound into the sealing key, so it is never the key of anything else.
const SEALING_PURPOSE: &[u8] = b"console/mail-server-password/v1";

/// What to do with the saved password.
pub enum Password {
    /// Leave it as it is (the form's password field was left empty).
    Keep,
    Replace(SecretString),
    Forget,
}

/// Mail server settings as submitted by an administrator or preset by the environment.
pub struct Submitted {
    /// Empty: no mail server, mail is written as files.
    pub host: String,
    /// The usual port for `security` when empty.
    pub port: String,
    pub security: String,
    pub username: String,
    pub password: Password,
    pub sender: String,
    pub public_url: String,
}

/// Validated settings, ready to store.
struct Valid {
    host: String,
    port: u16,
    security: Security,
    username: Option<String>,
    password: Password,
    sender: Option<String>,
    public_url: Option<String>,
}

impl Submitted {
    fn validate(self) -> Result<Valid, AppError> {
        let security = Security::parse(self.security.trim())
            .ok_or_else(|| AppError::invalid("security", "Choose none, STARTTLS or TLS."))?;
        let host = self.host.trim().to_ascii_lowercase();
        if !host.is_empty() && !valid_host(&host) {
            return Err(AppError::invalid(
                "host",
                "Enter a host name such as smtp.example.com, or an IP address.",
            ));
        }
        let port = match self.port.trim() {
            "" => security.default_port(),
            port => port.parse().ok().filter(|port| *port > 0).ok_or_else(|| {
                AppError::invalid("port", "The port is a number from 1 to 65535.")
            })?,
        };
        let username = optional(&self.username, "username", 254)?;
        let password = if username.is_none() {
            Password::Forget
        } else {
            self.password
        };
        if username.is_some() && !host.is_empty() && password_in_clear(security, &host) {
            return Err(AppError::invalid(
                "security",
                "A password would cross the network unencrypted. Choose STARTTLS or TLS, or \
                 leave the username empty (a plain connection may carry a password only to \
                 localhost).",
            ));
        }
        let sender = optional(&self.sender, "sender", 320)?;
        if let Some(sender) = &sender {
            sender.parse::<Mailbox>().map_err(|_| {
                AppError::invalid(
                    "sender",
                    "The sender is an address such as noreply@example.com, optionally with a \
                     name: AIP Console <noreply@example.com>.",
                )
            })?;
        }
        let public_url = optional(&self.public_url, "public_url", 1000)?
            .map(|url| url.trim_end_matches('/').to_owned());
        if let Some(url) = &public_url
            && !(url.starts_with("http://") || url.starts_with("https://"))
        {
            return Err(AppError::invalid(
                "public_url",
                "The public URL starts with https:// (or http://), like https://console.example.com.",
            ));
        }
        Ok(Valid {
            host,
            port,
            security,
            username,
            password,
            sender,
            public_url,
        })
    }
}

/// A trimmed optional value of at most `max` characters, without control characters.
fn optional(value: &str, field: &str, max: usize) -> Result<Option<String>, AppError> {
    let value = value.trim();
    if value.chars().any(char::is_control) {
        return Err(AppError::invalid(
            field,
            "Line breaks are not allowed here.",
        ));
    }
    if value.chars().count() > max {
        return Err(AppError::invalid(
            field,
            format!("At most {max} characters."),
        ));
    }
    Ok((!value.is_empty()).then(|| value.to_owned()))
}

fn valid_host(host: &str) -> bool {
    host.parse::<std::net::IpAddr>().is_ok()
        || (host.len() <= 253
            && host.split('.').all(|label| {
                !label.is_empty()
                    && label.len() <= 63
                    && !label.starts_with('-')
                    && !label.ends_with('-')
                    && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
            }))
}

/// Whether a password sent to `host` with `security` would cross a network unencrypted: a
/// plain connection to anything but this machine.
fn password_in_clear(security: Security, host: &str) -> bool {
    security == Security::None && !is_local(host)
}

/// Whether `host` is this machine, where a plain connection never crosses a network.
fn is_local(host: &str) -> bool {
    host == "localhost"
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|address| address.is_loopback())
}

/// The configured mail server, if an administrator (or the environment) set one.
pub async fn load(db: &impl ConnectionTrait) -> Result<Option<Row>, AppError> {
    Ok(mail_server::Entity::find_by_id(ID).one(db).await?)
}

/// Whether mail goes to a mail server (rather than to files).
pub fn configured(row: Option<&Row>) -> bool {
    row.is_some_and(|row| !row.host.is_empty())
}

/// Validates and stores the settings, and makes waiting mail due at once so the new settings
/// are tried without waiting out a backoff.
pub async fn save(
    db: &impl ConnectionTrait,
    secret: &SecretSlice<u8>,
    submitted: Submitted,
) -> Result<Row, AppError> {
    let valid = submitted.validate()?;
    let current = load(db).await?;
    let sealed_password = match valid.password {
        // The saved password only ever goes to the server it was entered for.
        Password::Keep => current
            .filter(|row| row.host == valid.host && row.username == valid.username)
            .and_then(|row| row.sealed_password),
        Password::Replace(password) => Some(seal(secret, &password)),
        Password::Forget => None,
    };
    if valid.username.is_some() && sealed_password.is_none() {
        return Err(AppError::invalid(
            "password",
            "Enter the password for this username (a saved password is kept only while the \
             host and username stay the same).",
        ));
    }
    let row = mail_server::ActiveModel {
        id: Set(ID),
        host: Set(valid.host),
        port: Set(i32::from(valid.port)),
        security: Set(valid.security),
        username: Set(valid.username),
        sealed_password: Set(sealed_password),
        sender: Set(valid.sender),
        public_url: Set(valid.public_url),
        updated_at: Set(Utc::now()),
    };
    let saved = mail_server::Entity::insert(row)
        .on_conflict(
            OnConflict::column(mail_server::Column::Id)
                .update_columns([
                    mail_server::Column::Host,
                    mail_server::Column::Port,
                    mail_server::Column::Security,
                    mail_server::Column::Username,
                    mail_server::Column::SealedPassword,
                    mail_server::Column::Sender,
                    mail_server::Column::PublicUrl,
                    mail_server::Column::UpdatedAt,
                ])
                .to_owned(),
        )
        .exec_with_returning(db)
        .await?;
    outbox::retry_now(db, outbox::Retry::Waiting).await?;
    Ok(saved)
}

/// Stores the environment's preset unless settings exist already (an administrator's changes
/// are kept across restarts). Returns whether the preset was stored.
pub async fn preset(
    db: &impl ConnectionTrait,
    secret: &SecretSlice<u8>,
    submitted: Submitted,
) -> Result<bool, AppError> {
    if load(db).await?.is_some() {
        // Still validated, so a mistake in the environment is reported at start.
        submitted.validate()?;
        return Ok(false);
    }
    save(db, secret, submitted).await?;
    Ok(true)
}

fn sealing_key(secret: &SecretSlice<u8>) -> ChaCha20Poly1305 {
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(secret.expose_secret())
        .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
    mac.update(SEALING_PURPOSE);
    let key = mac.finalize().into_bytes();
    ChaCha20Poly1305::new(Key::from_slice(&key))
}

/// Encrypts the password with a key derived from the server's secret: a copy of the database
/// alone does not reveal it. `base64(nonce ‖ ciphertext)`.
pub fn seal(secret: &SecretSlice<u8>, password: &SecretString) -> String {
    let nonce: [u8; 12] = rand::random();
    let sealed = sealing_key(secret)
        .encrypt(
            Nonce::from_slice(&nonce),
            password.expose_secret().as_bytes(),
        )
        .unwrap_or_else(|_| unreachable!("ChaCha20-Poly1305 encrypts any message in memory"));
    STANDARD.encode([nonce.as_slice(), &sealed].concat())
}

/// The password [`seal`] stored, if the secret is the one it was sealed with.
pub fn unseal(secret: &SecretSlice<u8>, sealed: &str) -> Result<SecretString, String> {
    let unreadable = || {
        "The saved mail server password cannot be read: the server's secret changed since it \
         was saved. Enter the password again."
            .to_owned()
    };
    let bytes = STANDARD.decode(sealed).map_err(|_| unreadable())?;
    if bytes.len() < 12 {
        return Err(unreadable());
    }
    let (nonce, sealed) = bytes.split_at(12);
    let plain = sealing_key(secret)
        .decrypt(Nonce::from_slice(nonce), sealed)
        .map_err(|_| unreadable())?;
    String::from_utf8(plain)
        .map(SecretString::from)
        .map_err(|_| unreadable())
}

/// Where mail goes: the configured SMTP server, or `.eml` files while there is none.
pub enum Transport {
    Files(AsyncFileTransport<Tokio1Executor>),
    Smtp {
        transport: AsyncSmtpTransport<Tokio1Executor>,
        /// `host:port`, for messages.
        server: String,
    },
}

impl Transport {
    /// The transport for `row`. An error (an unreadable password, a bad certificate file) is in
    /// plain words and fails each delivery until the settings are fixed.
    pub fn new(config: &MailConfig, row: Option<&Row>) -> Result<Self, String> {
        let Some(row) = row.filter(|row| !row.host.is_empty()) else {
            return Ok(Self::Files(AsyncFileTransport::new(&config.spool_dir)));
        };
        let security = row.security;
        let server = format!("{}:{}", row.host, row.port);
        let tls_parameters = || {
            let mut builder = TlsParameters::builder(row.host.clone());
            if let Some(pem) = &config.extra_root_certificates {
                let certificate = Certificate::from_pem(pem).map_err(|error| {
                    format!("The extra trusted certificate (CONSOLE_SMTP_CA_FILE) is not valid PEM: {error}")
                })?;
                builder = builder.add_root_certificate(certificate);
            }
            builder
                .build_rustls()
                .map_err(|error| format!("TLS could not be set up: {error}"))
        };
        let tls = match security {
            Security::None => Tls::None,
            Security::StartTls => Tls::Required(tls_parameters()?),
            Security::Tls => Tls::Wrapper(tls_parameters()?),
        };
        let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&row.host)
            .port(u16::try_from(row.port).unwrap_or(security.default_port()))
            .tls(tls)
            // lettre limits only the connection with this; `send` limits the whole delivery.
            .timeout(Some(send_timeout(config.lease)))
            .pool_config(PoolConfig::new().max_size(CONNECTIONS));
        if let Some(username) = &row.username {
            if password_in_clear(security, &row.host) {
                return Err(format!(
                    "Refusing to send the password to {server} unencrypted: choose STARTTLS or TLS."
                ));
            }
            let password = match &row.sealed_password {
                Some(sealed) => unseal(&config.secret, sealed)?,
                None => SecretString::from(String::new()),
            };
            builder = builder.credentials(Credentials::new(
                username.clone(),
                password.expose_secret().to_owned(),
            ));
        }
        Ok(Self::Smtp {
            transport: builder.build(),
            server,
        })
    }

    /// Sends `message` within `timeout`; an error says in plain words what went wrong. Returns
    /// where it went.
    pub async fn send(&self, message: Message, timeout: Duration) -> Result<String, Failed> {
        match self {
            Self::Files(files) => files
                .send(message)
                .await
                .map(|id| format!("{id}.eml"))
                .map_err(|error| {
                    Failed::Refused(format!("The mail could not be written to a file: {error}"))
                }),
            Self::Smtp { transport, server } => {
                match tokio::time::timeout(timeout, transport.send(message)).await {
                    Ok(Ok(_)) => Ok(server.clone()),
                    Ok(Err(error)) => Err(Failed::Refused(explain(&error, server))),
                    Err(_) => Err(Failed::TimedOut(format!(
                        "The mail server {server} did not take the mail within {} seconds.",
                        timeout.as_secs_f32()
                    ))),
                }
            }
        }
    }
}

/// Why a mail was not sent, in plain words.
#[derive(Debug)]
pub enum Failed {
    /// The mail server (or the spool directory) said no, or could not be reached.
    Refused(String),
    /// No answer in time: the connection is in an unknown state.
    TimedOut(String),
}

impl Failed {
    pub fn message(&self) -> &str {
        match self {
            Self::Refused(message) | Self::TimedOut(message) => message,
        }
    }
}

/// An SMTP failure in plain words, with the server's own answer.
pub fn explain(error: &lettre::transport::smtp::Error, server: &str) -> String {
    let code = error.status().map(|code| code.to_string());
    let text = error.to_string();
    if error.is_timeout() {
        format!("The mail server {server} did not answer in time ({error}).")
    } else if code
        .as_deref()
        .is_some_and(|code| matches!(code, "534" | "535" | "538"))
    {
        format!("The mail server {server} refused the username or password ({error}).")
    } else if code.as_deref() == Some("530") {
        format!(
            "The mail server {server} wants something first ({error}): check the security \
             setting (it may require STARTTLS) and whether it needs a username and password."
        )
    } else if text.contains("authentication mechanism") {
        format!(
            "The mail server {server} offers no way to log in that the console supports on this \
             connection ({error}). Check the security setting, or leave the username empty if \
             the server needs no login."
        )
    } else if text.contains("STARTTLS") {
        format!(
            "The mail server {server} does not offer STARTTLS ({error}). Choose TLS if it \
             expects TLS from the start (usually port 465)."
        )
    } else if error.is_tls() {
        format!(
            "The secure connection to {server} failed ({error}). Check the security setting \
             and that the server's certificate is trusted."
        )
    } else if error.is_permanent() {
        format!("The mail server {server} refused the mail ({error}).")
    } else if error.is_transient() {
        format!("The mail server {server} refused the mail for now ({error}).")
    } else if error.is_client() || error.is_response() {
        format!("The mail server {server} and the console did not understand each other ({error}).")
    } else if text.starts_with("Connection error") {
        format!("Could not connect to the mail server {server} ({error}).")
    } else {
        format!("The connection to the mail server {server} broke ({error}).")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn submitted(host: &str, security: &str, username: &str) -> Submitted {
        Submitted {
            host: host.into(),
            port: String::new(),
            security: security.into(),
            username: username.into(),
            password: Password::Keep,
            sender: String::new(),
            public_url: String::new(),
        }
    }

    #[test]
    fn the_port_defaults_to_the_usual_one_for_the_security() {
        for (security, port) in [("none", 25), ("starttls", 587), ("tls", 465)] {
            let valid = submitted("smtp.example.com", security, "")
                .validate()
                .unwrap();
            assert_eq!(valid.port, port);
        }
    }

    #[test]
    fn a_password_never_crosses_the_network_in_clear() {
        let error = submitted("smtp.example.com", "none", "jane")
            .validate()
            .err()
            .unwrap();
        assert_eq!(error.field(), Some("security"));
        for local in ["localhost", "127.0.0.1", "::1"] {
            assert!(
                submitted(local, "none", "jane").validate().is_ok(),
                "{local}"
            );
        }
        assert!(
            submitted("smtp.example.com", "starttls", "jane")
                .validate()
                .is_ok()
        );
        assert!(submitted("smtp.example.com", "none", "").validate().is_ok());
    }

    #[test]
    fn bad_values_are_refused_with_their_field() {
        let cases = [
            (
                Submitted {
                    port: "70000".into(),
                    ..submitted("smtp.example.com", "tls", "")
                },
                "port",
            ),
            (submitted("smtp example.com", "tls", ""), "host"),
            (submitted("smtp.example.com", "ssl3", ""), "security"),
            (
                Submitted {
                    sender: "not an address".into(),
                    ..submitted("", "tls", "")
                },
                "sender",
            ),
            (
                Submitted {
                    sender: "a@example.com\r\nBcc: b@example.com".into(),
                    ..submitted("", "tls", "")
                },
                "sender",
            ),
            (
                Submitted {
                    public_url: "console.example.com".into(),
                    ..submitted("", "tls", "")
                },
                "public_url",
            ),
        ];
        for (case, field) in cases {
            assert_eq!(case.validate().err().unwrap().field(), Some(field));
        }
    }

    #[test]
    fn a_sealed_password_opens_only_with_its_secret() {
        let secret: SecretSlice<u8> = vec![7u8; 32].into();
        let sealed = seal(&secret, &SecretString::from("hunter2"));
        assert!(!sealed.contains("hunter2"));
        assert_ne!(
            sealed,
            seal(&secret, &SecretString::from("hunter2")),
            "fresh nonce"
        );
        assert_eq!(unseal(&secret, &sealed).unwrap().expose_secret(), "hunter2");
        let other: SecretSlice<u8> = vec![8u8; 32].into();
        assert!(
            unseal(&other, &sealed)
                .unwrap_err()
                .contains("Enter the password again")
        );
        assert!(unseal(&secret, "garbage").is_err());
    }
}

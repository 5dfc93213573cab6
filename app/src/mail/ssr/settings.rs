//! The mail server an administrator configures: validating and storing it (one row, the
//! password sealed with the server's secret, see [`super::seal`]) and presetting it from the
//! environment. Every instance reads the row on each delivery round, so a change takes effect
//! without a restart, on every instance.

use chrono::Utc;
use lettre::message::Mailbox;
use sea_orm::sea_query::OnConflict;
use sea_orm::{ConnectionTrait, EntityTrait, Set};
use secrecy::{SecretSlice, SecretString};

use super::outbox;
use super::seal::seal;
use crate::db::entity::mail_server::{self, Model as Row};
use crate::error::AppError;
use crate::mail::{MailServerForm, Security};

/// The row's id: there is one mail server.
const ID: i32 = 1;

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

impl From<MailServerForm> for Submitted {
    /// An administrator's form: the password field left empty keeps the saved one.
    fn from(form: MailServerForm) -> Self {
        let forget = form.forget_password.is_some_and(|value| value != "false");
        let password = match (forget, form.password.is_empty()) {
            (true, _) => Password::Forget,
            (false, true) => Password::Keep,
            (false, false) => Password::Replace(form.password.into()),
        };
        Self {
            host: form.host,
            port: form.port,
            security: form.security,
            username: form.username,
            password,
            sender: form.sender,
            public_url: form.public_url,
        }
    }
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

/// A trimmed optional value of at most `max` characters, without control or invisible
/// formatting characters ([`crate::text::allowed_in_name`]).
fn optional(value: &str, field: &str, max: usize) -> Result<Option<String>, AppError> {
    let value = value.trim();
    if !value.chars().all(crate::text::allowed_in_name) {
        return Err(AppError::invalid(
            field,
            "Line breaks and invisible formatting characters are not allowed here.",
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
pub(super) fn password_in_clear(security: Security, host: &str) -> bool {
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
}

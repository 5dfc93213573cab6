//! Where mail goes — SMTP when the administrator set a host, `.eml` files otherwise — and why
//! it did not ([`MailError`], in plain words an administrator can act on).

use std::time::Duration;

use lettre::transport::smtp::PoolConfig;
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
use lettre::{AsyncFileTransport, AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use secrecy::{ExposeSecret, SecretString};

use super::MailConfig;
use super::seal::unseal;
use super::settings::password_in_clear;
use crate::db::entity::mail_server::Model as Row;
use crate::mail::Security;

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
    pub fn new(config: &MailConfig, row: Option<&Row>) -> Result<Self, MailError> {
        let Some(row) = row.filter(|row| !row.host.is_empty()) else {
            return Ok(Self::Files(AsyncFileTransport::new(&config.spool_dir)));
        };
        let security = row.security;
        let server = format!("{}:{}", row.host, row.port);
        let tls_parameters = || {
            let mut builder = TlsParameters::builder(row.host.clone());
            if let Some(pem) = &config.extra_root_certificates {
                let certificate = Certificate::from_pem(pem)
                    .map_err(|error| MailError::CertificateFile(error.to_string()))?;
                builder = builder.add_root_certificate(certificate);
            }
            builder
                .build_rustls()
                .map_err(|error| MailError::Tls(error.to_string()))
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
                return Err(MailError::PasswordInClear(server));
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
    pub async fn send(&self, message: Message, timeout: Duration) -> Result<String, MailError> {
        match self {
            Self::Files(files) => files
                .send(message)
                .await
                .map(|id| format!("{id}.eml"))
                .map_err(|error| MailError::File(error.to_string())),
            Self::Smtp { transport, server } => {
                match tokio::time::timeout(timeout, transport.send(message)).await {
                    Ok(Ok(_)) => Ok(server.clone()),
                    Ok(Err(error)) if refuses_the_recipient(&error) => {
                        Err(MailError::RecipientRefused(explain(&error, server)))
                    }
                    Ok(Err(error)) => Err(MailError::Refused(explain(&error, server))),
                    Err(_) => Err(MailError::TimedOut {
                        server: server.clone(),
                        seconds: timeout.as_secs_f32(),
                    }),
                }
            }
        }
    }
}

/// Why a mail was not sent (or could not be): the `Display` text is what administrators read,
/// in the Undelivered list and after "Send test email".
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum MailError {
    #[error(
        "The saved mail server password cannot be read: the server's secret changed since it \
         was saved. Enter the password again."
    )]
    UnreadablePassword,
    #[error("The extra trusted certificate (CONSOLE_SMTP_CA_FILE) is not valid PEM: {0}")]
    CertificateFile(String),
    #[error("TLS could not be set up: {0}")]
    Tls(String),
    /// `host:port`.
    #[error("Refusing to send the password to {0} unencrypted: choose STARTTLS or TLS.")]
    PasswordInClear(String),
    #[error("The sender address is not valid: {0}")]
    Sender(String),
    #[error("The recipient address is not valid: {0}")]
    Recipient(String),
    #[error("The mail could not be built: {0}")]
    Build(String),
    #[error("The mail could not be written to a file: {0}")]
    File(String),
    /// The mail server said no to this mail's recipient for good (no such mailbox, mailbox
    /// full, a name it does not take): [`explain`]'s words.
    #[error("{0}")]
    RecipientRefused(String),
    /// The mail server said no, or could not be reached: [`explain`]'s words.
    #[error("{0}")]
    Refused(String),
    /// No answer in time: the connection is in an unknown state.
    #[error("The mail server {server} did not take the mail within {seconds} seconds.")]
    TimedOut { server: String, seconds: f32 },
}

impl MailError {
    /// Whether the failure is this mail's own (its address, its building, its recipient
    /// refused), as opposed to the mail server's or the settings': the mail fails, and the
    /// server is not taken to be failing for it.
    pub fn is_the_mails_own(&self) -> bool {
        matches!(
            self,
            Self::Recipient(_) | Self::Build(_) | Self::RecipientRefused(_)
        )
    }
}

/// A permanent refusal of the recipient: one of the codes RFC 5321 gives for one (550 mailbox
/// unavailable, 551 not local, 552 mailbox full, 553 mailbox name not allowed) with an enhanced
/// status (RFC 3463) about the address or the mailbox, 5.1.x or 5.2.x. The same basic codes also
/// answer "relaying denied" or "sender not allowed" (5.7.x), which are the settings' fault and
/// must put the server on probation like any other failure.
fn refuses_the_recipient(error: &lettre::transport::smtp::Error) -> bool {
    let text = error.to_string();
    error.is_permanent()
        && error
            .status()
            .is_some_and(|code| matches!(code.to_string().as_str(), "550" | "551" | "552" | "553"))
        && (text.contains(" 5.1.") || text.contains(" 5.2."))
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

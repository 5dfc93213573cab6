//! Typed settings, loaded once at start: defaults, then `.env`, then the environment; and what
//! is derived from them before anything runs (the secret, the mail configuration).
//!
//! | variable | default |
//! |---|---|
//! | `DATABASE_URL` | `sqlite://<data dir>/console.db?mode=rwc` |
//! | `CONSOLE_DATA_DIR` | `data` |
//! | `LEPTOS_SITE_ADDR` | `127.0.0.1:3000` |
//! | `CONSOLE_PRODUCT_NAME` | `AIP Console` |
//! | `CONSOLE_PUBLIC_URL` | none; an `https://` URL makes the session cookie `Secure` |
//! | `CONSOLE_ADMIN_PASSWORD` | none; the first start then prints a random one |
//! | `CONSOLE_AUTH_FAILURE_BURST` | 20 failed REST authentications per client before 429s |
//! | `CONSOLE_MAX_ARCHIVE_MB` | 50: the largest source archive accepted |
//! | `CONSOLE_STORAGE_PER_USER_MB` | 5120: the archives one user's uploads may hold in all; 0 for no limit |
//! | `CONSOLE_JOB_CONCURRENCY` | 1: jobs run at once by this instance |
//! | `CONSOLE_JOBS_PER_USER` | 20 jobs one user may have queued or running (429 above) |
//! | `CONSOLE_ANALYZE_MAX_FILES` | 100000 entries in an archive |
//! | `CONSOLE_ANALYZE_MAX_UNPACKED_MB` | 2048 MB of content in an archive |
//! | `CONSOLE_SECRET` | none; a random one is kept in `<data dir>/secret.key` (signs unsubscribe links, seals the SMTP password, keys username hashes in the log); at least 32 bytes |
//! | `CONSOLE_MAIL_FROM` | `noreply@<public host>` |
//! | `CONSOLE_MAIL_MAX_ATTEMPTS` | 8 deliveries before a mail is marked failed |
//! | `CONSOLE_MAIL_LEASE_SECONDS` | 120: how long a mail claimed by an instance that died waits before another sends it |
//! | `CONSOLE_MAIL_PER_USER_HOUR` | 100 notification mails one user is sent in an hour; more are held back |
//! | `CONSOLE_SMTP_HOST`, `_PORT`, `_SECURITY`, `_USERNAME`, `_PASSWORD` | none: preset the mail server (stored at the first start; the admin page changes it afterwards). Security is `none`, `starttls` (default) or `tls` |
//! | `CONSOLE_SMTP_CA_FILE` | none; PEM certificates to trust for the mail server besides the system's |
//! | `CONSOLE_RENDER_DEADLINE_SECONDS` | 15: a page not rendered by then answers 503 |
//! | `CONSOLE_ARCHIVE_STORE` | `<data dir>/archives`; or `file:///path`, or `s3://bucket[/prefix]` with the `AWS_*` variables |
//! | `CONSOLE_JOB_STALE_SECONDS` | 60: a running job without a heartbeat this long lost its instance and is taken over |
//! | `CONSOLE_SHUTDOWN_DRAIN_SECONDS` | 0: after SIGTERM, how long `/readyz` answers 503 while requests are still accepted |
//! | `CONSOLE_SHUTDOWN_GRACE_SECONDS` | 20: then how long requests in flight may take to finish |
//! | `CONSOLE_METRICS_ADDR` | none: where to serve Prometheus metrics (`GET /metrics`), a listener of its own |
//! | `CONSOLE_LOG_FORMAT` | `text`; `json` for one JSON object per log line (read by `telemetry`) |
//! | `CONSOLE_FORWARDED_HEADER` | `x-forwarded-for`; `forwarded` when the trusted proxies write RFC 7239 `Forwarded` |
//! | `CONSOLE_MAX_CONNECTIONS` | the open-file limit (raised to its hard limit at start) less 256, at most 20,000: connections open at once; more wait to be accepted |
//! | `CONSOLE_HEADER_TIMEOUT_SECONDS` | 10: from a request's first byte to the end of its headers, else the connection closes |
//! | `CONSOLE_KEEP_ALIVE_SECONDS` | 60: an idle connection (or an unread response) closes after this |
//! | `CONSOLE_BODY_MIN_BYTES_PER_SECOND` | 1024: the slowest a request body may arrive, over windows of the header timeout (408 below it) |
//! | `CONSOLE_TRUSTED_PROXIES` | none: comma-separated networks whose `X-Forwarded-For` / `Forwarded` name the client |

use std::net::SocketAddr;
use std::num::NonZeroU32;
use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

use app::applications::jobs::ssr::JobSettings;
use app::mail::ssr::MailConfig;
use app::mail::ssr::settings::{Password, Submitted};
use leptos::prelude::LeptosOptions;
use secrecy::{ExposeSecret, SecretSlice, SecretString};

pub use crate::client_addr::{ForwardedHeader, TrustedProxies};
pub use crate::connections::ConnectionLimits;

/// A setting that cannot be used, with what to do about it.
#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    #[error("{0}")]
    Invalid(String),
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
}

fn io(path: &std::path::Path, source: std::io::Error) -> SettingsError {
    SettingsError::Io {
        path: path.to_owned(),
        source,
    }
}

pub struct Settings {
    pub database_url: String,
    pub data_dir: PathBuf,
    /// Site root, address and asset names; `LEPTOS_*` variables, as cargo-leptos sets them.
    pub leptos: LeptosOptions,
    pub product_name: String,
    pub public_url: Option<String>,
    pub admin_password: Option<SecretString>,
    /// Failed REST authentications a client may make at once before it gets 429s.
    pub auth_failure_burst: NonZeroU32,
    /// The largest source archive accepted, in bytes.
    pub max_archive_bytes: u64,
    /// How this instance runs jobs, and what an analysis accepts.
    pub jobs: JobSettings,
    /// Signs unsubscribe links; every instance must share it.
    pub secret: Option<SecretString>,
    pub mail_from: Option<String>,
    pub mail_max_attempts: i32,
    pub mail_lease: std::time::Duration,
    /// Notification mails one user is sent in an hour at most.
    pub mail_per_user_hour: u32,
    /// The mail server preset (`CONSOLE_SMTP_*`), stored at the first start.
    pub smtp: Option<SmtpPreset>,
    pub smtp_ca_file: Option<PathBuf>,
    /// How long a page may take to render before it answers 503 (never uploads or REST).
    pub render_deadline: std::time::Duration,
    /// After a stop signal: how long the instance keeps accepting requests while `/readyz` tells
    /// the load balancer to send no more, then how long requests in flight may take.
    pub shutdown_drain: Duration,
    pub shutdown_grace: Duration,
    /// Where Prometheus metrics are served; `None`: not at all.
    pub metrics_addr: Option<SocketAddr>,
    /// Where archives are kept (`CONSOLE_ARCHIVE_STORE`); `None`: `<data dir>/archives`.
    pub archive_store: Option<String>,
    /// Reverse proxies whose forwarded client addresses are believed.
    pub trusted_proxies: TrustedProxies,
    /// `CONSOLE_STORAGE_PER_USER_MB` in bytes; `None`: no limit.
    pub storage_per_user: Option<u64>,
    /// `CONSOLE_MAX_CONNECTIONS`; `None`: derived from the open-file limit at start.
    pub max_connections: Option<usize>,
    /// The other limits on connections; [`Self::connection_limits`] completes them.
    pub header_timeout: Duration,
    pub keep_alive: Duration,
    pub body_min_rate: u64,
}

/// `CONSOLE_SMTP_*`, as given.
pub struct SmtpPreset {
    pub host: String,
    pub port: Option<String>,
    pub security: Option<String>,
    pub username: Option<String>,
    pub password: Option<SecretString>,
}

/// 50 MB.
pub const DEFAULT_MAX_ARCHIVE_BYTES: u64 = 50 * 1024 * 1024;

/// 5 GB of archives a user's uploads may hold.
pub const DEFAULT_STORAGE_PER_USER_MB: u64 = 5 * 1024;

/// 5 s, 10 s, … 640 s apart: about 21 minutes of trying.
pub const DEFAULT_MAIL_MAX_ATTEMPTS: i32 = 8;

/// Longer than a batch of mail takes to send even when the mail server is slow.
pub const DEFAULT_MAIL_LEASE_SECONDS: u64 = 120;

/// Pages render in milliseconds; one still rendering after this is stuck.
pub const DEFAULT_RENDER_DEADLINE_SECONDS: u64 = 15;

/// Requests take milliseconds, uploads seconds; a stop waits this long for them.
pub const DEFAULT_SHUTDOWN_GRACE_SECONDS: u64 = 20;

/// No connection is given more than an hour to send a head or to stay idle.
const MAX_CONNECTION_SECONDS: u64 = 3600;

/// No stop waits longer than an hour, whatever is configured.
const MAX_SHUTDOWN_SECONDS: u64 = 3600;

const MB: u64 = 1024 * 1024;

impl Settings {
    pub fn from_env() -> Result<Self, SettingsError> {
        // A missing .env is normal; a malformed one is worth knowing about.
        if let Err(error) = dotenvy::dotenv()
            && !error.not_found()
        {
            return Err(SettingsError::Invalid(format!(".env: {error}")));
        }
        let leptos = leptos::config::get_configuration(None)
            .map_err(|error| SettingsError::Invalid(error.to_string()))?
            .leptos_options;
        let mut jobs = JobSettings::default();
        if let Some(concurrency) = number::<usize>("CONSOLE_JOB_CONCURRENCY")? {
            jobs.concurrency = concurrency.max(1);
        }
        if let Some(per_user) = number::<u64>("CONSOLE_JOBS_PER_USER")? {
            jobs.per_user = per_user.max(1);
        }
        if let Some(files) = number::<u64>("CONSOLE_ANALYZE_MAX_FILES")? {
            jobs.limits.max_files = files;
        }
        if let Some(seconds) = number::<u64>("CONSOLE_JOB_STALE_SECONDS")? {
            jobs.stale_after = Duration::from_secs(seconds.max(2));
        }
        if let Some(mb) = number::<u64>("CONSOLE_ANALYZE_MAX_UNPACKED_MB")? {
            jobs.limits.max_unpacked_bytes = mb.saturating_mul(MB);
        }
        let data_dir = PathBuf::from(var("CONSOLE_DATA_DIR").unwrap_or_else(|| "data".into()));
        let database_url = var("DATABASE_URL").unwrap_or_else(|| sqlite_url(&data_dir));
        Ok(Self {
            database_url,
            data_dir,
            leptos,
            product_name: var("CONSOLE_PRODUCT_NAME")
                .unwrap_or_else(|| app::DEFAULT_PRODUCT_NAME.into()),
            public_url: var("CONSOLE_PUBLIC_URL"),
            admin_password: var("CONSOLE_ADMIN_PASSWORD").map(SecretString::from),
            auth_failure_burst: number("CONSOLE_AUTH_FAILURE_BURST")?
                .unwrap_or(app::auth::ssr::DEFAULT_REST_FAILURE_BURST),
            max_archive_bytes: number::<u64>("CONSOLE_MAX_ARCHIVE_MB")?
                .map_or(DEFAULT_MAX_ARCHIVE_BYTES, |mb| mb.saturating_mul(MB)),
            jobs,
            secret: var("CONSOLE_SECRET").map(secret).transpose()?,
            mail_from: var("CONSOLE_MAIL_FROM"),
            mail_max_attempts: number("CONSOLE_MAIL_MAX_ATTEMPTS")?
                .unwrap_or(DEFAULT_MAIL_MAX_ATTEMPTS),
            mail_lease: std::time::Duration::from_secs(
                number("CONSOLE_MAIL_LEASE_SECONDS")?.unwrap_or(DEFAULT_MAIL_LEASE_SECONDS),
            ),
            mail_per_user_hour: number("CONSOLE_MAIL_PER_USER_HOUR")?
                .unwrap_or(app::mail::ssr::DEFAULT_MAIL_PER_USER_HOUR),
            smtp: var("CONSOLE_SMTP_HOST").map(|host| SmtpPreset {
                host,
                port: var("CONSOLE_SMTP_PORT"),
                security: var("CONSOLE_SMTP_SECURITY"),
                username: var("CONSOLE_SMTP_USERNAME"),
                password: var("CONSOLE_SMTP_PASSWORD").map(SecretString::from),
            }),
            smtp_ca_file: var("CONSOLE_SMTP_CA_FILE").map(PathBuf::from),
            render_deadline: std::time::Duration::from_secs(
                number::<u64>("CONSOLE_RENDER_DEADLINE_SECONDS")?
                    .unwrap_or(DEFAULT_RENDER_DEADLINE_SECONDS)
                    .max(1),
            ),
            shutdown_drain: Duration::from_secs(
                number("CONSOLE_SHUTDOWN_DRAIN_SECONDS")?
                    .unwrap_or(0)
                    .min(MAX_SHUTDOWN_SECONDS),
            ),
            shutdown_grace: Duration::from_secs(
                number("CONSOLE_SHUTDOWN_GRACE_SECONDS")?
                    .unwrap_or(DEFAULT_SHUTDOWN_GRACE_SECONDS)
                    .min(MAX_SHUTDOWN_SECONDS),
            ),
            metrics_addr: var("CONSOLE_METRICS_ADDR")
                .map(|address| {
                    address.trim().parse().map_err(|_| {
                        SettingsError::Invalid(format!(
                            "CONSOLE_METRICS_ADDR must be an address and port such as \
                             127.0.0.1:9100, not {address:?}"
                        ))
                    })
                })
                .transpose()?,
            archive_store: var("CONSOLE_ARCHIVE_STORE"),
            trusted_proxies: var("CONSOLE_TRUSTED_PROXIES")
                .map(|list| TrustedProxies::parse(&list))
                .transpose()
                .map_err(SettingsError::Invalid)?
                .unwrap_or_default()
                .reading(
                    var("CONSOLE_FORWARDED_HEADER")
                        .map(|header| ForwardedHeader::parse(&header))
                        .transpose()
                        .map_err(SettingsError::Invalid)?
                        .unwrap_or_default(),
                ),
            storage_per_user: match number::<u64>("CONSOLE_STORAGE_PER_USER_MB")? {
                Some(0) => None,
                Some(mb) => Some(mb.saturating_mul(MB)),
                None => Some(DEFAULT_STORAGE_PER_USER_MB * MB),
            },
            max_connections: number::<usize>("CONSOLE_MAX_CONNECTIONS")?.map(|max| max.max(1)),
            header_timeout: number::<u64>("CONSOLE_HEADER_TIMEOUT_SECONDS")?
                .map_or(ConnectionLimits::DEFAULT_HEAD, |seconds| {
                    Duration::from_secs(seconds.clamp(1, MAX_CONNECTION_SECONDS))
                }),
            keep_alive: number::<u64>("CONSOLE_KEEP_ALIVE_SECONDS")?
                .map_or(ConnectionLimits::DEFAULT_KEEP_ALIVE, |seconds| {
                    Duration::from_secs(seconds.clamp(1, MAX_CONNECTION_SECONDS))
                }),
            body_min_rate: number("CONSOLE_BODY_MIN_BYTES_PER_SECOND")?
                .unwrap_or(ConnectionLimits::DEFAULT_BODY_MIN_RATE),
        })
    }

    /// The limits on connections, the number of them derived from the process's open-file
    /// limit unless `CONSOLE_MAX_CONNECTIONS` says.
    pub fn connection_limits(&self) -> ConnectionLimits {
        ConnectionLimits {
            max_connections: self.max_connections.unwrap_or_else(|| {
                ConnectionLimits::default_max_connections(crate::connections::file_limit())
            }),
            head: self.header_timeout,
            keep_alive: self.keep_alive,
            body_min_rate: self.body_min_rate,
        }
    }

    /// The server's secret: `CONSOLE_SECRET`, else `<data dir>/secret.key`, created with 32
    /// random bytes on first start (instances sharing a database must share it).
    pub fn resolve_secret(&self) -> Result<SecretSlice<u8>, SettingsError> {
        if let Some(secret) = &self.secret {
            return Ok(secret.expose_secret().as_bytes().to_vec().into());
        }
        let path = self.data_dir.join("secret.key");
        match std::fs::read(&path) {
            Ok(bytes) if bytes.len() >= MIN_SECRET_BYTES => return Ok(bytes.into()),
            Ok(_) => {
                return Err(SettingsError::Invalid(format!(
                    "{} is shorter than {MIN_SECRET_BYTES} bytes",
                    path.display()
                )));
            }
            Err(error) if error.kind() != std::io::ErrorKind::NotFound => {
                return Err(io(&path, error));
            }
            Err(_) => {}
        }
        let secret: [u8; MIN_SECRET_BYTES] = rand::random();
        let mut file = std::fs::OpenOptions::new();
        file.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut file, 0o600);
        match file.open(&path) {
            Ok(mut file) => {
                std::io::Write::write_all(&mut file, &secret).map_err(|error| io(&path, error))?
            }
            // Another instance created it first: use theirs.
            Err(error) if error.kind() == std::io::ErrorKind::AlreadyExists => {
                return Ok(std::fs::read(&path)
                    .map_err(|error| io(&path, error))?
                    .into());
            }
            Err(error) => return Err(io(&path, error)),
        }
        Ok(secret.to_vec().into())
    }

    /// The PEM certificates of `CONSOLE_SMTP_CA_FILE`, if set.
    pub fn smtp_ca_certificates(&self) -> Result<Option<Vec<u8>>, SettingsError> {
        self.smtp_ca_file
            .as_ref()
            .map(|path| {
                std::fs::read(path).map_err(|error| {
                    SettingsError::Invalid(format!(
                        "CONSOLE_SMTP_CA_FILE {}: {error}",
                        path.display()
                    ))
                })
            })
            .transpose()
    }

    /// Whether cookies must be `Secure` (the public URL is https).
    /// What mail needs, for a server bound to `bound`: the public URL (the configured one, or
    /// the bound address), the sender (configured, or `noreply@<public host>`), the secret and
    /// the extra CA certificates.
    pub fn mail_config(&self, bound: SocketAddr) -> Result<MailConfig, SettingsError> {
        let public_url = self
            .public_url
            .clone()
            .unwrap_or_else(|| format!("http://{bound}"))
            .trim_end_matches('/')
            .to_owned();
        Ok(MailConfig {
            secret: self.resolve_secret()?,
            sender: self
                .mail_from
                .clone()
                .unwrap_or_else(|| default_sender(&public_url)),
            public_url,
            spool_dir: self.data_dir.join("mail"),
            max_attempts: self.mail_max_attempts.max(1),
            lease: self.mail_lease.max(Duration::from_secs(1)),
            extra_root_certificates: self.smtp_ca_certificates()?,
            per_user_hourly: self.mail_per_user_hour,
        })
    }

    pub fn secure_cookies(&self) -> bool {
        self.public_url
            .as_deref()
            .is_some_and(|url| url.starts_with("https://"))
    }
}

/// Bytes `CONSOLE_SECRET` must have at least: as many as the HMAC-SHA256 key it becomes.
pub const MIN_SECRET_BYTES: usize = 32;

/// `noreply@<host of the public URL>`, or `noreply@localhost` when that host is an address.
fn default_sender(public_url: &str) -> String {
    let host = app::mail::ssr::host_of(public_url);
    if host.contains('.') && host.parse::<std::net::IpAddr>().is_err() {
        format!("noreply@{host}")
    } else {
        "noreply@localhost".to_owned()
    }
}

impl SmtpPreset {
    /// The preset as if an administrator had submitted it (security defaults to STARTTLS).
    pub fn submitted(&self) -> Submitted {
        Submitted {
            host: self.host.clone(),
            port: self.port.clone().unwrap_or_default(),
            security: self.security.clone().unwrap_or_else(|| "starttls".into()),
            username: self.username.clone().unwrap_or_default(),
            password: self
                .password
                .clone()
                .map_or(Password::Keep, Password::Replace),
            sender: String::new(),
            public_url: String::new(),
        }
    }
}

/// `CONSOLE_SECRET`, refused when too short to be a key, with what to do about it.
fn secret(value: String) -> Result<SecretString, SettingsError> {
    if value.len() < MIN_SECRET_BYTES {
        return Err(SettingsError::Invalid(format!(
            "CONSOLE_SECRET must be at least {MIN_SECRET_BYTES} bytes; it is {}. Generate one with \
             `openssl rand -base64 48` and give the same value to every instance. Changing it \
             invalidates the unsubscribe links in mail already sent and the stored mail server \
             password: enter the password again under Administration → Mail server.",
            value.len()
        )));
    }
    Ok(SecretString::from(value))
}

/// The embedded default: an SQLite file in the data directory, created if missing.
pub fn sqlite_url(data_dir: &std::path::Path) -> String {
    format!(
        "sqlite://{}?mode=rwc",
        data_dir.join("console.db").display()
    )
}

/// A positive whole number from the environment, if set.
fn number<T: FromStr>(name: &str) -> Result<Option<T>, SettingsError> {
    var(name)
        .map(|value| {
            value.trim().parse().map_err(|_| {
                SettingsError::Invalid(format!(
                    "{name} must be a positive whole number, not {value:?}"
                ))
            })
        })
        .transpose()
}

fn var(name: &str) -> Option<String> {
    std::env::var(name)
        .ok()
        .filter(|value| !value.trim().is_empty())
}

#[cfg(test)]
mod tests {
    use secrecy::ExposeSecret;

    use super::*;

    #[test]
    fn a_short_secret_is_refused_with_how_to_rotate_it() {
        let Err(SettingsError::Invalid(message)) = secret("x".repeat(MIN_SECRET_BYTES - 1)) else {
            panic!("a 31-byte secret was accepted");
        };
        assert!(message.contains("at least 32 bytes; it is 31"), "{message}");
        assert!(message.contains("openssl rand"), "{message}");
        assert!(message.contains("unsubscribe links"), "{message}");
        assert!(message.contains("mail server password"), "{message}");
    }

    #[test]
    fn a_secret_of_32_bytes_or_more_is_kept_as_given() {
        let given = "0123456789abcdef0123456789abcdef";
        assert_eq!(secret(given.into()).unwrap().expose_secret(), given);
    }
}

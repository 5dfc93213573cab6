//! Typed settings, loaded once at start: defaults, then `.env`, then the environment.
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

use std::num::NonZeroU32;
use std::path::PathBuf;

use leptos::prelude::LeptosOptions;
use secrecy::SecretString;

use crate::startup::StartupError;

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
}

impl Settings {
    pub fn from_env() -> Result<Self, StartupError> {
        // A missing .env is normal; a malformed one is worth knowing about.
        if let Err(error) = dotenvy::dotenv()
            && !error.not_found()
        {
            return Err(StartupError::Config(format!(".env: {error}")));
        }
        let leptos = leptos::config::get_configuration(None)
            .map_err(|error| StartupError::Config(error.to_string()))?
            .leptos_options;
        let data_dir = PathBuf::from(var("CONSOLE_DATA_DIR").unwrap_or_else(|| "data".into()));
        let database_url = var("DATABASE_URL").unwrap_or_else(|| sqlite_url(&data_dir));
        Ok(Self {
            database_url,
            data_dir,
            leptos,
            product_name: var("CONSOLE_PRODUCT_NAME").unwrap_or_else(|| "AIP Console".into()),
            public_url: var("CONSOLE_PUBLIC_URL"),
            admin_password: var("CONSOLE_ADMIN_PASSWORD").map(SecretString::from),
            auth_failure_burst: match var("CONSOLE_AUTH_FAILURE_BURST") {
                None => app::auth::ssr::DEFAULT_REST_FAILURE_BURST,
                Some(value) => value.parse().map_err(|_| {
                    StartupError::Config(format!(
                        "CONSOLE_AUTH_FAILURE_BURST must be a positive whole number, not {value:?}"
                    ))
                })?,
            },
        })
    }

    /// Whether cookies must be `Secure` (the public URL is https).
    pub fn secure_cookies(&self) -> bool {
        self.public_url
            .as_deref()
            .is_some_and(|url| url.starts_with("https://"))
    }
}

/// The embedded default: an SQLite file in the data directory, created if missing.
pub fn sqlite_url(data_dir: &std::path::Path) -> String {
    format!(
        "sqlite://{}?mode=rwc",
        data_dir.join("console.db").display()
    )
}

fn var(name: &str) -> Option<String> {
    std::env::var(name)
        .ok()
        .filter(|value| !value.trim().is_empty())
}

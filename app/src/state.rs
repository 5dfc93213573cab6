//! The server's shared state, handed to axum and to every server function (server only).

use std::sync::Arc;

use axum::extract::FromRef;
use leptos::prelude::*;
use sea_orm::DatabaseConnection;

use crate::applications::jobs::ssr::Jobs;
use crate::auth::ssr::Throttles;
use crate::error::AppError;
use crate::mail::ssr::{MailConfig, MailServerStatus};

/// Values the pages and server functions need from the operator's settings.
#[derive(Clone, Debug)]
pub struct AppConfig {
    /// Shown in the top bar and the page title.
    pub product_name: String,
    /// Whether cookies the app sets itself must be `Secure` (the public URL is https).
    pub secure_cookies: bool,
    /// Where uploaded archives are kept.
    pub archives: crate::archives::ArchiveStore,
    /// The largest source archive accepted, in bytes.
    pub max_archive_bytes: u64,
    /// The archive bytes one user's uploads may hold in all; `None`: no limit.
    pub storage_per_user: Option<u64>,
    pub mail: MailConfig,
}

/// Everything a request handler may need: a handle on the process's [`Shared`] state, one
/// reference count to clone. Axum clones the state for every handler it calls and every page
/// for each server function it runs; cloning the fields themselves (the Leptos options alone are
/// a dozen reference counts) cost every request about 1 % of its time.
#[derive(Clone)]
pub struct AppState(Arc<Shared>);

/// What [`AppState`] hands out, built once at start-up.
pub struct Shared {
    pub leptos_options: LeptosOptions,
    pub db: DatabaseConnection,
    pub config: AppConfig,
    pub throttles: Arc<Throttles>,
    pub jobs: Jobs,
    pub mail_server: MailServerStatus,
    /// Cancelled when this instance begins to shut down: `/readyz` says so, the runner hands
    /// its jobs back and the mail worker its claimed mail, so another instance takes over at once.
    pub stopping: tokio_util::sync::CancellationToken,
}

impl AppState {
    pub fn new(shared: Shared) -> Self {
        Self(Arc::new(shared))
    }
}

impl std::ops::Deref for AppState {
    type Target = Shared;

    fn deref(&self) -> &Shared {
        &self.0
    }
}

/// For `leptos_axum`, which reads the options from the router's state.
impl FromRef<AppState> for LeptosOptions {
    fn from_ref(state: &AppState) -> Self {
        state.leptos_options.clone()
    }
}

/// How often [`app_state`] was called outside a request's reactive owner since the process
/// started: code running for a page after the page was gone (a disposed duplicate resource).
/// Always 0 in a healthy server; the tests assert it.
static MISSING: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// The state inside a server function or component rendered on the server.
pub fn app_state() -> Result<AppState, AppError> {
    use_context::<AppState>().ok_or_else(|| {
        MISSING.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        tracing::error!("AppState missing from the Leptos context");
        AppError::Internal
    })
}

/// See [`MISSING`].
pub fn missing_state_errors() -> u64 {
    MISSING.load(std::sync::atomic::Ordering::Relaxed)
}

//! Builds the whole application from [`Settings`]: database, first admin, state, routes, listener.
//! `main.rs` runs it; the tests spawn the very same thing on port 0.

use std::net::SocketAddr;
use std::sync::{Arc, LazyLock};
use std::time::Duration;

use axum::Router;
use leptos::prelude::provide_context;
use leptos_axum::{AxumRouteListing, LeptosRoutes, generate_route_list};
use secrecy::ExposeSecret;
use tokio::net::TcpListener;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::compression::CompressionLayer;
use tower_sessions::cookie::SameSite;
use tower_sessions::{Expiry, SessionManagerLayer};

use app::applications::jobs::ssr::Jobs;
use app::archives::ArchiveStore;
use app::auth::ssr::sessions::DbSessionStore;
use app::auth::ssr::{RequestUser, Throttles};
use app::mail::ssr::MailConfig;
use app::state::{AppConfig, AppState, Shared};
use app::{App, shell};

use crate::connections::{self, ConnectionLimits};
use crate::render_deadline::{self, RenderDeadline};
use crate::settings::Settings;
use crate::{
    body_limit, client_addr, csrf, form_flash, health, metrics, request_guard, rest,
    security_headers, server_fn_status, static_files, unsubscribe,
};

/// The browser session's cookie.
pub const SESSION_COOKIE: &str = "console_session";

/// How long a browser session lasts after it last changed (signing in). Sessions are written
/// only when they change, so page views cost no database write.
const SESSION_LIFETIME: time::Duration = time::Duration::days(7);

/// How often expired sessions and idle throttle entries are swept.
const SWEEP_EVERY: Duration = Duration::from_secs(600);

/// An archive no version names after this long was left by a crash (an upload takes minutes at
/// most between storing its archive and committing its version); swept at start and this often.
const ORPHANED_ARCHIVE: Duration = Duration::from_secs(3600);

/// The app's page routes, listed once per process: listing them renders the app with a
/// process-wide Leptos flag set that suppresses resource loading, and a page rendering at that
/// moment (another instance in the same process, as in the tests) would wait forever.
static ROUTES: LazyLock<Vec<AxumRouteListing>> = LazyLock::new(|| generate_route_list(App));

#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    #[error("configuration: {0}")]
    Settings(#[from] crate::settings::SettingsError),
    #[error("configuration: {0}")]
    Config(String),
    #[error("database: {0}")]
    Database(#[from] sea_orm::DbErr),
    #[error("creating the first administrator: {0}")]
    Bootstrap(app::error::AppError),
    #[error("{0}")]
    Store(#[from] app::archives::StoreError),
    #[error("{0}")]
    Io(#[from] std::io::Error),
}

/// A built, bound, not yet running server.
pub struct Application {
    listener: TcpListener,
    router: Router,
    state: AppState,
    shutdown_drain: Duration,
    shutdown_grace: Duration,
    connection_limits: ConnectionLimits,
    /// The metrics listener and the recorder's handle, when metrics are on.
    metrics: Option<(TcpListener, metrics_exporter_prometheus::PrometheusHandle)>,
    /// Whether mail is delivered in the background; see [`Self::delivering_mail_on_demand`].
    mail_worker: bool,
}

impl Application {
    pub async fn build(settings: Settings) -> Result<Self, StartupError> {
        let archives = ArchiveStore::open(settings.archive_store.as_deref(), &settings.data_dir)?;
        archives.check().await?;
        let db = app::db::connect(&settings.database_url).await?;
        let generated = app::auth::ssr::users::ensure_admin(&db, settings.admin_password.as_ref())
            .await
            .map_err(StartupError::Bootstrap)?;
        if let Some(password) = generated {
            // Printed once to the terminal of whoever started the first run (stderr, beside the
            // log lines); it is not stored anywhere.
            eprintln!(
                "\nCreated the administrator account.\n  username: admin\n  password: {}\n\
                 Set CONSOLE_ADMIN_PASSWORD to choose it yourself.\n",
                password.expose_secret()
            );
        }
        let listener = TcpListener::bind(&settings.leptos.site_addr).await?;
        let bound = listener.local_addr().unwrap_or(settings.leptos.site_addr);
        let mail = settings.mail_config(bound)?;
        std::fs::create_dir_all(&mail.spool_dir)?;
        if let Some(preset) = &settings.smtp {
            preset_mail_server(&db, &mail, preset).await?;
        }
        let throttles = Arc::new(Throttles::for_database(settings.auth_failure_burst, &db));
        let state = AppState::new(Shared {
            leptos_options: settings.leptos.clone(),
            db,
            config: AppConfig {
                product_name: settings.product_name.clone(),
                secure_cookies: settings.secure_cookies(),
                archives,
                max_archive_bytes: settings.max_archive_bytes,
                storage_per_user: settings.storage_per_user,
                mail,
            },
            throttles,
            jobs: Jobs::new(settings.jobs.clone()),
            mail_server: Default::default(),
            stopping: Default::default(),
        });
        let metrics = match settings.metrics_addr {
            Some(address) => {
                let listener = TcpListener::bind(address).await?;
                let handle = metrics::install().ok_or_else(|| {
                    StartupError::Config("metrics: the recorder could not be installed".into())
                })?;
                Some((listener, handle))
            }
            None => None,
        };
        let router = router(state.clone(), &settings);
        Ok(Self {
            listener,
            router,
            state,
            shutdown_drain: settings.shutdown_drain,
            shutdown_grace: settings.shutdown_grace,
            connection_limits: settings.connection_limits(),
            metrics,
            mail_worker: true,
        })
    }

    /// Runs without the background mail worker: mail stays in the outbox until someone calls
    /// [`app::mail::ssr::delivery::deliver_now`]. For tests that must know which mail is still
    /// waiting (a worker polling every second would send it at a moment of its own choosing).
    #[must_use]
    pub fn delivering_mail_on_demand(mut self) -> Self {
        self.mail_worker = false;
        self
    }

    pub fn address(&self) -> SocketAddr {
        self.listener
            .local_addr()
            .unwrap_or_else(|_| SocketAddr::from(([0, 0, 0, 0], 0)))
    }

    /// The application's state, for tests that drive its background work themselves.
    pub fn state(&self) -> AppState {
        self.state.clone()
    }

    /// Where metrics are served, when they are.
    pub fn metrics_address(&self) -> Option<SocketAddr> {
        self.metrics
            .as_ref()
            .and_then(|(listener, _)| listener.local_addr().ok())
    }

    pub fn port(&self) -> u16 {
        self.address().port()
    }

    /// Serves until Ctrl-C or SIGTERM (or [`AppState::stopping`] is cancelled), running jobs,
    /// delivering mail and sweeping in the background. The background tasks end with it (also
    /// when this future is dropped).
    ///
    /// Stopping: `/readyz` answers 503 at once and the runner and the mail worker hand their
    /// work back; requests are still accepted for the drain time (so a load balancer notices),
    /// then the listener closes and requests in flight get the grace time to finish.
    pub async fn run_until_stopped(self) -> Result<(), StartupError> {
        let state = self.state;
        let mut workers = tokio::task::JoinSet::new();
        workers.spawn(app::applications::jobs::ssr::run(state.clone()));
        if self.mail_worker {
            workers.spawn(app::mail::ssr::delivery::run(state.clone()));
        }
        let mut sweepers = tokio::task::JoinSet::new();
        sweepers.spawn(sweep(state.clone()));
        sweepers.spawn(sweep_archives(state.clone()));
        let throttles = state.throttles.clone();
        sweepers.spawn(async move { throttles.listen().await });
        if let Some((listener, handle)) = self.metrics {
            sweepers.spawn(metrics::serve(listener, handle, state.clone()));
        }

        let closing = tokio_util::sync::CancellationToken::new();
        let server = connections::serve(
            self.listener,
            self.router,
            self.connection_limits,
            closing.clone(),
        );
        let mut server = std::pin::pin!(server);
        tokio::select! {
            () = &mut server => return Ok(()),
            () = shutdown_signal() => {}
            () = state.stopping.cancelled() => {}
        }
        state.stopping.cancel();
        tracing::info!(
            drain = ?self.shutdown_drain,
            grace = ?self.shutdown_grace,
            "stopping: handing jobs and mail back"
        );
        tokio::select! {
            () = &mut server => return Ok(()),
            () = tokio::time::sleep(self.shutdown_drain) => {}
        }
        closing.cancel();
        let deadline = tokio::time::Instant::now() + self.shutdown_grace;
        match tokio::time::timeout_at(deadline, &mut server).await {
            Ok(()) => {}
            Err(_) => tracing::warn!("stopping: requests still in flight were cut off"),
        }
        // The workers saw the stop long ago; what is left is a few database writes.
        let handed_back = async { while workers.join_next().await.is_some() {} };
        if tokio::time::timeout(HAND_BACK, handed_back).await.is_err() {
            tracing::warn!("stopping: jobs or mail not handed back in time; their leases expire");
        }
        sweepers.abort_all();
        tracing::info!("stopped");
        Ok(())
    }
}

/// How long the job runner and the mail worker may take to hand their work back once requests
/// are done: a few database writes, or a mail already being handed to the mail server.
const HAND_BACK: Duration = Duration::from_secs(10);

fn router(state: AppState, settings: &Settings) -> Router {
    let sessions = SessionManagerLayer::new(DbSessionStore::new(state.db.clone()))
        .with_name(SESSION_COOKIE)
        .with_http_only(true)
        .with_same_site(SameSite::Lax)
        .with_secure(settings.secure_cookies())
        .with_expiry(Expiry::OnInactivity(SESSION_LIFETIME));
    let options = state.leptos_options.clone();
    let flash_key = form_flash::FlashKey::derive(state.config.mail.secret.expose_secret());
    let deadline = RenderDeadline::new(
        ROUTES.iter().map(|route| route.path().to_owned()),
        settings.render_deadline,
    );

    // Pages and server functions, behind what only they use: the render deadline, the status of
    // a server function's error, and the outcomes of form posts carried to the next page.
    let pages = Router::new()
        .leptos_routes_with_context(
            &state,
            ROUTES.clone(),
            || provide_context(RequestUser::default()),
            move || shell(options.clone()),
        )
        .layer(axum::middleware::from_fn_with_state(
            deadline,
            render_deadline::enforce,
        ))
        .fallback(leptos_axum::file_and_error_handler::<AppState, _>(shell))
        .layer(axum::middleware::from_fn(
            server_fn_status::status_from_error,
        ))
        .layer(axum::middleware::from_fn(app::secret_flash::take))
        .layer(axum::middleware::from_fn_with_state(
            (flash_key, settings.secure_cookies()),
            form_flash::carry,
        ));
    // What a browser session can reach (the pages, REST, the one-click unsubscribe), behind the
    // session, the CSRF check and the body cap. Health checks and the static bundle never pass
    // through these layers: a layer with nothing to do for a request should cost it nothing.
    let console = Router::new()
        .merge(rest::router())
        .merge(unsubscribe::routes())
        .merge(pages)
        .layer(axum::middleware::from_fn_with_state(
            csrf::Https(settings.secure_cookies()),
            csrf::reject_cross_site,
        ))
        .layer(sessions)
        .layer(axum::middleware::from_fn_with_state(
            body_limit::ArchiveLimit(state.config.max_archive_bytes),
            body_limit::limit_bodies,
        ));
    // Every answer: the security headers, compression, the request checks, the client's
    // address and the panic guard.
    let router = Router::new()
        .merge(health::routes())
        .merge(static_files::routes(&state.leptos_options))
        .merge(console)
        .layer(axum::middleware::from_fn_with_state(
            security_headers::Https(settings.secure_cookies()),
            security_headers::add,
        ))
        .layer(CompressionLayer::new())
        .layer(axum::middleware::from_fn(request_guard::reject_unservable))
        .layer(axum::middleware::from_fn_with_state(
            settings.trusted_proxies.clone(),
            client_addr::resolve,
        ))
        .layer(CatchPanicLayer::custom(request_guard::panicked))
        .with_state(state);
    if settings.metrics_addr.is_some() {
        router.layer(axum::middleware::from_fn(metrics::track))
    } else {
        router
    }
}

/// Stores the `CONSOLE_SMTP_*` mail server unless an administrator already configured one.
async fn preset_mail_server(
    db: &sea_orm::DatabaseConnection,
    mail: &MailConfig,
    preset: &crate::settings::SmtpPreset,
) -> Result<(), StartupError> {
    let stored = app::mail::ssr::settings::preset(db, &mail.secret, preset.submitted())
        .await
        .map_err(|error| match error.field() {
            Some(field) => StartupError::Config(format!(
                "CONSOLE_SMTP_{}: {error}",
                field.to_ascii_uppercase()
            )),
            None => StartupError::Config(format!("mail server preset: {error}")),
        })?;
    if stored {
        tracing::info!(host = %preset.host, "mail server preset from the environment");
    }
    Ok(())
}

async fn sweep(state: AppState) {
    let store = DbSessionStore::new(state.db.clone());
    let mut tick = tokio::time::interval(SWEEP_EVERY);
    loop {
        tick.tick().await;
        state.throttles.forget_idle().await;
        if let Err(error) = store.delete_expired().await {
            tracing::warn!(%error, "could not sweep expired sessions");
        }
    }
}

async fn sweep_archives(state: AppState) {
    let mut tick = tokio::time::interval(ORPHANED_ARCHIVE);
    loop {
        tick.tick().await;
        let swept = state.config.archives.sweep(&state.db, ORPHANED_ARCHIVE);
        match swept.await {
            Ok(0) => {}
            Ok(removed) => tracing::info!(removed, "swept archives no version names"),
            Err(error) => tracing::warn!(%error, "could not sweep the archive store"),
        }
    }
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
}

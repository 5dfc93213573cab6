//! Builds the whole application from [`Settings`]: database, first admin, state, routes, listener.
//! `main.rs` runs it; the tests spawn the very same thing on port 0.

use std::net::SocketAddr;
use std::sync::{Arc, LazyLock};
use std::time::Duration;

use axum::Router;
use axum::http::StatusCode;
use axum::routing::get;
use leptos::prelude::provide_context;
use leptos_axum::{AxumRouteListing, LeptosRoutes, generate_route_list};
use sea_orm::ConnectionTrait;
use secrecy::ExposeSecret;
use tokio::net::TcpListener;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::compression::CompressionLayer;
use tower_sessions::cookie::SameSite;
use tower_sessions::{Expiry, SessionManagerLayer};

use app::applications::jobs::ssr::Jobs;
use app::archives::ArchiveStore;
use app::auth::ssr::{RequestUser, Throttles};
use app::mail::ssr::MailConfig;
use app::profile::api_key::ssr::take_flashed_key;
use app::state::{AppConfig, AppState};
use app::{App, shell};

use crate::render_deadline::{self, RenderDeadline};
use crate::session_store::DbSessionStore;
use crate::settings::Settings;
use crate::{
    body_limit, client_addr, csrf, request_guard, rest, security_headers, server_fn_status,
    static_files, unsubscribe,
};

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
        let state = AppState {
            leptos_options: settings.leptos.clone(),
            db,
            config: Arc::new(AppConfig {
                product_name: settings.product_name.clone(),
                secure_cookies: settings.secure_cookies(),
                archives,
                max_archive_bytes: settings.max_archive_bytes,
                mail,
            }),
            throttles: Arc::new(Throttles::new(settings.auth_failure_burst)),
            jobs: Jobs::new(settings.jobs.clone()),
            mail_server: Default::default(),
        };
        let router = router(state.clone(), &settings);
        Ok(Self {
            listener,
            router,
            state,
        })
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

    pub fn port(&self) -> u16 {
        self.address().port()
    }

    /// Serves until Ctrl-C or SIGTERM, running jobs and sweeping expired sessions in the
    /// background. The background tasks end with it (also when this future is dropped).
    pub async fn run_until_stopped(self) -> Result<(), StartupError> {
        let mut background = tokio::task::JoinSet::new();
        background.spawn(sweep(self.state.clone()));
        background.spawn(sweep_archives(self.state.clone()));
        background.spawn(app::applications::jobs::ssr::run(self.state.clone()));
        background.spawn(app::mail::ssr::delivery::run(self.state.clone()));
        let served = axum::serve(
            self.listener,
            self.router
                .into_make_service_with_connect_info::<SocketAddr>(),
        )
        .with_graceful_shutdown(shutdown_signal())
        .await;
        background.abort_all();
        Ok(served?)
    }
}

fn router(state: AppState, settings: &Settings) -> Router {
    let sessions = SessionManagerLayer::new(DbSessionStore::new(state.db.clone()))
        .with_name("console_session")
        .with_http_only(true)
        .with_same_site(SameSite::Lax)
        .with_secure(settings.secure_cookies())
        .with_expiry(Expiry::OnInactivity(SESSION_LIFETIME));
    let options = state.leptos_options.clone();
    let deadline = RenderDeadline::new(
        ROUTES.iter().map(|route| route.path().to_owned()),
        settings.render_deadline,
    );

    Router::new()
        .route("/healthz", get(healthz))
        .merge(rest::router())
        .merge(static_files::routes(&state.leptos_options))
        .merge(unsubscribe::routes())
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
        .layer(axum::middleware::from_fn(take_flashed_key))
        .layer(axum::middleware::from_fn(csrf::reject_cross_site))
        .layer(sessions)
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            body_limit::limit_bodies,
        ))
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
        .with_state(state)
}

/// 200 when the database answers a query, 503 otherwise. (A pool `ping` on SQLite only checks
/// the connection's worker thread, so this runs `SELECT 1`.)
async fn healthz(
    axum::extract::State(state): axum::extract::State<AppState>,
) -> (StatusCode, &'static str) {
    match state.db.execute_unprepared("SELECT 1").await {
        Ok(_) => (StatusCode::OK, "ok"),
        Err(error) => {
            tracing::error!(%error, "health check: database unreachable");
            (StatusCode::SERVICE_UNAVAILABLE, "database unreachable")
        }
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
        state.throttles.forget_idle();
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

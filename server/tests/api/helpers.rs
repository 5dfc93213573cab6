//! Spawns the real application (the same `Application::build` as `main`) on port 0 against a
//! fresh database, and talks to it over HTTP.
//!
//! Every test runs twice, on SQLite (a temporary file) and on PostgreSQL (a fresh database on the
//! server named by `TEST_POSTGRES_URL`, which `scripts/test.sh` starts).

use std::net::IpAddr;
use std::path::PathBuf;
use std::sync::Arc;

use reqwest::cookie::{CookieStore, Jar};

use leptos::prelude::LeptosOptions;
use reqwest::header::{ACCEPT, CONTENT_TYPE};
use reqwest::{Client, Response, StatusCode};
use sea_orm::{ConnectionTrait, Database, Statement};
use serde_json::{Value, json};
use server::settings::Settings;
use server::startup::Application;

use crate::openapi::OpenApi;

pub const ADMIN_PASSWORD: &str = "admin-password-for-tests";

/// No request of a test may take longer: a server that never answers fails the test instead of
/// hanging the run.
pub const REQUEST_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);

#[derive(Clone, Copy, Debug)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// Runs each named `async fn(Backend)` test against both databases, all on one shared runtime.
///
/// One runtime, not one per test: the server keeps process-wide state (Leptos' executor, lazily
/// built statics) that may hold wakers of the runtime it first ran on. With a runtime per test,
/// a page request could wait forever on a runtime that had already shut down.
#[macro_export]
macro_rules! on_both_databases {
    ($($name:ident),* $(,)?) => {
        $(
            mod $name {
                #[test]
                fn sqlite() {
                    $crate::helpers::RUNTIME
                        .block_on(super::$name($crate::helpers::Backend::Sqlite))
                }

                #[test]
                fn postgres() {
                    $crate::helpers::RUNTIME
                        .block_on(super::$name($crate::helpers::Backend::Postgres))
                }
            }
        )*
    };
}

/// The runtime every test runs on.
pub static RUNTIME: std::sync::LazyLock<tokio::runtime::Runtime> = std::sync::LazyLock::new(|| {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("test runtime")
});

/// A database for one test; the SQLite file is removed when this is dropped.
pub struct TestDatabase {
    pub url: String,
    _dir: Option<tempfile::TempDir>,
    /// The app's data directory (archives live under `archives/` unless `archive_store` says).
    pub data_dir: PathBuf,
    /// `CONSOLE_ARCHIVE_STORE`: SQLite tests keep archives in the data directory, PostgreSQL
    /// tests, as several instances would, on the S3-compatible test store (a prefix per test).
    pub archive_store: Option<String>,
}

/// The S3-compatible store the test command starts (`AWS_*` say how to reach it).
pub fn test_s3_store() -> String {
    std::env::var("TEST_ARCHIVE_S3").expect(
        "TEST_ARCHIVE_S3 is not set: run the tests with scripts/test.sh, which starts the \
         S3-compatible test store",
    )
}

impl TestDatabase {
    /// The archive store an app on this database uses.
    pub fn archive_store(&self) -> app::archives::ArchiveStore {
        app::archives::ArchiveStore::open(self.archive_store.as_deref(), &self.data_dir)
            .expect("the archive store")
    }

    /// Asserts that the archive store holds the archives of the recorded versions and nothing
    /// else (what a refused upload stored is removed in the background: waited for, bounded).
    pub async fn assert_only_versions_archived(&self) {
        let db = Database::connect(&self.url).await.expect("the database");
        let rows = db
            .query_all_raw(Statement::from_string(
                db.get_database_backend(),
                "SELECT archive_key FROM versions ORDER BY archive_key",
            ))
            .await
            .expect("version keys");
        let mut named: Vec<String> = rows
            .iter()
            .map(|row| row.try_get_by_index(0).expect("a key"))
            .collect();
        named.sort();
        let store = self.archive_store();
        let mut stored = Vec::new();
        for _ in 0..100 {
            stored = store.keys().await.expect("list the archive store");
            if stored == named {
                return;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        assert_eq!(
            stored, named,
            "the archive store holds what no version names"
        );
    }

    /// The same database with archives in the data directory, for tests that reach into them.
    pub fn with_local_archives(mut self) -> Self {
        self.archive_store = None;
        self
    }

    pub async fn new(backend: Backend) -> Self {
        let dir = tempfile::tempdir().expect("temporary directory");
        let data_dir = dir.path().to_owned();
        match backend {
            Backend::Sqlite => Self {
                url: server::settings::sqlite_url(&data_dir),
                _dir: Some(dir),
                data_dir,
                archive_store: None,
            },
            Backend::Postgres => {
                let admin_url = std::env::var("TEST_POSTGRES_URL").expect(
                    "TEST_POSTGRES_URL is not set: run the tests with scripts/test.sh, which starts PostgreSQL",
                );
                let name = format!("console_test_{}", rand::random::<u64>());
                let admin = Database::connect(&admin_url)
                    .await
                    .expect("connect to PostgreSQL");
                admin
                    .execute_unprepared(&format!("CREATE DATABASE {name}"))
                    .await
                    .expect("create test database");
                let base = admin_url
                    .rsplit_once('/')
                    .map_or(admin_url.as_str(), |(base, _)| base);
                Self {
                    url: format!("{base}/{name}"),
                    _dir: Some(dir),
                    data_dir,
                    archive_store: Some(format!("{}/{name}", test_s3_store())),
                }
            }
        }
    }
}

/// The running application.
pub struct TestApp {
    pub address: String,
    server: Server,
}

/// Who sends the mail of an app in this process.
#[derive(PartialEq)]
enum Mail {
    /// The test, when it calls [`TestApp::deliver_mail`].
    OnDemand,
    /// The background worker, polling as in production.
    Background,
}

/// Where the application runs.
enum Server {
    /// In this process, on the shared test runtime; its state drives mail delivery on demand.
    Task(tokio::task::JoinHandle<()>, app::state::AppState),
    /// The real server binary in a process of its own (its runtime sized by the environment),
    /// with its log kept in a file.
    Process {
        child: std::process::Child,
        log: tempfile::TempPath,
    },
}

impl Drop for TestApp {
    fn drop(&mut self) {
        match &mut self.server {
            Server::Task(task, _) => task.abort(),
            Server::Process { child, .. } => {
                let _ = child.kill();
                let _ = child.wait();
            }
        }
    }
}

impl TestApp {
    /// The app in this process. Its mail waits in the outbox until the test delivers it
    /// ([`Self::deliver_mail`]), so a test knows which mail is still waiting.
    pub async fn spawn(database: &TestDatabase) -> Self {
        Self::spawn_with(database, |_| {}).await
    }

    /// [`Self::spawn`], with some settings changed by `tweak`.
    pub async fn spawn_with(database: &TestDatabase, tweak: impl FnOnce(&mut Settings)) -> Self {
        Self::start(database, tweak, Mail::OnDemand).await
    }

    /// The app with its background mail worker, as it runs in production: for tests of
    /// delivery itself (retries, leases, the mail server's failures).
    pub async fn delivering(database: &TestDatabase, tweak: impl FnOnce(&mut Settings)) -> Self {
        Self::start(database, tweak, Mail::Background).await
    }

    async fn start(database: &TestDatabase, tweak: impl FnOnce(&mut Settings), mail: Mail) -> Self {
        server::telemetry::init().expect("logging");
        let mut settings = Settings {
            database_url: database.url.clone(),
            data_dir: database.data_dir.clone(),
            leptos: LeptosOptions::builder()
                .output_name("console")
                .site_addr(([127, 0, 0, 1], 0))
                .build(),
            product_name: "AIP Console".into(),
            public_url: None,
            admin_password: Some(ADMIN_PASSWORD.to_owned().into()),
            auth_failure_burst: app::auth::ssr::DEFAULT_REST_FAILURE_BURST,
            max_archive_bytes: server::settings::DEFAULT_MAX_ARCHIVE_BYTES,
            jobs: app::applications::jobs::ssr::JobSettings::default(),
            secret: Some("a-secret-shared-by-the-test-instances".to_owned().into()),
            mail_from: None,
            mail_max_attempts: server::settings::DEFAULT_MAIL_MAX_ATTEMPTS,
            mail_lease: std::time::Duration::from_secs(
                server::settings::DEFAULT_MAIL_LEASE_SECONDS,
            ),
            mail_per_user_hour: app::mail::ssr::DEFAULT_MAIL_PER_USER_HOUR,
            smtp: None,
            smtp_ca_file: None,
            render_deadline: std::time::Duration::from_secs(
                server::settings::DEFAULT_RENDER_DEADLINE_SECONDS,
            ),
            shutdown_drain: std::time::Duration::ZERO,
            shutdown_grace: std::time::Duration::from_secs(
                server::settings::DEFAULT_SHUTDOWN_GRACE_SECONDS,
            ),
            metrics_addr: None,
            archive_store: database.archive_store.clone(),
            trusted_proxies: Default::default(),
            storage_per_user: Some(server::settings::DEFAULT_STORAGE_PER_USER_MB * 1024 * 1024),
            max_connections: None,
            header_timeout: server::settings::ConnectionLimits::DEFAULT_HEAD,
            keep_alive: server::settings::ConnectionLimits::DEFAULT_KEEP_ALIVE,
            body_min_rate: server::settings::ConnectionLimits::DEFAULT_BODY_MIN_RATE,
        };
        tweak(&mut settings);
        let mut application = Application::build(settings)
            .await
            .expect("application builds");
        if mail == Mail::OnDemand {
            application = application.delivering_mail_on_demand();
        }
        let port = application.port();
        let state = application.state();
        let server = tokio::spawn(async move {
            application.run_until_stopped().await.expect("server runs");
        });
        Self {
            address: format!("http://127.0.0.1:{port}"),
            server: Server::Task(server, state),
        }
    }

    /// The state of the app in this process.
    pub fn state(&self) -> &app::state::AppState {
        match &self.server {
            Server::Task(_, state) => state,
            Server::Process { .. } => panic!("the app runs in a process of its own"),
        }
    }

    /// Delivers the mail due now as far as it goes now (waiting for mail another instance has
    /// in flight); returns how many it tried. The only delivery an app from [`Self::spawn`] gets.
    pub async fn deliver_mail(&self) -> usize {
        let Server::Task(_, state) = &self.server else {
            panic!("deliver_mail needs the app in this process");
        };
        app::mail::ssr::delivery::deliver_now(state)
            .await
            .expect("mail delivery")
    }

    /// Delivers what is due, then asserts that no mail is left waiting: how every test that
    /// sends mail ends.
    pub async fn assert_outbox_empty(&self) {
        self.deliver_mail().await;
        let Server::Task(_, state) = &self.server else {
            unreachable!("deliver_mail checked it");
        };
        let pending = app::mail::ssr::outbox::pending(&state.db)
            .await
            .expect("count pending mail");
        assert_eq!(pending, 0, "mail left in the outbox");
    }

    /// The real server binary on `database`, with extra environment `env` (`RUST_LOG=warn`
    /// unless given), once it answers `/healthz`.
    pub async fn binary(database: &TestDatabase, env: &[(&str, &str)]) -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|listener| listener.local_addr())
            .expect("a free port")
            .port();
        let log = tempfile::NamedTempFile::new().expect("a log file");
        let child = std::process::Command::new(env!("CARGO_BIN_EXE_server"))
            .env("DATABASE_URL", &database.url)
            .env("CONSOLE_DATA_DIR", &database.data_dir)
            .env(
                "CONSOLE_ARCHIVE_STORE",
                database.archive_store.as_deref().unwrap_or_default(),
            )
            .env("LEPTOS_OUTPUT_NAME", "console")
            .env("LEPTOS_SITE_ADDR", format!("127.0.0.1:{port}"))
            .env("CONSOLE_SECRET", "a-secret-shared-by-the-test-instances")
            .env("CONSOLE_ADMIN_PASSWORD", ADMIN_PASSWORD)
            .env("RUST_LOG", "warn")
            .envs(env.iter().copied())
            .stderr(log.reopen().expect("the log file"))
            .spawn()
            .expect("start the server binary");
        let app = Self {
            address: format!("http://127.0.0.1:{port}"),
            server: Server::Process {
                child,
                log: log.into_temp_path(),
            },
        };
        let health = app.url("/healthz");
        for _ in 0..200 {
            if reqwest::get(&health)
                .await
                .is_ok_and(|r| r.status().is_success())
            {
                return app;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        panic!("the server binary did not start:\n{}", app.log());
    }

    /// Sends the server binary SIGTERM, as a service manager stopping it would.
    pub fn terminate(&self) {
        let Server::Process { child, .. } = &self.server else {
            panic!("terminate needs the server binary");
        };
        let sent = std::process::Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status()
            .expect("run kill");
        assert!(sent.success());
    }

    /// Waits (at most `limit`) for the server binary to exit; its exit status, or `None` if it
    /// is still running.
    pub async fn exited_within(
        &mut self,
        limit: std::time::Duration,
    ) -> Option<std::process::ExitStatus> {
        let Server::Process { child, .. } = &mut self.server else {
            panic!("exited_within needs the server binary");
        };
        let until = std::time::Instant::now() + limit;
        loop {
            if let Some(status) = child.try_wait().expect("the server's status") {
                return Some(status);
            }
            if std::time::Instant::now() > until {
                return None;
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    }

    /// The server binary started with `env` on `database`, expected to refuse to start: what
    /// it printed.
    pub async fn binary_refuses(database: &TestDatabase, env: &[(&str, &str)]) -> String {
        let output = tokio::time::timeout(
            std::time::Duration::from_secs(30),
            tokio::process::Command::new(env!("CARGO_BIN_EXE_server"))
                .env("DATABASE_URL", &database.url)
                .env("CONSOLE_DATA_DIR", &database.data_dir)
                .env("LEPTOS_OUTPUT_NAME", "console")
                .env("LEPTOS_SITE_ADDR", "127.0.0.1:0")
                .env("CONSOLE_SECRET", "a-secret-shared-by-the-test-instances")
                .env("RUST_LOG", "warn")
                .envs(env.iter().copied())
                .kill_on_drop(true)
                .output(),
        )
        .await
        .expect("the server gave up within 30 s")
        .expect("run the server binary");
        assert!(!output.status.success(), "the server started");
        String::from_utf8_lossy(&output.stderr).into_owned()
    }

    /// What the server binary logged so far (empty for an in-process server).
    pub fn log(&self) -> String {
        match &self.server {
            Server::Task(..) => String::new(),
            Server::Process { log, .. } => std::fs::read_to_string(log).unwrap_or_default(),
        }
    }

    /// The most memory the server binary has held so far (`VmHWM`), in KiB.
    pub fn peak_memory_kib(&self) -> u64 {
        let Server::Process { child, .. } = &self.server else {
            panic!("only a server binary has its own memory");
        };
        let status = std::fs::read_to_string(format!("/proc/{}/status", child.id()))
            .expect("the server's status");
        status
            .lines()
            .find_map(|line| line.strip_prefix("VmHWM:"))
            .and_then(|value| value.trim().trim_end_matches("kB").trim().parse().ok())
            .expect("VmHWM")
    }

    /// Stops the server binary with SIGKILL: no graceful shutdown, leases left behind.
    pub fn kill_9(mut self) {
        if let Server::Process { child, .. } = &mut self.server {
            child.kill().expect("SIGKILL");
            child.wait().expect("the killed server");
        }
    }

    /// A fresh database and the application on it.
    pub async fn on(backend: Backend) -> (TestDatabase, Self) {
        let database = TestDatabase::new(backend).await;
        let app = Self::spawn(&database).await;
        (database, app)
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.address)
    }

    /// A REST client for a new user of `role`, authenticated by their API key, that checks every
    /// answer against `/rest/openapi.json`.
    pub async fn tool(&self, username: &str, role: &str) -> Tool {
        let browser = self.signed_in(username, role).await;
        self.tool_of(browser).await
    }

    /// A REST client for the user `browser` is signed in as, with a new API key.
    pub async fn tool_of(&self, browser: Browser) -> Tool {
        let response = browser.server_fn("generate_api_key", &[]).await;
        assert_eq!(response.status(), StatusCode::OK);
        let key = json(response).await["new_key"]
            .as_str()
            .expect("a new key")
            .to_owned();
        let document = json(
            Client::new()
                .get(self.url("/rest/openapi.json"))
                .send()
                .await
                .expect("openapi"),
        )
        .await;
        Tool {
            state: match &self.server {
                Server::Task(_, state) => Some(state.clone()),
                Server::Process { .. } => None,
            },
            client: Client::builder()
                .timeout(REQUEST_TIMEOUT)
                .build()
                .expect("client"),
            base: self.address.clone(),
            key,
            api: Arc::new(OpenApi::new(document)),
            browser,
        }
    }

    /// A REST client for the first administrator (`admin`), like [`Self::tool`].
    pub async fn admin(&self) -> Tool {
        let browser = self.browser();
        browser.sign_in("admin", ADMIN_PASSWORD).await;
        self.tool_of(browser).await
    }

    /// A browser with an empty cookie jar.
    pub fn browser(&self) -> Browser {
        let jar = Arc::new(Jar::default());
        Browser {
            address: self.address.clone(),
            client: Client::builder()
                .cookie_provider(jar.clone())
                .redirect(reqwest::redirect::Policy::none())
                .timeout(REQUEST_TIMEOUT)
                .build()
                .expect("client"),
            jar,
        }
    }

    /// Creates a user through the REST API as the administrator; returns the password.
    pub async fn create_user(&self, username: &str, role: &str) -> String {
        let password = format!("{username}-password");
        let response = Client::new()
            .post(self.url("/rest/users"))
            .basic_auth("admin", Some(ADMIN_PASSWORD))
            .json(&json!({ "username": username, "password": password, "role": role }))
            .send()
            .await
            .expect("create user");
        assert_eq!(response.status(), StatusCode::CREATED);
        password
    }

    /// A browser signed in as a new user of the given role.
    pub async fn signed_in(&self, username: &str, role: &str) -> Browser {
        let password = self.create_user(username, role).await;
        let browser = self.browser();
        browser.sign_in(username, &password).await;
        browser
    }

    /// `GET /rest/user` with the given API key.
    pub async fn rest_user_with_key(&self, key: &str) -> Response {
        rest_user_with_key_from(&self.address, key, None).await
    }
}

/// A client with a cookie jar that does not follow redirects, like a browser tab we can inspect.
pub struct Browser {
    pub address: String,
    pub client: Client,
    jar: Arc<Jar>,
}

impl Browser {
    /// The `Cookie` header this browser sends to the app.
    pub fn cookie_header(&self) -> String {
        let url = self.address.parse().expect("app URL");
        self.jar
            .cookies(&url)
            .and_then(|value| value.to_str().ok().map(str::to_owned))
            .unwrap_or_default()
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.address)
    }

    /// A page load: browsers ask for HTML (which is also what makes server redirects 302s).
    ///
    /// Also checks that no page of any test in this process left code running without its
    /// request (see `app::state::missing_state_errors`).
    pub async fn get(&self, path: &str) -> Response {
        let response = self
            .client
            .get(self.url(path))
            .header(ACCEPT, "text/html,application/xhtml+xml,*/*;q=0.8")
            .send()
            .await
            .expect("page answers");
        assert_eq!(
            app::state::missing_state_errors(),
            0,
            "a page's code ran after its request was gone (\"AppState missing\" in the log)"
        );
        response
    }

    /// The HTML of the page at `path` ([`Self::get`]), whatever its status.
    pub async fn page(&self, path: &str) -> String {
        self.get(path).await.text().await.expect("the page's body")
    }

    /// Calls a server function the way the hydrated app does (form-encoded in, JSON out).
    ///
    /// Also checks that an error answer carries the status of its error, as every script and
    /// tool that calls server functions relies on.
    pub async fn server_fn(&self, name: &str, form: &[(&str, &str)]) -> Response {
        let response = self
            .client
            .post(self.url(&format!("/api/{name}")))
            .header(ACCEPT, "application/json")
            .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(form_encode(form))
            .send()
            .await
            .expect("server function answers");
        let status = response.status();
        let headers = response.headers().clone();
        let body = response.bytes().await.expect("the whole answer");
        if !status.is_success() {
            let error: app::error::AppError = serde_json::from_slice(&body)
                .unwrap_or_else(|_| panic!("{name}: {status} without an error: {body:?}"));
            assert_eq!(status.as_u16(), error.status(), "{name}: {error:?}");
        }
        let mut rebuilt = axum::http::Response::new(body);
        *rebuilt.status_mut() = status;
        *rebuilt.headers_mut() = headers;
        Response::from(rebuilt)
    }

    /// Posts a form the way a browser does before hydration.
    pub async fn plain_form(&self, name: &str, form: &[(&str, &str)], referer: &str) -> Response {
        self.client
            .post(self.url(&format!("/api/{name}")))
            .header(ACCEPT, "text/html,application/xhtml+xml")
            .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
            .header("referer", self.url(referer))
            .header("origin", &self.address)
            .body(form_encode(form))
            .send()
            .await
            .expect("form post answers")
    }

    pub async fn sign_in(&self, username: &str, password: &str) {
        let response = self
            .server_fn("sign_in", &[("username", username), ("password", password)])
            .await;
        assert_eq!(
            response.status(),
            StatusCode::OK,
            "{}",
            response.text().await.unwrap_or_default()
        );
    }

    /// The signed-in user as `GET /rest/user` reports it.
    pub async fn rest_user(&self) -> Response {
        self.get("/rest/user").await
    }
}

/// `GET /rest/user` with `X-API-KEY`, optionally from another loopback address.
pub async fn rest_user_with_key_from(base: &str, key: &str, from: Option<IpAddr>) -> Response {
    let mut builder = Client::builder();
    if let Some(ip) = from {
        builder = builder.local_address(ip);
    }
    builder
        .build()
        .expect("client")
        .get(format!("{base}/rest/user"))
        .header("X-API-KEY", key)
        .send()
        .await
        .expect("REST answers")
}

pub async fn json(response: Response) -> Value {
    response.json().await.expect("JSON body")
}

fn form_encode(form: &[(&str, &str)]) -> String {
    form.iter()
        .map(|(name, value)| format!("{}={}", encode(name), encode(value)))
        .collect::<Vec<_>>()
        .join("&")
}

fn encode(text: &str) -> String {
    text.bytes()
        .map(|byte| match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (byte as char).to_string()
            }
            _ => format!("%{byte:02X}"),
        })
        .collect()
}

/// A third-party tool: REST with `X-API-KEY`, every answer checked against the API description.
pub struct Tool {
    pub client: Client,
    pub base: String,
    pub key: String,
    pub api: Arc<OpenApi>,
    /// The same user's browser session.
    pub browser: Browser,
    /// The state of the app it talks to, when that runs in this process.
    pub state: Option<app::state::AppState>,
}

impl Tool {
    pub async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<&Value>,
    ) -> (StatusCode, Value) {
        let mut request = self
            .client
            .request(method.clone(), format!("{}{path}", self.base))
            .header("X-API-KEY", &self.key);
        if let Some(body) = body {
            request = request.json(body);
        }
        self.answer(
            method.as_str(),
            path,
            request.send().await.expect("REST answers"),
        )
        .await
    }

    async fn answer(&self, method: &str, path: &str, response: Response) -> (StatusCode, Value) {
        let status = response.status();
        if status == StatusCode::NO_CONTENT {
            let body = response.bytes().await.expect("the answer");
            assert!(body.is_empty(), "{method} {path}: 204 with a body");
            self.api
                .check_empty(&method.to_ascii_lowercase(), path, status.as_u16());
            return (status, Value::Null);
        }
        let body: Value = response.json().await.expect("a JSON answer");
        self.api
            .check(&method.to_ascii_lowercase(), path, status.as_u16(), &body);
        (status, body)
    }

    pub async fn get(&self, path: &str) -> (StatusCode, Value) {
        self.call(reqwest::Method::GET, path, None).await
    }

    /// `GET` of a page of a list: its answer and the address of the next page, read from the
    /// `Link: <…>; rel="next"` header (`None` on the last page).
    pub async fn get_page(&self, path: &str) -> (StatusCode, Value, Option<String>) {
        let response = self
            .client
            .get(format!("{}{path}", self.base))
            .header("X-API-KEY", &self.key)
            .send()
            .await
            .expect("REST answers");
        let next = response.headers().get(reqwest::header::LINK).map(|link| {
            let link = link.to_str().expect("a readable Link header");
            let (target, relation) = link.split_once(';').expect("<target>; rel");
            assert_eq!(relation.trim(), "rel=\"next\"", "{link}");
            target
                .trim()
                .strip_prefix('<')
                .and_then(|target| target.strip_suffix('>'))
                .expect("<target>")
                .to_owned()
        });
        let (status, body) = self.answer("GET", path, response).await;
        (status, body, next)
    }

    pub async fn post(&self, path: &str, body: &Value) -> (StatusCode, Value) {
        self.call(reqwest::Method::POST, path, Some(body)).await
    }

    pub async fn patch(&self, path: &str, body: &Value) -> (StatusCode, Value) {
        self.call(reqwest::Method::PATCH, path, Some(body)).await
    }

    pub async fn delete(&self, path: &str) -> (StatusCode, Value) {
        self.call(reqwest::Method::DELETE, path, None).await
    }

    /// `POST /rest/applications/{id}/versions` with the given multipart fields.
    pub async fn upload(
        &self,
        application: i64,
        name: Option<&str>,
        archive: Option<(&str, Vec<u8>)>,
    ) -> (StatusCode, Value) {
        let mut form = reqwest::multipart::Form::new();
        if let Some(name) = name {
            form = form.text("name", name.to_owned());
        }
        if let Some((file_name, bytes)) = archive {
            form = form.part(
                "archive",
                reqwest::multipart::Part::bytes(bytes).file_name(file_name.to_owned()),
            );
        }
        let path = format!("/rest/applications/{application}/versions");
        let response = self
            .client
            .post(format!("{}{path}", self.base))
            .header("X-API-KEY", &self.key)
            .multipart(form)
            .send()
            .await
            .expect("upload answers");
        self.answer("post", &path, response).await
    }

    pub async fn create_application(&self, name: &str) -> i64 {
        let (status, body) = self
            .post("/rest/applications", &json!({ "name": name }))
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        body["id"].as_i64().expect("an id")
    }

    pub async fn create_version(
        &self,
        application: i64,
        name: &str,
        archive: (&str, Vec<u8>),
    ) -> i64 {
        let (status, body) = self.upload(application, Some(name), Some(archive)).await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        body["id"].as_i64().expect("an id")
    }

    pub async fn start_analysis(&self, application: i64, version: i64) -> i64 {
        self.start_job(application, version, "analyze").await
    }

    /// Queues a job of `kind` through REST.
    pub async fn start_job(&self, application: i64, version: i64, kind: &str) -> i64 {
        let (status, body) = self
            .post(
                "/rest/jobs",
                &json!({ "application": application, "version": version, "type": kind }),
            )
            .await;
        assert_eq!(status, StatusCode::ACCEPTED, "{body}");
        assert_eq!(body["status"], "queued");
        body["id"].as_i64().expect("an id")
    }

    /// Polls the job until its status is one of `statuses` (at most a minute).
    pub async fn wait_for(&self, job: i64, statuses: &[&str]) -> Value {
        for _ in 0..1200 {
            let (status, body) = self.get(&format!("/rest/jobs/{job}")).await;
            assert_eq!(status, StatusCode::OK, "{body}");
            if statuses.iter().any(|wanted| body["status"] == *wanted) {
                return body;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        panic!("job {job} never reached {statuses:?}");
    }
}

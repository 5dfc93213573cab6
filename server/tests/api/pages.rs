//! Every page answers: signed-in page loads never stall, no page leaves code running after its
//! request, and a page that cannot finish answers 503 at its deadline instead of never.

use std::time::{Duration, Instant};

use reqwest::StatusCode;
use sea_orm::{ConnectionTrait, Database, TransactionTrait};

use crate::archives::{sample_project, tar_gz};
use crate::helpers::{ADMIN_PASSWORD, Backend, Browser, TestApp, TestDatabase, Tool};
use crate::on_both_databases;

on_both_databases!(
    every_page_answers_on_one_worker_and_on_two,
    every_page_has_one_heading_errors_included
);

/// Rounds of page loads per client: each round is one plain-form post and every page.
const ROUNDS: usize = 40;

/// What a user would call a hung page.
const ANSWER_WITHIN: Duration = Duration::from_secs(5);

/// The server binary on a runtime of 1 and of 2 worker threads (1 showed pages' code running
/// after their request every time, 2 showed the stalls), two clients at once: a user and an
/// administrator, each posting plain forms and loading every page they can see.
async fn every_page_answers_on_one_worker_and_on_two(backend: Backend) {
    for workers in ["1", "2"] {
        let database = TestDatabase::new(backend).await;
        let app = TestApp::binary(&database, &[("TOKIO_WORKER_THREADS", workers)]).await;
        let (owner, application, _) = owner_with_a_job(&app).await;
        let admin = app.browser();
        admin.sign_in("admin", ADMIN_PASSWORD).await;

        let owner_pages = [
            "/".to_owned(),
            "/profile".to_owned(),
            "/applications".to_owned(),
            format!("/applications/{application}"),
        ];
        let admin_pages = ["/admin".to_owned(), "/profile".to_owned()];
        let started = Instant::now();
        tokio::join!(
            load_pages(&owner.browser, &owner_pages, ("generate_api_key", &[])),
            load_pages(
                &admin,
                &admin_pages,
                (
                    "update_email_settings",
                    &[("email", "admin@example.com"), ("notifications", "true")]
                )
            ),
        );
        // Clients that give up mid-render (a closed tab): their pages finish without them, and
        // nothing of a page runs on after it (nor panics, as a render dropped midway did).
        abandon_pages(&owner.browser, &owner_pages).await;
        abandon_pages(&admin, &admin_pages).await;
        // Loaders still running would report within this time (each is a query or two).
        tokio::time::sleep(Duration::from_millis(500)).await;
        assert_eq!(owner.browser.get("/profile").await.status(), StatusCode::OK);

        let log = app.log();
        assert!(
            !log.contains("AppState missing"),
            "{workers} worker(s): a page's code ran after its request was gone:\n{log}"
        );
        assert!(
            !log.contains("deadline"),
            "{workers} worker(s): a page passed its deadline:\n{log}"
        );
        assert!(
            !log.contains("panicked"),
            "{workers} worker(s): a page's code panicked:\n{log}"
        );
        eprintln!(
            "{workers} worker(s): {} page loads and posts in {:?}",
            ROUNDS * (owner_pages.len() + admin_pages.len() + 2),
            started.elapsed()
        );
    }
}

/// The user `owner`, their application with one version, and an analysis of it started:
/// `(owner, application, job)`.
async fn owner_with_a_job(app: &TestApp) -> (Tool, i64, i64) {
    let owner = app.tool("owner", "user").await;
    let application = owner.create_application("MEUDON").await;
    let version = owner
        .create_version(
            application,
            "1.0",
            ("src.tar.gz", tar_gz(&sample_project())),
        )
        .await;
    let job = owner.start_analysis(application, version).await;
    (owner, application, job)
}

/// Every page, and every page that answers with an error, has exactly one `h1`: what a screen
/// reader's user jumps to first.
async fn every_page_has_one_heading_errors_included(backend: Backend) {
    let (_database, app) = TestApp::on(backend).await;
    let (_owner, application, job) = owner_with_a_job(&app).await;
    let admin = app.browser();
    admin.sign_in("admin", ADMIN_PASSWORD).await;
    let pages: Vec<(String, StatusCode)> = [
        ("/".to_owned(), StatusCode::OK),
        ("/profile".to_owned(), StatusCode::OK),
        ("/admin".to_owned(), StatusCode::OK),
        ("/admin/audit".to_owned(), StatusCode::OK),
        ("/admin/users/owner".to_owned(), StatusCode::OK),
        ("/applications".to_owned(), StatusCode::OK),
        (format!("/applications/{application}"), StatusCode::OK),
        (
            format!("/applications/{application}/jobs/{job}"),
            StatusCode::OK,
        ),
        ("/applications/999999".to_owned(), StatusCode::NOT_FOUND),
        ("/applications/abc".to_owned(), StatusCode::NOT_FOUND),
        (
            "/applications/999999/jobs/1".to_owned(),
            StatusCode::NOT_FOUND,
        ),
        ("/admin/users/nobody".to_owned(), StatusCode::NOT_FOUND),
        (
            "/admin/audit?user=ghost".to_owned(),
            StatusCode::BAD_REQUEST,
        ),
        (
            "/applications?after=zzz".to_owned(),
            StatusCode::BAD_REQUEST,
        ),
        (
            "/verify-email/not-a-token".to_owned(),
            StatusCode::BAD_REQUEST,
        ),
        (
            "/unsubscribe/not-a-token".to_owned(),
            StatusCode::BAD_REQUEST,
        ),
        ("/no-such-page".to_owned(), StatusCode::NOT_FOUND),
    ]
    .into();
    for (path, status) in pages {
        let response = admin.get(&path).await;
        assert_eq!(response.status(), status, "{path}");
        let page = response.text().await.unwrap();
        assert_eq!(page.matches("<h1").count(), 1, "{path}: {page}");
    }
    let signed_out = app.browser().get("/signin").await.text().await.unwrap();
    assert_eq!(signed_out.matches("<h1").count(), 1, "{signed_out}");
}

/// `ROUNDS` times: the plain form post `form` (as a browser sends it before hydration), then
/// every page of `pages`, each answered with 200 within [`ANSWER_WITHIN`].
async fn load_pages(browser: &Browser, pages: &[String], form: (&str, &[(&str, &str)])) {
    let (function, fields) = form;
    for round in 0..ROUNDS {
        let posted = tokio::time::timeout(
            ANSWER_WITHIN,
            browser.plain_form(function, fields, "/profile"),
        )
        .await
        .unwrap_or_else(|_| panic!("POST /api/{function} had no answer (round {round})"));
        assert_eq!(
            posted.status(),
            StatusCode::SEE_OTHER,
            "POST /api/{function}"
        );
        for page in pages {
            let loaded = tokio::time::timeout(ANSWER_WITHIN, async {
                let response = browser.get(page).await;
                let status = response.status();
                (status, response.text().await.expect("the whole page"))
            })
            .await
            .unwrap_or_else(|_| panic!("GET {page} had no answer within 5 s (round {round})"));
            assert_eq!(loaded.0, StatusCode::OK, "GET {page}: {}", loaded.1);
            assert!(
                loaded.1.contains("</body></html>"),
                "GET {page} came back cut short: {}",
                &loaded.1[loaded.1.len().saturating_sub(300)..]
            );
        }
    }
}

/// Starts each page 25 times and hangs up after 0 to 4 ms, mostly before the page is ready.
async fn abandon_pages(browser: &Browser, pages: &[String]) {
    for attempt in 0..25u64 {
        for page in pages {
            let _ = tokio::time::timeout(
                Duration::from_millis(attempt % 5),
                browser.client.get(browser.url(page)).send(),
            )
            .await;
        }
    }
}

/// A page whose data cannot arrive (a table lock held by another session, as a long migration
/// or a stuck transaction would) answers 503 at the deadline, names the route in the log, cancels
/// its loader, and the page works again once the lock is gone. PostgreSQL only: SQLite readers
/// are never blocked by a writer (WAL).
#[test]
fn a_page_stuck_on_a_lock_answers_503_at_its_deadline() {
    crate::helpers::RUNTIME.block_on(async {
        let database = TestDatabase::new(Backend::Postgres).await;
        let app = TestApp::binary(&database, &[("CONSOLE_RENDER_DEADLINE_SECONDS", "1")]).await;
        let browser = app.signed_in("stuck", "user").await;
        assert_eq!(browser.get("/profile").await.status(), StatusCode::OK);

        let db = Database::connect(&database.url).await.unwrap();
        let lock = db.begin().await.unwrap();
        lock.execute_unprepared("LOCK TABLE api_keys IN ACCESS EXCLUSIVE MODE")
            .await
            .unwrap();
        let started = Instant::now();
        let response = tokio::time::timeout(Duration::from_secs(10), browser.get("/profile"))
            .await
            .expect("an answer at the deadline, not never");
        let waited = started.elapsed();
        let status = response.status();
        let retry_after = response.headers().get("retry-after").cloned();
        let body = response.text().await.unwrap();
        assert_eq!(
            status,
            StatusCode::SERVICE_UNAVAILABLE,
            "after {waited:?}: {body}\n{}",
            app.log()
        );
        assert!(
            waited >= Duration::from_secs(1) && waited < Duration::from_secs(5),
            "answered after {waited:?}"
        );
        assert_eq!(retry_after.unwrap(), "5");
        assert!(body.contains("took too long"));
        // REST has no deadline: a key-less call that needs no locked table still answers.
        assert_eq!(
            browser.get("/rest/user").await.status(),
            StatusCode::OK,
            "only the page waits on the lock"
        );
        let log = app.log();
        assert!(
            log.contains("page render passed its deadline")
                && log.contains("route=\"/profile\"")
                && log.contains("cancelled_loaders=1"),
            "{log}"
        );

        lock.rollback().await.unwrap();
        assert_eq!(browser.get("/profile").await.status(), StatusCode::OK);
    });
}

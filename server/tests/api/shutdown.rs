//! Stopping an instance: SIGTERM hands its running job to another instance at once, `/readyz`
//! tells the load balancer first, the process exits 0 within its bounds; and bad settings stop
//! it before it starts, with a message that names them.

use std::time::{Duration, Instant};

use reqwest::StatusCode;
use sea_orm::{ConnectionTrait, Database, Statement};

use crate::archives::{sample_project, tar_gz};
use crate::helpers::{Backend, RUNTIME, TestApp, TestDatabase, Tool};
use crate::jobs::{hold_archive, job_row, release_archive, stored_archive};

/// Every request of these tests is bounded: an instance that stopped answering fails the test
/// instead of hanging it.
const ANSWER_WITHIN: Duration = Duration::from_secs(10);

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(ANSWER_WITHIN)
        .build()
        .expect("client")
}

async fn get(app: &TestApp, path: &str) -> (StatusCode, String) {
    let response = client()
        .get(app.url(path))
        .send()
        .await
        .unwrap_or_else(|error| panic!("GET {path}: {error}"));
    (response.status(), response.text().await.unwrap())
}

#[test]
fn sigterm_hands_a_running_job_to_another_instance_at_once() {
    RUNTIME.block_on(async {
        // Both instances share the data directory: the job waits on a named pipe there.
        let database = TestDatabase::new(Backend::Postgres)
            .await
            .with_local_archives();
        let mut first =
            TestApp::binary(&database, &[("CONSOLE_SHUTDOWN_DRAIN_SECONDS", "3")]).await;
        let tool = first.tool("leaving", "user").await;
        let application = tool.create_application("Handed over").await;
        let version = tool
            .create_version(application, "1", ("p.tar.gz", tar_gz(&sample_project())))
            .await;
        let path = stored_archive(&database, version).await;
        let bytes = hold_archive(&path);
        let job = tool.start_analysis(application, version).await;
        tool.wait_for(job, &["running"]).await;
        assert_eq!(
            get(&first, "/readyz").await,
            (StatusCode::OK, "ready".into())
        );

        let stopped_at = Instant::now();
        first.terminate();
        // During the drain the instance still serves, but tells the balancer it is leaving; the
        // job is back in the queue at once, its attempt not counted.
        let mut readiness = get(&first, "/readyz").await;
        for _ in 0..100 {
            if readiness.0 != StatusCode::OK {
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
            readiness = get(&first, "/readyz").await;
        }
        assert_eq!(
            readiness,
            (StatusCode::SERVICE_UNAVAILABLE, "shutting down".into())
        );
        assert_eq!(get(&first, "/healthz").await.0, StatusCode::OK);
        let mut row = job_row(&database, job).await;
        for _ in 0..100 {
            if row.0 == "queued" {
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
            row = job_row(&database, job).await;
        }
        assert_eq!(row, ("queued".into(), 0));
        assert!(stopped_at.elapsed() < Duration::from_secs(3), "not at once");
        let status = first
            .exited_within(Duration::from_secs(25))
            .await
            .expect("the instance exits within drain + grace");
        assert!(status.success(), "{status:?}:\n{}", first.log());
        let took = stopped_at.elapsed();
        // The 3 s drain, then nothing left to wait for.
        assert!(took < Duration::from_secs(8), "stopping took {took:?}");

        // Another instance takes it at its next look, long before a heartbeat could go stale.
        let second = TestApp::spawn(&database).await;
        let tool = Tool {
            base: second.address.clone(),
            ..tool
        };
        tool.wait_for(job, &["running"]).await;
        release_archive(path, bytes).join().unwrap();
        let done = tool.wait_for(job, &["succeeded", "failed"]).await;
        assert_eq!(done["status"], "succeeded", "{done}");
        assert_eq!(job_row(&database, job).await, ("succeeded".into(), 1));
    });
}

#[test]
fn bad_settings_are_refused_at_start_with_their_name() {
    RUNTIME.block_on(async {
        let database = TestDatabase::new(Backend::Sqlite).await;
        for (env, says) in [
            (
                vec![("CONSOLE_ARCHIVE_STORE", "ftp://archives.example")],
                "CONSOLE_ARCHIVE_STORE \"ftp://archives.example\": unknown kind of store",
            ),
            (
                vec![("CONSOLE_TRUSTED_PROXIES", "10.0.0.0/8, 10.0.0.1/40")],
                "CONSOLE_TRUSTED_PROXIES: \"10.0.0.1/40\" is neither a network",
            ),
            (
                vec![
                    ("CONSOLE_ARCHIVE_STORE", "s3://nowhere"),
                    ("AWS_ENDPOINT", "http://127.0.0.1:9"),
                ],
                "the archive store s3://nowhere",
            ),
        ] {
            let started = Instant::now();
            let printed = TestApp::binary_refuses(&database, &env).await;
            assert!(printed.contains(says), "{env:?}: {printed}");
            assert!(started.elapsed() < Duration::from_secs(20), "{env:?}");
        }
    });
}

#[test]
fn readiness_covers_the_archive_store_and_ends_when_the_instance_stops() {
    RUNTIME.block_on(async {
        // A bucket of its own, removed under the running instance.
        let endpoint = std::env::var("AWS_ENDPOINT").expect("AWS_ENDPOINT of the test store");
        let bucket = format!("{endpoint}/readiness-{:08x}", rand::random::<u32>());
        let store = client();
        assert!(
            store
                .put(&bucket)
                .send()
                .await
                .unwrap()
                .status()
                .is_success()
        );
        let mut database = TestDatabase::new(Backend::Postgres).await;
        database.archive_store = Some(format!("s3://{}", bucket.rsplit('/').next().unwrap()));
        let app = TestApp::spawn(&database).await;
        assert_eq!(get(&app, "/readyz").await, (StatusCode::OK, "ready".into()));
        assert!(
            store
                .delete(&bucket)
                .send()
                .await
                .unwrap()
                .status()
                .is_success()
        );
        // An answer is reused for a second: the next check after that finds the store gone.
        let mut readiness = get(&app, "/readyz").await;
        for _ in 0..30 {
            if readiness.0 != StatusCode::OK {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
            readiness = get(&app, "/readyz").await;
        }
        assert_eq!(
            readiness,
            (
                StatusCode::SERVICE_UNAVAILABLE,
                "archive store unreachable".into()
            )
        );
        // Liveness is the database alone: nothing to restart for.
        assert_eq!(get(&app, "/healthz").await.0, StatusCode::OK);
        app.state().stopping.cancel();
        let mut answer = None;
        for _ in 0..50 {
            // Refused, cut off or unanswered all count as "no longer ready".
            answer = client()
                .get(app.url("/readyz"))
                .timeout(Duration::from_secs(2))
                .send()
                .await
                .ok()
                .map(|r| r.status());
            if answer != Some(StatusCode::OK) {
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        // Stopping without a drain: 503 or no longer accepting at all.
        assert_ne!(answer, Some(StatusCode::OK));
    });
}

/// Stopping while mail is being delivered: mails already handed to the (never answering) mail
/// server end their attempt, the claimed ones not yet tried are given back at once, due again,
/// their attempt not counted, instead of waiting for the lease to lapse.
#[test]
fn stopping_gives_claimed_untried_mail_back() {
    RUNTIME.block_on(async {
        // A mail server that accepts connections and never says a word.
        let silent = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = silent.local_addr().unwrap().port();
        let connected = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let held = tokio::spawn({
            let connected = connected.clone();
            async move {
                let mut open = Vec::new();
                while let Ok((socket, _)) = silent.accept().await {
                    open.push(socket);
                    connected.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                }
            }
        });
        let database = TestDatabase::new(Backend::Sqlite).await;
        // Sixteen mails queued before any worker may claim one, so that the first round claims
        // them all: recorded while the hourly cap holds every mail back, then released.
        let first = TestApp::spawn_with(&database, |settings| settings.mail_per_user_hour = 0).await;
        let tool = first.tool("waiting", "user").await;
        crate::mail::opt_in(&tool, "waiting@example.com").await;
        for n in 0..16 {
            tool.create_application(&format!("Mailed {n}")).await;
        }
        drop(first);
        let db = Database::connect(&database.url).await.unwrap();
        db.execute_unprepared(
            "UPDATE outbox SET status = 'pending', next_attempt_at = created_at, last_error = NULL \
             WHERE kind = 'notification'",
        )
        .await
        .unwrap();
        let app = TestApp::delivering(&database, |settings| {
            // Each delivery gives up after a third of the lease, 5 s: far longer than the test
            // needs to see the batch claimed and stop.
            settings.mail_lease = Duration::from_secs(15);
            settings.smtp = Some(server::settings::SmtpPreset {
                host: "127.0.0.1".into(),
                port: Some(port.to_string()),
                security: Some("none".into()),
                username: None,
                password: None,
            });
        })
        .await;
        let count = |sql: &'static str| {
            let db = db.clone();
            async move {
                let row = db
                    .query_one_raw(Statement::from_string(db.get_database_backend(), sql))
                    .await
                    .unwrap()
                    .unwrap();
                row.try_get_by_index::<i64>(0).unwrap()
            }
        };
        // The worker claims a batch of 16; 8 go out at once (a connection each) and hang.
        let claimed = "SELECT COUNT(*) FROM outbox WHERE locked_until IS NOT NULL";
        for _ in 0..500 {
            if connected.load(std::sync::atomic::Ordering::SeqCst) == 8 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        assert_eq!(connected.load(std::sync::atomic::Ordering::SeqCst), 8);
        assert_eq!(count(claimed).await, 16);
        let stopped = Instant::now();
        app.state().stopping.cancel();
        let given_back =
            "SELECT COUNT(*) FROM outbox WHERE locked_until IS NULL AND attempts = 0 AND status = 'pending'";
        for _ in 0..1000 {
            if count(given_back).await == 8 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        assert_eq!(count(given_back).await, 8);
        // At once: long before the mails in flight give up (5 s), let alone the lease (15 s).
        assert!(stopped.elapsed() < Duration::from_secs(3), "{:?}", stopped.elapsed());
        // The 8 that were tried end their attempt, failed, and wait out their backoff.
        let tried = "SELECT COUNT(*) FROM outbox WHERE attempts = 1 AND last_error IS NOT NULL";
        for _ in 0..1000 {
            if count(tried).await == 8 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        assert_eq!(count(tried).await, 8);
        held.abort();
    });
}

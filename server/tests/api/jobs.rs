//! Jobs through REST with an API key: the whole life cycle of both kinds (analyze, compare),
//! failures with their errors, stopping, recovery after a restart, and the domain events each
//! change records.

use std::path::PathBuf;
use std::time::Duration;

use reqwest::StatusCode;
use sea_orm::{ConnectionTrait, Database, DatabaseConnection, Statement};
use serde_json::json;

use app::archives::{ArchiveFormat, Source};

use crate::archives::{sample_project, tar_gz, zip, zip_with_symlink};
use crate::helpers::{Backend, TestApp, TestDatabase, Tool};
use crate::mail::opt_in;
use crate::on_both_databases;
use crate::smtp::{Mailbox, header};

on_both_databases!(
    analyze_life_cycle_through_rest,
    compare_reports_what_changed_since_the_previous_version,
    corrupt_archive_fails_the_job_with_its_error,
    malicious_archives_fail_their_jobs_without_harm,
    queued_and_running_jobs_can_be_stopped,
    jobs_lost_in_a_restart_are_resumed_or_failed,
    queued_jobs_wait_their_turn,
    one_user_cannot_crowd_out_another,
);

/// `(kind, application, version, job, actor username)` of every event, in order.
async fn events(database: &TestDatabase) -> Vec<(String, i64, Option<i64>, Option<i64>, String)> {
    let db = Database::connect(&database.url).await.unwrap();
    let rows = db
        .query_all_raw(Statement::from_string(
            db.get_database_backend(),
            "SELECT e.kind, e.application_id, e.version_id, e.job_id, u.username \
             FROM events e JOIN users u ON u.id = e.actor_id ORDER BY e.id",
        ))
        .await
        .unwrap();
    rows.iter()
        .map(|row| {
            (
                row.try_get_by_index(0).unwrap(),
                row.try_get_by_index(1).unwrap(),
                row.try_get_by_index(2).unwrap(),
                row.try_get_by_index(3).unwrap(),
                row.try_get_by_index(4).unwrap(),
            )
        })
        .collect()
}

async fn execute(db: &DatabaseConnection, sql: &str) {
    db.execute_unprepared(sql).await.unwrap();
}

/// The key of a version's archive in the archive store.
pub(crate) async fn archive_key(database: &TestDatabase, version: i64) -> String {
    let db = Database::connect(&database.url).await.unwrap();
    let row = db
        .query_one_raw(Statement::from_string(
            db.get_database_backend(),
            format!("SELECT archive_key FROM versions WHERE id = {version}"),
        ))
        .await
        .unwrap()
        .unwrap();
    row.try_get_by_index(0).unwrap()
}

/// A job's status and attempts as stored.
pub(crate) async fn job_row(database: &TestDatabase, job: i64) -> (String, i32) {
    let db = Database::connect(&database.url).await.unwrap();
    let row = db
        .query_one_raw(Statement::from_string(
            db.get_database_backend(),
            format!("SELECT status, attempts FROM jobs WHERE id = {job}"),
        ))
        .await
        .unwrap()
        .unwrap();
    (
        row.try_get_by_index(0).unwrap(),
        row.try_get_by_index(1).unwrap(),
    )
}

/// Where a version's archive lies in a local archive store.
pub(crate) async fn stored_archive(database: &TestDatabase, version: i64) -> PathBuf {
    assert!(
        database.archive_store.is_none(),
        "the archives are not local"
    );
    let key = archive_key(database, version).await;
    database.data_dir.join("archives").join(key)
}

/// Replaces a stored archive with a named pipe, so the job reading it waits until the test
/// writes the archive: a job that stays `running` exactly as long as the test needs.
pub(crate) fn hold_archive(path: &PathBuf) -> Vec<u8> {
    let bytes = std::fs::read(path).unwrap();
    std::fs::remove_file(path).unwrap();
    let made = std::process::Command::new("mkfifo")
        .arg(path)
        .status()
        .unwrap();
    assert!(made.success());
    bytes
}

/// Lets the job waiting on the pipe read `bytes` (on a thread: opening a pipe blocks).
pub(crate) fn release_archive(path: PathBuf, bytes: Vec<u8>) -> std::thread::JoinHandle<()> {
    std::thread::spawn(move || {
        use std::io::Write;
        if let Ok(mut pipe) = std::fs::OpenOptions::new().write(true).open(&path) {
            let _ = pipe.write_all(&bytes);
        }
    })
}

async fn analyze_life_cycle_through_rest(backend: Backend) {
    let (database, app) = TestApp::on(backend).await;
    let tool = app.tool("ana", "user").await;
    let application = tool.create_application("MEUDON").await;
    let (status, body) = tool.get(&format!("/rest/applications/{application}")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        (body["name"].as_str(), body["owner"].as_str()),
        (Some("MEUDON"), Some("ana"))
    );

    let archive = tar_gz(&sample_project());
    let size = archive.len();
    let version = tool
        .create_version(application, "1.0", ("meudon-1.0.tar.gz", archive.clone()))
        .await;
    let (status, versions) = tool
        .get(&format!("/rest/applications/{application}/versions"))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(versions[0]["name"], "1.0");
    assert_eq!(versions[0]["archive_format"], "tar.gz");
    assert_eq!(versions[0]["archive_bytes"], size);
    let stored = database
        .archive_store()
        .source(&archive_key(&database, version).await, ArchiveFormat::TarGz)
        .await
        .unwrap();
    let stored = tokio::task::spawn_blocking(move || match stored {
        Source::Path(path) => std::fs::read(path).unwrap(),
        Source::Stream { mut reader, .. } => {
            let mut bytes = Vec::new();
            std::io::Read::read_to_end(&mut reader, &mut bytes).unwrap();
            bytes
        }
        Source::File(_) => unreachable!("a tar.gz is streamed"),
    })
    .await
    .unwrap();
    assert_eq!(stored, archive);

    let job = tool.start_analysis(application, version).await;
    let done = tool.wait_for(job, &["succeeded", "failed"]).await;
    assert_eq!(done["status"], "succeeded", "{done}");
    assert_eq!(done["progress"], 100);
    assert_eq!(done["type"], "analyze");
    assert_eq!(done["created_by"], "ana");
    assert!(done["started_at"].is_string() && done["finished_at"].is_string());
    let result = &done["result"];
    assert_eq!(
        (result["files"].as_u64(), result["lines"].as_u64()),
        (Some(4), Some(8))
    );
    assert_eq!(
        result["languages"][0],
        json!({
            "language": "Java", "files": 2, "lines": 5,
            "code": 5, "comments": 0, "blanks": 0, "bytes": 46
        })
    );
    assert_eq!(result["largest_files"][0]["path"], "meudon/src/Main.java");

    let (status, listed) = tool
        .get(&format!("/rest/jobs?application={application}"))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(listed.as_array().unwrap().len(), 1);
    assert_eq!(listed[0]["id"], job);
    let (_, all) = tool.get("/rest/jobs").await;
    assert_eq!(all[0]["id"], job);

    // Exactly one event per change, attributed to who caused it.
    assert_eq!(
        events(&database).await,
        vec![
            (
                "application_created".into(),
                application,
                None,
                None,
                "ana".into()
            ),
            (
                "version_created".into(),
                application,
                Some(version),
                None,
                "ana".into()
            ),
            (
                "job_succeeded".into(),
                application,
                Some(version),
                Some(job),
                "ana".into()
            ),
        ]
    );

    // A zip version goes through the same way.
    let version = tool
        .create_version(application, "1.1", ("meudon.zip", zip(&sample_project())))
        .await;
    let job = tool.start_analysis(application, version).await;
    let done = tool.wait_for(job, &["succeeded", "failed"]).await;
    assert_eq!(done["result"]["lines"], 8, "{done}");
}

async fn compare_reports_what_changed_since_the_previous_version(backend: Backend) {
    let (database, app) = TestApp::on(backend).await;
    let tool = app.tool("cora", "user").await;
    opt_in(&tool, "cora@example.com").await;
    let application = tool.create_application("MEUDON").await;
    let first = tool
        .create_version(application, "1.0", ("a.tar.gz", tar_gz(&sample_project())))
        .await;
    let mut next = sample_project();
    next.retain(|(path, _)| *path != "meudon/src/Util.java");
    next[0].1 = b"class Main {\n  // runs\n  void run() {}\n}\n".to_vec();
    next.push(("meudon/src/New.java", b"class New {}\n".to_vec()));
    let second = tool
        .create_version(application, "1.1", ("b.zip", zip(&next)))
        .await;

    // The first version compares with nothing: every file is added.
    let job = tool.start_job(application, first, "compare").await;
    let done = tool.wait_for(job, &["succeeded", "failed"]).await;
    assert_eq!(done["status"], "succeeded", "{done}");
    assert_eq!(done["type"], "compare");
    let result = &done["result"];
    assert_eq!(result["previous_version"], json!(null));
    assert_eq!(result["added"]["count"], 4, "{result}");
    assert_eq!(result["removed"]["count"], 0);

    let job = tool.start_job(application, second, "compare").await;
    let done = tool.wait_for(job, &["succeeded", "failed"]).await;
    assert_eq!(done["status"], "succeeded", "{done}");
    let result = &done["result"];
    assert_eq!(
        (&result["previous_version_id"], &result["previous_version"]),
        (&json!(first), &json!("1.0"))
    );
    assert_eq!(
        result["added"],
        json!({ "count": 1, "paths": ["meudon/src/New.java"] })
    );
    assert_eq!(
        result["removed"],
        json!({ "count": 1, "paths": ["meudon/src/Util.java"] })
    );
    assert_eq!(
        result["changed"],
        json!({ "count": 1, "paths": ["meudon/src/Main.java"] })
    );
    assert_eq!(result["unchanged"], 2);
    let java = result["languages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|language| language["language"] == "Java")
        .unwrap();
    assert_eq!(
        (&java["before"], &java["after"]),
        (
            &json!({ "files": 2, "code": 5, "comments": 0, "blanks": 0 }),
            &json!({ "files": 2, "code": 4, "comments": 1, "blanks": 0 })
        )
    );

    // The application's page lists it with its figures and the job's page shows the comparison;
    // the mail names the kind.
    let page = tool
        .browser
        .page(&format!("/applications/{application}"))
        .await;
    assert!(page.contains("1 added · 1 removed · 1 changed"), "{page}");
    assert!(page.contains(">Compare</button>"), "{page}");
    // Each finished job says how long it ran; times read as how long ago, exact in `datetime`.
    assert!(page.contains(" · took "), "{page}");
    assert!(page.contains("<time datetime=\""), "{page}");
    let page = tool
        .browser
        .page(&format!("/applications/{application}/jobs/{job}"))
        .await;
    assert!(page.contains("Compared with 1.0."), "{page}");
    assert!(page.contains(" · ran "), "{page}");
    assert!(page.contains("1 added · 1 removed · 1 changed · 2 unchanged"));
    app.assert_outbox_empty().await;
    let mails = Mailbox(database.data_dir.join("mail")).mails();
    let compared: Vec<&String> = mails
        .iter()
        .filter(|mail| header(mail, "Subject") == Some("[AIP Console] Compare completed: MEUDON"))
        .collect();
    assert_eq!(compared.len(), 2, "{mails:?}");
    assert!(
        compared[0].contains("Compare has been successfully completed for application: MEUDON")
    );

    // Unknown kinds are named in the error.
    let (status, body) = tool
        .post(
            "/rest/jobs",
            &json!({ "application": application, "version": second, "type": "lint" }),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains("analyze, compare"),
        "{body}"
    );
}

async fn corrupt_archive_fails_the_job_with_its_error(backend: Backend) {
    let (database, app) = TestApp::on(backend).await;
    let tool = app.tool("ana", "user").await;
    let application = tool.create_application("Broken").await;
    // Starts like a zip, then nothing but noise.
    let mut corrupt = b"PK\x03\x04".to_vec();
    corrupt.extend((0..5000u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8));
    let version = tool
        .create_version(application, "1", ("broken.zip", corrupt))
        .await;
    let job = tool.start_analysis(application, version).await;
    let done = tool.wait_for(job, &["succeeded", "failed"]).await;
    assert_eq!(done["status"], "failed");
    let error = done["error"].as_str().unwrap();
    assert!(
        error.starts_with("The archive is corrupt or not a zip archive"),
        "{error}"
    );
    assert!(done["result"].is_null());
    let kinds: Vec<String> = events(&database).await.into_iter().map(|e| e.0).collect();
    assert_eq!(
        kinds,
        ["application_created", "version_created", "job_failed"]
    );
    // A comparison of the next version names the version whose archive is at fault.
    let next = tool
        .create_version(application, "2", ("good.tar.gz", tar_gz(&sample_project())))
        .await;
    let job = tool.start_job(application, next, "compare").await;
    let done = tool.wait_for(job, &["succeeded", "failed"]).await;
    assert_eq!(done["status"], "failed", "{done}");
    let error = done["error"].as_str().unwrap();
    assert!(
        error.starts_with("Version 1: The archive is corrupt or not a zip archive"),
        "{error}"
    );
    // The server carries on.
    assert_eq!(
        reqwest::get(app.url("/healthz")).await.unwrap().status(),
        StatusCode::OK
    );
}

async fn malicious_archives_fail_their_jobs_without_harm(backend: Backend) {
    let (database, app) = TestApp::on(backend).await;
    let tool = app.tool("ana", "user").await;
    let application = tool.create_application("Hostile").await;
    let bomb = vec![0u8; 32 * 1024 * 1024];
    let cases = [
        (
            "traversal",
            ("t.tar.gz", tar_gz(&[("../../outside.txt", b"x".to_vec())])),
            "points outside the archive (../../outside.txt)",
        ),
        (
            "absolute",
            ("a.zip", zip(&[("/etc/cron.d/evil", b"x".to_vec())])),
            "absolute path (/etc/cron.d/evil)",
        ),
        (
            "symlink",
            ("s.zip", zip_with_symlink("../../../etc/passwd")),
            "link that points outside the archive",
        ),
        ("bomb", ("b.zip", zip(&[("zeros.txt", bomb)])), "zip bomb"),
    ];
    for (name, archive, expected) in cases {
        let version = tool.create_version(application, name, archive).await;
        let job = tool.start_analysis(application, version).await;
        let done = tool.wait_for(job, &["succeeded", "failed"]).await;
        assert_eq!(done["status"], "failed", "{name}: {done}");
        let error = done["error"].as_str().unwrap();
        assert!(error.contains(expected), "{name}: {error}");
    }
    // Nothing was written next to or above the data directory.
    let parent = database.data_dir.parent().unwrap();
    assert!(!parent.join("outside.txt").exists());
    assert!(!database.data_dir.join("outside.txt").exists());
    let entries = database.archive_store().keys().await.unwrap();
    assert_eq!(entries.len(), 4, "{entries:?}");
    assert_eq!(
        reqwest::get(app.url("/healthz")).await.unwrap().status(),
        StatusCode::OK
    );
}

async fn queued_and_running_jobs_can_be_stopped(backend: Backend) {
    // The job is held on a named pipe in place of its archive: archives in the data directory.
    let database = TestDatabase::new(backend).await.with_local_archives();
    let app = TestApp::spawn(&database).await;
    let tool = app.tool("ana", "user").await;
    let application = tool.create_application("Long").await;
    let version = tool
        .create_version(application, "1", ("p.tar.gz", tar_gz(&sample_project())))
        .await;
    let path = stored_archive(&database, version).await;
    let bytes = hold_archive(&path);

    let running = tool.start_analysis(application, version).await;
    let queued = tool.start_analysis(application, version).await;
    tool.wait_for(running, &["running"]).await;
    // One job at a time: the second waits.
    assert_eq!(
        tool.get(&format!("/rest/jobs/{queued}")).await.1["status"],
        "queued"
    );

    let (status, stopped) = tool
        .post(&format!("/rest/jobs/{queued}/stop"), &json!({}))
        .await;
    assert_eq!(status, StatusCode::OK, "{stopped}");
    assert_eq!(
        (stopped["status"].as_str(), stopped["stopped_by"].as_str()),
        (Some("stopped"), Some("ana"))
    );
    let (status, stopped) = tool
        .post(&format!("/rest/jobs/{running}/stop"), &json!({}))
        .await;
    assert_eq!(status, StatusCode::OK, "{stopped}");
    assert_eq!(stopped["status"], "stopped");
    assert!(stopped["finished_at"].is_string());

    // Stopping again is a conflict, and says why.
    let (status, body) = tool
        .post(&format!("/rest/jobs/{running}/stop"), &json!({}))
        .await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains("already finished (stopped)")
    );

    // The analysis that was waiting ends without overwriting the stop.
    release_archive(path.clone(), bytes.clone()).join().unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        tool.get(&format!("/rest/jobs/{running}")).await.1["status"],
        "stopped"
    );

    // The runner is free again.
    std::fs::remove_file(&path).unwrap();
    std::fs::write(&path, &bytes).unwrap();
    let next = tool.start_analysis(application, version).await;
    assert_eq!(
        tool.wait_for(next, &["succeeded", "failed"]).await["status"],
        "succeeded"
    );

    let stops: Vec<_> = events(&database)
        .await
        .into_iter()
        .filter(|event| event.0 == "job_stopped")
        .map(|event| (event.3, event.4))
        .collect();
    assert_eq!(
        stops,
        [
            (Some(queued), "ana".to_owned()),
            (Some(running), "ana".to_owned())
        ]
    );
}

async fn jobs_lost_in_a_restart_are_resumed_or_failed(backend: Backend) {
    // The job is held on a named pipe in place of its archive: archives in the data directory.
    let database = TestDatabase::new(backend).await.with_local_archives();
    let first = TestApp::spawn(&database).await;
    let tool = first.tool("ana", "user").await;
    let application = tool.create_application("Restarted").await;
    let version = tool
        .create_version(application, "1", ("p.tar.gz", tar_gz(&sample_project())))
        .await;
    let path = stored_archive(&database, version).await;
    let bytes = hold_archive(&path);
    let resumed = tool.start_analysis(application, version).await;
    let given_up = tool.start_analysis(application, version).await;
    tool.wait_for(resumed, &["running"]).await;
    // The server goes away mid-job (its tasks end with it).
    drop(first);
    tokio::time::sleep(Duration::from_millis(300)).await;
    release_archive(path.clone(), Vec::new()).join().unwrap();
    std::fs::remove_file(&path).unwrap();
    std::fs::write(&path, &bytes).unwrap();

    // The other job has already lost its runner three times.
    let db = Database::connect(&database.url).await.unwrap();
    execute(
        &db,
        &format!(
            "UPDATE jobs SET status = 'running', attempts = 3, heartbeat_at = started_at WHERE id = {given_up}"
        ),
    )
    .await;
    assert_eq!(job_row(&database, resumed).await, ("running".into(), 1));

    let second = TestApp::spawn_with(&database, |settings| {
        settings.jobs.stale_after = Duration::from_millis(500);
    })
    .await;
    let tool = Tool {
        base: second.address.clone(),
        ..tool
    };
    let done = tool.wait_for(resumed, &["succeeded", "failed"]).await;
    assert_eq!(done["status"], "succeeded", "{done}");
    assert_eq!(done["result"]["files"], 4);
    let failed = tool.wait_for(given_up, &["succeeded", "failed"]).await;
    assert_eq!(failed["status"], "failed");
    assert!(
        failed["error"]
            .as_str()
            .unwrap()
            .contains("The server stopped while this job was running (3 times)"),
        "{failed}"
    );
    let finished: Vec<_> = events(&database)
        .await
        .into_iter()
        .filter(|event| event.3.is_some())
        .map(|event| (event.0, event.3))
        .collect();
    assert_eq!(finished.len(), 2, "{finished:?}");
    assert!(finished.contains(&("job_succeeded".into(), Some(resumed))));
    assert!(finished.contains(&("job_failed".into(), Some(given_up))));
    drop(second);
}

/// With one job at a time, starting three runs one and leaves two queued (a claim takes one job,
/// however the database plans it).
async fn queued_jobs_wait_their_turn(backend: Backend) {
    // The job is held on a named pipe in place of its archive: archives in the data directory.
    let database = TestDatabase::new(backend).await.with_local_archives();
    let app = TestApp::spawn(&database).await;
    let tool = app.tool("patient", "user").await;
    let application = tool.create_application("MEUDON").await;
    let version = tool
        .create_version(application, "1.0", ("p.tar.gz", tar_gz(&sample_project())))
        .await;
    let path = stored_archive(&database, version).await;
    let bytes = hold_archive(&path);
    let jobs = [
        tool.start_analysis(application, version).await,
        tool.start_analysis(application, version).await,
        tool.start_analysis(application, version).await,
    ];
    tool.wait_for(jobs[0], &["running"]).await;
    // Give a wrongly claimed job time to show up as running.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let mut statuses = Vec::new();
    for job in jobs {
        statuses.push(tool.get(&format!("/rest/jobs/{job}")).await.1["status"].clone());
    }
    assert_eq!(
        statuses,
        [json!("running"), json!("queued"), json!("queued")]
    );
    for job in &jobs[1..] {
        let (status, _) = tool
            .post(&format!("/rest/jobs/{job}/stop"), &json!({}))
            .await;
        assert_eq!(status, StatusCode::OK);
    }
    release_archive(path, bytes).join().unwrap();
    tool.wait_for(jobs[0], &["succeeded"]).await;
}

/// A user has at most `CONSOLE_JOBS_PER_USER` jobs queued or running (429 above, nothing
/// queued), and the runner takes turns between users: another user's job, queued after three of
/// the first user's, runs before the first user's next one.
async fn one_user_cannot_crowd_out_another(backend: Backend) {
    // The job is held on a named pipe in place of its archive: archives in the data directory.
    let database = TestDatabase::new(backend).await.with_local_archives();
    let app = TestApp::spawn_with(&database, |settings| settings.jobs.per_user = 3).await;
    let busy = app.tool("busy", "user").await;
    let application = busy.create_application("Many").await;
    let version = busy
        .create_version(application, "1", ("p.tar.gz", tar_gz(&sample_project())))
        .await;
    let path = stored_archive(&database, version).await;
    let bytes = hold_archive(&path);
    let first = busy.start_analysis(application, version).await;
    busy.wait_for(first, &["running"]).await;
    let second = busy.start_analysis(application, version).await;
    let third = busy.start_analysis(application, version).await;
    let start = json!({ "application": application, "version": version, "type": "analyze" });
    let (status, body) = busy.post("/rest/jobs", &start).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{body}");
    assert_eq!(body["error"], "too_many_jobs");
    assert!(
        body["message"].as_str().unwrap().contains("3 jobs"),
        "{body}"
    );
    assert_eq!(busy.get("/rest/jobs").await.1.as_array().unwrap().len(), 3);

    let patient = app.tool("patient", "user").await;
    let theirs = patient.create_application("One").await;
    let their_version = patient
        .create_version(theirs, "1", ("p.zip", zip(&sample_project())))
        .await;
    let waiting = patient.start_analysis(theirs, their_version).await;

    // The first job ends. First come, first served would now run `second`, which waits on the
    // held archive forever; taking turns runs the other user's job.
    release_archive(path.clone(), bytes.clone()).join().unwrap();
    busy.wait_for(first, &["succeeded"]).await;
    patient.wait_for(waiting, &["succeeded"]).await;
    let status_of = |job: i64| {
        let busy = &busy;
        async move { busy.get(&format!("/rest/jobs/{job}")).await.1["status"].clone() }
    };
    assert!(
        [json!("queued"), json!("running")].contains(&status_of(second).await),
        "the busy user's second job ran before the other user's"
    );
    // Back under the cap once a job has ended.
    let (status, body) = busy.post("/rest/jobs", &start).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    for job in [third, body["id"].as_i64().unwrap()] {
        busy.post(&format!("/rest/jobs/{job}/stop"), &json!({}))
            .await;
    }
    busy.wait_for(second, &["running"]).await;
    release_archive(path, bytes).join().unwrap();
    busy.wait_for(second, &["succeeded"]).await;
}

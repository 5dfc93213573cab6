//! The archive store shared by instances: what one instance stored, another reads; what no
//! version names is swept.

use std::time::Duration;

use bytes::Bytes;

use crate::archives::{sample_project, tar_gz, zip};
use crate::helpers::{Backend, RUNTIME, TestApp, TestDatabase, Tool};
use crate::on_both_databases;

on_both_databases!(archives_no_version_names_are_swept_after_an_hour);

/// Two instances on one PostgreSQL with data directories of their own, as on two machines, and
/// the S3 store: an archive uploaded through the first is analysed by the second after the
/// first is gone.
#[test]
fn an_archive_uploaded_on_one_instance_is_analysed_on_another() {
    RUNTIME.block_on(async {
        let database = TestDatabase::new(Backend::Postgres).await;
        assert!(database.archive_store.is_some());
        let first = TestApp::spawn(&database).await;
        let tool = first.tool("traveller", "user").await;
        let application = tool.create_application("Travels").await;
        let tarball = tool
            .create_version(application, "1", ("p.tar.gz", tar_gz(&sample_project())))
            .await;
        let zipped = tool
            .create_version(application, "2", ("p.zip", zip(&sample_project())))
            .await;
        drop(first);

        let elsewhere = tempfile::tempdir().unwrap();
        let second = TestApp::spawn_with(&database, |settings| {
            settings.data_dir = elsewhere.path().to_owned();
        })
        .await;
        let tool = Tool {
            base: second.address.clone(),
            ..tool
        };
        for version in [tarball, zipped] {
            let job = tool.start_analysis(application, version).await;
            let done = tool.wait_for(job, &["succeeded", "failed"]).await;
            assert_eq!(done["status"], "succeeded", "{done}");
            assert_eq!(done["result"]["files"], 4);
        }
        // Neither instance kept an archive in its data directory.
        for data_dir in [&database.data_dir, &elsewhere.path().to_owned()] {
            assert!(
                !data_dir.join("archives").exists(),
                "{}",
                data_dir.display()
            );
        }
        database.assert_only_versions_archived().await;
    });
}

async fn archives_no_version_names_are_swept_after_an_hour(backend: Backend) {
    let (database, app) = TestApp::on(backend).await;
    let tool = app.tool("sweeper", "user").await;
    let application = tool.create_application("Swept").await;
    tool.create_version(application, "1", ("p.tar.gz", tar_gz(&sample_project())))
        .await;
    // What a crash between storing an archive and committing its version leaves.
    let store = &app.state().config.archives;
    let mut orphan = store.incoming(store.turn(1).await.unwrap());
    orphan
        .write(Bytes::from_static(b"left behind"))
        .await
        .unwrap();
    orphan.finish().await.unwrap();
    let orphan_key = orphan.key().to_owned();
    orphan.keep();
    let db = &app.state().db;
    // Younger than the age given: it may be an upload about to commit.
    assert_eq!(store.sweep(db, Duration::from_secs(3600)).await.unwrap(), 0);
    assert!(store.keys().await.unwrap().contains(&orphan_key));
    assert_eq!(store.sweep(db, Duration::ZERO).await.unwrap(), 1);
    database.assert_only_versions_archived().await;
    // The version's archive is still read.
    let version = tool
        .get(&format!("/rest/applications/{application}/versions"))
        .await
        .1[0]["id"]
        .as_i64()
        .unwrap();
    let job = tool.start_analysis(application, version).await;
    let done = tool.wait_for(job, &["succeeded", "failed"]).await;
    assert_eq!(done["status"], "succeeded", "{done}");
}

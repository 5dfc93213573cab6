//! What the server leaves on disk is its user's alone: no file or directory it creates can be
//! read by others (the data dir holds the database — sessions —, spooled mail and archives).

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use reqwest::StatusCode;

use crate::archives::{sample_project, tar_gz};
use crate::helpers::{Backend, TestApp, TestDatabase};
use crate::on_both_databases;
use crate::smtp::Mailbox;

on_both_databases!(everything_the_server_creates_is_private);

async fn everything_the_server_creates_is_private(backend: Backend) {
    let database = TestDatabase::new(backend).await.with_local_archives();
    let app = TestApp::binary(&database, &[]).await;
    let owner = app.tool("owner", "user").await;
    // A verification mail, spooled to the data dir (no mail server is set up), and an archive.
    let saved = owner
        .browser
        .server_fn("update_email_settings", &[("email", "owner@example.com")])
        .await;
    assert_eq!(saved.status(), StatusCode::OK);
    let application = owner.create_application("Private").await;
    owner
        .create_version(application, "1.0", ("p.tar.gz", tar_gz(&sample_project())))
        .await;
    Mailbox(database.data_dir.join("mail")).wait_for(1).await;

    let mut created = Vec::new();
    walk(&database.data_dir, &mut created);
    let named = |ending: &str| created.iter().any(|(path, _)| path.ends_with(ending));
    assert!(named(".eml") && named("/archives"), "{created:?}");
    if matches!(backend, Backend::Sqlite) {
        assert!(named("/console.db"), "{created:?}");
    }
    let open: Vec<_> = created
        .iter()
        .filter(|(_, mode)| mode & 0o077 != 0)
        .collect();
    assert!(open.is_empty(), "readable by others: {open:?}");
}

/// Every file and directory under `dir`, with its permission bits.
fn walk(dir: &Path, found: &mut Vec<(String, u32)>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let mode = std::fs::symlink_metadata(&path)
            .unwrap()
            .permissions()
            .mode()
            & 0o777;
        found.push((path.display().to_string(), mode));
        if path.is_dir() {
            walk(&path, found);
        }
    }
}

on_both_databases!(the_sessions_table_holds_no_cookie);

/// A reader of the database finds no session cookie in it: sessions are kept by the digest of
/// the cookie's value.
async fn the_sessions_table_holds_no_cookie(backend: Backend) {
    use sea_orm::{ConnectionTrait, Statement};

    let (_db, app) = TestApp::on(backend).await;
    let browser = app.signed_in("someone", "user").await;
    let cookie = browser.cookie_header();
    let value = cookie
        .split(';')
        .find_map(|pair| pair.trim().strip_prefix("console_session="))
        .expect("a session cookie")
        .to_owned();
    let db = &app.state().db;
    let ids: Vec<String> = db
        .query_all_raw(Statement::from_string(
            db.get_database_backend(),
            "SELECT id FROM sessions",
        ))
        .await
        .unwrap()
        .iter()
        .map(|row| row.try_get_by_index(0).unwrap())
        .collect();
    assert!(!ids.is_empty());
    assert!(
        !ids.contains(&value),
        "the cookie's value is in the database"
    );
    assert!(ids.contains(&app::auth::ssr::sessions::stored_id(
        &value.parse().unwrap()
    )));
    // And the cookie still signs the browser in.
    assert_eq!(browser.rest_user().await.status(), StatusCode::OK);
}

//! Paged lists: every REST list walked page by page through its `Link` header sees each row
//! exactly once and in order, with rows added while walking; filters, bad cursors and limits;
//! the pages' plain "Next page" links; and `GET /rest`, the API's root.
//!
//! The rows behind the lists are written straight into the database (250 of each, in one
//! statement a list): through the API, 250 accounts would be 250 password hashes.

use std::collections::HashSet;

use chrono::Utc;
use reqwest::StatusCode;
use sea_orm::{ActiveValue::Set, ConnectionTrait, EntityTrait};
use serde_json::Value;

use app::applications::jobs::{JobKind, JobStatus};
use app::archives::ArchiveFormat;
use app::auth::Role;
use app::auth::log::SecurityEventKind;
use app::db::entity::{application, job, security_event, user, version};

use crate::helpers::{Backend, TestApp, Tool};
use crate::on_both_databases;

on_both_databases!(
    rest_lists_walk_every_row_once_in_order,
    filters_limits_and_bad_cursors_are_clear,
    the_rest_root_answers_whoever_authenticates,
    pages_link_to_the_next_page_without_javascript,
);

/// Rows written behind each list.
const ROWS: usize = 250;
/// A page size that leaves a short last page.
const LIMIT: usize = 37;

/// Walks a list from `first`, following `Link: <…>; rel="next"`; `between` runs once, after the
/// first page. Every page but the last is full, and the last has no link.
async fn walk(tool: &Tool, first: &str, between: impl AsyncFnOnce()) -> Vec<Value> {
    let mut rows = Vec::new();
    let mut next = Some(first.to_owned());
    let mut between = Some(between);
    let mut pages = 0;
    while let Some(path) = next {
        let (status, body, link) = tool.get_page(&path).await;
        assert_eq!(status, StatusCode::OK, "{path}: {body}");
        let page = body.as_array().expect("a JSON array");
        assert!(page.len() <= LIMIT, "{path}: {} rows", page.len());
        if link.is_some() {
            assert_eq!(page.len(), LIMIT, "{path}: a short page before the last");
            assert!(link.as_deref().unwrap().contains("limit=37"), "{link:?}");
        }
        rows.extend(page.iter().cloned());
        next = link;
        pages += 1;
        assert!(pages <= ROWS, "the walk does not end");
        if let Some(between) = between.take() {
            between().await;
        }
    }
    rows
}

fn ids(rows: &[Value]) -> Vec<i64> {
    rows.iter().map(|row| row["id"].as_i64().unwrap()).collect()
}

fn texts(rows: &[Value], field: &str) -> Vec<String> {
    rows.iter()
        .map(|row| row[field].as_str().unwrap().to_owned())
        .collect()
}

/// Each of `expected` appears exactly once in `seen`.
fn each_once<T: std::hash::Hash + Eq + std::fmt::Debug + Clone>(seen: &[T], expected: &[T]) {
    let mut unique = HashSet::new();
    for row in seen {
        assert!(unique.insert(row.clone()), "{row:?} seen twice");
    }
    for row in expected {
        assert!(unique.contains(row), "{row:?} never seen");
    }
}

fn strictly_decreasing(ids: &[i64]) {
    assert!(ids.windows(2).all(|pair| pair[0] > pair[1]), "{ids:?}");
}

/// The database id of `username`.
async fn user_id(app: &TestApp, username: &str) -> i64 {
    use sea_orm::{ColumnTrait, QueryFilter};
    user::Entity::find()
        .filter(user::Column::Username.eq(username))
        .one(&app.state().db)
        .await
        .unwrap()
        .unwrap()
        .id
}

async fn insert_applications(
    db: &impl ConnectionTrait,
    owner: i64,
    names: impl Iterator<Item = String>,
) {
    application::Entity::insert_many(names.map(|name| application::ActiveModel {
        name: Set(name),
        owner_id: Set(owner),
        created_at: Set(Utc::now()),
        ..Default::default()
    }))
    .exec(db)
    .await
    .unwrap();
}

async fn insert_versions(
    db: &impl ConnectionTrait,
    application: i64,
    by: i64,
    names: impl Iterator<Item = String>,
) {
    version::Entity::insert_many(names.map(|name| version::ActiveModel {
        application_id: Set(application),
        archive_key: Set(format!("seeded/{application}/{name}")),
        name: Set(name),
        archive_format: Set(ArchiveFormat::TarGz),
        archive_bytes: Set(1),
        archive_sha256: Set("0".repeat(64)),
        created_by: Set(by),
        created_at: Set(Utc::now()),
        ..Default::default()
    }))
    .exec(db)
    .await
    .unwrap();
}

async fn insert_jobs(
    db: &impl ConnectionTrait,
    application: i64,
    version: i64,
    by: i64,
    count: usize,
) {
    job::Entity::insert_many((0..count).map(|_| job::ActiveModel {
        application_id: Set(application),
        version_id: Set(version),
        kind: Set(JobKind::Analyze),
        status: Set(JobStatus::Failed),
        progress: Set(0),
        attempts: Set(1),
        created_by: Set(by),
        created_at: Set(Utc::now()),
        error: Set(Some("seeded".to_owned())),
        ..Default::default()
    }))
    .exec(db)
    .await
    .unwrap();
}

async fn insert_users(db: &impl ConnectionTrait, names: impl Iterator<Item = String>) {
    user::Entity::insert_many(names.map(|username| user::ActiveModel {
        name: Set(format!("Seeded {username}")),
        username: Set(username),
        role: Set(Role::User),
        // No password opens a seeded account.
        password_hash: Set("!".to_owned()),
        notifications: Set(false),
        created_at: Set(Utc::now()),
        session_epoch: Set(0),
        must_change_password: Set(false),
        email_verified: Set(true),
        ..Default::default()
    }))
    .exec(db)
    .await
    .unwrap();
}

async fn insert_events(db: &impl ConnectionTrait, user_id: i64, count: usize) {
    security_event::Entity::insert_many((0..count).map(|index| security_event::ActiveModel {
        user_id: Set(user_id),
        kind: Set(SecurityEventKind::SignInFailed),
        at: Set(Utc::now()),
        ip: Set(Some("127.0.0.1".to_owned())),
        detail: Set(Some(format!("seeded {index}"))),
        ..Default::default()
    }))
    .exec(db)
    .await
    .unwrap();
}

/// `count` names that sort as numbered, inserted in an order unlike that (ids and names
/// disagree, so an order by id would show).
fn shuffled_names(prefix: &str, count: usize) -> Vec<String> {
    let mut names: Vec<String> = (0..count)
        .map(|index| format!("{prefix}-{index:03}"))
        .collect();
    names.sort_by_key(|name| name.bytes().rev().collect::<Vec<u8>>());
    names
}

async fn rest_lists_walk_every_row_once_in_order(backend: Backend) {
    let (_db, app) = TestApp::on(backend).await;
    let admin = app.admin().await;
    let ana = app.tool("ana", "user").await;
    let db = &app.state().db;
    let ana_id = user_id(&app, "ana").await;

    // Applications, by name.
    let names = shuffled_names("app", ROWS);
    insert_applications(db, ana_id, names.iter().cloned()).await;
    let seen = walk(&ana, "/rest/applications?limit=37", async || {
        // One before the walk's position (never shown) and one after it (shown once).
        insert_applications(
            db,
            ana_id,
            ["app-000a".to_owned(), "app-999".to_owned()].into_iter(),
        )
        .await;
    })
    .await;
    let seen_names = texts(&seen, "name");
    assert!(
        seen_names.windows(2).all(|pair| pair[0] < pair[1]),
        "{seen_names:?}"
    );
    each_once(&seen_names, &names);
    assert!(seen_names.contains(&"app-999".to_owned()));
    assert!(!seen_names.contains(&"app-000a".to_owned()));
    // Administrators walk everyone's, the same way.
    let all = walk(&admin, "/rest/applications?limit=37", async || {}).await;
    each_once(&texts(&all, "name"), &names);

    // Versions, newest first: rows added while walking are newer than the walk.
    let application = ana.create_application("versions").await;
    insert_versions(
        db,
        application,
        ana_id,
        (0..ROWS).map(|index| format!("v{index}")),
    )
    .await;
    let path = format!("/rest/applications/{application}/versions?limit=37");
    let first = walk(&ana, &path, async || {}).await;
    let expected = ids(&first);
    assert_eq!(expected.len(), ROWS);
    let seen = walk(&ana, &path, async || {
        insert_versions(db, application, ana_id, ["late".to_owned()].into_iter()).await;
    })
    .await;
    strictly_decreasing(&ids(&seen));
    assert_eq!(ids(&seen), expected);

    // Jobs, newest first, of one application and of all the caller's.
    let version = ids(&first)[0];
    insert_jobs(db, application, version, ana_id, ROWS).await;
    let path = format!("/rest/jobs?application={application}&limit=37");
    let seen = walk(&ana, &path, async || {
        insert_jobs(db, application, version, ana_id, 3).await;
    })
    .await;
    strictly_decreasing(&ids(&seen));
    assert_eq!(seen.len(), ROWS);
    let theirs = walk(&ana, "/rest/jobs?limit=37", async || {}).await;
    assert_eq!(ids(&theirs).len(), ROWS + 3);
    strictly_decreasing(&ids(&theirs));
    let everyone = walk(&admin, "/rest/jobs?limit=37", async || {}).await;
    assert_eq!(everyone.len(), ROWS + 3);
    strictly_decreasing(&ids(&everyone));

    // Accounts, by username (the administrator, ana and 250 more).
    let usernames = shuffled_names("user", ROWS);
    insert_users(db, usernames.iter().cloned()).await;
    let seen = walk(&admin, "/rest/users?limit=37", async || {
        insert_users(db, ["a-first".to_owned(), "zz-last".to_owned()].into_iter()).await;
    })
    .await;
    let seen_names = texts(&seen, "username");
    assert!(
        seen_names.windows(2).all(|pair| pair[0] < pair[1]),
        "{seen_names:?}"
    );
    each_once(&seen_names, &usernames);
    assert!(seen_names.contains(&"zz-last".to_owned()));
    assert!(!seen_names.contains(&"a-first".to_owned()));

    // The caller's security events, newest first.
    insert_events(db, ana_id, ROWS).await;
    let seen = walk(&ana, "/rest/user/events?limit=37", async || {
        insert_events(db, ana_id, 2).await;
    })
    .await;
    strictly_decreasing(&ids(&seen));
    // Signing in and generating the key were recorded too.
    assert!(seen.len() >= ROWS, "{}", seen.len());
    let seeded = seen
        .iter()
        .filter(|event| {
            event["detail"]
                .as_str()
                .is_some_and(|d| d.starts_with("seeded"))
        })
        .count();
    assert_eq!(seeded, ROWS);
}

async fn filters_limits_and_bad_cursors_are_clear(backend: Backend) {
    let (_db, app) = TestApp::on(backend).await;
    let ana = app.tool("ana", "user").await;
    let ana_id = user_id(&app, "ana").await;
    insert_applications(
        &app.state().db,
        ana_id,
        ["Web-Shop", "webshop-2", "billing", "100%_done"]
            .map(str::to_owned)
            .into_iter(),
    )
    .await;
    let (status, body) = ana.get("/rest/applications?name=SHOP").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        texts(body.as_array().unwrap(), "name"),
        ["Web-Shop", "webshop-2"]
    );
    // `%` and `_` match themselves.
    let (_, body) = ana.get("/rest/applications?name=%25_").await;
    assert_eq!(texts(body.as_array().unwrap(), "name"), ["100%_done"]);
    // The default page holds them all, and says no more.
    let (status, body, next) = ana.get_page("/rest/applications").await;
    assert_eq!(
        (status, body.as_array().unwrap().len(), next),
        (StatusCode::OK, 4, None)
    );
    // The last page has no link.
    let (_, body, next) = ana.get_page("/rest/applications?limit=3").await;
    assert_eq!(body.as_array().unwrap().len(), 3);
    let (_, body, last) = ana.get_page(&next.unwrap()).await;
    assert_eq!((body.as_array().unwrap().len(), last), (1, None));

    for (path, field) in [
        ("/rest/applications?cursor=%%%", "cursor"),
        ("/rest/applications?cursor=bm90IGpzb24", "cursor"),
        ("/rest/applications?limit=0", "limit"),
        ("/rest/applications?limit=501", "limit"),
        ("/rest/jobs?limit=-1", "limit"),
        ("/rest/user/events?cursor=e30", "cursor"),
    ] {
        let (status, body) = ana.get(path).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{path}: {body}");
        assert_eq!(body["field"], field, "{path}: {body}");
    }
    // A cursor of one list is refused by a list in another order.
    let (_, _, next) = ana.get_page("/rest/applications?limit=1").await;
    let cursor = next.unwrap().split("cursor=").nth(1).unwrap().to_owned();
    let (status, body) = ana.get(&format!("/rest/user/events?cursor={cursor}")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(body["field"], "cursor");
}

async fn the_rest_root_answers_whoever_authenticates(backend: Backend) {
    let (_db, app) = TestApp::on(backend).await;
    let ana = app.tool("ana", "user").await;
    let (status, body) = ana.get("/rest").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["user"], "ana");
    assert_eq!(body["links"]["openapi"], "/rest/openapi.json");
    assert_eq!(body["version"], env!("CARGO_PKG_VERSION"));

    let client = reqwest::Client::new();
    let wrong = client
        .get(app.url("/rest"))
        .header("X-API-KEY", "abcdefgh.abcdefghabcdefghabcdefghabcdefgh")
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
    let none = client.get(app.url("/rest")).send().await.unwrap();
    assert_eq!(none.status(), StatusCode::UNAUTHORIZED);
}

/// The first link in `page` whose text is `label`, unescaped.
fn link_labelled(page: &str, label: &str) -> Option<String> {
    let end = page.find(&format!(">{label}"))?;
    let start = page[..end].rfind("href=\"")? + "href=\"".len();
    let href = &page[start..end];
    Some(href[..href.find('"')?].replace("&amp;", "&"))
}

async fn pages_link_to_the_next_page_without_javascript(backend: Backend) {
    let (_db, app) = TestApp::on(backend).await;
    let ana = app.signed_in("ana", "user").await;
    let ana_id = user_id(&app, "ana").await;
    let names = shuffled_names("app", 120);
    insert_applications(&app.state().db, ana_id, names.iter().cloned()).await;

    // 50 a page, by name, through plain links.
    let mut seen = Vec::new();
    let mut path = Some("/applications".to_owned());
    while let Some(current) = path {
        let response = ana.get(&current).await;
        assert_eq!(response.status(), StatusCode::OK, "{current}");
        let page = response.text().await.unwrap();
        let on_page: Vec<String> = names
            .iter()
            .filter(|name| page.contains(&format!(">{name}</a>")))
            .cloned()
            .collect();
        assert!(on_page.len() <= 50, "{current}: {}", on_page.len());
        seen.extend(on_page);
        path = link_labelled(&page, "Next page");
    }
    let mut sorted = names.clone();
    sorted.sort();
    seen.sort();
    assert_eq!(seen, sorted);

    // A filter keeps to its rows; a cursor that cannot be read is a 400 page.
    let page = ana.page("/applications?name=app-11").await;
    assert!(page.contains(">app-110</a>") && !page.contains(">app-010</a>"));
    let response = ana.get("/applications?after=garbage").await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert!(
        response
            .text()
            .await
            .unwrap()
            .contains("This page link cannot be read")
    );

    // Administration: a page of accounts links to each account's page, where its actions are.
    let admin = app.browser();
    admin.sign_in("admin", crate::helpers::ADMIN_PASSWORD).await;
    insert_users(&app.state().db, shuffled_names("user", 60).into_iter()).await;
    let page = admin.page("/admin").await;
    assert!(page.contains("href=\"/admin/users/ana\""), "{page}");
    assert!(
        !page.contains("Yes, disable"),
        "row actions are on the account's page"
    );
    let next = link_labelled(&page, "Next page").expect("a second page of accounts");
    let second = admin.page(&next).await;
    assert!(second.contains("user-059"), "{second}");
    let account = admin.page("/admin/users/ana").await;
    assert!(account.contains("Yes, disable") && account.contains("Reset password"));
    let filtered = admin.page("/admin?q=USER-05&state=active").await;
    assert!(filtered.contains("user-050") && !filtered.contains("user-040"));
    assert_eq!(
        admin.get("/admin?after=garbage").await.status(),
        StatusCode::BAD_REQUEST
    );
    assert_eq!(
        admin.get("/admin/users/nobody").await.status(),
        StatusCode::NOT_FOUND
    );
}

//! API keys end to end: generate/delete through the profile's server functions, `X-API-KEY` on
//! the REST API, instant invalidation (also across instances), storage, audit and throttling.

use std::net::IpAddr;

use reqwest::StatusCode;
use reqwest::header::{LOCATION, RETRY_AFTER, SET_COOKIE, WWW_AUTHENTICATE};
use sea_orm::{ConnectionTrait, Database, Statement};
use serde_json::Value;

use crate::helpers::{
    ADMIN_PASSWORD, Backend, Browser, TestApp, TestDatabase, json, rest_user_with_key_from,
};
use crate::on_both_databases;

on_both_databases!(
    valid_key_authenticates_as_its_owner,
    wrong_and_malformed_keys_are_401,
    a_present_api_key_decides_alone,
    regenerating_invalidates_the_old_key_at_once,
    deleting_invalidates_the_key,
    concurrent_generates_leave_exactly_one_working_key,
    replacing_on_one_instance_invalidates_on_another,
    failing_clients_are_throttled_while_others_keep_working,
    only_prefix_and_digest_are_stored_and_changes_are_audited,
    last_use_is_recorded,
    plain_form_generate_shows_the_key_exactly_once,
);

async fn generate(browser: &Browser) -> String {
    let response = browser.server_fn("generate_api_key", &[]).await;
    assert_eq!(response.status(), StatusCode::OK);
    let state = json(response).await;
    let key = state["new_key"].as_str().expect("a new key").to_owned();
    assert_eq!(state["info"]["prefix"], &key[..8]);
    key
}

fn assert_key_shape(key: &str) {
    let (prefix, secret) = key.split_once('.').expect("a dot");
    assert_eq!(key.len(), 41);
    assert_eq!(prefix.len(), 8);
    assert!(
        prefix
            .chars()
            .chain(secret.chars())
            .all(|c| c.is_ascii_alphanumeric())
    );
}

async fn assert_rejected(response: reqwest::Response) {
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert!(response.headers().contains_key(WWW_AUTHENTICATE));
    let body = json(response).await;
    assert_eq!(body["error"], "invalid_api_key", "{body}");
}

async fn valid_key_authenticates_as_its_owner(backend: Backend) {
    let (_db, app) = TestApp::on(backend).await;
    let browser = app.signed_in("tooluser", "user").await;
    let key = generate(&browser).await;
    assert_key_shape(&key);
    let response = app.rest_user_with_key(&key).await;
    assert_eq!(response.status(), StatusCode::OK);
    let user = json(response).await;
    assert_eq!(user["username"], "tooluser");
    assert_eq!(user["role"], "user");
}

async fn wrong_and_malformed_keys_are_401(backend: Backend) {
    let (_db, app) = TestApp::on(backend).await;
    let browser = app.signed_in("owner", "user").await;
    let key = generate(&browser).await;
    let mut wrong_secret = key.clone();
    wrong_secret.replace_range(40.., if key.ends_with('a') { "b" } else { "a" });
    let unknown_prefix = format!("ZZZZZZZZ{}", &key[8..]);
    let oversized = "A".repeat(10_000);
    for bad in [
        wrong_secret.as_str(),
        unknown_prefix.as_str(),
        "",
        "short",
        "06935MrA.G7LStH3Ck9sgeHBYokzIjTdv2DTbicsT",
        oversized.as_str(),
        &key[..40],
        // HTTP drops surrounding whitespace, so break the key inside instead.
        &format!("{} {}", &key[..20], &key[21..]),
    ] {
        assert_rejected(app.rest_user_with_key(bad).await).await;
    }
    // Non-ASCII bytes in the header value.
    let response = reqwest::Client::new()
        .get(app.url("/rest/user"))
        .header(
            "X-API-KEY",
            reqwest::header::HeaderValue::from_bytes(b"\xe9t\xe9.\xff").unwrap(),
        )
        .send()
        .await
        .unwrap();
    assert_rejected(response).await;
}

async fn a_present_api_key_decides_alone(backend: Backend) {
    let (_db, app) = TestApp::on(backend).await;
    // Valid Basic credentials do not rescue a wrong key…
    let response = reqwest::Client::new()
        .get(app.url("/rest/user"))
        .basic_auth("admin", Some(ADMIN_PASSWORD))
        .header("X-API-KEY", "not-a-key")
        .send()
        .await
        .unwrap();
    assert_rejected(response).await;
    // …nor does a valid session.
    let browser = app.signed_in("sessioned", "user").await;
    let response = browser
        .client
        .get(browser.url("/rest/user"))
        .header("X-API-KEY", "")
        .send()
        .await
        .unwrap();
    assert_rejected(response).await;
}

async fn regenerating_invalidates_the_old_key_at_once(backend: Backend) {
    let (_db, app) = TestApp::on(backend).await;
    let browser = app.signed_in("rotator", "admin").await;
    let old = generate(&browser).await;
    assert_eq!(app.rest_user_with_key(&old).await.status(), StatusCode::OK);
    let new = generate(&browser).await;
    assert_ne!(old, new);
    assert_rejected(app.rest_user_with_key(&old).await).await;
    assert_eq!(app.rest_user_with_key(&new).await.status(), StatusCode::OK);
}

async fn deleting_invalidates_the_key(backend: Backend) {
    let (_db, app) = TestApp::on(backend).await;
    let browser = app.signed_in("deleter", "user").await;
    let key = generate(&browser).await;
    assert_eq!(app.rest_user_with_key(&key).await.status(), StatusCode::OK);
    let response = browser.server_fn("delete_api_key", &[]).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_rejected(app.rest_user_with_key(&key).await).await;
    let state = json(browser.server_fn("api_key", &[]).await).await;
    assert_eq!(state["info"], Value::Null);
}

async fn concurrent_generates_leave_exactly_one_working_key(backend: Backend) {
    let (_db, app) = TestApp::on(backend).await;
    let browser = std::sync::Arc::new(app.signed_in("racer", "user").await);
    let tasks: Vec<_> = (0..50)
        .map(|_| {
            let browser = browser.clone();
            tokio::spawn(async move { generate(&browser).await })
        })
        .collect();
    let mut keys = Vec::new();
    for task in tasks {
        keys.push(task.await.expect("generate task"));
    }
    let mut working = 0;
    for (i, key) in (1u8..).zip(&keys) {
        // Each from its own address, so 49 refused keys do not get the checker throttled.
        let from = IpAddr::from([127, 0, 1, i]);
        if rest_user_with_key_from(&app.address, key, Some(from))
            .await
            .status()
            == StatusCode::OK
        {
            working += 1;
        }
    }
    assert_eq!(
        working, 1,
        "exactly one of 50 concurrently generated keys works"
    );
}

async fn replacing_on_one_instance_invalidates_on_another(backend: Backend) {
    let database = TestDatabase::new(backend).await;
    let first = TestApp::spawn(&database).await;
    let second = TestApp::spawn(&database).await;
    let browser = first.signed_in("twoplaces", "user").await;
    let old = generate(&browser).await;
    assert_eq!(
        second.rest_user_with_key(&old).await.status(),
        StatusCode::OK
    );
    let new = generate(&browser).await;
    assert_rejected(second.rest_user_with_key(&old).await).await;
    assert_eq!(
        second.rest_user_with_key(&new).await.status(),
        StatusCode::OK
    );
}

async fn failing_clients_are_throttled_while_others_keep_working(backend: Backend) {
    let (_db, app) = TestApp::on(backend).await;
    let browser = app.signed_in("victim", "user").await;
    let key = generate(&browser).await;
    let abuser: IpAddr = [127, 0, 0, 2].into();
    let honest: IpAddr = [127, 0, 0, 3].into();
    let mut statuses = Vec::new();
    for attempt in 0..30 {
        let guess = format!("{}{:032}", &key[..9], attempt);
        let response = rest_user_with_key_from(&app.address, &guess, Some(abuser)).await;
        if response.status() == StatusCode::TOO_MANY_REQUESTS {
            let retry_after: u64 = response.headers()[RETRY_AFTER]
                .to_str()
                .unwrap()
                .parse()
                .unwrap();
            assert!(retry_after >= 1);
            assert_eq!(json(response).await["error"], "too_many_requests");
            statuses.push(429);
        } else {
            statuses.push(response.status().as_u16());
        }
        // Meanwhile a valid key from another address is served.
        let ok = rest_user_with_key_from(&app.address, &key, Some(honest)).await;
        assert_eq!(ok.status(), StatusCode::OK);
    }
    assert!(statuses[..20].iter().all(|s| *s == 401), "{statuses:?}");
    assert!(statuses[20..].iter().all(|s| *s == 429), "{statuses:?}");
    // While throttled, the abuser is refused before any check — even with a valid key.
    let refused = rest_user_with_key_from(&app.address, &key, Some(abuser)).await;
    assert_eq!(refused.status(), StatusCode::TOO_MANY_REQUESTS);
}

async fn only_prefix_and_digest_are_stored_and_changes_are_audited(backend: Backend) {
    let (database, app) = TestApp::on(backend).await;
    let browser = app.signed_in("audited", "user").await;
    let first = generate(&browser).await;
    let second = generate(&browser).await;
    browser.server_fn("delete_api_key", &[]).await;
    let third = generate(&browser).await;

    let db = Database::connect(&database.url).await.unwrap();
    let backend = db.get_database_backend();
    let rows = db
        .query_all_raw(Statement::from_string(
            backend,
            "SELECT prefix, digest FROM api_keys",
        ))
        .await
        .unwrap();
    assert_eq!(rows.len(), 1);
    let prefix: String = rows[0].try_get("", "prefix").unwrap();
    let digest: Vec<u8> = rows[0].try_get("", "digest").unwrap();
    assert_eq!(prefix, &third[..8]);
    assert_eq!(digest.len(), 32);
    for key in [&first, &second, &third] {
        assert!(!digest.windows(8).any(|w| w == &key.as_bytes()[9..17]));
    }

    let events = db
        .query_all_raw(Statement::from_string(
            backend,
            "SELECT e.kind, e.ip FROM security_events e JOIN users u ON u.id = e.user_id \
             WHERE u.username = 'audited' AND e.kind LIKE 'api_key_%' ORDER BY e.id",
        ))
        .await
        .unwrap();
    let actions: Vec<String> = events
        .iter()
        .map(|row| row.try_get("", "kind").unwrap())
        .collect();
    assert_eq!(
        actions,
        [
            "api_key_created",
            "api_key_replaced",
            "api_key_deleted",
            "api_key_created"
        ]
    );
    let ip: Option<String> = events[0].try_get("", "ip").unwrap();
    assert_eq!(ip.as_deref(), Some("127.0.0.1"));
}

async fn last_use_is_recorded(backend: Backend) {
    let (_db, app) = TestApp::on(backend).await;
    let browser = app.signed_in("user_of_keys", "user").await;
    let key = generate(&browser).await;
    let state = json(browser.server_fn("api_key", &[]).await).await;
    assert_eq!(state["info"]["last_used_at"], Value::Null);
    let response = rest_user_with_key_from(&app.address, &key, Some([127, 0, 0, 9].into())).await;
    assert_eq!(response.status(), StatusCode::OK);
    // Recorded off the request path: give the background write a moment.
    let mut recorded = Value::Null;
    for _ in 0..50 {
        let state = json(browser.server_fn("api_key", &[]).await).await;
        if state["info"]["last_used_ip"] != Value::Null {
            recorded = state["info"].clone();
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert_eq!(recorded["last_used_ip"], "127.0.0.9");
    assert!(recorded["last_used_at"].is_string());
    // The secret is never part of what the panel is told afterwards.
    assert_eq!(
        json(browser.server_fn("api_key", &[]).await).await["new_key"],
        Value::Null
    );
}

async fn plain_form_generate_shows_the_key_exactly_once(backend: Backend) {
    let (_db, app) = TestApp::on(backend).await;
    let browser = app.signed_in("formuser", "user").await;
    let response = browser
        .plain_form("generate_api_key", &[], "/profile")
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(response.headers()[LOCATION], "/profile#api-key");
    let flash = response.headers()[SET_COOKIE].to_str().unwrap().to_owned();
    assert!(
        flash.contains("HttpOnly") && flash.contains("Path=/profile"),
        "{flash}"
    );

    let page = browser.get("/profile").await;
    let html = page.text().await.unwrap();
    let marker = "<textarea id=\"new-api-key\"";
    assert!(html.contains(marker), "the new key is shown");
    let after_marker = &html[html.find(marker).unwrap()..];
    // The text area's content.
    let start = after_marker.find('>').map(|i| i + 1).unwrap();
    let key = &after_marker[start..start + 41];
    assert_key_shape(key);
    assert_eq!(app.rest_user_with_key(key).await.status(), StatusCode::OK);

    let again = browser.page("/profile").await;
    assert!(!again.contains(key), "the key is shown only once");
    assert!(again.contains(&format!("{}.••••", &key[..8])));

    // Delete as a plain form too.
    let response = browser.plain_form("delete_api_key", &[], "/profile").await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_rejected(app.rest_user_with_key(key).await).await;
}

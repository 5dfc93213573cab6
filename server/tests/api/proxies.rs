//! Behind a reverse proxy: the client is the address a trusted proxy forwarded, for throttles,
//! "last used from" and the audit rows; a peer that is not trusted cannot name another client.

use std::net::IpAddr;

use reqwest::{Client, StatusCode};
use sea_orm::{ConnectionTrait, Database, Statement};
use serde_json::Value;

use crate::helpers::{Backend, TestApp, TestDatabase, json};
use crate::on_both_databases;

on_both_databases!(
    a_trusted_proxy_names_the_client,
    forwarded_addresses_from_an_untrusted_peer_are_ignored,
);

/// `GET /rest/user` with `key`, sent from `peer` as if a proxy forwarded it for `client`.
async fn rest_user(app: &TestApp, key: &str, peer: IpAddr, client: &str) -> StatusCode {
    Client::builder()
        .local_address(peer)
        .build()
        .unwrap()
        .get(app.url("/rest/user"))
        .header("X-API-KEY", key)
        .header("X-Forwarded-For", client)
        .send()
        .await
        .unwrap()
        .status()
}

/// The statuses of bad keys from one client: 401 for the first 20 (the default budget), 429 after.
fn assert_budget_of_20(statuses: &[StatusCode]) {
    let expected: Vec<StatusCode> = (0..statuses.len())
        .map(|n| {
            if n < 20 {
                StatusCode::UNAUTHORIZED
            } else {
                StatusCode::TOO_MANY_REQUESTS
            }
        })
        .collect();
    assert_eq!(statuses, expected);
}

fn bad_key(attempt: usize) -> String {
    format!("badbadba.{attempt:032}")
}

async fn a_trusted_proxy_names_the_client(backend: Backend) {
    let database = TestDatabase::new(backend).await;
    let app = TestApp::spawn_with(&database, |settings| {
        settings.trusted_proxies = server::settings::TrustedProxies::parse("127.0.0.1/32").unwrap();
    })
    .await;
    let proxy: IpAddr = [127, 0, 0, 1].into();
    let browser = app.signed_in("behind_proxy", "user").await;
    // A key generated through the proxy is audited with the client's address.
    let generated = browser
        .client
        .post(app.url("/api/generate_api_key"))
        .header("Accept", "application/json")
        .header("X-Forwarded-For", "198.51.100.20")
        .send()
        .await
        .unwrap();
    assert_eq!(generated.status(), StatusCode::OK);
    let key = json(generated).await["new_key"]
        .as_str()
        .unwrap()
        .to_owned();

    // One client's bad keys trip its own budget only: the proxy's other clients go on.
    let mut statuses = Vec::new();
    for attempt in 0..25 {
        statuses.push(rest_user(&app, &bad_key(attempt), proxy, "203.0.113.7").await);
        assert_eq!(
            rest_user(&app, &key, proxy, "1.2.3.4, 203.0.113.8").await,
            StatusCode::OK
        );
    }
    assert_budget_of_20(&statuses);
    // Whatever the throttled client writes left of its address changes nothing.
    assert_eq!(
        rest_user(&app, &key, proxy, "203.0.113.8, 203.0.113.7").await,
        StatusCode::TOO_MANY_REQUESTS
    );

    let mut last_used = Value::Null;
    for _ in 0..50 {
        let state = json(browser.server_fn("api_key", &[]).await).await;
        last_used = state["info"]["last_used_ip"].clone();
        if last_used != Value::Null {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert_eq!(last_used, "203.0.113.8");
    let db = Database::connect(&database.url).await.unwrap();
    let audited = db
        .query_one_raw(Statement::from_string(
            db.get_database_backend(),
            "SELECT ip FROM security_events WHERE kind LIKE 'api_key_%' ORDER BY id DESC",
        ))
        .await
        .unwrap()
        .unwrap();
    let ip: Option<String> = audited.try_get("", "ip").unwrap();
    assert_eq!(ip.as_deref(), Some("198.51.100.20"));
}

async fn forwarded_addresses_from_an_untrusted_peer_are_ignored(backend: Backend) {
    let (_database, app) = TestApp::on(backend).await;
    let browser = app.signed_in("not_behind_proxy", "user").await;
    let key = json(browser.server_fn("generate_api_key", &[]).await).await["new_key"]
        .as_str()
        .unwrap()
        .to_owned();
    let abuser: IpAddr = [127, 0, 0, 2].into();
    // A new made-up address on every request does not buy a new budget.
    let mut statuses = Vec::new();
    for attempt in 0..25 {
        let pretended = format!("203.0.113.{attempt}");
        statuses.push(rest_user(&app, &bad_key(attempt), abuser, &pretended).await);
    }
    assert_budget_of_20(&statuses);
    // The throttle is the peer's, and another peer is not affected by it.
    assert_eq!(
        rest_user(&app, &key, [127, 0, 0, 3].into(), "127.0.0.2").await,
        StatusCode::OK
    );
}

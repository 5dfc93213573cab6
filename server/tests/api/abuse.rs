//! Hostile clients get clear answers and cannot exhaust the server.

use futures_util::StreamExt;
use reqwest::StatusCode;

use crate::helpers::{Backend, TestApp, TestDatabase};
use crate::on_both_databases;

on_both_databases!(wrong_passwords_in_a_flood_are_refused_not_buffered);

/// 480 wrong-password Basic requests, 48 at a time (from one address, with the failure throttle
/// out of the way: as from 48 addresses). Each check holds 19 MiB while it runs; unbounded, this
/// load took the server to gigabytes. Bounded: some are 401, the rest 503 with `Retry-After`,
/// the server stays under 512 MiB, and a key-authenticated client is served all along.
async fn wrong_passwords_in_a_flood_are_refused_not_buffered(backend: Backend) {
    let database = TestDatabase::new(backend).await;
    let app = TestApp::binary(&database, &[("CONSOLE_AUTH_FAILURE_BURST", "1000000")]).await;
    let tool = app.tool("victim", "user").await;
    let before = app.peak_memory_kib();
    let client = reqwest::Client::new();
    let flood = futures_util::stream::iter(0..480)
        .map(|_| {
            client
                .get(app.url("/rest/user"))
                .basic_auth("victim", Some("not-the-password"))
                .send()
        })
        .buffer_unordered(48)
        .collect::<Vec<_>>();
    let served = async {
        let mut statuses = Vec::new();
        for _ in 0..20 {
            statuses.push(tool.get("/rest/user").await.0);
        }
        statuses
    };
    let (answers, served) = tokio::join!(flood, served);
    assert!(
        served.iter().all(|status| *status == StatusCode::OK),
        "{served:?}"
    );
    let (mut refused, mut busy) = (0, 0);
    for answer in answers {
        let answer = answer.expect("every request is answered");
        match answer.status() {
            StatusCode::UNAUTHORIZED => refused += 1,
            StatusCode::SERVICE_UNAVAILABLE => {
                assert_eq!(answer.headers()["retry-after"], "1");
                let body: serde_json::Value = answer.json().await.unwrap();
                assert_eq!(body["error"], "busy");
                busy += 1;
            }
            other => panic!("unexpected {other}"),
        }
    }
    assert!(refused > 0 && busy > 0, "{refused} refused, {busy} busy");
    let peak = app.peak_memory_kib();
    assert!(peak < 512 * 1024, "peak memory {peak} KiB");
    eprintln!(
        "{refused} checked and refused, {busy} busy; peak memory {} MiB (before: {} MiB)",
        peak / 1024,
        before / 1024
    );
}

on_both_databases!(scripts_calling_server_functions_get_the_status_of_the_error);

/// Server functions called as a script or tool would (no `Accept: text/html`) answer with the
/// status of their error, not 500; a browser's plain form post is still sent back to its page.
async fn scripts_calling_server_functions_get_the_status_of_the_error(backend: Backend) {
    let (_db, app) = TestApp::on(backend).await;
    let anonymous = app.browser();
    let expect = |response: reqwest::Response, status: StatusCode| {
        assert_eq!(response.status(), status, "{:?}", response.url().path());
    };
    // `server_fn` itself checks that an error's status is the error's own.
    expect(
        anonymous
            .server_fn("sign_in", &[("username", "admin"), ("password", "nope")])
            .await,
        StatusCode::UNAUTHORIZED,
    );
    expect(
        anonymous.server_fn("api_key", &[]).await,
        StatusCode::UNAUTHORIZED,
    );
    let user = app.signed_in("scripted", "user").await;
    expect(user.server_fn("users", &[]).await, StatusCode::FORBIDDEN);
    expect(
        user.server_fn("update_email_settings", &[("email", "nope")])
            .await,
        StatusCode::BAD_REQUEST,
    );
    expect(
        user.server_fn("create_application", &[("name", "Mine")])
            .await,
        StatusCode::OK,
    );
    expect(
        user.server_fn("create_application", &[("name", "Mine")])
            .await,
        StatusCode::CONFLICT,
    );
    let unreadable = user
        .client
        .get(user.url("/api/poll_job?id=abc"))
        .header("accept", "application/json")
        .send()
        .await
        .unwrap();
    assert_eq!(unreadable.status(), StatusCode::BAD_REQUEST);
    // A plain form post that fails goes back to its page, as before.
    let posted = anonymous
        .plain_form(
            "sign_in",
            &[("username", "admin"), ("password", "nope")],
            "/signin",
        )
        .await;
    assert_eq!(posted.status(), StatusCode::FOUND);
}

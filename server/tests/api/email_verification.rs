//! Verified email addresses: no notification goes to an address until its link was opened; a
//! link works once, for a day, only untampered; resends are capped; security notices go to the
//! verified address whatever the notification setting, and a change tells the old address.

use reqwest::StatusCode;
use sea_orm::{ConnectionTrait, Statement};
use serde_json::json;

use app::error::AppError;

use crate::helpers::{Backend, TestApp, Tool, json};
use crate::mail::{opt_in, save_email, verification_token};
use crate::on_both_databases;

on_both_databases!(
    no_notification_goes_to_an_unverified_address,
    a_verification_link_works_once_and_a_tampered_one_changes_nothing,
    a_verification_link_expires_after_a_day,
    resends_are_capped_and_each_voids_the_last_link,
    security_notices_go_to_the_verified_address_whatever_the_setting,
    addresses_from_an_administrator_count_as_verified,
);

/// The `(kind, to, subject)` of every mail queued for `username`, oldest first.
async fn queued(tool: &Tool, username: &str) -> Vec<(String, String, String)> {
    let state = tool.state.as_ref().unwrap();
    state
        .db
        .query_all_raw(Statement::from_string(
            state.db.get_database_backend(),
            format!(
                "SELECT o.kind, o.to_address, o.subject FROM outbox o \
                 JOIN users u ON u.id = o.user_id WHERE u.username = '{username}' ORDER BY o.id"
            ),
        ))
        .await
        .unwrap()
        .iter()
        .map(|row| {
            (
                row.try_get_by_index(0).unwrap(),
                row.try_get_by_index(1).unwrap(),
                row.try_get_by_index(2).unwrap(),
            )
        })
        .collect()
}

async fn verify(tool: &Tool, token: &str) -> Result<(), AppError> {
    let response = tool
        .browser
        .server_fn("verify_email", &[("token", token)])
        .await;
    if response.status() == StatusCode::OK {
        return Ok(());
    }
    Err(serde_json::from_value(json(response).await).unwrap())
}

async fn verified(tool: &Tool) -> bool {
    json(tool.browser.rest_user().await).await["email_verified"] == true
}

async fn no_notification_goes_to_an_unverified_address(backend: Backend) {
    let (_db, app) = TestApp::on(backend).await;
    let kim = app.tool("kim", "user").await;
    save_email(&kim, "kim@example.com").await;
    assert!(!verified(&kim).await);
    kim.create_application("Before").await;
    let mails = queued(&kim, "kim").await;
    assert_eq!(mails.len(), 1, "{mails:?}");
    assert_eq!(mails[0].0, "verification");
    assert_eq!(mails[0].1, "kim@example.com");
    // The page says so, and offers to send the link again.
    let page = kim.browser.page("/profile").await;
    assert!(page.contains("data-testid=\"email-unverified\""));

    let token = verification_token(&kim).await;
    let link = kim.browser.get(&format!("/verify-email/{token}")).await;
    assert_eq!(link.status(), StatusCode::OK);
    let page = link.text().await.unwrap();
    assert!(page.contains("k•••@example.com"), "{page}");
    // Opening the link verifies nothing by itself (mail scanners open links): the button does.
    assert!(!verified(&kim).await);
    let response = kim
        .browser
        .plain_form(
            "verify_email",
            &[("token", &token)],
            &format!("/verify-email/{token}"),
        )
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let page = kim.browser.page(&format!("/verify-email/{token}")).await;
    assert!(
        page.contains("data-testid=\"email-verified-now\""),
        "{page}"
    );
    assert!(verified(&kim).await);

    kim.create_application("After").await;
    let mails = queued(&kim, "kim").await;
    assert_eq!(mails.len(), 2, "{mails:?}");
    assert_eq!(
        (mails[1].0.as_str(), mails[1].2.as_str()),
        ("notification", "[AIP Console] Application created: After")
    );
    let (_, log) = kim.get("/rest/user/events").await;
    let kinds: Vec<&str> = log
        .as_array()
        .unwrap()
        .iter()
        .map(|event| event["kind"].as_str().unwrap())
        .collect();
    assert!(kinds.contains(&"email_verified") && kinds.contains(&"email_changed"));
}

async fn a_verification_link_works_once_and_a_tampered_one_changes_nothing(backend: Backend) {
    let (_db, app) = TestApp::on(backend).await;
    let lee = app.tool("lee", "user").await;
    save_email(&lee, "lee@example.com").await;
    let token = verification_token(&lee).await;
    let (head, tag) = token.rsplit_once('.').unwrap();
    let flipped = if tag.starts_with('A') { "B" } else { "A" };
    for tampered in [
        format!("{head}.{flipped}{}", &tag[1..]),
        format!("{head}.{tag}x"),
        token.replacen(head.split('.').next().unwrap(), "1", 1),
        "not-a-token".to_owned(),
    ] {
        let error = verify(&lee, &tampered).await.unwrap_err();
        assert_eq!(error.status(), 400, "{tampered}");
        assert!(
            error.to_string().contains("not valid"),
            "{tampered}: {error}"
        );
        let page = lee.browser.get(&format!("/verify-email/{tampered}")).await;
        assert_eq!(page.status(), StatusCode::BAD_REQUEST, "{tampered}");
    }
    assert!(!verified(&lee).await, "a tampered link changed nothing");
    verify(&lee, &token).await.unwrap();
    assert!(verified(&lee).await);
    let again = verify(&lee, &token).await.unwrap_err();
    assert!(again.to_string().contains("already used"), "{again}");
    // A new address is unverified again; the old link does not verify it.
    save_email(&lee, "lee@example.org").await;
    assert!(!verified(&lee).await);
    assert_eq!(verify(&lee, &token).await.unwrap_err().status(), 400);
}

async fn a_verification_link_expires_after_a_day(backend: Backend) {
    let (_db, app) = TestApp::on(backend).await;
    let max = app.tool("max", "user").await;
    save_email(&max, "max@example.com").await;
    // The link as it was sent a day and a minute ago.
    let state = max.state.as_ref().unwrap();
    let issued = chrono::Utc::now().timestamp() - 24 * 3600 - 60;
    state
        .db
        .execute_unprepared(&format!(
            "UPDATE users SET email_token_issued = {issued} WHERE username = 'max'"
        ))
        .await
        .unwrap();
    let user = app::auth::ssr::users::find_by_username(&state.db, "max")
        .await
        .unwrap()
        .unwrap();
    let old = app::mail::ssr::account::verification_token(
        &state.config.mail.secret,
        user.id,
        issued,
        "max@example.com",
    );
    let error = verify(&max, &old).await.unwrap_err();
    assert!(error.to_string().contains("expired"), "{error}");
    assert!(!verified(&max).await);
}

async fn resends_are_capped_and_each_voids_the_last_link(backend: Backend) {
    let (_db, app) = TestApp::on(backend).await;
    let ned = app.tool("ned", "user").await;
    save_email(&ned, "ned@example.com").await;
    let first = verification_token(&ned).await;
    // Links are per second: the next one must differ.
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let mut statuses = Vec::new();
    for _ in 0..5 {
        statuses.push(
            ned.browser
                .server_fn("resend_verification", &[])
                .await
                .status(),
        );
    }
    // The save sent one, four more fit in the hour, the fifth resend is refused.
    assert_eq!(
        statuses,
        [
            StatusCode::OK,
            StatusCode::OK,
            StatusCode::OK,
            StatusCode::OK,
            StatusCode::TOO_MANY_REQUESTS
        ]
    );
    assert_eq!(
        queued(&ned, "ned")
            .await
            .iter()
            .filter(|mail| mail.0 == "verification")
            .count(),
        5
    );
    let error = verify(&ned, &first).await.unwrap_err();
    assert!(error.to_string().contains("newer one"), "{error}");
    verify(&ned, &verification_token(&ned).await).await.unwrap();
    // Nothing left to verify.
    let response = ned.browser.server_fn("resend_verification", &[]).await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
}

async fn security_notices_go_to_the_verified_address_whatever_the_setting(backend: Backend) {
    let (_db, app) = TestApp::on(backend).await;
    let oli = app.tool("oli", "user").await;
    opt_in(&oli, "oli@example.com").await;
    // Notifications off: security notices still come.
    let response = oli
        .browser
        .server_fn("update_email_settings", &[("email", "oli@example.com")])
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let response = oli.browser.server_fn("generate_api_key", &[]).await;
    assert_eq!(response.status(), StatusCode::OK);
    let mails = queued(&oli, "oli").await;
    let notice = mails.last().unwrap();
    assert_eq!(
        notice,
        &(
            "security".to_owned(),
            "oli@example.com".to_owned(),
            "[AIP Console] A new API key was generated".to_owned()
        )
    );
    // A new address: the old one is told, the new one gets its link.
    save_email(&oli, "oli@example.org").await;
    let mails = queued(&oli, "oli").await;
    let told: Vec<_> = mails.iter().rev().take(2).collect();
    assert!(told.contains(&&(
        "security".to_owned(),
        "oli@example.com".to_owned(),
        "[AIP Console] Your email address was changed".to_owned()
    )));
    assert!(
        told.iter()
            .any(|mail| mail.0 == "verification" && mail.1 == "oli@example.org")
    );
    // Unverified, the new address gets no notice.
    let before = queued(&oli, "oli").await.len();
    oli.browser.server_fn("generate_api_key", &[]).await;
    assert_eq!(queued(&oli, "oli").await.len(), before);
    // Verified, it hears of a reset by an administrator.
    verify(&oli, &verification_token(&oli).await).await.unwrap();
    let admin = app.admin().await;
    let response = admin
        .browser
        .server_fn("reset_user_password", &[("username", "oli")])
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let mails = queued(&oli, "oli").await;
    assert_eq!(
        mails.last().unwrap(),
        &(
            "security".to_owned(),
            "oli@example.org".to_owned(),
            "[AIP Console] Your password was reset by an administrator".to_owned()
        )
    );
}

async fn addresses_from_an_administrator_count_as_verified(backend: Backend) {
    let (_db, app) = TestApp::on(backend).await;
    let admin = app.admin().await;
    let (status, body) = admin
        .post(
            "/rest/users",
            &json!({ "username": "pat", "password": "pat-password", "role": "user",
                     "email": "pat@example.com" }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["email_verified"], true);
}

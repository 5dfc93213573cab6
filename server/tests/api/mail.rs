//! Notification mail without a mail server (the embedded default): prepared with its event,
//! written as `.eml` under the data directory, with a signed unsubscribe link that lands on the
//! profile and turns notifications off in one click.

use reqwest::StatusCode;
use reqwest::header::LOCATION;

use sea_orm::{ConnectionTrait, Statement};

use crate::helpers::{Backend, TestApp, TestDatabase, Tool, json};
use crate::on_both_databases;
use crate::smtp::{Mailbox, header};

on_both_databases!(
    events_become_mail_for_users_who_want_it,
    unsubscribe_links_turn_mail_off_with_or_without_a_session,
    mail_past_the_hourly_budget_is_held_back_and_shown_to_admins,
);

/// Where the server writes mail while no mail server is configured.
fn spool(database: &TestDatabase) -> Mailbox {
    Mailbox(database.data_dir.join("mail"))
}

/// The mails written once what is due has been delivered.
async fn delivered(app: &TestApp, database: &TestDatabase) -> Vec<String> {
    app.deliver_mail().await;
    spool(database).mails()
}

/// Gives `tool`'s user the address `email`, verified, with notifications on: saves it, then
/// opens the verification link as the user would from the mail. That mail counts as read
/// (marked sent), so tests count only the mail they are about.
pub async fn opt_in(tool: &Tool, email: &str) {
    if save_email(tool, email).await {
        // The same address as before, verified already.
        return;
    }
    let token = verification_token(tool).await;
    let response = tool
        .browser
        .server_fn("verify_email", &[("token", &token)])
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let state = tool.state.as_ref().expect("the app in this process");
    state
        .db
        .execute_unprepared(
            "UPDATE outbox SET status = 'sent' WHERE kind = 'verification' AND status = 'pending'",
        )
        .await
        .unwrap();
}

/// Saves `email` with notifications on, without opening any verification link. Returns
/// whether the address is verified (it was already the account's).
pub async fn save_email(tool: &Tool, email: &str) -> bool {
    let response = tool
        .browser
        .server_fn(
            "update_email_settings",
            &[("email", email), ("notifications", "true")],
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    json(response).await["email_verified"] == true
}

/// The token of the verification link last sent to `tool`'s user, read from the mail.
pub async fn verification_token(tool: &Tool) -> String {
    let state = tool.state.as_ref().expect("the app in this process");
    let me = json(tool.browser.rest_user().await).await;
    let username = me["username"].as_str().unwrap();
    let row = state
        .db
        .query_one_raw(Statement::from_string(
            state.db.get_database_backend(),
            format!(
                "SELECT o.text_body FROM outbox o JOIN users u ON u.id = o.user_id \
                 WHERE u.username = '{username}' AND o.kind = 'verification' ORDER BY o.id DESC"
            ),
        ))
        .await
        .unwrap()
        .expect("a verification mail");
    let text: String = row.try_get_by_index(0).unwrap();
    text.split("/verify-email/")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .expect("a verification link")
        .to_owned()
}

async fn events_become_mail_for_users_who_want_it(backend: Backend) {
    let (database, app) = TestApp::on(backend).await;
    let owner = app.tool("owner", "user").await;
    let silent = app.tool("silent", "user").await;
    opt_in(&owner, "owner@example.com").await;

    owner.create_application("MEUDON").await;
    let found = delivered(&app, &database).await;
    let mail = &found[0];
    assert_eq!(header(mail, "To"), Some("owner@example.com"));
    assert_eq!(
        header(mail, "Subject"),
        Some("[AIP Console] Application created: MEUDON")
    );
    assert!(
        header(mail, "Message-ID").unwrap().ends_with("@localhost>")
            || header(mail, "Message-ID").unwrap().contains("@127.0.0.1>")
    );
    let unsubscribe = header(mail, "List-Unsubscribe").unwrap();
    assert!(
        unsubscribe.starts_with(&format!("<{}/unsubscribe/", app.address)),
        "{unsubscribe}"
    );
    assert_eq!(
        header(mail, "List-Unsubscribe-Post"),
        Some("List-Unsubscribe=One-Click")
    );
    assert!(mail.contains("multipart/alternative"));
    assert!(mail.contains("text/plain") && mail.contains("text/html"));
    assert!(
        mail.contains("If you do not wish to receive further email notifications from AIP Console")
    );

    // Without an address (or opted out), nothing is written.
    silent.create_application("Quiet").await;
    app.assert_outbox_empty().await;
    assert_eq!(spool(&database).mails().len(), 1);
}

async fn unsubscribe_links_turn_mail_off_with_or_without_a_session(backend: Backend) {
    let (database, app) = TestApp::on(backend).await;
    let owner = app.tool("owner", "user").await;
    opt_in(&owner, "owner@example.com").await;
    owner.create_application("First").await;
    let mail = delivered(&app, &database).await.remove(0);
    let link = header(&mail, "List-Unsubscribe")
        .unwrap()
        .trim_matches(['<', '>'])
        .to_owned();
    let path = link.trim_start_matches(&app.address).to_owned();

    // Signed in, GET changes nothing and lands on the profile, Email Settings in view.
    let landed = owner.browser.get(&path).await;
    assert_eq!(landed.status(), StatusCode::FOUND);
    let target = landed.headers()[LOCATION].to_str().unwrap().to_owned();
    assert!(target.starts_with("/profile?unsubscribe="), "{target}");
    let page = owner.browser.page(&target).await;
    assert!(page.contains("Turn off email notifications"), "{page}");
    assert!(
        page.contains("autofocus"),
        "the one-click button takes the focus"
    );
    assert_eq!(owner.get("/rest/user").await.1["notifications"], true);

    // Without a session: the console's frame, the masked address, one button; no sign-in.
    let stranger = app.browser();
    let page = stranger.get(&path).await;
    assert_eq!(page.status(), StatusCode::OK);
    let page = page.text().await.unwrap();
    for expected in [
        "<header",
        "o•••@example.com",
        "Turn off email notifications",
    ] {
        assert!(page.contains(expected), "{expected} in {page}");
    }
    assert!(!page.contains("owner@example.com") && !page.contains("name=\"password\""));
    assert_eq!(owner.get("/rest/user").await.1["notifications"], true);

    // Tampered: the same frame, a clear sentence, nothing changed.
    let tampered = stranger.get(&format!("{path}x")).await;
    assert_eq!(tampered.status(), StatusCode::BAD_REQUEST);
    let tampered = tampered.text().await.unwrap();
    assert!(
        tampered.contains("<header") && tampered.contains("not valid"),
        "{tampered}"
    );
    let tampered = reqwest::Client::new()
        .post(format!("{link}x"))
        .body("List-Unsubscribe=One-Click")
        .send()
        .await
        .unwrap();
    assert_eq!(tampered.status(), StatusCode::BAD_REQUEST);
    assert!(tampered.text().await.unwrap().contains("not valid"));
    for suffix in ["%0d%0a", "%20", "%0aSet-Cookie:%20x=1"] {
        let padded = owner.browser.get(&format!("{path}{suffix}")).await;
        assert_eq!(padded.status(), StatusCode::BAD_REQUEST, "{suffix}");
    }
    assert_eq!(owner.get("/rest/user").await.1["notifications"], true);

    // The page's button: the token alone turns mail off, and the page says so.
    let pressed = stranger
        .client
        .post(stranger.url(&path))
        .header("accept", "text/html")
        .header("origin", &stranger.address)
        .header("content-type", "application/x-www-form-urlencoded")
        .body("List-Unsubscribe=One-Click")
        .send()
        .await
        .unwrap();
    assert_eq!(pressed.status(), StatusCode::SEE_OTHER);
    assert_eq!(pressed.headers()[LOCATION].to_str().unwrap(), path);
    assert_eq!(owner.get("/rest/user").await.1["notifications"], false);
    let page = stranger.page(&path).await;
    assert!(page.contains("Email notifications are off for"), "{page}");
    assert!(page.contains("href=\"/profile#email-settings\""), "{page}");
    opt_in(&owner, "owner@example.com").await;

    // RFC 8058 one-click: no cookie, another site, no redirect.
    let clicked = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
        .post(&link)
        .header("content-type", "application/x-www-form-urlencoded")
        .header("origin", "https://mail.example")
        .header("sec-fetch-site", "cross-site")
        .body("List-Unsubscribe=One-Click")
        .send()
        .await
        .unwrap();
    assert_eq!(clicked.status(), StatusCode::OK);
    assert_eq!(owner.get("/rest/user").await.1["notifications"], false);

    // The next event sends nothing.
    owner.create_application("Second").await;
    app.assert_outbox_empty().await;
    assert_eq!(spool(&database).mails().len(), 1);
}

/// A user is sent at most `CONSOLE_MAIL_PER_USER_HOUR` notification mails an hour; the rest is
/// not sent, and administrators see it under undelivered mail with the reason (and may send it).
async fn mail_past_the_hourly_budget_is_held_back_and_shown_to_admins(backend: Backend) {
    let database = TestDatabase::new(backend).await;
    let app = TestApp::spawn_with(&database, |settings| settings.mail_per_user_hour = 2).await;
    let owner = app.tool("owner", "user").await;
    opt_in(&owner, "owner@example.com").await;
    for name in ["One", "Two", "Three"] {
        owner.create_application(name).await;
    }
    app.deliver_mail().await;
    assert_eq!(spool(&database).mails().len(), 2);

    let admin = app.signed_in("boss", "admin").await;
    let listed = admin.server_fn("undelivered_mail", &[]).await;
    assert_eq!(listed.status(), StatusCode::OK);
    let listed: serde_json::Value = listed.json().await.unwrap();
    let held = &listed["items"].as_array().unwrap()[0];
    assert_eq!(held["subject"], "[AIP Console] Application created: Three");
    assert_eq!(held["status"], "failed");
    let reason = held["last_error"].as_str().unwrap();
    assert!(
        reason.contains("owner was already sent 2 notification mails in the past hour"),
        "{reason}"
    );
    let page = admin.page("/admin").await;
    assert!(page.contains("CONSOLE_MAIL_PER_USER_HOUR"), "{page}");

    // An administrator may send it anyway.
    let id = held["id"].to_string();
    let retried = admin.server_fn("retry_mail", &[("id", &id)]).await;
    assert_eq!(retried.status(), StatusCode::OK);
    app.assert_outbox_empty().await;
    let mails = spool(&database).mails();
    assert_eq!(mails.len(), 3);
    assert!(
        mails
            .iter()
            .any(|mail| header(mail, "Subject") == Some("[AIP Console] Application created: Three"))
    );
}

//! Accounts that can be managed: what each administrator action does to sessions, keys and
//! Basic credentials on the very next request, on two instances sharing one database; the last
//! administrator; password changes, "sign out everywhere" and resets; the security log and the
//! Audit page; `server admin reset-password`.

use reqwest::StatusCode;
use reqwest::header::LOCATION;
use sea_orm::{ConnectionTrait, Database, Statement};
use serde_json::{Value, json};

use app::error::AppError;

use crate::archives::{sample_project, tar_gz};
use crate::helpers::{ADMIN_PASSWORD, Backend, Browser, TestApp, TestDatabase, Tool, json};
use crate::jobs::{hold_archive, job_row, release_archive, stored_archive};
use crate::mail::opt_in;
use crate::on_both_databases;
use crate::smtp::{Mailbox, header};

on_both_databases!(
    disabling_ends_sessions_keys_and_passwords_on_every_instance,
    disabling_stops_the_users_jobs_and_drops_their_waiting_mail,
    the_last_administrator_can_be_neither_demoted_nor_disabled,
    two_administrators_demoting_each_other_at_once_leave_one,
    a_password_change_ends_the_other_sessions_but_not_this_one,
    weak_or_wrong_passwords_are_refused_and_change_nothing,
    an_api_key_cannot_change_the_password,
    sign_out_everywhere_ends_every_session_and_says_why,
    a_reset_gives_a_temporary_password_that_only_opens_the_password_form,
    an_administrator_revokes_a_key,
    account_changes_are_for_administrators_and_bad_ones_are_4xx,
    the_security_log_records_each_event_with_the_client_address,
    the_audit_page_filters_and_pages_every_accounts_events,
    creating_accounts_and_changing_the_mail_server_are_audited,
    old_api_key_events_carry_over_into_the_security_log,
    the_operator_resets_a_password_from_the_command_line,
);

/// `username`'s password as `create_user` sets it.
fn password_of(username: &str) -> String {
    format!("{username}-password")
}

/// `GET /rest/user` with Basic credentials.
async fn basic(app: &TestApp, username: &str, password: &str) -> (StatusCode, Value) {
    let response = reqwest::Client::new()
        .get(app.url("/rest/user"))
        .basic_auth(username, Some(password))
        .send()
        .await
        .unwrap();
    let status = response.status();
    (status, json(response).await)
}

/// The error code a browser's `GET /rest/user` is answered with (`None` when it is signed in).
async fn session_error(browser: &Browser) -> Option<String> {
    let response = browser.rest_user().await;
    if response.status() == StatusCode::OK {
        return None;
    }
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    Some(json(response).await["error"].as_str().unwrap().to_owned())
}

/// The error code a key's `GET /rest/user` is answered with (`None` when it works).
async fn key_error(app: &TestApp, key: &str) -> Option<String> {
    let response = app.rest_user_with_key(key).await;
    if response.status() == StatusCode::OK {
        return None;
    }
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    Some(json(response).await["error"].as_str().unwrap().to_owned())
}

/// The error a server function answered with.
async fn server_fn_error(response: reqwest::Response) -> AppError {
    serde_json::from_value(json(response).await).unwrap()
}

/// The caller's security log, newest first, as `(kind, ip, detail, by)`.
async fn own_log(tool: &Tool) -> Vec<(String, String, String, String)> {
    let (status, body) = tool.get("/rest/user/events").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body.as_array()
        .unwrap()
        .iter()
        .map(|event| {
            let text = |name: &str| event[name].as_str().unwrap_or_default().to_owned();
            (text("kind"), text("ip"), text("detail"), text("by"))
        })
        .collect()
}

fn kinds(log: &[(String, String, String, String)]) -> Vec<&str> {
    log.iter().map(|event| event.0.as_str()).collect()
}

async fn disabling_ends_sessions_keys_and_passwords_on_every_instance(backend: Backend) {
    let database = TestDatabase::new(backend).await;
    let first = TestApp::spawn(&database).await;
    let second = TestApp::spawn(&database).await;
    let admin = first.admin().await;
    let alice = second.tool("alice", "user").await;
    let elsewhere = second.browser();
    elsewhere.sign_in("alice", &password_of("alice")).await;
    assert_eq!(session_error(&elsewhere).await, None);

    let (status, body) = admin
        .patch("/rest/users/alice", &json!({ "disabled": true }))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["disabled"], true);

    // The very next request, on the other instance.
    assert_eq!(
        session_error(&alice.browser).await.as_deref(),
        Some("account_disabled")
    );
    assert_eq!(
        key_error(&second, &alice.key).await.as_deref(),
        Some("invalid_api_key")
    );
    let (status, body) = basic(&second, "alice", &password_of("alice")).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("account_disabled"))
    );
    // A page load goes to sign-in, which says why.
    let page = elsewhere.get("/applications").await;
    assert_eq!(page.status(), StatusCode::FOUND);
    assert!(
        page.headers()[LOCATION]
            .to_str()
            .unwrap()
            .starts_with("/signin")
    );
    let signin = elsewhere.page("/signin").await;
    assert!(signin.contains("This account is disabled"), "{signin}");
    // Signing in says so too, only to whoever knows the password.
    let response = second
        .browser()
        .server_fn(
            "sign_in",
            &[("username", "alice"), ("password", &password_of("alice"))],
        )
        .await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(server_fn_error(response).await, AppError::AccountDisabled);
    let response = second
        .browser()
        .server_fn(
            "sign_in",
            &[("username", "alice"), ("password", "not-hers-at-all")],
        )
        .await;
    assert_eq!(
        server_fn_error(response).await,
        AppError::InvalidCredentials
    );

    // Enabled again: the password works, no old session comes back.
    let (status, _) = admin
        .patch("/rest/users/alice", &json!({ "disabled": false }))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        basic(&first, "alice", &password_of("alice")).await.0,
        StatusCode::OK
    );
    assert_eq!(
        session_error(&elsewhere).await.as_deref(),
        Some("session_ended")
    );
    // The key was not revoked: a disabled account's key only waits.
    assert_eq!(key_error(&first, &alice.key).await, None);
    let log = own_log(&alice).await;
    let changes: Vec<_> = log
        .iter()
        .filter(|event| event.0 == "disabled" || event.0 == "enabled")
        .collect();
    assert_eq!(changes.len(), 2, "{log:?}");
    // Who did it, but not from where: the administrator's address is for the audit log.
    for (_, ip, _, by) in changes {
        assert_eq!((ip.as_str(), by.as_str()), ("", "admin"));
    }
    let audit = admin
        .browser
        .page("/admin/audit?user=alice&kind=disabled")
        .await;
    assert!(audit.contains("127.0.0.1"), "{audit}");
}

async fn disabling_stops_the_users_jobs_and_drops_their_waiting_mail(backend: Backend) {
    // The job is held on a named pipe in place of its archive: archives in the data directory.
    let database = TestDatabase::new(backend).await.with_local_archives();
    let app = TestApp::spawn(&database).await;
    let admin = app.admin().await;
    let ana = app.tool("ana", "user").await;
    let application = ana.create_application("Long").await;
    let version = ana
        .create_version(application, "1", ("p.tar.gz", tar_gz(&sample_project())))
        .await;
    let path = stored_archive(&database, version).await;
    let bytes = hold_archive(&path);
    let running = ana.start_analysis(application, version).await;
    let queued = ana.start_analysis(application, version).await;
    ana.wait_for(running, &["running"]).await;
    // Mail waiting for her (not delivered: the test delivers on demand).
    opt_in(&ana, "ana@example.com").await;
    ana.create_application("Another").await;

    let (status, body) = admin
        .patch("/rest/users/ana", &json!({ "disabled": true }))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    for job in [running, queued] {
        assert_eq!(job_row(&database, job).await.0, "stopped", "job {job}");
        let (status, body) = admin.get(&format!("/rest/jobs/{job}")).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(body["stopped_by"], "admin");
    }
    let db = Database::connect(&database.url).await.unwrap();
    let rows = db
        .query_all_raw(Statement::from_string(
            db.get_database_backend(),
            "SELECT o.status, o.last_error FROM outbox o JOIN users u ON u.id = o.user_id \
             WHERE u.username = 'ana' AND o.kind = 'notification'",
        ))
        .await
        .unwrap();
    assert!(!rows.is_empty());
    for row in rows {
        let status: String = row.try_get_by_index(0).unwrap();
        let error: Option<String> = row.try_get_by_index(1).unwrap();
        assert_eq!(
            (status.as_str(), error.as_deref()),
            ("failed", Some("Not sent: the account was disabled."))
        );
    }
    // Only the security notice that tells her goes out.
    assert_eq!(app.deliver_mail().await, 1);
    let mails = Mailbox(database.data_dir.join("mail")).mails();
    assert_eq!(mails.len(), 1);
    assert_eq!(
        header(&mails[0], "Subject"),
        Some("[AIP Console] Your account was disabled by an administrator")
    );
    assert!(mails[0].contains("whatever your notification setting"));
    release_archive(path, bytes).join().unwrap();
    // The analysis that was reading ends without overwriting the stop.
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert_eq!(job_row(&database, running).await.0, "stopped");
}

async fn the_last_administrator_can_be_neither_demoted_nor_disabled(backend: Backend) {
    let (_db, app) = TestApp::on(backend).await;
    let admin = app.admin().await;
    for change in [
        json!({ "role": "user" }),
        json!({ "disabled": true }),
        json!({ "role": "user", "disabled": true }),
    ] {
        let (status, body) = admin.patch("/rest/users/admin", &change).await;
        assert_eq!(status, StatusCode::CONFLICT, "{change}: {body}");
        assert!(
            body["message"]
                .as_str()
                .unwrap()
                .contains("the last administrator"),
            "{body}"
        );
    }
    // Nothing changed: still an enabled administrator.
    let (status, me) = admin.get("/rest/user").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        (me["role"].as_str(), me["disabled"].as_bool()),
        (Some("admin"), Some(false))
    );
    // With a second one, either may step down.
    app.create_user("second", "admin").await;
    let (status, body) = admin
        .patch("/rest/users/admin", &json!({ "role": "user" }))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["role"], "user");
}

async fn two_administrators_demoting_each_other_at_once_leave_one(backend: Backend) {
    let (_db, app) = TestApp::on(backend).await;
    let first = app.admin().await;
    let second = app.tool("second", "admin").await;
    for round in 0..4 {
        let demote = json!({ "role": "user" });
        let (a, b) = tokio::join!(
            first.patch("/rest/users/second", &demote),
            second.patch("/rest/users/admin", &demote),
        );
        let statuses = [a.0, b.0];
        assert_eq!(
            statuses
                .iter()
                .filter(|status| **status == StatusCode::OK)
                .count(),
            1,
            "round {round}: {a:?} {b:?}"
        );
        assert!(
            statuses.iter().all(|status| [
                StatusCode::OK,
                StatusCode::CONFLICT,
                StatusCode::FORBIDDEN
            ]
            .contains(status)),
            "round {round}: {a:?} {b:?}"
        );
        let (_, users) = basic_list(&app).await;
        let admins = users
            .iter()
            .filter(|user| user["role"] == "admin" && user["disabled"] == false)
            .count();
        assert_eq!(admins, 1, "round {round}");
        // Both administrators again for the next round.
        let winner = if a.0 == StatusCode::OK {
            &first
        } else {
            &second
        };
        let loser = if a.0 == StatusCode::OK {
            "second"
        } else {
            "admin"
        };
        let (status, _) = winner
            .patch(&format!("/rest/users/{loser}"), &json!({ "role": "admin" }))
            .await;
        assert_eq!(status, StatusCode::OK);
    }
}

/// `GET /rest/users` as whichever administrator is left (by Basic credentials of `admin` or
/// the key-less fallback), for assertions.
async fn basic_list(app: &TestApp) -> (StatusCode, Vec<Value>) {
    let db_users = reqwest::Client::new()
        .get(app.url("/rest/users"))
        .basic_auth("admin", Some(ADMIN_PASSWORD))
        .send()
        .await
        .unwrap();
    let status = db_users.status();
    if status == StatusCode::OK {
        return (status, json(db_users).await.as_array().unwrap().clone());
    }
    let response = reqwest::Client::new()
        .get(app.url("/rest/users"))
        .basic_auth("second", Some(&password_of("second")))
        .send()
        .await
        .unwrap();
    let status = response.status();
    assert_eq!(status, StatusCode::OK);
    (status, json(response).await.as_array().unwrap().clone())
}

async fn change_password(
    browser: &Browser,
    current: &str,
    new: &str,
    again: &str,
) -> reqwest::Response {
    browser
        .server_fn(
            "change_password",
            &[
                ("current_password", current),
                ("new_password", new),
                ("new_password_again", again),
            ],
        )
        .await
}

const STRONG: &str = "violet-anchor-meadow-42";

async fn a_password_change_ends_the_other_sessions_but_not_this_one(backend: Backend) {
    let database = TestDatabase::new(backend).await;
    let first = TestApp::spawn(&database).await;
    let second = TestApp::spawn(&database).await;
    let bob = first.tool("bob", "user").await;
    let other = second.browser();
    other.sign_in("bob", &password_of("bob")).await;

    let response = change_password(&bob.browser, &password_of("bob"), STRONG, STRONG).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        session_error(&bob.browser).await,
        None,
        "this session stays"
    );
    assert_eq!(
        session_error(&other).await.as_deref(),
        Some("session_ended"),
        "the other one ends, on the other instance too"
    );
    assert_eq!(
        basic(&second, "bob", &password_of("bob")).await.0,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(basic(&second, "bob", STRONG).await.0, StatusCode::OK);
    // A key is not a session: it keeps working.
    assert_eq!(key_error(&second, &bob.key).await, None);
    let log = own_log(&bob).await;
    let changed = log
        .iter()
        .find(|event| event.0 == "password_changed")
        .unwrap();
    assert_eq!(changed.1, "127.0.0.1");
}

async fn weak_or_wrong_passwords_are_refused_and_change_nothing(backend: Backend) {
    let (_db, app) = TestApp::on(backend).await;
    let carol = app.signed_in("carol", "user").await;
    let current = password_of("carol");
    for (new, again, field, says) in [
        ("password123", "password123", "new_password", "too weak"),
        ("carolcarol1", "carolcarol1", "new_password", "too weak"),
        ("x7$Qa", "x7$Qa", "new_password", "8 to 1024"),
        (
            STRONG,
            "something-else-entirely",
            "new_password_again",
            "not the same",
        ),
        (
            current.as_str(),
            current.as_str(),
            "new_password",
            "must differ",
        ),
    ] {
        let response = change_password(&carol, &current, new, again).await;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{new}");
        let error = server_fn_error(response).await;
        assert_eq!(error.field(), Some(field), "{new}: {error:?}");
        assert!(error.to_string().contains(says), "{new}: {error}");
    }
    // A wrong current password: refused, then throttled like sign-in.
    let mut statuses = Vec::new();
    for _ in 0..8 {
        statuses.push(
            change_password(&carol, "not-my-password", STRONG, STRONG)
                .await
                .status(),
        );
    }
    assert_eq!(statuses[0], StatusCode::BAD_REQUEST);
    assert!(
        statuses.contains(&StatusCode::TOO_MANY_REQUESTS),
        "{statuses:?}"
    );
    // Nothing changed: the old password and the session still work.
    assert_eq!(basic(&app, "carol", &current).await.0, StatusCode::OK);
    assert_eq!(session_error(&carol).await, None);
}

async fn an_api_key_cannot_change_the_password(backend: Backend) {
    let (_db, app) = TestApp::on(backend).await;
    let dave = app.tool("dave", "user").await;
    let change = json!({
        "current_password": password_of("dave"),
        "new_password": STRONG,
        "new_password_again": STRONG,
    });
    let (status, body) = dave.post("/rest/user/password", &change).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert_eq!(
        basic(&app, "dave", &password_of("dave")).await.0,
        StatusCode::OK
    );
    // With the password itself (Basic), it can.
    let response = reqwest::Client::new()
        .post(app.url("/rest/user/password"))
        .basic_auth("dave", Some(password_of("dave")))
        .json(&change)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    assert_eq!(basic(&app, "dave", STRONG).await.0, StatusCode::OK);
    assert_eq!(
        session_error(&dave.browser).await.as_deref(),
        Some("session_ended")
    );
}

async fn sign_out_everywhere_ends_every_session_and_says_why(backend: Backend) {
    let (_db, app) = TestApp::on(backend).await;
    let erin = app.signed_in("erin", "user").await;
    let other = app.browser();
    other.sign_in("erin", &password_of("erin")).await;
    let response = erin
        .plain_form("sign_out_everywhere", &[], "/profile")
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(response.headers()[LOCATION], "/signin");
    assert_eq!(
        session_error(&erin).await.as_deref(),
        Some("unauthenticated")
    );
    assert_eq!(
        session_error(&other).await.as_deref(),
        Some("session_ended")
    );
    let signin = other.page("/signin").await;
    assert!(signin.contains("all your sessions were ended"), "{signin}");
    // Signing in again works.
    other.sign_in("erin", &password_of("erin")).await;
    assert_eq!(session_error(&other).await, None);
}

async fn a_reset_gives_a_temporary_password_that_only_opens_the_password_form(backend: Backend) {
    let (_db, app) = TestApp::on(backend).await;
    let admin = app.admin().await;
    let fay = app.tool("fay", "user").await;
    let response = admin
        .browser
        .server_fn("reset_user_password", &[("username", "fay")])
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let temporary = json(response).await["temporary_password"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(temporary.len(), 20);

    assert_eq!(
        session_error(&fay.browser).await.as_deref(),
        Some("session_ended")
    );
    assert_eq!(
        key_error(&app, &fay.key).await.as_deref(),
        Some("invalid_api_key")
    );
    assert_eq!(
        basic(&app, "fay", &password_of("fay")).await.0,
        StatusCode::UNAUTHORIZED
    );
    let (status, body) = basic(&app, "fay", &temporary).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("password_change_required"))
    );
    // Signed in with it, only the password form opens.
    let browser = app.browser();
    browser.sign_in("fay", &temporary).await;
    assert_eq!(
        session_error(&browser).await.as_deref(),
        Some("password_change_required")
    );
    let page = browser.get("/applications").await;
    assert_eq!(page.status(), StatusCode::FOUND);
    assert_eq!(page.headers()[LOCATION], "/profile#password");
    let profile = browser.page("/profile").await;
    assert!(profile.contains("data-testid=\"must-change-password\""));
    assert!(!profile.contains("id=\"api-key\""));
    let response = browser.server_fn("generate_api_key", &[]).await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    // A new password, and everything opens again.
    let response = change_password(&browser, &temporary, STRONG, STRONG).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(session_error(&browser).await, None);
    assert_eq!(basic(&app, "fay", STRONG).await.0, StatusCode::OK);
    assert_eq!(
        basic(&app, "fay", &temporary).await.0,
        StatusCode::UNAUTHORIZED
    );
    let fay_again = app.tool_of(browser).await;
    let log = own_log(&fay_again).await;
    let reset = log
        .iter()
        .find(|event| event.0 == "password_reset")
        .unwrap();
    assert_eq!((reset.1.as_str(), reset.3.as_str()), ("", "admin"));
    assert!(kinds(&log).contains(&"api_key_revoked"), "{log:?}");

    // The account's page shows a reset by a plain form once.
    let response = admin
        .browser
        .plain_form(
            "reset_user_password",
            &[("username", "fay")],
            "/admin/users/fay",
        )
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(response.headers()["location"], "/admin/users/fay");
    let page = admin.browser.page("/admin/users/fay").await;
    assert!(
        page.contains("data-testid=\"temporary-password\""),
        "{page}"
    );
    let page = admin.browser.page("/admin/users/fay").await;
    assert!(!page.contains("data-testid=\"temporary-password\""));
}

async fn an_administrator_revokes_a_key(backend: Backend) {
    let (_db, app) = TestApp::on(backend).await;
    let admin = app.admin().await;
    let gus = app.tool("gus", "user").await;
    let (status, _) = admin.delete("/rest/users/gus/api-key").await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_eq!(
        key_error(&app, &gus.key).await.as_deref(),
        Some("invalid_api_key")
    );
    let (status, body) = admin.delete("/rest/users/gus/api-key").await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    let (status, _) = admin.delete("/rest/users/nobody/api-key").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    // Not the caller's own (a tool would lock itself out): that is the profile's Delete.
    let (status, body) = admin.delete("/rest/users/admin/api-key").await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert_eq!(key_error(&app, &admin.key).await, None);
    // His session still works, and his log says who revoked it.
    assert_eq!(session_error(&gus.browser).await, None);
    let response = gus.browser.get("/rest/user/events").await;
    let log = json(response).await;
    assert_eq!(log[0]["kind"], "api_key_revoked");
    assert_eq!(log[0]["by"], "admin");
}

async fn account_changes_are_for_administrators_and_bad_ones_are_4xx(backend: Backend) {
    let (_db, app) = TestApp::on(backend).await;
    let admin = app.admin().await;
    let hal = app.tool("hal", "user").await;
    for (status, body) in [
        hal.get("/rest/users").await,
        hal.patch("/rest/users/admin", &json!({ "role": "user" }))
            .await,
        hal.patch("/rest/users/hal", &json!({ "role": "admin" }))
            .await,
        hal.delete("/rest/users/admin/api-key").await,
    ] {
        assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    }
    for (change, expected) in [
        (json!({}), StatusCode::BAD_REQUEST),
        (json!({ "role": "root" }), StatusCode::BAD_REQUEST),
        (json!({ "disabled": "yes" }), StatusCode::BAD_REQUEST),
        (json!({ "disable": true }), StatusCode::BAD_REQUEST),
    ] {
        let (status, body) = admin.patch("/rest/users/hal", &change).await;
        assert_eq!(status, expected, "{change}: {body}");
    }
    let (status, _) = admin
        .patch("/rest/users/nobody", &json!({ "disabled": true }))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, users) = admin.get("/rest/users").await;
    assert_eq!(status, StatusCode::OK);
    let hal_row = users
        .as_array()
        .unwrap()
        .iter()
        .find(|user| user["username"] == "hal")
        .unwrap();
    assert_eq!(
        (hal_row["role"].as_str(), hal_row["disabled"].as_bool()),
        (Some("user"), Some(false))
    );
    // The plain form: the error comes back to the account's page.
    let response = admin
        .browser
        .plain_form(
            "set_user_role",
            &[("username", "admin"), ("role", "user")],
            "/admin/users/admin",
        )
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let page = admin.browser.page("/admin/users/admin").await;
    assert!(page.contains("is the last administrator"), "{page}");
    // Not on oneself, even with another administrator to take over.
    app.create_user("deputy", "admin").await;
    let (status, body) = admin
        .patch("/rest/users/admin", &json!({ "disabled": true }))
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains("your own account")
    );
    let response = admin
        .browser
        .server_fn("reset_user_password", &[("username", "admin")])
        .await;
    assert_eq!(response.status(), StatusCode::CONFLICT);
    assert_eq!(basic(&app, "admin", ADMIN_PASSWORD).await.0, StatusCode::OK);
}

async fn the_security_log_records_each_event_with_the_client_address(backend: Backend) {
    let (_db, app) = TestApp::on(backend).await;
    let ivy = app.tool("ivy", "user").await;
    // A failed sign-in to her account, a sign-in from Firefox, a new key, a new address.
    let response = app
        .browser()
        .server_fn(
            "sign_in",
            &[("username", "ivy"), ("password", "not-her-password")],
        )
        .await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    let response = ivy
        .browser
        .client
        .post(app.url("/api/sign_in"))
        .header("accept", "application/json")
        .header("content-type", "application/x-www-form-urlencoded")
        .header(
            "user-agent",
            "Mozilla/5.0 (X11; Linux x86_64; rv:120.0) Gecko/20100101 Firefox/120.0",
        )
        .body(format!("username=ivy&password={}", password_of("ivy")))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    opt_in(&ivy, "ivy@example.com").await;
    // The failed sign-in is written off the request path: wait for it (bounded).
    let mut log = Vec::new();
    for _ in 0..100 {
        log = own_log(&ivy).await;
        if kinds(&log).contains(&"sign_in_failed") {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    let found = kinds(&log);
    for kind in [
        "email_changed",
        "signed_in",
        "sign_in_failed",
        "api_key_created",
    ] {
        assert!(found.contains(&kind), "{kind} in {log:?}");
    }
    // Her own doings carry her address; the administrator's (creating her account) do not
    // show theirs to her.
    assert!(
        log.iter()
            .all(|event| event.1 == "127.0.0.1" || event.0 == "account_created"),
        "{log:?}"
    );
    assert!(found.contains(&"account_created"), "{log:?}");
    let firefox = log
        .iter()
        .find(|event| event.0 == "signed_in" && !event.2.is_empty())
        .unwrap();
    assert_eq!(firefox.2, "Firefox on Linux");
    // Keys are named by their public prefix, addresses masked.
    let detail = |kind: &str| {
        log.iter()
            .find(|event| event.0 == kind)
            .map(|event| event.2.clone())
            .unwrap()
    };
    assert_eq!(detail("api_key_created"), format!("{}.••••", &ivy.key[..8]));
    assert_eq!(detail("email_changed"), "none → i•••@example.com");
    // The profile shows it.
    let page = ivy.browser.page("/profile").await;
    assert!(page.contains("data-testid=\"security-events\""));
    assert!(page.contains("Failed sign-in") && page.contains("Firefox on Linux"));

    // An administrator's change says what changed and who did it; the audit page reads so.
    let admin = app.admin().await;
    let (status, body) = admin
        .patch("/rest/users/ivy", &json!({ "role": "admin" }))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let role = own_log(&ivy).await;
    assert_eq!(
        (role[0].0.as_str(), role[0].2.as_str(), role[0].3.as_str()),
        ("role_changed", "User → Administrator", "admin")
    );
    let audit = admin.browser.page("/admin/audit?kind=role_changed").await;
    assert!(audit.contains("User → Administrator, by admin"), "{audit}");
    assert!(audit.contains("href=\"/admin\""), "the way back: {audit}");
}

async fn creating_accounts_and_changing_the_mail_server_are_audited(backend: Backend) {
    let (_db, app) = TestApp::on(backend).await;
    let admin = app.admin().await;
    app.tool("newcomer", "user").await;
    let saved = admin
        .browser
        .server_fn(
            "save_mail_server",
            &[
                ("host", "smtp.example.com"),
                ("port", "2525"),
                ("security", "none"),
            ],
        )
        .await;
    assert_eq!(saved.status(), StatusCode::OK, "{:?}", saved.text().await);

    let created = admin
        .browser
        .page("/admin/audit?kind=account_created")
        .await;
    // The first administrator at first start, and the newcomer by an administrator.
    assert_eq!(
        created.matches("data-testid=\"security-event\"").count(),
        2,
        "{created}"
    );
    assert!(
        created.contains("the first administrator, at first start"),
        "{created}"
    );
    assert!(
        created.contains("newcomer") && created.contains("as user"),
        "{created}"
    );
    let changed = admin
        .browser
        .page("/admin/audit?kind=mail_server_changed")
        .await;
    assert_eq!(
        changed.matches("data-testid=\"security-event\"").count(),
        1,
        "{changed}"
    );
    assert!(changed.contains("smtp.example.com:2525, none"), "{changed}");

    // Revoking a key is offered only where there is one.
    let with_key = admin.browser.page("/admin/users/newcomer").await;
    assert!(with_key.contains("Revoke API key"), "{with_key}");
    app.create_user("keyless", "user").await;
    let without = admin.browser.page("/admin/users/keyless").await;
    assert!(
        without.contains("Reset password") && !without.contains("Revoke API key"),
        "{without}"
    );
}

async fn the_audit_page_filters_and_pages_every_accounts_events(backend: Backend) {
    let (_db, app) = TestApp::on(backend).await;
    let admin = app.admin().await;
    let jay = app.tool("jay", "user").await;
    // 54 key replacements: more than a page.
    for _ in 0..54 {
        let response = jay.browser.server_fn("generate_api_key", &[]).await;
        assert_eq!(response.status(), StatusCode::OK);
    }
    let first = admin
        .browser
        .get("/admin/audit?user=jay&kind=api_key_replaced")
        .await;
    assert_eq!(first.status(), StatusCode::OK);
    let page = first.text().await.unwrap();
    assert_eq!(page.matches("data-testid=\"security-event\"").count(), 50);
    assert!(!page.contains("data-kind=\"api_key_created\""));
    let older = page
        .split("href=\"/admin/audit?")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .expect("a link to older events")
        .replace("&amp;", "&");
    assert!(
        older.contains("user=jay") && older.contains("after="),
        "{older}"
    );
    let second = admin.browser.page(&format!("/admin/audit?{older}")).await;
    assert_eq!(
        second.matches("data-testid=\"security-event\"").count(),
        4,
        "{second}"
    );
    // Everyone's events without a filter (a page of them), one user's with it; nobody's for an
    // unknown user.
    let all = admin.browser.page("/admin/audit").await;
    assert_eq!(all.matches("data-testid=\"security-event\"").count(), 50);
    let admins = admin.browser.page("/admin/audit?user=admin").await;
    assert!(admins.contains("data-kind=\"signed_in\""));
    assert!(admins.contains("data-kind=\"api_key_created\""));
    assert!(!admins.contains("data-kind=\"api_key_replaced\""));
    // The user filter ignores case; a name nobody has is said so (not an empty log).
    let any_case = admin
        .browser
        .page("/admin/audit?user=JAY&kind=api_key_replaced")
        .await;
    assert_eq!(
        any_case.matches("data-testid=\"security-event\"").count(),
        50
    );
    let none = admin.browser.get("/admin/audit?user=nobody").await;
    assert_eq!(none.status(), StatusCode::BAD_REQUEST);
    assert!(none.text().await.unwrap().contains("No user named nobody."));
    let bad = admin.browser.page("/admin/audit?kind=bogus").await;
    assert!(bad.contains("There is no such kind of event."));
    // Administrators only.
    let response = jay.browser.get("/admin/audit").await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
}

async fn old_api_key_events_carry_over_into_the_security_log(backend: Backend) {
    let database = TestDatabase::new(backend).await;
    // The schema as it was before the security log, with key events in it.
    app::db::migrate(&database.url, Some(9)).await.unwrap();
    let db = Database::connect(&database.url).await.unwrap();
    let backend_kind = db.get_database_backend();
    for sql in [
        "INSERT INTO users (username, name, role, password_hash, notifications, created_at) \
         VALUES ('old', 'Old', 'user', 'x', FALSE, '2026-01-01T00:00:00Z')",
        "INSERT INTO api_key_events (user_id, action, at, ip) SELECT id, 'created', \
         '2026-01-02T00:00:00Z', '10.0.0.1' FROM users WHERE username = 'old'",
        "INSERT INTO api_key_events (user_id, action, at, ip) SELECT id, 'deleted', \
         '2026-01-03T00:00:00Z', NULL FROM users WHERE username = 'old'",
    ] {
        db.execute_raw(Statement::from_string(backend_kind, sql))
            .await
            .unwrap();
    }
    db.close().await.unwrap();
    app::db::migrate(&database.url, None).await.unwrap();
    let db = Database::connect(&database.url).await.unwrap();
    let rows = db
        .query_all_raw(Statement::from_string(
            backend_kind,
            "SELECT kind, ip FROM security_events ORDER BY id",
        ))
        .await
        .unwrap();
    let events: Vec<(String, Option<String>)> = rows
        .iter()
        .map(|row| {
            (
                row.try_get_by_index(0).unwrap(),
                row.try_get_by_index(1).unwrap(),
            )
        })
        .collect();
    assert_eq!(
        events,
        [
            ("api_key_created".to_owned(), Some("10.0.0.1".to_owned())),
            ("api_key_deleted".to_owned(), None)
        ]
    );
}

async fn the_operator_resets_a_password_from_the_command_line(backend: Backend) {
    let database = TestDatabase::new(backend).await;
    let app = TestApp::spawn(&database).await;
    let output = tokio::process::Command::new(env!("CARGO_BIN_EXE_server"))
        .args(["admin", "reset-password", "admin"])
        .env("DATABASE_URL", &database.url)
        .env("CONSOLE_DATA_DIR", &database.data_dir)
        .env("LEPTOS_OUTPUT_NAME", "console")
        .env("CONSOLE_SECRET", "a-secret-shared-by-the-test-instances")
        .env("RUST_LOG", "warn")
        .output()
        .await
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let temporary = stdout
        .lines()
        .find_map(|line| line.strip_prefix("Temporary password for admin: "))
        .expect("the temporary password")
        .trim()
        .to_owned();
    assert_eq!(
        basic(&app, "admin", ADMIN_PASSWORD).await.0,
        StatusCode::UNAUTHORIZED
    );
    let browser = app.browser();
    browser.sign_in("admin", &temporary).await;
    let response = change_password(&browser, &temporary, STRONG, STRONG).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(basic(&app, "admin", STRONG).await.0, StatusCode::OK);
    // An unknown user is an error, and nothing is printed as a password.
    let output = tokio::process::Command::new(env!("CARGO_BIN_EXE_server"))
        .args(["admin", "reset-password", "nobody"])
        .env("DATABASE_URL", &database.url)
        .env("CONSOLE_DATA_DIR", &database.data_dir)
        .env("CONSOLE_SECRET", "a-secret-shared-by-the-test-instances")
        .output()
        .await
        .unwrap();
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("no user named"));
    assert!(output.stdout.is_empty());
}

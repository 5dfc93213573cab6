//! Sign-in, sessions, the first administrator, and the REST base (`/rest/user`, `/rest/users`).

use reqwest::StatusCode;
use reqwest::header::{LOCATION, SET_COOKIE, WWW_AUTHENTICATE};
use serde_json::json;

use crate::helpers::{ADMIN_PASSWORD, Backend, TestApp, TestDatabase, json};
use crate::on_both_databases;

on_both_databases!(
    health_check_answers_when_the_database_does,
    first_start_creates_the_administrator,
    anonymous_rest_call_is_401_with_a_json_error_and_challenge,
    wrong_basic_password_is_401,
    admin_creates_users_and_the_new_user_can_sign_in,
    duplicate_username_is_409,
    bad_user_fields_are_400_naming_the_field,
    users_may_not_create_users,
    sign_in_sets_a_session_cookie_that_authenticates_rest_calls,
    wrong_password_gets_a_clear_message_and_repeats_are_throttled,
    successful_sign_ins_never_spend_the_throttle,
    sign_out_ends_the_session,
    sessions_survive_a_restart_and_are_shared_between_instances,
    sessions_signed_in_before_the_upgrade_stay_signed_in,
    usernames_are_unique_in_any_case,
    an_upgrade_with_names_differing_only_in_case_stops_and_names_them,
    cross_site_form_posts_are_refused,
);

async fn health_check_answers_when_the_database_does(backend: Backend) {
    let (_db, app) = TestApp::on(backend).await;
    let response = app.browser().get("/healthz").await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.text().await.unwrap(), "ok");
}

async fn first_start_creates_the_administrator(backend: Backend) {
    let (_db, app) = TestApp::on(backend).await;
    let response = reqwest::Client::new()
        .get(app.url("/rest/user"))
        .basic_auth("admin", Some(ADMIN_PASSWORD))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let body = json(response).await;
    assert_eq!(body["username"], "admin");
    assert_eq!(body["role"], "admin");
    // No address yet, so no notifications: the Email Settings form accepts its first state.
    assert_eq!(body["notifications"], false);
    assert!(body.get("password_hash").is_none());
}

async fn anonymous_rest_call_is_401_with_a_json_error_and_challenge(backend: Backend) {
    let (_db, app) = TestApp::on(backend).await;
    let response = app.browser().rest_user().await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert!(
        response.headers()[WWW_AUTHENTICATE]
            .to_str()
            .unwrap()
            .starts_with("Basic")
    );
    let body = json(response).await;
    assert_eq!(body["error"], "unauthenticated");
    assert!(body["message"].as_str().unwrap().contains("sign in"));
}

async fn wrong_basic_password_is_401(backend: Backend) {
    let (_db, app) = TestApp::on(backend).await;
    for (user, password) in [("admin", "not-the-password"), ("nobody", "whatever-it-is")] {
        let response = reqwest::Client::new()
            .get(app.url("/rest/user"))
            .basic_auth(user, Some(password))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "{user}");
        assert!(response.headers().contains_key(WWW_AUTHENTICATE));
        assert_eq!(json(response).await["error"], "invalid_credentials");
    }
}

async fn admin_creates_users_and_the_new_user_can_sign_in(backend: Backend) {
    let (_db, app) = TestApp::on(backend).await;
    let response = reqwest::Client::new()
        .post(app.url("/rest/users"))
        .basic_auth("admin", Some(ADMIN_PASSWORD))
        .json(&json!({
            "username": "jane", "password": "jane-secret-1", "role": "user",
            "name": "Jane Doe", "email": "jane@example.com"
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::CREATED);
    let body = json(response).await;
    assert_eq!(
        body,
        json!({ "username": "jane", "name": "Jane Doe", "role": "user",
                "email": "jane@example.com", "email_verified": true, "notifications": true,
                "disabled": false, "must_change_password": false })
    );
    let browser = app.browser();
    browser.sign_in("jane", "jane-secret-1").await;
    assert_eq!(json(browser.rest_user().await).await["name"], "Jane Doe");
}

async fn duplicate_username_is_409(backend: Backend) {
    let (_db, app) = TestApp::on(backend).await;
    app.create_user("twice", "user").await;
    let response = reqwest::Client::new()
        .post(app.url("/rest/users"))
        .basic_auth("admin", Some(ADMIN_PASSWORD))
        .json(&json!({ "username": "twice", "password": "another-password", "role": "admin" }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::CONFLICT);
    let body = json(response).await;
    assert_eq!(body["error"], "conflict");
    assert!(body["message"].as_str().unwrap().contains("twice"));
}

async fn bad_user_fields_are_400_naming_the_field(backend: Backend) {
    let (_db, app) = TestApp::on(backend).await;
    let cases = [
        (
            json!({ "username": "a b", "password": "long-enough", "role": "user" }),
            "username",
        ),
        (
            json!({ "username": "ok", "password": "short", "role": "user" }),
            "password",
        ),
        (
            json!({ "username": "ok", "password": "long-enough", "role": "root" }),
            "role",
        ),
        (
            json!({ "username": "ok", "password": "long-enough", "role": "user", "email": "nope" }),
            "email",
        ),
        (json!({ "username": "ok", "role": "user" }), "password"),
    ];
    for (body, field) in cases {
        let response = reqwest::Client::new()
            .post(app.url("/rest/users"))
            .basic_auth("admin", Some(ADMIN_PASSWORD))
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{body}");
        let error = json(response).await;
        assert_eq!(error["error"], "invalid_request", "{body}");
        assert_eq!(error["field"], field, "{body}: {error}");
        assert!(error["message"].as_str().unwrap().len() > 10);
    }
    // Nothing was created by the refused requests.
    let browser = app.browser();
    let response = browser
        .server_fn(
            "sign_in",
            &[("username", "ok"), ("password", "long-enough")],
        )
        .await;
    assert_ne!(response.status(), StatusCode::OK);
}

async fn users_may_not_create_users(backend: Backend) {
    let (_db, app) = TestApp::on(backend).await;
    let password = app.create_user("plain", "user").await;
    let response = reqwest::Client::new()
        .post(app.url("/rest/users"))
        .basic_auth("plain", Some(&password))
        .json(&json!({ "username": "sneaky", "password": "long-enough", "role": "admin" }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert_eq!(json(response).await["error"], "forbidden");
}

async fn sign_in_sets_a_session_cookie_that_authenticates_rest_calls(backend: Backend) {
    let (_db, app) = TestApp::on(backend).await;
    let browser = app.browser();
    let response = browser
        .server_fn(
            "sign_in",
            &[("username", "admin"), ("password", ADMIN_PASSWORD)],
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let cookie = response.headers()[SET_COOKIE].to_str().unwrap().to_owned();
    assert!(cookie.starts_with("console_session="), "{cookie}");
    assert!(cookie.contains("HttpOnly"), "{cookie}");
    assert!(cookie.contains("SameSite=Lax"), "{cookie}");
    assert!(
        !cookie.contains("Secure"),
        "plain-http console must not set Secure: {cookie}"
    );
    assert_eq!(json(browser.rest_user().await).await["username"], "admin");
}

async fn wrong_password_gets_a_clear_message_and_repeats_are_throttled(backend: Backend) {
    let (_db, app) = TestApp::on(backend).await;
    let browser = app.browser();
    let response = browser
        .server_fn("sign_in", &[("username", "admin"), ("password", "wrong")])
        .await;
    assert_eq!(json(response).await, json!("InvalidCredentials"));
    for _ in 0..4 {
        browser
            .server_fn("sign_in", &[("username", "admin"), ("password", "wrong")])
            .await;
    }
    // The sixth attempt is refused before the password is even checked — even the right one.
    let response = browser
        .server_fn(
            "sign_in",
            &[("username", "admin"), ("password", ADMIN_PASSWORD)],
        )
        .await;
    let body = json(response).await;
    assert!(
        body["TooManyRequests"]["retry_after_secs"]
            .as_u64()
            .unwrap()
            >= 1,
        "{body}"
    );
    assert_eq!(browser.rest_user().await.status(), StatusCode::UNAUTHORIZED);
}

/// An office behind one address signs in all morning: only wrong passwords spend the budget.
async fn successful_sign_ins_never_spend_the_throttle(backend: Backend) {
    let (_db, app) = TestApp::on(backend).await;
    let browser = app.browser();
    for attempt in 0..30 {
        let response = browser
            .server_fn(
                "sign_in",
                &[("username", "admin"), ("password", ADMIN_PASSWORD)],
            )
            .await;
        assert_eq!(response.status(), StatusCode::OK, "sign-in {attempt}");
    }
    let response = browser
        .server_fn("sign_in", &[("username", "admin"), ("password", "wrong")])
        .await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(json(response).await, json!("InvalidCredentials"));
}

async fn sign_out_ends_the_session(backend: Backend) {
    let (_db, app) = TestApp::on(backend).await;
    let browser = app.signed_in("leaving", "user").await;
    assert_eq!(browser.rest_user().await.status(), StatusCode::OK);
    let response = browser.server_fn("sign_out", &[]).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(browser.rest_user().await.status(), StatusCode::UNAUTHORIZED);
    let page = browser.get("/profile").await;
    assert_eq!(page.status(), StatusCode::FOUND);
    assert_eq!(page.headers()[LOCATION], "/signin?next=%2Fprofile");
}

async fn sessions_survive_a_restart_and_are_shared_between_instances(backend: Backend) {
    let database = TestDatabase::new(backend).await;
    let first = TestApp::spawn(&database).await;
    let browser = first.browser();
    browser.sign_in("admin", ADMIN_PASSWORD).await;
    let cookie = browser.cookie_header();
    drop(first);

    // A restart (new process state, same database) and a second instance both accept the cookie.
    let restarted = TestApp::spawn(&database).await;
    let second = TestApp::spawn(&database).await;
    for app in [&restarted, &second] {
        let response = reqwest::Client::new()
            .get(app.url("/rest/user"))
            .header("cookie", &cookie)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(json(response).await["username"], "admin");
    }
}

/// Sessions name their account in a column since m0013 (so a request reads both in one query),
/// and are kept by the digest of their cookie since m0014 (the table holds no cookie); the
/// sessions already signed in when a server is upgraded are brought along, and stay signed in.
async fn sessions_signed_in_before_the_upgrade_stay_signed_in(backend: Backend) {
    use sea_orm::sea_query::{Alias, Query};
    use sea_orm::{ConnectionTrait, Database, Statement};

    let database = TestDatabase::new(backend).await;
    app::db::migrate(&database.url, Some(12)).await.unwrap();
    let db = Database::connect(&database.url).await.unwrap();
    let kind = db.get_database_backend();
    let now = chrono::Utc::now();
    insert_old_user(&db, "old", "Old").await;
    let id: i64 = db
        .query_one_raw(Statement::from_string(
            kind,
            "SELECT id FROM users WHERE username = 'old'",
        ))
        .await
        .unwrap()
        .unwrap()
        .try_get_by_index(0)
        .unwrap();
    let session_id = tower_sessions::session::Id::default().to_string();
    let session = Query::insert()
        .into_table(Alias::new("sessions"))
        .columns(["id", "data", "expires_at"].map(Alias::new))
        .values_panic([
            session_id.clone().into(),
            json!({"user_id": id, "epoch": 0}).to_string().into(),
            (now + chrono::Duration::days(1)).into(),
        ])
        .to_owned();
    db.execute(&session).await.unwrap();
    db.close().await.unwrap();

    let app = TestApp::spawn(&database).await;
    let response = reqwest::Client::new()
        .get(app.url("/rest/user"))
        .header("cookie", format!("console_session={session_id}"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(json(response).await["username"], "old");
    let named: Option<i64> = app
        .state()
        .db
        .query_one_raw(Statement::from_string(kind, "SELECT user_id FROM sessions"))
        .await
        .unwrap()
        .unwrap()
        .try_get_by_index(0)
        .unwrap();
    assert_eq!(named, Some(id));
    let stored: String = app
        .state()
        .db
        .query_one_raw(Statement::from_string(kind, "SELECT id FROM sessions"))
        .await
        .unwrap()
        .unwrap()
        .try_get_by_index(0)
        .unwrap();
    assert_ne!(stored, session_id, "the cookie's value is in the database");
    assert_eq!(
        stored,
        app::auth::ssr::sessions::stored_id(&session_id.parse().unwrap())
    );
}

/// Usernames are one name in any case: signing in finds the account whatever the case typed,
/// and a name that differs from a taken one only in case is taken.
async fn usernames_are_unique_in_any_case(backend: Backend) {
    let (_db, app) = TestApp::on(backend).await;
    let password = app.create_user("Alice", "user").await;
    app.browser().sign_in("aLiCe", &password).await;
    let response = reqwest::Client::new()
        .post(app.url("/rest/users"))
        .basic_auth("admin", Some(crate::helpers::ADMIN_PASSWORD))
        .json(&json!({ "username": "alice", "password": "another-password-1", "role": "user" }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::CONFLICT);
}

/// An upgrade finds accounts whose names differ only in case: it renames none by guesswork, and
/// stops naming them.
async fn an_upgrade_with_names_differing_only_in_case_stops_and_names_them(backend: Backend) {
    use sea_orm::Database;

    let database = TestDatabase::new(backend).await;
    app::db::migrate(&database.url, Some(14)).await.unwrap();
    let db = Database::connect(&database.url).await.unwrap();
    for name in ["Dup", "dup"] {
        insert_old_user(&db, name, name).await;
    }
    db.close().await.unwrap();
    let error = app::db::migrate(&database.url, None)
        .await
        .unwrap_err()
        .to_string();
    assert!(error.contains("named dup"), "{error}");
}

async fn cross_site_form_posts_are_refused(backend: Backend) {
    let (_db, app) = TestApp::on(backend).await;
    let browser = app.signed_in("victim", "user").await;
    let response = browser
        .client
        .post(browser.url("/api/update_email_settings"))
        .header("origin", "https://evil.example")
        .header("content-type", "application/x-www-form-urlencoded")
        .body("email=attacker%40evil.example&notifications=true")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert_eq!(json(response).await["error"], "cross_site_request");
    let user = json(browser.rest_user().await).await;
    assert_eq!(user["email"], serde_json::Value::Null);
}

/// A user row written straight into a database an older version left (migrated only so far),
/// with the columns every version had.
async fn insert_old_user(db: &sea_orm::DatabaseConnection, username: &str, name: &str) {
    use sea_orm::ConnectionTrait;
    use sea_orm::sea_query::{Alias, Query};

    let user = Query::insert()
        .into_table(Alias::new("users"))
        .columns(
            [
                "username",
                "name",
                "role",
                "password_hash",
                "notifications",
                "created_at",
            ]
            .map(Alias::new),
        )
        .values_panic([
            username.into(),
            name.into(),
            "user".into(),
            "x".into(),
            false.into(),
            chrono::Utc::now().into(),
        ])
        .to_owned();
    db.execute(&user).await.unwrap();
}

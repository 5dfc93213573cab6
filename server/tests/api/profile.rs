//! The profile page and Email Settings, through the hydrated app's calls and plain form posts.

use reqwest::StatusCode;
use reqwest::header::LOCATION;
use serde_json::{Value, json};

use crate::helpers::{Backend, TestApp, json};
use crate::on_both_databases;

on_both_databases!(
    anonymous_visitors_are_sent_to_sign_in_and_back,
    profile_shows_avatar_name_and_both_sections,
    email_settings_are_saved,
    invalid_email_is_refused_and_nothing_is_saved,
    notifications_without_an_email_are_refused,
    plain_form_post_saves_and_comes_back_with_a_confirmation,
    plain_form_post_with_bad_input_comes_back_with_the_error,
);

async fn anonymous_visitors_are_sent_to_sign_in_and_back(backend: Backend) {
    let (_db, app) = TestApp::on(backend).await;
    let browser = app.browser();
    let response = browser.get("/profile").await;
    assert_eq!(response.status(), StatusCode::FOUND);
    assert_eq!(response.headers()[LOCATION], "/signin?next=%2Fprofile");
    let page = browser.get("/signin?next=%2Fprofile").await;
    assert_eq!(page.status(), StatusCode::OK);
    let html = page.text().await.unwrap();
    assert!(html.contains("Sign in"), "{html}");
    // A plain-form sign-in then lands on `next`.
    let response = browser
        .plain_form(
            "sign_in",
            &[
                ("username", "admin"),
                ("password", crate::helpers::ADMIN_PASSWORD),
                ("next", "/profile"),
            ],
            "/signin?next=%2Fprofile",
        )
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(response.headers()[LOCATION], "/profile");
    assert_eq!(browser.get("/profile").await.status(), StatusCode::OK);
}

async fn profile_shows_avatar_name_and_both_sections(backend: Backend) {
    let (_db, app) = TestApp::on(backend).await;
    let browser = app.signed_in("viewer", "user").await;
    let response = browser.get("/profile").await;
    assert_eq!(response.status(), StatusCode::OK);
    let html = response.text().await.unwrap();
    for expected in [
        "data-testid=\"avatar\"",
        "data-testid=\"login-name\"",
        ">viewer<",
        "API Key",
        "Email Settings",
        "No API Key found, click generate to create a new one",
        "I want to receive email notifications",
        "Update",
        "AIP Console",
    ] {
        assert!(html.contains(expected), "missing {expected:?}");
    }
}

async fn email_settings_are_saved(backend: Backend) {
    let (_db, app) = TestApp::on(backend).await;
    let browser = app.signed_in("mailer", "user").await;
    let response = browser
        .server_fn(
            "update_email_settings",
            &[("email", " mailer@example.com "), ("notifications", "true")],
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        json(response).await,
        json!({ "email": "mailer@example.com", "email_verified": false, "notifications": true })
    );
    // Turning notifications off (unchecked box: field absent) keeps the address.
    let response = browser
        .server_fn("update_email_settings", &[("email", "mailer@example.com")])
        .await;
    assert_eq!(json(response).await["notifications"], false);
    let user = json(browser.rest_user().await).await;
    assert_eq!(user["email"], "mailer@example.com");
    assert_eq!(user["notifications"], false);
    // The page renders what was saved.
    let html = browser.page("/profile").await;
    assert!(html.contains("value=\"mailer@example.com\""));
}

async fn invalid_email_is_refused_and_nothing_is_saved(backend: Backend) {
    let (_db, app) = TestApp::on(backend).await;
    let browser = app.signed_in("careful", "user").await;
    browser
        .server_fn(
            "update_email_settings",
            &[("email", "careful@example.com"), ("notifications", "true")],
        )
        .await;
    for bad in [
        "not-an-address",
        "careful@example.com\r\nBcc: x@evil.example",
        "a@b",
        &format!("{}@example.com", "x".repeat(260)),
    ] {
        let response = browser
            .server_fn(
                "update_email_settings",
                &[("email", bad), ("notifications", "false")],
            )
            .await;
        let error = json(response).await;
        assert_eq!(error["Invalid"]["field"], "email", "{bad:?}: {error}");
        assert!(!error["Invalid"]["message"].as_str().unwrap().is_empty());
    }
    let user = json(browser.rest_user().await).await;
    assert_eq!(user["email"], "careful@example.com");
    assert_eq!(user["notifications"], true);
}

async fn notifications_without_an_email_are_refused(backend: Backend) {
    let (_db, app) = TestApp::on(backend).await;
    let browser = app.signed_in("nomail", "user").await;
    let response = browser
        .server_fn(
            "update_email_settings",
            &[("email", ""), ("notifications", "true")],
        )
        .await;
    let error = json(response).await;
    assert!(
        error["Invalid"]["message"]
            .as_str()
            .unwrap()
            .contains("to receive notifications"),
        "{error}"
    );
    // Without notifications an empty address is fine.
    let response = browser
        .server_fn("update_email_settings", &[("email", "")])
        .await;
    assert_eq!(
        json(response).await,
        json!({ "email": Value::Null, "email_verified": true, "notifications": false })
    );
}

async fn plain_form_post_saves_and_comes_back_with_a_confirmation(backend: Backend) {
    let (_db, app) = TestApp::on(backend).await;
    let browser = app.signed_in("nojs", "user").await;
    let response = browser
        .plain_form(
            "update_email_settings",
            &[("email", "nojs@example.com"), ("notifications", "true")],
            "/profile",
        )
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let location = response.headers()[LOCATION].to_str().unwrap().to_owned();
    assert_eq!(location, "/profile#email-settings");
    let html = browser.page(&location).await;
    assert!(html.contains("Email settings saved."));
    assert!(html.contains("value=\"nojs@example.com\""));
    // No mail server is set up here: the link waits for one, and the page says so.
    assert!(
        html.contains("A verification link goes to the address once the administrator has set up a mail server")
            && !html.contains("We sent a verification link"),
        "{html}"
    );
    // Said once: a reload shows the saved values, not the message.
    let again = browser.page(&location).await;
    assert!(!again.contains("Email settings saved."));
    assert!(again.contains("value=\"nojs@example.com\""));
    // No link can say it either.
    let crafted = browser.get("/profile?email_settings=saved").await;
    assert!(
        !crafted
            .text()
            .await
            .unwrap()
            .contains("Email settings saved.")
    );
}

async fn plain_form_post_with_bad_input_comes_back_with_the_error(backend: Backend) {
    let (_db, app) = TestApp::on(backend).await;
    let browser = app.signed_in("nojsbad", "user").await;
    let response = browser
        .plain_form(
            "update_email_settings",
            &[("email", "broken"), ("notifications", "true")],
            "/profile",
        )
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let location = response.headers()[LOCATION].to_str().unwrap().to_owned();
    // Back to the page, nothing of the error in its address.
    assert_eq!(location, "/profile");
    let html = browser.page(&location).await;
    assert!(html.contains("is not a valid email address"), "{html}");
    // What was typed is still there, marked invalid, described by the error beside it, focused.
    let field = html
        .split("<input")
        .find(|input| input.contains("name=\"email\""))
        .unwrap();
    for expected in [
        "value=\"broken\"",
        "aria-invalid=\"true\"",
        "aria-describedby=\"email-settings-email-error\"",
        "autofocus",
    ] {
        assert!(field.contains(expected), "{expected} in {field}");
    }
    assert!(html.contains("id=\"email-settings-email-error\""), "{html}");
    assert_eq!(json(browser.rest_user().await).await["email"], Value::Null);
    // A reload shows neither the error nor the rejected value.
    let again = browser.page("/profile").await;
    assert!(!again.contains("is not a valid email address"));
    assert!(!again.contains("value=\"broken\""));
}

on_both_databases!(error_text_in_an_address_is_never_shown);

/// A link carrying an error the way Leptos encodes one is sent to the same page without it, so
/// nobody can make the console show their text as its own error.
async fn error_text_in_an_address_is_never_shown(backend: Backend) {
    use base64::Engine;
    let (_db, app) = TestApp::on(backend).await;
    let browser = app.signed_in("crafted", "user").await;
    let error = serde_json::json!({"Invalid": {"field": "email", "message": "Your account is locked: call 555-0100"}});
    let encoded = base64::engine::general_purpose::URL_SAFE.encode(error.to_string());
    let path = format!("/profile?tab=1&__path=/api/update_email_settings&__err={encoded}");
    let response = browser.get(&path).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(response.headers()[LOCATION], "/profile?tab=1");
    let html = browser.page("/profile?tab=1").await;
    assert!(!html.contains("555-0100"), "{html}");
    // Cleaning an address never leads to another site.
    let response = browser
        .get(&format!("//evil.example/?__err={encoded}"))
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(response.headers()[LOCATION], "/");

    // A browser that sends no Referer still gets its failure, not a silent "success".
    let response = browser
        .client
        .post(browser.url("/api/update_email_settings"))
        .header("accept", "text/html")
        .header("content-type", "application/x-www-form-urlencoded")
        .header("origin", &browser.address)
        .body("email=broken&notifications=true")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(response.headers()[LOCATION], "/");
    let html = browser.page("/profile").await;
    // The flash was a failure for the update form: the profile shows it.
    assert!(html.contains("is not a valid email address"), "{html}");
}

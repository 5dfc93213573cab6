//! Applications and versions: bad input, who may see what, the API description, and the pages'
//! plain forms (no JavaScript).

use futures_util::StreamExt;
use reqwest::StatusCode;
use reqwest::header::{ACCEPT, LOCATION};
use serde_json::{Value, json};

use crate::archives::{sample_project, tar_gz, zip};
use crate::helpers::{ADMIN_PASSWORD, Backend, TestApp, TestDatabase};
use crate::on_both_databases;

on_both_databases!(
    bad_input_gets_clear_errors_and_loses_nothing,
    oversized_archives_are_413_and_leave_nothing_behind,
    users_cannot_see_or_touch_others_applications,
    openapi_describes_the_whole_rest_api,
    pages_work_with_plain_forms,
    names_are_unique_per_owner_and_the_upgrade_keeps_everything,
);

fn assert_field_error(status: StatusCode, body: &Value, field: &str) {
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(body["field"], field, "{body}");
    assert!(!body["message"].as_str().unwrap().is_empty());
}

async fn bad_input_gets_clear_errors_and_loses_nothing(backend: Backend) {
    let (_db, app) = TestApp::on(backend).await;
    let tool = app.tool("ana", "user").await;
    for bad in [
        json!({ "name": "" }),
        json!({ "name": "  " }),
        json!({ "name": "x".repeat(101) }),
        json!({ "name": "a\nb" }),
    ] {
        let (status, body) = tool.post("/rest/applications", &bad).await;
        assert_field_error(status, &body, "name");
    }
    let (status, body) = tool.post("/rest/applications", &json!({})).await;
    assert_field_error(status, &body, "name");
    let application = tool.create_application("MEUDON").await;
    let (status, body) = tool
        .post("/rest/applications", &json!({ "name": " MEUDON " }))
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert!(body["message"].as_str().unwrap().contains("MEUDON"));

    let archive = || ("p.tar.gz", tar_gz(&sample_project()));
    let (status, body) = tool.upload(application, Some("1.0"), None).await;
    assert_field_error(status, &body, "archive");
    let (status, body) = tool.upload(application, None, Some(archive())).await;
    assert_field_error(status, &body, "name");
    let (status, body) = tool
        .upload(
            application,
            Some("1.0"),
            Some(("notes.txt", b"just text".to_vec())),
        )
        .await;
    assert_field_error(status, &body, "archive");
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains(".zip or .tar.gz")
    );
    let (status, body) = tool
        .upload(
            application,
            Some("1.0"),
            Some(("p.zip", tar_gz(&sample_project()))),
        )
        .await;
    assert_field_error(status, &body, "archive");
    let (status, body) = tool
        .upload(application, Some("1.0"), Some(("empty.zip", Vec::new())))
        .await;
    assert_field_error(status, &body, "archive");

    let version = tool.create_version(application, "1.0", archive()).await;
    let (status, body) = tool.upload(application, Some("1.0"), Some(archive())).await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    // A taken name sent ahead of the archive is refused before the archive is looked at: the
    // answer is the name's conflict, not the junk archive's error.
    let (status, body) = tool
        .upload(
            application,
            Some("1.0"),
            Some(("junk.zip", b"not an archive at all".to_vec())),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");

    let other = tool.create_application("Other").await;
    let other_version = tool
        .create_version(other, "1.0", ("p.zip", zip(&sample_project())))
        .await;
    let start = |application: i64, version: i64, kind: &str| json!({ "application": application, "version": version, "type": kind });
    let (status, body) = tool
        .post("/rest/jobs", &start(application, version, "deploy"))
        .await;
    assert_field_error(status, &body, "type");
    let (status, body) = tool
        .post("/rest/jobs", &start(application, other_version, "analyze"))
        .await;
    assert_field_error(status, &body, "version");
    let (status, body) = tool
        .post("/rest/jobs", &json!({ "application": application }))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");

    // Ids and queries that cannot be read: the same JSON error, documented (the harness checks
    // every answer against the OpenAPI document).
    for (path, field) in [
        ("/rest/jobs/abc", "id"),
        ("/rest/jobs/9223372036854775808", "id"),
        ("/rest/applications/1.5", "id"),
        ("/rest/applications/-/versions", "id"),
        ("/rest/jobs?application=abc", "application"),
        ("/rest/jobs?application=", "application"),
    ] {
        let (status, body) = tool.get(path).await;
        assert_field_error(status, &body, field);
    }
    let (status, body) = tool.post("/rest/jobs/x/stop", &json!({})).await;
    assert_field_error(status, &body, "id");

    // Finished jobs cannot be stopped.
    let job = tool.start_analysis(application, version).await;
    tool.wait_for(job, &["succeeded"]).await;
    let (status, body) = tool
        .post(&format!("/rest/jobs/{job}/stop"), &json!({}))
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");

    // Nothing refused was kept: one version per application, one job.
    assert_eq!(
        tool.get(&format!("/rest/applications/{application}/versions"))
            .await
            .1
            .as_array()
            .unwrap()
            .len(),
        1
    );
    assert_eq!(
        tool.get("/rest/applications")
            .await
            .1
            .as_array()
            .unwrap()
            .len(),
        2
    );
    assert_eq!(tool.get("/rest/jobs").await.1.as_array().unwrap().len(), 1);
}

async fn oversized_archives_are_413_and_leave_nothing_behind(backend: Backend) {
    let database = TestDatabase::new(backend).await;
    let limit = 64 * 1024;
    let app = TestApp::spawn_with(&database, |settings| settings.max_archive_bytes = limit).await;
    let tool = app.tool("ana", "user").await;
    let application = tool.create_application("Big").await;
    let noise = |size: usize| -> Vec<u8> {
        let mut bytes = vec![0x1f, 0x8b];
        bytes.extend((0..size - 2).map(|i| (i * 7 % 251) as u8));
        bytes
    };
    // Refused from its declared length alone, before any of the body is read.
    let host = app.address.trim_start_matches("http://").to_owned();
    let head = format!(
        "POST /rest/applications/{application}/versions HTTP/1.1\r\nHost: {host}\r\n\
         X-API-KEY: {key}\r\nContent-Type: multipart/form-data; boundary=b\r\n\
         Content-Length: {length}\r\n\r\n",
        key = tool.key,
        length = 4 * limit,
    );
    let mut socket = tokio::net::TcpStream::connect(&host).await.unwrap();
    tokio::io::AsyncWriteExt::write_all(&mut socket, head.as_bytes())
        .await
        .unwrap();
    let mut answer = vec![0; 1024];
    let read = tokio::io::AsyncReadExt::read(&mut socket, &mut answer)
        .await
        .unwrap();
    let answer = String::from_utf8_lossy(&answer[..read]);
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");

    // Refused while streaming: one byte over (the length is within the framing allowance).
    let (status, body) = tool
        .upload(
            application,
            Some("big"),
            Some(("big.tar.gz", noise(limit as usize + 1))),
        )
        .await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{body}");
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains("the limit is 1 MB"),
        "{body}"
    );

    // Past the cap in a field the server skips (no length declared): the body itself is cut off,
    // and that is a 413 too.
    let padded = reqwest::multipart::Form::new().text("name", "padded").part(
        "padding",
        reqwest::multipart::Part::stream(reqwest::Body::wrap_stream(futures_util::stream::iter(
            (0..8).map(|_| Ok::<_, std::io::Error>(vec![b'p'; 32 * 1024])),
        ))),
    );
    let answer = reqwest::Client::new()
        .post(app.url(&format!("/rest/applications/{application}/versions")))
        .header("X-API-KEY", &tool.key)
        .multipart(padded)
        .send()
        .await;
    if let Ok(answer) = answer {
        assert_eq!(answer.status(), StatusCode::PAYLOAD_TOO_LARGE);
    }

    // A body with no multipart boundary at all, streamed without a length, is cut off at the
    // cap. The server answers 413 before the client has finished sending, so the client may see
    // the connection close instead; either way nothing is kept (checked below).
    let chunks: Vec<Result<Vec<u8>, std::io::Error>> =
        (0..8).map(|_| Ok(vec![b'x'; 32 * 1024])).collect();
    // Its own client: the connection it leaves behind must not be reused by the next request.
    let endless = reqwest::Client::new()
        .post(app.url(&format!("/rest/applications/{application}/versions")))
        .header("X-API-KEY", &tool.key)
        .header("content-type", "multipart/form-data; boundary=never-sent")
        .body(reqwest::Body::wrap_stream(futures_util::stream::iter(
            chunks,
        )))
        .send()
        .await;
    if let Ok(answer) = endless {
        assert_eq!(answer.status(), StatusCode::PAYLOAD_TOO_LARGE);
    }
    let (status, _) = tool
        .upload(
            application,
            Some("fits"),
            Some(("ok.tar.gz", noise(limit as usize))),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    database.assert_only_versions_archived().await;
    assert_eq!(
        tool.get(&format!("/rest/applications/{application}/versions"))
            .await
            .1
            .as_array()
            .unwrap()
            .len(),
        1
    );
}

async fn users_cannot_see_or_touch_others_applications(backend: Backend) {
    let (database, app) = TestApp::on(backend).await;
    let owner = app.tool("owner", "user").await;
    let other = app.tool("other", "user").await;
    let application = owner.create_application("Private").await;
    let version = owner
        .create_version(application, "1", ("p.tar.gz", tar_gz(&sample_project())))
        .await;
    let job = owner.start_analysis(application, version).await;
    owner.wait_for(job, &["succeeded"]).await;

    for path in [
        format!("/rest/applications/{application}"),
        format!("/rest/applications/{application}/versions"),
        format!("/rest/jobs/{job}"),
        format!("/rest/jobs?application={application}"),
    ] {
        let (status, body) = other.get(&path).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{path}: {body}");
    }
    let (status, _) = other
        .post(
            "/rest/jobs",
            &json!({ "application": application, "version": version, "type": "analyze" }),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = other
        .post(&format!("/rest/jobs/{job}/stop"), &json!({}))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = other
        .upload(
            application,
            Some("2"),
            Some(("p.tar.gz", tar_gz(&sample_project()))),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    // The page's upload form is refused before the archive is read: its 10 s, 12.8 MB body is
    // still being sent when the answer comes, and nothing reaches the disk.
    let sent = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let head = format!(
        "--b\r\nContent-Disposition: form-data; name=\"application\"\r\n\r\n{application}\r\n\
         --b\r\nContent-Disposition: form-data; name=\"archive\"; filename=\"p.tar.gz\"\r\n\
         Content-Type: application/gzip\r\n\r\n"
    );
    let chunks = futures_util::stream::iter(0..400).then({
        let sent = sent.clone();
        move |index| {
            let sent = sent.clone();
            let head = head.clone();
            async move {
                if index > 0 {
                    tokio::time::sleep(std::time::Duration::from_millis(25)).await;
                }
                sent.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let chunk = if index == 0 {
                    head.into_bytes()
                } else {
                    vec![0x1f; 32 * 1024]
                };
                Ok::<_, std::io::Error>(chunk)
            }
        }
    });
    let refused = reqwest::Client::new()
        .post(app.url("/api/upload_version"))
        .header(ACCEPT, "application/json")
        .header("cookie", other.browser.cookie_header())
        .header("origin", &app.address)
        .header("content-type", "multipart/form-data; boundary=b")
        .body(reqwest::Body::wrap_stream(chunks))
        .send()
        .await
        .expect("answered while the upload is still arriving");
    assert_eq!(refused.status(), StatusCode::NOT_FOUND);
    let sent = sent.load(std::sync::atomic::Ordering::Relaxed);
    assert!(sent < 400, "the whole body was read before the answer");
    database.assert_only_versions_archived().await;
    assert_eq!(other.get("/rest/applications").await.1, json!([]));
    assert_eq!(other.get("/rest/jobs").await.1, json!([]));
    // A job id that does not exist answers the same as someone else's.
    assert_eq!(
        other.get("/rest/jobs/999999").await.0,
        StatusCode::NOT_FOUND
    );

    // Administrators see everything.
    let admin = reqwest::Client::new();
    let answer = admin
        .get(app.url(&format!("/rest/applications/{application}")))
        .basic_auth("admin", Some(ADMIN_PASSWORD))
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), StatusCode::OK);
    let listed: Value = admin
        .get(app.url("/rest/jobs"))
        .basic_auth("admin", Some(ADMIN_PASSWORD))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(listed[0]["id"], job);

    // No or wrong credentials: 401 everywhere. The wrong key differs from the owner's in its
    // last character (whatever that is: a fixed "x" matched one key in 62).
    let anonymous = reqwest::Client::new();
    let mut wrong_key = owner.key.clone();
    wrong_key.replace_range(40.., if owner.key.ends_with('x') { "y" } else { "x" });
    for path in [
        "/rest/applications",
        "/rest/jobs",
        &format!("/rest/jobs/{job}"),
    ] {
        let answer = anonymous.get(app.url(path)).send().await.unwrap();
        assert_eq!(answer.status(), StatusCode::UNAUTHORIZED, "{path}");
        let answer = anonymous
            .get(app.url(path))
            .header("X-API-KEY", &wrong_key)
            .send()
            .await
            .unwrap();
        assert_eq!(answer.status(), StatusCode::UNAUTHORIZED, "{path}");
    }
    // A signed-in browser tricked by another site: 403, nothing created.
    let forged = owner
        .browser
        .client
        .post(app.url("/rest/applications"))
        .header("Sec-Fetch-Site", "cross-site")
        .header("Origin", "https://evil.example")
        .json(&json!({ "name": "Forged" }))
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), StatusCode::FORBIDDEN);
    assert_eq!(
        owner
            .get("/rest/applications")
            .await
            .1
            .as_array()
            .unwrap()
            .len(),
        1
    );
}

async fn openapi_describes_the_whole_rest_api(backend: Backend) {
    let (_db, app) = TestApp::on(backend).await;
    let tool = app.tool("ana", "user").await;
    let document = tool.api.document();
    assert!(document["openapi"].as_str().unwrap().starts_with("3."));
    let mut documented: Vec<String> = Vec::new();
    for (path, operations) in document["paths"].as_object().unwrap() {
        for method in operations.as_object().unwrap().keys() {
            documented.push(format!("{} {path}", method.to_uppercase()));
        }
    }
    documented.sort();
    assert_eq!(
        documented,
        [
            "DELETE /rest/users/{username}/api-key",
            "GET /rest",
            "GET /rest/applications",
            "GET /rest/applications/{id}",
            "GET /rest/applications/{id}/versions",
            "GET /rest/jobs",
            "GET /rest/jobs/{id}",
            "GET /rest/user",
            "GET /rest/user/events",
            "GET /rest/users",
            "PATCH /rest/users/{username}",
            "POST /rest/applications",
            "POST /rest/applications/{id}/versions",
            "POST /rest/jobs",
            "POST /rest/jobs/{id}/stop",
            "POST /rest/user/password",
            "POST /rest/users",
        ]
    );
    // What OpenAPI 3.1 requires of every operation and response (the test command also runs
    // openapi-spec-validator and generates a client): unique operation ids, described responses.
    let mut operation_ids = std::collections::HashSet::new();
    for (path, operations) in document["paths"].as_object().unwrap() {
        for (method, operation) in operations.as_object().unwrap() {
            let id = operation["operationId"].as_str().unwrap();
            assert!(operation_ids.insert(id.to_owned()), "{id} twice");
            for (status, response) in operation["responses"].as_object().unwrap() {
                let description = response["description"].as_str().unwrap_or_default();
                assert!(
                    !description.is_empty(),
                    "{method} {path} {status} has no description"
                );
            }
        }
    }
    let schemes = &document["components"]["securitySchemes"];
    assert_eq!(schemes["api_key"]["name"], "X-API-KEY");
    assert_eq!(schemes["basic"]["scheme"], "basic");
    // Every documented route exists: an unknown one under /rest is a JSON 404.
    let (status, me) = tool.get("/rest/user").await;
    assert_eq!(
        (status, me["username"].as_str()),
        (StatusCode::OK, Some("ana"))
    );
    let missing = reqwest::get(app.url("/rest/nothing-here")).await.unwrap();
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);
    // The checker itself bites: a body missing a required field is refused.
    let refused = std::panic::catch_unwind(|| {
        tool.api.check(
            "get",
            "/rest/applications/1",
            200,
            &json!({ "id": 1, "name": "x" }),
        );
    });
    assert!(refused.is_err());
    let refused = std::panic::catch_unwind(|| {
        tool.api.check("get", "/rest/user", 200, &json!({ "username": "a", "name": "A", "role": "user", "email": null, "notifications": false, "secret": 1 }));
    });
    assert!(refused.is_err(), "undocumented properties are refused");
}

async fn pages_work_with_plain_forms(backend: Backend) {
    let (_db, app) = TestApp::on(backend).await;
    let browser = app.signed_in("ana", "user").await;
    let page = browser.get("/applications").await;
    assert_eq!(page.status(), StatusCode::OK);
    assert!(page.text().await.unwrap().contains("No applications yet"));

    let created = browser
        .plain_form(
            "create_application",
            &[("name", "Form App")],
            "/applications",
        )
        .await;
    assert_eq!(created.status(), StatusCode::SEE_OTHER);
    let location = created.headers()[LOCATION].to_str().unwrap().to_owned();
    let id: i64 = location
        .trim_start_matches("/applications/")
        .parse()
        .unwrap();
    let taken = browser
        .plain_form(
            "create_application",
            &[("name", "Form App")],
            "/applications",
        )
        .await;
    let back = taken.headers()[LOCATION].to_str().unwrap().to_owned();
    assert_eq!(back, "/applications");
    let page = browser
        .page(back.trim_start_matches(&browser.address))
        .await;
    assert!(
        page.contains("You already have an application named “Form App”."),
        "{page}"
    );
    assert!(page.contains("value=\"Form App\""), "{page}");

    let upload = |name: Option<&'static str>, archive: Option<Vec<u8>>| {
        let mut form = reqwest::multipart::Form::new().text("application", id.to_string());
        if let Some(name) = name {
            form = form.text("name", name);
        }
        if let Some(bytes) = archive {
            form = form.part(
                "archive",
                reqwest::multipart::Part::bytes(bytes).file_name("src.tar.gz"),
            );
        }
        browser
            .client
            .post(browser.url("/api/upload_version"))
            .header(ACCEPT, "text/html")
            .header("referer", browser.url(&location))
            .header("origin", &browser.address)
            .multipart(form)
            .send()
    };
    let refused = upload(Some("1.0"), None).await.unwrap();
    assert_eq!(refused.status(), StatusCode::SEE_OTHER);
    let back = refused.headers()[LOCATION].to_str().unwrap().to_owned();
    let page = browser
        .page(back.trim_start_matches(&browser.address))
        .await;
    assert!(
        page.contains("Choose a .zip or .tar.gz archive to upload."),
        "{page}"
    );
    // The version name typed survives (a file input can never be filled in again).
    assert!(page.contains("value=\"1.0\""), "{page}");

    let uploaded = upload(Some("1.0"), Some(tar_gz(&sample_project())))
        .await
        .unwrap();
    assert_eq!(uploaded.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        uploaded.headers()[LOCATION],
        format!("/applications/{id}#versions").as_str()
    );
    let page = browser.page(&location).await;
    assert!(page.contains("1.0") && page.contains("tar.gz"), "{page}");

    let version = {
        let versions: Value = browser
            .get(&format!("/rest/applications/{id}/versions"))
            .await
            .json()
            .await
            .unwrap();
        versions[0]["id"].as_i64().unwrap().to_string()
    };
    let started = browser
        .plain_form(
            "start_job",
            &[
                ("application", &id.to_string()),
                ("version", &version),
                ("kind", "analyze"),
            ],
            &location,
        )
        .await;
    assert_eq!(started.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        started.headers()[LOCATION],
        format!("/applications/{id}#jobs").as_str()
    );
    // The page lists the job with its figures once it is done; its report is on its own page.
    let mut shown = None;
    for _ in 0..200 {
        let page = browser.page(&location).await;
        if page.contains("data-testid=\"job-totals\"") {
            assert!(page.contains("4 files · 8 lines"), "{page}");
            shown = page
                .split("href=\"/applications/")
                .find_map(|link| {
                    link.split('"')
                        .next()
                        .filter(|path| path.contains("/jobs/"))
                })
                .map(|path| format!("/applications/{path}"));
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let report = browser
        .page(&shown.expect("the finished job never appeared on the page"))
        .await;
    assert!(report.contains("data-testid=\"job-result\""), "{report}");
    assert!(report.contains("Java") && report.contains("4 files · 8 lines"));

    let missing = browser.get("/applications/999999").await;
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);
}

/// Application names are unique per owner: a second user's "Shop" is created, and a user's own
/// duplicate is a 409 about their own application. The upgrade that lifted the console-wide
/// uniqueness kept the applications and versions of an older database.
async fn names_are_unique_per_owner_and_the_upgrade_keeps_everything(backend: Backend) {
    use sea_orm::ConnectionTrait;
    let database = TestDatabase::new(backend).await;
    // The schema as it was before names became per owner, with data in it.
    app::db::migrate(&database.url, Some(5)).await.unwrap();
    let db = sea_orm::Database::connect(&database.url).await.unwrap();
    for statement in [
        "INSERT INTO users (id, username, name, role, password_hash, notifications, created_at) \
         VALUES (100, 'early', 'Early', 'user', 'x', false, '2026-01-01T00:00:00+00:00')",
        "INSERT INTO applications (id, name, owner_id, created_at) \
         VALUES (7, 'Shop', 100, '2026-01-01T00:00:00+00:00')",
        "INSERT INTO versions (id, application_id, name, archive_format, archive_bytes, \
         archive_sha256, created_by, created_at) \
         VALUES (3, 7, '1.0', 'zip', 10, 'ab', 100, '2026-01-01T00:00:00+00:00')",
    ] {
        db.execute_unprepared(statement).await.unwrap();
    }
    // The first start created the administrator; with users present, no later start does.
    // Written as that schema holds it (today's account code knows later columns).
    let hash = app::auth::ssr::hash_password(ADMIN_PASSWORD.to_owned())
        .await
        .unwrap();
    db.execute_unprepared(&format!(
        "INSERT INTO users (username, name, role, password_hash, notifications, created_at) \
         VALUES ('admin', 'Administrator', 'admin', '{hash}', false, '2026-01-01T00:00:00+00:00')"
    ))
    .await
    .unwrap();
    db.close().await.unwrap();
    let app = TestApp::spawn(&database).await;

    let admin = app.tool("boss", "admin").await;
    let (status, versions) = admin.get("/rest/applications/7/versions").await;
    assert_eq!(status, StatusCode::OK, "{versions}");
    assert_eq!(versions[0]["name"], "1.0");

    let ana = app.tool("ana", "user").await;
    let bob = app.tool("bob", "user").await;
    ana.create_application("Shop").await;
    let (status, body) = ana
        .post("/rest/applications", &json!({ "name": "Shop" }))
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert_eq!(
        body["message"],
        "You already have an application named “Shop”."
    );
    bob.create_application("Shop").await;
    let (_, listed) = admin.get("/rest/applications").await;
    let mut owners: Vec<_> = listed
        .as_array()
        .unwrap()
        .iter()
        .filter(|application| application["name"] == "Shop")
        .map(|application| application["owner"].as_str().unwrap().to_owned())
        .collect();
    owners.sort();
    assert_eq!(owners, ["ana", "bob", "early"]);
}

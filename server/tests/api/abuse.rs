//! Hostile clients get clear answers and cannot exhaust the server.

use futures_util::StreamExt;
use reqwest::StatusCode;

use crate::helpers::{Backend, TestApp, TestDatabase};
use crate::on_both_databases;

on_both_databases!(wrong_passwords_in_a_flood_are_refused_not_buffered);

/// 480 wrong-password Basic requests, 48 at a time (from one address, with the failure throttle
/// out of the way: as from 48 addresses). Each check holds 19 MiB while it runs; unbounded, this
/// load took the server to gigabytes. Bounded: some are 401, the rest refused at once with
/// `Retry-After` (429: one account may have two checks at once; 503: the queue is full), the
/// server stays under 512 MiB, and health checks and a key-authenticated client are served
/// all along (how fast: `scripts/bench/pages.sh`).
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
            let health = client.get(app.url("/healthz")).send().await;
            statuses.push(health.map_or(StatusCode::BAD_GATEWAY, |answer| answer.status()));
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
            StatusCode::SERVICE_UNAVAILABLE | StatusCode::TOO_MANY_REQUESTS => {
                assert_eq!(answer.headers()["retry-after"], "1");
                let body: serde_json::Value = answer.json().await.unwrap();
                assert!(
                    matches!(body["error"].as_str(), Some("busy" | "too_many_requests")),
                    "{body}"
                );
                busy += 1;
            }
            other => panic!("unexpected {other}"),
        }
    }
    assert!(refused > 0 && busy > 0, "{refused} refused, {busy} busy");
    let peak = app.peak_memory_kib();
    assert!(peak < 512 * 1024, "peak memory {peak} KiB");
    // A wrong password on the sign-in form too; every failure is logged with the client's
    // address and a hash of the name, never the name.
    app.browser()
        .server_fn("sign_in", &[("username", "victim"), ("password", "nope")])
        .await;
    let log = app.log();
    let failures: Vec<_> = log
        .lines()
        .filter(|line| line.contains("sign-in failed"))
        .collect();
    assert!(failures.len() > refused, "{refused} refused:\n{log}");
    assert!(
        failures
            .iter()
            .all(|line| line.contains("client=127.0.0.1") && line.contains("username_hash=")),
        "{failures:#?}"
    );
    assert!(
        !log.contains("victim"),
        "the username reached the log:\n{log}"
    );
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
    assert_eq!(posted.status(), StatusCode::SEE_OTHER);
}

on_both_databases!(odd_requests_get_a_4xx_and_the_server_carries_on);

/// Requests that once panicked a handler or answered 500 get a 4xx, and the server still serves
/// a signed-in page and a key-authenticated REST call afterwards.
async fn odd_requests_get_a_4xx_and_the_server_carries_on(backend: Backend) {
    let (_db, app) = TestApp::on(backend).await;
    let tool = app.tool("odd", "user").await;
    let host = app.address.trim_start_matches("http://").to_owned();
    let raw = |request: String| {
        let host = host.clone();
        async move {
            let mut socket = tokio::net::TcpStream::connect(&host).await.unwrap();
            tokio::io::AsyncWriteExt::write_all(&mut socket, request.as_bytes())
                .await
                .unwrap();
            let mut answer = vec![0; 4096];
            let read = tokio::time::timeout(
                std::time::Duration::from_secs(10),
                tokio::io::AsyncReadExt::read(&mut socket, &mut answer),
            )
            .await
            .expect("an answer")
            .unwrap();
            String::from_utf8_lossy(&answer[..read]).into_owned()
        }
    };
    let connect = raw(format!("CONNECT {host} HTTP/1.1\r\nHost: {host}\r\n\r\n")).await;
    assert!(connect.starts_with("HTTP/1.1 405"), "{connect}");
    let trace = raw(format!("TRACE /profile HTTP/1.1\r\nHost: {host}\r\n\r\n")).await;
    assert!(trace.starts_with("HTTP/1.1 405"), "{trace}");

    // A file name or a whole path longer than the file system takes.
    let long_name = format!("/pkg/{}", "a".repeat(300));
    assert_eq!(
        tool.browser.get(&long_name).await.status(),
        StatusCode::NOT_FOUND
    );
    for long_path in [
        format!("/pkg/{}", "a".repeat(10_000)),
        "/pkg/a".repeat(1000),
    ] {
        assert_eq!(
            tool.browser.get(&long_path).await.status(),
            StatusCode::URI_TOO_LONG
        );
    }
    // Bodies other than uploads are read up to 1 MB, whether they declare a length or not.
    let big = || format!("username=a&password={}", "p".repeat(1024 * 1024));
    let declared = tool
        .browser
        .client
        .post(app.url("/api/sign_in"))
        .header("accept", "application/json")
        .header("content-type", "application/x-www-form-urlencoded")
        .body(big())
        .send()
        .await
        .unwrap();
    assert_eq!(declared.status(), StatusCode::PAYLOAD_TOO_LARGE);
    let streamed = tool
        .client
        .post(app.url("/rest/applications"))
        .header("X-API-KEY", &tool.key)
        .header("content-type", "application/json")
        .body(reqwest::Body::wrap_stream(futures_util::stream::iter([
            Ok::<_, std::io::Error>(big().into_bytes()),
        ])))
        .send()
        .await
        .unwrap();
    assert_eq!(streamed.status(), StatusCode::PAYLOAD_TOO_LARGE);
    let body: serde_json::Value = streamed.json().await.unwrap();
    assert_eq!(
        body["message"],
        "The request is too large: the limit is 1024 KB."
    );
    for content_type in ["", "multipart/form-data", "text/plain"] {
        let upload = tool
            .browser
            .client
            .post(app.url("/api/upload_version"))
            .header("accept", "application/json")
            .header("content-type", content_type)
            .body("x")
            .send()
            .await
            .unwrap();
        assert_eq!(upload.status(), StatusCode::BAD_REQUEST, "{content_type:?}");
    }
    assert_eq!(tool.browser.get("/profile").await.status(), StatusCode::OK);
    assert_eq!(tool.get("/rest/user").await.0, StatusCode::OK);
}

on_both_databases!(every_answer_carries_the_security_headers);

/// Pages, server functions, REST and error answers all forbid framing and sniffing, send no
/// referrer elsewhere and are never stored by caches.
async fn every_answer_carries_the_security_headers(backend: Backend) {
    let (_db, app) = TestApp::on(backend).await;
    let tool = app.tool("careful", "user").await;
    let generated = tool.browser.server_fn("generate_api_key", &[]).await;
    let answers = [
        tool.browser.get("/profile").await,
        tool.browser.get("/signin").await,
        tool.browser.get("/no-such-page").await,
        generated,
        tool.client
            .get(app.url("/rest/user"))
            .header("X-API-KEY", &tool.key)
            .send()
            .await
            .unwrap(),
        reqwest::get(app.url("/rest/user")).await.unwrap(),
    ];
    for answer in answers {
        let path = answer.url().path().to_owned();
        let headers = answer.headers();
        assert_eq!(headers["cache-control"], "no-store", "{path}");
        assert_eq!(headers["x-frame-options"], "DENY", "{path}");
        assert_eq!(headers["x-content-type-options"], "nosniff", "{path}");
        assert_eq!(headers["referrer-policy"], "same-origin", "{path}");
        let csp = headers["content-security-policy"].to_str().unwrap();
        for directive in [
            "default-src 'self'",
            "frame-ancestors 'none'",
            "object-src 'none'",
            "base-uri 'none'",
            "form-action 'self'",
            "'wasm-unsafe-eval'",
        ] {
            assert!(csp.contains(directive), "{path}: {csp}");
        }
        assert!(!csp.contains("unsafe-inline"), "{path}: {csp}");
        assert!(!headers.contains_key("strict-transport-security"), "{path}");
    }

    // A page's scripts run by the nonce its policy names, a new one on every load.
    let mut nonces = Vec::new();
    for _ in 0..2 {
        let page = tool.browser.get("/profile").await;
        let csp = page.headers()["content-security-policy"]
            .to_str()
            .unwrap()
            .to_owned();
        let nonce = csp
            .split("'nonce-")
            .nth(1)
            .and_then(|rest| rest.split('\'').next())
            .unwrap_or_else(|| panic!("no nonce: {csp}"))
            .to_owned();
        let html = page.text().await.unwrap();
        assert!(
            html.contains(&format!(r#"<script type="module" nonce="{nonce}""#)),
            "{html}"
        );
        nonces.push(nonce);
    }
    assert_ne!(nonces[0], nonces[1]);
}

on_both_databases!(an_api_key_header_does_not_lift_the_csrf_check_outside_rest);

/// A cookie-authenticated form post from another site stays refused when it also carries an
/// `X-API-KEY` header: that exemption is for REST, where the key alone decides.
async fn an_api_key_header_does_not_lift_the_csrf_check_outside_rest(backend: Backend) {
    let (_db, app) = TestApp::on(backend).await;
    let tool = app.tool("target", "user").await;
    let forged = tool
        .browser
        .client
        .post(app.url("/api/update_email_settings"))
        .header("accept", "text/html")
        .header("content-type", "application/x-www-form-urlencoded")
        .header("origin", "http://evil.example")
        .header("X-API-KEY", "junk")
        .body("email=attacker%40evil.example&notifications=true")
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), StatusCode::FORBIDDEN);
    assert_eq!(
        tool.get("/rest/user").await.1["email"],
        serde_json::Value::Null
    );
    // REST with the key still works: there the key decides.
    let (status, _) = tool
        .post(
            "/rest/applications",
            &serde_json::json!({ "name": "From a tool" }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
}

on_both_databases!(a_short_secret_refuses_to_start_and_says_how_to_rotate);

/// The server binary refuses a `CONSOLE_SECRET` shorter than 32 bytes before it listens, with a
/// message that says how to make one and what rotating it means.
async fn a_short_secret_refuses_to_start_and_says_how_to_rotate(backend: Backend) {
    let database = TestDatabase::new(backend).await;
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_server"))
        .env("DATABASE_URL", &database.url)
        .env("CONSOLE_DATA_DIR", &database.data_dir)
        .env("LEPTOS_SITE_ADDR", "127.0.0.1:0")
        .env("CONSOLE_SECRET", "short-secret")
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("start the server binary");
    let mut waited = 0;
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        assert!(waited < 100, "the server started with a 12-byte secret");
        waited += 1;
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    };
    assert!(!status.success());
    let mut message = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut message).unwrap();
    assert!(
        message.contains("CONSOLE_SECRET must be at least 32 bytes; it is 12")
            && message.contains("Administration → Mail server"),
        "{message}"
    );
}

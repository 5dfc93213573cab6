//! A sweep of a few thousand malformed requests against the real server binary: odd methods,
//! long and broken paths, bad JSON and forms, hostile headers, broken multipart, raw bytes that
//! are barely HTTP, and hostile archives. Every one gets an answer below 500 (or, for bytes that
//! are not HTTP, a closed connection), nothing panics or logs an error, and afterwards the
//! server still serves a signed-in page and a key-authenticated REST call.
//!
//! Generated from a fixed seed, so a failure names a request that can be replayed.

use std::time::Duration;

use futures_util::StreamExt;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use reqwest::Method;
use reqwest::header::{HeaderName, HeaderValue};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::archives::{tar_gz, zip};
use crate::helpers::{Backend, TestApp, TestDatabase};
use crate::on_both_databases;

on_both_databases!(malformed_requests_get_a_4xx_and_the_server_carries_on);

/// Requests in the sweep, at least.
const SWEEP: usize = 3000;

/// Requests in flight at once: below the password-check queue (one thread per core plus four
/// queued per core), so a wrong password is checked, never refused as busy.
const IN_FLIGHT: usize = 6;

/// One malformed request.
#[derive(Clone, Debug)]
enum Probe {
    Http {
        method: Method,
        path: String,
        headers: Vec<(HeaderName, HeaderValue)>,
        body: Vec<u8>,
    },
    /// Bytes written to a fresh connection as they are.
    Raw(Vec<u8>),
}

const PATHS: &[&str] = &[
    "/",
    "/profile",
    "/admin",
    "/applications",
    "/applications/1",
    "/signin",
    "/healthz",
    "/rest/user",
    "/rest/users",
    "/rest/applications",
    "/rest/applications/1",
    "/rest/applications/1/versions",
    "/rest/jobs",
    "/rest/jobs/1",
    "/rest/jobs/1/stop",
    "/rest/openapi.json",
    "/api/sign_in",
    "/api/update_email_settings",
    "/api/upload_version",
    "/api/poll_job",
    "/pkg/console.css",
    "/unsubscribe/1.abc",
];

/// Server functions that change nothing a later check depends on when called as the sweep's
/// own user (`sign_out`, `generate_api_key` and `delete_api_key` are called anonymously only).
const SERVER_FUNCTIONS: &[&str] = &[
    "sign_in",
    "current_user",
    "api_key",
    "update_email_settings",
    "mail_delivery_configured",
    "applications",
    "create_application",
    "load_application",
    "upload_version",
    "start_analysis",
    "stop_job",
    "poll_job",
    "users",
    "create_user",
    "mail_server",
    "save_mail_server",
    "send_test_mail",
    "undelivered_mail",
    "retry_mail",
    "retry_all_mail",
];

const METHODS: &[&[u8]] = &[
    b"GET",
    b"POST",
    b"PUT",
    b"DELETE",
    b"PATCH",
    b"OPTIONS",
    b"HEAD",
    b"FOO",
    b"PROPFIND",
];

fn bad_json() -> Vec<Vec<u8>> {
    let mut bodies: Vec<Vec<u8>> = [
        "",
        "{",
        "}",
        "[]",
        "null",
        "0",
        "\"name\"",
        "{\"name\":1}",
        "{\"name\":null}",
        "{\"name\":[\"a\"]}",
        "{\"application\":\"1\",\"version\":\"x\",\"type\":7}",
        "{\"application\":1e400,\"version\":-1,\"type\":\"analyze\"}",
        "{\"application\":9223372036854775808,\"version\":1,\"type\":\"analyze\"}",
        "{\"username\":\"\",\"password\":\"\",\"role\":\"root\"}",
        "{\"name\":\"a\",\"name\":\"b\"}",
        "{\"name\":\"\\ud800\"}",
        "{\"name\":\"a\u{0}b\"}",
    ]
    .iter()
    .map(|body| body.as_bytes().to_vec())
    .collect();
    bodies.push(format!("{}{}", "[".repeat(5000), "]".repeat(5000)).into_bytes());
    bodies.push(format!("{{\"name\":\"{}\"}}", "x".repeat(200_000)).into_bytes());
    bodies.push(vec![0xff, 0xfe, b'{', 0x80, b'}']);
    bodies
}

fn bad_forms() -> Vec<Vec<u8>> {
    [
        "",
        "=",
        "&&&",
        "username",
        "username=admin",
        "password=%",
        "username=%ZZ&password=%",
        "id=abc",
        "id=-1",
        "id=99999999999999999999",
        "notifications=maybe&email=x",
        "email=%00%0d%0a&notifications=true",
        "application=1&version=1&kind=deploy",
        "port=99999&security=ssl&host=..",
        "a[b][c]=1&a[b]=2",
    ]
    .iter()
    .map(|body| body.as_bytes().to_vec())
    .chain([
        format!("username={}&password=x", "a".repeat(100_000)).into_bytes(),
        vec![0xc3, 0x28, b'=', 0xa0],
    ])
    .collect()
}

fn content_types() -> Vec<Option<&'static str>> {
    vec![
        None,
        Some("application/json"),
        Some("application/x-www-form-urlencoded"),
        Some("text/plain"),
        Some("application/json; charset=utf-16"),
        Some("multipart/form-data"),
        Some("multipart/form-data; boundary="),
        Some("application/cbor"),
        Some(";;;"),
    ]
}

/// Header sets a hostile client might send.
fn hostile_headers(key: &str) -> Vec<Vec<(&'static str, Vec<u8>)>> {
    let long = |byte: u8, length: usize| vec![byte; length];
    vec![
        vec![("authorization", b"Basic !!!".to_vec())],
        vec![("authorization", b"Basic".to_vec())],
        vec![("authorization", b"Bearer abc".to_vec())],
        vec![("authorization", b"Basic Og==".to_vec())],
        vec![("authorization", b"Basic YWRtaW4=".to_vec())],
        vec![(
            "authorization",
            [b"Basic ".to_vec(), long(b'Q', 6000)].concat(),
        )],
        vec![("authorization", b"Basic /w==".to_vec())],
        vec![("x-api-key", b"".to_vec())],
        vec![("x-api-key", long(b'a', 41))],
        vec![("x-api-key", [key.as_bytes(), b"x"].concat())],
        vec![("x-api-key", key.as_bytes()[..40].to_vec())],
        vec![("x-api-key", long(b'k', 8000))],
        vec![("x-api-key", vec![0xe9, 0x80, 0xff])],
        vec![
            ("x-api-key", key.as_bytes().to_vec()),
            ("x-api-key", b"other".to_vec()),
        ],
        vec![("cookie", b"console_session=".to_vec())],
        vec![("cookie", long(b'c', 7000))],
        vec![("cookie", b"console_session=\xff\xfe; a=b".to_vec())],
        vec![
            ("origin", b"null".to_vec()),
            ("sec-fetch-site", b"cross-site".to_vec()),
        ],
        vec![("origin", long(b'o', 3000))],
        vec![("accept", b"text/html;q=abc, */*;q=".to_vec())],
        vec![("accept", vec![0x80; 20])],
        vec![("content-length", b"0".to_vec())],
        vec![("range", b"bytes=999999999-".to_vec())],
        vec![("if-none-match", long(b'"', 500))],
        vec![(
            "x-forwarded-for",
            b"not-an-address, ::1, 999.1.1.1".to_vec(),
        )],
        vec![("host", b"evil.example".to_vec())],
        vec![("referer", b"javascript:alert(1)".to_vec())],
        vec![("accept-encoding", b"br;q=2, gzip;q=-1, *;q=nan".to_vec())],
    ]
}

/// Multipart bodies that are broken one way or another, with the boundary they declare.
fn broken_multipart() -> Vec<(&'static str, Vec<u8>)> {
    let part = |headers: &str, body: &[u8]| {
        [
            format!("--b\r\n{headers}\r\n\r\n").into_bytes(),
            body.to_vec(),
            b"\r\n".to_vec(),
        ]
        .concat()
    };
    let end = b"--b--\r\n".to_vec();
    let archive = "Content-Disposition: form-data; name=\"archive\"; filename=\"a.tar.gz\"";
    vec![
        ("b", Vec::new()),
        ("b", b"--b".to_vec()),
        ("b", b"--b\r\n".to_vec()),
        (
            "b",
            part("Content-Disposition: form-data; name=\"name\"", b"1.0"),
        ),
        (
            "b",
            [part("Content-Disposition: form-data", b"x"), end.clone()].concat(),
        ),
        ("b", [part("", b"x"), end.clone()].concat()),
        (
            "b",
            [part(archive, &[0x1f, 0x8b, 0, 0]), end.clone()].concat(),
        ),
        (
            "b",
            [part(archive, b"PK\x03\x04garbage"), end.clone()].concat(),
        ),
        (
            "b",
            [part(archive, &[0x1f, 0x8b]), b"--b".to_vec()].concat(),
        ),
        (
            "b",
            [
                part(
                    "Content-Disposition: form-data; name=\"application\"",
                    b"abc",
                ),
                part(archive, &[0x1f, 0x8b]),
                end.clone(),
            ]
            .concat(),
        ),
        (
            "b",
            [
                part(
                    "Content-Disposition: form-data; name=\"name\"",
                    &[b'n'; 5000],
                ),
                end.clone(),
            ]
            .concat(),
        ),
        (
            "b",
            [
                part(&format!("X-Long: {}", "h".repeat(20_000)), b"x"),
                end.clone(),
            ]
            .concat(),
        ),
        (
            "other",
            [part(archive, &[0x1f, 0x8b]), end.clone()].concat(),
        ),
        ("b", vec![0u8; 4096]),
        (
            "b",
            [
                b"--b\r\nContent-Disposition: form-data; name=\"name\"\r\n".to_vec(),
                end,
            ]
            .concat(),
        ),
    ]
}

/// Request bytes that hyper must refuse or answer on its own.
fn raw_requests(host: &str) -> Vec<Vec<u8>> {
    [
        "GARBAGE\r\n\r\n".to_owned(),
        "GET\r\n\r\n".to_owned(),
        "GET / HTTP/9.9\r\nHost: x\r\n\r\n".to_owned(),
        "GET /\r\n\r\n".to_owned(),
        format!("CONNECT {host} HTTP/1.1\r\nHost: {host}\r\n\r\n"),
        "CONNECT localhost:22 HTTP/1.1\r\n\r\n".to_owned(),
        format!("GET http://{host}/profile HTTP/1.1\r\nHost: {host}\r\n\r\n"),
        format!("GET * HTTP/1.1\r\nHost: {host}\r\n\r\n"),
        format!("OPTIONS * HTTP/1.1\r\nHost: {host}\r\n\r\n"),
        format!("TRACE / HTTP/1.1\r\nHost: {host}\r\n\r\n"),
        format!("GET / HTTP/1.1\r\nHost: {host}\r\nNoColon\r\n\r\n"),
        format!(
            "GET / HTTP/1.1\r\nHost: {host}\r\nX: {}\r\n\r\n",
            "y".repeat(100_000)
        ),
        format!("POST /rest/applications HTTP/1.1\r\nHost: {host}\r\nContent-Length: -1\r\n\r\n"),
        format!(
            "POST /rest/applications HTTP/1.1\r\nHost: {host}\r\nContent-Length: 5\r\n\
             Content-Length: 6\r\n\r\nhello"
        ),
        format!(
            "POST /rest/applications HTTP/1.1\r\nHost: {host}\r\nTransfer-Encoding: chunked\r\n\
             Content-Length: 3\r\n\r\nzz\r\n"
        ),
        format!(
            "POST /api/sign_in HTTP/1.1\r\nHost: {host}\r\nTransfer-Encoding: chunked\r\n\
             Content-Type: application/x-www-form-urlencoded\r\n\r\nffffffffffffffffff\r\nx\r\n"
        ),
        format!(
            "POST /rest/applications HTTP/1.1\r\nHost: {host}\r\nTransfer-Encoding: gzip\r\n\r\n"
        ),
        format!("GET /%%%% HTTP/1.1\r\nHost: {host}\r\n\r\n"),
        format!("GET /\u{0}x HTTP/1.1\r\nHost: {host}\r\n\r\n"),
        format!(
            "GET /{} HTTP/1.1\r\nHost: {host}\r\n\r\n",
            "a/".repeat(20_000)
        ),
        format!("G\tET / HTTP/1.1\r\nHost: {host}\r\n\r\n"),
        "\r\n\r\n\r\n".to_owned(),
    ]
    .into_iter()
    .map(String::into_bytes)
    .chain([
        vec![0x16, 0x03, 0x01, 0x00, 0xa5, 0x01, 0x00],
        b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".to_vec(),
        vec![0xff; 512],
    ])
    .collect()
}

/// Odd and long paths, each tried with GET and POST.
fn odd_paths(rng: &mut StdRng) -> Vec<String> {
    let mut paths: Vec<String> = [
        "/pkg/..%2f..%2fetc%2fpasswd",
        "/pkg/%2e%2e/Cargo.toml",
        "/pkg/",
        "/pkg/%00",
        "/applications/99999999999999999999",
        "/applications/-1",
        "/applications/abc",
        "/rest/jobs/%FF",
        "/rest/jobs/1%00",
        "/rest/applications/0/versions",
        "/unsubscribe/",
        "/unsubscribe/..",
        "/unsubscribe/1.%0d%0aSet-Cookie:x=1",
        "/api/",
        "/api/no_such_function",
        "/profile?unsubscribe=%ZZ",
        "/profile?unsubscribe=1.abc&unsubscribe=2",
        "/applications?page=-1",
        "/signin?next=https://evil.example",
        "/signin?next=//evil.example/%2e%2e",
        "/rest/jobs?application=1&application=2",
        "/rest/jobs?application[]=1",
        "//",
        "/./profile",
        "/profile/",
        "/profile/../admin",
    ]
    .iter()
    .map(|path| (*path).to_owned())
    .collect();
    for length in [256, 1000, 4096, 10_000, 60_000] {
        paths.push(format!("/{}", "a".repeat(length)));
        paths.push(format!("/pkg/{}", "x".repeat(length)));
        paths.push(format!("/rest/jobs/{}", "9".repeat(length)));
        paths.push(format!("/unsubscribe/{}", "t".repeat(length)));
        paths.push("/a".repeat(length / 2));
    }
    for _ in 0..20 {
        let segment: String = (0..rng.random_range(1..40))
            .map(|_| format!("%{:02X}", rng.random::<u8>()))
            .collect();
        paths.push(format!("/rest/applications/{segment}"));
    }
    paths
}

fn header_pairs(pairs: &[(&'static str, Vec<u8>)]) -> Vec<(HeaderName, HeaderValue)> {
    pairs
        .iter()
        .filter_map(|(name, value)| {
            Some((
                HeaderName::from_static(name),
                HeaderValue::from_bytes(value).ok()?,
            ))
        })
        .collect()
}

fn http(
    method: &[u8],
    path: String,
    headers: Vec<(HeaderName, HeaderValue)>,
    body: Vec<u8>,
) -> Probe {
    Probe::Http {
        method: Method::from_bytes(method).expect("a method token"),
        path,
        headers,
        body,
    }
}

fn content_type(value: &str) -> (HeaderName, HeaderValue) {
    (
        reqwest::header::CONTENT_TYPE,
        HeaderValue::from_str(value).expect("a header value"),
    )
}

/// The whole sweep, from `seed`: every category in turn, then random mixtures up to [`SWEEP`].
/// Half of the authenticated probes carry `cookie` (a signed-in session of a user no later check
/// depends on) or `key` (that user's API key).
fn generate(seed: u64, host: &str, cookie: &str, key: &str) -> Vec<Probe> {
    let mut rng = StdRng::seed_from_u64(seed);
    let mut probes = Vec::new();
    let signed_in = || {
        vec![(
            reqwest::header::COOKIE,
            HeaderValue::from_str(cookie).expect("a cookie"),
        )]
    };
    for method in METHODS {
        for path in PATHS {
            probes.push(http(method, (*path).to_owned(), Vec::new(), Vec::new()));
            probes.push(http(method, (*path).to_owned(), signed_in(), b"x".to_vec()));
        }
    }
    for path in odd_paths(&mut rng) {
        probes.push(http(b"GET", path.clone(), signed_in(), Vec::new()));
        probes.push(http(b"POST", path, Vec::new(), b"{}".to_vec()));
    }
    let json_endpoints = [
        "/rest/applications",
        "/rest/jobs",
        "/rest/users",
        "/rest/jobs/1/stop",
    ];
    for endpoint in json_endpoints {
        for body in bad_json() {
            for kind in content_types() {
                let mut headers = vec![(
                    HeaderName::from_static("x-api-key"),
                    HeaderValue::from_str(key).expect("a key"),
                )];
                headers.extend(kind.map(content_type));
                probes.push(http(b"POST", endpoint.to_owned(), headers, body.clone()));
            }
        }
    }
    let mut functions: Vec<&str> = SERVER_FUNCTIONS.to_vec();
    functions.extend(["sign_out", "generate_api_key", "delete_api_key"]);
    for function in &functions {
        let destructive = !SERVER_FUNCTIONS.contains(function);
        for body in bad_forms() {
            for accept in ["text/html", "application/json"] {
                let mut headers = vec![
                    content_type("application/x-www-form-urlencoded"),
                    (reqwest::header::ACCEPT, HeaderValue::from_static(accept)),
                    (
                        reqwest::header::ORIGIN,
                        HeaderValue::from_str(&format!("http://{host}")).expect("an origin"),
                    ),
                ];
                if !destructive && rng.random_bool(0.5) {
                    headers.extend(signed_in());
                }
                probes.push(http(
                    b"POST",
                    format!("/api/{function}"),
                    headers,
                    body.clone(),
                ));
            }
        }
        // Other encodings than the form the function takes.
        for body in bad_json().into_iter().take(6) {
            let mut headers = vec![content_type("application/json")];
            if !destructive {
                headers.extend(signed_in());
            }
            probes.push(http(b"POST", format!("/api/{function}"), headers, body));
        }
        probes.push(http(
            b"GET",
            format!("/api/{function}?id=%ZZ&x"),
            Vec::new(),
            Vec::new(),
        ));
    }
    for pairs in hostile_headers(key) {
        for path in [
            "/rest/user",
            "/rest/jobs",
            "/profile",
            "/api/sign_in",
            "/healthz",
        ] {
            let method: &[u8] = if path.starts_with("/api/") {
                b"POST"
            } else {
                b"GET"
            };
            probes.push(http(
                method,
                path.to_owned(),
                header_pairs(&pairs),
                b"username=a&password=b".to_vec(),
            ));
        }
    }
    for (boundary, body) in broken_multipart() {
        for (path, authentication) in [
            ("/rest/applications/1/versions", ("x-api-key", key)),
            ("/api/upload_version", ("cookie", cookie)),
            ("/rest/applications/999/versions", ("x-api-key", key)),
        ] {
            let headers = vec![
                content_type(&format!("multipart/form-data; boundary={boundary}")),
                (
                    HeaderName::from_static(authentication.0),
                    HeaderValue::from_str(authentication.1).expect("credentials"),
                ),
                (
                    reqwest::header::ORIGIN,
                    HeaderValue::from_str(&format!("http://{host}")).expect("an origin"),
                ),
            ];
            probes.push(http(b"POST", path.to_owned(), headers, body.clone()));
        }
    }
    probes.extend(raw_requests(host).into_iter().map(Probe::Raw));

    // Random mixtures of all of the above until the sweep is full.
    let headers = hostile_headers(key);
    let bodies: Vec<Vec<u8>> = bad_json().into_iter().chain(bad_forms()).collect();
    let kinds = content_types();
    while probes.len() < SWEEP {
        let path = match rng.random_range(0..3) {
            0 => PATHS[rng.random_range(0..PATHS.len())].to_owned(),
            1 => format!("/api/{}", functions[rng.random_range(0..functions.len())]),
            _ => format!(
                "{}/{}",
                PATHS[rng.random_range(0..PATHS.len())],
                rng.random_range(0..u64::MAX)
            ),
        };
        let destructive = ["sign_out", "generate_api_key", "delete_api_key"]
            .iter()
            .any(|name| path.ends_with(name));
        let mut chosen = header_pairs(&headers[rng.random_range(0..headers.len())]);
        if let Some(kind) = kinds[rng.random_range(0..kinds.len())] {
            chosen.push(content_type(kind));
        }
        if !destructive && rng.random_bool(0.3) {
            chosen.extend(signed_in());
        }
        let method = METHODS[rng.random_range(0..METHODS.len())];
        let body = bodies[rng.random_range(0..bodies.len())].clone();
        probes.push(http(method, path, chosen, body));
    }
    probes
}

/// The status a probe was answered with; `None` when the connection closed without an answer
/// (only acceptable for raw bytes that are not HTTP).
async fn send(
    client: &reqwest::Client,
    base: &str,
    host: &str,
    probe: &Probe,
) -> Result<Option<u16>, String> {
    match probe {
        Probe::Http {
            method,
            path,
            headers,
            body,
        } => {
            let mut request = client
                .request(method.clone(), format!("{base}{path}"))
                .body(body.clone());
            for (name, value) in headers {
                request = request.header(name, value);
            }
            let response = request.send().await.map_err(|error| format!("{error:?}"))?;
            let status = response.status().as_u16();
            // Read the whole answer: a body that never ends is a request left unanswered.
            response
                .bytes()
                .await
                .map_err(|error| format!("body: {error}"))?;
            Ok(Some(status))
        }
        Probe::Raw(bytes) => {
            let mut socket = tokio::net::TcpStream::connect(host)
                .await
                .map_err(|error| error.to_string())?;
            // The server may answer and close before reading it all.
            let _ = socket.write_all(bytes).await;
            let _ = socket.shutdown().await;
            let mut answer = Vec::new();
            let _ = socket.read_to_end(&mut answer).await;
            let answer = String::from_utf8_lossy(&answer);
            Ok(answer
                .strip_prefix("HTTP/1.1 ")
                .or_else(|| answer.strip_prefix("HTTP/1.0 "))
                .and_then(|rest| rest.get(..3)?.parse().ok()))
        }
    }
}

async fn malformed_requests_get_a_4xx_and_the_server_carries_on(backend: Backend) {
    let database = TestDatabase::new(backend).await;
    let app = TestApp::binary(
        &database,
        &[
            ("RUST_LOG", "warn"),
            ("CONSOLE_AUTH_FAILURE_BURST", "1000000"),
            ("CONSOLE_JOBS_PER_USER", "1000"),
        ],
    )
    .await;
    let host = app.address.trim_start_matches("http://").to_owned();
    // Whose profile and key are checked at the end, untouched by the sweep.
    let keeper = app.tool("keeper", "user").await;
    // Whose session and key the sweep uses.
    let sweeper = app.tool("sweeper", "user").await;
    let application = sweeper.create_application("Target").await;

    // Hostile archives: accepted as uploads (the format is right), refused by their analysis.
    let mut hostile = vec![
        (
            "bomb.tar.gz",
            tar_gz(&[("zeros.txt", vec![0; 8 * 1024 * 1024])]),
        ),
        ("escape.zip", zip(&[("../../etc/passwd", b"root".to_vec())])),
        ("absolute.tar.gz", tar_gz(&[("/etc/shadow", b"x".to_vec())])),
        (
            "truncated.tar.gz",
            tar_gz(&[("a.rs", b"fn main() {}".to_vec())])[..40].to_vec(),
        ),
        ("empty-names.zip", zip(&[("", b"x".to_vec())])),
        ("gzip-not-tar.tar.gz", {
            let mut gz = tar_gz(&[("a", b"b".to_vec())]);
            gz.truncate(gz.len() / 2);
            gz
        }),
    ];
    hostile.push((
        "symlink.zip",
        crate::archives::zip_with_symlink("/etc/passwd"),
    ));
    let mut jobs = Vec::new();
    for (index, (name, bytes)) in hostile.into_iter().enumerate() {
        let (status, body) = sweeper
            .upload(application, Some(&format!("h{index}")), Some((name, bytes)))
            .await;
        assert!(status.as_u16() < 500, "{name}: {status} {body}");
        if let Some(version) = body["id"].as_i64() {
            jobs.push(sweeper.start_analysis(application, version).await);
        }
    }

    let cookie = sweeper.browser.cookie_header();
    let probes = generate(0x5eed, &host, &cookie, &sweeper.key);
    assert!(probes.len() >= SWEEP);
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(20))
        // A fresh connection each: the server may close one after a refusal, and a request
        // sent on it meanwhile would fail through no fault of the server's.
        .pool_max_idle_per_host(0)
        .build()
        .unwrap();
    let answers: Vec<(usize, Result<Option<u16>, String>)> =
        futures_util::stream::iter(probes.iter().enumerate())
            .map(|(index, probe)| {
                let (client, base, host) = (&client, &app.address, &host);
                async move { (index, send(client, base, host, probe).await) }
            })
            .buffer_unordered(IN_FLIGHT)
            .collect()
            .await;
    let mut failures = Vec::new();
    let mut statuses = std::collections::BTreeMap::<String, usize>::new();
    for (index, answer) in answers {
        let probe = &probes[index];
        match (&answer, probe) {
            (Ok(Some(status)), _) if *status < 500 => {
                *statuses.entry(status.to_string()).or_default() += 1;
            }
            (Ok(None), Probe::Raw(_)) => *statuses.entry("closed".into()).or_default() += 1,
            _ => failures.push(format!("{answer:?} for {}", describe(probe))),
        }
    }
    eprintln!("{} malformed requests: {statuses:?}", probes.len());
    assert!(
        failures.is_empty(),
        "{} failed:\n{}",
        failures.len(),
        failures.join("\n")
    );

    for job in jobs {
        let finished = sweeper.wait_for(job, &["succeeded", "failed"]).await;
        assert!(finished["status"].is_string(), "{finished}");
    }
    // Still serving: a signed-in page and a key-authenticated REST call.
    let profile = keeper.browser.get("/profile").await;
    assert_eq!(profile.status(), reqwest::StatusCode::OK);
    assert!(profile.text().await.unwrap().contains("keeper"));
    assert_eq!(keeper.get("/rest/user").await.1["username"], "keeper");

    let log = app.log();
    let bad: Vec<&str> = log
        .lines()
        .filter(|line| line.contains("panicked") || line.contains(" ERROR "))
        .collect();
    assert!(
        bad.is_empty(),
        "the sweep left errors in the log:\n{}",
        bad.join("\n")
    );
}

/// A probe, short enough to read in a failure message.
fn describe(probe: &Probe) -> String {
    let short = |bytes: &[u8]| {
        let text = String::from_utf8_lossy(bytes);
        text.chars().take(120).collect::<String>()
    };
    match probe {
        Probe::Http {
            method,
            path,
            headers,
            body,
        } => format!(
            "{method} {} {:?} body {:?}",
            short(path.as_bytes()),
            headers
                .iter()
                .map(|(name, value)| format!("{name}: {}", short(value.as_bytes())))
                .collect::<Vec<_>>(),
            short(body)
        ),
        Probe::Raw(bytes) => format!("raw {:?}", short(bytes)),
    }
}

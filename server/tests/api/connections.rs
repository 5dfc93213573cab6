//! Slow clients and greedy users: a connection that sends too slowly or idles too long is
//! closed within its limit, and one user's stalled uploads or password flood leave the others
//! their share. (Thousands of slow connections against the release build: `scripts/lib/
//! slow_clients.sh`.)

use std::time::{Duration, Instant};

use futures_util::StreamExt;
use reqwest::StatusCode;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::archives::tar_gz;
use crate::helpers::{Backend, RUNTIME, TestApp, TestDatabase};
use crate::on_both_databases;

/// A raw connection to `app`, for clients that send what they like, when they like.
async fn connect(app: &TestApp) -> TcpStream {
    let address = app.url("").trim_start_matches("http://").to_owned();
    TcpStream::connect(address).await.expect("connects")
}

/// Reads until the server closes the connection (or `within` passes): what it answered, and
/// when it closed, counted from `since`.
async fn until_closed(
    stream: &mut (impl AsyncRead + Unpin),
    since: Instant,
    within: Duration,
) -> (String, Option<Duration>) {
    let mut answer = Vec::new();
    let mut buffer = [0u8; 4096];
    let deadline = tokio::time::Instant::now() + within;
    loop {
        match tokio::time::timeout_at(deadline, stream.read(&mut buffer)).await {
            Ok(Ok(0) | Err(_)) => {
                return (
                    String::from_utf8_lossy(&answer).into(),
                    Some(since.elapsed()),
                );
            }
            Ok(Ok(read)) => answer.extend_from_slice(&buffer[..read]),
            Err(_) => return (String::from_utf8_lossy(&answer).into(), None),
        }
    }
}

/// What the server answered within `within`, as soon as a whole answer (head and a JSON body)
/// is in; empty if it said nothing.
async fn first_answer(stream: &mut TcpStream, within: Duration) -> String {
    let mut answer = Vec::new();
    let mut buffer = [0u8; 4096];
    let deadline = tokio::time::Instant::now() + within;
    while let Ok(Ok(read @ 1..)) = tokio::time::timeout_at(deadline, stream.read(&mut buffer)).await
    {
        answer.extend_from_slice(&buffer[..read]);
        if answer.ends_with(b"}") {
            break;
        }
    }
    String::from_utf8_lossy(&answer).into()
}

/// Sends `bytes` one at a time, `every` apart, for as long as the server reads them.
async fn trickle(stream: &mut (impl AsyncWrite + Unpin), bytes: &[u8], every: Duration) {
    for byte in bytes {
        tokio::time::sleep(every).await;
        if stream.write_all(&[*byte]).await.is_err() {
            return;
        }
    }
}

#[test]
fn slow_heads_idle_connections_and_stalled_bodies_are_cut_within_their_limits() {
    RUNTIME.block_on(async {
        let database = TestDatabase::new(Backend::Sqlite).await;
        let app = TestApp::spawn_with(&database, |settings| {
            settings.header_timeout = Duration::from_secs(1);
            settings.keep_alive = Duration::from_secs(2);
        })
        .await;
        let generous = Duration::from_secs(6);

        // Connected, never a byte: a new connection has the head's time to send a request.
        let idle = async {
            let mut stream = connect(&app).await;
            let since = Instant::now();
            until_closed(&mut stream, since, generous).await
        };
        // A head trickled a byte every 200 ms: bytes keep coming, but the head is never done.
        let slow_head = async {
            let (mut read, mut write) = connect(&app).await.into_split();
            let since = Instant::now();
            write.write_all(b"GET /healthz HTTP/1.1\r\n").await.unwrap();
            let (closed, ()) = tokio::join!(
                until_closed(&mut read, since, generous),
                trickle(&mut write, &[b'X'; 40], Duration::from_millis(200)),
            );
            closed
        };
        // A body trickled the same way: 408, then closed.
        let slow_body = async {
            let (mut read, mut write) = connect(&app).await.into_split();
            let since = Instant::now();
            write
                .write_all(
                    b"POST /api/sign_in HTTP/1.1\r\nHost: console\r\n\
                      Content-Type: application/x-www-form-urlencoded\r\n\
                      Content-Length: 1000\r\n\r\nusername=",
                )
                .await
                .unwrap();
            let (closed, ()) = tokio::join!(
                until_closed(&mut read, since, generous),
                trickle(&mut write, &[b'a'; 40], Duration::from_millis(200)),
            );
            closed
        };
        // One request answered, then nothing: closed after the keep-alive time.
        let kept_alive = async {
            let mut stream = connect(&app).await;
            stream
                .write_all(b"GET /healthz HTTP/1.1\r\nHost: console\r\n\r\n")
                .await
                .unwrap();
            let mut first = [0u8; 12];
            stream.read_exact(&mut first).await.unwrap();
            assert_eq!(&first, b"HTTP/1.1 200");
            let since = Instant::now();
            until_closed(&mut stream, since, generous).await
        };
        // Slow but steady: 6 KB at 4 KB/s, above the 1 KB/s minimum. Answered, not 408.
        let steady = async {
            let body = format!("username=someone&password={}", "p".repeat(6 * 1024));
            let mut stream = connect(&app).await;
            stream
                .write_all(
                    format!(
                        "POST /api/sign_in HTTP/1.1\r\nHost: console\r\nConnection: close\r\n\
                         Content-Type: application/x-www-form-urlencoded\r\n\
                         Accept: application/json\r\nContent-Length: {}\r\n\r\n",
                        body.len()
                    )
                    .as_bytes(),
                )
                .await
                .unwrap();
            for chunk in body.as_bytes().chunks(1024) {
                tokio::time::sleep(Duration::from_millis(250)).await;
                stream.write_all(chunk).await.unwrap();
            }
            until_closed(&mut stream, Instant::now(), generous).await.0
        };
        let (idle, slow_head, slow_body, kept_alive, steady) =
            tokio::join!(idle, slow_head, slow_body, kept_alive, steady);

        let closed_after = |(answer, closed): &(String, Option<Duration>), what: &str| {
            closed.unwrap_or_else(|| panic!("{what}: still open after 6 s; answered {answer:?}"))
        };
        let idle_for = closed_after(&idle, "idle");
        assert!(
            (Duration::from_millis(900)..Duration::from_millis(2500)).contains(&idle_for),
            "a silent new connection closed after {idle_for:?} (head 1 s)"
        );
        assert!(idle.0.is_empty(), "{:?}", idle.0);
        let head_for = closed_after(&slow_head, "slow head");
        assert!(
            (Duration::from_millis(900)..Duration::from_millis(2500)).contains(&head_for),
            "slow head closed after {head_for:?} (head 1 s)"
        );
        let body_for = closed_after(&slow_body, "slow body");
        assert!(
            slow_body.0.starts_with("HTTP/1.1 408"),
            "a stalled body: {:?}",
            slow_body.0
        );
        assert!(slow_body.0.contains("request_timeout"), "{:?}", slow_body.0);
        assert!(
            body_for < Duration::from_millis(3500),
            "slow body closed after {body_for:?}"
        );
        let kept_for = closed_after(&kept_alive, "kept alive");
        assert!(
            (Duration::from_millis(1900)..Duration::from_millis(3500)).contains(&kept_for),
            "an idle kept-alive connection closed after {kept_for:?}"
        );
        assert!(
            steady.starts_with("HTTP/1.1 4") && !steady.starts_with("HTTP/1.1 408"),
            "a slow but steady body is answered on its merits (wrong password): {steady:?}"
        );
    });
}

on_both_databases!(one_users_stalled_uploads_leave_turns_to_the_others);

/// Eight uploads of one user, each declaring 10 MB and sending a few bytes: two hold the turns
/// that user may have, the other six are refused at once (429); another user's upload goes
/// through meanwhile.
async fn one_users_stalled_uploads_leave_turns_to_the_others(backend: Backend) {
    let (_db, app) = TestApp::on(backend).await;
    let greedy = app.tool("greedy", "user").await;
    let application = greedy.create_application("Held").await;
    let mut stalled = Vec::new();
    for _ in 0..8 {
        let mut stream = connect(&app).await;
        stream
            .write_all(
                format!(
                    "POST /rest/applications/{application}/versions HTTP/1.1\r\nHost: console\r\n\
                     X-API-KEY: {}\r\nContent-Type: multipart/form-data; boundary=XyZ\r\n\
                     Content-Length: 10000000\r\n\r\n--XyZ\r\nContent-Disposition: form-data; \
                     name=\"archive\"; filename=\"a.zip\"\r\n\r\nPK\x03\x04",
                    greedy.key
                )
                .as_bytes(),
            )
            .await
            .unwrap();
        stalled.push(stream);
    }
    // The refused are answered at once; the two under way say nothing (their bodies stall).
    let answers = futures_util::future::join_all(
        stalled
            .iter_mut()
            .map(|stream| first_answer(stream, Duration::from_secs(3))),
    )
    .await;
    let held = answers.iter().filter(|answer| answer.is_empty()).count();
    assert_eq!(
        held, 2,
        "uploads of one user under way at once: {answers:?}"
    );
    for answer in answers.iter().filter(|answer| !answer.is_empty()) {
        assert!(answer.starts_with("HTTP/1.1 429"), "{answer}");
        assert!(answer.contains("too_many_uploads"), "{answer}");
    }

    let other = app.tool("other", "user").await;
    let theirs = other.create_application("Theirs").await;
    let started = Instant::now();
    let (status, body) = other
        .upload(
            theirs,
            Some("1.0"),
            Some((
                "src.tar.gz",
                tar_gz(&[("src/Main.java", b"class Main {}\n".to_vec())]),
            )),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    drop(stalled);
}

#[test]
fn one_users_flood_of_correct_basic_credentials_leaves_sign_in_to_the_others() {
    RUNTIME.block_on(async {
        let database = TestDatabase::new(Backend::Sqlite).await;
        let app = TestApp::spawn(&database).await;
        let password = app.create_user("flooder", "user").await;
        let other_password = app.create_user("other", "user").await;
        let client = reqwest::Client::new();
        // 400 requests, 16 at a time, with a correct password: checked once, then remembered.
        let flood = futures_util::stream::iter(0..400)
            .map(|_| {
                client
                    .get(app.url("/rest/user"))
                    .basic_auth("flooder", Some(&password))
                    .send()
            })
            .buffer_unordered(16)
            .collect::<Vec<_>>();
        let signing_in = async {
            let mut outcomes = Vec::new();
            for _ in 0..10 {
                let browser = app.browser();
                let response = browser
                    .server_fn(
                        "sign_in",
                        &[("username", "other"), ("password", &other_password)],
                    )
                    .await;
                outcomes.push(response.status());
            }
            outcomes
        };
        let (flood, signing_in) = tokio::join!(flood, signing_in);
        assert!(
            signing_in.iter().all(|status| *status == StatusCode::OK),
            "{signing_in:?}"
        );
        // The flooder's checks beyond its share are refused at once (429) until its password
        // has been checked; from then on it is remembered, and answered without a check.
        let statuses: Vec<StatusCode> = flood
            .into_iter()
            .map(|answer| answer.expect("every request is answered").status())
            .collect();
        assert!(
            statuses
                .iter()
                .all(|status| matches!(*status, StatusCode::OK | StatusCode::TOO_MANY_REQUESTS)),
            "{statuses:?}"
        );
        let ok = statuses
            .iter()
            .filter(|status| **status == StatusCode::OK)
            .count();
        assert!(
            ok >= 300,
            "{ok} of 400 answered 200: a correct password is remembered"
        );
    });
}

#[test]
fn uploads_past_a_users_storage_quota_are_refused_and_nothing_is_kept() {
    RUNTIME.block_on(async {
        let database = TestDatabase::new(Backend::Sqlite).await;
        let archive = tar_gz(&[("src/Main.java", b"class Main {}\n".to_vec())]);
        let quota = archive.len() as u64 * 3 / 2;
        let app = TestApp::spawn_with(&database, |settings| {
            settings.storage_per_user = Some(quota);
        })
        .await;
        let owner = app.tool("owner", "user").await;
        let application = owner.create_application("Quota").await;
        let first = owner
            .upload(
                application,
                Some("1.0"),
                Some(("a.tar.gz", archive.clone())),
            )
            .await;
        assert_eq!(first.0, StatusCode::CREATED, "{}", first.1);
        let (status, body) = owner
            .upload(
                application,
                Some("2.0"),
                Some(("a.tar.gz", archive.clone())),
            )
            .await;
        assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{body}");
        assert_eq!(body["error"], "storage_quota_exceeded");
        database.assert_only_versions_archived().await;
        // Someone else has a quota of their own.
        let other = app.tool("other", "user").await;
        let theirs = other.create_application("Theirs").await;
        let (status, body) = other
            .upload(theirs, Some("1.0"), Some(("a.tar.gz", archive)))
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
    });
}

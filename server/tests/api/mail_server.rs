//! Notification mail through a real SMTP server (the aiosmtpd sink): the administrator's
//! settings and test mail, STARTTLS / TLS with AUTH, a wrong password, a mail server that is
//! down for a while, a server killed with SIGKILL mid-queue, and two instances draining one
//! outbox on PostgreSQL.

use std::collections::HashSet;
use std::time::Duration;

use app::db::entity::{mail_server, outbox};
use reqwest::StatusCode;
use sea_orm::{ColumnTrait, Database, DatabaseConnection, EntityTrait, QueryFilter};

use crate::archives::{sample_project, tar_gz};
use crate::helpers::{ADMIN_PASSWORD, Backend, TestApp, TestDatabase, json};
use crate::mail::opt_in;
use crate::on_both_databases;
use crate::smtp::{Encryption, SmtpSink, header};

on_both_databases!(
    starttls_and_auth_carry_every_notification,
    a_wrong_password_keeps_mail_queued_with_a_readable_error,
    mail_waits_out_a_dead_mail_server_and_none_is_lost,
    a_server_killed_mid_queue_delivers_the_rest_after_a_restart,
    failed_mail_is_shown_to_administrators_and_retried,
    administration_is_for_administrators_only,
    the_environment_presets_the_mail_server_once,
    an_unsendable_address_fails_its_own_mail_and_nothing_else,
);

const SINK_USER: &str = "console";
const SINK_PASSWORD: &str = "sink-password-7Q";

async fn connect(database: &TestDatabase) -> DatabaseConnection {
    Database::connect(&database.url).await.expect("connect")
}

/// Every mail's `Message-ID`, asserting none came twice.
fn distinct_ids(mails: &[String]) -> HashSet<String> {
    let ids: Vec<String> = mails
        .iter()
        .map(|mail| header(mail, "Message-ID").expect("a Message-ID").to_owned())
        .collect();
    let distinct: HashSet<String> = ids.iter().cloned().collect();
    assert_eq!(distinct.len(), ids.len(), "a mail was delivered twice");
    distinct
}

/// Waits until a delivery of waiting mail has failed; returns the mails waiting, tried or not,
/// once there are `count`.
async fn wait_for_a_failed_attempt(db: &DatabaseConnection, count: usize) -> Vec<outbox::Model> {
    for _ in 0..600 {
        let waiting = outbox::Entity::find()
            .filter(outbox::Column::Status.eq("pending"))
            .all(db)
            .await
            .unwrap();
        if waiting.len() >= count && waiting.iter().any(|mail| mail.last_error.is_some()) {
            return waiting;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("expected {count} mails waiting, one of them tried");
}

/// Waits (up to a minute) until no mail is waiting or in flight: what a server process in
/// another process has delivered, seen from the database.
async fn wait_until_sent(db: &DatabaseConnection) {
    for _ in 0..1200 {
        if app::mail::ssr::outbox::pending(db).await.unwrap() == 0 {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("mail still waiting after a minute");
}

async fn starttls_and_auth_carry_every_notification(backend: Backend) {
    let sink = SmtpSink::start(Encryption::StartTls, Some((SINK_USER, SINK_PASSWORD)));
    let database = TestDatabase::new(backend).await;
    let app = TestApp::delivering(&database, |settings| {
        settings.smtp_ca_file = Some(sink.certificate());
    })
    .await;
    let admin = sink.configure(&app, None).await;

    // The test mail needs the admin's own address.
    let refused = json(admin.server_fn("send_test_mail", &[]).await).await;
    assert!(
        refused["Invalid"]["message"]
            .as_str()
            .unwrap()
            .contains("Email Settings"),
        "{refused}"
    );
    let saved = admin
        .server_fn("update_email_settings", &[("email", "admin@example.com")])
        .await;
    assert_eq!(saved.status(), StatusCode::OK);
    let sent = admin.server_fn("send_test_mail", &[]).await;
    assert_eq!(sent.status(), StatusCode::OK);
    assert_eq!(
        json(sent).await,
        format!(
            "Test mail sent to admin@example.com through localhost:{}.",
            sink.port
        )
    );
    // The address's verification link goes out in the background meanwhile, in any order.
    let test_mail = sink
        .mailbox
        .wait_for_one(|mail| header(mail, "Subject") == Some("AIP Console: test mail"))
        .await;
    assert_eq!(header(&test_mail, "To"), Some("admin@example.com"));
    assert_eq!(
        header(&test_mail, "Subject"),
        Some("AIP Console: test mail")
    );
    assert_eq!(
        header(&test_mail, "From"),
        Some("\"AIP Console\" <console@example.com>")
    );

    // The password is write-only: not on the page, not readable in the database.
    let page = admin.page("/admin").await;
    assert!(page.contains("A password is saved"), "{page}");
    assert!(!page.contains(SINK_PASSWORD));
    let row = mail_server::Entity::find_by_id(1)
        .one(&connect(&database).await)
        .await
        .unwrap()
        .unwrap();
    let sealed = row.sealed_password.unwrap();
    assert!(!sealed.contains(SINK_PASSWORD) && !sealed.is_empty());

    // A job's life: three notifications to the owner, through STARTTLS with AUTH.
    let owner = app.tool("owner", "user").await;
    opt_in(&owner, "owner@example.com").await;
    let application = owner.create_application("MEUDON").await;
    let version = owner
        .create_version(application, "1.0", ("p.tar.gz", tar_gz(&sample_project())))
        .await;
    let job = owner.start_analysis(application, version).await;
    owner.wait_for(job, &["succeeded"]).await;
    let mails = sink
        .mailbox
        .wait_for_matching(3, |mail| header(mail, "To") == Some("owner@example.com"))
        .await;
    let mut subjects: Vec<&str> = mails
        .iter()
        .map(|mail| header(mail, "Subject").unwrap())
        .collect();
    subjects.sort_unstable();
    assert_eq!(
        subjects,
        [
            "[AIP Console] Analyze completed: MEUDON",
            "[AIP Console] Application created: MEUDON",
            "[AIP Console] New version: MEUDON",
        ]
    );
    for mail in &mails {
        assert!(
            header(mail, "List-Unsubscribe")
                .unwrap()
                .contains("/unsubscribe/")
        );
        assert!(header(mail, "Message-ID").unwrap().starts_with("<outbox-"));
        assert!(mail.contains("multipart/alternative"));
    }
    distinct_ids(&mails);
    app.assert_outbox_empty().await;
}

async fn a_wrong_password_keeps_mail_queued_with_a_readable_error(backend: Backend) {
    let sink = SmtpSink::start(Encryption::Implicit, Some((SINK_USER, SINK_PASSWORD)));
    let database = TestDatabase::new(backend).await;
    let app = TestApp::delivering(&database, |settings| {
        settings.smtp_ca_file = Some(sink.certificate());
    })
    .await;
    let admin = sink.configure(&app, Some("not-the-password")).await;
    let saved = admin
        .server_fn("update_email_settings", &[("email", "admin@example.com")])
        .await;
    assert_eq!(saved.status(), StatusCode::OK);

    // The test mail says what the server answered, in plain words.
    let failed = json(admin.server_fn("send_test_mail", &[]).await).await;
    let message = failed["MailServer"]
        .as_str()
        .expect("a mail server error")
        .to_owned();
    assert!(
        message.starts_with(&format!(
            "The mail server localhost:{} refused the username or password",
            sink.port
        )),
        "{message}"
    );
    assert!(message.contains("535"), "{message}");

    // A notification stays queued, with the same error for the administrator to see.
    let owner = app.tool("owner", "user").await;
    opt_in(&owner, "owner@example.com").await;
    owner.create_application("MEUDON").await;
    let db = connect(&database).await;
    let waiting = wait_for_a_failed_attempt(&db, 1).await;
    assert!(
        waiting[0]
            .last_error
            .as_deref()
            .unwrap()
            .contains("refused the username or password"),
        "{:?}",
        waiting[0].last_error
    );
    let page = admin.page("/admin").await;
    assert!(page.contains("refused the username or password"), "{page}");
    assert!(
        page.contains("Will try again; 1 attempt failed so far"),
        "{page}"
    );
    assert!(sink.mailbox.mails().is_empty());

    // A password in clear to another host is refused; nothing saved.
    let refused = admin
        .server_fn(
            "save_mail_server",
            &[
                ("host", "smtp.example.com"),
                ("security", "none"),
                ("username", "console"),
                ("password", "secret"),
            ],
        )
        .await;
    assert_eq!(json(refused).await["Invalid"]["field"], "security");

    // The right password: the waiting mail goes at once (saving makes it due), the test too.
    sink.configure(&app, None).await;
    let mails = sink.mailbox.wait_for(1).await;
    assert_eq!(
        header(&mails[0], "Subject"),
        Some("[AIP Console] Application created: MEUDON")
    );
    assert_eq!(
        admin.server_fn("send_test_mail", &[]).await.status(),
        StatusCode::OK
    );
    sink.mailbox.wait_for(2).await;

    // Saving without a password keeps the saved one; the checkbox removes it (a username then
    // needs a password, so it goes too).
    async fn has_password(admin: &crate::helpers::Browser) -> bool {
        let settings = json(admin.server_fn("mail_server", &[]).await).await;
        settings["has_password"].as_bool().unwrap()
    }
    let kept = [
        ("host", "localhost"),
        ("security", "none"),
        ("username", "console"),
    ];
    let saved = admin.server_fn("save_mail_server", &kept).await;
    assert_eq!(saved.status(), StatusCode::OK, "{:?}", saved.text().await);
    assert!(has_password(&admin).await);
    let forget = [
        ("host", "localhost"),
        ("security", "none"),
        ("forget_password", "true"),
    ];
    let saved = admin.server_fn("save_mail_server", &forget).await;
    assert_eq!(saved.status(), StatusCode::OK, "{:?}", saved.text().await);
    assert!(!has_password(&admin).await);
    app.assert_outbox_empty().await;
}

async fn mail_waits_out_a_dead_mail_server_and_none_is_lost(backend: Backend) {
    let mut sink = SmtpSink::start(Encryption::Plain, None);
    let database = TestDatabase::new(backend).await;
    let app = TestApp::delivering(&database, |_| {}).await;
    sink.configure(&app, None).await;
    sink.down();

    let owner = app.tool("owner", "user").await;
    opt_in(&owner, "owner@example.com").await;
    for n in 0..50 {
        owner.create_application(&format!("App {n:02}")).await;
    }
    let db = connect(&database).await;
    let waiting = wait_for_a_failed_attempt(&db, 50).await;
    let tried: Vec<&outbox::Model> = waiting
        .iter()
        .filter(|mail| mail.last_error.is_some())
        .collect();
    assert!(
        tried[0]
            .last_error
            .as_deref()
            .unwrap()
            .starts_with(&format!(
                "Could not connect to the mail server localhost:{}",
                sink.port
            )),
        "{:?}",
        tried[0].last_error
    );
    // A dead server is tried with one batch, then probed with one mail at a time (the pauses
    // are the delivery module's unit test), not tried with every mail.
    let attempts = outbox::Entity::find()
        .filter(outbox::Column::Attempts.gt(0))
        .all(&db)
        .await
        .unwrap()
        .len();
    let one_batch_and_a_probe = 2 * app::mail::ssr::transport::CONNECTIONS as usize + 1;
    assert!(
        attempts <= one_batch_and_a_probe,
        "{attempts} of 50 mails were tried"
    );

    // Back up: the next probe goes through and the rest follows, by itself.
    sink.up();
    sink.mailbox.wait_for(50).await;
    app.assert_outbox_empty().await;
    // Each mail exactly once.
    let mails = sink.mailbox.mails();
    assert_eq!(mails.len(), 50);
    let mut subjects: Vec<String> = mails
        .iter()
        .map(|mail| header(mail, "Subject").unwrap().to_owned())
        .collect();
    subjects.sort();
    let expected: Vec<String> = (0..50)
        .map(|n| format!("[AIP Console] Application created: App {n:02}"))
        .collect();
    assert_eq!(subjects, expected);
    distinct_ids(&mails);
    let sent = outbox::Entity::find()
        .filter(outbox::Column::Status.eq("sent"))
        .filter(outbox::Column::Kind.eq("notification"))
        .all(&db)
        .await
        .unwrap();
    assert_eq!(sent.len(), 50);
}

/// Short, so the test need not wait long for a dead instance's claims to expire.
const LEASE: Duration = Duration::from_secs(3);

async fn a_server_killed_mid_queue_delivers_the_rest_after_a_restart(backend: Backend) {
    const MAILS: usize = 40;
    let mut sink =
        SmtpSink::start_with_delay(Encryption::Plain, None, Some(Duration::from_millis(300)));
    let database = TestDatabase::new(backend).await;
    {
        // Queue the mail while the mail server is down, then stop this instance (a claim it
        // leaves behind expires as quickly as the server process's).
        let app = TestApp::delivering(&database, |settings| settings.mail_lease = LEASE).await;
        sink.configure(&app, None).await;
        sink.down();
        let owner = app.tool("owner", "user").await;
        opt_in(&owner, "owner@example.com").await;
        for n in 0..MAILS {
            owner.create_application(&format!("App {n:02}")).await;
        }
        wait_for_a_failed_attempt(&connect(&database).await, MAILS).await;
    }
    sink.up();

    // A claimed batch (16 mails, 8 at a time, 0.3 s each) takes 0.6 s.
    let lease = LEASE.as_secs().to_string();
    let server = TestApp::binary(&database, &[("CONSOLE_MAIL_LEASE_SECONDS", &lease)]).await;
    sink.mailbox.wait_for(8).await;
    server.kill_9();
    let before = sink.mailbox.mails().len();
    assert!(
        before < MAILS,
        "the queue was not interrupted ({before} sent)"
    );

    let _server = TestApp::binary(&database, &[("CONSOLE_MAIL_LEASE_SECONDS", &lease)]).await;
    // Every mail recorded as sent: nothing is left to arrive (the killed instance is gone).
    wait_until_sent(&connect(&database).await).await;
    let mails = sink.mailbox.mails();
    // Every mail arrived; only those in flight at the kill (one per connection) may come twice.
    let ids: HashSet<&str> = mails
        .iter()
        .map(|mail| header(mail, "Message-ID").unwrap())
        .collect();
    assert_eq!(ids.len(), MAILS);
    assert!(
        mails.len() <= MAILS + app::mail::ssr::transport::CONNECTIONS as usize,
        "{} mails for {MAILS}",
        mails.len()
    );
}

#[test]
fn two_instances_on_postgres_never_send_a_mail_twice() {
    crate::helpers::RUNTIME.block_on(async {
        const MAILS: usize = 60;
        let mut sink =
            SmtpSink::start_with_delay(Encryption::Plain, None, Some(Duration::from_millis(100)));
        let database = TestDatabase::new(Backend::Postgres).await;
        // A short lease: a claim kept past it would show up as a duplicate.
        let spawn = || TestApp::delivering(&database, |settings| settings.mail_lease = LEASE);
        let first = spawn().await;
        let second = spawn().await;
        sink.configure(&first, None).await;
        sink.down();
        let owner = first.tool("owner", "user").await;
        opt_in(&owner, "owner@example.com").await;
        for n in 0..MAILS {
            owner.create_application(&format!("App {n:02}")).await;
        }
        wait_for_a_failed_attempt(&connect(&database).await, MAILS).await;

        // Back up; saving the settings makes every waiting mail due at once, for both.
        sink.up();
        sink.configure(&second, None).await;
        first.assert_outbox_empty().await;
        let received = sink.mailbox.mails();
        assert_eq!(received.len(), MAILS, "a mail was lost or sent twice");
        distinct_ids(&received);
    });
}

async fn failed_mail_is_shown_to_administrators_and_retried(backend: Backend) {
    let mut sink = SmtpSink::start(Encryption::Plain, None);
    let database = TestDatabase::new(backend).await;
    let app = TestApp::delivering(&database, |settings| settings.mail_max_attempts = 1).await;
    let admin = sink.configure(&app, None).await;
    sink.down();
    let owner = app.tool("owner", "user").await;
    opt_in(&owner, "owner@example.com").await;
    owner.create_application("MEUDON").await;

    let db = connect(&database).await;
    let mut failed = Vec::new();
    for _ in 0..200 {
        failed = outbox::Entity::find()
            .filter(outbox::Column::Status.eq("failed"))
            .all(&db)
            .await
            .unwrap();
        if !failed.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(failed.len(), 1, "the only attempt failed: given up on");
    let page = admin.page("/admin").await;
    assert!(page.contains("Not sent: gave up after 1 attempt"), "{page}");
    assert!(
        page.contains("Could not connect to the mail server"),
        "{page}"
    );
    assert!(page.contains("[AIP Console] Application created: MEUDON"));

    sink.up();
    let id = failed[0].id.to_string();
    let retried = admin.server_fn("retry_mail", &[("id", &id)]).await;
    assert_eq!(retried.status(), StatusCode::OK);
    let mails = sink.mailbox.wait_for(1).await;
    assert_eq!(header(&mails[0], "To"), Some("owner@example.com"));
    // Delivered: nothing left to retry.
    for _ in 0..200 {
        let row = outbox::Entity::find_by_id(failed[0].id)
            .one(&db)
            .await
            .unwrap();
        if row.unwrap().status == app::mail::ssr::outbox::OutboxStatus::Sent {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let again = json(admin.server_fn("retry_mail", &[("id", &id)]).await).await;
    assert!(
        again["Conflict"]
            .as_str()
            .unwrap()
            .contains("no longer waiting"),
        "{again}"
    );
    let page = admin.page("/admin").await;
    assert!(page.contains("No undelivered mail."), "{page}");

    // After another outage, Retry all sends every failed mail.
    sink.down();
    owner.create_application("Second").await;
    owner.create_application("Third").await;
    for _ in 0..200 {
        let failed = outbox::Entity::find()
            .filter(outbox::Column::Status.eq("failed"))
            .all(&db)
            .await
            .unwrap();
        if failed.len() == 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    sink.up();
    let retried = admin.server_fn("retry_all_mail", &[]).await;
    assert_eq!(json(retried).await, 2);
    let mails = sink.mailbox.wait_for(3).await;
    let mut subjects: Vec<&str> = mails[1..]
        .iter()
        .map(|mail| header(mail, "Subject").unwrap())
        .collect();
    subjects.sort_unstable();
    assert_eq!(
        subjects,
        [
            "[AIP Console] Application created: Second",
            "[AIP Console] Application created: Third",
        ]
    );
    app.assert_outbox_empty().await;
}

async fn administration_is_for_administrators_only(backend: Backend) {
    let (_database, app) = TestApp::on(backend).await;
    let user = app.signed_in("someone", "user").await;
    let page = user.get("/admin").await;
    assert_eq!(page.status(), StatusCode::FORBIDDEN);
    assert!(page.text().await.unwrap().contains("Administrators only"));
    for (name, form) in [
        ("mail_server", vec![]),
        ("save_mail_server", vec![("host", "evil.example.com")]),
        ("send_test_mail", vec![]),
        ("undelivered_mail", vec![]),
        ("retry_mail", vec![("id", "1")]),
        ("retry_all_mail", vec![]),
        ("users", vec![]),
        (
            "create_user",
            vec![
                ("username", "x"),
                ("password", "password-1"),
                ("role", "admin"),
            ],
        ),
    ] {
        let refused = json(user.server_fn(name, &form).await).await;
        assert_eq!(refused, "Forbidden", "{name}");
    }
    // The profile says mail is not sent while no mail server is configured.
    let profile = user.page("/profile").await;
    assert!(
        profile.contains("has not set up a mail server yet"),
        "{profile}"
    );

    // An administrator sees the page and creates a user with the form.
    let admin = app.browser();
    admin.sign_in("admin", ADMIN_PASSWORD).await;
    let page = admin.page("/admin").await;
    assert!(page.contains("No mail server is configured"), "{page}");
    assert!(page.contains("someone"), "the users list");
    let taken = json(
        admin
            .server_fn(
                "create_user",
                &[
                    ("username", "someone"),
                    ("password", "password-1"),
                    ("role", "user"),
                ],
            )
            .await,
    )
    .await;
    assert!(
        taken["Conflict"]
            .as_str()
            .unwrap()
            .contains("already taken")
    );
    let created = admin
        .server_fn(
            "create_user",
            &[
                ("username", "newcomer"),
                ("password", "password-1"),
                ("role", "user"),
                ("email", "newcomer@example.com"),
            ],
        )
        .await;
    assert_eq!(created.status(), StatusCode::OK);
    let newcomer = app.browser();
    newcomer.sign_in("newcomer", "password-1").await;
    assert_eq!(
        json(newcomer.rest_user().await).await["email"],
        "newcomer@example.com"
    );
}

async fn the_environment_presets_the_mail_server_once(backend: Backend) {
    let sink = SmtpSink::start(Encryption::StartTls, Some((SINK_USER, SINK_PASSWORD)));
    let database = TestDatabase::new(backend).await;
    let preset = |password: &str| server::settings::SmtpPreset {
        host: "localhost".into(),
        port: Some(sink.port.to_string()),
        security: Some("starttls".into()),
        username: Some(SINK_USER.into()),
        password: Some(password.to_owned().into()),
    };
    let spawn = |password: &str| {
        let preset = preset(password);
        let certificate = sink.certificate();
        TestApp::delivering(&database, move |settings| {
            settings.smtp = Some(preset);
            settings.smtp_ca_file = Some(certificate);
        })
    };
    let app = spawn(SINK_PASSWORD).await;
    let admin = app.browser();
    admin.sign_in("admin", ADMIN_PASSWORD).await;
    let saved = admin
        .server_fn("update_email_settings", &[("email", "admin@example.com")])
        .await;
    assert_eq!(saved.status(), StatusCode::OK);
    let page = admin.page("/admin").await;
    assert!(
        page.contains(&format!(
            "Notification mail is sent through localhost:{}.",
            sink.port
        )),
        "{page}"
    );
    assert_eq!(
        admin.server_fn("send_test_mail", &[]).await.status(),
        StatusCode::OK
    );
    sink.mailbox.wait_for(1).await;

    // The administrator's later change survives a restart with the same environment.
    let changed = admin
        .server_fn(
            "save_mail_server",
            &[
                ("host", "localhost"),
                ("port", &sink.port.to_string()),
                ("security", "starttls"),
                ("username", SINK_USER),
                ("sender", "Changed <changed@example.com>"),
            ],
        )
        .await;
    assert_eq!(changed.status(), StatusCode::OK);
    drop(app);
    let app = spawn("a-preset-that-is-not-used").await;
    let admin = app.browser();
    admin.sign_in("admin", ADMIN_PASSWORD).await;
    assert_eq!(
        admin.server_fn("send_test_mail", &[]).await.status(),
        StatusCode::OK
    );
    // The admin's address change also sent a verification mail, in the background, at a moment
    // of its own: the test mail is found by its subject, and it must carry the changed sender
    // (the first instance's test mail went out before the change).
    sink.mailbox
        .wait_for_one(|mail| {
            header(mail, "Subject") == Some("AIP Console: test mail")
                && header(mail, "From") == Some("Changed <changed@example.com>")
        })
        .await;
}

/// A mail whose recipient the mail server refuses for good (550, no such mailbox) fails with its
/// reason; the mail server is not taken to be failing for it, so everyone else's mail goes out
/// as usual, at once.
async fn an_unsendable_address_fails_its_own_mail_and_nothing_else(backend: Backend) {
    let sink = SmtpSink::start(Encryption::Plain, None);
    let database = TestDatabase::new(backend).await;
    let app = TestApp::delivering(&database, |_| {}).await;
    sink.configure(&app, None).await;
    let broken = app.tool("broken", "user").await;
    opt_in(&broken, "nobody@refused.example").await;
    let fine = app.tool("fine", "user").await;
    opt_in(&fine, "fine@example.com").await;

    // The refused mail goes first, in a round of its own.
    broken.create_application("Unsendable").await;
    let db = connect(&database).await;
    let unsendable = outbox::Entity::find()
        .filter(outbox::Column::ToAddress.eq("nobody@refused.example"))
        .filter(outbox::Column::Subject.contains("Application created"));
    let mut error = None;
    for _ in 0..400 {
        let mail = unsendable
            .clone()
            .one(&db)
            .await
            .unwrap()
            .expect("the unsendable mail");
        if let Some(last) = mail.last_error {
            error = Some(last);
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let error = error.expect("the unsendable mail was tried within 20 s");
    assert!(error.contains("No such mailbox here"), "{error}");

    // The server was not put on probation for it (one mail per probe, the first 5 s later):
    // the next mails go out at the next round, together.
    let started = std::time::Instant::now();
    fine.create_application("First").await;
    fine.create_application("Second").await;
    let created = |mail: &str| {
        header(mail, "To") == Some("fine@example.com")
            && header(mail, "Subject")
                .is_some_and(|subject| subject.contains("Application created"))
    };
    sink.mailbox.wait_for_matching(2, created).await;
    assert!(
        started.elapsed() < Duration::from_millis(4500),
        "{:?}",
        started.elapsed()
    );
}

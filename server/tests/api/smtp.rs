//! The SMTP server the tests deliver to: `server/tests/fixtures/smtp_sink.py` (aiosmtpd, installed into
//! `.venv` by `scripts/setup.sh test`), one per test, keeping each mail as a file. It can be
//! stopped and started again on the same port to play a mail server that goes away.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use reqwest::StatusCode;

use crate::helpers::{ADMIN_PASSWORD, Browser, TestApp};

/// How the sink protects its connections.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Encryption {
    Plain,
    StartTls,
    Implicit,
}

pub struct SmtpSink {
    pub port: u16,
    pub mailbox: Mailbox,
    tls: Encryption,
    credentials: Option<(&'static str, &'static str)>,
    delay: Option<Duration>,
    dir: tempfile::TempDir,
    child: Option<Child>,
}

impl SmtpSink {
    /// A sink on a free port, accepting mail.
    pub fn start(tls: Encryption, credentials: Option<(&'static str, &'static str)>) -> Self {
        Self::start_with_delay(tls, credentials, None)
    }

    /// A sink that holds each mail for `delay` before accepting it.
    pub fn start_with_delay(
        tls: Encryption,
        credentials: Option<(&'static str, &'static str)>,
        delay: Option<Duration>,
    ) -> Self {
        let dir = tempfile::tempdir().expect("sink directory");
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|listener| listener.local_addr())
            .expect("a free port")
            .port();
        let mut sink = Self {
            port,
            mailbox: Mailbox(dir.path().join("mail")),
            tls,
            credentials,
            delay,
            dir,
            child: None,
        };
        sink.up();
        sink
    }

    /// Starts the sink (again), on the same port and mailbox.
    pub fn up(&mut self) {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let python = root.join(".venv/bin/python");
        assert!(
            python.exists(),
            "{} is missing: run scripts/setup.sh test (it installs aiosmtpd)",
            python.display()
        );
        let mut command = Command::new(python);
        command
            .arg(root.join("server/tests/fixtures/smtp_sink.py"))
            .args(["--port", &self.port.to_string()])
            .arg("--dir")
            .arg(&self.mailbox.0);
        if self.tls != Encryption::Plain {
            command.arg("--tls").arg(self.dir.path());
        }
        if self.tls == Encryption::Implicit {
            command.arg("--implicit-tls");
        }
        if let Some((user, password)) = self.credentials {
            command.args(["--user", user, "--password", password]);
        }
        if let Some(delay) = self.delay {
            command.args(["--delay", &delay.as_secs_f64().to_string()]);
        }
        let mut child = command
            .stdout(Stdio::piped())
            .spawn()
            .expect("start the SMTP sink");
        let mut line = String::new();
        BufReader::new(child.stdout.take().expect("sink stdout"))
            .read_line(&mut line)
            .expect("read from the SMTP sink");
        assert_eq!(line.trim(), "ready", "the SMTP sink did not start");
        self.child = Some(child);
    }

    /// Stops the sink: connections to its port are refused until [`Self::up`].
    pub fn down(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// The certificate to trust (with TLS).
    pub fn certificate(&self) -> PathBuf {
        self.dir.path().join("cert.pem")
    }

    /// Points `app` at this sink through the administrator's form. `host` is `localhost` so
    /// the certificate's name matches.
    pub async fn configure(&self, app: &TestApp, password: Option<&str>) -> Browser {
        let admin = app.browser();
        admin.sign_in("admin", ADMIN_PASSWORD).await;
        let security = match self.tls {
            Encryption::Plain => "none",
            Encryption::StartTls => "starttls",
            Encryption::Implicit => "tls",
        };
        let port = self.port.to_string();
        let username = self.credentials.map_or("", |(user, _)| user);
        let password = password.or(self.credentials.map(|(_, password)| password));
        let mut form = vec![
            ("host", "localhost"),
            ("port", port.as_str()),
            ("security", security),
            ("username", username),
            ("sender", "AIP Console <console@example.com>"),
        ];
        if let Some(password) = password {
            form.push(("password", password));
        }
        let response = admin.server_fn("save_mail_server", &form).await;
        assert_eq!(
            response.status(),
            StatusCode::OK,
            "{:?}",
            response.text().await
        );
        admin
    }
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        self.down();
    }
}

/// A directory of `.eml` files: what the sink received, or the server's own spool.
pub struct Mailbox(pub PathBuf);

impl Mailbox {
    /// Every mail so far, in the order received.
    pub fn mails(&self) -> Vec<String> {
        let mut files: Vec<PathBuf> = std::fs::read_dir(&self.0)
            .map(|entries| {
                entries
                    .filter_map(Result::ok)
                    .map(|entry| entry.path())
                    .filter(|path| path.extension().is_some_and(|e| e == "eml"))
                    .collect()
            })
            .unwrap_or_default();
        files.sort();
        files
            .iter()
            .map(|path| std::fs::read_to_string(path).expect("read a mail"))
            .collect()
    }

    /// Waits (up to a minute) until at least `count` mails are here.
    pub async fn wait_for(&self, count: usize) -> Vec<String> {
        for _ in 0..1200 {
            let mails = self.mails();
            if mails.len() >= count {
                return mails;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!(
            "expected {count} mails in {}, found {}",
            self.0.display(),
            self.mails().len()
        );
    }
}

impl Mailbox {
    /// Waits (up to a minute) for a mail that `wanted` picks, and returns it. Other mail may
    /// arrive in any order meanwhile (a verification link sent in the background, say).
    pub async fn wait_for_one(&self, wanted: impl Fn(&str) -> bool) -> String {
        self.wait_for_matching(1, wanted).await.remove(0)
    }

    /// Waits (up to a minute) until `count` mails that `wanted` picks are here, and returns
    /// those, in the order received; other mail is left out.
    pub async fn wait_for_matching(
        &self,
        count: usize,
        wanted: impl Fn(&str) -> bool,
    ) -> Vec<String> {
        for _ in 0..1200 {
            let picked: Vec<String> = self
                .mails()
                .into_iter()
                .filter(|mail| wanted(mail))
                .collect();
            if picked.len() >= count {
                return picked;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!(
            "the {count} mails expected never came to {}",
            self.0.display()
        );
    }
}

/// The value of header `name` in a raw mail (first line only).
pub fn header<'a>(mail: &'a str, name: &str) -> Option<&'a str> {
    mail.lines()
        .take_while(|line| !line.is_empty())
        .find(|line| {
            line.len() > name.len()
                && line[..name.len()].eq_ignore_ascii_case(name)
                && line.as_bytes()[name.len()] == b':'
        })
        .map(|line| line[name.len() + 1..].trim())
}

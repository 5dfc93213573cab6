//! The words of a notification: subject, a plain-text part and an HTML part, for one event.
//!
//! Every string that comes from users (application, version and user names, job errors) is
//! escaped in the HTML part; headers are built by lettre, which encodes them, so nothing a user
//! types can add a header.

use chrono::{DateTime, Utc};

use crate::events::EventKind;

/// What happened, with the names a reader needs.
#[derive(Clone, Debug)]
pub struct Notice {
    pub kind: EventKind,
    /// For job events, the work as the job's kind names it ("Analyze").
    pub work: Option<&'static str>,
    pub application_id: i64,
    pub application: String,
    pub version: Option<String>,
    /// Who triggered it (username).
    pub actor: String,
    /// Why a job failed.
    pub error: Option<String>,
    pub at: DateTime<Utc>,
}

/// A mail ready to be stored in the outbox.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Composed {
    pub subject: String,
    pub text: String,
    pub html: String,
}

impl Notice {
    /// "Success!", "Failed", "Stopped", …
    fn status(&self) -> &'static str {
        match self.kind {
            EventKind::JobSucceeded => "Success!",
            EventKind::JobFailed => "Failed",
            EventKind::JobStopped => "Stopped",
            EventKind::ApplicationCreated => "New application",
            EventKind::VersionCreated => "New version",
        }
    }

    /// The one sentence that says what happened, with `name` already formatted for the part.
    fn sentence(&self, name: &str, version: &str, actor: &str) -> String {
        let job = self.job_label();
        match self.kind {
            EventKind::JobSucceeded => {
                format!("{job} has been successfully completed for application: {name}")
            }
            EventKind::JobFailed => format!("{job} has failed for application: {name}"),
            EventKind::JobStopped => {
                format!("{job} has been stopped by {actor} for application: {name}")
            }
            EventKind::ApplicationCreated => {
                format!("The application {name} has been created by {actor}.")
            }
            EventKind::VersionCreated => {
                format!("Version {version} has been created by {actor} for application: {name}")
            }
        }
    }

    /// "Analyze", "Compare": the work a job event is about.
    fn job_label(&self) -> &'static str {
        self.work.unwrap_or("The job")
    }

    fn subject(&self, product: &str) -> String {
        let job = self.job_label();
        let what = match self.kind {
            EventKind::JobSucceeded => format!("{job} completed"),
            EventKind::JobFailed => format!("{job} failed"),
            EventKind::JobStopped => format!("{job} stopped"),
            EventKind::ApplicationCreated => "Application created".to_owned(),
            EventKind::VersionCreated => "New version".to_owned(),
        };
        // Subjects are one line, whatever the names hold.
        one_line(&format!("[{product}] {what}: {}", self.application))
    }
}

/// Writes the mail for `notice`. `product` heads it, the button opens the application at
/// `public_url`, and `unsubscribe_url` closes it.
pub fn compose(
    product: &str,
    public_url: &str,
    notice: &Notice,
    unsubscribe_url: &str,
) -> Composed {
    let link = format!("{public_url}/applications/{}", notice.application_id);
    let when = notice.at.format("%Y-%m-%d %H:%M UTC").to_string();
    let version = notice.version.clone().unwrap_or_default();
    let text_sentence = notice.sentence(&notice.application, &version, &notice.actor);
    let error_text = notice
        .error
        .as_deref()
        .map(|error| format!("\nError: {error}\n"))
        .unwrap_or_default();
    let text = format!(
        "{product}\n\n{status}\n\n{text_sentence}\n{error_text}\n{when}\n\nGo to {product}: {link}\n\n\
         If you do not wish to receive further email notifications from {product}, you can \
         unsubscribe here: {unsubscribe_url}\n",
        status = notice.status(),
    );

    let strong = format!("<strong>{}</strong>", escape(&notice.application));
    let html_sentence = notice.sentence(&strong, &escape(&version), &escape(&notice.actor));
    let error_html = notice
        .error
        .as_deref()
        .map(|error| {
            format!(
                r#"<p style="margin:0 0 16px;color:#b91c1c">Error: {}</p>"#,
                escape(error)
            )
        })
        .unwrap_or_default();
    let colour = match notice.kind {
        EventKind::JobFailed => "#b91c1c",
        EventKind::JobStopped => "#b45309",
        _ => "#15803d",
    };
    let body = format!(
        "<p style=\"margin:0 0 16px\">{html_sentence}</p>\n{error_html}<p style=\"margin:0 0 24px;color:#475569\">{when}</p>"
    );
    let html = html_page(
        &Page {
            product,
            heading: notice.status(),
            colour,
            button: (&link, &format!("Go to {product}")),
        },
        &body,
        &format!(
            "If you do not wish to receive further email notifications from {}, you can \
             <a href=\"{}\" style=\"color:#1d4ed8\">unsubscribe here</a>.",
            escape(product),
            escape(unsubscribe_url)
        ),
    );
    Composed {
        subject: notice.subject(product),
        text,
        html,
    }
}

/// What frames a mail's HTML part: the product heading it, a coloured status line, and one
/// button.
pub struct Page<'a> {
    pub product: &'a str,
    /// Plain text (escaped here).
    pub heading: &'a str,
    pub colour: &'a str,
    /// The button's link and label (plain text, escaped here).
    pub button: (&'a str, &'a str),
}

/// The HTML part of a mail: `body` and `footer` are HTML already escaped by the caller.
pub fn html_page(page: &Page<'_>, body: &str, footer: &str) -> String {
    format!(
        r#"<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{product}</title></head>
<body style="margin:0;background:#f1f5f9;font-family:Arial,Helvetica,sans-serif;color:#0f172a">
<table role="presentation" width="100%" cellpadding="0" cellspacing="0"><tr><td align="center" style="padding:24px">
<table role="presentation" width="560" cellpadding="0" cellspacing="0" style="background:#ffffff;border-radius:8px">
<tr><td style="background:#0f172a;color:#ffffff;padding:16px 24px;font-size:18px;font-weight:bold;border-radius:8px 8px 0 0">{product}</td></tr>
<tr><td style="padding:24px">
<p style="margin:0 0 16px;font-size:22px;font-weight:bold;color:{colour}">{heading}</p>
{body}
<p style="margin:0 0 24px"><a href="{link}" style="background:#1d4ed8;color:#ffffff;padding:12px 20px;border-radius:4px;text-decoration:none;font-weight:bold">{label}</a></p>
<p style="margin:0;font-size:12px;color:#475569">{footer}</p>
</td></tr></table></td></tr></table>
</body></html>
"#,
        product = escape(page.product),
        colour = page.colour,
        heading = escape(page.heading),
        link = escape(page.button.0),
        label = escape(page.button.1),
    )
}

/// Escapes text for HTML element content and attribute values.
pub fn escape(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => escaped.push_str("&amp;"),
            '<' => escaped.push_str("&lt;"),
            '>' => escaped.push_str("&gt;"),
            '"' => escaped.push_str("&quot;"),
            '\'' => escaped.push_str("&#39;"),
            other => escaped.push(other),
        }
    }
    escaped
}

/// Control characters (line breaks above all) become spaces.
fn one_line(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn notice(kind: EventKind) -> Notice {
        Notice {
            kind,
            work: Some("Analyze"),
            application_id: 7,
            application: "MEUDON".into(),
            version: Some("1.0".into()),
            actor: "jdoe".into(),
            error: None,
            at: DateTime::parse_from_rfc3339("2026-11-26T14:02:00Z")
                .unwrap()
                .with_timezone(&Utc),
        }
    }

    #[test]
    fn a_completed_analysis_reads_like_the_product_example() {
        let mail = compose(
            "AIP Console",
            "https://console.example",
            &notice(EventKind::JobSucceeded),
            "https://console.example/unsubscribe/7.abc",
        );
        assert_eq!(mail.subject, "[AIP Console] Analyze completed: MEUDON");
        for part in [&mail.text, &mail.html] {
            assert!(part.contains("Success!"));
            assert!(part.contains("2026-11-26 14:02 UTC"));
            assert!(part.contains("https://console.example/applications/7"));
            assert!(part.contains("Go to AIP Console"));
            assert!(part.contains(
                "If you do not wish to receive further email notifications from AIP Console, you can"
            ));
            assert!(part.contains("https://console.example/unsubscribe/7.abc"));
        }
        assert!(
            mail.text
                .contains("Analyze has been successfully completed for application: MEUDON")
        );
        assert!(mail.html.contains(
            "Analyze has been successfully completed for application: <strong>MEUDON</strong>"
        ));
    }

    #[test]
    fn a_job_mail_names_the_kind_of_job() {
        let mut compared = notice(EventKind::JobSucceeded);
        compared.work = Some("Compare");
        let mail = compose("AIP Console", "http://h", &compared, "http://h/u");
        assert_eq!(mail.subject, "[AIP Console] Compare completed: MEUDON");
        assert!(
            mail.text
                .contains("Compare has been successfully completed for application: MEUDON")
        );
    }

    #[test]
    fn every_event_has_its_status_line() {
        for (kind, status) in [
            (EventKind::JobFailed, "Failed"),
            (EventKind::JobStopped, "Stopped"),
            (EventKind::ApplicationCreated, "New application"),
            (EventKind::VersionCreated, "New version"),
        ] {
            let mail = compose("P", "http://h", &notice(kind), "http://h/u");
            assert!(mail.text.contains(status), "{kind:?}");
        }
        let mut failed = notice(EventKind::JobFailed);
        failed.error = Some("The archive is corrupt.".into());
        let mail = compose("P", "http://h", &failed, "http://h/u");
        assert!(mail.text.contains("Error: The archive is corrupt."));
        assert!(mail.html.contains("Error: The archive is corrupt."));
    }

    #[test]
    fn user_strings_are_escaped_and_stay_on_one_line() {
        let mut hostile = notice(EventKind::VersionCreated);
        hostile.application = "<script>alert(1)</script>\r\nBcc: x@evil.example".into();
        hostile.version = Some("\"><img src=x>".into());
        hostile.actor = "a&b".into();
        let mail = compose("P", "http://h", &hostile, "http://h/u");
        assert!(!mail.html.contains("<script>"));
        assert!(!mail.html.contains("<img"));
        assert!(mail.html.contains("&lt;script&gt;"));
        assert!(mail.html.contains("a&amp;b"));
        assert!(!mail.subject.contains('\n') && !mail.subject.contains('\r'));
    }
}

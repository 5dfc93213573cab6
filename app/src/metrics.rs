//! What the console counts, for the Prometheus endpoint the server serves on
//! `CONSOLE_METRICS_ADDR`: every name, label and description is here, and the features call the
//! small functions below. Until the server installs a recorder, recording does nothing.
//!
//! Counters are per instance (Prometheus sums them); the gauges of queued and running jobs and
//! of due and failed mail are read from the database when scraped, so every instance reports
//! the same, cluster-wide values (aggregate them with `max`, not `sum`).

use metrics::{Unit, counter, describe_counter, describe_gauge, describe_histogram, gauge};

pub const HTTP_REQUESTS: &str = "console_http_requests_total";
pub const HTTP_DURATION: &str = "console_http_request_duration_seconds";
const AUTH_FAILURES: &str = "console_auth_failures_total";
const THROTTLED: &str = "console_throttled_requests_total";
const SLOW_CLIENTS: &str = "console_slow_clients_total";
const BUSY: &str = "console_busy_refusals_total";
const JOBS_STARTED: &str = "console_jobs_started_total";
const JOBS_FINISHED: &str = "console_jobs_finished_total";
const JOBS: &str = "console_jobs";
const MAIL_SENT: &str = "console_mail_sent_total";
const MAIL_FAILED_ATTEMPTS: &str = "console_mail_failed_attempts_total";
const MAIL: &str = "console_mail";

/// Registers the descriptions (once, at start).
pub fn describe() {
    describe_counter!(
        HTTP_REQUESTS,
        "Requests answered, by method, route template and status."
    );
    describe_histogram!(
        HTTP_DURATION,
        Unit::Seconds,
        "Time to the response's head, by method, route template and status."
    );
    describe_counter!(
        AUTH_FAILURES,
        "Failed authentications, by kind: api_key, password (REST Basic), malformed, sign_in."
    );
    describe_counter!(
        THROTTLED,
        "Requests refused with 429 by the authentication throttles, by kind: rest, sign_in."
    );
    describe_counter!(
        SLOW_CLIENTS,
        "Connections closed or requests refused for a slow or idle client, by reason: head, \
         body (answered 408), idle, response not read."
    );
    describe_counter!(
        BUSY,
        "Requests refused with 503 or 429 because a shared resource or the asker's share of it \
         was taken, by resource: password_check, upload."
    );
    describe_counter!(JOBS_STARTED, "Jobs this instance started running.");
    describe_counter!(
        JOBS_FINISHED,
        "Jobs that ended, by outcome: succeeded, failed, stopped."
    );
    describe_gauge!(
        JOBS,
        "Jobs queued or running now, by status (whole cluster)."
    );
    describe_counter!(MAIL_SENT, "Notification mails the mail server accepted.");
    describe_counter!(
        MAIL_FAILED_ATTEMPTS,
        "Deliveries that failed (retried later, or given up on after the last attempt)."
    );
    describe_gauge!(
        MAIL,
        "Mail by state (whole cluster): due (waiting to be sent now), failed (given up on)."
    );
}

pub fn auth_failure(kind: &'static str) {
    counter!(AUTH_FAILURES, "kind" => kind).increment(1);
}

pub fn throttled(kind: &'static str) {
    counter!(THROTTLED, "kind" => kind).increment(1);
}

pub fn slow_client(reason: &'static str) {
    counter!(SLOW_CLIENTS, "reason" => reason).increment(1);
}

pub fn busy(resource: &'static str) {
    counter!(BUSY, "resource" => resource).increment(1);
}

pub fn job_started() {
    counter!(JOBS_STARTED).increment(1);
}

pub fn job_finished(outcome: &'static str) {
    counter!(JOBS_FINISHED, "outcome" => outcome).increment(1);
}

pub fn mail_sent(count: usize) {
    counter!(MAIL_SENT).increment(count as u64);
}

pub fn mail_failed_attempt() {
    counter!(MAIL_FAILED_ATTEMPTS).increment(1);
}

/// The cluster-wide gauges, as just read from the database.
pub fn set_backlog(queued_jobs: u64, running_jobs: u64, due_mail: u64, failed_mail: u64) {
    gauge!(JOBS, "status" => "queued").set(queued_jobs as f64);
    gauge!(JOBS, "status" => "running").set(running_jobs as f64);
    gauge!(MAIL, "state" => "due").set(due_mail as f64);
    gauge!(MAIL, "state" => "failed").set(failed_mail as f64);
}

//! Integration tests: the real server on port 0, driven over HTTP, on SQLite and PostgreSQL.
//! One binary (modules below) so it links once.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a test should fail loudly on anything unexpected"
)]

mod archive_store;
mod archives;
mod helpers;
mod openapi;
mod smtp;

mod abuse;
mod account_admin;
mod accounts;
mod api_keys;
mod applications;
mod connections;
mod email_verification;
mod files;
mod jobs;
mod mail;
mod mail_server;
mod malformed;
mod metrics;
mod pages;
mod paging;
mod profile;
mod proxies;
mod shutdown;

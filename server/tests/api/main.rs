//! Integration tests: the real server on port 0, driven over HTTP, on SQLite and PostgreSQL.
//! One binary (modules below) so it links once.

mod helpers;

mod accounts;
mod api_keys;
mod profile;

//! Table definitions. Each entity is one table; relations are by foreign key with cascade delete.

pub mod api_key;
pub mod application;
pub mod event;
pub mod job;
pub mod mail_server;
pub mod outbox;
pub mod security_event;
pub mod session;
pub mod user;
pub mod version;

//! The console's server: settings, start-up wiring, sessions, CSRF defence, static files and the
//! REST API. `main.rs` and the tests build the same [`startup::Application`].

mod body_limit;
mod client_addr;
pub mod command;
pub mod connections;
mod csrf;
mod form_flash;
mod health;
mod metrics;
mod render_deadline;
mod request_guard;
mod rest;
mod security_headers;
mod server_fn_status;
pub mod settings;
pub mod startup;
mod static_files;

pub mod telemetry;
mod unsubscribe;

//! Logging: `tracing` to stderr, filtered by `RUST_LOG` (default `info`), as text or — with
//! `CONSOLE_LOG_FORMAT=json` — one JSON object per line for a log collector.

use tracing_subscriber::EnvFilter;

/// Without `RUST_LOG`: our own and most crates' `info`. The session crates open an `info` span
/// for every request and every session read, which the log never shows but every request paid
/// for (the subscriber records each span); their warnings and errors still come through.
const DEFAULT: &str = "info,sqlx=warn,sea_orm=warn,tower_sessions=warn,tower_sessions_core=warn";

/// Installs the global subscriber once; later calls (as in tests) are ignored. Refuses a
/// `CONSOLE_LOG_FORMAT` it does not know.
pub fn init() -> Result<(), String> {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(DEFAULT));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let format = std::env::var("CONSOLE_LOG_FORMAT").unwrap_or_default();
    let _ = match format.trim() {
        "" | "text" => builder
            // Colours only for a person at a terminal, never in a log file.
            .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
            .try_init(),
        "json" => builder
            .json()
            .flatten_event(true)
            .with_current_span(false)
            .try_init(),
        other => {
            return Err(format!(
                "CONSOLE_LOG_FORMAT must be text or json, not {other:?}"
            ));
        }
    };
    Ok(())
}

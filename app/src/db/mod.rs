//! Persistence: the SeaORM entities and the schema migrations (server only).
//!
//! One connection pool per process, opened in [`connect`] and shared through `AppState`.
//! SQLite and PostgreSQL are both compiled in; `DATABASE_URL` chooses at run time.

pub mod entity;
pub mod migration;

use std::time::Duration;

use sea_orm::sqlx::sqlite::{SqliteJournalMode, SqliteSynchronous};
use sea_orm::{ConnectOptions, Database, DatabaseConnection, DbErr};
use sea_orm_migration::MigratorTrait;

/// Opens the pool for `url` and brings the schema up to date.
///
/// SQLite databases are created if missing and run in WAL mode so readers never wait on the writer.
pub async fn connect(url: &str) -> Result<DatabaseConnection, DbErr> {
    let mut options = ConnectOptions::new(url.to_owned());
    options
        .max_connections(if url.starts_with("sqlite:") { 8 } else { 16 })
        .min_connections(1)
        .sqlx_logging(false)
        // Per connection: every pooled connection gets the same settings.
        .map_sqlx_sqlite_opts(|sqlite| {
            sqlite
                .journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Normal)
                .foreign_keys(true)
                .busy_timeout(Duration::from_secs(5))
        });
    let db = Database::connect(options).await?;
    migration::Migrator::up(&db, None).await?;
    Ok(db)
}

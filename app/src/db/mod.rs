//! Persistence: the SeaORM entities and the schema migrations (server only).
//!
//! One connection pool per process, opened in [`connect`] and shared through `AppState`.
//! SQLite and PostgreSQL are both compiled in; `DATABASE_URL` chooses at run time.

pub mod entity;
pub mod migration;

use std::time::Duration;

use sea_orm::sea_query::{Expr, SelectStatement};
use sea_orm::sqlx::sqlite::{SqliteJournalMode, SqliteSynchronous};
use sea_orm::{ColumnTrait, ConnectOptions, Database, DatabaseConnection, DbBackend, DbErr};
use sea_orm_migration::MigratorTrait;

/// Connects to a database already migrated by this version, without migrating it (for the
/// operator's commands, which may run beside a server of another version): a database that
/// needs migrations is refused.
pub async fn connect_migrated(url: &str) -> Result<DatabaseConnection, DbErr> {
    use sea_orm_migration::MigratorTrait;
    let db = Database::connect(options(url, 1, true)).await?;
    let pending = migration::Migrator::get_pending_migrations(&db).await?;
    if !pending.is_empty() {
        db.close().await?;
        return Err(DbErr::Custom(format!(
            "the database is {} migrations behind this version: start this version's server \
             once first",
            pending.len()
        )));
    }
    Ok(db)
}

/// Brings the schema up to date and opens the pool for `url`.
///
/// SQLite databases are created if missing and run in WAL mode so readers never wait on the writer.
pub async fn connect(url: &str) -> Result<DatabaseConnection, DbErr> {
    migrate(url, None).await?;
    let pool_size = if url.starts_with("sqlite:") { 8 } else { 16 };
    Database::connect(options(url, pool_size, true)).await
}

/// Applies the pending migrations to the database at `url`: all of them, or the next `steps`.
///
/// On SQLite they run on a connection of their own with foreign-key enforcement off: changing a
/// table's constraints there means rebuilding the table, which must not cascade into the tables
/// that refer to it, and the setting cannot change inside a transaction. Each rebuild checks
/// the keys itself (`PRAGMA foreign_key_check`). PostgreSQL runs them in one transaction,
/// holding an advisory lock: instances started together on a new database migrate one after the
/// other (the later ones find nothing left to do).
pub async fn migrate(url: &str, steps: Option<u32>) -> Result<(), DbErr> {
    use sea_orm::ConnectionTrait;
    // One connection: the lock is the session's, and the migrations run in that session.
    let db = Database::connect(options(url, 1, false)).await?;
    let postgres = db.get_database_backend() == DbBackend::Postgres;
    if postgres {
        db.execute_unprepared(&format!("SELECT pg_advisory_lock({MIGRATION_LOCK})"))
            .await?;
    }
    let migrated = migration::Migrator::up(&db, steps).await;
    if postgres {
        db.execute_unprepared(&format!("SELECT pg_advisory_unlock({MIGRATION_LOCK})"))
            .await?;
    }
    db.close().await?;
    migrated
}

/// The advisory lock migrations hold on PostgreSQL (any constant the database's other users
/// do not take).
const MIGRATION_LOCK: i64 = 0x0063_6f6e_736f_6c65;

/// How long a pooled connection may sit unused before it is pinged on its next checkout.
const IDLE_BEFORE_PING: Duration = Duration::from_secs(30);

fn options(url: &str, pool_size: u32, foreign_keys: bool) -> ConnectOptions {
    let mut options = ConnectOptions::new(url.to_owned());
    options
        .max_connections(pool_size)
        .min_connections(1)
        .sqlx_logging(false)
        // A connection is checked before it is handed out only after it sat idle long enough for
        // a server, proxy or firewall to have dropped it. The default, a ping on every checkout,
        // doubled the cost of each query: on SQLite every statement is a round trip to the
        // connection's worker thread, and the ping is one more (scripts/bench/request_path.sh).
        .test_before_acquire_if_idle_for(IDLE_BEFORE_PING)
        // Per connection: every pooled connection gets the same settings.
        .map_sqlx_sqlite_opts(move |sqlite| {
            sqlite
                .journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Normal)
                .foreign_keys(foreign_keys)
                .busy_timeout(Duration::from_secs(5))
        });
    options
}

/// `column IN (claim)`, where `claim` is a `SELECT … LIMIT n FOR UPDATE SKIP LOCKED` that must
/// run exactly once, for an `UPDATE` that claims rows (jobs, mail).
///
/// On PostgreSQL, `UPDATE … WHERE id IN (SELECT … LIMIT n FOR UPDATE SKIP LOCKED)` may be planned
/// as a nested-loop semi-join that runs the sub-select again for every candidate row; each run
/// skips the rows the runs before it just locked, so the statement claims every row, not `n`.
/// `= ANY(ARRAY(…))` makes the sub-select an init-plan, run once. SQLite has neither arrays nor
/// row locks (one writer at a time, sub-select run once), so there it stays `IN`.
pub fn in_claim(backend: DbBackend, column: impl ColumnTrait, claim: SelectStatement) -> Expr {
    match backend {
        DbBackend::Postgres => Expr::cust_with_exprs(
            "$1 = ANY(ARRAY $2)",
            [
                Expr::col(column),
                Expr::SubQuery(None, Box::new(claim.into())),
            ],
        ),
        _ => column.in_subquery(claim),
    }
}

#[cfg(test)]
mod tests {
    use sea_orm::sea_query::{LockBehavior, LockType, Query};
    use sea_orm::{EntityTrait, QueryFilter, QueryTrait};

    use super::*;
    use crate::db::entity::job;

    #[test]
    fn a_claim_is_an_init_plan_on_postgres_and_a_subquery_on_sqlite() {
        let claim = Query::select()
            .column(job::Column::Id)
            .from(job::Entity)
            .limit(1)
            .lock_with_behavior(LockType::Update, LockBehavior::SkipLocked)
            .to_owned();
        let sql = |backend| {
            job::Entity::update_many()
                .col_expr(job::Column::Progress, Expr::value(0))
                .filter(in_claim(backend, job::Column::Id, claim.clone()))
                .build(backend)
                .to_string()
        };
        let postgres = sql(DbBackend::Postgres);
        assert!(
            postgres.contains(r#""id" = ANY(ARRAY (SELECT "id" FROM "jobs" LIMIT 1"#)
                && postgres.ends_with("FOR UPDATE SKIP LOCKED))"),
            "{postgres}"
        );
        let sqlite = sql(DbBackend::Sqlite);
        assert!(
            sqlite.contains(r#""id" IN (SELECT "id" FROM "jobs" LIMIT"#),
            "{sqlite}"
        );
    }
}

//! `sessions.user_id`: the account a browser session is signed in to, beside the session's data,
//! so that a signed-in request loads its session and its account in one query (a join), and an
//! account's sessions can be found without reading every session's data. Filled from the data of
//! the sessions already there; empty for a session that is not signed in.
//!
//! No foreign key: SQLite cannot add one to an existing table without rebuilding it, and a session
//! whose account is gone reads as signed out anyway (the join finds no account).

use sea_orm::{ConnectionTrait, DbBackend};
use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Sessions {
    Table,
    UserId,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Sessions::Table)
                    .add_column(ColumnDef::new(Sessions::UserId).big_integer().null())
                    .to_owned(),
            )
            .await?;
        let fill = match manager.get_database_backend() {
            DbBackend::Postgres => {
                "UPDATE sessions SET user_id = (data::jsonb ->> 'user_id')::bigint \
                 WHERE data::jsonb ? 'user_id'"
            }
            _ => {
                "UPDATE sessions SET user_id = json_extract(data, '$.user_id') \
                 WHERE json_extract(data, '$.user_id') IS NOT NULL"
            }
        };
        manager.get_connection().execute_unprepared(fill).await?;
        manager
            .create_index(
                Index::create()
                    .name("sessions_by_user")
                    .table(Sessions::Table)
                    .col(Sessions::UserId)
                    .to_owned(),
            )
            .await
    }
}

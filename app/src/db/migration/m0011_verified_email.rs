//! Verified email addresses, and mail about the account itself.
//!
//! - `users.email_verified`: whether the address was proven to be the user's. Addresses stored
//!   before this (and those an administrator enters) count as verified, so nobody silently loses
//!   mail on upgrade.
//! - `users.email_token_issued`: when the one verification link that works was issued (Unix
//!   seconds); cleared once it is used.
//! - `outbox.kind`: `notification` (of an event, as before), `verification` or `security`; the
//!   last two belong to no event, so `outbox.event_id` may now be empty. SQLite cannot drop a
//!   `NOT NULL`: the table is rebuilt (as in `m0006`), PostgreSQL alters the column.

use sea_orm::{ConnectionTrait, DbBackend};
use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Users {
    Table,
    Id,
    EmailVerified,
    EmailTokenIssued,
}

#[derive(DeriveIden)]
enum Events {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum Outbox {
    Table,
    Id,
    EventId,
    UserId,
    ToAddress,
    Subject,
    TextBody,
    HtmlBody,
    UnsubscribeUrl,
    Status,
    Attempts,
    NextAttemptAt,
    LockedUntil,
    LastError,
    CreatedAt,
    SentAt,
    Kind,
}

/// The rebuilt `outbox` before it takes the name.
#[derive(DeriveIden)]
struct OutboxNew;

const COLUMNS: &str = "id, event_id, user_id, to_address, subject, text_body, html_body, \
     unsubscribe_url, status, attempts, next_attempt_at, locked_until, last_error, created_at, \
     sent_at";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        for column in [
            boolean(Users::EmailVerified).default(true).to_owned(),
            big_integer_null(Users::EmailTokenIssued).to_owned(),
        ] {
            manager
                .alter_table(
                    Table::alter()
                        .table(Users::Table)
                        .add_column(column)
                        .to_owned(),
                )
                .await?;
        }
        match manager.get_database_backend() {
            DbBackend::Sqlite => {
                manager
                    .create_table(
                        Table::create()
                            .table(OutboxNew)
                            .col(big_integer(Outbox::Id).auto_increment().primary_key())
                            .col(big_integer_null(Outbox::EventId))
                            .col(big_integer(Outbox::UserId))
                            .col(string_len(Outbox::ToAddress, 254))
                            .col(string_len(Outbox::Subject, 400))
                            .col(text(Outbox::TextBody))
                            .col(text(Outbox::HtmlBody))
                            .col(string_len(Outbox::UnsubscribeUrl, 1000))
                            .col(string_len(Outbox::Status, 16))
                            .col(integer(Outbox::Attempts))
                            .col(timestamp_with_time_zone(Outbox::NextAttemptAt))
                            .col(timestamp_with_time_zone_null(Outbox::LockedUntil))
                            .col(text_null(Outbox::LastError))
                            .col(timestamp_with_time_zone(Outbox::CreatedAt))
                            .col(timestamp_with_time_zone_null(Outbox::SentAt))
                            .col(string_len(Outbox::Kind, 16).default("notification"))
                            .foreign_key(
                                ForeignKey::create()
                                    .from(OutboxNew, Outbox::EventId)
                                    .to(Events::Table, Events::Id)
                                    .on_delete(ForeignKeyAction::Cascade),
                            )
                            .foreign_key(
                                ForeignKey::create()
                                    .from(OutboxNew, Outbox::UserId)
                                    .to(Users::Table, Users::Id)
                                    .on_delete(ForeignKeyAction::Cascade),
                            )
                            .to_owned(),
                    )
                    .await?;
                db.execute_unprepared(&format!(
                    "INSERT INTO outbox_new ({COLUMNS}) SELECT {COLUMNS} FROM outbox"
                ))
                .await?;
                manager
                    .drop_table(Table::drop().table(Outbox::Table).to_owned())
                    .await?;
                manager
                    .rename_table(Table::rename().table(OutboxNew, Outbox::Table).to_owned())
                    .await?;
                let broken = db
                    .query_all_raw(sea_orm::Statement::from_string(
                        DbBackend::Sqlite,
                        "PRAGMA foreign_key_check",
                    ))
                    .await?;
                if !broken.is_empty() {
                    return Err(DbErr::Migration(format!(
                        "rebuilding outbox broke {} foreign keys",
                        broken.len()
                    )));
                }
                // The old table's indexes went with it.
                for index in [
                    Index::create()
                        .name("outbox_due")
                        .table(Outbox::Table)
                        .col(Outbox::Status)
                        .col(Outbox::NextAttemptAt)
                        .to_owned(),
                    Index::create()
                        .name("outbox_by_user_time")
                        .table(Outbox::Table)
                        .col(Outbox::UserId)
                        .col(Outbox::CreatedAt)
                        .to_owned(),
                ] {
                    manager.create_index(index).await?;
                }
            }
            _ => {
                db.execute_unprepared("ALTER TABLE outbox ALTER COLUMN event_id DROP NOT NULL")
                    .await?;
                manager
                    .alter_table(
                        Table::alter()
                            .table(Outbox::Table)
                            .add_column(string_len(Outbox::Kind, 16).default("notification"))
                            .to_owned(),
                    )
                    .await?;
            }
        }
        Ok(())
    }
}

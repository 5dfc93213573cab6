//! The mail outbox: one row per notification mail, written in the transaction of the event it
//! announces, delivered (and retried) by a background worker.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Users {
    Table,
    Id,
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
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Outbox::Table)
                    .if_not_exists()
                    .col(big_integer(Outbox::Id).auto_increment().primary_key())
                    .col(big_integer(Outbox::EventId))
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
                    .foreign_key(
                        ForeignKey::create()
                            .from(Outbox::Table, Outbox::EventId)
                            .to(Events::Table, Events::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(Outbox::Table, Outbox::UserId)
                            .to(Users::Table, Users::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        // The worker looks for due pending mail.
        manager
            .create_index(
                Index::create()
                    .name("outbox_due")
                    .table(Outbox::Table)
                    .col(Outbox::Status)
                    .col(Outbox::NextAttemptAt)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(Outbox::Table).to_owned())
            .await
    }
}

//! The mail server an administrator configures: one row (id 1), read by every instance on each
//! delivery round, so a change takes effect without a restart.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum MailServer {
    Table,
    Id,
    Host,
    Port,
    Security,
    Username,
    SealedPassword,
    Sender,
    PublicUrl,
    UpdatedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(MailServer::Table)
                    .if_not_exists()
                    .col(integer(MailServer::Id).primary_key())
                    .col(string_len(MailServer::Host, 253))
                    .col(integer(MailServer::Port))
                    .col(string_len(MailServer::Security, 16))
                    .col(string_len_null(MailServer::Username, 254))
                    .col(text_null(MailServer::SealedPassword))
                    .col(string_len_null(MailServer::Sender, 320))
                    .col(string_len_null(MailServer::PublicUrl, 1000))
                    .col(timestamp_with_time_zone(MailServer::UpdatedAt))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(MailServer::Table).to_owned())
            .await
    }
}

//! API keys (one per user, digest only) and their audit trail.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Users {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum ApiKeys {
    Table,
    Id,
    UserId,
    Prefix,
    Digest,
    CreatedAt,
    LastUsedAt,
    LastUsedIp,
}

#[derive(DeriveIden)]
enum ApiKeyEvents {
    Table,
    Id,
    UserId,
    Action,
    At,
    Ip,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(ApiKeys::Table)
                    .if_not_exists()
                    .col(big_integer(ApiKeys::Id).auto_increment().primary_key())
                    .col(big_integer_uniq(ApiKeys::UserId))
                    .col(string_len_uniq(ApiKeys::Prefix, 8))
                    .col(binary_len(ApiKeys::Digest, 32))
                    .col(timestamp_with_time_zone(ApiKeys::CreatedAt))
                    .col(timestamp_with_time_zone_null(ApiKeys::LastUsedAt))
                    .col(string_len_null(ApiKeys::LastUsedIp, 45))
                    .foreign_key(
                        ForeignKey::create()
                            .from(ApiKeys::Table, ApiKeys::UserId)
                            .to(Users::Table, Users::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(ApiKeyEvents::Table)
                    .if_not_exists()
                    .col(big_integer(ApiKeyEvents::Id).auto_increment().primary_key())
                    .col(big_integer(ApiKeyEvents::UserId))
                    .col(string_len(ApiKeyEvents::Action, 16))
                    .col(timestamp_with_time_zone(ApiKeyEvents::At))
                    .col(string_len_null(ApiKeyEvents::Ip, 45))
                    .foreign_key(
                        ForeignKey::create()
                            .from(ApiKeyEvents::Table, ApiKeyEvents::UserId)
                            .to(Users::Table, Users::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(ApiKeyEvents::Table).to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table(ApiKeys::Table).to_owned())
            .await
    }
}

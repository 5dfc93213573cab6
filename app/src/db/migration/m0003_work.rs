//! The console's work: applications, their versions (uploaded source archives), analysis jobs,
//! and the domain events every change of these records.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Users {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum Applications {
    Table,
    Id,
    Name,
    OwnerId,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Versions {
    Table,
    Id,
    ApplicationId,
    Name,
    ArchiveFormat,
    ArchiveBytes,
    ArchiveSha256,
    CreatedBy,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Jobs {
    Table,
    Id,
    ApplicationId,
    VersionId,
    Kind,
    Status,
    Progress,
    Attempts,
    CreatedBy,
    StoppedBy,
    CreatedAt,
    StartedAt,
    FinishedAt,
    HeartbeatAt,
    Error,
    Result,
}

#[derive(DeriveIden)]
enum Events {
    Table,
    Id,
    Kind,
    ApplicationId,
    VersionId,
    JobId,
    ActorId,
    At,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Applications::Table)
                    .if_not_exists()
                    .col(big_integer(Applications::Id).auto_increment().primary_key())
                    .col(string_len_uniq(Applications::Name, 100))
                    .col(big_integer(Applications::OwnerId))
                    .col(timestamp_with_time_zone(Applications::CreatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(Applications::Table, Applications::OwnerId)
                            .to(Users::Table, Users::Id),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(Versions::Table)
                    .if_not_exists()
                    .col(big_integer(Versions::Id).auto_increment().primary_key())
                    .col(big_integer(Versions::ApplicationId))
                    .col(string_len(Versions::Name, 100))
                    .col(string_len(Versions::ArchiveFormat, 8))
                    .col(big_integer(Versions::ArchiveBytes))
                    .col(string_len(Versions::ArchiveSha256, 64))
                    .col(big_integer(Versions::CreatedBy))
                    .col(timestamp_with_time_zone(Versions::CreatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(Versions::Table, Versions::ApplicationId)
                            .to(Applications::Table, Applications::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(Versions::Table, Versions::CreatedBy)
                            .to(Users::Table, Users::Id),
                    )
                    .index(
                        Index::create()
                            .unique()
                            .col(Versions::ApplicationId)
                            .col(Versions::Name),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(Jobs::Table)
                    .if_not_exists()
                    .col(big_integer(Jobs::Id).auto_increment().primary_key())
                    .col(big_integer(Jobs::ApplicationId))
                    .col(big_integer(Jobs::VersionId))
                    .col(string_len(Jobs::Kind, 16))
                    .col(string_len(Jobs::Status, 16))
                    .col(small_integer(Jobs::Progress))
                    .col(integer(Jobs::Attempts))
                    .col(big_integer(Jobs::CreatedBy))
                    .col(big_integer_null(Jobs::StoppedBy))
                    .col(timestamp_with_time_zone(Jobs::CreatedAt))
                    .col(timestamp_with_time_zone_null(Jobs::StartedAt))
                    .col(timestamp_with_time_zone_null(Jobs::FinishedAt))
                    .col(timestamp_with_time_zone_null(Jobs::HeartbeatAt))
                    .col(text_null(Jobs::Error))
                    .col(text_null(Jobs::Result))
                    .foreign_key(
                        ForeignKey::create()
                            .from(Jobs::Table, Jobs::ApplicationId)
                            .to(Applications::Table, Applications::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(Jobs::Table, Jobs::VersionId)
                            .to(Versions::Table, Versions::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(Jobs::Table, Jobs::CreatedBy)
                            .to(Users::Table, Users::Id),
                    )
                    .to_owned(),
            )
            .await?;
        // The runner looks for the oldest queued job and for running jobs gone quiet.
        manager
            .create_index(
                Index::create()
                    .name("jobs_by_status")
                    .table(Jobs::Table)
                    .col(Jobs::Status)
                    .col(Jobs::Id)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("jobs_by_application")
                    .table(Jobs::Table)
                    .col(Jobs::ApplicationId)
                    .col(Jobs::Id)
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(Events::Table)
                    .if_not_exists()
                    .col(big_integer(Events::Id).auto_increment().primary_key())
                    .col(string_len(Events::Kind, 32))
                    .col(big_integer(Events::ApplicationId))
                    .col(big_integer_null(Events::VersionId))
                    .col(big_integer_null(Events::JobId))
                    .col(big_integer_null(Events::ActorId))
                    .col(timestamp_with_time_zone(Events::At))
                    .foreign_key(
                        ForeignKey::create()
                            .from(Events::Table, Events::ApplicationId)
                            .to(Applications::Table, Applications::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(Events::Table, Events::ActorId)
                            .to(Users::Table, Users::Id)
                            .on_delete(ForeignKeyAction::SetNull),
                    )
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in ["events", "jobs", "versions", "applications"] {
            manager
                .drop_table(Table::drop().table(Alias::new(table)).to_owned())
                .await?;
        }
        Ok(())
    }
}

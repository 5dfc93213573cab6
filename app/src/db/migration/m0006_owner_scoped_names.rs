//! Application names are unique per owner, not across the console: two users may both have a
//! "web-shop", and creating one never tells a user that another user's application exists.
//! Also the indexes behind the per-user limits: jobs a user has queued or running (and when
//! their last one started, for taking turns), and the notification mail a user was sent lately.
//!
//! SQLite cannot drop a column's `UNIQUE`; the table is rebuilt (SQLite's documented procedure,
//! with foreign-key enforcement off — see `db::migrate`) and its keys checked afterwards.
//! PostgreSQL drops the constraint.

use sea_orm::{ConnectionTrait, DbBackend};
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
enum Jobs {
    Table,
    CreatedBy,
    Status,
    StartedAt,
}

#[derive(DeriveIden)]
enum Outbox {
    Table,
    UserId,
    CreatedAt,
}

/// The rebuilt `applications` before it takes the name.
#[derive(DeriveIden)]
struct ApplicationsNew;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        match manager.get_database_backend() {
            DbBackend::Sqlite => {
                manager
                    .create_table(
                        Table::create()
                            .table(ApplicationsNew)
                            .col(big_integer(Applications::Id).auto_increment().primary_key())
                            .col(string_len(Applications::Name, 100))
                            .col(big_integer(Applications::OwnerId))
                            .col(timestamp_with_time_zone(Applications::CreatedAt))
                            .foreign_key(
                                ForeignKey::create()
                                    .from(ApplicationsNew, Applications::OwnerId)
                                    .to(Users::Table, Users::Id),
                            )
                            .to_owned(),
                    )
                    .await?;
                db.execute_unprepared(
                    "INSERT INTO applications_new (id, name, owner_id, created_at) \
                     SELECT id, name, owner_id, created_at FROM applications",
                )
                .await?;
                manager
                    .drop_table(Table::drop().table(Applications::Table).to_owned())
                    .await?;
                manager
                    .rename_table(
                        Table::rename()
                            .table(ApplicationsNew, Applications::Table)
                            .to_owned(),
                    )
                    .await?;
                let broken = db
                    .query_all_raw(sea_orm::Statement::from_string(
                        DbBackend::Sqlite,
                        "PRAGMA foreign_key_check",
                    ))
                    .await?;
                if !broken.is_empty() {
                    return Err(DbErr::Migration(format!(
                        "rebuilding applications broke {} foreign keys",
                        broken.len()
                    )));
                }
            }
            _ => {
                db.execute_unprepared(
                    "ALTER TABLE applications DROP CONSTRAINT IF EXISTS applications_name_key",
                )
                .await?;
            }
        }
        let indexes = [
            Index::create()
                .name("applications_by_owner_name")
                .table(Applications::Table)
                .col(Applications::OwnerId)
                .col(Applications::Name)
                .unique()
                .to_owned(),
            Index::create()
                .name("jobs_by_creator_status")
                .table(Jobs::Table)
                .col(Jobs::CreatedBy)
                .col(Jobs::Status)
                .to_owned(),
            Index::create()
                .name("jobs_by_creator_start")
                .table(Jobs::Table)
                .col(Jobs::CreatedBy)
                .col(Jobs::StartedAt)
                .to_owned(),
            Index::create()
                .name("outbox_by_user_time")
                .table(Outbox::Table)
                .col(Outbox::UserId)
                .col(Outbox::CreatedAt)
                .to_owned(),
        ];
        for index in indexes {
            manager.create_index(index).await?;
        }
        Ok(())
    }
}

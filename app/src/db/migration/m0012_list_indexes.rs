//! An index behind the order of every paged list (`crate::paging`), so that a page is a range
//! scan whatever the number of rows behind it:
//!
//! - applications by name for administrators (`name, id`) and by owner then name for everyone
//!   else (`owner_id, name, id`; the unique `owner_id, name` of m0006 cannot order ties by id);
//! - an application's versions, newest first (`application_id, id`);
//! - undelivered mail, newest first within each state (`status, id`).
//!
//! Already there: jobs by application (`jobs_by_application`), security events by user and by
//! kind (m0010), users by username (its unique constraint).

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Applications {
    Table,
    Id,
    OwnerId,
    Name,
}

#[derive(DeriveIden)]
enum Versions {
    Table,
    Id,
    ApplicationId,
}

#[derive(DeriveIden)]
enum Outbox {
    Table,
    Id,
    Status,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let indexes = [
            Index::create()
                .name("applications_by_name")
                .table(Applications::Table)
                .col(Applications::Name)
                .col(Applications::Id)
                .to_owned(),
            Index::create()
                .name("applications_by_owner_name_id")
                .table(Applications::Table)
                .col(Applications::OwnerId)
                .col(Applications::Name)
                .col(Applications::Id)
                .to_owned(),
            Index::create()
                .name("versions_by_application")
                .table(Versions::Table)
                .col(Versions::ApplicationId)
                .col(Versions::Id)
                .to_owned(),
            Index::create()
                .name("outbox_by_status")
                .table(Outbox::Table)
                .col(Outbox::Status)
                .col(Outbox::Id)
                .to_owned(),
        ];
        for index in indexes {
            manager.create_index(index).await?;
        }
        Ok(())
    }
}

//! An index on `versions.created_by`: the storage quota sums the archive bytes of one user's
//! uploads before each upload, which must not read every version.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Versions {
    Table,
    CreatedBy,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_index(
                Index::create()
                    .name("versions_by_uploader")
                    .table(Versions::Table)
                    .col(Versions::CreatedBy)
                    .to_owned(),
            )
            .await
    }
}

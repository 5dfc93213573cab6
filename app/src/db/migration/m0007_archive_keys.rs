//! A version names its archive's object in the archive store (`archive_key`) instead of the
//! object being named after the version's id: an upload streams to the store under a fresh key
//! before its version row exists. Archives stored before keep their place, `<id>.<format>`.

use sea_orm::ConnectionTrait;
use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Versions {
    Table,
    ArchiveKey,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Versions::Table)
                    .add_column(string(Versions::ArchiveKey).default(""))
                    .to_owned(),
            )
            .await?;
        // `<id>.<format>`, where every archive so far was stored (`||` is SQL's concatenation
        // on both databases).
        manager
            .get_connection()
            .execute_unprepared(
                "UPDATE versions SET archive_key = CAST(id AS TEXT) || '.' || archive_format",
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("versions_archive_key")
                    .table(Versions::Table)
                    .col(Versions::ArchiveKey)
                    .to_owned(),
            )
            .await
    }
}

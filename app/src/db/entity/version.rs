//! `versions`: an uploaded source archive of an application. The archive itself is an object in
//! the archive store ([`crate::archives::ArchiveStore`]) under `archive_key`, a name the server
//! chose, never one from user input.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "versions")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub application_id: i64,
    /// Unique within the application.
    pub name: String,
    /// `zip` or `tar.gz`.
    pub archive_format: crate::archives::ArchiveFormat,
    pub archive_bytes: i64,
    /// Hex SHA-256 of the archive as uploaded.
    pub archive_sha256: String,
    /// The archive's object in the archive store.
    pub archive_key: String,
    pub created_by: i64,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

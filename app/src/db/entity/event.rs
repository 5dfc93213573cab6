//! `events`: one row per change of the console's work (application created, version created,
//! job succeeded / failed / stopped), written in the same transaction as the change.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "events")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub kind: crate::events::EventKind,
    pub application_id: i64,
    pub version_id: Option<i64>,
    pub job_id: Option<i64>,
    /// Who triggered the change (the job's starter for a job that finished by itself).
    pub actor_id: Option<i64>,
    pub at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

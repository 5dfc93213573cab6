//! `jobs`: background work on a version. Status moves `queued → running → succeeded | failed`,
//! or to `stopped` from either of the first two; finished jobs never change again.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "jobs")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub application_id: i64,
    pub version_id: i64,
    pub kind: crate::applications::jobs::JobKind,
    pub status: crate::applications::jobs::JobStatus,
    /// 0–100.
    pub progress: i16,
    /// How many times a runner has started it (a restart resumes a job a limited number of times).
    pub attempts: i32,
    pub created_by: i64,
    pub stopped_by: Option<i64>,
    pub created_at: DateTimeUtc,
    pub started_at: Option<DateTimeUtc>,
    pub finished_at: Option<DateTimeUtc>,
    /// Written while the job runs; a running job whose heartbeat is old lost its runner.
    pub heartbeat_at: Option<DateTimeUtc>,
    pub error: Option<String>,
    /// The analysis report as JSON.
    pub result: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

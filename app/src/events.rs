//! Domain events: one row in `events` per change of the console's work, written with
//! [`insert`] inside the transaction that makes the change — so an event exists exactly when
//! its change does. This module depends on nothing but the database; notifications are built
//! from these rows by the mail outbox, which records them ([`crate::mail::ssr::outbox::record`]).

use chrono::Utc;
use sea_orm::{ConnectionTrait, EntityTrait, Set};

use crate::db::entity::event;
use crate::error::AppError;

/// What happened. Stored in snake case (`job_succeeded`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, sea_orm::EnumIter, sea_orm::DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "Text", rename_all = "snake_case")]
pub enum EventKind {
    ApplicationCreated,
    VersionCreated,
    JobSucceeded,
    JobFailed,
    JobStopped,
}

impl EventKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::ApplicationCreated => "application_created",
            Self::VersionCreated => "version_created",
            Self::JobSucceeded => "job_succeeded",
            Self::JobFailed => "job_failed",
            Self::JobStopped => "job_stopped",
        }
    }
}

/// One change, and who triggered it.
#[derive(Clone, Copy, Debug)]
pub struct Event {
    pub kind: EventKind,
    pub application_id: i64,
    pub version_id: Option<i64>,
    pub job_id: Option<i64>,
    pub actor_id: Option<i64>,
    /// For job events, the work as the job's kind names it ("Analyze"): notifications say it.
    /// Not stored; the kind is on the job's row.
    pub work: Option<&'static str>,
}

/// Records `event`; returns its id. Call it with the transaction that makes the change.
/// Features record events through [`crate::mail::ssr::outbox::record`], which also queues
/// the event's mail.
pub async fn insert(txn: &impl ConnectionTrait, event: &Event) -> Result<i64, AppError> {
    let row = event::Entity::insert(event::ActiveModel {
        kind: Set(event.kind),
        application_id: Set(event.application_id),
        version_id: Set(event.version_id),
        job_id: Set(event.job_id),
        actor_id: Set(event.actor_id),
        at: Set(Utc::now()),
        ..Default::default()
    })
    .exec_with_returning(txn)
    .await?;
    Ok(row.id)
}

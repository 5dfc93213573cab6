//! Domain events: one row in `events` per change of the console's work, written with
//! [`record`] inside the transaction that makes the change — so an event exists exactly when
//! its change does. Notifications are built from these rows.

use chrono::Utc;
use sea_orm::{ConnectionTrait, EntityTrait, Set};

use crate::db::entity::event;
use crate::error::AppError;
use crate::state::AppConfig;

/// What happened.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
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
}

/// Records `event` and prepares its notification mail; call it with the transaction that makes
/// the change, so the change, its event and its mail exist together or not at all.
pub async fn record(
    txn: &impl ConnectionTrait,
    config: &AppConfig,
    event: Event,
) -> Result<(), AppError> {
    let row = event::Entity::insert(event::ActiveModel {
        kind: Set(event.kind.as_str().to_owned()),
        application_id: Set(event.application_id),
        version_id: Set(event.version_id),
        job_id: Set(event.job_id),
        actor_id: Set(event.actor_id),
        at: Set(Utc::now()),
        ..Default::default()
    })
    .exec_with_returning(txn)
    .await?;
    crate::mail::outbox::enqueue(txn, config, row.id, &event).await?;
    Ok(())
}

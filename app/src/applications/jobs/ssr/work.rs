//! What a job of any kind gets from the runner ([`Work`]), how it fails ([`JobError`]) and the
//! one match that sends each kind to its module ([`perform`]).

use std::sync::Arc;

use sea_orm::EntityTrait;

use super::runner::heartbeat;
use crate::applications::jobs::{JobKind, JobReport, analyze, compare};
use crate::archives::{ArchiveError, ArchiveFormat, ArchiveLimits, Control, Source};
use crate::db::entity::{job, version};
use crate::state::AppState;

/// Runs `work`'s job by its kind. A new kind adds its arm here.
pub async fn perform(work: &Work<'_>) -> Result<JobReport, JobError> {
    match work.job.kind {
        JobKind::Analyze => analyze::ssr::run(work).await.map(JobReport::Analysis),
        JobKind::Compare => compare::ssr::run(work).await.map(JobReport::Comparison),
    }
}

/// Why a job did not finish with a report; the `Display` text is what the user reads.
#[derive(Debug, thiserror::Error)]
pub enum JobError {
    #[error(transparent)]
    Archive(#[from] ArchiveError),
    /// The archive of another version than the job's (a comparison's previous version) failed:
    /// the words say which.
    #[error("Version {version}: {source}")]
    OtherVersion {
        version: String,
        source: ArchiveError,
    },
    /// The server could not do the work (its database failed); it will be tried again.
    #[error("The job will be tried again.")]
    Retry,
    #[error("The job failed on the server: {0}.")]
    Internal(String),
}

impl JobError {
    /// Whether the job's row should record this end. Not when it was stopped or taken over
    /// (whoever did that owns the status now), nor when the database failed (recovery queues it
    /// again).
    pub fn is_final(&self) -> bool {
        !matches!(
            self,
            Self::Archive(ArchiveError::Cancelled)
                | Self::OtherVersion {
                    source: ArchiveError::Cancelled,
                    ..
                }
                | Self::Retry
        )
    }

    /// This error as met reading version `name`'s archive rather than the job's own.
    pub fn in_version(self, name: &str) -> Self {
        match self {
            Self::Archive(source) => Self::OtherVersion {
                version: name.to_owned(),
                source,
            },
            other => other,
        }
    }
}

/// One run of one job, as its kind sees it.
pub struct Work<'a> {
    pub state: &'a AppState,
    pub job: &'a job::Model,
    pub(super) control: Arc<Control>,
}

impl Work<'_> {
    /// Version `id`; the job fails if it no longer exists.
    pub async fn version(&self, id: i64) -> Result<version::Model, JobError> {
        version::Entity::find_by_id(id)
            .one(&self.state.db)
            .await
            .map_err(|error| self.database_failed(&error))?
            .ok_or_else(|| ArchiveError::Unreadable("the version no longer exists".into()).into())
    }

    /// Logs a database failure; the job is tried again.
    pub fn database_failed(&self, error: &sea_orm::DbErr) -> JobError {
        tracing::error!(job_id = self.job.id, %error, "a job could not read the database");
        JobError::Retry
    }

    /// `version`'s archive, ready to be read in [`Work::blocking`], and its format, fetched with
    /// heartbeats. An archive missing from the store fails the job; a store that fails otherwise
    /// (unreachable, a connection cut) leaves it to be tried again.
    pub async fn archive(
        &self,
        version: &version::Model,
    ) -> Result<(Source, ArchiveFormat), JobError> {
        let format = version.archive_format;
        let store = &self.state.config.archives;
        let fetched = self.beating(async {
            store
                .source(&version.archive_key, format)
                .await
                .map_err(|error| {
                    tracing::error!(job_id = self.job.id, %error, "a job could not fetch its archive");
                    if error.is_not_found() {
                        ArchiveError::Unreadable("the archive is missing from the archive store".into())
                            .into()
                    } else {
                        JobError::Retry
                    }
                })
        });
        Ok((fetched.await?, format))
    }

    /// What reading an archive accepts.
    pub fn limits(&self) -> ArchiveLimits {
        self.state.jobs.settings().limits.clone()
    }

    /// Runs `work` on the blocking pool, beating the job's heartbeat meanwhile; a stop (or a
    /// takeover noticed by a heartbeat) cancels it through the [`Control`] it gets. When the
    /// instance shuts down the job ends at once as cancelled (the runner hands it back), without
    /// waiting for the work to notice.
    pub async fn blocking<T: Send + 'static>(
        &self,
        work: impl FnOnce(&Control) -> Result<T, ArchiveError> + Send + 'static,
    ) -> Result<T, JobError> {
        let worker = self.control.clone();
        let done = async {
            match tokio::task::spawn_blocking(move || work(&worker)).await {
                Ok(outcome) => outcome.map_err(JobError::from),
                Err(panic) => {
                    tracing::error!(job_id = self.job.id, ?panic, "a job panicked");
                    Err(JobError::Internal("the job crashed".into()))
                }
            }
        };
        self.beating(done).await
    }

    /// Awaits `work` while beating the job's heartbeat; see [`Work::blocking`].
    async fn beating<T>(
        &self,
        work: impl std::future::Future<Output = Result<T, JobError>>,
    ) -> Result<T, JobError> {
        let control = self.control.clone();
        tokio::pin!(work);
        let mut beat = tokio::time::interval(self.state.jobs.settings().heartbeat_every());
        loop {
            tokio::select! {
                outcome = &mut work => return outcome,
                () = self.state.stopping.cancelled() => {
                    control.cancel();
                    return Err(ArchiveError::Cancelled.into());
                }
                _ = beat.tick() => match heartbeat(&self.state.db, self.job, control.progress()).await {
                    Ok(true) => {}
                    Ok(false) => control.cancel(),
                    Err(error) => tracing::warn!(job_id = self.job.id, %error, "heartbeat failed"),
                },
            }
        }
    }
}

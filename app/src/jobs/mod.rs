//! Jobs: background work on an application's version. The one kind today is **analyze**, which
//! inventories the version's source archive (files, lines and bytes per language, the largest
//! files).
//!
//! Pages start and stop jobs through the server functions here and watch them with the
//! [`JobProgress`] island; tools use `/rest/jobs`. Storage, the runner and the analysis itself
//! are in [`ssr`].

mod live;
mod panel;
mod report;
#[cfg(feature = "ssr")]
pub mod ssr;

pub use live::JobProgress;
pub use panel::JobsPanel;
pub use report::ReportTable;

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::error::AppError;

/// Where a job is in its life. `succeeded`, `failed` and `stopped` are final.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum JobStatus {
    Queued,
    Running,
    Succeeded,
    Failed,
    Stopped,
}

impl JobStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Queued => "queued",
            Self::Running => "running",
            Self::Succeeded => "succeeded",
            Self::Failed => "failed",
            Self::Stopped => "stopped",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        [
            Self::Queued,
            Self::Running,
            Self::Succeeded,
            Self::Failed,
            Self::Stopped,
        ]
        .into_iter()
        .find(|status| status.as_str() == value)
    }

    pub fn is_finished(self) -> bool {
        matches!(self, Self::Succeeded | Self::Failed | Self::Stopped)
    }
}

/// The kinds of job the console runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum JobKind {
    /// Inventory of the version's source archive.
    Analyze,
}

impl JobKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Analyze => "analyze",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        (value == "analyze").then_some(Self::Analyze)
    }

    /// How people read it: "Analyze".
    pub fn label(self) -> &'static str {
        match self {
            Self::Analyze => "Analyze",
        }
    }
}

/// A job as pages and REST clients see it. Times are RFC 3339 in UTC.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct JobView {
    pub id: i64,
    pub application_id: i64,
    pub version_id: i64,
    #[serde(rename = "type")]
    pub kind: JobKind,
    pub status: JobStatus,
    /// 0–100.
    pub progress: u8,
    /// Username of who started it.
    pub created_by: String,
    /// Username of who stopped it, for a stopped job.
    pub stopped_by: Option<String>,
    pub created_at: String,
    pub started_at: Option<String>,
    pub finished_at: Option<String>,
    /// Why a failed job failed, in plain words.
    pub error: Option<String>,
    /// The analysis, once the job has succeeded.
    pub result: Option<AnalysisReport>,
}

/// What an analysis found in a source archive.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct AnalysisReport {
    pub files: u64,
    pub lines: u64,
    pub bytes: u64,
    /// Most lines first.
    pub languages: Vec<LanguageStats>,
    /// Largest first, at most ten.
    pub largest_files: Vec<FileStats>,
}

/// Files, lines and bytes of one language (by file extension).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct LanguageStats {
    pub language: String,
    pub files: u64,
    pub lines: u64,
    pub bytes: u64,
}

/// One file of the archive.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct FileStats {
    pub path: String,
    pub bytes: u64,
    pub lines: u64,
}

/// Starts an analysis of `version`; a form post comes back to the application page.
#[server(endpoint = "start_analysis")]
pub async fn start_analysis(application: i64, version: i64) -> Result<JobView, AppError> {
    let state = crate::state::app_state()?;
    let principal = crate::auth::ssr::require_principal().await?;
    let job = ssr::start(
        &state,
        &principal,
        ssr::NewJob {
            application,
            version,
            kind: JobKind::Analyze.as_str().to_owned(),
        },
    )
    .await?;
    crate::http::redirect_plain_form_to(&format!("/applications/{application}#jobs"));
    Ok(job)
}

/// Stops a queued or running job; a form post comes back to the application page.
#[server(endpoint = "stop_job")]
pub async fn stop_job(id: i64) -> Result<JobView, AppError> {
    let state = crate::state::app_state()?;
    let principal = crate::auth::ssr::require_principal().await?;
    let job = ssr::stop(&state, &principal, id).await?;
    crate::http::redirect_plain_form_to(&format!("/applications/{}#jobs", job.application_id));
    Ok(job)
}

/// A job's current state, for the live status on the application page.
#[server(endpoint = "poll_job", input = leptos::server_fn::codec::GetUrl)]
pub async fn poll_job(id: i64) -> Result<JobView, AppError> {
    let state = crate::state::app_state()?;
    let principal = crate::auth::ssr::require_principal().await?;
    ssr::get(&state, &principal, id).await
}

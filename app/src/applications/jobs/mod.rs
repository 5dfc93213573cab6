//! Jobs: background work on an application's version. Each kind of job is one module with its
//! report type, how a page shows the report, and (in its `ssr` part) the work itself:
//! [`analyze`] inventories the version's source archive; [`compare`] compares it with the version
//! uploaded before it.
//!
//! Pages start and stop jobs through the server functions here and watch them with the
//! [`JobProgress`] island; tools use `/rest/jobs`. Storage and the runner, which claims, beats,
//! recovers and finishes jobs of any kind, are in [`ssr`].

pub mod analyze;
pub mod compare;
mod live;
mod page;
mod panel;
#[cfg(feature = "ssr")]
pub mod ssr;

pub use analyze::AnalysisReport;
pub use compare::ComparisonReport;
pub use live::JobProgress;
pub use page::JobPage;
pub use panel::JobsPanel;

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::error::AppError;

/// Where a job is in its life. `succeeded`, `failed` and `stopped` are final. Stored as written.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(
    feature = "ssr",
    derive(utoipa::ToSchema, sea_orm::EnumIter, sea_orm::DeriveActiveEnum),
    sea_orm(rs_type = "String", db_type = "Text", rename_all = "lowercase")
)]
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

/// The kinds of job the console runs. A new kind is a variant here, a module beside
/// [`analyze`] and [`compare`], a variant of [`JobReport`] and the match arms the compiler then
/// asks for (label, report view, the runner's dispatch in [`ssr`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(
    feature = "ssr",
    derive(utoipa::ToSchema, sea_orm::EnumIter, sea_orm::DeriveActiveEnum),
    sea_orm(rs_type = "String", db_type = "Text", rename_all = "lowercase")
)]
#[serde(rename_all = "lowercase")]
pub enum JobKind {
    /// Inventory of the version's source archive.
    Analyze,
    /// The version against the one uploaded just before it.
    Compare,
}

impl JobKind {
    pub const ALL: [Self; 2] = [Self::Analyze, Self::Compare];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Analyze => "analyze",
            Self::Compare => "compare",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|kind| kind.as_str() == value)
    }

    /// How people read it, in pages and mail: "Analyze".
    pub fn label(self) -> &'static str {
        match self {
            Self::Analyze => "Analyze",
            Self::Compare => "Compare",
        }
    }
}

/// A finished job's report: the kind's own report type, stored as JSON.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(untagged)]
pub enum JobReport {
    Analysis(AnalysisReport),
    Comparison(ComparisonReport),
}

impl JobReport {
    /// The report of a `kind` job, from its stored JSON.
    #[cfg(feature = "ssr")]
    pub fn decode(kind: JobKind, json: &str) -> Option<Self> {
        match kind {
            JobKind::Analyze => serde_json::from_str(json).ok().map(Self::Analysis),
            JobKind::Compare => serde_json::from_str(json).ok().map(Self::Comparison),
        }
    }

    /// The few figures of the report a list of jobs shows.
    pub fn totals(&self) -> String {
        match self {
            Self::Analysis(report) => report.totals(),
            Self::Comparison(report) => report.totals(),
        }
    }

    /// The report as the job's page shows it.
    pub fn view(self) -> AnyView {
        match self {
            Self::Analysis(report) => view! { <analyze::AnalysisView report /> }.into_any(),
            Self::Comparison(report) => view! { <compare::ComparisonView report /> }.into_any(),
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
    /// The kind's report, once the job has succeeded.
    pub result: Option<JobReport>,
}

/// A job as the application page lists it: what it is, where it stands and the few figures of
/// its report; the report itself is on the job's own page ([`JobPage`]).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobSummary {
    pub id: i64,
    pub application_id: i64,
    pub kind: JobKind,
    pub status: JobStatus,
    /// 0–100.
    pub progress: u8,
    /// The version's name.
    pub version: String,
    pub created_by: String,
    pub stopped_by: Option<String>,
    pub created_at: String,
    pub finished_at: Option<String>,
    /// How long it ran, once finished (`2 min 5 s`).
    pub took: Option<String>,
    pub error: Option<String>,
    /// The report's figures, once the job has succeeded.
    pub totals: Option<String>,
}

impl JobView {
    /// How long it ran, once finished: from its start (by the last runner to take it) to its end.
    pub fn took(&self) -> Option<String> {
        crate::ui::duration_between(self.started_at.as_deref()?, self.finished_at.as_deref()?)
    }
}

impl JobSummary {
    /// The summary of `job`, whose version is named `version`.
    pub fn of(job: JobView, version: String) -> Self {
        let took = job.took();
        Self {
            id: job.id,
            application_id: job.application_id,
            kind: job.kind,
            status: job.status,
            progress: job.progress,
            version,
            totals: job.result.as_ref().map(JobReport::totals),
            created_by: job.created_by,
            stopped_by: job.stopped_by,
            took,
            created_at: job.created_at,
            finished_at: job.finished_at,
            error: job.error,
        }
    }

    /// The address of the job's own page.
    pub fn href(&self) -> String {
        job_href(self.application_id, self.id)
    }
}

/// The address of job `job`'s page.
pub fn job_href(application: i64, job: i64) -> String {
    format!("/applications/{application}/jobs/{job}")
}

/// What the live status on a page needs of a job.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobState {
    pub status: JobStatus,
    /// 0–100.
    pub progress: u8,
    /// Once finished: the report's figures, or what went wrong.
    pub summary: Option<String>,
}

/// Starts a job of `kind` on `version`; a form post comes back to the application page.
#[server(endpoint = "start_job")]
pub async fn start_job(application: i64, version: i64, kind: JobKind) -> Result<JobView, AppError> {
    let state = crate::state::app_state()?;
    let principal = crate::auth::ssr::require_principal().await?;
    let job = ssr::start(
        &state,
        &principal,
        ssr::NewJob {
            application,
            version,
            kind: kind.as_str().to_owned(),
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
pub async fn poll_job(id: i64) -> Result<JobState, AppError> {
    let state = crate::state::app_state()?;
    let principal = crate::auth::ssr::require_principal().await?;
    ssr::state_of(&state, &principal, id).await
}

//! Applications and their versions: what users analyse.
//!
//! An application has an owner (its creator) and a name unique among its owner's applications
//! (not across the console, so creating one never reveals another user's). Users see and change
//! their own applications; administrators see all. A version is an uploaded source archive (`.zip` or
//! `.tar.gz`) of an application. Pages: [`ApplicationsPage`] (list and create) and
//! [`ApplicationPage`] (versions and jobs). Tools use `/rest/applications`. Storage is in [`ssr`].
//!
//! [`jobs`] are the work done on a version (analyze, compare): they build on applications
//! (visibility, versions), and the application page shows them.

pub mod jobs;
mod list;
mod page;
#[cfg(feature = "ssr")]
pub mod ssr;
mod versions;

pub use list::ApplicationsPage;
pub use page::ApplicationPage;
pub use versions::{UploadVersion, VersionView, upload_version};

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::error::AppError;
use crate::paging::Page;
use jobs::JobSummary;

/// An application as pages and REST clients see it. Times are RFC 3339 in UTC.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct ApplicationView {
    pub id: i64,
    pub name: String,
    /// Username of the owner.
    pub owner: String,
    pub created_at: String,
}

/// Applications a page lists.
pub const APPLICATIONS_PAGE_LEN: u64 = 50;
/// Versions a page of the application page lists.
pub const VERSIONS_PAGE_LEN: u64 = 20;
/// Jobs a page of the application page lists.
pub const JOBS_PAGE_LEN: u64 = 20;

/// Everything the application page shows.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApplicationDetails {
    pub application: ApplicationView,
    /// A page of the versions, newest first.
    pub versions: Page<VersionView>,
    /// A page of the jobs, newest first, as the list shows them.
    pub jobs: Page<JobSummary>,
}

/// A page of the applications the signed-in user may see, by name; with `name`, those whose
/// name contains it.
#[server(endpoint = "applications")]
pub async fn list_applications(
    #[server(default)] name: Option<String>,
    #[server(default)] after: Option<String>,
) -> Result<Page<ApplicationView>, AppError> {
    use crate::paging::ssr::PageRequest;
    let state = crate::state::app_state()?;
    let principal = crate::auth::ssr::require_principal().await?;
    let page = PageRequest::after(APPLICATIONS_PAGE_LEN, after.as_deref(), "after")?;
    ssr::list(&state.db, &principal, name.as_deref(), &page).await
}

/// Creates an application owned by the signed-in user; a form post then opens it.
#[server(endpoint = "create_application")]
pub async fn create_application(name: String) -> Result<ApplicationView, AppError> {
    let state = crate::state::app_state()?;
    let principal = crate::auth::ssr::require_principal().await?;
    let created = ssr::create(&state, &principal, &name).await?;
    crate::http::redirect_plain_form_to(&format!("/applications/{}", created.id));
    Ok(created)
}

/// One application with a page of its versions and a page of its jobs.
#[server(endpoint = "load_application", input = leptos::server_fn::codec::GetUrl)]
pub async fn load_application(
    id: i64,
    #[server(default)] versions_after: Option<String>,
    #[server(default)] jobs_after: Option<String>,
) -> Result<ApplicationDetails, AppError> {
    use crate::paging::ssr::PageRequest;
    let state = crate::state::app_state()?;
    let principal = crate::auth::ssr::require_principal().await?;
    let versions_page = PageRequest::after(
        VERSIONS_PAGE_LEN,
        versions_after.as_deref(),
        "versions_after",
    )?;
    let jobs_page = PageRequest::after(JOBS_PAGE_LEN, jobs_after.as_deref(), "jobs_after")?;
    // One visibility check for the whole page.
    let application = ssr::get(&state.db, &principal, id).await?;
    Ok(ApplicationDetails {
        application,
        versions: ssr::versions::versions_of(&state.db, id, &versions_page).await?,
        jobs: crate::applications::jobs::ssr::summaries_of(&state.db, id, &jobs_page).await?,
    })
}

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
use jobs::JobView;

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

/// Everything the application page shows.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApplicationDetails {
    pub application: ApplicationView,
    /// Newest first.
    pub versions: Vec<VersionView>,
    /// Newest first.
    pub jobs: Vec<JobView>,
}

/// The applications the signed-in user may see, by name.
#[server(endpoint = "applications")]
pub async fn list_applications() -> Result<Vec<ApplicationView>, AppError> {
    let state = crate::state::app_state()?;
    let principal = crate::auth::ssr::require_principal().await?;
    ssr::list(&state.db, &principal).await
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

/// One application with its versions and jobs.
#[server(endpoint = "load_application", input = leptos::server_fn::codec::GetUrl)]
pub async fn load_application(id: i64) -> Result<ApplicationDetails, AppError> {
    let state = crate::state::app_state()?;
    let principal = crate::auth::ssr::require_principal().await?;
    // One visibility check for the whole page.
    let application = ssr::get(&state.db, &principal, id).await?;
    Ok(ApplicationDetails {
        application,
        versions: ssr::versions::versions_of(&state.db, id).await?,
        jobs: crate::applications::jobs::ssr::jobs_of(&state.db, id).await?,
    })
}

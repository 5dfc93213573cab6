//! An application's versions: the upload form, the list, and the upload server function.

use leptos::prelude::*;
use leptos::server_fn::codec::{MultipartData, MultipartFormData};
use serde::{Deserialize, Serialize};

use crate::error::AppError;
use crate::forms::Posted;
use crate::paging::{Page, PageLinks};
use crate::ui::{
    ErrorText, FieldError, ScrollX, TextField, Time, human_bytes, primary_button_class,
};

/// A version as pages and REST clients see it. Times are RFC 3339 in UTC.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct VersionView {
    pub id: i64,
    pub application_id: i64,
    pub name: String,
    /// `zip` or `tar.gz`.
    pub archive_format: String,
    pub archive_bytes: u64,
    /// Hex SHA-256 of the archive as uploaded.
    pub archive_sha256: String,
    /// Username of who uploaded it.
    pub created_by: String,
    pub created_at: String,
}

/// Uploads a version (multipart: `application`, `name`, `archive`); a form post then comes back
/// to the application page.
#[server(endpoint = "upload_version", input = MultipartFormData)]
pub async fn upload_version(data: MultipartData) -> Result<VersionView, AppError> {
    let state = crate::state::app_state()?;
    let principal = crate::auth::ssr::require_principal().await?;
    let multipart = data
        .into_inner()
        .ok_or_else(|| AppError::invalid("archive", "The upload could not be read."))?;
    let version = super::ssr::upload::receive(&state, &principal, None, multipart).await?;
    crate::http::redirect_plain_form_to(&format!(
        "/applications/{}#versions",
        version.application_id
    ));
    Ok(version)
}

/// The upload form and a page of the versions, newest first.
#[component]
pub fn VersionsPanel(
    application_id: i64,
    versions: Page<VersionView>,
    /// The outcome of the upload that led to this page load.
    posted: Posted,
) -> impl IntoView {
    // A too large file is about the archive field, like its other errors.
    let archive_error = posted.field_error("archive").or_else(|| {
        posted
            .error()
            .filter(|error| matches!(error, AppError::TooLarge { .. }))
    });
    let other_error = Signal::stored(
        posted
            .other_error(&["name", "archive"])
            .filter(|error| !matches!(error, AppError::TooLarge { .. })),
    );
    let archive_invalid = archive_error.is_some();
    let upload_path = <UploadVersion as leptos::server_fn::ServerFn>::PATH;
    let Page {
        items: versions,
        next,
    } = versions;
    view! {
        <form
            method="post"
            action=upload_path
            enctype="multipart/form-data"
            class="grid gap-4 sm:grid-cols-[1fr_1fr_auto] sm:items-start"
            aria-label="Upload a version"
        >
            <input type="hidden" name="application" value=application_id />
            <TextField
                id="version-name"
                label="Version name *"
                name="name"
                required=true
                maxlength=100
                posted=posted.clone()
            />
            <div>
                <label class="block" for="version-archive">
                    <span class="text-sm text-slate-700">"Source archive (.zip, .tar.gz) *"</span>
                </label>
                <input
                    id="version-archive"
                    class="mt-1 block w-full text-sm text-slate-700 file:mr-3 file:rounded file:border-0 file:bg-slate-200 file:px-3 file:py-2"
                    type="file"
                    name="archive"
                    required
                    accept=".zip,.tar.gz,.tgz,application/zip,application/gzip"
                    autofocus=archive_invalid
                    aria-invalid=archive_invalid.then_some("true")
                    aria-describedby=archive_invalid.then_some("version-archive-error")
                />
                <FieldError id="version-archive-error".to_owned() error=archive_error />
            </div>
            <button class=format!("{} sm:mt-6", primary_button_class()) type="submit">"Upload"</button>
        </form>
        <ErrorText error=other_error />
        {if versions.is_empty() {
            view! { <p class="mt-4 text-slate-600" data-testid="no-versions">"No versions yet. Upload the application's source code to analyse it."</p> }.into_any()
        } else {
            view! {
                <ScrollX label="Versions"><table class="mt-4 w-full text-left text-sm" data-testid="versions">
                    <thead class="text-slate-600">
                        <tr>
                            <th scope="col" class="py-1">"Version"</th>
                            <th scope="col">"Archive"</th>
                            <th scope="col">"Uploaded"</th>
                        </tr>
                    </thead>
                    <tbody>
                        {versions
                            .into_iter()
                            .map(|version| {
                                view! {
                                    <tr class="border-t border-slate-100">
                                        <td class="py-1 font-medium">{version.name}</td>
                                        <td>{format!("{} · {}", version.archive_format, human_bytes(version.archive_bytes))}</td>
                                        <td><Time at=version.created_at />{format!(" by {}", version.created_by)}</td>
                                    </tr>
                                }
                            })
                            .collect_view()}
                    </tbody>
                </table></ScrollX>
                <PageLinks next of="versions" param="versions_after" label="Older versions" anchor="#versions" />
            }
                .into_any()
        }}
    }
    .into_any()
}

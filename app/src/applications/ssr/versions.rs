//! Reading versions: an application's versions as pages and REST clients see them.

use std::collections::HashMap;

use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter};

use super::visible;
use crate::applications::VersionView;
use crate::auth::ssr::{Principal, usernames};
use crate::db::entity::version;
use crate::error::AppError;
use crate::http::timestamp;
use crate::paging::Page;
use crate::paging::ssr::{Keyset, PageRequest};

pub(super) fn to_view(row: &version::Model, names: &HashMap<i64, String>) -> VersionView {
    VersionView {
        id: row.id,
        application_id: row.application_id,
        name: row.name.clone(),
        archive_format: row.archive_format.as_str().to_owned(),
        archive_bytes: u64::try_from(row.archive_bytes).unwrap_or_default(),
        archive_sha256: row.archive_sha256.clone(),
        created_by: names.get(&row.created_by).cloned().unwrap_or_default(),
        created_at: timestamp(row.created_at),
    }
}

/// A page of the versions of an application `principal` may see, newest first.
pub async fn list(
    db: &impl ConnectionTrait,
    principal: &Principal,
    application: i64,
    page: &PageRequest,
) -> Result<Page<VersionView>, AppError> {
    visible(db, principal, application).await?;
    versions_of(db, application, page).await
}

/// A page of the versions of application `id`, newest first, for a caller already allowed to
/// see it.
pub(crate) async fn versions_of(
    db: &impl ConnectionTrait,
    application: i64,
    page: &PageRequest,
) -> Result<Page<VersionView>, AppError> {
    let select = version::Entity::find().filter(version::Column::ApplicationId.eq(application));
    let rows = Keyset::NewestFirst {
        id: version::Column::Id,
    }
    .page(db, select, page)
    .await?;
    let names = usernames(db, rows.items.iter().map(|row| row.created_by)).await?;
    Ok(rows.map(|row| to_view(&row, &names)))
}

/// The name of version `id`.
pub(crate) async fn name_of(db: &impl ConnectionTrait, id: i64) -> Result<String, AppError> {
    Ok(version::Entity::find_by_id(id)
        .one(db)
        .await?
        .map(|row| row.name)
        .unwrap_or_else(|| format!("#{id}")))
}

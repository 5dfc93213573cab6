//! Reading versions: an application's versions as pages and REST clients see them.

use std::collections::HashMap;

use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder};

use super::visible;
use crate::applications::VersionView;
use crate::auth::ssr::{Principal, usernames};
use crate::db::entity::version;
use crate::error::AppError;
use crate::http::timestamp;

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

/// The versions of an application `principal` may see, newest first.
pub async fn list(
    db: &impl ConnectionTrait,
    principal: &Principal,
    application: i64,
) -> Result<Vec<VersionView>, AppError> {
    visible(db, principal, application).await?;
    versions_of(db, application).await
}

/// The versions of application `id`, newest first, for a caller already allowed to see it.
pub(crate) async fn versions_of(
    db: &impl ConnectionTrait,
    application: i64,
) -> Result<Vec<VersionView>, AppError> {
    let rows = version::Entity::find()
        .filter(version::Column::ApplicationId.eq(application))
        .order_by_desc(version::Column::Id)
        .all(db)
        .await?;
    let names = usernames(db, rows.iter().map(|row| row.created_by)).await?;
    Ok(rows.iter().map(|row| to_view(row, &names)).collect())
}

//! Server side of API keys: generating, deleting, describing, and authenticating with them.
//!
//! Rules: one key per user (unique `user_id`); a new key replaces the old one in the same
//! statement, so the old key fails on the very next request to any instance (every request reads
//! the database; nothing is cached). Key changes are written to the owner's security log
//! ([`crate::auth::log`]). A disabled account's key is refused.

mod key;

use std::net::IpAddr;

use chrono::{DateTime, TimeDelta, Utc};
use sea_orm::sea_query::{Expr, OnConflict};
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, DatabaseBackend, DatabaseConnection, EntityTrait,
    QueryFilter, Set, SqlErr, TransactionTrait,
};

pub use key::ApiKey;

use super::ApiKeyInfo;
use crate::auth::log::SecurityEventKind;
use crate::auth::log::ssr::{Entry, record};
use crate::auth::ssr::Principal;
use crate::auth::{Role, UserView};
use crate::db::entity::{api_key, user};
use crate::error::AppError;
use crate::http::timestamp;
use crate::mail::ssr::account::{SecurityNotice, security_notice};

/// Last-used time and address are written at most this often per key.
const LAST_USED_RESOLUTION: TimeDelta = TimeDelta::seconds(60);

/// Attempts at drawing a key whose prefix is not taken (a collision is ~1 in 10^14).
const PREFIX_ATTEMPTS: usize = 3;

pub fn to_info(row: &api_key::Model) -> ApiKeyInfo {
    ApiKeyInfo {
        prefix: row.prefix.clone(),
        created_at: timestamp(row.created_at),
        last_used_at: row.last_used_at.map(timestamp),
        last_used_ip: row.last_used_ip.clone(),
    }
}

pub async fn find(
    db: &impl ConnectionTrait,
    user_id: i64,
) -> Result<Option<api_key::Model>, AppError> {
    Ok(api_key::Entity::find()
        .filter(api_key::Column::UserId.eq(user_id))
        .one(db)
        .await?)
}

/// Creates the user's key, replacing any previous one. Returns the key in clear — the only time
/// it exists outside the caller's hands.
#[tracing::instrument(skip(db, config, owner), fields(user_id = owner.id), err)]
pub async fn generate(
    db: &DatabaseConnection,
    config: &crate::state::AppConfig,
    owner: &user::Model,
    ip: Option<IpAddr>,
) -> Result<(ApiKey, ApiKeyInfo), AppError> {
    let user_id = owner.id;
    for _ in 0..PREFIX_ATTEMPTS {
        let key = ApiKey::generate();
        let txn = db.begin().await?;
        lock_user(&txn, owner).await?;
        let replaced = find(&txn, user_id).await?.map(|old| old.prefix);
        let row = api_key::ActiveModel {
            user_id: Set(user_id),
            prefix: Set(key.prefix().to_owned()),
            digest: Set(key.digest().to_vec()),
            created_at: Set(Utc::now()),
            last_used_at: Set(None),
            last_used_ip: Set(None),
            ..Default::default()
        };
        let upsert = api_key::Entity::insert(row)
            .on_conflict(
                OnConflict::column(api_key::Column::UserId)
                    .update_columns([
                        api_key::Column::Prefix,
                        api_key::Column::Digest,
                        api_key::Column::CreatedAt,
                        api_key::Column::LastUsedAt,
                        api_key::Column::LastUsedIp,
                    ])
                    .to_owned(),
            )
            .exec(&txn)
            .await;
        match upsert {
            Err(error) if matches!(error.sql_err(), Some(SqlErr::UniqueConstraintViolation(_))) => {
                tracing::warn!("API key prefix collision; drawing another key");
                txn.rollback().await?;
                continue;
            }
            other => other?,
        };
        // The log names keys by their prefix, the part that is no secret.
        let entry = match &replaced {
            Some(old) => Entry::new(user_id, SecurityEventKind::ApiKeyReplaced, ip)
                .detail(format!("{}.•••• replaced {old}.••••", key.prefix())),
            None => Entry::new(user_id, SecurityEventKind::ApiKeyCreated, ip)
                .detail(format!("{}.••••", key.prefix())),
        };
        record(&txn, entry).await?;
        let owner = user::Entity::find_by_id(user_id)
            .one(&txn)
            .await?
            .ok_or(AppError::Unauthenticated)?;
        security_notice(&txn, config, &owner, SecurityNotice::ApiKeyGenerated, ip).await?;
        let stored = find(&txn, user_id).await?.ok_or(AppError::Internal)?;
        txn.commit().await?;
        tracing::info!(
            user_id,
            prefix = key.prefix(),
            replaced = replaced.is_some(),
            "API key generated"
        );
        return Ok((key, to_info(&stored)));
    }
    Err(AppError::Internal)
}

/// Deletes the user's key. Returns whether there was one.
#[tracing::instrument(skip(db, owner), fields(user_id = owner.id), err)]
pub async fn delete(
    db: &DatabaseConnection,
    owner: &user::Model,
    ip: Option<IpAddr>,
) -> Result<bool, AppError> {
    let user_id = owner.id;
    let txn = db.begin().await?;
    lock_user(&txn, owner).await?;
    let deleted = remove(
        &txn,
        Entry::new(user_id, SecurityEventKind::ApiKeyDeleted, ip),
    )
    .await?;
    txn.commit().await?;
    Ok(deleted)
}

/// Deletes `user_id`'s key for an administrator, in the caller's transaction (a reset, a
/// revocation), and logs it as `entry` when there was one. Returns whether there was one.
pub async fn remove(txn: &impl ConnectionTrait, entry: Entry) -> Result<bool, AppError> {
    let removed = api_key::Entity::delete_many()
        .filter(api_key::Column::UserId.eq(entry.user_id))
        .exec_with_returning(txn)
        .await?;
    let Some(key) = removed.first() else {
        return Ok(false);
    };
    record(txn, entry.detail(format!("{}.••••", key.prefix))).await?;
    Ok(true)
}

/// A key row joined with its owner: key id, digest, last use; user id, username, name, role,
/// email, whether it is verified, notifications. Only the columns authentication uses.
type KeyOwner = (
    i64,
    Vec<u8>,
    Option<DateTime<Utc>>,
    i64,
    String,
    String,
    String,
    Option<String>,
    bool,
    bool,
);

/// The lookup behind every key-authenticated request, written out in SQL and run on the pool
/// directly: through the query builder it cost about a third more per request
/// (`scripts/bench/pages.sh`). Both backends share the text but for the placeholder.
const FIND_KEY_OWNER: &str = "SELECT k.id, k.digest, k.last_used_at, u.id, u.username, u.name, \
     u.role, u.email, u.email_verified, u.notifications FROM api_keys k JOIN users u ON u.id = k.user_id \
     WHERE u.disabled_at IS NULL AND u.must_change_password = FALSE AND k.prefix = ";

async fn find_key_owner(
    db: &DatabaseConnection,
    prefix: &str,
) -> Result<Option<KeyOwner>, AppError> {
    use sea_orm::sqlx;
    let found = match db.get_database_backend() {
        DatabaseBackend::Sqlite => {
            sqlx::query_as::<_, KeyOwner>(sqlx::AssertSqlSafe(format!("{FIND_KEY_OWNER}?")))
                .bind(prefix)
                .fetch_optional(db.get_sqlite_connection_pool())
                .await
        }
        DatabaseBackend::Postgres => {
            sqlx::query_as::<_, KeyOwner>(sqlx::AssertSqlSafe(format!("{FIND_KEY_OWNER}$1")))
                .bind(prefix)
                .fetch_optional(db.get_postgres_connection_pool())
                .await
        }
        other => {
            tracing::error!(?other, "unsupported database backend");
            return Err(AppError::Internal);
        }
    };
    found.map_err(|error| {
        tracing::error!(%error, "API key lookup failed");
        AppError::Internal
    })
}

/// The owner of the key in `header`, if it is a current key. Malformed, unknown and wrong keys
/// are all `None` and cost one indexed lookup at most — the same as a valid key.
pub async fn authenticate(
    db: &DatabaseConnection,
    header: &[u8],
    ip: IpAddr,
) -> Result<Option<Principal>, AppError> {
    let Some(key) = ApiKey::parse(header) else {
        return Ok(None);
    };
    let found = find_key_owner(db, key.prefix()).await?;
    let Some((
        key_id,
        _digest,
        last_used_at,
        user_id,
        username,
        name,
        role,
        email,
        email_verified,
        notifications,
    )) = found.filter(|owner| key.matches(&owner.1))
    else {
        return Ok(None);
    };
    record_use(db, key_id, key.prefix(), last_used_at, ip);
    Ok(Some(Principal {
        id: user_id,
        user: UserView {
            username,
            name,
            role: Role::parse(&role).unwrap_or(Role::User),
            email,
            email_verified,
            notifications,
            disabled: false,
            must_change_password: false,
        },
    }))
}

/// Notes when and from where the key was used, at most once per [`LAST_USED_RESOLUTION`], off
/// the request path. The update is conditional, so concurrent requests write once.
fn record_use(
    db: &DatabaseConnection,
    id: i64,
    prefix: &str,
    last_used_at: Option<DateTime<Utc>>,
    ip: IpAddr,
) {
    let now = Utc::now();
    let stale_before = now - LAST_USED_RESOLUTION;
    if last_used_at.is_some_and(|at| at > stale_before) {
        return;
    }
    let db = db.clone();
    let prefix = prefix.to_owned();
    tokio::spawn(async move {
        let result = api_key::Entity::update_many()
            .col_expr(api_key::Column::LastUsedAt, Expr::value(now))
            .col_expr(api_key::Column::LastUsedIp, Expr::value(ip.to_string()))
            .filter(api_key::Column::Id.eq(id))
            // A replaced key keeps its row: never stamp the new key with the old one's use.
            .filter(api_key::Column::Prefix.eq(prefix))
            .filter(
                Condition::any()
                    .add(api_key::Column::LastUsedAt.is_null())
                    .add(api_key::Column::LastUsedAt.lt(stale_before)),
            )
            .exec(&db)
            .await;
        if let Err(error) = result {
            tracing::warn!(%error, "could not record API key use");
        }
    });
}

/// Serialises key changes of one user: a no-op write to the user's row takes its row lock on
/// PostgreSQL and the write lock on SQLite, before anything is read. Only while the account is
/// as the request found it (not disabled, reset or signed out everywhere since): a request that
/// waited on an administrator's change cannot make a key after it.
async fn lock_user(txn: &impl ConnectionTrait, owner: &user::Model) -> Result<(), AppError> {
    let locked = user::Entity::update_many()
        .col_expr(user::Column::Id, Expr::col(user::Column::Id))
        .filter(user::Column::Id.eq(owner.id))
        .filter(user::Column::SessionEpoch.eq(owner.session_epoch))
        .filter(user::Column::DisabledAt.is_null())
        .filter(user::Column::MustChangePassword.eq(false))
        .exec(txn)
        .await?;
    if locked.rows_affected == 0 {
        return Err(AppError::SessionEnded);
    }
    Ok(())
}

//! Browser sessions kept in the database (`sessions` table), so they survive restarts and every
//! server instance on one database sees the same sessions. A `tower-sessions` store over SeaORM.
//!
//! A session's data is a JSON object; a signed-in session holds [`USER_ID`] and [`EPOCH`]. The
//! row also names its account in a column of its own, so that [`load_with_user`] reads a session
//! and its account in one query: the one query a signed-in page or server function needs before
//! it does anything of its own.
//!
//! A row is keyed by [`stored_id`], the SHA-256 digest of the cookie's value, never the value:
//! whoever reads the database (a backup, a replica) finds no cookie that signs anyone in. The
//! value is 128 random bits, so its digest needs no key and cannot be turned back.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sea_orm::sea_query::OnConflict;
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, Set, SqlErr};
use tower_sessions::cookie::time;
use tower_sessions::session::{Id, Record};
use tower_sessions::session_store::{self, SessionStore};

use crate::db::entity::{session, user};
use crate::error::AppError;

/// The session key holding the signed-in user's id.
pub(super) const USER_ID: &str = "user_id";
/// The session key holding the account's session epoch when this session signed in.
pub(super) const EPOCH: &str = "epoch";

#[derive(Clone, Debug)]
pub struct DbSessionStore {
    db: DatabaseConnection,
}

impl DbSessionStore {
    pub fn new(db: DatabaseConnection) -> Self {
        Self { db }
    }

    /// Removes sessions whose expiry has passed. Returns how many were removed.
    pub async fn delete_expired(&self) -> Result<u64, sea_orm::DbErr> {
        let result = session::Entity::delete_many()
            .filter(session::Column::ExpiresAt.lt(Utc::now()))
            .exec(&self.db)
            .await?;
        Ok(result.rows_affected)
    }

    fn row(record: &Record) -> session_store::Result<session::ActiveModel> {
        let data = serde_json::to_string(&record.data)
            .map_err(|error| session_store::Error::Encode(error.to_string()))?;
        Ok(session::ActiveModel {
            id: Set(stored_id(&record.id)),
            data: Set(data),
            expires_at: Set(to_chrono(record.expiry_date)?),
            user_id: Set(record.data.get(USER_ID).and_then(serde_json::Value::as_i64)),
        })
    }
}

#[async_trait]
impl SessionStore for DbSessionStore {
    async fn create(&self, record: &mut Record) -> session_store::Result<()> {
        loop {
            match session::Entity::insert(Self::row(record)?)
                .exec(&self.db)
                .await
            {
                Ok(_) => return Ok(()),
                Err(error)
                    if matches!(error.sql_err(), Some(SqlErr::UniqueConstraintViolation(_))) =>
                {
                    record.id = Id::default();
                }
                Err(error) => return Err(backend(error)),
            }
        }
    }

    async fn save(&self, record: &Record) -> session_store::Result<()> {
        session::Entity::insert(Self::row(record)?)
            .on_conflict(
                OnConflict::column(session::Column::Id)
                    .update_columns([
                        session::Column::Data,
                        session::Column::ExpiresAt,
                        session::Column::UserId,
                    ])
                    .to_owned(),
            )
            .exec(&self.db)
            .await
            .map(drop)
            .map_err(backend)
    }

    async fn load(&self, id: &Id) -> session_store::Result<Option<Record>> {
        let row = session::Entity::find_by_id(stored_id(id))
            .filter(session::Column::ExpiresAt.gt(Utc::now()))
            .one(&self.db)
            .await
            .map_err(backend)?;
        row.map(|row| record(*id, row)).transpose()
    }

    async fn delete(&self, id: &Id) -> session_store::Result<()> {
        session::Entity::delete_by_id(stored_id(id))
            .exec(&self.db)
            .await
            .map(drop)
            .map_err(backend)
    }
}

/// The unexpired session `id` with the account it is signed in to (if any, and if the account
/// still exists), in one query.
pub async fn load_with_user(
    db: &DatabaseConnection,
    id: Id,
) -> Result<Option<(Record, Option<user::Model>)>, AppError> {
    let found = session::Entity::find_by_id(stored_id(&id))
        .filter(session::Column::ExpiresAt.gt(Utc::now()))
        .find_also_related(user::Entity)
        .one(db)
        .await?;
    found
        .map(|(row, user)| Ok((record(id, row)?, user)))
        .transpose()
        .map_err(|error: session_store::Error| {
            tracing::error!(%error, "a stored session could not be read");
            AppError::Internal
        })
}

/// The key of session `id`'s row: the SHA-256 digest of the cookie's value, in hex.
pub fn stored_id(id: &Id) -> String {
    use sha2::{Digest, Sha256};
    hex::encode(Sha256::digest(id.to_string().as_bytes()))
}

fn record(id: Id, row: session::Model) -> session_store::Result<Record> {
    Ok(Record {
        id,
        data: serde_json::from_str(&row.data)
            .map_err(|error| session_store::Error::Decode(error.to_string()))?,
        expiry_date: to_time(row.expires_at)?,
    })
}

fn backend(error: sea_orm::DbErr) -> session_store::Error {
    session_store::Error::Backend(error.to_string())
}

fn to_chrono(at: time::OffsetDateTime) -> session_store::Result<DateTime<Utc>> {
    DateTime::from_timestamp(at.unix_timestamp(), at.nanosecond())
        .ok_or_else(|| session_store::Error::Encode(format!("expiry out of range: {at}")))
}

fn to_time(at: DateTime<Utc>) -> session_store::Result<time::OffsetDateTime> {
    time::OffsetDateTime::from_unix_timestamp(at.timestamp())
        .and_then(|seconds| seconds.replace_nanosecond(at.timestamp_subsec_nanos()))
        .map_err(|error| session_store::Error::Decode(error.to_string()))
}

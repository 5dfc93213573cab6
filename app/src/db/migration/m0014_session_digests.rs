//! `sessions.id` holds the SHA-256 digest (hex) of the session cookie's value, no longer the
//! value itself: a reader of the database (a backup, a replica, a stolen file) finds no cookie
//! that signs anyone in. The sessions already there are rewritten in place: nobody is signed out.
//!
//! The digest is spelled out here rather than taken from the session store: a migration must do
//! what it did when it was written.

use sea_orm::ConnectionTrait;
use sea_orm_migration::prelude::*;
use sha2::{Digest, Sha256};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Sessions {
    Table,
    Id,
    ExpiresAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        let backend = manager.get_database_backend();
        // Expired sessions are not worth carrying over.
        let expired = Query::delete()
            .from_table(Sessions::Table)
            .and_where(Expr::col(Sessions::ExpiresAt).lt(chrono::Utc::now()))
            .to_owned();
        db.execute_raw(backend.build(&expired)).await?;
        let select = Query::select()
            .column(Sessions::Id)
            .from(Sessions::Table)
            .to_owned();
        let rows = db.query_all_raw(backend.build(&select)).await?;
        for row in rows {
            let id: String = row.try_get("", "id")?;
            // Rewritten already, by a run that was cut short (SQLite runs a migration outside a
            // transaction): a cookie's value is 22 characters, its digest 64 hex digits.
            if id.len() == 64 && id.bytes().all(|byte| byte.is_ascii_hexdigit()) {
                continue;
            }
            let digest = hex::encode(Sha256::digest(id.as_bytes()));
            let update = Query::update()
                .table(Sessions::Table)
                .value(Sessions::Id, digest)
                .and_where(Expr::col(Sessions::Id).eq(id))
                .to_owned();
            db.execute_raw(backend.build(&update)).await?;
        }
        Ok(())
    }
}

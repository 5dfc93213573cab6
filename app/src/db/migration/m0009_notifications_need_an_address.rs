//! Notifications are on only for accounts with an address. Accounts used to start with them on
//! and no address, a state the Email Settings form refuses to save.

use sea_orm::ConnectionTrait;
use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .get_connection()
            .execute_unprepared("UPDATE users SET notifications = FALSE WHERE email IS NULL")
            .await
            .map(drop)
    }
}

//! Usernames are unique whatever their case: `Alice` and `alice` are one account's name, and
//! signing in finds the account in any case. A unique index on `lower(username)` (usernames are
//! ASCII, so both databases fold them alike) also serves the lookup.
//!
//! Accounts whose names already differ only in case are not renamed by guesswork: the migration
//! stops and names them, for an administrator to rename all but one (`UPDATE users SET username
//! = … WHERE id = …`) before starting again.

use sea_orm::ConnectionTrait;
use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        let clashes = db
            .query_all_raw(sea_orm::Statement::from_string(
                manager.get_database_backend(),
                "SELECT lower(username) AS folded, count(*) AS accounts FROM users \
                 GROUP BY lower(username) HAVING count(*) > 1 ORDER BY lower(username)",
            ))
            .await?;
        if !clashes.is_empty() {
            let names = clashes
                .iter()
                .map(|row| row.try_get::<String>("", "folded"))
                .collect::<Result<Vec<_>, _>>()?;
            return Err(DbErr::Migration(format!(
                "usernames must differ in more than case, but several accounts are named {}: \
                 rename all but one of each (UPDATE users SET username = '…' WHERE id = …) and \
                 start again",
                names.join(", ")
            )));
        }
        db.execute_unprepared(
            "CREATE UNIQUE INDEX users_by_username_any_case ON users (lower(username))",
        )
        .await?;
        Ok(())
    }
}

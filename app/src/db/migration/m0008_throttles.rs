//! `throttles`: the authentication budgets instances on one PostgreSQL share, one row per budget
//! (`rest:<address>`, `sign-in:<address>`, `sign-in:<address>:<username>`) with its GCRA state.
//! Created on SQLite too (one schema), where the budgets stay in memory.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Throttles {
    Table,
    Key,
    Tat,
    Allowed,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Throttles::Table)
                    .col(string(Throttles::Key).primary_key())
                    // When the budget is back at full quota; a refused attempt leaves it.
                    .col(timestamp_with_time_zone(Throttles::Tat))
                    // Whether the last attempt counted was within the budget.
                    .col(boolean(Throttles::Allowed).default(true))
                    .to_owned(),
            )
            .await
    }
}

//! Accounts that can be managed: sessions a user or an administrator can end, accounts that can
//! be disabled, passwords that must be changed after a reset, and one security log per user.
//!
//! - `users.session_epoch`: every session carries the epoch it was signed in under; raising it
//!   ends every session signed in before (a password change, "sign out everywhere", a reset).
//! - `users.disabled_at`: set while an administrator has disabled the account.
//! - `users.must_change_password`: set by a reset; the temporary password opens only the
//!   change-password form.
//! - `security_events` replaces `api_key_events`, whose rows carry over as `api_key_<action>`.

use sea_orm::ConnectionTrait;
use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Users {
    Table,
    Id,
    SessionEpoch,
    DisabledAt,
    MustChangePassword,
}

#[derive(DeriveIden)]
enum SecurityEvents {
    Table,
    Id,
    UserId,
    Kind,
    At,
    Ip,
    Detail,
    ActorId,
}

#[derive(DeriveIden)]
enum ApiKeyEvents {
    Table,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // One column per statement: SQLite adds one at a time.
        for column in [
            big_integer(Users::SessionEpoch).default(0).to_owned(),
            timestamp_with_time_zone_null(Users::DisabledAt).to_owned(),
            boolean(Users::MustChangePassword).default(false).to_owned(),
        ] {
            manager
                .alter_table(
                    Table::alter()
                        .table(Users::Table)
                        .add_column(column)
                        .to_owned(),
                )
                .await?;
        }
        manager
            .create_table(
                Table::create()
                    .table(SecurityEvents::Table)
                    .col(
                        big_integer(SecurityEvents::Id)
                            .auto_increment()
                            .primary_key(),
                    )
                    .col(big_integer(SecurityEvents::UserId))
                    .col(string_len(SecurityEvents::Kind, 32))
                    .col(timestamp_with_time_zone(SecurityEvents::At))
                    .col(string_len_null(SecurityEvents::Ip, 45))
                    .col(string_len_null(SecurityEvents::Detail, 200))
                    .col(big_integer_null(SecurityEvents::ActorId))
                    .foreign_key(
                        ForeignKey::create()
                            .from(SecurityEvents::Table, SecurityEvents::UserId)
                            .to(Users::Table, Users::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(SecurityEvents::Table, SecurityEvents::ActorId)
                            .to(Users::Table, Users::Id)
                            .on_delete(ForeignKeyAction::SetNull),
                    )
                    .to_owned(),
            )
            .await?;
        // A user's log, newest first, and the audit page's "of one kind".
        for (name, column) in [
            ("security_events_user", SecurityEvents::UserId),
            ("security_events_kind", SecurityEvents::Kind),
        ] {
            manager
                .create_index(
                    Index::create()
                        .name(name)
                        .table(SecurityEvents::Table)
                        .col(column)
                        .col(SecurityEvents::Id)
                        .to_owned(),
                )
                .await?;
        }
        manager
            .get_connection()
            .execute_unprepared(
                "INSERT INTO security_events (user_id, kind, at, ip) \
                 SELECT user_id, 'api_key_' || action, at, ip FROM api_key_events ORDER BY id",
            )
            .await?;
        manager
            .drop_table(Table::drop().table(ApiKeyEvents::Table).to_owned())
            .await
    }
}

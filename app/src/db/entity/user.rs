//! `users`: accounts that can sign in.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "users")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    #[sea_orm(unique)]
    pub username: String,
    pub name: String,
    /// `admin` or `user`.
    pub role: crate::auth::Role,
    /// Argon2id PHC string; never leaves the server.
    pub password_hash: String,
    pub email: Option<String>,
    pub notifications: bool,
    pub created_at: DateTimeUtc,
    /// Sessions signed in under an older epoch are over ([`crate::auth::ssr::session_user`]).
    pub session_epoch: i64,
    /// Set while an administrator has disabled the account.
    pub disabled_at: Option<DateTimeUtc>,
    /// After a reset: the temporary password opens only the change-password form.
    pub must_change_password: bool,
    /// Whether `email` was proven to be the user's; no notification goes to it until it is.
    pub email_verified: bool,
    /// When the one working verification link was issued (Unix seconds); `None` once used.
    pub email_token_issued: Option<i64>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(has_one = "super::api_key::Entity")]
    ApiKey,
}

impl Related<super::api_key::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::ApiKey.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}

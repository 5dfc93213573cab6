//! `security_events`: one user's security log (sign-ins, key and password changes, what an
//! administrator did to the account), written with the change it records.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "security_events")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    /// Whose account.
    pub user_id: i64,
    pub kind: crate::auth::log::SecurityEventKind,
    pub at: DateTimeUtc,
    /// The client's address, when a request caused it.
    pub ip: Option<String>,
    /// What else the reader needs: the browser family of a sign-in, the new role.
    pub detail: Option<String>,
    /// Who did it, when that is not the user (an administrator).
    pub actor_id: Option<i64>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

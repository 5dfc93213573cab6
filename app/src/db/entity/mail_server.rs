//! `mail_server`: the SMTP server an administrator configured (one row, id 1). No row, or an
//! empty host, means mail is written as `.eml` files under the data directory.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "mail_server")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: i32,
    pub host: String,
    pub port: i32,
    /// `none`, `starttls` or `tls`.
    pub security: crate::mail::Security,
    pub username: Option<String>,
    /// The password encrypted with a key derived from the server's secret
    /// ([`crate::mail::ssr::seal::seal`]); never sent to a browser.
    pub sealed_password: Option<String>,
    /// The `From` address; the server's default when empty.
    pub sender: Option<String>,
    /// The console's address in links; the server's default when empty.
    pub public_url: Option<String>,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

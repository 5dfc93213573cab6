//! `outbox`: mail waiting to be delivered, delivered, or given up on — notifications, written
//! with the event they announce, and mail about the account (address verification, security
//! notices). The recipient, subject and both bodies are fixed when it is written.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "outbox")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    /// The event a notification announces; `None` for mail about the account itself.
    pub event_id: Option<i64>,
    /// The recipient.
    pub user_id: i64,
    pub to_address: String,
    pub subject: String,
    pub text_body: String,
    pub html_body: String,
    /// For the `List-Unsubscribe` header.
    pub unsubscribe_url: String,
    /// `pending`, `sent` or `failed`.
    pub status: crate::mail::ssr::outbox::OutboxStatus,
    pub attempts: i32,
    pub next_attempt_at: DateTimeUtc,
    /// A worker is delivering it until then; after that another may try.
    pub locked_until: Option<DateTimeUtc>,
    pub last_error: Option<String>,
    pub created_at: DateTimeUtc,
    pub sent_at: Option<DateTimeUtc>,
    pub kind: crate::mail::ssr::outbox::MailKind,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

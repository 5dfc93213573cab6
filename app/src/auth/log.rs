//! The security log: what happened to an account and from where — sign-ins, failed sign-ins,
//! API key and password changes, what an administrator did. One row per event in
//! `security_events`, written in the transaction of the change it records ([`ssr::record`]).
//! Users read theirs on the profile, [`OWN_LOG_LEN`] a page; administrators read everyone's on
//! the Audit page.

use serde::{Deserialize, Serialize};

/// How many of their own events a user is shown a page.
pub const OWN_LOG_LEN: u64 = 50;

/// What happened to the account. Stored in snake case (`signed_in`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(
    feature = "ssr",
    derive(utoipa::ToSchema, sea_orm::EnumIter, sea_orm::DeriveActiveEnum),
    sea_orm(rs_type = "String", db_type = "Text", rename_all = "snake_case")
)]
#[serde(rename_all = "snake_case")]
pub enum SecurityEventKind {
    SignedIn,
    SignInFailed,
    SignedOutEverywhere,
    ApiKeyCreated,
    ApiKeyReplaced,
    ApiKeyDeleted,
    /// An administrator revoked the key.
    ApiKeyRevoked,
    PasswordChanged,
    PasswordReset,
    RoleChanged,
    Disabled,
    Enabled,
    EmailChanged,
    EmailVerified,
    /// Notifications were turned off by a mail's unsubscribe link.
    Unsubscribed,
    /// By an administrator, the operator, or at first start (the first administrator).
    AccountCreated,
    /// An administrator changed the console's mail server (recorded on their own account).
    MailServerChanged,
}

impl SecurityEventKind {
    pub const ALL: [Self; 17] = [
        Self::SignedIn,
        Self::SignInFailed,
        Self::SignedOutEverywhere,
        Self::ApiKeyCreated,
        Self::ApiKeyReplaced,
        Self::ApiKeyDeleted,
        Self::ApiKeyRevoked,
        Self::PasswordChanged,
        Self::PasswordReset,
        Self::RoleChanged,
        Self::Disabled,
        Self::Enabled,
        Self::EmailChanged,
        Self::EmailVerified,
        Self::Unsubscribed,
        Self::AccountCreated,
        Self::MailServerChanged,
    ];

    /// The stored and URL name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::SignedIn => "signed_in",
            Self::SignInFailed => "sign_in_failed",
            Self::SignedOutEverywhere => "signed_out_everywhere",
            Self::ApiKeyCreated => "api_key_created",
            Self::ApiKeyReplaced => "api_key_replaced",
            Self::ApiKeyDeleted => "api_key_deleted",
            Self::ApiKeyRevoked => "api_key_revoked",
            Self::PasswordChanged => "password_changed",
            Self::PasswordReset => "password_reset",
            Self::RoleChanged => "role_changed",
            Self::Disabled => "disabled",
            Self::Enabled => "enabled",
            Self::EmailChanged => "email_changed",
            Self::EmailVerified => "email_verified",
            Self::Unsubscribed => "unsubscribed",
            Self::AccountCreated => "account_created",
            Self::MailServerChanged => "mail_server_changed",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|kind| kind.as_str() == value)
    }

    /// What a person reads.
    pub fn label(self) -> &'static str {
        match self {
            Self::SignedIn => "Signed in",
            Self::SignInFailed => "Failed sign-in",
            Self::SignedOutEverywhere => "Signed out everywhere",
            Self::ApiKeyCreated => "API key created",
            Self::ApiKeyReplaced => "API key replaced",
            Self::ApiKeyDeleted => "API key deleted",
            Self::ApiKeyRevoked => "API key revoked by an administrator",
            Self::PasswordChanged => "Password changed",
            Self::PasswordReset => "Password reset by an administrator",
            Self::RoleChanged => "Role changed",
            Self::Disabled => "Account disabled",
            Self::Enabled => "Account enabled",
            Self::EmailChanged => "Email address changed",
            Self::EmailVerified => "Email address verified",
            Self::Unsubscribed => "Notifications turned off by an unsubscribe link",
            Self::AccountCreated => "Account created",
            Self::MailServerChanged => "Mail server settings changed",
        }
    }
}

/// One event as the log shows it. Times are formatted on the server (UTC).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct SecurityEventView {
    pub id: i64,
    /// Whose account.
    pub username: String,
    pub kind: SecurityEventKind,
    /// `YYYY-MM-DD HH:MM:SS UTC`.
    pub at: String,
    /// The client's address, when a request caused it.
    pub ip: Option<String>,
    /// The browser family of a sign-in, the new role, …
    pub detail: Option<String>,
    /// The administrator who did it, when not the user.
    pub by: Option<String>,
}

#[cfg(feature = "ssr")]
pub mod ssr {
    //! Writing and reading the log.

    use std::net::IpAddr;

    use chrono::Utc;
    use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Set};

    use super::{SecurityEventKind, SecurityEventView};
    use crate::auth::ssr::usernames;
    use crate::db::entity::security_event;
    use crate::error::AppError;
    use crate::paging::Page;
    use crate::paging::ssr::{Keyset, PageRequest};

    /// One event to record.
    #[derive(Clone, Debug)]
    pub struct Entry {
        pub user_id: i64,
        pub kind: SecurityEventKind,
        pub ip: Option<IpAddr>,
        pub detail: Option<String>,
        pub actor_id: Option<i64>,
    }

    impl Entry {
        /// `kind` happened to `user_id`'s account, caused by a request from `ip`.
        pub fn new(user_id: i64, kind: SecurityEventKind, ip: Option<IpAddr>) -> Self {
            Self {
                user_id,
                kind,
                ip,
                detail: None,
                actor_id: None,
            }
        }

        pub fn detail(mut self, detail: impl Into<String>) -> Self {
            let detail: String = detail.into();
            // The column holds 200 characters; details are ours (never a secret).
            self.detail = Some(detail.chars().take(200).collect());
            self
        }

        /// Done by `actor_id` (an administrator), not by the user.
        pub fn by(mut self, actor_id: i64) -> Self {
            self.actor_id = (actor_id != self.user_id).then_some(actor_id);
            self
        }
    }

    /// Records `entry`; call it with the transaction that makes the change.
    pub async fn record(db: &impl ConnectionTrait, entry: Entry) -> Result<(), AppError> {
        security_event::Entity::insert(security_event::ActiveModel {
            user_id: Set(entry.user_id),
            kind: Set(entry.kind),
            at: Set(Utc::now()),
            ip: Set(entry.ip.map(|ip| ip.to_string())),
            detail: Set(entry.detail),
            actor_id: Set(entry.actor_id),
            ..Default::default()
        })
        .exec(db)
        .await?;
        Ok(())
    }

    /// Which events to read, newest first.
    #[derive(Clone, Copy, Debug, Default)]
    pub struct Filter {
        pub user_id: Option<i64>,
        pub kind: Option<SecurityEventKind>,
        /// For the account's own reading: what an administrator did shows without the
        /// administrator's address (that is for the audit log).
        pub own: bool,
    }

    /// A page of the events matching `filter`, newest first.
    pub async fn list(
        db: &impl ConnectionTrait,
        filter: Filter,
        page: &PageRequest,
    ) -> Result<Page<SecurityEventView>, AppError> {
        let mut query = security_event::Entity::find();
        if let Some(user_id) = filter.user_id {
            query = query.filter(security_event::Column::UserId.eq(user_id));
        }
        if let Some(kind) = filter.kind {
            query = query.filter(security_event::Column::Kind.eq(kind));
        }
        let rows = Keyset::NewestFirst {
            id: security_event::Column::Id,
        }
        .page(db, query, page)
        .await?;
        let names = usernames(
            db,
            rows.items
                .iter()
                .flat_map(|row| std::iter::once(row.user_id).chain(row.actor_id)),
        )
        .await?;
        let name = |id: i64| names.get(&id).cloned().unwrap_or_default();
        Ok(rows.map(|row| SecurityEventView {
            id: row.id,
            username: name(row.user_id),
            kind: row.kind,
            at: row.at.format("%Y-%m-%d %H:%M:%S UTC").to_string(),
            ip: row.ip.filter(|_| !(filter.own && row.actor_id.is_some())),
            detail: row.detail,
            by: row.actor_id.map(name),
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::SecurityEventKind;

    #[test]
    fn every_kind_reads_back_from_its_name() {
        for kind in SecurityEventKind::ALL {
            assert_eq!(SecurityEventKind::parse(kind.as_str()), Some(kind));
            assert!(!kind.label().is_empty());
        }
        assert_eq!(SecurityEventKind::parse("api_key_"), None);
    }
}

//! Server side of applications: names, creation, visibility, version uploads ([`upload`]) and
//! reading versions ([`versions`]).
//! Jobs build on applications, never the reverse: the application page puts the two together.
//!
//! Visibility rule, applied by [`visible`] to every lookup: an application exists for a caller
//! only if they own it or are an administrator. Others get 404 — the same answer as for an id
//! that does not exist, so ids reveal nothing.

pub mod upload;
pub mod versions;

use std::collections::HashMap;

use chrono::Utc;
use sea_orm::{
    ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Select, Set, SqlErr, TransactionTrait,
};

use super::ApplicationView;
use crate::auth::ssr::{Principal, usernames};
use crate::db::entity::application;
use crate::error::AppError;
use crate::events::{Event, EventKind};
use crate::http::timestamp;
use crate::mail::ssr::outbox;
use crate::paging::Page;
use crate::paging::ssr::{Keyset, PageRequest, contains};
use crate::state::AppState;

/// Longest application or version name.
pub const MAX_NAME_CHARS: usize = 100;

/// A name for an application or a version: 1–100 printable characters, trimmed
/// ([`crate::text::allowed_in_name`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Name(String);

impl Name {
    /// `field` names the form field in errors (`name`).
    pub fn parse(raw: &str, field: &str) -> Result<Self, AppError> {
        let value = raw.trim();
        if value.is_empty() {
            return Err(AppError::invalid(field, "Enter a name."));
        }
        if value.chars().count() > MAX_NAME_CHARS {
            return Err(AppError::invalid(
                field,
                format!("The name may have at most {MAX_NAME_CHARS} characters."),
            ));
        }
        if !value.chars().all(crate::text::allowed_in_name) {
            return Err(AppError::invalid(
                field,
                "The name may only contain printable characters (no tabs, line breaks or \
                 invisible formatting characters).",
            ));
        }
        Ok(Self(value.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

fn to_view(row: &application::Model, names: &HashMap<i64, String>) -> ApplicationView {
    ApplicationView {
        id: row.id,
        name: row.name.clone(),
        owner: names.get(&row.owner_id).cloned().unwrap_or_default(),
        created_at: timestamp(row.created_at),
    }
}

/// The applications `principal` may see.
pub fn visible_to(principal: &Principal) -> Select<application::Entity> {
    let all = application::Entity::find();
    if principal.is_admin() {
        all
    } else {
        all.filter(application::Column::OwnerId.eq(principal.id))
    }
}

/// The application `id`, if `principal` may see it; otherwise [`AppError::NotFound`].
pub async fn visible(
    db: &impl ConnectionTrait,
    principal: &Principal,
    id: i64,
) -> Result<application::Model, AppError> {
    visible_to(principal)
        .filter(application::Column::Id.eq(id))
        .one(db)
        .await?
        .ok_or(AppError::NotFound)
}

/// Creates an application owned by `principal`, and its event.
#[tracing::instrument(skip_all, err(level = "info"))]
pub async fn create(
    state: &AppState,
    principal: &Principal,
    name: &str,
) -> Result<ApplicationView, AppError> {
    let name = Name::parse(name, "name")?;
    let txn = state.db.begin().await?;
    let inserted = application::Entity::insert(application::ActiveModel {
        name: Set(name.as_str().to_owned()),
        owner_id: Set(principal.id),
        created_at: Set(Utc::now()),
        ..Default::default()
    })
    .exec_with_returning(&txn)
    .await;
    let row = match inserted {
        Err(error) if matches!(error.sql_err(), Some(SqlErr::UniqueConstraintViolation(_))) => {
            return Err(AppError::Conflict(format!(
                "You already have an application named “{}”.",
                name.as_str()
            )));
        }
        other => other?,
    };
    outbox::record(
        &txn,
        &state.config,
        Event {
            kind: EventKind::ApplicationCreated,
            application_id: row.id,
            version_id: None,
            job_id: None,
            actor_id: Some(principal.id),
            work: None,
        },
    )
    .await?;
    txn.commit().await?;
    tracing::info!(
        application_id = row.id,
        by = principal.id,
        "application created"
    );
    Ok(to_view(&row, &principal.own_name()))
}

/// A page of the applications `principal` may see, by name; with `name`, only those whose
/// name contains it (any case).
pub async fn list(
    db: &impl ConnectionTrait,
    principal: &Principal,
    name: Option<&str>,
    page: &PageRequest,
) -> Result<Page<ApplicationView>, AppError> {
    let mut select = visible_to(principal);
    if let Some(name) = name.map(str::trim).filter(|name| !name.is_empty()) {
        select = select.filter(contains(application::Column::Name, name));
    }
    let rows = Keyset::TextAscending {
        key: application::Column::Name,
        id: application::Column::Id,
    }
    .page(db, select, page)
    .await?;
    let names = usernames(db, rows.items.iter().map(|row| row.owner_id)).await?;
    Ok(rows.map(|row| to_view(&row, &names)))
}

/// One application as `principal` may see it.
pub async fn get(
    db: &impl ConnectionTrait,
    principal: &Principal,
    id: i64,
) -> Result<ApplicationView, AppError> {
    let row = visible(db, principal, id).await?;
    let names = usernames(db, [row.owner_id]).await?;
    Ok(to_view(&row, &names))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_trimmed_and_bounded() {
        assert_eq!(Name::parse("  MEUDON ", "name").unwrap().as_str(), "MEUDON");
        assert_eq!(
            Name::parse(&"é".repeat(100), "name").unwrap().as_str(),
            "é".repeat(100)
        );
        let bad_names = [
            "",
            "   ",
            "a\tb",
            "line\nbreak",
            // Reads "exe.txt" but is "\u{202e}txt.exe"; a zero-width space; a byte-order mark.
            "report\u{202e}txt.exe",
            "ad\u{200b}min",
            "\u{feff}app",
            &"x".repeat(101),
        ];
        for bad in bad_names {
            let error = Name::parse(bad, "name").unwrap_err();
            assert_eq!(error.field(), Some("name"), "{bad:?}");
        }
    }
}

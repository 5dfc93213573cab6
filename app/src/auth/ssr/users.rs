//! User accounts: validated fields, creation, and the first administrator.

use std::collections::HashMap;

use chrono::Utc;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter,
    QuerySelect, Set, SqlErr,
};
use secrecy::{ExposeSecret, SecretString};

use super::{EmailAddress, hash_password};
use crate::auth::Role;
use crate::auth::log::SecurityEventKind;
use crate::auth::log::ssr::{Entry, record};
use crate::db::entity::user;
use crate::error::AppError;
use crate::paging::Page;
use crate::paging::ssr::{Keyset, PageRequest, contains};

/// A login name: 1–64 characters of ASCII letters, digits, `.`, `_`, `-`; stored as given.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Username(String);

impl Username {
    pub fn parse(value: &str) -> Result<Self, AppError> {
        let value = value.trim();
        if value.is_empty() || value.len() > 64 {
            return Err(AppError::invalid(
                "username",
                "The username must have 1 to 64 characters.",
            ));
        }
        if !value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
        {
            return Err(AppError::invalid(
                "username",
                "The username may contain only letters, digits, '.', '_' and '-'.",
            ));
        }
        Ok(Self(value.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A request to create a user, as sent to `POST /rest/users`.
#[derive(Debug, serde::Deserialize, utoipa::ToSchema)]
pub struct NewUser {
    pub username: String,
    #[schema(value_type = String, format = Password)]
    pub password: SecretString,
    /// `admin` or `user`.
    #[schema(value_type = super::super::Role)]
    pub role: String,
    pub name: Option<String>,
    pub email: Option<String>,
}

/// Validates and stores a new user. A taken username is a [`AppError::Conflict`].
#[tracing::instrument(skip_all, err(level = "info"))]
pub async fn create_user(db: &impl ConnectionTrait, new: NewUser) -> Result<user::Model, AppError> {
    let username = Username::parse(&new.username)?;
    let role = Role::parse(new.role.trim())
        .ok_or_else(|| AppError::invalid("role", "The role must be \"admin\" or \"user\"."))?;
    let password = new.password.expose_secret();
    super::strength::check_length("password", password)?;
    let name = new.name.as_deref().map(str::trim).unwrap_or_default();
    if name.chars().count() > 200 || !name.chars().all(crate::text::allowed_in_name) {
        return Err(AppError::invalid(
            "name",
            "The name must be at most 200 printable characters.",
        ));
    }
    let email = match new.email.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(raw) => Some(EmailAddress::parse(raw)?.into_string()),
    };
    // Notifications need an address: on only when one is given.
    let notifications = email.is_some();
    let user = user::ActiveModel {
        username: Set(username.as_str().to_owned()),
        name: Set(if name.is_empty() {
            username.as_str().to_owned()
        } else {
            name.to_owned()
        }),
        role: Set(role),
        password_hash: Set(hash_password(password.to_owned()).await?),
        email: Set(email),
        notifications: Set(notifications),
        created_at: Set(Utc::now()),
        ..Default::default()
    };
    user.insert(db)
        .await
        .map_err(|error| match error.sql_err() {
            Some(SqlErr::UniqueConstraintViolation(_)) => AppError::Conflict(format!(
                "The username \"{}\" is already taken.",
                username.as_str()
            )),
            _ => error.into(),
        })
}

/// The account named `username`, in any case ([`named`]).
pub async fn find_by_username(
    db: &impl ConnectionTrait,
    username: &str,
) -> Result<Option<user::Model>, AppError> {
    Ok(user::Entity::find().filter(named(username)).one(db).await?)
}

/// The condition "the account is named `username`", in any case: usernames are unique whatever
/// their case (an index on `lower(username)` keeps them so, and serves this condition).
pub fn named(username: &str) -> sea_orm::sea_query::SimpleExpr {
    use sea_orm::sea_query::{Expr, ExprTrait, Func};
    Expr::expr(Func::lower(Expr::col(user::Column::Username)))
        .eq(username.trim().to_ascii_lowercase())
}

/// On first start (no users at all) creates `admin`. Returns the generated password when none was
/// configured, for the caller to print once. Two instances starting at once on one database:
/// the one that loses the race finds `admin` taken and carries on.
pub async fn ensure_admin(
    db: &impl ConnectionTrait,
    configured: Option<&SecretString>,
) -> Result<Option<SecretString>, AppError> {
    if user::Entity::find().count(db).await? > 0 {
        return Ok(None);
    }
    let generated = configured
        .is_none()
        .then(|| SecretString::from(random_password()));
    let password = configured
        .or(generated.as_ref())
        .cloned()
        .unwrap_or_default();
    let created = create_user(
        db,
        NewUser {
            username: "admin".into(),
            password,
            role: "admin".into(),
            name: Some("Administrator".into()),
            email: None,
        },
    )
    .await;
    match created {
        Ok(admin) => {
            let entry = Entry::new(admin.id, SecurityEventKind::AccountCreated, None)
                .detail("the first administrator, at first start");
            record(db, entry).await?;
            Ok(generated)
        }
        Err(AppError::Conflict(_)) => Ok(None),
        Err(error) => Err(error),
    }
}

/// A password of 20 random letters and digits (about 119 bits), for a first administrator and
/// for a reset.
pub fn random_password() -> String {
    use rand::{Rng, TryRngCore};
    rand::rngs::OsRng
        .unwrap_err()
        .sample_iter(rand::distr::Alphanumeric)
        .take(20)
        .map(char::from)
        .collect()
}

/// Which accounts the administrators' list shows; `None` is "any".
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct UserFilter {
    /// In the username, the name or the address, in any case.
    pub text: Option<String>,
    pub role: Option<Role>,
    pub disabled: Option<bool>,
}

/// A page of the accounts `filter` lets through, by username.
pub async fn list_users(
    db: &impl ConnectionTrait,
    filter: &UserFilter,
    page: &PageRequest,
) -> Result<Page<crate::auth::UserView>, AppError> {
    use sea_orm::Condition;
    let mut select = user::Entity::find();
    if let Some(text) = filter
        .text
        .as_deref()
        .map(str::trim)
        .filter(|text| !text.is_empty())
    {
        select = select.filter(
            Condition::any()
                .add(contains(user::Column::Username, text))
                .add(contains(user::Column::Name, text))
                .add(contains(user::Column::Email, text)),
        );
    }
    if let Some(role) = filter.role {
        select = select.filter(user::Column::Role.eq(role));
    }
    if let Some(disabled) = filter.disabled {
        select = select.filter(if disabled {
            user::Column::DisabledAt.is_not_null()
        } else {
            user::Column::DisabledAt.is_null()
        });
    }
    let rows = Keyset::TextAscending {
        key: user::Column::Username,
        id: user::Column::Id,
    }
    .page(db, select, page)
    .await?;
    Ok(rows.map(|row| super::to_view(&row)))
}

/// The usernames of `ids`, for showing who owns or did what.
pub async fn usernames(
    db: &impl ConnectionTrait,
    ids: impl IntoIterator<Item = i64>,
) -> Result<HashMap<i64, String>, AppError> {
    let mut ids: Vec<i64> = ids.into_iter().collect();
    ids.sort_unstable();
    ids.dedup();
    Ok(user::Entity::find()
        .select_only()
        .column(user::Column::Id)
        .column(user::Column::Username)
        .filter(user::Column::Id.is_in(ids))
        .into_tuple::<(i64, String)>()
        .all(db)
        .await?
        .into_iter()
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usernames_are_parsed() {
        assert_eq!(Username::parse(" alice ").unwrap().as_str(), "alice");
        assert!(Username::parse("a.b_c-1").is_ok());
        for bad in ["", "with space", "ünï", "a/b", &"x".repeat(65)] {
            let error = Username::parse(bad).unwrap_err();
            assert_eq!(error.field(), Some("username"), "{bad}");
        }
    }
}

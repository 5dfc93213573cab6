//! Changing accounts: a user's own password and sessions, and what administrators do to an
//! account (disable, enable, change its role, reset its password).
//!
//! Policy:
//! - Ending sessions is raising the account's `session_epoch`: every session signed in under
//!   an older one is over at its next request, on every instance ([`super::session_account`]).
//! - Each change and its security-log entry are written in one transaction.
//! - There is always an enabled administrator. A change that would remove the last one is
//!   refused; the check runs in the change's transaction after locking every enabled
//!   administrator's row ([`lock_admins`]), so two administrators acting at once cannot both
//!   pass it.

use std::net::IpAddr;

use chrono::Utc;
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, PaginatorTrait, QueryFilter,
    TransactionTrait,
};
use secrecy::{ExposeSecret, SecretString};

use super::users::{NewUser, create_user, find_by_username, random_password};
use super::{Asker, Throttles, hash_password, verify_password};
use crate::auth::Role;
use crate::auth::log::SecurityEventKind;
use crate::auth::log::ssr::{Entry, record};
use crate::db::entity::user;
use crate::error::AppError;
use crate::mail::ssr::account::{SecurityNotice, security_notice};
use crate::state::AppConfig;

/// A password change as the form and `POST /rest/user/password` send it.
#[derive(serde::Deserialize, utoipa::ToSchema)]
pub struct PasswordChange {
    #[schema(value_type = String, format = Password)]
    pub current_password: SecretString,
    #[schema(value_type = String, format = Password)]
    pub new_password: SecretString,
    /// The new password again, as typed a second time.
    #[schema(value_type = String, format = Password)]
    pub new_password_again: SecretString,
}

/// Checks a password change for `user` as far as it can be without the current password: the
/// new one typed twice alike, strong enough, and not the current one as typed. Call it before
/// counting the attempt against the sign-in throttle, so a weak choice is not a guess.
pub fn check_new_password(user: &user::Model, change: &PasswordChange) -> Result<(), AppError> {
    let new = change.new_password.expose_secret();
    if new != change.new_password_again.expose_secret() {
        return Err(AppError::invalid(
            "new_password_again",
            "The two new passwords are not the same.",
        ));
    }
    if new == change.current_password.expose_secret() {
        return Err(AppError::invalid(
            "new_password",
            "The new password must differ from the current one.",
        ));
    }
    let mut context = vec![user.username.as_str(), user.name.as_str()];
    context.extend(user.email.as_deref());
    super::strength::check_new_password("new_password", new, &context)
}

/// Changes `user`'s password after [`check_new_password`] and a check of the current one (a
/// wrong one spends the sign-in budgets), and ends every session of the account. Returns the new
/// session epoch, for the caller's own session to stay signed in.
#[tracing::instrument(skip_all, fields(user_id = user.id), err(level = "info"))]
pub async fn change_password(
    db: &DatabaseConnection,
    config: &AppConfig,
    throttles: &Throttles,
    user: &user::Model,
    change: PasswordChange,
    ip: IpAddr,
) -> Result<i64, AppError> {
    // A weak choice is no guess at the current password: only a real attempt is throttled.
    check_new_password(user, &change)?;
    throttles.check_sign_in(ip, &user.username).await?;
    let current_matches = verify_password(
        Some(user.password_hash.clone()),
        change.current_password.expose_secret().to_owned(),
        Asker {
            client: ip,
            account: &user.username,
        },
    )
    .await?;
    if !current_matches {
        throttles.sign_in_failed(ip, &user.username).await;
        return Err(AppError::invalid(
            "current_password",
            "The current password is wrong.",
        ));
    }
    let new = change.new_password.expose_secret();
    let hash = hash_password(new.to_owned()).await?;

    let txn = db.begin().await?;
    let updated = user::Entity::update_many()
        .col_expr(user::Column::PasswordHash, Expr::value(hash))
        .col_expr(user::Column::MustChangePassword, Expr::value(false))
        .col_expr(user::Column::SessionEpoch, next_epoch())
        // Not if it changed meanwhile (another change, a reset): that one stands.
        .filter(user::Column::Id.eq(user.id))
        .filter(user::Column::PasswordHash.eq(user.password_hash.clone()))
        .exec(&txn)
        .await?;
    if updated.rows_affected == 0 {
        return Err(AppError::Conflict(
            "The password was changed meanwhile. Reload the page and try again.".into(),
        ));
    }
    record(
        &txn,
        Entry::new(user.id, SecurityEventKind::PasswordChanged, Some(ip)),
    )
    .await?;
    security_notice(
        &txn,
        config,
        user,
        SecurityNotice::PasswordChanged,
        Some(ip),
    )
    .await?;
    let epoch = epoch_of(&txn, user.id).await?;
    txn.commit().await?;
    tracing::info!("password changed; every other session ended");
    Ok(epoch)
}

/// Ends every session of `user_id`'s account, this one included.
#[tracing::instrument(skip(db), err)]
pub async fn sign_out_everywhere(
    db: &DatabaseConnection,
    user_id: i64,
    ip: IpAddr,
) -> Result<(), AppError> {
    let txn = db.begin().await?;
    end_sessions(&txn, user_id).await?;
    record(
        &txn,
        Entry::new(user_id, SecurityEventKind::SignedOutEverywhere, Some(ip)),
    )
    .await?;
    txn.commit().await?;
    Ok(())
}

/// `session_epoch + 1`.
fn next_epoch() -> sea_orm::sea_query::SimpleExpr {
    Expr::col(user::Column::SessionEpoch).add(1)
}

async fn epoch_of(db: &impl ConnectionTrait, user_id: i64) -> Result<i64, AppError> {
    Ok(user::Entity::find_by_id(user_id)
        .one(db)
        .await?
        .ok_or(AppError::NotFound)?
        .session_epoch)
}

/// Ends every session of `user_id`'s account: they are over at their next request.
pub async fn end_sessions(db: &impl ConnectionTrait, user_id: i64) -> Result<(), AppError> {
    user::Entity::update_many()
        .col_expr(user::Column::SessionEpoch, next_epoch())
        .filter(user::Column::Id.eq(user_id))
        .exec(db)
        .await?;
    Ok(())
}

/// Creates an account ([`create_user`]) and records who created it, in one transaction.
pub async fn create(
    db: &DatabaseConnection,
    new: NewUser,
    by: Actor,
) -> Result<user::Model, AppError> {
    let txn = db.begin().await?;
    let user = create_user(&txn, new).await?;
    let entry = by
        .entry(user.id, SecurityEventKind::AccountCreated)
        .detail(format!("as {}", user.role.as_str()));
    record(&txn, entry).await?;
    txn.commit().await?;
    tracing::info!(user_id = user.id, by = ?by.id, "user created");
    Ok(user)
}

/// Who acts on an account: an administrator (from `ip`), or the operator on the server's
/// command line (`id` and `ip` both `None`).
#[derive(Clone, Copy, Debug)]
pub struct Actor {
    pub id: Option<i64>,
    pub ip: Option<IpAddr>,
}

impl Actor {
    /// The log entry of `kind` done to `target` by this actor.
    pub fn entry(self, target: i64, kind: SecurityEventKind) -> Entry {
        let entry = Entry::new(target, kind, self.ip);
        match self.id {
            Some(id) => entry.by(id),
            None => entry.detail("from the server's command line"),
        }
    }
}

/// Takes the row lock of every enabled administrator (PostgreSQL), or the database's write lock
/// (SQLite), before anything is read: the next administrator change waits for this one.
async fn lock_admins(txn: &impl ConnectionTrait) -> Result<(), AppError> {
    user::Entity::update_many()
        .col_expr(user::Column::Id, Expr::col(user::Column::Id))
        .filter(user::Column::Role.eq(Role::Admin))
        .filter(user::Column::DisabledAt.is_null())
        .exec(txn)
        .await?;
    Ok(())
}

/// Locks the administrators, then `username`'s account, and reads it.
async fn target(txn: &impl ConnectionTrait, username: &str) -> Result<user::Model, AppError> {
    lock_admins(txn).await?;
    lock_account(txn, username).await
}

/// Takes `username`'s row lock (PostgreSQL) or the write lock (SQLite) with a no-op write before
/// reading the account: on SQLite a transaction that reads first and writes later may find its
/// snapshot stale and fail, rather than wait.
pub async fn lock_account(
    txn: &impl ConnectionTrait,
    username: &str,
) -> Result<user::Model, AppError> {
    let locked = user::Entity::update_many()
        .col_expr(user::Column::Id, Expr::col(user::Column::Id))
        .filter(super::users::named(username))
        .exec(txn)
        .await?;
    if locked.rows_affected == 0 {
        return Err(AppError::NotFound);
    }
    find_by_username(txn, username)
        .await?
        .ok_or(AppError::NotFound)
}

/// Refuses a change that leaves `target` no longer an enabled administrator when it is the last
/// one. Call it after [`target`], in the same transaction.
async fn keep_an_admin(txn: &impl ConnectionTrait, target: &user::Model) -> Result<(), AppError> {
    if target.role != Role::Admin || target.disabled_at.is_some() {
        return Ok(());
    }
    let others = user::Entity::find()
        .filter(user::Column::Role.eq(Role::Admin))
        .filter(user::Column::DisabledAt.is_null())
        .filter(user::Column::Id.ne(target.id))
        .count(txn)
        .await?;
    if others == 0 {
        return Err(AppError::Conflict(format!(
            "{} is the last administrator. Make another user an administrator first.",
            target.username
        )));
    }
    Ok(())
}

/// Gives `username` the role `role`. Returns the account as changed.
#[tracing::instrument(skip(txn), err(level = "info"))]
pub async fn set_role(
    txn: &impl ConnectionTrait,
    actor: Actor,
    username: &str,
    role: Role,
) -> Result<user::Model, AppError> {
    let target = target(txn, username).await?;
    if target.role == role {
        return Ok(target);
    }
    if role != Role::Admin {
        keep_an_admin(txn, &target).await?;
    }
    user::Entity::update_many()
        .col_expr(user::Column::Role, Expr::value(role))
        .filter(user::Column::Id.eq(target.id))
        .exec(txn)
        .await?;
    record(
        txn,
        actor
            .entry(target.id, SecurityEventKind::RoleChanged)
            .detail(format!("{} → {}", target.role.label(), role.label())),
    )
    .await?;
    reread(txn, target.id).await
}

/// Disables or enables `username`. Disabling ends the account's sessions (enabling later does
/// not bring them back). Returns the account as changed, and whether anything changed.
#[tracing::instrument(skip(txn, config), err(level = "info"))]
pub async fn set_disabled(
    txn: &impl ConnectionTrait,
    config: &AppConfig,
    actor: Actor,
    username: &str,
    disabled: bool,
) -> Result<(user::Model, bool), AppError> {
    let target = target(txn, username).await?;
    if target.disabled_at.is_some() == disabled {
        return Ok((target, false));
    }
    let kind = if disabled {
        keep_an_admin(txn, &target).await?;
        if actor.id == Some(target.id) {
            return Err(AppError::Conflict(
                "You cannot disable your own account. Ask another administrator.".into(),
            ));
        }
        SecurityEventKind::Disabled
    } else {
        SecurityEventKind::Enabled
    };
    user::Entity::update_many()
        .col_expr(
            user::Column::DisabledAt,
            Expr::value(disabled.then(Utc::now)),
        )
        .col_expr(user::Column::SessionEpoch, next_epoch())
        .filter(user::Column::Id.eq(target.id))
        .exec(txn)
        .await?;
    record(txn, actor.entry(target.id, kind)).await?;
    if disabled {
        // Not the administrator's address: that is for the audit log.
        security_notice(txn, config, &target, SecurityNotice::Disabled, None).await?;
    }
    Ok((reread(txn, target.id).await?, true))
}

/// Gives `username` a random temporary password that opens only the change-password form, and
/// ends the account's sessions. With `config`, a security notice tells the user (the server's
/// command line has none: its operator is the one locked out). Returns the account and the temporary password (shown once, to
/// whoever asked). The caller also revokes the account's API key, in the same transaction.
#[tracing::instrument(skip(txn, config), err(level = "info"))]
pub async fn reset_password(
    txn: &impl ConnectionTrait,
    config: Option<&AppConfig>,
    actor: Actor,
    username: &str,
) -> Result<(user::Model, SecretString), AppError> {
    // Hashed before the account is read: no lock is held meanwhile.
    let temporary = SecretString::from(random_password());
    let hash = hash_password(temporary.expose_secret().to_owned()).await?;
    let target = lock_account(txn, username).await?;
    if actor.id == Some(target.id) {
        return Err(AppError::Conflict(
            "You cannot reset your own password here: change it on your profile.".into(),
        ));
    }
    user::Entity::update_many()
        .col_expr(user::Column::PasswordHash, Expr::value(hash))
        .col_expr(user::Column::MustChangePassword, Expr::value(true))
        .col_expr(user::Column::SessionEpoch, next_epoch())
        .filter(user::Column::Id.eq(target.id))
        .exec(txn)
        .await?;
    record(
        txn,
        actor.entry(target.id, SecurityEventKind::PasswordReset),
    )
    .await?;
    if let Some(config) = config {
        security_notice(txn, config, &target, SecurityNotice::PasswordReset, None).await?;
    }
    Ok((reread(txn, target.id).await?, temporary))
}

async fn reread(txn: &impl ConnectionTrait, id: i64) -> Result<user::Model, AppError> {
    user::Entity::find_by_id(id)
        .one(txn)
        .await?
        .ok_or(AppError::NotFound)
}

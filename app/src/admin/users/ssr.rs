//! What an administrator does to an account, for the Users panel and `/rest/users`: each a
//! transaction with its security-log entry ([`crate::auth::ssr::accounts`] holds the rules,
//! the last administrator among them); this adds what the rest of the console must do with it.

use std::net::IpAddr;

use sea_orm::{DatabaseConnection, TransactionTrait};

use secrecy::SecretString;

use crate::auth::log::SecurityEventKind;
use crate::auth::ssr::accounts::{self, Actor};
use crate::auth::ssr::{Principal, to_view};
use crate::auth::{Role, UserView};
use crate::error::AppError;
use crate::state::AppState;

/// An administrator acting from `ip`.
pub fn actor(admin: &Principal, ip: IpAddr) -> Actor {
    Actor {
        id: Some(admin.id),
        ip: Some(ip),
    }
}

/// A change of an account, as `PATCH /rest/users/{username}` sends it.
#[derive(Clone, Copy, Debug, Default, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AccountChange {
    /// `admin` or `user`.
    pub role: Option<Role>,
    /// `true` disables the account, `false` enables it.
    pub disabled: Option<bool>,
}

/// Changes `username`'s role and/or whether it is disabled, in one transaction.
///
/// Disabling ends the account's sessions, stops their key and password from working, drops
/// their waiting mail and stops their queued and running jobs (stopped by `admin`). Enabling
/// lets them sign in again; no old session comes back.
#[tracing::instrument(skip(state, admin), fields(by = admin.id), err(level = "info"))]
pub async fn change(
    state: &AppState,
    admin: &Principal,
    ip: IpAddr,
    username: &str,
    change: AccountChange,
) -> Result<UserView, AppError> {
    if change.role.is_none() && change.disabled.is_none() {
        return Err(AppError::invalid(
            "request",
            "Say what to change: `role`, `disabled` or both.",
        ));
    }
    let actor = actor(admin, ip);
    let txn = state.db.begin().await?;
    let mut user = None;
    if let Some(role) = change.role {
        user = Some(accounts::set_role(&txn, actor, username, role).await?);
    }
    let mut stopped = Vec::new();
    if let Some(disabled) = change.disabled {
        let (changed_user, changed) =
            accounts::set_disabled(&txn, &state.config, actor, username, disabled).await?;
        if changed && disabled {
            stopped = crate::applications::jobs::ssr::stop_all_started_by(
                &txn,
                &state.config,
                changed_user.id,
                admin.id,
            )
            .await?;
            let dropped =
                crate::mail::ssr::outbox::drop_for_disabled(&txn, changed_user.id).await?;
            tracing::info!(
                user_id = changed_user.id,
                jobs = stopped.len(),
                mails = dropped,
                "account disabled"
            );
        }
        user = Some(changed_user);
    }
    txn.commit().await?;
    for id in stopped {
        state.jobs.cancel(id);
    }
    user.map(|user| to_view(&user)).ok_or(AppError::Internal)
}

/// Revokes `username`'s API key. Returns whether they had one.
#[tracing::instrument(skip(db, admin), fields(by = admin.id), err(level = "info"))]
pub async fn revoke_api_key(
    db: &DatabaseConnection,
    admin: &Principal,
    ip: IpAddr,
    username: &str,
) -> Result<bool, AppError> {
    let txn = db.begin().await?;
    let user = accounts::lock_account(&txn, username).await?;
    if user.id == admin.id {
        // A tool revoking the key it calls with would lock itself out by accident.
        return Err(AppError::Conflict(
            "Delete your own key on your profile, not here.".into(),
        ));
    }
    let revoked = crate::profile::api_key::ssr::remove(
        &txn,
        actor(admin, ip).entry(user.id, SecurityEventKind::ApiKeyRevoked),
    )
    .await?;
    txn.commit().await?;
    Ok(revoked)
}

/// Resets `username`'s password to a temporary one (returned, to be shown once), ends their
/// sessions and revokes their API key. `actor` is an administrator, or the operator on the
/// server's command line.
#[tracing::instrument(skip(db, config), err(level = "info"))]
pub async fn reset_password(
    db: &DatabaseConnection,
    config: Option<&crate::state::AppConfig>,
    actor: Actor,
    username: &str,
) -> Result<(UserView, SecretString), AppError> {
    let txn = db.begin().await?;
    let (user, temporary) = accounts::reset_password(&txn, config, actor, username).await?;
    let revoked = actor.entry(user.id, SecurityEventKind::ApiKeyRevoked);
    crate::profile::api_key::ssr::remove(&txn, revoked).await?;
    txn.commit().await?;
    Ok((to_view(&user), temporary))
}

//! Server side of sign-in: sessions, password checks, throttling and user accounts.

pub mod accounts;
mod email;
mod password;
pub mod sessions;
mod strength;
mod throttle;
pub mod users;

use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;

use sea_orm::{DatabaseConnection, EntityTrait};
use secrecy::{ExposeSecret, SecretSlice, SecretString};
use tower_sessions::Session;

pub use email::{EmailAddress, masked};
pub use password::{Asker, hash_password, verify_password};
pub use throttle::{DEFAULT_REST_FAILURE_BURST, Throttles};
pub use users::{NewUser, Username, usernames};

use super::log::SecurityEventKind;
use super::log::ssr::{self as log, Entry};
use super::{Role, UserView};
use crate::db::entity::user;
use crate::error::AppError;
use crate::state::{AppState, app_state};

use sessions::{EPOCH, USER_ID};

/// An authenticated user as request handling needs it: the id for lookups and what may be shown.
#[derive(Clone, Debug)]
pub struct Principal {
    pub id: i64,
    pub user: UserView,
}

impl Principal {
    pub fn is_admin(&self) -> bool {
        self.user.role == Role::Admin
    }

    /// Refuses anyone but an administrator.
    pub fn require_admin(&self) -> Result<(), AppError> {
        if self.is_admin() {
            Ok(())
        } else {
            Err(AppError::Forbidden)
        }
    }

    /// Their id → username: the names a view needs for something they just made.
    pub fn own_name(&self) -> std::collections::HashMap<i64, String> {
        std::collections::HashMap::from([(self.id, self.user.username.clone())])
    }
}

impl From<&user::Model> for Principal {
    fn from(user: &user::Model) -> Self {
        Self {
            id: user.id,
            user: to_view(user),
        }
    }
}

pub fn to_view(user: &user::Model) -> UserView {
    UserView {
        username: user.username.clone(),
        name: user.name.clone(),
        role: user.role,
        email: user.email.clone(),
        email_verified: user.email_verified,
        notifications: user.notifications,
        disabled: user.disabled_at.is_some(),
        must_change_password: user.must_change_password,
    }
}

/// The browser session of the current server-function call.
pub async fn session() -> Result<Session, AppError> {
    leptos_axum::extract::<Session>().await.map_err(|error| {
        tracing::error!(%error, "session layer missing");
        AppError::Internal
    })
}

/// The client's address of the current server-function call ([`crate::http::ClientAddr`]).
pub async fn client_ip() -> IpAddr {
    leptos::prelude::use_context::<axum::http::request::Parts>()
        .map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |parts| {
            crate::http::client_addr(&parts)
        })
}

/// What a browser session's account is now.
#[derive(Clone, Debug)]
pub enum SessionAccount {
    /// Never signed in, signed out, or the account no longer exists.
    Anonymous,
    /// Signed in, and still valid.
    Current(user::Model),
    /// Was signed in, but the account was disabled since.
    Disabled,
    /// Was signed in, but its sessions were ended since (password changed or reset, "sign
    /// out everywhere").
    Ended,
}

/// The account `session` is signed in to, checked against the account as stored now: one
/// query for both, on every request that needs the user.
pub async fn session_account(
    db: &DatabaseConnection,
    session: &Session,
) -> Result<SessionAccount, AppError> {
    // A session as the request brought it is read with its account in one query; one this
    // request changed (signing in) is read as it is now, in memory, and its account after it.
    // Sessions from before epochs existed count as epoch 0, every account's first.
    let (epoch, user) = match session.id() {
        Some(id) if !session.is_modified() => match sessions::load_with_user(db, id).await? {
            Some((record, user)) => {
                let epoch = record.data.get(EPOCH).and_then(serde_json::Value::as_i64);
                (epoch.unwrap_or(0), user)
            }
            None => return Ok(SessionAccount::Anonymous),
        },
        _ => {
            let Some(id) = session.get::<i64>(USER_ID).await.map_err(session_error)? else {
                return Ok(SessionAccount::Anonymous);
            };
            let epoch = session.get::<i64>(EPOCH).await.map_err(session_error)?;
            (
                epoch.unwrap_or(0),
                user::Entity::find_by_id(id).one(db).await?,
            )
        }
    };
    Ok(match user {
        None => SessionAccount::Anonymous,
        Some(user) if user.disabled_at.is_some() => SessionAccount::Disabled,
        Some(user) if user.session_epoch != epoch => SessionAccount::Ended,
        Some(user) => SessionAccount::Current(user),
    })
}

/// The user a session belongs to, if it is signed in and still valid ([`session_account`]).
pub async fn session_user(
    db: &DatabaseConnection,
    session: &Session,
) -> Result<Option<user::Model>, AppError> {
    Ok(match session_account(db, session).await? {
        SessionAccount::Current(user) => Some(user),
        _ => None,
    })
}

/// The signed-in user of one request, looked up once and shared by every server function the
/// request runs (a page render calls several). The server provides a fresh one to each request;
/// signing in or out ends the request (a redirect), so it never goes stale.
#[derive(Clone, Default)]
pub struct RequestUser(Arc<tokio::sync::OnceCell<Option<user::Model>>>);

/// The user the current request's session belongs to, if it is signed in; looked up at most
/// once per request.
pub async fn signed_in_user() -> Result<Option<user::Model>, AppError> {
    let cached = leptos::prelude::use_context::<RequestUser>();
    let lookup = async {
        let state = app_state()?;
        session_user(&state.db, &session().await?).await
    };
    match cached {
        Some(cached) => cached.0.get_or_try_init(|| lookup).await.cloned(),
        None => lookup.await,
    }
}

/// The signed-in user of the current server-function call, or [`AppError::Unauthenticated`];
/// a user whose password was reset gets [`AppError::PasswordChangeRequired`] until they chose
/// a new one.
pub async fn require_user() -> Result<user::Model, AppError> {
    let user = require_user_even_after_reset().await?;
    if user.must_change_password {
        return Err(AppError::PasswordChangeRequired);
    }
    Ok(user)
}

/// The signed-in user, even one whose password was reset: for choosing a new one.
pub async fn require_user_even_after_reset() -> Result<user::Model, AppError> {
    signed_in_user().await?.ok_or(AppError::Unauthenticated)
}

/// The signed-in user of the current server-function call, as request handling needs them.
pub async fn require_principal() -> Result<Principal, AppError> {
    Ok(Principal::from(&require_user().await?))
}

/// Marks `session` as signed in to `user_id` under the account's session epoch `epoch`, with a
/// fresh session id (no fixation).
pub async fn start_session(session: &Session, user_id: i64, epoch: i64) -> Result<(), AppError> {
    session.cycle_id().await.map_err(session_error)?;
    session
        .insert(USER_ID, user_id)
        .await
        .map_err(session_error)?;
    keep_session_current(session, epoch).await
}

/// Keeps `session` signed in after its account's epoch was raised to `epoch` (by a password
/// change made in it): every other session is over.
pub async fn keep_session_current(session: &Session, epoch: i64) -> Result<(), AppError> {
    session.insert(EPOCH, epoch).await.map_err(session_error)
}

/// Checks a username/password pair for `client`. Unknown users cost as much as known ones.
///
/// A failure is logged with the client's address and [`username_hash`] — never the name
/// itself, since people type their password into it — so an operator can tell one client
/// trying many accounts from many clients trying one.
pub async fn authenticate_password(
    state: &AppState,
    client: IpAddr,
    username: &str,
    password: &SecretString,
) -> Result<user::Model, AppError> {
    let user = users::find_by_username(&state.db, username).await?;
    let hash = user.as_ref().map(|user| user.password_hash.clone());
    match (
        verify_password(
            hash,
            password.expose_secret().to_owned(),
            Asker {
                client,
                account: username,
            },
        )
        .await?,
        user,
    ) {
        (true, Some(user)) if user.disabled_at.is_some() => {
            tracing::info!(user_id = user.id, %client, "sign-in refused: the account is disabled");
            Err(AppError::AccountDisabled)
        }
        (true, Some(user)) => Ok(user),
        (false, user) => {
            if let Some(user) = &user {
                // Off the request path: a wrong password for a known user must not take
                // longer than for an unknown one.
                let (db, entry) = (
                    state.db.clone(),
                    Entry::new(user.id, SecurityEventKind::SignInFailed, Some(client)),
                );
                tokio::spawn(async move {
                    if let Err(error) = log::record(&db, entry).await {
                        tracing::warn!(%error, "could not log a failed sign-in");
                    }
                });
            }
            tracing::warn!(
                %client,
                username_hash = %username_hash(&state.config.mail.secret, username),
                "sign-in failed: wrong username or password"
            );
            Err(AppError::InvalidCredentials)
        }
        (true, None) => Err(AppError::InvalidCredentials),
    }
}

/// A username as the log shows it: 16 hex digits of an HMAC keyed with the server's secret.
/// The same name always gives the same digits, and without the secret they cannot be turned
/// back into the name by trying candidates.
pub fn username_hash(secret: &SecretSlice<u8>, username: &str) -> String {
    use hmac::{Hmac, Mac};
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(secret.expose_secret())
        .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
    mac.update(b"console/log-username/v1:");
    mac.update(username.as_bytes());
    hex::encode(&mac.finalize().into_bytes()[..8])
}

/// Signs the caller in: throttle (a wrong password counts, a right one does not), check, then a
/// fresh session id (no fixation).
#[tracing::instrument(skip_all, err(level = "warn"))]
pub async fn sign_in(username: String, password: SecretString) -> Result<(), AppError> {
    let state = app_state()?;
    let client = client_ip().await;
    state.throttles.check_sign_in(client, &username).await?;
    let user = match authenticate_password(&state, client, &username, &password).await {
        Err(AppError::InvalidCredentials) => {
            crate::metrics::auth_failure("sign_in");
            state.throttles.sign_in_failed(client, &username).await;
            return Err(AppError::InvalidCredentials);
        }
        checked => checked?,
    };
    start_session(&session().await?, user.id, user.session_epoch).await?;
    let mut entry = Entry::new(user.id, SecurityEventKind::SignedIn, Some(client));
    if let Some(browser) = browser_family().await {
        entry = entry.detail(browser);
    }
    log::record(&state.db, entry).await?;
    tracing::info!(user_id = user.id, "signed in");
    Ok(())
}

/// "Firefox on Linux": the browser of the current request as its `User-Agent` names it, for
/// the security log.
async fn browser_family() -> Option<String> {
    let parts = leptos::prelude::use_context::<axum::http::request::Parts>()?;
    let agent = parts
        .headers
        .get(axum::http::header::USER_AGENT)?
        .to_str()
        .ok()?;
    let parsed = woothee::parser::Parser::new().parse(agent)?;
    let known = |value: &str| !value.is_empty() && value != woothee::woothee::VALUE_UNKNOWN;
    match (known(parsed.name), known(parsed.os)) {
        (true, true) => Some(format!("{} on {}", parsed.name, parsed.os)),
        (true, false) => Some(parsed.name.to_owned()),
        _ => None,
    }
}

#[tracing::instrument(skip_all, err)]
pub async fn sign_out() -> Result<(), AppError> {
    session().await?.flush().await.map_err(session_error)
}

/// Why the browser's last session is over, for the sign-in page to say; `None` when it simply
/// is not signed in.
pub async fn session_end_reason() -> Result<Option<AppError>, AppError> {
    let state = app_state()?;
    Ok(match session_account(&state.db, &session().await?).await? {
        SessionAccount::Disabled => Some(AppError::AccountDisabled),
        SessionAccount::Ended => Some(AppError::SessionEnded),
        SessionAccount::Anonymous | SessionAccount::Current(_) => None,
    })
}

fn session_error(error: tower_sessions::session::Error) -> AppError {
    tracing::error!(%error, "session store failed");
    AppError::Internal
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_username_hash_is_stable_per_secret_and_hides_the_name() {
        let secret: SecretSlice<u8> = vec![7u8; 32].into();
        let hash = username_hash(&secret, "alice");
        assert_eq!(hash.len(), 16);
        assert!(hash.bytes().all(|byte| byte.is_ascii_hexdigit()), "{hash}");
        assert_eq!(hash, username_hash(&secret, "alice"));
        assert_ne!(hash, username_hash(&secret, "alicf"));
        assert_ne!(hash, username_hash(&vec![8u8; 32].into(), "alice"));
    }
}

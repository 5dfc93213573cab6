//! Accounts and sign-in: who the current user is, signing in and out, and guarding pages.
//!
//! The browser session (a cookie naming a row in `sessions`) carries only the user's id and the
//! account's session epoch at sign-in; every request reloads the user, so a role change, a
//! disabled account or a raised epoch (password changed, "sign out everywhere", a reset) takes
//! effect on the very next request, on every instance.

mod guard;
pub mod log;
mod sign_in;
#[cfg(feature = "ssr")]
pub mod ssr;

pub use guard::{Auth, with_user};
pub use sign_in::SignInPage;

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::error::AppError;

/// What a signed-in user may do. Stored as `admin` / `user`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(
    feature = "ssr",
    derive(utoipa::ToSchema, sea_orm::EnumIter, sea_orm::DeriveActiveEnum),
    sea_orm(rs_type = "String", db_type = "Text", rename_all = "lowercase")
)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Admin,
    User,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Admin => "admin",
            Self::User => "user",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        match value {
            "admin" => Some(Self::Admin),
            "user" => Some(Self::User),
            _ => None,
        }
    }

    /// What a person reads.
    pub fn label(self) -> &'static str {
        match self {
            Self::Admin => "Administrator",
            Self::User => "User",
        }
    }
}

/// The signed-in user as pages and REST clients see them (never the password hash).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct UserView {
    pub username: String,
    pub name: String,
    pub role: Role,
    pub email: Option<String>,
    /// Whether `email` was proven to be theirs; notifications wait until it is.
    pub email_verified: bool,
    pub notifications: bool,
    /// An administrator disabled the account: it cannot sign in or use the API.
    pub disabled: bool,
    /// The password was reset: until a new one is chosen, only the password form opens.
    pub must_change_password: bool,
}

/// The user of this browser session, if any.
#[server(endpoint = "current_user")]
pub async fn current_user() -> Result<Option<UserView>, AppError> {
    Ok(ssr::signed_in_user().await?.map(|user| ssr::to_view(&user)))
}

/// Checks the password and starts a session; a form post is then sent on to `next`.
#[server(endpoint = "sign_in")]
pub async fn sign_in(
    username: String,
    password: String,
    next: Option<String>,
) -> Result<(), AppError> {
    ssr::sign_in(username, password.into()).await?;
    crate::http::redirect_plain_form_to(&next_or_home(next.as_deref()));
    Ok(())
}

/// Ends the session; a form post is then sent to the sign-in page (the account menu island
/// reloads there itself).
#[server(endpoint = "sign_out")]
pub async fn sign_out() -> Result<(), AppError> {
    ssr::sign_out().await?;
    crate::http::redirect_plain_form_to("/signin");
    Ok(())
}

/// Why this browser's last session is over (its account was disabled, or its sessions were
/// ended), for the sign-in page to say; `None` when it simply is not signed in.
#[server(endpoint = "session_end_notice")]
pub async fn session_end_notice() -> Result<Option<AppError>, AppError> {
    ssr::session_end_reason().await
}

/// Where a freshly signed-in user lands when no (safe) `next` was given.
const HOME: &str = "/profile";

/// Where to go after signing in: `next` if it is safe, else the profile.
pub fn next_or_home(next: Option<&str>) -> String {
    safe_next(next).unwrap_or_else(|| HOME.to_owned())
}

/// Accepts only same-site absolute paths as a post-sign-in target (no open redirects).
pub fn safe_next(next: Option<&str>) -> Option<String> {
    let next = next?.trim();
    let safe = next.starts_with('/')
        && !next.starts_with("//")
        && !next.contains('\\')
        && !next.starts_with("/signin")
        && !next.chars().any(char::is_control);
    safe.then(|| next.to_owned())
}

#[cfg(test)]
mod tests {
    use super::safe_next;

    #[test]
    fn next_accepts_local_paths_only() {
        assert_eq!(safe_next(Some("/profile")), Some("/profile".into()));
        assert_eq!(safe_next(Some("/profile?x=1")), Some("/profile?x=1".into()));
        for bad in [
            "https://evil.example",
            "//evil.example",
            "/\\evil",
            "",
            "profile",
            "/signin",
        ] {
            assert_eq!(safe_next(Some(bad)), None, "{bad}");
        }
        assert_eq!(safe_next(None), None);
    }
}

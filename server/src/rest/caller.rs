//! Who is calling the REST API.
//!
//! Order and policy: `X-API-KEY`, when present, decides alone (a bad key is 401, never a
//! fallback); then `Authorization: Basic`; then the browser session. Failed key and password
//! checks count against the client's address; once it fails too often it is answered 429,
//! before any check, until its quota refills. A disabled account is 401 however it presents
//! itself; so is a temporary password (after a reset), which opens only the browser's
//! change-password form.

use axum::extract::FromRequestParts;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use base64::Engine;
use secrecy::SecretString;
use tower_sessions::Session;

use app::auth::ssr::{Principal, SessionAccount, authenticate_password, session_account};
use app::error::AppError;
use app::state::AppState;

use crate::csrf::API_KEY_HEADER;

/// The authenticated user of a REST request, and how they proved it.
pub struct Caller(pub Principal, pub Credential);

/// What a REST caller authenticated with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Credential {
    ApiKey,
    Password,
    Session,
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, AppError> {
        let ip = app::http::client_addr(parts);
        let presents_credentials =
            parts.headers.contains_key(API_KEY_HEADER) || parts.headers.contains_key(AUTHORIZATION);
        if presents_credentials {
            state.throttles.check_rest_client(ip)?;
        }

        if let Some(key) = parts.headers.get(API_KEY_HEADER) {
            let principal =
                app::profile::api_key::ssr::authenticate(&state.db, key.as_bytes(), ip).await?;
            return match principal {
                Some(principal) => Ok(Self(principal, Credential::ApiKey)),
                None => Err(state
                    .throttles
                    .rest_failure(ip, AppError::InvalidApiKey)
                    .await),
            };
        }
        if let Some(value) = parts.headers.get(AUTHORIZATION) {
            let Some((username, password)) = basic_credentials(value.as_bytes()) else {
                return Err(state
                    .throttles
                    .rest_failure(ip, AppError::Unauthenticated)
                    .await);
            };
            let user = match authenticate_password(state, ip, &username, &password).await {
                Err(AppError::InvalidCredentials) => Err(state
                    .throttles
                    .rest_failure(ip, AppError::InvalidCredentials)
                    .await),
                other => other,
            }?;
            if user.must_change_password {
                return Err(AppError::PasswordChangeRequired);
            }
            return Ok(Self(Principal::from(&user), Credential::Password));
        }
        let session = Session::from_request_parts(parts, state)
            .await
            .map_err(|_| AppError::Unauthenticated)?;
        match session_account(&state.db, &session).await? {
            SessionAccount::Current(user) if user.must_change_password => {
                Err(AppError::PasswordChangeRequired)
            }
            SessionAccount::Current(user) => Ok(Self(Principal::from(&user), Credential::Session)),
            SessionAccount::Disabled => Err(AppError::AccountDisabled),
            SessionAccount::Ended => Err(AppError::SessionEnded),
            SessionAccount::Anonymous => Err(AppError::Unauthenticated),
        }
    }
}

impl Caller {
    pub fn require_admin(&self) -> Result<(), AppError> {
        self.0.require_admin()
    }
}

/// `Basic base64(username:password)` → the pair; anything else → `None`.
fn basic_credentials(header: &[u8]) -> Option<(String, SecretString)> {
    let header = std::str::from_utf8(header).ok()?;
    let (scheme, encoded) = header.trim().split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .ok()?;
    let decoded = String::from_utf8(decoded).ok()?;
    let (username, password) = decoded.split_once(':')?;
    Some((username.to_owned(), SecretString::from(password.to_owned())))
}

#[cfg(test)]
mod tests {
    use super::*;
    use secrecy::ExposeSecret;

    #[test]
    fn basic_header_is_decoded() {
        let (user, password) =
            basic_credentials(b"Basic YWxpY2U6czNjcjN0OndpdGg6Y29sb25z").unwrap();
        assert_eq!(user, "alice");
        assert_eq!(password.expose_secret(), "s3cr3t:with:colons");
    }

    #[test]
    fn other_schemes_and_garbage_are_refused() {
        for bad in [
            &b"Bearer abc"[..],
            b"Basic !!!",
            b"Basic",
            b"",
            b"Basic bm9jb2xvbg==",
        ] {
            assert!(basic_credentials(bad).is_none(), "{bad:?}");
        }
    }
}

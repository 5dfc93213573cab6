//! Argon2id password hashing. Hashing is deliberately slow, so it runs off the async threads.

use argon2::Argon2;
use argon2::password_hash::{
    PasswordHash, PasswordHasher, PasswordVerifier, SaltString, rand_core::OsRng,
};
use std::sync::LazyLock;

use crate::error::AppError;

/// A hash of a random password with the same parameters as real ones, checked against when the
/// user does not exist so that unknown usernames take as long as known ones.
static DUMMY_HASH: LazyLock<Option<String>> = LazyLock::new(|| {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(salt.as_str().as_bytes(), &salt)
        .map(|hash| hash.to_string())
        .ok()
});

/// Hashes `password` with Argon2id and the crate's recommended parameters.
pub async fn hash_password(password: String) -> Result<String, AppError> {
    blocking(move || {
        let salt = SaltString::generate(&mut OsRng);
        Argon2::default()
            .hash_password(password.as_bytes(), &salt)
            .map(|hash| hash.to_string())
            .map_err(|error| {
                tracing::error!(%error, "password hashing failed");
                AppError::Internal
            })
    })
    .await
}

/// Whether `password` matches `hash`; with no hash, burns the same time and answers `false`.
pub async fn verify_password(hash: Option<String>, password: String) -> Result<bool, AppError> {
    blocking(move || {
        let known = hash.is_some();
        let Some(stored) = hash.or_else(|| DUMMY_HASH.clone()) else {
            return Ok(false);
        };
        let parsed = PasswordHash::new(&stored).map_err(|error| {
            tracing::error!(%error, "stored password hash is malformed");
            AppError::Internal
        })?;
        let matches = Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok();
        Ok(known && matches)
    })
    .await
}

async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, AppError> + Send + 'static,
) -> Result<T, AppError> {
    tokio::task::spawn_blocking(work).await.map_err(|error| {
        tracing::error!(%error, "password task failed");
        AppError::Internal
    })?
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn hash_verifies_only_its_password() {
        let hash = hash_password("correct horse".into()).await.unwrap();
        assert!(hash.starts_with("$argon2id$"));
        assert!(
            verify_password(Some(hash.clone()), "correct horse".into())
                .await
                .unwrap()
        );
        assert!(
            !verify_password(Some(hash), "wrong horse".into())
                .await
                .unwrap()
        );
    }

    #[tokio::test]
    async fn unknown_user_never_verifies() {
        assert!(DUMMY_HASH.is_some());
        assert!(!verify_password(None, "anything".into()).await.unwrap());
    }
}

//! Unsubscribe tokens: `<user id>.<HMAC-SHA256>` over the purpose and the user id, keyed with
//! the server's secret. Checking one needs only the secret — nothing in the database — and a
//! token made for another purpose, user or server does not verify.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use secrecy::{ExposeSecret, SecretSlice};
use sha2::Sha256;

/// Bound into every MAC, so these tokens can never stand in for another kind.
const PURPOSE: &str = "console/unsubscribe-notifications/v1";

fn mac(secret: &SecretSlice<u8>, user_id: i64) -> Hmac<Sha256> {
    // HMAC accepts keys of any length.
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.expose_secret())
        .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
    mac.update(PURPOSE.as_bytes());
    mac.update(b":");
    mac.update(user_id.to_string().as_bytes());
    mac
}

/// The token for `user_id`.
pub fn issue(secret: &SecretSlice<u8>, user_id: i64) -> String {
    let tag = mac(secret, user_id).finalize().into_bytes();
    format!("{user_id}.{}", URL_SAFE_NO_PAD.encode(tag))
}

/// The user a token was issued for, if it is genuine.
pub fn verify(secret: &SecretSlice<u8>, token: &str) -> Option<i64> {
    // The exact path segment: nothing around it is trimmed away (a token followed by CR LF
    // must not verify and then be echoed into a header).
    let (user, tag) = token.split_once('.')?;
    if user.len() > 19 || tag.len() > 64 {
        return None;
    }
    let user_id: i64 = user.parse().ok().filter(|id| *id > 0)?;
    let tag = URL_SAFE_NO_PAD.decode(tag).ok()?;
    mac(secret, user_id).verify_slice(&tag).ok()?;
    Some(user_id)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secret(byte: u8) -> SecretSlice<u8> {
        vec![byte; 32].into()
    }

    #[test]
    fn a_token_names_its_user() {
        let token = issue(&secret(1), 42);
        assert!(token.starts_with("42."));
        assert_eq!(verify(&secret(1), &token), Some(42));
    }

    #[test]
    fn tampered_or_foreign_tokens_do_not_verify() {
        let token = issue(&secret(1), 42);
        let (_, tag) = token.split_once('.').unwrap();
        for bad in [
            format!("43.{tag}"),
            format!("42.{}", &tag[1..]),
            format!("42.{tag}x"),
            "42".to_owned(),
            "".to_owned(),
            "-1.abc".to_owned(),
            format!("{token}\u{0}"),
        ] {
            assert_eq!(verify(&secret(1), &bad), None, "{bad:?}");
        }
        // Another server's secret.
        assert_eq!(verify(&secret(2), &token), None);
    }
}

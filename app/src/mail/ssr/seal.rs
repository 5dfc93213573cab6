//! Sealing the mail server password: encrypted with a key derived from the server's secret, so
//! a copy of the database alone does not reveal it.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use chacha20poly1305::aead::{Aead, KeyInit};
use chacha20poly1305::{ChaCha20Poly1305, Key, Nonce};
use hmac::{Hmac, Mac};
use secrecy::{ExposeSecret, SecretSlice, SecretString};
use sha2::Sha256;

use super::MailError;

/// Bound into the sealing key, so it is never the key of anything else.
const SEALING_PURPOSE: &[u8] = b"console/mail-server-password/v1";

fn sealing_key(secret: &SecretSlice<u8>) -> ChaCha20Poly1305 {
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(secret.expose_secret())
        .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
    mac.update(SEALING_PURPOSE);
    let key = mac.finalize().into_bytes();
    ChaCha20Poly1305::new(Key::from_slice(&key))
}

/// Encrypts the password with a key derived from the server's secret: a copy of the database
/// alone does not reveal it. `base64(nonce ‖ ciphertext)`.
pub fn seal(secret: &SecretSlice<u8>, password: &SecretString) -> String {
    let nonce: [u8; 12] = rand::random();
    let sealed = sealing_key(secret)
        .encrypt(
            Nonce::from_slice(&nonce),
            password.expose_secret().as_bytes(),
        )
        .unwrap_or_else(|_| unreachable!("ChaCha20-Poly1305 encrypts any message in memory"));
    STANDARD.encode([nonce.as_slice(), &sealed].concat())
}

/// The password [`seal`] stored, if the secret is the one it was sealed with.
pub fn unseal(secret: &SecretSlice<u8>, sealed: &str) -> Result<SecretString, MailError> {
    let unreadable = || MailError::UnreadablePassword;
    let bytes = STANDARD.decode(sealed).map_err(|_| unreadable())?;
    if bytes.len() < 12 {
        return Err(unreadable());
    }
    let (nonce, sealed) = bytes.split_at(12);
    let plain = sealing_key(secret)
        .decrypt(Nonce::from_slice(nonce), sealed)
        .map_err(|_| unreadable())?;
    String::from_utf8(plain)
        .map(SecretString::from)
        .map_err(|_| unreadable())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sealed_password_opens_only_with_its_secret() {
        let secret: SecretSlice<u8> = vec![7u8; 32].into();
        let sealed = seal(&secret, &SecretString::from("hunter2"));
        assert!(!sealed.contains("hunter2"));
        assert_ne!(
            sealed,
            seal(&secret, &SecretString::from("hunter2")),
            "fresh nonce"
        );
        assert_eq!(unseal(&secret, &sealed).unwrap().expose_secret(), "hunter2");
        let other: SecretSlice<u8> = vec![8u8; 32].into();
        let error = unseal(&other, &sealed).unwrap_err();
        assert!(error.to_string().contains("Enter the password again"));
        assert!(unseal(&secret, "garbage").is_err());
    }
}

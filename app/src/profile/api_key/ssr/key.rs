//! The API key itself: `8 alphanumerics` `.` `32 alphanumerics`, drawn from the operating
//! system's CSPRNG. Only its prefix and SHA-256 digest are ever stored.

use rand::{Rng, TryRngCore, distr::Alphanumeric, rngs::OsRng};
use secrecy::{ExposeSecret, SecretString};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

pub const PREFIX_LEN: usize = 8;
pub const SECRET_LEN: usize = 32;
pub const KEY_LEN: usize = PREFIX_LEN + 1 + SECRET_LEN;

/// A whole API key. Its `Debug` shows only the public prefix.
pub struct ApiKey(SecretString);

impl ApiKey {
    /// A fresh random key.
    pub fn generate() -> Self {
        let mut rng = OsRng.unwrap_err();
        let mut draw = |len| {
            (&mut rng)
                .sample_iter(Alphanumeric)
                .take(len)
                .map(char::from)
                .collect::<String>()
        };
        let prefix = draw(PREFIX_LEN);
        let secret = draw(SECRET_LEN);
        Self(SecretString::from(format!("{prefix}.{secret}")))
    }

    /// Reads a key from a header value; anything not exactly of the key's shape is `None`.
    pub fn parse(raw: &[u8]) -> Option<Self> {
        let well_formed = raw.len() == KEY_LEN
            && raw[PREFIX_LEN] == b'.'
            && raw
                .iter()
                .enumerate()
                .all(|(i, byte)| i == PREFIX_LEN || byte.is_ascii_alphanumeric());
        well_formed
            .then(|| std::str::from_utf8(raw).ok())
            .flatten()
            .map(|key| Self(SecretString::from(key.to_owned())))
    }

    /// The public part before the dot; finds the stored row.
    pub fn prefix(&self) -> &str {
        &self.0.expose_secret()[..PREFIX_LEN]
    }

    /// SHA-256 of the whole key, as stored.
    pub fn digest(&self) -> [u8; 32] {
        Sha256::digest(self.0.expose_secret().as_bytes()).into()
    }

    /// Whether this key hashes to `stored`, compared in constant time.
    pub fn matches(&self, stored: &[u8]) -> bool {
        self.digest().as_slice().ct_eq(stored).into()
    }

    /// The key in clear, to show its owner exactly once.
    pub fn expose(&self) -> &str {
        self.0.expose_secret()
    }
}

impl std::fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ApiKey({}.…)", self.prefix())
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;

    fn is_key_shaped(key: &str) -> bool {
        let (prefix, secret) = key.split_once('.').unwrap_or_default();
        key.len() == 41
            && prefix.len() == 8
            && secret.len() == 32
            && prefix
                .chars()
                .chain(secret.chars())
                .all(|c| c.is_ascii_alphanumeric())
    }

    #[test]
    fn generated_keys_have_the_documented_format() {
        for _ in 0..1_000 {
            let key = ApiKey::generate();
            assert!(is_key_shaped(key.expose()), "{}", key.expose());
            assert_eq!(key.prefix(), &key.expose()[..8]);
        }
    }

    #[test]
    fn generated_keys_never_repeat_and_use_the_whole_alphabet() {
        let keys: Vec<ApiKey> = (0..20_000).map(|_| ApiKey::generate()).collect();
        let distinct: HashSet<&str> = keys.iter().map(ApiKey::expose).collect();
        assert_eq!(distinct.len(), keys.len());
        let prefixes: HashSet<&str> = keys.iter().map(ApiKey::prefix).collect();
        assert_eq!(prefixes.len(), keys.len(), "8-character prefixes collided");
        let alphabet: HashSet<char> = keys.iter().flat_map(|k| k.expose().chars()).collect();
        assert_eq!(
            alphabet.len(),
            62 + 1,
            "all 62 alphanumerics and the dot appear"
        );
    }

    #[test]
    fn parse_accepts_exactly_the_key_shape() {
        let key = ApiKey::generate();
        let parsed = ApiKey::parse(key.expose().as_bytes()).unwrap();
        assert_eq!(parsed.expose(), key.expose());
        let too_long = format!("{}x", key.expose());
        let no_dot = key.expose().replace('.', "x");
        let non_ascii = format!("{}é", &key.expose()[..39]);
        let with_space = format!("{} ", &key.expose()[..40]);
        for bad in ["", "short.key", &too_long, &no_dot, &non_ascii, &with_space] {
            assert!(ApiKey::parse(bad.as_bytes()).is_none(), "{bad:?}");
        }
        assert!(ApiKey::parse(&[0xff; 41]).is_none());
    }

    #[test]
    fn digest_is_sha256_of_the_whole_key() {
        let key = ApiKey::parse(b"06935MrA.G7LStH3Ck9sgeHBYokzIjTdv2DTbicsT").unwrap();
        let expected: [u8; 32] =
            Sha256::digest(b"06935MrA.G7LStH3Ck9sgeHBYokzIjTdv2DTbicsT").into();
        assert_eq!(key.digest(), expected);
        assert_eq!(key.prefix(), "06935MrA");
    }

    #[test]
    fn matches_compares_digests() {
        let key = ApiKey::generate();
        assert!(key.matches(&key.digest()));
        let other = ApiKey::generate();
        assert!(!key.matches(&other.digest()));
        assert!(
            !key.matches(&key.digest()[..31]),
            "a truncated digest never matches"
        );
        assert!(!key.matches(&[]));
    }

    #[test]
    fn debug_never_shows_the_secret() {
        let key = ApiKey::generate();
        let debug = format!("{key:?}");
        assert!(!debug.contains(&key.expose()[9..]));
        assert_eq!(debug, format!("ApiKey({}.…)", key.prefix()));
    }
}

//! An account's email address, parsed once: syntactically valid and safe in a mail header.
//!
//! Parsed by the mail library itself (`lettre::Address`), so that the form accepts exactly the
//! addresses mail can be sent to (one parser, not two that disagree), and then kept to names on
//! the internet: no bare host, no address literal.

use crate::error::AppError;

/// The longest address SMTP allows in a path (RFC 5321 §4.5.3.1.3).
const MAX_LEN: usize = 254;

/// A syntactically valid email address that is safe to put in a mail header.
#[derive(Clone, PartialEq, Eq)]
pub struct EmailAddress(String);

impl EmailAddress {
    pub fn parse(raw: &str) -> Result<Self, AppError> {
        let value = raw.trim();
        if value.is_empty() {
            return Err(AppError::invalid("email", "Enter an email address."));
        }
        if value.len() > MAX_LEN {
            return Err(AppError::invalid(
                "email",
                format!("The email address may have at most {MAX_LEN} characters."),
            ));
        }
        if value.chars().any(|c| c.is_control() || c.is_whitespace()) {
            return Err(AppError::invalid(
                "email",
                "The email address may not contain spaces or line breaks.",
            ));
        }
        let parsed: lettre::Address = value.parse().map_err(|_| not_an_address())?;
        // A name on the internet: no bare host (`localhost`), no address literal (`[10.0.0.1]`).
        if !parsed.domain().contains('.') || parsed.domain().starts_with('[') {
            return Err(not_an_address());
        }
        Ok(Self(value.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_string(self) -> String {
        self.0
    }
}

/// `alice@example.com` → `a•••@example.com`: enough for its owner to recognise an address (on an
/// unsubscribe or verification page, in the security log), too little to learn or write to
/// someone else's from a forwarded link or a log.
pub fn masked(address: &str) -> String {
    match address.rsplit_once('@') {
        Some((local, domain)) => {
            let first: String = local.chars().take(1).collect();
            format!("{first}•••@{domain}")
        }
        None => "•••".to_owned(),
    }
}

/// The message never repeats the address: errors are logged, addresses must not be.
fn not_an_address() -> AppError {
    AppError::invalid(
        "email",
        "This is not a valid email address (expected something like name@example.com).",
    )
}

/// Only the domain, so logs never hold a whole address.
impl std::fmt::Debug for EmailAddress {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let domain = self.0.rsplit_once('@').map_or("", |(_, domain)| domain);
        write!(f, "EmailAddress(…@{domain})")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masked_addresses_keep_a_first_letter_and_the_domain() {
        assert_eq!(masked("alice@example.com"), "a•••@example.com");
        assert_eq!(masked("élodie.x@mail.example.org"), "é•••@mail.example.org");
        assert_eq!(masked("élan@exämple.org"), "é•••@exämple.org");
        assert_eq!(masked("a@b.co"), "a•••@b.co");
        assert_eq!(masked("nonsense"), "•••");
    }

    #[test]
    fn valid_addresses_are_kept_trimmed() {
        for ok in ["jane@example.com", " j.doe+aip@mail.example.org ", "a@b.co"] {
            assert_eq!(EmailAddress::parse(ok).unwrap().as_str(), ok.trim());
        }
    }

    #[test]
    fn invalid_addresses_are_refused_with_a_message() {
        let long = format!("{}@example.com", "a".repeat(250));
        for bad in [
            "",
            "plainaddress",
            "@example.com",
            "jane@",
            "jane@localhost",
            "jane doe@example.com",
            "jane@example.com\r\nBcc: x@evil.example",
            "Jane <jane@example.com>",
            "jane@[192.0.2.1]",
            long.as_str(),
        ] {
            let error = EmailAddress::parse(bad).unwrap_err();
            assert_eq!(error.field(), Some("email"), "{bad:?}");
            assert!(!error.to_string().is_empty());
        }
    }

    #[test]
    fn debug_hides_the_local_part() {
        let email = EmailAddress::parse("jane@example.com").unwrap();
        assert_eq!(format!("{email:?}"), "EmailAddress(…@example.com)");
    }
}

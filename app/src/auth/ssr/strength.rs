//! Password rules for a password a person chooses: a length range, and a strength estimate by
//! `zxcvbn` (dictionaries, keyboard patterns, names, dates) that must reach "safely
//! unguessable" for an online attacker. The reason a password is refused is shown beside the
//! field.

use crate::error::AppError;

/// The shortest password accepted.
pub const MIN_PASSWORD_LEN: usize = 8;
/// The longest: hashing cost grows with it, and nobody types more.
pub const MAX_PASSWORD_BYTES: usize = 1024;

/// The least `zxcvbn` score accepted (0–4; 3 is "safely unguessable").
const MIN_SCORE: zxcvbn::Score = zxcvbn::Score::Three;

/// Checks a new password for `field`: its length, and that it is not guessable from common
/// passwords or from `context` (the username, name and address of the account).
pub fn check_new_password(field: &str, password: &str, context: &[&str]) -> Result<(), AppError> {
    check_length(field, password)?;
    let estimate = zxcvbn::zxcvbn(password, context);
    if estimate.score() >= MIN_SCORE {
        return Ok(());
    }
    let feedback = estimate.feedback();
    let warning = feedback
        .and_then(|feedback| feedback.warning())
        .map(|warning| warning.to_string());
    let suggestion = feedback
        .and_then(|feedback| feedback.suggestions().first())
        .map(|suggestion| suggestion.to_string());
    let reason = match (warning, suggestion) {
        (Some(warning), Some(suggestion)) => format!("{warning} {suggestion}"),
        (Some(reason), None) | (None, Some(reason)) => reason,
        (None, None) => "It would be guessed too easily.".to_owned(),
    };
    Err(AppError::invalid(
        field,
        format!("This password is too weak: {reason}"),
    ))
}

/// Checks only the length of a password (for accounts an administrator creates: the
/// administrator chooses it, and the user may change it on their profile).
pub fn check_length(field: &str, password: &str) -> Result<(), AppError> {
    if password.chars().count() < MIN_PASSWORD_LEN || password.len() > MAX_PASSWORD_BYTES {
        return Err(AppError::invalid(
            field,
            format!(
                "The password must have {MIN_PASSWORD_LEN} to {MAX_PASSWORD_BYTES} characters."
            ),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weak_passwords_are_refused_with_a_reason() {
        for weak in [
            "password1",
            "qwertyuiop",
            "aaaaaaaaaaaa",
            "alice2026!",
            "12345678",
        ] {
            let error = check_new_password("new_password", weak, &["alice"]).unwrap_err();
            assert_eq!(error.field(), Some("new_password"), "{weak}");
            assert!(
                error.to_string().starts_with("This password is too weak: "),
                "{error}"
            );
            assert!(error.to_string().len() > 30, "{weak}: {error}");
        }
    }

    #[test]
    fn the_account_itself_is_no_password() {
        assert!(check_new_password("new_password", "JonathanDoe1", &["jonathandoe"]).is_err());
    }

    #[test]
    fn length_is_checked_first_and_strong_passwords_pass() {
        let short = check_new_password("new_password", "x7$Qa", &[]).unwrap_err();
        assert!(short.to_string().contains("8 to 1024"), "{short}");
        let long = "a".repeat(MAX_PASSWORD_BYTES + 1);
        assert!(check_new_password("new_password", &long, &[]).is_err());
        assert!(check_new_password("new_password", "correct horse battery staple", &[]).is_ok());
        assert!(check_new_password("new_password", "Tr0ub4dor&3-vault-mosaic", &["alice"]).is_ok());
    }
}

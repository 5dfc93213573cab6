//! Mail about the account itself, queued in the outbox like notifications but belonging to no
//! event: the link that verifies a new address, and security notices.
//!
//! Policy:
//! - A verification link is `<user id>.<issued>.<HMAC>` over the purpose, the user, the moment
//!   it was issued and the address, keyed with the server's secret. It verifies only the address
//!   it was sent to, only while it is the account's latest link (`users.email_token_issued`,
//!   cleared when used: one use), and only for [`VERIFICATION_TTL`]. At most
//!   [`VERIFICATIONS_PER_HOUR`] are sent per account and hour.
//! - Security notices go to a verified address whatever the notification setting (the mail says
//!   so): a key generated, the password changed or reset, the account disabled, the address
//!   changed (to the old address).

use std::net::IpAddr;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::Utc;
use hmac::{Hmac, Mac};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter, Set};
use secrecy::{ExposeSecret, SecretSlice};
use sha2::Sha256;

use super::compose::{Composed, Page, escape, html_page};
use super::outbox::{MailKind, OutboxStatus};
use crate::db::entity::{outbox, user};
use crate::error::AppError;
use crate::state::AppConfig;

/// How long a verification link works.
pub const VERIFICATION_TTL: chrono::TimeDelta = chrono::TimeDelta::hours(24);
/// Verification mails one account may be sent in an hour.
pub const VERIFICATIONS_PER_HOUR: u64 = 5;

/// Bound into every MAC, so these links can never stand in for another kind of token.
const PURPOSE: &str = "console/verify-email/v1";

fn mac(secret: &SecretSlice<u8>, user_id: i64, issued: i64, address: &str) -> Hmac<Sha256> {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.expose_secret())
        .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
    for part in [PURPOSE, &user_id.to_string(), &issued.to_string(), address] {
        mac.update(part.as_bytes());
        mac.update(b"\n");
    }
    mac
}

/// The verification token of `address` for `user_id`, issued at `issued` (Unix seconds).
pub fn verification_token(
    secret: &SecretSlice<u8>,
    user_id: i64,
    issued: i64,
    address: &str,
) -> String {
    let tag = mac(secret, user_id, issued, address)
        .finalize()
        .into_bytes();
    format!("{user_id}.{issued}.{}", URL_SAFE_NO_PAD.encode(tag))
}

/// A verification token's parts, before its MAC is checked against the account.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerificationToken {
    pub user_id: i64,
    pub issued: i64,
    tag: Vec<u8>,
}

impl VerificationToken {
    /// Reads the exact path segment; anything not of the token's shape is `None`.
    pub fn parse(token: &str) -> Option<Self> {
        let mut parts = token.splitn(3, '.');
        let (user, issued, tag) = (parts.next()?, parts.next()?, parts.next()?);
        // Plain decimal, no sign or leading zero: one spelling per token.
        let decimal = |part: &str| {
            !part.is_empty()
                && part.len() <= 19
                && !part.starts_with('0')
                && part.bytes().all(|byte| byte.is_ascii_digit())
        };
        if !decimal(user) || !decimal(issued) || tag.len() > 64 {
            return None;
        }
        Some(Self {
            user_id: user.parse().ok().filter(|id| *id > 0)?,
            issued: issued.parse().ok().filter(|at| *at > 0)?,
            tag: URL_SAFE_NO_PAD.decode(tag).ok()?,
        })
    }

    /// Whether this token was made by this server for `address`.
    pub fn is_for(&self, secret: &SecretSlice<u8>, address: &str) -> bool {
        mac(secret, self.user_id, self.issued, address)
            .verify_slice(&self.tag)
            .is_ok()
    }

    /// Whether it is past [`VERIFICATION_TTL`] at `now` (Unix seconds).
    pub fn expired(&self, now: i64) -> bool {
        now.saturating_sub(self.issued) > VERIFICATION_TTL.num_seconds()
    }
}

/// Queues a verification mail for `user`'s address (as stored, with its token issued at
/// `user.email_token_issued`). Refused with 429 past [`VERIFICATIONS_PER_HOUR`].
pub async fn send_verification(
    txn: &impl ConnectionTrait,
    config: &AppConfig,
    user: &user::Model,
) -> Result<(), AppError> {
    let (Some(address), Some(issued)) = (user.email.as_deref(), user.email_token_issued) else {
        return Ok(());
    };
    let sent = outbox::Entity::find()
        .filter(outbox::Column::UserId.eq(user.id))
        .filter(outbox::Column::Kind.eq(MailKind::Verification))
        .filter(outbox::Column::CreatedAt.gt(Utc::now() - chrono::TimeDelta::hours(1)))
        .count(txn)
        .await?;
    if sent >= VERIFICATIONS_PER_HOUR {
        return Err(AppError::TooManyRequests {
            retry_after_secs: 3600,
        });
    }
    let addressing = config
        .mail
        .addressing(super::settings::load(txn).await?.as_ref());
    let token = verification_token(&config.mail.secret, user.id, issued, address);
    let link = format!("{}/verify-email/{token}", addressing.public_url);
    let product = &config.product_name;
    let text = format!(
        "{product}\n\nVerify your email address\n\n{username} asked for notifications from \
         {product} to go to {address}. Open this link to confirm it is yours (it works once, for \
         24 hours):\n\n{link}\n\nIf you did not ask for this, ignore this mail: nothing is sent \
         to this address until it is verified.\n",
        username = user.username,
    );
    let html = html_page(
        &Page {
            product,
            heading: "Verify your email address",
            colour: "#1d4ed8",
            button: (&link, "Verify this address"),
        },
        &format!(
            "<p style=\"margin:0 0 16px\">{} asked for notifications from {} to go to \
             <strong>{}</strong>. Confirm it is yours; the link works once, for 24 hours.</p>",
            escape(&user.username),
            escape(product),
            escape(address)
        ),
        "If you did not ask for this, ignore this mail: nothing is sent to this address until \
         it is verified.",
    );
    let mail = Composed {
        subject: format!("[{product}] Verify your email address"),
        text,
        html,
    };
    let unsubscribe = config.mail.unsubscribe_url(&addressing, user.id);
    queue(
        txn,
        user.id,
        address,
        MailKind::Verification,
        mail,
        unsubscribe,
    )
    .await
}

/// Something that happened to an account, for a security notice.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SecurityNotice {
    ApiKeyGenerated,
    PasswordChanged,
    PasswordReset,
    Disabled,
    /// Sent to the old address.
    AddressChanged,
}

impl SecurityNotice {
    fn what(self) -> &'static str {
        match self {
            Self::ApiKeyGenerated => "A new API key was generated",
            Self::PasswordChanged => "Your password was changed",
            Self::PasswordReset => "Your password was reset by an administrator",
            Self::Disabled => "Your account was disabled by an administrator",
            Self::AddressChanged => "Your email address was changed",
        }
    }
}

/// Queues `notice` for `user` to their verified address (`to`, when it is another: the old one
/// after a change), whatever their notification setting. Nothing without a verified address.
pub async fn security_notice(
    txn: &impl ConnectionTrait,
    config: &AppConfig,
    user: &user::Model,
    notice: SecurityNotice,
    ip: Option<IpAddr>,
) -> Result<(), AppError> {
    let Some(address) = user.email.as_deref().filter(|_| user.email_verified) else {
        return Ok(());
    };
    let addressing = config
        .mail
        .addressing(super::settings::load(txn).await?.as_ref());
    let product = &config.product_name;
    let link = format!("{}/profile#security-log", addressing.public_url);
    let when = Utc::now().format("%Y-%m-%d %H:%M UTC").to_string();
    let from = ip.map(|ip| format!(" from {ip}")).unwrap_or_default();
    let what = notice.what();
    let advice = "If this was not you or an administrator you know of, change your password and \
                  tell an administrator.";
    let why = "Security notices are sent whatever your notification setting.";
    let text = format!(
        "{product}\n\n{what}\n\n{what} for the account {username} at {when}{from}.\n\n{advice}\n\n\
         Your security log: {link}\n\n{why}\n",
        username = user.username,
    );
    let html = html_page(
        &Page {
            product,
            heading: what,
            colour: "#b45309",
            button: (&link, "Open your security log"),
        },
        &format!(
            "<p style=\"margin:0 0 16px\">{} for the account <strong>{}</strong> at {}{}.</p>\
             <p style=\"margin:0 0 24px\">{}</p>",
            escape(what),
            escape(&user.username),
            escape(&when),
            escape(&from),
            escape(advice)
        ),
        why,
    );
    let mail = Composed {
        subject: format!("[{product}] {what}"),
        text,
        html,
    };
    let unsubscribe = config.mail.unsubscribe_url(&addressing, user.id);
    queue(txn, user.id, address, MailKind::Security, mail, unsubscribe).await
}

async fn queue(
    txn: &impl ConnectionTrait,
    user_id: i64,
    to: &str,
    kind: MailKind,
    mail: Composed,
    unsubscribe_url: String,
) -> Result<(), AppError> {
    let now = Utc::now();
    outbox::Entity::insert(outbox::ActiveModel {
        event_id: Set(None),
        kind: Set(kind),
        user_id: Set(user_id),
        to_address: Set(to.to_owned()),
        subject: Set(mail.subject),
        text_body: Set(mail.text),
        html_body: Set(mail.html),
        unsubscribe_url: Set(unsubscribe_url),
        status: Set(OutboxStatus::Pending),
        attempts: Set(0),
        next_attempt_at: Set(now),
        locked_until: Set(None),
        last_error: Set(None),
        created_at: Set(now),
        sent_at: Set(None),
        ..Default::default()
    })
    .exec(txn)
    .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secret(byte: u8) -> SecretSlice<u8> {
        vec![byte; 32].into()
    }

    #[test]
    fn a_token_verifies_only_its_address_user_and_server() {
        let token = verification_token(&secret(1), 42, 1_800_000_000, "a@example.com");
        let parsed = VerificationToken::parse(&token).unwrap();
        assert_eq!((parsed.user_id, parsed.issued), (42, 1_800_000_000));
        assert!(parsed.is_for(&secret(1), "a@example.com"));
        assert!(!parsed.is_for(&secret(1), "b@example.com"));
        assert!(!parsed.is_for(&secret(2), "a@example.com"));
        let (_, tag) = token.rsplit_once('.').unwrap();
        for tampered in [
            format!("43.1800000000.{tag}"),
            format!("42.1800000001.{tag}"),
        ] {
            let parsed = VerificationToken::parse(&tampered).unwrap();
            assert!(!parsed.is_for(&secret(1), "a@example.com"), "{tampered}");
        }
        for garbage in [
            "",
            "42",
            "42.x.abc",
            "-1.5.abc",
            "42.5.***",
            &format!("{token}\n"),
        ] {
            assert!(
                VerificationToken::parse(garbage)
                    .is_none_or(|parsed| !parsed.is_for(&secret(1), "a@example.com")),
                "{garbage:?}"
            );
        }
    }

    #[test]
    fn a_token_expires_after_a_day() {
        let parsed =
            VerificationToken::parse(&verification_token(&secret(1), 1, 1000, "x@y.z")).unwrap();
        assert!(!parsed.expired(1000 + 24 * 3600));
        assert!(parsed.expired(1000 + 24 * 3600 + 1));
    }
}

//! The outbox table: preparing mail with its event, claiming due mail for delivery, and
//! recording how each delivery went.
//!
//! Claiming takes a lease (`locked_until`) with `FOR UPDATE SKIP LOCKED` on PostgreSQL, so
//! several instances never deliver the same mail in normal operation. A worker that dies
//! mid-delivery leaves a lease that expires, and the mail is tried again: a rare duplicate
//! (with the same `Message-ID`) rather than a silent drop.

use std::time::Duration;

use chrono::Utc;
use sea_orm::sea_query::{Expr, ExprTrait, LockBehavior, LockType, Order, Query};
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter, Set,
};

use super::compose::{Notice, compose};
use crate::db::entity::{application, job, outbox, user, version};
use crate::error::AppError;
use crate::events::{self, Event, EventKind};
use crate::state::AppConfig;
use OutboxStatus::{Failed, Pending, Sent};

/// Where a mail is: waiting (or being tried again), delivered, or given up on. Stored in lower
/// case.
#[derive(Clone, Copy, Debug, PartialEq, Eq, sea_orm::EnumIter, sea_orm::DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "Text", rename_all = "lowercase")]
pub enum OutboxStatus {
    Pending,
    Sent,
    Failed,
}

/// What a mail is about. Stored in lower case.
#[derive(Clone, Copy, Debug, PartialEq, Eq, sea_orm::EnumIter, sea_orm::DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "Text", rename_all = "lowercase")]
pub enum MailKind {
    /// An event the user wants to hear of (notifications on, address verified).
    Notification,
    /// A link proving an address is the user's.
    Verification,
    /// Something happened to the account: sent to a verified address whatever the user's
    /// notification setting.
    Security,
}

/// The first retry waits this long; each further one twice as long, up to [`MAX_BACKOFF`].
const FIRST_BACKOFF: Duration = Duration::from_secs(5);
const MAX_BACKOFF: Duration = Duration::from_secs(3600);

/// How long to wait before delivery attempt `attempts + 1`.
pub fn backoff(attempts: i32) -> Duration {
    // `std::cmp::min`: sea-query's `ExprTrait` also has a `min`.
    let doublings = std::cmp::min(u32::try_from(attempts.saturating_sub(1)).unwrap_or(0), 20);
    std::cmp::min(
        FIRST_BACKOFF.saturating_mul(2u32.saturating_pow(doublings)),
        MAX_BACKOFF,
    )
}

/// Records `event` and queues its notification mail; call it with the transaction that makes
/// the change, so the change, its event and its mail exist together or not at all.
pub async fn record(
    txn: &impl ConnectionTrait,
    config: &AppConfig,
    event: Event,
) -> Result<(), AppError> {
    let id = events::insert(txn, &event).await?;
    enqueue(txn, config, id, &event).await?;
    Ok(())
}

/// Prepares the mail for `event` (recorded as `event_id`): one per recipient — the
/// application's owner and the actor, each once — who has an address and wants notifications
/// now. Call it in the event's transaction. Returns how many were prepared (held back ones
/// included).
///
/// A recipient who was already sent `MailConfig::per_user_hourly` mails in
/// the past hour gets none: the mail is recorded as failed, unsent, with the reason, where
/// administrators see undelivered mail (and may send it anyway).
pub async fn enqueue(
    txn: &impl ConnectionTrait,
    config: &AppConfig,
    event_id: i64,
    event: &Event,
) -> Result<usize, AppError> {
    let application = application::Entity::find_by_id(event.application_id)
        .one(txn)
        .await?
        .ok_or(AppError::Internal)?;
    let mut people = vec![application.owner_id];
    people.extend(
        event
            .actor_id
            .filter(|actor| *actor != application.owner_id),
    );
    let users = user::Entity::find()
        .filter(user::Column::Id.is_in(people))
        .all(txn)
        .await?;
    let recipients: Vec<&user::Model> = users
        .iter()
        .filter(|user| {
            user.notifications
                && user.email.is_some()
                && user.email_verified
                && user.disabled_at.is_none()
        })
        .collect();
    if recipients.is_empty() {
        return Ok(0);
    }
    let version = match event.version_id {
        Some(id) => version::Entity::find_by_id(id)
            .one(txn)
            .await?
            .map(|v| v.name),
        None => None,
    };
    // The kind's label comes with the event; only a failure needs the job's row, for its error.
    let error = match (event.kind, event.job_id) {
        (EventKind::JobFailed, Some(id)) => job::Entity::find_by_id(id)
            .one(txn)
            .await?
            .and_then(|job| job.error),
        _ => None,
    };
    let actor = users
        .iter()
        .find(|user| Some(user.id) == event.actor_id)
        .map(|user| user.username.clone())
        .unwrap_or_default();
    let addressing = config
        .mail
        .addressing(super::settings::load(txn).await?.as_ref());
    let now = Utc::now();
    let notice = Notice {
        kind: event.kind,
        work: event.work,
        application_id: application.id,
        application: application.name.clone(),
        version,
        actor,
        error,
        at: now,
    };
    for recipient in &recipients {
        let over_budget = sent_within_the_hour(txn, recipient.id).await?
            >= u64::from(config.mail.per_user_hourly);
        if over_budget {
            tracing::warn!(
                user_id = recipient.id,
                budget = config.mail.per_user_hourly,
                "notification mail over the user's hourly budget: not sent"
            );
        }
        let unsubscribe_url = config.mail.unsubscribe_url(&addressing, recipient.id);
        let mail = compose(
            &config.product_name,
            &addressing.public_url,
            &notice,
            &unsubscribe_url,
        );
        outbox::Entity::insert(outbox::ActiveModel {
            event_id: Set(Some(event_id)),
            kind: Set(MailKind::Notification),
            user_id: Set(recipient.id),
            to_address: Set(recipient.email.clone().unwrap_or_default()),
            subject: Set(mail.subject),
            text_body: Set(mail.text),
            html_body: Set(mail.html),
            unsubscribe_url: Set(unsubscribe_url),
            status: Set(if over_budget { Failed } else { Pending }),
            attempts: Set(0),
            next_attempt_at: Set(now),
            locked_until: Set(None),
            last_error: Set(over_budget.then(|| {
                format!(
                    "Not sent: {} was already sent {} notification mails in the past hour \
                     (CONSOLE_MAIL_PER_USER_HOUR). Retry sends it anyway.",
                    recipient.username, config.mail.per_user_hourly
                )
            })),
            created_at: Set(now),
            sent_at: Set(None),
            ..Default::default()
        })
        .exec(txn)
        .await?;
    }
    Ok(recipients.len())
}

/// Notification mails `user_id` was sent, or has waiting, from the past hour; those held back by
/// the budget (failed without an attempt) and mail about the account do not count.
async fn sent_within_the_hour(txn: &impl ConnectionTrait, user_id: i64) -> Result<u64, AppError> {
    use sea_orm::PaginatorTrait;
    let held_back = Condition::all()
        .add(outbox::Column::Status.eq(Failed))
        .add(outbox::Column::Attempts.eq(0));
    Ok(outbox::Entity::find()
        .filter(outbox::Column::UserId.eq(user_id))
        .filter(outbox::Column::Kind.eq(MailKind::Notification))
        .filter(outbox::Column::CreatedAt.gt(Utc::now() - chrono::Duration::hours(1)))
        .filter(held_back.not())
        .count(txn)
        .await?)
}

/// Gives up on the mail waiting for `user_id` (their account is being disabled): marked failed,
/// with the reason, where administrators see undelivered mail. Security notices still go out:
/// the one that tells them of it above all. Returns how many.
pub async fn drop_for_disabled(txn: &impl ConnectionTrait, user_id: i64) -> Result<u64, AppError> {
    Ok(outbox::Entity::update_many()
        .col_expr(outbox::Column::Status, Expr::value(Failed))
        .col_expr(
            outbox::Column::LastError,
            Expr::value("Not sent: the account was disabled."),
        )
        .filter(outbox::Column::UserId.eq(user_id))
        .filter(outbox::Column::Status.eq(Pending))
        .filter(outbox::Column::Kind.ne(MailKind::Security))
        .exec(txn)
        .await?
        .rows_affected)
}

/// Leases up to `limit` due mails for `lease`, oldest first.
pub async fn claim(
    db: &impl ConnectionTrait,
    limit: u64,
    lease: Duration,
) -> Result<Vec<outbox::Model>, AppError> {
    let now = Utc::now();
    let free = Condition::any()
        .add(outbox::Column::LockedUntil.is_null())
        .add(outbox::Column::LockedUntil.lt(now));
    let due = Query::select()
        .column(outbox::Column::Id)
        .from(outbox::Entity)
        .and_where(outbox::Column::Status.eq(Pending))
        .and_where(outbox::Column::NextAttemptAt.lte(now))
        .cond_where(free.clone())
        .order_by(outbox::Column::Id, Order::Asc)
        .limit(limit)
        .lock_with_behavior(LockType::Update, LockBehavior::SkipLocked)
        .to_owned();
    let until = now + chrono::Duration::from_std(lease).unwrap_or(chrono::Duration::MAX);
    Ok(outbox::Entity::update_many()
        .col_expr(outbox::Column::LockedUntil, Expr::value(until))
        .col_expr(
            outbox::Column::Attempts,
            Expr::col(outbox::Column::Attempts).add(1),
        )
        .filter(crate::db::in_claim(
            db.get_database_backend(),
            outbox::Column::Id,
            due,
        ))
        .filter(outbox::Column::Status.eq(Pending))
        .filter(free)
        .exec_with_returning(db)
        .await?)
}

/// Records mails as delivered, in one statement. A mail claimed again since (its attempt count,
/// the claim's token, changed: taken over after the lease ran out, or retried) is left alone.
pub async fn record_sent(
    db: &impl ConnectionTrait,
    mails: &[&outbox::Model],
) -> Result<(), AppError> {
    if mails.is_empty() {
        return Ok(());
    }
    let claims = mails.iter().fold(Condition::any(), |claims, mail| {
        claims.add(
            Condition::all()
                .add(outbox::Column::Id.eq(mail.id))
                .add(outbox::Column::Attempts.eq(mail.attempts)),
        )
    });
    outbox::Entity::update_many()
        .col_expr(outbox::Column::Status, Expr::value(Sent))
        .col_expr(outbox::Column::SentAt, Expr::value(Utc::now()))
        .col_expr(
            outbox::Column::LockedUntil,
            Expr::value(Option::<chrono::DateTime<Utc>>::None),
        )
        .col_expr(
            outbox::Column::LastError,
            Expr::value(Option::<String>::None),
        )
        .filter(outbox::Column::Status.eq(Pending))
        .filter(claims)
        .exec(db)
        .await?;
    Ok(())
}

/// Gives back mails claimed but not tried (the instance is shutting down): due again at once for
/// any worker, the claim's attempt not counted. A mail claimed again since is left alone.
pub async fn release(db: &impl ConnectionTrait, mails: &[&outbox::Model]) -> Result<(), AppError> {
    for mail in mails {
        outbox::Entity::update_many()
            .col_expr(
                outbox::Column::LockedUntil,
                Expr::value(Option::<chrono::DateTime<Utc>>::None),
            )
            .col_expr(
                outbox::Column::Attempts,
                Expr::col(outbox::Column::Attempts).sub(1),
            )
            .filter(outbox::Column::Id.eq(mail.id))
            .filter(outbox::Column::Status.eq(Pending))
            .filter(outbox::Column::Attempts.eq(mail.attempts))
            .exec(db)
            .await?;
    }
    Ok(())
}

/// Mail a worker is delivering right now: claimed, its lease not yet lapsed.
pub async fn in_flight(db: &impl ConnectionTrait) -> Result<u64, AppError> {
    Ok(outbox::Entity::find()
        .filter(outbox::Column::Status.eq(Pending))
        .filter(outbox::Column::LockedUntil.gt(Utc::now()))
        .count(db)
        .await?)
}

/// Mail due to be sent now (not waiting out a backoff), and mail given up on.
pub async fn backlog(db: &impl ConnectionTrait) -> Result<(u64, u64), AppError> {
    let due = outbox::Entity::find()
        .filter(outbox::Column::Status.eq(Pending))
        .filter(outbox::Column::NextAttemptAt.lte(Utc::now()))
        .count(db)
        .await?;
    let failed = outbox::Entity::find()
        .filter(outbox::Column::Status.eq(Failed))
        .count(db)
        .await?;
    Ok((due, failed))
}

/// Mail not yet delivered nor given up on.
pub async fn pending(db: &impl ConnectionTrait) -> Result<u64, AppError> {
    Ok(outbox::Entity::find()
        .filter(outbox::Column::Status.eq(Pending))
        .count(db)
        .await?)
}

/// Records a failed delivery: retried after a backoff, or given up on after `max_attempts`.
/// Like [`record_sent`], leaves a mail claimed again since alone.
pub async fn record_failure(
    db: &impl ConnectionTrait,
    mail: &outbox::Model,
    error: String,
    max_attempts: i32,
) -> Result<(), AppError> {
    let update = outbox::Entity::update_many()
        .col_expr(
            outbox::Column::LockedUntil,
            Expr::value(Option::<chrono::DateTime<Utc>>::None),
        )
        .col_expr(outbox::Column::LastError, Expr::value(error))
        .filter(outbox::Column::Id.eq(mail.id))
        .filter(outbox::Column::Status.eq(Pending))
        .filter(outbox::Column::Attempts.eq(mail.attempts));
    let update = if mail.attempts >= max_attempts {
        update.col_expr(outbox::Column::Status, Expr::value(Failed))
    } else {
        let retry_at = Utc::now()
            + chrono::Duration::from_std(backoff(mail.attempts)).unwrap_or(chrono::Duration::MAX);
        update.col_expr(outbox::Column::NextAttemptAt, Expr::value(retry_at))
    };
    update.exec(db).await?;
    Ok(())
}

/// Which undelivered mail to make due now.
#[derive(Clone, Copy, Debug)]
pub enum Retry {
    /// One waiting or failed mail, with its attempts back (an administrator's Retry).
    Mail(i64),
    /// Every waiting and failed mail, with their attempts back (Retry all).
    Undelivered,
    /// Every waiting mail (new mail server settings).
    Waiting,
}

/// Makes undelivered mail due now. Never a mail a worker is sending at that moment: resetting
/// its attempts would void the worker's claim; nor mail of a disabled account. Returns how many.
pub async fn retry_now(db: &impl ConnectionTrait, which: Retry) -> Result<u64, AppError> {
    let now = Utc::now();
    let disabled = Query::select()
        .column(user::Column::Id)
        .from(user::Entity)
        .and_where(user::Column::DisabledAt.is_not_null())
        .to_owned();
    let update = outbox::Entity::update_many()
        .col_expr(outbox::Column::NextAttemptAt, Expr::value(now))
        .filter(outbox::Column::UserId.not_in_subquery(disabled))
        .filter(
            Condition::any()
                .add(outbox::Column::LockedUntil.is_null())
                .add(outbox::Column::LockedUntil.lt(now)),
        );
    let update = match which {
        Retry::Waiting => update.filter(outbox::Column::Status.eq(Pending)),
        Retry::Mail(_) | Retry::Undelivered => {
            let update = update
                .col_expr(outbox::Column::Status, Expr::value(Pending))
                .col_expr(outbox::Column::Attempts, Expr::value(0))
                .filter(outbox::Column::Status.is_in([Pending, Failed]));
            match which {
                Retry::Mail(id) => update.filter(outbox::Column::Id.eq(id)),
                _ => update,
            }
        }
    };
    Ok(update.exec(db).await?.rows_affected)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_an_hour() {
        let seconds: Vec<u64> = (1..=12).map(|n| backoff(n).as_secs()).collect();
        assert_eq!(
            seconds,
            [5, 10, 20, 40, 80, 160, 320, 640, 1280, 2560, 3600, 3600]
        );
        assert_eq!(backoff(0).as_secs(), 5);
        assert_eq!(backoff(i32::MAX).as_secs(), 3600);
    }
}

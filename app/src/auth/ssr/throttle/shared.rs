//! Throttles shared by the instances on one PostgreSQL: each budget is a row of `throttles`
//! holding its GCRA state (the theoretical arrival time, `tat`), updated by one statement per
//! counted attempt, so the N-th attempt on any instance is the N-th attempt.
//!
//! An address that runs out of its REST budget is blocked on the instance that saw it at once,
//! and on every other instance as soon as the `NOTIFY` reaches its `LISTEN` connection
//! (milliseconds); an instance whose listening connection was down reads the blocks still in
//! force from the table when it is back. Until an instance learns of a block, a bad attempt
//! there is still counted in the database and refused, so only a valid credential from the
//! blocked address can slip through in that moment.

use std::net::IpAddr;
use std::time::Duration;

use sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend, Statement};

use crate::error::AppError;

/// The channel blocks are announced on: `<address> <milliseconds from now>`.
pub const CHANNEL: &str = "console_throttle_blocks";

/// One budget: `burst` attempts at once, then one per `period`.
#[derive(Clone, Copy, Debug)]
pub struct Budget {
    pub period: Duration,
    pub burst: u32,
}

/// Counts one attempt against `key`'s budget; how long to wait when it is over.
pub async fn count(
    db: &DatabaseConnection,
    key: &str,
    budget: Budget,
) -> Result<Option<Duration>, AppError> {
    // Allowed when tat <= now + (burst - 1) × period; then tat = max(tat, now) + period. (The SET
    // expressions all read the row as it was.) A refused attempt leaves tat as it was.
    const GCRA: &str = "\
        INSERT INTO throttles AS t (key, tat, allowed) \
        VALUES ($1, now() + $2 * interval '1 millisecond', TRUE) \
        ON CONFLICT (key) DO UPDATE SET \
          allowed = t.tat <= now() + ($3 - 1) * $2 * interval '1 millisecond', \
          tat = CASE WHEN t.tat <= now() + ($3 - 1) * $2 * interval '1 millisecond' \
                THEN GREATEST(t.tat, now()) + $2 * interval '1 millisecond' ELSE t.tat END \
        RETURNING allowed, \
          CEIL(EXTRACT(EPOCH FROM (tat - now() - ($3 - 1) * $2 * interval '1 millisecond')) \
               * 1000)::BIGINT AS wait_ms";
    let period_ms = i64::try_from(budget.period.as_millis()).unwrap_or(i64::MAX);
    let row = db
        .query_one_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            GCRA,
            [
                key.into(),
                period_ms.into(),
                i64::from(budget.burst.max(1)).into(),
            ],
        ))
        .await?
        .ok_or(AppError::Internal)?;
    let allowed: bool = row.try_get("", "allowed")?;
    if allowed {
        return Ok(None);
    }
    let wait_ms: i64 = row.try_get("", "wait_ms")?;
    Ok(Some(Duration::from_millis(
        u64::try_from(wait_ms).unwrap_or(0).max(1),
    )))
}

/// How long `key`'s budget is still spent, if it is: its next attempt would be refused. Counts
/// nothing.
pub async fn spent(
    db: &DatabaseConnection,
    key: &str,
    budget: Budget,
) -> Result<Option<Duration>, AppError> {
    let period_ms = i64::try_from(budget.period.as_millis()).unwrap_or(i64::MAX);
    let row = db
        .query_one_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            "SELECT CEIL(EXTRACT(EPOCH FROM (tat - now() - ($3 - 1) * $2 * interval '1 millisecond')) \
               * 1000)::BIGINT AS wait_ms \
             FROM throttles WHERE key = $1 AND tat > now() + ($3 - 1) * $2 * interval '1 millisecond'",
            [
                key.into(),
                period_ms.into(),
                i64::from(budget.burst.max(1)).into(),
            ],
        ))
        .await?;
    let Some(row) = row else { return Ok(None) };
    let wait_ms: i64 = row.try_get("", "wait_ms")?;
    Ok(Some(Duration::from_millis(
        u64::try_from(wait_ms).unwrap_or(0).max(1),
    )))
}

/// Tells the other instances that `address` is blocked for `wait`.
pub async fn announce(db: &DatabaseConnection, address: IpAddr, wait: Duration) {
    let payload = format!("{address} {}", wait.as_millis());
    let sent = db
        .execute_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            "SELECT pg_notify($1, $2)",
            [CHANNEL.into(), payload.into()],
        ))
        .await;
    if let Err(error) = sent {
        tracing::warn!(%error, "could not announce a throttle block");
    }
}

/// `<address> <milliseconds>` → the address and how long it is blocked.
pub fn parse_announcement(payload: &str) -> Option<(IpAddr, Duration)> {
    let (address, millis) = payload.split_once(' ')?;
    Some((
        address.parse().ok()?,
        Duration::from_millis(millis.parse().ok()?),
    ))
}

/// Addresses blocked right now, with how long: what an instance reads when it (re)starts
/// listening. REST budgets are keyed `rest:<address>`.
pub async fn blocks_in_force(
    db: &DatabaseConnection,
    budget: Budget,
) -> Result<Vec<(IpAddr, Duration)>, AppError> {
    let period_ms = i64::try_from(budget.period.as_millis()).unwrap_or(i64::MAX);
    let rows = db
        .query_all_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            "SELECT substr(key, 6) AS address, \
               CEIL(EXTRACT(EPOCH FROM (tat - now() - ($2 - 1) * $1 * interval '1 millisecond')) \
                    * 1000)::BIGINT AS wait_ms \
             FROM throttles WHERE key LIKE 'rest:%' AND NOT allowed \
               AND tat > now() + ($2 - 1) * $1 * interval '1 millisecond'",
            [period_ms.into(), i64::from(budget.burst.max(1)).into()],
        ))
        .await?;
    Ok(rows
        .iter()
        .filter_map(|row| {
            let address: String = row.try_get("", "address").ok()?;
            let wait_ms: i64 = row.try_get("", "wait_ms").ok()?;
            Some((
                address.parse().ok()?,
                Duration::from_millis(u64::try_from(wait_ms).ok()?),
            ))
        })
        .collect())
}

/// Forgets budgets back at full quota (their `tat` has passed).
pub async fn forget_idle(db: &DatabaseConnection) -> Result<u64, AppError> {
    Ok(db
        .execute_raw(Statement::from_string(
            DbBackend::Postgres,
            "DELETE FROM throttles WHERE tat < now()",
        ))
        .await?
        .rows_affected())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn announcements_round_trip_and_garbage_is_ignored() {
        let address: IpAddr = "2001:db8::".parse().unwrap();
        let payload = format!("{address} {}", 2500);
        assert_eq!(
            parse_announcement(&payload),
            Some((address, Duration::from_millis(2500)))
        );
        for garbage in ["", "10.0.0.1", "nonsense 5", "10.0.0.1 soon"] {
            assert_eq!(parse_announcement(garbage), None, "{garbage}");
        }
    }
}

//! Throttling of authentication, per client: GCRA budgets, in memory with `governor` on SQLite
//! (one instance), in the database on PostgreSQL ([`shared`]), so that several instances share
//! one budget per client. Idle state is dropped by [`Throttles::forget_idle`], which start-up
//! runs every ten minutes.
//!
//! Only failures count: wrong passwords per address and username, and per address, and failed
//! REST authentications per address (a valid request costs no query, and an office behind one
//! address signs in all morning without spending anything). A client over its budget is
//! refused outright (429) until it refills, even with valid credentials, so a throttled client
//! cannot go on guessing; every instance keeps the blocks it made or learned of in memory, and
//! checks them before anything else. On PostgreSQL a sign-in also asks the shared budgets
//! before its password is checked.
//!
//! An IPv6 client is counted per /64 ([`client_key`]): one host or subscriber is given a whole
//! /64 and can pick a new address in it for every request.

pub mod shared;

use std::collections::HashMap;
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use governor::clock::{Clock, DefaultClock};
use governor::middleware::{StateInformationMiddleware, StateSnapshot};
use governor::{DefaultKeyedRateLimiter, NotUntil, Quota, RateLimiter};
use sea_orm::DatabaseConnection;

use crate::error::AppError;
use shared::Budget;

/// The console's rate limiters.
pub struct Throttles {
    /// Failed sign-ins per client address and username.
    sign_in: DefaultKeyedRateLimiter<(IpAddr, String), StateInformationMiddleware>,
    /// Failed sign-ins per client address, whatever the username (password spraying).
    sign_in_per_address: DefaultKeyedRateLimiter<IpAddr, StateInformationMiddleware>,
    /// Sign-in budgets spent, refused until the given instant (in memory).
    sign_in_blocked: Mutex<HashMap<SignInBudget, Instant>>,
    /// Failed REST authentications (API key or Basic) per client address.
    rest_failures: DefaultKeyedRateLimiter<IpAddr>,
    /// Addresses refused until the given instant, after exceeding `rest_failures`.
    rest_blocked: Mutex<HashMap<IpAddr, Instant>>,
    /// The database that holds the budgets when instances share them (PostgreSQL).
    shared: Option<DatabaseConnection>,
    rest_burst: NonZeroU32,
}

/// One of a client's two sign-in budgets.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
enum SignInBudget {
    Address(IpAddr),
    Username(IpAddr, String),
}

/// Sign-in: five failures per username at once, then one every 12 s…
const SIGN_IN: Budget = Budget {
    period: Duration::from_secs(12),
    burst: 5,
};
/// …and twenty per address, then one every 3 s.
const SIGN_IN_PER_ADDRESS: Budget = Budget {
    period: Duration::from_secs(3),
    burst: 20,
};
/// REST failures refill one every 3 s.
const REST_PERIOD: Duration = Duration::from_secs(3);

/// Failed REST authentications a client may make at once before it is throttled.
pub const DEFAULT_REST_FAILURE_BURST: NonZeroU32 = NonZeroU32::MIN.saturating_add(19);

/// Usernames are keys of the sign-in limiter; longer ones are cut (memory stays bounded).
const MAX_USERNAME_KEY: usize = 64;

impl Default for Throttles {
    fn default() -> Self {
        Self::new(DEFAULT_REST_FAILURE_BURST)
    }
}

impl Throttles {
    /// Sign-in: five failures per username at once, then one every 12 s, and twenty per address
    /// at once, then one every 3 s. REST: `rest_failure_burst` failures at once, then one every 3 s.
    pub fn new(rest_failure_burst: NonZeroU32) -> Self {
        Self {
            sign_in: RateLimiter::keyed(quota(SIGN_IN)).with_middleware(),
            sign_in_per_address: RateLimiter::keyed(quota(SIGN_IN_PER_ADDRESS)).with_middleware(),
            sign_in_blocked: Mutex::default(),
            rest_failures: RateLimiter::keyed(quota(Budget {
                period: REST_PERIOD,
                burst: rest_failure_burst.get(),
            })),
            rest_blocked: Mutex::default(),
            shared: None,
            rest_burst: rest_failure_burst,
        }
    }

    /// The same budgets, kept in `db` when it is PostgreSQL (shared by the instances on it),
    /// else in memory.
    pub fn for_database(rest_failure_burst: NonZeroU32, db: &DatabaseConnection) -> Self {
        let shared =
            (db.get_database_backend() == sea_orm::DbBackend::Postgres).then(|| db.clone());
        Self {
            shared,
            ..Self::new(rest_failure_burst)
        }
    }

    fn rest_budget(&self) -> Budget {
        Budget {
            period: REST_PERIOD,
            burst: self.rest_burst.get(),
        }
    }

    /// Refuses a password check of `username` from `ip` while this client has failed too often,
    /// with this username or with any. Spends nothing: see [`Self::sign_in_failed`].
    pub async fn check_sign_in(&self, ip: IpAddr, username: &str) -> Result<(), AppError> {
        let (ip, username) = sign_in_key(ip, username);
        let budgets = budgets(ip, &username);
        let mut wait = self.sign_in_block(&budgets);
        if wait.is_none()
            && let Some(db) = &self.shared
        {
            for (budget, limit) in budgets.iter().zip([SIGN_IN_PER_ADDRESS, SIGN_IN]) {
                wait = wait.max(shared::spent(db, &shared_key(budget), limit).await?);
            }
        }
        match wait {
            None => Ok(()),
            Some(wait) => {
                crate::metrics::throttled("sign_in");
                Err(AppError::TooManyRequests {
                    retry_after_secs: wait.as_secs() + 1,
                })
            }
        }
    }

    /// Counts a wrong password for `username` from `ip`. A client whose budget this spends is
    /// refused from the next attempt on ([`Self::check_sign_in`]), until it refills.
    pub async fn sign_in_failed(&self, ip: IpAddr, username: &str) {
        let (ip, username) = sign_in_key(ip, username);
        let [address, name] = budgets(ip, &username);
        let spent = match &self.shared {
            Some(db) => {
                let mut spent = Vec::new();
                for (budget, limit) in [(address, SIGN_IN_PER_ADDRESS), (name, SIGN_IN)] {
                    match shared::count(db, &shared_key(&budget), limit).await {
                        Ok(Some(wait)) => spent.push((budget, wait)),
                        Ok(None) => {}
                        Err(error) => tracing::warn!(%error, "could not count a failed sign-in"),
                    }
                }
                spent
            }
            None => {
                let per_address = self.sign_in_per_address.check_key(&ip);
                let per_name = self.sign_in.check_key(&(ip, username));
                [
                    (address, per_address, SIGN_IN_PER_ADDRESS),
                    (name, per_name, SIGN_IN),
                ]
                .into_iter()
                .filter_map(|(budget, counted, limit)| Some((budget, spent(counted, limit)?)))
                .collect()
            }
        };
        if spent.is_empty() {
            return;
        }
        let now = Instant::now();
        let mut blocked = self
            .sign_in_blocked
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        for (budget, wait) in spent {
            let entry = blocked.entry(budget).or_insert(now);
            *entry = (*entry).max(now + wait);
        }
    }

    /// How long `budgets` are still blocked on this instance, if any is.
    fn sign_in_block(&self, budgets: &[SignInBudget]) -> Option<Duration> {
        let now = Instant::now();
        let blocked = self
            .sign_in_blocked
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        budgets
            .iter()
            .filter_map(|budget| blocked.get(budget))
            .filter(|until| **until > now)
            .map(|until| until.saturating_duration_since(now))
            .max()
    }

    /// Refuses a REST client that is throttled, before its credentials are even looked at.
    pub fn check_rest_client(&self, ip: IpAddr) -> Result<(), AppError> {
        let ip = client_key(ip);
        let mut blocked = self
            .rest_blocked
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        match blocked.get(&ip) {
            Some(until) if *until > Instant::now() => {
                crate::metrics::throttled("rest");
                Err(AppError::TooManyRequests {
                    retry_after_secs: until.saturating_duration_since(Instant::now()).as_secs() + 1,
                })
            }
            Some(_) => {
                blocked.remove(&ip);
                Ok(())
            }
            None => Ok(()),
        }
    }

    /// Counts a failed REST authentication. Returns the error to answer with: the given one as a
    /// rule; 429 once this address has failed too often, and it is then blocked until its quota
    /// allows another attempt (on every instance, when they share the budgets).
    pub async fn rest_failure(&self, ip: IpAddr, error: AppError) -> AppError {
        crate::metrics::auth_failure(match error {
            AppError::InvalidApiKey => "api_key",
            AppError::InvalidCredentials => "password",
            _ => "malformed",
        });
        let ip = client_key(ip);
        let wait = match &self.shared {
            Some(db) => match shared::count(db, &format!("rest:{ip}"), self.rest_budget()).await {
                Ok(None) => return error,
                Ok(Some(wait)) => {
                    shared::announce(db, ip, wait).await;
                    wait
                }
                Err(failed) => return failed,
            },
            None => match self.rest_failures.check_key(&ip) {
                Ok(()) => return error,
                Err(not_until) => not_until.wait_time_from(DefaultClock::default().now()),
            },
        };
        self.block(ip, wait);
        crate::metrics::throttled("rest");
        AppError::TooManyRequests {
            retry_after_secs: wait.as_secs() + 1,
        }
    }

    /// Refuses REST requests from `ip` (a client key) for `wait`.
    fn block(&self, ip: IpAddr, wait: Duration) {
        let until = Instant::now() + wait;
        let mut blocked = self
            .rest_blocked
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let entry = blocked.entry(ip).or_insert(until);
        *entry = (*entry).max(until);
    }

    /// Learns the blocks other instances make, as they make them, until dropped: a `LISTEN`
    /// connection of its own, re-established (and the blocks in force read again) when lost.
    /// Returns at once when the budgets are not shared.
    pub async fn listen(&self) {
        let Some(db) = &self.shared else { return };
        loop {
            if let Err(error) = self.listen_once(db).await {
                tracing::warn!(%error, "throttle blocks: listening failed; again in 1 s");
            }
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
    }

    async fn listen_once(&self, db: &DatabaseConnection) -> Result<(), AppError> {
        let database = |error: sqlx::Error| {
            tracing::warn!(%error, "throttle blocks: database");
            AppError::Internal
        };
        let mut listener =
            sqlx::postgres::PgListener::connect_with(db.get_postgres_connection_pool())
                .await
                .map_err(database)?;
        listener.listen(shared::CHANNEL).await.map_err(database)?;
        loop {
            // Read once listening, and again after every reconnection: announcements made while
            // the connection was down are lost, the blocks they announced are in the table.
            for (ip, wait) in shared::blocks_in_force(db, self.rest_budget()).await? {
                self.block(ip, wait);
            }
            // `None`: the connection was lost; the next call reconnects.
            while let Some(notification) = listener.try_recv().await.map_err(database)? {
                if let Some((ip, wait)) = shared::parse_announcement(notification.payload()) {
                    self.block(client_key(ip), wait);
                }
            }
            tracing::warn!("throttle blocks: the listening connection was lost; reconnecting");
        }
    }

    /// Drops the state of clients that have been quiet long enough to be back at full quota.
    pub async fn forget_idle(&self) {
        if let Some(db) = &self.shared
            && let Err(error) = shared::forget_idle(db).await
        {
            tracing::warn!(%error, "could not forget idle throttles");
        }
        self.sign_in.retain_recent();
        self.sign_in_per_address.retain_recent();
        self.rest_failures.retain_recent();
        let now = Instant::now();
        self.sign_in_blocked
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .retain(|_, until| *until > now);
        self.rest_blocked
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .retain(|_, until| *until > now);
    }
}

/// What a client address is counted under: an IPv4 address as it is (IPv4-mapped IPv6 too), an
/// IPv6 address as its /64.
pub fn client_key(ip: IpAddr) -> IpAddr {
    match ip.to_canonical() {
        IpAddr::V6(v6) => IpAddr::V6(std::net::Ipv6Addr::from_bits(
            v6.to_bits() & !((1u128 << 64) - 1),
        )),
        v4 => v4,
    }
}

/// What a sign-in is counted under: the client's key ([`client_key`]) and the username as
/// typed, trimmed, in lower case and cut to [`MAX_USERNAME_KEY`].
fn sign_in_key(ip: IpAddr, username: &str) -> (IpAddr, String) {
    (client_key(ip), username_key(username))
}

/// A username as it is counted against (throttles, shares): trimmed, in lower case and cut to
/// [`MAX_USERNAME_KEY`] characters.
pub fn username_key(username: &str) -> String {
    username
        .trim()
        .to_lowercase()
        .chars()
        .take(MAX_USERNAME_KEY)
        .collect()
}

/// The two budgets a failed sign-in spends: the address's and the address and username's.
fn budgets(ip: IpAddr, username: &str) -> [SignInBudget; 2] {
    [
        SignInBudget::Address(ip),
        SignInBudget::Username(ip, username.to_owned()),
    ]
}

/// How long a budget that just counted a failure stays spent: until the next failure would be
/// let through, at most one period once the last of the burst is gone.
fn spent(
    counted: Result<StateSnapshot, NotUntil<<DefaultClock as Clock>::Instant>>,
    limit: Budget,
) -> Option<Duration> {
    match counted {
        Ok(left) if left.remaining_burst_capacity() > 0 => None,
        Ok(_) => Some(limit.period),
        Err(not_until) => Some(not_until.wait_time_from(DefaultClock::default().now())),
    }
}

/// A sign-in budget's row in the shared `throttles` table.
fn shared_key(budget: &SignInBudget) -> String {
    match budget {
        SignInBudget::Address(ip) => format!("sign-in:{ip}"),
        SignInBudget::Username(ip, username) => format!("sign-in:{ip}:{username}"),
    }
}

fn quota(budget: Budget) -> Quota {
    let burst = NonZeroU32::new(budget.burst).unwrap_or(NonZeroU32::MIN);
    Quota::with_period(budget.period)
        .unwrap_or_else(|| Quota::per_second(NonZeroU32::MIN))
        .allow_burst(burst)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A fresh PostgreSQL database of the test command's cluster, migrated.
    async fn fresh_postgres() -> DatabaseConnection {
        use sea_orm::ConnectionTrait;
        let admin_url = std::env::var("TEST_POSTGRES_URL").expect(
            "TEST_POSTGRES_URL is not set: run the tests with scripts/test.sh, which starts PostgreSQL",
        );
        let admin = sea_orm::Database::connect(&admin_url).await.unwrap();
        let name = format!("console_unit_{}", rand::random::<u64>());
        admin
            .execute_unprepared(&format!("CREATE DATABASE {name}"))
            .await
            .unwrap();
        let base = admin_url.rsplit_once('/').unwrap().0;
        crate::db::connect(&format!("{base}/{name}")).await.unwrap()
    }

    /// The budgets in memory, and shared in PostgreSQL.
    async fn each_backend() -> Vec<Throttles> {
        vec![
            Throttles::default(),
            Throttles::for_database(DEFAULT_REST_FAILURE_BURST, &fresh_postgres().await),
        ]
    }

    fn is_429(error: &AppError) -> bool {
        matches!(error, AppError::TooManyRequests { retry_after_secs } if *retry_after_secs >= 1)
    }

    #[tokio::test]
    async fn sign_in_is_refused_after_five_failures() {
        for throttles in each_backend().await {
            let ip = IpAddr::from([10, 0, 0, 1]);
            for _ in 0..5 {
                throttles.check_sign_in(ip, "Alice").await.unwrap();
                throttles.sign_in_failed(ip, "Alice").await;
            }
            let refused = throttles.check_sign_in(ip, "alice").await.unwrap_err();
            assert!(is_429(&refused), "{refused:?}");
            // Another address is not affected.
            let other = IpAddr::from([10, 0, 0, 2]);
            throttles.check_sign_in(other, "alice").await.unwrap();
        }
    }

    /// An office behind one address signs in all morning: checks that succeed spend nothing.
    #[tokio::test]
    async fn successful_sign_ins_spend_nothing() {
        for throttles in each_backend().await {
            let office = IpAddr::from([10, 0, 0, 9]);
            for n in 0..50 {
                throttles
                    .check_sign_in(office, &format!("user{}", n % 3))
                    .await
                    .unwrap();
            }
            throttles.sign_in_failed(office, "user0").await;
            throttles.check_sign_in(office, "user0").await.unwrap();
        }
    }

    #[tokio::test]
    async fn sign_in_is_limited_per_address_across_usernames() {
        for throttles in each_backend().await {
            let ip = IpAddr::from([10, 0, 0, 5]);
            for n in 0..20 {
                let username = format!("user{n}");
                throttles.check_sign_in(ip, &username).await.unwrap();
                throttles.sign_in_failed(ip, &username).await;
            }
            let refused = throttles.check_sign_in(ip, "yet-another").await;
            assert_eq!(refused.unwrap_err().status(), 429);
        }
    }

    #[tokio::test]
    async fn throttled_rest_clients_are_refused_before_verification() {
        for throttles in each_backend().await {
            let abuser = IpAddr::from([10, 0, 0, 6]);
            assert!(throttles.check_rest_client(abuser).is_ok());
            for _ in 0..21 {
                throttles
                    .rest_failure(abuser, AppError::InvalidApiKey)
                    .await;
            }
            let refused = throttles.check_rest_client(abuser).unwrap_err();
            assert!(is_429(&refused), "{refused:?}");
            assert!(
                throttles
                    .check_rest_client(IpAddr::from([10, 0, 0, 7]))
                    .is_ok()
            );
        }
    }

    #[tokio::test]
    async fn ipv6_clients_are_counted_per_64() {
        for throttles in each_backend().await {
            for n in 0..21u16 {
                let address = std::net::Ipv6Addr::new(0x2001, 0xdb8, 0, 1, n, n, n, n);
                throttles
                    .rest_failure(IpAddr::V6(address), AppError::InvalidApiKey)
                    .await;
            }
            let same_64 = IpAddr::V6(std::net::Ipv6Addr::new(0x2001, 0xdb8, 0, 1, 9, 9, 9, 99));
            assert_eq!(
                throttles.check_rest_client(same_64).unwrap_err().status(),
                429
            );
            let next_64 = IpAddr::V6(std::net::Ipv6Addr::new(0x2001, 0xdb8, 0, 2, 0, 0, 0, 1));
            assert!(throttles.check_rest_client(next_64).is_ok());
        }
        assert_eq!(
            client_key("::ffff:192.0.2.1".parse().unwrap()),
            IpAddr::from([192, 0, 2, 1])
        );
    }

    #[tokio::test]
    async fn rest_failures_turn_into_429_per_address() {
        for throttles in each_backend().await {
            let abuser = IpAddr::from([10, 0, 0, 3]);
            for _ in 0..20 {
                let answer = throttles
                    .rest_failure(abuser, AppError::InvalidApiKey)
                    .await;
                assert_eq!(answer, AppError::InvalidApiKey);
            }
            let answer = throttles
                .rest_failure(abuser, AppError::InvalidApiKey)
                .await;
            assert_eq!(answer.status(), 429);
            let other = IpAddr::from([10, 0, 0, 4]);
            let answer = throttles.rest_failure(other, AppError::InvalidApiKey).await;
            assert_eq!(answer.status(), 401);
        }
    }

    /// Two instances on one database: failures on either count against one budget, and the
    /// block one of them makes reaches the other through LISTEN/NOTIFY.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn instances_on_one_postgres_share_one_budget_and_its_block() {
        let db = fresh_postgres().await;
        let first = Throttles::for_database(DEFAULT_REST_FAILURE_BURST, &db);
        let second = std::sync::Arc::new(Throttles::for_database(DEFAULT_REST_FAILURE_BURST, &db));
        let listening = tokio::spawn({
            let second = second.clone();
            async move { second.listen().await }
        });
        // Let the second instance start listening before the block is announced.
        tokio::time::sleep(Duration::from_millis(300)).await;
        let abuser = IpAddr::from([10, 0, 0, 8]);
        for attempt in 0..20 {
            let on = if attempt % 2 == 0 { &first } else { &*second };
            let answer = on.rest_failure(abuser, AppError::InvalidApiKey).await;
            assert_eq!(answer, AppError::InvalidApiKey, "attempt {attempt}");
        }
        let answer = first.rest_failure(abuser, AppError::InvalidApiKey).await;
        assert_eq!(answer.status(), 429);
        let mut learned = false;
        for _ in 0..100 {
            if second.check_rest_client(abuser).is_err() {
                learned = true;
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        assert!(
            learned,
            "the second instance did not learn of the block within 1 s"
        );
        // An instance that starts listening later reads the blocks in force.
        let third = std::sync::Arc::new(Throttles::for_database(DEFAULT_REST_FAILURE_BURST, &db));
        let late = tokio::spawn({
            let third = third.clone();
            async move { third.listen().await }
        });
        let mut read = false;
        for _ in 0..200 {
            if third.check_rest_client(abuser).is_err() {
                read = true;
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        assert!(
            read,
            "the late instance did not read the block in force within 2 s"
        );
        listening.abort();
        late.abort();
    }
}

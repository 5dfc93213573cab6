//! Throttling of authentication, per client, with `governor` (GCRA; memory bounded by
//! [`Throttles::forget_idle`], which start-up runs every ten minutes).
//!
//! Sign-in attempts count per address and username, and per address. For the REST API only
//! failures count; an address over its quota is refused outright (429) until its quota refills,
//! even with valid credentials, so a throttled client cannot go on guessing.
//!
//! An IPv6 client is counted per /64 ([`client_key`]): one host or subscriber is given a whole
//! /64 and can pick a new address in it for every request.

use std::collections::HashMap;
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

use crate::error::AppError;

/// The console's rate limiters.
pub struct Throttles {
    /// Sign-in attempts per client address and username.
    sign_in: DefaultKeyedRateLimiter<(IpAddr, String)>,
    /// Sign-in attempts per client address, whatever the username (password spraying).
    sign_in_per_address: DefaultKeyedRateLimiter<IpAddr>,
    /// Failed REST authentications (API key or Basic) per client address.
    rest_failures: DefaultKeyedRateLimiter<IpAddr>,
    /// Addresses refused until the given instant, after exceeding `rest_failures`.
    rest_blocked: Mutex<HashMap<IpAddr, Instant>>,
}

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
    /// Sign-in: five attempts per username at once, then one every 12 s, and twenty per address
    /// at once, then one every 3 s. REST: `rest_failure_burst` failures at once, then one every 3 s.
    pub fn new(rest_failure_burst: NonZeroU32) -> Self {
        Self {
            sign_in: RateLimiter::keyed(quota(5, Duration::from_secs(12))),
            sign_in_per_address: RateLimiter::keyed(quota(20, Duration::from_secs(3))),
            rest_failures: RateLimiter::keyed(
                Quota::with_period(Duration::from_secs(3))
                    .unwrap_or_else(|| Quota::per_second(NonZeroU32::MIN))
                    .allow_burst(rest_failure_burst),
            ),
            rest_blocked: Mutex::default(),
        }
    }

    /// Counts a sign-in attempt; refuses it when this client has tried this username, or any
    /// username, too often.
    pub fn check_sign_in(&self, ip: IpAddr, username: &str) -> Result<(), AppError> {
        let ip = client_key(ip);
        let username: String = username
            .trim()
            .to_lowercase()
            .chars()
            .take(MAX_USERNAME_KEY)
            .collect();
        self.sign_in_per_address
            .check_key(&ip)
            .and_then(|()| self.sign_in.check_key(&(ip, username)))
            .map_err(|not_until| too_many(&not_until))
    }

    /// Refuses a REST client that is throttled, before its credentials are even looked at.
    pub fn check_rest_client(&self, ip: IpAddr) -> Result<(), AppError> {
        let ip = client_key(ip);
        let mut blocked = self
            .rest_blocked
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        match blocked.get(&ip) {
            Some(until) if *until > Instant::now() => Err(AppError::TooManyRequests {
                retry_after_secs: until.saturating_duration_since(Instant::now()).as_secs() + 1,
            }),
            Some(_) => {
                blocked.remove(&ip);
                Ok(())
            }
            None => Ok(()),
        }
    }

    /// Counts a failed REST authentication. Returns the error to answer with: the given one as a
    /// rule; 429 once this address has failed too often, and it is then blocked until its quota
    /// allows another attempt.
    pub fn rest_failure(&self, ip: IpAddr, error: AppError) -> AppError {
        let ip = client_key(ip);
        match self.rest_failures.check_key(&ip) {
            Ok(()) => error,
            Err(not_until) => {
                let wait = not_until.wait_time_from(DefaultClock::default().now());
                self.rest_blocked
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .insert(ip, Instant::now() + wait);
                too_many(&not_until)
            }
        }
    }

    /// Drops the state of clients that have been quiet long enough to be back at full quota.
    pub fn forget_idle(&self) {
        self.sign_in.retain_recent();
        self.sign_in_per_address.retain_recent();
        self.rest_failures.retain_recent();
        let now = Instant::now();
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

fn quota(burst: u32, period: Duration) -> Quota {
    let burst = NonZeroU32::new(burst).unwrap_or(NonZeroU32::MIN);
    Quota::with_period(period)
        .unwrap_or_else(|| Quota::per_second(NonZeroU32::MIN))
        .allow_burst(burst)
}

fn too_many(not_until: &governor::NotUntil<<DefaultClock as Clock>::Instant>) -> AppError {
    let wait = not_until.wait_time_from(DefaultClock::default().now());
    AppError::TooManyRequests {
        retry_after_secs: wait.as_secs() + 1,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sign_in_is_refused_after_five_attempts() {
        let throttles = Throttles::default();
        let ip = IpAddr::from([10, 0, 0, 1]);
        for _ in 0..5 {
            assert!(throttles.check_sign_in(ip, "Alice").is_ok());
        }
        let refused = throttles.check_sign_in(ip, "alice").unwrap_err();
        assert!(
            matches!(refused, AppError::TooManyRequests { retry_after_secs } if retry_after_secs >= 1)
        );
        // Another address is not affected.
        assert!(
            throttles
                .check_sign_in(IpAddr::from([10, 0, 0, 2]), "alice")
                .is_ok()
        );
    }

    #[test]
    fn sign_in_is_limited_per_address_across_usernames() {
        let throttles = Throttles::default();
        let ip = IpAddr::from([10, 0, 0, 5]);
        for n in 0..20 {
            assert!(throttles.check_sign_in(ip, &format!("user{n}")).is_ok());
        }
        assert_eq!(
            throttles
                .check_sign_in(ip, "yet-another")
                .unwrap_err()
                .status(),
            429
        );
    }

    #[test]
    fn throttled_rest_clients_are_refused_before_verification() {
        let throttles = Throttles::default();
        let abuser = IpAddr::from([10, 0, 0, 6]);
        assert!(throttles.check_rest_client(abuser).is_ok());
        for _ in 0..21 {
            let _ = throttles.rest_failure(abuser, AppError::InvalidApiKey);
        }
        let refused = throttles.check_rest_client(abuser).unwrap_err();
        assert!(
            matches!(refused, AppError::TooManyRequests { retry_after_secs } if retry_after_secs >= 1)
        );
        assert!(
            throttles
                .check_rest_client(IpAddr::from([10, 0, 0, 7]))
                .is_ok()
        );
    }

    #[test]
    fn ipv6_clients_are_counted_per_64() {
        let throttles = Throttles::default();
        for n in 0..21u16 {
            let address = std::net::Ipv6Addr::new(0x2001, 0xdb8, 0, 1, n, n, n, n);
            let _ = throttles.rest_failure(IpAddr::V6(address), AppError::InvalidApiKey);
        }
        let same_64 = IpAddr::V6(std::net::Ipv6Addr::new(0x2001, 0xdb8, 0, 1, 9, 9, 9, 99));
        assert_eq!(
            throttles.check_rest_client(same_64).unwrap_err().status(),
            429
        );
        let next_64 = IpAddr::V6(std::net::Ipv6Addr::new(0x2001, 0xdb8, 0, 2, 0, 0, 0, 1));
        assert!(throttles.check_rest_client(next_64).is_ok());
        assert_eq!(
            client_key("::ffff:192.0.2.1".parse().unwrap()),
            IpAddr::from([192, 0, 2, 1])
        );
    }

    #[test]
    fn rest_failures_turn_into_429_per_address() {
        let throttles = Throttles::default();
        let abuser = IpAddr::from([10, 0, 0, 3]);
        for _ in 0..20 {
            assert_eq!(
                throttles.rest_failure(abuser, AppError::InvalidApiKey),
                AppError::InvalidApiKey
            );
        }
        assert_eq!(
            throttles
                .rest_failure(abuser, AppError::InvalidApiKey)
                .status(),
            429
        );
        let other = IpAddr::from([10, 0, 0, 4]);
        assert_eq!(
            throttles
                .rest_failure(other, AppError::InvalidApiKey)
                .status(),
            401
        );
    }
}

//! Throttling of failed authentication, per client, with `governor` (GCRA; memory bounded by
//! [`Throttles::forget_idle`], which start-up runs every minute).

use std::net::IpAddr;
use std::num::NonZeroU32;
use std::time::Duration;

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

use crate::error::AppError;

/// The console's rate limiters.
pub struct Throttles {
    /// Sign-in attempts per client address and username.
    sign_in: DefaultKeyedRateLimiter<(IpAddr, String)>,
    /// Failed REST authentications (API key or Basic) per client address.
    rest_failures: DefaultKeyedRateLimiter<IpAddr>,
}

/// Failed REST authentications a client may make at once before it is throttled.
pub const DEFAULT_REST_FAILURE_BURST: u32 = 20;

impl Default for Throttles {
    fn default() -> Self {
        Self::new(DEFAULT_REST_FAILURE_BURST)
    }
}

impl Throttles {
    /// Five sign-in attempts at once, then one every 12 s; `rest_failure_burst` failed REST
    /// authentications at once, then one every 3 s.
    pub fn new(rest_failure_burst: u32) -> Self {
        Self {
            sign_in: RateLimiter::keyed(quota(5, Duration::from_secs(12))),
            rest_failures: RateLimiter::keyed(quota(rest_failure_burst, Duration::from_secs(3))),
        }
    }

    /// Counts a sign-in attempt; refuses it when this client has tried this username too often.
    pub fn check_sign_in(&self, ip: IpAddr, username: &str) -> Result<(), AppError> {
        let key = (ip, username.trim().to_lowercase());
        self.sign_in
            .check_key(&key)
            .map_err(|not_until| too_many(&not_until))
    }

    /// Counts a failed REST authentication. Returns the error to answer with: 401 as a rule,
    /// 429 once this address has failed too often.
    pub fn rest_failure(&self, ip: IpAddr, error: AppError) -> AppError {
        match self.rest_failures.check_key(&ip) {
            Ok(()) => error,
            Err(not_until) => too_many(&not_until),
        }
    }

    /// Drops the state of clients that have been quiet long enough to be back at full quota.
    pub fn forget_idle(&self) {
        self.sign_in.retain_recent();
        self.rest_failures.retain_recent();
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

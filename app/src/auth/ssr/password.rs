//! Argon2id password hashing. Hashing is deliberately slow, so it runs off the async threads.
//!
//! Policy: each run takes 19 MiB and a core for tens of milliseconds, and anyone can ask for one
//! (a wrong password costs as much as a right one). So runs happen on one thread per core, a
//! short queue waits behind them, and a check that finds the queue full is refused at once with
//! [`AppError::Busy`] (503 with `Retry-After`) instead of piling up memory. Each client may have
//! [`CHECKS_PER_ACCOUNT`] checks waiting or running at once for one account, and half of the
//! pool in all (a [`Shares`] each, held until the check has run): one client's flood is refused
//! beyond its own share
//! and leaves the queue to the others (429: the asker's own excess, where a full queue is 503). A password checked right recently is not checked again:
//! [`RecentlyVerified`] remembers, for a minute, a keyed digest of each stored hash and the
//! password that matched it (a client sending Basic credentials with every request costs one
//! check a minute).

use argon2::Argon2;
use argon2::password_hash::{
    PasswordHash, PasswordHasher, PasswordVerifier, SaltString, rand_core::OsRng,
};
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, LazyLock, Mutex, PoisonError};
use std::time::{Duration, Instant};

use hmac::{Hmac, Mac};

use super::throttle::{client_key, username_key};
use crate::error::AppError;
use crate::shares::{Occasional, Share, Shares};

/// A hash of a random password with the same parameters as real ones, checked against when the
/// user does not exist so that unknown usernames take as long as known ones.
static DUMMY_HASH: LazyLock<Option<String>> = LazyLock::new(|| {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(salt.as_str().as_bytes(), &salt)
        .map(|hash| hash.to_string())
        .ok()
});

/// Hashes `password` with Argon2id and the crate's recommended parameters.
pub async fn hash_password(password: String) -> Result<String, AppError> {
    blocking(move || {
        let salt = SaltString::generate(&mut OsRng);
        Argon2::default()
            .hash_password(password.as_bytes(), &salt)
            .map(|hash| hash.to_string())
            .map_err(|error| {
                tracing::error!(%error, "password hashing failed");
                AppError::Internal
            })
    })
    .await
}

/// Who asks for a password check: the client's address, and the account it names.
#[derive(Clone, Copy, Debug)]
pub struct Asker<'a> {
    pub client: IpAddr,
    pub account: &'a str,
}

/// Checks one client may have waiting or running at once for one account. Per client and
/// account, like the sign-in throttle: counted per account alone, clients elsewhere could keep
/// an account's share taken and lock its owner out.
pub const CHECKS_PER_ACCOUNT: usize = 2;

/// Checks one client address may have waiting or running at once: half of what the pool takes
/// (an office behind one address signs in with many accounts; one client still leaves the other
/// half to everybody else).
fn checks_per_client() -> usize {
    (cores() * (QUEUE_PER_CORE + 1)).div_ceil(2)
}

fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, usize::from)
}

static CLIENT_SHARES: LazyLock<Arc<Shares<IpAddr>>> =
    LazyLock::new(|| Shares::new(checks_per_client()));
static ACCOUNT_SHARES: LazyLock<Arc<Shares<(IpAddr, String)>>> =
    LazyLock::new(|| Shares::new(CHECKS_PER_ACCOUNT));

/// What an asker holds while its check waits or runs: its share as a client, and as a client
/// asking for one account.
type AskerShares = (Share<IpAddr>, Share<(IpAddr, String)>);

/// The asker's shares of the check queue, or [`AppError::TooManyRequests`] when it holds its
/// share already: the asker's own excess (429), where a full queue is the server's (503).
fn take_shares(asker: Asker<'_>) -> Result<AskerShares, AppError> {
    let client = client_key(asker.client);
    let account = ACCOUNT_SHARES.take((client, username_key(asker.account)));
    let client = CLIENT_SHARES.take(client);
    match (client, account) {
        (Some(client), Some(account)) => Ok((client, account)),
        _ => {
            note_refusal("a client or an account asked for more than its share");
            Err(AppError::TooManyRequests {
                retry_after_secs: 1,
            })
        }
    }
}

/// Whether `password` matches `hash`; with no hash, burns the same time and answers `false`.
pub async fn verify_password(
    hash: Option<String>,
    password: String,
    asker: Asker<'_>,
) -> Result<bool, AppError> {
    let digest = hash
        .as_deref()
        .map(|stored| RECENTLY_VERIFIED.digest(stored, &password));
    if digest.is_some_and(|digest| RECENTLY_VERIFIED.contains(&digest)) {
        return Ok(true);
    }
    let shares = take_shares(asker)?;
    let matches = check(hash, password, shares).await?;
    if let Some(digest) = digest
        && matches
    {
        RECENTLY_VERIFIED.insert(digest);
    }
    Ok(matches)
}

/// Runs the check itself, on the hashing pool. The asker's `shares` are held until the check has
/// run, not until the request is answered: a client that hangs up does not get its share back
/// while its check still waits in the queue.
async fn check(
    hash: Option<String>,
    password: String,
    shares: impl Send + 'static,
) -> Result<bool, AppError> {
    HASHING
        .run(shares, move || {
            let known = hash.is_some();
            let Some(stored) = hash.or_else(|| DUMMY_HASH.clone()) else {
                return Ok(false);
            };
            let parsed = PasswordHash::new(&stored).map_err(|error| {
                tracing::error!(%error, "stored password hash is malformed");
                AppError::Internal
            })?;
            let matches = Argon2::default()
                .verify_password(password.as_bytes(), &parsed)
                .is_ok();
            Ok(known && matches)
        })
        .await
}

/// Stored hashes and the passwords that matched them lately, as digests keyed with a random key
/// of this process: nothing in memory gives a password back, and a changed password (a new
/// stored hash) matches nothing here.
struct RecentlyVerified {
    key: [u8; 32],
    verified: Mutex<HashMap<[u8; 32], Instant>>,
}

static RECENTLY_VERIFIED: LazyLock<RecentlyVerified> = LazyLock::new(|| RecentlyVerified {
    key: rand::random(),
    verified: Mutex::new(HashMap::new()),
});

impl RecentlyVerified {
    /// How long a verified password is remembered.
    const FOR: Duration = Duration::from_secs(60);
    /// At most this many are remembered; past it, the expired are forgotten, then all.
    const MAX: usize = 4096;

    fn digest(&self, stored: &str, password: &str) -> [u8; 32] {
        let mut mac = Hmac::<sha2::Sha256>::new_from_slice(&self.key)
            .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
        mac.update(stored.as_bytes());
        mac.update(&[0]);
        mac.update(password.as_bytes());
        mac.finalize().into_bytes().into()
    }

    fn contains(&self, digest: &[u8; 32]) -> bool {
        let verified = self.verified.lock().unwrap_or_else(PoisonError::into_inner);
        verified
            .get(digest)
            .is_some_and(|at| at.elapsed() < Self::FOR)
    }

    fn insert(&self, digest: [u8; 32]) {
        let mut verified = self.verified.lock().unwrap_or_else(PoisonError::into_inner);
        if verified.len() >= Self::MAX {
            verified.retain(|_, at| at.elapsed() < Self::FOR);
            if verified.len() >= Self::MAX {
                verified.clear();
            }
        }
        verified.insert(digest, Instant::now());
    }
}

/// Counts a refused check, and writes it to the log at most once a second (a flood would
/// otherwise write a line per request).
fn note_refusal(why: &'static str) {
    static REFUSED: Occasional = Occasional::new();
    crate::metrics::busy("password_check");
    if let Some(count) = REFUSED.due() {
        tracing::warn!(count, why, "password checks refused");
    }
}

/// How many checks may wait for a core, per core.
const QUEUE_PER_CORE: usize = 4;

type Job = Box<dyn FnOnce() + Send>;

/// A pool of one thread per core that runs hashing jobs from a bounded queue. Its own threads,
/// not tokio's blocking pool: each thread keeps the memory of its last run for the next one, so
/// the pool holds at most one run's 19 MiB per core, however many checks come and go.
struct Hashing {
    queue: std::sync::mpsc::SyncSender<Job>,
}

impl Hashing {
    fn new(cores: usize) -> Self {
        let (queue, jobs) = std::sync::mpsc::sync_channel::<Job>(cores * QUEUE_PER_CORE);
        let jobs = std::sync::Arc::new(std::sync::Mutex::new(jobs));
        for n in 0..cores {
            let jobs = jobs.clone();
            let spawned = std::thread::Builder::new()
                .name(format!("password-{n}"))
                .spawn(move || {
                    loop {
                        let job = match jobs.lock() {
                            Ok(jobs) => jobs.recv(),
                            Err(_) => return,
                        };
                        match job {
                            Ok(job) => job(),
                            // Every sender is gone: the pool is no longer used.
                            Err(_) => return,
                        }
                    }
                });
            if let Err(error) = spawned {
                tracing::error!(%error, "could not start a password thread");
            }
        }
        Self { queue }
    }

    /// Runs `work` on the pool once a thread is free, or refuses it if the queue is full.
    /// `held` (an asker's shares) is kept until the work has run or been skipped; work whose
    /// caller went away meanwhile is skipped.
    async fn run<T: Send + 'static>(
        &self,
        held: impl Send + 'static,
        work: impl FnOnce() -> Result<T, AppError> + Send + 'static,
    ) -> Result<T, AppError> {
        let (done, outcome) = tokio::sync::oneshot::channel();
        let job: Job = Box::new(move || {
            if !done.is_closed() {
                let _ = done.send(work());
            }
            drop(held);
        });
        match self.queue.try_send(job) {
            Ok(()) => {}
            Err(std::sync::mpsc::TrySendError::Full(_)) => {
                note_refusal("the queue of password checks is full");
                return Err(AppError::Busy {
                    retry_after_secs: 1,
                });
            }
            Err(std::sync::mpsc::TrySendError::Disconnected(_)) => {
                tracing::error!("no password thread is running");
                return Err(AppError::Internal);
            }
        }
        outcome.await.map_err(|_| {
            tracing::error!("a password check ended without an answer");
            AppError::Internal
        })?
    }
}

static HASHING: LazyLock<Hashing> = LazyLock::new(|| Hashing::new(cores()));

async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, AppError> + Send + 'static,
) -> Result<T, AppError> {
    HASHING.run((), work).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn hash_verifies_only_its_password() {
        let hash = hash_password("correct horse".into()).await.unwrap();
        assert!(hash.starts_with("$argon2id$"));
        assert!(
            verify_password(Some(hash.clone()), "correct horse".into(), ASKER)
                .await
                .unwrap()
        );
        assert!(
            !verify_password(Some(hash), "wrong horse".into(), ASKER)
                .await
                .unwrap()
        );
    }

    const ASKER: Asker<'static> = Asker {
        client: IpAddr::V4(std::net::Ipv4Addr::LOCALHOST),
        account: "tester",
    };

    #[tokio::test]
    async fn a_password_verified_lately_is_not_hashed_again_and_a_new_hash_forgets_it() {
        let hash = hash_password("correct horse".into()).await.unwrap();
        let digest = RECENTLY_VERIFIED.digest(&hash, "correct horse");
        assert!(!RECENTLY_VERIFIED.contains(&digest));
        assert!(
            verify_password(Some(hash.clone()), "correct horse".into(), ASKER)
                .await
                .unwrap()
        );
        assert!(RECENTLY_VERIFIED.contains(&digest));
        // A wrong password is never remembered, and a changed password's old digest matches
        // nothing under the new hash.
        assert!(!RECENTLY_VERIFIED.contains(&RECENTLY_VERIFIED.digest(&hash, "wrong horse")));
        let changed = hash_password("correct horse".into()).await.unwrap();
        assert!(!RECENTLY_VERIFIED.contains(&RECENTLY_VERIFIED.digest(&changed, "correct horse")));
    }

    #[tokio::test]
    async fn one_asker_holds_no_more_than_its_share_of_the_queue() {
        let asker = Asker {
            client: "192.0.2.7".parse().unwrap(),
            account: "Flooder",
        };
        let held: Vec<_> = (0..CHECKS_PER_ACCOUNT)
            .map(|_| take_shares(asker).expect("within its share"))
            .collect();
        assert!(take_shares(asker).is_err(), "past its share");
        // The same account in any case is the same account…
        let same = Asker {
            client: "192.0.2.7".parse().unwrap(),
            account: "flooder",
        };
        assert!(take_shares(same).is_err());
        // …but from another address it is not held back (no one can lock its owner out)…
        let elsewhere = Asker {
            client: "192.0.2.8".parse().unwrap(),
            account: "flooder",
        };
        assert!(take_shares(elsewhere).is_ok());
        // …nor is another account from another address.
        let other = Asker {
            client: "192.0.2.9".parse().unwrap(),
            account: "someone",
        };
        assert!(take_shares(other).is_ok());
        // One client asking for many accounts holds at most half of the pool.
        let client = "192.0.2.10".parse().unwrap();
        let names: Vec<String> = (0..=checks_per_client())
            .map(|n| format!("user{n}"))
            .collect();
        let taken: Vec<_> = names[..checks_per_client()]
            .iter()
            .map(|account| take_shares(Asker { client, account }).expect("within its share"))
            .collect();
        let one_more = Asker {
            client,
            account: &names[checks_per_client()],
        };
        assert!(take_shares(one_more).is_err());
        drop((held, taken));
        assert!(take_shares(asker).is_ok());
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    #[expect(
        clippy::await_holding_lock,
        reason = "the held write lock is the gate that keeps the pool's thread busy"
    )]
    async fn a_flood_is_refused_beyond_the_queue_not_buffered() {
        use std::sync::atomic::{AtomicUsize, Ordering};
        use std::sync::{Arc, RwLock};

        let hashing = Arc::new(Hashing::new(1));
        // Every admitted run waits here until the whole flood has arrived.
        let gate = Arc::new(RwLock::new(()));
        let closed = gate.write().unwrap();
        let (started, refused) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
        let spawn = || {
            let (hashing, gate) = (hashing.clone(), gate.clone());
            let (started, refused) = (started.clone(), refused.clone());
            tokio::spawn(async move {
                let outcome = hashing
                    .run((), move || {
                        started.fetch_add(1, Ordering::SeqCst);
                        drop(gate.read());
                        Ok(())
                    })
                    .await;
                if outcome
                    == Err(AppError::Busy {
                        retry_after_secs: 1,
                    })
                {
                    refused.fetch_add(1, Ordering::SeqCst);
                }
                outcome
            })
        };
        async fn until(count: &AtomicUsize, wanted: usize) -> bool {
            for _ in 0..5000 {
                if count.load(Ordering::SeqCst) == wanted {
                    return true;
                }
                tokio::time::sleep(std::time::Duration::from_millis(1)).await;
            }
            false
        }
        // One thread, busy with a first check; then a flood of 49: four wait, 45 are refused.
        let mut runs = vec![spawn()];
        assert!(until(&started, 1).await);
        runs.extend((0..49).map(|_| spawn()));
        assert!(
            until(&refused, 45).await,
            "{} refused",
            refused.load(Ordering::SeqCst)
        );
        drop(closed);
        let done = futures_util::future::join_all(runs).await;
        assert_eq!(
            done.into_iter()
                .filter(|run| matches!(run, Ok(Ok(()))))
                .count(),
            5
        );
        assert_eq!(started.load(Ordering::SeqCst), 5);
        // Afterwards the queue is empty again.
        assert_eq!(hashing.run((), || Ok(7)).await, Ok(7));
    }

    #[tokio::test]
    async fn unknown_user_never_verifies() {
        assert!(DUMMY_HASH.is_some());
        assert!(
            !verify_password(None, "anything".into(), ASKER)
                .await
                .unwrap()
        );
    }
}

//! Argon2id password hashing. Hashing is deliberately slow, so it runs off the async threads.
//!
//! Policy: each run takes 19 MiB and a core for tens of milliseconds, and anyone can ask for one
//! (a wrong password costs as much as a right one). So runs happen on one thread per core, a
//! short queue waits behind them, and a check that finds the queue full is refused at once with
//! [`AppError::Busy`] (503 with `Retry-After`) instead of piling up memory.

use argon2::Argon2;
use argon2::password_hash::{
    PasswordHash, PasswordHasher, PasswordVerifier, SaltString, rand_core::OsRng,
};
use std::sync::LazyLock;

use crate::error::AppError;

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

/// Whether `password` matches `hash`; with no hash, burns the same time and answers `false`.
pub async fn verify_password(hash: Option<String>, password: String) -> Result<bool, AppError> {
    blocking(move || {
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
    async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> Result<T, AppError> + Send + 'static,
    ) -> Result<T, AppError> {
        let (done, outcome) = tokio::sync::oneshot::channel();
        let job: Job = Box::new(move || {
            let _ = done.send(work());
        });
        match self.queue.try_send(job) {
            Ok(()) => {}
            Err(std::sync::mpsc::TrySendError::Full(_)) => {
                tracing::warn!("password checks are queued to the limit: refused one");
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

static HASHING: LazyLock<Hashing> =
    LazyLock::new(|| Hashing::new(std::thread::available_parallelism().map_or(1, usize::from)));

async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, AppError> + Send + 'static,
) -> Result<T, AppError> {
    HASHING.run(work).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn hash_verifies_only_its_password() {
        let hash = hash_password("correct horse".into()).await.unwrap();
        assert!(hash.starts_with("$argon2id$"));
        assert!(
            verify_password(Some(hash.clone()), "correct horse".into())
                .await
                .unwrap()
        );
        assert!(
            !verify_password(Some(hash), "wrong horse".into())
                .await
                .unwrap()
        );
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
                    .run(move || {
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
        assert_eq!(hashing.run(|| Ok(7)).await, Ok(7));
    }

    #[tokio::test]
    async fn unknown_user_never_verifies() {
        assert!(DUMMY_HASH.is_some());
        assert!(!verify_password(None, "anything".into()).await.unwrap());
    }
}

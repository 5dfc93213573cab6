//! `/healthz` (the database answers) and `/readyz` (this instance should get requests), for load
//! balancers and orchestrators. Both are public.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use sea_orm::ConnectionTrait;
use tokio::time::Instant;

use app::state::AppState;

/// How long `/readyz` waits for the database, and then for the archive store.
const READINESS_CHECK: Duration = Duration::from_secs(2);

/// How long a readiness answer is reused. `/readyz` is public: however often it is called, it
/// costs at most one database query and one store listing per second.
const READINESS_REUSE: Duration = Duration::from_secs(1);

type Answer = (StatusCode, &'static str);

const SHUTTING_DOWN: Answer = (StatusCode::SERVICE_UNAVAILABLE, "shutting down");

pub fn routes() -> Router<AppState> {
    let readiness = Arc::new(Readiness::default());
    Router::new().route("/healthz", get(healthz)).route(
        "/readyz",
        get(move |State(state): State<AppState>| async move {
            // Stopping is known at once, never from an older answer: before the check, and
            // after it for a caller that waited for another's.
            let stopping = state.stopping.clone();
            if stopping.is_cancelled() {
                return SHUTTING_DOWN;
            }
            let answer = readiness.answer(check_readiness(state)).await;
            if stopping.is_cancelled() {
                SHUTTING_DOWN
            } else {
                answer
            }
        }),
    )
}

/// 200 when the database answers a query, 503 otherwise. (A pool `ping` on SQLite only checks
/// the connection's worker thread, so this runs `SELECT 1`.)
async fn healthz(State(state): State<AppState>) -> Answer {
    database_answers(&state).await
}

async fn database_answers(state: &AppState) -> Answer {
    match state.db.execute_unprepared("SELECT 1").await {
        Ok(_) => (StatusCode::OK, "ok"),
        Err(error) => {
            tracing::error!(%error, "health check: database unreachable");
            (StatusCode::SERVICE_UNAVAILABLE, "database unreachable")
        }
    }
}

/// 200 when both the database and the archive store answer; 503 with the reason otherwise.
/// A load balancer's check waits a few seconds at most: each part slower than that is as good
/// as down (and no caller queues behind a check for longer).
async fn check_readiness(state: AppState) -> Answer {
    let Ok(database) = tokio::time::timeout(READINESS_CHECK, database_answers(&state)).await else {
        tracing::error!("readiness: the database did not answer in time");
        return (StatusCode::SERVICE_UNAVAILABLE, "database unreachable");
    };
    if database.0 != StatusCode::OK {
        return database;
    }
    match tokio::time::timeout(READINESS_CHECK, state.config.archives.check()).await {
        Ok(Ok(())) => (StatusCode::OK, "ready"),
        Ok(Err(error)) => {
            tracing::error!(%error, "readiness: archive store unreachable");
            (StatusCode::SERVICE_UNAVAILABLE, "archive store unreachable")
        }
        Err(_) => {
            tracing::error!("readiness: the archive store did not answer in time");
            (StatusCode::SERVICE_UNAVAILABLE, "archive store unreachable")
        }
    }
}

/// The last readiness answer and when it was found. The lock is held during a check, so callers
/// arriving meanwhile wait for that one check instead of starting their own.
#[derive(Default)]
struct Readiness {
    last: tokio::sync::Mutex<Option<(Instant, Answer)>>,
}

impl Readiness {
    async fn answer(&self, check: impl Future<Output = Answer>) -> Answer {
        let mut last = self.last.lock().await;
        if let Some((at, answer)) = *last
            && at.elapsed() < READINESS_REUSE
        {
            return answer;
        }
        let answer = check.await;
        *last = Some((Instant::now(), answer));
        answer
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    async fn counted(checks: &AtomicUsize, answer: Answer) -> Answer {
        checks.fetch_add(1, Ordering::SeqCst);
        tokio::time::sleep(Duration::from_millis(100)).await;
        answer
    }

    #[tokio::test(start_paused = true)]
    async fn an_answer_is_reused_for_a_second_and_shared_by_callers_arriving_during_its_check() {
        let readiness = Readiness::default();
        let checks = AtomicUsize::new(0);
        let ready = (StatusCode::OK, "ready");
        let down = (StatusCode::SERVICE_UNAVAILABLE, "archive store unreachable");

        let answers = futures_util::future::join_all(
            (0..5).map(|_| readiness.answer(counted(&checks, ready))),
        )
        .await;
        assert_eq!(answers, vec![ready; 5]);
        assert_eq!(checks.load(Ordering::SeqCst), 1);

        tokio::time::advance(Duration::from_millis(500)).await;
        assert_eq!(readiness.answer(counted(&checks, down)).await, ready);
        assert_eq!(checks.load(Ordering::SeqCst), 1);

        tokio::time::advance(READINESS_REUSE).await;
        assert_eq!(readiness.answer(counted(&checks, down)).await, down);
        assert_eq!(checks.load(Ordering::SeqCst), 2);
    }
}

//! Prometheus metrics: the request metrics every answer records ([`track`]) and the endpoint
//! that serves them all, on `CONSOLE_METRICS_ADDR` — a listener of its own, so the metrics are
//! never reachable through the public address (off by default). What is counted and its names
//! are in `app::metrics`.

use std::sync::OnceLock;
use std::time::Instant;

use axum::Router;
use axum::extract::{MatchedPath, Request, State};
use axum::http::Method;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use tokio::net::TcpListener;

use app::state::AppState;

/// Request latency buckets, in seconds: pages and REST calls take milliseconds, uploads seconds.
const LATENCY_BUCKETS: &[f64] = &[
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];

/// The process's recorder (metrics are process-wide), installed by the first instance that
/// serves metrics.
static HANDLE: OnceLock<Option<PrometheusHandle>> = OnceLock::new();

/// Installs the Prometheus recorder, once per process.
pub fn install() -> Option<PrometheusHandle> {
    HANDLE
        .get_or_init(|| {
            let builder = PrometheusBuilder::new()
                .set_buckets_for_metric(
                    Matcher::Full(app::metrics::HTTP_DURATION.to_owned()),
                    LATENCY_BUCKETS,
                )
                .inspect_err(|error| tracing::error!(%error, "metrics: bad buckets"))
                .ok()?;
            let recorder = builder.build_recorder();
            let handle = recorder.handle();
            metrics::set_global_recorder(recorder)
                .inspect_err(|error| tracing::error!(%error, "metrics: a recorder is installed"))
                .ok()?;
            app::metrics::describe();
            Some(handle)
        })
        .clone()
}

/// Records the request's method, route template (not its path: ids would make every URL a
/// series of its own), status and time to the response's head.
pub async fn track(matched: Option<MatchedPath>, request: Request, next: Next) -> Response {
    let started = Instant::now();
    // Not whatever a client sends: each label value is a series kept for good.
    let method = match *request.method() {
        Method::GET
        | Method::HEAD
        | Method::POST
        | Method::PUT
        | Method::PATCH
        | Method::DELETE
        | Method::OPTIONS => request.method().as_str().to_owned(),
        _ => "other".to_owned(),
    };
    let route = matched.map_or_else(|| "unmatched".to_owned(), |path| path.as_str().to_owned());
    let response = next.run(request).await;
    let labels = [
        ("method", method),
        ("route", route),
        ("status", response.status().as_u16().to_string()),
    ];
    metrics::counter!(app::metrics::HTTP_REQUESTS, &labels).increment(1);
    metrics::histogram!(app::metrics::HTTP_DURATION, &labels)
        .record(started.elapsed().as_secs_f64());
    response
}

/// Serves `GET /metrics` on `listener` until dropped.
pub async fn serve(listener: TcpListener, handle: PrometheusHandle, state: AppState) {
    let router = Router::new()
        .route("/metrics", get(scrape))
        .with_state((handle, state));
    // The same service type as the public listener's: one instantiation of axum's server.
    let service = router.into_make_service_with_connect_info::<std::net::SocketAddr>();
    if let Err(error) = axum::serve(listener, service).await {
        tracing::error!(%error, "metrics listener failed");
    }
}

async fn scrape(State((handle, state)): State<(PrometheusHandle, AppState)>) -> Response {
    let backlog = async {
        let (queued, running) = app::applications::jobs::ssr::backlog(&state.db).await?;
        let (due, failed) = app::mail::ssr::outbox::backlog(&state.db).await?;
        Ok::<_, app::error::AppError>((queued, running, due, failed))
    };
    match backlog.await {
        Ok((queued, running, due, failed)) => {
            app::metrics::set_backlog(queued, running, due, failed);
        }
        Err(error) => tracing::warn!(%error, "metrics: could not read the backlog"),
    }
    handle.run_upkeep();
    (
        [(
            axum::http::header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        handle.render(),
    )
        .into_response()
}

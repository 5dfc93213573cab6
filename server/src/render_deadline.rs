//! The render deadline: a page whose render has not finished after a bounded time answers 503
//! with a plain page, and the loaders it was waiting for are cancelled.
//!
//! Pages render completely before their first byte (`SsrMode::Async`), so a loader that never
//! finishes — a lost wakeup, a lock held elsewhere, a dead database connection — would otherwise
//! hold the connection forever with no status line at all. Only page routes have a deadline:
//! uploads, server functions and REST calls may legitimately take long.
//!
//! A page renders as a task of its own, so a client that goes away does not cut its render
//! short: it finishes, or meets its deadline, like any other. Dropping a Leptos render midway
//! disposes the page's reactive values while a `Suspense` may still walk its view once more on
//! another task (leptos-rs/leptos#3595); the components there then ran again without their
//! context and panicked (`use_query_map` "outside a <Router>", an action form's disposed action,
//! an island's signal): in a test that abandons page loads, on most runs.

use std::collections::HashSet;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};
use std::time::{Duration, Instant};

use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{Html, IntoResponse, Response};

use app::render::RenderScope;
use tracing::Instrument;

/// The page routes (as registered with axum) and how long each may take to render.
#[derive(Clone)]
pub struct RenderDeadline {
    pages: Arc<HashSet<String>>,
    deadline: Duration,
}

impl RenderDeadline {
    pub fn new(pages: impl IntoIterator<Item = String>, deadline: Duration) -> Self {
        Self {
            pages: Arc::new(pages.into_iter().collect()),
            deadline,
        }
    }
}

/// Gives each page request a [`RenderScope`] and a deadline; other requests pass untouched.
pub async fn enforce(
    State(limit): State<RenderDeadline>,
    matched: Option<MatchedPath>,
    mut request: Request,
    next: Next,
) -> Response {
    let Some(route) = matched.filter(|path| limit.pages.contains(path.as_str())) else {
        return next.run(request).await;
    };
    let scope = RenderScope::default();
    request.extensions_mut().insert(scope.clone());
    let started = Instant::now();
    let render = async move {
        let mut render = CancelOnDrop {
            render: Some(Box::pin(next.run(request))),
            scope: scope.clone(),
        };
        tokio::select! {
            response = &mut render => response,
            () = tokio::time::sleep(limit.deadline) => {
                // Counted while the render still exists, then cancelled; the render is dropped
                // when this returns.
                let cancelled = scope.cancel();
                tracing::error!(
                    route = route.as_str(),
                    elapsed_ms = started.elapsed().as_millis() as u64,
                    cancelled_loaders = cancelled,
                    "page render passed its deadline: answered 503"
                );
                too_slow()
            }
        }
    };
    // Dropping the handle (the client went away) leaves the task running to its end.
    match tokio::spawn(render.in_current_span()).await {
        Ok(response) => response,
        Err(failed) => {
            tracing::error!(error = %failed, "a page render failed");
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
    }
}

/// A page render that cancels its loaders when it is dropped unfinished (the deadline passed, or
/// the server is shutting down) before the render itself is dropped: Leptos runs loaders as tasks of
/// their own, and one that outlived its page would run on without the page's context.
struct CancelOnDrop<F> {
    render: Option<Pin<Box<F>>>,
    scope: RenderScope,
}

impl<F: Future> Future for CancelOnDrop<F> {
    type Output = F::Output;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        match self.render.as_mut() {
            Some(render) => {
                let output = ready!(render.as_mut().poll(cx));
                self.render = None;
                Poll::Ready(output)
            }
            None => Poll::Pending,
        }
    }
}

impl<F> Drop for CancelOnDrop<F> {
    fn drop(&mut self) {
        if let Some(render) = self.render.take() {
            self.scope.cancel();
            drop(render);
        }
    }
}

fn too_slow() -> Response {
    let mut response = (
        StatusCode::SERVICE_UNAVAILABLE,
        Html(
            "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">\
             <title>Try again</title></head><body>\
             <h1>This page took too long</h1>\
             <p>The server could not finish this page in time. Please reload it in a moment.</p>\
             </body></html>",
        ),
    )
        .into_response();
    let headers = response.headers_mut();
    headers.insert(header::RETRY_AFTER, HeaderValue::from_static("5"));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

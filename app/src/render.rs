//! How pages load their data on the server: [`page_resource`], the one way a page creates a
//! resource, and the [`RenderScope`] that lets the server's render deadline cancel what a page
//! is still loading.
//!
//! Policy: a page component creates every resource it needs with [`page_resource`] at its top,
//! before [`crate::auth::with_user`], and hands them down as props. Created anywhere that may run
//! twice (inside a `Suspense`), a blocking resource can be created twice, and a disposed copy can
//! hold an `SsrMode::Async` render forever.

use leptos::prelude::*;
use serde::{Serialize, de::DeserializeOwned};

use crate::error::AppError;

/// A blocking resource for a page: loaded once per request, before the first byte is sent, and
/// cancelled with the rest of the page if its render passes the deadline.
pub fn page_resource<T, Fut>(
    load: impl Fn() -> Fut + Send + Sync + 'static,
) -> Resource<Result<T, AppError>>
where
    T: Clone + Send + Sync + Serialize + DeserializeOwned + 'static,
    Fut: Future<Output = Result<T, AppError>> + Send + 'static,
{
    #[cfg(feature = "ssr")]
    {
        let scope = ssr::RenderScope::current();
        Resource::new_blocking(
            || (),
            move |()| {
                let load = load();
                let scope = scope.clone();
                async move {
                    match scope {
                        Some(scope) => scope.run(load).await,
                        None => load.await,
                    }
                }
            },
        )
    }
    #[cfg(not(feature = "ssr"))]
    Resource::new_blocking(|| (), move |()| load())
}

/// Answers the page being rendered with `error`'s status (a page whose data could not be read is
/// no `200`): `400` for a page link that cannot be read, `404` for what is not there or not
/// the user's. Nothing in the browser.
pub fn set_error_status(error: &AppError) {
    #[cfg(feature = "ssr")]
    if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
        response.set_status(
            axum::http::StatusCode::from_u16(error.status())
                .unwrap_or(axum::http::StatusCode::INTERNAL_SERVER_ERROR),
        );
    }
    #[cfg(not(feature = "ssr"))]
    let _ = error;
}

#[cfg(feature = "ssr")]
pub use ssr::RenderScope;

#[cfg(feature = "ssr")]
mod ssr {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::{Arc, PoisonError, RwLock};
    use std::task::Poll;

    use tokio_util::sync::CancellationToken;

    use crate::error::AppError;

    /// One page render's loaders: how many are running, and a switch that cancels them all.
    /// The server puts one in each page request's extensions; [`super::page_resource`] finds it
    /// through the request parts Leptos provides.
    #[derive(Clone, Debug, Default)]
    pub struct RenderScope {
        cancelled: CancellationToken,
        running: Arc<AtomicUsize>,
        /// Held shared while a loader is being polled and exclusively while cancelling, so that
        /// once [`Self::cancel`] returns no loader is inside its poll: a loader polled on another
        /// thread at that moment could otherwise still reach the page's context while the page
        /// is being disposed.
        polling: Arc<RwLock<()>>,
    }

    impl RenderScope {
        /// The scope of the page request being rendered, if the server set one.
        pub fn current() -> Option<Self> {
            leptos::prelude::use_context::<axum::http::request::Parts>()
                .and_then(|parts| parts.extensions.get::<Self>().cloned())
        }

        /// Cancels every loader of this render; returns how many were still running.
        pub fn cancel(&self) -> usize {
            let running = self.running.load(Ordering::Acquire);
            let _no_loader_polling = self.polling.write().unwrap_or_else(PoisonError::into_inner);
            self.cancelled.cancel();
            running
        }

        /// Runs `load` unless the render is cancelled first.
        pub(super) async fn run<T>(
            &self,
            load: impl Future<Output = Result<T, AppError>>,
        ) -> Result<T, AppError> {
            let _running = Running::start(&self.running);
            let mut load = std::pin::pin!(load);
            let mut cancelled = std::pin::pin!(self.cancelled.cancelled());
            std::future::poll_fn(|cx| {
                // Registers the wakeup for a cancellation that comes while `load` waits.
                if cancelled.as_mut().poll(cx).is_ready() {
                    return Poll::Ready(Err(AppError::Internal));
                }
                let _polling = self.polling.read().unwrap_or_else(PoisonError::into_inner);
                if self.cancelled.is_cancelled() {
                    return Poll::Ready(Err(AppError::Internal));
                }
                load.as_mut().poll(cx)
            })
            .await
        }
    }

    /// Counts a loader as running for as long as it lives.
    struct Running<'a>(&'a AtomicUsize);

    impl<'a> Running<'a> {
        fn start(count: &'a AtomicUsize) -> Self {
            count.fetch_add(1, Ordering::AcqRel);
            Self(count)
        }
    }

    impl Drop for Running<'_> {
        fn drop(&mut self) {
            self.0.fetch_sub(1, Ordering::AcqRel);
        }
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        #[tokio::test]
        async fn cancel_ends_running_loaders_and_counts_them() {
            let scope = RenderScope::default();
            let stuck = tokio::spawn({
                let scope = scope.clone();
                async move {
                    scope
                        .run(std::future::pending::<Result<(), AppError>>())
                        .await
                }
            });
            while scope.running.load(Ordering::Acquire) == 0 {
                tokio::task::yield_now().await;
            }
            assert_eq!(scope.cancel(), 1);
            assert_eq!(stuck.await.unwrap(), Err(AppError::Internal));
            assert_eq!(scope.running.load(Ordering::Acquire), 0);
            // A loader that starts after the deadline does not run at all.
            assert_eq!(scope.run(async { Ok(1) }).await, Err(AppError::Internal));
        }
    }
}

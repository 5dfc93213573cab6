//! How the server takes connections, so that slow or idle clients cannot hold it:
//!
//! - at most [`ConnectionLimits::max_connections`] at once: past it, new connections wait in the
//!   kernel's accept queue (nothing is read from them, nothing allocated) until one closes;
//! - an accept error (`EMFILE` when the process is out of file descriptors, a connection reset
//!   before it was taken) is logged at most once a second and retried; it never ends the loop;
//! - each connection has a watchdog. A new connection must send its first request's head within
//!   [`ConnectionLimits::head`]; between requests it may be idle for
//!   [`ConnectionLimits::keep_alive`]; once a request's first byte arrived, its head (request line
//!   and headers, at most 64 KB) must be complete within [`ConnectionLimits::head`]; a response the client does
//!   not read for `keep_alive` is given up. The connection is then closed (HTTP has no answer a
//!   client that sends nothing could read);
//! - a request body must keep [`ConnectionLimits::body_min_rate`] bytes a second, measured over
//!   windows of `head` (so a slow but steady upload gets through, a body trickled a byte at a time
//!   does not; time the server itself takes between reads is not counted): the request is then
//!   answered `408` and the connection closed.
//!
//! The rest of the server never sees any of this: a request reaches the router as it always did,
//! with its [`ConnectInfo`] and a body that fails if it stalls.

use std::convert::Infallible;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::Router;
use axum::extract::ConnectInfo;
use axum::http::{HeaderValue, Request, Response, header};
use axum::response::IntoResponse;
use hyper::body::{Body, Frame, Incoming, SizeHint};
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;
use tokio::time::{Instant, Sleep};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use app::error::AppError;
use app::shares::Occasional;

/// What a connection may cost the server (`CONSOLE_MAX_CONNECTIONS`,
/// `CONSOLE_HEADER_TIMEOUT_SECONDS`, `CONSOLE_KEEP_ALIVE_SECONDS`,
/// `CONSOLE_BODY_MIN_BYTES_PER_SECOND`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ConnectionLimits {
    /// Connections open at once.
    pub max_connections: usize,
    /// From a request's first byte to the end of its head; also the window a body's rate is
    /// measured over.
    pub head: Duration,
    /// How long a connection may wait, between requests, for the next one.
    pub keep_alive: Duration,
    /// The slowest a request body may arrive, in bytes a second.
    pub body_min_rate: u64,
}

impl ConnectionLimits {
    pub const DEFAULT_HEAD: Duration = Duration::from_secs(10);
    pub const DEFAULT_KEEP_ALIVE: Duration = Duration::from_secs(60);
    /// 1 KB/s: a person on the slowest mobile link still uploads faster.
    pub const DEFAULT_BODY_MIN_RATE: u64 = 1024;

    /// The default number of connections for a process allowed `file_limit` open files: what
    /// is left after the database pool, spooled uploads, mail and the archives' files, at most
    /// 20,000 (each idle connection holds a few kilobytes; 20,000 a hundred megabytes or so).
    pub fn default_max_connections(file_limit: u64) -> usize {
        let left = file_limit
            .saturating_sub(RESERVED_FILES)
            .max(MIN_CONNECTIONS);
        usize::try_from(left.min(20_000)).unwrap_or(20_000)
    }
}

/// The largest request head (and a connection's read buffer); a larger head is answered 431.
const MAX_HEAD_BYTES: usize = 64 * 1024;

/// File descriptors kept for what is not a connection.
const RESERVED_FILES: u64 = 256;

/// Even under a tiny file limit, some connections.
const MIN_CONNECTIONS: u64 = 64;

/// Raises this process's limit of open files to its hard limit (what an unprivileged process
/// may do): every connection is one.
pub fn raise_file_limit() {
    use rustix::process::{Resource, getrlimit, setrlimit};
    let mut limit = getrlimit(Resource::Nofile);
    if limit.current != limit.maximum {
        limit.current = limit.maximum;
        if let Err(error) = setrlimit(Resource::Nofile, limit) {
            tracing::warn!(%error, "the limit of open files could not be raised");
        }
    }
}

/// The process's limit of open files now.
pub fn file_limit() -> u64 {
    rustix::process::getrlimit(rustix::process::Resource::Nofile)
        .current
        .unwrap_or(u64::MAX)
}

/// Serves `router` on `listener` until `closing` is cancelled; then stops accepting, lets every
/// connection finish the request it is on, and returns once all are closed.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    limits: ConnectionLimits,
    closing: CancellationToken,
) {
    let permits = Arc::new(Semaphore::new(limits.max_connections));
    let connections = TaskTracker::new();
    loop {
        let permit = tokio::select! {
            permit = permits.clone().acquire_owned() => permit,
            () = closing.cancelled() => break,
        };
        let Ok(permit) = permit else { break };
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            () = closing.cancelled() => break,
        };
        match accepted {
            Ok((stream, peer)) => {
                let router = router.clone();
                let closing = closing.clone();
                connections.spawn(async move {
                    serve_connection(stream, peer, router, limits, closing).await;
                    drop(permit);
                });
            }
            Err(error) => wait_after(&error).await,
        }
    }
    connections.close();
    connections.wait().await;
}

/// After an accept error: logged at most once a second, and a pause before the next try when
/// the process or the system is out of file descriptors (trying again at once would spin).
async fn wait_after(error: &io::Error) {
    static ERRORS: Occasional = Occasional::new();
    if let Some(count) = ERRORS.due() {
        tracing::warn!(%error, count, "connections could not be accepted");
    }
    // A connection reset or aborted before it was taken is the client's business; running out
    // of descriptors is not over until a connection closes.
    if !matches!(
        error.kind(),
        io::ErrorKind::ConnectionAborted | io::ErrorKind::ConnectionReset
    ) {
        tokio::time::sleep(ACCEPT_PAUSE).await;
    }
}

/// How long the accept loop waits after running out of file descriptors.
const ACCEPT_PAUSE: Duration = Duration::from_millis(50);

async fn serve_connection(
    stream: TcpStream,
    peer: SocketAddr,
    router: Router,
    limits: ConnectionLimits,
    closing: CancellationToken,
) {
    // Answers are written whole; waiting to coalesce them with the next only adds latency.
    let _ = stream.set_nodelay(true);
    let activity = Arc::new(Activity::new());
    let io = TokioIo::new(Watched {
        stream,
        activity: activity.clone(),
    });
    let service = hyper::service::service_fn({
        let activity = activity.clone();
        move |request: Request<Incoming>| {
            handle(
                request,
                peer,
                router.clone(),
                limits,
                InFlight::start(&activity),
            )
        }
    });
    let connection = hyper::server::conn::http1::Builder::new()
        .timer(TokioTimer::new())
        // The watchdog below times the head from its first byte; hyper's own timer would also
        // count the idle time before it.
        .header_read_timeout(None)
        // A connection's read buffer, and so the largest head: hyper's default (~400 KB) times
        // thousands of slow connections would be gigabytes.
        .max_buf_size(MAX_HEAD_BYTES)
        .serve_connection(io, service);
    let mut connection = std::pin::pin!(connection);
    let mut check = std::pin::pin!(tokio::time::sleep(limits.head.min(limits.keep_alive)));
    let mut closing_seen = false;
    loop {
        tokio::select! {
            _ = connection.as_mut() => return,
            () = closing.cancelled(), if !closing_seen => {
                closing_seen = true;
                connection.as_mut().graceful_shutdown();
            }
            () = check.as_mut() => match activity.verdict(&limits) {
                Verdict::Fine { check_again_in } => {
                    check.as_mut().reset(Instant::now() + check_again_in);
                }
                // Dropping the connection closes the socket.
                Verdict::Close(reason) => {
                    tracing::debug!(%peer, reason, "connection closed");
                    app::metrics::slow_client(reason);
                    return;
                }
            },
        }
    }
}

/// One request: its body timed, its client's address attached; a body that stalled is answered
/// `408` whatever the handler made of the broken body.
async fn handle(
    request: Request<Incoming>,
    peer: SocketAddr,
    router: Router,
    limits: ConnectionLimits,
    in_flight: InFlight,
) -> Result<Response<axum::body::Body>, Infallible> {
    let (mut parts, body) = request.into_parts();
    parts.extensions.insert(ConnectInfo(peer));
    // Most requests (page loads, GETs) have no body: nothing to time.
    let (body, stalled) = if body.is_end_stream() {
        (axum::body::Body::new(body), None)
    } else {
        let stalled = Arc::new(AtomicBool::new(false));
        let timed = MinRate {
            inner: body,
            window: limits.head,
            per_window: limits
                .body_min_rate
                .saturating_mul(limits.head.as_secs().max(1)),
            received: 0,
            deadline: None,
            handed_at: None,
            stalled: stalled.clone(),
        };
        (axum::body::Body::new(timed), Some(stalled))
    };
    let request = Request::from_parts(parts, body);
    let Ok(response) = tower::ServiceExt::oneshot(router, request).await;
    drop(in_flight);
    if stalled.is_some_and(|stalled| stalled.load(Ordering::Acquire)) {
        app::metrics::slow_client("body");
        let mut response = AppError::RequestTooSlow.into_response();
        response
            .headers_mut()
            .insert(header::CONNECTION, HeaderValue::from_static("close"));
        return Ok(response);
    }
    Ok(response)
}

/// What the watchdog knows of a connection. Times are milliseconds since it was accepted, plus
/// one: 0 means "not now".
struct Activity {
    accepted: Instant,
    /// The last time bytes went either way.
    last_io: AtomicU64,
    /// When the head of the next request began to arrive, while no request is being handled.
    head_started: AtomicU64,
    /// Since when a response waits for the client to read it.
    write_blocked: AtomicU64,
    /// Requests being handled.
    in_flight: AtomicUsize,
    /// Whether a request ever came: until one does, the connection is not kept alive but new,
    /// and has the head's time to send one.
    served: AtomicBool,
}

enum Verdict {
    Fine { check_again_in: Duration },
    Close(&'static str),
}

impl Activity {
    fn new() -> Self {
        Self {
            accepted: Instant::now(),
            last_io: AtomicU64::new(1),
            head_started: AtomicU64::new(0),
            write_blocked: AtomicU64::new(0),
            in_flight: AtomicUsize::new(0),
            served: AtomicBool::new(false),
        }
    }

    fn now(&self) -> u64 {
        u64::try_from(self.accepted.elapsed().as_millis())
            .unwrap_or(u64::MAX - 1)
            .saturating_add(1)
    }

    fn read(&self) {
        let now = self.now();
        self.last_io.store(now, Ordering::Relaxed);
        if self.in_flight.load(Ordering::Acquire) == 0 {
            let _ = self
                .head_started
                .compare_exchange(0, now, Ordering::AcqRel, Ordering::Relaxed);
        }
    }

    fn wrote(&self) {
        self.last_io.store(self.now(), Ordering::Relaxed);
        self.write_blocked.store(0, Ordering::Relaxed);
    }

    fn write_waits(&self) {
        let _ =
            self.write_blocked
                .compare_exchange(0, self.now(), Ordering::AcqRel, Ordering::Relaxed);
    }

    /// Whether the connection has overstayed, and if not, when to look again.
    fn verdict(&self, limits: &ConnectionLimits) -> Verdict {
        let now = self.now();
        let since = |at: u64| Duration::from_millis(now.saturating_sub(at));
        let left = |limit: Duration, at: u64| limit.saturating_sub(since(at));
        let write_blocked = self.write_blocked.load(Ordering::Relaxed);
        if write_blocked != 0 {
            let left = left(limits.keep_alive, write_blocked);
            return if left.is_zero() {
                Verdict::Close("response not read")
            } else {
                Verdict::Fine {
                    check_again_in: left,
                }
            };
        }
        if self.in_flight.load(Ordering::Acquire) > 0 {
            // A body's pace is the body's own watch (`MinRate`); the handler takes its time.
            return Verdict::Fine {
                check_again_in: limits.head,
            };
        }
        let head_started = self.head_started.load(Ordering::Acquire);
        if head_started != 0 {
            let left = left(limits.head, head_started);
            return if left.is_zero() {
                Verdict::Close("head")
            } else {
                Verdict::Fine {
                    check_again_in: left,
                }
            };
        }
        let idle = if self.served.load(Ordering::Acquire) {
            limits.keep_alive
        } else {
            limits.head
        };
        let left = left(idle, self.last_io.load(Ordering::Relaxed));
        if left.is_zero() {
            Verdict::Close("idle")
        } else {
            Verdict::Fine {
                check_again_in: left,
            }
        }
    }
}

/// A request being handled, for as long as it is (also when its handler is dropped midway).
struct InFlight(Arc<Activity>);

impl InFlight {
    fn start(activity: &Arc<Activity>) -> Self {
        activity.in_flight.fetch_add(1, Ordering::AcqRel);
        activity.head_started.store(0, Ordering::Release);
        activity.served.store(true, Ordering::Release);
        Self(activity.clone())
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        // The wait for the next request starts now.
        self.0.last_io.store(self.0.now(), Ordering::Relaxed);
        self.0.in_flight.fetch_sub(1, Ordering::AcqRel);
    }
}

/// The connection's socket, telling [`Activity`] when bytes move.
struct Watched {
    stream: TcpStream,
    activity: Arc<Activity>,
}

impl AsyncRead for Watched {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.stream).poll_read(cx, buf);
        if matches!(polled, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            self.activity.read();
        }
        polled
    }
}

impl AsyncWrite for Watched {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let polled = Pin::new(&mut self.stream).poll_write(cx, buf);
        self.wrote(&polled);
        polled
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let polled = Pin::new(&mut self.stream).poll_write_vectored(cx, bufs);
        self.wrote(&polled);
        polled
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_shutdown(cx)
    }
}

impl Watched {
    fn wrote(&self, polled: &Poll<io::Result<usize>>) {
        match polled {
            Poll::Ready(Ok(written)) if *written > 0 => self.activity.wrote(),
            Poll::Pending => self.activity.write_waits(),
            Poll::Ready(_) => {}
        }
    }
}

/// A request body that fails once less than `per_window` bytes arrived in a `window` (the
/// window starts when the handler first reads).
struct MinRate {
    inner: Incoming,
    window: Duration,
    per_window: u64,
    received: u64,
    deadline: Option<Pin<Box<Sleep>>>,
    /// When a frame was last handed to the reader: the time until it asks for the next is the
    /// server's (storing a part, a query), not the client's, and is not counted.
    handed_at: Option<Instant>,
    stalled: Arc<AtomicBool>,
}

/// The error a stalled body ends with.
#[derive(Debug, thiserror::Error)]
#[error("the request body arrived too slowly")]
struct BodyTooSlow;

impl Body for MinRate {
    type Data = axum::body::Bytes;
    type Error = axum::BoxError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        let this = &mut *self;
        let window = this.window;
        let deadline = this
            .deadline
            .get_or_insert_with(|| Box::pin(tokio::time::sleep(window)));
        if let Some(handed_at) = this.handed_at.take() {
            let later = deadline.deadline() + handed_at.elapsed();
            deadline.as_mut().reset(later);
        }
        match Pin::new(&mut this.inner).poll_frame(cx) {
            Poll::Ready(Some(Ok(frame))) => {
                if let Some(data) = frame.data_ref() {
                    this.received = this.received.saturating_add(data.len() as u64);
                    if this.received >= this.per_window {
                        this.received = 0;
                        deadline.as_mut().reset(Instant::now() + window);
                    }
                }
                this.handed_at = Some(Instant::now());
                Poll::Ready(Some(Ok(frame)))
            }
            Poll::Ready(other) => Poll::Ready(other.map(|result| result.map_err(Into::into))),
            Poll::Pending => {
                if deadline.as_mut().poll(cx).is_ready() {
                    this.stalled.store(true, Ordering::Release);
                    return Poll::Ready(Some(Err(BodyTooSlow.into())));
                }
                Poll::Pending
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_connections_stay_below_the_file_limit() {
        assert_eq!(ConnectionLimits::default_max_connections(1024), 768);
        assert_eq!(ConnectionLimits::default_max_connections(100), 64);
        assert_eq!(ConnectionLimits::default_max_connections(1_048_576), 20_000);
    }

    /// Why the watchdog would close the connection now; `None` if it would not.
    fn closing(activity: &Activity) -> Option<&'static str> {
        match activity.verdict(&limits()) {
            Verdict::Fine { .. } => None,
            Verdict::Close(reason) => Some(reason),
        }
    }

    fn limits() -> ConnectionLimits {
        ConnectionLimits {
            max_connections: 10,
            head: Duration::from_secs(10),
            keep_alive: Duration::from_secs(60),
            body_min_rate: 1024,
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_new_connection_has_the_heads_time_to_send_a_request() {
        let activity = Activity::new();
        tokio::time::advance(Duration::from_secs(9)).await;
        assert_eq!(closing(&activity), None);
        tokio::time::advance(Duration::from_secs(2)).await;
        assert_eq!(closing(&activity), Some("idle"));
    }

    #[tokio::test(start_paused = true)]
    async fn an_idle_connection_closes_after_keep_alive() {
        let activity = Arc::new(Activity::new());
        drop(InFlight::start(&activity));
        tokio::time::advance(Duration::from_secs(59)).await;
        assert_eq!(closing(&activity), None);
        tokio::time::advance(Duration::from_secs(2)).await;
        assert_eq!(closing(&activity), Some("idle"));
    }

    #[tokio::test(start_paused = true)]
    async fn a_head_must_arrive_within_its_time_from_its_first_byte() {
        let activity = Arc::new(Activity::new());
        drop(InFlight::start(&activity));
        // Idle for a while first: that is the keep-alive's time, not the head's.
        tokio::time::advance(Duration::from_secs(30)).await;
        activity.read();
        tokio::time::advance(Duration::from_secs(9)).await;
        activity.read();
        assert_eq!(closing(&activity), None);
        tokio::time::advance(Duration::from_secs(2)).await;
        assert_eq!(closing(&activity), Some("head"));
    }

    #[tokio::test(start_paused = true)]
    async fn a_request_being_handled_is_not_timed_until_it_is_answered() {
        let activity = Arc::new(Activity::new());
        activity.read();
        let request = InFlight::start(&activity);
        tokio::time::advance(Duration::from_secs(120)).await;
        assert_eq!(closing(&activity), None);
        drop(request);
        tokio::time::advance(Duration::from_secs(59)).await;
        assert_eq!(closing(&activity), None);
        tokio::time::advance(Duration::from_secs(2)).await;
        assert_eq!(closing(&activity), Some("idle"));
    }

    #[tokio::test(start_paused = true)]
    async fn an_unread_response_is_given_up_after_keep_alive() {
        let activity = Arc::new(Activity::new());
        let request = InFlight::start(&activity);
        activity.write_waits();
        tokio::time::advance(Duration::from_secs(61)).await;
        assert_eq!(closing(&activity), Some("response not read"));
        // Once the client reads again, the response is on its way.
        activity.wrote();
        assert_eq!(closing(&activity), None);
        drop(request);
    }
}

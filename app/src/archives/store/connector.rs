//! The archive store's HTTP client: hyper with rustls on ring, the stack the rest of the server
//! already uses, given to `object_store` in place of its reqwest client (which would bring a
//! second HTTP client and a second TLS crypto library, aws-lc-rs, into the build).

use std::sync::Arc;
use std::time::Duration;

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use hyper::body::{Body, Frame, Incoming};
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector as TcpConnector;
use hyper_util::rt::TokioExecutor;
use object_store::client::{
    ClientConfigKey, ClientOptions, HttpClient, HttpConnector, HttpError, HttpErrorKind,
    HttpRequest, HttpRequestBody, HttpResponse, HttpResponseBody, HttpService,
};

/// How long connecting to the store may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// How long the store may take to start answering a request…
const ANSWER_TIMEOUT: Duration = Duration::from_secs(30);
/// …and may then pause within its answer's body (a body may take as long as it keeps coming).
const BODY_IDLE_TIMEOUT: Duration = Duration::from_secs(30);

/// Makes the [`HttpClient`] of an S3 store.
#[derive(Debug, Default)]
pub struct HyperConnector;

impl HttpConnector for HyperConnector {
    fn connect(&self, options: &ClientOptions) -> object_store::Result<HttpClient> {
        let allow_http = options
            .get_config_value(&ClientConfigKey::AllowHttp)
            .is_some_and(|value| value == "true");
        let mut tcp = TcpConnector::new();
        tcp.set_connect_timeout(Some(CONNECT_TIMEOUT));
        tcp.set_nodelay(true);
        tcp.enforce_http(false);
        let tls = hyper_rustls::HttpsConnectorBuilder::new()
            .with_provider_and_native_roots(Arc::new(rustls::crypto::ring::default_provider()))
            .map_err(|error| object_store::Error::Generic {
                store: "S3",
                source: Box::new(error),
            })?;
        let tls = if allow_http {
            tls.https_or_http()
        } else {
            tls.https_only()
        };
        let connector = tls.enable_http1().wrap_connector(tcp);
        let client = Client::builder(TokioExecutor::new()).build(connector);
        Ok(HttpClient::new(Hyper { client }))
    }
}

#[derive(Debug)]
struct Hyper {
    client: Client<HttpsConnector<TcpConnector>, HttpRequestBody>,
}

#[async_trait::async_trait]
impl HttpService for Hyper {
    async fn call(&self, request: HttpRequest) -> Result<HttpResponse, HttpError> {
        let response = tokio::time::timeout(ANSWER_TIMEOUT, self.client.request(request))
            .await
            .map_err(|elapsed| HttpError::new(HttpErrorKind::Timeout, elapsed))?
            .map_err(|error| {
                // Only a request that never reached the store is safe to retry whatever it was
                // (creating or completing a multipart upload is not idempotent).
                let kind = if error.is_connect() {
                    HttpErrorKind::Connect
                } else {
                    HttpErrorKind::Unknown
                };
                HttpError::new(kind, error)
            })?;
        Ok(response.map(|body| HttpResponseBody::new(IdleTimeout::new(body))))
    }
}

/// A response body that fails once no data has come for [`BODY_IDLE_TIMEOUT`]: a store that
/// stalls mid-answer must not hold a job's reader forever.
struct IdleTimeout {
    body: Incoming,
    idle: Pin<Box<tokio::time::Sleep>>,
}

impl IdleTimeout {
    fn new(body: Incoming) -> Self {
        Self {
            body,
            idle: Box::pin(tokio::time::sleep(BODY_IDLE_TIMEOUT)),
        }
    }
}

impl Body for IdleTimeout {
    type Data = Bytes;
    type Error = HttpError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, HttpError>>> {
        let this = &mut *self;
        match Pin::new(&mut this.body).poll_frame(cx) {
            Poll::Ready(frame) => {
                let deadline = tokio::time::Instant::now() + BODY_IDLE_TIMEOUT;
                this.idle.as_mut().reset(deadline);
                Poll::Ready(frame.map(|frame| {
                    frame.map_err(|error| HttpError::new(HttpErrorKind::Interrupted, error))
                }))
            }
            Poll::Pending => match this.idle.as_mut().poll(cx) {
                Poll::Ready(()) => Poll::Ready(Some(Err(HttpError::new(
                    HttpErrorKind::Timeout,
                    std::io::Error::new(
                        std::io::ErrorKind::TimedOut,
                        "the archive store stopped sending its answer",
                    ),
                )))),
                Poll::Pending => Poll::Pending,
            },
        }
    }
}

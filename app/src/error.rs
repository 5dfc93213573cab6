//! The console's one error type, shared by server functions, pages and the REST API.
//!
//! Policy: a client only ever sees a stable machine code ([`AppError::code`]) and a human message
//! (the `Display` text). Causes — database errors, hashing failures, I/O — are logged on the server
//! where they happen and reach the client as [`AppError::Internal`], never verbatim.

use serde::{Deserialize, Serialize};
use server_fn_error::{FromServerFnError, JsonEncoding, ServerFnErrorErr};

/// Re-exported so the rest of the crate names the server-function error API in one place.
mod server_fn_error {
    pub use leptos::server_fn::codec::JsonEncoding;
    pub use leptos::server_fn::error::{FromServerFnError, ServerFnErrorErr};
}

/// Everything that can go wrong in a request, as a client may see it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
pub enum AppError {
    /// No valid credentials were presented.
    #[error("Please sign in to continue.")]
    Unauthenticated,
    /// A username/password pair did not match.
    #[error("Wrong username or password.")]
    InvalidCredentials,
    /// An `X-API-KEY` header was present but is not a valid, current key.
    #[error("The API key is not valid. Generate a new one on your profile page.")]
    InvalidApiKey,
    /// The right password, but an administrator disabled the account.
    #[error("This account is disabled. Ask an administrator to enable it.")]
    AccountDisabled,
    /// The browser's session was ended since it signed in (its password changed, or all its
    /// sessions were ended).
    #[error(
        "You were signed out because your password changed or all your sessions were ended. Please sign in again."
    )]
    SessionEnded,
    /// The password was reset: nothing but choosing a new one is allowed until then.
    #[error("Your password was reset. Choose a new password to continue.")]
    PasswordChangeRequired,
    /// Signed in, but not allowed to do this.
    #[error("You are not allowed to do this.")]
    Forbidden,
    /// The request looked like a cross-site forgery and was refused.
    #[error("This request came from another site and was refused.")]
    CrossSite,
    #[error("Not found.")]
    NotFound,
    /// The change conflicts with what is stored (for example a taken username).
    #[error("{0}")]
    Conflict(String),
    /// The upload is larger than the server accepts.
    #[error("The file is too large: the limit is {limit_mb} MB.")]
    TooLarge { limit_mb: u64 },
    /// The upload would take the uploader's archives past their storage quota.
    #[error(
        "This upload would take your archives past your storage quota of {quota_mb} MB. Ask an administrator to raise it."
    )]
    QuotaExceeded { quota_mb: u64 },
    /// A request body (other than an upload) is larger than the server reads.
    #[error("The request is too large: the limit is {limit_kb} KB.")]
    BodyTooLarge { limit_kb: u64 },
    /// A field of the request is invalid; `message` says why in plain words.
    #[error("{message}")]
    Invalid { field: String, message: String },
    /// Too many failed attempts from this client; try again after the given number of seconds.
    #[error("Too many attempts. Try again in {}.", wait_in_words(*.retry_after_secs))]
    TooManyRequests { retry_after_secs: u64 },
    /// The caller already has as many jobs queued or running as one user may.
    #[error("You already have {limit} jobs queued or running. Start more once some have finished.")]
    TooManyJobs { limit: u64 },
    /// The caller already has as many uploads under way as one user may.
    #[error("You already have {limit} uploads under way. Start another once one has finished.")]
    TooManyUploads { limit: usize },
    /// The server is at capacity for this kind of work (password checks); try again shortly.
    #[error("The server is busy. Please try again in a moment.")]
    Busy { retry_after_secs: u64 },
    /// The request's body arrived too slowly: the connection is closed after this answer.
    #[error("The request arrived too slowly. Please try again.")]
    RequestTooSlow,
    /// Something failed on the server; the cause is in the server log.
    #[error("Something went wrong on our side. Please try again.")]
    Internal,
    /// The mail server refused or could not be reached; the message says why in plain words.
    #[error("{0}")]
    MailServer(String),
    /// The request never completed (network failure, undecodable answer).
    #[error("The server could not be reached: {0}")]
    Transport(String),
}

/// A wait as a person says it: "1 second", "12 seconds", "4 minutes", "1 hour" (rounded up, so
/// trying again at the said time works).
fn wait_in_words(seconds: u64) -> String {
    let (count, unit) = match seconds {
        0..60 => (seconds, "second"),
        60..3600 => (seconds.div_ceil(60), "minute"),
        _ => (seconds.div_ceil(3600), "hour"),
    };
    if count == 1 {
        format!("1 {unit}")
    } else {
        format!("{count} {unit}s")
    }
}

impl AppError {
    /// A field-level validation error.
    pub fn invalid(field: &str, message: impl Into<String>) -> Self {
        Self::Invalid {
            field: field.to_owned(),
            message: message.into(),
        }
    }

    /// Stable machine-readable code, used as `error` in REST bodies.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Unauthenticated => "unauthenticated",
            Self::InvalidCredentials => "invalid_credentials",
            Self::InvalidApiKey => "invalid_api_key",
            Self::AccountDisabled => "account_disabled",
            Self::SessionEnded => "session_ended",
            Self::PasswordChangeRequired => "password_change_required",
            Self::Forbidden => "forbidden",
            Self::CrossSite => "cross_site_request",
            Self::NotFound => "not_found",
            Self::Conflict(_) => "conflict",
            Self::Invalid { .. } => "invalid_request",
            Self::TooLarge { .. } | Self::BodyTooLarge { .. } => "payload_too_large",
            Self::QuotaExceeded { .. } => "storage_quota_exceeded",
            Self::TooManyRequests { .. } => "too_many_requests",
            Self::TooManyJobs { .. } => "too_many_jobs",
            Self::TooManyUploads { .. } => "too_many_uploads",
            Self::Busy { .. } => "busy",
            Self::RequestTooSlow => "request_timeout",
            Self::Internal => "internal_error",
            Self::MailServer(_) => "mail_server_error",
            Self::Transport(_) => "transport_error",
        }
    }

    /// The HTTP status this error is answered with.
    pub fn status(&self) -> u16 {
        match self {
            Self::Unauthenticated
            | Self::InvalidCredentials
            | Self::InvalidApiKey
            | Self::AccountDisabled
            | Self::SessionEnded
            | Self::PasswordChangeRequired => 401,
            Self::Forbidden | Self::CrossSite => 403,
            Self::NotFound => 404,
            Self::RequestTooSlow => 408,
            Self::Conflict(_) => 409,
            Self::Invalid { .. } => 400,
            Self::TooLarge { .. } | Self::BodyTooLarge { .. } | Self::QuotaExceeded { .. } => 413,
            Self::TooManyRequests { .. }
            | Self::TooManyJobs { .. }
            | Self::TooManyUploads { .. } => 429,
            Self::Internal => 500,
            Self::Busy { .. } => 503,
            Self::MailServer(_) | Self::Transport(_) => 502,
        }
    }

    /// How long the client should wait before trying again (`Retry-After`), where that applies.
    pub fn retry_after_secs(&self) -> Option<u64> {
        match self {
            Self::TooManyRequests { retry_after_secs } | Self::Busy { retry_after_secs } => {
                Some(*retry_after_secs)
            }
            _ => None,
        }
    }

    /// The field this error is about, if it is a validation error.
    pub fn field(&self) -> Option<&str> {
        match self {
            Self::Invalid { field, .. } => Some(field),
            _ => None,
        }
    }
}

impl FromServerFnError for AppError {
    type Encoder = JsonEncoding;

    fn from_server_fn_error(value: ServerFnErrorErr) -> Self {
        match value {
            ServerFnErrorErr::Args(message) | ServerFnErrorErr::MissingArg(message) => {
                Self::invalid("request", format!("The form could not be read: {message}"))
            }
            // On the server, decoding is only ever of the client's request: a body that is not
            // text, a broken chunked encoding, a method the function does not take.
            #[cfg(feature = "ssr")]
            ServerFnErrorErr::Deserialization(message)
            | ServerFnErrorErr::Request(message)
            | ServerFnErrorErr::UnsupportedRequestMethod(message) => Self::invalid(
                "request",
                format!("The request could not be read: {message}"),
            ),
            // On the server these are our own failures (encoding an answer, a broken request):
            // log them, tell the client nothing internal.
            #[cfg(feature = "ssr")]
            other => {
                tracing::error!(error = %other, "server function failed");
                Self::Internal
            }
            #[cfg(not(feature = "ssr"))]
            other => Self::Transport(other.to_string()),
        }
    }
}

/// An error as REST clients receive it: a stable code, a human message, and the offending field
/// when there is one. The OpenAPI document names it for every error status.
#[cfg(feature = "ssr")]
#[derive(Serialize, utoipa::ToSchema)]
pub struct ErrorBody {
    /// Stable machine code, e.g. `not_found`, `invalid_request`.
    pub error: &'static str,
    /// What went wrong, in plain words.
    pub message: String,
    /// The request field at fault, for `invalid_request`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
}

#[cfg(feature = "ssr")]
mod ssr {
    use super::{AppError, ErrorBody};
    use axum::http::{HeaderValue, StatusCode, header};
    use axum::response::{IntoResponse, Response};

    impl From<sea_orm::DbErr> for AppError {
        fn from(error: sea_orm::DbErr) -> Self {
            tracing::error!(error = %error, "database error");
            Self::Internal
        }
    }

    /// The REST rendering: status, [`ErrorBody`], and the headers RFC 7235 / RFC 6585 ask for.
    impl IntoResponse for AppError {
        fn into_response(self) -> Response {
            let status =
                StatusCode::from_u16(self.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            let body = ErrorBody {
                error: self.code(),
                message: self.to_string(),
                field: self.field().map(str::to_owned),
            };
            let mut response = (status, axum::Json(body)).into_response();
            let headers = response.headers_mut();
            if status == StatusCode::UNAUTHORIZED {
                headers.insert(
                    header::WWW_AUTHENTICATE,
                    HeaderValue::from_static(r#"Basic realm="console", charset="UTF-8""#),
                );
            }
            if let Some(seconds) = self.retry_after_secs() {
                headers.insert(header::RETRY_AFTER, HeaderValue::from(seconds));
            }
            response
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn waits_read_as_people_say_them() {
        for (seconds, words) in [
            (1, "1 second"),
            (12, "12 seconds"),
            (60, "1 minute"),
            (61, "2 minutes"),
            (3600, "1 hour"),
            (7201, "3 hours"),
        ] {
            assert_eq!(super::wait_in_words(seconds), words);
        }
    }

    use super::*;

    #[test]
    fn every_error_has_a_client_status() {
        for (error, status) in [
            (AppError::Unauthenticated, 401),
            (AppError::InvalidApiKey, 401),
            (AppError::AccountDisabled, 401),
            (AppError::PasswordChangeRequired, 401),
            (AppError::Forbidden, 403),
            (AppError::invalid("email", "bad"), 400),
            (AppError::RequestTooSlow, 408),
            (AppError::Conflict("taken".into()), 409),
            (AppError::TooLarge { limit_mb: 50 }, 413),
            (
                AppError::TooManyRequests {
                    retry_after_secs: 3,
                },
                429,
            ),
            (AppError::Internal, 500),
            (
                AppError::Busy {
                    retry_after_secs: 1,
                },
                503,
            ),
        ] {
            assert_eq!(error.status(), status, "{error:?}");
        }
    }

    #[test]
    fn internal_error_message_reveals_nothing() {
        assert_eq!(
            AppError::Internal.to_string(),
            "Something went wrong on our side. Please try again."
        );
    }
}

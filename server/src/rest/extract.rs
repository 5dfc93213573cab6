//! The extractors of REST handlers — a JSON body, path parameters, the query string — with
//! [`AppError`] rejections: a malformed body, a path id that is not a number or a bad query gets
//! the same `{"error": "invalid_request", "message", "field"}` 400 as every other invalid input,
//! never axum's plain-text rejection. The OpenAPI document lists that 400 on every operation that
//! takes a body, path parameters or a query (`openapi::BadInput`).

use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use serde::de::DeserializeOwned;

use app::error::AppError;

/// A JSON request body.
pub struct Json<T>(pub T);

impl<T, S> FromRequest<S> for Json<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = AppError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        match axum::Json::<T>::from_request(request, state).await {
            Ok(axum::Json(value)) => Ok(Self(value)),
            Err(rejection) => Err(json_error(&rejection)),
        }
    }
}

/// Path parameters (`/rest/jobs/{id}`).
pub struct Path<T>(pub T);

impl<T, S> FromRequestParts<S> for Path<T>
where
    T: DeserializeOwned + Send,
    S: Send + Sync,
{
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        match axum::extract::Path::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Path(value)) => Ok(Self(value)),
            Err(rejection) => Err(path_error(&rejection)),
        }
    }
}

/// The query string (`?application=1`).
pub struct Query<T>(pub T);

impl<T, S> FromRequestParts<S> for Query<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        match axum::extract::Query::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Query(value)) => Ok(Self(value)),
            Err(rejection) => Err(query_error(&rejection)),
        }
    }
}

fn json_error(rejection: &JsonRejection) -> AppError {
    let detail = rejection.body_text();
    // serde names the offending field as `name`; pass it on so clients can point at it.
    let field = detail
        .split('`')
        .nth(1)
        .filter(|_| detail.contains("field"))
        .unwrap_or("body");
    AppError::invalid(field, format!("The request body is not valid: {detail}"))
}

fn path_error(rejection: &PathRejection) -> AppError {
    use axum::extract::path::ErrorKind;
    let PathRejection::FailedToDeserializePathParams(failed) = rejection else {
        // Parameters missing from the route: the route table is wrong, not the request.
        tracing::error!(%rejection, "REST route without its path parameters");
        return AppError::Internal;
    };
    // Every REST path parameter is an `{id}`; a route with one names no key.
    let (field, value) = match failed.kind() {
        ErrorKind::ParseErrorAtKey { key, value, .. } => (key.as_str(), value.as_str()),
        ErrorKind::ParseError { value, .. } | ErrorKind::ParseErrorAtIndex { value, .. } => {
            ("id", value.as_str())
        }
        _ => ("id", ""),
    };
    AppError::invalid(
        field,
        format!("“{}” is not an id: ids are whole numbers.", shorten(value)),
    )
}

fn query_error(rejection: &QueryRejection) -> AppError {
    let detail = rejection.body_text();
    // `Failed to deserialize query string: application: invalid digit found in string`
    let reason = detail
        .split_once(": ")
        .map_or(detail.as_str(), |(_, rest)| rest);
    let field = reason
        .split_once(": ")
        .map(|(field, _)| field)
        .filter(|field| {
            field
                .bytes()
                .all(|byte| byte.is_ascii_alphanumeric() || byte == b'_')
        })
        .unwrap_or("query");
    AppError::invalid(field, format!("The query string is not valid: {reason}"))
}

/// At most 40 characters of what the client sent, for a message.
fn shorten(value: &str) -> String {
    let mut chars = value.chars();
    let short: String = chars.by_ref().take(40).collect();
    if chars.next().is_some() {
        format!("{short}…")
    } else {
        short
    }
}

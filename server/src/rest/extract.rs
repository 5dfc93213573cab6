//! The extractors of REST handlers — a JSON body, path parameters, the query string — with
//! [`AppError`] rejections: a malformed body, a path id that is not a number or a bad query gets
//! the same `{"error": "invalid_request", "message", "field"}` 400 as every other invalid input,
//! never axum's plain-text rejection. The OpenAPI document lists that 400 on every operation that
//! takes a body, path parameters or a query (`openapi::BadInput`).

use axum::body::Bytes;
use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::HeaderMap;
use axum::http::header::CONTENT_TYPE;
use axum::http::request::Parts;
use serde::de::DeserializeOwned;

use app::error::AppError;

/// A JSON request body (`Content-Type: application/json`). A value of the wrong type is
/// reported at its path (`version`, `items[2].name`), found by `serde_path_to_error`.
pub struct Json<T>(pub T);

impl<T, S> FromRequest<S> for Json<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = AppError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        if !is_json(request.headers()) {
            return Err(AppError::invalid(
                "body",
                "The request body must be JSON, sent with Content-Type: application/json.",
            ));
        }
        // The body limit layer has read the body already: this cannot fail on its size.
        let bytes = Bytes::from_request(request, state)
            .await
            .map_err(|rejection| {
                AppError::invalid(
                    "body",
                    format!("The request body could not be read: {rejection}"),
                )
            })?;
        let mut json = serde_json::Deserializer::from_slice(&bytes);
        let value = serde_path_to_error::deserialize(&mut json).map_err(json_error)?;
        json.end().map_err(|error| {
            AppError::invalid("body", format!("The request body is not valid: {error}"))
        })?;
        Ok(Self(value))
    }
}

/// `application/json`, with parameters, or any `application/…+json`.
fn is_json(headers: &HeaderMap) -> bool {
    let Some(value) = headers
        .get(CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
    else {
        return false;
    };
    let essence = value
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    essence == "application/json"
        || (essence.starts_with("application/") && essence.ends_with("+json"))
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

fn json_error(error: serde_path_to_error::Error<serde_json::Error>) -> AppError {
    let path = error.path().to_string();
    let inner = error.into_inner();
    // A value of the wrong type is at `path`. A field that is missing (or unknown) makes its
    // object fail as a whole, at the object's path; serde names the field in its message then.
    let field = if path == "." {
        named_field(&inner.to_string()).unwrap_or_else(|| "body".to_owned())
    } else {
        path
    };
    AppError::invalid(&field, format!("The request body is not valid: {inner}"))
}

/// The field serde's `missing field `x`` and `unknown field `x`` errors name.
fn named_field(message: &str) -> Option<String> {
    let rest = message
        .strip_prefix("missing field `")
        .or_else(|| message.strip_prefix("unknown field `"))?;
    rest.split_once('`').map(|(field, _)| field.to_owned())
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

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize)]
    #[allow(dead_code)]
    struct Job {
        application: i64,
        version: i64,
        #[serde(rename = "type")]
        kind: String,
    }

    fn field_of(body: &str) -> Option<String> {
        let mut json = serde_json::Deserializer::from_str(body);
        let error = serde_path_to_error::deserialize::<_, Job>(&mut json).unwrap_err();
        json_error(error).field().map(str::to_owned)
    }

    #[test]
    fn the_field_at_fault_is_named() {
        let wrong_type = r#"{"application": 1, "version": "two", "type": "analyze"}"#;
        assert_eq!(field_of(wrong_type).as_deref(), Some("version"));
        let missing = r#"{"application": 1, "version": 2}"#;
        assert_eq!(field_of(missing).as_deref(), Some("type"));
        assert_eq!(field_of("[1, 2]").as_deref(), Some("body"));
    }

    #[test]
    fn json_content_types_are_recognised() {
        let with = |value: &str| {
            let mut headers = HeaderMap::new();
            headers.insert(CONTENT_TYPE, value.parse().unwrap());
            is_json(&headers)
        };
        assert!(with("application/json"));
        assert!(with("Application/JSON; charset=utf-8"));
        assert!(with("application/merge-patch+json"));
        assert!(!with("text/plain"));
        assert!(!is_json(&HeaderMap::new()));
    }
}

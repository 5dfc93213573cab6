//! A JSON body extractor whose rejections are [`AppError`]s, so malformed input gets the same
//! `{"error", "message"}` body as every other REST error.

use axum::extract::{FromRequest, Request, rejection::JsonRejection};
use serde::de::DeserializeOwned;

use app::error::AppError;

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
            Err(rejection) => Err(rejection_to_error(&rejection)),
        }
    }
}

fn rejection_to_error(rejection: &JsonRejection) -> AppError {
    let detail = rejection.body_text();
    // serde names the offending field as `name`; pass it on so clients can point at it.
    let field = detail
        .split('`')
        .nth(1)
        .filter(|_| detail.contains("field"))
        .unwrap_or("body");
    AppError::invalid(field, format!("The request body is not valid: {detail}"))
}

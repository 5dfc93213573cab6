//! Paged REST lists ([`app::paging`]): the body stays a JSON array, as before paging, so existing
//! clients keep working; `?limit=` (1–500, default 100) and `?cursor=` choose the page, and the
//! next one is announced in an RFC 8288 `Link: </rest/…?cursor=…>; rel="next"` header (as
//! GitHub's API does), absent on the last page. The link is relative to the request, so it stays
//! right behind any proxy.

use axum::extract::OriginalUri;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};

use app::error::AppError;
use app::paging::Page;
use app::paging::ssr::PageRequest;

/// The page a REST client asks for.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageQuery {
    /// Rows in the page: 1–500; 100 when absent.
    #[param(minimum = 1, maximum = 500)]
    limit: Option<u64>,
    /// Where the page starts: the `cursor` of the previous answer's `Link: <…>; rel="next"`.
    /// Absent: the first page.
    cursor: Option<String>,
}

impl PageQuery {
    /// The page, or a 400 naming `limit` or `cursor`.
    pub fn request(&self) -> Result<PageRequest, AppError> {
        PageRequest::rest(self.limit, self.cursor.as_deref())
    }
}

/// A page of a REST list as it is answered: the rows, and the next page's link.
pub struct Paged<T> {
    page: Page<T>,
    uri: OriginalUri,
}

impl<T> Paged<T> {
    pub fn new(page: Page<T>, uri: OriginalUri) -> Self {
        Self { page, uri }
    }

    /// The address of the next page: this request's, its cursor replaced.
    fn next_link(&self) -> Option<String> {
        let next = self.page.next.as_deref()?;
        let mut query = form_urlencoded::Serializer::new(String::new());
        for (name, value) in form_urlencoded::parse(self.uri.query().unwrap_or_default().as_bytes())
        {
            if name != "cursor" {
                query.append_pair(&name, &value);
            }
        }
        query.append_pair("cursor", next);
        Some(format!(
            "<{}?{}>; rel=\"next\"",
            self.uri.path(),
            query.finish()
        ))
    }
}

impl<T: Serialize> IntoResponse for Paged<T> {
    fn into_response(self) -> Response {
        let link = self.next_link();
        let mut response = axum::Json(self.page.items).into_response();
        if let Some(value) = link.and_then(|link| HeaderValue::from_str(&link).ok()) {
            response.headers_mut().insert(header::LINK, value);
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_next_link_keeps_the_filter_and_replaces_the_cursor() {
        let uri = OriginalUri(
            "/rest/jobs?application=7&cursor=old&limit=2"
                .parse()
                .unwrap(),
        );
        let paged = Paged::new(
            Page {
                items: vec![1, 2],
                next: Some("eyJpIjo1fQ".to_owned()),
            },
            uri,
        );
        assert_eq!(
            paged.next_link().unwrap(),
            "</rest/jobs?application=7&limit=2&cursor=eyJpIjo1fQ>; rel=\"next\""
        );
        let last = Paged::new(
            Page {
                items: vec![1],
                next: None,
            },
            OriginalUri("/rest/jobs".parse().unwrap()),
        );
        assert_eq!(last.next_link(), None);
    }
}

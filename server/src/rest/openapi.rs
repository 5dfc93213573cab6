//! The OpenAPI 3.1 description of the REST API, generated from the handlers' annotations and
//! the types they exchange as the routes are registered ([`super::api`]), served at
//! `/rest/openapi.json`. The integration tests check real responses against it.

use std::sync::LazyLock;

use axum::http::header;
use axum::response::IntoResponse;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "AIP Console REST API",
        description = "Authenticate with `X-API-KEY: <key>` (generated on the profile page), HTTP \
                       Basic, or the browser session. Errors are `{\"error\", \"message\"[, \"field\"]}`."
    ),
    modifiers(&Security),
    security(("api_key" = []), ("basic" = []), ("session" = [])),
)]
pub(super) struct ApiDoc;

struct Security;

impl Modify for Security {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "api_key",
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::new("X-API-KEY"))),
        );
        components.add_security_scheme(
            "basic",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Basic).build()),
        );
        components.add_security_scheme(
            "session",
            SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::new("console_session"))),
        );
    }
}

/// Every operation that authenticates may be refused with 503 while password checks are queued
/// to their limit (`Authorization: Basic`), and an upload when no upload turn came free in time;
/// with 429 when the caller holds its share of the checks or failed too often. Documented once
/// here rather than on each handler.
struct Busy;

impl Modify for Busy {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        for operation in operations(openapi) {
            add_error_like_401(
                operation,
                "503",
                "The server is at capacity (password checks, upload turns); try again after `Retry-After` seconds",
            );
            if !operation.responses.responses.contains_key("429") {
                add_error_like_401(
                    operation,
                    "429",
                    "Too many failed authentications from this address, or more password checks at once than one account or address may have; try again after `Retry-After` seconds",
                );
            }
        }
    }
}

/// Every operation that takes path parameters, a query or a body may be refused with 400 when
/// they cannot be read (`extract`): an id that is not a number, say. Documented once here.
struct BadInput;

impl Modify for BadInput {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        for operation in operations(openapi) {
            let takes_input = operation
                .parameters
                .as_ref()
                .is_some_and(|parameters| !parameters.is_empty())
                || operation.request_body.is_some();
            if takes_input && !operation.responses.responses.contains_key("400") {
                add_error_like_401(
                    operation,
                    "400",
                    "A path parameter, the query or the body cannot be read",
                );
            }
            // The connection layer's answer to a body that stalls (`connections`).
            if operation.request_body.is_some() {
                add_error_like_401(
                    operation,
                    "408",
                    "The request body arrived too slowly; the connection is closed",
                );
            }
        }
    }
}

/// OpenAPI requires a description on every response; a handler that documents a status without
/// one (the common `401`, say) gets the status's meaning here, written once.
struct Describe;

impl Modify for Describe {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::RefOr;
        for operation in operations(openapi) {
            for (status, response) in &mut operation.responses.responses {
                if let RefOr::T(response) = response
                    && response.description.is_empty()
                {
                    status_meaning(status).clone_into(&mut response.description);
                }
            }
        }
    }
}

/// What a status means in this API, for a response documented without a description.
fn status_meaning(status: &str) -> &'static str {
    match status {
        "200" => "OK",
        "201" => "Created",
        "204" => "Done; no content",
        "400" => "The request is invalid; `field` names what to fix",
        "401" => {
            "No valid credential: a missing, wrong, replaced or deleted key, a wrong password or an ended session"
        }
        "403" => "Not allowed for this caller",
        "404" => "Not found, or not the caller's",
        "409" => "It conflicts with what is stored",
        "413" => "Too large",
        "429" => "Too many requests; try again after `Retry-After` seconds",
        _ => "See the error body",
    }
}

/// Every paged list (an operation with a `cursor` parameter, [`super::paging`]) announces its
/// next page in a `Link` header; documented once here.
struct Paged;

impl Modify for Paged {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::RefOr;
        use utoipa::openapi::header::HeaderBuilder;
        use utoipa::openapi::schema::{ObjectBuilder, Schema, Type};
        for operation in operations(openapi) {
            let paged = operation.parameters.iter().flatten().any(
                |parameter| matches!(parameter, RefOr::T(parameter) if parameter.name == "cursor"),
            );
            if let Some(RefOr::T(ok)) = operation.responses.responses.get_mut("200")
                && paged
            {
                let text = Schema::Object(ObjectBuilder::new().schema_type(Type::String).build());
                ok.headers.insert(
                    "Link".to_owned(),
                    HeaderBuilder::new()
                        .schema(Some(text))
                        .description(Some(
                            "`<…?cursor=…>; rel=\"next\"`: the address of the next page (RFC 8288); \
                             absent on the last page",
                        ))
                        .build()
                        .into(),
                );
            }
        }
    }
}

/// Every operation of the document.
fn operations(
    openapi: &mut utoipa::openapi::OpenApi,
) -> impl Iterator<Item = &mut utoipa::openapi::path::Operation> {
    openapi.paths.paths.values_mut().flat_map(|item| {
        [
            &mut item.get,
            &mut item.post,
            &mut item.put,
            &mut item.patch,
            &mut item.delete,
        ]
        .into_iter()
        .flatten()
    })
}

/// Documents `status` on an operation that authenticates, with the same error body as its 401.
fn add_error_like_401(
    operation: &mut utoipa::openapi::path::Operation,
    status: &str,
    description: &str,
) {
    use utoipa::openapi::RefOr;
    let responses = &mut operation.responses.responses;
    if let Some(RefOr::T(unauthorized)) = responses.get("401") {
        let mut error = unauthorized.clone();
        description.clone_into(&mut error.description);
        responses.insert(status.to_owned(), RefOr::T(error));
    }
}

/// The description as JSON, built once: the routes' paths, then what every operation shares.
static DOCUMENT: LazyLock<String> = LazyLock::new(|| {
    let (_, mut openapi) = super::api().split_for_parts();
    Describe.modify(&mut openapi);
    Paged.modify(&mut openapi);
    Busy.modify(&mut openapi);
    BadInput.modify(&mut openapi);
    openapi
        .to_json()
        .unwrap_or_else(|error| format!(r#"{{"error":"{error}"}}"#))
});

pub async fn document() -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "application/json")],
        DOCUMENT.as_str(),
    )
}

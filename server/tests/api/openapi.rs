//! Checks real responses against the served `/rest/openapi.json`: every documented response
//! schema is compiled strictly (no properties beyond the documented ones), and a response whose
//! status is not documented for its route fails the test.

use std::collections::HashMap;
use std::sync::Mutex;

use serde_json::{Value, json};

/// The API description of one running app, with compiled validators.
pub struct OpenApi {
    document: Value,
    validators: Mutex<HashMap<String, jsonschema::Validator>>,
}

impl OpenApi {
    pub fn new(document: Value) -> Self {
        Self {
            document: strict(document),
            validators: Mutex::new(HashMap::new()),
        }
    }

    pub fn document(&self) -> &Value {
        &self.document
    }

    /// The documented path template a concrete path matches (`/rest/jobs/7` → `/rest/jobs/{id}`).
    pub fn template_for(&self, path: &str) -> String {
        let path = path.split('?').next().unwrap_or(path);
        let segments: Vec<&str> = path.split('/').collect();
        self.document["paths"]
            .as_object()
            .expect("paths")
            .keys()
            .find(|template| {
                let parts: Vec<&str> = template.split('/').collect();
                parts.len() == segments.len()
                    && parts
                        .iter()
                        .zip(&segments)
                        .all(|(part, segment)| part.starts_with('{') || part == segment)
            })
            .unwrap_or_else(|| panic!("{path} is not documented in openapi.json"))
            .clone()
    }

    /// Panics unless `body` is what the description promises for this route and status.
    /// Checks that `status` is documented for the operation as an answer without a body.
    pub fn check_empty(&self, method: &str, path: &str, status: u16) {
        let template = self.template_for(path);
        let response = &self.document["paths"][&template][method]["responses"][status.to_string()];
        assert!(
            response.is_object(),
            "{method} {template} {status} is not documented"
        );
        assert!(
            response.get("content").is_none(),
            "{method} {template} {status} documents a body but none was sent"
        );
    }

    pub fn check(&self, method: &str, path: &str, status: u16, body: &Value) {
        let template = self.template_for(path);
        let key = format!("{method} {template} {status}");
        let mut validators = self.validators.lock().unwrap();
        let validator = validators.entry(key.clone()).or_insert_with(|| {
            let response =
                &self.document["paths"][&template][method]["responses"][status.to_string()];
            assert!(response.is_object(), "{key} is not documented");
            let schema = &response["content"]["application/json"]["schema"];
            assert!(schema.is_object(), "{key} documents no JSON body");
            let mut root = schema.clone();
            root["components"] = self.document["components"].clone();
            jsonschema::validator_for(&root).expect("the documented schema compiles")
        });
        let errors: Vec<String> = validator
            .iter_errors(body)
            .map(|error| format!("{error} at {}", error.instance_path()))
            .collect();
        assert!(
            errors.is_empty(),
            "{key}: {body}\ndoes not match the description:\n{errors:#?}"
        );
    }
}

/// Refuses undocumented properties in every object schema, so a field added to a response but
/// not to the description fails the check. A schema made of parts (`allOf`, from a flattened
/// field) is closed as a whole with `unevaluatedProperties`, which sees what its parts
/// evaluated; the parts themselves stay open.
fn strict(mut document: Value) -> Value {
    let Some(schemas) = document["components"]["schemas"].as_object_mut() else {
        return document;
    };
    let parts: Vec<String> = schemas
        .values()
        .filter_map(|schema| schema["allOf"].as_array())
        .flatten()
        .filter_map(|part| part["$ref"].as_str())
        .filter_map(|reference| reference.rsplit('/').next())
        .map(str::to_owned)
        .collect();
    for (name, schema) in schemas.iter_mut() {
        if schema.get("allOf").is_some() {
            schema["unevaluatedProperties"] = json!(false);
        } else if schema.get("properties").is_some() && !parts.contains(name) {
            schema["additionalProperties"] = json!(false);
        }
    }
    document
}

#[test]
fn a_schema_made_of_parts_is_closed_as_a_whole() {
    let document = json!({
        "paths": { "/rest/x": { "get": { "responses": { "200": { "content": {
            "application/json": { "schema": { "$ref": "#/components/schemas/Report" } }
        } } } } } },
        "components": { "schemas": {
            "Lines": { "type": "object", "properties": { "code": { "type": "integer" } } },
            "Report": { "allOf": [
                { "$ref": "#/components/schemas/Lines" },
                { "type": "object", "properties": { "files": { "type": "integer" } } }
            ] }
        } }
    });
    let api = OpenApi::new(document);
    api.check("get", "/rest/x", 200, &json!({ "code": 1, "files": 2 }));
    let undocumented = std::panic::catch_unwind(|| {
        api.check(
            "get",
            "/rest/x",
            200,
            &json!({ "code": 1, "files": 2, "extra": 3 }),
        );
    });
    assert!(undocumented.is_err(), "an undocumented field passed");
}

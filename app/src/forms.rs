//! What a plain form post leaves for the page it returns to: the outcome and, after a failure,
//! what the user typed.
//!
//! Forms post to server functions and the browser is sent back (Post/Redirect/Get). Nothing of
//! the outcome travels in the URL: the server (`server/src/form_flash.rs`) hands it to the next
//! page load alone, in a short-lived signed cookie, so a reload shows no message again and no
//! crafted link can show one. Pages read it here, during rendering:
//!
//! ```ignore
//! let posted = Posted::of::<UpdateEmailSettings>();
//! // value=posted.value_or("email", saved_email)  aria-invalid=posted.invalid("email")
//! ```
//!
//! Passwords ([`SECRET_FIELDS`]) are never kept: a failed sign-in keeps the username only.

use leptos::server_fn::ServerFn;
use serde::{Deserialize, Serialize};

use crate::error::AppError;

/// Fields never echoed back after a failed post.
pub const SECRET_FIELDS: &[&str] = &[
    "password",
    "current_password",
    "new_password",
    "new_password_again",
];

/// Whether `name` is a field whose value must not be kept.
pub fn is_secret(name: &str) -> bool {
    SECRET_FIELDS.contains(&name)
}

/// The longest value kept to show again (no form field comes near it).
const MAX_VALUE_CHARS: usize = 1000;

/// Whether `name = value` may be kept to show again: not a secret, not the framework's own
/// (`__…`), and short.
pub fn is_kept(name: &str, value: &str) -> bool {
    !is_secret(name)
        && !name.starts_with("__")
        && name.len() <= 100
        && value.chars().count() <= MAX_VALUE_CHARS
}

/// The outcome of the plain form post that led to this page load.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Flash {
    /// The path of the server function the form posted to (`/api/…`).
    pub form: String,
    /// `None` when the post succeeded.
    pub error: Option<AppError>,
    /// The fields as submitted, in order, except [`SECRET_FIELDS`]; empty after a success.
    pub values: Vec<(String, String)>,
}

/// One form's view of [`Flash`]: nothing unless the last post was to this form.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Posted {
    flash: Option<Flash>,
    /// The field a [`AppError::Conflict`] is about ([`Self::conflict_on`]).
    conflict_field: Option<&'static str>,
}

impl Posted {
    /// The outcome of the last post to server function `S`, if the page load follows one.
    pub fn of<S: ServerFn>() -> Self {
        Self::for_path(S::PATH)
    }

    fn for_path(path: &str) -> Self {
        #[cfg(feature = "ssr")]
        {
            let flash = leptos::prelude::use_context::<axum::http::request::Parts>()
                .and_then(|parts| parts.extensions.get::<Flash>().cloned());
            Self {
                flash: flash.filter(|flash| flash.form == path),
                conflict_field: None,
            }
        }
        #[cfg(not(feature = "ssr"))]
        {
            let _ = path;
            Self::default()
        }
    }

    /// Shows a conflict with what is stored ([`AppError::Conflict`]: a taken name) as the
    /// error of `field`.
    pub fn conflict_on(self, field: &'static str) -> Self {
        Self {
            conflict_field: Some(field),
            ..self
        }
    }

    /// The field `error` is about, a conflict counting as [`Self::conflict_on`]'s.
    fn field_of<'a>(&self, error: &'a AppError) -> Option<&'a str> {
        match error {
            AppError::Conflict(_) => self.conflict_field,
            other => other.field(),
        }
    }

    /// Whether the post succeeded.
    pub fn succeeded(&self) -> bool {
        self.flash
            .as_ref()
            .is_some_and(|flash| flash.error.is_none())
    }

    /// Why the post failed.
    pub fn error(&self) -> Option<AppError> {
        self.flash.as_ref().and_then(|flash| flash.error.clone())
    }

    /// Whether the post failed (its values are then what the form shows).
    pub fn failed(&self) -> bool {
        self.error().is_some()
    }

    /// What was typed into `field`, after a failed post.
    pub fn value(&self, field: &str) -> Option<String> {
        let flash = self.flash.as_ref().filter(|flash| flash.error.is_some())?;
        flash
            .values
            .iter()
            .find(|(name, _)| name == field)
            .map(|(_, value)| value.clone())
    }

    /// What was typed into `field` after a failed post, else `saved`.
    pub fn value_or(&self, field: &str, saved: impl Into<String>) -> String {
        self.value(field).unwrap_or_else(|| saved.into())
    }

    /// Whether checkbox `field` is to be shown checked: as submitted after a failed post (an
    /// unchecked box sends nothing), else `saved`.
    pub fn checked_or(&self, field: &str, saved: bool) -> bool {
        // No values at all: they were too large to carry, so nothing says what was ticked.
        let submitted = self
            .flash
            .as_ref()
            .is_some_and(|flash| !flash.values.is_empty());
        if self.failed() && submitted {
            self.value(field).is_some()
        } else {
            saved
        }
    }

    /// The error about `field`, to show beside it.
    pub fn field_error(&self, field: &str) -> Option<AppError> {
        self.error()
            .filter(|error| self.field_of(error) == Some(field))
    }

    /// Whether `field` is the invalid one (it then gets `aria-invalid` and the focus).
    pub fn invalid(&self, field: &str) -> bool {
        self.field_error(field).is_some()
    }

    /// The error, unless it is about one of `fields` (those are shown beside their field).
    pub fn other_error(&self, fields: &[&str]) -> Option<AppError> {
        self.error().filter(|error| {
            !self
                .field_of(error)
                .is_some_and(|field| fields.contains(&field))
        })
    }
}

/// The fields of the form post being handled, as submitted (server only). The server fills it
/// from a urlencoded body; a multipart handler records its text fields with [`record_field`].
#[cfg(feature = "ssr")]
#[derive(Clone, Debug, Default)]
pub struct Submitted(std::sync::Arc<std::sync::Mutex<Vec<(String, String)>>>);

/// The most fields kept of one post: a form has a handful, and a body of a million `a&a&…`
/// must not become a million copies.
#[cfg(feature = "ssr")]
const MAX_FIELDS: usize = 20;

#[cfg(feature = "ssr")]
impl Submitted {
    /// Keeps `name = value` to show again, unless it is a secret, the framework's own, too long,
    /// a repeat of a name already kept, or past [`MAX_FIELDS`].
    pub fn record(&self, name: &str, value: &str) {
        let mut fields = self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let keep = fields.len() < MAX_FIELDS
            && is_kept(name, value)
            && !fields.iter().any(|(kept, _)| kept == name);
        if keep {
            fields.push((name.to_owned(), value.to_owned()));
        }
    }

    pub fn fields(&self) -> Vec<(String, String)> {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }
}

/// Records a text field of the multipart form post being handled, so a failure can show it
/// again. Does nothing for a script or REST caller.
#[cfg(feature = "ssr")]
pub fn record_field(name: &str, value: &str) {
    if let Some(submitted) = leptos::prelude::use_context::<axum::http::request::Parts>()
        .and_then(|parts| parts.extensions.get::<Submitted>().cloned())
    {
        submitted.record(name, value);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn failed(error: AppError) -> Posted {
        Posted {
            flash: Some(Flash {
                form: "/api/x".into(),
                error: Some(error),
                values: vec![
                    ("email".into(), "not-an-address".into()),
                    ("name".into(), "Ada".into()),
                ],
            }),
            conflict_field: None,
        }
    }

    #[test]
    fn a_failed_post_gives_back_what_was_typed_and_says_which_field_is_wrong() {
        let posted = failed(AppError::invalid("email", "Not an address."));
        assert!(posted.failed() && !posted.succeeded());
        assert_eq!(
            posted.value_or("email", "saved@example.com"),
            "not-an-address"
        );
        assert_eq!(posted.value("missing"), None);
        assert!(posted.invalid("email") && !posted.invalid("name"));
        assert_eq!(posted.other_error(&["email"]), None);
        assert!(posted.other_error(&["name"]).is_some());
        // An unchecked box is absent from a post.
        assert!(!posted.checked_or("notifications", true));
        assert!(posted.checked_or("name", false));
    }

    #[test]
    fn a_success_or_no_post_shows_what_is_saved() {
        let done = Posted {
            flash: Some(Flash {
                form: "/api/x".into(),
                error: None,
                values: vec![],
            }),
            conflict_field: None,
        };
        for posted in [done.clone(), Posted::default()] {
            assert_eq!(
                posted.value_or("email", "saved@example.com"),
                "saved@example.com"
            );
            assert!(posted.checked_or("notifications", true));
            assert!(!posted.failed());
            assert_eq!(posted.error(), None);
        }
        assert!(done.succeeded() && !Posted::default().succeeded());
    }

    #[test]
    fn a_conflict_is_the_error_of_the_field_named_for_it() {
        let taken = failed(AppError::Conflict("Taken.".into()));
        assert!(!taken.invalid("name"));
        assert!(taken.other_error(&["name"]).is_some());
        let taken = taken.conflict_on("name");
        assert!(taken.invalid("name"));
        assert_eq!(taken.other_error(&["name"]), None);
    }

    #[cfg(feature = "ssr")]
    #[test]
    fn a_post_keeps_a_few_short_fields_once_each_and_no_secrets() {
        let submitted = Submitted::default();
        submitted.record("email", "a@example.com");
        submitted.record("email", "second@example.com");
        submitted.record("password", "hunter22");
        submitted.record("__path", "x");
        submitted.record("long", &"x".repeat(MAX_VALUE_CHARS + 1));
        for n in 0..1000 {
            submitted.record(&format!("f{n}"), "v");
        }
        let fields = submitted.fields();
        assert_eq!(fields.len(), MAX_FIELDS);
        assert_eq!(fields[0], ("email".to_owned(), "a@example.com".to_owned()));
        assert!(
            fields
                .iter()
                .all(|(name, _)| !is_secret(name) && name != "long")
        );
    }

    #[test]
    fn passwords_are_secret() {
        assert!(is_secret("password") && is_secret("new_password"));
        assert!(!is_secret("forget_password") && !is_secret("username"));
    }
}

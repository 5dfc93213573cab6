//! Lists a user can grow, a page at a time.
//!
//! Policy: every such list — pages and REST alike — is read by keyset, never by `OFFSET`. A page
//! is the rows after a [`ssr::Cursor`] (the sort key and id of the last row of the page before) in
//! the list's order, and its query is a range scan of an index on that order, so page 1,000 costs
//! what page 1 costs whatever the number of rows behind it. Rows added while someone walks a list
//! never make a row show twice or be skipped among those that were there when the walk began.
//!
//! Cursors are opaque to clients (URL-safe base64 of a small JSON value): pages put them in plain
//! links (`?after=`), REST in `?cursor=` and its `Link: <…>; rel="next"` header. A cursor that
//! cannot be read is the field error of its parameter (400), never a 500.

use leptos::prelude::*;
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use serde::{Deserialize, Serialize};

/// What a query's names and values keep as they are: RFC 3986's unreserved characters (so a
/// base64url cursor and `versions_after` read as written).
const QUERY: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// One page of a list and where the next one starts.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Page<T> {
    pub items: Vec<T>,
    /// The cursor of the next page, if there is one.
    pub next: Option<String>,
}

impl<T> Page<T> {
    /// The same page with each item turned into another type.
    pub fn map<U>(self, f: impl FnMut(T) -> U) -> Page<U> {
        Page {
            items: self.items.into_iter().map(f).collect(),
            next: self.next,
        }
    }
}

/// The address of another page of a list at `path`: the page's other query parameters
/// (`query`) kept, the cursor parameter `name` set to `cursor` (or left out: the first page).
pub fn page_link(
    path: &str,
    query: &[(String, String)],
    name: &str,
    cursor: Option<&str>,
) -> String {
    let mut link = String::from(path);
    let mut separator = '?';
    for (key, value) in query
        .iter()
        .filter(|(key, value)| key != name && !value.is_empty())
        .map(|(key, value)| (key.as_str(), value.as_str()))
        .chain(cursor.map(|cursor| (name, cursor)))
    {
        link.push(separator);
        link.extend(utf8_percent_encode(key, QUERY));
        link.push('=');
        link.extend(utf8_percent_encode(value, QUERY));
        separator = '&';
    }
    link
}

/// The links under a paged list: "First page" on any page but the first, and `label` ("Older
/// events", "Next page") to the page after when there is one. Plain links, so paging works
/// without JavaScript; `anchor` (`#versions`) brings the reader back to the list.
#[component]
pub fn PageLinks(
    /// The cursor of the next page.
    next: Option<String>,
    /// The query parameter the list's cursor travels in.
    param: &'static str,
    /// What the list holds, for the links' landmark: "versions".
    of: &'static str,
    label: &'static str,
    #[prop(default = "")] anchor: &'static str,
) -> impl IntoView {
    let path = leptos_router::hooks::use_location()
        .pathname
        .get_untracked();
    let query: Vec<(String, String)> = leptos_router::hooks::use_query_map()
        .get_untracked()
        .into_iter()
        .map(|(key, value)| (key.into_owned(), value))
        .collect();
    let later_page = query
        .iter()
        .any(|(key, value)| key == param && !value.is_empty());
    let first = later_page.then(|| format!("{}{anchor}", page_link(&path, &query, param, None)));
    let next = next.map(|next| format!("{}{anchor}", page_link(&path, &query, param, Some(&next))));
    (first.is_some() || next.is_some()).then(|| {
        view! {
            <nav class="mt-4 flex gap-4 text-sm" aria-label=format!("Pages of {of}") data-testid=format!("pages-{param}")>
                {first.map(|href| view! { <a class="text-blue-700 underline" href=href rel="first">"First page"</a> })}
                {next.map(|href| view! { <a class="text-blue-700 underline" href=href rel="next">{label}" →"</a> })}
            </nav>
        }
    })
}

#[cfg(feature = "ssr")]
pub mod ssr {
    //! Reading a page: [`Keyset`] applies a list's order and a [`Cursor`] to a SeaORM select.
    //!
    //! Not SeaORM's own `Cursor`: it writes "after (a, b)" as `a > ? OR (a = ? AND b > ?)`, which
    //! PostgreSQL cannot use as an index range (it reads the index from its start and filters).
    //! Here it is the row comparison `(a, b) > (?, ?)`, a range on an index over `(a, b)` in both
    //! PostgreSQL and SQLite.

    use base64::Engine;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use sea_orm::sea_query::{Expr, ExprTrait, Func, LikeExpr};
    use sea_orm::{
        ColumnTrait, ConnectionTrait, EntityTrait, ModelTrait, QueryFilter, QueryOrder,
        QuerySelect, Select, Value,
    };
    use serde::{Deserialize, Serialize};

    use super::Page;
    use crate::error::AppError;

    /// The most rows a REST client may ask for at once, and what it gets when it does not say.
    pub const REST_MAX_LIMIT: u64 = 500;
    pub const REST_DEFAULT_LIMIT: u64 = 100;

    /// A position in a list: the sort key (for lists ordered by a text column) and the id of the
    /// last row before the page.
    #[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
    pub struct Cursor {
        #[serde(rename = "k", default, skip_serializing_if = "Option::is_none")]
        key: Option<String>,
        #[serde(rename = "i")]
        id: i64,
    }

    impl Cursor {
        /// Reads a cursor a client sent in parameter `field`.
        pub fn parse(text: &str, field: &str) -> Result<Self, AppError> {
            let unreadable = || {
                AppError::invalid(
                    field,
                    "This page link cannot be read. Start again from the first page.",
                )
            };
            // No legitimate cursor is long: a key is a name of at most a few hundred bytes.
            if text.len() > 1024 {
                return Err(unreadable());
            }
            let bytes = URL_SAFE_NO_PAD
                .decode(text.trim())
                .map_err(|_| unreadable())?;
            serde_json::from_slice(&bytes).map_err(|_| unreadable())
        }

        /// The text clients carry.
        pub fn encode(&self) -> String {
            // A struct of a string and an integer always serialises.
            URL_SAFE_NO_PAD.encode(serde_json::to_vec(self).unwrap_or_default())
        }
    }

    /// Which page of a list to read: at most `limit` rows after `after` (from the start without).
    #[derive(Clone, Debug, PartialEq, Eq)]
    pub struct PageRequest {
        pub limit: u64,
        pub after: Option<Cursor>,
        /// The parameter the cursor came in, for its error.
        field: &'static str,
    }

    impl PageRequest {
        /// A page of `limit` rows after the cursor a page link carried in parameter `field`
        /// (none or empty: the first page).
        pub fn after(
            limit: u64,
            cursor: Option<&str>,
            field: &'static str,
        ) -> Result<Self, AppError> {
            let after = match cursor.map(str::trim).filter(|text| !text.is_empty()) {
                Some(text) => Some(Cursor::parse(text, field)?),
                None => None,
            };
            Ok(Self {
                limit,
                after,
                field,
            })
        }

        /// A REST client's page: `?limit=` (1–500, 100 when absent) and `?cursor=`.
        pub fn rest(limit: Option<u64>, cursor: Option<&str>) -> Result<Self, AppError> {
            let limit = limit.unwrap_or(REST_DEFAULT_LIMIT);
            if !(1..=REST_MAX_LIMIT).contains(&limit) {
                return Err(AppError::invalid(
                    "limit",
                    format!("The limit must be between 1 and {REST_MAX_LIMIT}."),
                ));
            }
            Self::after(limit, cursor, "cursor")
        }

        fn unreadable(&self) -> AppError {
            AppError::invalid(
                self.field,
                "This page link belongs to another list. Start again from the first page.",
            )
        }
    }

    /// A list's order: by a text column then the id (ascending, names), or by the id alone
    /// (descending, newest first). Each is backed by an index on the same columns, after the
    /// columns a list is filtered by for equality.
    #[derive(Clone, Copy, Debug)]
    pub enum Keyset<C> {
        /// `ORDER BY key, id` (a name, unique or not).
        TextAscending { key: C, id: C },
        /// `ORDER BY id DESC`: newest first.
        NewestFirst { id: C },
    }

    impl<C: ColumnTrait> Keyset<C> {
        /// Reads the page `page` asks for of `select`, in this order.
        pub async fn page<E>(
            self,
            db: &impl ConnectionTrait,
            select: Select<E>,
            page: &PageRequest,
        ) -> Result<Page<E::Model>, AppError>
        where
            E: EntityTrait<Column = C>,
        {
            let mut select = match self {
                Self::TextAscending { key, id } => select.order_by_asc(key).order_by_asc(id),
                Self::NewestFirst { id } => select.order_by_desc(id),
            };
            if let Some(after) = &page.after {
                select = select.filter(self.after(after).ok_or_else(|| page.unreadable())?);
            }
            // One more row than the page says whether another page follows.
            let mut rows = select.limit(page.limit.saturating_add(1)).all(db).await?;
            let next = if rows.len() as u64 > page.limit {
                rows.truncate(usize::try_from(page.limit).unwrap_or(usize::MAX));
                rows.last().map(|row| self.cursor_of(row).encode())
            } else {
                None
            };
            Ok(Page { items: rows, next })
        }

        /// The condition "after `cursor`" in this order, if the cursor fits it.
        fn after(self, cursor: &Cursor) -> Option<sea_orm::sea_query::SimpleExpr> {
            match (self, &cursor.key) {
                (Self::TextAscending { key, id }, Some(text)) => Some(
                    Expr::tuple([
                        Expr::col(key.as_column_ref()),
                        Expr::col(id.as_column_ref()),
                    ])
                    .gt(Expr::tuple([Expr::val(text.clone()), Expr::val(cursor.id)])),
                ),
                (Self::NewestFirst { id }, None) => Some(id.lt(cursor.id)),
                _ => None,
            }
        }

        /// Where `row` stands in this order.
        pub fn cursor_of<M: ModelTrait>(self, row: &M) -> Cursor
        where
            M::Entity: EntityTrait<Column = C>,
        {
            let id_of = |column: C| match row.get(column) {
                Value::BigInt(Some(id)) => id,
                Value::Int(Some(id)) => i64::from(id),
                _ => 0,
            };
            match self {
                Self::TextAscending { key, id } => Cursor {
                    key: match row.get(key) {
                        Value::String(Some(text)) => Some(text),
                        _ => Some(String::new()),
                    },
                    id: id_of(id),
                },
                Self::NewestFirst { id } => Cursor {
                    key: None,
                    id: id_of(id),
                },
            }
        }
    }

    /// "`column` contains `text`, in any case": the text filters of the lists. `%`, `_` and `\`
    /// in `text` match themselves.
    pub fn contains(column: impl ColumnTrait, text: &str) -> sea_orm::sea_query::SimpleExpr {
        let mut pattern = String::with_capacity(text.len() + 2);
        pattern.push('%');
        for c in text.to_lowercase().chars() {
            if matches!(c, '%' | '_' | '\\') {
                pattern.push('\\');
            }
            pattern.push(c);
        }
        pattern.push('%');
        Expr::expr(Func::lower(Expr::col(column.as_column_ref())))
            .like(LikeExpr::new(pattern).escape('\\'))
    }

    /// Merges pages of the same list read in parts (rows of two states, say, each read by its
    /// own index) into one page, newest first.
    pub fn merge_newest_first<M: ModelTrait>(
        parts: impl IntoIterator<Item = Vec<M>>,
        limit: u64,
        id: <M::Entity as EntityTrait>::Column,
    ) -> Page<M> {
        let keyset = Keyset::NewestFirst { id };
        let id_of = |row: &M| keyset.cursor_of(row).id;
        let mut rows: Vec<M> = parts.into_iter().flatten().collect();
        rows.sort_by_key(|row| std::cmp::Reverse(id_of(row)));
        let next = if rows.len() as u64 > limit {
            rows.truncate(usize::try_from(limit).unwrap_or(usize::MAX));
            rows.last().map(|row| keyset.cursor_of(row).encode())
        } else {
            None
        };
        Page { items: rows, next }
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        #[test]
        fn cursors_read_back_and_bad_ones_are_field_errors() {
            let cursor = Cursor {
                key: Some("web-shop ✓".into()),
                id: 42,
            };
            assert_eq!(Cursor::parse(&cursor.encode(), "after").unwrap(), cursor);
            let newest = Cursor { key: None, id: 7 };
            assert_eq!(Cursor::parse(&newest.encode(), "cursor").unwrap(), newest);
            for bad in ["%%%", "e30", "bm90IGpzb24", &"A".repeat(2000), "W10"] {
                let error = Cursor::parse(bad, "cursor").unwrap_err();
                assert_eq!(error.field(), Some("cursor"), "{bad}");
                assert_eq!(error.status(), 400);
            }
        }

        #[test]
        fn rest_limits_are_bounded() {
            assert_eq!(
                PageRequest::rest(None, None).unwrap().limit,
                REST_DEFAULT_LIMIT
            );
            assert_eq!(PageRequest::rest(Some(500), None).unwrap().limit, 500);
            for bad in [0, 501, u64::MAX] {
                let error = PageRequest::rest(Some(bad), None).unwrap_err();
                assert_eq!(error.field(), Some("limit"));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::page_link;

    #[test]
    fn page_links_keep_the_filter_and_replace_the_cursor() {
        let query = vec![
            ("q".to_owned(), "a b&c".to_owned()),
            ("after".to_owned(), "old".to_owned()),
            ("role".to_owned(), String::new()),
        ];
        assert_eq!(
            page_link("/admin/users", &query, "after", Some("abc_-1")),
            "/admin/users?q=a%20b%26c&after=abc_-1"
        );
        assert_eq!(
            page_link("/admin/users", &query, "after", None),
            "/admin/users?q=a%20b%26c"
        );
        assert_eq!(page_link("/x", &[], "after", Some("c")), "/x?after=c");
    }
}

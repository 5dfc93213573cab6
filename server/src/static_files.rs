//! The WASM, JS and CSS bundle under `/pkg`: served precompressed (brotli or gzip, as
//! `cargo leptos build --release --precompress` writes them) and, when the file names carry
//! content hashes (`hash-files`), cached by browsers for a year.

use std::path::Path;

use axum::Router;
use axum::http::{HeaderValue, header};
use leptos::prelude::LeptosOptions;
use tower_http::services::ServeDir;
use tower_http::set_header::SetResponseHeaderLayer;

pub fn routes<S: Clone + Send + Sync + 'static>(options: &LeptosOptions) -> Router<S> {
    let dir = Path::new(options.site_root.as_ref()).join(options.site_pkg_dir.as_ref());
    let cache = if options.hash_files {
        "public, max-age=31536000, immutable"
    } else {
        "no-cache"
    };
    let files = ServeDir::new(dir).precompressed_br().precompressed_gzip();
    Router::new()
        .nest_service(&format!("/{}", options.site_pkg_dir), files)
        .layer(SetResponseHeaderLayer::overriding(
            header::CACHE_CONTROL,
            HeaderValue::from_static(cache),
        ))
}

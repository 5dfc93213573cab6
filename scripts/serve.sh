#!/usr/bin/env bash
# Builds the console for release and serves it at http://127.0.0.1:3000 (override with
# LEPTOS_SITE_ADDR). With nothing configured it keeps its data in ./data (SQLite) and prints the
# generated administrator password on first start; see README.md for the settings.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/setup.sh
cargo leptos build --release --precompress

export LEPTOS_SITE_ROOT=${LEPTOS_SITE_ROOT:-target/site}
export LEPTOS_SITE_ADDR=${LEPTOS_SITE_ADDR:-127.0.0.1:3000}
export LEPTOS_HASH_FILES=true
echo "Serving the console at http://$LEPTOS_SITE_ADDR"
exec target/release/server

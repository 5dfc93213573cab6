#!/usr/bin/env bash
# Runs every test of the console: formatting, lints (server and browser builds), unit and
# integration tests on SQLite and on a PostgreSQL it starts itself, then the release build fuzzed
# through its REST API by Schemathesis and driven by Playwright in headless Chromium. Installs
# what is missing first (scripts/setup.sh test).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib/postgres.sh
source scripts/lib/s3.sh

# Each step says when it starts, in seconds since the run began: where a run's time goes.
step() { printf '\n\033[1m==> %s\033[0m (at %d s)\n' "$*" "$SECONDS"; }

scripts/setup.sh test

step "format"
cargo fmt --all -- --check

step "feature modules import each other one way (scripts/lib/imports.sh)"
scripts/lib/imports.sh

step "clippy: server build (ssr)"
cargo clippy -p app -p server --all-targets --locked -- -D warnings

step "clippy: browser build (hydrate, wasm32)"
cargo clippy -p frontend -p app --target wasm32-unknown-unknown --locked -- -D warnings

step "the WASM bundle carries no server-only crates"
if cargo tree -p frontend --target wasm32-unknown-unknown -e normal --prefix none \
  | grep -E '^(sea-orm|sqlx|tokio|tokio-util|argon2|lettre|governor|tower-sessions|tokei|zip|tar|object_store|hyper|rustls|zxcvbn|woothee) '; then
  echo "server-only crates leaked into the browser build" >&2
  exit 1
fi

PG_DIR=$(mktemp -d /tmp/console-test-pg.XXXXXX)
S3_DIR=$(mktemp -d /tmp/console-test-s3.XXXXXX)
E2E_DATA_DIR=$(mktemp -d /tmp/console-e2e.XXXXXX)
E2E_PROXY_DIR=$(mktemp -d /tmp/console-e2e-proxy.XXXXXX)
export E2E_DATA_DIR E2E_PROXY_DIR
trap 'stop_postgres "$PG_DIR"; stop_s3 "$S3_DIR"; rm -rf "$E2E_DATA_DIR" "$E2E_PROXY_DIR"' EXIT
step "start PostgreSQL and the S3-compatible store"
start_postgres "$PG_DIR" "${TEST_POSTGRES_PORT:-55439}"
start_s3 "$S3_DIR" "${TEST_S3_PORT:-55440}"

step "unit and integration tests (SQLite with local archives, PostgreSQL with S3)"
RUST_BACKTRACE=0 cargo test -p app -p server --features app/ssr --locked

step "release build"
cargo leptos build --release --precompress

step "REST API fuzzing (Schemathesis against /rest/openapi.json)"
scripts/lib/schemathesis.sh

step "slow and idle clients: 2,100 connections against the release build"
scripts/lib/slow_clients.sh

step "browser tests (Playwright, headless Chromium)"
(cd end2end && npx playwright test)

step "several instances behind HAProxy with TLS, on PostgreSQL and S3 (Playwright)"
(cd end2end && npx playwright test -c proxy.config.ts)

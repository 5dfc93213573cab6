#!/usr/bin/env bash
# Fuzzes the REST API with Schemathesis, driven by the served /rest/openapi.json: the release
# server on a fresh SQLite database, an administrator's API key, and the checks that no answer is
# a 5xx, every status is documented and every body matches its schema. Afterwards the server's
# log must hold no panic and no error. First the document must pass openapi-spec-validator and
# a Python client generated from it must page through a list (scripts/lib/openapi_client.py).
#
#   scripts/lib/schemathesis.sh [examples per operation]   (default 40)
#
# Bounded: a fixed seed, at most that many examples per operation, and the whole run within
# 10 minutes. Needs target/release/server (cargo leptos build --release) and .venv
# (scripts/setup.sh test).
set -euo pipefail
cd "$(dirname "$0")/../.."

EXAMPLES=${1:-40}
PORT=${SCHEMATHESIS_PORT:-3140}
BASE="http://127.0.0.1:$PORT"
ADMIN_PASSWORD=schemathesis-admin-password
DATA=$(mktemp -d /tmp/console-schemathesis.XXXXXX)
LOG="$DATA/server.log"
SERVER_PID=

cleanup() {
  [ -n "$SERVER_PID" ] && kill "$SERVER_PID" 2>/dev/null && wait "$SERVER_PID" 2>/dev/null
  rm -rf "$DATA"
}
trap cleanup EXIT

CONSOLE_DATA_DIR="$DATA" LEPTOS_SITE_ADDR="127.0.0.1:$PORT" LEPTOS_OUTPUT_NAME=console \
  LEPTOS_SITE_ROOT=target/site CONSOLE_ADMIN_PASSWORD="$ADMIN_PASSWORD" \
  CONSOLE_SECRET="$(openssl rand -base64 48)" CONSOLE_AUTH_FAILURE_BURST=1000000 \
  RUST_LOG=warn target/release/server >"$LOG" 2>&1 &
SERVER_PID=$!
for _ in $(seq 100); do
  curl -fs "$BASE/healthz" >/dev/null && break
  sleep 0.1
done
curl -fs "$BASE/healthz" >/dev/null || { cat "$LOG"; echo "the server did not start" >&2; exit 1; }

# The administrator's key: sign in as a tool would, then generate it.
JAR="$DATA/cookies"
curl -fs -c "$JAR" -H 'Accept: application/json' \
  --data-urlencode username=admin --data-urlencode "password=$ADMIN_PASSWORD" \
  "$BASE/api/sign_in" >/dev/null
KEY=$(curl -fs -b "$JAR" -X POST -H 'Accept: application/json' "$BASE/api/generate_api_key" \
  | .venv/bin/python -c 'import json, sys; print(json.load(sys.stdin)["new_key"])')

# Something for the generated ids to find: application 1 with version 1 and job 1.
SEED_DIR="$DATA/seed"
mkdir -p "$SEED_DIR/src"
printf 'fn main() {}\n' >"$SEED_DIR/src/main.rs"
tar -czf "$SEED_DIR/src.tar.gz" -C "$SEED_DIR" src
curl -fs -H "X-API-KEY: $KEY" -H 'content-type: application/json' -d '{"name":"Seeded"}' \
  "$BASE/rest/applications" >/dev/null
curl -fs -H "X-API-KEY: $KEY" -F name=1.0 -F "archive=@$SEED_DIR/src.tar.gz" \
  "$BASE/rest/applications/1/versions" >/dev/null
curl -fs -H "X-API-KEY: $KEY" -H 'content-type: application/json' \
  -d '{"application":1,"version":1,"type":"analyze"}' "$BASE/rest/jobs" >/dev/null

# The document is valid OpenAPI and a generated Python client pages through a list with it.
timeout 600 .venv/bin/python scripts/lib/openapi_client.py "$BASE" "$KEY" "$DATA/openapi-client"

# One worker: with two, schemathesis runs hypothesis in two threads, and CPython 3.11's `ast`
# module keeps its recursion depth per interpreter, not per thread, so the lambda descriptions
# hypothesis parses now and then fail with "AST constructor recursion depth mismatch" (python/cpython
# gh-106905) — a failure of the tool, not of the server, that failed a CI run.
status=0
timeout 600 .venv/bin/schemathesis run "$BASE/rest/openapi.json" \
  --header "X-API-KEY: $KEY" \
  --checks not_a_server_error,status_code_conformance,response_schema_conformance \
  --max-examples "$EXAMPLES" --seed 20261202 --generation-database none --workers 1 \
  --request-timeout 20 \
  --no-color --report junit --report-dir target/schemathesis || status=$?

if grep -E 'panicked| ERROR ' "$LOG"; then
  echo "the server logged errors while fuzzed (above)" >&2
  status=1
fi
exit "$status"

#!/usr/bin/env bash
# Slow and idle clients against the release server: 2,100 connections (idle, trickling a request
# head, trickling a body) while a normal client asks /healthz and a slow-but-steady upload goes
# through; every slow connection must be closed within its limit and nothing else delayed
# (scripts/lib/slow_clients.py test). The limits are shortened to keep the run under a minute:
# head 2 s (also the body's rate window), keep-alive 3 s.
#
# Bounded: 2,100 connections, about 15 seconds. Needs target/release/server.
set -euo pipefail
cd "$(dirname "$0")/../.."

PORT=${SLOW_CLIENTS_PORT:-3141}
BASE="http://127.0.0.1:$PORT"
DATA=$(mktemp -d /tmp/console-slow-clients.XXXXXX)
LOG="$DATA/server.log"
SERVER_PID=

cleanup() {
  [ -n "$SERVER_PID" ] && kill "$SERVER_PID" 2>/dev/null && wait "$SERVER_PID" 2>/dev/null
  rm -rf "$DATA"
}
trap cleanup EXIT

CONSOLE_DATA_DIR="$DATA" LEPTOS_SITE_ADDR="127.0.0.1:$PORT" LEPTOS_OUTPUT_NAME=console \
  LEPTOS_SITE_ROOT=target/site CONSOLE_ADMIN_PASSWORD=slow-clients-admin-password \
  CONSOLE_HEADER_TIMEOUT_SECONDS=2 CONSOLE_KEEP_ALIVE_SECONDS=3 \
  RUST_LOG=warn target/release/server >"$LOG" 2>&1 &
SERVER_PID=$!
for _ in $(seq 100); do
  curl -fs "$BASE/healthz" >/dev/null && break
  sleep 0.1
done
curl -fs "$BASE/healthz" >/dev/null || { cat "$LOG"; echo "the server did not start" >&2; exit 1; }

timeout 60 .venv/bin/python scripts/lib/slow_clients.py test "$BASE" 2100 2 3
if grep -E 'panicked|ERROR' "$LOG"; then
  echo "the server logged errors under slow clients" >&2
  exit 1
fi

# Sourced by the benchmarks: the release server on $PORT over the data directory $SERVER_DATA,
# and the sign-ins they need. bench_prepare sets PORT, BASE, OUT, ADMIN_PASSWORD and DATA; the
# benchmark sets SERVER_DATA.

# name default-port → the release build, the results directory, and a scratch DATA directory
# (/tmp/console-bench-<name>.*). BENCH_PORT overrides the port. BENCH_SERVER=<path> measures that
# server binary instead of building one (A/B runs: an older build, kept with its hash.txt beside
# it, against the same target/site).
bench_prepare() {
  PORT=${BENCH_PORT:-$2}
  BASE="http://127.0.0.1:$PORT"
  OUT=target/bench
  ADMIN_PASSWORD=bench-admin-password
  if [ -z "${BENCH_SERVER:-}" ]; then
    scripts/setup.sh test
    cargo leptos build --release --precompress
  fi
  mkdir -p "$OUT"
  DATA=$(mktemp -d "/tmp/console-bench-$1.XXXXXX")
}

# Starts target/release/server with extra environment (NAME=value …) and waits until it answers.
start_server() {
  env LEPTOS_SITE_ADDR="127.0.0.1:$PORT" LEPTOS_SITE_ROOT=target/site LEPTOS_HASH_FILES=true \
    CONSOLE_DATA_DIR="$SERVER_DATA" CONSOLE_ADMIN_PASSWORD="$ADMIN_PASSWORD" RUST_LOG=warn \
    "$@" "${BENCH_SERVER:-target/release/server}" &
  SERVER=$!
  for _ in $(seq 100); do curl -sf "$BASE/healthz" >/dev/null && return; sleep 0.1; done
  echo "the server did not start" >&2
  exit 1
}

stop_server() {
  [ -z "${SERVER:-}" ] || { kill "$SERVER" 2>/dev/null || true; wait "$SERVER" 2>/dev/null || true; }
  SERVER=
}

# username password → the session cookie (name=value)
sign_in() {
  curl -sf -D - -o /dev/null -H 'accept: application/json' --data "username=$1&password=$2" \
    "$BASE/api/sign_in" | awk -F'[:;] *' 'tolower($1) == "set-cookie" { print $2 }'
}

# cookie → a new API key for the session's user
new_api_key() {
  curl -sf -X POST -H "cookie: $1" -H 'accept: application/json' \
    -H 'content-type: application/x-www-form-urlencoded' "$BASE/api/generate_api_key" \
    | python3 -c 'import json,sys; print(json.load(sys.stdin)["new_key"])'
}

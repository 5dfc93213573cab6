#!/usr/bin/env bash
# Measures the performance budgets against a baseline taken in the same run, on the release build:
#   - throughput and p99 at 32 connections: /profile (SSR, signed in), GET /rest/user with a
#     valid X-API-KEY, with a wrong key (401 path and throttled 429 path), each against /healthz;
#   - bytes shipped for /profile (WASM + JS + CSS), raw and brotli.
# Usage: scripts/bench.sh [seconds per run, default 10]. Results: target/bench/summary.txt.
# SQLite by default; set DATABASE_URL to an empty PostgreSQL database to measure that instead.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/wrk.sh

DURATION=${1:-10}
PORT=${BENCH_PORT:-3210}
BASE="http://127.0.0.1:$PORT"
OUT=target/bench
ADMIN_PASSWORD=bench-admin-password

scripts/setup.sh test
cargo leptos build --release --precompress
mkdir -p "$OUT"

DATA=$(mktemp -d /tmp/console-bench.XXXXXX)
start_server() { # $1: failure burst
  LEPTOS_SITE_ADDR=127.0.0.1:$PORT LEPTOS_SITE_ROOT=target/site LEPTOS_HASH_FILES=true \
    CONSOLE_DATA_DIR="$DATA" CONSOLE_ADMIN_PASSWORD=$ADMIN_PASSWORD RUST_LOG=warn \
    CONSOLE_AUTH_FAILURE_BURST=$1 target/release/server &
  SERVER=$!
  for _ in $(seq 100); do curl -sf "$BASE/healthz" >/dev/null && return; sleep 0.1; done
  echo "server did not start" >&2; exit 1
}
stop_server() { kill "$SERVER" 2>/dev/null || true; wait "$SERVER" 2>/dev/null || true; }
trap 'stop_server; rm -rf "$DATA"' EXIT


start_server 1000000000
# A signed-in user with an API key.
curl -sf -u "admin:$ADMIN_PASSWORD" -H 'content-type: application/json' \
  -d '{"username":"bench","password":"bench-password","role":"user","name":"Bench User"}' \
  "$BASE/rest/users" >/dev/null
COOKIE=$(curl -sf -D - -o /dev/null -H 'accept: application/json' \
  --data 'username=bench&password=bench-password' "$BASE/api/sign_in" \
  | awk -F'[:;] *' 'tolower($1) == "set-cookie" { print $2 }')
KEY=$(curl -sf -X POST -H "cookie: $COOKIE" -H 'accept: application/json' \
  -H 'content-type: application/x-www-form-urlencoded' "$BASE/api/generate_api_key" \
  | python3 -c 'import json,sys; print(json.load(sys.stdin)["new_key"])')
WRONG="${KEY:0:9}$(printf 'x%.0s' $(seq 32))"
test "$(curl -s -o /dev/null -w '%{http_code}' -H "cookie: $COOKIE" "$BASE/profile")" = 200
test "$(curl -s -o /dev/null -w '%{http_code}' -H "X-API-KEY: $KEY" "$BASE/rest/user")" = 200
test "$(curl -s -o /dev/null -w '%{http_code}' -H "X-API-KEY: $WRONG" "$BASE/rest/user")" = 401

{
  measure healthz /healthz
  measure profile_ssr /profile -H "cookie: $COOKIE"
  measure healthz_again /healthz
  measure rest_user_valid_key /rest/user -H "X-API-KEY: $KEY"
  measure rest_user_wrong_key_401 /rest/user -H "X-API-KEY: $WRONG"
} >"$OUT/runs.txt"
stop_server

# The same wrong key with throttling at its default: nearly all answers are 429s.
start_server 20
measure rest_user_wrong_key_429 /rest/user -H "X-API-KEY: $WRONG" >>"$OUT/runs.txt"

# Bytes shipped for /profile: the assets its HTML links from /pkg, raw and as served with brotli.
HTML=$(curl -sf -H "cookie: $COOKIE" "$BASE/profile")
ASSETS=$(grep -oE '/pkg/[^"`]+\.(js|wasm|css)' <<<"$HTML" | sort -u)
: >"$OUT/bytes.txt"
for asset in $ASSETS; do
  raw=$(curl -sf "$BASE$asset" | wc -c)
  br=$(curl -sf -H 'accept-encoding: br' "$BASE$asset" | wc -c)
  encoding=$(curl -sfI -H 'accept-encoding: br' "$BASE$asset" | awk -F': *' 'tolower($1)=="content-encoding" {print $2}' | tr -d '\r')
  cache=$(curl -sfI "$BASE$asset" | awk -F': *' 'tolower($1)=="cache-control" {print $2}' | tr -d '\r')
  echo "$asset $raw $br ${encoding:-identity} \"$cache\"" >>"$OUT/bytes.txt"
done

python3 - "$OUT" <<'PY'
import sys, pathlib
out = pathlib.Path(sys.argv[1])
runs = {}
for line in (out / "runs.txt").read_text().split("\n"):
    if line.strip():
        name, rps, p99, non2xx = line.split()
        runs[name] = (float(rps), float(p99), int(non2xx))
base_rps = (runs["healthz"][0] + runs["healthz_again"][0]) / 2
base_p99 = max(runs["healthz"][1], runs["healthz_again"][1])
lines = [f"{'run':28} {'req/s':>10} {'p99 ms':>8} {'non-2xx':>9} {'rps ratio':>10} {'p99 ratio':>10}"]
for name, (rps, p99, non2xx) in runs.items():
    lines.append(f"{name:28} {rps:10.0f} {p99:8.2f} {non2xx:9d} {rps / base_rps:10.2f} {p99 / base_p99:10.2f}")
lines.append(f"baseline: /healthz mean {base_rps:.0f} req/s, worst p99 {base_p99:.2f} ms (32 connections, 2 wrk threads)")
total_raw = total_br = 0
lines.append("")
lines.append(f"{'asset':60} {'raw B':>9} {'brotli B':>9}  encoding  cache-control")
for line in (out / "bytes.txt").read_text().split("\n"):
    if line.strip():
        asset, raw, br, enc, cache = line.split(" ", 4)
        total_raw += int(raw); total_br += int(br)
        lines.append(f"{asset:60} {int(raw):9d} {int(br):9d}  {enc:9} {cache}")
lines.append(f"{'total for /profile':60} {total_raw:9d} {total_br:9d}  (budget: 200 KB brotli)")
text = "\n".join(lines)
(out / "summary.txt").write_text(text + "\n")
print(text)
PY

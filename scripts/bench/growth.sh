#!/usr/bin/env bash
# Pages and lists as the data grows: every paged page and REST list timed (median of 15
# sequential requests, one client) and weighed with 100, 10,000 and 100,000 rows behind it
# (scripts/bench/seed.sh), on the release build. Budget: at the largest size each is within
# 1.3 × (+2 ms, +4 KB) of the same at the smallest. Then, at the largest size, each page's
# throughput under load (wrk, 32 connections) against /healthz in the same run: budget
# ≥ 0.15 × for every page, ≥ 0.2 × for /profile.
#
#   scripts/bench/growth.sh [seconds per load run, default 5] [sizes, default "100 10000 100000"]
#
# SQLite by default; DATABASE_URL=postgres://… measures an (emptied) PostgreSQL database.
# Results: target/bench/growth.txt.
set -euo pipefail
cd "$(dirname "$0")/../.."
source scripts/lib/wrk.sh
source scripts/lib/server.sh

DURATION=${1:-5}
SIZES=${2:-100 10000 100000}
bench_prepare growth 3230
trap 'stop_server; rm -rf "$DATA"' EXIT
REPORT="$OUT/growth.txt"

# path cookie-or-key-header → "milliseconds bytes" (median of 15; the status must be 200)
time_route() {
  local path=$1 header=$2 samples=()
  for _ in $(seq 15); do
    samples+=("$(curl -s -o /dev/null -H "$header" -w '%{http_code} %{time_total} %{size_download}\n' "$BASE$path")")
  done
  if printf '%s\n' "${samples[@]}" | grep -qv '^200 '; then
    echo "not 200: $path ${samples[0]}" >&2
    exit 1
  fi
  printf '%s\n' "${samples[@]}" | awk '{ print $2 * 1000, $3 }' | sort -n | sed -n 8p
}

: >"$OUT/growth.raw"
for ROWS in $SIZES; do
  SERVER_DATA="$DATA/$ROWS"
  mkdir -p "$SERVER_DATA"
  case "${DATABASE_URL:-}" in
    postgres*) psql -q "$DATABASE_URL" -c 'DROP SCHEMA public CASCADE; CREATE SCHEMA public;' ;;
  esac
  start_server CONSOLE_AUTH_FAILURE_BURST=1000000000
  curl -sf -u "admin:$ADMIN_PASSWORD" -H 'content-type: application/json' \
    -d '{"username":"bench","password":"bench-password","role":"user","name":"Bench User"}' \
    "$BASE/rest/users" >/dev/null
  scripts/bench/seed.sh "${DATABASE_URL:-$SERVER_DATA/console.db}" "$ROWS" bench
  COOKIE="cookie: $(sign_in bench bench-password)"
  KEY="X-API-KEY: $(new_api_key "${COOKIE#cookie: }")"
  ADMIN_COOKIE="cookie: $(sign_in admin "$ADMIN_PASSWORD")"
  ADMIN_KEY="X-API-KEY: $(new_api_key "${ADMIN_COOKIE#cookie: }")"
  APP=$(curl -sf -H "$KEY" "$BASE/rest/applications?name=seed-big" | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["id"])')
  JOB=$(curl -sf -H "$KEY" "$BASE/rest/jobs?application=$APP&limit=1" | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["id"])')
  ROUTES=(
    "/applications|$COOKIE"
    "/applications/$APP|$COOKIE"
    "/applications/$APP/jobs/$JOB|$COOKIE"
    "/profile|$COOKIE"
    "/admin|$ADMIN_COOKIE"
    "/admin/audit|$ADMIN_COOKIE"
    "/admin/users/bench|$ADMIN_COOKIE"
    "/rest/applications|$KEY"
    "/rest/applications/$APP/versions|$KEY"
    "/rest/jobs|$KEY"
    "/rest/jobs?application=$APP|$KEY"
    "/rest/user/events|$KEY"
    "/rest/users|$ADMIN_KEY"
  )
  for route in "${ROUTES[@]}"; do
    path=${route%%|*}
    # The application's id differs between sizes; the report names it by its shape.
    echo "$ROWS ${path//$APP/\{id\}} $(time_route "$path" "${route#*|}")" | sed "s/\/jobs\/$JOB/\/jobs\/{job}/" >>"$OUT/growth.raw"
  done
  LAST=$ROWS
  if [ "$ROWS" != "${SIZES##* }" ]; then stop_server; fi
done

# Under load at the largest size, against /healthz in the same run.
{
  measure healthz /healthz
  measure profile /profile -H "$COOKIE"
  measure applications /applications -H "$COOKIE"
  measure application "/applications/$APP" -H "$COOKIE"
  measure job "/applications/$APP/jobs/$JOB" -H "$COOKIE"
  measure admin /admin -H "$ADMIN_COOKIE"
  measure audit /admin/audit -H "$ADMIN_COOKIE"
  measure user_page /admin/users/bench -H "$ADMIN_COOKIE"
  measure healthz_again /healthz
} >"$OUT/growth-load.txt"
stop_server

FIRST=${SIZES%% *}
{
  echo "Pages and lists with $FIRST … $LAST rows behind them (median ms, bytes):"
  awk -v first="$FIRST" -v last="$LAST" '
    { key = $2; t[$1, key] = $3; b[$1, key] = $4; if (!(key in seen)) { seen[key] = 1; order[++n] = key } sizes[$1] = 1 }
    END {
      bad = 0
      for (i = 1; i <= n; i++) {
        k = order[i]
        line = sprintf("%-40s", k)
        line = line sprintf(" %8.2f ms %9d B", t[first, k], b[first, k])
        line = line sprintf(" → %8.2f ms %9d B", t[last, k], b[last, k])
        ok = (t[last, k] <= 1.3 * t[first, k] + 2) && (b[last, k] <= 1.3 * b[first, k] + 4096)
        if (!ok) bad = 1
        print line (ok ? "  ✔" : "  ✘ over 1.3 × (+2 ms, +4 KB)")
      }
      exit bad
    }' "$OUT/growth.raw" && echo "every page and list within budget" || echo "BUDGET MISSED (above)"
  echo
  echo "Every size (rows route ms bytes):"
  cat "$OUT/growth.raw"
  echo
  echo "Under load with $LAST rows behind them (wrk -t2 -c32, ${DURATION}s; req/s, p99 ms, × /healthz):"
  awk '
    NR == FNR && /^healthz/ { base += $2; runs++ ; next }
    NR != FNR {
      ratio = $2 / (base / runs)
      budget = ($1 == "profile") ? 0.2 : 0.15
      if ($1 ~ /^healthz/) { printf "%-16s %10.0f %8.2f\n", $1, $2, $3; next }
      printf "%-16s %10.0f %8.2f %6.2f × %s\n", $1, $2, $3, ratio, (ratio >= budget ? "✔" : "✘ under " budget)
    }' "$OUT/growth-load.txt" "$OUT/growth-load.txt"
} | tee "$REPORT"

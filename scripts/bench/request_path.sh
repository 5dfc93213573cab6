#!/usr/bin/env bash
# The request path against an older build, side by side in one run: `/healthz` and a
# key-authenticated `GET /rest/user` served by this build and by a baseline commit (default
# cc5b99a, the fastest request path measured), each on a fresh SQLite data directory, wrk with
# 1 thread and 32 connections, taking turns for ROUNDS rounds. Budget: this build ≥ 0.9 × the
# baseline on both.
#
#   scripts/bench/request_path.sh [seconds per run, default 5] [rounds, default 2]
#
# BASELINE=<commit> picks another baseline; BASELINE_SERVER=<binary> and BENCH_SERVER=<binary>
# take built binaries instead of building them (the baseline is built once into
# target/baseline/, from a git worktree, with its own release profile). Results:
# target/bench/request_path.txt.
set -euo pipefail
cd "$(dirname "$0")/../.."
source scripts/lib/server.sh

DURATION=${1:-5}
ROUNDS=${2:-2}
BASELINE=${BASELINE:-cc5b99a}
bench_prepare request-path 3220
trap 'stop_server; rm -rf "$DATA"' EXIT

if [ -z "${BASELINE_SERVER:-}" ]; then
  TREE=target/baseline/$BASELINE
  if [ ! -x "$TREE/bin/server" ]; then
    rm -rf "$TREE/src"
    git worktree prune
    git worktree add --detach "$TREE/src" "$BASELINE" >/dev/null
    CARGO_TARGET_DIR="$PWD/$TREE/target" cargo build --release --locked -p server \
      --manifest-path "$TREE/src/Cargo.toml"
    mkdir -p "$TREE/bin"
    cp "$TREE/target/release/server" "$TREE/bin/server"
    git worktree remove --force "$TREE/src"
  fi
  BASELINE_SERVER=$TREE/bin/server
fi
CURRENT_SERVER=${BENCH_SERVER:-target/release/server}

# binary label → "label round healthz_rps rest_rps rest_p99_ms" lines on stdout
run() {
  local binary=$1 label=$2 round=$3
  SERVER_DATA=$(mktemp -d "$DATA/$label.XXXX")
  BENCH_SERVER=$binary start_server CONSOLE_AUTH_FAILURE_BURST=1000000000
  curl -sf -u "admin:$ADMIN_PASSWORD" -H 'content-type: application/json' \
    -d '{"username":"bench","password":"bench-password","role":"user","name":"Bench User"}' \
    "$BASE/rest/users" >/dev/null
  local key
  key=$(new_api_key "$(sign_in bench bench-password)")
  test "$(curl -s -o /dev/null -w '%{http_code}' -H "X-API-KEY: $key" "$BASE/rest/user")" = 200
  wrk -t1 -c32 -d1s "$BASE/healthz" >/dev/null 2>&1 # warm-up
  wrk -t1 -c32 -d"${DURATION}s" --latency "$BASE/healthz" >"$OUT/request_path-$label-$round-healthz.wrk" 2>&1
  wrk -t1 -c32 -d"${DURATION}s" --latency -H "X-API-KEY: $key" "$BASE/rest/user" \
    >"$OUT/request_path-$label-$round-rest.wrk" 2>&1
  stop_server
  awk -v label="$label" -v round="$round" '
    FNR == 1 { file++ }
    /Requests\/sec/ { rps[file] = $2 }
    /^ +99%/ && file == 2 { p99 = $2 }
    /Non-2xx/ { bad = 1 }
    END {
      if (p99 ~ /us$/) { sub(/us$/, "", p99); p99 = p99 / 1000 }
      else if (p99 ~ /ms$/) { sub(/ms$/, "", p99) }
      if (bad) print "non-2xx answers in " label > "/dev/stderr"
      printf "%s %s %s %s %s\n", label, round, rps[1], rps[2], p99
    }' "$OUT/request_path-$label-$round-healthz.wrk" "$OUT/request_path-$label-$round-rest.wrk"
}

: >"$OUT/request_path.raw"
for round in $(seq "$ROUNDS"); do
  run "$BASELINE_SERVER" baseline "$round" >>"$OUT/request_path.raw"
  run "$CURRENT_SERVER" current "$round" >>"$OUT/request_path.raw"
done

{
  echo "Request path, wrk -t1 -c32 -d${DURATION}s, SQLite, $ROUNDS rounds taking turns:"
  printf '%-10s %-6s %12s %16s %10s\n' build round "/healthz r/s" "/rest/user r/s" "p99 ms"
  awk '{ printf "%-10s %-6s %12.0f %16.0f %10.2f\n", $1, $2, $3, $4, $5 }' "$OUT/request_path.raw"
  awk -v baseline="$BASELINE" '
    { h[$1] += $3; r[$1] += $4; n[$1]++ }
    END {
      hr = (h["current"] / n["current"]) / (h["baseline"] / n["baseline"])
      rr = (r["current"] / n["current"]) / (r["baseline"] / n["baseline"])
      printf "this build against %s: /healthz %.2f ×, key-authenticated /rest/user %.2f × (budget ≥ 0.9 ×) %s\n",
        baseline, hr, rr, (hr >= 0.9 && rr >= 0.9) ? "✔" : "✘"
    }' "$OUT/request_path.raw"
} | tee "$OUT/request_path.txt"

#!/usr/bin/env bash
# Measures the performance budgets against a baseline taken in the same run, on the release build:
#   - throughput and p99 at 32 connections: the signed-in pages (/profile; /admin with 20 users
#     and 20 undelivered mails; /applications with 50 applications; /applications/{id} with 20
#     versions and 50 jobs), GET /rest/user with a valid X-API-KEY, with a wrong key (401 path
#     and throttled 429 path), each against /healthz, with the budgets checked; /healthz and a
#     valid key while 48 connections flood wrong passwords, and the server's peak memory;
#   - bytes shipped for /profile (WASM + JS + CSS), raw and brotli.
# Usage: scripts/bench/pages.sh [seconds per run, default 10]. Results: target/bench/summary.txt.
# SQLite by default; set DATABASE_URL to an empty PostgreSQL database to measure that instead.
set -euo pipefail
cd "$(dirname "$0")/../.."
source scripts/lib/wrk.sh
source scripts/lib/server.sh

DURATION=${1:-10}
bench_prepare pages 3210
SERVER_DATA=$DATA
trap 'stop_server; rm -rf "$DATA"' EXIT


start_server CONSOLE_AUTH_FAILURE_BURST=1000000000
# A signed-in user with an API key.
curl -sf -u "admin:$ADMIN_PASSWORD" -H 'content-type: application/json' \
  -d '{"username":"bench","password":"bench-password","role":"user","name":"Bench User"}' \
  "$BASE/rest/users" >/dev/null
COOKIE=$(sign_in bench bench-password)
KEY=$(new_api_key "$COOKIE")
WRONG="${KEY:0:9}$(printf 'x%.0s' $(seq 32))"
ADMIN_COOKIE=$(sign_in admin "$ADMIN_PASSWORD")

# What the pages show: 20 users, 50 applications (with notification mail), one of them with 20
# versions and 50 finished jobs, and 20 undelivered mails.
for n in $(seq -w 1 18); do
  curl -sf -u "admin:$ADMIN_PASSWORD" -H 'content-type: application/json' \
    -d "{\"username\":\"user$n\",\"password\":\"user$n-password\",\"role\":\"user\"}" \
    "$BASE/rest/users" >/dev/null
done
curl -sf -H "cookie: $COOKIE" -H 'accept: application/json' \
  --data 'email=bench%40example.com&notifications=true' "$BASE/api/update_email_settings" >/dev/null
for n in $(seq -w 1 50); do
  curl -sf -H "X-API-KEY: $KEY" -H 'content-type: application/json' \
    -d "{\"name\":\"App $n\"}" "$BASE/rest/applications" >/dev/null
done
APP=$(curl -sf -H "X-API-KEY: $KEY" "$BASE/rest/applications" | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["id"])')
python3 - "$DATA/src.tar.gz" <<'PY'
import io, sys, tarfile
with tarfile.open(sys.argv[1], "w:gz") as tar:
    for i in range(20):
        text = ("class Main%d {\n  void run() {}\n}\n" % i).encode()
        info = tarfile.TarInfo(f"bench/src/Main{i}.java"); info.size = len(text)
        tar.addfile(info, io.BytesIO(text))
PY
for n in $(seq -w 1 20); do
  curl -sf -H "X-API-KEY: $KEY" -F "name=1.$n" -F "archive=@$DATA/src.tar.gz" \
    "$BASE/rest/applications/$APP/versions" >/dev/null
done
VERSION=$(curl -sf -H "X-API-KEY: $KEY" "$BASE/rest/applications/$APP/versions" | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["id"])')
for _ in $(seq 50); do
  curl -sf -H "X-API-KEY: $KEY" -H 'content-type: application/json' \
    -d "{\"application\":$APP,\"version\":$VERSION,\"type\":\"analyze\"}" "$BASE/rest/jobs" >/dev/null
done
for _ in $(seq 600); do
  curl -sf -H "X-API-KEY: $KEY" "$BASE/rest/jobs?application=$APP" \
    | python3 -c 'import json,sys; sys.exit(any(j["status"] in ("queued","running") for j in json.load(sys.stdin)))' \
    && break
  sleep 0.1
done
# Mail goes to files here (no mail server): mark 20 sent mails as given up on, as after an outage.
UNDELIVERED="UPDATE outbox SET status = 'failed', attempts = 8, last_error = 'Could not connect to the mail server' WHERE id IN (SELECT id FROM outbox ORDER BY id LIMIT 20)"
case "${DATABASE_URL:-}" in
  postgres*) psql -q "$DATABASE_URL" -c "$UNDELIVERED" ;;
  *) python3 -c 'import sqlite3,sys; c = sqlite3.connect(sys.argv[1]); c.execute(sys.argv[2]); c.commit()' "$DATA/console.db" "$UNDELIVERED" ;;
esac
for page in /profile /applications "/applications/$APP"; do
  test "$(curl -s -o /dev/null -w '%{http_code}' -H "cookie: $COOKIE" "$BASE$page")" = 200
done
test "$(curl -s -o /dev/null -w '%{http_code}' -H "cookie: $ADMIN_COOKIE" "$BASE/admin")" = 200
curl -sf -H "cookie: $ADMIN_COOKIE" "$BASE/admin" | grep -q 'Failed after 8 attempts'
test "$(curl -sf -H "cookie: $COOKIE" "$BASE/applications" | grep -o '/applications/[0-9]*"' | wc -l)" = 50
test "$(curl -s -o /dev/null -w '%{http_code}' -H "X-API-KEY: $KEY" "$BASE/rest/user")" = 200
test "$(curl -s -o /dev/null -w '%{http_code}' -H "X-API-KEY: $WRONG" "$BASE/rest/user")" = 401

{
  measure healthz /healthz
  measure profile_ssr /profile -H "cookie: $COOKIE"
  measure admin_ssr /admin -H "cookie: $ADMIN_COOKIE"
  measure applications_ssr /applications -H "cookie: $COOKIE"
  measure application_ssr "/applications/$APP" -H "cookie: $COOKIE"
  measure healthz_again /healthz
  measure rest_user_valid_key /rest/user -H "X-API-KEY: $KEY"
  measure rest_user_wrong_key_401 /rest/user -H "X-API-KEY: $WRONG"
  # A flood of wrong passwords (48 connections, the failure throttle out of the way: as from
  # many addresses) in the background, while health checks and key-authenticated calls go on.
  for run in healthz_during_password_flood:/healthz rest_user_valid_key_during_password_flood:/rest/user; do
    wrk -t1 -c48 -d"$((DURATION + 2))s" -H "Authorization: Basic $(printf 'admin:wrong-password' | base64)" \
      "$BASE/rest/user" >"$OUT/password_flood.wrk" 2>&1 &
    FLOOD=$!
    sleep 1
    measure "${run%%:*}" "${run#*:}" -H "X-API-KEY: $KEY"
    wait $FLOOD
  done
} >"$OUT/runs.txt"
awk '/VmHWM/ { print $2 }' "/proc/$SERVER/status" >"$OUT/peak_kib.txt"
stop_server

# The same wrong key with throttling at its default: nearly all answers are 429s.
start_server CONSOLE_AUTH_FAILURE_BURST=20
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
peak_mib = int((out / "peak_kib.txt").read_text()) / 1024
lines.append(f"server peak memory after all of the above, password floods included: {peak_mib:.0f} MiB (budget: 512)")
total_raw = total_br = 0
lines.append("")
lines.append(f"{'asset':60} {'raw B':>9} {'brotli B':>9}  encoding  cache-control")
for line in (out / "bytes.txt").read_text().split("\n"):
    if line.strip():
        asset, raw, br, enc, cache = line.split(" ", 4)
        total_raw += int(raw); total_br += int(br)
        lines.append(f"{asset:60} {int(raw):9d} {int(br):9d}  {enc:9} {cache}")
lines.append(f"{'total for /profile':60} {total_raw:9d} {total_br:9d}  (budget: 140 KB brotli)")
lines.append("")
budgets = [
    ("profile_ssr throughput >= 0.3 x /healthz", runs["profile_ssr"][0] / base_rps >= 0.3),
    ("profile_ssr p99 <= 10 ms", runs["profile_ssr"][1] <= 10),
    ("admin_ssr throughput >= 0.2 x /healthz", runs["admin_ssr"][0] / base_rps >= 0.2),
    ("applications_ssr throughput >= 0.2 x /healthz", runs["applications_ssr"][0] / base_rps >= 0.2),
    ("application_ssr throughput >= 0.2 x /healthz", runs["application_ssr"][0] / base_rps >= 0.2),
    ("rest_user_valid_key throughput >= 0.8 x /healthz", runs["rest_user_valid_key"][0] / base_rps >= 0.8),
    ("/healthz during a password flood p99 <= 10 x alone", runs["healthz_during_password_flood"][1] <= 10 * base_p99),
    ("valid key during a password flood p99 <= 10 x alone", runs["rest_user_valid_key_during_password_flood"][1] <= 10 * runs["rest_user_valid_key"][1]),
    ("server peak memory <= 512 MiB", peak_mib <= 512),
    ("assets for /profile <= 140 KB brotli", total_br <= 140 * 1000),
]
for name, ok in budgets:
    lines.append(f"budget {'met   ' if ok else 'MISSED'} {name}")
text = "\n".join(lines)
(out / "summary.txt").write_text(text + "\n")
print(text)
PY

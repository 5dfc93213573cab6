#!/usr/bin/env bash
# Measures the notification mail budgets on the release build, against baselines taken in the
# same run:
#   - outbox throughput: 1,000 mails queued while the mail server is down, then delivered to the
#     local SMTP sink once it is up (mails/s), against Python's smtplib sending 1,000 mails of
#     the same size to the same sink over as many connections (the sink's own ceiling);
#   - p99 of a job-status REST call (GET /rest/jobs/{id}) while the mail server is down and the
#     1,000 mails are being retried, against the same call while it is up.
# Usage: scripts/bench/mail.sh [seconds per wrk run, default 10]. Results: target/bench/mail.txt.
# SQLite by default; set DATABASE_URL to an empty PostgreSQL database to measure that instead.
set -euo pipefail
cd "$(dirname "$0")/../.."
source scripts/lib/wrk.sh
source scripts/lib/server.sh

DURATION=${1:-10}
MAILS=1000
SMTP_PORT=${BENCH_SMTP_PORT:-3213}
bench_prepare mail 3212
SINK=""
stop_sink() { [ -z "$SINK" ] || { kill "$SINK" 2>/dev/null || true; wait "$SINK" 2>/dev/null || true; SINK=""; }; }
start_sink() { # directory
  rm -f "$DATA/sink.out"
  .venv/bin/python server/tests/fixtures/smtp_sink.py --port "$SMTP_PORT" --dir "$1" >"$DATA/sink.out" &
  SINK=$!
  for _ in $(seq 100); do grep -q ready "$DATA/sink.out" 2>/dev/null && return; sleep 0.1; done
  echo "the SMTP sink did not start" >&2; exit 1
}
count() { find "$1" -name '*.eml' 2>/dev/null | wc -l; }

# The mail server is preset from the environment; nothing listens on its port yet.
SERVER_DATA="$DATA/server"
trap 'stop_server; stop_sink; rm -rf "$DATA"' EXIT
# One user receives every mail here: the hourly budget is out of the way (it is not what is
# measured).
start_server RUST_LOG=error CONSOLE_SMTP_HOST=127.0.0.1 CONSOLE_SMTP_PORT="$SMTP_PORT" \
  CONSOLE_SMTP_SECURITY=none CONSOLE_MAIL_PER_USER_HOUR=100000000

# A user who wants notifications, with an API key.
curl -sf -u "admin:$ADMIN_PASSWORD" -H 'content-type: application/json' \
  -d '{"username":"bench","password":"bench-password","role":"user","email":"bench@example.com"}' \
  "$BASE/rest/users" >/dev/null
COOKIE=$(sign_in bench bench-password)
KEY=$(new_api_key "$COOKIE")
ADMIN_COOKIE=$(sign_in admin "$ADMIN_PASSWORD")
export KEY BASE

# One finished job, whose status the REST calls read.
rest() { curl -sf -H "X-API-KEY: $KEY" "$@"; }
field() { python3 -c "import json,sys; print(json.load(sys.stdin)$1)"; }
APP=$(rest -H 'content-type: application/json' -d '{"name":"Bench"}' "$BASE/rest/applications" | field '["id"]')
mkdir -p "$DATA/src/project" && echo 'class Main {}' >"$DATA/src/project/Main.java"
tar czf "$DATA/src.tar.gz" -C "$DATA/src" project
VERSION=$(rest -F name=1 -F "archive=@$DATA/src.tar.gz" "$BASE/rest/applications/$APP/versions" | field '["id"]')
JOB=$(rest -H 'content-type: application/json' \
  -d "{\"application\":$APP,\"version\":$VERSION,\"type\":\"analyze\"}" "$BASE/rest/jobs" | field '["id"]')

# Queue the mails: one "application created" each (on one keep-alive connection).
python3 - "$MAILS" <<'PY'
import http.client, json, os, sys
host, port = os.environ["BASE"].removeprefix("http://").split(":")
connection = http.client.HTTPConnection(host, int(port))
for n in range(int(sys.argv[1])):
    connection.request("POST", "/rest/applications", json.dumps({"name": f"Queued {n:04}"}),
                       {"X-API-KEY": os.environ["KEY"], "content-type": "application/json"})
    response = connection.getresponse()
    response.read()
    assert response.status == 201, response.status
PY
# Everything queued (with the mail of the set-up above), the dead server tried at least once.
queued() { python3 - "$1" <<'PY'
import sqlite3, sys
pending, tried = sqlite3.connect(sys.argv[1]).execute(
    "select count(*), count(last_error) from outbox where status = 'pending'").fetchone()
print(pending if tried else 0)
PY
}
if [ -z "${DATABASE_URL:-}" ]; then
  for _ in $(seq 300); do [ "$(queued "$DATA/server/console.db")" -ge $MAILS ] && break; sleep 0.1; done
  MAILS=$(queued "$DATA/server/console.db")
  echo "queued: $MAILS mails"
fi

{
  echo "# $(date -u +%FT%TZ) $(nproc) cores, ${DURATION}s per wrk run, 32 connections"
  echo "name requests_per_second p99_ms non_2xx"
  measure "job_status_smtp_down" "/rest/jobs/$JOB" -H "X-API-KEY: $KEY"
} | tee "$OUT/mail.txt"

# The mail server comes up; saving the settings makes every waiting mail due at once.
start_sink "$DATA/sink"
# Mail whose backoff ended while the sink started is not part of the timed drain.
EARLY=$(count "$DATA/sink")
START=$(date +%s.%N)
curl -sf -o /dev/null -H "cookie: $ADMIN_COOKIE" -H 'accept: application/json' \
  --data "host=127.0.0.1&port=$SMTP_PORT&security=none" "$BASE/api/save_mail_server"
for _ in $(seq 6000); do [ "$(count "$DATA/sink")" -ge $MAILS ] && break; sleep 0.02; done
END=$(date +%s.%N)
DELIVERED=$(count "$DATA/sink")
[ "$DELIVERED" -ge $MAILS ] || { echo "only $DELIVERED of $MAILS mails arrived in 2 minutes" >&2; exit 1; }

# The same call with the mail server up.
measure "job_status_smtp_up" "/rest/jobs/$JOB" -H "X-API-KEY: $KEY" | tee -a "$OUT/mail.txt"

# Baseline: smtplib over as many connections as the console uses (app::mail::server::CONNECTIONS),
# sending a mail the console sent.
stop_sink
start_sink "$DATA/baseline"
CONNECTIONS=$(awk '/pub const CONNECTIONS: u32/ { gsub(/;/, ""); print $NF }' app/src/mail/server.rs)
BASELINE=$(python3 - "$MAILS" "$SMTP_PORT" "$DATA/sink" "$CONNECTIONS" <<'PY'
import glob, smtplib, sys, threading, time
mails, port, sent_dir, connections = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], int(sys.argv[4])
sample = open(sorted(glob.glob(f"{sent_dir}/*.eml"))[0], "rb").read()
def send(count):
    with smtplib.SMTP("127.0.0.1", port) as smtp:
        for _ in range(count):
            smtp.sendmail("console@example.com", ["bench@example.com"], sample)
start = time.perf_counter()
threads = [threading.Thread(target=send, args=(share,))
           for share in [mails // connections + (n < mails % connections) for n in range(connections)]]
for thread in threads: thread.start()
for thread in threads: thread.join()
print(f"{time.perf_counter() - start:.3f}")
PY
)

python3 - "$MAILS" "$((DELIVERED - EARLY))" "$START" "$END" "$BASELINE" "$OUT/mail.txt" <<'PY' | tee -a "$OUT/mail.txt"
import sys
mails, delivered, start, end, baseline, results = sys.argv[1:]
mails, delivered = int(mails), int(delivered)
drain = float(end) - float(start)
rows = {line.split()[0]: line.split() for line in open(results) if line.startswith("job_status")}
down, up = float(rows["job_status_smtp_down"][2]), float(rows["job_status_smtp_up"][2])
print(f"outbox: {delivered} of {mails} delivered in {drain:.2f} s after the settings were saved = {delivered / drain:.0f} mails/s; "
      f"smtplib baseline {mails / float(baseline):.0f} mails/s; ratio {delivered / drain / (mails / float(baseline)):.2f}")
print(f"job status p99: SMTP down {down:.2f} ms, up {up:.2f} ms; down/up {down / up:.2f}")
PY

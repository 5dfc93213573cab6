#!/usr/bin/env bash
# Soak test of page loads on the release build: 2 clients (a user and an administrator) loop
# plain-form posts (generate and delete the API key, email settings) and every page they can see,
# while a third process burns a CPU. Every request must answer within 10 s, and the server must
# never log that a page's code ran after its request ("AppState missing") or that a page passed
# its render deadline.
#
# Usage: scripts/bench/soak.sh [sqlite|postgres] [requests, default 10000] [max seconds, default 900]
# Results: target/bench/soak-<database>.txt. Exits non-zero on any stall or error.
set -euo pipefail
cd "$(dirname "$0")/../.."
source scripts/lib/postgres.sh

DATABASE=${1:-sqlite}
REQUESTS=${2:-10000}
MAX_SECONDS=${3:-900}
PORT=${SOAK_PORT:-3212}
BASE="http://127.0.0.1:$PORT"
OUT=target/bench
ADMIN_PASSWORD=soak-admin-password

scripts/setup.sh test
cargo leptos build --release --precompress
mkdir -p "$OUT"

DATA=$(mktemp -d /tmp/console-soak.XXXXXX)
# Beside DATA, not in it: the postgres user cannot enter a root-only directory.
PG_DIR=$(mktemp -d /tmp/console-soak-pg.XXXXXX)
SERVER=
BURNER=
cleanup() {
  [ -n "$BURNER" ] && kill "$BURNER" 2>/dev/null || true
  [ -n "$SERVER" ] && { kill "$SERVER" 2>/dev/null || true; wait "$SERVER" 2>/dev/null || true; }
  stop_postgres "$PG_DIR"
  rm -rf "$DATA"
}
trap cleanup EXIT

case "$DATABASE" in
  sqlite) DATABASE_URL="sqlite://$DATA/console.db?mode=rwc" ;;
  postgres)
    start_postgres "$PG_DIR" "${SOAK_POSTGRES_PORT:-55441}"
    DATABASE_URL=$TEST_POSTGRES_URL
    ;;
  *) echo "usage: scripts/bench/soak.sh [sqlite|postgres] [requests] [max seconds]" >&2; exit 2 ;;
esac

LOG="$OUT/soak-$DATABASE.log"
DATABASE_URL=$DATABASE_URL LEPTOS_SITE_ADDR=127.0.0.1:$PORT LEPTOS_SITE_ROOT=target/site \
  LEPTOS_HASH_FILES=true CONSOLE_DATA_DIR="$DATA" CONSOLE_ADMIN_PASSWORD=$ADMIN_PASSWORD \
  RUST_LOG=warn target/release/server 2>"$LOG" &
SERVER=$!
for _ in $(seq 100); do curl -sf "$BASE/healthz" >/dev/null && break; sleep 0.1; done

# One CPU busy with something else, as on a shared machine; ended with the soak.
timeout "$MAX_SECONDS" sh -c 'while :; do :; done' &
BURNER=$!

STATUS=0
python3 - "$BASE" "$ADMIN_PASSWORD" "$REQUESTS" "$MAX_SECONDS" "$DATABASE" "$OUT" <<'PY' || STATUS=$?
import base64, http.client, io, json, sys, tarfile, threading, time, urllib.parse

base, admin_password, total, max_seconds, database, out = sys.argv[1:7]
total, max_seconds = int(total), int(max_seconds)
host, port = urllib.parse.urlsplit(base).netloc.split(":")
TIMEOUT = 10

def request(conn, method, path, body=None, headers=None):
    headers = dict(headers or {})
    conn.request(method, path, body=body, headers=headers)
    response = conn.getresponse()
    return response.status, dict((k.lower(), v) for k, v in response.getheaders()), response.read()

def setup_call(method, path, body=None, headers=None):
    conn = http.client.HTTPConnection(host, int(port), timeout=30)
    try:
        return request(conn, method, path, body, headers)
    finally:
        conn.close()

basic = "Basic " + base64.b64encode(f"admin:{admin_password}".encode()).decode()
status, _, body = setup_call("POST", "/rest/users", json.dumps(
    {"username": "soak", "password": "soak-password", "role": "user", "name": "Soak User"}),
    {"authorization": basic, "content-type": "application/json"})
assert status == 201, body

def sign_in(username, password):
    status, headers, body = setup_call("POST", "/api/sign_in",
        urllib.parse.urlencode({"username": username, "password": password}),
        {"accept": "application/json", "content-type": "application/x-www-form-urlencoded"})
    assert status == 200, body
    return headers["set-cookie"].split(";")[0]

user_cookie = sign_in("soak", "soak-password")
admin_cookie = sign_in("admin", admin_password)
status, _, body = setup_call("POST", "/api/generate_api_key", "",
    {"cookie": user_cookie, "accept": "application/json",
     "content-type": "application/x-www-form-urlencoded"})
key = json.loads(body)["new_key"]
status, _, body = setup_call("POST", "/rest/applications", json.dumps({"name": "SOAK"}),
    {"x-api-key": key, "content-type": "application/json"})
application = json.loads(body)["id"]
archive = io.BytesIO()
with tarfile.open(fileobj=archive, mode="w:gz") as tar:
    text = b"class Main {\n  void run() {}\n}\n"
    info = tarfile.TarInfo("soak/src/Main.java"); info.size = len(text)
    tar.addfile(info, io.BytesIO(text))
boundary = "soakboundary"
multipart = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"name\"\r\n\r\n1.0\r\n"
             f"--{boundary}\r\nContent-Disposition: form-data; name=\"archive\"; filename=\"src.tar.gz\"\r\n"
             "Content-Type: application/gzip\r\n\r\n").encode() + archive.getvalue() + f"\r\n--{boundary}--\r\n".encode()
status, _, body = setup_call("POST", f"/rest/applications/{application}/versions", multipart,
    {"x-api-key": key, "content-type": f"multipart/form-data; boundary={boundary}"})
assert status == 201, body

FORM = {"accept": "text/html,application/xhtml+xml", "content-type": "application/x-www-form-urlencoded",
        "origin": base, "referer": base + "/profile"}
PAGE = {"accept": "text/html,application/xhtml+xml,*/*;q=0.8"}
user_steps = [
    ("POST", "/api/generate_api_key", "", 303), ("GET", "/profile", None, 200),
    ("POST", "/api/delete_api_key", "", 303), ("GET", "/profile", None, 200),
    ("POST", "/api/update_email_settings", "email=soak%40example.com", 303), ("GET", "/profile", None, 200),
    ("GET", "/applications", None, 200), ("GET", f"/applications/{application}", None, 200),
    ("GET", "/", None, 200),
]
admin_steps = [
    ("POST", "/api/update_email_settings", "email=admin%40example.com&notifications=true", 303),
    ("GET", "/profile", None, 200), ("GET", "/admin", None, 200), ("GET", "/applications", None, 200),
]

lock = threading.Lock()
counts = {"requests": 0, "stalls": 0, "wrong_status": 0}
problems = []
deadline = time.monotonic() + max_seconds

def client(cookie, steps):
    conn = http.client.HTTPConnection(host, int(port), timeout=TIMEOUT)
    while True:
        for method, path, body, expected in steps:
            with lock:
                if counts["requests"] >= total or time.monotonic() > deadline:
                    return
                counts["requests"] += 1
            headers = dict(FORM if method == "POST" else PAGE, cookie=cookie)
            try:
                status, _, _ = request(conn, method, path, body, headers)
                if status != expected:
                    with lock:
                        counts["wrong_status"] += 1
                        problems.append(f"{method} {path}: {status}")
            except TimeoutError:
                with lock:
                    counts["stalls"] += 1
                    problems.append(f"{method} {path}: no answer within {TIMEOUT} s")
                conn.close()
                conn = http.client.HTTPConnection(host, int(port), timeout=TIMEOUT)

started = time.monotonic()
threads = [threading.Thread(target=client, args=(user_cookie, user_steps)),
           threading.Thread(target=client, args=(admin_cookie, admin_steps))]
for thread in threads: thread.start()
for thread in threads: thread.join()
elapsed = time.monotonic() - started
summary = (f"soak on {database}: {counts['requests']} requests in {elapsed:.0f} s "
           f"({counts['requests'] / elapsed:.0f}/s) with a CPU burner: "
           f"{counts['stalls']} stalls (no answer within {TIMEOUT} s), {counts['wrong_status']} wrong statuses")
print(summary)
for problem in problems[:20]:
    print("  ", problem)
with open(f"{out}/soak-{database}.txt", "w") as file:
    file.write(summary + "\n")
sys.exit(1 if problems else 0)
PY
ORPHANS=$(grep -c "AppState missing" "$LOG" || true)
DEADLINES=$(grep -c "passed its deadline" "$LOG" || true)
echo "server log: $ORPHANS \"AppState missing\", $DEADLINES renders past the deadline" \
  | tee -a "$OUT/soak-$DATABASE.txt"
[ "$STATUS" = 0 ] && [ "$ORPHANS" = 0 ] && [ "$DEADLINES" = 0 ]

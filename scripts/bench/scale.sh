#!/usr/bin/env bash
# Measures the scale-out budgets on the release build, each against a baseline in the same run:
#   - the archive store: upload of a 50 MB archive and its analysis with the S3-compatible store
#     (moto, scripts/lib/s3.sh) against the same with a local directory, and the server's peak
#     RSS above idle during both (budgets: upload ≤ 2 ×, analysis ≤ 1.5 ×, RSS ≤ 100 MB above idle);
#   - key-authenticated GET /rest/user through HAProxy (TLS) to three instances on one
#     PostgreSQL, against the same proxy in front of one instance (and one instance without
#     the proxy, for scale).
# Usage: scripts/bench/scale.sh [seconds per wrk run, default 10]. Results: target/bench/scale.txt.
set -euo pipefail
cd "$(dirname "$0")/../.."
source scripts/lib/wrk.sh
source scripts/lib/server.sh
source scripts/lib/postgres.sh
source scripts/lib/s3.sh

DURATION=${1:-10}
bench_prepare scale 3221
INSTANCES=()
start_instances() { # count
  local database="bench_$RANDOM$RANDOM"
  psql "$TEST_POSTGRES_URL" -qc "CREATE DATABASE $database"
  for n in $(seq "$1"); do
    mkdir -p "$DATA/instance-$n"
    env LEPTOS_SITE_ADDR="127.0.0.1:$((PORT + n))" LEPTOS_SITE_ROOT=target/site LEPTOS_HASH_FILES=true \
      DATABASE_URL="${TEST_POSTGRES_URL%/*}/$database" CONSOLE_DATA_DIR="$DATA/instance-$n" \
      CONSOLE_ARCHIVE_STORE="$TEST_ARCHIVE_S3/bench-proxy-$database" CONSOLE_SECRET=bench-secret-shared-by-every-instance-0123 \
      CONSOLE_ADMIN_PASSWORD="$ADMIN_PASSWORD" CONSOLE_TRUSTED_PROXIES=127.0.0.1 RUST_LOG=warn \
      target/release/server &
    INSTANCES+=($!)
    for _ in $(seq 100); do curl -sf "http://127.0.0.1:$((PORT + n))/readyz" >/dev/null && break; sleep 0.1; done
  done
  openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=127.0.0.1 \
    -keyout "$DATA/proxy.key" -out "$DATA/proxy.crt" 2>/dev/null
  cat "$DATA/proxy.crt" "$DATA/proxy.key" >"$DATA/proxy.pem"
  local servers=""
  for n in $(seq "$1"); do servers+="  server i$n 127.0.0.1:$((PORT + n)) check inter 500ms\n"; done
  sed -e "s|BIND|127.0.0.1:$PORT|" -e "s|CERTIFICATE|$DATA/proxy.pem|" -e "s|  SERVERS|$servers|" \
    end2end/proxy/haproxy.cfg >"$DATA/haproxy.cfg"
  /usr/sbin/haproxy -f "$DATA/haproxy.cfg" -db 2>"$DATA/haproxy.log" &
  INSTANCES+=($!)
  for _ in $(seq 100); do curl -skf "https://127.0.0.1:$PORT/readyz" >/dev/null && break; sleep 0.1; done
  BASE="https://127.0.0.1:$PORT"
  curl -skf -u "admin:$ADMIN_PASSWORD" -H 'content-type: application/json' \
    -d '{"username":"bench","password":"bench-password","role":"user"}' "$BASE/rest/users" >/dev/null
  COOKIE=$(curl -skf -D - -o /dev/null -H 'accept: application/json' -H "origin: $BASE" \
    --data "username=bench&password=bench-password" "$BASE/api/sign_in" \
    | awk -F'[:;] *' 'tolower($1) == "set-cookie" { print $2 }')
  KEY=$(curl -skf -X POST -H "cookie: $COOKIE" -H 'accept: application/json' -H "origin: $BASE" \
    -H 'content-type: application/x-www-form-urlencoded' "$BASE/api/generate_api_key" \
    | python3 -c 'import json,sys; print(json.load(sys.stdin)["new_key"])')
}
stop_instances() {
  for pid in "${INSTANCES[@]:-}"; do [ -z "$pid" ] || kill "$pid" 2>/dev/null || true; done
  for pid in "${INSTANCES[@]:-}"; do [ -z "$pid" ] || wait "$pid" 2>/dev/null || true; done
  INSTANCES=()
}

# PostgreSQL's directory must be reachable by its own user: not inside the private $DATA.
PG_DIR=$(mktemp -d /tmp/console-bench-pg.XXXXXX)
trap 'stop_server; stop_instances; stop_s3 "$DATA/s3"; stop_postgres "$PG_DIR"; rm -rf "$DATA"' EXIT
start_s3 "$DATA/s3" "${BENCH_S3_PORT:-3229}"

# A 50 MB source-like archive: random identifiers, compressing about as well as real code.
ARCHIVE="$DATA/src-50mb.tar.gz"
python3 - "$ARCHIVE" <<'PY'
import io, random, sys, tarfile
random.seed(11)
words = ["if", "else", "return", "for", "while", "int", "String", "public", "static", "void",
         "class", "import", "new", "this", "null", "=", "==", "+", "(", ")", "{", "}", ";",
         "customer", "account", "balance", "amount", "order", "item", "total"]
def line():
    return " " * random.choice([0, 4, 8]) + " ".join(random.choice(words) + (str(random.randrange(999)) if random.random() < .3 else "") for _ in range(random.randrange(3, 14))) + "\n"
with tarfile.open(sys.argv[1], "w:gz") as tar:
    size = 0
    i = 0
    while size < 50 * 1000 * 1000:
        text = "".join(line() for _ in range(1500)).encode()
        info = tarfile.TarInfo(f"project/module{i % 40}/File{i}.java")
        info.size = len(text)
        tar.addfile(info, io.BytesIO(text))
        i += 1
        if i % 200 == 0:
            tar.fileobj.flush()
            size = tar.fileobj.fileobj.tell()
PY
echo "archive: $(stat -c %s "$ARCHIVE") bytes"

rss_kb() { awk -v field="$2:" '$1 == field { print $2 }' "/proc/$1/status"; }

# store-kind → "upload_s analyze_s idle_mb peak_mb"
measure_store() {
  local store=$1
  SERVER_DATA="$DATA/server-$store"
  mkdir -p "$SERVER_DATA"
  if [ "$store" = s3 ]; then
    start_server CONSOLE_MAX_ARCHIVE_MB=60 CONSOLE_ARCHIVE_STORE="$TEST_ARCHIVE_S3/bench-$RANDOM"
  else
    start_server CONSOLE_MAX_ARCHIVE_MB=60
  fi
  curl -sf -u "admin:$ADMIN_PASSWORD" -H 'content-type: application/json' \
    -d '{"username":"bench","password":"bench-password","role":"user"}' "$BASE/rest/users" >/dev/null
  KEY=$(new_api_key "$(sign_in bench bench-password)")
  local app idle start upload version job analyze peak
  app=$(curl -sf -H "X-API-KEY: $KEY" -H 'content-type: application/json' -d '{"name":"Bench"}' \
    "$BASE/rest/applications" | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
  idle=$(rss_kb "$SERVER" VmRSS)
  echo 5 >"/proc/$SERVER/clear_refs"
  start=$(date +%s.%N)
  version=$(curl -sf -H "X-API-KEY: $KEY" -F name=1 -F "archive=@$ARCHIVE" \
    "$BASE/rest/applications/$app/versions" | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
  upload=$(awk -v start="$start" -v now="$(date +%s.%N)" 'BEGIN { print now - start }')
  start=$(date +%s.%N)
  job=$(curl -sf -H "X-API-KEY: $KEY" -H 'content-type: application/json' \
    -d "{\"application\":$app,\"version\":$version,\"type\":\"analyze\"}" "$BASE/rest/jobs" \
    | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
  until curl -sf -H "X-API-KEY: $KEY" "$BASE/rest/jobs/$job" | grep -q '"status":"succeeded"'; do
    if curl -sf -H "X-API-KEY: $KEY" "$BASE/rest/jobs/$job" | grep -q '"status":"failed"'; then
      echo "the analysis failed" >&2; exit 1
    fi
    sleep 0.01
  done
  analyze=$(awk -v start="$start" -v now="$(date +%s.%N)" 'BEGIN { print now - start }')
  peak=$(rss_kb "$SERVER" VmHWM)
  stop_server
  echo "$upload $analyze $((idle / 1024)) $((peak / 1024))"
}

read -r LOCAL_UP LOCAL_AN LOCAL_IDLE LOCAL_PEAK < <(measure_store local)
read -r S3_UP S3_AN S3_IDLE S3_PEAK < <(measure_store s3)
# The test store's own floor: the same bytes as a multipart upload straight to moto (unsigned,
# the server's part size and parts in flight), no console in between.
STORE_ONLY=$(python3 - "$ARCHIVE" "${AWS_ENDPOINT#http://}" "${TEST_ARCHIVE_S3#s3://}" <<'PY'
import concurrent.futures, http.client, re, sys, time
data = open(sys.argv[1], "rb").read()
host, port = sys.argv[2].split(":")
base = f"/{sys.argv[3]}/bench-floor"
def request(method, path, body=None):
    connection = http.client.HTTPConnection(host, int(port))
    connection.request(method, path, body=body)
    response = connection.getresponse()
    return response, response.read().decode(errors="replace")
start = time.time()
upload = re.search("<UploadId>(.*)</UploadId>", request("POST", base + "?uploads")[1]).group(1)
part = 5 * 1024 * 1024
def put(number):
    response, _ = request("PUT", f"{base}?partNumber={number + 1}&uploadId={upload}",
                          data[number * part:(number + 1) * part])
    return response.getheader("ETag")
with concurrent.futures.ThreadPoolExecutor(2) as pool:
    tags = list(pool.map(put, range((len(data) + part - 1) // part)))
parts = "".join(f"<Part><PartNumber>{n + 1}</PartNumber><ETag>{t}</ETag></Part>" for n, t in enumerate(tags))
request("POST", f"{base}?uploadId={upload}", f"<CompleteMultipartUpload>{parts}</CompleteMultipartUpload>")
print(time.time() - start)
PY
)

# Three instances on one PostgreSQL behind HAProxy with TLS, against the proxy in front of one.
start_postgres "$PG_DIR" "${BENCH_PG_PORT:-3228}"
start_instances 1
DIRECT=$(BASE="http://127.0.0.1:$((PORT + 1))" measure direct_one /rest/user -H "X-API-KEY: $KEY")
ONE=$(measure proxy_one /rest/user -H "X-API-KEY: $KEY")
stop_instances
start_instances 3
THREE=$(measure proxy_three /rest/user -H "X-API-KEY: $KEY")
stop_instances

{
  echo "archive store, 50 MB archive ($(stat -c %s "$ARCHIVE") bytes): local vs S3 (moto)"
  printf 'upload   local %.2f s  s3 %.2f s  ratio %.2f (budget ≤ 2)\n' "$LOCAL_UP" "$S3_UP" "$(awk "BEGIN { print $S3_UP / $LOCAL_UP }")"
  printf '         the store alone (multipart straight to moto) %.2f s  ratio %.2f\n' "$STORE_ONLY" "$(awk "BEGIN { print $STORE_ONLY / $LOCAL_UP }")"
  printf 'analyze  local %.2f s  s3 %.2f s  ratio %.2f (budget ≤ 1.5)\n' "$LOCAL_AN" "$S3_AN" "$(awk "BEGIN { print $S3_AN / $LOCAL_AN }")"
  echo "peak RSS above idle: local $((LOCAL_PEAK - LOCAL_IDLE)) MB (idle $LOCAL_IDLE), s3 $((S3_PEAK - S3_IDLE)) MB (idle $S3_IDLE) (budget ≤ 100)"
  echo
  echo "GET /rest/user with a key, wrk -t2 -c32 ${DURATION}s: name req/s p99_ms non_2xx"
  echo "$DIRECT"
  echo "$ONE"
  echo "$THREE"
  read -r _ one_rps _ _ <<<"$ONE"
  read -r _ three_rps _ _ <<<"$THREE"
  printf 'HAProxy → 3 instances / HAProxy → 1 instance: %.2f\n' "$(awk "BEGIN { print $three_rps / $one_rps }")"
} | tee "$OUT/scale.txt"

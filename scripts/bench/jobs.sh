#!/usr/bin/env bash
# Measures the jobs budgets on the release build, each against a baseline taken in the same run:
#   - analyze: wall time and the server's peak RSS for source archives of 1, 10 and 40 MB
#     (~2,000 files each), against `gzip -dc | wc -l` over the same archive;
#   - POST /rest/jobs throughput and p99 at 32 connections while a job runs, against /healthz
#     while a job runs (and /healthz idle, for scale).
# Usage: scripts/bench/jobs.sh [seconds per wrk run, default 10]. Results: target/bench/jobs.txt.
# SQLite by default; set DATABASE_URL to an empty PostgreSQL database to measure that instead.
set -euo pipefail
cd "$(dirname "$0")/../.."
source scripts/lib/wrk.sh
source scripts/lib/server.sh

DURATION=${1:-10}
bench_prepare jobs 3211
SERVER_DATA="$DATA/server"
trap 'stop_server; rm -rf "$DATA"' EXIT
# One user queues every job here: the per-user cap is out of the way (it is not what is measured).
start_server CONSOLE_MAX_ARCHIVE_MB=200 CONSOLE_JOBS_PER_USER=100000000

# A user with an API key.
curl -sf -u "admin:$ADMIN_PASSWORD" -H 'content-type: application/json' \
  -d '{"username":"bench","password":"bench-password","role":"user"}' "$BASE/rest/users" >/dev/null
COOKIE=$(sign_in bench bench-password)
KEY=$(new_api_key "$COOKIE")
export KEY BASE

# Source-like archives: ~2,000 files of random identifiers and punctuation, compressing about
# as well as real code; sized by their compressed size.
python3 - "$DATA" <<'PY'
import io, random, sys, tarfile, os
random.seed(7)
words = ["if", "else", "return", "for", "while", "int", "String", "public", "static", "void",
         "class", "import", "new", "this", "null", "true", "false", "=", "==", "+", "(", ")",
         "{", "}", ";", "customer", "account", "balance", "amount", "order", "item", "total"]
exts = [".java", ".ts", ".py", ".c", ".sql", ".cbl", ".xml", ".md"]
def line():
    return " " * random.choice([0, 4, 8]) + " ".join(random.choice(words) + (str(random.randrange(999)) if random.random() < .3 else "") for _ in range(random.randrange(3, 14))) + "\n"
for target_mb in (1, 10, 40):
    path = os.path.join(sys.argv[1], f"src-{target_mb}mb.tar.gz")
    per_file = int(target_mb * 1024 * 1024 * 3.0 / 2000)
    with tarfile.open(path, "w:gz") as tar:
        for i in range(2000):
            text = "".join(line() for _ in range(max(1, per_file // 48))).encode()
            info = tarfile.TarInfo(f"project/module{i % 40}/File{i}{exts[i % len(exts)]}")
            info.size = len(text)
            tar.addfile(info, io.BytesIO(text))
    print(path, os.path.getsize(path))
PY

rest() { curl -sf -H "X-API-KEY: $KEY" "$@"; }
field() { python3 -c "import json,sys; print(json.load(sys.stdin)$1)"; }
APP=$(rest -H 'content-type: application/json' -d '{"name":"Bench"}' "$BASE/rest/applications" | field '["id"]')

echo "archive_mb bytes files lines analyze_s baseline_s ratio idle_rss_mb peak_rss_mb" >"$OUT/analyze.txt"
for mb in 1 10 40; do
  archive="$DATA/src-${mb}mb.tar.gz"
  VERSION=$(rest -F "name=$mb" -F "archive=@$archive" "$BASE/rest/applications/$APP/versions" | field '["id"]')
  sync
  # Start the job and poll it every 5 ms on one connection; the server's peak RSS is reset just
  # before the start and read after the end.
  python3 - "$mb" "$archive" "$APP" "$VERSION" "$SERVER" >>"$OUT/analyze.txt" <<'PY'
import http.client, json, os, subprocess, sys, time
mb, archive, app, version, pid = sys.argv[1:]
key, base = os.environ["KEY"], os.environ["BASE"]
host, port = base.removeprefix("http://").split(":")
def status_kb(field):
    for line in open(f"/proc/{pid}/status"):
        if line.startswith(field):
            return int(line.split()[1])
conn = http.client.HTTPConnection(host, int(port))
headers = {"X-API-KEY": key, "Content-Type": "application/json"}
idle = status_kb("VmRSS")
open(f"/proc/{pid}/clear_refs", "w").write("5")
start = time.perf_counter()
conn.request("POST", "/rest/jobs", json.dumps({"application": int(app), "version": int(version), "type": "analyze"}), headers)
job = json.loads(conn.getresponse().read())["id"]
while True:
    conn.request("GET", f"/rest/jobs/{job}", headers=headers)
    state = json.loads(conn.getresponse().read())
    if state["status"] not in ("queued", "running"):
        break
    time.sleep(0.005)
took = time.perf_counter() - start
peak = status_kb("VmHWM")
assert state["status"] == "succeeded", state
start = time.perf_counter()
subprocess.run(f"gzip -dc {archive} | wc -l", shell=True, check=True, stdout=subprocess.DEVNULL)
base = time.perf_counter() - start
result = state["result"]
print(mb, os.path.getsize(archive), result["files"], result["lines"], f"{took:.3f}", f"{base:.3f}",
      f"{took / base:.2f}", f"{idle / 1024:.1f}", f"{peak / 1024:.1f}")
PY
done

cat >"$OUT/post_job.lua" <<LUA
wrk.method = "POST"
wrk.body = '{"application":$APP,"version":$VERSION,"type":"analyze"}'
wrk.headers["Content-Type"] = "application/json"
wrk.headers["X-API-KEY"] = "$KEY"
LUA

# Jobs run one at a time (the default concurrency) in id order. `jobs queue N` queues N analyses
# of the 40 MB archive (about a third of a second each) and keeps their ids; `jobs running` prints
# how many of them run (asked a few times: between two jobs none does).
jobs() {
  python3 - "$1" "${2:-0}" "$APP" "$VERSION" "$OUT/queued_jobs.txt" <<'PY'
import http.client, json, os, sys, time
action, count, app, version, ids_file = sys.argv[1:]
host, port = os.environ["BASE"].removeprefix("http://").split(":")
conn = http.client.HTTPConnection(host, int(port))
headers = {"X-API-KEY": os.environ["KEY"], "Content-Type": "application/json"}
def call(method, path, body=None):
    conn.request(method, path, body, headers)
    return json.loads(conn.getresponse().read())
if action == "queue":
    body = json.dumps({"application": int(app), "version": int(version), "type": "analyze"})
    ids = [call("POST", "/rest/jobs", body)["id"] for _ in range(int(count))]
    open(ids_file, "w").write("\n".join(map(str, ids)))
else:
    ids = open(ids_file).read().split()
    for _ in range(5):
        statuses = [call("GET", f"/rest/jobs/{id}")["status"] for id in ids]
        if "running" in statuses:
            print(statuses.count("running"))
            break
        time.sleep(0.05)
    else:
        print(0)
PY
}
{
  measure healthz_idle /healthz
  # Enough queued analyses that one runs for the rest of the run.
  jobs queue $((DURATION * 60))
  sleep 0.5
  test "$(jobs running)" = 1
  measure healthz_job_running /healthz
  measure post_jobs_job_running /rest/jobs -s "$OUT/post_job.lua"
  test "$(jobs running)" = 1
  measure healthz_job_running_again /healthz
  test "$(jobs running)" = 1
} >"$OUT/jobs_runs.txt"

python3 - "$OUT" <<'PY'
import sys, pathlib
out = pathlib.Path(sys.argv[1])
lines = ["Analyze (release build, 1 job, archives of ~2,000 files; baseline: gzip -dc | wc -l)", ""]
lines += [f"{'archive MB':>10} {'bytes':>10} {'files':>6} {'lines':>9} {'analyze s':>10} {'baseline s':>11} {'ratio':>6} {'idle RSS MB':>12} {'peak RSS MB':>12}"]
for row in (out / "analyze.txt").read_text().split("\n")[1:]:
    if row.strip():
        mb, size, files, nlines, took, base, ratio, idle, peak = row.split()
        lines.append(f"{mb:>10} {size:>10} {files:>6} {nlines:>9} {took:>10} {base:>11} {ratio:>6} {idle:>12} {peak:>12}")
runs = {}
for row in (out / "jobs_runs.txt").read_text().split("\n"):
    if row.strip():
        name, rps, p99, non2xx = row.split()
        runs[name] = (float(rps), float(p99), int(non2xx))
base_rps = (runs["healthz_job_running"][0] + runs["healthz_job_running_again"][0]) / 2
base_p99 = max(runs["healthz_job_running"][1], runs["healthz_job_running_again"][1])
lines += ["", "Requests at 32 connections (baseline: /healthz while a job runs, mean of two runs)", ""]
lines.append(f"{'run':28} {'req/s':>10} {'p99 ms':>8} {'non-2xx':>9} {'rps ratio':>10} {'p99 ratio':>10}")
for name, (rps, p99, non2xx) in runs.items():
    lines.append(f"{name:28} {rps:10.0f} {p99:8.2f} {non2xx:9d} {rps / base_rps:10.2f} {p99 / base_p99:10.2f}")
text = "\n".join(lines)
(out / "jobs.txt").write_text(text + "\n")
print(text)
PY

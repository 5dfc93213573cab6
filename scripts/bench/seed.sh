#!/usr/bin/env bash
# Grows a console's database by ROWS rows behind every list, in plain SQL (100,000 rows a list in
# seconds), for the growth benchmark (scripts/bench/growth.sh) or to try the console at scale:
#
#   scripts/bench/seed.sh DATABASE ROWS OWNER
#
# DATABASE is the SQLite file (data/console.db) or a postgres:// URL of a migrated database;
# OWNER an existing username. Added: ROWS accounts (seed-user-N), ROWS applications of OWNER
# (seed-app-N), and one more, "seed-big", with ROWS versions and ROWS finished analyses; ROWS
# security events of OWNER; ROWS undelivered mails to OWNER. Every timestamp is OWNER's
# created_at; no archive is stored (seeded versions cannot be analysed).
set -euo pipefail

DATABASE=$1
ROWS=$2
OWNER=$3
[[ "$ROWS" =~ ^[0-9]+$ ]] || { echo "ROWS must be a number" >&2; exit 2; }
[[ "$OWNER" =~ ^[A-Za-z0-9._-]+$ ]] || { echo "OWNER must be a username" >&2; exit 2; }

# The numbers 1..ROWS, as a common table expression both databases read.
NUMBERS="WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < $ROWS)"
OWNER_ID="(SELECT id FROM users WHERE username = '$OWNER')"
AT="(SELECT created_at FROM users WHERE username = '$OWNER')"
REPORT='{"files":4,"lines":8,"code":6,"comments":1,"blanks":1,"bytes":76,"languages":[{"language":"Java","files":2,"lines":5,"code":4,"comments":1,"blanks":0,"bytes":40}],"largest_files":[{"path":"src/Main.java","bytes":30,"lines":3}]}'

SQL="
$NUMBERS
INSERT INTO users (username, name, role, password_hash, email, notifications, created_at,
                   session_epoch, must_change_password, email_verified)
SELECT 'seed-user-' || i, 'Seeded User ' || i, 'user', '!', 'seed' || i || '@example.com', false,
       $AT, 0, false, true FROM n;

$NUMBERS
INSERT INTO applications (name, owner_id, created_at)
SELECT 'seed-app-' || i, $OWNER_ID, $AT FROM n;

INSERT INTO applications (name, owner_id, created_at) VALUES ('seed-big', $OWNER_ID, $AT);

$NUMBERS
INSERT INTO versions (application_id, name, archive_format, archive_bytes, archive_sha256,
                      archive_key, created_by, created_at)
SELECT (SELECT id FROM applications WHERE name = 'seed-big' AND owner_id = $OWNER_ID),
       'v' || i, 'tar.gz', 76, '$(printf '0%.0s' $(seq 64))', 'seeded/' || i, $OWNER_ID, $AT FROM n;

$NUMBERS
INSERT INTO jobs (application_id, version_id, kind, status, progress, attempts, created_by,
                  created_at, started_at, finished_at, result)
SELECT (SELECT id FROM applications WHERE name = 'seed-big' AND owner_id = $OWNER_ID),
       (SELECT max(id) FROM versions), 'analyze', 'succeeded', 100, 1, $OWNER_ID, $AT, $AT, $AT,
       '$REPORT' FROM n;

$NUMBERS
INSERT INTO security_events (user_id, kind, at, ip, detail)
SELECT $OWNER_ID, 'sign_in_failed', $AT, '127.0.0.1', 'seeded ' || i FROM n;

$NUMBERS
INSERT INTO outbox (user_id, to_address, subject, text_body, html_body, unsubscribe_url, status,
                    attempts, next_attempt_at, last_error, created_at, kind)
SELECT $OWNER_ID, 'seed@example.com', 'Seeded mail ' || i, 'text', '<p>html</p>', 'http://localhost/',
       'failed', 8, $AT, 'Could not connect to the mail server', $AT, 'notification' FROM n;
"

case "$DATABASE" in
  postgres*) psql -q -v ON_ERROR_STOP=1 "$DATABASE" -c "BEGIN;" -c "$SQL" -c "COMMIT; ANALYZE;" ;;
  *)
    python3 - "$DATABASE" "$SQL" <<'PY'
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
db.executescript("BEGIN;" + sys.argv[2] + "COMMIT; ANALYZE;")
db.close()
PY
    ;;
esac

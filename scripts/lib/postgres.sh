# Sourced by scripts/test.sh: a throwaway PostgreSQL cluster on loopback (the newest installed
# version; Debian's `postgresql` package). `start_postgres DIR PORT` initialises DIR, starts the
# server and exports TEST_POSTGRES_URL; `stop_postgres DIR` stops it. Works as root without
# systemd (the server runs as `postgres`).

pg_bin() {
  ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true
}

start_postgres() {
  local dir=$1 port=$2
  PG_BIN=${PG_BIN:-$(pg_bin)}
  if [ -z "$PG_BIN" ]; then
    echo "PostgreSQL is not installed (scripts/setup.sh test installs it)" >&2
    return 1
  fi
  rm -rf "$dir" && mkdir -p "$dir"
  chown postgres:postgres "$dir"
  runuser -u postgres -- "$PG_BIN/initdb" -D "$dir/data" -U postgres --auth-local=trust \
    --auth-host=trust >"$dir/initdb.log" 2>&1 || { cat "$dir/initdb.log" >&2; return 1; }
  runuser -u postgres -- "$PG_BIN/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w \
    -o "-p $port -k /tmp -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=300" \
    start >/dev/null || { cat "$dir/server.log" >&2; return 1; }
  export TEST_POSTGRES_URL="postgres://postgres@127.0.0.1:$port/postgres"
}

stop_postgres() {
  local dir=$1
  PG_BIN=${PG_BIN:-$(pg_bin)}
  if [ -d "$dir/data" ]; then
    runuser -u postgres -- "$PG_BIN/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null 2>&1 || true
  fi
  rm -rf "$dir"
}

# Sourced by scripts/test.sh and the benchmarks: an S3-compatible store on loopback (moto's
# server from .venv, pinned in scripts/lib/test-requirements.txt). `start_s3 DIR PORT` starts it
# with a bucket `console-test` and exports what the console and its tests read: the standard
# AWS_* variables and TEST_ARCHIVE_S3; `stop_s3 DIR` stops it.

start_s3() {
  local dir=$1 port=$2
  rm -rf "$dir" && mkdir -p "$dir"
  .venv/bin/moto_server -H 127.0.0.1 -p "$port" >"$dir/server.log" 2>&1 &
  echo $! >"$dir/pid"
  export AWS_ENDPOINT="http://127.0.0.1:$port" AWS_ALLOW_HTTP=true AWS_REGION=us-east-1 \
    AWS_ACCESS_KEY_ID=console-test AWS_SECRET_ACCESS_KEY=console-test-secret
  export TEST_ARCHIVE_S3=s3://console-test
  local tries=0
  # moto creates a bucket on an unsigned PUT.
  until curl -sf -X PUT "$AWS_ENDPOINT/console-test" -o /dev/null; do
    tries=$((tries + 1))
    if [ "$tries" -ge 100 ] || ! kill -0 "$(cat "$dir/pid")" 2>/dev/null; then
      echo "the S3-compatible test store did not start:" >&2
      cat "$dir/server.log" >&2
      return 1
    fi
    sleep 0.1
  done
}

stop_s3() {
  local dir=$1
  if [ -f "$dir/pid" ]; then
    kill "$(cat "$dir/pid")" 2>/dev/null || true
  fi
  rm -rf "$dir"
}

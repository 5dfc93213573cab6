# Sourced by the bench scripts. `measure NAME PATH [wrk args…]` runs wrk (2 threads,
# 32 connections, $DURATION seconds) against $BASE$PATH, keeps the raw output in $OUT/NAME.wrk
# and prints "NAME requests_per_second p99_ms non_2xx".
measure() { # name, path, extra wrk args...
  local name=$1 path=$2; shift 2
  wrk -t2 -c32 -d"${DURATION}s" --latency "$@" "$BASE$path" >"$OUT/$name.wrk" 2>&1
  awk -v name="$name" '
    /Requests\/sec/ { rps = $2 }
    /^ +99%/ { p99 = $2 }
    /Non-2xx/ { non2xx = $NF }
    END {
      if (p99 ~ /us$/) { sub(/us$/, "", p99); p99 = p99 / 1000 }
      else if (p99 ~ /ms$/) { sub(/ms$/, "", p99) }
      else if (p99 ~ /s$/) { sub(/s$/, "", p99); p99 = p99 * 1000 }
      printf "%s %s %s %s\n", name, rps, p99, (non2xx == "" ? 0 : non2xx)
    }' "$OUT/$name.wrk"
}

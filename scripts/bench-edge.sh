#!/usr/bin/env bash
# Load-tests cache hits: the edge against a bare fasthttp handler that
# returns a fixed body of the same median size, in the same run, with wrk.
# The edge runs as its own process, as in a pod. The edge and the process
# serving the bare handler are pinned to CPU 1 and wrk to CPU 0; runs alternate
# between the two servers and repeat, and the medians are printed.
#
# Usage: scripts/bench-edge.sh [repeats] [seconds]
# EDGEBENCH_ARGS passes more flags to edgebench, for example
# EDGEBENCH_ARGS='-hot-mb 512' to keep every warmed page hot.
set -euo pipefail
cd "$(dirname "$0")/.."

repeats=${1:-4}
seconds=${2:-10}
data=${DATA:-../shared/data/wikipedia-movie-data}

if ! command -v wrk >/dev/null; then
  apt-get update -qq && apt-get install -y -qq wrk >/dev/null
fi

work=$(mktemp -d)
trap 'kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; rm -rf "$work"' EXIT

go build -o "$work/edgebench" ./cmd/edgebench
go build -o "$work/edge" ./cmd/edge
# shellcheck disable=SC2086
"$work/edgebench" -data "$data" -edge-binary "$work/edge" -out "$work/env" ${EDGEBENCH_ARGS:-} >"$work/edgebench.log" 2>&1 &
server=$!
for _ in $(seq 1 300); do
  grep -q '^ready' "$work/edgebench.log" 2>/dev/null && break
  kill -0 "$server" 2>/dev/null || { cat "$work/edgebench.log"; exit 1; }
  sleep 1
done
grep -q '^ready' "$work/edgebench.log" || { echo "edgebench not ready after 300 s"; cat "$work/edgebench.log"; exit 1; }
cat "$work/edgebench.log"
# shellcheck disable=SC1091
source "$work/env"
taskset -a -cp 1 "$PID" >/dev/null
taskset -a -cp 1 "$EDGE_PID" >/dev/null

cat >"$work/paths.lua" <<LUA
local paths = {}
for line in io.lines("$PATHS") do paths[#paths + 1] = line end
math.randomseed(42)
wrk.headers["X-API-Key"] = "$API_KEY"
request = function()
  return wrk.format("GET", paths[math.random(#paths)])
end
LUA

# run NAME URL CONNECTIONS prints "NAME CONNECTIONS RPS P99_MS".
run() {
  local out rps p99
  out=$(taskset -c 0 wrk -t1 -c"$3" -d"${seconds}s" --latency -s "$work/paths.lua" "$2")
  rps=$(awk '/^Requests\/sec/ {print $2}' <<<"$out")
  p99=$(awk '$1 == "99%" {v=$2; if (v ~ /us$/) {sub(/us$/,"",v); v/=1000} else if (v ~ /ms$/) {sub(/ms$/,"",v)} else if (v ~ /s$/) {sub(/s$/,"",v); v*=1000}; print v}' <<<"$out")
  echo "$1 $3 $rps $p99"
}

results="$work/results"
for i in $(seq 1 "$repeats"); do
  for c in 64 8; do
    run bare "$BARE_URL" "$c" | tee -a "$results"
    run edge "$EDGE_URL" "$c" | tee -a "$results"
  done
done

echo
echo "medians over $repeats runs of ${seconds}s (server pinned to CPU 1, wrk to CPU 0):"
for c in 64 8; do
  for name in bare edge; do
    rps=$(awk -v n="$name" -v c="$c" '$1==n && $2==c {print $3}' "$results" | sort -n | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}')
    p99=$(awk -v n="$name" -v c="$c" '$1==n && $2==c {print $4}' "$results" | sort -n | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}')
    printf '%s c=%s: %s requests/s, p99 %s ms\n' "$name" "$c" "$rps" "$p99"
  done
done

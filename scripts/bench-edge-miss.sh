#!/usr/bin/env bash
# Load-tests cache misses per query kind. One edge with a 1 MB cache, a
# process of its own as in a pod, sits in front of the origin and
# PostgreSQL. For each kind, wrk walks a file of
# distinct queries in order, so every request is a miss until the file's
# end. The edge's hit and miss counters are read before and after
# each run to show it. Runs alternate between the kinds and repeat; the
# medians are printed. Nothing is pinned: the edge, the origin, PostgreSQL
# and wrk share both cores.
#
# Usage: scripts/bench-edge-miss.sh [repeats] [seconds] [connections]
# EDGEBENCH_ARGS passes more flags to edgebench, for example
# "-database-dir DIR/generated" to use the generated million movies of a
# kept cmd/searchbench folder instead of loading the data set.
set -euo pipefail
cd "$(dirname "$0")/.."

repeats=${1:-3}
seconds=${2:-10}
connections=${3:-8}
data=${DATA:-../shared/data/wikipedia-movie-data}

if ! command -v wrk >/dev/null; then
  apt-get update -qq && apt-get install -y -qq wrk >/dev/null
fi

work=$(mktemp -d)
trap 'kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; rm -rf "$work"' EXIT

go build -o "$work/edgebench" ./cmd/edgebench
go build -o "$work/edge" ./cmd/edge
# shellcheck disable=SC2086
"$work/edgebench" -mode misses -data "$data" -edge-binary "$work/edge" -out "$work/env" ${EDGEBENCH_ARGS:-} >"$work/edgebench.log" 2>&1 &
server=$!
for _ in $(seq 1 300); do
  grep -q '^ready' "$work/edgebench.log" 2>/dev/null && break
  kill -0 "$server" 2>/dev/null || { cat "$work/edgebench.log"; exit 1; }
  sleep 1
done
grep -q '^ready' "$work/edgebench.log" || { echo "edgebench not ready after 300 s"; cat "$work/edgebench.log"; exit 1; }
cat "$work/edgebench.log"
# shellcheck disable=SC1090
source "$work/env"

# Each kind's script walks its file from a different start on every run,
# so a repeated run sends queries the edge has not cached since.
for kind in $KINDS; do
  var="PATHS_${kind//-/_}"
  cat >"$work/$kind.lua" <<LUA
local paths = {}
for line in io.lines("${!var}") do paths[#paths + 1] = line end
local i = tonumber(os.getenv("START") or "0") % #paths
wrk.headers["X-API-Key"] = "$API_KEY"
request = function()
  i = i % #paths + 1
  return wrk.format("GET", paths[i])
end
LUA
done

# counter NAME prints the edge's counter NAME.
counter() {
  curl -s "$EDGE_URL/metrics" | awk -v n="$1" '$1 ~ "^"n"({|$)" {print $2}'
}

# to_ms VALUE converts wrk's latency figure (us, ms or s) to milliseconds.
to_ms() {
  awk -v v="$1" 'BEGIN { if (v ~ /us$/) {sub(/us$/,"",v); v/=1000} else if (v ~ /ms$/) {sub(/ms$/,"",v)} else if (v ~ /s$/) {sub(/s$/,"",v); v*=1000}; print v }'
}

results="$work/results"
for i in $(seq 1 "$repeats"); do
  for kind in $KINDS; do
    hits=$(counter edge_cache_hits_total)
    misses=$(counter edge_cache_misses_total)
    out=$(START=$((i * 100003)) wrk -t1 -c"$connections" -d"${seconds}s" --latency -s "$work/$kind.lua" "$EDGE_URL")
    hits=$(awk -v a="$hits" -v b="$(counter edge_cache_hits_total)" 'BEGIN {print b - a}')
    misses=$(awk -v a="$misses" -v b="$(counter edge_cache_misses_total)" 'BEGIN {print b - a}')
    rps=$(awk '/^Requests\/sec/ {print $2}' <<<"$out")
    p50=$(to_ms "$(awk '$1 == "50%" {print $2}' <<<"$out")")
    p99=$(to_ms "$(awk '$1 == "99%" {print $2}' <<<"$out")")
    non2xx=$(awk '/Non-2xx/ {print $NF}' <<<"$out")
    echo "$kind $rps $p50 $p99 $misses $hits ${non2xx:-0}" | tee -a "$results"
  done
done

median() {
  sort -n | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'
}

echo
echo "medians over $repeats runs of ${seconds}s at $connections connections (load average: $(cut -d' ' -f1-3 /proc/loadavg)):"
printf '%-12s %10s %8s %8s %10s %6s %8s\n' kind requests/s p50_ms p99_ms misses hits non-2xx
for kind in $KINDS; do
  col() { awk -v k="$kind" -v c="$1" '$1==k {print $c}' "$results" | median; }
  sum() { awk -v k="$kind" -v c="$1" '$1==k {s+=$c} END {print s}' "$results"; }
  printf '%-12s %10s %8s %8s %10s %6s %8s\n' "$kind" "$(col 2)" "$(col 3)" "$(col 4)" "$(sum 5)" "$(sum 6)" "$(sum 7)"
done

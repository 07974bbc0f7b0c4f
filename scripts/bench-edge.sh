#!/usr/bin/env bash
# Load-tests cache hits: the edge against a bare fasthttp handler that
# returns a fixed body of the same median size, in the same run, with wrk.
# The edge runs as its own process, as in a pod. The edge and the process
# serving the bare handler are pinned to CPU 1 and wrk to CPU 0; runs alternate
# between the two servers and repeat, and the medians are printed.
#
# Two kinds of run:
#   - saturated: every connection sends its next request as soon as the
#     response arrives, so the figures are the server's ceiling, and the
#     latency is mostly the queue of requests in flight;
#   - paced: at 64 connections, each connection waits a random 0 to 2*PAUSE
#     ms after each response. The servers then see a steady rate well below
#     their ceiling (about 10,000 and 20,000 requests/s for pauses of 6 and
#     3 ms), and the latency is that of one request. The random pause keeps
#     the connections from sending in step.
#
# Usage: scripts/bench-edge.sh [repeats] [seconds] [pauses in ms, default "6 3"]
# EDGEBENCH_ARGS passes more flags to edgebench, for example
# EDGEBENCH_ARGS='-hot-mb 512' to keep every warmed page hot.
set -euo pipefail
cd "$(dirname "$0")/.."

repeats=${1:-4}
seconds=${2:-10}
pauses=${3:-6 3}
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
cp "$work/paths.lua" "$work/paced.lua"
cat >>"$work/paced.lua" <<'LUA'
local pause = tonumber(os.getenv("PAUSE_MS"))
delay = function()
  return math.random(0, 2 * pause)
end
LUA

# to_ms converts a wrk latency such as 850.00us, 1.2ms or 2.1s to ms.
to_ms() {
  awk -v v="$1" 'BEGIN { if (v ~ /us$/) {sub(/us$/,"",v); v/=1000} else if (v ~ /ms$/) {sub(/ms$/,"",v)} else if (v ~ /s$/) {sub(/s$/,"",v); v*=1000}; print v }'
}

# wrk_run URL CONNECTIONS SCRIPT prints "RPS P50_MS P99_MS NON_2XX".
wrk_run() {
  local out rps p50 p99 non2xx
  out=$(taskset -c 0 wrk -t1 -c"$2" -d"${seconds}s" --latency -s "$3" "$1")
  rps=$(awk '/^Requests\/sec/ {print $2}' <<<"$out")
  p50=$(to_ms "$(awk '$1 == "50%" {print $2}' <<<"$out")")
  p99=$(to_ms "$(awk '$1 == "99%" {print $2}' <<<"$out")")
  non2xx=$(awk '/Non-2xx/ {print $NF}' <<<"$out")
  echo "$rps $p50 $p99 ${non2xx:-0}"
}

# run NAME URL CONNECTIONS prints "NAME CONNECTIONS RPS P50_MS P99_MS NON_2XX"
# of a saturated run.
run() {
  echo "$1 $3 $(wrk_run "$2" "$3" "$work/paths.lua")"
}

# paced NAME URL PAUSE prints "NAME pPAUSE RPS P50_MS P99_MS NON_2XX" of a
# paced run at 64 connections.
paced() {
  echo "$1 p$3 $(PAUSE_MS=$3 wrk_run "$2" 64 "$work/paced.lua")"
}

results="$work/results"
for i in $(seq 1 "$repeats"); do
  for c in 64 8; do
    run bare "$BARE_URL" "$c" | tee -a "$results"
    run edge "$EDGE_URL" "$c" | tee -a "$results"
  done
  for pause in $pauses; do
    paced bare "$BARE_URL" "$pause" | tee -a "$results"
    paced edge "$EDGE_URL" "$pause" | tee -a "$results"
  done
done

# median NAME RUN COLUMN prints the median of COLUMN over the runs of NAME
# and RUN (a connection count, or p and a pause).
median() {
  awk -v n="$1" -v r="$2" -v k="$3" '$1==n && $2==r {print $k}' "$results" | sort -n |
    awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'
}

# failed NAME RUN prints the number of responses other than 2xx or 3xx in those runs.
failed() {
  awk -v n="$1" -v r="$2" '$1==n && $2==r {s += $6} END {print s + 0}' "$results"
}

echo
echo "medians over $repeats runs of ${seconds}s (server pinned to CPU 1, wrk to CPU 0):"
echo "saturated:"
for c in 64 8; do
  for name in bare edge; do
    printf '%s c=%s: %s requests/s, p50 %s ms, p99 %s ms, %s failed\n' "$name" "$c" "$(median $name "$c" 3)" "$(median $name "$c" 4)" "$(median $name "$c" 5)" "$(failed $name "$c")"
  done
done
echo "paced, 64 connections:"
for pause in $pauses; do
  for name in bare edge; do
    printf '%s pause %s ms: %s requests/s, p50 %s ms, p99 %s ms, %s failed\n' "$name" "$pause" "$(median $name "p$pause" 3)" "$(median $name "p$pause" 4)" "$(median $name "p$pause" 5)" "$(failed $name "p$pause")"
  done
done

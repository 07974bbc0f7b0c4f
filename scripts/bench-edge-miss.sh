#!/usr/bin/env bash
# Load-tests cache misses per query kind. One edge with a 1 MB cache, a
# process of its own as in a pod, sits in front of the origin and
# PostgreSQL. For each kind, the load tools walk a file of distinct
# queries in order, so every request is a miss until the file's end. The
# edge's hit and miss counters are read before and after each run to show
# it. Each kind gets two runs at 8 connections:
#
#   - saturated: wrk keeps every connection busy, so the figures are the
#     chain's throughput and the queueing at that throughput;
#   - fixed rate: vegeta offers a fixed number of requests a second with at
#     most as many requests in flight as connections, so the figures are
#     the latency a client sees below saturation.
#
# Runs alternate between the kinds and repeat; the medians are printed.
# Nothing is pinned: the edge, the origin, PostgreSQL and the load tool
# share both cores. Each run also reports the CPU time the hypervisor took
# from the machine (steal), over the run and in its worst 100 ms. On a
# shared virtual machine, bursts of steal stall every process at once, and
# they can decide the p99 of a fixed-rate run.
#
# Usage: scripts/bench-edge-miss.sh [repeats] [seconds] [connections] [rate]
# EDGEBENCH_ARGS passes more flags to edgebench, for example
# "-database-dir DIR/generated" to use the generated million movies of a
# kept cmd/searchbench folder instead of loading the data set.
# ACCEPT_GZIP=1 makes every request accept gzip, so that each miss also
# compresses its response.
set -euo pipefail
cd "$(dirname "$0")/.."

repeats=${1:-3}
seconds=${2:-10}
connections=${3:-8}
rate=${4:-500}
encoding=identity
if [ "${ACCEPT_GZIP:-0}" = 1 ]; then
  encoding=gzip
fi
data=${DATA:-../shared/data/wikipedia-movie-data}

if ! command -v wrk >/dev/null; then
  apt-get update -qq && apt-get install -y -qq wrk >/dev/null
fi
vegeta=bin/vegeta
if [ ! -x "$vegeta" ]; then
  GOBIN="$PWD/bin" go install github.com/tsenart/vegeta/v12@v12.13.0
fi

work=$(mktemp -d)
sampler=
trap 'kill $sampler "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; rm -rf "$work"' EXIT

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

# Each kind's wrk script walks its file from a different start on every
# run, so a repeated run sends queries the edge has not cached since.
for kind in $KINDS; do
  var="PATHS_${kind//-/_}"
  cat >"$work/$kind.lua" <<LUA
local paths = {}
for line in io.lines("${!var}") do paths[#paths + 1] = line end
local i = tonumber(os.getenv("START") or "0") % #paths
wrk.headers["X-API-Key"] = "$API_KEY"
wrk.headers["Accept-Encoding"] = "$encoding"
request = function()
  i = i % #paths + 1
  return wrk.format("GET", paths[i])
end
LUA
done

# targets KIND START writes vegeta targets for KIND's file, from line START
# on, going round the file as often as a run at the fixed rate needs.
targets() {
  local var="PATHS_${1//-/_}"
  awk -v url="$EDGE_URL" -v start="$2" -v n=$((rate * seconds + 1000)) '{line[NR] = $0} END {for (k = 0; k < n; k++) print "GET " url line[(start + k) % NR + 1]}' "${!var}" >"$work/targets"
}

# counter NAME [URL] prints the counter NAME of the server at URL, by
# default the edge.
counter() {
  curl -s "${2:-$EDGE_URL}/metrics" | awk -v n="$1" '$1 ~ "^"n"({|$)" {s += $2} END {print s + 0}'
}

# to_ms VALUE converts a latency figure (us, µs, ms or s) to milliseconds.
to_ms() {
  awk -v v="$1" 'BEGIN { if (v ~ /(us|µs)$/) {sub(/(us|µs)$/,"",v); v/=1000} else if (v ~ /ms$/) {sub(/ms$/,"",v)} else if (v ~ /s$/) {sub(/s$/,"",v); v*=1000}; print v }'
}

# saturated KIND START prints "requests/s p50 p99 non-2xx" of a wrk run.
saturated() {
  local out rps p50 p99 non2xx
  out=$(START=$2 wrk -t1 -c"$connections" -d"${seconds}s" --latency -s "$work/$1.lua" "$EDGE_URL")
  rps=$(awk '/^Requests\/sec/ {print $2}' <<<"$out")
  p50=$(to_ms "$(awk '$1 == "50%" {print $2}' <<<"$out")")
  p99=$(to_ms "$(awk '$1 == "99%" {print $2}' <<<"$out")")
  non2xx=$(awk '/Non-2xx/ {print $NF}' <<<"$out")
  echo "$rps $p50 $p99 ${non2xx:-0}"
}

# fixed KIND START prints "p50 p99 failed" of a vegeta run at the fixed rate.
fixed() {
  local out p50 p99 failed
  targets "$1" "$2"
  out=$("$vegeta" attack -lazy -targets "$work/targets" -header "X-API-Key: $API_KEY" -header "Accept-Encoding: $encoding" -rate "$rate/s" \
    -duration "${seconds}s" -workers "$connections" -max-workers "$connections" -connections "$connections" |
    "$vegeta" report -type json)
  p50=$(grep -o '"50th":[0-9]*' <<<"$out" | cut -d: -f2)
  p99=$(grep -o '"99th":[0-9]*' <<<"$out" | cut -d: -f2)
  failed=$(grep -o '"status_codes":{[^}]*}' <<<"$out" | grep -o '"[0-9]*":[0-9]*' | awk -F'[":]+' '$2 != 200 {s += $3} END {print s + 0}')
  awk -v a="$p50" -v b="$p99" -v f="$failed" 'BEGIN {printf "%.2f %.2f %d\n", a / 1e6, b / 1e6, f}'
}

# stolen_start samples the cpu line of /proc/stat every 100 ms. On a
# virtual machine its steal column is the time the hypervisor gave this
# machine's CPUs to others, which stalls every process at once.
stolen_start() {
  (while :; do head -1 /proc/stat; sleep 0.1; done) >"$work/stat" &
  sampler=$!
}

# stolen_stop ends the sampling and prints the percentage of CPU time
# stolen over the run and in its worst 100 ms sample.
stolen_stop() {
  kill "$sampler"
  wait "$sampler" 2>/dev/null || true
  sampler=
  awk '{total = 0; for (i = 2; i <= 9; i++) total += $i; steal = $9}
    NR == 1 {first_total = total; first_steal = steal}
    NR > 1 && total > last_total {share = (steal - last_steal) / (total - last_total); if (share > worst) worst = share}
    {last_total = total; last_steal = steal}
    END {printf "%.1f %.1f\n", 100 * (steal - first_steal) / (total - first_total), 100 * worst}' "$work/stat"
}

# increase NAME [URL] BEFORE prints how much counter NAME grew since BEFORE.
increase() {
  awk -v a="$3" -v b="$(counter "$1" "$2")" 'BEGIN {print b - a}'
}

# measure KIND START prints the run's figures, the edge's misses and hits
# during it, the CPU time stolen during it, and the documents the origin
# took from its document cache and from PostgreSQL.
measure() {
  local hits misses cached fetched figures
  hits=$(counter edge_cache_hits_total)
  misses=$(counter edge_cache_misses_total)
  cached=$(counter origin_document_cache_hits_total "$ORIGIN_URL")
  fetched=$(counter origin_document_cache_misses_total "$ORIGIN_URL")
  stolen_start
  figures=$("${@:3}" "$1" "$2")
  stolen=$(stolen_stop)
  hits=$(increase edge_cache_hits_total "" "$hits")
  misses=$(increase edge_cache_misses_total "" "$misses")
  cached=$(increase origin_document_cache_hits_total "$ORIGIN_URL" "$cached")
  fetched=$(increase origin_document_cache_misses_total "$ORIGIN_URL" "$fetched")
  echo "$figures $misses $hits $stolen $cached $fetched"
}

results="$work/results"
for i in $(seq 1 "$repeats"); do
  for kind in $KINDS; do
    echo "saturated $kind $(measure "$kind" $((i * 100003)) saturated)" | tee -a "$results"
    echo "fixed $kind $(measure "$kind" $((i * 100003 + 50021)) fixed)" | tee -a "$results"
  done
done

median() {
  sort -n | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'
}
col() { awk -v r="$1" -v k="$2" -v c="$3" '$1==r && $2==k {print $c}' "$results" | median; }
sum() { awk -v r="$1" -v k="$2" -v c="$3" '$1==r && $2==k {s+=$c} END {print s}' "$results"; }
most() { awk -v r="$1" -v k="$2" -v c="$3" '$1==r && $2==k && $c>m {m=$c} END {print m+0}' "$results"; }
# share RUN KIND C prints column C's share of the sum of columns C and C+1
# over the kind's runs, in percent, or "-" when both are zero.
share() { awk -v r="$1" -v k="$2" -v c="$3" '$1==r && $2==k {a+=$c; b+=$(c+1)} END {if (a+b) printf "%.1f\n", 100*a/(a+b); else print "-"}' "$results"; }

echo
echo "medians over $repeats runs of ${seconds}s at $connections connections, Accept-Encoding: $encoding (load average: $(cut -d' ' -f1-3 /proc/loadavg))"
echo "stolen_%: median share of CPU time the hypervisor took during a run; worst_%: largest share in one 100 ms sample of any run"
echo "doc_cached_%: share of the pages' documents the origin took from its document cache rather than PostgreSQL"
echo "saturated (wrk):"
printf '%-12s %10s %8s %8s %10s %6s %8s %9s %7s %12s\n' kind requests/s p50_ms p99_ms misses hits non-2xx stolen_% worst_% doc_cached_%
for kind in $KINDS; do
  printf '%-12s %10s %8s %8s %10s %6s %8s %9s %7s %12s\n' "$kind" "$(col saturated "$kind" 3)" "$(col saturated "$kind" 4)" "$(col saturated "$kind" 5)" "$(sum saturated "$kind" 7)" "$(sum saturated "$kind" 8)" "$(sum saturated "$kind" 6)" "$(col saturated "$kind" 9)" "$(most saturated "$kind" 10)" "$(share saturated "$kind" 11)"
done
echo "fixed rate of $rate requests/s (vegeta):"
printf '%-12s %8s %8s %10s %6s %8s %9s %7s %12s\n' kind p50_ms p99_ms misses hits non-2xx stolen_% worst_% doc_cached_%
for kind in $KINDS; do
  printf '%-12s %8s %8s %10s %6s %8s %9s %7s %12s\n' "$kind" "$(col fixed "$kind" 3)" "$(col fixed "$kind" 4)" "$(sum fixed "$kind" 6)" "$(sum fixed "$kind" 7)" "$(sum fixed "$kind" 5)" "$(col fixed "$kind" 8)" "$(most fixed "$kind" 9)" "$(share fixed "$kind" 10)"
done

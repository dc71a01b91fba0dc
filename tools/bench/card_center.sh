#!/usr/bin/env bash
# The card center's figures (issue 6), measured end to end with the release
# binaries: wattd with the demo campus serves its card-center endpoint over
# mutual TLS on loopback, and tools/card-center-sim drives it from CLIENTS
# connections: first TRADES durable deposits (no faults injected; each call
# waits for its synced commit), then balance queries for SECONDS, one call
# at a time per connection and then 16 in flight (Cap'n Proto pipelines them).
#
#   tools/bench/card_center.sh [CLIENTS] [TRADES] [SECONDS] [QUERY_CLIENTS]
#
# Defaults: 50 clients, 50,000 deposits, 10 s of balance queries. Targets:
# >= 5,000 deposits/s with p99 <= 50 ms, >= 50,000 balance queries/s.
# Build first: cmake --build --preset release (or set WL_BENCH_BIN to another
# build's tools directory, e.g. build/dev/tools: RelWithDebInfo, for perf).
set -euo pipefail
cd "$(dirname "$0")/../.."
clients=${1:-50}
trades=${2:-50000}
seconds=${3:-10}
query_clients=${4:-$clients}
bin=${WL_BENCH_BIN:-build/release/tools}
work=$(mktemp -d /tmp/card-center-bench.XXXXXX)
data=$work/data
wattd=""
cleanup() { [ -n "$wattd" ] && kill -TERM "$wattd" 2>/dev/null; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT

"$bin/wattctl" init --data "$data" >/dev/null
"$bin/wattctl" tls-init --out "$data/tls" >/dev/null
tls=(--tls_ca "$data/tls/ca.pem" --tls_cert "$data/tls/client.pem" --tls_key "$data/tls/client.key")
"$bin/wattd" --data "$data" --ingest=false --rpc_listen 127.0.0.1:0 --http_listen 127.0.0.1:0 \
  --card_center_listen 127.0.0.1:0 --card_center_tls_cert "$data/tls/server.pem" \
  --card_center_tls_key "$data/tls/server.key" --card_center_client_ca "$data/tls/ca.pem" \
  2>"$work/wattd.log" &
wattd=$!
for _ in $(seq 100); do
  grep -q card_center_listening "$work/wattd.log" 2>/dev/null && break
  sleep 0.1
done
rpc=$(grep -o '"rpc_listening","address":"[^"]*"' "$work/wattd.log" | cut -d'"' -f6)
card=$(grep -o '"card_center_listening","address":"[^"]*"' "$work/wattd.log" | cut -d'"' -f6)
"$bin/wattctl" seed-demo --data "$data" --server "$rpc" >/dev/null

# wattd's own CPU time (user + system, in clock ticks) so far, to report
# its cost per call apart from the client's on this shared machine.
cpu_ticks() { awk '{print $14 + $15}' "/proc/$wattd/stat"; }
hz=$(getconf CLK_TCK)
report_cpu() { # $1: ticks at the start of the phase
  echo "wattd CPU in that phase: $(awk -v t="$(( $(cpu_ticks) - $1 ))" -v hz="$hz" 'BEGIN{printf "%.2f", t/hz}') s" >&2
}

echo "deposits: $clients clients, $trades trades, durable" >&2
start=$(cpu_ticks)
"$bin/card-center-sim" run --server "$card" "${tls[@]}" --key "$data/keys/card-center.pem" \
  --clients "$clients" --trades "$trades" --cut_percent 0 --reverse_percent 0 --early_percent 0
report_cpu "$start"
echo "balance queries: $query_clients clients, ${seconds}s, one call at a time" >&2
start=$(cpu_ticks)
"$bin/card-center-sim" bench-balance --server "$card" "${tls[@]}" --clients "$query_clients" \
  --seconds "$seconds"
report_cpu "$start"
echo "balance queries: $query_clients clients, ${seconds}s, 16 calls in flight per connection" >&2
start=$(cpu_ticks)
"$bin/card-center-sim" bench-balance --server "$card" "${tls[@]}" --clients "$query_clients" \
  --seconds "$seconds" --in_flight 16
report_cpu "$start"

#!/usr/bin/env bash
# The meter side's figures (issue 4), measured end to end with the release
# binaries: one wattd polls a generated building of meter-sim collectors (all
# in client mode, 128 meters each), and this prints wattd's average CPU and
# the readings it appended per second.
#
#   tools/bench/meter_side.sh [GATEWAYS] [SWEEP_SECONDS] [DURATION_SECONDS]
#
# Defaults: 157 gateways (20,096 meters), a sweep every 60 s, 180 s measured:
# the poll-load figure (target: wattd under 50% of one core). With
# SWEEP_SECONDS 1 every gateway sweeps back to back, as fast as the
# simulator answers: the ingest-throughput figure (decode -> signed batch ->
# durable append -> deductions). Build first: cmake --build --preset release.
set -euo pipefail
cd "$(dirname "$0")/../.."
gateways=${1:-157}
sweep=${2:-60}
duration=${3:-180}
bin=build/release/tools
work=$(mktemp -d /tmp/meter-side-bench.XXXXXX)
data=$work/data
pids=()
cleanup() { kill -TERM "${pids[@]}" 2>/dev/null || true; wait 2>/dev/null || true; }
trap cleanup EXIT

wait_line() {  # FILE PATTERN
  for _ in $(seq 600); do
    line=$(grep -m1 "$2" "$1" 2>/dev/null || true)
    [ -n "$line" ] && { echo "$line"; return; }
    sleep 0.1
  done
  echo "timed out waiting for $2 in $1" >&2; exit 1
}

"$bin/wattctl" init --data "$data" > /dev/null
"$bin/wattd" --data "$data" --rpc-listen 127.0.0.1:0 --http-listen 127.0.0.1:0 --collector_listen 127.0.0.1:0 \
  --sweep_seconds "$sweep" --ingest_stats_seconds 5 2> "$work/wattd.log" &
wattd=$!
pids+=("$wattd")
server=$(wait_line "$work/wattd.log" rpc_listening | sed 's/.*"address":"\([^"]*\)".*/\1/')

# Keys for an operator and the ingest service, a building and a tariff.
for role in operator ingest; do
  "$bin/wattctl" keygen --out "$data/keys/$role.pem" > /dev/null
  "$bin/wattctl" key register --server "$server" --key "$data/keys/admin.pem" \
    --public-key "$data/keys/$role.pub" --role "$role" > /dev/null
done
op=(--server "$server" --key "$data/keys/operator.pem")
"$bin/wattctl" building add "${op[@]}" --id B01 --name "Bench" > /dev/null
"$bin/wattctl" tariff set "${op[@]}" --identity staff --tiers 0:0.5880 > /dev/null
collectors=$(wait_line "$work/wattd.log" ingest_started | sed 's/.*"collector_listening":"\([^"]*\)".*/\1/')

# The simulator's layout, as an import CSV, one import per gateway.
"$bin/meter-sim" --gateways "$gateways" --meters-per-gateway 128 --generated-mode client \
  --master "$collectors" --export-meters "$work/meters.csv" > "$work/export.log" 2>&1 &
export_pid=$!
wait_line "$work/export.log" '"ready"' > /dev/null
kill -TERM $export_pid; wait $export_pid 2>/dev/null || true
for g in $(seq "$gateways"); do
  printf 'gateway_id,address,location,mode\nG%d,G%d,bench,client\n' "$g" "$g" > "$work/g.csv"
  { echo "room_id,building_id,floor,number,capacity,tariff_class"
    awk -F, -v g="G$g" '$2 == g { print $3 ",B01,1," $3 ",4,staff" }' "$work/meters.csv"; } > "$work/r.csv"
  { head -1 "$work/meters.csv"; awk -F, -v g="G$g" '$2 == g' "$work/meters.csv"; } > "$work/m.csv"
  "$bin/wattctl" import "${op[@]}" --gateways "$work/g.csv" --rooms "$work/r.csv" \
    --meters "$work/m.csv" > /dev/null
done

"$bin/meter-sim" --gateways "$gateways" --meters-per-gateway 128 --generated-mode client \
  --master "$collectors" --threads 2 > "$work/sim.log" 2>&1 &
pids+=($!)
# Until every gateway is online and has swept once.
for _ in $(seq 1200); do
  stats=$(grep '"ingest_stats"' "$work/wattd.log" | tail -1 || true)
  online=$(echo "$stats" | sed -n 's/.*gatewaysOnline\\":\([0-9]*\).*/\1/p')
  swept=$(echo "$stats" | sed -n 's/.*sweeps\\":\([0-9]*\).*/\1/p')
  [ "${online:-0}" -ge "$gateways" ] && [ "${swept:-0}" -ge "$gateways" ] && break
  sleep 0.5
done

ticks() { awk '{ print $14 + $15 }' "/proc/$wattd/stat"; }
readings() { grep '"ingest_stats"' "$work/wattd.log" | tail -1 | sed -n 's/.*readings\\":\([0-9]*\).*/\1/p'; }
hz=$(getconf CLK_TCK)
t0=$(ticks); r0=$(readings); s0=$(date +%s.%N)
sleep "$duration"
t1=$(ticks); r1=$(readings); s1=$(date +%s.%N)
awk -v t0="$t0" -v t1="$t1" -v r0="$r0" -v r1="$r1" -v s0="$s0" -v s1="$s1" -v hz="$hz" \
    -v g="$gateways" -v sweep="$sweep" 'BEGIN {
  wall = s1 - s0;
  printf("{\"gateways\":%d,\"meters\":%d,\"sweepSeconds\":%d,\"seconds\":%.1f,\"wattdCpuPercentOfOneCore\":%.1f,\"readingsPerSecond\":%.0f}\n",
         g, g * 128, sweep, wall, 100 * (t1 - t0) / hz / wall, (r1 - r0) / wall) }'
"$bin/wattctl" verify --data "$data" | tail -1

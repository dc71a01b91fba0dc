#!/usr/bin/env bash
# The web API's figure (issue 7): room-balance queries over HTTP/1.1 with
# keep-alive, measured by wrk on loopback while the simulated building keeps
# ingesting. wattd runs the demo campus with its meter side (a sweep every
# SWEEP seconds) and meter-sim's 256 meters behind it; an operator logs in
# once, and wrk asks GET /api/rooms/{room}/balance over CONNECTIONS
# connections for SECONDS, each request a different room.
#
#   tools/bench/web.sh [CONNECTIONS] [SECONDS] [SWEEP]
#
# Defaults: 50 connections, 10 s, a sweep every 5 s. Target: >= 10,000
# queries/s with p99 <= 20 ms. Needs wrk (apt-get install wrk). Build first:
# cmake --build --preset release (or set WL_BENCH_BIN, e.g. build/dev/tools).
set -euo pipefail
cd "$(dirname "$0")/../.."
connections=${1:-50}
seconds=${2:-10}
sweep=${3:-5}
bin=${WL_BENCH_BIN:-build/release/tools}
command -v wrk >/dev/null || { echo "web.sh needs wrk: apt-get install wrk" >&2; exit 2; }
work=$(mktemp -d /tmp/web-bench.XXXXXX)
data=$work/data
pids=()
cleanup() { kill -TERM "${pids[@]}" 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT

wait_field() {  # FILE EVENT FIELD
  for _ in $(seq 300); do
    line=$(grep -m1 "\"$2\"" "$1" 2>/dev/null || true)
    [ -n "$line" ] && { echo "$line" | sed "s/.*\"$3\":\"\\([^\"]*\\)\".*/\\1/"; return; }
    sleep 0.1
  done
  echo "timed out waiting for $2 in $1" >&2; exit 1
}
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

"$bin/wattctl" init --data "$data" >/dev/null
g1="127.0.0.1:$(free_port)"
"$bin/wattd" --data "$data" --rpc_listen 127.0.0.1:0 --http_listen 127.0.0.1:0 \
  --collector_listen 127.0.0.1:0 --sweep_seconds "$sweep" 2>"$work/wattd.log" &
pids+=($!)
rpc=$(wait_field "$work/wattd.log" rpc_listening address)
http=$(wait_field "$work/wattd.log" http_listening address)
password=$(wait_field "$work/wattd.log" web_first_admin password)
"$bin/wattctl" seed-demo --data "$data" --server "$rpc" --g1_address "$g1" >/dev/null
collectors=$(wait_field "$work/wattd.log" ingest_started collector_listening)
"$bin/meter-sim" --demo --demo_g1 "$g1" --master "$collectors" >"$work/meter-sim.log" 2>&1 &
pids+=($!)
sleep "$sweep"  # one sweep in, the building is ingesting

cookie=$(curl -s -D - -o /dev/null -H 'Content-Type: application/json' \
  -d "{\"username\":\"admin\",\"password\":\"$password\"}" "http://$http/api/login" |
  sed -n 's/^[Ss]et-[Cc]ookie: \(wl_session=[^;]*\).*/\1/p')
[ -n "$cookie" ] || { echo "login failed" >&2; exit 1; }
cat >"$work/rooms.lua" <<LUA
-- Each request asks for another room of the demo building (B01-101..B01-932).
local n = 0
request = function()
  n = n + 1
  local room = string.format("B01-%d%02d", (n % 8) + 1, (n % 32) + 1)
  return wrk.format("GET", "/api/rooms/" .. room .. "/balance", { ["Cookie"] = "$cookie" })
end
LUA
head_seq() { curl -s "http://$http/metrics" | sed -n 's/^wattledger_head_seq //p'; }
seq_before=$(head_seq)
before=$(awk '{print $14 + $15}' "/proc/${pids[0]}/stat")
echo "room-balance queries: $connections connections, ${seconds}s, keep-alive, ingesting" >&2
wrk -t2 -c"$connections" -d"${seconds}s" --latency -s "$work/rooms.lua" "http://$http" |
  grep -E "Requests/sec|Latency|50%|99%|requests in|Non-2xx"
after=$(awk '{print $14 + $15}' "/proc/${pids[0]}/stat")
echo "events appended meanwhile (readings, deductions): $(($(head_seq) - seq_before))" >&2
echo "wattd CPU in that time: $(awk -v t="$((after - before))" -v hz="$(getconf CLK_TCK)" 'BEGIN{printf "%.2f", t/hz}') s" >&2

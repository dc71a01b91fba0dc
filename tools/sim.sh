#!/usr/bin/env bash
# Sends one command to the running demo simulator's control port
# (tools/run.sh starts meter-sim with --control 127.0.0.1:9609) and prints
# its JSON reply. Commands: tools/meter-sim/README.md, e.g.
#   tools/sim.sh load 000000010001 1500      a 1.5 kW resistive load (a heater)
#   tools/sim.sh load 000000010001 profile   back to the room's own load
#   tools/sim.sh drop-commands G1 on         collector G1 loses every command
set -euo pipefail
[ $# -gt 0 ] || { sed -n '2,8p' "$0" >&2; exit 2; }
exec 3<>"/dev/tcp/${SIM_CONTROL_HOST:-127.0.0.1}/${SIM_CONTROL_PORT:-9609}"
echo "$*" >&3
head -1 <&3

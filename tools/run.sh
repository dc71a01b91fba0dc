#!/usr/bin/env bash
# Quick start, step 1: install what is missing, build, initialise ./data on
# the first run (ledger key, first admin key), and start wattd on it.
# Extra arguments go to wattd (e.g. --rpc_listen 127.0.0.1:7700).
set -euo pipefail
cd "$(dirname "$0")/.."
tools/install-deps.sh
cmake --preset release >/dev/null
cmake --build --preset release
if [ ! -f data/ledger/CURRENT ]; then
  build/release/tools/wattctl init --data data
fi
echo "wattd: data in ./data; try: build/release/tools/wattctl log --data data (Ctrl-C stops)"
exec build/release/tools/wattd --data data "$@"

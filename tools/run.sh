#!/usr/bin/env bash
# Quick start, step 1: install what is missing, build, initialise ./data on
# the first run (ledger key, first admin key), start wattd on it, seed the
# demo campus (one building, 256 rooms behind 2 gateways x 128 meters,
# tariffs, occupants, first deposits; running it again changes nothing), and
# start the simulated building behind it: collector G1 listening on
# 127.0.0.1:9601 (server mode) and G2 connecting to wattd's 127.0.0.1:9700
# (client mode). wattd sweeps every meter each minute, so readings and
# deductions appear within a minute. Its log: data/wattd.log; the
# simulator's: data/meter-sim.log, its truth: data/meter-sim-truth.json;
# tools/sim.sh talks to the simulator's control port (127.0.0.1:9609).
# The card center's endpoint listens on 127.0.0.1:7610 over mutual TLS with
# development certificates (data/tls, made on the first run); tools/
# card-center-sim plays the card center against it.
# Extra arguments go to wattd (e.g. --rpc_listen 127.0.0.1:7700).
set -euo pipefail
cd "$(dirname "$0")/.."
tools/install-deps.sh
cmake --preset release >/dev/null
cmake --build --preset release
tools/build-web.sh

bin=build/release/tools
if [ ! -f data/ledger/CURRENT ]; then
  "$bin/wattctl" init --data data
fi
if [ ! -f data/tls/ca.pem ]; then
  "$bin/wattctl" tls-init --out data/tls >/dev/null
fi

log=data/wattd.log
: > "$log"
"$bin/wattd" --data data --card_center_listen 127.0.0.1:7610 \
  --card_center_tls_cert data/tls/server.pem --card_center_tls_key data/tls/server.key \
  --card_center_client_ca data/tls/ca.pem "$@" 2> >(tee -a "$log" >&2) &
wattd=$!
sim=""
trap 'kill -TERM $sim $wattd 2>/dev/null; wait $wattd' INT TERM
for _ in $(seq 100); do
  address=$(grep -o '"rpc_listening","address":"[^"]*"' "$log" 2>/dev/null | tail -1 | cut -d'"' -f6 || true)
  [ -n "$address" ] && break
  kill -0 $wattd 2>/dev/null || { echo "wattd did not start; see $log" >&2; exit 1; }
  sleep 0.1
done
"$bin/wattctl" seed-demo --data data --server "$address"
"$bin/meter-sim" --demo --master 127.0.0.1:9700 --truth data/meter-sim-truth.json \
  --control 127.0.0.1:9609 > data/meter-sim.log 2>&1 &
sim=$!
cat <<MSG

wattd is running on $address with the demo campus and a simulated building
(Ctrl-C stops both). Try:
  $bin/wattctl room show --data data --room B01-101
  $bin/wattctl device status --data data --gateway G1
  $bin/wattctl control cut --server $address --key data/keys/operator.pem \\
      --meter 000000010001 --reason "wiring inspection"
  $bin/wattctl control show --data data --meter 000000010001
  $bin/wattctl control why --data data --room B01-832     (vacant, never paid: cut for arrears)
  $bin/wattctl alarms --data data
  $bin/wattctl log --data data --limit 5
  $bin/wattctl verify --data data
The web console: open http://127.0.0.1:8080 in a browser and log in as admin with the
password in data/web/first-admin-password (printed once in data/wattd.log as
web_first_admin). Staff sign with their own key: an admin names a registered key on each
account (Users & keys), and its holder imports the PKCS#8 file once under "My key" (the
demo's are data/keys/*.pem). The JSON API behind it (api/http/README.md):
  curl -sc jar -H 'Content-Type: application/json' \\
    -d "{\\"username\\":\\"admin\\",\\"password\\":\\"\$(cat data/web/first-admin-password)\\"}" \\
    http://127.0.0.1:8080/api/login
  curl -sb jar http://127.0.0.1:8080/api/alarms
The card center (mutual TLS on 127.0.0.1:7610; its signing key data/keys/card-center.pem):
  CC="$bin/card-center-sim --server 127.0.0.1:7610 --tls_ca data/tls/ca.pem \\
      --tls_cert data/tls/client.pem --tls_key data/tls/client.key --key data/keys/card-center.pem"
  \$CC balance --room B01-101
  \$CC run --clients 50 --trades 1000 --records data/card-center.csv   (cuts a fifth of the calls)
  \$CC settlement                       (today's, signed by the ledger key)
  \$CC reconcile --records data/card-center.csv --inject
MSG
wait $wattd
kill -TERM $sim 2>/dev/null || true

#!/usr/bin/env bash
# Builds the web console (api/web) into api/web/dist, which wattd serves
# (--web_root): installs its npm packages exactly as package-lock.json pins
# them (ECharts, the QR code library, esbuild; playwright-core for the
# browser tests), then bundles. Does nothing to node_modules when the lock
# file has not changed since the last install.
set -euo pipefail
cd "$(dirname "$0")/../api/web"
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund --loglevel=error
fi
npm run --silent build

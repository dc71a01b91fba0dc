#!/usr/bin/env bash
# Installs the Debian 12 packages wattledger builds and tests with (Chromium
# for the console's browser tests), when any is missing.
# Needs root (or sudo). Safe to run again: it does nothing when all are present.
set -euo pipefail

packages=(
  build-essential cmake pkg-config
  librocksdb-dev libboost-dev capnproto libcapnp-dev libssl-dev libabsl-dev
  libgtest-dev libgmock-dev
  nlohmann-json3-dev
  clang libclang-rt-14-dev
  chromium fonts-wqy-microhei
)
# The web console builds with Node.js and npm (api/web); Debian's serve when
# the machine has none of its own.
command -v npm >/dev/null 2>&1 || packages+=(nodejs npm)

missing=()
for package in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" ||
    missing+=("$package")
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "installing: ${missing[*]}"
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"

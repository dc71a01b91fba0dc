#!/usr/bin/env bash
# Quick start, step 2 (and what CI runs): install what is missing, build the
# test suite with warnings as errors, run it, then the web console's browser
# tests (tools/build-web.sh, headless Chromium), then build and run it again
# under AddressSanitizer + UndefinedBehaviorSanitizer, then fuzzes the
# DL/T 645 decoder for 60 s (tools/fuzz.sh).
# `tools/test.sh --fast` skips the sanitizer and fuzzing passes.
set -euo pipefail
cd "$(dirname "$0")/.."
tools/install-deps.sh

cmake --preset dev >/dev/null
cmake --build --preset dev
ctest --preset dev

# The web console in headless Chromium against wattd and the simulated
# building (api/web/test); screenshots of every page in tests/artifacts/web.
tools/build-web.sh
(cd api/web && WL_BIN="$PWD/../../build/dev/tools" npm test)

if [ "${1:-}" != "--fast" ]; then
  cmake --preset asan >/dev/null
  cmake --build --preset asan
  ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 ctest --preset asan
  # Bounded fuzzing of the protocol decoders (clang + libFuzzer; skipped without them).
  tools/fuzz.sh 60
fi

#!/usr/bin/env bash
# Builds the libFuzzer targets with clang, ASan and UBSan in build/fuzz and
# fuzzes each for SECONDS (default 60) from its checked-in seed corpus. New
# inputs go to a temporary directory, so the checked-in corpus only changes
# when someone copies a finding there. Crashes leave the input in build/fuzz/.
# Skips (exit 0) when clang++ or libFuzzer is missing.
#   tools/fuzz.sh [SECONDS]
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-60}"

if ! command -v clang++ >/dev/null 2>&1; then
  echo "fuzz: clang++ not found, skipping (tools/install-deps.sh installs it)"
  exit 0
fi
probe="$(mktemp -d)"
trap 'rm -rf "$probe"' EXIT
echo 'extern "C" int LLVMFuzzerTestOneInput(const char*, unsigned long) { return 0; }' \
  >"$probe/probe.cc"
if ! clang++ -fsanitize=fuzzer "$probe/probe.cc" -o "$probe/probe" 2>/dev/null; then
  echo "fuzz: clang++ cannot link libFuzzer (Debian: libclang-rt-14-dev), skipping"
  exit 0
fi

cmake -S . -B build/fuzz -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo -DWL_BUILD_FUZZERS=ON -DWL_BUILD_TESTS=OFF \
  -DWL_BUILD_BENCHMARKS=OFF -DWL_SANITIZE=address,undefined >/dev/null
# name:binary:corpus, one line per fuzz target.
targets=(
  "dlt645:build/fuzz/ingest/dlt645/dlt645_fuzz:ingest/dlt645/fuzz/corpus"
  "rpc:build/fuzz/api/rpc_fuzz:api/rpc/fuzz/corpus"
  "http:build/fuzz/api/http_fuzz:api/http/fuzz/corpus"
)
for target in "${targets[@]}"; do
  IFS=: read -r name binary corpus <<<"$target"
  cmake --build build/fuzz -j2 --target "${name}_fuzz"
  found="$(mktemp -d)"
  echo "fuzz: $name for ${seconds}s"
  (cd build/fuzz && UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    "../../$binary" -max_total_time="$seconds" -max_len=1024 -timeout=10 \
    -print_final_stats=1 "$found" "../../$corpus")
  rm -rf "$found"
done

#!/usr/bin/env bash
# Builds the libFuzzer targets (clang, ASan + UBSan) and fuzzes each for
# SECONDS (default 60) from the seed corpus in fuzz/corpus. Any crash fails
# the run and leaves its input in build-fuzz/crashes/ to become a regression
# test (tests/test_io.c or fuzz/regressions/).
# Usage: scripts/fuzz.sh [SECONDS]
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-60}"
missing=()
for p in clang libclang-rt-14-dev cmake ocl-icd-opencl-dev opencl-headers; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" \
    || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
CC=clang cmake -S fuzz -B build-fuzz -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build-fuzz -j"$(nproc)"
mkdir -p build-fuzz/crashes
status=0
for t in npy csv args; do
  work="build-fuzz/corpus-$t"
  mkdir -p "$work"
  # Earlier regressions first: they must not crash any more.
  if [ -d "fuzz/regressions/$t" ] && ls "fuzz/regressions/$t"/* >/dev/null 2>&1; then
    ./build-fuzz/fuzz_$t -close_fd_mask=3 "fuzz/regressions/$t"/* || status=1
  fi
  echo "fuzz: $t for ${seconds}s"
  if ! ./build-fuzz/fuzz_$t -max_total_time="$seconds" -max_len=4096 \
      -close_fd_mask=3 -artifact_prefix=build-fuzz/crashes/$t- -print_final_stats=1 \
      "$work" "fuzz/corpus/$t" 2>build-fuzz/fuzz-$t.log; then
    status=1
    tail -n 40 build-fuzz/fuzz-$t.log >&2
  fi
  grep -E "^stat::number_of_executed_units|^Done" build-fuzz/fuzz-$t.log || true
done
if [ $status -ne 0 ]; then
  echo "fuzz: crashes found; inputs in build-fuzz/crashes/" >&2
  exit 1
fi
echo "fuzz: no crashes"

#!/usr/bin/env bash
# Builds with AddressSanitizer + UndefinedBehaviorSanitizer and fault
# injection, and runs the whole test suite (PoCL included; the CLI's
# bad-input cases run instrumented too; tests/test_fault.c makes every
# allocation, buffer creation, enqueue, build and map fail in turn).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh --tests >/dev/null
cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DCLM_SANITIZE=ON \
  -DCLM_FAULT_INJECTION=ON -DCLM_BUILD_BENCH=OFF >/dev/null
cmake --build build-asan -j"$(nproc)"
cd build-asan
ctest --output-on-failure "$@"
# Criterion runs each test in a child process and does not fail a test whose
# child reports a leak or UB at exit, so read every test's output as well.
if grep -E "ERROR: (Address|Leak)Sanitizer|runtime error:|SUMMARY: (Address|UndefinedBehavior)Sanitizer" \
    Testing/Temporary/LastTest.log; then
  echo "sanitize: sanitizer reports above" >&2
  exit 1
fi
echo "sanitize: no sanitizer reports"

#!/usr/bin/env bash
# `make test`: every suite in turn, then one summary line. Exits non-zero if anything failed.
set -u
cd "$(dirname "$0")/.."
total_p=0; total_f=0; status=0
run_suite() { # name, command...
  local name=$1; shift
  echo "==== $name"
  local out rc
  out=$("$@" 2>&1); rc=$?
  printf '%s\n' "$out" | tail -60
  local line p f
  line=$(printf '%s\n' "$out" | grep -E '[0-9]+ passed, [0-9]+ failed' | tail -1)
  p=$(printf '%s' "$line" | sed -n 's/.*\b\([0-9][0-9]*\) passed.*/\1/p'); f=$(printf '%s' "$line" | sed -n 's/.* \([0-9][0-9]*\) failed.*/\1/p')
  p=${p:-0}; f=${f:-0}
  if [ $rc -ne 0 ] && [ "$f" -eq 0 ]; then f=1; fi
  [ $rc -ne 0 ] && status=1
  total_p=$((total_p + p)); total_f=$((total_f + f))
}
run_suite "C unit and headless view tests (optimized and ASan+UBSan)" make --no-print-directory test-c
run_suite "runtime smoke test under valgrind" make --no-print-directory test-valgrind
run_suite "template compiler golden tests" make --no-print-directory test-templates
run_suite "client unit tests" make --no-print-directory test-js
run_suite "end-to-end tests in headless Chromium" make --no-print-directory test-e2e
run_suite "load generator tests (lvload under ASan+UBSan)" make --no-print-directory test-bench-tools
echo "==== summary"
echo "$total_p passed, $total_f failed"
exit $status

#!/usr/bin/env bash
# Smoke test of the runtime under valgrind memcheck: processes, stack switches, timers,
# supervisors and every crash kind (signal handlers on alternate stacks, redirected returns).
# usage: valgrind_smoke.sh BUILD_DIR
set -u
build=$1
supp=$(dirname "$0")/valgrind.supp
passed=0; failed=0
run() {
  local name=$1; shift
  if out=$(timeout 300 valgrind --quiet --error-exitcode=9 --trace-children=yes --suppressions="$supp" "$@" 2>&1); then
    passed=$((passed + 1)); echo "ok   $name"
  else
    failed=$((failed + 1)); echo "FAIL $name"; printf '%s\n' "$out" | grep -v '^    #' | tail -30
  fi
}
run "crash kinds under valgrind" sh -c "$build/bench/runtime_bench crashes | grep -q 'crash_kinds_survived 7'"
run "supervisors under valgrind" "$build/tests/opt/liveview/supervisor_test" -j1
run "thermostat view under valgrind" "$build/tests/opt/examples/thermostat_test" -j1
echo "valgrind: $passed passed, $failed failed"
[ $failed -eq 0 ]

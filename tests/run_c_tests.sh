#!/usr/bin/env bash
# Runs every C test binary, optimized and under ASan+UBSan, and sums Criterion's results.
# usage: run_c_tests.sh BUILD_DIR NAME...
set -u
build=$1; shift
export ASAN_OPTIONS=${ASAN_OPTIONS:-allow_user_segv_handler=1:detect_stack_use_after_return=0:use_sigaltstack=0:detect_leaks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=0}
passed=0; failed=0; status=0
for name in "$@"; do
  for flavor in opt asan; do
    bin=$build/tests/$flavor/$name
    out=$(timeout 600 "$bin" -j2 2>&1); rc=$?
    line=$(printf '%s\n' "$out" | grep 'Synthesis:' | tail -1)
    p=$(printf '%s' "$line" | sed -n 's/.*Passing: \([0-9]*\).*/\1/p'); f=$(printf '%s' "$line" | sed -n 's/.*Failing: \([0-9]*\).*/\1/p')
    p=${p:-0}; f=${f:-0}
    if [ "$rc" -ne 0 ] || [ -z "$line" ]; then
      [ "$f" -eq 0 ] && f=1
      printf '%s\n' "$out" | grep -v '^    #' | tail -40
      status=1
    fi
    echo "c  $flavor  $name: $p passed, $f failed"
    passed=$((passed + p)); failed=$((failed + f))
  done
done
echo "C tests: $passed passed, $failed failed"
exit $status

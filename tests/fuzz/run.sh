#!/usr/bin/env bash
# Builds the libFuzzer targets for the wire modules (WebSocket framing, Phoenix frames, form
# decoding) into build/fuzz/ and runs each for SECONDS; fails if any target crashes or breaks an
# invariant. Committed seeds (tests/fuzz/corpus/<target>/) are copied, never written to: new
# inputs accumulate in build/fuzz/corpus/<target>/, crash reproducers in build/fuzz/crashes/.
# usage: tests/fuzz/run.sh [SECONDS]   (default 60; run from anywhere)
set -u
secs=${1:-60}
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
out=build/fuzz
CC=${FUZZ_CC:-clang}
FLAGS="-std=c17 -D_GNU_SOURCE -Wall -Wextra -Werror -g -O1 -fno-omit-frame-pointer -I. \
       -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined"
export ASAN_OPTIONS=${FUZZ_ASAN_OPTIONS:-detect_leaks=1:allocator_may_return_null=1}
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1

# target: its sources beyond the harness, libraries
declare -A SRC=(
  [ws_frame]="server/ws_frame.c liveview/buf.c liveview/error.c"
  [phx]="liveview/phx.c liveview/buf.c liveview/error.c"
  [form]="liveview/form.c liveview/buf.c liveview/error.c"
)
declare -A LIB=([ws_frame]="-lcrypto" [phx]="-ljansson" [form]="-ljansson")
targets=(ws_frame phx form)

mkdir -p "$out/crashes"
status=0
for t in "${targets[@]}"; do
  bin=$out/${t}_fuzz
  # shellcheck disable=SC2086
  if ! $CC $FLAGS "tests/fuzz/${t}_fuzz.c" ${SRC[$t]} ${LIB[$t]} -o "$bin"; then
    echo "fuzz  $t: BUILD FAILED"; status=1; continue
  fi
  corpus=$out/corpus/$t
  mkdir -p "$corpus"
  cp -n tests/fuzz/corpus/"$t"/* "$corpus"/ 2>/dev/null || true
  dict=()
  [ -f "tests/fuzz/$t.dict" ] && dict=(-dict="tests/fuzz/$t.dict")
  log=$out/$t.log
  "$bin" "$corpus" "${dict[@]}" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -max_len=70000 \
    -print_final_stats=1 -artifact_prefix="$out/crashes/$t-" >"$log" 2>&1
  rc=$?
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1)
  if [ "$rc" -ne 0 ]; then
    echo "fuzz  $t: FAILED (exit $rc) after ${execs:-?} runs; log $log"
    grep -E 'ERROR|invariant|SUMMARY|Test unit written' "$log" | head -20
    status=1
  else
    echo "fuzz  $t: ok, ${execs:-?} runs in ${secs}s, $cov"
  fi
done
exit $status

#!/usr/bin/env bash
# The fair scenario under a kernel scheduling trace: Salamander --schedulers 1 and lvload
# `fair 100 8` with 5-15 ms think time (as bench-peers' sal1_think10 run), perf recording every
# context switch and wake-up on the box meanwhile; then tests/bench/fair_trace.mjs tells, for the
# clicks slower than 2 ms, where the time went (see RESULTS.md, "Fairness").
#   tests/bench/fair_trace.sh                           the kernel places every thread
#   tests/bench/fair_trace.sh bind                      --bind-schedulers, lvload on the last CPU
#                                                       (as bench-peers' sal1_think10 run)
#   tests/bench/fair_trace.sh SERVER_CPUS CLIENT_CPUS   e.g. "0 1": taskset for each
# Needs perf (linux-perf) with access to sched tracepoints (root). Output in build/bench/fair-trace/.
set -uo pipefail
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}
OUT=$BUILD/bench/fair-trace
PORT=${FAIR_TRACE_PORT:-4861}
mkdir -p "$OUT"
rm -f "$OUT/slow.txt"
spin=() cpin=() bind=()
[ $# -ge 2 ] && spin=(taskset -c "$1") cpin=(taskset -c "$2")
[ "${1:-}" = bind ] && bind=(--bind-schedulers) cpin=(taskset -c $(($(nproc) - 1)))
command -v perf >/dev/null || { echo "fair_trace: perf not found (apt-get install linux-perf)" >&2; exit 1; }
SALAMANDER_SECRET=fair-trace-secret-0123456789abcdef0123456789 "${spin[@]}" "$BUILD/salamander" \
  --listen 127.0.0.1:$PORT --schedulers 1 --max-events 1000000 "${bind[@]}" >"$OUT/server.log" 2>&1 &
SPID=$!
trap 'kill $SPID 2>/dev/null; wait $SPID 2>/dev/null' EXIT
for _ in $(seq 50); do curl -s -o /dev/null --max-time 1 "http://127.0.0.1:$PORT/thermostat" && break; sleep 0.1; done
perf record -q -k CLOCK_MONOTONIC -e sched:sched_switch -e sched:sched_wakeup -e signal:signal_generate -e signal:signal_deliver -a -o "$OUT/perf.data" -- sleep 11 \
  >"$OUT/perf.log" 2>&1 &
PERF=$!
sleep 0.5
threads=()
[ ${#cpin[@]} -gt 0 ] && threads=(--threads 1)
"${cpin[@]}" timeout 60 "$BUILD/bench/lvload" --port $PORT --server-pid $SPID --label fair-trace --think-ms 10 --think-random "${threads[@]}" \
  --slow-out "$OUT/slow.txt" --slow-ms 1 fair 100 8 >"$OUT/lvload.json"
wait $PERF
perf script -i "$OUT/perf.data" -F comm,tid,cpu,time,event,trace >"$OUT/sched.txt" 2>/dev/null
node -e 'const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8")); console.log(`lvload: ${r.stall_n} clicks during the calculation: p50 ${r.stall_p50_ms} p99 ${r.stall_p99_ms} max ${r.stall_max_ms} ms; before it p99 ${r.before_p99_ms} ms; steal ${r.steal_pct} %`)' "$OUT/lvload.json"
node tests/bench/fair_trace.mjs "$OUT/slow.txt" "$OUT/sched.txt" sched-0 2

// Where slow clicks spent their time: sets lvload's slow clicks (--slow-out: "SENT_NS LATENCY_US",
// CLOCK_MONOTONIC) beside a kernel scheduling trace of the same run (perf record -k CLOCK_MONOTONIC
// -e sched:sched_switch -e sched:sched_wakeup -a, then perf script -F comm,tid,cpu,time,event,trace).
// For each burst of slow clicks it prints how long the server's scheduler thread waited in a run
// queue, how long each CPU sat idle and what ran instead; then the totals over all bursts, with the
// part of each thread's run-queue wait during which a CPU was idle (a placement the kernel got wrong).
//
//   node tests/bench/fair_trace.mjs SLOW_FILE PERF_SCRIPT_FILE [SCHED_THREAD_NAME=sched-0] [MIN_MS=2]
import fs from 'node:fs';

const [slowFile, traceFile, schedName = 'sched-0', minMs = '2'] = process.argv.slice(2);
if (!slowFile || !traceFile) {
  console.error('usage: node fair_trace.mjs SLOW_FILE PERF_SCRIPT_FILE [SCHED_THREAD_NAME] [MIN_MS]');
  process.exit(2);
}

// ---- the trace: who ran on each CPU, and when each thread waited runnable -----------------------
const line = /^\s*(.+?)\s+(\d+)\s+\[(\d+)\]\s+([\d.]+):\s+(\S+):\s+(.*)$/;
const runs = []; // {cpu, from, to, comm}
const waits = []; // {comm, from, to}: runnable (woken or preempted) until switched in
const current = new Map(); // cpu -> {from, comm}
const runnable = new Map(); // tid -> {from, comm}
for (const l of fs.readFileSync(traceFile, 'utf8').split('\n')) {
  const m = line.exec(l);
  if (!m) continue;
  const cpu = +m[3], t = +m[4], ev = m[5], rest = m[6];
  if (ev === 'sched:sched_switch') {
    const s = /prev_comm=(.*?) prev_pid=(\d+) .*prev_state=(\S+) ==> next_comm=(.*?) next_pid=(\d+)/.exec(rest);
    if (!s) continue;
    const cur = current.get(cpu);
    if (cur) runs.push({ cpu, from: cur.from, to: t, comm: cur.comm });
    current.set(cpu, { from: t, comm: s[4] });
    if (s[3].startsWith('R') && +s[2] !== 0) runnable.set(+s[2], { from: t, comm: s[1] });
    const w = runnable.get(+s[5]);
    if (w) { waits.push({ comm: w.comm, from: w.from, to: t }); runnable.delete(+s[5]); }
  } else if (ev === 'sched:sched_wakeup') {
    const s = /comm=(.*?) pid=(\d+)/.exec(rest);
    if (s && +s[2] !== 0 && !runnable.has(+s[2])) runnable.set(+s[2], { from: t, comm: s[1] });
  }
}
if (!runs.length) { console.error(`no sched_switch events in ${traceFile}`); process.exit(1); }
const traceFrom = runs[0].from, traceTo = runs[runs.length - 1].to;

// ---- slow clicks, grouped into bursts (overlapping or within 2 ms) --------------------------------
const slow = fs.readFileSync(slowFile, 'utf8').split('\n').map((l) => l.trim().split(/\s+/))
  .filter((f) => f.length === 2).map(([s, us]) => ({ from: +s / 1e9, to: +s / 1e9 + +us / 1e6, ms: +us / 1e3 }))
  .filter((c) => c.ms >= +minMs && c.from >= traceFrom && c.to <= traceTo).sort((a, b) => a.from - b.from);
const bursts = [];
for (const c of slow) {
  const b = bursts[bursts.length - 1];
  if (b && c.from <= b.to + 0.002) { b.to = Math.max(b.to, c.to); b.n++; } else bursts.push({ from: c.from, to: c.to, n: 1 });
}

const overlap = (a, b) => Math.max(0, Math.min(a.to, b.to) - Math.max(a.from, b.from)) * 1e3;
const round = (o) => Object.fromEntries(Object.entries(o).filter(([, v]) => v >= 0.05).sort((a, b) => b[1] - a[1]).map(([k, v]) => [k, +v.toFixed(2)]));
const idleRuns = runs.filter((r) => r.comm.startsWith('swapper'));
const total = { burst_ms: 0, cpu_idle_ms: 0 }, waitedAll = {}, waitedIdle = {};
console.log(`${slow.length} clicks of >= ${minMs} ms in the trace, in ${bursts.length} bursts`);
for (const b of bursts) {
  const waited = {}, ran = {};
  for (const w of waits) {
    const o = overlap(b, w);
    if (o <= 0) continue;
    waited[w.comm] = (waited[w.comm] || 0) + o;
    waitedAll[w.comm] = (waitedAll[w.comm] || 0) + o;
    // the part of that wait during which a CPU ran its idle task instead
    const span = { from: Math.max(b.from, w.from), to: Math.min(b.to, w.to) };
    for (const r of idleRuns) waitedIdle[w.comm] = (waitedIdle[w.comm] || 0) + overlap(span, r);
  }
  for (const r of runs) {
    const o = overlap(b, r);
    if (o <= 0) continue;
    ran[`cpu${r.cpu} ${r.comm}`] = (ran[`cpu${r.cpu} ${r.comm}`] || 0) + o;
    if (r.comm.startsWith('swapper')) total.cpu_idle_ms += o;
  }
  total.burst_ms += (b.to - b.from) * 1e3;
  console.log(`${b.from.toFixed(4)} ${((b.to - b.from) * 1e3).toFixed(2)} ms, ${b.n} clicks | waited runnable: ${JSON.stringify(round(waited))} | ran: ${JSON.stringify(round(ran))}`);
}
console.log(`totals over the bursts: ${total.burst_ms.toFixed(1)} ms of bursts, CPUs idle ${total.cpu_idle_ms.toFixed(1)} ms (summed over CPUs)`);
console.log(`  waited runnable (ms): ${JSON.stringify(round(waitedAll))}`);
console.log(`  of which while a CPU was idle (ms): ${JSON.stringify(round(waitedIdle))}`);
console.log(`  ${schedName} waited ${(waitedAll[schedName] || 0).toFixed(1)} ms, ${(waitedIdle[schedName] || 0).toFixed(1)} ms of it beside an idle CPU`);

// Tests of the benchmark tools themselves: build/bench/lvload (built with ASan+UBSan for these
// runs) against a fresh build/salamander and the bare echo, short scenarios on free loopback
// ports, every server stopped by its PID. A benchmark whose generator miscounts is worse than
// none, so each test checks the counts lvload reports, and the bounds a scenario sets on them.
// usage: node tests/bench/lvload_test.mjs BUILD_DIR      prints "lvload: N passed, M failed"
import { spawn } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { freePort } from '../common/ports.mjs';

const build = process.argv[2] || 'build';
const LVLOAD = `${build}/bench/asan/lvload`;
const SECRET = 'lvload-test-secret-0123456789abcdef';
const deadline = setTimeout(() => { console.error('lvload: global timeout (120 s)'); process.exit(2); }, 120000);

// Starts a server binary on a free port; resolves once GET path answers.
async function start(cmd, args, env = {}) {
  const port = await freePort();
  const log = [];
  const child = spawn(cmd, [...args, '--listen', `127.0.0.1:${port}`],
    { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
  child.stdout.on('data', (d) => log.push(String(d)));
  child.stderr.on('data', (d) => log.push(String(d)));
  for (let i = 0; i < 100; i++) {
    try { if ((await fetch(`http://127.0.0.1:${port}/thermostat`)).ok) return { child, port, log }; } catch { /* not up yet */ }
    if (child.exitCode !== null) break;
    await sleep(100);
  }
  child.kill('SIGKILL');
  throw new Error(`${cmd} did not start:\n${log.join('')}`);
}
const salamander = () => start(`${build}/salamander`, ['--schedulers', '1', '--max-events', '1000000'], { SALAMANDER_SECRET: SECRET });
const echo = () => start(`${build}/bench/echo`, ['--threads', '1']);

async function stop(server) {
  if (server.child.exitCode !== null || server.child.signalCode !== null) return;
  const exited = new Promise((resolve) => server.child.once('exit', resolve));
  server.child.kill('SIGTERM');
  if (await Promise.race([exited.then(() => true), sleep(2000).then(() => false)])) return;
  server.child.kill('SIGKILL');
  await exited;
}

// Runs lvload; resolves with its exit code, its JSON result (null if none) and its stderr.
function lvload(args, { onStart } = {}) {
  return new Promise((resolve) => {
    const child = spawn(LVLOAD, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => { out += d; });
    child.stderr.on('data', (d) => { err += d; });
    if (onStart) onStart(child);
    child.on('close', (code) => {
      let result = null;
      try { result = JSON.parse(out); } catch { /* not JSON: the test says so */ }
      resolve({ code, result, out, err });
    });
  });
}

function assert(cond, msg) { if (!cond) throw new Error(msg); }
// lvload's own sanitizers print here; any report fails the test
function clean(run) {
  assert(!/ERROR: AddressSanitizer|runtime error:|LeakSanitizer/.test(run.err), `sanitizer report:\n${run.err}`);
  assert(run.result, `no JSON result (exit ${run.code}):\n${run.out}\n${run.err}`);
  return run.result;
}
const ERROR_COUNTS = ['connect_errors', 'http_errors', 'page_errors', 'upgrade_errors', 'join_errors', 'join_timeouts',
  'join_closed', 'closed_sockets', 'close_frames', 'error_replies', 'error_pushes', 'unexpected', 'clicks_lost',
  'unanswered', 'temp_mismatch', 'samples_dropped'];
function noErrors(r) {
  const bad = ERROR_COUNTS.filter((k) => r[k] !== 0);
  assert(!bad.length, `error counts: ${bad.map((k) => `${k}=${r[k]}`).join(', ')}; first error: ${r.first_error}`);
  assert(r.crashed_step === null && r.failed_step === null, `crashed_step ${r.crashed_step}, failed_step ${r.failed_step}`);
}

const results = [];
async function test(name, fn) {
  const t0 = Date.now();
  try { await fn(); results.push(true); console.log(`ok   ${name} (${Date.now() - t0} ms)`); }
  catch (e) { results.push(false); console.log(`FAIL ${name}: ${e.stack || e}`); }
}

await test('clicks: every click is answered by its diff, and counted once', async () => {
  const s = await salamander();
  try {
    const r = clean(await lvload(['--port', s.port, '--server-pid', s.child.pid, 'clicks', '20', '1']));
    noErrors(r);
    assert(r.pages === 20 && r.joined === 20 && r.not_joined === 0, `pages ${r.pages}, joined ${r.joined}`);
    assert(r.clicks_sent > 20 && r.clicks_ok === r.clicks_sent, `clicks sent ${r.clicks_sent}, ok ${r.clicks_ok}`);
    assert(r.temp_checked === 20, `temp_checked ${r.temp_checked}: every session's last diff is checked against its count`);
    assert(r.p50_ms > 0 && r.p99_ms >= r.p50_ms && r.max_ms >= r.p99_ms, `latencies ${r.p50_ms} / ${r.p99_ms} / ${r.max_ms}`);
  } finally { await stop(s); }
});

// A session clicks at most once per pause. Constant 20 ms pauses allow 101 clicks in 2 s (a
// pause cut to 15 ms sent 3,893). Random ones (uniform in 10-30 ms) average 20 ms: ~100 clicks a
// session; the 30 sessions' count lies within ~16 of 3,000 (a sum of k pauses is ~N(20k, 5.8^2 k)
// ms), so 3,100 is 4 standard deviations above, and click latencies only lower it (~2,850 here).
// A think-time queue handing sessions back up to 5 ms early sent 3,310. (No lower bound: a slow
// box only clicks less.)
for (const random of [false, true]) {
  await test(`think time (${random ? 'random, 10-30 ms' : 'constant 20 ms'}): no session clicks before its pause is over`, async () => {
    const s = await salamander();
    try {
      const args = ['--port', s.port, '--think-ms', '20', ...(random ? ['--think-random'] : []), 'clicks', '30', '2'];
      const r = clean(await lvload(args));
      noErrors(r);
      assert(r.think_random === random && r.think_ms === 20, `think_ms ${r.think_ms}, think_random ${r.think_random}`);
      const ceiling = random ? 3100 : 30 * 101;
      assert(r.clicks_sent > 30 && r.clicks_sent <= ceiling, `${r.clicks_sent} clicks in 2 s by 30 sessions (ceiling ${ceiling})`);
    } finally { await stop(s); }
  });
}

await test('fair: the calculation is answered, the clicks during it are measured, with the steal of that window', async () => {
  const s = await salamander();
  try {
    const r = clean(await lvload(['--port', s.port, '--server-pid', s.child.pid, '--think-ms', '5', '--think-random',
      '--calc-n', '200000000', 'fair', '10', '3']));
    noErrors(r);
    assert(r.calc_reply_ok === true && r.calc_done_ms > 0, `calc reply ${r.calc_reply_ok}, done after ${r.calc_done_ms} ms`);
    assert(r.calc_result.includes('20000000100000000'), `the calculator's result: ${r.calc_result}`);
    assert(r.stall_n > 0 && r.before_n > 0, `clicks during the calculation ${r.stall_n}, before it ${r.before_n}`);
    assert(r.stall_steal_pct >= 0 && r.stall_steal_pct <= 100, `stall_steal_pct ${r.stall_steal_pct}`);
  } finally { await stop(s); }
});

await test('idle: joined sessions are held and the server RSS per session is reported', async () => {
  const s = await salamander();
  try {
    const r = clean(await lvload(['--port', s.port, '--server-pid', s.child.pid, '--settle-ms', '500', '--warmup', '2', 'idle', '200']));
    noErrors(r);
    assert(r.joined >= 200 && r.not_joined === 0, `joined ${r.joined}, not joined ${r.not_joined}`);
    assert(r.bytes_per_session > 0, `bytes_per_session ${r.bytes_per_session}`);
  } finally { await stop(s); }
});

await test('ticks: every thermostat gets its clock pushes', async () => {
  const s = await salamander();
  try {
    const r = clean(await lvload(['--port', s.port, 'ticks', '5', '3']));
    noErrors(r);
    assert(r.no_tick_sessions === 0 && r.window_ticks >= 5, `window_ticks ${r.window_ticks}, sessions without one ${r.no_tick_sessions}`);
    assert(r.lag_p50_ms !== null && r.lag_p99_ms >= r.lag_p50_ms, `lag ${r.lag_p50_ms} / ${r.lag_p99_ms}`);
  } finally { await stop(s); }
});

await test('--echo: the bare echo\'s frames count as replies', async () => {
  const s = await echo();
  try {
    const r = clean(await lvload(['--port', s.port, '--echo', '--think-ms', '5', '--think-random', 'clicks', '10', '1']));
    noErrors(r);
    assert(r.clicks_sent > 10 && r.clicks_ok === r.clicks_sent, `clicks sent ${r.clicks_sent}, ok ${r.clicks_ok}`);
  } finally { await stop(s); }
});

await test('no server on the port: refused connections are counted, never silent zeros', async () => {
  const r = clean(await lvload(['--port', await freePort(), 'clicks', '5', '1']));
  assert(r.connect_errors === 5 && r.not_joined === 5 && r.events === 0, `connect_errors ${r.connect_errors}, not_joined ${r.not_joined}`);
  assert(/refused/i.test(r.first_error), `first_error: ${r.first_error}`);
});

await test('a server that dies under load is reported as crashed, with the step', async () => {
  const s = await salamander();
  const r = clean(await lvload(['--port', s.port, '--server-pid', s.child.pid, 'clicks', '10', '4'],
    { onStart: () => setTimeout(() => s.child.kill('SIGKILL'), 2500) }));
  await stop(s);
  assert(r.server_alive === false && r.crashed_step === 'load', `server_alive ${r.server_alive}, crashed_step ${r.crashed_step}`);
  assert(r.closed_sockets > 0 || r.unanswered > 0 || r.clicks_lost > 0, 'the lost sockets are counted');
});

await test('bad arguments: the usage and exit status 2', async () => {
  for (const args of [['clicks'], ['--think-ms', '-1', 'clicks', '5', '1'], ['clicks', '5', '100000'], ['storm', '5', '1']]) {
    const r = await lvload(args);
    assert(r.code === 2 && /usage: lvload/.test(r.err) && r.result === null, `lvload ${args.join(' ')}: exit ${r.code}`);
  }
});

clearTimeout(deadline);
const failed = results.filter((ok) => !ok).length;
console.log(`lvload: ${results.length - failed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);

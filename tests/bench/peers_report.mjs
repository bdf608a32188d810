// Reads the JSON lines of one peers.sh run and prints every figure as a table and as BENCH lines,
// the four ratios the issue names, and (standard mode) draws events/s and p99 against sessions,
// one line per system, into <dir>/peers-clicks.svg.
//
//   node tests/bench/peers_report.mjs build/bench/peers/standard.jsonl build/bench standard
import fs from 'node:fs';
import path from 'node:path';

const [file, outDir = 'build/bench', mode = 'standard'] = process.argv.slice(2);
const lines = fs.readFileSync(file, 'utf8').split('\n').filter((l) => l.trim());
const rows = [];
let meta = {};
for (const l of lines) {
  try {
    const o = JSON.parse(l);
    if (o.meta) meta = o;
    else rows.push(o);
  } catch {
    rows.push({ error: `unparsable line: ${l.slice(0, 80)}` });
  }
}

const NAMES = {
  echo: 'h2o echo (1 thread)',
  echo_mt: `h2o echo (${meta.cores || 'all'} threads)`,
  echo_pinned: 'h2o echo (1 thread) on CPU 0, lvload on CPU 1',
  sal1_pinned: 'Salamander --schedulers 1 on CPU 0, lvload on CPU 1',
  echo_think10: 'h2o echo (1 thread) on CPU 0, lvload on the last CPU, clicks with ~10 ms think time',
  sal1_think10: 'Salamander --schedulers 1 --bind-schedulers, lvload on the last CPU, clicks with ~10 ms think time',
  lvjs_think10: 'LiveViewJS 0.8.1 on CPU 0, lvload on the last CPU, clicks with ~10 ms think time',
  sal1_think10_unpinned: 'Salamander --schedulers 1, clicks with ~10 ms think time, unpinned',
  lvjs_think10_unpinned: 'LiveViewJS 0.8.1, clicks with ~10 ms think time, unpinned',
  sal1: 'Salamander --schedulers 1',
  saln: `Salamander --schedulers ${meta.cores || 'N'}`,
  lvjs: 'LiveViewJS 0.8.1',
};
const COLORS = { echo: '#777777', sal1: '#d95f02', saln: '#1b9e77', lvjs: '#7570b3', echo_mt: '#aaaaaa' };
const fmt = (v, d = 0) => (v === null || v === undefined || Number.isNaN(v) ? 'n/a' : Number(v).toFixed(d));
const usable = (r) => r && !r.not_run && !r.error && !r.crashed_step && !r.failed_step;
// the run of a system at a point; with several rounds of clicks, the fastest one: the box is
// shared, and other jobs can only slow a round down (every round is in the table and the notes)
const KEY = { clicks: 'events_per_s', fair: 'stall_p99_ms', idle: 'bytes_per_session', ticks: 'lag_p99_ms' };
function find(sys, sc, n) {
  const all = rows.filter((r) => r.system === sys && r.scenario === sc && r.sessions === n);
  const ok = all.filter((r) => usable(r) && r[KEY[sc]] !== null && r[KEY[sc]] !== undefined);
  if (!ok.length) return all[0];
  ok.sort((a, b) => a[KEY[sc]] - b[KEY[sc]]);
  return sc === 'clicks' ? ok[ok.length - 1] : ok[(ok.length - 1) >> 1];
}
const rounds = (sys, sc, n) => rows.filter((r) => r.system === sys && r.scenario === sc && r.sessions === n && usable(r));

// what went wrong in a run, in words, or '' when it is clean
function trouble(r) {
  if (!r) return 'not run';
  if (r.not_run) return `not run: ${r.not_run}`;
  if (r.error) return `error: ${r.error}`;
  const t = [];
  if (r.crashed_step) t.push(`SERVER CRASHED during ${r.crashed_step}`);
  if (r.failed_step) t.push(`lvload gave up at ${r.failed_step}: ${r.fail_reason || ''}`);
  if (r.not_joined) t.push(`${r.not_joined} sessions not joined`);
  for (const k of ['closed_sockets', 'error_replies', 'error_pushes', 'unexpected', 'clicks_lost', 'unanswered', 'temp_mismatch', 'close_frames'])
    if (r[k]) t.push(`${k} ${r[k]}`);
  if (r.scenario === 'ticks' && r.no_tick_sessions) t.push(`no_tick_sessions ${r.no_tick_sessions}`);
  if (t.length && r.first_error) t.push(`first error: ${r.first_error}`);
  if (r.survived_client_close === false) t.push('server died within 1.2 s after lvload closed its sockets (step: close)');
  return t.join('; ');
}

// ---- table ------------------------------------------------------------------------------------
const out = [];
out.push(`peers ${mode}: ${meta.date || '?'}, ${meta.cores} cores (${meta.cpu}), ${meta.ram_gib} GiB, ${meta.os}, kernel ${meta.kernel}`);
out.push(`versions: gcc ${meta.gcc}, h2o ${meta.h2o}, node ${meta.node}, liveviewjs ${meta.liveviewjs}, salamander ${meta.salamander}; load average before: ${meta.loadavg_before}`);
out.push('');
out.push('| system | scenario | sessions | result | latency p50 / p99 / max (ms) | server CPU (cores; busiest thread) | lvload CPU (sys) | other CPU | CPU busy % per core | notes |');
out.push('|---|---|---|---|---|---|---|---|---|---|');
for (const r of rows) {
  let result = '';
  let lat = '';
  if (r.scenario === 'clicks') {
    result = `${fmt(r.events_per_s)} events/s`;
    lat = `${fmt(r.p50_ms, 2)} / ${fmt(r.p99_ms, 2)} / ${fmt(r.max_ms, 1)}`;
  } else if (r.scenario === 'fair') {
    result = `calc reply ${fmt(r.calc_reply_ms, 1)} ms, result ${fmt(r.calc_done_ms, 1)} ms; ${fmt(r.stall_n)} clicks during it: p99 ${fmt(r.stall_p99_ms, 2)}, max ${fmt(r.stall_max_ms, 2)} ms (before it: p99 ${fmt(r.before_p99_ms, 2)}); ${fmt(r.events_per_s)} events/s`;
    lat = `${fmt(r.p50_ms, 2)} / ${fmt(r.p99_ms, 2)} / ${fmt(r.max_ms, 1)}`;
  } else if (r.scenario === 'idle') {
    result = `${fmt(r.bytes_per_session)} B/session (GET ${fmt(r.bytes_per_get)}, join ${fmt(r.bytes_per_join)}); RSS ${fmt(r.rss_baseline_kb / 1024, 1)} → ${fmt(r.rss_joined_kb / 1024, 1)} MB; ${fmt(r.tick_pushes_per_s)} pushes/s`;
    lat = `joins took ${fmt(r.join_ms)} ms`;
  } else if (r.scenario === 'ticks') {
    result = `${fmt(r.ticks_per_s)} ticks/s of ${fmt(r.expected_ticks / (r.seconds || 1))} expected`;
    lat = `lag ${fmt(r.lag_p50_ms, 2)} / ${fmt(r.lag_p99_ms, 2)} / ${fmt(r.lag_max_ms, 1)}`;
  }
  const cpu = r.server_cpu_cores === undefined ? '' : `${fmt(r.server_cpu_cores, 2)}; ${fmt(r.server_busiest_thread_cores, 2)}`;
  const busy = (Array.isArray(r.cpu_busy_pct) ? r.cpu_busy_pct.map((v) => fmt(v, 0)).join(' / ') : '') +
    (r.steal_pct > 0 ? ` (steal ${fmt(r.steal_pct, 1)} %)` : '');
  out.push(`| ${NAMES[r.system] || r.system} | ${r.scenario}${r.seconds ? ` ${r.seconds} s` : ''} | ${r.sessions} | ${result} | ${lat} | ${cpu} | ${fmt(r.client_cpu_cores, 2)} (${fmt(r.client_sys_cores, 2)}) | ${fmt(r.other_cpu_cores, 2)} | ${busy} | ${trouble(r) || 'clean'} |`);
}
console.log(out.join('\n'));
console.log('');

// ---- BENCH lines --------------------------------------------------------------------------------
const bench = (name, v, unit, note = '') => console.log(`BENCH ${name} ${v === null || v === undefined || Number.isNaN(v) ? 'n/a' : +Number(v).toFixed(3)} ${unit}${note ? `  # ${note}` : ''}`);
const seen = new Set();
for (const r0 of rows) {
  if (r0.not_run || r0.error) continue;
  const id = `${r0.system}.${r0.scenario}${r0.sessions}`;
  if (seen.has(id)) continue; // several rounds: the one find() picks
  seen.add(id);
  const r = find(r0.system, r0.scenario, r0.sessions);
  const base = `peers.${id}`;
  const n = rounds(r0.system, r0.scenario, r0.sessions).length;
  if (r.scenario === 'clicks') {
    bench(`${base}.events_per_s`, r.events_per_s, 'events/s', n > 1 ? `best of ${n} rounds: ${rounds(r0.system, 'clicks', r0.sessions).map((x) => x.events_per_s).join(', ')}` : '');
    bench(`${base}.p99_ms`, r.p99_ms, 'ms');
  } else if (r.scenario === 'fair') {
    bench(`${base}.stall_p99_ms`, r.stall_p99_ms, 'ms');
    bench(`${base}.stall_max_ms`, r.stall_max_ms, 'ms');
    bench(`${base}.before_p99_ms`, r.before_p99_ms, 'ms', 'the same clicks before the calculation started');
  } else if (r.scenario === 'idle') {
    bench(`${base}.bytes_per_session`, r.bytes_per_session, 'bytes');
  } else if (r.scenario === 'ticks') {
    bench(`${base}.lag_p99_ms`, r.lag_p99_ms, 'ms');
  }
  if (r.crashed_step) console.log(`BENCH ${base}.crashed_step ${r.crashed_step} step`);
}

const best = (sc, n, systems, key) => {
  const c = systems.map((s) => find(s, sc, n)).filter((r) => usable(r) && r[key] !== null && r[key] !== undefined);
  return c.length ? c.reduce((a, b) => (b[key] > a[key] ? b : a)) : null;
};
const worst = (sc, n, systems, key) => {
  const c = systems.map((s) => find(s, sc, n)).filter((r) => usable(r) && r[key] !== null && r[key] !== undefined);
  return c.length ? c.reduce((a, b) => (b[key] > a[key] ? b : a)) : null;
};
function ratio(name, num, den, key, goal, why) {
  if (!num || !den) {
    bench(name, null, 'ratio', `${why}: ${!num ? 'numerator' : 'denominator'} missing or unusable`);
    return;
  }
  const v = num[key] / den[key];
  const met = !goal ? '' : (goal.startsWith('>=') ? v >= +goal.slice(2) : v <= +goal.slice(2)) ? '; goal ' + goal + ': met' : '; goal ' + goal + ': NOT met';
  bench(name, v, 'ratio', `${why}: ${fmt(num[key], 0)} (${num.system}) / ${fmt(den[key], 0)} (${den.system})${met}`);
}
if (mode === 'standard') {
  const sal = best('clicks', 1000, ['sal1', 'saln'], 'events_per_s');
  ratio('peers.clicks1000_vs_h2o_echo', sal, best('clicks', 1000, ['echo', 'echo_mt'], 'events_per_s'), 'events_per_s', '>=0.7',
    "Salamander's best clicks/s at 1,000 sessions (best round of sal1, saln) / the echo's best round trips/s (echo, echo_mt)");
  ratio('peers.clicks1000_vs_liveviewjs', sal, best('clicks', 1000, ['lvjs'], 'events_per_s'), 'events_per_s', '>=4',
    "Salamander's best clicks/s at 1,000 sessions / LiveViewJS's");
  const idleN = Math.max(0, ...rows.filter((r) => r.scenario === 'idle' && r.system === 'lvjs' && usable(r)).map((r) => r.sessions));
  ratio('peers.idle_session_bytes_vs_liveviewjs', worst('idle', idleN, ['sal1', 'saln'], 'bytes_per_session'),
    best('idle', idleN, ['lvjs'], 'bytes_per_session'), 'bytes_per_session', '<=0.1',
    `Salamander's (larger) bytes per idle joined thermostat / LiveViewJS's, ${idleN.toLocaleString('en')} sessions, page GET included`);
}
if (mode === 'standard' || mode === 'fair') {
  const think = (r) => (r && r.think_random ? `${r.think_ms / 2}-${(3 * r.think_ms) / 2} ms think time, drawn per click` : `${r ? r.think_ms : 10} ms think time`);
  // Host interference (steal, other guests' jobs) only ever adds latency, as it only ever takes
  // throughput away: the figure is that of the round the host disturbed least, chosen by the steal
  // over the window the figure covers (the calculation's, for fair), never by its latency; every
  // round and their median are printed beside it.
  const stealOf = (r) => (r.stall_steal_pct >= 0 ? r.stall_steal_pct : r.steal_pct >= 0 ? r.steal_pct : 100);
  const quietest = (rs) => (rs.length ? rs.reduce((a, b) => (stealOf(b) < stealOf(a) ? b : a)) : null);
  const median = (vs) => (vs.length ? [...vs].sort((a, b) => a - b)[(vs.length - 1) >> 1] : null);
  const listed = (rs, key) => `${rs.map((r) => `${fmt(r[key], 2)} ms at ${fmt(stealOf(r), 1)} % steal`).join(', ')}; median ${fmt(median(rs.map((r) => r[key])), 2)} ms`;
  const fn = rounds('sal1_think10', 'fair', 100).filter((r) => r.stall_p99_ms !== null && r.stall_p99_ms !== undefined);
  const floors = rounds('echo_think10', 'clicks', 100).filter((r) => r.p99_ms !== null && r.p99_ms !== undefined);
  const f = quietest(fn) || find('sal1_think10', 'fair', 100);
  const fv = usable(f) ? f.stall_p99_ms : null;
  const floor = quietest(floors);
  bench('peers.fair_p99_ms', fv, 'ms', fv === null ? `Salamander --schedulers 1 fair 100 (${think(f)}): ${trouble(f)}`
    : `p99 of the other 100 sessions' clicks (${think(f)}) in flight during the n=2e9 calculation (~3 s), --schedulers 1 --bind-schedulers (scheduler on CPU 0), lvload on the last CPU, in the least-stolen of ${fn.length} rounds (before the calculation: ${fmt(f.before_p99_ms, 2)} ms); every round: ${listed(fn, 'stall_p99_ms')}; goal <= 1: ${fv <= 1 ? 'met' : 'NOT met'}`);
  bench('peers.fair_floor_echo_p99_ms', floor ? floor.p99_ms : null, 'ms', floor
    ? `the floor: the bare h2o echo (1 thread, on CPU 0) answering the same 100 sessions' clicks (${think(floor)}) from the same pinned lvload, no calculation, in the least-stolen of ${floors.length} rounds alternating with the ones above; every round: ${listed(floors, 'p99_ms')}`
    : `echo with think time: ${trouble(find('echo_think10', 'clicks', 100))}`);
}
if (mode === 'standard') {
  const fu = find('sal1_think10_unpinned', 'fair', 100);
  if (fu) bench('peers.fair_unpinned_p99_ms', usable(fu) ? fu.stall_p99_ms : null, 'ms', usable(fu)
    ? `the same with server and lvload left to the kernel's placement (before the calculation: ${fmt(fu.before_p99_ms, 3)}; steal ${fmt(fu.steal_pct, 1)} %)` : trouble(fu));
  const fc = find('sal1', 'fair', 100);
  bench('peers.fair_closed_loop_p99_ms', usable(fc) ? fc.stall_p99_ms : null, 'ms', usable(fc)
    ? `the same with 100 closed-loop sessions (throughput-bound: p99 ${fmt(fc.before_p99_ms, 2)} ms before the calculation)` : trouble(fc));
  ratio('peers.pinned_clicks1000_vs_h2o_echo', find('sal1_pinned', 'clicks', 1000), find('echo_pinned', 'clicks', 1000), 'events_per_s', null,
    'one core each: server on CPU 0, lvload on CPU 1 (Salamander --schedulers 1 / the 1-thread echo)');
}

// ---- SVG: events/s and p99 against sessions -------------------------------------------------------
if (mode === 'standard') {
  const systems = ['echo', 'sal1', 'saln', 'lvjs'];
  const ns = [...new Set(rows.filter((r) => r.scenario === 'clicks').map((r) => r.sessions))].sort((a, b) => a - b);
  const series = systems.map((s) => ({
    s,
    pts: ns.map((n) => find(s, 'clicks', n)).filter((r) => usable(r) && r.events_per_s),
  })).filter((x) => x.pts.length);
  const W = 960, H = 470, M = { l: 70, r: 20, t: 84, b: 90 }, gap = 80;
  const pw = (W - M.l - M.r - gap) / 2, ph = H - M.t - M.b;
  const xmin = 1, xmax = 10000;
  const lx = (n) => (Math.log10(Math.max(n, 1)) - Math.log10(xmin)) / (Math.log10(xmax) - Math.log10(xmin)) * pw;
  const maxEv = Math.max(1, ...series.flatMap((x) => x.pts.map((r) => r.events_per_s)));
  const evTop = Math.ceil(maxEv / 10000) * 10000;
  const p99s = series.flatMap((x) => x.pts.map((r) => r.p99_ms)).filter((v) => v > 0);
  const pLo = Math.pow(10, Math.floor(Math.log10(Math.min(...p99s, 1)))), pHi = Math.pow(10, Math.ceil(Math.log10(Math.max(...p99s, 1))));
  const ly = (v) => ph - (Math.log10(Math.max(v, pLo)) - Math.log10(pLo)) / (Math.log10(pHi) - Math.log10(pLo)) * ph;
  const y1 = (v) => ph - (v / evTop) * ph;
  const esc = (s) => String(s).replace(/&/g, '&amp;').replace(/</g, '&lt;');
  const g = [];
  g.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12">`);
  g.push(`<rect width="${W}" height="${H}" fill="white"/>`);
  g.push(`<text x="${W / 2}" y="20" text-anchor="middle" font-size="15">Closed-loop clicks against sessions (lvload, ${SECS_OF(rows)} s per point, fresh server per point)</text>`);
  g.push(`<text x="${W / 2}" y="38" text-anchor="middle" fill="#555">${esc(`${meta.date || ''} · ${meta.cores} cores ${meta.cpu || ''} · ${meta.ram_gib} GiB · salamander ${meta.salamander}`)}</text>`);
  const maxRounds = Math.max(1, ...systems.map((x) => rounds(x, 'clicks', 1000).length));
  const avgOther = rows.filter((r) => r.scenario === 'clicks' && r.other_cpu_cores >= 0);
  const other = avgOther.length ? avgOther.reduce((a, r) => a + r.other_cpu_cores, 0) / avgOther.length : null;
  g.push(`<text x="${W / 2}" y="54" text-anchor="middle" fill="#555" font-size="11">${esc(`one run per point${maxRounds > 1 ? `, best of ${maxRounds} rounds at 1,000` : ''}; CPU used by other jobs on the box during these runs: ${fmt(other, 2)} cores on average`)}</text>`);
  const panel = (ox, title, yTicks, yOf, key, ylabel) => {
    g.push(`<g transform="translate(${ox},${M.t})">`);
    g.push(`<rect width="${pw}" height="${ph}" fill="none" stroke="#ccc"/>`);
    g.push(`<text x="${pw / 2}" y="-6" text-anchor="middle" font-weight="bold">${title}</text>`);
    for (const n of [1, 10, 100, 1000, 10000]) {
      g.push(`<line x1="${lx(n)}" x2="${lx(n)}" y1="0" y2="${ph}" stroke="#eee"/>`);
      g.push(`<text x="${lx(n)}" y="${ph + 16}" text-anchor="middle">${n.toLocaleString('en')}</text>`);
    }
    for (const [v, label] of yTicks) {
      g.push(`<line x1="0" x2="${pw}" y1="${yOf(v)}" y2="${yOf(v)}" stroke="#eee"/>`);
      g.push(`<text x="-6" y="${yOf(v) + 4}" text-anchor="end">${label}</text>`);
    }
    g.push(`<text x="${pw / 2}" y="${ph + 34}" text-anchor="middle">sessions (log scale)</text>`);
    g.push(`<text transform="translate(-52,${ph / 2}) rotate(-90)" text-anchor="middle">${ylabel}</text>`);
    for (const { s, pts } of series) {
      const d = pts.map((r, i) => `${i ? 'L' : 'M'}${lx(r.sessions).toFixed(1)},${yOf(r[key]).toFixed(1)}`).join(' ');
      g.push(`<path d="${d}" fill="none" stroke="${COLORS[s]}" stroke-width="2"${s === 'echo' ? ' stroke-dasharray="6 4"' : ''}/>`);
      for (const r of pts) g.push(`<circle cx="${lx(r.sessions).toFixed(1)}" cy="${yOf(r[key]).toFixed(1)}" r="3" fill="${COLORS[s]}"/>`);
    }
    g.push('</g>');
  };
  const evTicks = [];
  for (let v = 0; v <= evTop; v += evTop / 5) evTicks.push([v, `${Math.round(v / 1000)}k`]);
  panel(M.l, 'events/s (round trips/s for the echo)', evTicks, y1, 'events_per_s', 'events per second');
  const pTicks = [];
  for (let v = pLo; v <= pHi * 1.001; v *= 10) pTicks.push([v, v >= 1 ? String(v) : v.toPrecision(1)]);
  panel(M.l + pw + gap, 'p99 latency, click sent → reply (ms)', pTicks, ly, 'p99_ms', 'p99 ms (log scale)');
  let lxPos = M.l;
  for (const { s } of series) {
    g.push(`<line x1="${lxPos}" x2="${lxPos + 24}" y1="${H - 22}" y2="${H - 22}" stroke="${COLORS[s]}" stroke-width="3"${s === 'echo' ? ' stroke-dasharray="6 4"' : ''}/>`);
    g.push(`<text x="${lxPos + 30}" y="${H - 18}">${esc(NAMES[s])}</text>`);
    lxPos += 34 + NAMES[s].length * 7;
  }
  g.push('</svg>');
  const svg = path.join(outDir, 'peers-clicks.svg');
  fs.mkdirSync(outDir, { recursive: true });
  fs.writeFileSync(svg, g.join('\n') + '\n');
  console.log(`\nplot: ${svg}`);
}

function SECS_OF(rs) {
  const r = rs.find((x) => x.scenario === 'clicks' && x.seconds);
  return r ? r.seconds : '?';
}

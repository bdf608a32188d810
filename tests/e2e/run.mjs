// End-to-end tests in real headless Chromium against a real build/salamander.
// usage: node run.mjs PATH/TO/salamander [--own-client | --official-client | --transport] [SERVER FLAGS...]
// Runs the whole suite twice, once with the project's own client and once with the official
// phoenix_live_view client from npm (`salamander --official-client`, js/build_official.mjs); a
// flag picks one pass. Before them, the transport tests (transport.mjs) run once with raw sockets. Each pass starts its own server on a free loopback port and stops it by
// PID. Prints one combined "e2e: N passed, M failed, K skipped" line.
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { setTimeout as sleep } from 'node:timers/promises';
import { transportSuite } from './transport.mjs';
import { freePort } from '../common/ports.mjs';

const require = createRequire(new URL('../../js/package.json', import.meta.url));
const { chromium } = require('playwright-core');
const WebSocket = require('ws');

const binary = process.argv[2];
const args = process.argv.slice(3);
const only = args.includes('--own-client') ? 'own' : args.includes('--official-client') ? 'official'
  : args.includes('--transport') ? 'transport' : null;
const extraArgs = args.filter(a => a !== '--own-client' && a !== '--official-client' && a !== '--transport');
const CLIENTS = [
  { name: 'own', bundle: /^salamander\.[0-9a-f]{12}\.js$/, flags: [] },
  { name: 'official', bundle: /^official\.[0-9a-f]{12}\.js$/, flags: ['--official-client'] },
].filter(c => !only || c.name === only);
const SECRET = 'e2e-secret-0123456789abcdef';
const deadline = setTimeout(() => { console.error('e2e: global timeout (240 s)'); process.exit(2); }, 240000);

// Starts build/salamander on port with the pass's client; resolves once /thermostat answers.
async function startServer(port, client) {
  const log = [];
  const child = spawn(binary, ['--listen', `127.0.0.1:${port}`, '--schedulers', '2', '--admin', `/tmp/salamander-e2e-${port}.sock`,
                               ...client.flags, ...extraArgs],
    { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, SALAMANDER_SECRET: SECRET } });
  child.stdout.on('data', d => log.push(String(d)));
  child.stderr.on('data', d => log.push(String(d)));
  for (let i = 0; i < 100; i++) {
    try { const r = await fetch(`http://127.0.0.1:${port}/thermostat`); if (r.ok) return { child, log }; } catch { /* not up yet */ }
    if (child.exitCode !== null) break;
    await sleep(100);
  }
  child.kill('SIGKILL');
  throw new Error(`server did not start:\n${log.join('')}`);
}

async function stopServer(server) {
  if (server.child.exitCode !== null || server.child.signalCode !== null) return;
  const exited = new Promise(resolve => server.child.once('exit', resolve));
  server.child.kill('SIGTERM');
  if (await Promise.race([exited.then(() => true), sleep(1000).then(() => false)])) return;
  server.child.kill('SIGKILL');
  await exited;
}

const results = []; // [name, 'pass' | 'fail' | 'skip']
let pass = null;       // the running pass: { client, port, base, server, context }
// opts.skipOfficial: a reason; the test is then reported as skipped in the official client's
// pass only (a known server gap, see the reason), and still runs with our own client.
async function test(name, fn, opts = {}) {
  const full = `[${pass.client.name}] ${name}`;
  if (pass.client.name === 'official' && opts.skipOfficial) {
    results.push([full, 'skip']);
    console.log(`skip ${full}: ${opts.skipOfficial}`);
    return;
  }
  const t0 = Date.now();
  try { await fn(); results.push([full, 'pass']); console.log(`ok   ${full} (${Date.now() - t0} ms)`); }
  catch (e) { results.push([full, 'fail']); pass.failed = true; console.log(`FAIL ${full}: ${e.stack || e}`); }
}
function assert(cond, msg) { if (!cond) throw new Error(msg); }

const browser = await chromium.launch({
  executablePath: '/usr/bin/chromium',
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-quic',
         '--no-first-run', '--disable-component-update', '--disable-sync'],
});

async function openJoined(path) {
  const page = await pass.context.newPage();
  const errors = [];
  page.on('pageerror', e => errors.push(String(e)));
  await page.goto(pass.base + path);
  await page.waitForSelector('[data-phx-main].phx-connected', { timeout: 10000 });
  page.jsErrors = errors;
  return page;
}

// The whole suite, run once per client. Every test reads base/port/server from `pass`.
async function suite() {
  const { base, port } = pass;
  const context = pass.context;

  await test('GET /thermostat is a full page readable without JavaScript', async () => {
    const r = await fetch(base + '/thermostat');
    const html = await r.text();
    assert(r.status === 200, `status ${r.status}`);
    assert(/<div id="phx-[A-Za-z0-9_-]+" data-phx-main data-phx-session="[^"]+" data-phx-static="[^"]+">/.test(html), 'container attributes');
    assert(html.includes('<meta name="csrf-token"'), 'csrf meta');
    assert(/<span id="temp">72<\/span>/.test(html), 'temperature 72');
    assert(/Mode: cooling/.test(html), 'mode');
    assert(/<span id="clock">\d\d:\d\d:\d\d<\/span>/.test(html), 'clock');
    const script = html.match(/<script defer src="\/assets\/([^"]+)">/);
    assert(script && pass.client.bundle.test(script[1]), `hashed ${pass.client.name} client script: ${script && script[1]}`);
    const js = await fetch(base + '/assets/' + script[1]);
    assert(js.status === 200 && /immutable/.test(js.headers.get('cache-control')), 'bundle cached for good');
  });

  await test('HTML responses carry security headers', async () => {
    const r = await fetch(pass.base + '/');
    const csp = r.headers.get('content-security-policy') || '';
    assert(/default-src 'self'/.test(csp) && /frame-ancestors 'none'/.test(csp), `CSP: ${csp}`);
    assert(r.headers.get('x-content-type-options') === 'nosniff', 'nosniff');
  });

  await test('bad joins: tampered or foreign tokens, a wrong CSRF token or the URL of another view are refused', async () => {
    const page = await (await fetch(pass.base + '/thermostat')).text();
    const csrf = page.match(/name="csrf-token" content="([^"]+)"/)[1];
    const [, id, session, stat] = page.match(/<div id="([^"]+)" data-phx-main data-phx-session="([^"]+)" data-phx-static="([^"]+)"/);
    const other = await (await fetch(pass.base + '/thermostat')).text();
    const otherSession = other.match(/data-phx-session="([^"]+)"/)[1];
    const flip = t => t.slice(0, 20) + (t[20] === 'A' ? 'B' : 'A') + t.slice(21);
    const tryJoin = payload => new Promise((resolve, reject) => {
      const ws = new WebSocket(`${pass.base.replace('http', 'ws')}/live/websocket?vsn=2.0.0`);
      ws.on('open', () => ws.send(JSON.stringify(['1', '1', `lv:${id}`, 'phx_join', payload])));
      ws.on('message', d => { ws.close(); resolve(JSON.parse(String(d))[4]); });
      ws.on('error', reject);
    });
    const base = { url: pass.base + '/thermostat', params: { _csrf_token: csrf, _mounts: 0 }, session, static: stat };
    const ok = await tryJoin(base);
    assert(ok.status === 'ok', `a proper join works: ${JSON.stringify(ok)}`);
    for (const [what, payload, reason] of [
      ['tampered session', { ...base, session: flip(session) }, 'stale'],
      ['tampered static', { ...base, static: flip(stat) }, 'stale'],
      ['another page\'s session', { ...base, session: otherSession }, 'stale'],
      ['wrong CSRF token', { ...base, params: { _csrf_token: 'nope', _mounts: 0 } }, 'stale'],
      ['a URL of another view', { ...base, url: pass.base + '/' }, 'unauthorized'],
    ]) {
      const r = await tryJoin(payload);
      assert(r.status === 'error' && r.response.reason === reason, `${what}: ${JSON.stringify(r)}`);
    }
  });

  await test('WebSocket upgrades from a foreign Origin are refused with 403', async () => {
    const code = await new Promise(resolve => {
      const ws = new WebSocket(`${pass.base.replace('http', 'ws')}/live/websocket?vsn=2.0.0`, { origin: 'https://evil.example' });
      ws.on('unexpected-response', (req, res) => resolve(res.statusCode));
      ws.on('open', () => { ws.close(); resolve(101); });
      ws.on('error', () => {});
    });
    assert(code === 403, `status ${code}`);
  });

  await test('a socket sending more than 1000 frames a second is cut off with 1008; others carry on', async () => {
    const closed = await new Promise(resolve => {
      const ws = new WebSocket(`${pass.base.replace('http', 'ws')}/live/websocket?vsn=2.0.0`);
      ws.on('open', () => { for (let i = 0; i < 1500; i++) ws.send(JSON.stringify([null, String(i), 'phoenix', 'heartbeat', {}])); });
      ws.on('close', (code, reason) => resolve({ code, reason: String(reason) }));
    });
    // the close frame says why: the server drains the rest of the flood until the client's close
    // frame, so closing sends no reset that could make the client lose it
    assert(closed.code === 1008 && /rate limit/.test(closed.reason), JSON.stringify(closed));
    await sleep(100);
    assert(/more than 1000 frames per second: disconnected/.test(pass.server.log.join('')), 'logged with the peer');
    const r = await fetch(pass.base + '/thermostat');
    assert(r.ok, 'the server still serves');
  });

  await test('unknown paths get a 404 HTML page', async () => {
    const r = await fetch(base + '/nope');
    assert(r.status === 404, `status ${r.status}`);
    assert(/text\/html/.test(r.headers.get('content-type')) && /404/.test(await r.text()), 'html body');
  });

  await test('thermostat: + twice shows 74 through minimal diffs, and the clock ticks', async () => {
    const page = await openJoined('/thermostat');
    if (pass.client.name === 'official') { // really the npm client, not ours under another name
      const vsn = await page.evaluate(() => typeof window.liveSocket?.version === 'function' && window.liveSocket.version());
      assert(/^1\.2\.\d+$/.test(vsn), `window.liveSocket.version() is ${vsn}`);
    }
    assert((await page.textContent('#temp')) === '72', 'starts at 72');
    await page.click('#inc');
    await page.waitForFunction(() => document.querySelector('#temp').textContent === '73');
    await page.click('#inc');
    await page.waitForFunction(() => document.querySelector('#temp').textContent === '74');
    const clock = await page.textContent('#clock');
    await page.waitForFunction(c => document.querySelector('#clock').textContent !== c, clock, { timeout: 3000 });
    await page.click('#toggle');
    await page.waitForFunction(() => /heating/.test(document.querySelector('#mode').textContent));
    assert(page.jsErrors.length === 0, page.jsErrors.join('\n'));
    await page.close();
  });

  await test('diffs on the wire carry only what changed', async () => {
    const page = await context.newPage();
    const frames = [];
    page.on('websocket', ws => ws.on('framereceived', f => frames.push(String(f.payload))));
    await page.goto(base + '/thermostat');
    await page.waitForSelector('[data-phx-main].phx-connected');
    await page.click('#inc');
    await page.waitForFunction(() => document.querySelector('#temp').textContent === '73');
    const reply = frames.find(f => f.includes('"diff":{"0":"73"'));
    assert(reply, `no {"0":"73"} diff among:\n${frames.join('\n')}`);
    assert(!/"s":/.test(reply), 'a click diff must not resend statics');
    await page.close();
  });

  await test('flash: an error flash in place, an info flash after a live navigation and after a full page load; close buttons clear them', async () => {
    const page = await openJoined('/greeter');
    await page.click('#greet-live'); // no name: an error flash, no navigation
    await page.waitForSelector('#flash-error', { timeout: 5000 });
    await page.click('#flash-error-close');
    await page.waitForSelector('#flash-error', { state: 'detached', timeout: 5000 });
    await page.evaluate(() => { window.e2eSameDocument = true; });
    await page.fill('#name', 'Ada');
    await page.click('#greet-live'); // push_navigate: the flash travels signed in the next join
    await page.waitForFunction(() => document.querySelector('#flash-info')?.textContent.includes('Hello, Ada!'), null, { timeout: 5000 });
    assert(await page.evaluate(() => window.e2eSameDocument === true), 'the live navigation reloaded the page');
    assert((await page.textContent('#mounts')).includes(': 1'), 'a fresh view mounted with the flash');
    await page.click('#flash-info-close');
    await page.waitForSelector('#flash-info', { state: 'detached', timeout: 5000 });
    await page.fill('#name', 'Bob');
    await page.click('#greet-reload'); // redirect: the flash rides in the __phoenix_flash__ cookie
    await page.waitForFunction(() => window.e2eSameDocument !== true && document.querySelector('[data-phx-main].phx-connected'),
                               null, { timeout: 10000 });
    assert((await page.textContent('#flash-info')).includes('Hello, Bob!'), 'flash after the full page load');
    assert(!(await page.evaluate(() => document.cookie)).includes('__phoenix_flash__'), 'the GET cleared the cookie');
    await page.click('#flash-info-close');
    await page.waitForSelector('#flash-info', { state: 'detached', timeout: 5000 });
    await page.reload(); // shown once: a reload brings no flash back
    await page.waitForSelector('[data-phx-main].phx-connected');
    assert(!(await page.$('#flash-info')), 'the flash came back after a reload');
    assert(page.jsErrors.length === 0, page.jsErrors.join('\n'));
    await page.close();
  });

  await test('flash: a tampered __phoenix_flash__ cookie is ignored and logged', async () => {
    const r = await fetch(pass.base + '/greeter', { headers: { cookie: '__phoenix_flash__=eyJmbGFzaCI6e319.AAAA' } });
    const html = await r.text();
    assert(r.status === 200 && !html.includes('flash-info'), 'page without a flash');
    assert(/__phoenix_flash__=; max-age=0/.test(r.headers.get('set-cookie') || ''), 'cookie cleared');
    await sleep(50);
    assert(/flash cookie for view greeter ignored/.test(pass.server.log.join('')), 'logged');
  });

  await test('calculator: submitting 10 shows ∑(1..10) = 55, newest first', async () => {
    const page = await openJoined('/');
    await page.fill('#n', '10');
    await page.press('#n', 'Enter');
    await page.waitForFunction(() => document.querySelector('#results').textContent.includes('∑(1..10) = 55'));
    await page.fill('#n', '4');
    await page.click('button[type=submit]');
    await page.waitForFunction(() => document.querySelector('#results li')?.textContent.includes('∑(1..4) = 10'));
    assert(page.jsErrors.length === 0, page.jsErrors.join('\n'));
    await page.close();
  });

  await test('a malformed frame closes only its own socket, with a reason; others carry on', async () => {
    const bystander = await openJoined('/thermostat');
    const probe = await context.newPage();
    await probe.goto(base + '/nope');
    const closed = await probe.evaluate(url => new Promise(resolve => {
      const ws = new WebSocket(url);
      ws.onopen = () => ws.send('this is not json');
      ws.onclose = e => resolve({ code: e.code, reason: e.reason });
      setTimeout(() => resolve({ code: -1, reason: 'no close' }), 5000);
    }), `ws://127.0.0.1:${port}/live/websocket?vsn=2.0.0`);
    assert(closed.code === 1007 && /malformed frame/.test(closed.reason), JSON.stringify(closed));
    const unknown = await probe.evaluate(url => new Promise(resolve => {
      const ws = new WebSocket(url);
      ws.onopen = () => ws.send(JSON.stringify([null, '1', 'lv:phx-nothing', 'event', { type: 'click', event: 'inc', value: {} }]));
      ws.onmessage = e => resolve(e.data);
      setTimeout(() => resolve('no reply'), 5000);
    }), `ws://127.0.0.1:${port}/live/websocket?vsn=2.0.0`);
    assert(/"status":"error".*unmatched topic/.test(unknown), unknown);
    await bystander.click('#inc');
    await bystander.waitForFunction(() => document.querySelector('#temp').textContent === '73');
    assert(pass.server.log.join('').includes('127.0.0.1:'), 'errors are logged with the peer address');
    await probe.close();
    await bystander.close();
  });

  await test('closing a tab while its clock timer is pending disturbs nothing', async () => {
    const bystander = await openJoined('/thermostat');
    for (let i = 0; i < 5; i++) {
      const victim = await openJoined('/thermostat');
      await sleep(150 + 100 * i);
      await victim.close();
    }
    await sleep(1500); // past every pending tick
    assert(pass.server.child.exitCode === null, 'server died');
    await bystander.click('#inc');
    await bystander.waitForFunction(() => document.querySelector('#temp').textContent === '73');
    const clock = await bystander.textContent('#clock');
    await bystander.waitForFunction(c => document.querySelector('#clock').textContent !== c, clock, { timeout: 3000 });
    await bystander.close();
  });

  // Last: it replaces the pass's server. The calculator's form has phx-submit only, so neither
  // client sends a form-recovery event (that needs phx-change on the form): "123" survives the
  // rejoin because the join patch leaves the focused input's value alone, as a user typing has it.
  await test('server killed mid-session and restarted: the page rejoins, typed input kept, submit works', async () => {
    const page = await openJoined('/');
    await page.fill('#n', '123'); // typed, not submitted; #n keeps the focus
    await page.waitForFunction(() => document.activeElement === document.querySelector('#n'));
    await page.evaluate(() => { window.e2eSameDocument = true; });
    const old = pass.server;
    const exited = new Promise(resolve => old.child.once('exit', resolve));
    process.kill(old.child.pid, 'SIGKILL');
    await exited;
    await page.waitForSelector('[data-phx-main]:not(.phx-connected)', { timeout: 5000 });
    assert((await page.inputValue('#n')) === '123', 'input kept while disconnected');
    pass.server = await startServer(port, pass.client); // same port, same SALAMANDER_SECRET
    await page.waitForSelector('[data-phx-main].phx-connected', { timeout: 15000 });
    assert(await page.evaluate(() => window.e2eSameDocument === true), 'the page reloaded instead of rejoining');
    const kept = await page.inputValue('#n');
    assert(kept === '123', `input after the rejoin holds ${JSON.stringify(kept)}, not "123"`);
    await page.press('#n', 'Enter');
    await page.waitForFunction(() => document.querySelector('#results li')?.textContent.includes('∑(1..123) = 7626'),
                               null, { timeout: 5000 });
    assert(page.jsErrors.length === 0, page.jsErrors.join('\n'));
    await page.close();
  });

  await test('after a restart the edited form is recovered through phx-change, even without focus', async () => {
    const page = await openJoined('/');
    await page.fill('#n', '44');
    await page.click('h1'); // the input loses focus: only form recovery can bring the value back
    await page.waitForFunction(() => document.activeElement !== document.querySelector('#n'));
    const old = pass.server;
    const exited = new Promise(resolve => old.child.once('exit', resolve));
    process.kill(old.child.pid, 'SIGKILL');
    await exited;
    await page.waitForSelector('[data-phx-main]:not(.phx-connected)', { timeout: 5000 });
    pass.server = await startServer(pass.port, pass.client);
    await page.waitForSelector('[data-phx-main].phx-connected', { timeout: 15000 });
    await page.waitForFunction(() => document.querySelector('#n').value === '44', null, { timeout: 5000 });
    await page.click('button[type=submit]');
    await page.waitForFunction(() => document.querySelector('#results li')?.textContent.includes('∑(1..44) = 990'),
                               null, { timeout: 5000 });
    await page.close();
  });
}

const logs = [];
if (!only || only === 'transport') { // raw-socket transport tests, once: they do not depend on the page's client
  console.log('==== transport (raw WebSocket clients)');
  const keepLog = () => pass && pass.failed && logs.push('---- server log (transport) ----\n' + pass.server.log.join('').split('\n').slice(-60).join('\n'));
  await transportSuite({ test, assert, startServer, stopServer, freePort, WebSocket, sleep, setPass: p => { keepLog(); pass = p; } });
  keepLog();
}
for (const client of CLIENTS) {
  const port = await freePort();
  pass = { client, port, base: `http://127.0.0.1:${port}`, failed: false };
  console.log(`==== ${client.name} client${client.flags.length ? ' (' + client.flags.join(' ') + ')' : ''}`);
  pass.server = await startServer(port, client);
  pass.context = await browser.newContext();
  try { await suite(); }
  finally {
    await pass.context.close();
    await stopServer(pass.server);
  }
  if (pass.failed) logs.push(`---- server log (${client.name} client) ----\n` + pass.server.log.join('').split('\n').slice(-60).join('\n'));
}
await browser.close();
clearTimeout(deadline);
const count = k => results.filter(r => r[1] === k).length;
for (const l of logs) console.log(l);
console.log(`e2e: ${count('pass')} passed, ${count('fail')} failed, ${count('skip')} skipped`);
process.exit(count('fail') ? 1 : 0);

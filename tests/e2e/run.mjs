// End-to-end tests in real headless Chromium against a real build/salamander.
// usage: node run.mjs PATH/TO/salamander [--official-client]
// Starts its own server on a free loopback port, stops it by PID, prints "N passed, M failed".
import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { createRequire } from 'node:module';
import { setTimeout as sleep } from 'node:timers/promises';

const require = createRequire(new URL('../../js/package.json', import.meta.url));
const { chromium } = require('playwright-core');

const binary = process.argv[2];
const extraArgs = process.argv.slice(3);
const deadline = setTimeout(() => { console.error('e2e: global timeout (180 s)'); process.exit(2); }, 180000);

function freePort() {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.listen(0, '127.0.0.1', () => { const { port } = srv.address(); srv.close(() => resolve(port)); });
    srv.on('error', reject);
  });
}

async function startServer(port) {
  const log = [];
  const child = spawn(binary, ['--listen', `127.0.0.1:${port}`, '--schedulers', '2', '--admin', `/tmp/salamander-e2e-${port}.sock`, ...extraArgs],
    { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, SALAMANDER_SECRET: 'e2e-secret-0123456789abcdef' } });
  child.stdout.on('data', d => log.push(String(d)));
  child.stderr.on('data', d => log.push(String(d)));
  for (let i = 0; i < 100; i++) {
    try { const r = await fetch(`http://127.0.0.1:${port}/thermostat`); if (r.ok) return { child, log }; } catch { /* not up yet */ }
    if (child.exitCode !== null) break;
    await sleep(100);
  }
  throw new Error(`server did not start:\n${log.join('')}`);
}

const results = [];
async function test(name, fn) {
  const t0 = Date.now();
  try { await fn(); results.push([name, true]); console.log(`ok   ${name} (${Date.now() - t0} ms)`); }
  catch (e) { results.push([name, false]); console.log(`FAIL ${name}: ${e.stack || e}`); }
}
function assert(cond, msg) { if (!cond) throw new Error(msg); }

const port = await freePort();
const base = `http://127.0.0.1:${port}`;
const server = await startServer(port);
const browser = await chromium.launch({
  executablePath: '/usr/bin/chromium',
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-quic',
         '--no-first-run', '--disable-component-update', '--disable-sync'],
});
const context = await browser.newContext();

async function openJoined(path) {
  const page = await context.newPage();
  const errors = [];
  page.on('pageerror', e => errors.push(String(e)));
  await page.goto(base + path);
  await page.waitForSelector('[data-phx-main].phx-connected', { timeout: 10000 });
  page.jsErrors = errors;
  return page;
}

await test('GET /thermostat is a full page readable without JavaScript', async () => {
  const r = await fetch(base + '/thermostat');
  const html = await r.text();
  assert(r.status === 200, `status ${r.status}`);
  assert(/<div id="phx-[A-Za-z0-9_-]+" data-phx-main data-phx-session="[^"]+" data-phx-static="[^"]+">/.test(html), 'container attributes');
  assert(html.includes('<meta name="csrf-token"'), 'csrf meta');
  assert(/<span id="temp">72<\/span>/.test(html), 'temperature 72');
  assert(/Mode: cooling/.test(html), 'mode');
  assert(/<span id="clock">\d\d:\d\d:\d\d<\/span>/.test(html), 'clock');
  const script = html.match(/<script defer src="(\/assets\/salamander\.[0-9a-f]{12}\.js)">/);
  assert(script, 'hashed client script');
  const js = await fetch(base + script[1]);
  assert(js.status === 200 && /immutable/.test(js.headers.get('cache-control')), 'bundle cached for good');
});

await test('unknown paths get a 404 HTML page', async () => {
  const r = await fetch(base + '/nope');
  assert(r.status === 404, `status ${r.status}`);
  assert(/text\/html/.test(r.headers.get('content-type')) && /404/.test(await r.text()), 'html body');
});

await test('thermostat: + twice shows 74 through minimal diffs, and the clock ticks', async () => {
  const page = await openJoined('/thermostat');
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
  assert(server.log.join('').includes('127.0.0.1:'), 'errors are logged with the peer address');
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
  assert(server.child.exitCode === null, 'server died');
  await bystander.click('#inc');
  await bystander.waitForFunction(() => document.querySelector('#temp').textContent === '73');
  const clock = await bystander.textContent('#clock');
  await bystander.waitForFunction(c => document.querySelector('#clock').textContent !== c, clock, { timeout: 3000 });
  await bystander.close();
});

await browser.close();
server.child.kill('SIGTERM');
await sleep(200);
if (server.child.exitCode === null) server.child.kill('SIGKILL');
clearTimeout(deadline);
const passed = results.filter(r => r[1]).length, failed = results.length - passed;
if (failed) console.log('---- server log ----\n' + server.log.join('').split('\n').slice(-60).join('\n'));
console.log(`e2e: ${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);

// Transport limits, with raw WebSocket clients (no browser), run once rather than per client:
// the idle timeout (--idle-timeout) and the bounded outgoing queue (a client that stops reading
// is dropped, the server keeps serving and its memory stays bounded). Each test starts its own
// server on a free loopback port and stops it by PID (run.mjs's helpers).

// Opens a socket, joins /thermostat with the tokens of a fresh GET, resolves with the socket
// once the join reply came.
async function joinThermostat(base, WebSocket) {
  const page = await (await fetch(base + '/thermostat')).text();
  const csrf = page.match(/name="csrf-token" content="([^"]+)"/)[1];
  const [, id, session, stat] = page.match(/<div id="([^"]+)" data-phx-main data-phx-session="([^"]+)" data-phx-static="([^"]+)"/);
  const ws = new WebSocket(`${base.replace('http', 'ws')}/live/websocket?vsn=2.0.0`);
  await new Promise((resolve, reject) => {
    ws.on('open', () => ws.send(JSON.stringify(['1', '1', `lv:${id}`, 'phx_join',
      { url: base + '/thermostat', params: { _csrf_token: csrf, _mounts: 0 }, session, static: stat }])));
    ws.once('message', d => (JSON.parse(String(d))[4].status === 'ok' ? resolve() : reject(new Error(String(d)))));
    ws.on('error', reject);
  });
  return ws;
}

const closed = ws => new Promise(resolve => {
  if (ws.readyState === 3) return resolve({ code: -1, reason: 'already closed' });
  ws.on('close', (code, reason) => resolve({ code, reason: String(reason), at: Date.now() }));
  ws.on('error', () => {});
});

function rssKiB(pid) {
  return import('node:fs').then(fs => Number(fs.readFileSync(`/proc/${pid}/status`, 'utf8').match(/VmRSS:\s+(\d+)/)[1]));
}

export async function transportSuite({ test, assert, startServer, stopServer, freePort, WebSocket, sleep, setPass }) {
  {
    const port = await freePort();
    const server = await startServer(port, { name: 'transport', flags: ['--idle-timeout', '2'] });
    setPass({ client: { name: 'transport' }, port, base: `http://127.0.0.1:${port}`, server });
    const base = `http://127.0.0.1:${port}`;
    await test('--idle-timeout: a silent socket is closed with 1001 and a log line; a heartbeating one stays', async () => {
      const silent = await joinThermostat(base, WebSocket);
      const silentClosed = closed(silent);
      const t0 = Date.now();
      const chatty = new WebSocket(`${base.replace('http', 'ws')}/live/websocket?vsn=2.0.0`);
      let replies = 0;
      chatty.on('message', d => { if (/"phoenix","phx_reply"/.test(String(d))) replies++; });
      await new Promise(resolve => chatty.on('open', resolve));
      let ref = 0;
      const beat = setInterval(() => chatty.send(JSON.stringify([null, String(++ref), 'phoenix', 'heartbeat', {}])), 700);
      const chattyClosed = closed(chatty);
      const r = await Promise.race([silentClosed, sleep(6000).then(() => null)]);
      assert(r, 'the silent socket was not closed within 6 s');
      const after = r.at - t0;
      assert(r.code === 1001 && r.reason === 'idle timeout', JSON.stringify(r));
      assert(after >= 1500 && after < 4500, `closed after ${after} ms, want about 2000`);
      await sleep(2500); // the chatty one has now lived well past two timeouts
      clearInterval(beat);
      assert(chatty.readyState === 1, 'the heartbeating socket was closed');
      assert(replies >= 5, `heartbeats answered: ${replies}`);
      assert(/nothing received for 2 s: closed \(idle timeout\)/.test(server.log.join('')), 'logged');
      chatty.close();
      await chattyClosed;
    });
    await stopServer(server);
  }
  {
    const port = await freePort();
    // the frame rate limit is raised so that one client can ask for replies faster than it reads
    const server = await startServer(port, { name: 'transport', flags: ['--max-events', '1000000'] });
    setPass({ client: { name: 'transport' }, port, base: `http://127.0.0.1:${port}`, server });
    const base = `http://127.0.0.1:${port}`;
    await test('a client that stops reading is dropped within bounded time; others carry on; memory stays bounded', async () => {
      const before = await rssKiB(server.child.pid);
      const reader = await joinThermostat(base, WebSocket);
      const t0 = Date.now();
      const hog = await joinThermostat(base, WebSocket);
      hog._socket.pause(); // reads nothing from now on: every reply queues up on the server
      const hogClosed = closed(hog);
      // ~16 MB of heartbeat replies: more than the kernel's buffers plus the 4 MiB queue
      const frame = i => JSON.stringify([null, String(i), 'phoenix', 'heartbeat', {}]);
      let dropped = false;
      for (let i = 0; i < 300000 && !dropped; i++) {
        if (hog.readyState !== 1) break;
        hog.send(frame(i));
        if (i % 20000 === 0) {
          await sleep(20); // let the server read and answer
          dropped = /client is not reading \(\d+ bytes queued\): disconnected/.test(server.log.join(''));
        }
      }
      for (let i = 0; i < 150 && !dropped; i++) {
        await sleep(100);
        dropped = /client is not reading \(\d+ bytes queued\): disconnected/.test(server.log.join(''));
      }
      assert(dropped, `no "not reading" disconnect logged after ${Date.now() - t0} ms`);
      assert(Date.now() - t0 < 20000, `took ${Date.now() - t0} ms`);
      hog._socket.resume(); // it reads what reached its buffers, then finds the connection closed
      const r = await Promise.race([hogClosed, sleep(10000).then(() => null)]);
      assert(r, 'the non-reading socket is still open');
      const peak = await rssKiB(server.child.pid);
      // the bystander's session still answers, and new pages are served
      const answered = new Promise(resolve => reader.on('message', d => /"phx_reply"/.test(String(d)) && resolve(true)));
      reader.send(JSON.stringify([null, '99', 'phoenix', 'heartbeat', {}]));
      assert(await Promise.race([answered, sleep(3000).then(() => false)]), 'the other session got no reply');
      assert((await fetch(base + '/thermostat')).ok, 'pages are still served');
      assert(peak - before < 64 * 1024, `RSS grew by ${peak - before} KiB`);
      reader.close();
    });
    await stopServer(server);
  }
}

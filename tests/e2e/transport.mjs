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

// A client frame as RFC 6455 wants it: FIN, opcode, masked payload.
function maskedFrame(opcode, text) {
  const payload = Buffer.from(text);
  const n = payload.length;
  const head = n < 126 ? Buffer.from([0x80 | opcode, 0x80 | n])
    : n < 65536 ? Buffer.from([0x80 | opcode, 0x80 | 126, n >> 8, n & 255])
    : Buffer.concat([Buffer.from([0x80 | opcode, 0x80 | 127, 0, 0, 0, 0]), Buffer.from([n >>> 24, (n >> 16) & 255, (n >> 8) & 255, n & 255])]);
  const mask = Buffer.from([0x37, 0xfa, 0x21, 0x3d]);
  const body = Buffer.alloc(n);
  for (let i = 0; i < n; i++) body[i] = payload[i] ^ mask[i & 3];
  return Buffer.concat([head, mask, body]);
}

// Server frames out of a byte stream that starts with the 101 response (unmasked, unfragmented
// frames: what Salamander sends).
function frameReader(sock) {
  let buf = Buffer.alloc(0), head = true;
  const frames = [];
  let wake = null;
  sock.on('data', d => {
    buf = Buffer.concat([buf, d]);
    if (head) {
      const end = buf.indexOf('\r\n\r\n');
      if (end < 0) return;
      frames.push({ opcode: -1, text: buf.subarray(0, end).toString() });
      buf = buf.subarray(end + 4);
      head = false;
    }
    for (;;) {
      if (buf.length < 2) break;
      let len = buf[1] & 127, off = 2;
      if (len === 126) { if (buf.length < 4) break; len = buf.readUInt16BE(2); off = 4; }
      else if (len === 127) { if (buf.length < 10) break; len = Number(buf.readBigUInt64BE(2)); off = 10; }
      if (buf.length < off + len) break;
      frames.push({ opcode: buf[0] & 15, text: buf.subarray(off, off + len).toString() });
      buf = buf.subarray(off + len);
    }
    if (wake) wake();
  });
  // resolves with the first frame (from now on) whose text matches re, or null after ms
  return async (re, ms = 3000) => {
    const t0 = Date.now();
    for (;;) {
      const i = frames.findIndex(f => re.test(f.text));
      if (i >= 0) return frames.splice(i, 1)[0];
      if (Date.now() - t0 > ms) return null;
      await new Promise(r => { wake = r; setTimeout(r, 50); });
    }
  };
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
  {
    const port = await freePort();
    const server = await startServer(port, { name: 'transport', flags: [] });
    setPass({ client: { name: 'transport' }, port, base: `http://127.0.0.1:${port}`, server });
    const base = `http://127.0.0.1:${port}`;
    await test('frames however TCP cuts them: behind the upgrade request, byte by byte, larger than a read', async () => {
      const net = await import('node:net');
      const page = await (await fetch(base + '/thermostat')).text();
      const csrf = page.match(/name="csrf-token" content="([^"]+)"/)[1];
      const [, id, session, stat] = page.match(/<div id="([^"]+)" data-phx-main data-phx-session="([^"]+)" data-phx-static="([^"]+)"/);
      const sock = net.connect(port, '127.0.0.1');
      await new Promise((resolve, reject) => { sock.on('connect', resolve); sock.on('error', reject); });
      const next = frameReader(sock);
      const join = JSON.stringify(['1', '1', `lv:${id}`, 'phx_join',
        { url: base + '/thermostat', params: { _csrf_token: csrf, _mounts: 0 }, session, static: stat }]);
      // the join frame in the same write as the upgrade request
      sock.write(Buffer.concat([Buffer.from('GET /live/websocket?vsn=2.0.0 HTTP/1.1\r\nHost: 127.0.0.1\r\n' +
        'Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n' +
        'Sec-WebSocket-Version: 13\r\n\r\n'), maskedFrame(1, join)]));
      const status = await next(/^HTTP\/1\.1 /);
      assert(status && /^HTTP\/1\.1 101/.test(status.text), `upgrade: ${status && status.text}`);
      const joined = await next(/"phx_reply"/);
      assert(joined && JSON.parse(joined.text)[4].status === 'ok', `join: ${joined && joined.text.slice(0, 200)}`);
      // a click, one byte per write
      const click = maskedFrame(1, JSON.stringify(['1', '2', `lv:${id}`, 'event', { type: 'click', event: 'inc', value: {} }]));
      for (const b of click) { sock.write(Buffer.from([b])); await sleep(2); }
      const clicked = await next(/^\["1","2"/);
      assert(clicked && /"status":"ok"/.test(clicked.text), `click: ${clicked && clicked.text.slice(0, 200)}`);
      // a 300 KB message (several reads), sent in 7 KB pieces: answered, the session lives on
      const big = maskedFrame(1, JSON.stringify(['1', '3', `lv:${id}`, 'event', { type: 'click', event: 'inc', value: { pad: 'x'.repeat(300000) } }]));
      for (let o = 0; o < big.length; o += 7000) { sock.write(big.subarray(o, o + 7000)); await sleep(1); }
      const bigReply = await next(/^\["1","3"/);
      assert(bigReply && /"status":"ok"/.test(bigReply.text), `big message: ${bigReply && bigReply.text.slice(0, 200)}`);
      // two frames in one write
      sock.write(Buffer.concat([maskedFrame(1, JSON.stringify([null, '4', 'phoenix', 'heartbeat', {}])),
        maskedFrame(1, JSON.stringify([null, '5', 'phoenix', 'heartbeat', {}]))]));
      assert(await next(/^\[null,"4"/) && await next(/^\[null,"5"/), 'both heartbeats answered');
      // a close frame is answered with one, then the server closes
      const ended = new Promise(resolve => sock.on('close', resolve));
      sock.write(maskedFrame(8, ''));
      const closeFrame = await next(/^/);
      assert(closeFrame && closeFrame.opcode === 8, `close answered: ${JSON.stringify(closeFrame)}`);
      assert(await Promise.race([ended.then(() => true), sleep(3000).then(() => false)]), 'the server did not close the socket');
    });
    await stopServer(server);
  }
}

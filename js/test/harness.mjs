// Test harness: the real bundle (esbuild, as shipped) evaluated in a jsdom window whose
// WebSocket is a scripted fake. Frames the client sends are recorded; the test plays the server.
import { build } from "esbuild";
import { JSDOM, VirtualConsole } from "jsdom";
import { fileURLToPath } from "node:url";
import { dirname, join } from "node:path";

const here = dirname(fileURLToPath(import.meta.url));
let bundle;
export async function clientBundle() {
  if (!bundle) {
    const r = await build({
      entryPoints: [join(here, "../src/index.js")],
      bundle: true,
      format: "iife",
      target: "es2019",
      write: false,
      logLevel: "silent",
    });
    bundle = r.outputFiles[0].text;
  }
  return bundle;
}

const open = new Set();
// closes every page still open (a failed assertion skips the test's own close)
export function closeAll() {
  for (const w of open) w.close();
  open.clear();
}

export const tick = (ms = 0) => new Promise((r) => setTimeout(r, ms));

export async function until(cond, what = "condition", ms = 3000) {
  const end = Date.now() + ms;
  for (;;) {
    const v = cond();
    if (v) return v;
    if (Date.now() > end) throw new Error("timed out waiting for " + what);
    await tick(2);
  }
}

export const COUNTER = {
  s: ['<button phx-click="inc" phx-value-by="2">+</button><span>', "</span>"],
  0: "0",
  t: "Counter 0",
};

// Opens a page with one container; `ownSocket` makes the page create its LiveSocket itself
// (with opts) instead of the auto-boot.
export async function page({ body, opts, ownSocket = !!opts, url = "http://example.com/counter", id = "phx-GAbc", title = "" } = {}) {
  const errors = [];
  const vc = new VirtualConsole();
  vc.on("jsdomError", (e) => errors.push(e));
  vc.on("error", (...a) => errors.push(a.join(" ")));
  const html =
    `<!DOCTYPE html><html><head><meta name="csrf-token" content="T"><title${title}>x</title></head><body>` +
    `<div id="${id}" data-phx-main data-phx-session="S1" data-phx-static="S2">${body || ""}</div></body></html>`;
  const dom = new JSDOM(html, { url, runScripts: "outside-only", pretendToBeVisual: true, virtualConsole: vc });
  const w = dom.window;
  open.add(w);
  const sockets = [];
  class FakeWS {
    constructor(url) {
      this.url = url;
      this.readyState = 0;
      this.sent = [];
      this.closed = null;
      sockets.push(this);
    }
    send(data) {
      if (this.readyState !== 1) throw new Error("send on a socket that is not open");
      this.sent.push(JSON.parse(data));
    }
    close(code, reason) {
      this.closed = { code, reason };
      this.readyState = 3;
    }
    // server side
    open() {
      this.readyState = 1;
      this.onopen && this.onopen({});
    }
    recv(frame) {
      this.onmessage && this.onmessage({ data: JSON.stringify(frame) });
    }
    serverClose(code = 1011) {
      this.readyState = 3;
      this.onclose && this.onclose({ code, reason: "", wasClean: true });
    }
  }
  w.WebSocket = FakeWS;
  const nav = [];
  w.eval(await clientBundle());
  let ls;
  if (ownSocket) {
    ls = new w.Salamander.LiveSocket("/live", opts);
    ls.connect();
  }
  await tick(1);
  ls = w.liveSocket;
  ls.reloadPage = () => nav.push(["reload"]);
  ls.visit = (to) => nav.push(["visit", to]);
  const container = () => w.document.getElementById(id);
  const ws = () => sockets[sockets.length - 1];
  const t = {
    dom,
    w,
    doc: w.document,
    ls,
    sockets,
    ws,
    nav,
    errors,
    container,
    topic: "lv:" + id,
    sent: () => ws().sent,
    last: () => ws().sent[ws().sent.length - 1],
    // frames for the view topic with this event
    frames: (event) => ws().sent.filter((f) => f[3] === event),
    async nextFrame(event, from = 0) {
      return until(() => ws().sent.slice(from).find((f) => f[3] === event), event + " frame");
    },
    reply(frame, response, status = "ok") {
      ws().recv([frame[0], frame[1], frame[2], "phx_reply", { status, response }]);
    },
    push(event, payload) {
      ws().recv([t.joinRef, null, t.topic, event, payload]);
    },
    // open the socket and answer the join with `rendered`
    async join(rendered = COUNTER, extra = {}) {
      const n = ws().sent.length;
      if (ws().readyState !== 1) ws().open();
      const f = await t.nextFrame("phx_join", n);
      t.joinRef = f[0];
      t.reply(f, Object.assign({ liveview_version: "1.2.12", rendered: JSON.parse(JSON.stringify(rendered)) }, extra));
      return f;
    },
    click(el) {
      el.dispatchEvent(new w.MouseEvent("click", { bubbles: true, cancelable: true, button: 0 }));
    },
    close() {
      open.delete(w);
      w.close();
    },
  };
  return t;
}

// A tiny scripted LiveView server (Phoenix Channels V2 over `ws`) serving one counter + form
// page with the built client bundle: enough to drive the client in a real browser.
// Standalone: node test/fake_server.mjs [PORT]  (builds the bundle, prints the URL)
import { createServer } from "node:http";
import { readFileSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, dirname } from "node:path";
import { execFileSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { WebSocketServer } from "ws";

const here = dirname(fileURLToPath(import.meta.url));

export function buildBundle() {
  const dir = mkdtempSync(join(tmpdir(), "salamander-js-"));
  const out = execFileSync(process.execPath, [join(here, "../build.mjs"), dir], { encoding: "utf8" });
  const name = JSON.parse(readFileSync(join(dir, "manifest.json"), "utf8"))["salamander.js"];
  return { dir, name, code: readFileSync(join(dir, name)), log: out };
}

const esc = (s) => String(s).replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");

const STATICS = [
  '<h1 id="title">Counter</h1><button id="inc" phx-click="inc" phx-value-by="2">+</button><span id="count">',
  '</span><form id="f" phx-change="validate" phx-submit="save"><input id="name" name="user[name]" value="',
  '"><button id="save" name="go" value="yes" phx-disable-with="Saving...">Save</button></form><p id="msg">',
  '</p><div id="hook" phx-hook="Echo">',
  "</div>",
];

function initial() {
  return { count: 0, name: "", msg: "", hook: "" };
}
const render = (st) => ({ s: STATICS, 0: String(st.count), 1: esc(st.name), 2: esc(st.msg), 3: esc(st.hook), t: "Count " + st.count });

export async function startFakeServer({ port = 0, saveDelayMs = 0 } = {}) {
  const bundle = buildBundle();
  const log = []; // every frame the server received
  const sockets = new Set();
  const page = (id) =>
    `<!DOCTYPE html><html><head><meta charset="utf-8"><meta name="csrf-token" content="CSRF">` +
    `<title data-suffix=" · fake">Counter</title>` +
    `<script>window.hookLog = []; window.SalamanderHooks = {Echo: {` +
    ` mounted() { hookLog.push(["mounted", this.el.id]);` +
    ` this.handleEvent("flash", (p) => hookLog.push(["flash", p]));` +
    ` this.pushEvent("hook-hello", {n: 1}, (reply) => hookLog.push(["reply", reply])); },` +
    ` updated() { hookLog.push(["updated", this.el.textContent]); },` +
    ` disconnected() { hookLog.push(["disconnected"]); }, reconnected() { hookLog.push(["reconnected"]); }}};</script>` +
    `<script defer src="/assets/${bundle.name}"></script></head><body>` +
    `<div id="${id}" data-phx-main data-phx-session="SESSION" data-phx-static="STATIC">` +
    STATICS.reduce((acc, s, i) => acc + s + (i < 4 ? esc([0, "", "", ""][i]) : ""), "") +
    `</div></body></html>`;

  const http = createServer((req, res) => {
    if (req.url === "/assets/" + bundle.name) {
      res.writeHead(200, { "content-type": "text/javascript", "cache-control": "public, max-age=31536000, immutable" });
      return res.end(bundle.code);
    }
    if (req.url.startsWith("/counter") || req.url === "/") {
      res.writeHead(200, { "content-type": "text/html; charset=utf-8" });
      return res.end(page("phx-F" + Math.random().toString(36).slice(2, 10)));
    }
    if (req.url === "/favicon.ico") return res.writeHead(204).end();
    res.writeHead(404).end("not found");
  });
  const wss = new WebSocketServer({ server: http, path: "/live/websocket" });
  wss.on("connection", (ws, req) => {
    sockets.add(ws);
    ws.reqUrl = req.url;
    const views = new Map(); // topic -> {jr, st}
    const send = (f) => ws.readyState === 1 && ws.send(JSON.stringify(f));
    ws.views = views;
    ws.pushTo = (event, payload) => views.forEach((v, topic) => send([v.jr, null, topic, event, payload]));
    ws.on("close", () => sockets.delete(ws));
    ws.on("message", (data) => {
      const f = JSON.parse(String(data));
      const [jr, ref, topic, event, payload] = f;
      log.push(f);
      const reply = (response, status = "ok") => send([jr, ref, topic, "phx_reply", { status, response }]);
      if (topic === "phoenix") return reply({});
      if (event === "phx_join") {
        const v = { jr, st: initial() };
        views.set(topic, v);
        return reply({ liveview_version: "1.2.12", rendered: render(v.st) });
      }
      const v = views.get(topic);
      if (event === "phx_leave") {
        views.delete(topic);
        return reply({});
      }
      if (!v || v.jr !== jr) return reply({ reason: "unmatched topic" }, "error");
      if (event !== "event") return reply({});
      const st = v.st;
      const { type, event: name, value } = payload;
      if (name === "inc") {
        st.count += +value.by;
        return reply({ diff: { 0: String(st.count), t: "Count " + st.count } });
      }
      if (name === "validate" || name === "save") {
        const q = new URLSearchParams(value);
        st.name = q.get("user[name]") || "";
        st.msg = name === "save" ? "saved " + st.name + " via " + q.get("go") : st.name.length < 3 ? "too short" : "ok";
        const diff = { 1: esc(st.name), 2: esc(st.msg) };
        if (name === "save" && saveDelayMs) return setTimeout(() => reply({ diff }), saveDelayMs);
        return reply({ diff });
      }
      if (type === "hook") {
        st.hook = "hello " + JSON.stringify(value);
        return reply({ diff: { 3: esc(st.hook), r: { got: value }, e: [["flash", { text: "hi" }]] } });
      }
      reply({});
    });
  });
  await new Promise((r) => http.listen(port, "127.0.0.1", r));
  const url = `http://127.0.0.1:${http.address().port}/counter`;
  return {
    url,
    bundle,
    log,
    sockets,
    // server-side failures for the client to survive
    dropSockets: (code = 1011) => sockets.forEach((ws) => ws.close(code)),
    crashViews: () =>
      sockets.forEach((ws) => {
        ws.views.forEach((v, topic) => ws.send(JSON.stringify([v.jr, v.jr, topic, "phx_error", { reason: "channel_crash" }])));
        ws.views.clear();
      }),
    pushAll: (event, payload) => sockets.forEach((ws) => ws.pushTo(event, payload)),
    close: () =>
      new Promise((r) => {
        sockets.forEach((ws) => ws.terminate());
        wss.close();
        http.close(r);
      }),
  };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const s = await startFakeServer({ port: +(process.argv[2] || 4010) });
  process.stdout.write(s.bundle.log);
  console.log("fake LiveView server at " + s.url + " (Ctrl-C to stop)");
}

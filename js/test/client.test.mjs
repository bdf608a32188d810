// The client in jsdom against a fake WebSocket: frames it sends and how it patches the DOM.
import { test, afterEach } from "node:test";
import assert from "node:assert/strict";
import { page, until, tick, COUNTER, closeAll } from "./harness.mjs";

afterEach(closeAll);

// objects made in the page realm compare by value only
const plain = (v) => JSON.parse(JSON.stringify(v));

test("join frame, WebSocket URL, join patch and classes", async () => {
  const t = await page({ body: "<span>static render</span>" });
  assert.equal(t.ws().url, "ws://example.com/live/websocket?_csrf_token=T&_mounts=0&vsn=2.0.0");
  assert.ok(t.container().classList.contains("phx-loading"));
  const f = await t.join();
  assert.equal(f[0], f[1]);
  assert.deepEqual(f.slice(2), [
    "lv:phx-GAbc",
    "phx_join",
    { params: { _csrf_token: "T", _mounts: 0, _mount_attempts: 0 }, session: "S1", static: "S2", sticky: false, url: "http://example.com/counter" },
  ]);
  assert.equal(t.container().innerHTML, '<button phx-click="inc" phx-value-by="2">+</button><span>0</span>');
  assert.equal(t.container().className, "phx-connected");
  assert.equal(t.doc.title, "Counter 0");
  assert.equal(t.w.liveSocket, t.ls);
  assert.equal(typeof t.w.Salamander.LiveSocket, "function");
  t.close();
});

test("transcript (b): click pushes the event, the reply diff patches, then unlocks", async () => {
  const t = await page();
  await t.join();
  const btn = t.container().querySelector("button");
  t.click(btn);
  const f = t.last();
  assert.deepEqual(f, [t.joinRef, f[1], "lv:phx-GAbc", "event", { type: "click", event: "inc", value: { by: "2", value: "" } }]);
  assert.ok(+f[1] > +t.joinRef);
  assert.ok(btn.classList.contains("phx-click-loading"));
  assert.equal(btn.getAttribute("data-phx-ref-lock"), f[1]);
  t.reply(f, { diff: { 0: "1" } });
  assert.equal(t.container().querySelector("span").textContent, "1");
  assert.equal(t.container().querySelector("button"), btn, "the button element is kept");
  assert.ok(!btn.classList.contains("phx-click-loading"));
  assert.ok(!btn.hasAttribute("data-phx-ref-lock"));
  // a pushed diff with title and events
  let got = null;
  t.w.addEventListener("phx:highlight", (e) => (got = e.detail));
  t.push("diff", { 0: "7", t: "Seven", e: [["highlight", { id: 1 }]] });
  assert.equal(t.container().querySelector("span").textContent, "7");
  assert.equal(t.doc.title, "Seven");
  assert.deepEqual(plain(got), { id: 1 });
  t.close();
});

test("a diff that arrives while the clicked element is locked waits for its reply", async () => {
  const t = await page();
  await t.join({ s: ['<button id="b" phx-click="x">', "</button><i>", "</i>"], 0: "go", 1: "0" });
  const btn = t.doc.getElementById("b");
  t.click(btn);
  const f = t.last();
  t.push("diff", { 0: "changed", 1: "1" });
  assert.equal(btn.textContent, "go", "locked element not patched");
  assert.equal(t.container().querySelector("i").textContent, "1", "the rest is");
  t.reply(f, {});
  assert.equal(btn.textContent, "changed");
  t.close();
});

test("phx-value-*, element values, checkboxes, divs, and a phx-target cid", async () => {
  const t = await page();
  await t.join({
    s: [
      '<div id="d" phx-click="d" phx-value-Foo-Bar="x"></div><li id="l" phx-click="l"></li>' +
        '<input id="c" type="checkbox" value="on" phx-click="c"><a id="a" href="#" phx-click="a" phx-target="3">a</a>',
    ],
  });
  for (const id of ["d", "l", "c", "a"]) t.click(t.doc.getElementById(id));
  const ev = t.frames("event").map((f) => f[4]);
  assert.deepEqual(ev[0], { type: "click", event: "d", value: { "foo-bar": "x" } });
  assert.deepEqual(ev[1], { type: "click", event: "l", value: { value: 0 } });
  // clicking toggles the checkbox on before the handler runs: it is checked
  assert.deepEqual(ev[2], { type: "click", event: "c", value: { value: "on" } });
  assert.deepEqual(ev[3], { type: "click", event: "a", value: {}, cid: 3 });
  t.close();
});

test("phx-target selector pushes to the owning component", async () => {
  const t = await page();
  await t.join({ s: ['<button id="b" phx-click="go" phx-target="#box">b</button>', ""], 0: 4, c: { 4: { s: ['<div id="box">', "</div>"], 0: "c", r: 1 } } });
  t.click(t.doc.getElementById("b"));
  assert.deepEqual(t.last()[4], { type: "click", event: "go", value: { value: "" }, cid: 4 });
  t.close();
});

const FORM = {
  s: [
    '<form id="f" phx-change="validate" phx-submit="save" phx-value-extra="x">' +
      '<input id="name" name="user[name]" value="' +
      '"><input id="email" name="user[email]" value=""><input type="hidden" name="h" value="1">' +
      '<button id="go" name="btn" value="go" phx-disable-with="Saving...">Save</button></form><p>',
    "</p>",
  ],
  0: "",
};

test("phx-change: form data, _target, _unused_ fields, meta from phx-value-*", async () => {
  const t = await page();
  await t.join(FORM);
  const name = t.doc.getElementById("name");
  name.value = "bobby";
  name.dispatchEvent(new t.w.Event("input", { bubbles: true }));
  const f = t.last();
  assert.deepEqual(f[4], {
    type: "form",
    event: "validate",
    value: "user%5Bname%5D=bobby&user%5B_unused_email%5D=&user%5Bemail%5D=&h=1",
    meta: { _target: "user[name]", extra: "x" },
    uploads: {},
  });
  const form = t.doc.getElementById("f");
  assert.ok(form.classList.contains("phx-change-loading") && name.classList.contains("phx-change-loading"));
  // the change event right after an input event is not sent again
  name.dispatchEvent(new t.w.Event("change", { bubbles: true }));
  assert.equal(t.frames("event").length, 1);
  t.reply(f, { diff: { 0: "ok" } });
  assert.ok(!form.classList.contains("phx-change-loading"));
  assert.equal(t.container().querySelector("p").textContent, "ok");
  t.close();
});

test("phx-submit: preventDefault, submitter pair, disable-with, submit-loading until the reply", async () => {
  const t = await page();
  await t.join(FORM);
  t.doc.getElementById("name").value = "bobby";
  const go = t.doc.getElementById("go");
  const form = t.doc.getElementById("f");
  const e = new t.w.SubmitEvent("submit", { bubbles: true, cancelable: true, submitter: go });
  form.dispatchEvent(e);
  assert.ok(e.defaultPrevented);
  const f = t.last();
  assert.deepEqual(f[4], { type: "form", event: "save", value: "user%5Bname%5D=bobby&user%5Bemail%5D=&h=1&btn=go", meta: { extra: "x" } });
  assert.ok(form.classList.contains("phx-submit-loading"));
  assert.equal(go.textContent, "Saving...");
  assert.ok(go.disabled);
  assert.ok(t.doc.getElementById("name").readOnly);
  // a second submit while in flight is ignored
  form.dispatchEvent(new t.w.SubmitEvent("submit", { bubbles: true, cancelable: true, submitter: go }));
  assert.equal(t.frames("event").length, 1);
  t.reply(f, { diff: { 0: "saved" } });
  assert.equal(go.textContent, "Save");
  assert.ok(!go.disabled);
  assert.ok(!t.doc.getElementById("name").readOnly);
  assert.ok(!form.classList.contains("phx-submit-loading"));
  assert.equal(t.container().querySelector("p").textContent, "saved");
  t.close();
});

test("keyup with phx-key filter, window keydown, blur and focus", async () => {
  const t = await page();
  await t.join({ s: ['<input id="k" phx-keyup="typed" phx-key="Enter" value="kv"><input id="f" phx-focus="in" phx-blur="out"><div phx-window-keydown="wk"></div>'] });
  const k = t.doc.getElementById("k");
  k.dispatchEvent(new t.w.KeyboardEvent("keyup", { key: "a", bubbles: true }));
  assert.equal(t.frames("event").length, 0);
  k.dispatchEvent(new t.w.KeyboardEvent("keyup", { key: "Enter", bubbles: true }));
  assert.deepEqual(t.last()[4], { type: "keyup", event: "typed", value: { key: "Enter", value: "kv" } });
  t.doc.body.dispatchEvent(new t.w.KeyboardEvent("keydown", { key: "Escape", bubbles: true }));
  assert.deepEqual(t.last()[4], { type: "keydown", event: "wk", value: { key: "Escape" } });
  const f = t.doc.getElementById("f");
  f.focus();
  assert.deepEqual(t.last()[4], { type: "focus", event: "in", value: { value: "" } });
  f.blur();
  assert.deepEqual(t.last()[4], { type: "blur", event: "out", value: { value: "" } });
  t.close();
});

test("phx-debounce and phx-throttle", async () => {
  const t = await page();
  await t.join({ s: ['<form phx-change="v"><input id="d" name="d" phx-debounce="30"></form><button id="b" phx-click="c" phx-throttle="40">b</button>'] });
  const d = t.doc.getElementById("d");
  for (const v of ["a", "ab", "abc"]) {
    d.value = v;
    d.dispatchEvent(new t.w.Event("input", { bubbles: true }));
  }
  assert.equal(t.frames("event").length, 0);
  await until(() => t.frames("event").length === 1, "debounced change");
  assert.equal(t.frames("event")[0][4].value, "d=abc");
  const b = t.doc.getElementById("b");
  t.click(b);
  t.click(b);
  t.click(b);
  assert.equal(t.frames("event").length, 2, "throttle: the first click only");
  await tick(60);
  t.click(b);
  assert.equal(t.frames("event").length, 3);
  t.close();
});

test("focused input keeps its value; phx-update=ignore keeps content but takes data attributes", async () => {
  const t = await page();
  await t.join({ s: ['<input id="i" name="q" value="', '"><div id="ig" phx-update="ignore" data-x="', '">', "</div>"], 0: "server", 1: "1", 2: "orig" });
  const i = t.doc.getElementById("i");
  i.focus();
  i.value = "typing";
  i.setSelectionRange(2, 4);
  t.doc.getElementById("ig").innerHTML = "client-owned";
  t.push("diff", { 0: "server2", 1: "2", 2: "new" });
  assert.equal(i.value, "typing");
  assert.equal(i.selectionStart, 2);
  assert.equal(i.selectionEnd, 4);
  assert.equal(t.doc.getElementById("ig").innerHTML, "client-owned");
  assert.equal(t.doc.getElementById("ig").getAttribute("data-x"), "2");
  i.blur();
  t.push("diff", { 0: "server3" });
  assert.equal(i.value, "server3");
  t.close();
});

test("comprehension moves keep keyed elements", async () => {
  const t = await page();
  await t.join({
    0: { s: 0, k: { 0: { 0: "a1", 1: "Alice" }, 1: { 0: "b2", 1: "Bob" }, kc: 2 } },
    s: 1,
    p: { 0: ['<li id="', '">', "</li>"], 1: ["<ul>", "</ul>"] },
  });
  const a = t.doc.getElementById("a1");
  t.push("diff", { 0: { k: { 1: { 1: "Bobby" }, 2: { 0: "c3", 1: "Carol" }, kc: 3 } } });
  t.push("diff", { 0: { k: { 0: 2, 1: [0, { 1: "Alicia" }], kc: 2, km: true } } });
  assert.equal(t.container().innerHTML, '<ul><li id="c3">Carol</li><li id="a1">Alicia</li></ul>');
  assert.equal(t.doc.getElementById("a1"), a);
  t.close();
});

test("transcript (d): targeted component click, c-only reply, cids_will_destroy / cids_destroyed", async () => {
  const t = await page({ id: "phx-X" });
  await t.join({
    s: ["<div>", "", "</div>"],
    0: 1,
    1: 2,
    c: { 1: { s: ['<p class="comp" phx-click="tgt" phx-target="1">', "</p>"], 0: "one", r: 1 }, 2: { s: 1, 0: "two" } },
  });
  const p = (cid, body) =>
    `<p data-phx-id="c${cid}-phx-X" data-phx-component="${cid}" data-phx-view="phx-X" class="comp" phx-click="tgt" phx-target="1">${body}</p>`;
  assert.equal(t.container().innerHTML, `<div>${p(1, "one")}${p(2, "two")}</div>`);
  const first = t.container().querySelector("p");
  t.click(first);
  const f = t.last();
  assert.deepEqual(f[4], { type: "click", event: "tgt", value: {}, cid: 1 });
  t.reply(f, { diff: { c: { 1: { 0: "comp2" } } } });
  assert.equal(t.container().innerHTML, `<div>${p(1, "comp2")}${p(2, "two")}</div>`);
  assert.equal(t.container().querySelector("p"), first);
  t.push("diff", { 1: 3, c: { 3: { s: -1, 0: "three" } } });
  assert.equal(t.container().innerHTML, `<div>${p(1, "comp2")}${p(3, "three")}</div>`);
  const w = t.last();
  assert.deepEqual(w.slice(2), ["lv:phx-X", "cids_will_destroy", { cids: [2] }]);
  t.reply(w, {});
  const d = t.last();
  assert.deepEqual(d.slice(2), ["lv:phx-X", "cids_destroyed", { cids: [2] }]);
  t.reply(d, { cids: [2] });
  assert.equal(t.ls.main.rendered.tree.c[2], undefined);
  t.close();
});

test("hooks: mounted, updated, destroyed, pushEvent with reply, handleEvent", async () => {
  const calls = [];
  const hooks = {
    H: {
      mounted() {
        calls.push(["mounted", this.el.id]);
        this.handleEvent("ping", (p) => calls.push(["ping", p]));
        this.pushEvent("hello", { a: 1 }, (reply) => calls.push(["reply", reply]));
      },
      updated() {
        calls.push(["updated", this.el.textContent]);
      },
      destroyed() {
        calls.push(["destroyed"]);
      },
    },
  };
  const t = await page({ opts: { hooks } });
  await t.join({ s: ["", ""], 0: { s: ['<div id="h" phx-hook="H">', "</div>"], 0: "1" } });
  assert.deepEqual(calls, [["mounted", "h"]]);
  const f = t.last();
  assert.deepEqual(f[4], { type: "hook", event: "hello", value: { a: 1 } });
  t.reply(f, { diff: { r: { ok: true } } });
  t.push("diff", { 0: { 0: "2" }, e: [["ping", { n: 1 }]] });
  t.push("diff", { 0: { 0: "2" } }); // no change: no updated()
  t.push("diff", { 0: "" });
  assert.deepEqual(plain(calls), [["mounted", "h"], ["reply", { ok: true }], ["updated", "2"], ["ping", { n: 1 }], ["destroyed"]]);
  t.close();
});

test("window.SalamanderHooks with the auto-boot", async () => {
  const t = await page();
  assert.ok(t.ls.hookDefs);
  t.close();
});

test("heartbeat every interval; a missing reply reconnects", async () => {
  const t = await page({ opts: { heartbeatIntervalMs: 30 } });
  await t.join();
  const hb = await until(() => t.sent().find((f) => f[3] === "heartbeat"), "heartbeat");
  assert.deepEqual([hb[0], hb[2], hb[4]], [null, "phoenix", {}]);
  t.ws().recv([null, hb[1], "phoenix", "phx_reply", { status: "ok", response: {} }]);
  await until(() => t.sent().filter((f) => f[3] === "heartbeat").length === 2, "second heartbeat");
  const first = t.ws();
  await until(() => t.sockets.length === 2, "reconnect after heartbeat timeout");
  assert.deepEqual(first.closed, { code: 1000, reason: "heartbeat timeout" });
  t.close();
});

test("socket drop: client-error classes, reconnect with backoff, rejoin with _mounts 1, form recovery", async () => {
  const calls = [];
  const hooks = { H: { disconnected: () => calls.push("disconnected"), reconnected: () => calls.push("reconnected") } };
  const t = await page({ opts: { hooks } });
  const rendered = {
    s: ['<form id="f" phx-change="validate"><input id="n" name="name" value="', '"><input name="other"></form><div id="h" phx-hook="H"></div>'],
    0: "",
  };
  await t.join(rendered);
  const n = t.doc.getElementById("n");
  n.value = "typed";
  n.dispatchEvent(new t.w.Event("input", { bubbles: true }));
  t.reply(t.last(), {});
  const first = t.ws();
  first.serverClose(1006);
  assert.equal(t.container().className, "phx-loading phx-error phx-client-error");
  assert.deepEqual(calls, ["disconnected"]);
  await until(() => t.sockets.length === 2, "reconnect");
  assert.match(t.ws().url, /_mounts=1/);
  // the first reconnect fails at once, the second comes after the next backoff step
  t.ws().serverClose(1006);
  await until(() => t.sockets.length === 3, "second reconnect");
  const j = await t.join(rendered);
  assert.deepEqual(j[4].params, { _csrf_token: "T", _mounts: 1, _mount_attempts: 0 });
  // recovery: the edited form's data is pushed before the join patch is applied
  const rec = await t.nextFrame("event");
  assert.deepEqual(rec[4], { type: "form", event: "validate", value: "name=typed&_unused_other=&other=", meta: { _target: "name" }, uploads: {} });
  assert.equal(t.container().className, "phx-loading", "join patch waits for the recovery reply");
  t.reply(rec, { diff: { 0: "typed" } });
  assert.equal(t.container().className, "phx-connected");
  assert.equal(t.doc.getElementById("n").value, "typed");
  assert.deepEqual(calls, ["disconnected", "reconnected"]);
  t.close();
});

test("phx_error: server-error classes, rejoin after the channel backoff", async () => {
  const t = await page();
  await t.join();
  t.push("phx_error", { reason: "channel_crash" });
  assert.equal(t.container().className, "phx-loading phx-error phx-server-error");
  const n = t.sent().length;
  await tick(200);
  assert.equal(t.frames("phx_join").length, 1, "no rejoin before 1 s");
  const f = await until(() => t.sent().slice(n).find((f) => f[3] === "phx_join"), "rejoin", 2500);
  assert.equal(f[4].params._mounts, 1);
  // a reply or push with the old join_ref is dropped
  const old = t.joinRef;
  t.reply(f, { rendered: { s: ["<b>", "</b>"], 0: "back" } });
  t.ws().recv([old, null, t.topic, "diff", { 0: "stale" }]);
  assert.equal(t.container().innerHTML, "<b>back</b>");
  t.close();
});

test("join errors: stale reloads at once, redirect navigates, others retry then reload with jitter", async () => {
  let t = await page();
  t.ws().open();
  t.reply(await t.nextFrame("phx_join"), { reason: "stale" }, "error");
  assert.deepEqual(t.nav, [["reload"]]);
  t.close();

  t = await page();
  t.ws().open();
  t.reply(await t.nextFrame("phx_join"), { redirect: { to: "/login" } }, "error");
  assert.deepEqual(t.nav, [["visit", "/login"]]);
  t.close();

  t = await page({ opts: { reloadJitterMin: 1200, reloadJitterMax: 1300 } });
  t.w.localStorage.setItem("/counter-consecutive-reloads", "3");
  t.ws().open();
  t.reply(await t.nextFrame("phx_join"), { reason: "join crashed" }, "error");
  assert.equal(t.container().className, "phx-loading phx-error phx-server-error");
  const again = await until(() => t.frames("phx_join")[1], "retry", 2000);
  assert.deepEqual(again[4].params, { _csrf_token: "T", _mounts: 0, _mount_attempts: 1 });
  t.reply(again, { reason: "join crashed" }, "error");
  await until(() => t.nav.length, "reload", 2000);
  assert.deepEqual(t.nav, [["reload"]]);
  assert.equal(t.w.localStorage.getItem("/counter-consecutive-reloads"), "4");
  t.close();

  // a later success cancels the reload and clears the counter
  t = await page({ opts: { reloadJitterMin: 1500, reloadJitterMax: 1500 } });
  t.w.localStorage.setItem("/counter-consecutive-reloads", "3");
  t.ws().open();
  t.reply(await t.nextFrame("phx_join"), { reason: "join crashed" }, "error");
  const ok = await until(() => t.frames("phx_join")[1], "retry", 2000);
  t.reply(ok, { rendered: COUNTER });
  await tick(600);
  assert.deepEqual(t.nav, []);
  assert.equal(t.w.localStorage.getItem("/counter-consecutive-reloads"), null);
  t.close();
});

test("failsafe: from 10 consecutive reloads the delay is 30 s", async () => {
  const t = await page({ opts: { reloadJitterMin: 10, reloadJitterMax: 20 } });
  t.w.localStorage.setItem("/counter-consecutive-reloads", "9");
  let delay = null;
  const st = t.w.setTimeout;
  t.w.setTimeout = (fn, ms) => (ms >= 1000 && delay === null && (delay = ms), st(fn, ms));
  t.ls.reloadWithJitter(t.ls.main);
  assert.equal(delay, 30000);
  t.close();
});

test("server close 1000: no reconnect, reload with jitter", async () => {
  const t = await page({ opts: { reloadJitterMin: 20, reloadJitterMax: 30 } });
  await t.join();
  t.ws().serverClose(1000);
  await until(() => t.nav.length, "reload");
  assert.equal(t.sockets.length, 1);
  t.close();
});

test("redirect, live_patch and live_redirect from the server; patch links", async () => {
  const t = await page({ body: "" });
  await t.join({ s: ['<a id="p" href="/counter?page=2" data-phx-link="patch" data-phx-link-state="push">2</a><i>', "</i>"], 0: "1" });
  t.click(t.doc.getElementById("p"));
  const lp = t.last();
  assert.deepEqual(lp.slice(3), ["live_patch", { url: "http://example.com/counter?page=2" }]);
  t.reply(lp, { diff: { 0: "2" } });
  assert.equal(t.w.location.href, "http://example.com/counter?page=2");
  assert.equal(t.container().querySelector("i").textContent, "2");
  t.push("live_patch", { to: "/counter?page=3", kind: "replace" });
  assert.equal(t.w.location.href, "http://example.com/counter?page=3");
  t.push("live_redirect", { to: "/other", kind: "push" });
  assert.equal(t.w.location.pathname, "/other");
  const leave = t.frames("phx_leave")[0];
  assert.ok(leave);
  const j = t.last();
  assert.equal(j[3], "phx_join");
  assert.equal(j[4].redirect, "http://example.com/other");
  assert.equal(j[4].url, undefined);
  assert.equal(j[4].params._mounts, 0);
  t.joinRef = j[0];
  t.reply(j, { rendered: { s: ["<h1>other</h1>"] } });
  assert.equal(t.container().innerHTML, "<h1>other</h1>");
  t.push("redirect", { to: "/elsewhere" });
  assert.deepEqual(t.nav, [["visit", "/elsewhere"]]);
  t.close();
});

test("flash: live_redirect sends its token with the next join only; redirect sets the cookie; lv:clear-flash", async () => {
  const t = await page({ body: "" });
  const flash = '<p id="f">Hi <button id="x" phx-click="lv:clear-flash" phx-value-key="info">×</button></p>';
  await t.join({ s: ["<div>", "</div>"], 0: "" });
  t.push("live_redirect", { to: "/other", kind: "push", flash: "TOK.SIG" });
  const j = t.last();
  assert.equal(j[3], "phx_join");
  assert.equal(j[4].flash, "TOK.SIG");
  assert.equal(j[4].redirect, "http://example.com/other");
  assert.ok(!/__phoenix_flash__/.test(t.doc.cookie), "a live navigation needs no cookie");
  t.joinRef = j[0];
  t.reply(j, { rendered: { s: ["<div>", "</div>"], 0: { s: [flash] } } });
  assert.ok(t.doc.getElementById("f"));
  // the close button is an ordinary click whose value carries the key
  t.click(t.doc.getElementById("x"));
  const clear = t.last();
  assert.deepEqual(plain(clear[4]), { type: "click", event: "lv:clear-flash", value: { key: "info", value: "" } });
  t.reply(clear, { diff: { 0: "" } });
  assert.equal(t.doc.getElementById("f"), null);
  // a rejoin (socket drop) must not send the flash again
  t.ws().serverClose(1006);
  await until(() => t.sockets.length === 2, "reconnect");
  const rejoin = await t.join({ s: ["<div>", "</div>"], 0: "" });
  assert.equal(rejoin[4].flash, undefined);
  assert.equal(rejoin[4].params._mounts, 1);
  // a redirect leaves with the flash in the cookie, for the next page's GET
  t.push("redirect", { to: "/elsewhere", flash: "TOK2.SIG" });
  assert.deepEqual(t.nav, [["visit", "/elsewhere"]]);
  assert.match(t.doc.cookie, /__phoenix_flash__=TOK2\.SIG/);
  t.close();
});

test("an event reply with redirect navigates", async () => {
  const t = await page();
  await t.join();
  t.click(t.container().querySelector("button"));
  t.reply(t.last(), { redirect: { to: "/done" } });
  assert.deepEqual(t.nav, [["visit", "/done"]]);
  t.close();
});

test("no server: client-error classes, and the socket keeps retrying", async () => {
  const t = await page();
  t.ws().serverClose(1006);
  assert.equal(t.container().className, "phx-loading phx-error phx-client-error");
  await until(() => t.sockets.length === 2, "retry");
  t.ws().serverClose(1006);
  await until(() => t.sockets.length === 3, "second retry");
  await t.join();
  assert.equal(t.container().className, "phx-connected");
});

test("submitting while a change is still in flight is not blocked", async () => {
  const t = await page();
  await t.join(FORM);
  const name = t.doc.getElementById("name");
  name.value = "bo";
  name.dispatchEvent(new t.w.Event("input", { bubbles: true }));
  const change = t.last();
  const form = t.doc.getElementById("f");
  form.dispatchEvent(new t.w.SubmitEvent("submit", { bubbles: true, cancelable: true, submitter: t.doc.getElementById("go") }));
  const submit = t.last();
  assert.equal(submit[4].event, "save");
  assert.ok(form.classList.contains("phx-change-loading") && form.classList.contains("phx-submit-loading"));
  t.reply(change, { diff: { 0: "too short" } });
  assert.ok(!form.classList.contains("phx-change-loading") && form.classList.contains("phx-submit-loading"));
  assert.equal(t.container().querySelector("p").textContent, "too short", "outside the locked form");
  assert.ok(t.doc.getElementById("go").disabled, "the form stays disabled until the submit's reply");
  t.reply(submit, { diff: { 0: "saved" } });
  assert.ok(!form.classList.contains("phx-submit-loading"));
  assert.equal(t.container().querySelector("p").textContent, "saved");
});

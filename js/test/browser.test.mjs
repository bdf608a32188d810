// The shipped bundle in headless Chromium against the scripted fake server (test/fake_server.mjs).
// Skipped when /usr/bin/chromium is missing.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { chromium } from "playwright-core";
import { startFakeServer } from "./fake_server.mjs";

const CHROMIUM = "/usr/bin/chromium";
const skip = !existsSync(CHROMIUM) && "no " + CHROMIUM;
let srv, browser;

async function until(cond, ms = 5000) {
  const end = Date.now() + ms;
  for (let v; !(v = cond()); await new Promise((r) => setTimeout(r, 10))) if (Date.now() > end) throw new Error("timed out");
  return cond();
}

before(async () => {
  if (skip) return;
  srv = await startFakeServer({ saveDelayMs: 150 });
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run", "--disable-sync"],
  });
});
after(async () => {
  if (browser) await browser.close();
  if (srv) await srv.close();
});

async function open() {
  const page = await browser.newPage();
  const errors = [];
  page.on("pageerror", (e) => errors.push(String(e)));
  page.on("console", (m) => m.type() === "error" && errors.push(m.text()));
  await page.goto(srv.url);
  await page.waitForSelector("[data-phx-main].phx-connected", { timeout: 5000 });
  page.errors = errors;
  return page;
}

test("bundle size line, manifest and hashed name", { skip }, () => {
  assert.match(srv.bundle.name, /^salamander\.[0-9a-f]{12}\.js$/);
  assert.match(srv.bundle.log, /^client bundle: \d+ bytes minified, \d+ bytes gzipped/);
});

test("join, click, title, hook mounted + pushEvent reply + handleEvent", { skip }, async () => {
  const page = await open();
  const join = srv.log.find((f) => f[3] === "phx_join");
  assert.equal(join[4].params._csrf_token, "CSRF");
  assert.match(srv.log.length && [...srv.sockets][0].reqUrl, /^\/live\/websocket\?_csrf_token=CSRF&_mounts=0&vsn=2\.0\.0$/);
  await page.waitForFunction(() => hookLog.length >= 4);
  assert.deepEqual(await page.evaluate(() => hookLog), [
    ["mounted", "hook"],
    ["updated", 'hello {"n":1}'],
    ["flash", { text: "hi" }],
    ["reply", { got: { n: 1 } }],
  ]);
  await page.click("#inc");
  await page.waitForFunction(() => document.querySelector("#count").textContent === "2");
  await page.click("#inc");
  await page.waitForFunction(() => document.querySelector("#count").textContent === "4");
  assert.equal(await page.title(), "Count 4 · fake");
  assert.deepEqual(page.errors, []);
  await page.close();
});

test("typing: phx-change per keystroke, focused input keeps what is typed; submit with disable-with", { skip }, async () => {
  const page = await open();
  await page.click("#name");
  await page.keyboard.type("bo", { delay: 20 });
  await page.waitForFunction(() => document.querySelector("#msg").textContent === "too short");
  await page.keyboard.type("bby", { delay: 5 });
  await page.waitForFunction(() => document.querySelector("#msg").textContent === "ok");
  assert.equal(await page.inputValue("#name"), "bobby");
  const changes = srv.log.filter((f) => f[4] && f[4].event === "validate");
  assert.deepEqual(changes[changes.length - 1][4], { type: "form", event: "validate", value: "user%5Bname%5D=bobby", meta: { _target: "user[name]" }, uploads: {} });
  await page.click("#save");
  await page.waitForSelector("#save[disabled]");
  assert.equal(await page.textContent("#save"), "Saving...");
  assert.ok(await page.$eval("#f", (f) => f.classList.contains("phx-submit-loading")));
  await page.waitForFunction(() => document.querySelector("#msg").textContent === "saved bobby via yes");
  assert.equal(await page.textContent("#save"), "Save");
  assert.ok(!(await page.$eval("#save", (b) => b.disabled)));
  assert.deepEqual(page.errors, []);
  await page.close();
});

test("the server drops the socket: error classes, reconnect, rejoin with _mounts=1, form recovered", { skip }, async () => {
  const page = await open();
  await page.fill("#name", "recover me");
  await page.waitForFunction(() => document.querySelector("#msg").textContent === "ok");
  await page.click("#inc");
  await page.waitForFunction(() => document.querySelector("#count").textContent === "2");
  const before = srv.log.length;
  srv.dropSockets(1011);
  await page.waitForSelector("[data-phx-main].phx-error.phx-client-error", { timeout: 2000 }).catch(() => {});
  const rejoin = await until(() => srv.log.slice(before).find((f) => f[3] === "phx_join"));
  await page.waitForSelector("[data-phx-main].phx-connected", { timeout: 5000 });
  assert.equal(rejoin[4].params._mounts, 1);
  // the fresh server state starts at 0; the form's data came back through recovery
  assert.equal(await page.textContent("#count"), "0");
  const rec = srv.log.slice(before).find((f) => f[3] === "event" && f[4].event === "validate");
  assert.equal(rec[4].value, "user%5Bname%5D=recover+me");
  await page.waitForFunction(() => document.querySelector("#msg").textContent === "ok");
  assert.equal(await page.inputValue("#name"), "recover me");
  await page.close();
});

test("a crashed view (phx_error) shows phx-server-error, then rejoins", { skip }, async () => {
  const page = await open();
  const before = srv.log.length;
  srv.crashViews();
  await page.waitForSelector("[data-phx-main].phx-error.phx-server-error", { timeout: 2000 });
  await until(() => srv.log.slice(before).find((f) => f[3] === "phx_join"));
  await page.waitForSelector("[data-phx-main].phx-connected", { timeout: 5000 });
  await page.click("#inc");
  await page.waitForFunction(() => document.querySelector("#count").textContent === "2");
  await page.close();
});

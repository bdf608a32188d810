// The server's shared statics, byte for byte as the C tests assert them (tests/liveview/
// render_test.c), fed to our client and to the official phoenix_live_view client: both must build
// the same HTML after every step. Covers "p" templates at the root and inside a component, and
// components sent with an integer "s" (positive: a cid of the same diff, negative: a cached one).
import { test } from "node:test";
import assert from "node:assert/strict";
import { build } from "esbuild";
import { fileURLToPath, pathToFileURL } from "node:url";
import { mkdtempSync, writeFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Rendered } from "../src/rendered.js";

const officialSrc = fileURLToPath(
  new URL("../node_modules/phoenix_live_view/assets/js/phoenix_live_view/rendered.js", import.meta.url)
);
const bundled = await build({ entryPoints: [officialSrc], bundle: true, format: "esm", write: false, platform: "neutral", logLevel: "silent" });
globalThis.window ??= globalThis; // its deepClone asks window for structuredClone
const dir = mkdtempSync(join(tmpdir(), "lv-official-"));
writeFileSync(join(dir, "rendered.mjs"), bundled.outputFiles[0].text);
const Official = (await import(pathToFileURL(join(dir, "rendered.mjs")).href)).default;
rmSync(dir, { recursive: true });

// Applies each wire JSON to both clients; returns the final HTML after checking every step.
function play(steps) {
  let ours = null, theirs = null, html = "";
  steps.forEach((wire, i) => {
    const a = Rendered.extract(JSON.parse(wire)).diff;
    const b = Official.extract(JSON.parse(wire)).diff;
    if (ours === null) {
      ours = new Rendered("phx-v", a);
      theirs = new Official("phx-v", b);
    } else {
      ours.merge(a);
      theirs.mergeDiff(b);
    }
    html = ours.toString();
    assert.equal(html, theirs.toString().buffer, `step ${i}: ${wire}`);
  });
  return html;
}

const comp = (cid, inner) => `<ul data-phx-id="c${cid}-phx-v" data-phx-component="${cid}" data-phx-view="phx-v">${inner}</ul>`;
const lis = (names) => names.map((n) => `<li><b>${n}</b></li>`).join("");

test("p templates at the root, numbered afresh in each diff", () => {
  const html = play([
    '{"s":["<ul>","</ul>"],"0":{"s":["<li>","</li>"],"k":{"0":{"0":{"s":0,"0":"a"}},"1":{"0":{"s":0,"0":"b"}},"kc":2}},"p":{"0":["<b>","</b>"]}}',
    '{"0":{"k":{"2":{"0":{"s":0,"0":"c"}},"3":{"0":{"s":0,"0":"d"}},"kc":4}},"p":{"0":["<b>","</b>"]}}',
    '{"0":{"k":{"4":{"0":{"s":["<b>","</b>"],"0":"e"}},"kc":5}}}',
    '{"0":{"k":{"0":{"0":{"0":"A"}},"kc":5}}}',
  ]);
  assert.equal(html, `<ul>${lis(["A", "b", "c", "d", "e"])}</ul>`);
});

test("a component's own p, and a component cloning a cached cid's statics (negative s)", () => {
  const html = play([
    '{"s":["<div>","","</div>"],"0":1,"1":"","c":{"1":{"s":["<ul>","</ul>"],"0":{"s":["<li>","</li>"],"k":{"0":{"0":{"s":0,"0":"a"}},"1":{"0":{"s":0,"0":"b"}},"kc":2}},"r":1,"p":{"0":["<b>","</b>"]}}}}',
    '{"1":2,"c":{"2":{"s":-1,"0":{"s":["<li>","</li>"],"k":{"0":{"0":{"s":0,"0":"x"}},"1":{"0":{"s":0,"0":"y"}},"2":{"0":{"s":0,"0":"z"}},"kc":3}},"p":{"0":["<b>","</b>"]}}}}',
    '{"c":{"2":{"0":{"k":{"1":{"0":{"0":"Y"}},"kc":3}}}}}',
  ]);
  assert.equal(html, `<div>${comp(1, lis(["a", "b"]))}${comp(2, lis(["x", "Y", "z"]))}</div>`);
});

test("components of one join sharing the first one's statics (positive s), then a cached one", () => {
  const S = '"s":["<button phx-target=\\"","\\" phx-click=\\"inc\\">"," ","</button>"]';
  const html = play([
    '{"s":["<div>","","</div>"],"0":{"s":["<p>","</p>"],"k":{"0":{"0":1},"1":{"0":2},"kc":2}},"1":3,"c":{"1":{' + S +
      ',"0":"1","1":"1","2":"a","r":1},"2":{"s":1,"0":"2","1":"2","2":"b"},"3":{"s":1,"0":"3","1":"9","2":"x"}}}',
    '{"c":{"2":{"1":"5"}}}',
    '{"0":{"k":{"kc":1}}}',
    '{"0":{"k":{"1":{"0":4},"kc":2}},"c":{"4":{"s":-1,"0":"4","1":"5","2":"b"}}}',
  ]);
  const btn = (cid, t, n, l) =>
    `<button data-phx-id="c${cid}-phx-v" data-phx-component="${cid}" data-phx-view="phx-v" phx-target="${t}" phx-click="inc">${n} ${l}</button>`;
  assert.equal(html, `<div><p>${btn(1, 1, 1, "a")}</p><p>${btn(4, 4, 5, "b")}</p>${btn(3, 3, 9, "x")}</div>`);
});

// Rendered-tree merge and toString against PROTOCOL.md §9 transcripts (a)–(d), exact HTML.
import { test } from "node:test";
import assert from "node:assert/strict";
import { Rendered, modifyRoot } from "../src/rendered.js";

// JSON round trip: diffs arrive as JSON, and merge may keep references into them
const j = (o) => JSON.parse(JSON.stringify(o));
const apply = (r, diff) => {
  const x = Rendered.extract(j(diff));
  r.merge(x.diff);
  return x;
};

test("(a) join: statics, a dynamic, the title", () => {
  const rendered = {
    s: ['<button phx-click="inc" phx-value-by="2">+</button><span>', "</span>"],
    0: "0",
    t: "Counter 0",
  };
  const { diff, title, reply, events } = Rendered.extract(j(rendered));
  assert.equal(title, "Counter 0");
  assert.equal(reply, null);
  assert.deepEqual(events, []);
  const r = new Rendered("phx-GAbc", diff);
  assert.equal(r.toString(), '<button phx-click="inc" phx-value-by="2">+</button><span>0</span>');
});

test("(b) click reply diff, then a pushed diff with title and events", () => {
  const r = new Rendered("phx-GAbc", j({ s: ['<button phx-click="inc" phx-value-by="2">+</button><span>', "</span>"], 0: "0" }));
  apply(r, { 0: "1" });
  assert.equal(r.toString(), '<button phx-click="inc" phx-value-by="2">+</button><span>1</span>');
  const x = apply(r, { 0: "7", t: "Seven", e: [["highlight", { id: 1 }]] });
  assert.equal(x.title, "Seven");
  assert.deepEqual(x.events, [["highlight", { id: 1 }]]);
  assert.equal(r.toString(), '<button phx-click="inc" phx-value-by="2">+</button><span>7</span>');
});

test("(c) keyed comprehension: mount with p templates, edit + append, move + shrink", () => {
  const r = new Rendered(
    "phx-X",
    j({
      0: { s: 0, k: { 0: { 0: "a1", 1: "Alice" }, 1: { 0: "b2", 1: "Bob" }, kc: 2 } },
      s: 1,
      p: { 0: ['<li id="', '">', "</li>"], 1: ["<ul>", "</ul>"] },
    })
  );
  assert.equal(r.toString(), '<ul><li id="a1">Alice</li><li id="b2">Bob</li></ul>');
  apply(r, { 0: { k: { 1: { 1: "Bobby" }, 2: { 0: "c3", 1: "Carol" }, kc: 3 } } });
  assert.equal(r.toString(), '<ul><li id="a1">Alice</li><li id="b2">Bobby</li><li id="c3">Carol</li></ul>');
  apply(r, { 0: { k: { 0: 2, 1: [0, { 1: "Alicia" }], kc: 2, km: true } } });
  assert.equal(r.toString(), '<ul><li id="c3">Carol</li><li id="a1">Alicia</li></ul>');
});

test("(d) components: r root attrs, positive and negative statics sharing, c-only diffs", () => {
  const r = new Rendered(
    "phx-X",
    j({ s: ["<div>", "", "</div>"], 0: 1, 1: 2, c: { 1: { s: ['<p class="comp">', "</p>"], 0: "one", r: 1 }, 2: { s: 1, 0: "two" } } })
  );
  const p = (cid, body) => `<p data-phx-id="c${cid}-phx-X" data-phx-component="${cid}" data-phx-view="phx-X" class="comp">${body}</p>`;
  assert.equal(r.toString(), `<div>${p(1, "one")}${p(2, "two")}</div>`);
  // reply to a targeted click: a c-only diff
  const d = j({ c: { 1: { 0: "comp2" } } });
  assert.ok(Rendered.isComponentOnly(d));
  r.merge(d);
  assert.equal(r.componentToString(1), p(1, "comp2"));
  assert.equal(r.toString(), `<div>${p(1, "comp2")}${p(2, "two")}</div>`);
  // cid 3 reuses cid 1's cached statics; cid 2 leaves the tree
  apply(r, { 1: 3, c: { 3: { s: -1, 0: "three" } } });
  assert.equal(r.toString(), `<div>${p(1, "comp2")}${p(3, "three")}</div>`);
  assert.deepEqual([...r.referencedCIDs()].sort(), [1, 3]);
  assert.ok(r.tree.c[2], "cid 2 stays cached until cids_destroyed");
  r.pruneCIDs([2]);
  assert.equal(r.tree.c[2], undefined);
  // the clone must not alias cid 1's tree
  apply(r, { c: { 3: { 0: "THREE" } } });
  assert.equal(r.toString(), `<div>${p(1, "comp2")}${p(3, "THREE")}</div>`);
});

test("component sharing: positive ref resolved within the same diff in any order", () => {
  const r = new Rendered(
    "v",
    j({ s: ["", "", "", ""], 0: 5, 1: 4, 2: 6, c: { 5: { s: 4, 0: "b" }, 4: { s: ["<i>", "</i>"], 0: "a", r: 1 }, 6: { s: 5, 0: "c" } } })
  );
  const i = (cid, b) => `<i data-phx-id="c${cid}-v" data-phx-component="${cid}" data-phx-view="v">${b}</i>`;
  assert.equal(r.toString(), i(5, "b") + i(4, "a") + i(6, "c"));
});

test("negative statics sharing reads the cache before this diff's changes", () => {
  const r = new Rendered("v", j({ s: ["", ""], 0: 1, c: { 1: { s: ["<b>", "|", "</b>"], 0: "x", 1: "y", r: 1 } } }));
  apply(r, { 0: 2, c: { 1: { 0: "X" }, 2: { s: -1, 1: "z" } } });
  const b = (cid, a, c) => `<b data-phx-id="c${cid}-v" data-phx-component="${cid}" data-phx-view="v">${a}|${c}</b>`;
  assert.equal(r.toString(), b(2, "x", "z"));
  assert.equal(r.componentToString(1), b(1, "X", "y"));
});

test("a root diff with s replaces the tree and resets the component cache", () => {
  const r = new Rendered("v", j({ s: ["<a>", "</a>"], 0: 1, c: { 1: { s: ["<b>", "</b>"], 0: "1", r: 1 } } }));
  apply(r, { s: ["<x>", "</x>"], 0: "plain" });
  assert.equal(r.toString(), "<x>plain</x>");
  assert.deepEqual(r.tree.c, {});
});

test("nested node replaced when it has s, merged when not; blanking with empty string", () => {
  const r = new Rendered("v", j({ s: ["<div>", "</div>"], 0: { s: ["<b>", "-", "</b>"], 0: "1", 1: "2" } }));
  apply(r, { 0: { 1: "3" } });
  assert.equal(r.toString(), "<div><b>1-3</b></div>");
  apply(r, { 0: { s: ["<i>", "</i>"], 0: "new" } });
  assert.equal(r.toString(), "<div><i>new</i></div>");
  apply(r, { 0: "" });
  assert.equal(r.toString(), "<div></div>");
  apply(r, { 0: { s: ["<u>", "</u>"], 0: "back" } });
  assert.equal(r.toString(), "<div><u>back</u></div>");
});

test("comprehension moves read a snapshot; kc:0 empties; indexes >= kc drop", () => {
  const li = (a) => a.map((x) => `<li>${x}</li>`).join("");
  const r = new Rendered("v", j({ s: ["<ul>", "</ul>"], 0: { s: ["<li>", "</li>"], k: { 0: { 0: "a" }, 1: { 0: "b" }, 2: { 0: "c" }, 3: { 0: "d" }, kc: 4 } } }));
  assert.equal(r.toString(), `<ul>${li(["a", "b", "c", "d"])}</ul>`);
  // rotate: every position reads another's old entry
  apply(r, { 0: { k: { 0: 3, 1: 0, 2: 1, 3: 2, kc: 4, km: true } } });
  assert.equal(r.toString(), `<ul>${li(["d", "a", "b", "c"])}</ul>`);
  // swap with changes, insert new at front, drop the tail
  apply(r, { 0: { k: { 0: { 0: "new" }, 1: [2, { 0: "B" }], 2: 1, kc: 3, km: true } } });
  assert.equal(r.toString(), `<ul>${li(["new", "B", "a"])}</ul>`);
  apply(r, { 0: { k: { kc: 1 } } });
  assert.equal(r.toString(), `<ul>${li(["new"])}</ul>`);
  apply(r, { 0: { k: { kc: 0 } } });
  assert.equal(r.toString(), "<ul></ul>");
  apply(r, { 0: { k: { 0: { 0: "z" }, kc: 1 } } });
  assert.equal(r.toString(), `<ul>${li(["z"])}</ul>`);
});

test("comprehension entries with nested nodes, p templates in a later diff, components inside", () => {
  const r = new Rendered(
    "v",
    j({
      s: 0,
      0: { s: 1, k: { 0: { 0: { s: 2, 0: "x" }, 1: 7 }, kc: 1 } },
      p: { 0: ["<table>", "</table>"], 1: ["<tr>", "", "</tr>"], 2: ["<td>", "</td>"] },
      c: { 7: { s: ["<td>", "</td>"], 0: "comp", r: 1 } },
    })
  );
  const td7 = '<td data-phx-id="c7-v" data-phx-component="7" data-phx-view="v">comp</td>';
  assert.equal(r.toString(), `<table><tr><td>x</td>${td7}</tr></table>`);
  // a new entry whose nested node uses this diff's own p numbering
  apply(r, { 0: { k: { 1: { 0: { s: 0, 0: "y" }, 1: "<td>-</td>" }, kc: 2 } }, p: { 0: ["<th>", "</th>"] } });
  assert.equal(r.toString(), `<table><tr><td>x</td>${td7}</tr><tr><th>y</th><td>-</td></tr></table>`);
  apply(r, { 0: { k: { 0: { 0: { 0: "X" } }, kc: 2 } } });
  assert.equal(r.toString(), `<table><tr><td>X</td>${td7}</tr><tr><th>y</th><td>-</td></tr></table>`);
});

test("templates inside a component's comprehension", () => {
  const r = new Rendered(
    "v",
    j({ s: ["", ""], 0: 1, c: { 1: { s: ["<ul>", "</ul>"], r: 1, 0: { s: 0, p: { 0: ["<li>", "</li>"] }, k: { 0: { 0: "a" }, 1: { 0: "b" }, kc: 2 } } } } })
  );
  assert.equal(r.toString(), '<ul data-phx-id="c1-v" data-phx-component="1" data-phx-view="v"><li>a</li><li>b</li></ul>');
});

test("modifyRoot: comments before the root, malformed html", () => {
  assert.equal(modifyRoot('<!-- c --> <div id="x">a</div>', ' a="1"'), '<!-- c --> <div a="1" id="x">a</div>');
  assert.equal(modifyRoot("<br/>", " a"), "<br a/>");
  assert.throws(() => modifyRoot("just text", " a"), /malformed html/);
});

test("referencedCIDs ignores r and counts components inside comprehensions and components", () => {
  const r = new Rendered(
    "v",
    j({
      s: ["", "", ""],
      0: { s: ["", ""], r: 1, 0: 2 },
      1: { s: ["", ""], k: { 0: { 0: 3 }, kc: 1 } },
      c: { 1: { s: ["<a>", "</a>"], r: 1 }, 2: { s: ["<b>", "</b>"], 0: 4, r: 1 }, 3: { s: ["<c>", "</c>"], r: 1 }, 4: { s: ["<d>", "</d>"], r: 1 } },
    })
  );
  assert.deepEqual([...r.referencedCIDs()].sort(), [2, 3, 4]);
});

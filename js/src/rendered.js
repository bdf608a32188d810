// The rendered tree of one view and the diff merge of PROTOCOL.md §4 ("Client merge").
//
// A node is {s: [statics], "0": dyn, "1": dyn, ...}; a dynamic is a string (raw HTML), a node,
// a number (a component id) or a comprehension {s, k: {"0": entry, ..., kc: n}} whose entries
// are dynamics objects sharing the node's statics. Components live in tree.c by cid.
//
// Templates (`p`) are numbered per diff, so integer statics are resolved against the diff's own
// `p` before it is merged: the tree only ever holds statics arrays (shared by reference).

const isObj = (v) => v !== null && typeof v === "object" && !Array.isArray(v);


// Resolve integer statics of `node`'s descendants (and of node itself unless skipSelf) against
// the nearest `p`. A comprehension uses the outer templates first, like the official client.
function resolve(node, tpl, skipSelf) {
  let k = node.k;
  if (node.p) {
    tpl = k ? tpl || node.p : node.p;
    delete node.p;
  }
  if (!skipSelf && typeof node.s === "number") {
    if (!tpl || !tpl[node.s]) throw new Error("no template " + node.s);
    node.s = tpl[node.s];
  }
  if (k) {
    for (let i in k) {
      let e = k[i];
      if (Array.isArray(e)) e = e[1];
      if (isObj(e)) resolveChildren(e, tpl);
    }
  } else resolveChildren(node, tpl);
}

function resolveChildren(obj, tpl) {
  for (let key in obj) {
    let v = obj[key];
    if (isObj(v) && key !== "k") resolve(v, tpl, false);
  }
}

const clone = (v) => (v === null || typeof v !== "object" ? v : Array.isArray(v) ? v.slice() : deepClone(v));
function deepClone(o) {
  let r = {};
  // statics arrays are immutable and shared; everything else is copied
  for (let key in o) r[key] = key === "s" ? o[key] : clone(o[key]);
  return r;
}

// Mutating deep merge of a partial diff (no `s`) into target.
function merge(target, diff) {
  if (diff.k) return mergeKeyed(target, diff);
  for (let key in diff) {
    let v = diff[key],
      t = target[key];
    if (isObj(v) && v.s === undefined && isObj(t)) merge(t, v);
    else target[key] = v;
  }
}

function mergeKeyed(target, diff) {
  let src = diff.k,
    tk = target.k || (target.k = { kc: 0 }),
    // moves read the entries' old positions: snapshot before writing
    old = src.km ? deepClone(tk) : tk;
  for (let i in src) {
    if (i === "kc" || i === "km") continue;
    let e = src[i];
    if (Array.isArray(e)) {
      tk[i] = clone(old[e[0]]);
      merge(tk[i], e[1]);
    } else if (typeof e === "number") {
      tk[i] = old[e];
    } else if (isObj(e)) {
      if (!isObj(tk[i])) tk[i] = {};
      merge(tk[i], e);
    }
  }
  for (let i = src.kc; i < tk.kc; i++) delete tk[i];
  tk.kc = src.kc;
  for (let key in diff) if (key !== "k") target[key] = diff[key];
}

// Copying merge, for components whose statics come from another cid's tree.
function cloneMerge(target, diff) {
  let r = deepClone(target);
  merge(r, diff);
  return r;
}

const ROOT_RE = /^(\s*(?:<!--[\s\S]*?-->\s*)*)<([^\s\/>]+)/;

// Inserts attributes right after the tag name of the single root element of html.
export function modifyRoot(html, attrs) {
  let m = ROOT_RE.exec(html);
  if (!m) throw new Error("malformed html " + html);
  let at = m[0].length;
  return html.slice(0, at) + attrs + html.slice(at);
}

export class Rendered {
  constructor(viewId, rendered) {
    this.viewId = viewId;
    this.tree = { c: {} };
    if (rendered) this.merge(rendered);
  }

  // Pops r, e and t off a diff (c stays: merge handles it).
  static extract(diff) {
    let { r: reply, e: events, t: title } = diff;
    delete diff.r;
    delete diff.e;
    delete diff.t;
    return { diff, reply: reply === undefined ? null : reply, events: events || [], title };
  }

  static isComponentOnly(diff) {
    for (let k in diff) if (k !== "c") return false;
    return !!diff.c;
  }

  merge(diff) {
    let newc = diff.c;
    delete diff.c;
    resolve(diff, null, false);
    let oldc = this.tree.c;
    if (diff.s !== undefined) {
      this.tree = diff;
      oldc = diff.c = {};
    } else merge(this.tree, diff);
    if (newc) {
      let done = {};
      let find = (cid) => {
        if (done[cid]) return done[cid];
        let cd = newc[cid];
        if (!cd) throw new Error("no component " + cid);
        let scid = cd.s,
          node;
        resolve(cd, null, typeof scid === "number");
        if (typeof scid === "number") {
          let base = scid > 0 ? find(scid) : oldc[-scid];
          if (!base) throw new Error("no component " + scid + " to share statics with");
          delete cd.s;
          node = cloneMerge(base, cd);
        } else node = scid !== undefined || !oldc[cid] ? cd : cloneMerge(oldc[cid], cd);
        return (done[cid] = node);
      };
      for (let cid in newc) find(cid);
      for (let cid in done) oldc[cid] = done[cid];
    }
  }

  pruneCIDs(cids) {
    for (let cid of cids) delete this.tree.c[cid];
  }

  // All cids referenced from the view's tree (transitively through components).
  referencedCIDs() {
    let seen = new Set(),
      c = this.tree.c;
    let walk = (v) => {
      if (typeof v === "number") {
        if (!seen.has(v) && c[v]) {
          seen.add(v);
          walk(c[v]);
        }
      } else if (isObj(v)) {
        if (v.k) for (let i = 0; i < v.k.kc; i++) walk(v.k[i]);
        else for (let key in v) if (/^\d+$/.test(key)) walk(v[key]);
      }
    };
    walk(this.tree);
    return seen;
  }

  toString() {
    let out = [];
    this.node(this.tree, out);
    return out.join("");
  }

  componentToString(cid) {
    let out = [];
    this.comp(cid, out);
    return out.join("");
  }

  node(n, out) {
    let s = n.s;
    if (n.k) {
      let k = n.k;
      for (let i = 0; i < k.kc; i++) this.dyns(k[i], s, out);
    } else this.dyns(n, s, out);
  }

  dyns(d, s, out) {
    out.push(s[0]);
    for (let i = 1; i < s.length; i++) {
      let v = d[i - 1];
      if (typeof v === "number") this.comp(v, out);
      else if (isObj(v)) this.node(v, out);
      else if (v != null) out.push(v);
      out.push(s[i]);
    }
  }

  comp(cid, out) {
    let c = this.tree.c[cid];
    if (!c) throw new Error("no component for CID " + cid);
    let sub = [];
    this.node(c, sub);
    let v = this.viewId;
    out.push(modifyRoot(sub.join(""), ` data-phx-id="c${cid}-${v}" data-phx-component="${cid}" data-phx-view="${v}"`));
  }
}

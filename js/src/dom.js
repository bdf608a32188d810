// DOM helpers: event values, form serialization, debounce/throttle, element locks.

export const PHX = "phx-";
const CHECKABLE = ["checkbox", "radio"];
const used = new WeakSet(); // inputs the user has interacted with (or submitted)

export const markUsed = (el) => used.add(el);
export const isUsed = (el) => used.has(el);

// {phx-value-* (lowercased by HTML), value: el.value} plus extras (PROTOCOL.md §5 click).
export function extractMeta(el, meta) {
  meta = meta || {};
  for (let a of el.attributes) if (a.name.startsWith("phx-value-")) meta[a.name.slice(10)] = a.value;
  if (el.value !== undefined && el.tagName !== "FORM") {
    meta.value = el.value;
    if (el.tagName === "INPUT" && CHECKABLE.indexOf(el.type) >= 0 && !el.checked) delete meta.value;
  }
  return meta;
}

export function formMeta(form) {
  let meta = {};
  for (let a of form.attributes) if (a.name.startsWith("phx-value-")) meta[a.name.slice(10)] = a.value;
  return meta;
}

// "user[name]" -> "user[_unused_name]", "tags[]" -> "_unused_tags[]"
export const unusedKey = (key) => {
  let arr = key.endsWith("[]"),
    base = (arr ? key.slice(0, -2) : key).replace(/([^\[\]]+)(\]?$)/, "_unused_$1$2");
  return arr ? base + "[]" : base;
};

// URL-encoded form data; the submitter's pair is included at its place in document order.
// Untouched fields get an extra `_unused_<name>=` (not on submit: submitting marks all used).
export function serializeForm(form, submitter, onlyNames) {
  let injected;
  if (submitter && submitter.name) {
    injected = document.createElement("input");
    injected.type = "hidden";
    let f = submitter.getAttribute("form");
    if (f) injected.setAttribute("form", f);
    injected.name = submitter.name;
    injected.value = submitter.value;
    submitter.parentElement.insertBefore(injected, submitter);
  }
  let fd = new FormData(form),
    unused = {},
    hidden = {};
  for (let el of form.elements) {
    let k = el.name;
    if (!k) continue;
    if (unused[k] === undefined) unused[k] = hidden[k] = true;
    unused[k] = unused[k] && !used.has(el) && !el.hasAttribute("phx-no-unused-field");
    hidden[k] = hidden[k] && el.type === "hidden";
  }
  let skip = form.hasAttribute("phx-no-unused-field"),
    out = new URLSearchParams();
  for (let [k, v] of fd.entries()) {
    if (onlyNames && onlyNames.indexOf(k) < 0) continue;
    if (!skip && unused[k] && !hidden[k] && !(submitter && submitter.name === k)) out.append(unusedKey(k), "");
    if (typeof v === "string") out.append(k, v);
  }
  if (injected) injected.remove();
  return out.toString();
}

// phx-debounce / phx-throttle (PROTOCOL.md §5: client-only, 300 ms default, or "blur").
export function debounce(el, e, cb) {
  let d = el.getAttribute(PHX + "debounce"),
    t = el.getAttribute(PHX + "throttle");
  if (d === "") d = "300";
  if (t === "") t = "300";
  let v = d || t;
  if (v === null) return cb();
  let st = el.__phxDeb;
  if (!st) {
    st = el.__phxDeb = {};
    // leaving the field flushes a pending debounced event
    el.addEventListener("blur", () => flush(el));
  }
  if (v === "blur") {
    st.pending = cb;
    return;
  }
  let ms = parseInt(v, 10);
  if (isNaN(ms)) return cb();
  if (t !== null && !d) {
    let newKey = false;
    if (e && e.type === "keydown") {
      newKey = st.key !== e.key;
      st.key = e.key;
    }
    if (st.throttled && !newKey) return;
    cb();
    clearTimeout(st.throttled);
    st.throttled = setTimeout(() => (st.throttled = null), ms);
  } else {
    clearTimeout(st.timer);
    st.pending = cb;
    st.timer = setTimeout(() => flush(el), ms);
  }
}

export function flush(el) {
  let st = el.__phxDeb;
  if (!st || !st.pending) return;
  let cb = st.pending;
  st.pending = null;
  clearTimeout(st.timer);
  cb();
}

export function cancelDebounce(el) {
  let st = el.__phxDeb;
  if (st) {
    clearTimeout(st.timer);
    clearTimeout(st.throttled);
    st.pending = st.throttled = null;
  }
}

export const isTextual = (el) =>
  el.tagName === "TEXTAREA" ||
  (el.tagName === "INPUT" &&
    ["checkbox", "radio", "submit", "button", "reset", "file", "image", "hidden"].indexOf(el.type) < 0);

// Copies `to`'s attributes onto `from` (both elements), optionally only data-*; never `value`.
export function mergeAttrs(from, to, onlyData) {
  for (let a of Array.from(to.attributes)) {
    if (onlyData && !a.name.startsWith("data-")) continue;
    if (a.name !== "value" && from.getAttribute(a.name) !== a.value) from.setAttribute(a.name, a.value);
  }
  if (onlyData) return;
  for (let a of Array.from(from.attributes)) if (!to.hasAttribute(a.name) && a.name !== "value") from.removeAttribute(a.name);
}

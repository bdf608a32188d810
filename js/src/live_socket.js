// LiveSocket: finds the view containers, owns the socket, binds phx-* events by delegation,
// navigation (live_patch / live_redirect / redirect) and reload-with-jitter.
import { Socket } from "./socket.js";
import { View } from "./view.js";
import { debounce, flush, cancelDebounce, markUsed } from "./dom.js";

const MAX_RELOADS = 10;
const FAILSAFE_JITTER = 30000;
const CONSECUTIVE_RELOADS = "consecutive-reloads";

export class LiveSocket {
  // new LiveSocket("/live", opts) or, like phoenix_live_view, new LiveSocket("/live", Socket, opts)
  constructor(url = "/live", a, b) {
    let opts = (typeof a === "function" ? b : a) || {};
    this.opts = opts;
    this.hookDefs = opts.hooks || (typeof window !== "undefined" && window.SalamanderHooks) || {};
    let params = opts.params;
    // connect params: the page's <meta name="csrf-token"> unless opts.params gives its own
    this.params = () => {
      let meta = document.querySelector("meta[name='csrf-token']");
      return Object.assign(meta ? { _csrf_token: meta.getAttribute("content") } : {}, typeof params === "function" ? params() : params);
    };
    this.reloadJitterMin = opts.reloadJitterMin || 5000;
    this.reloadJitterMax = opts.reloadJitterMax || 10000;
    this.failsafeJitter = opts.failsafeJitter || FAILSAFE_JITTER;
    this.maxReloads = opts.maxReloads || MAX_RELOADS;
    this.localStorage = opts.localStorage || (typeof window !== "undefined" && safeStorage());
    this.views = new Map();
    this.main = null;
    this.unloading = false;
    this.socket = new Socket(url, {
      params: () => Object.assign(this.params(), { _mounts: this.main ? this.main.joinCount : 0 }),
      transport: opts.transport,
      heartbeatIntervalMs: opts.heartbeatIntervalMs,
    });
    this.socket.onOpen(() => this.views.forEach((v) => v.joined || v.join()));
    this.socket.onClose((code, byServer) => {
      this.views.forEach((v) => v.onSocketDown());
      // the server closed normally (1000): no reconnect, reload with jitter (PROTOCOL.md §6)
      if (byServer && code === 1000 && this.main && !this.unloading) this.reloadWithJitter(this.main, true);
    });
    if (typeof window !== "undefined") window.liveSocket = this;
  }

  connect() {
    let go = () => {
      if (this.connected) return this.socket.connect();
      this.connected = true;
      this.bindEvents();
      for (let el of document.querySelectorAll("[data-phx-session]:not([data-phx-parent-id])")) {
        let v = new View(this, el);
        this.views.set(v.id, v);
        if (v.isMain) this.main = v;
        v.setClasses(["phx-loading"]);
      }
      if (!this.main) this.main = this.views.values().next().value || null;
      if (this.views.size) this.socket.connect();
    };
    if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", go);
    else go();
  }

  disconnect(cb) {
    this.socket.disconnect();
    cb && cb();
  }

  isConnected() {
    return this.socket.isConnected();
  }

  viewOf(el) {
    let c = el && el.closest && el.closest("[data-phx-session]");
    while (c) {
      let v = this.views.get(c.id);
      if (v) return v;
      c = c.parentElement && c.parentElement.closest("[data-phx-session]");
    }
    return null;
  }

  newHook(view, el) {
    let name = el.getAttribute("phx-hook"),
      def = this.hookDefs[name] || (window.SalamanderHooks || {})[name];
    if (!def) {
      if (window.console) console.error(`salamander: unknown hook "${name}"`, el);
      return null;
    }
    let h = typeof def === "function" ? new def() : Object.create(def);
    h.el = el;
    h.liveSocket = this;
    h.__view = view;
    h.pushEvent = (event, payload = {}, onReply) => view.pushHook(el, event, payload, onReply);
    h.pushEventTo = (target, event, payload = {}, onReply) => {
      let cid = typeof target === "number" || /^\d+$/.test(target) ? +target : null;
      if (cid === null) {
        let t = typeof target === "string" ? document.querySelector(target) : target;
        let c = t && t.closest("[data-phx-component]");
        cid = c ? +c.getAttribute("data-phx-component") : null;
      }
      let p = { type: "hook", event, value: payload };
      if (cid !== null) p.cid = cid;
      return new Promise((resolve) => view.push("event", p, null, (reply, _r, ref) => (onReply ? onReply(reply, ref) : resolve(reply))) || resolve(null));
    };
    h.handleEvent = (event, cb) => {
      let set = view.handlers.get(event) || new Set(),
        ref = { hook: h, cb };
      view.handlers.set(event, set.add(ref));
      return ref;
    };
    h.removeHandleEvent = (ref) => view.handlers.forEach((set) => set.delete(ref));
    return h;
  }

  // ---- events ----

  bindEvents() {
    let on = (target, type, fn, capture) => target.addEventListener(type, fn, capture);
    on(document, "click", (e) => this.onClick(e));
    on(document, "submit", (e) => this.onSubmit(e));
    let iter = 0;
    let onInput = (e) => {
      let input = e.target,
        form = input.form;
      if (!input || !input.getAttribute) return;
      let ev = input.getAttribute("phx-change") || (form && form.getAttribute("phx-change"));
      if (!ev) return;
      // browsers fire "input" before "change": ignore a change right after an input
      let prev = input.__phxIter,
        n = ++iter;
      input.__phxIter = { at: n, type: e.type };
      if (e.type === "change" && prev && prev.at === n - 1 && prev.type === "input") return;
      markUsed(input);
      let view = this.viewOf(input);
      if (!view) return;
      let dispatcher = input.hasAttribute("phx-change") || !form ? input : form;
      debounce(input, e, () => view.pushInput(input, ev, dispatcher));
    };
    on(document, "input", onInput);
    on(document, "change", onInput);
    for (let type of ["keydown", "keyup"]) {
      on(document, type, (e) => this.onKey(e, type, e.target, "phx-" + type));
      on(window, type, (e) => {
        for (let el of document.querySelectorAll(`[phx-window-${type}]`)) this.onKey(e, type, el, `phx-window-${type}`);
      });
    }
    for (let type of ["focus", "blur"]) {
      on(document, type, (e) => this.onFocus(e, type, e.target, "phx-" + type), true);
      on(window, type, (e) => {
        if (e.target !== window) return;
        for (let el of document.querySelectorAll(`[phx-window-${type}]`)) this.onFocus(e, type, el, `phx-window-${type}`);
      });
    }
    on(window, "popstate", (e) => this.onPopState(e));
    on(window, "beforeunload", () => (this.unloading = true));
    on(window, "pageshow", () => (this.unloading = false));
  }

  onClick(e) {
    if (e.button !== undefined && e.button !== 0) return;
    let target = e.target && e.target.nodeType === 1 ? e.target : e.target && e.target.parentElement;
    if (!target) return;
    let link = target.closest("a[data-phx-link]");
    let el = target.closest("[phx-click]");
    if (el && (!link || el.contains(link))) {
      let view = this.viewOf(el);
      if (!view) return;
      if (el.getAttribute("href") === "#") e.preventDefault();
      if (el.hasAttribute("disabled") && el.disabled) return;
      debounce(el, e, () => view.pushClick(el, el.getAttribute("phx-click")));
      return;
    }
    if (link && !(e.metaKey || e.ctrlKey || e.shiftKey || e.altKey)) {
      let kind = link.getAttribute("data-phx-link"),
        state = link.getAttribute("data-phx-link-state") || "push";
      if (!this.main || !this.main.joined) return;
      e.preventDefault();
      if (kind === "patch") this.pushPatch(link.href, state, link);
      else if (kind === "redirect") this.liveRedirect(this.main, link.href, state);
    }
  }

  onSubmit(e) {
    let form = e.target,
      ev = form && form.getAttribute && form.getAttribute("phx-submit");
    if (!ev) return;
    let view = this.viewOf(form);
    if (!view) return;
    e.preventDefault();
    if ((form.__phxRefs || []).some(([, cls]) => cls === "phx-submit-loading")) return; // already submitting
    for (let el of form.elements) cancelDebounce(el);
    view.pushSubmit(form, e.submitter || null, ev);
  }

  onKey(e, type, el, attr) {
    if (!el || !el.getAttribute || e.key === undefined) return;
    let ev = el.getAttribute(attr);
    if (!ev) return;
    let want = el.getAttribute("phx-key");
    if (want && want.toLowerCase() !== e.key.toLowerCase()) return;
    let view = this.viewOf(el);
    if (!view) return;
    debounce(el, e, () => view.pushEvent(type, el, ev, { key: e.key }, type));
  }

  onFocus(e, type, el, attr) {
    if (!el || !el.getAttribute) return;
    let ev = el.getAttribute(attr);
    if (type === "blur" && el.__phxDeb) flush(el);
    if (!ev) return;
    let view = this.viewOf(el);
    if (view) view.pushEvent(type, el, ev, {}, type);
  }

  // ---- navigation ----

  navigate(to, flash, reload) {
    this.unloading = true;
    // the GET that follows shows the flash and clears the cookie (a signed token, good for 60 s)
    if (flash) document.cookie = "__phoenix_flash__=" + flash + "; max-age=60; path=/";
    this.views.forEach((v) => v.destroy());
    this.socket.disconnect();
    if (reload && to === window.location.href) this.reloadPage();
    else this.visit(to);
  }

  // the only two ways the client leaves the page (tests replace them)
  reloadPage() {
    window.location.reload();
  }
  visit(to) {
    window.location.href = to;
  }

  historyPatch(to, kind) {
    let url = new URL(to, window.location.href).toString();
    if (url === window.location.href && kind !== "replace") kind = "replace";
    window.history[kind === "replace" ? "replaceState" : "pushState"]({ type: "patch", id: this.main && this.main.id }, "", url);
    if (this.main) this.main.href = url;
  }

  pushPatch(href, kind, el) {
    let view = this.main,
      url = new URL(href, window.location.href).toString();
    let ok = view.push("live_patch", { url }, el ? [[el, "phx-click-loading"]] : null, (_r, resp) => {
      if (resp.link_redirect) this.liveRedirect(view, url, kind);
      else if (!resp.redirect && !resp.live_redirect) this.historyPatch(url, kind);
    });
    if (!ok) this.navigate(url);
  }

  // live navigation: leave, then join the same topic again with `redirect` (and the flash token)
  liveRedirect(view, to, kind, flash) {
    let url = new URL(to, window.location.href).toString();
    if (window.location.href !== url || kind !== "replace")
      window.history[kind === "replace" ? "replaceState" : "pushState"]({ type: "redirect", id: view.id }, "", url);
    view.leave();
    view.href = url;
    view.redirect = true;
    view.flash = flash || null;
    view.joinCount = 0;
    view.joinAttempts = 0;
    view.rendered = null;
    view.join();
  }

  onPopState(e) {
    let st = e.state,
      view = this.main;
    if (!st || !view || !view.joined) return;
    let url = window.location.href;
    if (st.type === "patch") {
      let ok = view.push("live_patch", { url }, null, (_r, resp) => {
        if (resp.link_redirect) this.liveRedirect(view, url, "replace");
        else view.href = url;
      });
      if (!ok) this.navigate(url);
    } else if (st.type === "redirect") this.liveRedirect(view, url, "replace");
  }

  setTitle(t) {
    let el = document.querySelector("title");
    let pre = (el && el.getAttribute("data-prefix")) || "",
      suf = (el && el.getAttribute("data-suffix")) || "";
    document.title = pre + (t || (el && el.getAttribute("data-default")) || "") + suf;
  }

  dispatchWindowEvents(events) {
    for (let [name, detail] of events) window.dispatchEvent(new CustomEvent("phx:" + name, { detail }));
  }

  // ---- failure handling ----

  joinSucceeded(view) {
    clearTimeout(this.reloadTimer);
    this.reloadTimer = null;
    if (this.localStorage) this.localStorage.removeItem(reloadKey());
  }

  onViewJoined(view) {
    // give the first history entry a state, so that going back to it patches the view
    if (view === this.main && window.history.state === null) window.history.replaceState({ type: "patch", id: view.id }, "", window.location.href);
  }

  // Reload after a random 5–10 s, counting consecutive reloads; 30 s from MAX_RELOADS on.
  // `force`: reload even if the view rejoins meanwhile (an unanswered push, a server close).
  reloadWithJitter(view, force) {
    if (force) this.socket.disconnect();
    if (this.reloadTimer) return;
    let min = this.reloadJitterMin,
      max = this.reloadJitterMax,
      after = Math.floor(Math.random() * (max - min + 1)) + min,
      tries = 0;
    if (this.localStorage) {
      tries = (parseInt(this.localStorage.getItem(reloadKey()), 10) || 0) + 1;
      this.localStorage.setItem(reloadKey(), String(tries));
    }
    if (tries >= this.maxReloads) after = this.failsafeJitter;
    this.reloadTimer = setTimeout(() => {
      this.reloadTimer = null;
      if (!force && view.joined && !view.destroyed) return; // recovered in the meantime
      this.unloading = true;
      this.reloadPage();
    }, after);
  }
}

const reloadKey = () => window.location.pathname + "-" + CONSECUTIVE_RELOADS;

function safeStorage() {
  try {
    let s = window.localStorage;
    s.getItem("x");
    return s;
  } catch (_) {
    return null;
  }
}


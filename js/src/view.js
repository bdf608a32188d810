// One LiveView: its channel (topic lv:<container id>), rendered tree, DOM patching, pushes with
// element locks, hooks, and the join / rejoin / error lifecycle (PROTOCOL.md §3, §5, §6).
import morphdom from "morphdom";
import { Rendered } from "./rendered.js";
import { backoff } from "./socket.js";
import { extractMeta, formMeta, serializeForm, isTextual, mergeAttrs, isUsed, markUsed } from "./dom.js";

export const REJOIN_MS = [1000, 2000, 5000];
const JOIN_TIMEOUT = 10000;
const PUSH_TIMEOUT = 30000;
const STATE_CLASSES = ["phx-connected", "phx-loading", "phx-error", "phx-client-error", "phx-server-error"];
const LOADING_CLASSES = ["phx-click-loading", "phx-submit-loading", "phx-change-loading", "phx-keyup-loading", "phx-keydown-loading", "phx-blur-loading", "phx-focus-loading"];
const REF_ATTRS = ["data-phx-ref-loading", "data-phx-ref-lock", "data-phx-ref-src"];

const sel = (s) => (typeof CSS !== "undefined" && CSS.escape ? CSS.escape(s) : s.replace(/["\\]/g, "\\$&"));

export class View {
  constructor(ls, el) {
    this.ls = ls;
    this.el = el;
    this.id = el.id;
    this.topic = "lv:" + el.id;
    this.session = el.getAttribute("data-phx-session");
    this.static = el.getAttribute("data-phx-static") || null;
    this.isMain = el.hasAttribute("data-phx-main");
    this.href = window.location.href;
    this.redirect = false; // the next join is a live navigation
    this.flash = null; // the flash token that navigation carries, sent with its join
    this.joinCount = 0; // successful joins (sent as _mounts)
    this.joinAttempts = 0; // tries since the last success (_mount_attempts)
    this.rejoinTries = 0;
    this.joinRef = null;
    this.joined = false;
    this.destroyed = false;
    this.pending = new Map(); // ref -> {cb, els, timer}
    this.rendered = null;
    this.hooks = new Map(); // element -> hook instance
    this.handlers = new Map(); // handleEvent name -> Set(cb)
    this.pendingDestroy = new Set();
    this.morphOpts = this.makeMorphOpts();
    ls.socket.topics.set(this.topic, (msg) => this.onMessage(msg));
  }

  // ---- channel ----

  join() {
    clearTimeout(this.rejoinTimer);
    if (this.destroyed || !this.ls.socket.isConnected()) return;
    this.joined = false;
    this.dropPending(); // at most one join in flight
    this.setClasses(["phx-loading"]);
    let params = Object.assign({}, this.ls.params(), { _mounts: this.joinCount, _mount_attempts: this.joinAttempts });
    let payload = { params, session: this.session, static: this.static, sticky: this.el.hasAttribute("data-phx-sticky") };
    if (this.redirect) payload.redirect = this.href;
    else if (this.isMain) payload.url = this.href;
    if (this.flash) payload.flash = this.flash;
    if (this.isMain) {
      let track = Array.from(document.querySelectorAll("[phx-track-static]")).map((el) => el.src || el.href);
      if (track.length) params._track_static = track;
    }
    this.joinAttempts++;
    let jr = (this.joinRef = this.ls.socket.makeRef());
    this.addPending(jr, (status, resp) => (status === "ok" ? this.onJoin(resp) : this.onJoinError(resp)), null, JOIN_TIMEOUT);
    this.ls.socket.send([jr, jr, this.topic, "phx_join", payload]);
  }

  leave() {
    if (this.joinRef && this.ls.socket.isConnected()) this.ls.socket.send([this.joinRef, this.ls.socket.makeRef(), this.topic, "phx_leave", {}]);
    this.joined = false;
    this.joinRef = null;
    this.dropPending();
  }

  addPending(ref, cb, els, timeout) {
    let timer = setTimeout(() => {
      this.pending.delete(ref);
      cb("timeout", { reason: "timeout" });
    }, timeout);
    this.pending.set(ref, { cb, els, timer });
  }

  dropPending() {
    for (let [ref, p] of this.pending) clearTimeout(p.timer);
    this.pending.clear();
    this.unlock(Infinity);
  }

  onMessage([jr, ref, , event, payload]) {
    if (jr != null && jr !== this.joinRef) return; // a reply or push for an older join
    if (event === "phx_reply") {
      let p = this.pending.get(ref);
      if (!p) return;
      this.pending.delete(ref);
      clearTimeout(p.timer);
      p.cb(payload.status, payload.response || {});
    } else if (event === "diff") {
      this.update(payload);
    } else if (event === "phx_error") {
      this.onChannelDown("error", payload);
    } else if (event === "phx_close") {
      this.onChannelDown("close", payload);
    } else if (event === "redirect") {
      this.ls.navigate(payload.to, payload.flash);
    } else if (event === "live_redirect") {
      this.ls.liveRedirect(this, payload.to, payload.kind, payload.flash);
    } else if (event === "live_patch") {
      this.ls.historyPatch(payload.to, payload.kind);
    }
  }

  // Event push; `locks` is [[el, loadingClass], ...]. Every push gets a reply: on ok, the diff is
  // applied first and the elements are unlocked after.
  // Returns the push's ref number, or 0 when the view is not joined (nothing sent).
  push(event, payload, locks, onReply) {
    if (!this.joined) return 0;
    if (typeof payload.cid !== "number") delete payload.cid;
    let ref = this.ls.socket.makeRef(),
      n = +ref,
      els = [];
    if (locks)
      for (let [el, cls] of locks) {
        if (!el) continue;
        el.__phxRefs = el.__phxRefs || [];
        el.__phxRefs.push([n, cls]);
        if (cls) el.classList.add(cls);
        el.setAttribute("data-phx-ref-loading", ref);
        el.setAttribute("data-phx-ref-lock", ref);
        el.setAttribute("data-phx-ref-src", this.id);
        els.push(el);
      }
    this.addPending(
      ref,
      (status, resp) => {
        if (status === "timeout") return this.ls.reloadWithJitter(this, true);
        if (status !== "ok") return; // an error reply leaves the lock until a later ack
        let reply = null;
        if (resp.diff) reply = this.update(resp.diff);
        this.unlock(n);
        if (resp.redirect) this.ls.navigate(resp.redirect.to, resp.redirect.flash);
        if (resp.live_patch) this.ls.historyPatch(resp.live_patch.to, resp.live_patch.kind);
        if (resp.live_redirect) this.ls.liveRedirect(this, resp.live_redirect.to, resp.live_redirect.kind, resp.live_redirect.flash);
        onReply && onReply(reply, resp, n);
      },
      els,
      PUSH_TIMEOUT
    );
    this.ls.socket.send([this.joinRef, ref, this.topic, event, payload]);
    return n;
  }

  // Releases locks taken by pushes with a ref <= upTo, restoring disable-with and applying the
  // patch that arrived while the element was locked.
  unlock(upTo) {
    let els = this.el.querySelectorAll("[data-phx-ref-src]");
    let all = Array.from(els);
    if (this.el.hasAttribute("data-phx-ref-src")) all.push(this.el);
    for (let el of all) {
      let refs = (el.__phxRefs || []).filter(([r]) => r > upTo);
      el.__phxRefs = refs;
      for (let c of LOADING_CLASSES) if (!refs.some(([, cls]) => cls === c)) el.classList.remove(c);
      if (refs.length) continue;
      REF_ATTRS.forEach((a) => el.removeAttribute(a));
      let txt = el.getAttribute("data-phx-disable-with-restore");
      if (txt !== null) {
        el.textContent = txt;
        el.removeAttribute("data-phx-disable-with-restore");
      }
      let dis = el.getAttribute("data-phx-disabled");
      if (dis !== null) {
        el.disabled = dis === "true";
        el.removeAttribute("data-phx-disabled");
      }
      let ro = el.getAttribute("data-phx-readonly");
      if (ro !== null) {
        el.readOnly = ro === "true";
        el.removeAttribute("data-phx-readonly");
      }
      let pend = el.__phxPending;
      if (pend) {
        el.__phxPending = null;
        this.morph(el, pend, false);
      }
    }
  }

  // ---- join ----

  onJoin(resp) {
    clearTimeout(this.rejoinTimer);
    this.joined = true;
    this.rejoinTries = 0;
    this.joinAttempts = 0;
    this.ls.joinSucceeded(this);
    if (resp.live_patch) this.ls.historyPatch(resp.live_patch.to, resp.live_patch.kind);
    let { diff, events, title } = Rendered.extract(resp.rendered || {});
    let recover = this.joinCount > 0 ? this.formsForRecovery() : [];
    this.rendered = new Rendered(this.id, diff);
    this.pendingDestroy.clear();
    let rejoin = this.joinCount > 0;
    this.joinCount++;
    this.redirect = false;
    this.flash = null; // shown now: a rejoin must not bring it back
    this.joinPending = true;
    let done = () => {
      this.joinPending = false;
      this.dispatchEvents(events, true);
      if (title !== undefined) this.ls.setTitle(title);
      this.morph(this.el, this.wrap(this.rendered.toString()), true);
      this.setClasses(["phx-connected"]);
      if (rejoin && this.down) this.hooks.forEach((h) => h.reconnected && h.reconnected());
      this.down = false;
      this.dispatchEvents(events, false);
      this.maybeDestroyCIDs();
      this.ls.onViewJoined(this);
    };
    if (!recover.length) return done();
    // Form recovery: push each edited form's data before the join patch (phx-auto-recover).
    let html = this.rendered.toString(),
      tpl = document.createElement("template");
    tpl.innerHTML = html;
    let n = 0;
    for (let [form, data, target] of recover) {
      let nf = tpl.content.querySelector("form#" + sel(form.id));
      if (!nf || nf.getAttribute("phx-change") !== form.getAttribute("phx-change")) continue;
      let ev = nf.getAttribute("phx-auto-recover") || nf.getAttribute("phx-change");
      let payload = { type: "form", event: ev, value: data, meta: Object.assign({ _target: target }, formMeta(nf)), uploads: {} };
      let cid = this.targetCid(nf);
      if (cid !== null) payload.cid = cid;
      n++;
      this.push("event", payload, null, () => --n || done());
    }
    if (!n) done();
  }

  formsForRecovery() {
    let out = [];
    for (let form of this.el.querySelectorAll("form[phx-change]")) {
      if (!form.id || form.getAttribute("phx-auto-recover") === "ignore") continue;
      let els = Array.from(form.elements).filter((e) => e.name);
      if (!els.some(isUsed)) continue;
      let first = els.find((e) => e.type !== "hidden") || els[0];
      out.push([form, serializeForm(form), first ? first.name : "undefined"]);
    }
    return out;
  }

  onJoinError(resp) {
    resp = resp || {};
    if (resp.events) this.ls.dispatchWindowEvents(resp.events);
    if (resp.reason === "stale" || resp.reason === "unauthorized") return this.ls.navigate(window.location.href, null, true);
    if (resp.reason === "reload") {
      if (resp.token) document.cookie = "__phoenix_reload_status__=" + resp.token + "; path=/";
      return this.ls.navigate(window.location.href, null, true);
    }
    if (resp.redirect) {
      this.leave();
      return this.ls.navigate(resp.redirect.to, resp.redirect.flash);
    }
    if (resp.live_redirect) {
      this.leave();
      return this.ls.liveRedirect(this, resp.live_redirect.to, resp.live_redirect.kind, resp.live_redirect.flash);
    }
    this.joinRef = null;
    if (window.console) console.error("salamander: unable to join " + this.topic, resp);
    this.displayError(true);
    // retry with the channel backoff; if the view still has not joined after the jittered
    // reload delay (several failed mounts), reload the page
    if (this.ls.socket.isConnected()) {
      this.scheduleRejoin();
      if (this.isMain) this.ls.reloadWithJitter(this);
    }
  }

  // phx_error (the view crashed) or phx_close (the server ended it)
  onChannelDown(kind, payload) {
    if (!this.joined && kind === "close") return;
    this.joined = false;
    this.joinRef = null;
    this.dropPending();
    if (this.ls.unloading || this.destroyed) return;
    if (window.console && kind === "error") console.error("salamander: view crashed", this.topic, payload);
    this.displayError(this.ls.socket.isConnected());
    this.scheduleRejoin();
  }

  // the socket closed: every view is down until it reconnects
  onSocketDown() {
    this.joined = false;
    this.joinRef = null;
    this.dropPending();
    clearTimeout(this.rejoinTimer);
    if (!this.ls.unloading && !this.destroyed) this.displayError(false);
  }

  scheduleRejoin() {
    clearTimeout(this.rejoinTimer);
    this.rejoinTries++;
    this.rejoinTimer = setTimeout(() => this.join(), backoff(REJOIN_MS, 10000, this.rejoinTries));
  }

  displayError(serverSide) {
    this.setClasses(["phx-loading", "phx-error", serverSide ? "phx-server-error" : "phx-client-error"]);
    if (!this.down) this.hooks.forEach((h) => h.disconnected && h.disconnected());
    this.down = true;
  }

  setClasses(cls) {
    this.el.classList.remove(...STATE_CLASSES);
    this.el.classList.add(...cls);
  }

  destroy() {
    this.destroyed = true;
    clearTimeout(this.rejoinTimer);
    this.leave();
    this.ls.socket.topics.delete(this.topic);
    this.hooks.forEach((h) => h.destroyed && h.destroyed());
    this.hooks.clear();
  }

  // ---- diffs and patching ----

  // Applies a diff (pushed or from a reply); returns the reply value `r` for hooks.
  update(raw) {
    let { diff, reply, events, title } = Rendered.extract(raw);
    if (!this.rendered) return reply;
    this.dispatchEvents(events, true);
    if (title !== undefined) this.ls.setTitle(title);
    // a c-only diff patches just those components, unless a locked element holds a deferred patch
    let cids = Rendered.isComponentOnly(diff) && !this.el.querySelector("[data-phx-ref-lock]") && Object.keys(diff.c),
      empty = Object.keys(diff).length === 0;
    if (!empty) {
      this.rendered.merge(diff);
      if (!this.joinPending) {
        if (cids) {
          for (let cid of cids) {
            let el = this.el.querySelector(`[data-phx-id="c${cid}-${sel(this.id)}"]`);
            if (el) this.morph(el, this.rendered.componentToString(+cid), false);
          }
        } else this.morph(this.el, this.wrap(this.rendered.toString()), true);
        this.maybeDestroyCIDs();
      }
    }
    this.dispatchEvents(events, false);
    return reply;
  }

  wrap(html) {
    let tag = this.el.tagName.toLowerCase();
    return `<${tag}>${html}</${tag}>`;
  }

  // cids the tree no longer references: cids_will_destroy, then cids_destroyed, then prune
  maybeDestroyCIDs() {
    let c = this.rendered.tree.c,
      cids = [];
    if (!c || !Object.keys(c).length) return;
    let live = this.rendered.referencedCIDs();
    for (let cid in c) if (!live.has(+cid) && !this.pendingDestroy.has(+cid)) cids.push(+cid);
    if (!cids.length) return;
    cids.forEach((cid) => this.pendingDestroy.add(cid));
    let rendered = this.rendered;
    this.push("cids_will_destroy", { cids }, null, () => {
      if (rendered !== this.rendered) return;
      let live = rendered.referencedCIDs(),
        gone = cids.filter((cid) => !live.has(cid));
      cids.forEach((cid) => this.pendingDestroy.delete(cid));
      if (!gone.length) return;
      this.push("cids_destroyed", { cids: gone }, null, (_r, resp) => {
        if (rendered === this.rendered) rendered.pruneCIDs(resp.cids || gone);
      });
    });
  }

  morph(target, html, childrenOnly) {
    this.updatedHooks = [];
    morphdom(target, html, Object.assign({ childrenOnly }, this.morphOpts));
    this.afterPatch();
  }

  makeMorphOpts() {
    let view = this;
    return {
      getNodeKey: (n) => (n.nodeType === 1 ? n.id || n.getAttribute("data-phx-id") || undefined : undefined),
      onBeforeElUpdated(from, to) {
        if (from.__phxRefs && from.__phxRefs.length) {
          // locked until its reply: keep the element, apply this patch on unlock
          from.__phxPending = to;
          return false;
        }
        if (from.getAttribute("phx-update") === "ignore") {
          mergeAttrs(from, to, true);
          return false;
        }
        if (from !== view.el && from.hasAttribute("data-phx-session") && view.ls.views.has(from.id)) {
          return false; // a nested view's container is its own
        }
        if (from === document.activeElement && isTextual(from)) {
          // the user's focused input keeps its value and selection
          mergeAttrs(from, to, false);
          return false;
        }
        let h = view.hooks.get(from);
        if (h) {
          if (from.isEqualNode(to)) return false;
          h.beforeUpdate && h.beforeUpdate();
          view.updatedHooks.push(h);
        }
        return true;
      },
    };
  }

  afterPatch() {
    for (let el of this.el.querySelectorAll("[phx-hook]")) {
      if (this.hooks.has(el)) continue;
      let h = this.ls.newHook(this, el);
      if (h) {
        this.hooks.set(el, h);
        h.mounted && h.mounted();
      }
    }
    for (let h of this.updatedHooks) if (this.hooks.get(h.el) === h && this.el.contains(h.el)) h.updated && h.updated();
    this.updatedHooks = [];
    for (let [el, h] of this.hooks)
      if (!this.el.contains(el) || !el.hasAttribute("phx-hook")) {
        this.hooks.delete(el);
        h.destroyed && h.destroyed();
        for (let [name, set] of this.handlers) for (let e of set) if (e.hook === h) set.delete(e);
      }
  }

  // e: [[name, payload, before?], ...]: window events phx:<name> and hooks' handleEvent
  dispatchEvents(events, before) {
    for (let [name, payload, pre] of events) {
      if (!!pre !== before) continue;
      this.ls.dispatchWindowEvents([[name, payload]]);
      let set = this.handlers.get(name);
      if (set) for (let e of Array.from(set)) e.cb(payload);
    }
  }

  // ---- pushes from bindings ----

  targetCid(el, explicit) {
    let t = explicit !== undefined ? explicit : el.getAttribute("phx-target");
    if (t === null || t === undefined) return null;
    if (typeof t === "number" || /^\d+$/.test(t)) return +t;
    let c = el.closest("[data-phx-component]");
    return c ? +c.getAttribute("data-phx-component") : null;
  }

  // Pushes `payload` to every owner of el's phx-target (a cid, or a selector: one push per
  // component or view); locks `locks` only for a push to this view. Returns that push's ref or 0.
  pushTo(el, payload, locks) {
    let t = el.getAttribute("phx-target"),
      mine = 0,
      go = (view, cid) => {
        let n = view.push("event", Object.assign({}, payload, { cid }), view === this ? locks : null);
        if (view === this && n) mine = n;
      };
    let targets = [];
    if (t === null || /^\d+$/.test(t)) return go(this, this.targetCid(el)), mine;
    try {
      targets = document.querySelectorAll(t);
    } catch (_) {
      return go(this, null), mine;
    }
    for (let tel of targets) {
      let v = this.ls.viewOf(tel);
      if (!v) continue;
      let c = tel.closest("[data-phx-component]");
      go(v, c && v.el.contains(c) ? +c.getAttribute("data-phx-component") : null);
    }
    return mine;
  }

  pushEvent(type, el, phxEvent, meta, loadingType) {
    return this.pushTo(el, { type, event: phxEvent, value: extractMeta(el, meta) }, [[el, loadingType && "phx-" + loadingType + "-loading"]]);
  }

  pushClick(el, phxEvent) {
    let dw = el.getAttribute("phx-disable-with");
    if (this.pushEvent("click", el, phxEvent, {}, "click") && dw !== null) this.disableWith(el, dw);
  }

  disableWith(el, text) {
    if (!el.hasAttribute("data-phx-disable-with-restore")) el.setAttribute("data-phx-disable-with-restore", el.textContent);
    if (text !== "") el.textContent = text;
    if (!el.hasAttribute("data-phx-disabled")) el.setAttribute("data-phx-disabled", String(!!el.disabled));
    el.disabled = true;
  }

  pushInput(input, phxEvent, dispatcher) {
    let form = input.form;
    let value = form ? serializeForm(form, null, input.hasAttribute("phx-change") ? [input.name] : null) : new URLSearchParams([[input.name, input.value]]).toString();
    let meta = Object.assign({ _target: input.name || "undefined" }, form ? formMeta(form) : {});
    this.pushTo(dispatcher, { type: "form", event: phxEvent, value, meta, uploads: {} }, [[input, "phx-change-loading"], [form, "phx-change-loading"]]);
  }

  pushSubmit(form, submitter, phxEvent) {
    for (let el of form.elements) markUsed(el);
    let value = serializeForm(form, submitter);
    let ref = this.pushTo(form, { type: "form", event: phxEvent, value, meta: formMeta(form) }, [[form, "phx-submit-loading"]]);
    if (!ref) return;
    // disable the form while the submit is in flight
    for (let el of form.elements) {
      if (el.tagName === "BUTTON" || el.type === "submit") {
        let dw = el.getAttribute("phx-disable-with");
        this.disableWith(el, dw === null ? "" : dw);
      } else if (el.tagName !== "FIELDSET" && !el.hasAttribute("data-phx-readonly")) {
        el.setAttribute("data-phx-readonly", String(!!el.readOnly));
        el.readOnly = true;
      } else continue;
      el.setAttribute("data-phx-ref-src", this.id);
      el.__phxRefs = (el.__phxRefs || []).concat([[ref, null]]);
    }
  }

  pushHook(el, event, payload, onReply) {
    let p = { type: "hook", event, value: payload };
    if (!onReply) return new Promise((resolve) => this.push("event", p, null, (reply, _r, ref) => resolve(reply)) || resolve(null));
    this.push("event", p, null, (reply, _r, ref) => onReply(reply, ref));
  }
}

// Phoenix Channels V2 JSON transport: one WebSocket, frames [join_ref, ref, topic, event, payload],
// a 30 s heartbeat, and reconnection with backoff (PROTOCOL.md §2, §6).

export const RECONNECT_MS = [10, 50, 100, 150, 200, 250, 500, 1000, 2000];
export const backoff = (table, last, tries) => table[tries - 1] || last;
// +-10 % jitter so that many clients dropped at once do not reconnect in lockstep
const jitter = (ms) => Math.round(ms * (0.9 + Math.random() * 0.2));

export class Socket {
  constructor(endPoint, opts = {}) {
    this.endPoint = endPoint;
    this.opts = opts;
    this.params = opts.params || (() => ({}));
    this.transport = opts.transport || (typeof WebSocket !== "undefined" ? WebSocket : null);
    this.heartbeatMs = opts.heartbeatIntervalMs || 30000;
    this.ref = 0;
    this.conn = null;
    this.topics = new Map(); // topic -> handler(msg)
    this.openCbs = [];
    this.closeCbs = [];
    this.tries = 0;
    this.closeWasClean = false;
    this.hbRef = null;
  }

  onOpen(cb) {
    this.openCbs.push(cb);
  }
  onClose(cb) {
    this.closeCbs.push(cb);
  }
  makeRef() {
    return String(++this.ref);
  }
  isConnected() {
    return !!this.conn && this.conn.readyState === 1;
  }

  url() {
    let loc = window.location,
      base = this.endPoint;
    if (!/^wss?:/.test(base)) {
      let proto = loc.protocol === "https:" ? "wss:" : "ws:";
      base = base.charAt(0) === "/" && base.charAt(1) === "/" ? proto + base : proto + "//" + loc.host + base;
    }
    let q = new URLSearchParams(),
      p = this.params();
    for (let k in p) if (p[k] !== undefined) q.append(k, p[k]);
    q.append("vsn", "2.0.0");
    return base + "/websocket?" + q.toString();
  }

  connect() {
    if (this.conn) return;
    clearTimeout(this.reconnectTimer);
    this.closeWasClean = false;
    let conn = (this.conn = new this.transport(this.url()));
    conn.onopen = () => this.onConnOpen();
    conn.onerror = () => {};
    conn.onmessage = (e) => this.onConnMessage(e.data);
    conn.onclose = (e) => this.onConnClose(e, conn);
  }

  // A clean disconnect: no reconnect.
  disconnect(code = 1000, reason) {
    this.closeWasClean = true;
    clearTimeout(this.reconnectTimer);
    this.teardown(code, reason);
  }

  teardown(code, reason) {
    let conn = this.conn;
    clearTimeout(this.hbTimer);
    this.hbRef = null;
    if (!conn) return;
    this.conn = null;
    conn.onopen = conn.onmessage = conn.onerror = conn.onclose = null;
    try {
      conn.close(code, reason);
    } catch (_) {}
    this.closeCbs.forEach((cb) => cb(code, false));
  }

  onConnOpen() {
    this.tries = 0;
    this.scheduleHeartbeat();
    this.openCbs.forEach((cb) => cb());
  }

  onConnClose(e, conn) {
    if (conn !== this.conn) return;
    this.conn = null;
    clearTimeout(this.hbTimer);
    this.hbRef = null;
    // Phoenix: a server close with 1000 means "do not come back"; anything else reconnects
    if (!this.closeWasClean && e.code !== 1000) this.scheduleReconnect();
    this.closeCbs.forEach((cb) => cb(e.code, true));
  }

  scheduleReconnect() {
    clearTimeout(this.reconnectTimer);
    this.tries++;
    this.reconnectTimer = setTimeout(() => {
      // no reconnect while the page is hidden: wait until it is shown again
      if (typeof document !== "undefined" && document.hidden) {
        let onVis = () => {
          if (document.hidden) return;
          document.removeEventListener("visibilitychange", onVis);
          this.connect();
        };
        document.addEventListener("visibilitychange", onVis);
      } else this.connect();
    }, jitter(backoff(RECONNECT_MS, 5000, this.tries)));
  }

  scheduleHeartbeat() {
    clearTimeout(this.hbTimer);
    this.hbTimer = setTimeout(() => this.heartbeat(), this.heartbeatMs);
  }

  heartbeat() {
    if (!this.isConnected()) return;
    if (this.hbRef) {
      // the previous heartbeat got no reply within an interval: drop the connection and come back
      this.closeWasClean = false;
      this.teardown(1000, "heartbeat timeout");
      this.scheduleReconnect();
      return;
    }
    this.hbRef = this.makeRef();
    this.send([null, this.hbRef, "phoenix", "heartbeat", {}]);
    this.scheduleHeartbeat();
  }

  send(frame) {
    if (!this.isConnected()) return false;
    this.conn.send(JSON.stringify(frame));
    return true;
  }

  onConnMessage(data) {
    let msg;
    try {
      msg = JSON.parse(data);
    } catch (_) {
      return;
    }
    if (!Array.isArray(msg) || msg.length < 5) return;
    let [, ref, topic] = msg;
    if (topic === "phoenix") {
      if (ref === this.hbRef) this.hbRef = null;
      return;
    }
    let h = this.topics.get(topic);
    if (h) h(msg);
  }
}

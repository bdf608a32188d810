/* lvload: a LiveView load generator that speaks Phoenix Channels V2 as a browser does (GET the
 * page, read the CSRF meta and the container's tokens, open /live/websocket, phx_join, heartbeat
 * every 30 s), then runs one scenario: idle, clicks, fair or ticks.
 *
 * It is built not to be the bottleneck: forked worker processes (the 20,000 open-file limit is per
 * process), each with several threads, each thread with its own epoll and its own sessions;
 * non-blocking sockets, our own WebSocket framing, one recv per readiness event, frames composed
 * in a per-thread scratch buffer, replies matched by their ref without a JSON parser, latencies
 * in log-linear histograms (no per-message allocation anywhere). The parent only orchestrates:
 * it sends phase commands through shared memory, reads the server's RSS and CPU from /proc, and
 * prints one JSON line. Every failure is a count in that line, never a silent zero. */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>

/* ---- limits and defaults ------------------------------------------------------------------- */

#define LVL_MAX_SESSIONS  60000 /* with several loopback source addresses */
#define LVL_MAX_SECONDS   300
#define LVL_MAX_PROCS     16
#define LVL_MAX_SLOTS     64 /* worker threads in all processes */
#define LVL_MAX_HTTPC     64
#define LVL_READ_BUF      (256 * 1024)
#define LVL_SCRATCH       (64 * 1024)
#define LVL_MAX_FRAME     (64u << 20)
#define LVL_HEARTBEAT_NS  (30 * 1000000000LL)
#define LVL_TICK_NS       1000000000LL
#define LVL_HIST_SUB_BITS 6
#define LVL_HIST_SUB      (1 << LVL_HIST_SUB_BITS)
#define LVL_HIST_BUCKETS  (40 * LVL_HIST_SUB) /* up to 2^40 ns (18 min) at 1.6 % resolution */
#define LVL_WS_KEY        "dGhlIHNhbXBsZSBub25jZQ=="
#define LVL_WS_ACCEPT     "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=" /* RFC 6455's example pair */
#define LVL_CLICK_PAYLOAD "{\"type\":\"click\",\"event\":\"inc\",\"value\":{\"value\":\"\"}}"
#define LVL_CALC_PENDING  "calculating"

enum lvl_scenario { SC_IDLE, SC_CLICKS, SC_FAIR, SC_TICKS };
static const char *const lvl_scenario_names[] = {"idle", "clicks", "fair", "ticks"};

enum lvl_phase { PH_START, PH_WARMUP, PH_GET, PH_JOIN, PH_LOAD, PH_ANALYZE, PH_EXIT };
static const char *const lvl_phase_names[] = {"start", "warmup", "get", "join", "load", "analyze", "exit"};

/* counters: one array per thread, published to shared memory */
enum lvl_counter {
    C_PAGES,            /* page GETs answered 200 with all tokens */
    C_CONNECT_ERRORS,   /* TCP connect failed (GET or WebSocket) */
    C_HTTP_ERRORS,      /* GET: non-200, malformed, timeout or connection lost mid-response */
    C_PAGE_ERRORS,      /* 200 but no csrf meta / data-phx-main container / tokens */
    C_UPGRADE_ERRORS,   /* WebSocket handshake not answered 101 */
    C_JOINED,           /* phx_join answered ok */
    C_JOIN_ERRORS,      /* phx_join answered with an error (refused joins) */
    C_JOIN_TIMEOUTS,    /* no join reply within --join-timeout-ms */
    C_JOIN_CLOSED,      /* socket closed before the join reply */
    C_CLOSED,           /* joined sockets closed by the server or reset */
    C_CLOSE_FRAMES,     /* WebSocket close frames received */
    C_ERROR_REPLIES,    /* phx_reply with a status other than ok, after the join */
    C_ERROR_PUSHES,     /* phx_error / phx_close pushed by the server */
    C_UNEXPECTED,       /* frames we cannot attribute (unknown ref, unknown event, bad JSON head) */
    C_PUSHES,           /* server-pushed diffs to thermostat sessions (clock ticks) */
    C_HEARTBEATS,       /* heartbeats sent */
    C_HEARTBEAT_OK,     /* heartbeat replies */
    C_CLICKS_SENT,      /* click events sent */
    C_CLICKS_OK,        /* click replies with status ok */
    C_CLICKS_LOST,      /* click in flight when its socket closed */
    C_UNANSWERED,       /* click still in flight when the drain time ran out */
    C_TEMP_CHECKED,     /* sessions whose temperature could be followed (join and click replies) */
    C_TEMP_MISMATCH,    /* ... of which the last temperature != joined temperature + acked clicks */
    C_WINDOW_TICKS,     /* ticks scenario: pushes inside the measuring window */
    C_NO_TICK_SESSIONS, /* ticks scenario: joined sessions without any push in the window */
    C_EARLY_TICKS,      /* ticks scenario: pushes less than 1 s after the previous one */
    C_SRC_RETRIES,      /* connect retried from another loopback source address */
    C_PARTIAL_WRITES,   /* frames that did not fit the socket buffer at once */
    C_SAMPLES_DROPPED,  /* fair: samples beyond the preallocated array */
    C_COUNTERS
};
static const char *const lvl_counter_names[] = {
    "pages",        "connect_errors", "http_errors",    "page_errors",    "upgrade_errors",
    "joined",       "join_errors",    "join_timeouts",  "join_closed",    "closed_sockets",
    "close_frames", "error_replies",  "error_pushes",   "unexpected",     "pushes",
    "heartbeats",   "heartbeat_ok",   "clicks_sent",    "clicks_ok",      "clicks_lost",
    "unanswered",   "temp_checked",   "temp_mismatch",  "window_ticks",   "no_tick_sessions",
    "early_ticks",  "src_retries",    "partial_writes", "samples_dropped"};
_Static_assert(sizeof(lvl_counter_names) / sizeof(lvl_counter_names[0]) == C_COUNTERS, "counter names");

/* ---- options ------------------------------------------------------------------------------- */

typedef struct lvl_opts {
    int scenario;
    int sessions;
    double seconds;
    int port;
    const char *path, *calc_path, *label;
    long long calc_n;
    int calc_at_ms; /* -1: a third of the run */
    int server_pid;
    bool echo;
    int threads, procs, per_proc, src_addrs, conc, http_conns, warmup, settle_ms, join_timeout_ms, drain_ms;
    int think_ms; /* pause between a click's reply and the next click (0: closed loop) */
    bool think_random; /* each pause drawn uniformly from [think_ms / 2, 3 * think_ms / 2] */
    const char *slow_out; /* clicks/fair: append clicks slower than slow_ms to this file */
    double slow_ms;
} lvl_opts;

static lvl_opts O = {
    .port = 4000,
    .path = "/thermostat",
    .calc_path = "/",
    .label = "server",
    .calc_n = 300000000LL,
    .calc_at_ms = -1,
    .per_proc = 9000,
    .slow_ms = 1,
    .conc = 64,
    .http_conns = 8,
    .warmup = 5,
    .settle_ms = 4000,
    .join_timeout_ms = 10000,
    .drain_ms = 10000,
};

/* ---- histograms: log-linear, 64 sub-buckets per power of two, values in ns ------------------ */

typedef struct lvl_hist {
    uint64_t n, sum, max;
    uint32_t b[LVL_HIST_BUCKETS];
} lvl_hist;

static inline uint32_t lvl_hist_bucket(uint64_t v)
{
    if (v < 2 * LVL_HIST_SUB)
        return (uint32_t)v;
    int shift = 63 - __builtin_clzll(v) - LVL_HIST_SUB_BITS;
    uint64_t idx = (uint64_t)(shift + 1) * LVL_HIST_SUB + ((v >> shift) - LVL_HIST_SUB);
    return idx < LVL_HIST_BUCKETS ? (uint32_t)idx : LVL_HIST_BUCKETS - 1;
}

static uint64_t lvl_hist_value(uint32_t idx) /* middle of the bucket */
{
    if (idx < 2 * LVL_HIST_SUB)
        return idx;
    uint32_t shift = idx / LVL_HIST_SUB - 1;
    uint64_t m = idx % LVL_HIST_SUB + LVL_HIST_SUB;
    return (m << shift) + ((1ull << shift) >> 1);
}

static inline void lvl_hist_add(lvl_hist *h, uint64_t v)
{
    h->n++;
    h->sum += v;
    if (v > h->max)
        h->max = v;
    h->b[lvl_hist_bucket(v)]++;
}

static void lvl_hist_merge(lvl_hist *dst, const lvl_hist *src)
{
    dst->n += src->n;
    dst->sum += src->sum;
    if (src->max > dst->max)
        dst->max = src->max;
    for (int i = 0; i < LVL_HIST_BUCKETS; i++)
        dst->b[i] += src->b[i];
}

/* the sample of rank floor(p * n), as bench.js reads its sorted array; in ms */
static double lvl_hist_pct_ms(const lvl_hist *h, double p)
{
    if (h->n == 0)
        return -1;
    uint64_t rank = (uint64_t)(p * (double)h->n);
    if (rank >= h->n)
        rank = h->n - 1;
    uint64_t seen = 0;
    for (uint32_t i = 0; i < LVL_HIST_BUCKETS; i++) {
        seen += h->b[i];
        if (seen > rank) {
            uint64_t v = lvl_hist_value(i);
            return (double)(v < h->max ? v : h->max) / 1e6;
        }
    }
    return (double)h->max / 1e6;
}

/* ---- shared memory between the parent and the workers -------------------------------------- */

typedef struct lvl_slot {      /* written by one worker thread, read by the parent */
    _Atomic uint32_t done_gen; /* the last command generation this thread finished */
    _Atomic uint32_t ready;
    _Atomic uint64_t cnt[C_COUNTERS];
    int64_t last_reply_ns;
    int64_t min_tick_lag_ns; /* most negative interval - 1 s seen (an early push), 0 if none */
    int64_t calc_submit_ns, calc_reply_ns, calc_done_ns;
    int calc_reply_ok;
    char calc_result[160];
    char first_error[240];
    lvl_hist lat, stall, before, tick_lag;
} lvl_slot;

typedef struct lvl_shared {
    _Atomic uint32_t gen; /* bumped with every command */
    _Atomic int cmd;
    int64_t t_start_ns, t_end_ns, t_calc_ns, win_from_ns, win_to_ns;
    lvl_slot slots[LVL_MAX_SLOTS];
} lvl_shared;

static lvl_shared *SH;

static inline int64_t lvl_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* ---- per-thread state ---------------------------------------------------------------------- */

enum lvl_conn_state {
    S_NEW,        /* page not fetched yet */
    S_GETTING,    /* its GET is on an HTTP connection */
    S_HAVE_PAGE,  /* tokens read */
    S_CONNECTING, /* WebSocket TCP connect in progress */
    S_HANDSHAKE,  /* upgrade request sent, waiting for 101 */
    S_JOINING,    /* phx_join sent */
    S_JOINED,
    S_FAILED, /* never joined (counted by cause) */
    S_CLOSED  /* joined, then lost */
};
enum lvl_role { R_WARM, R_MAIN, R_CALC };

typedef struct lvl_conn {
    int fd;
    uint8_t state, role, src, hb_pending, click_pending, calc_state, csrf_input, fop;
    uint32_t ref, join_ref, click_ref, hb_ref, calc_ref;
    int64_t t_state, click_sent, last_hb, last_tick;
    uint32_t acked, win_ticks;
    int32_t temp0, temp_last;
    uint32_t mask;
    char *tok; /* csrf \0 session \0 static \0, freed once joined */
    uint16_t csrf_len, sess_len, stat_len;
    uint8_t id_len;
    char id[64];
    char *rbuf; /* bytes of a frame split across reads */
    uint32_t rlen, rcap;
    char *wbuf; /* output the socket did not take */
    uint32_t wlen, wcap;
    char *fbuf; /* a fragmented message being reassembled */
    uint32_t flen, fcap;
} lvl_conn;

enum lvl_httpc_state { HC_CLOSED, HC_CONNECTING, HC_WAITING, HC_IDLE };

typedef struct lvl_httpc { /* a keep-alive connection that fetches pages, one GET at a time */
    int fd;
    int state;
    uint32_t conn;
    bool retried;
    int64_t t_start;
    char *buf;
    size_t len, cap;
} lvl_httpc;

typedef struct lvl_sample {
    uint32_t sent_us, lat_us; /* send time since t_start, latency */
} lvl_sample;

typedef struct lvl_think {
    int64_t due;
    uint32_t conn;
} lvl_think;

typedef struct lvl_thread {
    int slot_index, worker, first_session;
    lvl_slot *slot;
    int ep;
    pthread_t tid;
    lvl_conn *conns;
    uint32_t nconns, nwarm;
    bool has_calc;
    lvl_httpc hc[LVL_MAX_HTTPC];
    int nhc;
    uint32_t gen;
    int phase;
    bool phase_done;
    uint32_t get_next, get_hi, join_next, join_hi, joins_inflight;
    bool load_started, load_stopped, calc_sent;
    uint32_t clicks_inflight;
    int64_t next_housekeeping, next_heartbeat_scan;
    uint64_t cnt[C_COUNTERS];
    lvl_sample *samples;
    size_t nsamples, samples_cap;
    /* sessions thinking before their next click: a min-heap on the due time */
    lvl_think *think;
    uint32_t think_len;
    uint64_t rng;
    char *rb;      /* LVL_READ_BUF */
    char *scratch; /* JSON text being composed */
    char *out;     /* the framed, masked copy */
} lvl_thread;

static struct sockaddr_in lvl_server_addr;

/* ---- small helpers ------------------------------------------------------------------------- */

static void lvl_note_error(lvl_thread *th, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void lvl_note_error(lvl_thread *th, const char *fmt, ...)
{
    if (th->slot->first_error[0] != '\0')
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(th->slot->first_error, sizeof(th->slot->first_error), fmt, ap);
    va_end(ap);
    for (char *p = th->slot->first_error; *p; p++)
        if ((unsigned char)*p < 0x20 || *p == '"' || *p == '\\')
            *p = ' ';
}

static void lvl_grow(char **buf, uint32_t *cap, size_t need)
{
    if (need <= *cap)
        return;
    size_t c = *cap ? *cap : 4096;
    while (c < need)
        c *= 2;
    if (c > UINT32_MAX)
        abort();
    char *p = realloc(*buf, c);
    if (p == NULL)
        abort();
    *buf = p;
    *cap = (uint32_t)c;
}

static uint32_t lvl_rand32(lvl_thread *th)
{
    th->rng ^= th->rng << 13;
    th->rng ^= th->rng >> 7;
    th->rng ^= th->rng << 17;
    return (uint32_t)(th->rng >> 16);
}

/* Session conn thinks until due (the heap has room for every session of the thread). */
static void lvl_think_push(lvl_thread *th, uint32_t conn, int64_t due)
{
    uint32_t i = th->think_len++;
    for (; i > 0 && th->think[(i - 1) / 2].due > due; i = (i - 1) / 2)
        th->think[i] = th->think[(i - 1) / 2];
    th->think[i] = (lvl_think){due, conn};
}

static uint32_t lvl_think_pop(lvl_thread *th)
{
    uint32_t conn = th->think[0].conn;
    lvl_think last = th->think[--th->think_len];
    uint32_t i = 0, n = th->think_len;
    for (uint32_t child; (child = 2 * i + 1) < n; i = child) {
        if (child + 1 < n && th->think[child + 1].due < th->think[child].due)
            child++;
        if (th->think[child].due >= last.due)
            break;
        th->think[i] = th->think[child];
    }
    if (n > 0)
        th->think[i] = last;
    return conn;
}

static int64_t lvl_think_ns(lvl_thread *th)
{
    int64_t t = (int64_t)O.think_ms * 1000000;
    return O.think_random ? t / 2 + (int64_t)((uint64_t)lvl_rand32(th) * (uint64_t)t >> 32) : t;
}

static char *lvl_put(char *p, const char *s, size_t n)
{
    memcpy(p, s, n);
    return p + n;
}
#define LVL_PUTS(p, lit) lvl_put((p), (lit), sizeof(lit) - 1)

static char *lvl_put_u32(char *p, uint32_t v)
{
    char tmp[10];
    int n = 0;
    do {
        tmp[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    while (n)
        *p++ = tmp[--n];
    return p;
}

static char *lvl_put_json_str(char *p, const char *s, size_t n)
{
    *p++ = '"';
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)s[i];
        if (ch == '"' || ch == '\\') {
            *p++ = '\\';
            *p++ = (char)ch;
        } else if (ch < 0x20) {
            p += sprintf(p, "\\u%04x", ch);
        } else
            *p++ = (char)ch;
    }
    *p++ = '"';
    return p;
}

static char *lvl_put_urlenc(char *p, const char *s, size_t n)
{
    static const char hex[] = "0123456789ABCDEF";
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)s[i];
        if (isalnum(ch) || ch == '-' || ch == '_' || ch == '.' || ch == '~')
            *p++ = (char)ch;
        else {
            *p++ = '%';
            *p++ = hex[ch >> 4];
            *p++ = hex[ch & 15];
        }
    }
    return p;
}

/* Wraps the text [txt, txt+n) as one masked client text frame at out; returns the frame size. */
static size_t lvl_ws_frame(char *out, const char *txt, size_t n, uint32_t mask)
{
    uint8_t *o = (uint8_t *)out;
    size_t h = 0;
    o[h++] = 0x81;
    if (n < 126)
        o[h++] = (uint8_t)(0x80 | n);
    else if (n < 65536) {
        o[h++] = 0x80 | 126;
        o[h++] = (uint8_t)(n >> 8);
        o[h++] = (uint8_t)n;
    } else {
        o[h++] = 0x80 | 127;
        for (int i = 7; i >= 0; i--)
            o[h++] = (uint8_t)((uint64_t)n >> (8 * i));
    }
    uint8_t mk[4] = {(uint8_t)(mask >> 24), (uint8_t)(mask >> 16), (uint8_t)(mask >> 8), (uint8_t)mask};
    memcpy(o + h, mk, 4);
    h += 4;
    const uint8_t *t = (const uint8_t *)txt;
    for (size_t i = 0; i < n; i++)
        o[h + i] = t[i] ^ mk[i & 3];
    return h + n;
}

/* ---- sockets ------------------------------------------------------------------------------- */

static void lvl_ep_set(lvl_thread *th, int op, int fd, uint32_t events, uint64_t tag)
{
    struct epoll_event ev = {.events = events, .data.u64 = tag};
    if (epoll_ctl(th->ep, op, fd, &ev) != 0 && op != EPOLL_CTL_DEL) {
        perror("lvload: epoll_ctl");
        abort();
    }
}
#define LVL_TAG_CONN  (1ull << 32)
#define LVL_TAG_HTTPC (2ull << 32)

/* Non-blocking connect to the server from 127.0.0.(1+src); src 0 means no bind at all. */
static int lvl_connect(lvl_thread *th, int *src_io)
{
    for (int attempt = 0; attempt < (O.src_addrs > 1 ? O.src_addrs : 1); attempt++) {
        int src = (*src_io + attempt) % (O.src_addrs > 0 ? O.src_addrs : 1);
        int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (fd < 0)
            return -errno;
        int on = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on));
        if (O.src_addrs > 1) {
            struct sockaddr_in sa = {.sin_family = AF_INET};
            sa.sin_addr.s_addr = htonl(0x7f000001u + (uint32_t)src);
            setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &on, sizeof(on));
            if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
                int e = errno;
                close(fd);
                return -e;
            }
        }
        if (connect(fd, (struct sockaddr *)&lvl_server_addr, sizeof(lvl_server_addr)) == 0 ||
            errno == EINPROGRESS) {
            *src_io = src;
            return fd;
        }
        int e = errno;
        close(fd);
        if (e != EADDRNOTAVAIL || O.src_addrs <= 1)
            return -e;
        th->cnt[C_SRC_RETRIES]++;
    }
    return -EADDRNOTAVAIL;
}

static int lvl_conn_flush(lvl_thread *th, lvl_conn *c)
{
    while (c->wlen) {
        ssize_t w = send(c->fd, c->wbuf, c->wlen, MSG_NOSIGNAL);
        if (w < 0)
            return errno == EAGAIN || errno == EWOULDBLOCK ? 0 : -1;
        memmove(c->wbuf, c->wbuf + w, c->wlen - (size_t)w);
        c->wlen -= (uint32_t)w;
    }
    lvl_ep_set(th, EPOLL_CTL_MOD, c->fd, EPOLLIN, LVL_TAG_CONN | (uint32_t)(c - th->conns));
    return 0;
}

static int lvl_conn_send(lvl_thread *th, lvl_conn *c, const char *buf, size_t len)
{
    if (c->wlen == 0) {
        ssize_t w = send(c->fd, buf, len, MSG_NOSIGNAL);
        if (w == (ssize_t)len)
            return 0;
        if (w < 0) {
            if (errno != EAGAIN && errno != EWOULDBLOCK)
                return -1;
            w = 0;
        }
        buf += w;
        len -= (size_t)w;
        th->cnt[C_PARTIAL_WRITES]++;
        lvl_ep_set(th, EPOLL_CTL_MOD, c->fd, EPOLLIN | EPOLLOUT, LVL_TAG_CONN | (uint32_t)(c - th->conns));
    }
    lvl_grow(&c->wbuf, &c->wcap, c->wlen + len);
    memcpy(c->wbuf + c->wlen, buf, len);
    c->wlen += (uint32_t)len;
    return 0;
}

static void lvl_conn_drop(lvl_thread *th, lvl_conn *c, int fail_counter)
{
    if (c->fd >= 0)
        close(c->fd);
    c->fd = -1;
    c->rlen = c->wlen = c->flen = 0;
    if (c->state == S_JOINED) {
        c->state = S_CLOSED;
        th->cnt[C_CLOSED]++;
        if (c->click_pending) {
            c->click_pending = 0;
            th->clicks_inflight--;
            th->cnt[C_CLICKS_LOST]++;
        }
    } else if (c->state != S_CLOSED && c->state != S_FAILED) {
        if (c->state == S_CONNECTING || c->state == S_HANDSHAKE || c->state == S_JOINING)
            th->joins_inflight--;
        c->state = S_FAILED;
        th->cnt[fail_counter]++;
    }
    free(c->tok);
    c->tok = NULL;
}

/* ---- outgoing frames ----------------------------------------------------------------------- */

/* [jr, ref, "lv:<id>", event, payload] into th->out; returns the frame size */
static size_t lvl_compose(lvl_thread *th, lvl_conn *c, uint32_t ref, const char *event, size_t evlen,
                          const char *payload, size_t plen)
{
    char *p = th->scratch;
    p = LVL_PUTS(p, "[\"");
    p = lvl_put_u32(p, c->join_ref);
    p = LVL_PUTS(p, "\",\"");
    p = lvl_put_u32(p, ref);
    p = LVL_PUTS(p, "\",\"lv:");
    p = lvl_put(p, c->id, c->id_len);
    p = LVL_PUTS(p, "\",\"");
    p = lvl_put(p, event, evlen);
    p = LVL_PUTS(p, "\",");
    p = lvl_put(p, payload, plen);
    *p++ = ']';
    return lvl_ws_frame(th->out, th->scratch, (size_t)(p - th->scratch), c->mask);
}

static void lvl_send_click(lvl_thread *th, lvl_conn *c, int64_t now)
{
    c->click_ref = ++c->ref;
    size_t n = lvl_compose(th, c, c->click_ref, "event", 5, LVL_CLICK_PAYLOAD, sizeof(LVL_CLICK_PAYLOAD) - 1);
    c->click_sent = now;
    c->click_pending = 1;
    th->clicks_inflight++;
    th->cnt[C_CLICKS_SENT]++;
    if (lvl_conn_send(th, c, th->out, n) != 0)
        lvl_conn_drop(th, c, C_CLOSED);
}

static void lvl_send_heartbeat(lvl_thread *th, lvl_conn *c, int64_t now)
{
    c->hb_ref = ++c->ref;
    char *p = th->scratch;
    p = LVL_PUTS(p, "[null,\"");
    p = lvl_put_u32(p, c->hb_ref);
    p = LVL_PUTS(p, "\",\"phoenix\",\"heartbeat\",{}]");
    size_t n = lvl_ws_frame(th->out, th->scratch, (size_t)(p - th->scratch), c->mask);
    c->hb_pending = 1;
    c->last_hb = now;
    th->cnt[C_HEARTBEATS]++;
    if (lvl_conn_send(th, c, th->out, n) != 0)
        lvl_conn_drop(th, c, C_CLOSED);
}

/* the form a browser would serialize: the hidden _csrf_token input if the page has one, then n */
static void lvl_send_calc(lvl_thread *th, lvl_conn *c, int64_t now)
{
    char payload[512];
    char *p = payload;
    p = LVL_PUTS(p, "{\"type\":\"form\",\"event\":\"calculate\",\"value\":\"");
    if (c->csrf_input && c->tok && c->csrf_len < 300) {
        p = LVL_PUTS(p, "_csrf_token=");
        p = lvl_put_urlenc(p, c->tok, c->csrf_len);
        *p++ = '&';
    }
    p += sprintf(p, "n=%lld\"}", O.calc_n);
    c->calc_ref = ++c->ref;
    size_t n = lvl_compose(th, c, c->calc_ref, "event", 5, payload, (size_t)(p - payload));
    th->slot->calc_submit_ns = now;
    c->calc_state = 1;
    if (lvl_conn_send(th, c, th->out, n) != 0)
        lvl_conn_drop(th, c, C_CLOSED);
}

/* ---- the HTML page ------------------------------------------------------------------------- */

static const char *lvl_attr(const char *tag, size_t tlen, const char *name, size_t *vlen)
{
    size_t nlen = strlen(name);
    const char *a = memmem(tag, tlen, name, nlen);
    if (a == NULL)
        return NULL;
    a += nlen;
    const char *e = memchr(a, '"', (size_t)(tag + tlen - a));
    if (e == NULL)
        return NULL;
    *vlen = (size_t)(e - a);
    return a;
}

/* Reads the CSRF meta and the main container's id, session and static tokens into c. */
static int lvl_parse_page(lvl_conn *c, const char *body, size_t len)
{
    static const char meta[] = "name=\"csrf-token\" content=\"";
    const char *csrf = memmem(body, len, meta, sizeof(meta) - 1);
    const char *main = memmem(body, len, "data-phx-main", 13);
    if (csrf == NULL || main == NULL)
        return -1;
    csrf += sizeof(meta) - 1;
    const char *csrf_end = memchr(csrf, '"', (size_t)(body + len - csrf));
    const char *tag = memrchr(body, '<', (size_t)(main - body));
    const char *tag_end = memchr(main, '>', (size_t)(body + len - main));
    if (csrf_end == NULL || tag == NULL || tag_end == NULL)
        return -1;
    size_t tlen = (size_t)(tag_end - tag), idl, sl, stl;
    const char *id = lvl_attr(tag, tlen, " id=\"", &idl);
    const char *ses = lvl_attr(tag, tlen, "data-phx-session=\"", &sl);
    const char *st = lvl_attr(tag, tlen, "data-phx-static=\"", &stl);
    size_t cl = (size_t)(csrf_end - csrf);
    if (id == NULL || ses == NULL || st == NULL || idl == 0 || idl >= sizeof(c->id) || cl > 4096 ||
        sl > 60000 || stl > 60000)
        return -1;
    memcpy(c->id, id, idl);
    c->id_len = (uint8_t)idl;
    c->tok = malloc(cl + sl + stl + 3);
    if (c->tok == NULL)
        abort();
    memcpy(c->tok, csrf, cl);
    c->tok[cl] = '\0';
    memcpy(c->tok + cl + 1, ses, sl);
    c->tok[cl + 1 + sl] = '\0';
    memcpy(c->tok + cl + 2 + sl, st, stl);
    c->tok[cl + 2 + sl + stl] = '\0';
    c->csrf_len = (uint16_t)cl;
    c->sess_len = (uint16_t)sl;
    c->stat_len = (uint16_t)stl;
    c->csrf_input = memmem(body, len, "name=\"_csrf_token\"", 18) != NULL;
    return 0;
}

/* ---- HTTP GET of pages over keep-alive connections ----------------------------------------- */

static const char *lvl_conn_path(const lvl_conn *c)
{
    return c->role == R_CALC ? O.calc_path : O.path;
}

static void lvl_httpc_close(lvl_thread *th, lvl_httpc *h)
{
    (void)th;
    if (h->fd >= 0)
        close(h->fd);
    h->fd = -1;
    h->state = HC_CLOSED;
    h->len = 0;
}

static int lvl_httpc_send_request(lvl_thread *th, lvl_httpc *h)
{
    char req[512];
    int n =
        snprintf(req, sizeof(req),
                 "GET %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nAccept: text/html\r\nUser-Agent: lvload\r\n\r\n",
                 lvl_conn_path(&th->conns[h->conn]), O.port);
    if (send(h->fd, req, (size_t)n, MSG_NOSIGNAL) != n)
        return -1;
    h->state = HC_WAITING;
    h->len = 0;
    return 0;
}

static void lvl_get_failed(lvl_thread *th, lvl_httpc *h, int counter, const char *why)
{
    lvl_conn *c = &th->conns[h->conn];
    lvl_note_error(th, "GET %s: %s", lvl_conn_path(c), why);
    c->state = S_FAILED;
    th->cnt[counter]++;
    lvl_httpc_close(th, h);
}

static void lvl_httpc_start(lvl_thread *th, lvl_httpc *h, uint32_t conn, int64_t now)
{
    h->conn = conn;
    h->retried = false;
    h->t_start = now;
    th->conns[conn].state = S_GETTING;
    if (h->state == HC_IDLE) {
        if (lvl_httpc_send_request(th, h) == 0)
            return;
        lvl_httpc_close(th, h); /* the server dropped the idle connection: reconnect below */
    }
    int src = (int)(conn % (uint32_t)(O.src_addrs > 0 ? O.src_addrs : 1));
    int fd = lvl_connect(th, &src);
    if (fd < 0) {
        h->state = HC_CLOSED;
        lvl_get_failed(th, h, C_CONNECT_ERRORS, strerror(-fd));
        return;
    }
    h->fd = fd;
    h->state = HC_CONNECTING;
    lvl_ep_set(th, EPOLL_CTL_ADD, fd, EPOLLIN | EPOLLOUT, LVL_TAG_HTTPC | (uint32_t)(h - th->hc));
}

/* 1: a whole response is in buf (body at *body, *blen bytes, compacted if chunked); 0: need more;
 * -1: malformed. *keep says whether the connection can carry the next request. */
static int lvl_http_response(char *buf, size_t len, bool eof, int *status, char **body, size_t *blen,
                             bool *keep)
{
    char *hend = memmem(buf, len, "\r\n\r\n", 4);
    if (hend == NULL)
        return eof ? -1 : 0;
    if (len < 12 || memcmp(buf, "HTTP/1.", 7) != 0)
        return -1;
    *status = atoi(buf + 9);
    long clen = -1;
    bool chunked = false;
    *keep = buf[7] == '1';
    for (char *line = memchr(buf, '\n', (size_t)(hend - buf)); line && line < hend;
         line = memchr(line + 1, '\n', (size_t)(hend - line))) {
        char *l = line + 1;
        if (strncasecmp(l, "content-length:", 15) == 0)
            clen = strtol(l + 15, NULL, 10);
        else if (strncasecmp(l, "transfer-encoding:", 18) == 0 && memmem(l, (size_t)(hend - l), "chunked", 7))
            chunked = true;
        else if (strncasecmp(l, "connection:", 11) == 0) {
            char *e = memchr(l, '\r', (size_t)(hend + 2 - l));
            if (e && memmem(l, (size_t)(e - l), "close", 5))
                *keep = false;
        }
    }
    char *b = hend + 4;
    size_t avail = len - (size_t)(b - buf);
    if (chunked) {
        /* walk without moving first, so a partial body can be walked again after the next read */
        size_t off = 0, total = 0;
        for (;;) {
            char *nl = memmem(b + off, avail - off, "\r\n", 2);
            if (nl == NULL)
                return eof ? -1 : 0;
            unsigned long sz = strtoul(b + off, NULL, 16);
            size_t data = (size_t)(nl + 2 - b);
            if (sz == 0) {
                if (avail < data + 2)
                    return eof ? -1 : 0;
                break;
            }
            if (avail < data + sz + 2)
                return eof ? -1 : 0;
            total += sz;
            off = data + sz + 2;
        }
        size_t off2 = 0, w = 0;
        for (;;) {
            char *nl = memmem(b + off2, avail - off2, "\r\n", 2);
            unsigned long sz = strtoul(b + off2, NULL, 16);
            if (sz == 0)
                break;
            size_t data = (size_t)(nl + 2 - b);
            memmove(b + w, b + data, sz);
            w += sz;
            off2 = data + sz + 2;
        }
        *body = b;
        *blen = total;
        return 1;
    }
    if (clen >= 0) {
        if (avail < (size_t)clen)
            return eof ? -1 : 0;
        *body = b;
        *blen = (size_t)clen;
        return 1;
    }
    if (!eof) /* delimited by the end of the connection */
        return 0;
    *keep = false;
    *body = b;
    *blen = avail;
    return 1;
}

static void lvl_httpc_event(lvl_thread *th, lvl_httpc *h, uint32_t events, int64_t now)
{
    if (h->fd < 0)
        return;
    if (h->state == HC_CONNECTING) {
        int err = 0;
        socklen_t el = sizeof(err);
        getsockopt(h->fd, SOL_SOCKET, SO_ERROR, &err, &el);
        if (err != 0) {
            lvl_get_failed(th, h, C_CONNECT_ERRORS, strerror(err));
            return;
        }
        if (!(events & EPOLLOUT))
            return;
        lvl_ep_set(th, EPOLL_CTL_MOD, h->fd, EPOLLIN, LVL_TAG_HTTPC | (uint32_t)(h - th->hc));
        if (lvl_httpc_send_request(th, h) != 0)
            lvl_get_failed(th, h, C_HTTP_ERRORS, "send failed");
        return;
    }
    if (h->cap - h->len < 16384) {
        h->cap = h->cap ? h->cap * 2 : 65536;
        h->buf = realloc(h->buf, h->cap);
        if (h->buf == NULL)
            abort();
    }
    ssize_t r = recv(h->fd, h->buf + h->len, h->cap - h->len, 0);
    if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
        return;
    bool eof = r <= 0;
    if (h->state != HC_WAITING) { /* an idle keep-alive connection was closed by the server */
        lvl_httpc_close(th, h);
        return;
    }
    if (eof && h->len == 0 && !h->retried) { /* a stale keep-alive connection: retry once */
        uint32_t conn = h->conn;
        lvl_httpc_close(th, h);
        lvl_httpc_start(th, h, conn, now);
        h->retried = true;
        return;
    }
    if (!eof)
        h->len += (size_t)r;
    int status = 0;
    char *body = NULL;
    size_t blen = 0;
    bool keep = false;
    int rc = lvl_http_response(h->buf, h->len, eof, &status, &body, &blen, &keep);
    if (rc == 0)
        return;
    if (rc < 0) {
        lvl_get_failed(th, h, C_HTTP_ERRORS, eof ? "connection closed mid-response" : "malformed response");
        return;
    }
    lvl_conn *c = &th->conns[h->conn];
    if (status != 200) {
        char why[64];
        snprintf(why, sizeof(why), "HTTP %d", status);
        lvl_get_failed(th, h, C_HTTP_ERRORS, why);
        return;
    }
    if (lvl_parse_page(c, body, blen) != 0) {
        lvl_get_failed(th, h, C_PAGE_ERRORS, "no csrf-token meta or data-phx-main container with tokens");
        return;
    }
    c->state = S_HAVE_PAGE;
    th->cnt[C_PAGES]++;
    h->len = 0;
    if (keep)
        h->state = HC_IDLE;
    else
        lvl_httpc_close(th, h);
}

/* ---- WebSocket sessions -------------------------------------------------------------------- */

static void lvl_ws_start(lvl_thread *th, lvl_conn *c, int64_t now)
{
    int src = (int)((uint32_t)(th->first_session + (int)(c - th->conns)) %
                    (uint32_t)(O.src_addrs > 0 ? O.src_addrs : 1));
    int fd = lvl_connect(th, &src);
    th->joins_inflight++;
    c->t_state = now;
    c->state = S_CONNECTING;
    if (fd < 0) {
        lvl_note_error(th, "WebSocket connect: %s", strerror(-fd));
        lvl_conn_drop(th, c, C_CONNECT_ERRORS);
        return;
    }
    c->fd = fd;
    c->src = (uint8_t)src;
    c->mask = lvl_rand32(th) | 0x01010101u;
    lvl_ep_set(th, EPOLL_CTL_ADD, fd, EPOLLIN | EPOLLOUT, LVL_TAG_CONN | (uint32_t)(c - th->conns));
}

static void lvl_ws_connected(lvl_thread *th, lvl_conn *c, int64_t now)
{
    int err = 0;
    socklen_t el = sizeof(err);
    getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &el);
    if (err != 0) {
        lvl_note_error(th, "WebSocket connect: %s", strerror(err));
        lvl_conn_drop(th, c, C_CONNECT_ERRORS);
        return;
    }
    char *p = th->scratch;
    p = LVL_PUTS(p, "GET /live/websocket?_csrf_token=");
    p = lvl_put_urlenc(p, c->tok, c->csrf_len);
    p += sprintf(p,
                 "&_mounts=0&vsn=2.0.0 HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nUpgrade: websocket\r\n"
                 "Connection: Upgrade\r\nSec-WebSocket-Key: " LVL_WS_KEY "\r\nSec-WebSocket-Version: 13\r\n"
                 "User-Agent: lvload\r\n\r\n",
                 O.port);
    size_t n = (size_t)(p - th->scratch);
    if (send(c->fd, th->scratch, n, MSG_NOSIGNAL) != (ssize_t)n) {
        lvl_conn_drop(th, c, C_UPGRADE_ERRORS);
        return;
    }
    lvl_ep_set(th, EPOLL_CTL_MOD, c->fd, EPOLLIN, LVL_TAG_CONN | (uint32_t)(c - th->conns));
    c->state = S_HANDSHAKE;
    c->t_state = now;
}

static void lvl_send_join(lvl_thread *th, lvl_conn *c, int64_t now)
{
    c->join_ref = c->ref = 1;
    const char *csrf = c->tok, *ses = c->tok + c->csrf_len + 1, *st = ses + c->sess_len + 1;
    char *p = th->scratch;
    p = LVL_PUTS(p, "[\"1\",\"1\",\"lv:");
    p = lvl_put(p, c->id, c->id_len);
    p += sprintf(p, "\",\"phx_join\",{\"url\":\"http://127.0.0.1:%d%s\",\"params\":{\"_csrf_token\":", O.port,
                 lvl_conn_path(c));
    p = lvl_put_json_str(p, csrf, c->csrf_len);
    p = LVL_PUTS(p, ",\"_mounts\":0},\"session\":");
    p = lvl_put_json_str(p, ses, c->sess_len);
    p = LVL_PUTS(p, ",\"static\":");
    if (c->stat_len)
        p = lvl_put_json_str(p, st, c->stat_len);
    else
        p = LVL_PUTS(p, "null");
    p = LVL_PUTS(p, "}]");
    size_t n = lvl_ws_frame(th->out, th->scratch, (size_t)(p - th->scratch), c->mask);
    c->state = S_JOINING;
    c->t_state = now;
    if (lvl_conn_send(th, c, th->out, n) != 0)
        lvl_conn_drop(th, c, C_JOIN_CLOSED);
}

/* the first "0":"<int>" after `after` (the temperature slot of the thermostat) */
static int32_t lvl_find_temp(const char *p, size_t n, const char *after)
{
    const char *a = memmem(p, n, after, strlen(after));
    if (a == NULL)
        return -1;
    const char *z = memmem(a, (size_t)(p + n - a), "\"0\":\"", 5);
    if (z == NULL)
        return -1;
    z += 5;
    int32_t v = 0;
    int digits = 0;
    while (z < p + n && *z >= '0' && *z <= '9' && digits < 9) {
        v = v * 10 + (*z++ - '0');
        digits++;
    }
    return digits && z < p + n && *z == '"' ? v : -1;
}

/* skips one JSON string or null at *p; returns false on anything else */
static bool lvl_skip_elem(const char **pp, const char *end, const char **s, size_t *slen)
{
    const char *p = *pp;
    if (end - p >= 4 && memcmp(p, "null", 4) == 0) {
        *s = NULL;
        *slen = 0;
        *pp = p + 4;
        return true;
    }
    if (p >= end || *p != '"')
        return false;
    const char *q = memchr(p + 1, '"', (size_t)(end - p - 1));
    if (q == NULL)
        return false;
    *s = p + 1;
    *slen = (size_t)(q - p - 1);
    *pp = q + 1;
    return true;
}

static void lvl_on_reply(lvl_thread *th, lvl_conn *c, uint32_t ref, bool ok, const char *pl, size_t pn,
                         int64_t now)
{
    if (c->state == S_JOINING && ref == c->join_ref) {
        th->joins_inflight--;
        if (!ok) {
            lvl_note_error(th, "join refused: %.*s", (int)(pn < 160 ? pn : 160), pl);
            c->state = S_FAILED;
            th->cnt[C_JOIN_ERRORS]++;
            close(c->fd);
            c->fd = -1;
            return;
        }
        c->state = S_JOINED;
        c->last_hb = now;
        th->cnt[C_JOINED]++;
        c->temp0 = c->temp_last = c->role == R_CALC ? -1 : lvl_find_temp(pl, pn, "\"rendered\"");
        if (c->role != R_CALC) {
            free(c->tok);
            c->tok = NULL;
        }
        return;
    }
    if (c->click_pending && ref == c->click_ref) {
        uint64_t lat = (uint64_t)(now - c->click_sent);
        c->click_pending = 0;
        th->clicks_inflight--;
        lvl_hist_add(&th->slot->lat, lat);
        th->slot->last_reply_ns = now;
        if (th->samples) {
            if (th->nsamples < th->samples_cap) {
                lvl_sample *s = &th->samples[th->nsamples++];
                s->sent_us = (uint32_t)((c->click_sent - SH->t_start_ns) / 1000);
                s->lat_us = (uint32_t)(lat / 1000 > UINT32_MAX ? UINT32_MAX : lat / 1000);
            } else
                th->cnt[C_SAMPLES_DROPPED]++;
        }
        if (ok) {
            th->cnt[C_CLICKS_OK]++;
            c->acked++;
            int32_t t = lvl_find_temp(pl, pn, "\"diff\"");
            if (t >= 0)
                c->temp_last = t;
        } else {
            th->cnt[C_ERROR_REPLIES]++;
            lvl_note_error(th, "click reply: %.*s", (int)(pn < 160 ? pn : 160), pl);
        }
        if (!th->load_stopped && now < SH->t_end_ns) {
            if (O.think_ms == 0)
                lvl_send_click(th, c, now);
            else
                lvl_think_push(th, (uint32_t)(c - th->conns), now + lvl_think_ns(th));
        }
        return;
    }
    if (c->hb_pending && ref == c->hb_ref) {
        c->hb_pending = 0;
        if (ok)
            th->cnt[C_HEARTBEAT_OK]++;
        else
            th->cnt[C_ERROR_REPLIES]++;
        return;
    }
    if (c->role == R_CALC && c->calc_state == 1 && ref == c->calc_ref) {
        lvl_slot *s = th->slot;
        s->calc_reply_ns = now;
        s->calc_reply_ok = ok;
        c->calc_state = 2;
        if (!ok)
            th->cnt[C_ERROR_REPLIES]++;
        /* a view that computes inline answers with the result; one that hands the work to another
         * process answers at once ("calculating") and pushes the result later */
        if (ok && memmem(pl, pn, "diff", 4) &&
            !memmem(pl, pn, LVL_CALC_PENDING, sizeof(LVL_CALC_PENDING) - 1)) {
            s->calc_done_ns = now;
            snprintf(s->calc_result, sizeof(s->calc_result), "%.*s", (int)(pn < 150 ? pn : 150), pl);
            c->calc_state = 3;
        }
        return;
    }
    th->cnt[C_UNEXPECTED]++;
}

static void lvl_on_push(lvl_thread *th, lvl_conn *c, const char *pl, size_t pn, int64_t now)
{
    if (c->role == R_CALC) {
        if (c->calc_state == 2 || c->calc_state == 1) {
            lvl_slot *s = th->slot;
            s->calc_done_ns = now;
            snprintf(s->calc_result, sizeof(s->calc_result), "%.*s", (int)(pn < 150 ? pn : 150), pl);
            c->calc_state = 3;
        }
        return;
    }
    th->cnt[C_PUSHES]++;
    if (th->phase == PH_LOAD && O.scenario == SC_TICKS && now >= SH->t_start_ns && now < SH->t_end_ns) {
        th->cnt[C_WINDOW_TICKS]++;
        c->win_ticks++;
        if (c->last_tick) {
            int64_t lag = now - c->last_tick - LVL_TICK_NS;
            if (lag < 0) {
                th->cnt[C_EARLY_TICKS]++;
                if (lag < th->slot->min_tick_lag_ns)
                    th->slot->min_tick_lag_ns = lag;
                lag = 0;
            }
            lvl_hist_add(&th->slot->tick_lag, (uint64_t)lag);
        }
        c->last_tick = now;
    }
}

/* One text message: [join_ref, ref, topic, event, payload]. Only the head is parsed. */
static void lvl_on_text(lvl_thread *th, lvl_conn *c, const char *p, size_t n, int64_t now)
{
    const char *end = p + n, *q = p + 1, *jr, *ref, *topic, *ev;
    size_t jl, rl, tl, el;
    if (n < 2 || p[0] != '[' || !lvl_skip_elem(&q, end, &jr, &jl) || q >= end || *q++ != ',' ||
        !lvl_skip_elem(&q, end, &ref, &rl) || q >= end || *q++ != ',' ||
        !lvl_skip_elem(&q, end, &topic, &tl) || q >= end || *q++ != ',' ||
        !lvl_skip_elem(&q, end, &ev, &el) || ev == NULL || q >= end || *q++ != ',') {
        th->cnt[C_UNEXPECTED]++;
        return;
    }
    const char *pl = q;
    size_t pn = (size_t)(end - q);
    if (el == 9 && memcmp(ev, "phx_reply", 9) == 0) {
        uint32_t r = 0;
        for (size_t i = 0; ref && i < rl; i++)
            r = r * 10 + (uint32_t)(ref[i] - '0');
        bool ok = memmem(pl, pn, "\"status\":\"ok\"", 13) != NULL;
        if (ref == NULL)
            th->cnt[C_UNEXPECTED]++;
        else
            lvl_on_reply(th, c, r, ok, pl, pn, now);
    } else if (el == 4 && memcmp(ev, "diff", 4) == 0 && ref == NULL) {
        lvl_on_push(th, c, pl, pn, now);
    } else if (el == 9 && (memcmp(ev, "phx_error", 9) == 0 || memcmp(ev, "phx_close", 9) == 0)) {
        th->cnt[C_ERROR_PUSHES]++;
        lvl_note_error(th, "%.*s pushed: %.*s", (int)el, ev, (int)(pn < 120 ? pn : 120), pl);
        if (c->state == S_JOINING)
            lvl_conn_drop(th, c, C_JOIN_ERRORS);
    } else if (O.echo && ref != NULL) {
        /* the bare echo sends our own frame back: its ref stands for the reply */
        uint32_t r = 0;
        for (size_t i = 0; i < rl; i++)
            r = r * 10 + (uint32_t)(ref[i] - '0');
        lvl_on_reply(th, c, r, true, pl, pn, now);
    } else
        th->cnt[C_UNEXPECTED]++;
}

static void lvl_on_message(lvl_thread *th, lvl_conn *c, int op, char *p, size_t n, int64_t now)
{
    switch (op) {
    case 1: lvl_on_text(th, c, p, n, now); break;
    case 2: th->cnt[C_UNEXPECTED]++; break;
    case 8: /* close: answer with a close frame, then drop */
        th->cnt[C_CLOSE_FRAMES]++;
        lvl_note_error(th, "close frame from the server (code %d)",
                       n >= 2 ? ((uint8_t)p[0] << 8 | (uint8_t)p[1]) : 0);
        lvl_conn_drop(th, c, C_JOIN_CLOSED);
        break;
    case 9: { /* ping → pong with the same payload */
        if (n > 125)
            break;
        uint8_t f[2 + 4 + 125];
        f[0] = 0x8a;
        f[1] = (uint8_t)(0x80 | n);
        memset(f + 2, 0, 4); /* a zero mask: the payload goes as is */
        memcpy(f + 6, p, n);
        if (lvl_conn_send(th, c, (char *)f, 6 + n) != 0)
            lvl_conn_drop(th, c, C_CLOSED);
        break;
    }
    default: break;
    }
}

/* Consumes whole frames from data; returns the bytes used. The connection may be dropped inside. */
static size_t lvl_frames(lvl_thread *th, lvl_conn *c, char *data, size_t len, int64_t now)
{
    size_t off = 0;
    while (c->fd >= 0 && len - off >= 2) {
        uint8_t b0 = (uint8_t)data[off], b1 = (uint8_t)data[off + 1];
        size_t hl = 2;
        uint64_t pl = b1 & 0x7f;
        if (pl == 126) {
            if (len - off < 4)
                break;
            pl = (uint64_t)(uint8_t)data[off + 2] << 8 | (uint8_t)data[off + 3];
            hl = 4;
        } else if (pl == 127) {
            if (len - off < 10)
                break;
            pl = 0;
            for (int i = 0; i < 8; i++)
                pl = pl << 8 | (uint8_t)data[off + 2 + i];
            hl = 10;
        }
        bool masked = b1 & 0x80;
        if (masked)
            hl += 4;
        if (pl > LVL_MAX_FRAME) {
            th->cnt[C_UNEXPECTED]++;
            lvl_note_error(th, "frame of %" PRIu64 " bytes", pl);
            lvl_conn_drop(th, c, C_CLOSED);
            return len;
        }
        if (len - off < hl + pl)
            break;
        char *payload = data + off + hl;
        if (masked) /* servers must not mask, but unmask anyway */
            for (uint64_t i = 0; i < pl; i++)
                payload[i] ^= data[off + hl - 4 + (i & 3)];
        int op = b0 & 0x0f;
        bool fin = b0 & 0x80;
        if (op == 0 || (!fin && op < 8)) { /* a fragment: reassemble */
            if (op != 0)
                c->fop = (uint8_t)op, c->flen = 0;
            lvl_grow(&c->fbuf, &c->fcap, c->flen + pl);
            memcpy(c->fbuf + c->flen, payload, pl);
            c->flen += (uint32_t)pl;
            if (fin) {
                uint32_t fl = c->flen;
                c->flen = 0;
                lvl_on_message(th, c, c->fop, c->fbuf, fl, now);
            }
        } else
            lvl_on_message(th, c, op, payload, pl, now);
        off += hl + pl;
    }
    return off;
}

static void lvl_conn_input(lvl_thread *th, lvl_conn *c, char *data, size_t len, int64_t now)
{
    bool in_rbuf = c->rlen > 0;
    if (in_rbuf) {
        lvl_grow(&c->rbuf, &c->rcap, c->rlen + len);
        memcpy(c->rbuf + c->rlen, data, len);
        c->rlen += (uint32_t)len;
        data = c->rbuf;
        len = c->rlen;
    }
    if (c->state == S_HANDSHAKE) {
        char *hend = memmem(data, len, "\r\n\r\n", 4);
        if (hend == NULL) {
            if (!in_rbuf) {
                lvl_grow(&c->rbuf, &c->rcap, len);
                memcpy(c->rbuf, data, len);
                c->rlen = (uint32_t)len;
            }
            return;
        }
        if (len < 12 || memcmp(data + 9, "101", 3) != 0 ||
            memmem(data, (size_t)(hend - data), LVL_WS_ACCEPT, sizeof(LVL_WS_ACCEPT) - 1) == NULL) {
            lvl_note_error(th, "upgrade answered: %.*s", (int)((hend - data) < 100 ? (hend - data) : 100),
                           data);
            lvl_conn_drop(th, c, C_UPGRADE_ERRORS);
            return;
        }
        size_t used = (size_t)(hend + 4 - data);
        data += used;
        len -= used;
        lvl_send_join(th, c, now);
        if (c->fd < 0)
            return;
    }
    size_t used = lvl_frames(th, c, data, len, now);
    if (c->fd < 0)
        return;
    size_t left = len - used;
    if (left == 0)
        c->rlen = 0;
    else if (in_rbuf) {
        memmove(c->rbuf, data + used, left);
        c->rlen = (uint32_t)left;
    } else {
        lvl_grow(&c->rbuf, &c->rcap, left);
        memcpy(c->rbuf, data + used, left);
        c->rlen = (uint32_t)left;
    }
}

static void lvl_conn_event(lvl_thread *th, lvl_conn *c, uint32_t events, int64_t now)
{
    if (c->fd < 0)
        return;
    if (c->state == S_CONNECTING) {
        if (events & (EPOLLOUT | EPOLLERR | EPOLLHUP))
            lvl_ws_connected(th, c, now);
        return;
    }
    if ((events & EPOLLOUT) && c->wlen && lvl_conn_flush(th, c) != 0) {
        lvl_conn_drop(th, c, C_JOIN_CLOSED);
        return;
    }
    if (!(events & (EPOLLIN | EPOLLERR | EPOLLHUP)))
        return;
    for (;;) {
        ssize_t r = recv(c->fd, th->rb, LVL_READ_BUF, 0);
        if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return;
        if (r <= 0) {
            if (c->state == S_HANDSHAKE)
                lvl_note_error(th, "connection closed during the WebSocket upgrade");
            else if (c->state == S_JOINING)
                lvl_note_error(th, "connection closed before the join reply");
            else
                lvl_note_error(th, "joined socket closed by the server (%s)",
                               r == 0 ? "end of stream" : strerror(errno));
            lvl_conn_drop(th, c, c->state == S_HANDSHAKE ? C_UPGRADE_ERRORS : C_JOIN_CLOSED);
            return;
        }
        lvl_conn_input(th, c, th->rb, (size_t)r, now);
        if (c->fd < 0 || r < LVL_READ_BUF)
            return;
    }
}

/* ---- phases -------------------------------------------------------------------------------- */

/* --slow-out: one line per slow click, "SENT_NS LATENCY_US" with the send time on CLOCK_MONOTONIC,
 * to set beside a trace of the same run (perf record -k CLOCK_MONOTONIC). */
static void lvl_write_slow(const lvl_thread *th)
{
    if (O.slow_out == NULL)
        return;
    char *lines = NULL;
    size_t len = 0;
    FILE *mem = open_memstream(&lines, &len); /* one write(2) per thread: appends do not interleave */
    if (mem == NULL)
        return;
    for (size_t i = 0; i < th->nsamples; i++) {
        const lvl_sample *s = &th->samples[i];
        if (s->lat_us >= O.slow_ms * 1000)
            fprintf(mem, "%lld %u\n", (long long)(SH->t_start_ns + (int64_t)s->sent_us * 1000), s->lat_us);
    }
    fclose(mem);
    int fd = open(O.slow_out, O_WRONLY | O_APPEND | O_CREAT, 0644);
    if (fd < 0 || write(fd, lines, len) != (ssize_t)len)
        fprintf(stderr, "lvload: %s: %s\n", O.slow_out, strerror(errno));
    if (fd >= 0)
        close(fd);
    free(lines);
}

static void lvl_publish(lvl_thread *th)
{
    for (int i = 0; i < C_COUNTERS; i++)
        atomic_store_explicit(&th->slot->cnt[i], th->cnt[i], memory_order_relaxed);
}

static void lvl_phase_begin(lvl_thread *th, int64_t now)
{
    th->phase_done = false;
    th->get_next = th->get_hi = th->join_next = th->join_hi = 0;
    uint32_t lo = th->nwarm;
    switch (th->phase) {
    case PH_WARMUP: th->get_hi = th->join_hi = th->nwarm; break;
    case PH_GET:
        th->get_next = lo;
        th->get_hi = th->nconns;
        break;
    case PH_JOIN:
        th->join_next = lo;
        th->join_hi = th->nconns;
        break;
    case PH_LOAD:
        th->load_started = th->load_stopped = th->calc_sent = false;
        for (uint32_t i = 0; i < th->nconns; i++) {
            th->conns[i].last_tick = 0;
            th->conns[i].win_ticks = 0;
        }
        break;
    case PH_ANALYZE: {
        /* "during the stall": clicks in flight at any moment between the submit and the result */
        int64_t from = (SH->win_from_ns - SH->t_start_ns) / 1000,
                to = (SH->win_to_ns - SH->t_start_ns) / 1000;
        for (size_t i = 0; i < th->nsamples; i++) {
            const lvl_sample *s = &th->samples[i];
            int64_t a = s->sent_us, b = a + s->lat_us;
            if (SH->win_from_ns && a <= to && b >= from)
                lvl_hist_add(&th->slot->stall, (uint64_t)s->lat_us * 1000);
            else if (SH->win_from_ns && b < from)
                lvl_hist_add(&th->slot->before, (uint64_t)s->lat_us * 1000);
        }
        lvl_write_slow(th);
        break;
    }
    default: break;
    }
    (void)now;
}

/* Starts GETs and joins up to the concurrency limits; runs the load's clock. */
static void lvl_phase_step(lvl_thread *th, int64_t now)
{
    while (th->get_next < th->get_hi) {
        lvl_httpc *h = NULL;
        for (int i = 0; i < th->nhc; i++)
            if (th->hc[i].state == HC_IDLE || th->hc[i].state == HC_CLOSED) {
                h = &th->hc[i];
                break;
            }
        if (h == NULL)
            break;
        lvl_httpc_start(th, h, th->get_next++, now);
    }
    while (th->join_next < th->join_hi && th->joins_inflight < (uint32_t)O.conc) {
        lvl_conn *c = &th->conns[th->join_next];
        if (c->state == S_HAVE_PAGE)
            lvl_ws_start(th, c, now);
        else if (c->state == S_NEW || c->state == S_GETTING)
            break; /* warm-up: its page is still coming */
        th->join_next++;
    }
    if (th->phase == PH_LOAD && O.scenario != SC_TICKS) {
        if (!th->load_started && now >= SH->t_start_ns) {
            th->load_started = true;
            for (uint32_t i = 0; i < th->nconns; i++)
                if (th->conns[i].state == S_JOINED && th->conns[i].role == R_MAIN)
                    lvl_send_click(th, &th->conns[i], now);
        }
        while (th->think_len && th->think[0].due <= now) {
            lvl_conn *c = &th->conns[lvl_think_pop(th)];
            if (c->state == S_JOINED && now < SH->t_end_ns && !th->load_stopped)
                lvl_send_click(th, c, now);
        }
        if (th->has_calc && !th->calc_sent && now >= SH->t_calc_ns) {
            th->calc_sent = true;
            lvl_conn *c = &th->conns[th->nconns - 1];
            if (c->state == S_JOINED)
                lvl_send_calc(th, c, now);
        }
        if (th->load_started && !th->load_stopped && now >= SH->t_end_ns + (int64_t)O.drain_ms * 1000000) {
            th->load_stopped = true; /* give up on replies that did not come */
            for (uint32_t i = 0; i < th->nconns; i++)
                if (th->conns[i].click_pending) {
                    th->conns[i].click_pending = 0;
                    th->cnt[C_UNANSWERED]++;
                }
            th->clicks_inflight = 0;
        }
    }
    if (now >= th->next_housekeeping) {
        th->next_housekeeping = now + 100000000;
        lvl_publish(th);
    }
    if (now >= th->next_heartbeat_scan) {
        th->next_heartbeat_scan = now + 1000000000;
        int64_t limit = (int64_t)O.join_timeout_ms * 1000000;
        for (uint32_t i = 0; i < th->nconns; i++) {
            lvl_conn *c = &th->conns[i];
            if (c->state == S_JOINED && now - c->last_hb >= LVL_HEARTBEAT_NS)
                lvl_send_heartbeat(th, c, now);
            else if ((c->state == S_CONNECTING || c->state == S_HANDSHAKE || c->state == S_JOINING) &&
                     now - c->t_state > limit) {
                lvl_note_error(th, "no answer within %d ms while %s", O.join_timeout_ms,
                               c->state == S_JOINING ? "joining" : "opening the WebSocket");
                lvl_conn_drop(th, c, C_JOIN_TIMEOUTS);
            }
        }
        for (int i = 0; i < th->nhc; i++) {
            lvl_httpc *h = &th->hc[i];
            if ((h->state == HC_WAITING || h->state == HC_CONNECTING) && now - h->t_start > limit)
                lvl_get_failed(th, h, C_HTTP_ERRORS, "timeout");
        }
    }
}

static bool lvl_phase_finished(lvl_thread *th, int64_t now)
{
    switch (th->phase) {
    case PH_WARMUP:
    case PH_GET:
    case PH_JOIN:
        if (th->get_next < th->get_hi || th->join_next < th->join_hi || th->joins_inflight)
            return false;
        for (int i = 0; i < th->nhc; i++)
            if (th->hc[i].state == HC_WAITING || th->hc[i].state == HC_CONNECTING)
                return false;
        return true;
    case PH_LOAD:
        if (now < SH->t_end_ns)
            return false;
        if (O.scenario == SC_TICKS)
            return true;
        return th->load_started && th->clicks_inflight == 0 && (!th->has_calc || th->calc_sent) &&
               (th->think_len == 0 || now >= SH->t_end_ns);
    default: return true;
    }
}

static void lvl_phase_end(lvl_thread *th)
{
    if (th->phase == PH_LOAD) {
        for (uint32_t i = 0; i < th->nconns; i++) {
            lvl_conn *c = &th->conns[i];
            if (c->role != R_MAIN)
                continue;
            if (O.scenario == SC_TICKS && c->state == S_JOINED && c->win_ticks == 0)
                th->cnt[C_NO_TICK_SESSIONS]++;
            if (O.scenario != SC_TICKS && !O.echo && c->temp0 >= 0 && c->acked) {
                th->cnt[C_TEMP_CHECKED]++;
                if (c->temp_last != c->temp0 + (int32_t)c->acked)
                    th->cnt[C_TEMP_MISMATCH]++;
            }
        }
    }
    lvl_publish(th);
}

static void *lvl_thread_main(void *arg)
{
    lvl_thread *th = arg;
    struct epoll_event evs[512];
    th->ep = epoll_create1(EPOLL_CLOEXEC);
    th->rb = malloc(LVL_READ_BUF);
    th->scratch = malloc(LVL_SCRATCH * 2);
    th->out = malloc(LVL_SCRATCH * 2 + 16);
    if (th->ep < 0 || !th->rb || !th->scratch || !th->out)
        abort();
    for (int i = 0; i < LVL_MAX_HTTPC; i++)
        th->hc[i].fd = -1;
    th->gen = 0;
    th->phase = PH_START;
    th->phase_done = true;
    atomic_store_explicit(&th->slot->ready, 1, memory_order_release);
    for (;;) {
        int64_t now = lvl_now();
        uint32_t gen = atomic_load_explicit(&SH->gen, memory_order_acquire);
        if (gen != th->gen) {
            th->gen = gen;
            th->phase = atomic_load_explicit(&SH->cmd, memory_order_relaxed);
            if (th->phase == PH_EXIT)
                break;
            lvl_phase_begin(th, now);
        }
        lvl_phase_step(th, now);
        if (!th->phase_done && lvl_phase_finished(th, now)) {
            th->phase_done = true;
            lvl_phase_end(th);
            atomic_store_explicit(&th->slot->done_gen, th->gen, memory_order_release);
        }
        /* sleep until the next deadline with ns precision (think times are short: a ms-rounded
         * timeout would either spin or oversleep), at most 10 ms so phase commands are seen */
        int64_t wait_ns = 10000000;
        if (th->phase == PH_LOAD && !th->phase_done) {
            int64_t next = !th->load_started && O.scenario != SC_TICKS ? SH->t_start_ns
                           : th->has_calc && !th->calc_sent            ? SH->t_calc_ns
                                                                       : SH->t_end_ns;
            if (th->think_len && th->think[0].due < next)
                next = th->think[0].due;
            wait_ns = next - now < 0 ? 0 : next - now < wait_ns ? next - now : wait_ns;
        }
        struct timespec ts = {0, (long)wait_ns};
        int n = epoll_pwait2(th->ep, evs, 512, &ts, NULL);
        if (n < 0 && errno == ENOSYS) /* kernels before 5.11: round up, never spin */
            n = epoll_wait(th->ep, evs, 512, (int)((wait_ns + 999999) / 1000000));
        for (int i = 0; i < n; i++) {
            uint64_t tag = evs[i].data.u64;
            uint32_t idx = (uint32_t)tag;
            now = lvl_now();
            if ((tag >> 32) == 1)
                lvl_conn_event(th, &th->conns[idx], evs[i].events, now);
            else
                lvl_httpc_event(th, &th->hc[idx], evs[i].events, now);
        }
    }
    for (uint32_t i = 0; i < th->nconns; i++)
        if (th->conns[i].fd >= 0)
            close(th->conns[i].fd);
    for (int i = 0; i < th->nhc; i++)
        lvl_httpc_close(th, &th->hc[i]);
    return NULL;
}

/* ---- worker process ------------------------------------------------------------------------ */

typedef struct lvl_plan {
    int procs, threads_per_proc, nslots;
    int first[LVL_MAX_SLOTS], count[LVL_MAX_SLOTS]; /* main sessions per slot */
} lvl_plan;

static void lvl_worker(const lvl_plan *pl, int w)
{
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    lvl_thread *ths = calloc((size_t)pl->threads_per_proc, sizeof(*ths));
    for (int t = 0; t < pl->threads_per_proc; t++) {
        lvl_thread *th = &ths[t];
        int s = w * pl->threads_per_proc + t;
        th->slot_index = s;
        th->worker = w;
        th->slot = &SH->slots[s];
        th->first_session = pl->first[s];
        th->nwarm = (s == 0 && O.scenario == SC_IDLE) ? (uint32_t)O.warmup : 0;
        th->has_calc = s == 0 && O.scenario == SC_FAIR;
        th->nconns = th->nwarm + (uint32_t)pl->count[s] + (th->has_calc ? 1 : 0);
        th->conns = calloc(th->nconns ? th->nconns : 1, sizeof(lvl_conn));
        for (uint32_t i = 0; i < th->nconns; i++) {
            th->conns[i].fd = -1;
            th->conns[i].role = i < th->nwarm                           ? R_WARM
                                : (th->has_calc && i == th->nconns - 1) ? R_CALC
                                                                        : R_MAIN;
        }
        th->nhc = O.http_conns;
        th->rng = 0x9E3779B97F4A7C15ull ^ ((uint64_t)s << 32) ^ (uint64_t)getpid();
        if (O.think_ms > 0) {
            th->think = calloc(th->nconns ? th->nconns : 1, sizeof(lvl_think));
            if (th->think == NULL)
                abort();
        }
        if (O.scenario == SC_FAIR) {
            th->samples_cap = (size_t)(O.seconds * 400000.0 / pl->nslots) + 100000;
            th->samples = malloc(th->samples_cap * sizeof(lvl_sample));
            if (th->samples == NULL)
                abort();
        }
        if (pthread_create(&th->tid, NULL, lvl_thread_main, th) != 0) {
            perror("lvload: pthread_create");
            _exit(1);
        }
    }
    for (int t = 0; t < pl->threads_per_proc; t++)
        pthread_join(ths[t].tid, NULL);
    _exit(0);
}

/* ---- the parent: /proc readings ------------------------------------------------------------ */

static bool lvl_proc_alive(int pid)
{
    char path[64], buf[512];
    snprintf(path, sizeof(path), "/proc/%d/stat", pid);
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return false;
    size_t n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = '\0';
    char *p = strrchr(buf, ')');
    return p && p[1] == ' ' && p[2] != 'Z' && p[2] != 'X';
}

static long lvl_rss_kb(int pid)
{
    char path[64], line[256];
    snprintf(path, sizeof(path), "/proc/%d/status", pid);
    FILE *f = fopen(path, "r");
    long kb = -1;
    if (f == NULL)
        return -1;
    while (fgets(line, sizeof(line), f))
        if (strncmp(line, "VmRSS:", 6) == 0)
            kb = strtol(line + 6, NULL, 10);
    fclose(f);
    return kb;
}

/* utime + stime of a process or task, in clock ticks; *sys_out gets stime alone */
static long long lvl_cpu_ticks2(const char *path, long long *sys_out)
{
    char buf[1024];
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return -1;
    size_t n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = '\0';
    char *p = strrchr(buf, ')');
    if (p == NULL)
        return -1;
    long long v[16] = {0};
    p += 2;
    for (int i = 0; i < 13 && p; i++) {
        v[i] = strtoll(p, &p, 10);
        if (i == 0) { /* state is a letter */
            while (*p == ' ')
                p++;
            p++;
            v[i] = 0;
        }
    }
    if (sys_out)
        *sys_out = v[12];
    return v[11] + v[12];
}

static long long lvl_cpu_ticks(const char *path)
{
    return lvl_cpu_ticks2(path, NULL);
}

#define LVL_MAX_CPUS 64

typedef struct lvl_cpu_snap {
    int64_t t;
    long long server, client, client_sys;
    int ntasks, ncpus;
    char task_names[256][16];
    unsigned long long cpu_total[LVL_MAX_CPUS], cpu_idle[LVL_MAX_CPUS];
    int tids[256];
    long long task_ticks[256];
    unsigned long long box_total, box_idle, box_softirq, box_steal;
} lvl_cpu_snap;

static void lvl_cpu_snapshot(lvl_cpu_snap *s, int server_pid, const pid_t *workers, int nworkers)
{
    char path[96];
    s->t = lvl_now();
    s->server = s->client = s->client_sys = 0;
    s->ntasks = s->ncpus = 0;
    if (server_pid > 0) {
        snprintf(path, sizeof(path), "/proc/%d/stat", server_pid);
        s->server = lvl_cpu_ticks(path);
        snprintf(path, sizeof(path), "/proc/%d/task", server_pid);
        DIR *d = opendir(path);
        struct dirent *e;
        while (d && (e = readdir(d)) && s->ntasks < 256) {
            if (e->d_name[0] < '0' || e->d_name[0] > '9')
                continue;
            int tid = atoi(e->d_name);
            snprintf(path, sizeof(path), "/proc/%d/task/%d/stat", server_pid, tid);
            s->tids[s->ntasks] = tid;
            s->task_ticks[s->ntasks] = lvl_cpu_ticks(path);
            snprintf(path, sizeof(path), "/proc/%d/task/%d/comm", server_pid, tid);
            FILE *cf = fopen(path, "r");
            s->task_names[s->ntasks][0] = '\0';
            if (cf) {
                if (fgets(s->task_names[s->ntasks], sizeof(s->task_names[0]), cf))
                    s->task_names[s->ntasks][strcspn(s->task_names[s->ntasks], "\n\"\\")] = '\0';
                fclose(cf);
            }
            s->ntasks++;
        }
        if (d)
            closedir(d);
    }
    for (int i = 0; i < nworkers; i++) {
        snprintf(path, sizeof(path), "/proc/%d/stat", (int)workers[i]);
        long long sys = 0, t = lvl_cpu_ticks2(path, &sys);
        if (t > 0) {
            s->client += t;
            s->client_sys += sys;
        }
    }
    FILE *f = fopen("/proc/stat", "r");
    s->box_total = s->box_idle = s->box_softirq = s->box_steal = 0;
    if (f) {
        unsigned long long v[10] = {0};
        if (fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1], &v[2], &v[3],
                   &v[4], &v[5], &v[6], &v[7], &v[8], &v[9]) >= 8) {
            for (int i = 0; i < 8; i++) /* guest time is already in user */
                s->box_total += v[i];
            s->box_idle = v[3] + v[4];
            s->box_softirq = v[6];
            s->box_steal = v[7]; /* a VM's vCPUs held off by its host */
        }
        char line[512];
        while (fgets(line, sizeof(line), f) && s->ncpus < LVL_MAX_CPUS) {
            unsigned int cpu;
            if (sscanf(line, "cpu%u %llu %llu %llu %llu %llu %llu %llu %llu", &cpu, &v[0], &v[1], &v[2],
                       &v[3], &v[4], &v[5], &v[6], &v[7]) != 9)
                continue;
            s->cpu_total[s->ncpus] = v[0] + v[1] + v[2] + v[3] + v[4] + v[5] + v[6] + v[7];
            s->cpu_idle[s->ncpus++] = v[3] + v[4];
        }
        fclose(f);
    }
}

typedef struct lvl_cpu_use {
    double server, busiest_thread, client, client_sys, box_idle_pct, softirq, other, steal_pct;
    int ncpus;
    double cpu_busy_pct[LVL_MAX_CPUS];
    int nthreads; /* the server's busiest threads */
    char thread_name[4][16];
    double thread_cores[4];
} lvl_cpu_use;

static lvl_cpu_use lvl_cpu_between(const lvl_cpu_snap *a, const lvl_cpu_snap *b)
{
    double hz = (double)sysconf(_SC_CLK_TCK), el = (double)(b->t - a->t) / 1e9;
    lvl_cpu_use u = {-1, -1, -1, -1, -1, -1, -1, -1, 0, {0}, 0, {{0}}, {0}};
    if (el <= 0)
        return u;
    if (a->server >= 0 && b->server >= 0 && O.server_pid > 0)
        u.server = (double)(b->server - a->server) / hz / el;
    long long best = 0;
    for (int i = 0; i < b->ntasks; i++)
        for (int j = 0; j < a->ntasks; j++) {
            if (a->tids[j] != b->tids[i])
                continue;
            long long d = b->task_ticks[i] - a->task_ticks[j];
            if (d > best)
                best = d;
            if (d <= 0)
                continue;
            /* keep the four busiest, in order */
            int k = u.nthreads < 4 ? u.nthreads++ : 3;
            if (k == 3 && u.nthreads == 4 && d <= (long long)(u.thread_cores[3] * hz * el))
                continue;
            u.thread_cores[k] = (double)d / hz / el;
            memcpy(u.thread_name[k], b->task_names[i], sizeof(u.thread_name[k]));
            for (; k > 0 && u.thread_cores[k] > u.thread_cores[k - 1]; k--) {
                double tc = u.thread_cores[k];
                char tn[16];
                memcpy(tn, u.thread_name[k], sizeof(tn));
                u.thread_cores[k] = u.thread_cores[k - 1];
                memcpy(u.thread_name[k], u.thread_name[k - 1], sizeof(tn));
                u.thread_cores[k - 1] = tc;
                memcpy(u.thread_name[k - 1], tn, sizeof(tn));
            }
        }
    if (O.server_pid > 0)
        u.busiest_thread = (double)best / hz / el;
    u.client = (double)(b->client - a->client) / hz / el;
    u.client_sys = (double)(b->client_sys - a->client_sys) / hz / el;
    u.ncpus = a->ncpus < b->ncpus ? a->ncpus : b->ncpus;
    for (int i = 0; i < u.ncpus; i++) {
        unsigned long long t = b->cpu_total[i] - a->cpu_total[i], idle = b->cpu_idle[i] - a->cpu_idle[i];
        u.cpu_busy_pct[i] = t ? 100.0 * (double)(t - idle) / (double)t : 0;
    }
    if (b->box_total > a->box_total) {
        double total = (double)(b->box_total - a->box_total), cores = (double)sysconf(_SC_NPROCESSORS_ONLN);
        u.box_idle_pct = 100.0 * (double)(b->box_idle - a->box_idle) / total;
        u.softirq = cores * (double)(b->box_softirq - a->box_softirq) / total;
        u.steal_pct = 100.0 * (double)(b->box_steal - a->box_steal) / total;
        /* busy time that is neither the server's nor lvload's: other processes, interrupts */
        u.other = cores * (1.0 - (double)(b->box_idle - a->box_idle) / total) -
                  (u.server > 0 ? u.server : 0) - u.client;
        if (u.other < 0)
            u.other = 0;
    }
    return u;
}

/* ---- the parent: orchestration ------------------------------------------------------------- */

static pid_t lvl_workers[LVL_MAX_PROCS];
static int lvl_nworkers;
static lvl_plan lvl_p;
static const char *lvl_crashed_step; /* the server died during this step */
static const char *lvl_failed_step;  /* lvload gave up on this step (timeout or a worker died) */
static char lvl_fail_reason[160];

static void lvl_kill_workers(void)
{
    for (int i = 0; i < lvl_nworkers; i++)
        if (lvl_workers[i] > 0)
            kill(lvl_workers[i], SIGKILL);
}

static void lvl_on_alarm(int sig)
{
    (void)sig;
    lvl_kill_workers();
    static const char msg[] = "{\"error\":\"lvload watchdog: the run exceeded its time limit\"}\n";
    if (write(1, msg, sizeof(msg) - 1) < 0)
        _exit(3);
    _exit(3);
}

static void lvl_sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

static bool lvl_check_server(const char *step)
{
    if (O.server_pid <= 0 || lvl_crashed_step)
        return lvl_crashed_step == NULL;
    if (!lvl_proc_alive(O.server_pid)) {
        lvl_crashed_step = step;
        fprintf(stderr, "lvload: server %d died during step '%s'\n", O.server_pid, step);
        return false;
    }
    return true;
}

static bool lvl_workers_alive(void)
{
    for (int i = 0; i < lvl_nworkers; i++) {
        int st;
        if (lvl_workers[i] > 0 && waitpid(lvl_workers[i], &st, WNOHANG) == lvl_workers[i]) {
            snprintf(lvl_fail_reason, sizeof(lvl_fail_reason), "worker %d exited early (status %d)", i, st);
            lvl_workers[i] = -1;
            return false;
        }
    }
    return true;
}

static uint32_t lvl_send(int cmd)
{
    atomic_store_explicit(&SH->cmd, cmd, memory_order_relaxed);
    return atomic_fetch_add_explicit(&SH->gen, 1, memory_order_acq_rel) + 1;
}

/* fair: the box's CPU accounting at the calculation's submit and at its result (or the end of the
 * load), so that steal is known for the very window the stall figures cover */
static lvl_cpu_snap lvl_calc_win[2];
static int lvl_calc_win_seen;

static void lvl_watch_calc_window(void)
{
    lvl_slot *s0 = &SH->slots[0]; /* written by the worker that holds the calculating session */
    if (lvl_calc_win_seen == 0 && __atomic_load_n(&s0->calc_submit_ns, __ATOMIC_RELAXED))
        lvl_cpu_snapshot(&lvl_calc_win[lvl_calc_win_seen++], -1, NULL, 0);
    else if (lvl_calc_win_seen == 1 &&
             (__atomic_load_n(&s0->calc_done_ns, __ATOMIC_RELAXED) || lvl_now() >= SH->t_end_ns))
        lvl_cpu_snapshot(&lvl_calc_win[lvl_calc_win_seen++], -1, NULL, 0);
}

/* Waits until every worker thread has finished command generation gen. */
static int lvl_wait(uint32_t gen, int cmd, int timeout_ms)
{
    int64_t deadline = lvl_now() + (int64_t)timeout_ms * 1000000;
    int64_t next_check = 0;
    for (;;) {
        if (cmd == PH_LOAD && O.scenario == SC_FAIR)
            lvl_watch_calc_window();
        int done = 0;
        for (int s = 0; s < lvl_p.nslots; s++)
            done += atomic_load_explicit(&SH->slots[s].done_gen, memory_order_acquire) == gen;
        if (done == lvl_p.nslots)
            return 0;
        int64_t now = lvl_now();
        if (now >= next_check) {
            next_check = now + 100000000;
            lvl_check_server(lvl_phase_names[cmd]);
            if (!lvl_workers_alive()) {
                lvl_failed_step = lvl_phase_names[cmd];
                return -1;
            }
        }
        if (now > deadline) {
            lvl_failed_step = lvl_phase_names[cmd];
            snprintf(lvl_fail_reason, sizeof(lvl_fail_reason), "step '%s' did not finish within %d ms",
                     lvl_phase_names[cmd], timeout_ms);
            return -1;
        }
        lvl_sleep_ms(2);
    }
}

/* Sends one phase command to every worker thread and waits until all have finished it. */
static int lvl_command(int cmd, int timeout_ms)
{
    if (lvl_failed_step)
        return -1;
    return lvl_wait(lvl_send(cmd), cmd, timeout_ms);
}

static uint64_t lvl_total(int counter)
{
    uint64_t v = 0;
    for (int s = 0; s < lvl_p.nslots; s++)
        v += atomic_load_explicit(&SH->slots[s].cnt[counter], memory_order_relaxed);
    return v;
}

static void lvl_usage(void)
{
    fprintf(
        stderr,
        "usage: lvload [options] idle N [HOLD_S] | clicks N SECONDS | fair N SECONDS | ticks N SECONDS\n"
        "  idle N      join N thermostats (page GETs first, then the joins) and hold; server RSS growth\n"
        "              per session from /proc (needs --server-pid)\n"
        "  clicks N S  N sessions each keep one \"inc\" click in flight for S s; events/s, p50/p99/max\n"
        "  fair N S    clicks, while one more session submits the calculator (n=--calc-n) at S/3;\n"
        "              p99/max of the others' clicks in flight during that calculation\n"
        "  ticks N S   N joined thermostats; lag of the 1 Hz clock pushes over S s (interval - 1 s)\n"
        "options (defaults in brackets):\n"
        "  --port P [4000]  --path /thermostat  --calc-path /  --calc-n 300000000  --calc-at-ms [S/3]\n"
        "  --server-pid PID   read the server's RSS/CPU and notice when it dies\n"
        "  --label NAME       the system's name in the output  --echo  treat echoed frames as replies\n"
        "  --threads T [cores] in all  --procs P [sessions/--per-proc, rounded up]  --per-proc [9000]\n"
        "  --src-addrs K [1 per 25,000 sockets]: spread sockets over 127.0.0.1..K\n"
        "  --conc C [64] joins in progress per thread  --http-conns H [8] keep-alive GET connections/thread\n"
        "  --warmup W [5] (idle)  --settle-ms [4000] (idle hold)  --join-timeout-ms [10000]  --drain-ms "
        "[10000]\n"
        "  --think-ms T [0]   clicks/fair: pause T ms between a reply and the session's next click\n"
        "  --think-random     each pause uniform in [T/2, 3T/2] ms: sessions do not click in step\n"
        "  --slow-out FILE --slow-ms X [1]: clicks/fair: append the clicks slower than X ms to FILE\n"
        "                     (\"SENT_NS LATENCY_US\", CLOCK_MONOTONIC), for a trace of the same run\n"
        "Limits: N <= %d, S <= %d; everything goes to 127.0.0.1. Output: one JSON line on stdout.\n",
        LVL_MAX_SESSIONS, LVL_MAX_SECONDS);
}

static int lvl_parse(int argc, char **argv)
{
    int i = 1;
    for (; i < argc && strncmp(argv[i], "--", 2) == 0; i++) {
        const char *f = argv[i];
        if (strcmp(f, "--echo") == 0) {
            O.echo = true;
            continue;
        }
        if (strcmp(f, "--think-random") == 0) {
            O.think_random = true;
            continue;
        }
        if (i + 1 >= argc)
            return -1;
        const char *v = argv[++i];
        if (strcmp(f, "--port") == 0)
            O.port = atoi(v);
        else if (strcmp(f, "--path") == 0)
            O.path = v;
        else if (strcmp(f, "--calc-path") == 0)
            O.calc_path = v;
        else if (strcmp(f, "--calc-n") == 0)
            O.calc_n = atoll(v);
        else if (strcmp(f, "--calc-at-ms") == 0)
            O.calc_at_ms = atoi(v);
        else if (strcmp(f, "--server-pid") == 0)
            O.server_pid = atoi(v);
        else if (strcmp(f, "--label") == 0)
            O.label = v;
        else if (strcmp(f, "--threads") == 0)
            O.threads = atoi(v);
        else if (strcmp(f, "--procs") == 0)
            O.procs = atoi(v);
        else if (strcmp(f, "--per-proc") == 0)
            O.per_proc = atoi(v);
        else if (strcmp(f, "--src-addrs") == 0)
            O.src_addrs = atoi(v);
        else if (strcmp(f, "--conc") == 0)
            O.conc = atoi(v);
        else if (strcmp(f, "--http-conns") == 0)
            O.http_conns = atoi(v);
        else if (strcmp(f, "--warmup") == 0)
            O.warmup = atoi(v);
        else if (strcmp(f, "--settle-ms") == 0)
            O.settle_ms = atoi(v);
        else if (strcmp(f, "--join-timeout-ms") == 0)
            O.join_timeout_ms = atoi(v);
        else if (strcmp(f, "--drain-ms") == 0)
            O.drain_ms = atoi(v);
        else if (strcmp(f, "--think-ms") == 0)
            O.think_ms = atoi(v);
        else if (strcmp(f, "--slow-out") == 0)
            O.slow_out = v;
        else if (strcmp(f, "--slow-ms") == 0)
            O.slow_ms = atof(v);
        else
            return -1;
    }
    if (argc - i < 2)
        return -1;
    const char *sc = argv[i];
    int k;
    for (k = 0; k < 4 && strcmp(sc, lvl_scenario_names[k]) != 0; k++)
        ;
    if (k == 4)
        return -1;
    O.scenario = k;
    O.sessions = atoi(argv[i + 1]);
    O.seconds = argc - i > 2 ? atof(argv[i + 2]) : 0;
    if (O.scenario != SC_IDLE && argc - i < 3)
        return -1;
    if (O.scenario == SC_IDLE && argc - i > 2)
        O.settle_ms = (int)(O.seconds * 1000);
    if (O.sessions < 1 || O.sessions > LVL_MAX_SESSIONS || O.seconds < 0 || O.seconds > LVL_MAX_SECONDS ||
        (O.scenario != SC_IDLE && O.seconds <= 0) || O.port < 1 || O.port > 65535 || O.conc < 1 ||
        O.http_conns < 1 || O.http_conns > LVL_MAX_HTTPC || O.per_proc < 1 || O.warmup < 0 ||
        O.warmup > 1000 || O.settle_ms < 0 || O.settle_ms > LVL_MAX_SECONDS * 1000 ||
        O.join_timeout_ms < 100 || O.drain_ms < 0 || O.think_ms < 0 || O.think_ms > 60000)
        return -1;
    return 0;
}

static void lvl_json_hist(FILE *f, const char *prefix, const lvl_hist *h)
{
    fprintf(f, ",\"%sn\":%" PRIu64, prefix, h->n);
    if (h->n == 0) {
        fprintf(f, ",\"%sp50_ms\":null,\"%sp99_ms\":null,\"%smax_ms\":null", prefix, prefix, prefix);
        return;
    }
    fprintf(f, ",\"%sp50_ms\":%.3f,\"%sp99_ms\":%.3f,\"%smax_ms\":%.3f,\"%smean_ms\":%.3f", prefix,
            lvl_hist_pct_ms(h, 0.5), prefix, lvl_hist_pct_ms(h, 0.99), prefix, (double)h->max / 1e6, prefix,
            (double)h->sum / (double)h->n / 1e6);
}

static void lvl_json_num(FILE *f, const char *key, double v, int decimals)
{
    if (v < 0)
        fprintf(f, ",\"%s\":null", key);
    else
        fprintf(f, ",\"%s\":%.*f", key, decimals, v);
}

int main(int argc, char **argv)
{
    if (lvl_parse(argc, argv) != 0) {
        lvl_usage();
        return 2;
    }
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    if (O.threads <= 0)
        O.threads = cores > 0 ? (int)cores : 1;
    int sockets = O.sessions + (O.scenario == SC_IDLE ? O.warmup : 0) + (O.scenario == SC_FAIR);
    if (O.procs <= 0)
        O.procs = (sockets + O.per_proc - 1) / O.per_proc;
    if (O.procs > LVL_MAX_PROCS)
        O.procs = LVL_MAX_PROCS;
    if (O.src_addrs <= 0)
        O.src_addrs = 1 + sockets / 25000;
    int tpp = O.threads / O.procs > 0 ? O.threads / O.procs : 1;
    if (O.procs * tpp > LVL_MAX_SLOTS)
        tpp = LVL_MAX_SLOTS / O.procs;
    lvl_p.procs = O.procs;
    lvl_p.threads_per_proc = tpp;
    lvl_p.nslots = O.procs * tpp;
    for (int s = 0; s < lvl_p.nslots; s++) {
        lvl_p.first[s] = (int)((long long)O.sessions * s / lvl_p.nslots);
        lvl_p.count[s] = (int)((long long)O.sessions * (s + 1) / lvl_p.nslots) - lvl_p.first[s];
    }
    struct rlimit rl;
    getrlimit(RLIMIT_NOFILE, &rl);
    {
        long long worst = 0;
        for (int w = 0; w < O.procs; w++) {
            long long n = tpp * (O.http_conns + 2) + 16 + (w == 0 ? O.warmup + 1 : 0);
            for (int t = 0; t < tpp; t++)
                n += lvl_p.count[w * tpp + t];
            if (n > worst)
                worst = n;
        }
        if ((rlim_t)worst > rl.rlim_max) {
            fprintf(stderr,
                    "lvload: %lld sockets in one process exceed the open-file limit %llu; use --procs or a "
                    "smaller "
                    "--per-proc\n",
                    worst, (unsigned long long)rl.rlim_max);
            return 2;
        }
    }
    fprintf(
        stderr,
        "lvload: %s %d sessions against 127.0.0.1:%d (%s): %d process%s x %d thread%s, %d source address%s, "
        "open-file limit %llu per process\n",
        lvl_scenario_names[O.scenario], O.sessions, O.port, O.label, O.procs, O.procs == 1 ? "" : "es", tpp,
        tpp == 1 ? "" : "s", O.src_addrs, O.src_addrs == 1 ? "" : "es", (unsigned long long)rl.rlim_max);

    lvl_server_addr.sin_family = AF_INET;
    lvl_server_addr.sin_port = htons((uint16_t)O.port);
    lvl_server_addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    signal(SIGPIPE, SIG_IGN);
    SH = mmap(NULL, sizeof(lvl_shared), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (SH == MAP_FAILED) {
        perror("lvload: mmap");
        return 1;
    }
    int hold_ms = O.scenario == SC_IDLE ? O.settle_ms : (int)(O.seconds * 1000);
    alarm((unsigned)(120 + hold_ms / 1000 + O.sessions / 50 + O.drain_ms / 1000));
    signal(SIGALRM, lvl_on_alarm);

    fflush(NULL);
    for (int w = 0; w < O.procs; w++) {
        pid_t pid = fork();
        if (pid < 0) {
            perror("lvload: fork");
            lvl_kill_workers();
            return 1;
        }
        if (pid == 0)
            lvl_worker(&lvl_p, w);
        lvl_workers[lvl_nworkers++] = pid;
    }
    for (int s = 0; s < lvl_p.nslots; s++)
        while (!atomic_load_explicit(&SH->slots[s].ready, memory_order_acquire))
            lvl_sleep_ms(1);

    int connect_ms = 30000 + O.sessions * 2 + O.join_timeout_ms;
    long rss0 = -1, rss_get = -1, rss1 = -1, rss_end = -1, rss_before_load = -1;
    double get_ms = -1, join_ms = -1, tick_rate = -1;
    lvl_cpu_snap c0, c1;
    memset(&c0, 0, sizeof(c0));
    memset(&c1, 0, sizeof(c1));
    lvl_cpu_use cpu = {-1, -1, -1, -1, -1, -1, -1, -1, 0, {0}, 0, {{0}}, {0}};
    double load_s = -1;

    if (O.scenario == SC_IDLE) {
        lvl_command(PH_WARMUP, connect_ms);
        lvl_sleep_ms(2000);
        rss0 = O.server_pid > 0 ? lvl_rss_kb(O.server_pid) : -1;
    }
    int64_t t = lvl_now();
    lvl_command(PH_GET, connect_ms);
    get_ms = (double)(lvl_now() - t) / 1e6;
    lvl_check_server("get");
    if (O.scenario == SC_IDLE) {
        lvl_sleep_ms(1000);
        rss_get = O.server_pid > 0 ? lvl_rss_kb(O.server_pid) : -1;
    }
    t = lvl_now();
    lvl_command(PH_JOIN, connect_ms);
    join_ms = (double)(lvl_now() - t) / 1e6;
    lvl_check_server("join");

    if (O.scenario == SC_IDLE) {
        uint64_t p0 = lvl_total(C_PUSHES);
        int64_t a = lvl_now();
        lvl_cpu_snapshot(&c0, O.server_pid, lvl_workers, lvl_nworkers);
        lvl_sleep_ms(O.settle_ms);
        lvl_cpu_snapshot(&c1, O.server_pid, lvl_workers, lvl_nworkers);
        cpu = lvl_cpu_between(&c0, &c1);
        double el = (double)(lvl_now() - a) / 1e9;
        tick_rate = el > 0 ? (double)(lvl_total(C_PUSHES) - p0) / el : -1;
        rss1 = O.server_pid > 0 ? lvl_rss_kb(O.server_pid) : -1;
        lvl_check_server("hold");
    } else if (!lvl_failed_step) {
        lvl_sleep_ms(1000);
        rss_before_load = O.server_pid > 0 ? lvl_rss_kb(O.server_pid) : -1;
        SH->t_start_ns = lvl_now() + 50000000;
        SH->t_end_ns = SH->t_start_ns + (int64_t)(O.seconds * 1e9);
        int calc_at = O.calc_at_ms >= 0 ? O.calc_at_ms : (int)(O.seconds * 1000 / 3);
        SH->t_calc_ns = SH->t_start_ns + (int64_t)calc_at * 1000000;
        uint32_t gen = lvl_send(PH_LOAD);
        while (lvl_now() < SH->t_start_ns)
            lvl_sleep_ms(1);
        lvl_cpu_snapshot(&c0, O.server_pid, lvl_workers, lvl_nworkers);
        lvl_wait(gen, PH_LOAD, (int)(O.seconds * 1000) + O.drain_ms + 15000);
        lvl_cpu_snapshot(&c1, O.server_pid, lvl_workers, lvl_nworkers);
        cpu = lvl_cpu_between(&c0, &c1);
        int64_t last = 0;
        for (int s = 0; s < lvl_p.nslots; s++)
            if (SH->slots[s].last_reply_ns > last)
                last = SH->slots[s].last_reply_ns;
        load_s = O.scenario == SC_TICKS ? O.seconds : (double)(last - SH->t_start_ns) / 1e9;
        lvl_check_server("load");
        if (O.scenario == SC_FAIR) {
            lvl_slot *s0 = &SH->slots[0];
            SH->win_from_ns = s0->calc_submit_ns;
            SH->win_to_ns = s0->calc_done_ns ? s0->calc_done_ns : SH->t_end_ns;
            lvl_command(PH_ANALYZE, 30000);
        }
    }
    rss_end = O.server_pid > 0 ? lvl_rss_kb(O.server_pid) : -1;
    bool alive = O.server_pid > 0 ? lvl_check_server("end") : true;

    /* merge */
    static lvl_hist lat, stall, before, lag;
    for (int s = 0; s < lvl_p.nslots; s++) {
        lvl_hist_merge(&lat, &SH->slots[s].lat);
        lvl_hist_merge(&stall, &SH->slots[s].stall);
        lvl_hist_merge(&before, &SH->slots[s].before);
        lvl_hist_merge(&lag, &SH->slots[s].tick_lag);
    }
    const char *first_error = "";
    for (int s = 0; s < lvl_p.nslots; s++)
        if (SH->slots[s].first_error[0]) {
            first_error = SH->slots[s].first_error;
            break;
        }

    FILE *f = stdout;
    fprintf(f, "{\"scenario\":\"%s\",\"label\":\"%s\",\"port\":%d,\"server_pid\":%d,\"sessions\":%d",
            lvl_scenario_names[O.scenario], O.label, O.port, O.server_pid, O.sessions);
    if (O.scenario != SC_IDLE)
        fprintf(f, ",\"seconds\":%g", O.seconds);
    if (O.scenario == SC_CLICKS || O.scenario == SC_FAIR)
        fprintf(f, ",\"think_ms\":%d,\"think_random\":%s", O.think_ms, O.think_random ? "true" : "false");
    fprintf(f, ",\"procs\":%d,\"threads\":%d,\"src_addrs\":%d", O.procs, lvl_p.nslots, O.src_addrs);
    fprintf(f, ",\"server_alive\":%s,\"crashed_step\":%s%s%s,\"failed_step\":%s%s%s",
            alive ? "true" : "false", lvl_crashed_step ? "\"" : "",
            lvl_crashed_step ? lvl_crashed_step : "null", lvl_crashed_step ? "\"" : "",
            lvl_failed_step ? "\"" : "", lvl_failed_step ? lvl_failed_step : "null",
            lvl_failed_step ? "\"" : "");
    if (lvl_failed_step)
        fprintf(f, ",\"fail_reason\":\"%s\"", lvl_fail_reason);
    lvl_json_num(f, "get_ms", get_ms, 0);
    lvl_json_num(f, "join_ms", join_ms, 0);
    uint64_t joined = lvl_total(C_JOINED);
    uint64_t refused = lvl_total(C_JOIN_ERRORS) + lvl_total(C_JOIN_TIMEOUTS) + lvl_total(C_JOIN_CLOSED) +
                       lvl_total(C_UPGRADE_ERRORS) + lvl_total(C_CONNECT_ERRORS) + lvl_total(C_HTTP_ERRORS) +
                       lvl_total(C_PAGE_ERRORS);
    fprintf(f, ",\"not_joined\":%" PRIu64, refused);
    for (int i = 0; i < C_COUNTERS; i++)
        fprintf(f, ",\"%s\":%" PRIu64, lvl_counter_names[i], lvl_total(i));
    if (O.scenario == SC_IDLE) {
        int n = O.sessions;
        lvl_json_num(f, "rss_baseline_kb", (double)rss0, 0);
        lvl_json_num(f, "rss_after_get_kb", (double)rss_get, 0);
        lvl_json_num(f, "rss_joined_kb", (double)rss1, 0);
        if (rss0 > 0 && rss1 > 0 && rss_get > 0) {
            fprintf(f, ",\"bytes_per_session\":%.0f,\"bytes_per_get\":%.0f,\"bytes_per_join\":%.0f",
                    (double)(rss1 - rss0) * 1024.0 / n, (double)(rss_get - rss0) * 1024.0 / n,
                    (double)(rss1 - rss_get) * 1024.0 / n);
        } else
            fprintf(f, ",\"bytes_per_session\":null");
        lvl_json_num(f, "tick_pushes_per_s", tick_rate, 0);
        if (joined + (uint64_t)O.warmup < (uint64_t)n)
            fprintf(
                f, ",\"warning\":\"only %" PRIu64 " of %d sessions joined: bytes_per_session divides by %d\"",
                joined > (uint64_t)O.warmup ? joined - (uint64_t)O.warmup : 0, n, n);
    } else if (O.scenario == SC_CLICKS || O.scenario == SC_FAIR) {
        lvl_json_num(f, "load_s", load_s, 3);
        fprintf(f, ",\"events\":%" PRIu64, lat.n);
        lvl_json_num(f, "events_per_s", load_s > 0 ? (double)lat.n / load_s : -1, 0);
        lvl_json_hist(f, "", &lat);
        if (O.scenario == SC_FAIR) {
            lvl_slot *s0 = &SH->slots[0];
            double sub = s0->calc_submit_ns ? (double)(s0->calc_submit_ns - SH->t_start_ns) / 1e6 : -1;
            lvl_json_num(f, "calc_submit_at_ms", sub, 1);
            lvl_json_num(f, "calc_reply_ms",
                         s0->calc_reply_ns ? (double)(s0->calc_reply_ns - s0->calc_submit_ns) / 1e6 : -1, 1);
            lvl_json_num(f, "calc_done_ms",
                         s0->calc_done_ns ? (double)(s0->calc_done_ns - s0->calc_submit_ns) / 1e6 : -1, 1);
            fprintf(f, ",\"calc_reply_ok\":%s,\"calc_result\":\"", s0->calc_reply_ok ? "true" : "false");
            for (const char *p = s0->calc_result; *p; p++)
                if (*p == '"' || *p == '\\')
                    fprintf(f, "\\%c", *p);
                else if ((unsigned char)*p >= 0x20)
                    fputc(*p, f);
            fputc('"', f);
            lvl_json_hist(f, "stall_", &stall);
            lvl_json_hist(f, "before_", &before);
            lvl_json_num(f, "stall_steal_pct",
                         lvl_calc_win_seen == 2 ? lvl_cpu_between(&lvl_calc_win[0], &lvl_calc_win[1]).steal_pct : -1, 1);
        }
    } else {
        fprintf(f, ",\"expected_ticks\":%.0f", (double)joined * O.seconds);
        lvl_json_num(f, "ticks_per_s", (double)lvl_total(C_WINDOW_TICKS) / O.seconds, 0);
        lvl_json_hist(f, "lag_", &lag);
        int64_t early = 0;
        for (int s = 0; s < lvl_p.nslots; s++)
            if (SH->slots[s].min_tick_lag_ns < early)
                early = SH->slots[s].min_tick_lag_ns;
        fprintf(f, ",\"earliest_tick_ms\":%.3f", (double)early / 1e6);
    }
    lvl_json_num(f, "rss_before_load_kb", (double)rss_before_load, 0);
    lvl_json_num(f, "rss_end_kb", (double)rss_end, 0);
    lvl_json_num(f, "server_cpu_cores", cpu.server, 2);
    lvl_json_num(f, "server_busiest_thread_cores", cpu.busiest_thread, 2);
    lvl_json_num(f, "client_cpu_cores", cpu.client, 2);
    lvl_json_num(f, "client_sys_cores", cpu.client_sys, 2);
    fprintf(f, ",\"server_threads\":[");
    for (int i = 0; i < cpu.nthreads; i++)
        fprintf(f, "%s[\"%s\",%.2f]", i ? "," : "", cpu.thread_name[i], cpu.thread_cores[i]);
    fputc(']', f);
    fprintf(f, ",\"cpu_busy_pct\":[");
    for (int i = 0; i < cpu.ncpus; i++)
        fprintf(f, "%s%.1f", i ? "," : "", cpu.cpu_busy_pct[i]);
    fputc(']', f);
    lvl_json_num(f, "box_idle_pct", cpu.box_idle_pct, 1);
    lvl_json_num(f, "softirq_cores", cpu.softirq, 2);
    lvl_json_num(f, "steal_pct", cpu.steal_pct, 1);
    lvl_json_num(f, "other_cpu_cores", cpu.other, 2);
    {
        double la[3] = {-1, -1, -1};
        if (getloadavg(la, 3) < 1)
            la[0] = -1;
        lvl_json_num(f, "loadavg1", la[0], 2);
    }
    fprintf(f, ",\"first_error\":\"%s\"}\n", first_error);
    fflush(f);

    lvl_send(PH_EXIT);
    int64_t deadline = lvl_now() + 10000000000LL;
    for (int i = 0; i < lvl_nworkers; i++) {
        int st;
        while (lvl_workers[i] > 0 && waitpid(lvl_workers[i], &st, WNOHANG) == 0) {
            if (lvl_now() > deadline) {
                kill(lvl_workers[i], SIGKILL);
                waitpid(lvl_workers[i], &st, 0);
                break;
            }
            lvl_sleep_ms(5);
        }
    }
    return lvl_failed_step ? 1 : 0;
}

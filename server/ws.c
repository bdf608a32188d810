/* WebSocket connections after the handshake, on their bare descriptors: each thread's connections
 * sit in one epoll set of their own (lv_ws_loop), which h2o's loop watches as one descriptor, so
 * an idle session costs this file's ws_conn and nothing of h2o's (its socket object is 224 bytes).
 * Input is read into the thread's one buffer and parsed there (server/ws_frame.c); only a partial
 * frame is kept, per connection, until its rest comes. Frames are written straight to the socket,
 * header and payload in one writev; only what the kernel does not take is queued, bounded. Each
 * connection feeds an lv_socket and implements its send/close. It also ends connections: idle
 * ones (--idle-timeout, one h2o timeout list per thread, O(1) per read), ones that do not read
 * (the bounded queue), and closes with a close frame the client gets to read. */
#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "server/server.h"

#include "server/ws_frame.h"

#define MAX_OUT_QUEUE ((size_t)4 << 20) /* a client that reads nothing is cut off past this */
#define LV_WS_READ_CHUNK (64 * 1024)
#define EVENTS_PER_WAIT 256 /* more stay ready: h2o's loop calls on_events again */
#define READS_PER_EVENT 4   /* a flooding client yields to the others after this many chunks */

/* What the kernel did not take yet: allocated when a write falls short, freed once all is sent. */
struct ws_out {
    lv_buf queued;
    size_t sent; /* bytes of `queued` already written */
};

typedef struct ws_conn {
    lv_ws_loop *wl;
    lv_socket *lsock;
    union {
        struct ws_out *out;    /* NULL while everything was written: idle connections */
        struct ws_conn *next_ended; /* after teardown, in wl->ended */
    };
    char *partial;        /* the start of a frame whose rest has not come; NULL when none */
    uint32_t partial_len;
    int fd;
    lv_ws_parser parser;
    bool closing;      /* a close frame is queued: input is drained until the client's close frame */
    bool peer_closed;  /* the client's close frame came: close the socket once ours is written */
    bool parse_failed; /* after a bad frame, input is dropped unparsed */
    bool broken;       /* a write failed: nothing more is sent; the next read ends the connection */
    bool want_out;     /* EPOLLOUT is in the interest set */
    bool dead;
    h2o_timeout_entry_t timer; /* idle timeout while open, close linger while closing */
} ws_conn;

/* One per connection, held for its whole life: see tests/bench/RESULTS.md. */
_Static_assert(sizeof(ws_conn) <= 120, "ws_conn grew: an idle session costs more");

static void conn_close(ws_conn *c, uint16_t code, const char *reason);
static void conn_teardown(ws_conn *c);

/* The client's address for log lines: the lv_socket keeps the one copy. */
static const char *peer(const ws_conn *c)
{
    return c->lsock ? lv_socket_peer(c->lsock) : "?";
}

static void on_timer(h2o_timeout_entry_t *entry)
{
    ws_conn *c = H2O_STRUCT_FROM_MEMBER(ws_conn, timer, entry);
    if (c->closing) { /* the client neither read our close frame nor answered it in time */
        conn_teardown(c);
        return;
    }
    fprintf(stderr, "[salamander] %s: nothing received for %u s: closed (idle timeout)\n", peer(c),
            c->wl->srv->cfg.idle_timeout_s);
    conn_close(c, 1001, "idle timeout"); /* 1001: a live client reconnects */
}

/* (Re)arms the timer on `list`: relinking moves the entry to the list's tail, so one list per
 * thread with one duration keeps every connection's deadline without an OS timer each. */
static void timer_restart(ws_conn *c, h2o_timeout_t *list)
{
    if (h2o_timeout_is_linked(&c->timer))
        h2o_timeout_unlink(&c->timer);
    if (list != NULL && !c->dead)
        h2o_timeout_link(c->wl->loop, list, &c->timer);
}

static void out_free(ws_conn *c)
{
    if (c->out == NULL)
        return;
    lv_buf_free(&c->out->queued);
    free(c->out);
    c->out = NULL;
}

/* Nothing more can be sent: the connection ends at its next read, which the shutdown makes
 * immediate, so the caller (perhaps a view sending through the lv_socket) is not freed under its
 * feet. */
static void mark_broken(ws_conn *c)
{
    c->broken = true;
    out_free(c);
    shutdown(c->fd, SHUT_RDWR);
}

static void watch_output(ws_conn *c, bool on)
{
    if (c->want_out == on || c->fd < 0)
        return;
    struct epoll_event ev = {.events = EPOLLIN | (on ? EPOLLOUT : 0), .data.ptr = c};
    if (epoll_ctl(c->wl->epfd, EPOLL_CTL_MOD, c->fd, &ev) == 0) {
        c->want_out = on;
        return;
    }
    /* queued output would never be written, or a writable socket would wake the loop forever */
    fprintf(stderr, "[salamander] %s: cannot watch the socket for output (%s): disconnected\n", peer(c),
            strerror(errno));
    mark_broken(c);
}

static void conn_teardown(ws_conn *c)
{
    if (c->dead)
        return;
    c->dead = true;
    if (h2o_timeout_is_linked(&c->timer))
        h2o_timeout_unlink(&c->timer);
    if (c->fd >= 0) {
        /* out of the set before the free: close alone would not take it out while another
         * descriptor (a fork's, a dup) still referred to the socket */
        epoll_ctl(c->wl->epfd, EPOLL_CTL_DEL, c->fd, NULL);
        close(c->fd);
        c->fd = -1;
    }
    if (c->lsock) {
        lv_socket_gone(c->lsock);
        c->lsock = NULL;
    }
    lv_ws_parser_dispose(&c->parser);
    out_free(c);
    free(c->partial);
    c->partial = NULL;
    atomic_fetch_sub(&c->wl->srv->ws_open, 1);
    /* freed from the loop's next turn, not here: the caller, an event batch or a frame handler up
     * the stack may still hold c */
    lv_ws_loop *wl = c->wl;
    if (wl->ended == NULL)
        h2o_timeout_link(wl->loop, &wl->reap_timeout, &wl->reap);
    c->next_ended = wl->ended;
    wl->ended = c;
}

static void on_reap(h2o_timeout_entry_t *entry)
{
    lv_ws_loop *wl = H2O_STRUCT_FROM_MEMBER(lv_ws_loop, reap, entry);
    while (wl->ended != NULL) {
        ws_conn *c = wl->ended;
        wl->ended = c->next_ended;
        free(c);
    }
}

/* A write failed (the client reset or went away): see mark_broken. */
static void conn_broken(ws_conn *c)
{
    mark_broken(c);
    watch_output(c, false);
}

/* The queue is written out: a close frame among it may end the connection. */
static void conn_drained(ws_conn *c)
{
    out_free(c);
    watch_output(c, false);
    if (c->closing && c->peer_closed)
        conn_teardown(c);
}

static void conn_write_queued(ws_conn *c)
{
    struct ws_out *o = c->out;
    while (o->sent < o->queued.len) {
        ssize_t n = write(c->fd, o->queued.data + o->sent, o->queued.len - o->sent);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            watch_output(c, true);
            return;
        }
        if (n <= 0) {
            conn_broken(c);
            return;
        }
        o->sent += (size_t)n;
    }
    conn_drained(c);
}

/* Writes [hdr, data] now, or whatever part the kernel takes, and queues the rest. */
static void conn_write(ws_conn *c, const uint8_t *hdr, size_t hdr_len, const char *data, size_t len)
{
    size_t done = 0, total = hdr_len + len;
    if (c->out == NULL) { /* nothing queued: straight to the socket, no copy */
        struct iovec iov[2] = {{(void *)hdr, hdr_len}, {(void *)data, len}};
        ssize_t n;
        while ((n = writev(c->fd, iov, 2)) < 0 && errno == EINTR)
            ;
        if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK) {
            conn_broken(c);
            return;
        }
        done = n < 0 ? 0 : (size_t)n;
        if (done == total)
            return;
    }
    size_t backlog = (c->out ? c->out->queued.len - c->out->sent : 0) + total - done;
    if (backlog > MAX_OUT_QUEUE) {
        /* no close frame: it would queue behind what the client does not read */
        fprintf(stderr, "[salamander] %s: client is not reading (%zu bytes queued): disconnected\n", peer(c),
                backlog);
        conn_teardown(c);
        return;
    }
    if (c->out == NULL && (c->out = calloc(1, sizeof(*c->out))) == NULL)
        goto NoMemory;
    struct ws_out *o = c->out;
    if (o->sent > 0 && o->sent >= o->queued.len / 2) { /* a slow reader: reuse the sent half */
        memmove(o->queued.data, o->queued.data + o->sent, o->queued.len - o->sent);
        o->queued.len -= o->sent;
        o->sent = 0;
    }
    if (done < hdr_len)
        lv_buf_append(&o->queued, hdr + done, hdr_len - done);
    size_t from = done > hdr_len ? done - hdr_len : 0;
    lv_buf_append(&o->queued, data + from, len - from);
    if (!lv_buf_ok(&o->queued))
        goto NoMemory;
    watch_output(c, true);
    return;
NoMemory:
    fprintf(stderr, "[salamander] %s: out of memory queueing a frame: disconnected\n", peer(c));
    conn_teardown(c);
}

static void conn_queue(ws_conn *c, int opcode, const char *data, size_t len)
{
    if (c->dead || c->closing || c->broken)
        return;
    uint8_t hdr[10];
    size_t n = lv_ws_header(hdr, opcode, len);
    conn_write(c, hdr, n, data, len);
}

static void conn_close(ws_conn *c, uint16_t code, const char *reason)
{
    if (c->dead || c->closing)
        return;
    if (c->broken) {
        conn_teardown(c);
        return;
    }
    lv_buf payload = LV_BUF_INIT;
    lv_ws_close_payload(&payload, code, reason);
    conn_queue(c, LV_WS_CLOSE, payload.data, payload.len);
    lv_buf_free(&payload);
    if (c->dead)
        return;
    c->closing = true;
    timer_restart(c, &c->wl->linger);
    if (c->out == NULL && c->peer_closed) /* written, and the client has closed its side */
        conn_teardown(c);
}

static void transport_send(void *ctx, const char *frame, size_t len)
{
    conn_queue(ctx, LV_WS_TEXT, frame, len);
}

static void transport_close(void *ctx, uint16_t code, const char *reason)
{
    conn_close(ctx, code, reason);
}

static const lv_transport_ops ws_ops = {transport_send, transport_close};

/* Handles the complete messages at the start of in[0..len); returns how many bytes they took.
 * After our close frame, input is parsed and dropped until the client's close frame: closing a
 * socket with unread input sends a reset, which can make the client lose our close frame. */
static size_t conn_messages(ws_conn *c, char *in, size_t len)
{
    size_t off = 0;
    while (!c->dead && !c->parse_failed && off < len) {
        size_t consumed = 0;
        lv_ws_msg msg;
        int r = lv_ws_parse(&c->parser, in + off, len - off, &consumed, &msg);
        if (r < 0) {
            c->parse_failed = true;
            if (!c->closing) {
                fprintf(stderr, "[salamander] %s: bad WebSocket frame: %s\n", peer(c), c->parser.error);
                conn_close(c, c->parser.close_code, c->parser.error);
            }
            return len;
        }
        if (r == 0)
            return off + consumed;
        if (!c->closing) {
            switch (msg.opcode) {
            case LV_WS_TEXT: lv_socket_frame(c->lsock, msg.data, msg.len); break;
            case LV_WS_BINARY:
                fprintf(stderr, "[salamander] %s: binary frame ignored (uploads are not supported)\n", peer(c));
                break;
            case LV_WS_PING: conn_queue(c, LV_WS_PONG, msg.data, msg.len); break;
            case LV_WS_CLOSE:
                c->peer_closed = true;
                conn_close(c, 1000, "");
                break;
            default: break;
            }
        } else if (msg.opcode == LV_WS_CLOSE) {
            c->peer_closed = true;
            if (c->out == NULL)
                conn_teardown(c);
        }
        if (c->dead)
            return len;
        lv_ws_msg_done(&c->parser);
        off += consumed;
    }
    return c->parse_failed ? len : off;
}

/* New input: parsed where it lies (the thread's read buffer) unless a partial frame waits for it;
 * what is left of it, the start of a frame, is kept. */
static void conn_input(ws_conn *c, char *data, size_t len)
{
    if (!c->closing)
        timer_restart(c, c->wl->srv->cfg.idle_timeout_s ? &c->wl->idle : NULL);
    char *owned = NULL;
    if (c->partial != NULL) {
        if ((owned = realloc(c->partial, (size_t)c->partial_len + len)) == NULL)
            goto NoMemory;
        memcpy(owned + c->partial_len, data, len);
        len += c->partial_len;
        data = owned;
        c->partial = NULL;
        c->partial_len = 0;
    }
    size_t used = conn_messages(c, data, len);
    if (!c->dead && used < len) { /* the parser bounds a frame (--max-frame), so this is bounded */
        size_t rest = len - used;
        char *keep = owned ? owned : malloc(rest);
        if (keep == NULL)
            goto NoMemory;
        memmove(keep, data + used, rest);
        if (keep == owned) { /* give back what the messages just handled took */
            char *smaller = realloc(keep, rest);
            keep = smaller ? smaller : keep;
        }
        c->partial = keep;
        c->partial_len = (uint32_t)rest;
        return;
    }
    free(owned);
    return;
NoMemory:
    fprintf(stderr, "[salamander] %s: out of memory reading a frame: disconnected\n", peer(c));
    conn_teardown(c);
}

static void conn_read(ws_conn *c)
{
    char *buf = c->wl->rbuf;
    for (int i = 0; i < READS_PER_EVENT && !c->dead; i++) {
        ssize_t n = read(c->fd, buf, LV_WS_READ_CHUNK);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return;
        if (n <= 0 || c->broken) { /* the client went away, or we can no longer write to it */
            conn_teardown(c);
            return;
        }
        conn_input(c, buf, (size_t)n);
        if (n < LV_WS_READ_CHUNK)
            return;
    }
}

static void on_events(h2o_socket_t *watcher, const char *err)
{
    lv_ws_loop *wl = watcher->data;
    if (err != NULL)
        return;
    struct epoll_event ev[EVENTS_PER_WAIT];
    int n = epoll_wait(wl->epfd, ev, EVENTS_PER_WAIT, 0);
    for (int i = 0; i < n; i++) {
        ws_conn *c = ev[i].data.ptr;
        if (!c->dead && (ev[i].events & EPOLLOUT) && c->out != NULL && !c->broken)
            conn_write_queued(c);
        if (!c->dead && (ev[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR)))
            conn_read(c);
    }
}

int lv_ws_loop_init(lv_ws_loop *wl, lv_server *srv, h2o_loop_t *loop)
{
    memset(wl, 0, sizeof(*wl));
    wl->srv = srv;
    wl->loop = loop;
    h2o_timeout_init(loop, &wl->idle, (uint64_t)srv->cfg.idle_timeout_s * 1000);
    h2o_timeout_init(loop, &wl->linger, LV_WS_CLOSE_LINGER_MS);
    h2o_timeout_init(loop, &wl->reap_timeout, 0);
    wl->reap.cb = on_reap;
    wl->epfd = epoll_create1(EPOLL_CLOEXEC);
    wl->rbuf = malloc(LV_WS_READ_CHUNK);
    if (wl->epfd < 0 || wl->rbuf == NULL) {
        fprintf(stderr, "salamander: cannot set up the WebSocket loop: %s\n", strerror(errno));
        return -1;
    }
    wl->watcher = h2o_evloop_socket_create(loop, wl->epfd, H2O_SOCKET_FLAG_DONT_READ);
    wl->watcher->data = wl;
    h2o_socket_read_start(wl->watcher, on_events);
    return 0;
}

void lv_ws_conn_adopt(lv_ws_loop *wl, h2o_socket_t *sock, size_t reqsize)
{
    ws_conn *c = calloc(1, sizeof(*c));
    h2o_socket_export_t info;
    if (c == NULL || h2o_socket_export(sock, &info) != 0) {
        fprintf(stderr, "[salamander] cannot take over a WebSocket (out of memory): closed\n");
        free(c);
        h2o_socket_close(sock);
        atomic_fetch_sub(&wl->srv->ws_open, 1);
        return;
    }
    c->wl = wl;
    c->fd = info.fd;
    lv_ws_parser_init(&c->parser, wl->srv->cfg.max_frame);
    c->timer.cb = on_timer;
    /* getpeername(2) rather than h2o_socket_getpeername, which keeps a malloc'd copy per socket */
    struct sockaddr_storage ss;
    socklen_t len = sizeof(ss);
    char host[48] = "?", port[8] = "?", addr[64];
    if (getpeername(c->fd, (struct sockaddr *)&ss, &len) == 0)
        getnameinfo((struct sockaddr *)&ss, len, host, sizeof(host), port, sizeof(port),
                    NI_NUMERICHOST | NI_NUMERICSERV);
    snprintf(addr, sizeof(addr), "%s:%s", host, port);
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = c};
    if ((c->lsock = lv_socket_open(&wl->srv->endpoint, &ws_ops, c, addr)) == NULL ||
        epoll_ctl(wl->epfd, EPOLL_CTL_ADD, c->fd, &ev) != 0) {
        fprintf(stderr, "[salamander] %s: cannot take over a WebSocket (%s): closed\n", addr,
                c->lsock ? strerror(errno) : "out of memory");
        h2o_buffer_dispose(&info.input);
        conn_teardown(c);
        return;
    }
    if (wl->srv->cfg.idle_timeout_s)
        timer_restart(c, &wl->idle);
    /* bytes the client sent right behind its request (its first frames) */
    if (info.input->size > reqsize)
        conn_input(c, info.input->bytes + reqsize, info.input->size - reqsize);
    h2o_buffer_dispose(&info.input);
}

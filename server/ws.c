/* WebSocket transport over h2o's upgraded socket, framed by server/ws_frame.c: no buffer is held
 * while a connection is idle (h2o frees an empty input buffer; outgoing buffers are freed after
 * each write). Each connection feeds an lv_socket and implements its send/close. It also ends
 * connections: idle ones (--idle-timeout, one h2o timeout list per thread, O(1) per frame), ones
 * that do not read (a bounded out queue), and closes with a close frame the client gets to read. */
#include <netdb.h>
#include <sys/socket.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server/server.h"

#include <h2o/http1.h>
#include "server/ws_frame.h"

#define MAX_OUT_QUEUE ((size_t)4 << 20) /* a client that reads nothing is cut off past this */

/* Output of a connection that is writing: allocated by the first frame queued, freed once the
 * last write completed with nothing queued behind it. */
struct ws_out {
    lv_buf pending;  /* frames queued while a write is in flight */
    lv_buf inflight; /* the buffer h2o is writing */
};

typedef struct ws_conn {
    h2o_socket_t *sock;
    lv_server *srv;
    lv_socket *lsock;
    lv_ws_parser parser;
    struct ws_out *out; /* NULL while nothing is queued or being written: idle connections */
    bool writing;
    bool closing;      /* a close frame is queued: input is drained until the client's close frame */
    bool peer_closed;  /* the client's close frame came: close the socket once ours is written */
    bool parse_failed; /* after a bad frame, input is dropped unparsed */
    bool dead;
    bool in_read; /* inside on_read: teardown leaves the free to it */
    lv_ws_timeouts *timeouts;  /* this thread's */
    h2o_timeout_entry_t timer; /* idle timeout while open, close linger while closing */
} ws_conn;

/* One per connection, held for its whole life: see tests/bench/RESULTS.md. */
_Static_assert(sizeof(ws_conn) <= 120, "ws_conn grew: an idle session costs more");

static void conn_flush(ws_conn *c);
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
            c->srv->cfg.idle_timeout_s);
    conn_close(c, 1001, "idle timeout"); /* 1001: a live client reconnects */
}

/* (Re)arms the timer on `list`: relinking moves the entry to the list's tail, so one list per
 * thread with one duration keeps every connection's deadline without an OS timer each. */
static void timer_restart(ws_conn *c, h2o_timeout_t *list)
{
    if (h2o_timeout_is_linked(&c->timer))
        h2o_timeout_unlink(&c->timer);
    if (list != NULL && c->sock != NULL)
        h2o_timeout_link(h2o_socket_get_loop(c->sock), list, &c->timer);
}

static void out_free(ws_conn *c)
{
    if (c->out == NULL)
        return;
    lv_buf_free(&c->out->pending);
    lv_buf_free(&c->out->inflight);
    free(c->out);
    c->out = NULL;
}

static void conn_teardown(ws_conn *c)
{
    if (c->dead)
        return;
    c->dead = true;
    if (h2o_timeout_is_linked(&c->timer))
        h2o_timeout_unlink(&c->timer);
    if (c->sock) {
        h2o_socket_close(c->sock);
        c->sock = NULL;
    }
    if (c->lsock) {
        lv_socket_gone(c->lsock);
        c->lsock = NULL;
    }
    lv_ws_parser_dispose(&c->parser);
    out_free(c);
    atomic_fetch_sub(&c->srv->ws_open, 1);
    if (!c->in_read)
        free(c);
}

static void on_write_done(h2o_socket_t *sock, const char *err)
{
    ws_conn *c = sock->data;
    c->writing = false;
    if (err != NULL) {
        conn_teardown(c);
        return;
    }
    if (c->out->pending.len) {
        conn_flush(c);
        return;
    }
    out_free(c); /* idle connections hold no buffers */
    if (c->closing && c->peer_closed)
        conn_teardown(c);
}

static void conn_flush(ws_conn *c)
{
    if (c->writing || c->out == NULL || c->out->pending.len == 0 || c->sock == NULL)
        return;
    struct ws_out *o = c->out;
    lv_buf tmp = o->inflight;
    o->inflight = o->pending;
    o->pending = tmp;
    lv_buf_reset(&o->pending);
    c->writing = true;
    h2o_iovec_t buf = h2o_iovec_init(o->inflight.data, o->inflight.len);
    h2o_socket_write(c->sock, &buf, 1, on_write_done);
}

static void conn_queue(ws_conn *c, int opcode, const char *data, size_t len)
{
    if (c->dead || c->closing)
        return;
    if (c->out == NULL && (c->out = calloc(1, sizeof(*c->out))) == NULL) {
        fprintf(stderr, "[salamander] %s: out of memory queueing a frame: disconnected\n", peer(c));
        conn_teardown(c);
        return;
    }
    if (c->out->pending.len + len > MAX_OUT_QUEUE) {
        /* no close frame: it would queue behind what the client does not read */
        fprintf(stderr, "[salamander] %s: client is not reading (%zu bytes queued): disconnected\n", peer(c),
                c->out->pending.len + c->out->inflight.len);
        conn_teardown(c);
        return;
    }
    uint8_t hdr[10];
    size_t n = lv_ws_header(hdr, opcode, len);
    lv_buf_append(&c->out->pending, hdr, n);
    lv_buf_append(&c->out->pending, data, len);
    conn_flush(c);
}

static void conn_close(ws_conn *c, uint16_t code, const char *reason)
{
    if (c->dead || c->closing)
        return;
    lv_buf payload = LV_BUF_INIT;
    lv_ws_close_payload(&payload, code, reason);
    conn_queue(c, LV_WS_CLOSE, payload.data, payload.len);
    lv_buf_free(&payload);
    c->closing = true;
    timer_restart(c, &c->timeouts->linger);
    if (!c->writing)
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

/* After our close frame, input is read and dropped until the client's close frame: closing a
 * socket with unread input sends a reset, which can make the client lose our close frame. */
static void drain(ws_conn *c, h2o_socket_t *sock)
{
    while (!c->dead && !c->parse_failed && sock->input->size) {
        size_t consumed = 0;
        lv_ws_msg msg;
        int r = lv_ws_parse(&c->parser, sock->input->bytes, sock->input->size, &consumed, &msg);
        if (r < 0) {
            c->parse_failed = true;
            break;
        }
        h2o_buffer_consume(&sock->input, consumed);
        if (r == 0)
            break;
        bool close = msg.opcode == LV_WS_CLOSE;
        lv_ws_msg_done(&c->parser);
        if (close) {
            c->peer_closed = true;
            if (!c->writing)
                conn_teardown(c);
        }
    }
    if (!c->dead && c->parse_failed)
        h2o_buffer_consume(&sock->input, sock->input->size);
}

static void on_read(h2o_socket_t *sock, const char *err)
{
    ws_conn *c = sock->data;
    if (err != NULL) {
        conn_teardown(c);
        return;
    }
    c->in_read = true;
    if (!c->closing)
        timer_restart(c, c->srv->cfg.idle_timeout_s ? &c->timeouts->idle : NULL);
    while (!c->dead && !c->closing && c->sock && sock->input->size) {
        size_t consumed = 0;
        lv_ws_msg msg;
        int r = lv_ws_parse(&c->parser, sock->input->bytes, sock->input->size, &consumed, &msg);
        if (r < 0) {
            fprintf(stderr, "[salamander] %s: bad WebSocket frame: %s\n", peer(c), c->parser.error);
            h2o_buffer_consume(&sock->input, sock->input->size);
            c->parse_failed = true;
            conn_close(c, c->parser.close_code, c->parser.error);
            break;
        }
        if (r == 0) {
            h2o_buffer_consume(&sock->input, consumed);
            break;
        }
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
        if (c->dead)
            break;
        lv_ws_msg_done(&c->parser);
        if (c->sock)
            h2o_buffer_consume(&sock->input, consumed);
    }
    if (!c->dead && c->closing && c->sock) /* e.g. the rest of a flood after the 1008 close */
        drain(c, sock);
    c->in_read = false;
    if (c->dead)
        free(c);
}

static void on_upgrade_complete(void *data, h2o_socket_t *sock, size_t reqsize)
{
    ws_conn *c = data;
    if (sock == NULL) {
        atomic_fetch_sub(&c->srv->ws_open, 1);
        free(c);
        return;
    }
    c->sock = sock;
    sock->data = c;
    h2o_buffer_consume(&sock->input, reqsize);
    /* getpeername(2) rather than h2o_socket_getpeername, which keeps a malloc'd copy per socket */
    struct sockaddr_storage ss;
    socklen_t len = sizeof(ss);
    char host[48] = "?", port[8] = "?", addr[64];
    if (getpeername(h2o_socket_get_fd(sock), (struct sockaddr *)&ss, &len) == 0)
        getnameinfo((struct sockaddr *)&ss, len, host, sizeof(host), port, sizeof(port),
                    NI_NUMERICHOST | NI_NUMERICSERV);
    snprintf(addr, sizeof(addr), "%s:%s", host, port);
    c->lsock = lv_socket_open(&c->srv->endpoint, &ws_ops, c, addr);
    if (c->lsock == NULL) {
        conn_teardown(c);
        return;
    }
    c->timer.cb = on_timer;
    if (c->srv->cfg.idle_timeout_s)
        timer_restart(c, &c->timeouts->idle);
    h2o_socket_read_start(sock, on_read);
    if (sock->input->size)
        on_read(sock, NULL);
}

static h2o_iovec_t header_value_by_name(h2o_req_t *req, const char *name)
{
    ssize_t i = h2o_find_header_by_str(&req->headers, name, strlen(name), -1);
    return i < 0 ? h2o_iovec_init(NULL, 0) : req->headers.entries[i].value;
}

static int bad_request(h2o_req_t *req, int status, const char *reason, const char *msg)
{
    req->res.status = status;
    req->res.reason = reason;
    h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CONTENT_TYPE, NULL,
                   H2O_STRLIT("text/plain; charset=utf-8"));
    h2o_send_inline(req, msg, strlen(msg));
    return 0;
}

/* Same origin (scheme://Host of this request), or listed with --allow-origin. Clients that send
 * no Origin (load generators, native apps) are not browsers and cannot be tricked by a page. */
bool lv_server_origin_allowed(lv_server *srv, h2o_req_t *req, h2o_iovec_t origin)
{
    const char *sep = memchr(origin.base, ':', origin.len);
    if (sep && origin.base + origin.len - sep > 3 && memcmp(sep, "://", 3) == 0) {
        const char *host = sep + 3;
        size_t host_len = (size_t)(origin.base + origin.len - host);
        if (host_len == req->authority.len && memcmp(host, req->authority.base, host_len) == 0)
            return true;
    }
    for (const char *p = srv->cfg.allow_origins; *p;) {
        size_t n = strcspn(p, ",");
        if (n == origin.len && memcmp(p, origin.base, n) == 0)
            return true;
        p += n + (p[n] == ',');
    }
    return false;
}

int lv_server_ws_upgrade(lv_server *srv, h2o_req_t *req)
{
    h2o_iovec_t upgrade = req->upgrade; /* h2o moves the Upgrade header here */
    h2o_iovec_t key = header_value_by_name(req, "sec-websocket-key");
    if (req->version >= 0x200 || upgrade.base == NULL ||
        !h2o_lcstris(upgrade.base, upgrade.len, H2O_STRLIT("websocket")))
        return bad_request(req, 400, "Bad Request", "expected a WebSocket upgrade\n");
    if (key.base == NULL || key.len != 24)
        return bad_request(req, 400, "Bad Request", "missing or malformed Sec-WebSocket-Key\n");
    h2o_iovec_t origin = header_value_by_name(req, "origin");
    if (origin.base != NULL && !lv_server_origin_allowed(srv, req, origin)) {
        fprintf(stderr, "[salamander] WebSocket upgrade from foreign origin %.*s refused\n", (int)origin.len,
                origin.base);
        return bad_request(req, 403, "Forbidden", "origin not allowed\n");
    }
    if (srv->max_sessions && atomic_load(&srv->ws_open) >= srv->max_sessions) {
        fprintf(stderr, "[salamander] session capacity (%zu) reached: upgrade refused\n", srv->max_sessions);
        return bad_request(req, 503, "Service Unavailable", "session capacity reached\n");
    }
    char *accept = h2o_mem_alloc_pool(&req->pool, 29);
    if (lv_ws_accept_key(key.base, key.len, accept) != 0)
        return bad_request(req, 400, "Bad Request", "malformed Sec-WebSocket-Key\n");
    ws_conn *c = calloc(1, sizeof(*c));
    if (c == NULL)
        return bad_request(req, 503, "Service Unavailable", "out of memory\n");
    c->srv = srv;
    c->timeouts = lv_server_ws_timeouts(req->conn->ctx);
    lv_ws_parser_init(&c->parser, srv->cfg.max_frame);
    atomic_fetch_add(&srv->ws_open, 1);
    req->res.status = 101;
    req->res.reason = "Switching Protocols";
    h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_UPGRADE, NULL, H2O_STRLIT("websocket"));
    h2o_add_header_by_str(&req->pool, &req->res.headers, H2O_STRLIT("sec-websocket-accept"), 0, NULL, accept,
                          strlen(accept));
    h2o_http1_upgrade(req, NULL, 0, on_upgrade_complete, c);
    return 0;
}

/* The WebSocket handshake (RFC 6455 section 4.2): checks an upgrade request (key, origin, session
 * capacity), answers 101 and hands the socket to this thread's WebSocket loop (server/ws.c). */
#include <stdio.h>
#include <string.h>

#include "server/server.h"

#include <h2o/http1.h>
#include "server/ws_frame.h"

static void on_upgrade_complete(void *data, h2o_socket_t *sock, size_t reqsize)
{
    lv_ws_loop *wl = data;
    if (sock == NULL) { /* the 101 could not be written */
        atomic_fetch_sub(&wl->srv->ws_open, 1);
        return;
    }
    lv_ws_conn_adopt(wl, sock, reqsize);
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
    atomic_fetch_add(&srv->ws_open, 1);
    req->res.status = 101;
    req->res.reason = "Switching Protocols";
    h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_UPGRADE, NULL, H2O_STRLIT("websocket"));
    h2o_add_header_by_str(&req->pool, &req->res.headers, H2O_STRLIT("sec-websocket-accept"), 0, NULL, accept,
                          strlen(accept));
    h2o_http1_upgrade(req, NULL, 0, on_upgrade_complete, lv_server_ws_loop(req->conn->ctx));
    return 0;
}

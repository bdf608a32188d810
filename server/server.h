/* The server: h2o set-up shared by every scheduler thread, the HTTP routes (pages, client
 * bundle, WebSocket upgrade) and the state they share. */
#ifndef LV_SERVER_H
#define LV_SERVER_H

#include <stdatomic.h>

#include <h2o.h>

#include "liveview/socket.h"
#include "server/admin.h"
#include "server/config.h"

typedef struct lv_server {
    lv_config cfg;
    lv_rt *rt;
    lv_endpoint endpoint;
    h2o_globalconf_t globalconf;
    h2o_hostconf_t *hostconf;
    struct lv_server_thread *threads; /* one per scheduler */
    /* client bundle */
    char script_url[128];
    char *script;
    size_t script_len;
    size_t max_sessions; /* from the open-file limit */
    _Atomic size_t ws_open;
    lv_admin admin;
    double (*admin_successes_per_s)(void *ctx); /* the load demo's figure for `lvctl stats` */
    void *admin_ctx;
} lv_server;

/* How long a sent close frame waits for the client's before the socket is closed anyway. */
#define LV_WS_CLOSE_LINGER_MS 2000
/* Per scheduler thread (per h2o loop): its open WebSockets. After the handshake a connection's
 * descriptor leaves h2o (whose socket object would cost 224 bytes per idle session) for this
 * loop's own epoll set, which sits in h2o's loop as one descriptor: one epoll_wait serves every
 * WebSocket of the thread, read into one shared buffer (server/ws.c). */
typedef struct lv_ws_loop {
    lv_server *srv;
    h2o_loop_t *loop;
    int epfd;
    h2o_socket_t *watcher; /* epfd, as h2o sees it */
    char *rbuf;            /* LV_WS_READ_CHUNK bytes, shared by the thread's connections */
    struct ws_conn *ended; /* torn down, freed on the loop's next turn (reap) */
    h2o_timeout_t reap_timeout;
    h2o_timeout_entry_t reap;
    h2o_timeout_t idle;    /* --idle-timeout (unused when it is 0) */
    h2o_timeout_t linger;  /* a sent close frame waiting for the client's */
} lv_ws_loop;
/* Sets up wl on `loop` (the calling scheduler thread's); 0 or -1 with a message on stderr. */
int lv_ws_loop_init(lv_ws_loop *wl, lv_server *srv, h2o_loop_t *loop);
/* The WebSocket loop of the thread that owns h2o context ctx. */
lv_ws_loop *lv_server_ws_loop(h2o_context_t *ctx);
/* Takes over a socket whose 101 response was written (reqsize: the request's bytes still at the
 * head of its input). Called by the upgrade handler (server/ws_upgrade.c). */
void lv_ws_conn_adopt(lv_ws_loop *wl, h2o_socket_t *sock, size_t reqsize);

int lv_server_init(lv_server *srv, const lv_config *cfg, const lv_route *routes, size_t nroutes);
/* Starts the schedulers (each serving HTTP) and blocks until SIGINT/SIGTERM. */
int lv_server_run(lv_server *srv);
void lv_server_dispose(lv_server *srv);
int lv_server_ws_upgrade(lv_server *srv, h2o_req_t *req);
int lv_server_load_secret(lv_server *srv);
bool lv_server_origin_allowed(lv_server *srv, h2o_req_t *req, h2o_iovec_t origin);

#endif

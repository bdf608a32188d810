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
/* Per scheduler thread: the h2o timeout lists WebSocket connections hang their one timer on. */
typedef struct lv_ws_timeouts {
    h2o_timeout_t idle;   /* --idle-timeout (unused when it is 0) */
    h2o_timeout_t linger; /* a sent close frame waiting for the client's */
} lv_ws_timeouts;
/* The lists of the thread that owns h2o context ctx. */
lv_ws_timeouts *lv_server_ws_timeouts(h2o_context_t *ctx);

int lv_server_init(lv_server *srv, const lv_config *cfg, const lv_route *routes, size_t nroutes);
/* Starts the schedulers (each serving HTTP) and blocks until SIGINT/SIGTERM. */
int lv_server_run(lv_server *srv);
void lv_server_dispose(lv_server *srv);
int lv_server_ws_upgrade(lv_server *srv, h2o_req_t *req);
int lv_server_load_secret(lv_server *srv);
bool lv_server_origin_allowed(lv_server *srv, h2o_req_t *req, h2o_iovec_t origin);

#endif

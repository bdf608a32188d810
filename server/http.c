/* HTTP side of the server: h2o configuration, one listener and h2o context per scheduler thread
 * (SO_REUSEPORT, so a connection is read, handled and answered on one thread), and the routes:
 * /live/websocket, /assets/<bundle>, view pages, and an HTML 404 for everything else. */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include "liveview/flash.h"
#include "liveview/rt_internal.h"
#include "server/server.h"

typedef struct lv_server_thread {
    lv_server *srv;
    h2o_context_t ctx;
    h2o_accept_ctx_t accept_ctx;
    h2o_socket_t *listener;
    int fd;
    lv_ws_loop ws;
} lv_server_thread;

typedef struct {
    h2o_handler_t super;
    lv_server *srv;
} server_handler;

static const char NOT_FOUND_PAGE[] =
    "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">"
    "<title>Not found · Salamander</title></head><body><h1>404 Not Found</h1>"
    "<p>No page here. Try the <a href=\"/\">calculator</a> or the "
    "<a href=\"/thermostat\">thermostat</a>.</p></body></html>\n";

static void add_security_headers(h2o_req_t *req)
{
    h2o_add_header_by_str(&req->pool, &req->res.headers, H2O_STRLIT("x-content-type-options"), 0, NULL,
                          H2O_STRLIT("nosniff"));
    h2o_add_header_by_str(&req->pool, &req->res.headers, H2O_STRLIT("content-security-policy"), 0, NULL,
                          H2O_STRLIT("default-src 'self'; style-src 'self' 'unsafe-inline'; "
                                     "connect-src 'self'; frame-ancestors 'none'"));
}

static int send_html(h2o_req_t *req, int status, const char *reason, const char *body, size_t len)
{
    req->res.status = status;
    req->res.reason = reason;
    h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CONTENT_TYPE, NULL,
                   H2O_STRLIT("text/html; charset=utf-8"));
    h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CACHE_CONTROL, NULL, H2O_STRLIT("no-store"));
    add_security_headers(req);
    h2o_send_inline(req, body, len);
    return 0;
}

/* ---- pages: rendered by a view process, answered when it is done ---- */

typedef struct {
    h2o_generator_t gen;
    h2o_req_t *req;
    lv_page_job *job;
    char *body;
} page_req;

static void page_stop(h2o_generator_t *gen, h2o_req_t *req)
{
    (void)req;
    page_req *pr = (page_req *)gen;
    if (pr->job) { /* the client went away before the view rendered */
        lv_page_cancel(pr->job);
        pr->job = NULL;
    }
}

static void page_proceed(h2o_generator_t *gen, h2o_req_t *req)
{
    (void)gen;
    (void)req;
}

static void page_done(void *ctx, int status, const char *html, size_t len)
{
    page_req *pr = ctx;
    lv_page_job *job = pr->job;
    pr->job = NULL;
    h2o_req_t *req = pr->req;
    req->res.status = status;
    req->res.reason = status == 200 ? "OK" : "Internal Server Error";
    /* the body must outlive this call: h2o writes it asynchronously */
    pr->body = h2o_mem_alloc_pool(&req->pool, len);
    memcpy(pr->body, html, len);
    h2o_iovec_t buf = h2o_iovec_init(pr->body, len);
    lv_page_cancel(job); /* drops our handle; done is never called twice */
    h2o_send(req, &buf, 1, H2O_SEND_STATE_FINAL);
}

/* The __phoenix_flash__ cookie a client sets before following a redirect (NUL-terminated in the
 * request's pool), or NULL. A value longer than any token we sign is not one of ours. */
static char *flash_cookie(h2o_req_t *req)
{
    for (ssize_t i = -1; (i = h2o_find_header(&req->headers, H2O_TOKEN_COOKIE, i)) >= 0;) {
        h2o_iovec_t h = req->headers.entries[i].value;
        size_t n;
        const char *v = lv__flash_cookie(h.base, h.len, &n);
        if (v != NULL && n > 0 && n <= 8192) {
            char *copy = h2o_mem_alloc_pool(&req->pool, n + 1);
            memcpy(copy, v, n);
            copy[n] = '\0';
            return copy;
        }
    }
    return NULL;
}

static int serve_page(lv_server *srv, h2o_req_t *req, const lv_route *route)
{
    page_req *pr = h2o_mem_alloc_pool(&req->pool, sizeof(*pr));
    memset(pr, 0, sizeof(*pr));
    pr->gen.proceed = page_proceed;
    pr->gen.stop = page_stop;
    pr->req = req;
    char url[256];
    snprintf(url, sizeof(url), "http://%.*s%.*s", (int)req->authority.len, req->authority.base,
             (int)req->path.len, req->path.base);
    char *flash = flash_cookie(req);
    int err = lv_page_render(&srv->endpoint, route, url, NULL, flash, page_done, pr, &pr->job);
    if (err) {
        fprintf(stderr, "[salamander] cannot render %s: %s\n", route->path, lv_strerror(err));
        static const char busy[] = "<!DOCTYPE html><title>Busy</title><h1>503 Service Unavailable</h1>\n";
        return send_html(req, 503, "Service Unavailable", busy, sizeof(busy) - 1);
    }
    req->res.status = 200;
    req->res.reason = "OK";
    h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CONTENT_TYPE, NULL,
                   H2O_STRLIT("text/html; charset=utf-8"));
    h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CACHE_CONTROL, NULL, H2O_STRLIT("no-store"));
    add_security_headers(req);
    if (flash != NULL) /* shown once: this page carries it on in its static token */
        h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_SET_COOKIE, NULL,
                       H2O_STRLIT(LV__FLASH_COOKIE "=; max-age=0; path=/; SameSite=Lax"));
    h2o_start_response(req, &pr->gen);
    return 0;
}

static int on_req(h2o_handler_t *self, h2o_req_t *req)
{
    lv_server *srv = ((server_handler *)self)->srv;
    h2o_iovec_t path = req->path_normalized;
    if (h2o_memis(path.base, path.len, H2O_STRLIT("/live/websocket")))
        return lv_server_ws_upgrade(srv, req);
    bool get = h2o_memis(req->method.base, req->method.len, H2O_STRLIT("GET")) ||
               h2o_memis(req->method.base, req->method.len, H2O_STRLIT("HEAD"));
    if (get && srv->script && h2o_memis(path.base, path.len, srv->script_url, strlen(srv->script_url))) {
        req->res.status = 200;
        req->res.reason = "OK";
        h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CONTENT_TYPE, NULL,
                       H2O_STRLIT("text/javascript; charset=utf-8"));
        /* the URL carries the content hash, so the bundle can be cached for good */
        h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CACHE_CONTROL, NULL,
                       H2O_STRLIT("public, max-age=31536000, immutable"));
        h2o_add_header_by_str(&req->pool, &req->res.headers, H2O_STRLIT("x-content-type-options"), 0, NULL,
                              H2O_STRLIT("nosniff"));
        h2o_send_inline(req, srv->script, srv->script_len);
        return 0;
    }
    const lv_route *route = get ? lv_endpoint_route(&srv->endpoint, path.base, path.len) : NULL;
    if (route != NULL)
        return serve_page(srv, req, route);
    return send_html(req, 404, "Not Found", NOT_FOUND_PAGE, sizeof(NOT_FOUND_PAGE) - 1);
}

/* ---- client bundle ---- */

static int load_bundle(lv_server *srv)
{
    char path[700];
    snprintf(path, sizeof(path), "%s/manifest.json", srv->cfg.assets_dir);
    json_error_t jerr;
    json_t *manifest = json_load_file(path, 0, &jerr);
    /* --official-client: phoenix_live_view's own client (js/build_official.mjs), for compatibility tests */
    const char *key = srv->cfg.official_client ? "official.js" : "salamander.js";
    const char *name = json_string_value(json_object_get(manifest, key));
    if (name == NULL || strchr(name, '/') != NULL) {
        fprintf(stderr, "salamander: cannot read the client bundle manifest %s: %s\n", path,
                manifest
                    ? (srv->cfg.official_client ? "no \"official.js\" entry" : "no \"salamander.js\" entry")
                    : jerr.text);
        json_decref(manifest);
        return -1;
    }
    snprintf(path, sizeof(path), "%s/%s", srv->cfg.assets_dir, name);
    snprintf(srv->script_url, sizeof(srv->script_url), "/assets/%s", name);
    json_decref(manifest);
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        fprintf(stderr, "salamander: cannot open the client bundle %s: %s\n", path, strerror(errno));
        return -1;
    }
    fseek(f, 0, SEEK_END);
    long size = ftell(f);
    fseek(f, 0, SEEK_SET);
    srv->script = malloc(size > 0 ? (size_t)size : 1);
    srv->script_len =
        size > 0 && srv->script && fread(srv->script, 1, (size_t)size, f) == (size_t)size ? (size_t)size : 0;
    fclose(f);
    if (srv->script_len == 0) {
        fprintf(stderr, "salamander: cannot read the client bundle %s\n", path);
        return -1;
    }
    return 0;
}

/* ---- listeners ---- */

static int open_listener(const lv_config *cfg)
{
    struct sockaddr_in addr;
    memset(&addr, 0, sizeof(addr));
    addr.sin_family = AF_INET;
    addr.sin_port = htons((uint16_t)cfg->listen_port);
    if (inet_pton(AF_INET, cfg->listen_host, &addr.sin_addr) != 1) {
        fprintf(stderr, "salamander: --listen host must be an IPv4 address, got '%s'\n", cfg->listen_host);
        return -1;
    }
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int on = 1;
    if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on)) != 0 ||
        setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &on, sizeof(on)) != 0 ||
        bind(fd, (struct sockaddr *)&addr, sizeof(addr)) != 0 || listen(fd, 4096) != 0) {
        fprintf(stderr, "salamander: cannot listen on %s:%d: %s\n", cfg->listen_host, cfg->listen_port,
                strerror(errno));
        if (fd >= 0)
            close(fd);
        return -1;
    }
    return fd;
}

static void on_accept(h2o_socket_t *listener, const char *err)
{
    lv_server_thread *t = listener->data;
    if (err != NULL)
        return;
    for (int i = 0; i < 64; i++) { /* accept a batch per wake-up */
        h2o_socket_t *sock = h2o_evloop_socket_accept(listener);
        if (sock == NULL)
            break;
        h2o_accept(&t->accept_ctx, sock);
    }
}

lv_ws_loop *lv_server_ws_loop(h2o_context_t *ctx)
{
    return &H2O_STRUCT_FROM_MEMBER(lv_server_thread, ctx, ctx)->ws;
}

/* Runs on each scheduler thread before its loop starts. */
static void thread_start(void *ctx, int index, void *loop)
{
    lv_server *srv = ctx;
    lv_server_thread *t = &srv->threads[index];
    t->srv = srv;
    h2o_context_init(&t->ctx, loop, &srv->globalconf);
    if (lv_ws_loop_init(&t->ws, srv, loop) != 0)
        exit(1); /* at start, before any connection: nothing to serve WebSockets with */
    t->accept_ctx.ctx = &t->ctx;
    t->accept_ctx.hosts = srv->globalconf.hosts;
    t->listener = h2o_evloop_socket_create(loop, t->fd, H2O_SOCKET_FLAG_DONT_READ);
    t->listener->data = t;
    h2o_socket_read_start(t->listener, on_accept);
}

int lv_server_init(lv_server *srv, const lv_config *cfg, const lv_route *routes, size_t nroutes)
{
    memset(srv, 0, sizeof(*srv));
    srv->cfg = *cfg;
    if (load_bundle(srv) != 0)
        return -1;
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
        if (rl.rlim_cur < rl.rlim_max) { /* use every descriptor we are allowed */
            rl.rlim_cur = rl.rlim_max;
            setrlimit(RLIMIT_NOFILE, &rl);
            getrlimit(RLIMIT_NOFILE, &rl);
        }
        srv->max_sessions = rl.rlim_cur > 100 ? (size_t)rl.rlim_cur - 100 : 1;
    }
    lv_rt_config rcfg;
    lv_rt_config_defaults(&rcfg);
    rcfg.schedulers = cfg->schedulers;
    rcfg.bind_schedulers = cfg->bind_schedulers != 0;
    rcfg.heap_limit = cfg->heap_limit;
    rcfg.max_message = cfg->max_frame + 4096;
    if (lv_rt_new(&rcfg, &srv->rt) != 0) {
        fprintf(stderr, "salamander: cannot create the runtime\n");
        return -1;
    }
    lv_endpoint_init(&srv->endpoint, srv->rt, routes, nroutes);
    srv->endpoint.script_url = srv->script_url;
    srv->endpoint.token_max_age_s = (uint64_t)cfg->token_max_age_s;
    srv->endpoint.max_events_per_s = cfg->max_events_per_s;
    if (lv_server_load_secret(srv) != 0)
        return -1;
    srv->threads = calloc((size_t)cfg->schedulers, sizeof(lv_server_thread));
    if (srv->threads == NULL)
        return -1;
    for (int i = 0; i < cfg->schedulers; i++) {
        srv->threads[i].fd = open_listener(cfg);
        if (srv->threads[i].fd < 0)
            return -1;
    }
    h2o_config_init(&srv->globalconf);
    srv->globalconf.server_name = h2o_iovec_init(H2O_STRLIT("salamander"));
    srv->hostconf = h2o_config_register_host(&srv->globalconf, h2o_iovec_init(H2O_STRLIT("default")), 65535);
    h2o_pathconf_t *pathconf = h2o_config_register_path(srv->hostconf, "/", 0);
    server_handler *h = (server_handler *)h2o_create_handler(pathconf, sizeof(server_handler));
    h->super.on_req = on_req;
    h->srv = srv;
    lv__rt_set_sched_start_hook(srv->rt, thread_start, srv);
    return 0;
}

int lv_server_run(lv_server *srv)
{
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &set, NULL); /* scheduler threads inherit the mask; we wait below */
    signal(SIGPIPE, SIG_IGN);
    if (lv_rt_start(srv->rt) != 0) {
        fprintf(stderr, "salamander: cannot start the schedulers\n");
        return -1;
    }
    if (lv_admin_start(&srv->admin, &srv->endpoint, srv->cfg.admin_path) != 0)
        return -1;
    srv->admin.successes_per_s = srv->admin_successes_per_s;
    srv->admin.ctx = srv->admin_ctx;
    fprintf(stderr,
            "[salamander] serving http://%s:%d/ (calculator) and /thermostat with %d scheduler%s; "
            "session capacity %zu (open-file limit)\n",
            srv->cfg.listen_host, srv->cfg.listen_port, srv->cfg.schedulers,
            srv->cfg.schedulers == 1 ? "" : "s", srv->max_sessions);
    int sig = 0;
    sigwait(&set, &sig);
    fprintf(stderr, "[salamander] %s: shutting down\n", sig == SIGINT ? "SIGINT" : "SIGTERM");
    return 0;
}

void lv_server_dispose(lv_server *srv)
{
    /* process exit reclaims sockets and h2o state; only what a leak checker would flag is freed */
    lv_admin_stop(&srv->admin);
    free(srv->script);
    srv->script = NULL;
}

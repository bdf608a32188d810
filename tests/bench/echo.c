/* The bare h2o WebSocket echo: the ceiling of the peers benchmark. Built from the same libraries
 * as Salamander (h2o 2.2.5 evloop + its wslay WebSocket layer), it serves a page in Salamander's
 * format (so lvload runs the same GET / token / upgrade / join steps against it) and sends every
 * WebSocket text frame straight back. No click can be cheaper than this round trip. */
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <arpa/inet.h>

#include <h2o.h>
#include <h2o/websocket.h>

#define ECHO_MAX_THREADS 64

typedef struct echo_thread {
    pthread_t tid;
    int index;
    h2o_context_t ctx;
    h2o_accept_ctx_t accept_ctx;
} echo_thread;

static h2o_globalconf_t echo_config;
static struct sockaddr_in echo_addr;
static char echo_page[1024];
static size_t echo_page_len;

/* A page with the tokens a LiveView client looks for; the values are fixed, nothing checks them. */
static void echo_build_page(void)
{
    echo_page_len = (size_t)snprintf(echo_page, sizeof(echo_page),
                                     "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
                                     "<meta name=\"csrf-token\" content=\"echo-csrf-token\">\n"
                                     "<title>h2o echo</title>\n</head>\n<body>\n"
                                     "<div id=\"phx-echo0000000000000000\" data-phx-main "
                                     "data-phx-session=\"echo-session-token\" "
                                     "data-phx-static=\"echo-static-token\"><p>72</p></div>\n"
                                     "</body>\n</html>\n");
}

static void echo_on_ws_message(h2o_websocket_conn_t *conn, const struct wslay_event_on_msg_recv_arg *arg)
{
    if (arg == NULL) {
        h2o_websocket_close(conn);
        return;
    }
    if (wslay_is_ctrl_frame(arg->opcode))
        return; /* wslay answers pings and close frames itself */
    struct wslay_event_msg msg = {arg->opcode, arg->msg, arg->msg_length};
    wslay_event_queue_msg(conn->ws_ctx, &msg);
    /* h2o's read callback calls h2o_websocket_proceed after wslay_event_recv: the echo goes out
     * with the same write as any other frame of this read batch */
}

static int echo_on_ws_req(h2o_handler_t *self, h2o_req_t *req)
{
    (void)self;
    const char *client_key;
    if (h2o_is_websocket_handshake(req, &client_key) != 0 || client_key == NULL)
        return -1;
    h2o_upgrade_to_websocket(req, client_key, NULL, echo_on_ws_message);
    return 0;
}

static int echo_on_page_req(h2o_handler_t *self, h2o_req_t *req)
{
    (void)self;
    if (!h2o_memis(req->method.base, req->method.len, H2O_STRLIT("GET")))
        return -1;
    req->res.status = 200;
    req->res.reason = "OK";
    h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CONTENT_TYPE, NULL,
                   H2O_STRLIT("text/html; charset=utf-8"));
    h2o_send_inline(req, echo_page, echo_page_len);
    return 0;
}

static void echo_on_accept(h2o_socket_t *listener, const char *err)
{
    if (err != NULL)
        return;
    h2o_socket_t *sock = h2o_evloop_socket_accept(listener);
    if (sock != NULL)
        h2o_accept(listener->data, sock);
}

static int echo_listen_fd(void)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int on = 1;
    if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on)) != 0 ||
        setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &on, sizeof(on)) != 0 ||
        bind(fd, (struct sockaddr *)&echo_addr, sizeof(echo_addr)) != 0 || listen(fd, 4096) != 0) {
        perror("echo: listen");
        exit(1);
    }
    return fd;
}

/* One event loop per thread, each with its own SO_REUSEPORT listener: h2o's own model. */
static void *echo_thread_main(void *arg)
{
    echo_thread *t = arg;
    h2o_evloop_t *loop = h2o_evloop_create();
    h2o_context_init(&t->ctx, loop, &echo_config);
    t->accept_ctx.ctx = &t->ctx;
    t->accept_ctx.hosts = echo_config.hosts;
    h2o_socket_t *listener = h2o_evloop_socket_create(loop, echo_listen_fd(), H2O_SOCKET_FLAG_DONT_READ);
    listener->data = &t->accept_ctx;
    h2o_socket_read_start(listener, echo_on_accept);
    while (h2o_evloop_run(loop, INT32_MAX) == 0)
        ;
    return NULL;
}

static void echo_usage(void)
{
    fprintf(stderr, "usage: echo [--listen 127.0.0.1:PORT] [--threads N]\n"
                    "  serves GET <any path> (a page with LiveView tokens) and echoes every text frame on\n"
                    "  /live/websocket; default 127.0.0.1:4600, 1 thread\n");
}

int main(int argc, char **argv)
{
    const char *listen_arg = "127.0.0.1:4600";
    int nthreads = 1;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--listen") == 0 && i + 1 < argc)
            listen_arg = argv[++i];
        else if (strcmp(argv[i], "--threads") == 0 && i + 1 < argc)
            nthreads = atoi(argv[++i]);
        else {
            echo_usage();
            return 2;
        }
    }
    const char *colon = strrchr(listen_arg, ':');
    char host[64];
    if (colon == NULL || (size_t)(colon - listen_arg) >= sizeof(host) || nthreads < 1 ||
        nthreads > ECHO_MAX_THREADS) {
        echo_usage();
        return 2;
    }
    memcpy(host, listen_arg, (size_t)(colon - listen_arg));
    host[colon - listen_arg] = '\0';
    echo_addr.sin_family = AF_INET;
    echo_addr.sin_port = htons((uint16_t)atoi(colon + 1));
    if (inet_pton(AF_INET, host, &echo_addr.sin_addr) != 1) {
        echo_usage();
        return 2;
    }
    signal(SIGPIPE, SIG_IGN);
    echo_build_page();

    h2o_config_init(&echo_config);
    h2o_hostconf_t *hostconf =
        h2o_config_register_host(&echo_config, h2o_iovec_init(H2O_STRLIT("default")), 65535);
    /* registration order is match order: the WebSocket path before the catch-all page */
    h2o_pathconf_t *ws_conf = h2o_config_register_path(hostconf, "/live/websocket", 0);
    h2o_create_handler(ws_conf, sizeof(h2o_handler_t))->on_req = echo_on_ws_req;
    h2o_pathconf_t *page_conf = h2o_config_register_path(hostconf, "/", 0);
    h2o_create_handler(page_conf, sizeof(h2o_handler_t))->on_req = echo_on_page_req;

    static echo_thread threads[ECHO_MAX_THREADS];
    for (int i = 0; i < nthreads; i++) {
        threads[i].index = i;
        if (pthread_create(&threads[i].tid, NULL, echo_thread_main, &threads[i]) != 0) {
            perror("echo: pthread_create");
            return 1;
        }
    }
    fprintf(stderr, "echo: h2o %s WebSocket echo on http://%s (pid %d, %d thread%s)\n", H2O_VERSION,
            listen_arg, (int)getpid(), nthreads, nthreads == 1 ? "" : "s");
    for (int i = 0; i < nthreads; i++)
        pthread_join(threads[i].tid, NULL);
    return 0;
}

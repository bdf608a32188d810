/* lv_socket: the Phoenix Channels side of one client connection, independent of the transport.
 * The transport (server/ws.c, or the headless test harness) feeds it text frames and provides
 * send/close; the socket answers heartbeats, verifies joins, spawns one view process per joined
 * topic and forwards events to it. Also the endpoint: routes, secret and page rendering. */
#ifndef LV_SOCKET_H
#define LV_SOCKET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "liveview/buf.h"
#include "liveview/token.h"
#include "liveview/view.h"

typedef struct lv_route {
    const char *path;
    const lv_view_def *view;
} lv_route;

#define LV_MAX_ROUTES 32

typedef struct lv_endpoint {
    lv_rt *rt;
    const lv_route *routes;
    size_t nroutes;
    uint8_t secret[LV_SECRET_LEN];
    uint64_t token_max_age_s;
    const char *script_url;    /* the client bundle, put in every page */
    const char *extra_head;    /* optional HTML added to <head> (styles) */
    uint64_t (*now_s)(void);   /* wall clock in seconds; tests replace it */
    uint32_t max_events_per_s; /* per socket; a client above it is disconnected (0: no limit) */
    /* the code serving route i now: its view, or the newest upgrade of it; a view of a loaded
     * module is held (held[i]) while it serves the route */
    _Atomic(const lv_view_def *) current[LV_MAX_ROUTES];
    struct lv_module *held[LV_MAX_ROUTES];
} lv_endpoint;

/* Fills defaults (a random secret, real clock). A route's view may live in a loaded module
 * (liveview/module.h): the endpoint then holds that module until lv_endpoint_dispose. */
void lv_endpoint_init(lv_endpoint *ep, lv_rt *rt, const lv_route *routes, size_t nroutes);
/* Drops the endpoint's references to modules; call it once no process of it is left. */
void lv_endpoint_dispose(lv_endpoint *ep);
const lv_route *lv_endpoint_route(const lv_endpoint *ep, const char *path, size_t len);
/* The code that serves a route now: its view, or the newest upgrade of it. Dereferencing it is
 * safe only while something holds its module (the runtime uses lv__endpoint_hold_view). */
const lv_view_def *lv_endpoint_view(const lv_endpoint *ep, const lv_route *route);
/* Hot upgrade: loads views from a shared object and switches every live session of each view
 * it holds between two messages. On error nothing changes and msg says why. The module it
 * replaces is unloaded once no process runs its code (liveview/module.h). Give every version
 * its own file name: the dynamic loader shares an object already loaded under the same path. */
int lv_endpoint_upgrade(lv_endpoint *ep, const char *so_path, char *msg, size_t cap);

typedef struct lv_transport_ops {
    void (*send)(void *ctx, const char *frame, size_t len); /* one text frame */
    void (*close)(void *ctx, uint16_t code, const char *reason);
} lv_transport_ops;

typedef struct lv_socket lv_socket;

lv_socket *lv_socket_open(const lv_endpoint *ep, const lv_transport_ops *ops, void *ctx, const char *peer);
/* One text frame from the client. Malformed frames are logged with the peer address and
 * answered with an error reply or a close carrying the reason. */
void lv_socket_frame(lv_socket *s, const char *text, size_t len);
/* The transport is gone: ops are never called again and every channel's process ends. */
void lv_socket_gone(lv_socket *s);
size_t lv_socket_channels(const lv_socket *s);
/* The client's address as given to lv_socket_open, for log lines. */
const char *lv_socket_peer(const lv_socket *s);
/* The view process joined on topic, or 0. */
lv_pid lv_socket_channel_pid(lv_socket *s, const char *topic);

/* HTTP render of a routed page (disconnected mount in a short-lived process). `done` is called
 * exactly once, on the calling scheduler thread, with status 200 and the full HTML document,
 * or 500 and an error page when mount crashed. Returns an error if it could not start.
 * session_json (NULL: none) is the app's session for this visitor, a JSON object: it is signed
 * into the page's data-phx-session, and both mounts read it with lv_session (LV_EINVAL when it
 * is not a JSON object). flash_token: the request's __phoenix_flash__ cookie (NULL: none); a
 * valid one is in the view's flash at mount and in the page's static token, for the connected
 * mount; an invalid one is logged and ignored. */
typedef void (*lv_page_done)(void *ctx, int status, const char *html, size_t len);
typedef struct lv_page_job lv_page_job;
int lv_page_render(const lv_endpoint *ep, const lv_route *route, const char *url, const char *session_json,
                   const char *flash_token,
                   lv_page_done done, void *ctx, lv_page_job **job);
/* Cancels a pending render: `done` will not be called (the HTTP request went away). */
void lv_page_cancel(lv_page_job *job);

#endif

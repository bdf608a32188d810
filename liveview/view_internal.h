/* Internals shared by the view processes (view.c), the socket (socket.c) and the page layout
 * (page.c). */
#ifndef LV_VIEW_INTERNAL_H
#define LV_VIEW_INTERNAL_H

#include "liveview/flash.h"
#include "liveview/module.h"
#include "liveview/socket.h"
#include "liveview/view.h"

struct lv_view {
    const lv_view_def *def;
    const lv_endpoint *ep;
    const lv_route *route; /* channels: the route it joined, whose upgrades it follows */
    void *state;
    lv_rendered *rd;
    bool connected;
    int64_t event_cid; /* the component the event being handled targets (phx-target), or 0 */
    bool joined;       /* the join reply went out */
    lv_pid pid;
    lv_socket *sock;         /* connected views */
    struct lv_page_job *job; /* HTTP renders */
    char topic[96];
    char join_ref[24];
    const char *peer; /* the socket's copy: the socket outlives its channels' processes */
    /* the session signed into the page (an object, NULL when empty): parsed inside the process,
     * so it lives in the process's arena and goes with it */
    struct json_t *session;
    /* sent with the next render: page title ("t"), client events ("e"), a hook's reply ("r") */
    lv_buf title; /* empty: none set */
    bool title_changed;
    lv_buf events;
    lv_buf hook_reply;
    /* navigation asked for by the last callback */
    enum { LV__NAV_NONE, LV__NAV_PATCH, LV__NAV_NAVIGATE, LV__NAV_REDIRECT } nav;
    bool nav_replace;
    lv_buf nav_to;
    lv__flash flash;
};

void lv__view_global_init(void);
/* The view serving route now, with its module held (*m, NULL for a view of the executable). */
const lv_view_def *lv__endpoint_hold_view(const lv_endpoint *ep, const lv_route *route, lv_module **m);
/* session_json: the verified token's session object as JSON text, or NULL. def and m come from
 * lv__endpoint_hold_view: on success the process owns the reference, else the caller does. */
int lv__view_spawn_channel(const lv_endpoint *ep, const lv_route *route, const lv_view_def *def, lv_module *m,
                           lv_socket *sock, const char *topic, const char *join_ref, const char *peer,
                           const char *session_json, lv_pid *out);
void lv__socket_send(lv_socket *s, const char *frame, size_t len);
void lv__socket_channel_ended(lv_socket *s, const char *topic, lv_pid pid, const char *reason, bool joined);
/* A JSON value as compact text in memory from malloc (the caller frees it), whatever allocator
 * jansson uses in the calling context; NULL when out of memory. */
char *lv__json_text(const struct json_t *j);
/* Appends a new container id ("phx-" and 16 random base64url characters) to id. */
void lv__page_new_id(lv_buf *id);
/* Appends the whole HTML document of a page whose view rendered `inner` in the container `id`,
 * with the session (JSON object text, or NULL for none) signed into data-phx-session and the
 * flash it shows into data-phx-static; title NULL: the view's name. */
void lv__page_document(const lv_endpoint *ep, const lv_view_def *def, const char *id, const char *session_json,
                       const char *title, const char *inner, size_t len, const lv__flash *flash, lv_buf *out);

#endif

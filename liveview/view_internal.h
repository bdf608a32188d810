/* Internals shared by the view processes (view.c), the socket (socket.c) and the page layout
 * (page.c). */
#ifndef LV_VIEW_INTERNAL_H
#define LV_VIEW_INTERNAL_H

#include "liveview/flash.h"
#include "liveview/module.h"
#include "liveview/socket.h"
#include "liveview/view.h"

/* What a callback asked to send with the next render, besides the render itself. Allocated by the
 * first such call and freed once sent: an idle view holds none. */
typedef struct lv__view_out {
    lv_buf title; /* lv_page_title since the last render */
    bool title_changed;
    bool nav_replace;
    enum { LV__NAV_NONE, LV__NAV_PATCH, LV__NAV_NAVIGATE, LV__NAV_REDIRECT } nav;
    lv_buf nav_to;
    lv_buf events;     /* client events ("e") */
    lv_buf hook_reply; /* a hook's reply ("r") */
} lv__view_out;

/* A view process's state. A channel's view, its state, its topic and join ref strings and its
 * rendered tree are one block, allocated with the process (lv__view_spawn_channel), so an idle
 * session's view costs one allocation sized to what it holds; what can be found from elsewhere
 * (its PID, its join ref, the peer address) is not kept. */
struct lv_view {
    const lv_view_def *def;
    const lv_route *route; /* channels: the route it joined, whose upgrades it follows */
    void *state;
    lv_rendered *rd;
    union {                      /* `connected` tells which */
        lv_socket *sock;         /* connected views: it outlives its channels' processes */
        struct lv_page_job *job; /* HTTP renders */
    };
    const char *topic; /* in the view's block, followed by the join ref (channels); or "" */
    /* the session signed into the page (an object, NULL when empty): parsed inside the process,
     * so it lives in the process's arena and goes with it */
    struct json_t *session;
    lv__view_out *out; /* NULL: nothing pending */
    lv__flash flash;
    int32_t event_cid; /* the component the event being handled targets (phx-target), or 0 */
    bool rd_room;      /* the block has room for the rendered tree, not yet used (channels) */
    bool rd_in_block;  /* rd is in that room */
    bool connected;
    bool joined; /* the join reply went out */
};

void lv__view_global_init(void);
/* The view serving route now, with its module held (*m, NULL for a view of the executable). */
const lv_view_def *lv__endpoint_hold_view(const lv_endpoint *ep, const lv_route *route, lv_module **m);
/* session_json: the verified token's session object as JSON text, or NULL. def and m come from
 * lv__endpoint_hold_view: on success the process owns the reference, else the caller does.
 * *view: the new process's view, valid until its exit hook has run (lv__socket_channel_ended). */
int lv__view_spawn_channel(const lv_endpoint *ep, const lv_route *route, const lv_view_def *def, lv_module *m,
                           lv_socket *sock, const char *topic, const char *join_ref, const char *session_json,
                           lv_pid *out, lv_view **view);
/* The endpoint a view serves: its socket's, or its page render's. */
const lv_endpoint *lv__view_endpoint(const lv_view *v);
/* The endpoint a socket belongs to. */
const lv_endpoint *lv__socket_endpoint(const lv_socket *s);
/* A channel's join ref, right after its topic in the view's block ("" for an HTTP render). */
const char *lv__view_join_ref(const lv_view *v);
void lv__socket_send(lv_socket *s, const char *frame, size_t len);
/* Logs a malformed client frame and closes the connection with 1007 and why (callable from the
 * view's process too). */
void lv__socket_malformed(lv_socket *s, const char *why);
void lv__socket_channel_ended(lv_socket *s, const char *topic, lv_pid pid, const char *reason, bool joined);
/* A JSON value as compact text in memory from malloc (the caller frees it), whatever allocator
 * jansson uses in the calling context; NULL when out of memory. */
char *lv__json_text(const struct json_t *j);
/* Appends a new container id ("phx-" and 16 random base64url characters) to id. */
void lv__page_new_id(lv_buf *id);
/* Appends the whole HTML document of a page whose view rendered `inner` in the container `id`,
 * with the session (JSON object text, or NULL for none) signed into data-phx-session and the
 * flash it shows into data-phx-static; title NULL: the view's name. */
void lv__page_document(const lv_endpoint *ep, const lv_view_def *def, const char *id,
                       const char *session_json, const char *title, const char *inner, size_t len,
                       const lv__flash *flash, lv_buf *out);

#endif

/* Internals shared by the view processes (view.c), the socket (socket.c) and the page layout
 * (page.c). */
#ifndef LV_VIEW_INTERNAL_H
#define LV_VIEW_INTERNAL_H

#include "liveview/flash.h"
#include "liveview/socket.h"
#include "liveview/view.h"

struct lv_view {
    const lv_view_def *def;
    const lv_endpoint *ep;
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
int lv__view_spawn_channel(const lv_endpoint *ep, const lv_view_def *def, lv_socket *sock, const char *topic,
                           const char *join_ref, const char *peer, lv_pid *out);
void lv__socket_send(lv_socket *s, const char *frame, size_t len);
void lv__socket_channel_ended(lv_socket *s, const char *topic, lv_pid pid, const char *reason, bool joined);
/* Appends the whole HTML document of a page whose view rendered `inner`; title NULL: the view's name. */
void lv__page_document(const lv_endpoint *ep, const lv_view_def *def, const char *title, const char *inner,
                       size_t len, const lv__flash *flash, lv_buf *out);

#endif

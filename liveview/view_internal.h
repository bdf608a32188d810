/* Internals shared by the view processes (view.c), the socket (socket.c) and the page layout
 * (page.c). */
#ifndef LV_VIEW_INTERNAL_H
#define LV_VIEW_INTERNAL_H

#include "liveview/socket.h"
#include "liveview/view.h"

struct lv_view {
    const lv_view_def *def;
    const lv_endpoint *ep;
    void *state;
    lv_rendered *rd;
    bool connected;
    bool joined; /* the join reply went out */
    lv_pid pid;
    lv_socket *sock;         /* connected views */
    struct lv_page_job *job; /* HTTP renders */
    char topic[96];
    char join_ref[24];
    char peer[64];
    char url[256];
};

void lv__view_global_init(void);
int lv__view_spawn_channel(const lv_endpoint *ep, const lv_view_def *def, lv_socket *sock, const char *topic,
                           const char *join_ref, const char *peer, lv_pid *out);
void lv__socket_send(lv_socket *s, const char *frame, size_t len);
void lv__socket_channel_ended(lv_socket *s, const char *topic, lv_pid pid, const char *reason, bool joined);
/* Appends the whole HTML document of a page whose view rendered `inner`. */
void lv__page_document(const lv_endpoint *ep, const lv_view_def *def, const char *url, const char *inner,
                       size_t len, lv_buf *out);

#endif

/* The admin socket behind lvctl (admin.c). */
#ifndef LV_SERVER_ADMIN_H
#define LV_SERVER_ADMIN_H

#include <pthread.h>

#include "liveview/socket.h"

typedef struct lv_admin {
    lv_rt *rt;
    lv_endpoint *ep;
    int fd;
    pthread_t thread;
    char path[108];
    double (*successes_per_s)(void *ctx); /* the /load demo's figure, when it runs */
    void *ctx;
} lv_admin;

int lv_admin_start(lv_admin *a, lv_endpoint *ep, const char *path);
void lv_admin_stop(lv_admin *a);

#endif

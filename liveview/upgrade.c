/* Hot code upgrade: a view built as a shared object replaces the running one. The object is
 * checked (ABI version, template, state layout or a code_change) before anything changes; then
 * new pages use it, and every live session of the view gets an "upgrade" message and switches
 * between two messages, keeping its WebSocket and its state. The module it replaces stays loaded
 * while any process still runs its code, and is unloaded after the last one lets go
 * (liveview/module.c). */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "liveview/module.h"
#include "liveview/rt_internal.h"
#include "liveview/view_internal.h"

/* One upgrade at a time: each compares against the views the one before published. */
static pthread_mutex_t upgrading = PTHREAD_MUTEX_INITIALIZER;

static int upgrade_locked(lv_endpoint *ep, lv_module *m, char *msg, size_t cap)
{
    const char *path = lv_module_path(m);
    const lv_view_def *found[LV_MAX_ROUTES] = {0};
    size_t nfound = 0, same = 0;
    for (size_t i = 0; i < ep->nroutes; i++) {
        const lv_view_def *old = lv_endpoint_view(ep, &ep->routes[i]); /* held by the route */
        const lv_view_def *nd;
        int err = lv_module_view(m, old->name, &nd, msg, cap);
        if (err == LV_ENOTFOUND)
            continue;
        if (err) {
            size_t n = strlen(msg);
            snprintf(msg + n, cap - n, "; the old code keeps running");
            return err;
        }
        if (nd->state_size != old->state_size && nd->code_change == NULL) {
            snprintf(msg, cap, "refused %s_view from %s: its state layout changed and it has no code_change; "
                     "the old code keeps running", old->name, path);
            return LV_EINVAL;
        }
        if (nd == old) {
            same++;
            continue;
        }
        found[i] = nd;
        nfound++;
    }
    if (nfound == 0) {
        if (same)
            snprintf(msg, cap, "refused %s: the server runs it already (give a new version its own file name)", path);
        else
            snprintf(msg, cap, "refused %s: it defines no view this server routes (a <name>_view symbol)", path);
        return LV_ENOTFOUND;
    }
    /* publish first, then list: a process missing from the list started after the publication
     * and its join takes the new code itself (view.c, join_current_code) */
    for (size_t i = 0; i < ep->nroutes; i++)
        if (found[i] != NULL)
            lv__module_publish(&ep->current[i], found[i], &ep->held[i]);
    size_t switched = 0;
    lv_proc_info *procs = NULL;
    size_t nprocs = 0;
    lv_rt_list(ep->rt, &procs, &nprocs);
    for (size_t i = 0; i < ep->nroutes; i++) {
        if (found[i] == NULL)
            continue;
        for (size_t k = 0; k < nprocs; k++)
            if (procs[k].kind && strcmp(procs[k].kind, found[i]->name) == 0 &&
                lv__deliver(ep->rt, procs[k].pid, LV_MSG_SYSTEM, 0, "upgrade", NULL, 0, 0) == 0)
                switched++;
    }
    free(procs);
    snprintf(msg, cap, "upgraded %zu view%s from %s; %zu live process%s switching", nfound,
             nfound == 1 ? "" : "s", path, switched, switched == 1 ? "" : "es");
    fprintf(stderr, "[salamander] %s\n", msg);
    return 0;
}

int lv_endpoint_upgrade(lv_endpoint *ep, const char *so_path, char *msg, size_t cap)
{
    lv_module *m;
    int err = lv_module_open(so_path, &m, msg, cap);
    if (err)
        return err;
    pthread_mutex_lock(&upgrading);
    err = upgrade_locked(ep, m, msg, cap);
    pthread_mutex_unlock(&upgrading);
    lv_module_release(m); /* the routes hold what they use; a refused module goes at once */
    return err;
}

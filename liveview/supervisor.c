/* Supervisor processes: trap exits, link to children, restart by strategy within a restart
 * intensity. Child exits caused by the supervisor itself (during a group restart) are expected
 * and ignored by matching PIDs. */
#include "liveview/supervisor.h"

#include "liveview/rt_internal.h"

#include <stdlib.h>
#include <string.h>

#define MAX_CHILDREN 64
#define MAX_HISTORY  64

typedef struct {
    lv_sup_spec spec;
    lv_child_spec children[MAX_CHILDREN];
    lv_pid pids[MAX_CHILDREN];
    uint64_t history[MAX_HISTORY]; /* times of recent restarts */
    int nhistory;
} supervisor;

static void start_child(supervisor *s, size_t i)
{
    lv_pid pid = 0;
    if (lv_spawn(s->children[i].name, s->children[i].fn, s->children[i].arg, &pid) == 0)
        lv_link(pid);
    s->pids[i] = pid;
}

static void stop_child(supervisor *s, size_t i)
{
    if (s->pids[i] == 0)
        return;
    lv_unlink(s->pids[i]);
    lv_rt_kill(lv_self_rt(), s->pids[i]);
    s->pids[i] = 0;
}

/* Records a restart; false when the intensity is exceeded. */
static bool allow_restart(supervisor *s)
{
    uint64_t now = lv_rt_now_ms(lv_self_rt());
    int kept = 0;
    for (int i = 0; i < s->nhistory; i++)
        if (now - s->history[i] < (uint64_t)s->spec.period_ms)
            s->history[kept++] = s->history[i];
    s->nhistory = kept;
    if (s->nhistory >= s->spec.max_restarts || s->nhistory >= MAX_HISTORY)
        return false;
    s->history[s->nhistory++] = now;
    return true;
}

static bool wants_restart(const lv_child_spec *c, const char *reason)
{
    switch (c->restart) {
    case LV_PERMANENT: return true;
    case LV_TRANSIENT: return strcmp(reason, LV_REASON_NORMAL) != 0;
    default: return false;
    }
}

static void on_child_exit(supervisor *s, size_t i, const char *reason)
{
    s->pids[i] = 0;
    if (!wants_restart(&s->children[i], reason))
        return;
    if (!allow_restart(s)) {
        for (size_t j = 0; j < s->spec.nchildren; j++)
            stop_child(s, j);
        lv_exit(LV_REASON_MAX_RESTARTS);
    }
    size_t first = s->spec.strategy == LV_ONE_FOR_ALL ? 0 : i;
    size_t last = s->spec.strategy == LV_ONE_FOR_ONE ? i + 1 : s->spec.nchildren;
    for (size_t j = last; j-- > first;) /* stop in reverse start order */
        if (j != i)
            stop_child(s, j);
    for (size_t j = first; j < last; j++)
        start_child(s, j);
}

static void supervise(void *arg)
{
    supervisor *s = arg;
    lv_trap_exit(true);
    for (size_t i = 0; i < s->spec.nchildren; i++)
        start_child(s, i);
    for (;;) {
        const lv_msg *m;
        if (lv_receive(&m, NULL, NULL, -1) != 0)
            continue;
        if (m->kind == LV_MSG_EXIT) {
            for (size_t i = 0; i < s->spec.nchildren; i++)
                if (s->pids[i] == m->from) {
                    on_child_exit(s, i, m->tag);
                    break;
                }
        } else if (m->kind == LV_MSG_USER && strcmp(m->tag, "$which_child") == 0 &&
                   m->size == sizeof(size_t)) {
            size_t i;
            memcpy(&i, m->data, sizeof(i));
            lv_pid pid = i < s->spec.nchildren ? s->pids[i] : 0;
            lv_send(m->from, "$child", &pid, sizeof(pid));
        }
    }
}

static void free_supervisor(void *ctx, const char *reason)
{
    (void)reason;
    free(ctx);
}

int lv_supervisor_start(lv_rt *rt, const char *name, const lv_sup_spec *spec, lv_pid *out)
{
    if (spec->nchildren > MAX_CHILDREN || spec->max_restarts < 0 || spec->period_ms <= 0)
        return LV_EINVAL;
    supervisor *s = calloc(1, sizeof(*s));
    if (s == NULL)
        return LV_ENOMEM;
    s->spec = *spec;
    memcpy(s->children, spec->children, spec->nchildren * sizeof(lv_child_spec));
    s->spec.children = s->children;
    int err =
        lv_rt_spawn_with_exit_hook(rt, name ? name : "supervisor", supervise, s, free_supervisor, s, out);
    if (err)
        free(s);
    return err;
}

static bool is_child_reply(const lv_msg *m, void *ctx)
{
    (void)ctx;
    return strcmp(m->tag, "$child") == 0;
}

int lv_supervisor_child(lv_pid sup, size_t index, lv_pid *out)
{
    int err = lv_send(sup, "$which_child", &index, sizeof(index));
    if (err)
        return err;
    const lv_msg *m;
    err = lv_receive(&m, is_child_reply, NULL, 5000);
    if (err)
        return err;
    memcpy(out, m->data, sizeof(*out));
    return *out ? 0 : LV_ENOPROC;
}

/* Supervisors: processes that start children, watch them through links and restart them by
 * strategy, giving up (and ending, which ends their children) when restarts come too fast. */
#ifndef LV_SUPERVISOR_H
#define LV_SUPERVISOR_H

#include "liveview/runtime.h"

typedef enum {
    LV_ONE_FOR_ONE,  /* restart the child that ended */
    LV_ONE_FOR_ALL,  /* restart every child */
    LV_REST_FOR_ONE, /* restart the child that ended and those started after it */
} lv_strategy;

typedef enum {
    LV_PERMANENT, /* always restarted */
    LV_TRANSIENT, /* restarted when it ends abnormally */
    LV_TEMPORARY, /* never restarted */
} lv_restart;

typedef struct lv_child_spec {
    const char *name;
    lv_proc_fn fn;
    void *arg;
    lv_restart restart;
} lv_child_spec;

typedef struct lv_sup_spec {
    lv_strategy strategy;
    int max_restarts; /* more than this many restarts ... */
    int period_ms;    /* ... within this window ends the supervisor with "max_restarts" */
    const lv_child_spec *children;
    size_t nchildren; /* at most 64 */
} lv_sup_spec;

#define LV_REASON_MAX_RESTARTS "max_restarts"

/* Starts a supervisor process; the spec is copied. */
int lv_supervisor_start(lv_rt *rt, const char *name, const lv_sup_spec *spec, lv_pid *out);
/* The current PID of child `index` of a supervisor (0 while restarting or if it ended). Safe
 * to call from inside the supervisor's children or from anywhere via a message; here it asks. */
int lv_supervisor_child(lv_pid sup, size_t index, lv_pid *out);

#endif

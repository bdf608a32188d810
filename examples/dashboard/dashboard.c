/* /dashboard: the runtime watching itself — schedulers, processes, memory, the load demo's
 * successes per second and the top processes by CPU, with a kill button; refreshed every second. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "examples/dashboard/system_stats.h"
#include "examples/load/load_jobs.h"
#include "liveview/liveview.h"

typedef struct {
    uint64_t pid;
    char name[32];
    char kind[32];
    char status[12];
    char cpu_ms[24];
    char memory[24];
} top_row;

typedef struct {
    uint64_t processes;
    char memory[16];
    char rate[16];
    char schedulers[96];
    top_row top[10];
    int ntop;
    system_sample last;
} dashboard;

#include "examples/dashboard/dashboard.lv.h"

static void refresh(dashboard *d)
{
    lv_rt *rt = lv_self_rt();
    system_sample now;
    system_stats_sample(rt, &now);
    system_stats_describe(&d->last, &now, d->schedulers, sizeof(d->schedulers), d->memory, sizeof(d->memory));
    d->last = now;
    d->processes = lv_rt_process_count(rt);
    lv_proc_info top[10];
    size_t n = 0;
    if (lv_rt_top(rt, top, 10, &n) != 0)
        n = 0;
    d->ntop = (int)n;
    for (size_t i = 0; i < n; i++) {
        top_row *r = &d->top[i];
        r->pid = top[i].pid;
        snprintf(r->name, sizeof(r->name), "%s", top[i].name);
        snprintf(r->kind, sizeof(r->kind), "%s", top[i].kind ? top[i].kind : "");
        snprintf(r->status, sizeof(r->status), "%s", top[i].status);
        snprintf(r->cpu_ms, sizeof(r->cpu_ms), "%.1f", top[i].cpu_us_last_s / 1000.0);
        snprintf(r->memory, sizeof(r->memory), "%zu KiB", top[i].memory / 1024);
    }
    lv_pid ctl;
    lv_proc_info info;
    snprintf(d->rate, sizeof(d->rate), "%s", "0");
    if (lv_whereis(rt, "load", &ctl) == 0 && lv_rt_info(rt, ctl, &info) == 0)
        lv_send(ctl, LOAD_GET_SAMPLES, NULL, 0);
}

static void mount(lv_view *v, const lv_value *params)
{
    (void)params;
    dashboard *d = lv_state(v);
    system_stats_sample(lv_self_rt(), &d->last);
    refresh(d);
    if (lv_connected(v))
        lv_send_after(1000, "refresh", NULL);
}

static int handle_event(lv_view *v, const char *event, const lv_value *payload)
{
    (void)v;
    if (strcmp(event, "kill") != 0)
        return LV_ENOTFOUND;
    int64_t pid;
    if (lv_value_int(payload, "pid", &pid) == 0 && pid > 0)
        lv_rt_kill(lv_self_rt(), (lv_pid)pid);
    return 0;
}

static void handle_info(lv_view *v, const lv_msg *msg)
{
    dashboard *d = lv_state(v);
    if (msg->kind == LV_MSG_TIMER) {
        refresh(d);
        lv_send_after(1000, "refresh", NULL);
    } else if (strcmp(msg->tag, LOAD_GET_SAMPLES) == 0 && msg->size == LOAD_SAMPLES * sizeof(float)) {
        const float *s = msg->data;
        float last = 0;
        for (int i = LOAD_SAMPLES - 10; i < LOAD_SAMPLES; i++)
            last += s[i];
        snprintf(d->rate, sizeof(d->rate), "%.0f", last);
    }
}

LV_VIEW(dashboard, mount, handle_event, handle_info);

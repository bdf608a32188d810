/* /load: sets the number of synthetic jobs and draws their successes per second over the last
 * 60 s as an SVG polyline rendered on the server, beside scheduler utilisation and memory. */
#include <stdio.h>
#include <string.h>

#include "examples/dashboard/system_stats.h"
#include "examples/load/load_jobs.h"
#include "liveview/liveview.h"

typedef struct {
    int jobs;
    char rate[16];
    char scale[16];
    char schedulers[96];
    char memory[16];
    char points[LOAD_SAMPLES / 10 * 14]; /* 60 points of 1 s moving averages */
    system_sample last;
} load;

#include "examples/load/load.lv.h"

static void ask_for_samples(void)
{
    lv_pid ctl;
    if (lv_whereis(lv_self_rt(), "load", &ctl) == 0)
        lv_send(ctl, LOAD_GET_SAMPLES, NULL, 0);
}

static void mount(lv_view *v, const lv_value *params)
{
    (void)params;
    load *l = lv_state(v);
    strcpy(l->rate, "0");
    strcpy(l->scale, "10");
    system_stats_sample(lv_self_rt(), &l->last);
    if (lv_connected(v)) {
        ask_for_samples();
        lv_send_after(1000, "refresh", NULL);
    }
}

static int handle_event(lv_view *v, const char *event, const lv_value *payload)
{
    load *l = lv_state(v);
    if (strcmp(event, "load") != 0)
        return LV_ENOTFOUND;
    int64_t jobs;
    if (lv_value_int(payload, "jobs", &jobs) != 0 || jobs < 0 || jobs > 25000)
        return 0; /* the form's min/max say the same; nothing changes */
    l->jobs = (int)jobs;
    lv_pid ctl;
    int n = (int)jobs;
    if (lv_whereis(lv_self_rt(), "load", &ctl) == 0)
        lv_send(ctl, LOAD_SET_JOBS, &n, sizeof(n));
    return 0;
}

/* 1 s moving averages of the 100 ms samples, scaled into the 600x200 box. */
static void draw(load *l, const float *samples)
{
    float avg[LOAD_SAMPLES / 10], top = 10;
    for (int i = 0; i < LOAD_SAMPLES / 10; i++) {
        avg[i] = 0;
        for (int k = 0; k < 10; k++)
            avg[i] += samples[i * 10 + k];
        if (avg[i] > top)
            top = avg[i];
    }
    size_t used = 0;
    for (int i = 0; i < LOAD_SAMPLES / 10; i++) {
        int x = i * 600 / (LOAD_SAMPLES / 10 - 1), y = 195 - (int)(avg[i] * 180 / top);
        used += (size_t)snprintf(l->points + used, sizeof(l->points) - used, "%s%d,%d", i ? " " : "", x, y);
    }
    snprintf(l->rate, sizeof(l->rate), "%.0f", avg[LOAD_SAMPLES / 10 - 1]);
    snprintf(l->scale, sizeof(l->scale), "%.0f", top);
}

static void handle_info(lv_view *v, const lv_msg *msg)
{
    load *l = lv_state(v);
    if (strcmp(msg->tag, LOAD_GET_SAMPLES) == 0 && msg->size == LOAD_SAMPLES * sizeof(float)) {
        float samples[LOAD_SAMPLES];
        memcpy(samples, msg->data, sizeof(samples));
        draw(l, samples);
    } else if (msg->kind == LV_MSG_TIMER) {
        system_sample now;
        system_stats_sample(lv_self_rt(), &now);
        system_stats_describe(&l->last, &now, l->schedulers, sizeof(l->schedulers), l->memory,
                              sizeof(l->memory));
        l->last = now;
        ask_for_samples();
        lv_send_after(1000, "refresh", NULL);
    }
}

LV_VIEW(load, mount, handle_event, handle_info);

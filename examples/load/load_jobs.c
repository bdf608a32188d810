/* Load controller and workers. Workers are children of shard supervisors (64 per shard); the
 * controller rebuilds the shards when the job count changes, and turns the workers' "done"
 * messages into 100 ms samples and a 1 s moving average. */
#include "examples/load/load_jobs.h"

#include <stdlib.h>
#include <string.h>

#include "liveview/supervisor.h"

#define PER_SHARD 64
/* Each worker waits in lv_receive on its own stack: two mappings each, and the kernel allows
 * 65,530 (vm.max_map_count) */
#define MAX_JOBS 25000

typedef struct {
    load_stats *stats;
    lv_pid *shards;
    size_t nshards;
    int jobs;
    float samples[LOAD_SAMPLES]; /* successes in each 100 ms, ring */
    size_t head;
    uint32_t current; /* successes in the running sample */
} controller;

static uint64_t mix(uint64_t x)
{
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdULL;
    x ^= x >> 33;
    return x;
}

/* A small calculation that must really run, like the calculator's sum. */
static uint64_t small_work(uint64_t seed)
{
    uint64_t acc = seed;
    for (int i = 0; i < 200; i++) {
        acc = mix(acc + (uint64_t)i);
        __asm__ volatile("" : "+r"(acc));
    }
    return acc;
}

static void worker(void *arg)
{
    (void)arg;
    lv_pid ctl;
    if (lv_whereis(lv_self_rt(), "load", &ctl) != 0)
        return;
    const lv_msg *m;
    uint64_t seed = mix(lv_self());
    lv_receive(&m, NULL, NULL, (int64_t)(seed % 1000)); /* a random phase */
    for (;;) {
        seed = small_work(seed);
        lv_send(ctl, "done", NULL, 0);
        if (lv_receive(&m, NULL, NULL, 1000) == 0 && strcmp(m->tag, "stop") == 0)
            return;
    }
}

static void stop_shards(controller *c)
{
    for (size_t i = 0; i < c->nshards; i++)
        lv_rt_kill(lv_self_rt(), c->shards[i]); /* linked workers end with their supervisor */
    free(c->shards);
    c->shards = NULL;
    c->nshards = 0;
}

static void start_shards(controller *c, int jobs)
{
    static lv_child_spec children[PER_SHARD];
    for (int i = 0; i < PER_SHARD; i++)
        children[i] = (lv_child_spec){"load worker", worker, NULL, LV_PERMANENT};
    size_t n = (size_t)(jobs + PER_SHARD - 1) / PER_SHARD;
    c->shards = calloc(n ? n : 1, sizeof(lv_pid));
    for (size_t i = 0; c->shards && i < n; i++) {
        size_t kids = (size_t)jobs - i * PER_SHARD < PER_SHARD ? (size_t)jobs - i * PER_SHARD : PER_SHARD;
        lv_sup_spec spec = {LV_ONE_FOR_ONE, 100, 1000, children, kids};
        if (lv_supervisor_start(lv_self_rt(), "load shard", &spec, &c->shards[c->nshards]) == 0)
            c->nshards++;
    }
    c->jobs = jobs;
    atomic_store(&c->stats->jobs, jobs);
}

static void close_sample(controller *c)
{
    c->samples[c->head] = (float)c->current;
    c->head = (c->head + 1) % LOAD_SAMPLES;
    c->current = 0;
    float last_second = 0;
    for (size_t i = 1; i <= 10; i++)
        last_second += c->samples[(c->head + LOAD_SAMPLES - i) % LOAD_SAMPLES];
    atomic_store(&c->stats->successes_per_s, (double)last_second);
}

static void control(void *arg)
{
    controller *c = arg;
    lv_register("load", lv_self());
    lv_send_after(100, "sample", NULL);
    for (;;) {
        const lv_msg *m;
        if (lv_receive(&m, NULL, NULL, -1) != 0)
            continue;
        if (strcmp(m->tag, "done") == 0) {
            c->current++;
        } else if (m->kind == LV_MSG_TIMER) {
            close_sample(c);
            lv_send_after(100, "sample", NULL);
        } else if (strcmp(m->tag, LOAD_SET_JOBS) == 0 && m->size == sizeof(int)) {
            int jobs;
            memcpy(&jobs, m->data, sizeof(jobs));
            if (jobs < 0)
                jobs = 0;
            if (jobs > MAX_JOBS)
                jobs = MAX_JOBS;
            stop_shards(c);
            start_shards(c, jobs);
        } else if (strcmp(m->tag, LOAD_GET_SAMPLES) == 0) {
            float ordered[LOAD_SAMPLES];
            for (size_t i = 0; i < LOAD_SAMPLES; i++)
                ordered[i] = c->samples[(c->head + i) % LOAD_SAMPLES];
            lv_send(m->from, LOAD_GET_SAMPLES, ordered, sizeof(ordered));
        }
    }
}

static void controller_exit(void *ctx, const char *reason)
{
    (void)reason;
    controller *c = ctx;
    free(c->shards);
    free(c);
}

int load_controller_start(lv_rt *rt, load_stats *stats)
{
    controller *c = calloc(1, sizeof(*c));
    if (c == NULL)
        return LV_ENOMEM;
    c->stats = stats;
    return lv_rt_spawn_with_exit_hook(rt, "load controller", control, c, controller_exit, c, NULL);
}

double load_successes_per_s(void *stats)
{
    return atomic_load(&((load_stats *)stats)->successes_per_s);
}

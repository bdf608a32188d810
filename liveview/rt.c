/* The runtime object: configuration, scheduler set-up and tear-down, and the caller-driven mode
 * (schedulers = 0) that tests use with a virtual clock. Everything a runtime owns hangs off
 * lv_rt, so a test can create and free as many as it likes. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "liveview/rt_internal.h"

void lv_rt_config_defaults(lv_rt_config *cfg)
{
    memset(cfg, 0, sizeof(*cfg));
    cfg->schedulers = 1;
    cfg->heap_limit = (size_t)64 << 20;
    cfg->max_message = (size_t)1 << 20;
    cfg->stack_size = (size_t)256 << 10;
}

int lv_rt_new(const lv_rt_config *cfg, lv_rt **out)
{
    if (cfg->schedulers < 0 || cfg->schedulers > 255)
        return LV_EINVAL;
    lv_rt *rt = calloc(1, sizeof(*rt));
    if (rt == NULL)
        return LV_ENOMEM;
    rt->cfg = *cfg;
    if (rt->cfg.stack_size < 32768)
        rt->cfg.stack_size = 32768;
    if (rt->cfg.max_message == 0)
        rt->cfg.max_message = (size_t)1 << 20;
    rt->nsched = cfg->schedulers ? cfg->schedulers : 1;
    rt->scheds = calloc((size_t)rt->nsched, sizeof(lv__sched));
    if (rt->scheds == NULL) {
        free(rt);
        return LV_ENOMEM;
    }
    pthread_mutex_init(&rt->table_lock, NULL);
    pthread_mutex_init(&rt->names_lock, NULL);
    pthread_mutex_init(&rt->threads_lock, NULL);
    pthread_cond_init(&rt->threads_cond, NULL);
    for (unsigned i = 0; i < LV__STRIPES; i++) {
        pthread_mutex_init(&rt->stripes[i], NULL);
        pthread_mutex_init(&rt->watch_stripes[i], NULL);
    }
    atomic_store(&rt->next_ref, 1);
    rt->start_ns = lv__now_ns();
    rt->start_wall = time(NULL);
    for (int i = 0; i < rt->nsched; i++) {
        int err = lv__sched_init(rt, &rt->scheds[i], i);
        if (err) {
            lv_rt_free(rt);
            return err;
        }
    }
    lv_fault_install();
    if (cfg->schedulers > 0)
        lv__preempt_install();
    if (cfg->schedulers == 0) {
        lv__enter_caller_thread(&rt->scheds[0]);
        lv_fault_thread_init();
    }
    *out = rt;
    return 0;
}

void lv__rt_set_sched_start_hook(lv_rt *rt, void (*fn)(void *ctx, int index, void *loop), void *ctx)
{
    rt->on_sched_start = fn;
    rt->on_sched_start_ctx = ctx;
}

int lv_rt_start(lv_rt *rt)
{
    if (rt->cfg.schedulers == 0 || rt->started)
        return 0;
    if (sched_getaffinity(0, sizeof(rt->cpus), &rt->cpus) != 0)
        CPU_ZERO(&rt->cpus); /* binding is then skipped */
    for (int i = 0; i < rt->nsched; i++) {
        int err = lv__sched_assign(rt, &rt->scheds[i]);
        if (err)
            return err;
    }
    rt->started = true;
    return lv__sysmon_start(rt);
}

/* Destroys every remaining process on scheduler s (threads stopped, so no one else runs). */
static void kill_all(lv_rt *rt)
{
    for (uint32_t i = 0; i < rt->nslots; i++) {
        lv__slot *chunk = atomic_load(&rt->chunks[i / LV__SLOT_CHUNK]);
        lv_proc *p = chunk ? lv__slot_proc(&chunk[i % LV__SLOT_CHUNK], memory_order_seq_cst) : NULL;
        if (p == NULL)
            continue;
        p->exit_reason = LV_REASON_SHUTDOWN;
        lv__sched *saved = lv__current_sched();
        lv__enter_caller_thread(p->sched);
        lv__proc_destroy(p);
        if (saved)
            lv__enter_caller_thread(saved);
        else
            lv__leave_caller_thread();
    }
}

void lv_rt_free(lv_rt *rt)
{
    if (rt == NULL)
        return;
    /* schedulers first: a spinning process only lets its scheduler see the stop flag when the
     * monitor thread preempts it */
    if (rt->started)
        for (int i = 0; i < rt->nsched; i++)
            lv__sched_stop(&rt->scheds[i]);
    lv__threads_join(rt);
    lv__sysmon_stop(rt);
    kill_all(rt);
    for (int i = 0; i < rt->nsched; i++)
        if (rt->scheds[i].loop)
            lv__sched_dispose(&rt->scheds[i]);
    for (unsigned c = 0; c < LV__MAX_CHUNKS; c++)
        free(atomic_load(&rt->chunks[c]));
    while (rt->names) {
        lv__name *n = rt->names;
        rt->names = n->next;
        free(n);
    }
    pthread_mutex_destroy(&rt->table_lock);
    pthread_mutex_destroy(&rt->names_lock);
    pthread_mutex_destroy(&rt->threads_lock);
    pthread_cond_destroy(&rt->threads_cond);
    for (unsigned i = 0; i < LV__STRIPES; i++) {
        pthread_mutex_destroy(&rt->stripes[i]);
        pthread_mutex_destroy(&rt->watch_stripes[i]);
    }
    lv__sched *cur = lv__current_sched();
    if (cur != NULL && cur->rt == rt)
        lv__leave_caller_thread();
    free(rt->scheds);
    free(rt);
}

void lv_rt_run_until_idle(lv_rt *rt)
{
    lv__sched *s = &rt->scheds[0];
    lv__sched *saved = lv__current_sched();
    lv__enter_caller_thread(s);
    for (int rounds = 0; rounds < 1000000; rounds++) {
        lv__sched_run_ready(s);
        if (s->runq.head == NULL && atomic_load(&s->remote) == NULL)
            break;
    }
    if (saved)
        lv__enter_caller_thread(saved);
}

void lv_rt_advance(lv_rt *rt, uint64_t ms)
{
    /* step one millisecond at a time so timers set by fired handlers land in order */
    for (uint64_t i = 0; i < ms; i++) {
        rt->virtual_now++;
        lv_rt_run_until_idle(rt);
    }
}

uint64_t lv_rt_wall_ms(lv_rt *rt)
{
    if (rt->cfg.virtual_clock)
        return (uint64_t)rt->start_wall * 1000u + rt->virtual_now;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* The same clock as lv_rt_wall_ms: time() reads a coarse clock that lags the precise one by up
 * to a tick, so a clock shown right after a second boundary could still show the last second. */
time_t lv_rt_wall_time(lv_rt *rt)
{
    return (time_t)(lv_rt_wall_ms(rt) / 1000u);
}

uint64_t lv_rt_now_ms(lv_rt *rt)
{
    if (rt->cfg.virtual_clock)
        return rt->virtual_now;
    return (lv__now_ns() - rt->start_ns) / 1000000u;
}

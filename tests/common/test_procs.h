/* Processes that tests and benchmarks of the runtime share: a spinner with no calls in its loop,
 * a ponger, and one process per crash kind (with the exit reason each must produce). */
#ifndef LV_TEST_PROCS_H
#define LV_TEST_PROCS_H

#include <assert.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "liveview/runtime.h"

#define LV_TEST_PROC __attribute__((unused)) static

/* A tight arithmetic loop: only a signal can stop it. */
LV_TEST_PROC void spinner(void *arg)
{
    (void)arg;
    uint64_t x = 1;
    for (;;) {
        x = x * 6364136223846793005u + 1442695040888963407u;
        __asm__ volatile("" : "+r"(x));
    }
}

LV_TEST_PROC uint64_t test_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* A started runtime with that many scheduler threads, or NULL. */
LV_TEST_PROC lv_rt *test_rt_started(int schedulers)
{
    lv_rt_config cfg;
    lv_rt_config_defaults(&cfg);
    cfg.schedulers = schedulers;
    lv_rt *rt;
    if (lv_rt_new(&cfg, &rt) != 0)
        return NULL;
    if (lv_rt_start(rt) != 0) {
        lv_rt_free(rt);
        return NULL;
    }
    return rt;
}

LV_TEST_PROC int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* A ping-pong measured from one side: `rounds` round trips to pong, each followed by a 1 ms
 * pause (a timer wake-up); rtt_ns gets the round trips, late_ns (optional) how late each
 * wake-up was, done the rounds finished so far. */
typedef struct test_pinger {
    lv_pid pong;
    int rounds;
    uint64_t *rtt_ns, *late_ns;
    _Atomic int done;
} test_pinger;

LV_TEST_PROC void timed_pinger(void *arg)
{
    test_pinger *t = arg;
    const lv_msg *m;
    for (int i = 0; i < t->rounds; i++) {
        uint64_t t0 = test_now_ns();
        lv_send(t->pong, "ping", NULL, 0);
        lv_receive(&m, NULL, NULL, -1);
        uint64_t t1 = test_now_ns();
        t->rtt_ns[i] = t1 - t0;
        lv_receive(&m, NULL, NULL, 1);
        uint64_t slept = test_now_ns() - t1;
        if (t->late_ns)
            t->late_ns[i] = slept > 1000000u ? slept - 1000000u : 0;
        atomic_fetch_add(&t->done, 1);
    }
}

/* Answers every message with "pong". */
LV_TEST_PROC void ponger(void *arg)
{
    (void)arg;
    const lv_msg *m;
    while (lv_receive(&m, NULL, NULL, -1) == 0)
        lv_send(m->from, "pong", NULL, 0);
}

__attribute__((no_sanitize("undefined"))) LV_TEST_PROC void crash_null(void *arg)
{
    (void)arg;
    volatile int *p = NULL;
    *p = 1;
}

LV_TEST_PROC int recurse(volatile int n)
{
    volatile char pad[512];
    pad[0] = (char)n;
    if (n < 0)
        return 0;
    return recurse(n + 1) + pad[0];
}

LV_TEST_PROC void crash_overflow(void *arg)
{
    (void)arg;
    recurse(1);
}

LV_TEST_PROC void crash_fpe(void *arg)
{
    (void)arg;
    int num = 7, den = 0;
    __asm__ volatile("" : "+r"(num), "+r"(den)); /* hide the zero from the optimizer */
    int q;
    __asm__ volatile("cltd; idivl %2" : "=a"(q) : "a"(num), "r"(den) : "edx");
    (void)q;
}

LV_TEST_PROC void crash_abort(void *arg)
{
    (void)arg;
    abort();
}

LV_TEST_PROC void crash_assert(void *arg)
{
    assert(arg == (void *)1);
}

LV_TEST_PROC void crash_explicit(void *arg)
{
    (void)arg;
    lv_crash("explicit crash %d", 7);
}

LV_TEST_PROC void crash_heap(void *arg)
{
    (void)arg;
    for (;;)
        lv_alloc(64 * 1024);
}

/* The seven crash kinds of the runtime issue, and the reason DOWN must carry for each. */
__attribute__((unused)) static lv_proc_fn crashers[] = {crash_explicit, crash_assert, crash_abort, crash_null,
                                                        crash_overflow, crash_fpe,    crash_heap};
__attribute__((unused)) static const char *crash_reasons[] = {"crash",          "crash", "crash",     "crash",
                                                              "stack_overflow", "crash", "heap_limit"};

/* A runtime driven by the calling thread on a virtual clock (lv_rt_run_until_idle, lv_rt_advance).
 * heap_limit 0 keeps the default; crash_log NULL: stderr. */
LV_TEST_PROC lv_rt *test_virtual_rt(size_t heap_limit, FILE *crash_log)
{
    lv_rt_config cfg;
    lv_rt_config_defaults(&cfg);
    cfg.schedulers = 0;
    cfg.virtual_clock = true;
    if (heap_limit)
        cfg.heap_limit = heap_limit;
    cfg.crash_log = crash_log;
    lv_rt *rt = NULL;
    return lv_rt_new(&cfg, &rt) == 0 ? rt : NULL;
}

#endif

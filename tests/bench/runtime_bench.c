/* `make bench-runtime`: figures of the process runtime, printed as BENCH lines.
 *   runtime.spawn_per_s                spawn + run + exit of empty processes, one scheduler
 *   runtime.idle_bytes_per_process     RSS growth / 1,000,000 idle handler processes
 *   runtime.msgs_per_s                 messages per second, ping-pong pairs, one scheduler
 *   runtime.spinner_p99_ms             ping-pong round trip p99 beside 4 spinners, --schedulers 1
 *   runtime.spinner_wake_late_p99_ms   how late a 1 ms timer wakes the pinger beside them
 *   runtime.crash_kinds_survived       crash kinds that ended only the faulty process (of 7) */
#include <assert.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "liveview/runtime.h"
#include "tests/common/test_procs.h"

#define now_ns test_now_ns

static lv_rt *caller_rt(void)
{
    lv_rt_config cfg;
    lv_rt_config_defaults(&cfg);
    cfg.schedulers = 0;
    cfg.crash_log = fopen("/dev/null", "w");
    lv_rt *rt;
    if (lv_rt_new(&cfg, &rt) != 0)
        abort();
    return rt;
}

static void empty(void *arg)
{
    (void)arg;
}

static void bench_spawn(void)
{
    lv_rt *rt = caller_rt();
    const int n = 2000000;
    uint64_t t0 = now_ns();
    for (int i = 0; i < n; i++) {
        lv_rt_spawn(rt, NULL, empty, NULL, NULL);
        if ((i & 1023) == 1023)
            lv_rt_run_until_idle(rt);
    }
    lv_rt_run_until_idle(rt);
    double s = (double)(now_ns() - t0) / 1e9;
    printf("BENCH runtime.spawn_per_s %.0f processes/s\n", n / s);
    lv_rt_free(rt);
}

static void idle_handler(void *state, const lv_msg *m)
{
    (void)state;
    (void)m;
}

static void bench_idle(void)
{
    lv_rt *rt = caller_rt();
    const int n = 1000000;
    long long before = lv_rss_bytes();
    for (int i = 0; i < n; i++) {
        lv_rt_spawn_handler(rt, NULL, 16, NULL, NULL, idle_handler, NULL);
        if ((i & 4095) == 4095)
            lv_rt_run_until_idle(rt);
    }
    lv_rt_run_until_idle(rt);
    long long after = lv_rss_bytes();
    printf("BENCH runtime.idle_bytes_per_process %.0f bytes\n", (double)(after - before) / n);
    lv_rt_free(rt);
}

typedef struct {
    lv_pid peer;
    long left;
} bouncer;

static _Atomic long bounces;

static void bounce(void *state, const lv_msg *m)
{
    bouncer *b = state;
    if (m->size == sizeof(lv_pid))
        memcpy(&b->peer, m->data, sizeof(lv_pid));
    bounces++;
    if (b->peer && --b->left > 0)
        lv_send(b->peer, "b", NULL, 0);
}

static void init_bouncer(void *state, void *arg)
{
    ((bouncer *)state)->left = *(long *)arg;
}

static void bench_msgs(void)
{
    lv_rt *rt = caller_rt();
    const int pairs = 64;
    long per = 100000;
    lv_pid a[64], b[64];
    for (int i = 0; i < pairs; i++) {
        lv_rt_spawn_handler(rt, NULL, sizeof(bouncer), init_bouncer, &per, bounce, &a[i]);
        lv_rt_spawn_handler(rt, NULL, sizeof(bouncer), init_bouncer, &per, bounce, &b[i]);
    }
    lv_rt_run_until_idle(rt);
    bounces = 0;
    uint64_t t0 = now_ns();
    for (int i = 0; i < pairs; i++) {
        lv_rt_send(rt, b[i], "peer", &a[i], sizeof(lv_pid));
        lv_rt_send(rt, a[i], "peer", &b[i], sizeof(lv_pid));
    }
    lv_rt_run_until_idle(rt);
    double s = (double)(now_ns() - t0) / 1e9;
    printf("BENCH runtime.msgs_per_s %.0f messages/s\n", (double)bounces / s);
    lv_rt_free(rt);
}

/* ---- preemption ---- */

#define ROUNDS 3000

static void bench_spinners(void)
{
    lv_rt *rt = test_rt_started(1);
    if (rt == NULL)
        abort();
    lv_pid spin[4];
    static uint64_t rtt[ROUNDS], late[ROUNDS];
    static test_pinger ping = {.rounds = ROUNDS, .rtt_ns = rtt, .late_ns = late};
    for (int i = 0; i < 4; i++)
        lv_rt_spawn(rt, "spinner", spinner, NULL, &spin[i]);
    lv_rt_spawn(rt, "ponger", ponger, NULL, &ping.pong);
    lv_rt_spawn(rt, "pinger", timed_pinger, &ping, NULL);
    uint64_t deadline = now_ns() + 60000000000u;
    while (atomic_load(&ping.done) < ROUNDS && now_ns() < deadline) {
        struct timespec ts = {0, 20000000};
        nanosleep(&ts, NULL);
    }
    if (atomic_load(&ping.done) < ROUNDS) {
        printf("BENCH runtime.spinner_p99_ms inf ms (the ping-pong starved)\n");
    } else {
        qsort(rtt, ROUNDS, sizeof(rtt[0]), cmp_u64);
        qsort(late, ROUNDS, sizeof(late[0]), cmp_u64);
        printf("BENCH runtime.spinner_p99_ms %.3f ms\n", rtt[ROUNDS * 99 / 100] / 1e6);
        printf("BENCH runtime.spinner_wake_late_p99_ms %.3f ms\n", late[ROUNDS * 99 / 100] / 1e6);
    }
    for (int i = 0; i < 4; i++)
        lv_rt_kill(rt, spin[i]);
    lv_rt_free(rt);
}

/* ---- crash kinds ---- */

static _Atomic int survived;

static void crash_watcher(void *arg)
{
    (void)arg;
    const lv_proc_fn *kinds = crashers;
    for (int i = 0; i < 7; i++) {
        lv_pid p;
        uint64_t ref;
        lv_spawn("crasher", kinds[i], NULL, &p);
        lv_monitor(p, &ref);
        const lv_msg *m;
        if (lv_receive(&m, NULL, NULL, 5000) == 0 && m->kind == LV_MSG_DOWN && strcmp(m->tag, "normal") != 0)
            survived++;
    }
}

static void bench_crashes(void)
{
    lv_rt_config cfg;
    lv_rt_config_defaults(&cfg);
    cfg.schedulers = 0;
    cfg.heap_limit = 8 << 20;
    cfg.crash_log = fopen("/dev/null", "w");
    lv_rt *rt;
    lv_rt_new(&cfg, &rt);
    lv_rt_spawn(rt, "watcher", crash_watcher, NULL, NULL);
    lv_rt_run_until_idle(rt);
    printf("BENCH runtime.crash_kinds_survived %d kinds\n", survived);
    lv_rt_free(rt);
}

int main(int argc, char **argv)
{
    const char *only = argc > 1 ? argv[1] : "";
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (!*only || !strcmp(only, "spawn"))
        bench_spawn();
    if (!*only || !strcmp(only, "msgs"))
        bench_msgs();
    if (!*only || !strcmp(only, "spinners"))
        bench_spinners();
    if (!*only || !strcmp(only, "crashes"))
        bench_crashes();
    if (!*only || !strcmp(only, "idle"))
        bench_idle();
    return 0;
}

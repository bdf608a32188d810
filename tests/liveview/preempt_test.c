/* Preemption on real scheduler threads: spinners in tight loops with no calls do not stop a
 * ping-pong between two other processes on the same scheduler, and kill ends a spinner. */
#include <criterion/criterion.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "liveview/runtime.h"
#include "tests/common/test_procs.h"
#include "liveview/sanitizer.h"

static uint64_t now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

#define ROUNDS 400
static uint64_t rtt[ROUNDS];
static _Atomic int done;

static void pinger(void *arg)
{
    lv_pid pong = *(lv_pid *)arg;
    const lv_msg *m;
    for (int i = 0; i < ROUNDS; i++) {
        uint64_t t0 = now_us();
        lv_send(pong, "ping", NULL, 0);
        lv_receive(&m, NULL, NULL, -1);
        rtt[i] = now_us() - t0;
        lv_receive(&m, NULL, NULL, 1); /* pause 1 ms: wakes through a timer */
    }
    atomic_store(&done, 1);
}

static int cmp(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

Test(preempt, ping_pong_beside_four_spinners_on_one_scheduler, .timeout = 60)
{
    lv_rt_config cfg;
    lv_rt_config_defaults(&cfg);
    cfg.schedulers = 1;
    lv_rt *rt;
    cr_assert_eq(lv_rt_new(&cfg, &rt), 0);
    cr_assert_eq(lv_rt_start(rt), 0);
    lv_pid spinners[4], pong;
    for (int i = 0; i < 4; i++)
        cr_assert_eq(lv_rt_spawn(rt, "spinner", spinner, NULL, &spinners[i]), 0);
    cr_assert_eq(lv_rt_spawn(rt, "ponger", ponger, NULL, &pong), 0);
    cr_assert_eq(lv_rt_spawn(rt, "pinger", pinger, &pong, NULL), 0);
    uint64_t deadline = now_us() + 30000000u;
    while (!atomic_load(&done) && now_us() < deadline) {
        struct timespec ts = {0, 10000000};
        nanosleep(&ts, NULL);
    }
    cr_assert(atomic_load(&done), "the ping-pong starved beside the spinners");
    qsort(rtt, ROUNDS, sizeof(rtt[0]), cmp);
    uint64_t p99 = rtt[ROUNDS * 99 / 100];
    cr_log_info("ping-pong beside 4 spinners: p50 %lu us, p99 %lu us", (unsigned long)rtt[ROUNDS / 2],
                (unsigned long)p99);
#ifdef LV_ASAN
    cr_expect_lt(p99, 50000, "p99 %lu us", (unsigned long)p99);
#else
    cr_expect_lt(p99, 10000, "p99 %lu us", (unsigned long)p99); /* the benchmark measures the real figure */
#endif
    for (int i = 0; i < 4; i++)
        cr_assert_eq(lv_rt_kill(rt, spinners[i]), 0);
    deadline = now_us() + 5000000u;
    for (int i = 0; i < 4; i++)
        while (lv_rt_alive(rt, spinners[i]) && now_us() < deadline) {
            struct timespec ts = {0, 1000000};
            nanosleep(&ts, NULL);
        }
    for (int i = 0; i < 4; i++)
        cr_assert_not(lv_rt_alive(rt, spinners[i]), "kill did not end spinner %d", i);
    lv_rt_free(rt);
}

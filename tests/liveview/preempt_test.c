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

#define ROUNDS 400

static uint64_t now_us(void)
{
    return test_now_ns() / 1000u;
}

Test(preempt, ping_pong_beside_four_spinners_on_one_scheduler, .timeout = 60)
{
    lv_rt *rt = test_rt_started(1);
    cr_assert_not_null(rt);
    lv_pid spinners[4];
    static uint64_t rtt[ROUNDS];
    static test_pinger ping = {.rounds = ROUNDS, .rtt_ns = rtt};
    for (int i = 0; i < 4; i++)
        cr_assert_eq(lv_rt_spawn(rt, "spinner", spinner, NULL, &spinners[i]), 0);
    cr_assert_eq(lv_rt_spawn(rt, "ponger", ponger, NULL, &ping.pong), 0);
    cr_assert_eq(lv_rt_spawn(rt, "pinger", timed_pinger, &ping, NULL), 0);
    uint64_t deadline = now_us() + 30000000u;
    while (atomic_load(&ping.done) < ROUNDS && now_us() < deadline) {
        struct timespec ts = {0, 10000000};
        nanosleep(&ts, NULL);
    }
    cr_assert_eq(atomic_load(&ping.done), ROUNDS, "the ping-pong starved beside the spinners");
    qsort(rtt, ROUNDS, sizeof(rtt[0]), cmp_u64);
    uint64_t p99 = rtt[ROUNDS * 99 / 100] / 1000u;
    cr_log_info("ping-pong beside 4 spinners: p50 %lu us, p99 %lu us", (unsigned long)(rtt[ROUNDS / 2] / 1000u),
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

/* A process blocked in a system call does not starve its scheduler: with one scheduler, a
 * ping-pong keeps running while another process sits in a blocking read(); the scheduler moves
 * to another thread, and the blocked process comes home afterwards to use timers, be killed or
 * crash like any other. */
#include <criterion/criterion.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "liveview/runtime.h"
#include "tests/common/test_procs.h"

static uint64_t now_us(void)
{
    return test_now_ns() / 1000u;
}

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000};
    nanosleep(&ts, NULL);
}

static lv_rt *start_one_scheduler(void)
{
    lv_rt *rt = test_rt_started(1);
    cr_assert_not_null(rt);
    return rt;
}

/* ---- the blocked process ---- */

typedef struct {
    int fd;                /* read end of a pipe that the test writes to when it is done */
    _Atomic int got_byte;  /* read() returned */
    _Atomic int timer_ok;  /* a timer set after the call fired */
    int after;             /* what to do after the call: 0 timer, 1 spin, 2 crash */
    _Atomic int tid;       /* the thread that made the call */
} blocker_arg;

static void blocker(void *arg)
{
    blocker_arg *b = arg;
    char c;
    ssize_t n;
    atomic_store(&b->tid, (int)gettid());
    do
        n = read(b->fd, &c, 1); /* blocks the thread in the kernel */
    while (n < 0);
    atomic_store(&b->got_byte, 1);
    if (b->after == 1)
        spinner(NULL);
    if (b->after == 2)
        crash_null(NULL);
    lv_send_after(5, "tick", NULL); /* timers belong to the scheduler: the process goes home */
    const lv_msg *m;
    if (lv_receive(&m, NULL, NULL, 5000) == 0 && strcmp(m->tag, "tick") == 0)
        atomic_store(&b->timer_ok, 1);
}

#define ROUNDS 200

Test(handoff, blocking_read_does_not_starve_its_scheduler, .timeout = 60)
{
    lv_rt *rt = start_one_scheduler();
    int fds[2];
    cr_assert_eq(pipe(fds), 0);
    blocker_arg b = {.fd = fds[0]};
    lv_pid blocker_pid;
    cr_assert_eq(lv_rt_spawn(rt, "blocker", blocker, &b, &blocker_pid), 0);
    sleep_ms(50); /* the blocker is in read() now */
    static uint64_t rtt[ROUNDS];
    static test_pinger ping = {.rounds = ROUNDS, .rtt_ns = rtt};
    cr_assert_eq(lv_rt_spawn(rt, "ponger", ponger, NULL, &ping.pong), 0);
    cr_assert_eq(lv_rt_spawn(rt, "pinger", timed_pinger, &ping, NULL), 0);
    uint64_t deadline = now_us() + 20000000u;
    while (atomic_load(&ping.done) < ROUNDS && now_us() < deadline)
        sleep_ms(5);
    /* everything above happened while the blocker still sat in read() */
    cr_assert_eq(atomic_load(&ping.done), ROUNDS, "the ping-pong starved: %d rounds", atomic_load(&ping.done));
    cr_assert_eq(atomic_load(&b.got_byte), 0);
    qsort(rtt, ROUNDS, sizeof(rtt[0]), cmp_u64);
    cr_log_info("ping-pong beside a blocked process: p50 %llu ns, p99 %llu ns",
                (unsigned long long)rtt[ROUNDS / 2], (unsigned long long)rtt[ROUNDS * 99 / 100]);
    cr_expect_lt(rtt[ROUNDS / 2], 5000000u, "p50 %llu ns", (unsigned long long)rtt[ROUNDS / 2]);
    lv_sched_stats st;
    lv_rt_sched_stats(rt, 0, &st);
    cr_expect_geq(st.handoffs, 1u);
    lv_proc_info info;
    cr_assert_eq(lv_rt_info(rt, blocker_pid, &info), 0);
    cr_expect_str_eq(info.status, "blocked", "lvctl ps shows it blocked, not running");

    cr_assert_eq(write(fds[1], "x", 1), 1);
    deadline = now_us() + 10000000u;
    while (!atomic_load(&b.timer_ok) && now_us() < deadline)
        sleep_ms(5);
    cr_assert(atomic_load(&b.got_byte));
    cr_assert(atomic_load(&b.timer_ok), "the process did not come home to its timers");
    lv_rt_free(rt);
    close(fds[0]);
    close(fds[1]);
}

/* The blocked process is killed after its call returns into a loop, or crashes there: the
 * exit reaches its monitor as from any process. */
static void watcher(void *arg)
{
    lv_pid *pids = arg; /* [0] the one to watch, [1] where to report, [2] out: the reason code */
    lv_monitor(pids[0], NULL);
    const lv_msg *m;
    if (lv_receive(&m, NULL, NULL, 20000) == 0 && m->kind == LV_MSG_DOWN)
        pids[2] = strcmp(m->tag, LV_REASON_KILLED) == 0 ? 1 : strcmp(m->tag, LV_REASON_CRASH) == 0 ? 2 : 3;
    else
        pids[2] = 4;
}

static void ends_after_blocking(int after, int kill_it, lv_pid expected_reason)
{
    lv_rt *rt = start_one_scheduler();
    int fds[2];
    cr_assert_eq(pipe(fds), 0);
    blocker_arg b = {.fd = fds[0], .after = after};
    lv_pid pids[3] = {0, 0, 0};
    cr_assert_eq(lv_rt_spawn(rt, "blocker", blocker, &b, &pids[0]), 0);
    cr_assert_eq(lv_rt_spawn(rt, "watcher", watcher, pids, NULL), 0);
    sleep_ms(100);
    cr_assert_eq(write(fds[1], "x", 1), 1);
    uint64_t deadline = now_us() + 5000000u;
    while (!atomic_load(&b.got_byte) && now_us() < deadline)
        sleep_ms(2);
    cr_assert(atomic_load(&b.got_byte));
    if (kill_it) {
        sleep_ms(50); /* spinning now, in application code on its old thread or at home */
        cr_assert_eq(lv_rt_kill(rt, pids[0]), 0);
    }
    deadline = now_us() + 10000000u;
    while (pids[2] == 0 && now_us() < deadline)
        sleep_ms(5);
    cr_assert_eq(pids[2], expected_reason, "exit seen by the monitor: %llu", (unsigned long long)pids[2]);
    cr_assert_eq(lv_rt_process_count(rt), 0);
    lv_rt_free(rt);
    close(fds[0]);
    close(fds[1]);
}

Test(handoff, a_blocked_process_spinning_afterwards_can_be_killed, .timeout = 60)
{
    ends_after_blocking(1, 1, 1);
}

Test(handoff, a_blocked_process_crashing_afterwards_is_reported, .timeout = 60)
{
    ends_after_blocking(2, 0, 2);
}

/* --bind-schedulers: the thread left behind in the call is let go of its scheduler's CPU, so it
 * does not compete with the scheduler's new thread there. */
Test(handoff, a_bound_scheduler_lets_its_old_thread_go_anywhere, .timeout = 60)
{
    cpu_set_t allowed, mask;
    cr_assert_eq(sched_getaffinity(0, sizeof(allowed), &allowed), 0);
    if (CPU_COUNT(&allowed) < 2)
        cr_skip_test("one CPU: binding changes nothing");
    lv_rt_config cfg;
    lv_rt_config_defaults(&cfg);
    cfg.schedulers = 1;
    cfg.bind_schedulers = true;
    lv_rt *rt;
    cr_assert_eq(lv_rt_new(&cfg, &rt), 0);
    cr_assert_eq(lv_rt_start(rt), 0);
    int fds[2];
    cr_assert_eq(pipe(fds), 0);
    blocker_arg b = {.fd = fds[0]};
    cr_assert_eq(lv_rt_spawn(rt, "blocker", blocker, &b, NULL), 0);
    for (int i = 0; i < 200 && atomic_load(&b.tid) == 0; i++)
        sleep_ms(5);
    cr_assert(atomic_load(&b.tid) > 0);
    cr_assert_eq(sched_getaffinity(atomic_load(&b.tid), sizeof(mask), &mask), 0);
    cr_expect_eq(CPU_COUNT(&mask), 1, "the scheduler's thread was not bound");
    lv_sched_stats st = {0};
    for (int i = 0; i < 400 && st.handoffs == 0; i++) {
        sleep_ms(5);
        lv_rt_sched_stats(rt, 0, &st);
    }
    cr_assert_eq(st.handoffs, 1, "no hand-off");
    cr_assert_eq(sched_getaffinity(atomic_load(&b.tid), sizeof(mask), &mask), 0);
    cr_expect(CPU_EQUAL(&mask, &allowed), "the blocked thread still sits on %d CPU(s)", CPU_COUNT(&mask));
    cr_assert_eq(write(fds[1], "x", 1), 1);
    for (int i = 0; i < 1000 && !atomic_load(&b.timer_ok); i++)
        sleep_ms(5);
    cr_expect(atomic_load(&b.timer_ok), "the process did not come home after its call");
    close(fds[0]);
    close(fds[1]);
    lv_rt_free(rt);
}

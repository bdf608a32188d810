/* Balance between schedulers: processes spawned on one scheduler spread to an idle one, keep
 * their PIDs, timers and kill, and views (which hold a socket of their loop) never move. */
#include <criterion/criterion.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "liveview/runtime.h"
#include "tests/common/test_procs.h"

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000};
    nanosleep(&ts, NULL);
}

#define KIDS 4

typedef struct {
    lv_pid kids[KIDS];
    _Atomic int spawned;
    _Atomic int stop_spinning;
    _Atomic int got_timer;
    lv_proc_fn kid;
} family;

static family fam;

/* Spawns the kids from inside a process: all start on the parent's scheduler. */
static void parent(void *arg)
{
    family *f = arg;
    for (int i = 0; i < KIDS; i++)
        lv_spawn("kid", f->kid, f, &f->kids[i]);
    atomic_store(&f->spawned, 1);
    const lv_msg *m;
    lv_receive(&m, NULL, NULL, -1); /* stays alive, waiting */
}

/* Sets a timer, spins until told to stop, then expects the timer's message. */
static void timed_spinner(void *arg)
{
    family *f = arg;
    lv_send_after(150, "t", NULL);
    while (!atomic_load_explicit(&f->stop_spinning, memory_order_relaxed))
        ;
    const lv_msg *m;
    if (lv_receive(&m, NULL, NULL, 3000) == 0 && m->kind == LV_MSG_TIMER && strcmp(m->tag, "t") == 0)
        atomic_fetch_add(&f->got_timer, 1);
}

static int scheduler_of(lv_rt *rt, lv_pid pid)
{
    lv_proc_info info;
    return lv_rt_info(rt, pid, &info) == 0 ? info.scheduler : -1;
}

static void expect_kids_on_both(lv_rt *rt)
{
    int on[2] = {0, 0};
    for (int i = 0; i < KIDS; i++) {
        int s = scheduler_of(rt, fam.kids[i]);
        cr_assert(s == 0 || s == 1);
        on[s]++;
    }
    cr_expect(on[0] > 0 && on[1] > 0, "all kids stayed on one scheduler (%d, %d)", on[0], on[1]);
}

static void start_family(lv_rt *rt, lv_proc_fn kid)
{
    memset(&fam, 0, sizeof(fam));
    fam.kid = kid;
    cr_assert_eq(lv_rt_spawn(rt, "parent", parent, &fam, NULL), 0);
    for (int i = 0; i < 200 && !atomic_load(&fam.spawned); i++)
        sleep_ms(5);
    cr_assert(atomic_load(&fam.spawned));
}

Test(balance, spinners_spawned_on_one_scheduler_spread_to_the_idle_one, .timeout = 60)
{
    lv_rt *rt = test_rt_started(2);
    cr_assert_not_null(rt);
    start_family(rt, spinner);
    sleep_ms(300);
    lv_sched_stats a0, a1, b0, b1;
    lv_rt_sched_stats(rt, 0, &a0);
    lv_rt_sched_stats(rt, 1, &a1);
    uint64_t t0 = test_now_ns();
    sleep_ms(500);
    lv_rt_sched_stats(rt, 0, &b0);
    lv_rt_sched_stats(rt, 1, &b1);
    double wall = (double)(test_now_ns() - t0);
    double u0 = (double)(b0.busy_ns - a0.busy_ns) / wall, u1 = (double)(b1.busy_ns - a1.busy_ns) / wall;
    cr_log_info("4 spinners on 2 schedulers: utilisation %.2f and %.2f", u0, u1);
    expect_kids_on_both(rt);
    /* a shared machine may steal some time; an unbalanced runtime leaves one at 0 */
    cr_expect_gt(u0, 0.4, "scheduler 0 at %.2f", u0);
    cr_expect_gt(u1, 0.4, "scheduler 1 at %.2f", u1);
    for (int i = 0; i < KIDS; i++)
        cr_assert_eq(lv_rt_kill(rt, fam.kids[i]), 0, "kill of a moved process by its PID");
    for (int i = 0; i < KIDS; i++)
        for (int w = 0; w < 500 && lv_rt_alive(rt, fam.kids[i]); w++)
            sleep_ms(2);
    for (int i = 0; i < KIDS; i++)
        cr_assert_not(lv_rt_alive(rt, fam.kids[i]), "kid %d survived its kill", i);
    lv_rt_free(rt);
}

Test(balance, a_moved_process_keeps_its_timers, .timeout = 60)
{
    lv_rt *rt = test_rt_started(2);
    cr_assert_not_null(rt);
    start_family(rt, timed_spinner);
    sleep_ms(300); /* the timers (150 ms) are due while their owners spin; some have moved */
    expect_kids_on_both(rt);
    atomic_store(&fam.stop_spinning, 1);
    for (int w = 0; w < 500 && atomic_load(&fam.got_timer) < KIDS; w++)
        sleep_ms(5);
    cr_assert_eq(atomic_load(&fam.got_timer), KIDS, "timers lost in a move: %d of %d arrived",
                 atomic_load(&fam.got_timer), KIDS);
    lv_rt_free(rt);
}

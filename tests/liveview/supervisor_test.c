/* Supervisors: strategies and restart intensity. */
#include <criterion/criterion.h>
#include <string.h>

#include "liveview/supervisor.h"
#include "tests/common/test_procs.h"

static lv_rt *rt;
static void setup(void)
{
    rt = test_virtual_rt(0, fopen("/dev/null", "w"));
    cr_assert_not_null(rt);
}
static void teardown(void)
{
    lv_rt_free(rt);
}
TestSuite(supervisor, .init = setup, .fini = teardown, .timeout = 20);

static int starts[3];
static void worker(void *arg)
{
    int i = (int)(intptr_t)arg;
    starts[i]++;
    const lv_msg *m;
    while (lv_receive(&m, NULL, NULL, -1) == 0)
        if (strcmp(m->tag, "crash") == 0)
            lv_crash("worker %d told to crash", i);
}

static lv_child_spec kids[3] = {
    {"w0", worker, (void *)0, LV_PERMANENT},
    {"w1", worker, (void *)1, LV_PERMANENT},
    {"w2", worker, (void *)2, LV_PERMANENT},
};

typedef struct {
    lv_pid sup;
    size_t index;
    lv_pid answer;
} ask;

static void asker(void *arg)
{
    ask *a = arg;
    lv_supervisor_child(a->sup, a->index, &a->answer);
}

static lv_pid child_of(lv_pid sup, size_t i)
{
    ask a = {sup, i, 0};
    lv_rt_spawn(rt, "asker", asker, &a, NULL);
    lv_rt_run_until_idle(rt);
    return a.answer;
}

static void crash_child(lv_pid sup, size_t i)
{
    lv_pid c = child_of(sup, i);
    cr_assert_neq(c, 0);
    lv_rt_send(rt, c, "crash", NULL, 0);
    lv_rt_run_until_idle(rt);
}

static lv_pid start(lv_strategy strategy, int max)
{
    memset(starts, 0, sizeof(starts));
    lv_sup_spec spec = {strategy, max, 5000, kids, 3};
    lv_pid sup;
    cr_assert_eq(lv_supervisor_start(rt, "sup", &spec, &sup), 0);
    lv_rt_run_until_idle(rt);
    cr_assert_eq(starts[0] + starts[1] + starts[2], 3);
    return sup;
}

Test(supervisor, one_for_one_restarts_only_the_crashed_child)
{
    lv_pid sup = start(LV_ONE_FOR_ONE, 3);
    lv_pid before0 = child_of(sup, 0), before2 = child_of(sup, 2);
    crash_child(sup, 1);
    cr_assert_eq(starts[1], 2);
    cr_assert_eq(starts[0], 1);
    cr_assert_eq(child_of(sup, 0), before0);
    cr_assert_eq(child_of(sup, 2), before2);
}

Test(supervisor, one_for_all_restarts_everyone)
{
    lv_pid sup = start(LV_ONE_FOR_ALL, 3);
    lv_pid before0 = child_of(sup, 0);
    crash_child(sup, 1);
    cr_assert_eq(starts[0], 2);
    cr_assert_eq(starts[1], 2);
    cr_assert_eq(starts[2], 2);
    cr_assert_not(lv_rt_alive(rt, before0));
}

Test(supervisor, rest_for_one_restarts_the_child_and_later_ones)
{
    lv_pid sup = start(LV_REST_FOR_ONE, 3);
    crash_child(sup, 1);
    cr_assert_eq(starts[0], 1);
    cr_assert_eq(starts[1], 2);
    cr_assert_eq(starts[2], 2);
}

Test(supervisor, too_many_restarts_end_the_supervisor_and_its_children)
{
    lv_pid sup = start(LV_ONE_FOR_ONE, 2);
    crash_child(sup, 0);
    crash_child(sup, 0);
    cr_assert(lv_rt_alive(rt, sup));
    lv_pid c2 = child_of(sup, 2);
    crash_child(sup, 0);
    cr_assert_not(lv_rt_alive(rt, sup), "the third restart within the period exceeds the intensity");
    cr_assert_not(lv_rt_alive(rt, c2), "its children end with it");
}

Test(supervisor, restarts_outside_the_period_do_not_count)
{
    lv_pid sup = start(LV_ONE_FOR_ONE, 1);
    crash_child(sup, 0);
    lv_rt_advance(rt, 6000);
    crash_child(sup, 0);
    cr_assert(lv_rt_alive(rt, sup));
    cr_assert_eq(starts[0], 3);
}

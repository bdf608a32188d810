/* Introspection on real scheduler threads: list, info, top, backtraces (also of a spinning
 * process) and traces. */
#include <criterion/criterion.h>
#include <stdatomic.h>
#include <string.h>
#include <time.h>

#include "liveview/runtime.h"

static lv_rt *rt;
static void setup(void)
{
    lv_rt_config cfg;
    lv_rt_config_defaults(&cfg);
    cfg.schedulers = 1;
    cr_assert_eq(lv_rt_new(&cfg, &rt), 0);
    cr_assert_eq(lv_rt_start(rt), 0);
}
static void teardown(void)
{
    lv_rt_free(rt);
}
TestSuite(introspect, .init = setup, .fini = teardown, .timeout = 30);

static void ms_sleep(int ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

__attribute__((noinline)) static void spin_forever(void)
{
    uint64_t x = 1;
    for (;;) {
        x = x * 6364136223846793005u + 1;
        __asm__ volatile("" : "+r"(x));
    }
}
static void spinner(void *arg)
{
    (void)arg;
    spin_forever();
}

static void waiter(void *arg)
{
    (void)arg;
    const lv_msg *m;
    while (lv_receive(&m, NULL, NULL, -1) == 0)
        ;
}

Test(introspect, list_info_and_top)
{
    lv_pid s, w;
    lv_rt_spawn(rt, "spinner", spinner, NULL, &s);
    lv_rt_spawn(rt, "waiter", waiter, NULL, &w);
    lv_rt_send(rt, w, "a", NULL, 0);
    ms_sleep(1200);
    lv_proc_info *all;
    size_t n;
    cr_assert_eq(lv_rt_list(rt, &all, &n), 0);
    cr_assert_eq(n, 2);
    free(all);
    lv_proc_info info;
    cr_assert_eq(lv_rt_info(rt, w, &info), 0);
    cr_assert_str_eq(info.name, "waiter");
    cr_assert_str_eq(info.status, "waiting");
    cr_assert_geq(info.reductions, 1);
    lv_proc_info top[5];
    cr_assert_eq(lv_rt_top(rt, top, 5, &n), 0);
    cr_assert_eq(top[0].pid, s, "the spinner tops the list");
    cr_assert_gt(top[0].cpu_us_last_s, 500000, "it used %lu us in the last second",
                 (unsigned long)top[0].cpu_us_last_s);
    cr_assert_eq(lv_rt_info(rt, 424242, &info), LV_ENOPROC);
    lv_rt_kill(rt, s);
}

Test(introspect, backtraces_of_waiting_and_spinning_processes)
{
    lv_pid s, w;
    lv_rt_spawn(rt, "spinner", spinner, NULL, &s);
    lv_rt_spawn(rt, "waiter", waiter, NULL, &w);
    lv_proc_info info = {0};
    for (int i = 0; i < 5000 && (lv_rt_info(rt, w, &info) != 0 || info.reductions == 0); i++)
        ms_sleep(1); /* until the waiter has run once and waits in lv_receive */
    char bt[4096];
    cr_assert_eq(lv_rt_backtrace(rt, w, bt, sizeof(bt), 1000), 0);
    cr_assert(strstr(bt, "lv_receive") && strstr(bt, "waiter"), "%s", bt);
    cr_assert_eq(lv_rt_backtrace(rt, s, bt, sizeof(bt), 1000), 0);
    cr_assert(strstr(bt, "current function: spin_forever"), "%s", bt);
    cr_assert_eq(lv_rt_backtrace(rt, 999999, bt, sizeof(bt), 100), LV_ENOPROC);
    lv_rt_kill(rt, s);
}

static void sender(void *arg)
{
    lv_pid to = *(lv_pid *)arg;
    for (int i = 0; i < 100; i++) {
        lv_send(to, "hello", "x", 1);
        const lv_msg *m;
        lv_receive(&m, NULL, NULL, 5);
    }
}

Test(introspect, trace_records_the_next_messages)
{
    lv_pid w;
    lv_rt_spawn(rt, "waiter", waiter, NULL, &w);
    lv_rt_spawn(rt, "sender", sender, &w, NULL);
    lv_trace_entry entries[50];
    size_t n;
    cr_assert_eq(lv_rt_trace(rt, w, 1000, 10, entries, &n), 0);
    cr_assert_eq(n, 10);
    cr_assert_str_eq(entries[0].tag, "hello");
    cr_assert_str_eq(entries[0].what, "message");
    cr_assert_eq(entries[0].size, 1);
}

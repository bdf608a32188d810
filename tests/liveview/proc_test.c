/* Process runtime: spawning, messages, selective receive, timers, monitors, links, names, crash
 * isolation and bad input. Each test drives its own caller-driven runtime with a virtual clock. */
#include <assert.h>
#include <criterion/criterion.h>
#include <criterion/redirect.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "liveview/runtime.h"
#include "tests/common/test_procs.h"
#include "liveview/sanitizer.h"

static lv_rt *rt;

static void setup(void)
{
    rt = test_virtual_rt(1 << 20, NULL);
    cr_assert_not_null(rt);
}

static void teardown(void)
{
    lv_rt_free(rt);
}

TestSuite(proc, .init = setup, .fini = teardown, .timeout = 20);

static char log_buf[512];
static void note(const char *s)
{
    strncat(log_buf, s, sizeof(log_buf) - strlen(log_buf) - 1);
    strncat(log_buf, ";", sizeof(log_buf) - strlen(log_buf) - 1);
}

static void echo(void *arg)
{
    (void)arg;
    const lv_msg *m;
    while (lv_receive(&m, NULL, NULL, -1) == 0) {
        if (strcmp(m->tag, "stop") == 0)
            return;
        lv_send(m->from, m->tag, m->data, m->size);
    }
}

static void pinger(void *arg)
{
    (void)arg;
    lv_pid e;
    cr_assert_eq(lv_spawn("echo", echo, NULL, &e), 0);
    int v = 41;
    lv_send(e, "ping", &v, sizeof(v));
    const lv_msg *m;
    cr_assert_eq(lv_receive(&m, NULL, NULL, -1), 0);
    cr_assert_str_eq(m->tag, "ping");
    cr_assert_eq(m->size, sizeof(int));
    cr_assert_eq(*(const int *)m->data, 41);
    cr_assert_eq(m->from, e);
    lv_send(e, "stop", NULL, 0);
    note("pong");
}

Test(proc, send_and_receive)
{
    log_buf[0] = '\0';
    cr_assert_eq(lv_rt_spawn(rt, "pinger", pinger, NULL, NULL), 0);
    lv_rt_run_until_idle(rt);
    cr_assert_str_eq(log_buf, "pong;");
}

static bool tag_is_b(const lv_msg *m, void *ctx)
{
    (void)ctx;
    return strcmp(m->tag, "b") == 0;
}

static void selective(void *arg)
{
    (void)arg;
    lv_send(lv_self(), "a", NULL, 0);
    lv_send(lv_self(), "b", NULL, 0);
    lv_send(lv_self(), "c", NULL, 0);
    const lv_msg *m;
    cr_assert_eq(lv_receive(&m, tag_is_b, NULL, -1), 0);
    note(m->tag);
    cr_assert_eq(lv_receive(&m, NULL, NULL, -1), 0);
    note(m->tag);
    cr_assert_eq(lv_receive(&m, NULL, NULL, -1), 0);
    note(m->tag);
    cr_assert_eq(lv_receive(&m, NULL, NULL, 0), LV_ETIMEDOUT);
    note("empty");
}

Test(proc, selective_receive_keeps_order_of_the_rest)
{
    log_buf[0] = '\0';
    lv_rt_spawn(rt, "sel", selective, NULL, NULL);
    lv_rt_run_until_idle(rt);
    cr_assert_str_eq(log_buf, "b;a;c;empty;");
}

static void timed(void *arg)
{
    (void)arg;
    const lv_msg *m;
    uint64_t t0 = lv_rt_now_ms(lv_self_rt());
    cr_assert_eq(lv_receive(&m, NULL, NULL, 50), LV_ETIMEDOUT);
    cr_assert_geq(lv_rt_now_ms(lv_self_rt()) - t0, 50);
    uint64_t ref, ref2;
    lv_send_after(30, "late", &ref);
    lv_send_after(10, "early", &ref2);
    lv_send_after(20, "cancelled", &ref);
    cr_assert_eq(lv_cancel_timer(ref), 0);
    cr_assert_eq(lv_cancel_timer(ref), LV_ENOTFOUND);
    cr_assert_eq(lv_receive(&m, NULL, NULL, -1), 0);
    cr_assert_eq(m->kind, LV_MSG_TIMER);
    note(m->tag);
    cr_assert_eq(lv_receive(&m, NULL, NULL, -1), 0);
    note(m->tag);
    /* receive timeouts live in the same list as the timers: each fires, and goes, on its own */
    uint64_t pending;
    lv_send_after(120, "pending", &pending);
    lv_send_after(10, "soon", NULL);
    cr_assert_eq(lv_receive(&m, NULL, NULL, 50), 0);
    cr_assert_str_eq(m->tag, "soon");
    cr_assert_eq(lv_receive(&m, NULL, NULL, 20), LV_ETIMEDOUT);
    cr_assert_eq(lv_cancel_timer(pending), 0, "the receive timeout took the pending timer along");
    cr_assert_eq(lv_receive(&m, NULL, NULL, 100), LV_ETIMEDOUT);
    note("done");
}

Test(proc, receive_timeout_and_timers)
{
    log_buf[0] = '\0';
    lv_rt_spawn(rt, "timed", timed, NULL, NULL);
    lv_rt_run_until_idle(rt);
    lv_rt_advance(rt, 300);
    cr_assert_str_eq(log_buf, "early;late;done;");
}

static void sleeper(void *arg)
{
    (void)arg;
    const lv_msg *m;
    lv_receive(&m, NULL, NULL, -1);
}

static void monitor_all(void *arg)
{
    (void)arg;
    size_t n = sizeof(crashers) / sizeof(crashers[0]);
    uint64_t refs[16];
    lv_pid bystander;
    lv_spawn("bystander", sleeper, NULL, &bystander);
    for (size_t i = 0; i < n; i++) {
        lv_pid p;
        cr_assert_eq(lv_spawn("crasher", crashers[i], NULL, &p), 0);
        cr_assert_eq(lv_monitor(p, &refs[i]), 0);
    }
    for (size_t got = 0; got < n; got++) {
        const lv_msg *m;
        cr_assert_eq(lv_receive(&m, NULL, NULL, 1000), 0, "a DOWN message is missing");
        cr_assert_eq(m->kind, LV_MSG_DOWN);
        size_t i = 0;
        while (i < n && refs[i] != m->ref)
            i++;
        cr_assert_lt(i, n);
        cr_assert_str_eq(m->tag, crash_reasons[i], "crasher %zu ended with %s", i, m->tag);
        note(m->tag);
    }
    cr_assert(lv_rt_alive(lv_self_rt(), bystander), "a crash disturbed another process");
    lv_send(bystander, "bye", NULL, 0);
}

Test(proc, every_crash_kind_ends_only_the_faulty_process)
{
    log_buf[0] = '\0';
    lv_rt_spawn(rt, "monitor", monitor_all, NULL, NULL);
    lv_rt_run_until_idle(rt);
    cr_assert_eq(strlen(log_buf) > 0, 1);
    int downs = 0;
    for (const char *p = log_buf; *p; p++)
        downs += *p == ';';
    cr_assert_eq(downs, 7);
}

static void linked_child(void *arg)
{
    (void)arg;
    lv_crash("child fails");
}

static void trapper(void *arg)
{
    (void)arg;
    lv_trap_exit(true);
    lv_pid c;
    lv_spawn("child", linked_child, NULL, &c);
    lv_link(c);
    const lv_msg *m;
    cr_assert_eq(lv_receive(&m, NULL, NULL, 100), 0);
    cr_assert_eq(m->kind, LV_MSG_EXIT);
    cr_assert_str_eq(m->tag, "crash");
    note("trapped");
}

static void victim(void *arg)
{
    (void)arg;
    lv_pid c;
    lv_spawn("child", linked_child, NULL, &c);
    lv_link(c);
    const lv_msg *m;
    lv_receive(&m, NULL, NULL, -1);
    note("never");
}

Test(proc, links_propagate_crashes_unless_trapped)
{
    log_buf[0] = '\0';
    lv_pid t, v;
    lv_rt_spawn(rt, "trapper", trapper, NULL, &t);
    lv_rt_spawn(rt, "victim", victim, NULL, &v);
    lv_rt_run_until_idle(rt);
    lv_rt_advance(rt, 200);
    cr_assert_str_eq(log_buf, "trapped;");
    cr_assert_not(lv_rt_alive(rt, v));
}

Test(proc, bad_input_is_an_error_code)
{
    cr_assert_eq(lv_rt_send(rt, 12345, "x", NULL, 0), LV_ENOPROC);
    lv_pid p;
    lv_rt_spawn(rt, "sleeper", sleeper, NULL, &p);
    lv_rt_run_until_idle(rt);
    static char big[(1 << 20) + 1];
    cr_assert_eq(lv_rt_send(rt, p, "big", big, sizeof(big)), LV_ETOOBIG);
    cr_assert(lv_rt_alive(rt, p));
    lv_pid who;
    cr_assert_eq(lv_whereis(rt, "nobody", &who), LV_ENONAME);
    cr_assert_eq(lv_rt_kill(rt, p), 0);
    lv_rt_run_until_idle(rt);
    cr_assert_not(lv_rt_alive(rt, p));
    cr_assert_eq(lv_rt_kill(rt, p), LV_ENOPROC);
    cr_assert_eq(lv_rt_send(rt, p, "x", NULL, 0), LV_ENOPROC, "a dead PID must never be reused");
}

static void registrar(void *arg)
{
    (void)arg;
    cr_assert_eq(lv_register("reg", lv_self()), 0);
    cr_assert_eq(lv_register("reg", lv_self()), LV_EEXIST);
    lv_pid who;
    cr_assert_eq(lv_whereis(lv_self_rt(), "reg", &who), 0);
    cr_assert_eq(who, lv_self());
    cr_assert_eq(lv_unregister("reg"), 0);
    cr_assert_eq(lv_unregister("reg"), LV_ENONAME);
    cr_assert_eq(lv_register("reg2", lv_self()), 0);
    note("ok");
}

Test(proc, names)
{
    log_buf[0] = '\0';
    lv_rt_spawn(rt, "registrar", registrar, NULL, NULL);
    lv_rt_run_until_idle(rt);
    cr_assert_str_eq(log_buf, "ok;");
    lv_pid who;
    cr_assert_eq(lv_whereis(rt, "reg2", &who), LV_ENONAME, "a name dies with its process");
}

static int handled;
static void counter(void *state, const lv_msg *m)
{
    int *n = state;
    (*n)++;
    handled = *n;
    if (strcmp(m->tag, "crash") == 0)
        lv_crash("asked to");
}

Test(proc, handler_processes_keep_state_between_messages)
{
    lv_pid p;
    handled = 0;
    cr_assert_eq(lv_rt_spawn_handler(rt, "counter", sizeof(int), NULL, NULL, counter, &p), 0);
    for (int i = 0; i < 5; i++)
        lv_rt_send(rt, p, "tick", NULL, 0);
    lv_rt_run_until_idle(rt);
    cr_assert_eq(handled, 5);
    lv_rt_send(rt, p, "crash", NULL, 0);
    lv_rt_run_until_idle(rt);
    cr_assert_not(lv_rt_alive(rt, p));
}

static long count_fds(void)
{
    long n = 0;
    FILE *f = popen("ls /proc/self/fd | wc -l", "r");
    if (f && fscanf(f, "%ld", &n) != 1)
        n = -1;
    if (f)
        pclose(f);
    return n;
}

Test(proc, ten_thousand_crashes_leave_nothing_behind, .timeout = 120)
{
    lv_rt_free(rt);
    lv_rt_config cfg;
    lv_rt_config_defaults(&cfg);
    cfg.schedulers = 0;
    cfg.virtual_clock = true;
    cfg.crash_log = fopen("/dev/null", "w");
    cr_assert_eq(lv_rt_new(&cfg, &rt), 0);
    cr_redirect_stderr();         /* assert() prints on its own */
    for (int i = 0; i < 600; i++) /* warm-up: pools and allocator reach their steady size */
        lv_rt_spawn(rt, "c", crashers[i % 6], NULL, NULL);
    lv_rt_run_until_idle(rt);
    long fds = count_fds();
    long long rss = lv_rss_bytes();
    for (int i = 0; i < 10000; i++) {
        cr_assert_eq(lv_rt_spawn(rt, "c", crashers[i % 6], NULL, NULL), 0);
        if (i % 100 == 99)
            lv_rt_run_until_idle(rt);
    }
    lv_rt_run_until_idle(rt);
    cr_assert_eq(count_fds(), fds, "file descriptors leaked");
#ifndef LV_ASAN /* ASan's quarantine keeps freed memory resident on purpose */
    long long grown = lv_rss_bytes() - rss;
    cr_assert_lt(grown, 4 << 20, "RSS grew by %lld bytes over 10,000 crashes", grown);
#else
    (void)rss;
#endif
    fclose(cfg.crash_log);
}

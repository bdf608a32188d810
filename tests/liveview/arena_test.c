/* A process's arena (liveview/arena.c through lv_alloc): made by the first allocation, let go with
 * its header once empty, so an idle process holds none; the heap limit still counts everything a
 * process keeps across messages. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "liveview/runtime.h"
#include "tests/common/test_procs.h"

static char hoarder_reason[32];
static void hoarder_exit(void *ctx, const char *reason)
{
    (void)ctx;
    snprintf(hoarder_reason, sizeof(hoarder_reason), "%s", reason);
}

static void hoarder(void *arg)
{
    (void)arg;
    void *kept[8];
    int n = 0;
    const lv_msg *m;
    while (lv_receive(&m, NULL, NULL, -1) == 0) {
        if (strcmp(m->tag, "keep") == 0 && n < 8) {
            kept[n] = lv_alloc(300 * 1024);
            memset(kept[n++], 1, 300 * 1024);
        } else if (strcmp(m->tag, "drop") == 0) {
            while (n > 0)
                lv_free(kept[--n]);
        }
    }
}

static size_t memory_of(lv_rt *rt, lv_pid p)
{
    lv_proc_info info;
    cr_assert_eq(lv_rt_info(rt, p, &info), 0);
    return info.memory;
}

Test(arena, comes_on_first_use_goes_when_empty_and_the_heap_limit_holds, .timeout = 20)
{
    lv_rt *rt = test_virtual_rt(1 << 20, NULL);
    cr_assert_not_null(rt);
    lv_pid p;
    hoarder_reason[0] = '\0';
    cr_assert_eq(lv_rt_spawn_with_exit_hook(rt, "hoarder", hoarder, NULL, hoarder_exit, NULL, &p), 0);
    lv_rt_run_until_idle(rt);
    size_t idle = memory_of(rt, p);
    lv_rt_send(rt, p, "keep", NULL, 0);
    lv_rt_run_until_idle(rt);
    cr_assert_geq(memory_of(rt, p), idle + 300 * 1024, "%zu after one block, %zu idle", memory_of(rt, p), idle);
    lv_rt_send(rt, p, "drop", NULL, 0);
    lv_rt_run_until_idle(rt);
    cr_assert_eq(memory_of(rt, p), idle, "an empty arena is let go: %zu, idle %zu", memory_of(rt, p), idle);
    for (int i = 0; i < 3; i++) /* 900 KiB of a 1 MiB limit, over three messages */
        lv_rt_send(rt, p, "keep", NULL, 0);
    lv_rt_run_until_idle(rt);
    cr_assert(lv_rt_alive(rt, p));
    lv_rt_send(rt, p, "keep", NULL, 0);
    lv_rt_run_until_idle(rt);
    cr_assert_not(lv_rt_alive(rt, p));
    cr_assert_str_eq(hoarder_reason, "heap_limit");
    lv_rt_free(rt);
}

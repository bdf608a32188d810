/* View modules (liveview/module.c, upgrade.c): a session follows upgrades v1 -> v2 -> v3, each
 * replaced module is unloaded (dlclosed, and out of the preemption table) once no process runs
 * its code, and not before: a session suspended mid-handler on the old code, or a process
 * spawned on one of its functions, keeps it loaded. Bad modules fail with one line naming them. */
#include <criterion/criterion.h>
#include <limits.h>
#include <link.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "liveview/module.h"
#include "liveview/rt_internal.h"
#include "liveview/testing.h"

#define MODULES "build/tests/modules/"
#define V1      MODULES "upgradable_v1.so"
#define V2      MODULES "upgradable_v2.so"
#define V3      MODULES "upgradable_v3.so"

typedef struct {
    char path[PATH_MAX];
    bool found;
} probe;

static int find(struct dl_phdr_info *info, size_t size, void *data)
{
    (void)size;
    probe *p = data;
    if (info->dlpi_name && strcmp(info->dlpi_name, p->path) == 0)
        p->found = true;
    return 0;
}

/* Whether the dynamic loader has the object mapped. */
static bool loaded(const char *path)
{
    probe p = {.found = false};
    cr_assert(realpath(path, p.path) != NULL, "%s is not built", path);
    dl_iterate_phdr(find, &p);
    return p.found;
}

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* Unloading takes a grace period on a thread of its own: wait for it (at most 5 s). */
static bool unloaded_soon(const char *path)
{
    for (int i = 0; i < 500; i++) {
        if (!loaded(path) && lv__module_unloading() == 0)
            return true;
        sleep_ms(10);
    }
    return false;
}

/* Long enough for an unload that should not happen to have happened (the grace is 100 ms). */
static void settle(void)
{
    sleep_ms(400);
}

static lv_test *mount_v1(const lv_view_def **def)
{
    lv_module *m;
    char msg[512];
    cr_assert_eq(lv_module_open(V1, &m, msg, sizeof(msg)), 0, "%s", msg);
    cr_assert_eq(lv_module_view(m, "upgradable", def, msg, sizeof(msg)), 0, "%s", msg);
    lv_test *t = lv_test_mount(*def, NULL);
    cr_assert_not_null(t);
    lv_module_release(m); /* the endpoint and the session hold it now */
    lv_assert_html_contains(t, "v1 count 0");
    return t;
}

static void upgrade(lv_test *t, const char *path)
{
    char msg[512];
    cr_assert_eq(lv_test_upgrade(t, path, msg, sizeof(msg)), 0, "%s", msg);
    cr_assert(strstr(msg, "upgraded 1 view") != NULL, "%s", msg);
}

Test(module, upgrades_twice_and_unloads_each_replaced_module)
{
    const lv_view_def *def;
    lv_test *t = mount_v1(&def);
    uintptr_t code = (uintptr_t)def->handle_event;
    cr_assert(lv__preempt_is_app_code(code), "a module's text is application code");
    cr_assert_eq(lv_test_click(t, "inc", NULL), 0);
    upgrade(t, V2);
    lv_assert_html_contains(t, "v2 count 1"); /* new statics, the state kept */
    cr_assert(unloaded_soon(V1), "v1 is still loaded after its only session switched");
    cr_assert_not(lv__preempt_is_app_code(code), "v1's text left the preemption table");
    cr_assert(loaded(V2));
    upgrade(t, V3);
    lv_assert_html_contains(t, "v3 count 1");
    cr_assert(unloaded_soon(V2), "v2 is still loaded after v3 replaced it");
    settle();
    cr_assert(loaded(V3), "the version new sessions use must stay");
    cr_assert_eq(lv_test_click(t, "inc", NULL), 0);
    lv_assert_html_contains(t, "v3 count 2");
    lv_test_free(t); /* its endpoint was the last holder of v3 */
    cr_assert(unloaded_soon(V3));
}

Test(module, a_session_mid_handler_keeps_the_old_module)
{
    const lv_view_def *def;
    lv_test *t = mount_v1(&def);
    cr_assert_eq(lv_test_click(t, "wait", NULL), LV_ETIMEDOUT); /* suspended in v1's handle_event */
    upgrade(t, V2);
    settle();
    cr_assert(loaded(V1), "unloaded under a session still running its code");
    lv_test_send(t, "go", NULL, 0); /* the handler returns, then the upgrade switches it */
    lv_assert_html_contains(t, "v2 count 0");
    cr_assert(unloaded_soon(V1));
    lv_test_free(t);
}

Test(module, a_process_spawned_on_module_code_keeps_it)
{
    const lv_view_def *def;
    lv_test *t = mount_v1(&def);
    cr_assert_eq(lv_test_click(t, "spawn", NULL), 0);
    lv_pid helper;
    cr_assert_eq(lv_whereis(lv_test_rt(t), "upgradable helper", &helper), 0);
    upgrade(t, V2);
    lv_assert_html_contains(t, "v2 count 0"); /* the session has left v1 ... */
    settle();
    cr_assert(loaded(V1), "unloaded under a process running its code"); /* ... its helper has not */
    cr_assert_eq(lv_rt_kill(lv_test_rt(t), helper), 0);
    lv_rt_run_until_idle(lv_test_rt(t));
    cr_assert(unloaded_soon(V1));
    lv_test_free(t);
}

Test(module, a_session_killed_on_the_old_code_releases_it)
{
    const lv_view_def *def;
    lv_test *t = mount_v1(&def);
    cr_assert_eq(lv_test_click(t, "wait", NULL), LV_ETIMEDOUT);
    upgrade(t, V2);
    cr_assert_eq(lv_rt_kill(lv_test_rt(t), lv_test_pid(t)), 0); /* `lvctl kill`, mid-handler */
    lv_rt_run_until_idle(lv_test_rt(t));
    cr_assert(unloaded_soon(V1));
    lv_test_free(t);
}

Test(module, bad_modules_fail_with_one_line_naming_the_file)
{
    lv_route routes[1];
    lv_module *mods[1];
    char msg[512];
    const lv_module_route missing[] = {{"/", "nowhere.so", "upgradable"}};
    cr_assert_eq(lv_module_load_routes(MODULES, missing, 1, routes, mods, msg, sizeof(msg)), LV_ENOTFOUND);
    cr_assert(strstr(msg, "nowhere.so") && !strchr(msg, '\n'), "%s", msg);
    const lv_module_route bad_abi[] = {{"/", "bad_abi.so", "calculator"}};
    cr_assert_eq(lv_module_load_routes(MODULES, bad_abi, 1, routes, mods, msg, sizeof(msg)), LV_EINVAL);
    cr_assert(strstr(msg, "bad_abi.so") && strstr(msg, "ABI"), "%s", msg);
    cr_assert(unloaded_soon(MODULES "bad_abi.so"), "a refused module is not kept");
    const lv_module_route no_view[] = {{"/", "upgradable_v1.so", "calculator"}};
    cr_assert_eq(lv_module_load_routes(MODULES, no_view, 1, routes, mods, msg, sizeof(msg)), LV_ENOTFOUND);
    cr_assert(strstr(msg, "upgradable_v1.so") && strstr(msg, "calculator_view"), "%s", msg);
    const lv_module_route good[] = {{"/", "upgradable_v1.so", "upgradable"}};
    cr_assert_eq(lv_module_load_routes(MODULES, good, 1, routes, mods, msg, sizeof(msg)), 0, "%s", msg);
    cr_assert_str_eq(routes[0].view->name, "upgradable");
    lv_module_release(mods[0]);
    cr_assert(unloaded_soon(V1));
}

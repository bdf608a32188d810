/* One view in three versions (-DUPGRADABLE_VERSION=1..3), each built as a module of its own
 * (build/tests/modules/upgradable_vN.so), for the loading and unloading tests of
 * tests/liveview/module_test.c. Besides counting, it can stop mid-handler (in its own code) until
 * told to go on, and spawn a helper process that runs its code until killed. */
#include <string.h>

#include "liveview/liveview.h"

typedef struct {
    int count;
} upgradable;

static int version(void)
{
    return UPGRADABLE_VERSION;
}

#include "tests/liveview/views/upgradable.lv.h"

static bool is_go(const lv_msg *m, void *ctx)
{
    (void)ctx;
    return strcmp(m->tag, "go") == 0;
}

static void helper(void *arg)
{
    (void)arg;
    const lv_msg *m;
    lv_register("upgradable helper", lv_self());
    while (lv_receive(&m, NULL, NULL, -1) == 0)
        ;
}

static int handle_event(lv_view *v, const char *event, const lv_value *payload)
{
    (void)payload;
    upgradable *u = lv_state(v);
    if (strcmp(event, "inc") == 0) {
        u->count++;
    } else if (strcmp(event, "wait") == 0) {
        const lv_msg *m;
        lv_receive(&m, is_go, NULL, -1); /* suspended here, on this module's code */
    } else if (strcmp(event, "spawn") == 0) {
        lv_pid pid;
        lv_spawn("upgradable helper", helper, NULL, &pid);
    } else {
        return LV_ENOTFOUND;
    }
    return 0;
}

LV_VIEW(upgradable, NULL, handle_event, NULL);

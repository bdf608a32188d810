/* The server's side of LiveView's client features: page title ("t"), events to the client
 * ("e"), replies to hooks ("r"), push_patch, push_navigate and redirect, at mount and after
 * events. The view is defined here, over tests/examples/views/nav.lv.html. */
#include <criterion/criterion.h>
#include <string.h>

#define LV__TEST_ASSERT(cond) cr_assert(cond)
#include "liveview/liveview.h"
#include "liveview/testing.h"

typedef struct {
    int count;
} nav;
#include "tests/examples/views/nav.lv.h"

static void mount(lv_view *v, const lv_value *params)
{
    const char *go = lv_value_str(params, "go");
    lv_page_title(v, "Nav 0");
    if (go && strcmp(go, "away") == 0)
        lv_redirect(v, "/elsewhere");
    else if (go && strcmp(go, "live") == 0)
        lv_push_navigate(v, "/thermostat", false);
}

static int handle_event(lv_view *v, const char *event, const lv_value *payload)
{
    (void)payload;
    nav *n = lv_state(v);
    if (!strcmp(event, "title"))
        n->count++, lv_page_title(v, "Nav 1");
    else if (!strcmp(event, "event"))
        lv_push_event(v, "highlight", "{\"id\":1}");
    else if (!strcmp(event, "hook"))
        lv_reply(v, "{\"ok\":true}");
    else if (!strcmp(event, "patch"))
        n->count++, lv_push_patch(v, "/nav?page=2", false);
    else if (!strcmp(event, "navigate"))
        lv_push_navigate(v, "/thermostat", true);
    else if (!strcmp(event, "redirect"))
        lv_redirect(v, "/bye");
    else if (!strcmp(event, "bad_json"))
        lv_push_event(v, "x", "{not json");
    else
        return LV_ENOTFOUND;
    return 0;
}

LV_VIEW(nav, mount, handle_event, NULL);

static lv_test *t;
static void setup(void)
{
    cr_assert_not_null(t = lv_test_mount(&nav_view, NULL));
}
static void teardown(void)
{
    lv_test_free(t);
}
TestSuite(nav, .init = setup, .fini = teardown, .timeout = 20);

static const char *last_frames(lv_test *t, int n)
{
    const char *f = lv_test_frames(t), *end = f + strlen(f);
    const char *p = end;
    for (int lines = 0; p > f && lines <= n; p--)
        if (p[-1] == '\n' && p != end && ++lines > n)
            break;
    return p;
}

Test(nav, title_travels_in_the_join_and_in_diffs)
{
    cr_assert(strstr(lv_test_join_rendered(t), "\"t\":\"Nav 0\""), "%s", lv_test_join_rendered(t));
    cr_assert_eq(lv_test_click(t, "title", NULL), 0);
    cr_assert_str_eq(lv_test_diff(t), "{\"0\":\"1\",\"t\":\"Nav 1\"}");
}

Test(nav, events_and_hook_replies)
{
    cr_assert_eq(lv_test_click(t, "event", NULL), 0);
    cr_assert_str_eq(lv_test_diff(t), "{\"e\":[[\"highlight\",{\"id\":1}]]}");
    cr_assert_eq(lv_test_click(t, "hook", NULL), 0);
    cr_assert_str_eq(lv_test_diff(t), "{\"r\":{\"ok\":true}}");
}

Test(nav, push_patch_comes_before_the_reply)
{
    cr_assert_eq(lv_test_click(t, "patch", NULL), 0);
    const char *f = last_frames(t, 2);
    const char *patch = strstr(f, "\"live_patch\",{\"to\":\"/nav?page=2\",\"kind\":\"push\"}");
    const char *reply = strstr(f, "\"phx_reply\",{\"status\":\"ok\",\"response\":{\"diff\":{\"0\":\"1\"}}}");
    cr_assert(patch && reply && patch < reply, "%s", f);
}

Test(nav, push_navigate_and_redirect_replies)
{
    cr_assert_eq(lv_test_click(t, "navigate", NULL), 0);
    cr_assert(strstr(lv_test_frames(t), "{\"live_redirect\":{\"to\":\"/thermostat\",\"kind\":\"replace\"}}"),
              "%s", lv_test_frames(t));
    cr_assert(lv_test_alive(t));
    cr_assert_eq(lv_test_click(t, "redirect", NULL), 0);
    cr_assert(strstr(lv_test_frames(t), "{\"redirect\":{\"to\":\"/bye\"}}"), "%s", lv_test_frames(t));
    cr_assert(strstr(lv_test_frames(t), "\"phx_close\",{}"), "%s", lv_test_frames(t));
}

Test(nav, bad_json_from_the_view_crashes_only_that_view)
{
    lv_test_click(t, "bad_json", NULL);
    cr_assert(strstr(lv_test_frames(t), "phx_error"), "%s", lv_test_frames(t));
}

Test(nav, redirect_and_navigate_during_mount_are_join_errors)
{
    lv_test *away = lv_test_mount(&nav_view, "{\"go\":\"away\"}");
    cr_assert_null(away, "a redirecting mount is not a successful join");
    lv_test *live = lv_test_mount(&nav_view, "{\"go\":\"live\"}");
    cr_assert_null(live);
}

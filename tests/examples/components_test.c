/* Stateful components end to end through a view: rendered under "c", events routed by cid to
 * the component's state, only the component's change in the diff, cids_destroyed answered. */
#include <criterion/criterion.h>
#include <string.h>

#define LV__TEST_ASSERT(cond) cr_assert(cond)
#include "liveview/liveview.h"
#include "liveview/testing.h"

typedef struct {
    int id;
    int n;
} counter_item;
#include "tests/examples/views/counter_item.lv.h"

typedef struct {
    counter_item items[3];
    int nitems;
} counters;
#include "tests/examples/views/counters.lv.h"

static void mount(lv_view *v, const lv_value *params)
{
    (void)params;
    counters *c = lv_state(v);
    c->nitems = 3;
    for (int i = 0; i < 3; i++)
        c->items[i] = (counter_item){i + 1, 10 * (i + 1)};
}

static int handle_event(lv_view *v, const char *event, const lv_value *payload)
{
    (void)payload;
    counter_item *item = lv_component_state(v);
    if (item == NULL || strcmp(event, "inc") != 0)
        return LV_ENOTFOUND;
    item->n++;
    return 0;
}

LV_VIEW(counters, mount, handle_event, NULL);

static lv_test *t;
static void setup(void)
{
    cr_assert_not_null(t = lv_test_mount(&counters_view, NULL));
}
static void teardown(void)
{
    lv_test_free(t);
}
TestSuite(components, .init = setup, .fini = teardown, .timeout = 20);

Test(components, rendered_under_c_and_events_reach_the_right_component)
{
    cr_assert(strstr(lv_test_join_rendered(t), "\"c\":{"), "%s", lv_test_join_rendered(t));
    lv_assert_html_contains(t, ">20</button>");
    cr_assert_eq(lv_test_element_click(t, "#c-2"), 0);
    lv_assert_html_contains(t, ">21</button>");
    lv_assert_html_contains(t, ">10</button>");
    lv_assert_html_contains(t, ">30</button>");
    const char *diff = lv_test_diff(t);
    cr_assert(strstr(diff, "\"c\":{") && strstr(diff, "\"21\"") && !strstr(diff, "\"s\""), "%s", diff);
}

Test(components, a_click_without_a_target_is_not_a_component_event)
{
    cr_assert_eq(lv_test_click(t, "inc", NULL), 0);
    cr_assert_str_eq(lv_test_diff(t), "");
}

Test(components, cids_destroyed_is_answered)
{
    lv_test_raw_frame(t, "[\"1\",\"77\",\"lv:x\",\"cids_destroyed\",{\"cids\":[99]}]");
    cr_assert(strstr(lv_test_frames(t), "unmatched topic"), "a frame on another topic is refused: %s",
              lv_test_frames(t));
}

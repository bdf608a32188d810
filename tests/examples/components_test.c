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

Test(components, page_html_equals_the_html_built_from_the_join_reply)
{
    /* the GET tags each component's root as the client does on join */
    cr_assert(strstr(lv_test_page_html(t), "<button data-phx-id=\"c2-phx-"), "%s", lv_test_page_html(t));
    cr_assert(strstr(lv_test_page_html(t), "data-phx-component=\"2\" data-phx-view=\"phx-"), "%s",
              lv_test_page_html(t));
    cr_assert_str_eq(lv_test_page_html(t), lv_test_html(t));
}

Test(components, inspected_from_the_test_api)
{
    cr_assert_eq(lv_test_component_count(t), 3);
    const char *html = lv_test_component_html(t, 2);
    cr_assert_not_null(html);
    cr_assert(strncmp(html, "<button data-phx-id=\"c2-", 24) == 0 && strstr(html, " id=\"c-2\"") &&
                  strstr(html, ">20</button>"),
              "%s", html);
    cr_assert_null(lv_test_component_html(t, 99));
    cr_assert(lv_test_has_element(t, "[data-phx-component=3]"));

    cr_assert_eq(lv_test_component_cid(t, "#c-3"), 3);
    cr_assert_eq(lv_test_component_cid(t, "button"), 1, "the first holder of a match");
    cr_assert_eq(lv_test_component_cid(t, "#counters"), 0, "outside every component");
    cr_assert_eq(lv_test_component_cid(t, "#nowhere"), 0);

    counter_item *item = lv_test_component_state(t, 2);
    cr_assert_not_null(item);
    cr_assert_eq(item->id, 2);
    cr_assert_eq(item->n, 20);
    cr_assert_null(lv_test_component_state(t, 99));

    cr_assert_eq(lv_test_component_click(t, 2, "inc", NULL), 0);
    cr_assert_eq(item->n, 21, "the component's own state changed");
    cr_assert(strstr(lv_test_component_html(t, 2), ">21</button>"), "%s", lv_test_component_html(t, 2));
    counters *c = lv_test_state(t);
    cr_assert_eq(c->items[1].n, 21);
    cr_assert_eq(c->items[0].n, 10);
    cr_assert_eq(lv_test_component_click(t, 99, "inc", NULL), LV_ENOTFOUND);
}

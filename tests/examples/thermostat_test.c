/* The thermostat through the headless test API: mount, click, tick, and bad input. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#define LV__TEST_ASSERT(cond) cr_assert(cond)
#include "examples/examples.h"
#include "liveview/testing.h"

static lv_test *t;
static void mount(void)
{
    t = lv_test_mount(&thermostat_view, NULL);
    cr_assert_not_null(t, "mount failed");
}
static void unmount(void)
{
    lv_test_free(t);
}

TestSuite(thermostat, .init = mount, .fini = unmount, .timeout = 20);

Test(thermostat, mounts_at_72_cooling)
{
    lv_assert_html_contains(t, "<span id=\"temp\">72</span>");
    lv_assert_html_contains(t, "Mode: cooling");
}

Test(thermostat, inc_sends_only_the_changed_dynamic)
{
    cr_assert_eq(lv_test_click(t, "inc", NULL), 0);
    lv_assert_html_contains(t, "<span id=\"temp\">73</span>");
    lv_assert_diff_eq(t, "{\"0\":\"73\"}");
    cr_assert_eq(lv_test_click(t, "dec", NULL), 0);
    cr_assert_eq(lv_test_click(t, "dec", NULL), 0);
    lv_assert_html_contains(t, "<span id=\"temp\">71</span>");
    lv_assert_diff_eq(t, "{\"0\":\"71\"}");
}

Test(thermostat, clicks_through_css_selectors)
{
    cr_assert(lv_test_has_element(t, "button#inc[phx-click=inc]"));
    cr_assert_eq(lv_test_element_click(t, "#inc"), 0);
    cr_assert_eq(lv_test_element_click(t, "button#inc"), 0);
    lv_assert_html_contains(t, "<span id=\"temp\">74</span>");
    cr_assert_eq(lv_test_element_click(t, "p.temp"), LV_ENOTFOUND, "no phx-click there");
    cr_assert_eq(lv_test_element_click(t, "#nowhere"), LV_ENOTFOUND);
}

Test(thermostat, toggle_mode_changes_class_and_label)
{
    cr_assert_eq(lv_test_click(t, "toggle_mode", NULL), 0);
    lv_assert_html_contains(t, "class=\"heating\"");
    lv_assert_html_contains(t, "Mode: heating");
}

Test(thermostat, the_clock_ticks_through_a_runtime_timer)
{
    const char *before = strstr(lv_test_frames(t), "\"diff\"");
    cr_assert_null(before, "no push before the first tick");
    lv_test_advance(t, 1000);
    cr_assert_not_null(strstr(lv_test_frames(t), "\"diff\""), "a tick pushes a diff:\n%s", lv_test_frames(t));
}

Test(thermostat, page_html_equals_the_html_built_from_the_join_reply)
{
    /* the clock may tick between GET and join in real life; here the virtual clock stands still */
    cr_assert_str_eq(lv_test_page_html(t), lv_test_html(t));
}

Test(thermostat, unknown_event_gets_an_ok_reply_and_the_state_survives)
{
    cr_assert_eq(lv_test_click(t, "inc", NULL), 0);
    cr_assert_eq(lv_test_click(t, "no_such_event", NULL), 0);
    cr_assert_str_eq(lv_test_diff(t), "");
    cr_assert(lv_test_alive(t));
    cr_assert_eq(lv_test_click(t, "inc", NULL), 0);
    lv_assert_html_contains(t, "<span id=\"temp\">74</span>");
}

Test(thermostat, malformed_frames_close_the_socket_with_a_reason)
{
    lv_test_raw_frame(t, "[\"1\",\"2\",\"lv:x\"");
    cr_assert_not_null(strstr(lv_test_frames(t), "CLOSE 1007 malformed frame"), "%s", lv_test_frames(t));
}

Test(thermostat, a_malformed_event_for_the_view_closes_the_socket_with_a_reason)
{
    /* routed by its head alone, so the view's process finds the error and closes the socket */
    char frame[256];
    snprintf(frame, sizeof(frame), "[\"1\",\"9\",\"%s\",\"event\",{\"type\":\"click\",\"event\":\"inc\",}]",
             lv_test_topic(t));
    lv_test_raw_frame(t, frame);
    cr_assert_not_null(strstr(lv_test_frames(t), "CLOSE 1007 malformed frame: invalid JSON"), "%s",
                       lv_test_frames(t));
    cr_assert_null(strstr(lv_test_frames(t), "\"9\""), "no reply to it: %s", lv_test_frames(t));
}

Test(thermostat, events_on_an_unjoined_topic_get_an_error_reply)
{
    lv_test_raw_frame(
        t, "[null,\"9\",\"lv:phx-other\",\"event\",{\"type\":\"click\",\"event\":\"inc\",\"value\":{}}]");
    cr_assert_not_null(strstr(lv_test_frames(t), "unmatched topic"), "%s", lv_test_frames(t));
    cr_assert(lv_test_alive(t));
}

Test(thermostat, closing_the_socket_with_a_timer_pending_ends_the_view_cleanly)
{
    lv_pid pid = lv_test_pid(t);
    lv_test_close(t);
    lv_test_advance(t, 3000); /* past the pending tick */
    cr_assert_not(lv_rt_alive(lv_test_rt(t), pid));
}

/* The calculator through the headless test API: sums in monitored worker processes. */
#include <criterion/criterion.h>
#include <string.h>

#define LV__TEST_ASSERT(cond) cr_assert(cond)
#include "examples/examples.h"
#include "liveview/testing.h"

static lv_test *t;
static void mount(void)
{
    t = lv_test_mount(&calculator_view, NULL);
    cr_assert_not_null(t, "mount failed");
}
static void unmount(void)
{
    lv_test_free(t);
}

TestSuite(calculator, .init = mount, .fini = unmount, .timeout = 30);

Test(calculator, sums_newest_first)
{
    cr_assert_eq(lv_test_submit(t, "calculate", "n=10"), 0);
    lv_test_advance(t, 1);
    lv_assert_html_contains(t, "∑(1..10) = 55");
    cr_assert_eq(lv_test_submit(t, "calculate", "n=4"), 0);
    lv_test_advance(t, 1);
    const char *html = lv_test_html(t);
    const char *four = strstr(html, "∑(1..4) = 10"), *ten = strstr(html, "∑(1..10) = 55");
    cr_assert(four && ten && four < ten, "newest first:\n%s", html);
}

Test(calculator, submits_through_a_css_selector_and_page_html_matches_the_join)
{
    cr_assert_str_eq(lv_test_page_html(t), lv_test_html(t));
    cr_assert_eq(lv_test_element_submit(t, "form#calc", "n=3"), 0);
    lv_assert_html_contains(t, "∑(1..3) = 6");
}

Test(calculator, a_crashing_calculation_shows_error_and_the_session_lives_on)
{
    cr_assert_eq(lv_test_submit(t, "calculate", "n=13"), 0);
    lv_test_advance(t, 1);
    lv_assert_html_contains(t, "∑(1..13) … error");
    cr_assert(lv_test_alive(t));
    cr_assert_eq(lv_test_submit(t, "calculate", "n=3"), 0);
    lv_test_advance(t, 1);
    lv_assert_html_contains(t, "∑(1..3) = 6");
}

Test(calculator, bad_percent_encoding_is_answered_and_loses_nothing)
{
    cr_assert_eq(lv_test_submit(t, "calculate", "n=10"), 0);
    lv_test_advance(t, 1);
    cr_assert_eq(lv_test_submit(t, "calculate", "n=%G1"), 0);
    cr_assert(lv_test_alive(t));
    lv_assert_html_contains(t, "∑(1..10) = 55");
}

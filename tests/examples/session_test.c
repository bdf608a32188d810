/* The session signed into the page: read by both mounts and later callbacks through
 * lv_session / lv_session_get, absent without one, refused when it is not a JSON object. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#define LV__TEST_ASSERT(cond) cr_assert(cond)
#include "liveview/liveview.h"
#include "liveview/testing.h"

typedef struct {
    char user[32];
    long age;
    char later[32];
} sessioned;
#include "tests/examples/views/sessioned.lv.h"

static void mount(lv_view *v, const lv_value *params)
{
    (void)params;
    sessioned *s = lv_state(v);
    const char *user = lv_session_get(v, "user_id");
    snprintf(s->user, sizeof(s->user), "%s", user ? user : "anonymous");
    int64_t age;
    s->age = lv_value_int(lv_session(v), "age", &age) == 0 ? (long)age : -1;
}

static int handle_event(lv_view *v, const char *event, const lv_value *payload)
{
    (void)payload;
    sessioned *s = lv_state(v);
    if (strcmp(event, "who") != 0)
        return LV_ENOTFOUND;
    const char *user = lv_session_get(v, "user_id");
    snprintf(s->later, sizeof(s->later), "%s", user ? user : "none");
    return 0;
}

LV_VIEW(sessioned, mount, handle_event, NULL);

Test(session, both_mounts_and_later_events_read_it, .timeout = 20)
{
    lv_test *t = lv_test_mount_session(&sessioned_view, NULL, "{\"user_id\":\"u42\",\"age\":7}");
    cr_assert_not_null(t);
    cr_assert(strstr(lv_test_page_html(t), "<p id=\"user\">u42</p><p id=\"age\">7</p>"), "the HTTP mount: %s",
              lv_test_page_html(t));
    lv_assert_html_contains(t, "<p id=\"user\">u42</p><p id=\"age\">7</p>");
    cr_assert_eq(lv_test_click(t, "who", NULL), 0);
    lv_assert_html_contains(t, "<p id=\"later\">u42</p>");
    lv_test_free(t);
}

Test(session, without_one_lv_session_is_null, .timeout = 20)
{
    lv_test *t = lv_test_mount(&sessioned_view, NULL);
    cr_assert_not_null(t);
    lv_assert_html_contains(t, "<p id=\"user\">anonymous</p><p id=\"age\">-1</p>");
    cr_assert_eq(lv_test_click(t, "who", NULL), 0);
    lv_assert_html_contains(t, "<p id=\"later\">none</p>");
    lv_test_free(t);
}

Test(session, an_empty_object_is_no_session, .timeout = 20)
{
    lv_test *t = lv_test_mount_session(&sessioned_view, NULL, "{}");
    cr_assert_not_null(t);
    lv_assert_html_contains(t, "<p id=\"user\">anonymous</p>");
    lv_test_free(t);
}

Test(session, a_session_that_is_not_a_json_object_is_refused, .timeout = 20)
{
    cr_assert_null(lv_test_mount_session(&sessioned_view, NULL, "[1,2]"));
    cr_assert_null(lv_test_mount_session(&sessioned_view, NULL, "{\"user_id\":"));
    cr_assert_null(lv_test_mount_session(&sessioned_view, NULL, "\"u42\""));
}

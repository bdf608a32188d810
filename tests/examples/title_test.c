/* The page title from both sources, a template's <title> and lv_page_title: one "t" per tree or
 * diff, the explicit title winning in the render after the callback that set it. */
#include <criterion/criterion.h>
#include <string.h>

#define LV__TEST_ASSERT(cond) cr_assert(cond)
#include "liveview/liveview.h"
#include "liveview/testing.h"

typedef struct {
    int count;
} titled;
#include "tests/examples/views/titled.lv.h"

static int handle_event(lv_view *v, const char *event, const lv_value *payload)
{
    (void)payload;
    titled *s = lv_state(v);
    if (!strcmp(event, "inc"))
        s->count++;
    else if (!strcmp(event, "both"))
        s->count++, lv_page_title(v, "Explicit");
    else if (!strcmp(event, "same"))
        lv_page_title(v, "Explicit");
    else
        return LV_ENOTFOUND;
    return 0;
}

static void mount(lv_view *v, const lv_value *params)
{
    if (lv_value_str(params, "explicit"))
        lv_page_title(v, lv_value_str(params, "explicit"));
}

LV_VIEW(titled, mount, handle_event, NULL);

/* The last frame the server sent, and how many "t" keys it holds. */
static const char *last_frame(lv_test *t)
{
    const char *all = lv_test_frames(t), *last = all;
    for (const char *p = all; (p = strchr(p, '\n')) != NULL && p[1]; p++)
        last = p + 1;
    return last;
}
static int count_t(const char *frame)
{
    int n = 0;
    for (const char *p = frame; (p = strstr(p, "\"t\":")) != NULL; p++)
        n++;
    return n;
}

Test(title, template_title_then_an_explicit_one_never_two_t_keys, .timeout = 20)
{
    lv_test *t = lv_test_mount(&titled_view, NULL);
    cr_assert_not_null(t);
    cr_assert(strstr(lv_test_join_rendered(t), "\"t\":\"Count 0\""), "%s", lv_test_join_rendered(t));
    cr_assert_eq(lv_test_click(t, "inc", NULL), 0);
    cr_assert(strstr(lv_test_diff(t), "\"t\":\"Count 1\""), "%s", lv_test_diff(t));

    /* the template's title changes too, but the explicit one set in this event wins */
    cr_assert_eq(lv_test_click(t, "both", NULL), 0);
    const char *f = last_frame(t);
    cr_assert_eq(count_t(f), 1, "exactly one \"t\": %s", f);
    cr_assert(strstr(f, "\"t\":\"Explicit\""), "%s", f);
    lv_assert_html_contains(t, "<div id=\"n\">2</div>");

    /* the same title again is not resent */
    cr_assert_eq(lv_test_click(t, "same", NULL), 0);
    cr_assert_eq(count_t(last_frame(t)), 0, "%s", last_frame(t));

    /* the template's title is back once its inputs change */
    cr_assert_eq(lv_test_click(t, "inc", NULL), 0);
    f = last_frame(t);
    cr_assert_eq(count_t(f), 1, "%s", f);
    cr_assert(strstr(f, "\"t\":\"Count 3\""), "%s", f);
    lv_test_free(t);
}

Test(title, an_explicit_title_at_mount_wins_in_the_join_and_the_page, .timeout = 20)
{
    lv_test *t = lv_test_mount(&titled_view, "{\"explicit\":\"From mount\"}");
    cr_assert_not_null(t);
    const char *joined = lv_test_join_rendered(t);
    cr_assert_eq(count_t(joined), 1, "%s", joined);
    cr_assert(strstr(joined, "\"t\":\"From mount\""), "%s", joined);
    lv_test_free(t);
}

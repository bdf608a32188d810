/* Flash messages through the headless harness: lv_put_flash renders (also in slots that read no
 * state field), lv:clear-flash clears without reaching handle_event, and the flash survives
 * push_navigate (join "flash" token) and redirect (__phoenix_flash__ cookie, then the static
 * token), while tampered tokens are ignored. `flashy` is defined here over
 * tests/examples/views/flashy.lv.html; the navigation flows use the greeter example. */
#include <criterion/criterion.h>
#include <string.h>

#define LV__TEST_ASSERT(cond) cr_assert(cond)
#include "examples/examples.h"
#include "liveview/liveview.h"
#include "liveview/testing.h"

typedef struct {
    int calls; /* handle_event calls */
} flashy;
#include "tests/examples/views/flashy.lv.h"

static int flashy_event(lv_view *v, const char *event, const lv_value *payload)
{
    flashy *f = lv_state(v);
    f->calls++;
    const char *msg = lv_value_str(payload, "msg");
    if (!strcmp(event, "put"))
        lv_put_flash(v, lv_value_str(payload, "key"), msg ? msg : "");
    else if (!strcmp(event, "put_quiet")) /* a flash change alone, the state untouched */
        f->calls--, lv_put_flash(v, "info", msg ? msg : "");
    else if (!strcmp(event, "clear"))
        lv_clear_flash(v, NULL);
    else if (!strcmp(event, "overflow"))
        for (int i = 0; i < 17; i++) {
            char key[16];
            snprintf(key, sizeof(key), "k%d", i);
            lv_put_flash(v, key, "x");
        }
    else
        return LV_ENOTFOUND;
    return 0;
}
LV_VIEW(flashy, NULL, flashy_event, NULL);

Test(flash, put_flash_renders_in_slots_that_read_no_field, .timeout = 20)
{
    lv_test *t = lv_test_mount(&flashy_view, NULL);
    cr_assert_not_null(t);
    cr_assert(!lv_test_has_element(t, "p#info"));
    cr_assert_eq(lv_test_click(t, "put_quiet", "{\"msg\":\"Saved <ok>\"}"), 0);
    lv_assert_html_contains(t, "<p id=\"info\">Saved &lt;ok&gt;</p>");
    /* only the flash slot: calls did not change */
    cr_assert_str_eq(lv_test_diff(t), "{\"1\":{\"s\":[\"<p id=\\\"info\\\">\",\"</p>\"],\"0\":\"Saved &lt;ok&gt;\"}}");
    cr_assert_eq(lv_test_click(t, "put_quiet", "{\"msg\":\"Saved again\"}"), 0);
    cr_assert_str_eq(lv_test_diff(t), "{\"1\":{\"0\":\"Saved again\"}}");
    cr_assert_eq(lv_test_click(t, "put", "{\"key\":\"warn\",\"msg\":\"Careful\"}"), 0);
    lv_assert_html_contains(t, "<p id=\"warn\">Careful</p>");
    cr_assert_str_eq(lv_test_diff(t), "{\"0\":\"1\",\"2\":\"Careful\"}");
    cr_assert_eq(lv_test_click(t, "clear", NULL), 0);
    lv_assert_html_contains(t, "<p id=\"warn\"></p>");
    cr_assert(!lv_test_has_element(t, "p#info"));
    lv_test_free(t);
}

Test(flash, clear_flash_event_clears_one_key_without_handle_event, .timeout = 20)
{
    lv_test *t = lv_test_mount(&flashy_view, NULL);
    cr_assert_eq(lv_test_click(t, "put", "{\"key\":\"info\",\"msg\":\"One\"}"), 0);
    cr_assert_eq(lv_test_click(t, "put", "{\"key\":\"warn\",\"msg\":\"Two\"}"), 0);
    lv_assert_html_contains(t, "<p id=\"calls\">2</p>");
    cr_assert_eq(lv_test_click(t, "lv:clear-flash", "{\"key\":\"info\",\"value\":\"\"}"), 0);
    cr_assert(!lv_test_has_element(t, "p#info"), "%s", lv_test_html(t));
    lv_assert_html_contains(t, "<p id=\"warn\">Two</p>");
    lv_assert_html_contains(t, "<p id=\"calls\">2</p>"); /* handle_event was not called */
    cr_assert_str_eq(lv_test_diff(t), "{\"1\":\"\"}");
    /* a key that is not a string is ignored, the reply still comes; no key clears them all */
    cr_assert_eq(lv_test_click(t, "lv:clear-flash", "{\"key\":7}"), 0);
    lv_assert_html_contains(t, "<p id=\"warn\">Two</p>");
    cr_assert_eq(lv_test_click(t, "lv:clear-flash", NULL), 0);
    lv_assert_html_contains(t, "<p id=\"warn\"></p>");
    lv_assert_html_contains(t, "<p id=\"calls\">2</p>");
    lv_test_free(t);
}

Test(flash, more_than_sixteen_keys_crash_only_the_view, .timeout = 20)
{
    lv_test *t = lv_test_mount(&flashy_view, NULL);
    lv_test_click(t, "overflow", NULL);
    cr_assert(!lv_test_alive(t));
    cr_assert(strstr(lv_test_frames(t), "phx_error"), "%s", lv_test_frames(t));
    lv_test_free(t);
}

/* ---- across navigation, with the greeter example ---- */

Test(flash, empty_name_shows_an_error_flash_with_a_close_button, .timeout = 20)
{
    lv_test *t = lv_test_mount(&greeter_view, NULL);
    cr_assert_eq(lv_test_submit(t, "greet", "name="), 0);
    lv_assert_html_contains(t, "Type a name first.");
    cr_assert_eq(lv_test_element_click(t, "button#flash-error-close"), 0);
    cr_assert(!lv_test_has_element(t, "p#flash-error"), "%s", lv_test_html(t));
    lv_test_free(t);
}

Test(flash, flash_is_carried_across_push_navigate, .timeout = 20)
{
    lv_test *a = lv_test_mount(&greeter_view, NULL);
    cr_assert_eq(lv_test_submit(a, "greet", "name=Ada"), 0);
    cr_assert(strstr(lv_test_frames(a), "\"live_redirect\":{\"to\":\"/greeter\",\"kind\":\"push\",\"flash\":\""), "%s",
              lv_test_frames(a));
    cr_assert(!strstr(lv_test_frames(a), "Hello, Ada"), "the flash travels signed, not in clear text");
    const char *token = lv_test_redirect_flash(a);
    cr_assert_not_null(token);
    lv_test_opts opts = {.flash = token};
    lv_test *b = lv_test_mount_opts(&greeter_view, &opts);
    cr_assert_not_null(b);
    lv_assert_html_contains(b, "<p id=\"flash-info\" class=\"flash info\" role=\"alert\">Hello, Ada!");
    lv_assert_html_contains(b, "Greetings seen on this page: 1");
    cr_assert_eq(lv_test_element_click(b, "button#flash-info-close"), 0);
    cr_assert(!lv_test_has_element(b, "p#flash-info"));
    lv_test_free(a);
    lv_test_free(b);
}

Test(flash, flash_is_carried_across_redirect_by_the_cookie, .timeout = 20)
{
    lv_test *a = lv_test_mount(&greeter_view, NULL);
    cr_assert_eq(lv_test_submit(a, "greet", "name=Bob&reload=1"), 0);
    cr_assert(strstr(lv_test_frames(a), "{\"redirect\":{\"to\":\"/greeter\",\"flash\":\""), "%s", lv_test_frames(a));
    const char *token = lv_test_redirect_flash(a);
    cr_assert_not_null(token);
    lv_test_opts opts = {.cookie_flash = token};
    lv_test *b = lv_test_mount_opts(&greeter_view, &opts);
    cr_assert_not_null(b);
    /* the GET shows it, and the connected mount gets it from the page's static token */
    cr_assert(strstr(lv_test_page_html(b), "Hello, Bob!"), "%s", lv_test_page_html(b));
    lv_assert_html_contains(b, "Hello, Bob!");
    lv_test_free(a);
    lv_test_free(b);
}

static char *flip(const char *token)
{
    char *t = strdup(token);
    t[10] = t[10] == 'A' ? 'B' : 'A';
    return t;
}

Test(flash, tampered_flash_tokens_are_ignored, .timeout = 20)
{
    lv_test *a = lv_test_mount(&greeter_view, NULL);
    cr_assert_eq(lv_test_submit(a, "greet", "name=Eve"), 0);
    char *bad = flip(lv_test_redirect_flash(a));
    const char *cases[] = {bad, "", "not-a-token", "abc.def"};
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        lv_test_opts join = {.flash = cases[i]}, cookie = {.cookie_flash = cases[i]};
        lv_test *b = lv_test_mount_opts(&greeter_view, &join);
        cr_assert_not_null(b, "a bad flash token must not fail the join");
        cr_assert(!lv_test_has_element(b, "p#flash-info"), "%s", lv_test_html(b));
        lv_test_free(b);
        b = lv_test_mount_opts(&greeter_view, &cookie);
        cr_assert_not_null(b);
        cr_assert(!strstr(lv_test_page_html(b), "flash-info"), "%s", lv_test_page_html(b));
        lv_test_free(b);
    }
    free(bad);
    lv_test_free(a);
}

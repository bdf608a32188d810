/* Headless view tests: mount a view, send it events and messages, advance a virtual clock, and
 * read the HTML a browser would show and the diffs on the wire. No server and no browser: the
 * view runs in a real runtime (caller-driven, virtual clock) behind a real lv_socket, and the
 * harness plays the client, merging diffs into its rendered tree as the JS client does.
 *
 *     lv_test *t = lv_test_mount(&thermostat_view, NULL);
 *     lv_test_click(t, "inc", NULL);
 *     lv_assert_html_contains(t, "<span id=\"temp\">73</span>");
 *     lv_assert_diff_eq(t, "{\"0\":\"73\"}");
 *     lv_test_free(t);
 */
#ifndef LV_TESTING_H
#define LV_TESTING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "liveview/view.h"

typedef struct lv_test lv_test;

/* Renders the page as the first HTTP GET does, then joins. params_json (may be NULL) is
 * merged into the join params. Returns NULL, with the reason on stderr, if the join failed. */
lv_test *lv_test_mount(const lv_view_def *view, const char *params_json);
/* The same for a visitor with a session: session_json (a JSON object, NULL for none) is what
 * lv_page_render signs into the page, and what the view reads with lv_session /
 * lv_session_get in both mounts. NULL, with the reason on stderr, when it is not an object. */
lv_test *lv_test_mount_session(const lv_view_def *view, const char *params_json, const char *session_json);
/* Everything a client brings to a mount besides the view. */
typedef struct lv_test_opts {
    const char *params_json;  /* merged into the join params (NULL: none) */
    const char *session_json; /* the visitor's session, as for lv_test_mount_session (NULL: none) */
    const char *flash;        /* joins as after a live_redirect: "redirect" and this "flash" token */
    const char *cookie_flash; /* the __phoenix_flash__ cookie of the page's GET, as after a redirect */
} lv_test_opts;
lv_test *lv_test_mount_opts(const lv_view_def *view, const lv_test_opts *opts);
void lv_test_free(lv_test *t);

/* The container's inner HTML as the client has it now. */
const char *lv_test_html(lv_test *t);
/* The inner HTML the first HTTP GET served. */
const char *lv_test_page_html(lv_test *t);
/* The last diff the view sent (event reply or push), as JSON; "" when it sent none. */
const char *lv_test_diff(lv_test *t);
/* The rendered tree of the join reply, as JSON. */
const char *lv_test_join_rendered(lv_test *t);
/* The "flash" token of the last redirect or live_redirect the view sent; NULL when it carried
 * none. Every harness signs with one fixed secret, so another harness's mount accepts it. */
const char *lv_test_redirect_flash(lv_test *t);
/* Every frame the server sent so far, newline-separated. */
const char *lv_test_frames(lv_test *t);

/* Events, as the client sends them. value_json is the click/key value object (NULL = {}),
 * form is urlencoded ("n=10&x=y"). Each returns 0 once the reply arrived, or an error code. */
int lv_test_click(lv_test *t, const char *event, const char *value_json);
int lv_test_submit(lv_test *t, const char *event, const char *form);
int lv_test_change(lv_test *t, const char *event, const char *form, const char *target);
int lv_test_keyup(lv_test *t, const char *event, const char *key);
int lv_test_keydown(lv_test *t, const char *event, const char *key);
int lv_test_blur(lv_test *t, const char *event);
int lv_test_focus(lv_test *t, const char *event);
/* The same, aimed at an element found by a CSS selector (tag, #id, .class, [attr=value], e.g.
 * "button#inc"), as LiveView's element(view, "#inc") |> render_click(): the event name comes
 * from the element's phx-click / phx-submit / phx-change, and phx-value-* attributes become the
 * click's value. LV_ENOTFOUND when no element matches or it has no such binding. */
int lv_test_element_click(lv_test *t, const char *selector);
int lv_test_element_submit(lv_test *t, const char *selector, const char *form);
int lv_test_element_change(lv_test *t, const char *selector, const char *form, const char *target);
bool lv_test_has_element(lv_test *t, const char *selector);

/* Stateful components (<.live_component>), as the page shows them. Their HTML carries the
 * attributes the client adds (data-phx-component="CID" ...), so lv_test_has_element(t,
 * "[data-phx-component=2]") works too. */
size_t lv_test_component_count(lv_test *t);
/* The HTML of component cid in the page; NULL when the page does not show it. Valid until the
 * next call. */
const char *lv_test_component_html(lv_test *t, int64_t cid);
/* The cid of the innermost component holding an element that matches selector; 0 for none. */
int64_t lv_test_component_cid(lv_test *t, const char *selector);
/* A click aimed at component cid (as phx-target={@myself} sends it); LV_ENOTFOUND when the page
 * does not show it. lv_test_element_click already follows an element's phx-target. */
int lv_test_component_click(lv_test *t, int64_t cid, const char *event, const char *value_json);
/* The state component cid was last rendered with (the struct its state={...} points to), or
 * NULL; and the view's own state. Read them between calls: the view runs only inside them. */
void *lv_test_component_state(lv_test *t, int64_t cid);
void *lv_test_state(lv_test *t);

/* Sends any raw frame text to the socket (for bad-input tests); runs until idle. */
void lv_test_raw_frame(lv_test *t, const char *frame);
/* The joined channel's topic ("lv:" and the container id), to address raw frames to the view. */
const char *lv_test_topic(lv_test *t);
/* A message to the view's handle_info. */
int lv_test_send(lv_test *t, const char *tag, const void *data, size_t size);
/* Moves the virtual clock, firing due timers (e.g. the thermostat's tick). */
void lv_test_advance(lv_test *t, uint64_t ms);
/* The view's process is still alive. */
bool lv_test_alive(lv_test *t);
lv_pid lv_test_pid(lv_test *t);
lv_rt *lv_test_rt(lv_test *t);
/* Hot upgrade of the test's route from a view module (lv_endpoint_upgrade), then runs until
 * idle: the session has switched, unless it is busy mid-handler. */
int lv_test_upgrade(lv_test *t, const char *so_path, char *msg, size_t cap);
/* Closes the socket as a browser tab would. */
void lv_test_close(lv_test *t);

/* Assertions that print the HTML around the mismatch; usable from any test runner. */
bool lv_test_check_contains(lv_test *t, const char *needle, const char *file, int line);
bool lv_test_check_diff(lv_test *t, const char *expected, const char *file, int line);
#define lv_assert_html_contains(t, needle)                                                                   \
    LV__TEST_ASSERT(lv_test_check_contains((t), (needle), __FILE__, __LINE__))
#define lv_assert_diff_eq(t, json) LV__TEST_ASSERT(lv_test_check_diff((t), (json), __FILE__, __LINE__))
#ifndef LV__TEST_ASSERT
#include <stdlib.h>
#define LV__TEST_ASSERT(cond)                                                                                \
    do {                                                                                                     \
        if (!(cond))                                                                                         \
            abort();                                                                                         \
    } while (0)
#endif

#endif

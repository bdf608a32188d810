/* lvtc's output, rendered: tests/templates/views/features.lv.html uses every construct (title,
 * whole-attribute values, :if/:else :if/:else, keyed and range :for, a function component with
 * a named slot and an inner block, raw HTML, script text, void elements). The HTML, the join
 * tree and the diffs must be exactly what the template says. */
#include <criterion/criterion.h>
#include <jansson.h>
#include <stdbool.h>
#include <string.h>

#include "liveview/render.h"
#include "liveview/testing_tree.h"

typedef struct {
    int id;
    char name[12];
    bool done;
    int tags;
} task;

typedef struct { /* a stateful component (tests/templates/views/counter.lv.html) */
    int id;
    int n;
} counter;
#include "tests/templates/views/counter.lv.h"

typedef struct {
    int count;
    task tasks[8];
    int ntasks;
    bool busy;
    const char *cls;
    const char *html;
    int level;
    char filter[8];
    counter counters[3];
    int ncounters;
} features;

typedef struct { /* <.panel>'s attributes */
    const char *title;
    int n;
} panel;

#include "tests/templates/views/features.lv.h"

static lv_buf out;
static features st;
static lv_rendered *rd;

static void setup(void)
{
    memset(&st, 0, sizeof(st));
    st.count = 2;
    st.tasks[0] = (task){1, "write", false, 0};
    st.tasks[1] = (task){2, "test", true, 2};
    st.ntasks = 2;
    st.html = "<hr>";
    strcpy(st.filter, "all");
    st.counters[0] = (counter){7, 0};
    st.counters[1] = (counter){8, 5};
    st.ncounters = 2;
    rd = lv_rendered_new(&features_template, sizeof(st));
    cr_assert_eq(lv_rendered_full(rd, &st, &out), 0);
}

static void teardown(void)
{
    lv_rendered_free(rd);
    lv_buf_free(&out);
}

static const char *html(void)
{
    lv_buf_reset(&out);
    cr_assert_eq(lv_rendered_html(rd, NULL, &out), 0);
    return out.data;
}

static const char *diff(void)
{
    lv_buf_reset(&out);
    cr_assert_eq(lv_rendered_diff(rd, &st, &out), 0);
    lv_buf_putc(&out, '\0');
    return out.data;
}

TestSuite(lvtc, .init = setup, .fini = teardown, .timeout = 30);

Test(lvtc, renders_every_construct)
{
    cr_assert_str_eq(
        html(),
        "<div id=\"f\"><p>none</p><button phx-click=\"go\">Go</button><ul>"
        "<li id=\"task-1\">write</li><li id=\"task-2\" class=\"done\">test<b><i>#0</i><i>#1</i></b></li>"
        "</ul><section class=\"panel\"><h2>Sum</h2><em>all</em><div>Tasks: 2</div><small>2</small>"
        "</section><section class=\"panel\"><h2>all</h2><div></div></section><div><hr></div>"
        "<script>if (a) { b(); }</script><br/><input value=\"all\" readonly>"
        "<button id=\"c-7\" phx-target=\"1\" phx-click=\"inc\">0</button>"
        "<button id=\"c-8\" phx-target=\"2\" phx-click=\"inc\">5</button></div>");
    cr_assert_str_eq(lv_rendered_title(rd), "2 tasks & more");
    cr_assert_eq(features_template.nfields, 10);
}

Test(lvtc, attributes_appear_and_disappear)
{
    st.busy = true;
    cr_assert_str_eq(diff(), "{\"2\":\" disabled\"}");
    st.cls = "x<y";
    cr_assert_str_eq(diff(), "{\"0\":\" class=\\\"x&lt;y\\\"\"}");
    st.cls = NULL;
    st.busy = false;
    cr_assert_str_eq(diff(), "{\"0\":\"\",\"2\":\"\"}");
}

Test(lvtc, an_if_chain_is_one_slot)
{
    st.level = 1;
    cr_assert_str_eq(diff(), "{\"1\":{\"s\":[\"<p>one</p>\"]}}");
    st.level = 2;
    cr_assert_str_eq(diff(), "{\"1\":{\"s\":[\"<p>many \",\"</p>\"],\"0\":\"2\"}}");
    st.level = 3;
    cr_assert_str_eq(diff(), "{\"1\":{\"0\":\"3\"}}");
}

Test(lvtc, keyed_rows_send_what_changed)
{
    strcpy(st.tasks[0].name, "edit");
    cr_assert_str_eq(diff(), "{\"3\":{\"k\":{\"0\":{\"2\":\"edit\"},\"kc\":2}}}");
    st.tasks[0].tags = 1;
    cr_assert_str_eq(diff(),
                     "{\"3\":{\"k\":{\"0\":{\"3\":{\"s\":[\"<b>\",\"</b>\"],\"0\":{\"s\":[\"<i>#\",\"</i>\"],"
                     "\"k\":{\"0\":{\"0\":\"0\"},\"kc\":1}}}},\"kc\":2}}}");
    task t = st.tasks[0];
    st.tasks[0] = st.tasks[1];
    st.tasks[1] = t;
    cr_assert_str_eq(diff(), "{\"3\":{\"k\":{\"0\":1,\"1\":0,\"km\":true,\"kc\":2}}}");
}

Test(lvtc, components_render_with_their_callers_slots)
{
    strcpy(st.filter, "none");
    cr_assert_str_eq(diff(),
                     "{\"4\":{\"1\":{\"0\":\"none\"}},\"5\":{\"0\":\"none\"},\"7\":\" value=\\\"none\\\"\"}");
    st.count = 3;
    cr_assert_str_eq(diff(), "{\"4\":{\"2\":{\"0\":\"3\"}},\"t\":\"3 tasks & more\"}");
    st.ntasks = 1;
    cr_assert_str_eq(diff(), "{\"3\":{\"k\":{\"kc\":1}},\"4\":{\"3\":{\"0\":\"1\"}}}");
}

Test(lvtc, the_client_rebuilds_the_same_html)
{
    json_t *client = json_loads(out.data, 0, NULL);
    cr_assert_not_null(client);
    json_t *tree = NULL;
    lv_tt_apply(&tree, client);
    json_decref(client);
    for (int step = 0; step < 50; step++) {
        switch (step % 6) {
        case 0: st.level = (st.level + 1) % 4; break;
        case 1: st.tasks[step % 3].tags = (st.tasks[step % 3].tags + 1) % 3; break;
        case 2: st.ntasks = 1 + (st.ntasks % 3); break;
        case 3: snprintf(st.filter, sizeof(st.filter), "f%d", step); break;
        case 4: st.tasks[0].done = !st.tasks[0].done; break;
        default: st.busy = !st.busy; break;
        }
        const char *d = diff();
        if (*d) {
            json_t *j = json_loads(d, 0, NULL);
            cr_assert_not_null(j, "%s", d);
            lv_tt_apply(&tree, j);
            json_decref(j);
        }
        lv_buf client_html = LV_BUF_INIT;
        lv_tt_html(tree, NULL, &client_html);
        cr_assert_str_eq(client_html.data, html(), "step %d", step);
        lv_buf_free(&client_html);
    }
    json_decref(tree);
}

Test(lvtc, live_components_diff_under_c)
{
    cr_assert(strstr(out.data,
                     "\"8\":{\"s\":[\"\",\"\"],\"k\":{\"0\":{\"0\":1},\"1\":{\"0\":2},\"kc\":2}}") != NULL,
              "%s", out.data);
    cr_assert(strstr(out.data,
                     "\"c\":{\"1\":{\"s\":[\"<button id=\\\"c-\",\"\\\"\",\" phx-click=\\\"inc\\\">\","
                     "\"</button>\"],\"0\":\"7\",\"1\":\" phx-target=\\\"1\\\"\",\"2\":\"0\",\"r\":1}") !=
                  NULL,
              "%s", out.data);
    st.counters[1].n++;
    cr_assert_str_eq(diff(), "{\"c\":{\"2\":{\"2\":\"6\"}}}");
    const void *state = NULL;
    cr_assert_eq(lv_rendered_component(rd, 2, NULL, &state), 0);
    cr_assert(state == &st.counters[1]);
    st.ncounters = 3;
    st.counters[2] = (counter){9, 1};
    cr_assert_str_eq(
        diff(),
        "{\"8\":{\"k\":{\"2\":{\"0\":3},\"kc\":3}},\"c\":{\"3\":{\"s\":-1,\"0\":\"9\","
        "\"1\":\" phx-target=\\\"3\\\"\",\"2\":\"1\"}}}"); /* cid 1's statics, which the client has */
}

/* liveview/render.c: full renders, minimal diffs, keyed comprehensions, titles and HTML, driven
 * by hand-written render functions shaped like lvtc's output. A randomized test plays the
 * client (liveview/testing_tree.c) and checks that merging every diff rebuilds the same HTML as
 * a fresh render. */
#include <criterion/criterion.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "liveview/error.h"
#include "liveview/render.h"
#include "liveview/testing_tree.h"

/* ---- helpers ---- */

static lv_buf out;

static const char *full(lv_rendered *rd, const void *state)
{
    lv_buf_reset(&out);
    cr_assert_eq(lv_rendered_full(rd, state, &out), 0);
    lv_buf_putc(&out, '\0');
    return out.data;
}

static const char *diff(lv_rendered *rd, const void *state)
{
    lv_buf_reset(&out);
    cr_assert_eq(lv_rendered_diff(rd, state, &out), 0);
    lv_buf_putc(&out, '\0');
    return out.data;
}

static const char *html(lv_rendered *rd)
{
    lv_buf_reset(&out);
    cr_assert_eq(lv_rendered_html(rd, NULL, &out), 0);
    lv_buf_putc(&out, '\0');
    return out.data;
}

static void fini(void)
{
    lv_buf_free(&out);
}

#define BIT(i) ((uint64_t)1 << (i))

/* ---- a counter: <p class="temp">{@temp}</p><span>{@label}</span> ---- */

typedef struct {
    int temp;
    char label[16];
    int unused; /* not read by the template */
} counter;

static const char *const counter_s0[] = {"<p class=\"temp\">", "</p><span>", "</span>"};
static const lv_tmpl counter_t0 = LV_TMPL(counter_s0);
static const lv_field counter_fields[] = {LV_FIELD(counter, temp), LV_FIELD(counter, label)};

static void counter_render(lv_r *r, const void *state)
{
    const counter *s = state;
    lv_r_open(r, &counter_t0);
    if (lv_r_slot(r, BIT(0)))
        lv_r_put(r, s->temp);
    if (lv_r_slot(r, BIT(1)))
        lv_r_put(r, s->label);
    lv_r_close(r);
}

static const lv_template counter_template = {"counter.lv.html", counter_fields, 2, counter_render};

TestSuite(render, .fini = fini, .timeout = 30);

Test(render, full_diff_and_html_of_a_counter)
{
    counter c = {72, "cool", 0};
    lv_rendered *rd = lv_rendered_new(&counter_template, sizeof(c));
    cr_assert_str_eq(full(rd, &c),
                     "{\"s\":[\"<p class=\\\"temp\\\">\",\"</p><span>\",\"</span>\"],\"0\":\"72\","
                     "\"1\":\"cool\"}");
    cr_assert_str_eq(html(rd), "<p class=\"temp\">72</p><span>cool</span>");
    c.temp++;
    cr_assert_str_eq(diff(rd, &c), "{\"0\":\"73\"}");
    cr_assert_str_eq(diff(rd, &c), "", "nothing changed: nothing sent");
    c.unused = 5;
    cr_assert_str_eq(diff(rd, &c), "", "a field the template does not read");
    strcpy(c.label, "warm");
    c.temp = -4;
    cr_assert_str_eq(diff(rd, &c), "{\"0\":\"-4\",\"1\":\"warm\"}");
    cr_assert_str_eq(html(rd), "<p class=\"temp\">-4</p><span>warm</span>");
    lv_rendered_free(rd);
}

Test(render, a_diff_before_any_full_render_sends_the_whole_tree)
{
    counter c = {1, "x", 0};
    lv_rendered *rd = lv_rendered_new(&counter_template, sizeof(c));
    cr_assert_str_eq(diff(rd, &c),
                     "{\"s\":[\"<p class=\\\"temp\\\">\",\"</p><span>\",\"</span>\"],\"0\":\"1\","
                     "\"1\":\"x\"}");
    lv_rendered_free(rd);
}

Test(render, reset_and_a_second_full_render_resend_the_statics)
{
    counter c = {1, "x", 0};
    lv_rendered *rd = lv_rendered_new(&counter_template, sizeof(c));
    char first[256];
    snprintf(first, sizeof(first), "%s", full(rd, &c));
    cr_assert_str_eq(full(rd, &c), first, "a rejoin gets the same tree");
    lv_rendered_reset(rd);
    cr_assert_str_eq(full(rd, &c), first);
    c.temp = 2;
    cr_assert_str_eq(diff(rd, &c), "{\"0\":\"2\"}");
    lv_rendered_free(rd);
}

/* ---- the root node in the tree's own memory ---- */

typedef struct {
    int n;
    bool big;
} roots;

static const lv_field roots_fields[] = {{offsetof(roots, n), sizeof(int)},
                                        {offsetof(roots, big), sizeof(bool)}};
static const char *const roots_small_s[] = {"<i>", "</i>"};
static const char *const roots_big_s[] = {"<b>", "|", "|", "</b>"};
static const lv_tmpl roots_small = LV_TMPL(roots_small_s), roots_big = LV_TMPL(roots_big_s);

static void roots_render(lv_r *r, const void *state)
{
    const roots *s = state;
    lv_r_open(r, s->big ? &roots_big : &roots_small);
    for (int i = 0; i < (s->big ? 3 : 1); i++)
        if (lv_r_slot(r, BIT(0)))
            lv_r_put(r, s->n + i);
    lv_r_close(r);
}

static const lv_template roots_template = {"roots.lv.html", roots_fields, 2, roots_render};

/* A render of rd gives what the same render of ref, whose root is a node of its own, gives. */
static void roots_check(lv_rendered *rd, lv_rendered *ref, roots *s, bool whole)
{
    char want[256];
    snprintf(want, sizeof(want), "%s", whole ? full(ref, s) : diff(ref, s));
    cr_assert_str_eq(whole ? full(rd, s) : diff(rd, s), want);
}

Test(render, the_root_node_goes_in_the_trees_room_once_its_size_is_known)
{
    roots s = {1, false};
    size_t none = lv_rendered_size_with_root(&roots_template, sizeof(s));
    cr_assert_eq(none, lv_rendered_size(sizeof(s)), "no root seen yet: no room");
    lv_rendered *ref = lv_rendered_new(&roots_template, sizeof(s));
    char first[256];
    snprintf(first, sizeof(first), "%s", full(ref, &s)); /* learns the small root: one slot */
    cr_assert_not(lv_rendered_root_in_room(ref));
    cr_assert_gt(lv_rendered_size_with_root(&roots_template, sizeof(s)), none);

    lv_rendered *rd = lv_rendered_new(&roots_template, sizeof(s));
    cr_assert_str_eq(full(rd, &s), first);
    cr_assert(lv_rendered_root_in_room(rd));
    s.n = 5;
    roots_check(rd, ref, &s, false);
    s.big = true; /* three slots: no room for them, a node of its own */
    roots_check(rd, ref, &s, false);
    cr_assert_not(lv_rendered_root_in_room(rd));
    s.big = false; /* back in the room */
    roots_check(rd, ref, &s, false);
    cr_assert(lv_rendered_root_in_room(rd));
    char page[256];
    snprintf(page, sizeof(page), "%s", html(ref));
    cr_assert_str_eq(html(rd), page);
    lv_rendered_reset(rd);
    lv_rendered_reset(ref);
    roots_check(rd, ref, &s, true);
    cr_assert(lv_rendered_root_in_room(rd));
    lv_rendered_free(rd);

    /* in memory of the caller's too small for the root, the root is a node of its own */
    _Alignas(max_align_t) unsigned char mem[256];
    cr_assert_leq(lv_rendered_size(sizeof(s)), sizeof(mem));
    rd = lv_rendered_init(mem, lv_rendered_size(sizeof(s)), &roots_template, sizeof(s));
    roots_check(rd, ref, &s, true);
    cr_assert_not(lv_rendered_root_in_room(rd));
    lv_rendered_dispose(rd);
    lv_rendered_free(ref);
}

/* ---- values: escaping, raw, numbers, attributes ---- */

typedef struct {
    const char *text;
    const char *raw;
    double f;
    unsigned long long u;
    bool b;
    const char *cls;
    bool disabled;
    long n;
} values;

static const char *const values_s0[] = {"<p>", "|", "|", "|", "|", "</p><input", "", "", ">"};
static const lv_tmpl values_t0 = LV_TMPL(values_s0);
static const lv_field values_fields[] = {
    LV_FIELD(values, text), LV_FIELD(values, raw), LV_FIELD(values, f),        LV_FIELD(values, u),
    LV_FIELD(values, b),    LV_FIELD(values, cls), LV_FIELD(values, disabled), LV_FIELD(values, n)};

static void values_render(lv_r *r, const void *state)
{
    const values *s = state;
    lv_r_open(r, &values_t0);
    if (lv_r_slot(r, BIT(0)))
        lv_r_put(r, s->text);
    if (lv_r_slot(r, BIT(1)))
        lv_r_raw(r, s->raw);
    if (lv_r_slot(r, BIT(2)))
        lv_r_put(r, s->f);
    if (lv_r_slot(r, BIT(3)))
        lv_r_put(r, s->u);
    if (lv_r_slot(r, BIT(4)))
        lv_r_put(r, s->b);
    if (lv_r_slot(r, BIT(5)))
        lv_r_attr(r, " class", s->cls);
    if (lv_r_slot(r, BIT(6)))
        lv_r_attr(r, " disabled", s->disabled);
    if (lv_r_slot(r, BIT(7)))
        lv_r_attr(r, " value", s->n);
    lv_r_close(r);
}

static const lv_template values_template = {"values.lv.html", values_fields, 8, values_render};

Test(render, values_are_escaped_formatted_and_attributes_drop_out)
{
    values v = {"<a href='x'>&\"</a>", "<b>bold</b>", 0.1, 18446744073709551615ull, true, "big", false, -7};
    lv_rendered *rd = lv_rendered_new(&values_template, sizeof(v));
    full(rd, &v);
    cr_assert_str_eq(html(rd), "<p>&lt;a href=&#39;x&#39;&gt;&amp;&quot;&lt;/a&gt;|<b>bold</b>|0.1|"
                               "18446744073709551615|true</p><input class=\"big\" value=\"-7\">");
    v.cls = NULL;
    v.disabled = true;
    v.text = "caf\xc3\xa9 \xff!"; /* invalid UTF-8 never reaches the WebSocket text frame */
    cr_assert_str_eq(diff(rd, &v), "{\"0\":\"café \xef\xbf\xbd!\",\"5\":\"\",\"6\":\" disabled\"}");
    v.cls = "a\"b";
    v.f = 1e300;
    cr_assert_str_eq(diff(rd, &v), "{\"2\":\"1e+300\",\"5\":\" class=\\\"a&quot;b\\\"\"}");
    v.cls = "a\"b"; /* same text from another pointer: equal, so not sent */
    char same[] = "a\"b";
    v.cls = same;
    cr_assert_str_eq(diff(rd, &v), "");
    lv_rendered_free(rd);
}

Test(render, long_values_grow_and_shrink_in_place)
{
    counter c = {0, "", 0};
    lv_rendered *rd = lv_rendered_new(&counter_template, sizeof(c));
    full(rd, &c);
    strcpy(c.label, "fifteen chars!!");
    cr_assert_str_eq(diff(rd, &c), "{\"1\":\"fifteen chars!!\"}");
    c.label[3] = '\0';
    cr_assert_str_eq(diff(rd, &c), "{\"1\":\"fif\"}");
    values v = {"", "", 0, 0, false, "", false, 0};
    lv_rendered *rv = lv_rendered_new(&values_template, sizeof(v));
    full(rv, &v);
    char big[600];
    memset(big, 'x', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    big[10] = '<';
    v.text = big;
    diff(rv, &v);
    cr_assert_eq(strlen(out.data), strlen("{\"0\":\"\"}") + strlen(big) + 3, "%zu", strlen(out.data));
    big[10] = '>'; /* same escaped length, different bytes, behind the pointer */
    lv_rendered_touch(rv, offsetof(values, text), sizeof(v.text));
    cr_assert(strstr(diff(rv, &v), "&gt;") != NULL);
    lv_rendered_free(rd);
    lv_rendered_free(rv);
}

/* ---- :if / :else ---- */

typedef struct {
    int n;
    bool on;
} cond;

static const char *const cond_s0[] = {"<div>", "</div>"};
static const char *const cond_s1[] = {"<p class=\"on\">", "</p>"};
static const char *const cond_s2[] = {"<p>off</p>"};
static const lv_tmpl cond_t0 = LV_TMPL(cond_s0), cond_t1 = LV_TMPL(cond_s1), cond_t2 = LV_TMPL(cond_s2);
static const lv_field cond_fields[] = {LV_FIELD(cond, n), LV_FIELD(cond, on)};

static void cond_render(lv_r *r, const void *state)
{
    const cond *s = state;
    lv_r_open(r, &cond_t0);
    if (lv_r_slot(r, BIT(0) | BIT(1))) {
        if (s->on) {
            lv_r_open(r, &cond_t1);
            if (lv_r_slot(r, BIT(0)))
                lv_r_put(r, s->n);
            lv_r_close(r);
        } else if (s->n >= 0) {
            lv_r_open(r, &cond_t2);
            lv_r_close(r);
        } else {
            lv_r_str(r, "");
        }
    }
    lv_r_close(r);
}

static const lv_template cond_template = {"cond.lv.html", cond_fields, 2, cond_render};

Test(render, if_else_branches_send_statics_once)
{
    cond c = {1, true};
    lv_rendered *rd = lv_rendered_new(&cond_template, sizeof(c));
    cr_assert_str_eq(full(rd, &c), "{\"s\":[\"<div>\",\"</div>\"],\"0\":{\"s\":[\"<p class=\\\"on\\\">\","
                                   "\"</p>\"],\"0\":\"1\"}}");
    c.n = 2;
    cr_assert_str_eq(diff(rd, &c), "{\"0\":{\"0\":\"2\"}}", "same branch: only the changed value");
    c.on = false;
    cr_assert_str_eq(diff(rd, &c), "{\"0\":{\"s\":[\"<p>off</p>\"]}}", "the other branch, whole");
    c.n = 3;
    cr_assert_str_eq(diff(rd, &c), "", "the off branch does not show n");
    c.n = -1;
    cr_assert_str_eq(diff(rd, &c), "{\"0\":\"\"}");
    cr_assert_str_eq(html(rd), "<div></div>");
    c.on = true;
    cr_assert_str_eq(diff(rd, &c), "{\"0\":{\"s\":[\"<p class=\\\"on\\\">\",\"</p>\"],\"0\":\"-1\"}}",
                     "after a string, the node comes whole again");
    lv_rendered_free(rd);
}

/* ---- keyed comprehension: PROTOCOL.md section 9 (c) ---- */

typedef struct {
    char id[4];
    char name[8];
} person;

typedef struct {
    person people[8];
    int n;
} people;

static const char *const people_s0[] = {"<ul>", "</ul>"};
static const char *const people_s1[] = {"<li id=\"", "\">", "</li>"};
static const lv_tmpl people_t0 = LV_TMPL(people_s0), people_t1 = LV_TMPL(people_s1);
static const lv_field people_fields[] = {LV_FIELD(people, people), LV_FIELD(people, n)};

static void people_render(lv_r *r, const void *state)
{
    const people *s = state;
    lv_r_open(r, &people_t0);
    if (lv_r_slot(r, BIT(0) | BIT(1))) {
        lv_r_for_begin(r, &people_t1);
        for (int i = 0; i < s->n; i++) {
            const person *p = &s->people[i];
            lv_r_item_key(r, p->id);
            if (lv_r_item_unchanged(r, p, sizeof(*p), 0))
                continue;
            if (lv_r_slot(r, 0))
                lv_r_put(r, p->id);
            if (lv_r_slot(r, 0))
                lv_r_put(r, p->name);
        }
        lv_r_for_end(r);
    }
    lv_r_close(r);
}

static const lv_template people_template = {"people.lv.html", people_fields, 2, people_render};

Test(render, keyed_comprehension_follows_the_protocol_transcript)
{
    people s = {{{"a1", "Alice"}, {"b2", "Bob"}}, 2};
    lv_rendered *rd = lv_rendered_new(&people_template, sizeof(s));
    cr_assert_str_eq(full(rd, &s),
                     "{\"s\":[\"<ul>\",\"</ul>\"],\"0\":{\"s\":[\"<li id=\\\"\",\"\\\">\",\"</li>\"],"
                     "\"k\":{\"0\":{\"0\":\"a1\",\"1\":\"Alice\"},\"1\":{\"0\":\"b2\",\"1\":\"Bob\"},"
                     "\"kc\":2}}}");
    strcpy(s.people[1].name, "Bobby");
    s.people[2] = (person){"c3", "Carol"};
    s.n = 3;
    cr_assert_str_eq(diff(rd, &s),
                     "{\"0\":{\"k\":{\"1\":{\"1\":\"Bobby\"},\"2\":{\"0\":\"c3\",\"1\":\"Carol\"},"
                     "\"kc\":3}}}");
    s.people[0] = (person){"c3", "Carol"};
    s.people[1] = (person){"a1", "Alicia"};
    s.n = 2;
    cr_assert_str_eq(diff(rd, &s),
                     "{\"0\":{\"k\":{\"0\":2,\"1\":[0,{\"1\":\"Alicia\"}],\"km\":true,\"kc\":2}}}");
    cr_assert_str_eq(html(rd), "<ul><li id=\"c3\">Carol</li><li id=\"a1\">Alicia</li></ul>");
    s.n = 0;
    cr_assert_str_eq(diff(rd, &s), "{\"0\":{\"k\":{\"kc\":0}}}");
    cr_assert_str_eq(html(rd), "<ul></ul>");
    cr_assert_str_eq(diff(rd, &s), "");
    lv_rendered_free(rd);
}

Test(render, an_empty_comprehension_still_sends_its_statics_first)
{
    people s = {{{"a1", "Alice"}}, 0};
    lv_rendered *rd = lv_rendered_new(&people_template, sizeof(s));
    cr_assert_str_eq(full(rd, &s),
                     "{\"s\":[\"<ul>\",\"</ul>\"],\"0\":{\"s\":[\"<li id=\\\"\",\"\\\">\",\"</li>\"],"
                     "\"k\":{\"kc\":0}}}");
    s.n = 1;
    cr_assert_str_eq(diff(rd, &s), "{\"0\":{\"k\":{\"0\":{\"0\":\"a1\",\"1\":\"Alice\"},\"kc\":1}}}");
    lv_rendered_free(rd);
}

Test(render, prepend_and_delete_are_moves_not_resends)
{
    people s = {{{"a", "A"}, {"b", "B"}, {"c", "C"}}, 3};
    lv_rendered *rd = lv_rendered_new(&people_template, sizeof(s));
    full(rd, &s);
    memmove(&s.people[1], &s.people[0], 3 * sizeof(person));
    s.people[0] = (person){"z", "Z"};
    s.n = 4;
    cr_assert_str_eq(diff(rd, &s), "{\"0\":{\"k\":{\"0\":{\"0\":\"z\",\"1\":\"Z\"},\"1\":0,\"2\":1,\"3\":2,"
                                   "\"km\":true,\"kc\":4}}}");
    memmove(&s.people[1], &s.people[2], 2 * sizeof(person)); /* delete "a" */
    s.n = 3;
    cr_assert_str_eq(diff(rd, &s), "{\"0\":{\"k\":{\"1\":2,\"2\":3,\"km\":true,\"kc\":3}}}");
    cr_assert_str_eq(html(rd), "<ul><li id=\"z\">Z</li><li id=\"b\">B</li><li id=\"c\">C</li></ul>");
    lv_rendered_free(rd);
}

/* ---- index-keyed comprehension over a range, inside an item of another ---- */

typedef struct {
    int rows[4];
    int nrows;
    bool show;
} grid;

static const char *const grid_s0[] = {"<table>", "</table>"};
static const char *const grid_s1[] = {"<tr>", "</tr>"};
static const char *const grid_s2[] = {"<td>", "</td>"};
static const char *const grid_s3[] = {"<tfoot></tfoot>"};
static const lv_tmpl grid_t0 = LV_TMPL(grid_s0), grid_t1 = LV_TMPL(grid_s1), grid_t2 = LV_TMPL(grid_s2),
                     grid_t3 = LV_TMPL(grid_s3);
static const lv_field grid_fields[] = {LV_FIELD(grid, rows), LV_FIELD(grid, nrows), LV_FIELD(grid, show)};

static void grid_render(lv_r *r, const void *state)
{
    const grid *s = state;
    lv_r_open(r, &grid_t0);
    if (lv_r_slot(r, BIT(0) | BIT(1) | BIT(2))) {
        lv_r_for_begin(r, &grid_t1);
        for (int i = 0; i < s->nrows; i++) {
            lv_r_item(r);
            if (lv_r_slot(r, BIT(0) | BIT(2))) {
                if (s->show) {
                    lv_r_open(r, &grid_t3);
                    lv_r_close(r);
                } else {
                    lv_r_for_begin(r, &grid_t2);
                    for (long k = 0; k < s->rows[i]; k++) {
                        lv_r_item(r);
                        if (lv_r_slot(r, 0))
                            lv_r_put(r, k);
                    }
                    lv_r_for_end(r);
                }
            }
        }
        lv_r_for_end(r);
    }
    lv_r_close(r);
}

static const lv_template grid_template = {"grid.lv.html", grid_fields, 3, grid_render};

Test(render, nested_comprehensions_diff_by_index)
{
    grid g = {{2, 1}, 2, false};
    lv_rendered *rd = lv_rendered_new(&grid_template, sizeof(g));
    full(rd, &g);
    cr_assert_str_eq(html(rd), "<table><tr><td>0</td><td>1</td></tr><tr><td>0</td></tr></table>");
    g.rows[1] = 2;
    cr_assert_str_eq(diff(rd, &g), "{\"0\":{\"k\":{\"1\":{\"0\":{\"k\":{\"1\":{\"0\":\"1\"},\"kc\":2}}},"
                                   "\"kc\":2}}}");
    g.rows[0] = 1;
    cr_assert_str_eq(diff(rd, &g), "{\"0\":{\"k\":{\"0\":{\"0\":{\"k\":{\"kc\":1}}},\"kc\":2}}}");
    g.show = true;
    diff(rd, &g);
    cr_assert_str_eq(out.data, "{\"0\":{\"k\":{\"0\":{\"0\":{\"s\":0}},\"1\":{\"0\":{\"s\":0}},\"kc\":2}},"
                               "\"p\":{\"0\":[\"<tfoot></tfoot>\"]}}"); /* one statics for both rows */
    cr_assert_str_eq(html(rd), "<table><tr><tfoot></tfoot></tr><tr><tfoot></tfoot></tr></table>");
    lv_rendered_free(rd);
}

/* ---- changes behind pointers ---- */

typedef struct {
    const char *msg; /* points outside the state */
} ptr;

static const char *const ptr_s0[] = {"<p>", "</p>"};
static const lv_tmpl ptr_t0 = LV_TMPL(ptr_s0);
static const lv_field ptr_fields[] = {LV_FIELD(ptr, msg)};

static void ptr_render(lv_r *r, const void *state)
{
    const ptr *s = state;
    lv_r_open(r, &ptr_t0);
    if (lv_r_slot(r, BIT(0)))
        lv_r_put(r, s->msg);
    lv_r_close(r);
}

static const lv_template ptr_template = {"ptr.lv.html", ptr_fields, 1, ptr_render};

Test(render, touch_declares_changes_the_snapshot_cannot_see)
{
    char text[8] = "one";
    ptr p = {text};
    lv_rendered *rd = lv_rendered_new(&ptr_template, sizeof(p));
    full(rd, &p);
    strcpy(text, "two");
    cr_assert_str_eq(diff(rd, &p), "", "the pointer did not change");
    lv_rendered_touch(rd, offsetof(ptr, msg), sizeof(p.msg));
    cr_assert_str_eq(diff(rd, &p), "{\"0\":\"two\"}");
    cr_assert_str_eq(diff(rd, &p), "", "a touch lasts one render");
    lv_rendered_free(rd);
}

/* ---- the title ---- */

static void titled_render(lv_r *r, const void *state)
{
    const counter *s = state;
    if (lv_r_title_begin(r, BIT(0))) {
        lv_r_title_text(r, "Temp ");
        lv_r_put(r, s->temp);
        lv_r_title_text(r, " <&>");
        lv_r_title_end(r);
    }
    counter_render(r, state);
}

static const lv_template titled_template = {"titled.lv.html", counter_fields, 2, titled_render};

Test(render, the_title_is_sent_as_t_when_it_changes)
{
    counter c = {1, "a", 0};
    lv_rendered *rd = lv_rendered_new(&titled_template, sizeof(c));
    cr_assert(strstr(full(rd, &c), ",\"t\":\"Temp 1 <&>\"}") != NULL, "%s", out.data);
    cr_assert_str_eq(lv_rendered_title(rd), "Temp 1 <&>");
    strcpy(c.label, "b");
    cr_assert_str_eq(diff(rd, &c), "{\"1\":\"b\"}");
    c.temp = 2;
    cr_assert_str_eq(diff(rd, &c), "{\"0\":\"2\",\"t\":\"Temp 2 <&>\"}");
    cr_assert_str_eq(lv_rendered_title(rd), "Temp 2 <&>");
    lv_rendered *plain = lv_rendered_new(&counter_template, sizeof(c));
    full(plain, &c);
    cr_assert_null(lv_rendered_title(plain));
    lv_rendered_free(plain);
    lv_rendered_free(rd);
}

/* ---- generated code and statics that disagree fail cleanly ---- */

static void broken_render(lv_r *r, const void *state)
{
    (void)state;
    lv_r_open(r, &counter_t0);
    for (int i = 0; i < 3; i++) /* one slot too many */
        if (lv_r_slot(r, BIT(0)))
            lv_r_put(r, i);
    lv_r_for_begin(r, &people_t1);
    lv_r_item(r);
    /* returns without closing anything */
}

static const lv_template broken_template = {"broken.lv.html", counter_fields, 2, broken_render};

Test(render, a_broken_render_returns_einval)
{
    counter c = {0};
    lv_rendered *rd = lv_rendered_new(&broken_template, sizeof(c));
    lv_buf b = LV_BUF_INIT;
    cr_assert_eq(lv_rendered_full(rd, &c, &b), LV_EINVAL);
    lv_buf_free(&b);
    lv_rendered_free(rd);
}

/* ---- 1,000 keyed rows, one changed cell ---- */

typedef struct {
    int id;
    char name[16];
    int value;
} trow;

typedef struct {
    trow rows[1000];
    int n;
    int highlight;
} table;

static const char *const table_s0[] = {"<table>", "</table>"};
static const char *const table_s1[] = {"<tr id=\"row-", "\"><td>", "</td><td", ">", "</td></tr>"};
static const lv_tmpl table_t0 = LV_TMPL(table_s0), table_t1 = LV_TMPL(table_s1);
static const lv_field table_fields[] = {LV_FIELD(table, rows), LV_FIELD(table, n),
                                        LV_FIELD(table, highlight)};

static void table_render(lv_r *r, const void *state)
{
    const table *s = state;
    lv_r_open(r, &table_t0);
    if (lv_r_slot(r, BIT(0) | BIT(1) | BIT(2))) {
        lv_r_for_begin(r, &table_t1);
        for (int i = 0; i < s->n; i++) {
            const trow *row = &s->rows[i];
            if (lv_r_item_key_keep(r, row->id, row, sizeof(*row), BIT(2)))
                continue;
            if (lv_r_slot(r, 0))
                lv_r_put(r, row->id);
            if (lv_r_slot(r, 0))
                lv_r_put(r, row->name);
            if (lv_r_slot(r, BIT(2)))
                lv_r_attr(r, " class", row->id == s->highlight ? "hi" : NULL);
            if (lv_r_slot(r, 0))
                lv_r_put(r, row->value);
        }
        lv_r_for_end(r);
    }
    lv_r_close(r);
}

static const lv_template table_template = {"table.lv.html", table_fields, 3, table_render};

Test(render, one_cell_of_a_thousand_rows)
{
    static table t;
    t.n = 1000;
    for (int i = 0; i < 1000; i++)
        t.rows[i] = (trow){i + 1, "row", i * 7};
    lv_rendered *rd = lv_rendered_new(&table_template, sizeof(t));
    full(rd, &t);
    t.rows[500].value = -1;
    cr_assert_str_eq(diff(rd, &t), "{\"0\":{\"k\":{\"500\":{\"3\":\"-1\"},\"kc\":1000}}}");
    cr_assert_leq(out.len, 120);
    t.highlight = 7; /* read by every row besides its element: every row is evaluated */
    cr_assert_str_eq(diff(rd, &t), "{\"0\":{\"k\":{\"6\":{\"2\":\" class=\\\"hi\\\"\"},\"kc\":1000}}}");
    t.rows[999].value = 5;
    t.rows[0].value = 5;
    cr_assert_str_eq(diff(rd, &t), "{\"0\":{\"k\":{\"0\":{\"3\":\"5\"},\"999\":{\"3\":\"5\"},\"kc\":1000}}}");
    lv_rendered_free(rd);
}

/* ---- randomized: the client rebuilds exactly what the server holds ---- */

typedef struct {
    int id;
    char name[6];
    int n;
    bool flag;
} prow;

typedef struct {
    prow rows[10];
    int nrows;
    int title_n;
    bool show;
} prop;

static const char *const prop_s0[] = {"<h1>", "</h1><ul>", "</ul>", ""};
static const char *const prop_s1[] = {"<li id=\"", "\"", ">", "", "", "</li>"};
static const char *const prop_s2[] = {"<b>", "</b>"};
static const char *const prop_s3[] = {"<i>", "</i>"};
static const char *const prop_s4[] = {"<p>shown ", "</p>"};
static const char *const prop_s5[] = {"<p>hidden</p>"};
static const lv_tmpl prop_t0 = LV_TMPL(prop_s0), prop_t1 = LV_TMPL(prop_s1), prop_t2 = LV_TMPL(prop_s2),
                     prop_t3 = LV_TMPL(prop_s3), prop_t4 = LV_TMPL(prop_s4), prop_t5 = LV_TMPL(prop_s5);
static const lv_field prop_fields[] = {LV_FIELD(prop, rows), LV_FIELD(prop, nrows), LV_FIELD(prop, title_n),
                                       LV_FIELD(prop, show)};

static void prop_render(lv_r *r, const void *state)
{
    const prop *s = state;
    if (lv_r_title_begin(r, BIT(2))) {
        lv_r_put(r, s->title_n);
        lv_r_title_end(r);
    }
    lv_r_open(r, &prop_t0);
    if (lv_r_slot(r, BIT(2)))
        lv_r_put(r, s->title_n);
    if (lv_r_slot(r, BIT(0) | BIT(1))) {
        lv_r_for_begin(r, &prop_t1);
        for (int i = 0; i < s->nrows; i++) {
            const prow *x = &s->rows[i];
            if (s->title_n == 2 ? lv_r_item_key_keep(r, x->id, x, sizeof(*x), 0) /* both forms */
                                : (lv_r_item_key(r, x->id), lv_r_item_unchanged(r, x, sizeof(*x), 0)))
                continue;
            if (lv_r_slot(r, 0))
                lv_r_put(r, x->id);
            if (lv_r_slot(r, 0))
                lv_r_attr(r, " data-flag", x->flag);
            if (lv_r_slot(r, 0))
                lv_r_put(r, x->name);
            if (lv_r_slot(r, 0)) {
                if (x->n % 2) {
                    lv_r_open(r, &prop_t2);
                    if (lv_r_slot(r, 0))
                        lv_r_put(r, x->n);
                    lv_r_close(r);
                } else {
                    lv_r_str(r, "");
                }
            }
            if (lv_r_slot(r, 0)) {
                lv_r_for_begin(r, &prop_t3);
                for (long k = 0; k < x->n % 4; k++) {
                    lv_r_item(r);
                    if (lv_r_slot(r, 0))
                        lv_r_put(r, k * x->id);
                }
                lv_r_for_end(r);
            }
        }
        lv_r_for_end(r);
    }
    if (lv_r_slot(r, BIT(1) | BIT(3))) {
        if (s->show) {
            lv_r_open(r, &prop_t4);
            if (lv_r_slot(r, BIT(1)))
                lv_r_put(r, s->nrows);
            lv_r_close(r);
        } else {
            lv_r_open(r, &prop_t5);
            lv_r_close(r);
        }
    }
    lv_r_close(r);
}

static const lv_template prop_template = {"prop.lv.html", prop_fields, 4, prop_render};

static void mutate(prop *s, unsigned *seed, int *next_id)
{
    int op = rand_r(seed) % 9;
    int i = s->nrows ? rand_r(seed) % s->nrows : 0;
    switch (op) {
    case 0: /* insert */
        if (s->nrows < 10) {
            memmove(&s->rows[i + 1], &s->rows[i], (size_t)(s->nrows - i) * sizeof(prow));
            s->rows[i] = (prow){(*next_id)++, "new", rand_r(seed) % 7, false};
            s->nrows++;
        }
        break;
    case 1: /* delete */
        if (s->nrows) {
            memmove(&s->rows[i], &s->rows[i + 1], (size_t)(s->nrows - i - 1) * sizeof(prow));
            s->nrows--;
        }
        break;
    case 2: /* swap */
        if (s->nrows > 1) {
            int j = rand_r(seed) % s->nrows;
            prow tmp = s->rows[i];
            s->rows[i] = s->rows[j];
            s->rows[j] = tmp;
        }
        break;
    case 3:
        if (s->nrows)
            s->rows[i].n = rand_r(seed) % 7;
        break;
    case 4:
        if (s->nrows)
            snprintf(s->rows[i].name, sizeof(s->rows[i].name), "%c<%d", 'a' + rand_r(seed) % 26,
                     rand_r(seed) % 9);
        break;
    case 5:
        if (s->nrows)
            s->rows[i].flag = !s->rows[i].flag;
        break;
    case 6: s->show = !s->show; break;
    case 7: s->title_n = rand_r(seed) % 3; break;
    default: /* nothing */ break;
    }
}

Test(render, random_changes_merge_into_the_same_html_on_the_client)
{
    for (unsigned run = 0; run < 40; run++) {
        unsigned seed = run * 7919 + 1;
        int next_id = 100;
        prop s;
        memset(&s, 0, sizeof(s));
        for (int i = 0; i < 4; i++)
            s.rows[s.nrows++] = (prow){next_id++, "x", i, i % 2};
        lv_rendered *rd = lv_rendered_new(&prop_template, sizeof(s));
        json_t *client = NULL;
        json_error_t jerr;
        json_t *j = json_loads(full(rd, &s), 0, &jerr);
        cr_assert_not_null(j, "full render is not JSON: %s", out.data);
        lv_tt_apply(&client, j);
        json_decref(j);
        for (int step = 0; step < 60; step++) {
            int nmut = 1 + rand_r(&seed) % 3;
            for (int m = 0; m < nmut; m++)
                mutate(&s, &seed, &next_id);
            const char *d = diff(rd, &s);
            char *dcopy = strdup(d);
            if (*dcopy) {
                j = json_loads(dcopy, 0, &jerr);
                cr_assert_not_null(j, "diff is not JSON: %s", dcopy);
                lv_tt_apply(&client, j);
                json_decref(j);
            }
            lv_buf client_html = LV_BUF_INIT;
            lv_tt_html(client, NULL, &client_html);
            lv_buf_putc(&client_html, '\0');
            char *server_html = strdup(html(rd));
            lv_rendered *fresh = lv_rendered_new(&prop_template, sizeof(s));
            full(fresh, &s);
            cr_assert_str_eq(client_html.data, server_html, "run %u step %d, diff %s", run, step, dcopy);
            cr_assert_str_eq(html(fresh), server_html, "run %u step %d", run, step);
            char title[16];
            snprintf(title, sizeof(title), "%d", s.title_n);
            cr_assert_str_eq(lv_rendered_title(rd), title);
            cr_assert_str_eq(diff(rd, &s), "", "a second diff of the same state is empty");
            lv_rendered_free(fresh);
            lv_buf_free(&client_html);
            free(server_html);
            free(dcopy);
        }
        json_decref(client);
        lv_rendered_free(rd);
    }
}

/* ---- stateful components: nodes under "c" by cid ---- */

typedef struct {
    int n;
    char label[8];
} ctr;

static const char *const ctr_s0[] = {"<button phx-target=\"", "\" phx-click=\"inc\">", " ", "</button>"};
static const lv_tmpl ctr_t0 = LV_TMPL(ctr_s0);
static const lv_field ctr_fields[] = {LV_FIELD(ctr, n), LV_FIELD(ctr, label)};

static void ctr_render(lv_r *r, const void *state)
{
    const ctr *s = state;
    lv_r_open(r, &ctr_t0);
    if (lv_r_slot(r, 0))
        lv_r_put(r, lv_r_myself(r));
    if (lv_r_slot(r, BIT(0)))
        lv_r_put(r, s->n);
    if (lv_r_slot(r, BIT(1)))
        lv_r_put(r, s->label);
    lv_r_close(r);
}

static const lv_template ctr_template = {"ctr.lv.html", ctr_fields, 2, ctr_render};

typedef struct {
    ctr ctrs[4];
    int nctrs;
    bool show_extra;
    ctr *extra; /* a component whose state lives outside the view's */
} board;

static const char *const board_s0[] = {"<div>", "", "</div>"};
static const char *const board_s1[] = {"<p>", "</p>"};
static const lv_tmpl board_t0 = LV_TMPL(board_s0), board_t1 = LV_TMPL(board_s1);
static const lv_field board_fields[] = {LV_FIELD(board, ctrs), LV_FIELD(board, nctrs),
                                        LV_FIELD(board, show_extra), LV_FIELD(board, extra)};

static void board_render(lv_r *r, const void *state)
{
    const board *s = state;
    lv_r_open(r, &board_t0);
    if (lv_r_slot(r, BIT(0) | BIT(1))) {
        lv_r_for_begin(r, &board_t1);
        for (int i = 0; i < s->nctrs; i++) {
            lv_r_item(r);
            if (lv_r_slot(r, 0))
                lv_r_live(r, &ctr_template, &s->ctrs[i], sizeof(ctr), i);
        }
        lv_r_for_end(r);
    }
    if (lv_r_slot(r, BIT(2) | BIT(3))) {
        if (s->show_extra)
            lv_r_live(r, &ctr_template, s->extra, sizeof(ctr), "extra");
        else
            lv_r_str(r, "");
    }
    lv_r_close(r);
}

static const lv_template board_template = {"board.lv.html", board_fields, 4, board_render};

#define CTR_S "\"s\":[\"<button phx-target=\\\"\",\"\\\" phx-click=\\\"inc\\\">\",\" \",\"</button>\"]"

static json_t *client_tree;

static const char *client_step(lv_rendered *rd, const void *state, bool whole, json_t **tree);

static const char *board_step(lv_rendered *rd, board *b, bool whole)
{
    return client_step(rd, b, whole, &client_tree);
}

Test(render, stateful_components_travel_under_c_by_cid)
{
    ctr extra = {9, "x"};
    board b = {{{1, "a"}, {2, "b"}}, 2, true, &extra};
    lv_rendered *rd = lv_rendered_new(&board_template, sizeof(b));
    cr_assert_str_eq(
        board_step(rd, &b, true),
        "{\"s\":[\"<div>\",\"\",\"</div>\"],\"0\":{\"s\":[\"<p>\",\"</p>\"],\"k\":{\"0\":{\"0\":1},"
        "\"1\":{\"0\":2},\"kc\":2}},\"1\":3,\"c\":{\"1\":{" CTR_S ",\"0\":\"1\",\"1\":\"1\",\"2\":\"a\","
        "\"r\":1},\"2\":{\"s\":1,\"0\":\"2\",\"1\":\"2\",\"2\":\"b\"},\"3\":{\"s\":1,\"0\":\"3\",\"1\":\"9\","
        "\"2\":\"x\"}}}"); /* statics once: cids 2 and 3 share cid 1's */
    cr_assert_str_eq(html(rd),
                     "<div><p><button phx-target=\"1\" phx-click=\"inc\">1 a</button></p><p><button "
                     "phx-target=\"2\" phx-click=\"inc\">2 b</button></p><button phx-target=\"3\" "
                     "phx-click=\"inc\">9 x</button></div>");
    const lv_template *t = NULL;
    const void *st = NULL;
    cr_assert_eq(lv_rendered_component(rd, 2, &t, &st), 0);
    cr_assert(t == &ctr_template && st == &b.ctrs[1]);
    cr_assert_eq(lv_rendered_component(rd, 7, &t, &st), LV_ENOTFOUND);

    b.ctrs[1].n = 5; /* a component's own state: only its node changes */
    cr_assert_str_eq(board_step(rd, &b, false), "{\"c\":{\"2\":{\"1\":\"5\"}}}");
    extra.n = 10; /* behind a pointer the view's fields do not show: compared with its snapshot */
    cr_assert_str_eq(board_step(rd, &b, false), "{\"c\":{\"3\":{\"1\":\"10\"}}}");
    cr_assert_str_eq(board_step(rd, &b, false), "");

    b.nctrs = 1; /* cid 2 leaves the page; the client will ask to destroy it */
    cr_assert_str_eq(board_step(rd, &b, false), "{\"0\":{\"k\":{\"kc\":1}}}");
    int64_t cids[2] = {2, 1}, gone[2] = {0, 0};
    cr_assert_eq(lv_rendered_cids_destroyed(rd, cids, 2, gone), 1, "cid 1 is still shown");
    cr_assert_eq(gone[0], 2);
    cr_assert_eq(lv_rendered_component(rd, 2, NULL, NULL), LV_ENOTFOUND);
    b.nctrs = 2; /* back, as a new component: the client has the statics under cid 1 */
    cr_assert_str_eq(board_step(rd, &b, false),
                     "{\"0\":{\"k\":{\"1\":{\"0\":4},\"kc\":2}},\"c\":{\"4\":{\"s\":-1,"
                     "\"0\":\"4\",\"1\":\"5\",\"2\":\"b\"}}}");

    b.show_extra = false;
    cr_assert_str_eq(board_step(rd, &b, false), "{\"1\":\"\"}");
    b.show_extra = true; /* shown again before the client destroyed it: same cid, nothing resent */
    cr_assert_str_eq(board_step(rd, &b, false), "{\"1\":3}");
    int64_t three = 3;
    cr_assert_eq(lv_rendered_cids_destroyed(rd, &three, 1, NULL), 0);

    b.ctrs[0].label[0] = 'z'; /* a rejoin: the whole tree and every shown component */
    const char *again = board_step(rd, &b, true);
    cr_assert(strstr(again, "\"c\":{\"1\":{" CTR_S ",\"0\":\"1\",\"1\":\"1\",\"2\":\"z\",\"r\":1},\"3\":{") !=
                  NULL,
              "%s", again);
    json_decref(client_tree);
    client_tree = NULL;
    lv_rendered_free(rd);
}

/* ---- elements outside the fields the template declares are never taken as unchanged ---- */

typedef struct {
    int tick;      /* declared: its changes re-evaluate the list */
    int hidden[2]; /* not declared (read through a helper, say): no snapshot keeps it current */
} untracked;

static const char *const untracked_s0[] = {"<ul>", "</ul>"};
static const char *const untracked_s1[] = {"<li>", "</li>"};
static const lv_tmpl untracked_t0 = LV_TMPL(untracked_s0), untracked_t1 = LV_TMPL(untracked_s1);
static const lv_field untracked_fields[] = {LV_FIELD(untracked, tick)};

static void untracked_render(lv_r *r, const void *state)
{
    const untracked *s = state;
    lv_r_open(r, &untracked_t0);
    if (lv_r_slot(r, BIT(0))) {
        lv_r_for_begin(r, &untracked_t1);
        for (int i = 0; i < 2; i++) {
            if (lv_r_item_keep(r, &s->hidden[i], sizeof(int), 0))
                continue;
            if (lv_r_slot(r, 0))
                lv_r_put(r, s->hidden[i]);
        }
        lv_r_for_end(r);
    }
    lv_r_close(r);
}

static const lv_template untracked_template = {"untracked.lv.html", untracked_fields, 1, untracked_render};

Test(render, elements_in_undeclared_fields_are_always_rendered)
{
    untracked u = {0, {1, 1}};
    lv_rendered *rd = lv_rendered_new(&untracked_template, sizeof(u));
    full(rd, &u);
    u.hidden[0] = 2;
    u.tick++;
    cr_assert_str_eq(diff(rd, &u), "{\"0\":{\"k\":{\"0\":{\"0\":\"2\"},\"kc\":2}}}");
    u.hidden[0] = 1; /* back to the bytes of the first render's snapshot */
    u.tick++;
    cr_assert_str_eq(diff(rd, &u), "{\"0\":{\"k\":{\"0\":{\"0\":\"1\"},\"kc\":2}}}");
    lv_rendered_free(rd);
}

/* ---- statics once per template: "p" templates within one tree or diff ---- */

typedef struct {
    char names[6][4];
    int n;
} badges;

static const char *const badges_s0[] = {"<ul>", "</ul>"};
static const char *const badges_s1[] = {"<li>", "</li>"};
static const char *const badges_s2[] = {"<b>", "</b>"};
static const lv_tmpl badges_t0 = LV_TMPL(badges_s0), badges_t1 = LV_TMPL(badges_s1),
                     badges_t2 = LV_TMPL(badges_s2);
static const lv_field badges_fields[] = {LV_FIELD(badges, names), LV_FIELD(badges, n)};

/* <ul><li :for={i in 0..@n}><b :if={1}>{@names[i]}</b></li></ul>: a nested node per item */
static void badges_render(lv_r *r, const void *state)
{
    const badges *s = state;
    lv_r_open(r, &badges_t0);
    if (lv_r_slot(r, BIT(0) | BIT(1))) {
        lv_r_for_begin(r, &badges_t1);
        for (int i = 0; i < s->n; i++) {
            lv_r_item_key(r, i);
            if (lv_r_slot(r, 0)) {
                lv_r_open(r, &badges_t2);
                if (lv_r_slot(r, 0))
                    lv_r_put(r, s->names[i]);
                lv_r_close(r);
            }
        }
        lv_r_for_end(r);
    }
    lv_r_close(r);
}

static const lv_template badges_template = {"badges.lv.html", badges_fields, 2, badges_render};

/* One step as the client sees it: the JSON, merged into the client's tree, rebuilds the HTML. */
static const char *client_step(lv_rendered *rd, const void *state, bool whole, json_t **tree)
{
    const char *d = whole ? full(rd, state) : diff(rd, state);
    char *copy = strdup(d);
    if (*copy) {
        json_t *j = json_loads(copy, 0, NULL);
        cr_assert_not_null(j, "%s", copy);
        lv_tt_apply(tree, j);
        json_decref(j);
    }
    lv_buf h = LV_BUF_INIT;
    lv_tt_html(*tree, NULL, &h);
    lv_buf_putc(&h, '\0');
    cr_assert_str_eq(h.data, html(rd), "after %s", copy);
    lv_buf_free(&h);
    lv_buf_reset(&out);
    lv_buf_puts(&out, copy);
    free(copy);
    return out.data;
}

Test(render, repeated_statics_travel_once_through_p)
{
    badges b = {{"a", "b"}, 2};
    json_t *tree = NULL;
    lv_rendered *rd = lv_rendered_new(&badges_template, sizeof(b));
    cr_assert_str_eq(client_step(rd, &b, true, &tree),
                     "{\"s\":[\"<ul>\",\"</ul>\"],\"0\":{\"s\":[\"<li>\",\"</li>\"],\"k\":{\"0\":{\"0\":{\"s\":0,"
                     "\"0\":\"a\"}},\"1\":{\"0\":{\"s\":0,\"0\":\"b\"}},\"kc\":2}},\"p\":{\"0\":[\"<b>\",\"</b>\"]}}");
    strcpy(b.names[2], "c");
    strcpy(b.names[3], "d");
    b.n = 4; /* two new items in one diff: once more through "p", numbered afresh */
    cr_assert_str_eq(client_step(rd, &b, false, &tree),
                     "{\"0\":{\"k\":{\"2\":{\"0\":{\"s\":0,\"0\":\"c\"}},\"3\":{\"0\":{\"s\":0,\"0\":\"d\"}},"
                     "\"kc\":4}},\"p\":{\"0\":[\"<b>\",\"</b>\"]}}");
    strcpy(b.names[4], "e");
    b.n = 5; /* one new node: its statics inline, no "p" */
    cr_assert_str_eq(client_step(rd, &b, false, &tree),
                     "{\"0\":{\"k\":{\"4\":{\"0\":{\"s\":[\"<b>\",\"</b>\"],\"0\":\"e\"}},\"kc\":5}}}");
    strcpy(b.names[0], "A"); /* a known node: a partial diff, no statics at all */
    cr_assert_str_eq(client_step(rd, &b, false, &tree), "{\"0\":{\"k\":{\"0\":{\"0\":{\"0\":\"A\"}},\"kc\":5}}}");
    json_decref(tree);
    lv_rendered_free(rd);
}

typedef struct {
    badges b;
    badges more;
    bool two;
} shelf;

static const char *const shelf_s0[] = {"<div>", "", "</div>"};
static const lv_tmpl shelf_t0 = LV_TMPL(shelf_s0);
static const lv_field shelf_fields[] = {LV_FIELD(shelf, two)};

static void shelf_render(lv_r *r, const void *state)
{
    const shelf *s = state;
    lv_r_open(r, &shelf_t0);
    if (lv_r_slot(r, 0))
        lv_r_live(r, &badges_template, &s->b, sizeof(badges), 1);
    if (lv_r_slot(r, BIT(0))) {
        if (s->two)
            lv_r_live(r, &badges_template, &s->more, sizeof(badges), 2);
        else
            lv_r_str(r, "");
    }
    lv_r_close(r);
}

static const lv_template shelf_template = {"shelf.lv.html", shelf_fields, 1, shelf_render};

Test(render, a_component_has_its_own_p_and_borrows_statics_by_cid)
{
    shelf s = {{{"a", "b"}, 2}, {{"x", "y", "z"}, 3}, false};
    json_t *tree = NULL;
    lv_rendered *rd = lv_rendered_new(&shelf_template, sizeof(s));
    /* the client reads a component's statics against the component's own "p" */
    cr_assert_str_eq(client_step(rd, &s, true, &tree),
                     "{\"s\":[\"<div>\",\"\",\"</div>\"],\"0\":1,\"1\":\"\",\"c\":{\"1\":{\"s\":[\"<ul>\",\"</ul>\"],"
                     "\"0\":{\"s\":[\"<li>\",\"</li>\"],\"k\":{\"0\":{\"0\":{\"s\":0,\"0\":\"a\"}},\"1\":{\"0\":{\"s\":0,"
                     "\"0\":\"b\"}},\"kc\":2}},\"r\":1,\"p\":{\"0\":[\"<b>\",\"</b>\"]}}}}");
    s.two = true; /* a second component of the same template: cid 1's statics, cloned by the client */
    cr_assert_str_eq(client_step(rd, &s, false, &tree),
                     "{\"1\":2,\"c\":{\"2\":{\"s\":-1,\"0\":{\"s\":[\"<li>\",\"</li>\"],\"k\":{\"0\":{\"0\":{\"s\":0,"
                     "\"0\":\"x\"}},\"1\":{\"0\":{\"s\":0,\"0\":\"y\"}},\"2\":{\"0\":{\"s\":0,\"0\":\"z\"}},"
                     "\"kc\":3}},\"p\":{\"0\":[\"<b>\",\"</b>\"]}}}}");
    strcpy(s.more.names[1], "Y"); /* then a plain partial diff of cid 2 */
    cr_assert_str_eq(client_step(rd, &s, false, &tree), "{\"c\":{\"2\":{\"0\":{\"k\":{\"1\":{\"0\":{\"0\":\"Y\"}},\"kc\":3}}}}}");
    /* a fresh join: the cache restarts, so the second component borrows from the first of the same
     * tree (positive); cids keep counting up */
    json_decref(tree);
    tree = NULL;
    lv_rendered_reset(rd);
    const char *joined = client_step(rd, &s, true, &tree);
    cr_assert(strstr(joined, "\"4\":{\"s\":3,") != NULL, "%s", joined);
    cr_assert(strstr(joined, "\"s\":-") == NULL, "%s", joined);
    json_decref(tree);
    lv_rendered_free(rd);
}

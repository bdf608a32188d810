/* Headless test harness: a caller-driven runtime with a virtual clock, an lv_endpoint with one
 * route, an lv_socket whose transport records frames, and the client's rendered tree. Every
 * step runs the runtime until it is idle, so a test reads results right after each call. */
#include "liveview/testing.h"

#include <ctype.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "liveview/rt_internal.h"
#include "liveview/socket.h"
#include "liveview/testing_html.h"
#include "liveview/testing_tree.h"
#include "liveview/view_internal.h"

struct lv_test {
    lv_rt *rt;
    lv_endpoint ep;
    lv_route route;
    lv_socket *sock;
    lv_buf frames, html, page, diff, rendered, component;
    lv_buf redirect_flash; /* the flash token of the last redirect / live_redirect */
    lv_buf inbox; /* frames sent during the last run, not yet read */
    json_t *tree;
    char topic[96];
    char join_ref[16];
    char pending_ref[16];
    json_t *reply; /* response of the pending push */
    int next_ref;
    bool socket_closed;
    uint64_t virtual_s;
};

static uint64_t test_now_s(void)
{
    return 1700000000u;
}

/* Frames arrive while the view's process runs; they are read after it, outside any process, so
 * the client's tree is never allocated from a process's arena. */
static void on_frame(void *ctx, const char *frame, size_t len)
{
    lv_test *t = ctx;
    lv_buf_append(&t->frames, frame, len);
    lv_buf_putc(&t->frames, '\n');
    lv_buf_append(&t->inbox, frame, len);
    lv_buf_putc(&t->inbox, '\n'); /* encoded JSON never holds a raw newline */
}

/* Keeps the flash a navigation carries: payload is a redirect / live_redirect object. */
static void note_redirect(lv_test *t, const json_t *nav)
{
    if (!json_is_object(nav))
        return;
    const char *flash = json_string_value(json_object_get(nav, "flash"));
    lv_buf_reset(&t->redirect_flash);
    lv_buf_puts(&t->redirect_flash, flash ? flash : "");
}

static void read_frame(lv_test *t, const char *frame, size_t len)
{
    json_t *msg = json_loadb(frame, len, 0, NULL);
    const char *ref = json_string_value(json_array_get(msg, 1));
    const char *event = json_string_value(json_array_get(msg, 3));
    json_t *payload = json_array_get(msg, 4);
    if (event && (strcmp(event, "redirect") == 0 || strcmp(event, "live_redirect") == 0))
        note_redirect(t, payload);
    if (event && strcmp(event, "phx_reply") == 0) {
        const json_t *resp = json_object_get(payload, "response");
        note_redirect(t, json_object_get(resp, "redirect"));
        note_redirect(t, json_object_get(resp, "live_redirect"));
    }
    if (event && strcmp(event, "phx_reply") == 0) {
        json_t *resp = json_object_get(payload, "response");
        json_t *rendered = json_object_get(resp, "rendered");
        json_t *diff = json_object_get(resp, "diff");
        if (rendered) {
            lv_buf_reset(&t->rendered);
            char *s = json_dumps(rendered, JSON_COMPACT);
            lv_buf_puts(&t->rendered, s);
            free(s);
            lv_tt_apply(&t->tree, rendered);
        }
        if (ref && strcmp(ref, t->pending_ref) == 0) {
            lv_buf_reset(&t->diff);
            if (diff) {
                char *s = json_dumps(diff, JSON_COMPACT);
                lv_buf_puts(&t->diff, s);
                free(s);
                lv_tt_apply(&t->tree, diff);
            }
            json_decref(t->reply);
            t->reply = json_incref(payload);
        }
    } else if (event && strcmp(event, "diff") == 0) {
        lv_buf_reset(&t->diff);
        char *s = json_dumps(payload, JSON_COMPACT);
        lv_buf_puts(&t->diff, s);
        free(s);
        lv_tt_apply(&t->tree, payload);
    }
    json_decref(msg);
}

static void on_close(void *ctx, uint16_t code, const char *reason)
{
    lv_test *t = ctx;
    lv_buf_printf(&t->frames, "CLOSE %u %s\n", code, reason);
    t->socket_closed = true;
}

static const lv_transport_ops test_ops = {on_frame, on_close};

static void page_done(void *ctx, int status, const char *html, size_t len)
{
    lv_test *t = ctx;
    if (status == 200)
        lv_buf_append(&t->page, html, len);
}

/* Copies the value of attribute `attr` (attr="...") that follows `from` in html. */
static bool attr_value(const char *html, const char *attr, char *out, size_t cap)
{
    char needle[64];
    snprintf(needle, sizeof(needle), "%s=\"", attr);
    const char *p = strstr(html, needle);
    if (p == NULL)
        return false;
    p += strlen(needle);
    const char *end = strchr(p, '"');
    if (end == NULL || (size_t)(end - p) >= cap)
        return false;
    memcpy(out, p, (size_t)(end - p));
    out[end - p] = '\0';
    return true;
}

static void run(lv_test *t)
{
    lv_rt_run_until_idle(t->rt);
    lv_buf pending = t->inbox;
    t->inbox = (lv_buf)LV_BUF_INIT;
    for (size_t i = 0; i < pending.len;) {
        const char *nl = memchr(pending.data + i, '\n', pending.len - i);
        size_t n = nl ? (size_t)(nl - (pending.data + i)) : pending.len - i;
        read_frame(t, pending.data + i, n);
        i += n + 1;
    }
    lv_buf_free(&pending);
}

static int push(lv_test *t, const char *event, json_t *payload)
{
    snprintf(t->pending_ref, sizeof(t->pending_ref), "%d", ++t->next_ref);
    json_decref(t->reply);
    t->reply = NULL;
    json_t *frame = json_pack("[s,s,s,s,o]", t->join_ref, t->pending_ref, t->topic, event, payload);
    char *text = json_dumps(frame, JSON_COMPACT);
    json_decref(frame);
    lv_socket_frame(t->sock, text, strlen(text));
    free(text);
    run(t);
    if (t->reply == NULL)
        return LV_ETIMEDOUT;
    const char *status = json_string_value(json_object_get(t->reply, "status"));
    return status && strcmp(status, "ok") == 0 ? 0 : LV_EPROTO;
}

lv_test *lv_test_mount(const lv_view_def *view, const char *params_json)
{
    lv_test_opts opts = {.params_json = params_json};
    return lv_test_mount_opts(view, &opts);
}

lv_test *lv_test_mount_session(const lv_view_def *view, const char *params_json, const char *session_json)
{
    lv_test_opts opts = {.params_json = params_json, .session_json = session_json};
    return lv_test_mount_opts(view, &opts);
}

lv_test *lv_test_mount_opts(const lv_view_def *view, const lv_test_opts *opts)
{
    const char *params_json = opts->params_json;
    lv_test *t = calloc(1, sizeof(*t));
    lv_rt_config cfg;
    lv_rt_config_defaults(&cfg);
    cfg.schedulers = 0;
    cfg.virtual_clock = true;
    if (t == NULL || lv_rt_new(&cfg, &t->rt) != 0) {
        free(t);
        return NULL;
    }
    t->route = (lv_route){"/test", view};
    lv_endpoint_init(&t->ep, t->rt, &t->route, 1);
    t->ep.now_s = test_now_s;
    /* one fixed secret: a token one harness issued verifies in another, as across one server's pages */
    memset(t->ep.secret, 0x5a, sizeof(t->ep.secret));
    lv_page_job *job;
    int err = lv_page_render(&t->ep, &t->route, "http://localhost/test", opts->session_json, opts->cookie_flash,
                             page_done, t, &job);
    if (err != 0) {
        fprintf(stderr, "lv_test_mount: cannot render %s: %s%s\n", view->name, lv_strerror(err),
                err == LV_EINVAL ? " (the session must be a JSON object)" : "");
        goto Fail;
    }
    run(t);
    lv_page_cancel(job);
    char id[64], session[8192], stat[512], csrf[128];
    if (!attr_value(t->page.data ? t->page.data : "", "id", id, sizeof(id)) ||
        !attr_value(t->page.data, "data-phx-session", session, sizeof(session)) ||
        !attr_value(t->page.data, "data-phx-static", stat, sizeof(stat)) ||
        !attr_value(strstr(t->page.data, "name=\"csrf-token\"") ? strstr(t->page.data, "name=\"csrf-token\"")
                                                                : "",
                    "content", csrf, sizeof(csrf))) {
        fprintf(stderr, "lv_test_mount: the page render of %s failed:\n%s\n", view->name,
                t->page.data ? t->page.data : "(no page)");
        goto Fail;
    }
    t->sock = lv_socket_open(&t->ep, &test_ops, t, "test");
    snprintf(t->topic, sizeof(t->topic), "lv:%s", id);
    snprintf(t->join_ref, sizeof(t->join_ref), "%d", ++t->next_ref);
    json_t *params = params_json ? json_loads(params_json, 0, NULL) : json_object();
    if (params == NULL)
        params = json_object();
    json_object_set_new(params, "_csrf_token", json_string(csrf));
    json_object_set_new(params, "_mounts", json_integer(0));
    json_t *payload = json_pack("{s:s,s:o,s:s,s:s}", opts->flash ? "redirect" : "url", "http://localhost/test",
                                "params", params, "session", session, "static", stat);
    if (opts->flash) /* a live navigation: the client joins with "redirect" and the flash token */
        json_object_set_new(payload, "flash", json_string(opts->flash));
    /* a join's ref is its join_ref */
    t->next_ref--;
    if (push(t, "phx_join", payload) != 0) {
        fprintf(stderr, "lv_test_mount: join of %s refused:\n%s\n", view->name, t->frames.data);
        goto Fail;
    }
    /* the page's container holds the first render: keep its inner HTML for comparisons */
    const char *open = strstr(t->page.data, "data-phx-static=");
    open = open ? strchr(open, '>') : NULL;
    const char *close = strstr(t->page.data, "</div>\n</body>");
    lv_buf inner = LV_BUF_INIT;
    if (open && close && close > open)
        lv_buf_append(&inner, open + 1, (size_t)(close - open - 1));
    lv_buf_free(&t->page);
    t->page = inner;
    return t;
Fail:
    lv_test_free(t);
    return NULL;
}

void lv_test_free(lv_test *t)
{
    if (t == NULL)
        return;
    if (t->sock && !t->socket_closed)
        lv_socket_gone(t->sock);
    if (t->rt) {
        lv_rt_run_until_idle(t->rt);
        lv_rt_free(t->rt);
        lv_endpoint_dispose(&t->ep);
    }
    json_decref(t->tree);
    json_decref(t->reply);
    lv_buf_free(&t->frames);
    lv_buf_free(&t->html);
    lv_buf_free(&t->page);
    lv_buf_free(&t->diff);
    lv_buf_free(&t->rendered);
    lv_buf_free(&t->redirect_flash);
    lv_buf_free(&t->component);
    lv_buf_free(&t->inbox);
    free(t);
}

int lv_test_upgrade(lv_test *t, const char *so_path, char *msg, size_t cap)
{
    int err = lv_endpoint_upgrade(&t->ep, so_path, msg, cap);
    run(t);
    return err;
}

void lv_test_close(lv_test *t)
{
    if (!t->socket_closed) {
        t->socket_closed = true;
        lv_socket_gone(t->sock);
        run(t);
    }
}

const char *lv_test_html(lv_test *t)
{
    lv_buf_reset(&t->html);
    lv_tt_html(t->tree, t->topic + 3, &t->html);
    return t->html.data ? t->html.data : "";
}

const char *lv_test_redirect_flash(lv_test *t)
{
    return t->redirect_flash.len ? t->redirect_flash.data : NULL;
}

const char *lv_test_page_html(lv_test *t)
{
    return t->page.data ? t->page.data : "";
}
const char *lv_test_diff(lv_test *t)
{
    return t->diff.data ? t->diff.data : "";
}
const char *lv_test_join_rendered(lv_test *t)
{
    return t->rendered.data ? t->rendered.data : "";
}
const char *lv_test_frames(lv_test *t)
{
    return t->frames.data ? t->frames.data : "";
}

/* A click as the client sends it; cid > 0 when the element has phx-target of a component. */
static int click(lv_test *t, const char *event, const char *value_json, long long cid)
{
    json_t *value = value_json ? json_loads(value_json, 0, NULL) : json_pack("{s:s}", "value", "");
    if (value == NULL)
        return LV_EINVAL;
    json_t *payload = json_pack("{s:s,s:s,s:o}", "type", "click", "event", event, "value", value);
    if (cid > 0)
        json_object_set_new(payload, "cid", json_integer(cid));
    return push(t, "event", payload);
}

int lv_test_click(lv_test *t, const char *event, const char *value_json)
{
    return click(t, event, value_json, 0);
}

/* ---- stateful components ---- */

size_t lv_test_component_count(lv_test *t)
{
    return lv_tt_components(t->tree, NULL, 0);
}

/* True when the page shows component cid. */
static bool shown(lv_test *t, int64_t cid)
{
    size_t n = lv_tt_components(t->tree, NULL, 0);
    int64_t *cids = n ? malloc(n * sizeof(int64_t)) : NULL;
    bool found = false;
    if (cids) {
        lv_tt_components(t->tree, cids, n);
        for (size_t i = 0; i < n && !found; i++)
            found = cids[i] == cid;
    }
    free(cids);
    return found;
}

const char *lv_test_component_html(lv_test *t, int64_t cid)
{
    if (!shown(t, cid))
        return NULL;
    lv_buf_reset(&t->component);
    lv_tt_component_html(t->tree, cid, t->topic + 3, &t->component);
    return t->component.data ? t->component.data : "";
}

int64_t lv_test_component_cid(lv_test *t, const char *selector)
{
    size_t n = lv_tt_components(t->tree, NULL, 0);
    int64_t *cids = n ? malloc(n * sizeof(int64_t)) : NULL;
    int64_t best = 0;
    size_t best_len = SIZE_MAX;
    lv_buf html = LV_BUF_INIT;
    if (cids)
        lv_tt_components(t->tree, cids, n);
    for (size_t i = 0; cids && i < n; i++) { /* the innermost holder has the shortest HTML */
        lv_html_el el;
        bool bad = false;
        lv_buf_reset(&html);
        lv_tt_component_html(t->tree, cids[i], t->topic + 3, &html);
        if (html.data && html.len < best_len && lv_html_find(html.data, selector, &el, &bad)) {
            best = cids[i];
            best_len = html.len;
        }
        if (bad) {
            fprintf(stderr, "lv_test: unsupported selector \"%s\" (tag, #id, .class, [attr=value])\n", selector);
            break;
        }
    }
    lv_buf_free(&html);
    free(cids);
    return best;
}

int lv_test_component_click(lv_test *t, int64_t cid, const char *event, const char *value_json)
{
    if (!shown(t, cid)) {
        fprintf(stderr, "lv_test: the page shows no component %lld\n", (long long)cid);
        return LV_ENOTFOUND;
    }
    return click(t, event, value_json, cid);
}

/* The view process's lv_view. The harness's runtime runs only inside lv_test_* calls, on this
 * thread, so between calls the process's memory holds still and may be read. */
static lv_view *view_of(lv_test *t)
{
    lv_pid pid = lv_test_pid(t);
    pthread_mutex_t *lock;
    lv_proc *p = pid ? lv__lookup_locked(t->rt, pid, &lock) : NULL;
    if (p == NULL)
        return NULL;
    lv_view *v = p->hstate;
    if (lock)
        pthread_mutex_unlock(lock);
    return v;
}

void *lv_test_state(lv_test *t)
{
    lv_view *v = view_of(t);
    return v ? v->state : NULL;
}

void *lv_test_component_state(lv_test *t, int64_t cid)
{
    lv_view *v = view_of(t);
    const void *state = NULL;
    if (v == NULL || v->rd == NULL || lv_rendered_component(v->rd, cid, NULL, &state) != 0)
        return NULL;
    return (void *)state;
}

int lv_test_submit(lv_test *t, const char *event, const char *form)
{
    return push(t, "event",
                json_pack("{s:s,s:s,s:s,s:{}}", "type", "form", "event", event, "value", form, "meta"));
}

int lv_test_change(lv_test *t, const char *event, const char *form, const char *target)
{
    return push(t, "event",
                json_pack("{s:s,s:s,s:s,s:{s:s}}", "type", "form", "event", event, "value", form, "meta",
                          "_target", target ? target : ""));
}

static int key_event(lv_test *t, const char *type, const char *event, const char *key)
{
    return push(
        t, "event",
        json_pack("{s:s,s:s,s:{s:s,s:s}}", "type", type, "event", event, "value", "key", key, "value", ""));
}

int lv_test_keyup(lv_test *t, const char *event, const char *key)
{
    return key_event(t, "keyup", event, key);
}
int lv_test_keydown(lv_test *t, const char *event, const char *key)
{
    return key_event(t, "keydown", event, key);
}

int lv_test_blur(lv_test *t, const char *event)
{
    return push(t, "event",
                json_pack("{s:s,s:s,s:{s:s}}", "type", "blur", "event", event, "value", "value", ""));
}

int lv_test_focus(lv_test *t, const char *event)
{
    return push(t, "event",
                json_pack("{s:s,s:s,s:{s:s}}", "type", "focus", "event", event, "value", "value", ""));
}

static bool find(lv_test *t, const char *selector, lv_html_el *el)
{
    bool bad;
    bool found = lv_html_find(lv_test_html(t), selector, el, &bad);
    if (bad)
        fprintf(stderr, "lv_test: unsupported selector \"%s\" (tag, #id, .class, [attr=value])\n", selector);
    else if (!found)
        fprintf(stderr, "lv_test: no element matches \"%s\" in:\n%.2000s\n", selector, lv_test_html(t));
    return found;
}

bool lv_test_has_element(lv_test *t, const char *selector)
{
    lv_html_el el;
    bool bad;
    return lv_html_find(lv_test_html(t), selector, &el, &bad);
}

int lv_test_element_click(lv_test *t, const char *selector)
{
    lv_html_el el;
    if (!find(t, selector, &el))
        return LV_ENOTFOUND;
    const char *event = lv_html_attr(&el, "phx-click");
    if (event == NULL) {
        fprintf(stderr, "lv_test: \"%s\" has no phx-click\n", selector);
        return LV_ENOTFOUND;
    }
    json_t *value = json_object();
    for (int i = 0; i < el.nattrs; i++) /* phx-value-* as the client sends them: lowercased strings */
        if (strncasecmp(el.names[i], "phx-value-", 10) == 0) {
            char key[48];
            snprintf(key, sizeof(key), "%s", el.names[i] + 10);
            for (char *k = key; *k; k++)
                *k = (char)tolower((unsigned char)*k);
            json_object_set_new(value, key, json_string(el.values[i]));
        }
    const char *v = lv_html_attr(&el, "value");
    json_object_set_new(value, "value", json_string(v ? v : ""));
    char *text = json_dumps(value, JSON_COMPACT);
    json_decref(value);
    const char *target = lv_html_attr(&el, "phx-target");
    char *end = NULL;
    long long cid = target ? strtoll(target, &end, 10) : 0;
    int err = click(t, event, text, end && *end == '\0' ? cid : 0);
    free(text);
    return err;
}

static int element_form(lv_test *t, const char *selector, const char *binding, const char *form,
                        const char *target)
{
    lv_html_el el;
    if (!find(t, selector, &el))
        return LV_ENOTFOUND;
    const char *event = lv_html_attr(&el, binding);
    if (event == NULL) {
        fprintf(stderr, "lv_test: \"%s\" has no %s\n", selector, binding);
        return LV_ENOTFOUND;
    }
    return target ? lv_test_change(t, event, form, target) : lv_test_submit(t, event, form);
}

int lv_test_element_submit(lv_test *t, const char *selector, const char *form)
{
    return element_form(t, selector, "phx-submit", form, NULL);
}

int lv_test_element_change(lv_test *t, const char *selector, const char *form, const char *target)
{
    return element_form(t, selector, "phx-change", form, target ? target : "");
}

const char *lv_test_topic(lv_test *t)
{
    return t->topic;
}

void lv_test_raw_frame(lv_test *t, const char *frame)
{
    lv_socket_frame(t->sock, frame, strlen(frame));
    run(t);
}

lv_pid lv_test_pid(lv_test *t)
{
    return t->sock ? lv_socket_channel_pid(t->sock, t->topic) : 0;
}

bool lv_test_alive(lv_test *t)
{
    return lv_test_pid(t) != 0;
}

lv_rt *lv_test_rt(lv_test *t)
{
    return t->rt;
}

int lv_test_send(lv_test *t, const char *tag, const void *data, size_t size)
{
    lv_pid pid = lv_test_pid(t);
    if (pid == 0)
        return LV_ENOPROC;
    int err = lv_rt_send(t->rt, pid, tag, data, size);
    run(t);
    return err;
}

void lv_test_advance(lv_test *t, uint64_t ms)
{
    lv_rt_advance(t->rt, ms);
}

/* Shows where the HTML stops agreeing with what was expected: the longest prefix of `want` that
 * occurs in it, with the HTML around that spot. */
static void print_context(const char *html, const char *want)
{
    size_t n = strlen(want);
    const char *at = NULL;
    while (n > 0 && at == NULL) {
        char *prefix = strndup(want, n);
        at = prefix ? strstr(html, prefix) : NULL;
        free(prefix);
        if (at == NULL)
            n--;
    }
    if (at == NULL) {
        fprintf(stderr, "  nothing of it appears in the HTML:\n%.2000s\n", html);
        return;
    }
    const char *from = at - html > 60 ? at - 60 : html;
    const char *split = at + n;
    fprintf(stderr,
            "  the first %zu characters match; the HTML around the mismatch:\n    %.*s>>>HERE>>>%.60s\n", n,
            (int)(split - from), from, split);
}

bool lv_test_check_contains(lv_test *t, const char *needle, const char *file, int line)
{
    const char *html = lv_test_html(t);
    if (strstr(html, needle) != NULL)
        return true;
    fprintf(stderr, "%s:%d: the view's HTML does not contain\n    %s\n", file, line, needle);
    print_context(html, needle);
    return false;
}

bool lv_test_check_diff(lv_test *t, const char *expected, const char *file, int line)
{
    const char *diff = lv_test_diff(t);
    if (strcmp(diff, expected) == 0)
        return true;
    fprintf(stderr, "%s:%d: diff mismatch\n    expected %s\n    got      %s\n", file, line, expected, diff);
    print_context(lv_test_html(t), expected);
    return false;
}

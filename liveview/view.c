/* View processes: one per joined channel (and a short-lived one per HTTP page render). The
 * process runs mount, handle_event and handle_info, re-renders what changed and writes the join
 * reply, event replies and pushed diffs. A crash ends only this process; its exit hook tells the
 * socket, which sends phx_error. */
#include <errno.h>
#include <jansson.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "liveview/form.h"
#include "liveview/phx.h"
#include "liveview/rt_internal.h"
#include "liveview/view_internal.h"

#define LIVEVIEW_VERSION "1.2.12"

/* ---- API for view authors ---- */

void *lv_state(lv_view *v)
{
    return v->state;
}

bool lv_connected(const lv_view *v)
{
    return v->connected;
}

lv_pid lv_view_pid(const lv_view *v)
{
    return lv__proc_of_state(v)->pid;
}

static const lv_endpoint *page_job_endpoint(const struct lv_page_job *job);

const lv_endpoint *lv__view_endpoint(const lv_view *v)
{
    return v->connected ? lv__socket_endpoint(v->sock) : page_job_endpoint(v->job);
}

const char *lv__view_join_ref(const lv_view *v)
{
    return v->connected ? v->topic + strlen(v->topic) + 1 : "";
}

/* The client's address, for log lines. */
static const char *view_peer(const lv_view *v)
{
    return v->connected ? lv_socket_peer(v->sock) : "?";
}

void lv_changed(lv_view *v, const void *field, size_t size)
{
    const char *base = v->state;
    const char *f = field;
    if (v->rd != NULL && f >= base && f + size <= base + v->def->state_size)
        lv_rendered_touch(v->rd, (size_t)(f - base), size);
}

const lv_value *lv_session(const lv_view *v)
{
    return (const lv_value *)v->session;
}

const char *lv_session_get(const lv_view *v, const char *key)
{
    return lv_value_str(lv_session(v), key);
}

/* Parses the session inside the view's process (its allocations are the process's); an empty
 * object is kept as NULL, so an idle session without one costs nothing. */
static void adopt_session(lv_view *v, const char *session_json)
{
    if (session_json == NULL)
        return;
    json_t *j = json_loads(session_json, 0, NULL);
    if (json_is_object(j) && json_object_size(j) > 0)
        v->session = j;
    else
        json_decref(j);
}

const lv_value *lv_value_get(const lv_value *v, const char *key)
{
    return v ? (const lv_value *)json_object_get((const json_t *)v, key) : NULL;
}

const char *lv_value_str(const lv_value *v, const char *key)
{
    return json_string_value((const json_t *)lv_value_get(v, key));
}

int lv_value_int(const lv_value *v, const char *key, int64_t *out)
{
    const json_t *j = (const json_t *)lv_value_get(v, key);
    if (j == NULL)
        return LV_ENOTFOUND;
    if (json_is_integer(j)) {
        *out = json_integer_value(j);
        return 0;
    }
    const char *s = json_string_value(j);
    if (s == NULL || *s == '\0')
        return LV_EINVAL;
    char *end;
    errno = 0;
    long long n = strtoll(s, &end, 10);
    if (errno || *end != '\0')
        return LV_EINVAL;
    *out = n;
    return 0;
}

void lv_clock_now(char *buf)
{
    lv_rt *rt = lv_self_rt();
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    time_t now = rt ? lv_rt_wall_time(rt) : ts.tv_sec;
    struct tm tm;
    localtime_r(&now, &tm);
    strftime(buf, 9, "%H:%M:%S", &tm);
}

/* ---- flash ---- */

static void channel_exit(void *ctx, const char *reason);
static void page_exit(void *ctx, const char *reason);

void lv_put_flash(lv_view *v, const char *key, const char *msg)
{
    int err = lv__flash_put(&v->flash, key, msg);
    if (err)
        lv_crash("lv_put_flash(\"%s\"): %s", key ? key : "(null)",
                 err == LV_ELIMIT ? "more than 16 keys" : lv_strerror(err));
}

void lv_clear_flash(lv_view *v, const char *key)
{
    lv__flash_clear(&v->flash, key);
}

const char *lv_flash(const char *key)
{
    lv_proc *p = lv__current_proc();
    if (p == NULL || (p->on_exit != channel_exit && p->on_exit != page_exit))
        return NULL;
    const lv_view *v = p->on_exit_ctx;
    return lv__flash_get(&v->flash, key);
}

/* The flash a join brings: the signed "flash" of a live navigation; else, on the page's first
 * join (a "url" join with _mounts 0), the flash its HTTP render showed, from the static token
 * (a live navigation resends that token, and a rejoin must not bring a cleared flash back). A
 * flash token that does not verify is never trusted: logged and ignored. */
static void join_flash(lv_view *v, const json_t *payload)
{
    const lv_endpoint *ep = lv__view_endpoint(v);
    uint64_t now = ep->now_s();
    const char *token = json_string_value(json_object_get(payload, "flash"));
    if (token != NULL) {
        int err = lv__flash_verify(&v->flash, ep->secret, now, token);
        if (err)
            fprintf(stderr, "[salamander] %s: flash token in the join of %s ignored: %s\n", view_peer(v),
                    v->topic, err == LV_ETIMEDOUT ? "expired" : "bad signature or payload");
        return;
    }
    const json_t *mounts = json_object_get(json_object_get(payload, "params"), "_mounts");
    const char *stat = json_string_value(json_object_get(payload, "static"));
    if (json_object_get(payload, "url") == NULL || !json_is_integer(mounts) ||
        json_integer_value(mounts) != 0 || stat == NULL)
        return;
    lv_buf p = LV_BUF_INIT;
    if (lv_token_verify(ep->secret, stat, strlen(stat), now, ep->token_max_age_s, &p) == 0) {
        json_t *root = json_loadb(p.data, p.len, 0, NULL);
        const json_t *flash = json_object_get(root, "flash");
        if (json_is_object(flash) && lv__flash_merge_json(&v->flash, flash) != 0)
            lv_crash("out of memory reading the page's flash");
        json_decref(root);
    }
    lv_buf_free(&p);
}

/* lv:clear-flash {key}: handled here, never by the view's handle_event. No key clears all. */
static void clear_flash_event(lv_view *v, const json_t *value)
{
    const json_t *key = json_object_get(value, "key");
    if (key != NULL && !json_is_string(key)) {
        fprintf(stderr, "[salamander] %s: lv:clear-flash on %s: \"key\" is not a string: ignored\n",
                view_peer(v), v->topic);
        return;
    }
    lv_clear_flash(v, json_string_value(key));
}

/* ---- jansson allocations follow the current process, so a crash frees them with its arena ---- */

/* Parsed frames live for one message: their nodes are tracked blocks of the process's arena
 * (freed one by one back to malloc, all at once if it crashes) rather than carved from its
 * chunks, which would stay reserved for the process's whole life. */
static void *json_alloc(size_t n)
{
    lv_proc *p = lv__current_proc();
    if (p == NULL)
        return malloc(n);
    lv_arena *a = lv__proc_arena(p);
    return a ? lv_arena_alloc_tracked(a, n) : NULL;
}

static void json_dealloc(void *ptr)
{
    lv_proc *p = lv__current_proc();
    if (p)
        lv_arena_free(p->arena, ptr); /* NULL ptr: nothing; else it came from this arena */
    else
        free(ptr);
}

void lv__view_global_init(void)
{
    json_set_alloc_funcs(json_alloc, json_dealloc);
}

/* ---- talking to the client ---- */

static void reply(lv_view *v, const char *ref, const char *status, const char *response, size_t n);

/* The pending output of the callback running now, made on first use. */
static lv__view_out *view_out(lv_view *v)
{
    if (v->out == NULL && (v->out = calloc(1, sizeof(*v->out))) == NULL)
        lv_crash("out of memory");
    return v->out;
}

static void view_out_free(lv_view *v)
{
    lv__view_out *o = v->out;
    if (o == NULL)
        return;
    lv_buf_free(&o->title);
    lv_buf_free(&o->nav_to);
    lv_buf_free(&o->events);
    lv_buf_free(&o->hook_reply);
    free(o);
    v->out = NULL;
}

/* Called after each render went out: what was sent is let go, so an idle view holds nothing. */
static void view_out_sent(lv_view *v)
{
    lv__view_out *o = v->out;
    if (o != NULL && !o->title_changed && o->nav == LV__NAV_NONE && o->events.len == 0 &&
        o->hook_reply.len == 0)
        view_out_free(v);
}

void *lv_component_state(lv_view *v)
{
    const lv_template *tmpl;
    const void *state;
    if (v->event_cid <= 0 || v->rd == NULL || lv_rendered_component(v->rd, v->event_cid, &tmpl, &state) != 0)
        return NULL;
    return (void *)state; /* a member of the view's own state, which the view may change */
}

/* "cids_destroyed": the client dropped these components; answer with those freed. */
static void components_destroyed(lv_view *v, const char *ref, const json_t *payload)
{
    const json_t *list = json_object_get(payload, "cids");
    size_t n = json_array_size(list);
    int64_t cids[256], freed[256];
    size_t k = 0;
    for (size_t i = 0; i < n && k < 256; i++)
        if (json_is_integer(json_array_get(list, i)))
            cids[k++] = json_integer_value(json_array_get(list, i));
    size_t nfreed = v->rd ? lv_rendered_cids_destroyed(v->rd, cids, k, freed) : 0;
    lv_buf resp = LV_BUF_INIT;
    lv_buf_puts(&resp, "{\"cids\":[");
    for (size_t i = 0; i < nfreed; i++) {
        if (i)
            lv_buf_putc(&resp, ',');
        lv_buf_put_i64(&resp, freed[i]);
    }
    lv_buf_puts(&resp, "]}");
    reply(v, ref, "ok", resp.data, resp.len);
    lv_buf_free(&resp);
}

void lv_page_title(lv_view *v, const char *title)
{
    lv__view_out *o = view_out(v);
    lv_buf_reset(&o->title);
    lv_buf_puts(&o->title, title ? title : "");
    o->title_changed = true; /* handed to the rendered tree right before the next render */
}

/* A JSON value from view code: checked here, so a malformed one fails in the view that made it. */
static void put_json_value(lv_buf *b, const char *json, const char *what)
{
    if (json == NULL) {
        lv_buf_puts(b, "{}");
        return;
    }
    json_error_t e;
    json_t *j = json_loads(json, JSON_DECODE_ANY, &e);
    if (j == NULL)
        lv_crash("%s: invalid JSON at column %d: %s", what, e.column, e.text);
    json_decref(j);
    lv_buf_puts(b, json);
}

void lv_push_event(lv_view *v, const char *event, const char *payload_json)
{
    lv_buf *e = &view_out(v)->events;
    lv_buf_putc(e, e->len ? ',' : '[');
    lv_buf_putc(e, '[');
    lv_buf_put_json_str(e, event, strlen(event));
    lv_buf_putc(e, ',');
    put_json_value(e, payload_json, "lv_push_event");
    lv_buf_putc(e, ']');
}

void lv_reply(lv_view *v, const char *payload_json)
{
    lv__view_out *o = view_out(v);
    lv_buf_reset(&o->hook_reply);
    put_json_value(&o->hook_reply, payload_json, "lv_reply");
}

static void navigate(lv_view *v, int kind, const char *to, bool replace)
{
    lv__view_out *o = view_out(v);
    o->nav = kind;
    o->nav_replace = replace;
    lv_buf_reset(&o->nav_to);
    lv_buf_puts(&o->nav_to, to ? to : "/");
}

static int pending_nav(const lv_view *v)
{
    return v->out ? v->out->nav : LV__NAV_NONE;
}

void lv_push_patch(lv_view *v, const char *to, bool replace)
{
    navigate(v, LV__NAV_PATCH, to, replace);
}
void lv_push_navigate(lv_view *v, const char *to, bool replace)
{
    navigate(v, LV__NAV_NAVIGATE, to, replace);
}
void lv_redirect(lv_view *v, const char *to)
{
    navigate(v, LV__NAV_REDIRECT, to, false);
}

/* Adds the pending events and hook reply to a rendered tree or diff object (which may be
 * empty: then one is made). */
static void decorate(lv_view *v, lv_buf *obj)
{
    lv__view_out *o = v->out;
    if (o == NULL || (o->events.len == 0 && o->hook_reply.len == 0))
        return;
    if (obj->len == 0)
        lv_buf_puts(obj, "{}");
    obj->len--; /* reopen the object */
    bool empty = obj->len == 1;
    if (o->events.len) {
        lv_buf_puts(obj, empty ? "\"e\":" : ",\"e\":");
        lv_buf_append(obj, o->events.data, o->events.len);
        lv_buf_putc(obj, ']');
        lv_buf_free(&o->events);
        empty = false;
    }
    if (o->hook_reply.len) {
        lv_buf_puts(obj, empty ? "\"r\":" : ",\"r\":");
        lv_buf_append(obj, o->hook_reply.data, o->hook_reply.len);
        lv_buf_free(&o->hook_reply);
    }
    lv_buf_putc(obj, '}');
}

static void push(lv_view *v, const char *event, const char *payload, size_t n)
{
    lv__trace_note(lv__current_proc(), "push", event, 0, n);
    lv_buf frame = LV_BUF_INIT;
    lv_phx_push(&frame, lv__view_join_ref(v), v->topic, event, payload, n);
    lv__socket_send(v->sock, frame.data, frame.len);
    lv_buf_free(&frame);
}

/* {"to":…,"kind":"push"|"replace","flash":…}: a live_patch has no flash (the view stays and keeps
 * its own), a redirect no kind. */
static void nav_payload(lv_view *v, int nav, lv_buf *b)
{
    const lv__view_out *o = v->out; /* set: a navigation is pending */
    lv_buf_puts(b, "{\"to\":");
    lv_buf_put_json_str(b, o->nav_to.data ? o->nav_to.data : "", o->nav_to.len);
    if (nav != LV__NAV_REDIRECT)
        lv_buf_puts(b, o->nav_replace ? ",\"kind\":\"replace\"" : ",\"kind\":\"push\"");
    if (nav != LV__NAV_PATCH && v->flash.n) {
        lv_buf token = LV_BUF_INIT;
        if (lv__flash_sign(&v->flash, lv__view_endpoint(v)->secret, lv__view_endpoint(v)->now_s(), &token) !=
            0)
            lv_crash("out of memory signing the flash");
        lv_buf_puts(b, ",\"flash\":");
        lv_buf_put_json_str(b, token.data, token.len);
        lv_buf_free(&token);
    }
    lv_buf_putc(b, '}');
}

/* A flash change re-renders the slots that read it: they read no state field, so change
 * tracking cannot see it (LV_CHANGED is for the state). */
static void flash_rendered(lv_view *v)
{
    if (v->flash.changed && v->rd != NULL)
        lv_rendered_touch_all(v->rd);
    v->flash.changed = false;
}

/* ---- rendering helpers ---- */

/* Makes the rendered tree if there is none yet, and hands it a title lv_page_title set since
 * the last render: called right before every render, so the render writes one "t". */
static void *view_rd_room(lv_view *v);

static void view_ensure_rendered(lv_view *v)
{
    if (v->rd == NULL && v->rd_room) {
        char *room = view_rd_room(v), *end = (char *)v + lv__proc_of_state(v)->hstate_size;
        v->rd = lv_rendered_init(room, (size_t)(end - room), v->def->tmpl, v->def->state_size);
        v->rd_room = false;
        v->rd_in_block = true;
    }
    if (v->rd == NULL) {
        v->rd = lv_rendered_new(v->def->tmpl, v->def->state_size);
        if (v->rd == NULL)
            lv_crash("out of memory creating the rendered tree");
    }
    lv__view_out *o = v->out;
    if (o != NULL && o->title_changed) {
        if (lv_rendered_set_title(v->rd, o->title.data ? o->title.data : "") != 0)
            lv_crash("out of memory setting the title");
        o->title_changed = false;
        lv_buf_free(&o->title);
    }
}

static void reply(lv_view *v, const char *ref, const char *status, const char *response, size_t n)
{
    lv__trace_note(lv__current_proc(), "reply", response, 0, n);
    lv_buf frame = LV_BUF_INIT;
    lv_phx_reply(&frame, lv__view_join_ref(v), ref, v->topic, status, response, n);
    lv__socket_send(v->sock, frame.data, frame.len);
    lv_buf_free(&frame);
}

/* A navigation asked for by the callback: live_redirect / redirect replace the render. Returns
 * true when it answered (or pushed) and the render must not be sent. */
static bool send_navigation(lv_view *v, const char *ref)
{
    int nav = pending_nav(v);
    if (nav == LV__NAV_NONE)
        return false;
    v->out->nav = LV__NAV_NONE;
    lv_buf to = LV_BUF_INIT, resp = LV_BUF_INIT;
    if (nav == LV__NAV_PATCH) { /* the URL changes first; the render follows as usual */
        nav_payload(v, nav, &to);
        lv_buf_free(&v->out->nav_to);
        push(v, "live_patch", to.data, to.len);
        lv_buf_free(&to);
        return false;
    }
    bool redirect = nav == LV__NAV_REDIRECT;
    nav_payload(v, nav, &to);
    lv_buf_free(&v->out->nav_to);
    lv_buf_puts(&resp, redirect ? "{\"redirect\":" : "{\"live_redirect\":");
    lv_buf_append(&resp, to.data, to.len);
    lv_buf_putc(&resp, '}');
    if (ref != NULL)
        reply(v, ref, "ok", resp.data, resp.len);
    else
        push(v, redirect ? "redirect" : "live_redirect", to.data, to.len);
    lv_buf_free(&to);
    lv_buf_free(&resp);
    if (redirect) { /* the page is leaving: close the channel gracefully */
        push(v, "phx_close", "{}", 2);
        lv_exit(LV_REASON_NORMAL);
    }
    return true;
}

/* Renders what changed and either answers `ref` with it or pushes it as a "diff". */
static void send_changes(lv_view *v, const char *ref)
{
    if (send_navigation(v, ref)) {
        view_out_sent(v);
        return;
    }
    flash_rendered(v);
    lv_buf diff = LV_BUF_INIT;
    view_ensure_rendered(v);
    int err = lv_rendered_diff(v->rd, v->state, &diff);
    if (err)
        lv_crash("render failed: %s", lv_strerror(err));
    decorate(v, &diff);
    if (ref != NULL) {
        lv_buf resp = LV_BUF_INIT;
        if (diff.len) {
            lv_buf_puts(&resp, "{\"diff\":");
            lv_buf_append(&resp, diff.data, diff.len);
            lv_buf_putc(&resp, '}');
        } else {
            lv_buf_puts(&resp, "{}");
        }
        reply(v, ref, "ok", resp.data, resp.len);
        lv_buf_free(&resp);
    } else if (diff.len) {
        push(v, "diff", diff.data, diff.len);
    }
    lv_buf_free(&diff);
    view_out_sent(v);
}

/* Part of every joined session's block: see the sizes in tests/bench/RESULTS.md. */
_Static_assert(sizeof(lv_view) <= 88, "lv_view grew: an idle session costs more");

/* ---- the view's block: lv_view, then the state, then (channels) the topic and join ref ---- */

static size_t align_up(size_t n)
{
    return (n + _Alignof(max_align_t) - 1) & ~(_Alignof(max_align_t) - 1);
}

static void *view_block_state(lv_view *v)
{
    return (char *)v + align_up(sizeof(*v));
}

static size_t view_block_size(const lv_view_def *def, size_t strings)
{
    return align_up(sizeof(lv_view)) + def->state_size + strings;
}

/* A channel's rendered tree goes after its strings, aligned for a pointer, up to the end of the
 * view's part of the block: the block's room for it, with its root node when the template's last
 * tree says how big that is (sized with RD_ROOM for the view's first code; an upgrade uses the heap). */
#define RD_ROOM(def) (_Alignof(void *) - 1 + lv_rendered_size_with_root((def)->tmpl, (def)->state_size))

static void *view_rd_room(lv_view *v)
{
    const char *jr = lv__view_join_ref(v);
    uintptr_t end = (uintptr_t)(jr + strlen(jr) + 1);
    return (void *)((end + _Alignof(void *) - 1) & ~(uintptr_t)(_Alignof(void *) - 1));
}

static void view_rd_free(lv_view *v)
{
    if (v->rd_in_block)
        lv_rendered_dispose(v->rd);
    else
        lv_rendered_free(v->rd);
    v->rd = NULL;
    v->rd_in_block = false;
}

/* ---- channel process ---- */

/* Who runs a view of a loaded module shows a copy of its name that outlives the module. */
static const char *kind_name(const lv_view_def *def, const lv_module *m)
{
    return m ? lv__module_intern(def->name) : def->name;
}

/* Makes the current process run def (of module m, whose reference passes to the process) and
 * releases the module it ran before. */
static void run_code(lv_view *v, const lv_view_def *def, lv_module *m)
{
    lv_proc *p = lv__current_proc();
    lv_module *old = p->code;
    v->def = def;
    p->code = m;
    atomic_store(&p->kind, kind_name(def, m));
    lv_module_release(old);
}

/* An upgrade published after the join's view was read, but before this process was listed for
 * it, would pass it by: so the join itself takes the route's current code (nothing is mounted
 * yet, so there is no state to migrate). */
static void join_current_code(lv_view *v)
{
    lv_module *m;
    const lv_view_def *def = lv__endpoint_hold_view(lv__view_endpoint(v), v->route, &m);
    if (def == v->def) {
        lv_module_release(m);
        return;
    }
    lv_free(v->state);
    v->state = lv_alloc(def->state_size ? def->state_size : 1);
    memset(v->state, 0, def->state_size);
    run_code(v, def, m);
}

static void handle_join(lv_view *v, const char *text, size_t len)
{
    lv_phx_msg m;
    char err[128];
    if (lv_phx_parse(text, len, &m, err, sizeof(err)) != 0)
        lv_crash("join frame: %s", err);
    const json_t *params = json_object_get(m.payload, "params");
    join_current_code(v);
    join_flash(v, m.payload);
    if (v->def->mount)
        v->def->mount(v, (const lv_value *)params);
    int nav = pending_nav(v);
    if (nav == LV__NAV_REDIRECT || nav == LV__NAV_NAVIGATE) { /* mount sent the client elsewhere */
        lv_buf to = LV_BUF_INIT, resp = LV_BUF_INIT;
        nav_payload(v, nav, &to);
        lv_buf_puts(&resp, nav == LV__NAV_REDIRECT ? "{\"redirect\":" : "{\"live_redirect\":");
        lv_buf_append(&resp, to.data, to.len);
        lv_buf_putc(&resp, '}');
        reply(v, m.ref, "error", resp.data, resp.len); /* the join error replies PROTOCOL.md lists */
        lv_buf_free(&to);
        lv_buf_free(&resp);
        lv_phx_msg_dispose(&m);
        lv_exit(LV_REASON_NORMAL);
    }
    if (v->out != NULL) {
        v->out->nav = LV__NAV_NONE;
        lv_buf_free(&v->out->nav_to);
    }
    v->flash.changed = false; /* the full render below shows it */
    lv_buf rendered = LV_BUF_INIT, resp = LV_BUF_INIT;
    view_ensure_rendered(v);
    if (lv_rendered_full(v->rd, v->state, &rendered) != 0)
        lv_crash("render failed");
    decorate(v, &rendered);
    lv_buf_puts(&resp, "{\"liveview_version\":\"" LIVEVIEW_VERSION "\",\"rendered\":");
    lv_buf_append(&resp, rendered.data, rendered.len);
    lv_buf_putc(&resp, '}');
    reply(v, m.ref, "ok", resp.data, resp.len);
    v->joined = true;
    lv_buf_free(&rendered);
    lv_buf_free(&resp);
    lv_phx_msg_dispose(&m);
    view_out_sent(v);
}

/* Turns an event frame's payload into the value handle_event sees: forms are decoded from
 * their urlencoded string; click/key/focus values are passed as sent. */
static int event_value(const json_t *payload, json_t **value, char *err, size_t errlen)
{
    const char *type = json_string_value(json_object_get(payload, "type"));
    json_t *raw = json_object_get(payload, "value");
    if (type != NULL && strcmp(type, "form") == 0) {
        const char *form = json_string_value(raw);
        if (form == NULL) {
            snprintf(err, errlen, "form event value is not a string");
            return LV_EPROTO;
        }
        return lv_form_decode(form, strlen(form), value, err, errlen);
    }
    *value = raw ? json_incref(raw) : json_object();
    return 0;
}

static void handle_event_frame(lv_view *v, const char *text, size_t len)
{
    lv_phx_msg m;
    char err[160];
    if (lv_phx_parse(text, len, &m, err, sizeof(err)) != 0) {
        lv__socket_malformed(v->sock, err); /* the socket routed it by its head alone */
        lv_phx_msg_dispose(&m);
        return;
    }
    const char *event = json_string_value(json_object_get(m.payload, "event"));
    json_t *value = NULL;
    if (strcmp(m.event, "cids_destroyed") == 0) {
        components_destroyed(v, m.ref, m.payload);
    } else if (strcmp(m.event, "event") != 0) {
        /* live_patch, cids_will_destroy, ...: acknowledged so no element stays locked */
        reply(v, m.ref, "ok", "{}", 2);
    } else if (event == NULL) {
        fprintf(stderr, "[salamander] %s: event without a name on %s\n", view_peer(v), v->topic);
        reply(v, m.ref, "ok", "{}", 2);
    } else if (event_value(m.payload, &value, err, sizeof(err)) != 0) {
        fprintf(stderr, "[salamander] %s: bad payload for event \"%s\" on %s: %s\n", view_peer(v), event,
                v->topic, err);
        reply(v, m.ref, "ok", "{}", 2);
    } else if (strcmp(event, "lv:clear-flash") == 0) {
        clear_flash_event(v, value);
        send_changes(v, m.ref);
    } else {
        lv__trace_note(lv__current_proc(), "event", event, 0, 0);
        const json_t *cid = json_object_get(m.payload, "cid");
        json_int_t n = json_is_integer(cid) ? json_integer_value(cid) : 0;
        v->event_cid = n > 0 && n <= INT32_MAX ? (int32_t)n : n == 0 ? 0 : -1; /* -1: no such component */
        int rc =
            v->def->handle_event ? v->def->handle_event(v, event, (const lv_value *)value) : LV_ENOTFOUND;
        if (rc == LV_ENOTFOUND)
            fprintf(stderr, "[salamander] %s: unknown event \"%s\" for view %s (%s): ignored\n", view_peer(v),
                    event, v->def->name, v->topic);
        v->event_cid = 0;
        send_changes(v, m.ref);
    }
    json_decref(value);
    lv_phx_msg_dispose(&m);
}

/* Switches this session to its route's current code between two messages: migrates the state
 * (code_change, or kept as is when the layout did not change), and pushes a whole new tree when
 * the template changed, so the client gets the new statics. The "upgrade" message carries no
 * view: several upgrades in a row take a session straight to the newest, and the module it
 * leaves is released last, after every use of its view. */
static void handle_upgrade(lv_view *v)
{
    lv_module *m;
    const lv_view_def *nd = lv__endpoint_hold_view(lv__view_endpoint(v), v->route, &m);
    const lv_view_def *old = v->def;
    if (nd == old) {
        lv_module_release(m);
        return;
    }
    if (nd->state_size != old->state_size && nd->code_change == NULL) {
        fprintf(stderr,
                "[salamander] process <%llu> (%s on %s) keeps its code: the new version changed the state "
                "layout and has no code_change for this one\n",
                (unsigned long long)lv_view_pid(v), old->name, v->topic);
        lv_module_release(m);
        return;
    }
    if (nd->code_change != NULL) {
        void *ns = lv_alloc(nd->state_size ? nd->state_size : 1);
        memset(ns, 0, nd->state_size);
        nd->code_change(v, v->state, old->state_size, ns);
        if (v->state != view_block_state(v))
            lv_free(v->state); /* an earlier upgrade's: the first state is part of the view's block */
        v->state = ns;
    }
    bool same_template = nd->tmpl == old->tmpl;
    v->rd_room = false; /* sized for the old code's tree */
    if (!same_template) /* the tree points into the old template */
        view_rd_free(v);
    run_code(v, nd, m); /* the old module may go now: nothing below touches it */
    fprintf(stderr, "[salamander] process <%llu> (%s on %s) now runs the upgraded code\n",
            (unsigned long long)lv_view_pid(v), nd->name, v->topic);
    if (same_template) {
        send_changes(v, NULL);
        return;
    }
    view_ensure_rendered(v);
    lv_buf rendered = LV_BUF_INIT;
    if (lv_rendered_full(v->rd, v->state, &rendered) != 0)
        lv_crash("render failed after the upgrade");
    lv_buf frame = LV_BUF_INIT;
    lv_phx_push(&frame, lv__view_join_ref(v), v->topic, "diff", rendered.data, rendered.len);
    lv__socket_send(v->sock, frame.data, frame.len);
    lv_buf_free(&frame);
    lv_buf_free(&rendered);
}

static void channel_exit(void *ctx, const char *reason)
{
    lv_view *v = ctx;
    view_out_free(v);
    lv__flash_clear(&v->flash, NULL);
    view_rd_free(v);
    lv__socket_channel_ended(v->sock, v->topic, lv_view_pid(v), reason, v->joined);
}

static void channel_handler(void *state, const lv_msg *msg)
{
    lv_view *v = state;
    if (msg->kind == LV_MSG_SYSTEM) {
        if (strcmp(msg->tag, "join") == 0)
            handle_join(v, msg->data, msg->size);
        else if (strcmp(msg->tag, "event") == 0)
            handle_event_frame(v, msg->data, msg->size);
        else if (strcmp(msg->tag, "leave") == 0 || strcmp(msg->tag, "gone") == 0)
            lv_exit(LV_REASON_NORMAL);
        else if (strcmp(msg->tag, "upgrade") == 0)
            handle_upgrade(v);
        return;
    }
    if (v->def->handle_info)
        v->def->handle_info(v, msg);
    send_changes(v, NULL);
}

typedef struct {
    const lv_endpoint *ep;
    const lv_route *route;
    const lv_view_def *def;
    lv_module *module;
    lv_socket *sock;
    const char *topic, *join_ref, *session_json;
    lv_view **view;
} channel_init_args;

static void channel_init(void *state, void *arg)
{
    lv_view *v = state;
    channel_init_args *a = arg;
    v->def = a->def;
    v->route = a->route;
    v->connected = true;
    v->sock = a->sock;
    v->state = view_block_state(v);
    char *topic = (char *)v->state + a->def->state_size;
    size_t n = strlen(a->topic) + 1;
    memcpy(topic, a->topic, n);
    v->topic = topic;
    strcpy(topic + n, a->join_ref); /* lv__view_join_ref */
    v->rd_room = true;
    *a->view = v;
    adopt_session(v, a->session_json);
    lv_proc *p = lv__current_proc();
    /* it writes to its socket, which belongs to this scheduler's loop */
    lv__proc_set_flag(p, LV__P_PINNED, true);
    p->on_exit = channel_exit;
    p->on_exit_ctx = v;
    run_code(v, a->def, a->module);
}

int lv__view_spawn_channel(const lv_endpoint *ep, const lv_route *route, const lv_view_def *def, lv_module *m,
                           lv_socket *sock, const char *topic, const char *join_ref, const char *session_json,
                           lv_pid *out, lv_view **view)
{
    if (join_ref == NULL)
        join_ref = "";
    channel_init_args a = {ep, route, def, m, sock, topic, join_ref, session_json, view};
    size_t size = view_block_size(def, strlen(topic) + 1 + strlen(join_ref) + 1 + RD_ROOM(def));
    return lv_rt_spawn_handler(ep->rt, def->name, size, channel_init, &a, channel_handler, out);
}

/* ---- page render process ---- */

struct lv_page_job {
    const lv_endpoint *ep;
    lv_page_done done;
    void *ctx;
    bool cancelled;
    bool finished;
    int refs; /* the caller's handle and the process */
    lv_buf html;
    char *flash_token;  /* the request's __phoenix_flash__ cookie, or NULL */
    char *session_json; /* NULL: no session */
};

static const lv_endpoint *page_job_endpoint(const lv_page_job *job)
{
    return job->ep;
}

static void job_unref(lv_page_job *job)
{
    if (--job->refs == 0) {
        lv_buf_free(&job->html);
        free(job->flash_token);
        free(job->session_json);
        free(job);
    }
}

void lv_page_cancel(lv_page_job *job)
{
    job->cancelled = true;
    job_unref(job);
}

static void page_exit(void *ctx, const char *reason)
{
    lv_view *v = ctx;
    view_out_free(v);
    lv__flash_clear(&v->flash, NULL);
    view_rd_free(v);
    lv_page_job *job = v->job;
    if (!job->finished && !job->cancelled) {
        static const char page[] =
            "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>Error</title></head>"
            "<body><h1>500 Internal Server Error</h1><p>The view crashed while rendering."
            "</p></body></html>";
        fprintf(stderr, "[salamander] page render of view %s ended: %s\n", v->def->name, reason);
        job->finished = true;
        job->done(job->ctx, 500, page, sizeof(page) - 1);
    }
    job_unref(job);
}

static void page_handler(void *state, const lv_msg *msg)
{
    lv_view *v = state;
    (void)msg;
    lv_page_job *job = v->job;
    if (job->cancelled)
        lv_exit(LV_REASON_NORMAL);
    if (job->flash_token != NULL) {
        int ferr = lv__flash_verify(&v->flash, lv__view_endpoint(v)->secret, lv__view_endpoint(v)->now_s(),
                                    job->flash_token);
        if (ferr)
            fprintf(stderr, "[salamander] flash cookie for view %s ignored: %s\n", v->def->name,
                    ferr == LV_ETIMEDOUT ? "expired" : "bad signature or payload");
    }
    if (v->def->mount)
        v->def->mount(v, NULL);
    view_ensure_rendered(v);
    lv_buf scratch = LV_BUF_INIT, inner = LV_BUF_INIT, id = LV_BUF_INIT;
    lv__page_new_id(&id);
    int err = lv_rendered_full(v->rd, v->state, &scratch);
    if (err == 0)
        err = lv_rendered_html(v->rd, id.data, &inner);
    lv_buf_free(&scratch);
    if (err)
        lv_crash("render failed: %s", lv_strerror(err));
    lv__page_document(lv__view_endpoint(v), v->def, id.data, job->session_json, lv_rendered_title(v->rd),
                      inner.data, inner.len, &v->flash, &job->html);
    lv_buf_free(&inner);
    lv_buf_free(&id);
    if (!job->cancelled) {
        job->finished = true;
        lv__proc_go_home(); /* the response goes out through this scheduler's loop */
        job->done(job->ctx, 200, job->html.data, job->html.len);
    }
    lv_exit(LV_REASON_NORMAL);
}

typedef struct {
    const lv_endpoint *ep;
    const lv_view_def *def;
    lv_module *module;
    lv_page_job *job;
    const char *url;
} page_init_args;

static void page_init(void *state, void *arg)
{
    lv_view *v = state;
    page_init_args *a = arg;
    v->def = a->def;
    v->job = a->job;
    v->topic = "";
    v->state = view_block_state(v);
    adopt_session(v, a->job->session_json);
    lv_proc *p = lv__current_proc();
    lv__proc_set_flag(p, LV__P_PINNED, true); /* it answers an HTTP request of this scheduler's loop */
    p->on_exit = page_exit;
    p->on_exit_ctx = v;
    run_code(v, a->def, a->module);
}

char *lv__json_text(const json_t *j)
{
    size_t n = json_dumpb(j, NULL, 0, JSON_COMPACT);
    char *text = n ? malloc(n + 1) : NULL;
    if (text == NULL)
        return NULL;
    json_dumpb(j, text, n, JSON_COMPACT);
    text[n] = '\0';
    return text;
}

/* The session as compact JSON text, or NULL for none; LV_EINVAL unless it is a JSON object. */
static int session_text(const char *session_json, char **out)
{
    *out = NULL;
    if (session_json == NULL)
        return 0;
    json_t *j = json_loads(session_json, 0, NULL);
    if (!json_is_object(j)) {
        json_decref(j);
        return LV_EINVAL;
    }
    *out = lv__json_text(j);
    json_decref(j);
    return *out ? 0 : LV_ENOMEM;
}

int lv_page_render(const lv_endpoint *ep, const lv_route *route, const char *url, const char *session_json,
                   const char *flash_token, lv_page_done done, void *ctx, lv_page_job **out)
{
    char *session;
    int serr = session_text(session_json, &session);
    if (serr)
        return serr;
    lv_page_job *job = calloc(1, sizeof(*job));
    if (job == NULL) {
        free(session);
        return LV_ENOMEM;
    }
    job->session_json = session;
    if (flash_token != NULL && (job->flash_token = strdup(flash_token)) == NULL) {
        free(session);
        free(job);
        return LV_ENOMEM;
    }
    job->ep = ep;
    job->done = done;
    job->ctx = ctx;
    job->refs = 2;
    lv_module *m;
    const lv_view_def *def = lv__endpoint_hold_view(ep, route, &m);
    page_init_args a = {ep, def, m, job, url};
    lv_pid pid;
    int err =
        lv_rt_spawn_handler(ep->rt, def->name, view_block_size(def, 0), page_init, &a, page_handler, &pid);
    if (err)
        lv_module_release(m); /* else the process holds it */
    if (err == 0)
        err = lv__deliver(ep->rt, pid, LV_MSG_SYSTEM, 0, "render", NULL, 0, 0);
    if (err) {
        free(job->flash_token);
        free(job->session_json);
        free(job);
        return err;
    }
    *out = job;
    return 0;
}

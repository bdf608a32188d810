/* Phoenix Channels over one connection: heartbeats, join verification (signed session and static
 * tokens, CSRF, topic and route checks), one view process per joined topic, event routing, and
 * phx_error when a view process crashes. The socket is shared by the transport and its channel
 * processes (all on one scheduler thread) and freed when the last of them lets go. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "liveview/phx.h"
#include "liveview/rt_internal.h"
#include "liveview/view_internal.h"

/* A joined topic. Its topic and join ref strings are the view's own (in the view process's block,
 * immutable): the process outlives its entry here, since its exit hook removes the entry
 * (lv__socket_channel_ended) and leave / rejoin remove it before the process is told to go. */
typedef struct {
    const char *topic;
    const char *join_ref;
    lv_pid pid;
} channel;

#define MAX_CHANNELS (UINT16_MAX - 1) /* per socket; refs counts them plus the transport */

struct lv_socket {
    const lv_endpoint *ep;
    const lv_transport_ops *ops;
    void *ctx;
    channel *channels; /* &one until a second channel joins (one view per socket is the rule) */
    channel one;
    /* token bucket for max_events_per_s: tokens, and when it was last refilled (milliseconds
     * modulo 2^32: every frame refills it, so only a client silent for 49 days, past any idle
     * timeout, could find its bucket refilled short of full) */
    float tokens;
    uint32_t refilled_ms;
    uint16_t nchannels, cap;
    uint16_t refs; /* the transport + one per live channel process */
    bool gone;     /* the transport closed: never call ops again */
    char peer[];   /* sized to the address: one allocation per connection */
};

/* One per connection, with its peer address ("127.0.0.1:50000" fits in a 96-byte chunk): see
 * tests/bench/RESULTS.md. */
_Static_assert(sizeof(lv_socket) <= 72, "lv_socket grew: an idle session costs more");

static channel *find_channel(lv_socket *s, const char *topic);

static uint64_t wall_clock_s(void)
{
    return (uint64_t)time(NULL);
}

const lv_view_def *lv_endpoint_view(const lv_endpoint *ep, const lv_route *route)
{
    return atomic_load(&ep->current[route - ep->routes]);
}

const lv_view_def *lv__endpoint_hold_view(const lv_endpoint *ep, const lv_route *route, lv_module **m)
{
    lv_endpoint *e = (lv_endpoint *)ep; /* the slot is atomic: reading it under the registry lock */
    return lv__module_hold_view(&e->current[route - ep->routes], m);
}

void lv_endpoint_init(lv_endpoint *ep, lv_rt *rt, const lv_route *routes, size_t nroutes)
{
    memset(ep, 0, sizeof(*ep));
    if (nroutes > LV_MAX_ROUTES)
        nroutes = LV_MAX_ROUTES;
    ep->rt = rt;
    ep->routes = routes;
    ep->nroutes = nroutes;
    for (size_t i = 0; i < nroutes; i++) {
        atomic_store(&ep->current[i], routes[i].view);
        ep->held[i] = lv__module_hold(routes[i].view);
    }
    ep->token_max_age_s = 14 * 24 * 3600;
    ep->now_s = wall_clock_s;
    ep->script_url = "/assets/salamander.js";
    ep->max_events_per_s = 1000;
    lv_random(ep->secret, sizeof(ep->secret));
    lv__view_global_init();
}

void lv_endpoint_dispose(lv_endpoint *ep)
{
    for (size_t i = 0; i < ep->nroutes; i++) {
        lv_module_release(ep->held[i]);
        ep->held[i] = NULL;
    }
}

const lv_route *lv_endpoint_route(const lv_endpoint *ep, const char *path, size_t len)
{
    for (size_t i = 0; i < ep->nroutes; i++)
        if (strlen(ep->routes[i].path) == len && memcmp(ep->routes[i].path, path, len) == 0)
            return &ep->routes[i];
    return NULL;
}

lv_socket *lv_socket_open(const lv_endpoint *ep, const lv_transport_ops *ops, void *ctx, const char *peer)
{
    if (peer == NULL)
        peer = "?";
    lv_socket *s = calloc(1, sizeof(*s) + strlen(peer) + 1);
    if (s == NULL)
        return NULL;
    s->channels = &s->one;
    s->cap = 1;
    s->ep = ep;
    s->ops = ops;
    s->ctx = ctx;
    s->refs = 1;
    s->tokens = (float)ep->max_events_per_s;
    s->refilled_ms = (uint32_t)lv_rt_now_ms(ep->rt);
    strcpy(s->peer, peer);
    return s;
}

static void socket_unref(lv_socket *s)
{
    if (--s->refs == 0) {
        if (s->channels != &s->one)
            free(s->channels);
        free(s);
    }
}

size_t lv_socket_channels(const lv_socket *s)
{
    return s->nchannels;
}

const lv_endpoint *lv__socket_endpoint(const lv_socket *s)
{
    return s->ep;
}

const char *lv_socket_peer(const lv_socket *s)
{
    return s->peer;
}

lv_pid lv_socket_channel_pid(lv_socket *s, const char *topic)
{
    channel *c = find_channel(s, topic);
    return c ? c->pid : 0;
}

void lv__socket_send(lv_socket *s, const char *frame, size_t len)
{
    lv__proc_go_home(); /* the transport belongs to the scheduler's thread */
    if (!s->gone)
        s->ops->send(s->ctx, frame, len);
}

static channel *find_channel_n(lv_socket *s, const char *topic, size_t n)
{
    for (size_t i = 0; i < s->nchannels; i++)
        if (strncmp(s->channels[i].topic, topic, n) == 0 && s->channels[i].topic[n] == '\0')
            return &s->channels[i];
    return NULL;
}

static channel *find_channel(lv_socket *s, const char *topic)
{
    return find_channel_n(s, topic, strlen(topic));
}

/* A slice of the frame as a C string; a NULL slice (a null ref) stays NULL. */
static const char *slice_str(const char *p, size_t n, char *buf, size_t cap)
{
    if (p == NULL || n >= cap)
        return NULL;
    memcpy(buf, p, n);
    buf[n] = '\0';
    return buf;
}

void lv__socket_malformed(lv_socket *s, const char *why)
{
    lv__proc_go_home(); /* the transport belongs to the scheduler's thread */
    fprintf(stderr, "[salamander] %s: malformed frame: %s\n", s->peer, why);
    char reason[120];
    snprintf(reason, sizeof(reason), "malformed frame: %.100s", why); /* a close reason fits 123 bytes */
    if (!s->gone)
        s->ops->close(s->ctx, 1007, reason);
}

static void remove_channel(lv_socket *s, channel *c)
{
    *c = s->channels[--s->nchannels];
}

void lv__socket_channel_ended(lv_socket *s, const char *topic, lv_pid pid, const char *reason, bool joined)
{
    channel *c = find_channel(s, topic);
    if (c != NULL && c->pid == pid) {
        if (!s->gone && strcmp(reason, LV_REASON_NORMAL) != 0) {
            /* the client rejoins with backoff and the view mounts afresh */
            lv_buf frame = LV_BUF_INIT;
            if (joined) { /* phx_error carries the join ref as its ref too */
                static const char crash[] = "{\"reason\":\"channel_crash\"}";
                lv_phx_frame(&frame, c->join_ref, c->join_ref, topic, "phx_error", crash, sizeof(crash) - 1);
            } else {
                static const char crashed[] = "{\"reason\":\"join crashed\"}";
                lv_phx_reply(&frame, c->join_ref, c->join_ref, topic, "error", crashed, sizeof(crashed) - 1);
            }
            s->ops->send(s->ctx, frame.data, frame.len);
            lv_buf_free(&frame);
            fprintf(stderr, "[salamander] %s: view on %s ended (%s): %s sent\n", s->peer, topic, reason,
                    joined ? "phx_error" : "join error");
        }
        remove_channel(s, c);
    }
    socket_unref(s);
}

static void send_reply(lv_socket *s, const char *jr, const char *ref, const char *topic, const char *status,
                       const char *response)
{
    lv_buf frame = LV_BUF_INIT;
    lv_phx_reply(&frame, jr, ref, topic, status, response, strlen(response));
    lv__socket_send(s, frame.data, frame.len);
    lv_buf_free(&frame);
}

/* Checks a join against the signed tokens. Returns NULL with the route, its view (its module
 * held in *mod), and the token's session (JSON text to free, NULL when the page had none), or
 * the error reason. */
static const char *verify_join(lv_socket *s, const lv_phx_msg *m, const lv_route **route_out,
                               const lv_view_def **view, lv_module **mod, char **session_json)
{
    const lv_endpoint *ep = s->ep;
    const char *session = json_string_value(json_object_get(m->payload, "session"));
    const char *stat = json_string_value(json_object_get(m->payload, "static"));
    const json_t *params = json_object_get(m->payload, "params");
    const char *csrf = json_string_value(json_object_get(params, "_csrf_token"));
    const char *url = json_string_value(json_object_get(m->payload, "url"));
    if (url == NULL)
        url = json_string_value(json_object_get(m->payload, "redirect"));
    const char *reason = "stale";
    lv_buf payload = LV_BUF_INIT, spayload = LV_BUF_INIT;
    json_t *tok = NULL, *stok = NULL;
    uint64_t now = ep->now_s();
    if (session == NULL ||
        lv_token_verify(ep->secret, session, strlen(session), now, ep->token_max_age_s, &payload) != 0)
        goto Exit;
    tok = json_loadb(payload.data, payload.len, 0, NULL);
    const char *id = json_string_value(json_object_get(tok, "id"));
    const char *want_csrf = json_string_value(json_object_get(tok, "csrf"));
    const char *view_name = json_string_value(json_object_get(tok, "view"));
    if (id == NULL || want_csrf == NULL || view_name == NULL)
        goto Exit;
    if (strncmp(m->topic, "lv:", 3) != 0 || strcmp(m->topic + 3, id) != 0)
        goto Exit;
    if (csrf == NULL || strcmp(csrf, want_csrf) != 0)
        goto Exit;
    if (stat == NULL ||
        lv_token_verify(ep->secret, stat, strlen(stat), now, ep->token_max_age_s, &spayload) != 0)
        goto Exit;
    stok = json_loadb(spayload.data, spayload.len, 0, NULL);
    const char *sid = json_string_value(json_object_get(stok, "id"));
    if (sid == NULL || strcmp(sid, id) != 0)
        goto Exit;
    /* the URL must route to the view the token was issued for */
    reason = "unauthorized";
    if (url == NULL)
        goto Exit;
    const char *path = strstr(url, "://");
    path = path ? strchr(path + 3, '/') : url;
    if (path == NULL)
        path = "/";
    size_t plen = strcspn(path, "?#");
    const lv_route *route = lv_endpoint_route(ep, path, plen);
    if (route == NULL)
        goto Exit;
    const lv_view_def *current = lv__endpoint_hold_view(ep, route, mod);
    if (strcmp(current->name, view_name) != 0)
        goto Exit;
    const json_t *app_session = json_object_get(tok, "session");
    if (app_session != NULL && !json_is_object(app_session))
        goto Exit;
    *session_json = app_session ? lv__json_text(app_session) : NULL;
    if (app_session && *session_json == NULL) {
        reason = "join crashed"; /* out of memory */
        goto Exit;
    }
    *view = current;
    *route_out = route;
    reason = NULL;
Exit:
    if (reason != NULL) {
        lv_module_release(*mod);
        *mod = NULL;
    }
    json_decref(tok);
    json_decref(stok);
    lv_buf_free(&payload);
    lv_buf_free(&spayload);
    return reason;
}

static void handle_join(lv_socket *s, const lv_phx_msg *m, const char *text, size_t len)
{
    channel *old = find_channel(s, m->topic);
    if (old != NULL) { /* a duplicate join replaces the old channel */
        lv__deliver(s->ep->rt, old->pid, LV_MSG_SYSTEM, 0, "leave", NULL, 0, 0);
        remove_channel(s, old);
    }
    const lv_route *route = NULL;
    const lv_view_def *view = NULL;
    lv_module *mod = NULL;
    char *session = NULL;
    const char *reason = verify_join(s, m, &route, &view, &mod, &session);
    if (reason != NULL) {
        fprintf(stderr, "[salamander] %s: join of %s refused: %s\n", s->peer, m->topic, reason);
        char resp[64];
        snprintf(resp, sizeof(resp), "{\"reason\":\"%s\"}", reason);
        send_reply(s, m->join_ref, m->ref, m->topic, "error", resp);
        return;
    }
    if (s->nchannels == MAX_CHANNELS) {
        free(session);
        send_reply(s, m->join_ref, m->ref, m->topic, "error", "{\"reason\":\"too many channels\"}");
        return;
    }
    if (s->nchannels == s->cap) {
        uint16_t cap = s->cap < MAX_CHANNELS / 2 ? (uint16_t)(s->cap * 2) : MAX_CHANNELS;
        channel *c =
            s->channels == &s->one ? malloc(cap * sizeof(*c)) : realloc(s->channels, cap * sizeof(*c));
        if (c != NULL && s->channels == &s->one)
            c[0] = s->one;
        if (c == NULL) {
            free(session);
            lv_module_release(mod);
            send_reply(s, m->join_ref, m->ref, m->topic, "error", "{\"reason\":\"join crashed\"}");
            return;
        }
        s->channels = c;
        s->cap = cap;
    }
    channel *c = &s->channels[s->nchannels];
    lv_view *v = NULL;
    int err = lv__view_spawn_channel(s->ep, route, view, mod, s, m->topic, m->join_ref, session, &c->pid, &v);
    free(session); /* the process parsed its own copy */
    if (err == 0) {
        c->topic = v->topic;
        c->join_ref = lv__view_join_ref(v);
    } else {
        lv_module_release(mod); /* else the process holds it */
    }
    if (err == 0)
        err = lv__deliver(s->ep->rt, c->pid, LV_MSG_SYSTEM, 0, "join", text, len, 0);
    if (err) {
        fprintf(stderr, "[salamander] %s: join of %s failed: %s\n", s->peer, m->topic, lv_strerror(err));
        send_reply(s, m->join_ref, m->ref, m->topic, "error", "{\"reason\":\"join crashed\"}");
        return;
    }
    s->nchannels++;
    s->refs++;
}

/* Token bucket: a burst of one second's allowance, refilled continuously. */
static bool within_rate(lv_socket *s)
{
    uint32_t rate = s->ep->max_events_per_s;
    if (rate == 0)
        return true;
    uint32_t now = (uint32_t)lv_rt_now_ms(s->ep->rt);
    float tokens = s->tokens + (float)((double)(uint32_t)(now - s->refilled_ms) * rate / 1000.0);
    s->tokens = tokens > (float)rate ? (float)rate : tokens;
    s->refilled_ms = now;
    if (s->tokens < 1)
        return false;
    s->tokens -= 1;
    return true;
}

void lv_socket_frame(lv_socket *s, const char *text, size_t len)
{
    lv_phx_msg m;
    char err[160];
    if (!within_rate(s)) {
        fprintf(stderr, "[salamander] %s: more than %u frames per second: disconnected\n", s->peer,
                s->ep->max_events_per_s);
        if (!s->gone)
            s->ops->close(s->ctx, 1008, "rate limit exceeded");
        return;
    }
    lv_phx_head h;
    channel *c;
    if (lv_phx_peek(text, len, &h) && h.event_len == 5 && memcmp(h.event, "event", 5) == 0 &&
        (c = find_channel_n(s, h.topic, h.topic_len)) != NULL) {
        /* a click, a form change: the view's process parses it, once, and closes the socket with
         * 1007 like below if the rest of the frame is malformed */
        if (lv__deliver(s->ep->rt, c->pid, LV_MSG_SYSTEM, 0, "event", text, len, 0) != 0) {
            char jr[LV_PHX_MAX_REF + 1], ref[LV_PHX_MAX_REF + 1];
            send_reply(s, slice_str(h.join_ref, h.join_ref_len, jr, sizeof(jr)),
                       slice_str(h.ref, h.ref_len, ref, sizeof(ref)), c->topic, "ok", "{}");
        }
        return;
    }
    if (lv_phx_parse(text, len, &m, err, sizeof(err)) != 0) {
        lv__socket_malformed(s, err);
        return;
    }
    if (strcmp(m.topic, "phoenix") == 0) {
        if (strcmp(m.event, "heartbeat") == 0)
            send_reply(s, NULL, m.ref, "phoenix", "ok", "{}");
        else
            send_reply(s, NULL, m.ref, "phoenix", "error", "{\"reason\":\"unknown event\"}");
        goto Exit;
    }
    if (strcmp(m.event, "phx_join") == 0) {
        handle_join(s, &m, text, len);
        goto Exit;
    }
    c = find_channel(s, m.topic);
    if (strcmp(m.event, "phx_leave") == 0) {
        send_reply(s, m.join_ref, m.ref, m.topic, "ok", "{}");
        if (c != NULL) {
            lv__deliver(s->ep->rt, c->pid, LV_MSG_SYSTEM, 0, "leave", NULL, 0, 0);
            remove_channel(s, c);
        }
        goto Exit;
    }
    if (c == NULL) {
        fprintf(stderr, "[salamander] %s: \"%s\" on unjoined topic %s\n", s->peer, m.event, m.topic);
        send_reply(s, NULL, m.ref, m.topic, "error", "{\"reason\":\"unmatched topic\"}");
        goto Exit;
    }
    if (lv__deliver(s->ep->rt, c->pid, LV_MSG_SYSTEM, 0, "event", text, len, 0) != 0)
        send_reply(s, m.join_ref, m.ref, m.topic, "ok", "{}");
Exit:
    lv_phx_msg_dispose(&m);
}

void lv_socket_gone(lv_socket *s)
{
    s->gone = true;
    for (size_t i = 0; i < s->nchannels; i++)
        lv__deliver(s->ep->rt, s->channels[i].pid, LV_MSG_SYSTEM, 0, "gone", NULL, 0, 0);
    socket_unref(s);
}

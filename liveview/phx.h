/* Phoenix Channels V2 JSON frames, [join_ref, ref, topic, event, payload]: strict parsing of what
 * clients send (into a jansson tree the message owns) and encoders for what the server sends,
 * which write straight into an lv_buf because they run for every reply and diff. */
#ifndef LV_PHX_H
#define LV_PHX_H

#include <stddef.h>

#include <jansson.h>

#include "liveview/buf.h"

/* Deepest array/object nesting accepted in a frame, the frame's own array counting as 1. Checked
 * on the raw text before jansson (which recurses) builds anything. */
#define LV_PHX_MAX_DEPTH 32
/* Refs are decimal counters: at most 20 digits, which the fixed-size join_ref fields of the
 * socket and view layers hold without truncation. */
#define LV_PHX_MAX_REF 20
/* Longest topic in bytes ("lv:" + a view id, "lvu:" + an upload ref), for the same reason. */
#define LV_PHX_MAX_TOPIC 95

/* Longest event name kept in the message itself; longer ones are still accepted. */
#define LV_PHX_SHORT_EVENT 63

/* A parsed client frame. The strings are NUL-terminated, contain no NUL and point into `root` or
 * into `text`; payload is borrowed from root (always an object; root is the payload itself when
 * the frame's head was read in place). The message owns root: release it with
 * lv_phx_msg_dispose, which is also safe after a failed parse. */
typedef struct lv_phx_msg {
    const char *join_ref; /* NULL when the client sent null */
    const char *ref;      /* NULL when the client sent null */
    const char *topic;
    const char *event;
    json_t *payload;
    json_t *root;
    char text[2 * (LV_PHX_MAX_REF + 1) + LV_PHX_MAX_TOPIC + 1 + LV_PHX_SHORT_EVENT + 1];
} lv_phx_msg;

/* Parses one text frame. Refs may be decimal strings, non-negative integers (converted to decimal
 * strings) or null; topic and event non-empty strings; payload an object (whose values, e.g. a hook
 * event's "value", may be any JSON). Returns 0, LV_EPROTO with a one-line reason in err (when
 * errlen > 0), or LV_ENOMEM. */
int lv_phx_parse(const char *text, size_t len, lv_phx_msg *out, char *err, size_t errlen);
void lv_phx_msg_dispose(lv_phx_msg *m);

/* The head of a frame, read without building anything: enough to route a frame to the process
 * that parses it in full (the socket would otherwise parse every click twice). The strings are
 * slices of the frame, not NUL-terminated; a NULL ref was null. */
typedef struct lv_phx_head {
    const char *join_ref, *ref, *topic, *event;
    size_t join_ref_len, ref_len, topic_len, event_len;
} lv_phx_head;

/* True when the frame starts the usual way: '[', two refs (null, at most LV_PHX_MAX_REF quoted
 * digits, or an unquoted integer of at most 18 digits), a topic and an event as non-empty strings
 * of printable ASCII without escapes (the topic at most LV_PHX_MAX_TOPIC bytes), then '{'. The
 * rest is not looked at: only lv_phx_parse validates. */
bool lv_phx_peek(const char *text, size_t len, lv_phx_head *out);

/* The encoders append one frame. jr and ref are written as null when NULL; topic, event and status
 * are JSON-escaped; the *_json arguments are inserted verbatim and must already be JSON (n == 0
 * writes {}). */

/* [jr, ref, topic, event, payload]: any server frame, e.g. phx_error or phx_close. */
void lv_phx_frame(lv_buf *b, const char *jr, const char *ref, const char *topic, const char *event,
                  const char *payload_json, size_t n);
/* [jr, ref, topic, "phx_reply", {"status": status, "response": response}] */
void lv_phx_reply(lv_buf *b, const char *jr, const char *ref, const char *topic, const char *status,
                  const char *response_json, size_t n);
/* [jr, null, topic, event, payload]: a server push such as "diff". */
void lv_phx_push(lv_buf *b, const char *jr, const char *topic, const char *event, const char *payload_json,
                 size_t n);

#endif

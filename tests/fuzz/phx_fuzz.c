/* libFuzzer target for liveview/phx.c: parsed frames keep every documented guarantee, the parser
 * (whether it reads the head in place or parses the whole frame) accepts exactly what a reference
 * judging jansson's tree of the whole frame accepts (so the bracket pre-scan matches
 * the real depth), and what the encoders write from a parsed frame parses back to the same frame. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "liveview/error.h"
#include "liveview/phx.h"

#include "tests/fuzz/fuzz_check.h"

/* Nesting as written, not as parsed: with duplicate keys jansson keeps only the last value, so
 * a deep value that a later duplicate replaces leaves no trace in the tree, yet the parser must
 * refuse it before jansson recurses into it. Brackets inside strings do not count. */
static size_t text_depth(const uint8_t *s, size_t n)
{
    size_t d = 0, max = 0;
    bool in_string = false, escaped = false;
    for (size_t i = 0; i < n; i++) {
        uint8_t c = s[i];
        if (in_string) {
            if (escaped)
                escaped = false;
            else if (c == '\\')
                escaped = true;
            else if (c == '"')
                in_string = false;
        } else if (c == '"') {
            in_string = true;
        } else if (c == '[' || c == '{') {
            max = ++d > max ? d : max;
        } else if ((c == ']' || c == '}') && d > 0) {
            d--;
        }
    }
    return max;
}

static bool decimal(const char *s, size_t n)
{
    return n >= 1 && n <= LV_PHX_MAX_REF && strspn(s, "0123456789") == n;
}

static bool ref_ok(const json_t *j)
{
    return json_is_null(j) || (json_is_integer(j) && json_integer_value(j) >= 0) ||
           (json_is_string(j) && decimal(json_string_value(j), json_string_length(j)));
}

/* What lv_phx_parse should accept, judged on jansson's own tree. */
static bool reference_accepts(const uint8_t *data, size_t size)
{
    json_t *root = json_loadb((const char *)data, size, 0, NULL);
    bool ok = root && json_is_array(root) && json_array_size(root) == 5 &&
              text_depth(data, size) <= LV_PHX_MAX_DEPTH && ref_ok(json_array_get(root, 0)) &&
              ref_ok(json_array_get(root, 1)) && json_is_string(json_array_get(root, 2)) &&
              json_string_length(json_array_get(root, 2)) >= 1 &&
              json_string_length(json_array_get(root, 2)) <= LV_PHX_MAX_TOPIC &&
              json_is_string(json_array_get(root, 3)) && json_string_length(json_array_get(root, 3)) >= 1 &&
              json_is_object(json_array_get(root, 4));
    json_decref(root);
    return ok;
}

static bool same(const char *a, const char *b)
{
    return (a == NULL && b == NULL) || (a && b && strcmp(a, b) == 0);
}

static bool same_slice(const char *p, size_t n, const char *s)
{
    return s == NULL ? p == NULL : p != NULL && strlen(s) == n && memcmp(p, s, n) == 0;
}

/* lv_phx_peek routes frames without parsing them: whatever it reads of a frame the parser accepts
 * must be what the parser reads, and its slices stay inside the input. */
static void check_peek(const uint8_t *data, size_t size, int rc, const lv_phx_msg *m)
{
    lv_phx_head h;
    if (!lv_phx_peek((const char *)data, size, &h))
        return;
    const char *lo = (const char *)data, *hi = lo + size;
    CHECK(h.topic >= lo && h.topic + h.topic_len <= hi && h.event >= lo && h.event + h.event_len <= hi);
    CHECK(h.topic_len >= 1 && h.topic_len <= LV_PHX_MAX_TOPIC && h.event_len >= 1);
    if (rc != 0)
        return;
    CHECK(same_slice(h.join_ref, h.join_ref_len, m->join_ref) && same_slice(h.ref, h.ref_len, m->ref));
    CHECK(same_slice(h.topic, h.topic_len, m->topic) && same_slice(h.event, h.event_len, m->event));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    lv_phx_msg m;
    char err[160];
    int rc = lv_phx_parse((const char *)data, size, &m, err, sizeof(err));
    CHECK(rc == 0 || rc == LV_EPROTO || rc == LV_ENOMEM);
    if (rc == LV_ENOMEM)
        return 0;
    CHECK((rc == 0) == reference_accepts(data, size));
    check_peek(data, size, rc, &m);
    if (rc != 0) {
        CHECK(err[0] != '\0');
        for (const char *p = err; *p; p++)
            CHECK((unsigned char)*p >= 0x20 && *p != 0x7f);
        CHECK(m.root == NULL && m.payload == NULL && m.topic == NULL && m.event == NULL);
        lv_phx_msg_dispose(&m);
        return 0;
    }
    /* the root is the frame's array, or the payload alone when the head was read in place */
    CHECK(m.root && (m.root == m.payload || (json_is_array(m.root) && json_array_size(m.root) == 5 &&
                                             m.payload == json_array_get(m.root, 4))));
    CHECK(json_is_object(m.payload));
    CHECK(m.topic && strlen(m.topic) >= 1 && strlen(m.topic) <= LV_PHX_MAX_TOPIC);
    CHECK(m.event && strlen(m.event) >= 1);
    CHECK(m.join_ref == NULL || decimal(m.join_ref, strlen(m.join_ref)));
    CHECK(m.ref == NULL || decimal(m.ref, strlen(m.ref)));

    /* encode the frame again and parse it back */
    char *payload = json_dumps(m.payload, JSON_COMPACT | JSON_ENCODE_ANY);
    CHECK(payload != NULL);
    lv_buf b = LV_BUF_INIT;
    lv_phx_frame(&b, m.join_ref, m.ref, m.topic, m.event, payload, strlen(payload));
    CHECK(lv_buf_ok(&b));
    lv_phx_msg back;
    int rc2 = lv_phx_parse(b.data, b.len, &back, err, sizeof(err));
    if (rc2 != 0)
        fprintf(stderr, "re-encoded frame rejected: %s\n%s\n", err, b.data);
    CHECK(rc2 == 0);
    CHECK(same(back.join_ref, m.join_ref) && same(back.ref, m.ref));
    CHECK(same(back.topic, m.topic) && same(back.event, m.event));
    CHECK(json_equal(back.payload, m.payload));
    lv_phx_msg_dispose(&back);

    /* a reply around the payload is valid JSON too */
    lv_buf_reset(&b);
    lv_phx_reply(&b, m.join_ref, m.ref, m.topic, m.event, payload, strlen(payload));
    json_t *reply = json_loadb(b.data, b.len, 0, NULL);
    CHECK(reply != NULL);
    CHECK(json_equal(json_object_get(json_array_get(reply, 4), "response"), m.payload));
    json_decref(reply);

    lv_buf_free(&b);
    free(payload);
    lv_phx_msg_dispose(&m);
    CHECK(m.root == NULL);
    return 0;
}

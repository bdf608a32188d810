/* liveview/phx.c: parsing client frames (the shapes clients really send, every rejected shape with
 * its message, the depth limit) and the reply/push encoders, checked byte for byte. */
#include <criterion/criterion.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "liveview/error.h"
#include "liveview/phx.h"

TestSuite(phx, .timeout = 30);

static int parse(const char *s, lv_phx_msg *m, char *err, size_t errlen)
{
    return lv_phx_parse(s, strlen(s), m, err, errlen);
}

/* ---- well-formed frames ---- */

Test(phx, join_frame)
{
    const char *f =
        "[\"4\",\"4\",\"lv:phx-GAbc\",\"phx_join\",{\"url\":\"http://example.com/counter\",\"params\":"
        "{\"_csrf_token\":\"T\",\"_mounts\":0,\"_mount_attempts\":0},\"session\":\"S1\",\"static\":\"S2\","
        "\"sticky\":false}]";
    lv_phx_msg m;
    char err[128];
    cr_assert_eq(parse(f, &m, err, sizeof(err)), 0, "%s", err);
    cr_assert_str_eq(m.join_ref, "4");
    cr_assert_str_eq(m.ref, "4");
    cr_assert_str_eq(m.topic, "lv:phx-GAbc");
    cr_assert_str_eq(m.event, "phx_join");
    cr_assert(json_is_object(m.payload));
    cr_assert_str_eq(json_string_value(json_object_get(m.payload, "session")), "S1");
    cr_assert_eq(json_integer_value(json_object_get(json_object_get(m.payload, "params"), "_mounts")), 0);
    cr_assert(m.payload == m.root || m.payload == json_array_get(m.root, 4), "the message owns its payload");
    lv_phx_msg_dispose(&m);
    cr_assert_null(m.root);
    cr_assert_null(m.payload);
}

Test(phx, heartbeat_with_null_join_ref)
{
    lv_phx_msg m;
    char err[128];
    cr_assert_eq(parse("[null,\"12\",\"phoenix\",\"heartbeat\",{}]", &m, err, sizeof(err)), 0, "%s", err);
    cr_assert_null(m.join_ref);
    cr_assert_str_eq(m.ref, "12");
    cr_assert_str_eq(m.topic, "phoenix");
    cr_assert_str_eq(m.event, "heartbeat");
    cr_assert_eq(json_object_size(m.payload), 0);
    lv_phx_msg_dispose(&m);
}

Test(phx, both_refs_null)
{
    lv_phx_msg m;
    char err[128];
    cr_assert_eq(parse("[null,null,\"lv:x\",\"diff\",{}]", &m, err, sizeof(err)), 0, "%s", err);
    cr_assert_null(m.join_ref);
    cr_assert_null(m.ref);
    lv_phx_msg_dispose(&m);
}

Test(phx, hook_event_value_may_be_any_json)
{
    const char *vals[] = {"1", "\"s\"", "null", "[1,[2,{\"a\":[]}]]", "{\"k\":true}", "-2.5e3"};
    for (size_t i = 0; i < sizeof(vals) / sizeof(*vals); i++) {
        char f[256];
        snprintf(f, sizeof(f),
                 "[\"4\",\"9\",\"lv:x\",\"event\",{\"type\":\"hook\",\"event\":\"e\",\"value\":%s}]",
                 vals[i]);
        lv_phx_msg m;
        char err[128];
        cr_assert_eq(parse(f, &m, err, sizeof(err)), 0, "%s: %s", vals[i], err);
        json_t *want = json_loads(vals[i], JSON_DECODE_ANY, NULL);
        cr_assert(json_equal(json_object_get(m.payload, "value"), want), "%s", vals[i]);
        json_decref(want);
        lv_phx_msg_dispose(&m);
    }
}

Test(phx, form_event_payload)
{
    const char *f = "[\"4\",\"10\",\"lv:x\",\"event\",{\"type\":\"form\",\"event\":\"validate\",\"value\":"
                    "\"user%5Bname%5D=bobby\",\"meta\":{\"_target\":\"user[name]\"},\"uploads\":{}}]";
    lv_phx_msg m;
    char err[128];
    cr_assert_eq(parse(f, &m, err, sizeof(err)), 0, "%s", err);
    cr_assert_str_eq(json_string_value(json_object_get(m.payload, "value")), "user%5Bname%5D=bobby");
    lv_phx_msg_dispose(&m);
}

Test(phx, integer_refs_become_decimal_strings)
{
    lv_phx_msg m;
    char err[128];
    cr_assert_eq(parse("[7, 42, \"lv:x\", \"event\", {}]", &m, err, sizeof(err)), 0, "%s", err);
    cr_assert_str_eq(m.join_ref, "7");
    cr_assert_str_eq(m.ref, "42");
    lv_phx_msg_dispose(&m);
    /* the same through the full parse (an escape in the topic), where the tree holds the strings */
    cr_assert_eq(parse("[7, 42, \"lv:\\u0078\", \"event\", {}]", &m, err, sizeof(err)), 0, "%s", err);
    cr_assert_str_eq(m.join_ref, "7");
    cr_assert_str_eq(m.ref, "42");
    cr_assert_str_eq(m.topic, "lv:x");
    cr_assert(json_is_string(json_array_get(m.root, 0)), "the tree holds the string the pointer refers to");
    lv_phx_msg_dispose(&m);
    cr_assert_eq(parse("[0,9223372036854775807,\"t\",\"e\",{}]", &m, err, sizeof(err)), 0, "%s", err);
    cr_assert_str_eq(m.join_ref, "0");
    cr_assert_str_eq(m.ref, "9223372036854775807");
    lv_phx_msg_dispose(&m);
}

Test(phx, whitespace_unicode_and_escapes)
{
    const char *f =
        " \n[ \"1\" ,\t\"2\" , \"lv:\\u00e9\\\"q\" , \"ev\\/x\" , { \"a\" : \"\xe2\x82\xac\" } ]\r\n";
    lv_phx_msg m;
    char err[128];
    cr_assert_eq(parse(f, &m, err, sizeof(err)), 0, "%s", err);
    cr_assert_str_eq(m.topic, "lv:\xc3\xa9\"q");
    cr_assert_str_eq(m.event, "ev/x");
    lv_phx_msg_dispose(&m);
}

Test(phx, duplicate_payload_keys_last_wins)
{
    lv_phx_msg m;
    char err[128];
    cr_assert_eq(parse("[null,\"1\",\"t\",\"e\",{\"a\":1,\"a\":2}]", &m, err, sizeof(err)), 0, "%s", err);
    cr_assert_eq(json_integer_value(json_object_get(m.payload, "a")), 2);
    lv_phx_msg_dispose(&m);
}

Test(phx, limits_are_inclusive)
{
    char f[512];
    char topic[LV_PHX_MAX_TOPIC + 1];
    memset(topic, 't', LV_PHX_MAX_TOPIC);
    topic[LV_PHX_MAX_TOPIC] = '\0';
    snprintf(f, sizeof(f), "[\"12345678901234567890\",\"1\",\"%s\",\"e\",{}]", topic);
    lv_phx_msg m;
    char err[128];
    cr_assert_eq(parse(f, &m, err, sizeof(err)), 0, "%s", err);
    cr_assert_eq(strlen(m.topic), LV_PHX_MAX_TOPIC);
    lv_phx_msg_dispose(&m);
}

/* ---- depth ---- */

static char *nested(size_t depth_inside_payload, const char *open, const char *close)
{
    /* the frame's array is depth 1 and its payload object depth 2 */
    lv_buf b = LV_BUF_INIT;
    lv_buf_puts(&b, "[null,\"1\",\"t\",\"e\",{\"v\":");
    for (size_t i = 0; i < depth_inside_payload; i++)
        lv_buf_puts(&b, open);
    lv_buf_puts(&b, "0");
    for (size_t i = 0; i < depth_inside_payload; i++)
        lv_buf_puts(&b, close);
    lv_buf_puts(&b, "}]");
    return b.data;
}

Test(phx, depth_32_accepted_33_rejected)
{
    lv_phx_msg m;
    char err[128];
    char *ok = nested(LV_PHX_MAX_DEPTH - 2, "[", "]");
    cr_assert_eq(parse(ok, &m, err, sizeof(err)), 0, "%s", err);
    lv_phx_msg_dispose(&m);
    free(ok);
    char *deep = nested(LV_PHX_MAX_DEPTH - 1, "{\"k\":", "}");
    cr_assert_eq(parse(deep, &m, err, sizeof(err)), LV_EPROTO);
    cr_assert_str_eq(err, "nesting deeper than 32");
    cr_assert_null(m.root);
    free(deep);
}

Test(phx, brackets_inside_strings_do_not_count)
{
    lv_buf b = LV_BUF_INIT;
    lv_buf_puts(&b, "[null,\"1\",\"t\",\"e\",{\"v\":\"");
    for (int i = 0; i < 100; i++)
        lv_buf_puts(&b, "[{\\\"");
    lv_buf_puts(&b, "\\\\\"}]");
    lv_phx_msg m;
    char err[128];
    cr_assert_eq(lv_phx_parse(b.data, b.len, &m, err, sizeof(err)), 0, "%s", err);
    lv_phx_msg_dispose(&m);
    lv_buf_free(&b);
}

/* A megabyte of '[' would recurse a million frames deep inside jansson. */
Test(phx, huge_nesting_rejected_before_parsing)
{
    size_t n = 1 << 20;
    char *s = malloc(n);
    memset(s, '[', n);
    lv_phx_msg m;
    char err[128];
    cr_assert_eq(lv_phx_parse(s, n, &m, err, sizeof(err)), LV_EPROTO);
    cr_assert_str_eq(err, "nesting deeper than 32");
    free(s);
}

/* ---- rejected frames ---- */

typedef struct bad {
    const char *frame;
    const char *err;
} bad;

static const bad bads[] = {
    {"", "invalid JSON at column 0: '[' or '{' expected near end of file"},
    {"[\"1\",\"1\",\"t\",\"e\",{}", "invalid JSON at column 19: ']' expected near end of file"},
    {"[\"1\",\"1\",\"t\",\"e\",{}] x", "invalid JSON at column 22: end of file expected near 'x'"},
    {"[\"1\",\"1\",\"t\",\"e\",{}]]", "invalid JSON at column 21: end of file expected near ']'"},
    {"[\"1\",\n\"1\",\n\"t\",\"e\",{x}]",
     "invalid JSON at line 3, column 10: string or '}' expected near 'x'"},
    {"[\"1\",\"1\",\"t\",\"\xc3\x28\",{}]",
     "invalid JSON at column 14: unable to decode byte 0xc3 near '\"'"},
    {"[\"1\",\"1\",\"t\",\"e\",{\"a\":\"\\u0000\"}]",
     "invalid JSON at column 30: \\u0000 is not allowed without JSON_ALLOW_NUL near '\"\\u0000\"'"},
    {"[\"1\",\"1\",\"t\",\"e\",{\"a\":\"\x01\"}]",
     "invalid JSON at column 23: control character 0x1 near '\"'"},
    {"[\"1\",\"1\",\"t\",\"e\",{\"a\":\"\\ud800\"}]",
     "invalid JSON at column 30: invalid Unicode '\\uD800' near '\"\\ud800\"'"},
    {"[\"1\",\"1\",\"t\",\"e\",{\"a\":99999999999999999999}]",
     "invalid JSON at column 42: too big integer near '99999999999999999999'"},
    {"{\"a\":1}", "frame is not a JSON array of 5"},
    {"[]", "frame is not a JSON array of 5"},
    {"[\"1\",\"1\",\"t\",\"e\"]", "frame is not a JSON array of 5"},
    {"[\"1\",\"1\",\"t\",\"e\",{},{}]", "frame is not a JSON array of 5"},
    {"[true,\"1\",\"t\",\"e\",{}]", "join_ref must be a string or null"},
    {"[1.5,\"1\",\"t\",\"e\",{}]", "join_ref must be a string or null"},
    {"[[],\"1\",\"t\",\"e\",{}]", "join_ref must be a string or null"},
    {"[{},\"1\",\"t\",\"e\",{}]", "join_ref must be a string or null"},
    {"[-1,\"1\",\"t\",\"e\",{}]", "join_ref must be a decimal string of at most 20 digits"},
    {"[\"\",\"1\",\"t\",\"e\",{}]", "join_ref must be a decimal string of at most 20 digits"},
    {"[\"a1\",\"1\",\"t\",\"e\",{}]", "join_ref must be a decimal string of at most 20 digits"},
    {"[\" 1\",\"1\",\"t\",\"e\",{}]", "join_ref must be a decimal string of at most 20 digits"},
    {"[\"123456789012345678901\",\"1\",\"t\",\"e\",{}]",
     "join_ref must be a decimal string of at most 20 digits"},
    {"[\"1\",false,\"t\",\"e\",{}]", "ref must be a string or null"},
    {"[\"1\",1e3,\"t\",\"e\",{}]", "ref must be a string or null"},
    {"[\"1\",\"-3\",\"t\",\"e\",{}]", "ref must be a decimal string of at most 20 digits"},
    {"[\"1\",\"1\",\"\",\"e\",{}]", "topic must be a non-empty string"},
    {"[\"1\",\"1\",null,\"e\",{}]", "topic must be a non-empty string"},
    {"[\"1\",\"1\",7,\"e\",{}]", "topic must be a non-empty string"},
    {"[\"1\",\"1\",\"t\",\"\",{}]", "event must be a non-empty string"},
    {"[\"1\",\"1\",\"t\",[\"e\"],{}]", "event must be a non-empty string"},
    {"[\"1\",\"1\",\"t\",\"e\",[]]", "payload must be an object"},
    {"[\"1\",\"1\",\"t\",\"e\",null]", "payload must be an object"},
    {"[\"1\",\"1\",\"t\",\"e\",\"{}\"]", "payload must be an object"},
    {"[\"1\",\"1\",\"t\",\"e\",5]", "payload must be an object"},
};

Test(phx, bad_frames_rejected_with_clear_messages)
{
    for (size_t i = 0; i < sizeof(bads) / sizeof(*bads); i++) {
        lv_phx_msg m;
        memset(&m, 0x5a, sizeof(m));
        char err[160];
        int rc = parse(bads[i].frame, &m, err, sizeof(err));
        cr_assert_eq(rc, LV_EPROTO, "frame %zu: %s", i, bads[i].frame);
        cr_assert_neq(err[0], '\0', "frame %zu has a reason", i);
        if (bads[i].err)
            cr_assert_str_eq(err, bads[i].err, "frame %zu", i);
        else
            cr_assert_eq(strncmp(err, "invalid JSON at column ", 23), 0, "frame %zu: %s", i, err);
        for (const char *p = err; *p; p++)
            cr_assert_geq((unsigned char)*p, 0x20, "frame %zu: no control characters in reasons", i);
        cr_assert_null(m.root, "frame %zu: nothing held after a failure", i);
        cr_assert_null(m.payload);
        cr_assert_null(m.topic);
        lv_phx_msg_dispose(&m); /* safe after failure */
    }
}

/* ---- the head, read without parsing ---- */

static bool slice_eq(const char *p, size_t n, const char *s)
{
    return s == NULL ? p == NULL : p != NULL && strlen(s) == n && memcmp(p, s, n) == 0;
}

Test(phx, peek_agrees_with_the_parser_on_the_frames_clients_send)
{
    static const char *const frames[] = {
        "[\"4\",\"7\",\"lv:phx-F0\",\"event\",{\"type\":\"click\",\"event\":\"inc\",\"value\":{}}]",
        "[null,\"12\",\"phoenix\",\"heartbeat\",{}]",
        "[4,7,\"lv:x\",\"event\",{}]",
        " [ \"1\" ,\n null , \"lv:x\" ,\t\"phx_leave\" , { } ] ",
        "[0,\"00\",\"lv:x\",\"event\",{}]",
    };
    for (size_t i = 0; i < sizeof(frames) / sizeof(*frames); i++) {
        lv_phx_head h;
        lv_phx_msg m;
        char err[160];
        cr_assert(lv_phx_peek(frames[i], strlen(frames[i]), &h), "frame %zu", i);
        cr_assert_eq(parse(frames[i], &m, err, sizeof(err)), 0, "frame %zu: %s", i, err);
        cr_assert(slice_eq(h.join_ref, h.join_ref_len, m.join_ref), "frame %zu join_ref", i);
        cr_assert(slice_eq(h.ref, h.ref_len, m.ref), "frame %zu ref", i);
        cr_assert(slice_eq(h.topic, h.topic_len, m.topic), "frame %zu topic", i);
        cr_assert(slice_eq(h.event, h.event_len, m.event), "frame %zu event", i);
        lv_phx_msg_dispose(&m);
    }
}

Test(phx, peek_declines_what_it_cannot_read_plainly)
{
    static const char *const frames[] = {
        "[\"1\",\"2\",\"lv:\\u0078\",\"event\",{}]", /* an escape in the topic */
        "[\"1\",\"2\",\"lv:x\",\"ev\\\"ent\",{}]",  /* an escape in the event */
        "[\"1\",\"2\",\"\",\"event\",{}]",           /* empty topic */
        "[\"1\",\"2\",\"lv:x\",\"\",{}]",            /* empty event */
        "[01,\"2\",\"lv:x\",\"event\",{}]",            /* a number with a leading zero */
        "[\"-1\",\"2\",\"lv:x\",\"event\",{}]",      /* not digits */
        "[\"1\",\"123456789012345678901\",\"lv:x\",\"event\",{}]", /* 21 digits */
        "[\"1\",\"2\",\"lv:x\",\"event\",[]]",       /* payload not an object */
        "[\"1\",\"2\",\"lv:x\",\"event\"]",          /* no payload */
        "[\"1\",\"2\",\"lv:\u00e9\",\"event\",{}]", /* UTF-8: the full parser validates it */
        "[1234567890123456789,\"2\",\"lv:x\",\"event\",{}]", /* may not fit jansson's integers */
        "{\"1\":2}", "[", "", "[\"1\",\"2\",\"lv:x\"",
    };
    for (size_t i = 0; i < sizeof(frames) / sizeof(*frames); i++) {
        lv_phx_head h;
        cr_assert_not(lv_phx_peek(frames[i], strlen(frames[i]), &h), "frame %zu: %s", i, frames[i]);
    }
    char f[256], topic[LV_PHX_MAX_TOPIC + 2];
    memset(topic, 't', LV_PHX_MAX_TOPIC + 1);
    topic[LV_PHX_MAX_TOPIC + 1] = '\0';
    snprintf(f, sizeof(f), "[\"1\",\"1\",\"%s\",\"e\",{}]", topic);
    lv_phx_head h;
    cr_assert_not(lv_phx_peek(f, strlen(f), &h), "a topic the parser refuses");
    topic[LV_PHX_MAX_TOPIC] = '\0';
    snprintf(f, sizeof(f), "[\"1\",\"1\",\"%s\",\"e\",{}]", topic);
    cr_assert(lv_phx_peek(f, strlen(f), &h), "the longest topic the parser takes");
}

/* The head is read from the first bytes only: what follows is for the full parse to judge. */
Test(phx, peek_does_not_validate_the_payload)
{
    const char *f = "[\"1\",\"2\",\"lv:x\",\"event\",{\"type\":,]";
    lv_phx_head h;
    lv_phx_msg m;
    char err[160];
    cr_assert(lv_phx_peek(f, strlen(f), &h));
    cr_assert_eq(parse(f, &m, err, sizeof(err)), LV_EPROTO);
}

Test(phx, overlong_topic)
{
    char f[256];
    char topic[LV_PHX_MAX_TOPIC + 2];
    memset(topic, 't', LV_PHX_MAX_TOPIC + 1);
    topic[LV_PHX_MAX_TOPIC + 1] = '\0';
    snprintf(f, sizeof(f), "[\"1\",\"1\",\"%s\",\"e\",{}]", topic);
    lv_phx_msg m;
    char err[128];
    cr_assert_eq(parse(f, &m, err, sizeof(err)), LV_EPROTO);
    cr_assert_str_eq(err, "topic longer than 95 bytes");
}

Test(phx, error_buffer_small_or_absent)
{
    lv_phx_msg m;
    char err[8];
    cr_assert_eq(parse("[]", &m, err, sizeof(err)), LV_EPROTO);
    cr_assert_str_eq(err, "frame i");
    cr_assert_eq(parse("[]", &m, NULL, 0), LV_EPROTO);
    cr_assert_eq(parse("[", &m, err, 0), LV_EPROTO);
}

Test(phx, length_is_respected_not_nul)
{
    const char *f = "[null,\"1\",\"t\",\"e\",{}]garbage";
    lv_phx_msg m;
    char err[128];
    cr_assert_eq(lv_phx_parse(f, 21, &m, err, sizeof(err)), 0, "%s", err);
    lv_phx_msg_dispose(&m);
    cr_assert_eq(lv_phx_parse(f, 20, &m, err, sizeof(err)), LV_EPROTO);
    char withnul[] = "[null,\"1\",\"t\",\"e\",{}]\0";
    cr_assert_eq(lv_phx_parse(withnul, sizeof(withnul) - 1, &m, err, sizeof(err)), LV_EPROTO);
}

/* ---- encoders ---- */

Test(phx, reply_exact_bytes)
{
    lv_buf b = LV_BUF_INIT;
    lv_phx_reply(&b, "4", "8", "lv:phx-GAbc", "ok", "{\"diff\":{\"0\":\"1\"}}", 18);
    cr_assert_str_eq(b.data, "[\"4\",\"8\",\"lv:phx-GAbc\",\"phx_reply\",{\"status\":\"ok\",\"response\":{"
                             "\"diff\":{\"0\":\"1\"}}}]");
    lv_buf_reset(&b);
    lv_phx_reply(&b, NULL, "12", "phoenix", "ok", "{}", 2);
    cr_assert_str_eq(b.data, "[null,\"12\",\"phoenix\",\"phx_reply\",{\"status\":\"ok\",\"response\":{}}]");
    lv_buf_reset(&b);
    lv_phx_reply(&b, NULL, NULL, "t", "error", NULL, 0);
    cr_assert_str_eq(b.data, "[null,null,\"t\",\"phx_reply\",{\"status\":\"error\",\"response\":{}}]");
    lv_buf_free(&b);
}

Test(phx, push_and_frame_exact_bytes)
{
    lv_buf b = LV_BUF_INIT;
    lv_phx_push(&b, "4", "lv:phx-GAbc", "diff", "{\"0\":\"7\"}", 9);
    cr_assert_str_eq(b.data, "[\"4\",null,\"lv:phx-GAbc\",\"diff\",{\"0\":\"7\"}]");
    lv_buf_reset(&b);
    lv_phx_frame(&b, "4", "4", "lv:x", "phx_error", "{\"reason\":\"channel_crash\"}", 26);
    cr_assert_str_eq(b.data, "[\"4\",\"4\",\"lv:x\",\"phx_error\",{\"reason\":\"channel_crash\"}]");
    lv_buf_reset(&b);
    lv_phx_push(&b, NULL, "lv:x", "phx_close", "", 0);
    cr_assert_str_eq(b.data, "[null,null,\"lv:x\",\"phx_close\",{}]");
    lv_buf_free(&b);
}

Test(phx, encoders_escape_strings)
{
    lv_buf b = LV_BUF_INIT;
    lv_phx_reply(&b, "1", "2", "lv:\"q\\\n", "o\"k", "{}", 2);
    cr_assert_str_eq(
        b.data, "[\"1\",\"2\",\"lv:\\\"q\\\\\\n\",\"phx_reply\",{\"status\":\"o\\\"k\",\"response\":{}}]");
    lv_buf_free(&b);
}

/* What the encoders write, the parser reads back (refs, topic and event intact). */
Test(phx, encoded_frames_parse_back)
{
    lv_buf b = LV_BUF_INIT;
    lv_phx_push(&b, "31", "lv:\xc3\xa9\"x", "diff", "{\"0\":[1,2]}", 11);
    lv_phx_msg m;
    char err[128];
    cr_assert_eq(lv_phx_parse(b.data, b.len, &m, err, sizeof(err)), 0, "%s", err);
    cr_assert_str_eq(m.join_ref, "31");
    cr_assert_null(m.ref);
    cr_assert_str_eq(m.topic, "lv:\xc3\xa9\"x");
    cr_assert_str_eq(m.event, "diff");
    cr_assert_eq(json_array_size(json_object_get(m.payload, "0")), 2);
    lv_phx_msg_dispose(&m);
    lv_buf_reset(&b);
    lv_phx_reply(&b, "1", "2", "t", "ok", "{\"a\":1}", 7);
    cr_assert_eq(lv_phx_parse(b.data, b.len, &m, err, sizeof(err)), 0, "%s", err);
    cr_assert_str_eq(m.event, "phx_reply");
    cr_assert_str_eq(json_string_value(json_object_get(m.payload, "status")), "ok");
    cr_assert_eq(json_integer_value(json_object_get(json_object_get(m.payload, "response"), "a")), 1);
    lv_phx_msg_dispose(&m);
    lv_buf_free(&b);
}

/* ---- out of memory: jansson's allocations fail from the nth on ---- */

static long allocs_left;

static void *failing_malloc(size_t n)
{
    return allocs_left-- > 0 ? malloc(n) : NULL;
}

Test(phx, out_of_memory_fails_cleanly)
{
    json_set_alloc_funcs(failing_malloc, free);
    const char *frames[] = {
        "[\"4\",\"4\",\"lv:x\",\"phx_join\",{\"url\":\"u\",\"params\":{\"a\":[1,2,{\"b\":null}]}}]",
        "[7,8,\"lv:x\",\"event\",{}]"};
    for (size_t f = 0; f < 2; f++) {
        bool succeeded = false;
        for (long n = 0; n < 200 && !succeeded; n++) {
            allocs_left = n;
            lv_phx_msg m;
            char err[128];
            int rc = parse(frames[f], &m, err, sizeof(err));
            cr_assert(rc == 0 || rc == LV_ENOMEM || rc == LV_EPROTO, "n=%ld rc=%d", n, rc);
            if (rc == 0) {
                succeeded = true;
                cr_assert_not_null(m.topic);
            } else {
                cr_assert_null(m.root);
            }
            lv_phx_msg_dispose(&m); /* ASan reports anything a failure path leaked */
        }
        cr_assert(succeeded, "frame %zu parses once memory suffices", f);
    }
}

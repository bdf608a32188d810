/* Phoenix Channels V2 frames: the strict parser for client frames (shape, refs, topic, event,
 * payload, nesting depth) and the encoders for replies, pushes and other server frames. */
#include "liveview/phx.h"

#include <stdint.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "liveview/error.h"

static int phx_error(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Formats the reason. It may quote client input (jansson's "near '...'"), and it ends up in logs
 * and close frames, so control characters become '?'. */
static int phx_error(char *err, size_t errlen, const char *fmt, ...)
{
    if (err == NULL || errlen == 0)
        return LV_EPROTO;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
    for (char *p = err; *p; p++)
        if ((unsigned char)*p < 0x20 || *p == 0x7f)
            *p = '?';
    return LV_EPROTO;
}

/* jansson parses recursively, so a frame like [[[[...]]]] megabytes deep would exhaust the stack
 * of the process parsing it; counting brackets outside strings first costs one pass over bytes
 * already in cache. Unbalanced input is left for jansson to report. */
static bool phx_depth_ok(const char *s, size_t n)
{
    size_t depth = 0;
    for (size_t i = 0; i < n; i++) {
        switch (s[i]) {
        case '"':
            for (i++; i < n && s[i] != '"'; i++)
                if (s[i] == '\\')
                    i++;
            break;
        case '[':
        case '{':
            if (++depth > LV_PHX_MAX_DEPTH)
                return false;
            break;
        case ']':
        case '}':
            if (depth > 0)
                depth--;
            break;
        default: break;
        }
    }
    return true;
}

/* Element i of the frame as a ref: NULL for null; an integer is replaced in the tree by its decimal
 * string so the pointer handed out lives as long as the message. */
static int phx_ref(json_t *root, size_t i, const char *name, const char **out, char *err, size_t errlen)
{
    json_t *v = json_array_get(root, i);
    *out = NULL;
    if (json_is_null(v))
        return 0;
    if (json_is_integer(v)) {
        json_int_t x = json_integer_value(v);
        if (x < 0)
            return phx_error(err, errlen, "%s must be a decimal string of at most %d digits", name,
                             LV_PHX_MAX_REF);
        char digits[24];
        snprintf(digits, sizeof(digits), "%" JSON_INTEGER_FORMAT, x);
        if (json_array_set_new(root, i, json_string(digits)) != 0)
            return LV_ENOMEM;
        v = json_array_get(root, i);
    } else if (!json_is_string(v)) {
        return phx_error(err, errlen, "%s must be a string or null", name);
    }
    const char *s = json_string_value(v);
    size_t n = json_string_length(v);
    if (n == 0 || n > LV_PHX_MAX_REF || strspn(s, "0123456789") != n)
        return phx_error(err, errlen, "%s must be a decimal string of at most %d digits", name,
                         LV_PHX_MAX_REF);
    *out = s;
    return 0;
}

static int phx_name(json_t *root, size_t i, const char *name, size_t max, const char **out, char *err,
                    size_t errlen)
{
    json_t *v = json_array_get(root, i);
    if (!json_is_string(v) || json_string_length(v) == 0)
        return phx_error(err, errlen, "%s must be a non-empty string", name);
    if (json_string_length(v) > max)
        return phx_error(err, errlen, "%s longer than %zu bytes", name, max);
    *out = json_string_value(v);
    return 0;
}

static int parse_whole(const char *text, size_t len, lv_phx_msg *out, char *err, size_t errlen);

static const char *skip_ws(const char *p, const char *end)
{
    while (p < end && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r'))
        p++;
    return p;
}

/* A string without escapes or control characters; *p is past the closing quote. */
static bool peek_plain_string(const char **p, const char *end, const char **s, size_t *n)
{
    const char *q = *p;
    if (q >= end || *q != '"')
        return false;
    const char *start = ++q;
    while (q < end && *q != '"') {
        if (*q == '\\' || (unsigned char)*q < 0x20 || (unsigned char)*q > 0x7e)
            return false; /* escapes and UTF-8 are for the full parser to judge */
        q++;
    }
    if (q >= end)
        return false;
    *s = start;
    *n = (size_t)(q - start);
    *p = q + 1;
    return true;
}

static bool peek_ref(const char **p, const char *end, const char **s, size_t *n)
{
    const char *q = *p;
    if (end - q >= 4 && memcmp(q, "null", 4) == 0) {
        *s = NULL;
        *n = 0;
        *p = q + 4;
        return true;
    }
    bool quoted = q < end && *q == '"';
    const char *start = q + quoted;
    q = start;
    while (q < end && *q >= '0' && *q <= '9')
        q++;
    size_t digits = (size_t)(q - start);
    /* unquoted: a JSON integer that fits jansson's, so both parsers take the same ones */
    size_t max = quoted ? LV_PHX_MAX_REF : 18;
    if (digits == 0 || digits > max || (!quoted && digits > 1 && *start == '0'))
        return false;
    if (quoted && (q >= end || *q++ != '"'))
        return false;
    *s = start;
    *n = digits;
    *p = q;
    return true;
}

static bool peek_comma(const char **p, const char *end)
{
    const char *q = skip_ws(*p, end);
    if (q >= end || *q != ',')
        return false;
    *p = skip_ws(q + 1, end);
    return true;
}

bool lv_phx_peek(const char *text, size_t len, lv_phx_head *out)
{
    const char *p = text, *end = text + len;
    p = skip_ws(p, end);
    if (p >= end || *p != '[')
        return false;
    p = skip_ws(p + 1, end);
    if (!peek_ref(&p, end, &out->join_ref, &out->join_ref_len) || !peek_comma(&p, end) ||
        !peek_ref(&p, end, &out->ref, &out->ref_len) || !peek_comma(&p, end) ||
        !peek_plain_string(&p, end, &out->topic, &out->topic_len) || !peek_comma(&p, end) ||
        !peek_plain_string(&p, end, &out->event, &out->event_len) || !peek_comma(&p, end))
        return false;
    return p < end && *p == '{' && out->topic_len > 0 && out->topic_len <= LV_PHX_MAX_TOPIC &&
           out->event_len > 0;
}

/* Copies a slice into the message's own text; returns the copy, or NULL for a NULL slice. */
static const char *keep(lv_phx_msg *m, size_t *used, const char *p, size_t n)
{
    if (p == NULL)
        return NULL;
    char *dst = m->text + *used;
    memcpy(dst, p, n);
    dst[n] = '\0';
    *used += n + 1;
    return dst;
}

/* The usual frame, whose head lv_phx_peek read: only the payload goes through jansson, and what
 * follows it must close the array. Accepts and refuses exactly what the full parse does (the
 * fuzz target checks). Returns 1 when the frame needs the full parse instead. */
static int parse_after_head(const char *text, size_t len, const lv_phx_head *h, lv_phx_msg *out)
{
    if (h->event_len > LV_PHX_SHORT_EVENT)
        return 1;
    const char *payload = h->event + h->event_len;
    while (*payload != '{') /* peek saw: '"', blanks, ',', blanks, '{' */
        payload++;
    size_t n = len - (size_t)(payload - text);
    json_error_t je;
    json_t *obj = json_loadb(payload, n, JSON_DISABLE_EOF_CHECK, &je);
    if (obj == NULL) /* the full parse says where, counted from the frame's start */
        return json_error_code(&je) == json_error_out_of_memory ? LV_ENOMEM : 1;
    const char *rest = skip_ws(payload + je.position, text + len);
    if (rest >= text + len || *rest != ']' || skip_ws(rest + 1, text + len) != text + len) {
        json_decref(obj);
        return 1; /* more elements, or something else after the payload: the full parse reports it */
    }
    size_t used = 0;
    out->join_ref = keep(out, &used, h->join_ref, h->join_ref_len);
    out->ref = keep(out, &used, h->ref, h->ref_len);
    out->topic = keep(out, &used, h->topic, h->topic_len);
    out->event = keep(out, &used, h->event, h->event_len);
    out->payload = obj;
    out->root = obj;
    return 0;
}

int lv_phx_parse(const char *text, size_t len, lv_phx_msg *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof(*out));
    if (err != NULL && errlen > 0)
        err[0] = '\0';
    if (!phx_depth_ok(text, len))
        return phx_error(err, errlen, "nesting deeper than %d", LV_PHX_MAX_DEPTH);
    lv_phx_head h;
    if (lv_phx_peek(text, len, &h)) {
        int rc = parse_after_head(text, len, &h, out);
        if (rc <= 0)
            return rc;
        memset(out, 0, sizeof(*out));
    }
    return parse_whole(text, len, out, err, errlen);
}

/* Any frame, through one jansson tree. */
static int parse_whole(const char *text, size_t len, lv_phx_msg *out, char *err, size_t errlen)
{
    /* flags 0: the whole input must be one array or object, and strings may not contain NUL;
     * jansson rejects invalid UTF-8 itself */
    json_error_t je;
    json_t *root = json_loadb(text, len, 0, &je);
    if (root == NULL) {
        if (json_error_code(&je) == json_error_out_of_memory)
            return LV_ENOMEM;
        if (je.line > 1)
            return phx_error(err, errlen, "invalid JSON at line %d, column %d: %s", je.line, je.column,
                             je.text);
        return phx_error(err, errlen, "invalid JSON at column %d: %s", je.column, je.text);
    }
    int rc;
    const char *topic, *event;
    if (!json_is_array(root) || json_array_size(root) != 5) {
        rc = phx_error(err, errlen, "frame is not a JSON array of 5");
        goto Fail;
    }
    if ((rc = phx_ref(root, 0, "join_ref", &out->join_ref, err, errlen)) != 0 ||
        (rc = phx_ref(root, 1, "ref", &out->ref, err, errlen)) != 0 ||
        (rc = phx_name(root, 2, "topic", LV_PHX_MAX_TOPIC, &topic, err, errlen)) != 0 ||
        (rc = phx_name(root, 3, "event", SIZE_MAX, &event, err, errlen)) != 0)
        goto Fail;
    if (!json_is_object(json_array_get(root, 4))) {
        rc = phx_error(err, errlen, "payload must be an object");
        goto Fail;
    }
    out->topic = topic;
    out->event = event;
    out->payload = json_array_get(root, 4);
    out->root = root;
    return 0;
Fail:
    json_decref(root);
    memset(out, 0, sizeof(*out));
    return rc;
}

void lv_phx_msg_dispose(lv_phx_msg *m)
{
    json_decref(m->root);
    memset(m, 0, sizeof(*m));
}

/* ---- encoders ---- */

static void phx_put_ref(lv_buf *b, const char *ref)
{
    if (ref == NULL)
        lv_buf_append(b, "null", 4);
    else
        lv_buf_put_json_str(b, ref, strlen(ref));
}

static void phx_put_raw(lv_buf *b, const char *json, size_t n)
{
    if (json == NULL || n == 0)
        lv_buf_append(b, "{}", 2);
    else
        lv_buf_append(b, json, n);
}

static void phx_head(lv_buf *b, const char *jr, const char *ref, const char *topic, const char *event)
{
    lv_buf_putc(b, '[');
    phx_put_ref(b, jr);
    lv_buf_putc(b, ',');
    phx_put_ref(b, ref);
    lv_buf_putc(b, ',');
    lv_buf_put_json_str(b, topic, strlen(topic));
    lv_buf_putc(b, ',');
    lv_buf_put_json_str(b, event, strlen(event));
    lv_buf_putc(b, ',');
}

void lv_phx_frame(lv_buf *b, const char *jr, const char *ref, const char *topic, const char *event,
                  const char *payload_json, size_t n)
{
    phx_head(b, jr, ref, topic, event);
    phx_put_raw(b, payload_json, n);
    lv_buf_putc(b, ']');
}

void lv_phx_reply(lv_buf *b, const char *jr, const char *ref, const char *topic, const char *status,
                  const char *response_json, size_t n)
{
    phx_head(b, jr, ref, topic, "phx_reply");
    lv_buf_append(b, "{\"status\":", 10);
    lv_buf_put_json_str(b, status, strlen(status));
    lv_buf_append(b, ",\"response\":", 12);
    phx_put_raw(b, response_json, n);
    lv_buf_append(b, "}]", 2);
}

void lv_phx_push(lv_buf *b, const char *jr, const char *topic, const char *event, const char *payload_json,
                 size_t n)
{
    lv_phx_frame(b, jr, NULL, topic, event, payload_json, n);
}

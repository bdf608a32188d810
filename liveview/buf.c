/* lv_buf: growable byte buffer with HTML and JSON escaping appenders.
 * Escaping lives here because every output path (page, join reply, diff) needs it. */
#include "liveview/buf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void lv_buf_free(lv_buf *b)
{
    free(b->data);
    *b = (lv_buf)LV_BUF_INIT;
}

void lv_buf_reset(lv_buf *b)
{
    b->len = 0;
    b->oom = false;
    if (b->data)
        b->data[0] = '\0'; /* data stays a valid (empty) string */
}

bool lv_buf_reserve(lv_buf *b, size_t extra)
{
    if (b->oom)
        return false;
    if (b->len + extra + 1 <= b->cap)
        return true;
    size_t cap = b->cap ? b->cap : 64;
    while (cap < b->len + extra + 1)
        cap *= 2;
    char *p = realloc(b->data, cap);
    if (p == NULL) {
        b->oom = true;
        return false;
    }
    b->data = p;
    b->cap = cap;
    return true;
}

void lv_buf_append(lv_buf *b, const void *p, size_t n)
{
    if (!lv_buf_reserve(b, n))
        return;
    if (n)
        memcpy(b->data + b->len, p, n);
    b->len += n;
    b->data[b->len] = '\0';
}

void lv_buf_puts(lv_buf *b, const char *s)
{
    lv_buf_append(b, s, strlen(s));
}

void lv_buf_putc(lv_buf *b, char c)
{
    lv_buf_append(b, &c, 1);
}

void lv_buf_printf(lv_buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0 || !lv_buf_reserve(b, (size_t)n))
        return;
    va_start(ap, fmt);
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

void lv_buf_put_u64(lv_buf *b, uint64_t v)
{
    char tmp[24];
    char *p = tmp + sizeof(tmp);
    do {
        *--p = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    lv_buf_append(b, p, (size_t)(tmp + sizeof(tmp) - p));
}

void lv_buf_put_i64(lv_buf *b, int64_t v)
{
    if (v < 0) {
        lv_buf_putc(b, '-');
        lv_buf_put_u64(b, (uint64_t)0 - (uint64_t)v);
    } else {
        lv_buf_put_u64(b, (uint64_t)v);
    }
}

void lv_buf_put_html(lv_buf *b, const char *s, size_t n)
{
    size_t run = 0;
    for (size_t i = 0; i < n; i++) {
        const char *rep;
        switch (s[i]) {
        case '&': rep = "&amp;"; break;
        case '<': rep = "&lt;"; break;
        case '>': rep = "&gt;"; break;
        case '"': rep = "&quot;"; break;
        case '\'': rep = "&#39;"; break;
        default: continue;
        }
        lv_buf_append(b, s + run, i - run);
        lv_buf_puts(b, rep);
        run = i + 1;
    }
    lv_buf_append(b, s + run, n - run);
}

void lv_buf_put_json_str(lv_buf *b, const char *s, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    lv_buf_putc(b, '"');
    size_t run = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        char esc[7];
        size_t elen = 2;
        if (c == '"' || c == '\\') {
            esc[0] = '\\';
            esc[1] = (char)c;
        } else if (c == '\n') {
            memcpy(esc, "\\n", 2);
        } else if (c == '\t') {
            memcpy(esc, "\\t", 2);
        } else if (c == '\r') {
            memcpy(esc, "\\r", 2);
        } else if (c < 0x20) {
            memcpy(esc, "\\u00", 4);
            esc[4] = hex[c >> 4];
            esc[5] = hex[c & 15];
            elen = 6;
        } else {
            continue;
        }
        lv_buf_append(b, s + run, i - run);
        lv_buf_append(b, esc, elen);
        run = i + 1;
    }
    lv_buf_append(b, s + run, n - run);
    lv_buf_putc(b, '"');
}

/* lv_buf: a growable byte buffer used for HTML, JSON and wire frames.
 * The buffer owns its bytes; lv_buf_free releases them. Appends never fail silently:
 * on allocation failure the buffer is marked and lv_buf_ok() turns false. */
#ifndef LV_BUF_H
#define LV_BUF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct lv_buf {
    char *data;
    size_t len;
    size_t cap;
    bool oom; /* an append could not grow the buffer: its content is truncated */
} lv_buf;

#define LV_BUF_INIT                                                                                          \
    {                                                                                                        \
        NULL, 0, 0, false                                                                                    \
    }

void lv_buf_free(lv_buf *b);
void lv_buf_reset(lv_buf *b); /* len = 0, keeps the allocation */
bool lv_buf_reserve(lv_buf *b, size_t extra);
void lv_buf_append(lv_buf *b, const void *p, size_t n);
void lv_buf_puts(lv_buf *b, const char *s);
void lv_buf_putc(lv_buf *b, char c);
void lv_buf_printf(lv_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void lv_buf_put_i64(lv_buf *b, int64_t v);
void lv_buf_put_u64(lv_buf *b, uint64_t v);
/* HTML-escapes & < > " ' */
void lv_buf_put_html(lv_buf *b, const char *s, size_t n);
/* Appends s as a JSON string literal, quotes included. */
void lv_buf_put_json_str(lv_buf *b, const char *s, size_t n);
static inline bool lv_buf_ok(const lv_buf *b)
{
    return !b->oom;
}

#endif

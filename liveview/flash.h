/* Flash messages of one view (key -> message, as Phoenix's put_flash) and how they travel: as a
 * signed, short-lived token (liveview/token.c) in the "flash" of live_redirect / redirect, in
 * the next join's "flash" param, in the __phoenix_flash__ cookie and in the page's static token.
 * The view-author API (lv_put_flash, lv_clear_flash, lv_flash) is declared in view.h. */
#ifndef LV_FLASH_H
#define LV_FLASH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "liveview/buf.h"

/* At most this many keys; a view putting more is a bug and crashes (as other API misuse does). */
#define LV__FLASH_MAX_KEYS 16
/* A flash token is accepted for this long: it only has to survive one navigation. */
#define LV__FLASH_MAX_AGE_S 60
/* The cookie set on redirect and read by the GET that follows (PROTOCOL.md section 3). */
#define LV__FLASH_COOKIE "__phoenix_flash__"

/* Empty, it holds no memory: most views never show a flash, and every joined view has one. */
typedef struct lv__flash {
    struct lv__flash_entry {
        char *key, *msg; /* malloc'd: freed by lv__flash_clear, also from a crashed view's exit hook */
    } *e;                /* malloc'd, n entries; NULL when empty */
    uint8_t n;
    bool changed; /* since the last render: the template's flash slots must be evaluated again */
} lv__flash;

/* Sets key to msg (both copied). Returns 0, LV_EINVAL for a NULL key or msg, LV_ELIMIT past
 * LV__FLASH_MAX_KEYS, LV_ENOMEM. */
int lv__flash_put(lv__flash *f, const char *key, const char *msg);
/* Removes key, or every key when key is NULL. */
void lv__flash_clear(lv__flash *f, const char *key);
const char *lv__flash_get(const lv__flash *f, const char *key);
/* Appends the flash as a JSON object {"key":"msg",...}. */
void lv__flash_json(const lv__flash *f, lv_buf *out);
/* Puts every string member of a JSON object; other members are ignored. */
int lv__flash_merge_json(lv__flash *f, const json_t *obj);

/* Signs the flash as a token; appends nothing when it is empty. Returns 0 or LV_ENOMEM. */
int lv__flash_sign(const lv__flash *f, const uint8_t *secret, uint64_t now_s, lv_buf *out);
/* Verifies a flash token and puts its messages. Returns 0, or LV_EPROTO (malformed or tampered,
 * or not a flash token) / LV_ETIMEDOUT (expired), and then puts nothing. */
int lv__flash_verify(lv__flash *f, const uint8_t *secret, uint64_t now_s, const char *token);

/* Finds the __phoenix_flash__ cookie in a Cookie header value: its value (not NUL-terminated)
 * and length, or NULL. */
const char *lv__flash_cookie(const char *header, size_t len, size_t *vlen);

#endif

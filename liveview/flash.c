/* Flash messages: the per-view key -> message table, its JSON form, and the signed token that
 * carries it across a navigation. The token's payload is {"flash":{...}}, so no other token the
 * server signs with the same secret (session, static) can pass for one. */
#include "liveview/flash.h"

#include <stdlib.h>
#include <string.h>

#include "liveview/error.h"
#include "liveview/token.h"

static int find(const lv__flash *f, const char *key)
{
    for (size_t i = 0; i < f->n; i++)
        if (strcmp(f->e[i].key, key) == 0)
            return (int)i;
    return -1;
}

int lv__flash_put(lv__flash *f, const char *key, const char *msg)
{
    if (key == NULL || msg == NULL)
        return LV_EINVAL;
    int i = find(f, key);
    if (i >= 0 && strcmp(f->e[i].msg, msg) == 0)
        return 0; /* unchanged: nothing to render again */
    if (i < 0 && f->n == LV__FLASH_MAX_KEYS)
        return LV_ELIMIT;
    char *m = strdup(msg);
    char *k = i < 0 ? strdup(key) : NULL;
    struct lv__flash_entry *e = i < 0 ? realloc(f->e, (f->n + 1u) * sizeof(*e)) : f->e;
    if (m == NULL || (i < 0 && (k == NULL || e == NULL))) {
        free(m);
        free(k);
        if (e != NULL)
            f->e = e;
        return LV_ENOMEM;
    }
    f->e = e;
    if (i < 0) {
        i = (int)f->n++;
        f->e[i].key = k;
    } else {
        free(f->e[i].msg);
    }
    f->e[i].msg = m;
    f->changed = true;
    return 0;
}

void lv__flash_clear(lv__flash *f, const char *key)
{
    for (size_t i = 0; i < f->n;) {
        if (key != NULL && strcmp(f->e[i].key, key) != 0) {
            i++;
            continue;
        }
        free(f->e[i].key);
        free(f->e[i].msg);
        f->e[i] = f->e[--f->n];
        f->changed = true;
    }
    if (f->n == 0) {
        free(f->e);
        f->e = NULL;
    }
}

const char *lv__flash_get(const lv__flash *f, const char *key)
{
    int i = key ? find(f, key) : -1;
    return i < 0 ? NULL : f->e[i].msg;
}

void lv__flash_json(const lv__flash *f, lv_buf *out)
{
    lv_buf_putc(out, '{');
    for (size_t i = 0; i < f->n; i++) {
        if (i)
            lv_buf_putc(out, ',');
        lv_buf_put_json_str(out, f->e[i].key, strlen(f->e[i].key));
        lv_buf_putc(out, ':');
        lv_buf_put_json_str(out, f->e[i].msg, strlen(f->e[i].msg));
    }
    lv_buf_putc(out, '}');
}

int lv__flash_merge_json(lv__flash *f, const json_t *obj)
{
    const char *key;
    json_t *val;
    json_object_foreach((json_t *)obj, key, val)
    {
        const char *msg = json_string_value(val);
        int err = msg ? lv__flash_put(f, key, msg) : 0;
        if (err)
            return err;
    }
    return 0;
}

int lv__flash_sign(const lv__flash *f, const uint8_t *secret, uint64_t now_s, lv_buf *out)
{
    if (f->n == 0)
        return 0;
    lv_buf payload = LV_BUF_INIT;
    lv_buf_puts(&payload, "{\"flash\":");
    lv__flash_json(f, &payload);
    lv_buf_putc(&payload, '}');
    int err = lv_buf_ok(&payload) ? lv_token_sign(secret, payload.data, payload.len, now_s, out) : LV_ENOMEM;
    lv_buf_free(&payload);
    return err;
}

int lv__flash_verify(lv__flash *f, const uint8_t *secret, uint64_t now_s, const char *token)
{
    lv_buf payload = LV_BUF_INIT;
    int err = lv_token_verify(secret, token, strlen(token), now_s, LV__FLASH_MAX_AGE_S, &payload);
    json_t *root = err ? NULL : json_loadb(payload.data, payload.len, 0, NULL);
    const json_t *flash = json_object_get(root, "flash");
    if (err == 0 && !json_is_object(flash))
        err = LV_EPROTO;
    if (err == 0) {
        lv__flash tmp = {0}; /* all or nothing */
        err = lv__flash_merge_json(&tmp, flash);
        for (size_t i = 0; err == 0 && i < tmp.n; i++)
            err = lv__flash_put(f, tmp.e[i].key, tmp.e[i].msg);
        lv__flash_clear(&tmp, NULL);
    }
    json_decref(root);
    lv_buf_free(&payload);
    return err;
}

const char *lv__flash_cookie(const char *header, size_t len, size_t *vlen)
{
    static const char name[] = LV__FLASH_COOKIE "=";
    const size_t nlen = sizeof(name) - 1;
    for (size_t i = 0; i < len;) {
        while (i < len && (header[i] == ' ' || header[i] == ';'))
            i++;
        size_t end = i;
        while (end < len && header[end] != ';')
            end++;
        if (end - i >= nlen && memcmp(header + i, name, nlen) == 0) {
            *vlen = end - i - nlen;
            return header + i + nlen;
        }
        i = end;
    }
    return NULL;
}

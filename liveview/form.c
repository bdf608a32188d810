/* application/x-www-form-urlencoded decoding for form events, following Plug.Conn.Query (Plug 1.16:
 * decode_init/decode_each/decode_done) so that a view sees what a Phoenix view would, quirks of
 * conflicting keys included; plus the "_target" path Phoenix derives from the changed field. */
#include "liveview/form.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "liveview/buf.h"
#include "liveview/error.h"

/* Plug's algorithm, which this mirrors: every bracketed prefix of a key names a "level" (the root,
 * "user", "user[address]", ...). A pair is added as an entry {segment, value} to the level of its
 * last segment; when that level is new, an entry pointing to it is added to the parent level, and
 * so on up to the first level that already existed. At the end each level becomes an array if its
 * newest entry has an empty segment ("a[]"), otherwise an object in which a later key overrides an
 * earlier one; entries of the other kind are dropped. */

#define NONE SIZE_MAX /* no entry / the root has no name */
#define NIL  SIZE_MAX /* key_len of an entry with an empty segment: a list element */

typedef struct form_entry {
    size_t key_off, key_len; /* the segment, in text; key_len NIL for "[]" */
    json_t *value;           /* the decoded value, or NULL for a pointer to `level` */
    size_t level;
    size_t next; /* the next (newer) entry of the same level */
} form_entry;

typedef struct form_level {
    size_t head, tail; /* oldest and newest entries */
} form_level;

typedef struct form_decoder {
    lv_buf text; /* decoded keys; sized for the whole input up front, so it never moves */
    form_entry *ents;
    size_t nents, ents_cap;
    form_level *levels; /* levels[0] is the root */
    size_t nlevels, levels_cap;
    json_t *index; /* level name -> level number, made on the first nested key */
} form_decoder;

static int form_error(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static int form_error(char *err, size_t errlen, const char *fmt, ...)
{
    if (err != NULL && errlen > 0) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
    }
    return LV_EPROTO;
}

static int hex_digit(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Appends the decoding of raw[0..n) to b, which has room (decoding never lengthens). On a '%' not
 * followed by two hex digits, returns LV_EPROTO with its offset in *bad. */
static int form_unescape(lv_buf *b, const char *raw, size_t n, size_t *bad)
{
    char *o = b->data + b->len;
    for (size_t i = 0; i < n; i++) {
        char c = raw[i];
        if (c == '+') {
            *o++ = ' ';
        } else if (c == '%') {
            int hi = n - i >= 3 ? hex_digit(raw[i + 1]) : -1;
            int lo = n - i >= 3 ? hex_digit(raw[i + 2]) : -1;
            if (hi < 0 || lo < 0) {
                *bad = i;
                return LV_EPROTO;
            }
            *o++ = (char)(hi << 4 | lo);
            i += 2;
        } else {
            *o++ = c;
        }
    }
    b->len = (size_t)(o - b->data);
    return 0;
}

/* jansson checks UTF-8 when it makes a string; a NULL may also mean no memory, which making the
 * string unchecked tells apart (on the error path only). */
static int form_string(const char *s, size_t n, json_t **out)
{
    *out = json_stringn(s, n);
    if (*out != NULL)
        return 0;
    json_t *probe = json_stringn_nocheck(s, n);
    if (probe == NULL)
        return LV_ENOMEM;
    json_decref(probe);
    return LV_EPROTO;
}

static bool form_grow(void **p, size_t *cap, size_t need, size_t size)
{
    if (need <= *cap)
        return true;
    size_t cap2 = *cap ? *cap * 2 : 16;
    void *q = realloc(*p, cap2 * size);
    if (q == NULL)
        return false;
    *p = q;
    *cap = cap2;
    return true;
}

/* Adds an entry to level lvl; takes value (a string, or NULL for a pointer to `child`). */
static int form_add(form_decoder *d, size_t lvl, size_t key_off, size_t key_len, json_t *value, size_t child)
{
    if (!form_grow((void **)&d->ents, &d->ents_cap, d->nents + 1, sizeof(*d->ents))) {
        json_decref(value);
        return LV_ENOMEM;
    }
    size_t e = d->nents++;
    d->ents[e] = (form_entry){key_off, key_len, value, child, NONE};
    form_level *L = &d->levels[lvl];
    if (L->tail == NONE)
        L->head = e;
    else
        d->ents[L->tail].next = e;
    L->tail = e;
    return 0;
}

/* The level named key[0..len), creating it (empty) if needed; *created says which. */
static int form_level_of(form_decoder *d, size_t key_off, size_t len, size_t *lvl, bool *created)
{
    const char *name = d->text.data + key_off;
    if (d->index == NULL && (d->index = json_object()) == NULL)
        return LV_ENOMEM;
    json_t *hit = json_object_getn(d->index, name, len);
    if (hit != NULL) {
        *lvl = (size_t)json_integer_value(hit);
        *created = false;
        return 0;
    }
    if (!form_grow((void **)&d->levels, &d->levels_cap, d->nlevels + 1, sizeof(*d->levels)))
        return LV_ENOMEM;
    /* a name is a prefix of a valid key cut before an ASCII bracket: valid UTF-8 too */
    if (json_object_setn_new_nocheck(d->index, name, len, json_integer((json_int_t)d->nlevels)) != 0)
        return LV_ENOMEM;
    *lvl = d->nlevels;
    d->levels[d->nlevels++] = (form_level){NONE, NONE};
    *created = true;
    return 0;
}

/* Files one decoded pair (the key at text[key_off..+key_len), the value as a string, taken). */
static int form_insert(form_decoder *d, size_t key_off, size_t key_len, json_t *value, size_t at, char *err,
                       size_t errlen)
{
    struct {
        size_t level_len; /* the level is named key[0..level_len); NONE for the root */
        size_t off, len;  /* the segment within key; len NIL for "[]" */
    } seg[LV_FORM_MAX_DEPTH];
    const char *key = d->text.data + key_off;
    const char *lb = key_len ? memchr(key, '[', key_len) : NULL;
    size_t nseg = 1;
    seg[0].level_len = NONE;
    seg[0].off = 0;
    seg[0].len = key_len;
    if (lb != NULL && lb > key && key[key_len - 1] == ']') {
        /* "a[b][c]": root segment "a", then segments between "[" and a "]" that is followed by
         * "[" or ends the key; any other "]" is part of a segment, as in Plug */
        seg[0].len = (size_t)(lb - key);
        size_t level_len = seg[0].len, start = level_len + 1;
        for (size_t i = start; i < key_len; i++) {
            if (key[i] != ']' || (i + 1 < key_len && key[i + 1] != '['))
                continue;
            if (nseg == LV_FORM_MAX_DEPTH) {
                json_decref(value);
                return form_error(err, errlen, "key nested deeper than %d levels at offset %zu",
                                  LV_FORM_MAX_DEPTH, at);
            }
            seg[nseg].level_len = level_len;
            seg[nseg].off = start;
            seg[nseg].len = i == start ? NIL : i - start;
            nseg++;
            level_len = i + 1;
            start = i + 2;
            i++;
        }
    }
    /* deepest segment first; stop at the first level that already existed */
    size_t child = NONE;
    for (size_t i = nseg; i-- > 0;) {
        size_t lvl = 0;
        bool created = false;
        if (seg[i].level_len != NONE) {
            int rc = form_level_of(d, key_off, seg[i].level_len, &lvl, &created);
            if (rc != 0) {
                json_decref(value);
                return rc;
            }
        }
        int rc = form_add(d, lvl, key_off + seg[i].off, seg[i].len, value, child);
        if (rc != 0 || !created)
            return rc;
        value = NULL;
        child = lvl;
    }
    return 0;
}

static int form_pair(form_decoder *d, const char *s, size_t start, size_t end, char *err, size_t errlen)
{
    const char *eq = memchr(s + start, '=', end - start);
    size_t kend = eq ? (size_t)(eq - s) : end;
    size_t vstart = eq ? kend + 1 : end;
    size_t key_off = d->text.len, bad;
    if (form_unescape(&d->text, s + start, kend - start, &bad) != 0)
        return form_error(err, errlen, "bad percent-encoding at offset %zu", start + bad);
    size_t key_len = d->text.len - key_off;
    /* Plug allows it, but C code reaches keys as C strings (json_object_get, json_object_foreach,
     * even json_equal), where "a%00x" would read as "a" */
    const char *nul = memchr(d->text.data + key_off, '\0', key_len);
    if (nul != NULL)
        return form_error(err, errlen, "NUL byte in key at offset %zu", start);
    json_t *check;
    int rc = form_string(d->text.data + key_off, key_len, &check);
    if (rc == LV_EPROTO)
        return form_error(err, errlen, "invalid UTF-8 in key at offset %zu", start);
    if (rc != 0)
        return rc;
    json_decref(check);
    /* the value is decoded after the key only long enough to become a string */
    size_t val_off = d->text.len;
    if (form_unescape(&d->text, s + vstart, end - vstart, &bad) != 0)
        return form_error(err, errlen, "bad percent-encoding at offset %zu", vstart + bad);
    json_t *value;
    rc = form_string(d->text.data + val_off, d->text.len - val_off, &value);
    d->text.len = val_off;
    if (rc == LV_EPROTO)
        return form_error(err, errlen, "invalid UTF-8 in value at offset %zu", vstart);
    if (rc != 0)
        return rc;
    return form_insert(d, key_off, key_len, value, start, err, errlen);
}

/* Builds the value of level lvl. Recursion is bounded by LV_FORM_MAX_DEPTH, and each level is
 * built at most once (one entry points to it), so the whole build is linear. */
static json_t *form_build(form_decoder *d, size_t lvl)
{
    const form_level *L = &d->levels[lvl];
    bool list = lvl != 0 && d->ents[L->tail].key_len == NIL;
    json_t *out = list ? json_array() : json_object();
    if (out == NULL)
        return NULL;
    for (size_t e = L->head; e != NONE; e = d->ents[e].next) {
        const form_entry *en = &d->ents[e];
        if ((en->key_len == NIL) != list)
            continue;
        json_t *v = en->value ? json_incref(en->value) : form_build(d, en->level);
        if (v == NULL)
            goto Fail;
        /* both *_new calls release v when they fail */
        int rc = list ? json_array_append_new(out, v)
                      : json_object_setn_new_nocheck(out, d->text.data + en->key_off, en->key_len, v);
        if (rc != 0)
            goto Fail;
    }
    return out;
Fail:
    json_decref(out);
    return NULL;
}

int lv_form_decode(const char *s, size_t n, json_t **out, char *err, size_t errlen)
{
    form_decoder d = {.text = LV_BUF_INIT};
    int rc = LV_ENOMEM;
    *out = NULL;
    if (err != NULL && errlen > 0)
        err[0] = '\0';
    if (!lv_buf_reserve(&d.text, n) || !form_grow((void **)&d.levels, &d.levels_cap, 1, sizeof(*d.levels)))
        goto Exit;
    d.levels[d.nlevels++] = (form_level){NONE, NONE};
    for (size_t pos = 0; pos < n;) {
        const char *amp = memchr(s + pos, '&', n - pos);
        size_t end = amp ? (size_t)(amp - s) : n;
        if (end > pos && (rc = form_pair(&d, s, pos, end, err, errlen)) != 0)
            goto Exit;
        pos = end + 1;
    }
    rc = (*out = form_build(&d, 0)) != NULL ? 0 : LV_ENOMEM;
Exit:
    for (size_t i = 0; i < d.nents; i++)
        json_decref(d.ents[i].value);
    free(d.ents);
    free(d.levels);
    json_decref(d.index);
    lv_buf_free(&d.text);
    return rc;
}

/* Phoenix decodes the name as a query and follows the first key of each map (the smallest, in the
 * order Erlang iterates small maps), stepping into a list holding exactly one map. */
int lv_form_target(const char *target, json_t **out)
{
    json_t *tree, *path = NULL;
    *out = NULL;
    int rc = lv_form_decode(target, strlen(target), &tree, NULL, 0);
    if (rc != 0)
        return rc;
    if ((path = json_array()) == NULL)
        goto NoMem;
    for (json_t *node = tree;;) {
        if (json_is_array(node)) {
            if (json_array_size(node) != 1 || !json_is_object(json_array_get(node, 0)))
                break;
            node = json_array_get(node, 0);
            continue;
        }
        if (!json_is_object(node))
            break;
        const char *first = NULL;
        size_t first_len = 0;
        json_t *next = NULL;
        for (void *it = json_object_iter(node); it; it = json_object_iter_next(node, it)) {
            const char *k = json_object_iter_key(it);
            size_t klen = json_object_iter_key_len(it);
            int cmp = first ? memcmp(k, first, klen < first_len ? klen : first_len) : -1;
            if (first == NULL || cmp < 0 || (cmp == 0 && klen < first_len)) {
                first = k;
                first_len = klen;
                next = json_object_iter_value(it);
            }
        }
        if (first == NULL)
            break;
        if (json_array_append_new(path, json_stringn_nocheck(first, first_len)) != 0)
            goto NoMem;
        node = next;
    }
    json_decref(tree);
    *out = path;
    return 0;
NoMem:
    json_decref(tree);
    json_decref(path);
    return LV_ENOMEM;
}

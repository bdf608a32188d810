/* libFuzzer target for liveview/form.c: results are trees of strings no deeper than the limit, errors
 * name an offset inside the input, empty pairs change nothing, bracket-free forms decode as a naive
 * reference says, and "_target" paths are arrays of strings. */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "liveview/error.h"
#include "liveview/form.h"

#include "tests/fuzz/fuzz_check.h"

/* Depth of containers; leaves must be strings. */
static size_t check_tree(const json_t *j)
{
    size_t d = 0;
    if (json_is_array(j)) {
        for (size_t i = 0; i < json_array_size(j); i++) {
            size_t c = check_tree(json_array_get(j, i));
            d = c > d ? c : d;
        }
        return d + 1;
    }
    if (json_is_object(j)) {
        for (void *it = json_object_iter((json_t *)j); it; it = json_object_iter_next((json_t *)j, it)) {
            size_t c = check_tree(json_object_iter_value(it));
            d = c > d ? c : d;
        }
        return d + 1;
    }
    CHECK(json_is_string(j));
    return 0;
}

static int hexv(uint8_t c)
{
    return c >= '0' && c <= '9'   ? c - '0'
           : c >= 'a' && c <= 'f' ? c - 'a' + 10
           : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                  : -1;
}

/* Decodes s[0..n) into out (which has room); false on a bad escape. */
static bool ref_unescape(const uint8_t *s, size_t n, char *out, size_t *outn)
{
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '+') {
            out[o++] = ' ';
        } else if (s[i] == '%') {
            if (i + 2 >= n)
                return false;
            int hi = hexv(s[i + 1]), lo = hexv(s[i + 2]);
            if (hi < 0 || lo < 0)
                return false;
            out[o++] = (char)(hi * 16 + lo);
            i += 2;
        } else {
            out[o++] = (char)s[i];
        }
    }
    *outn = o;
    return true;
}

/* The flat case, by the definition: pairs on '&', key and value on the first '=', last key wins.
 * Returns 1 with *out, 0 when the input is an error, -1 when some key has a '[' (not judged). */
static int reference_flat(const uint8_t *s, size_t n, json_t **out)
{
    char *buf = malloc(n + 1);
    json_t *obj = json_object();
    int verdict = 1;
    for (size_t pos = 0; pos < n && verdict == 1;) {
        const uint8_t *amp = memchr(s + pos, '&', n - pos);
        size_t end = amp ? (size_t)(amp - s) : n;
        if (end > pos) {
            const uint8_t *eq = memchr(s + pos, '=', end - pos);
            size_t kend = eq ? (size_t)(eq - s) : end, vstart = eq ? kend + 1 : end;
            size_t kn, vn;
            if (!ref_unescape(s + pos, kend - pos, buf, &kn)) {
                verdict = 0;
                break;
            }
            if (memchr(buf, '[', kn)) {
                verdict = -1;
                break;
            }
            if (memchr(buf, '\0', kn)) {
                verdict = 0;
                break;
            }
            json_t *k = json_stringn(buf, kn);
            if (k == NULL) {
                verdict = 0;
                break;
            }
            char *key = strndup(buf, kn);
            size_t keylen = kn;
            json_decref(k);
            if (!ref_unescape(s + vstart, end - vstart, buf, &vn)) {
                verdict = 0;
            } else {
                json_t *v = json_stringn(buf, vn);
                if (v == NULL)
                    verdict = 0;
                else
                    json_object_setn_new(obj, key, keylen, v);
            }
            free(key);
        }
        pos = end + 1;
    }
    free(buf);
    if (verdict == 1)
        *out = obj;
    else
        json_decref(obj);
    return verdict;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    json_t *out = (json_t *)&out;
    char err[128];
    int rc = lv_form_decode((const char *)data, size, &out, err, sizeof(err));
    CHECK(rc == 0 || rc == LV_EPROTO || rc == LV_ENOMEM);
    if (rc == 0) {
        CHECK(json_is_object(out));
        CHECK(check_tree(out) <= LV_FORM_MAX_DEPTH);
    } else {
        CHECK(out == NULL);
    }
    if (rc == LV_EPROTO) {
        const char *at = strstr(err, "at offset ");
        CHECK(at != NULL);
        CHECK(strtoull(at + 10, NULL, 10) < size);
    }

    /* empty pairs around the input change nothing */
    char *padded = malloc(size + 2);
    padded[0] = '&';
    if (size)
        memcpy(padded + 1, data, size);
    padded[size + 1] = '&';
    json_t *out2 = NULL;
    int rc2 = lv_form_decode(padded, size + 2, &out2, NULL, 0);
    CHECK(rc2 == rc || rc2 == LV_ENOMEM || rc == LV_ENOMEM);
    if (rc == 0 && rc2 == 0)
        CHECK(json_equal(out, out2));
    json_decref(out2);
    free(padded);

    /* no brackets: compare with the reference */
    json_t *want = NULL;
    int verdict = reference_flat(data, size, &want);
    if (verdict == 1) {
        CHECK(rc == 0 || rc == LV_ENOMEM);
        if (rc == 0)
            CHECK(json_equal(out, want));
        json_decref(want);
    } else if (verdict == 0) {
        CHECK(rc != 0);
    }
    if (rc == 0)
        json_decref(out);

    /* the same bytes as a "_target" name (up to the first NUL) */
    char *target = strndup((const char *)data, size);
    json_t *path = NULL;
    int trc = lv_form_target(target, &path);
    CHECK(trc == 0 || trc == LV_EPROTO || trc == LV_ENOMEM);
    if (trc == 0) {
        CHECK(json_is_array(path) && json_array_size(path) <= LV_FORM_MAX_DEPTH);
        for (size_t i = 0; i < json_array_size(path); i++)
            CHECK(json_is_string(json_array_get(path, i)));
        json_decref(path);
    } else {
        CHECK(path == NULL);
    }
    free(target);
    return 0;
}

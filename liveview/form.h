/* Decoding of form events' application/x-www-form-urlencoded payloads into jansson values, with the
 * same results as Phoenix (Plug.Conn.Query.decode), and of the "_target" field name into its path. */
#ifndef LV_FORM_H
#define LV_FORM_H

#include <stddef.h>

#include <jansson.h>

/* Most key segments in one field name: "a[b][c]" has 3. Plug has no limit; ours keeps the
 * recursion that builds the result (and anything walking it later) shallow. */
#define LV_FORM_MAX_DEPTH 32

/* Decodes s[0..n) into a new object (*out, owned by the caller) of strings, objects and arrays:
 * pairs split on '&', key and value on the first '=' (a missing value is ""); '+' is a space and
 * %XX a byte; "a[b][c]=v" nests objects, "a[]=1&a[]=2" makes ["1","2"]; when a key repeats, the
 * later pair wins. Values may contain NUL (%00; use json_string_length), keys may not, unlike Plug:
 * C code reaches keys as C strings. Returns 0, LV_EPROTO with a reason in err (bad percent-encoding,
 * invalid UTF-8 after decoding, a NUL in a key, nesting past LV_FORM_MAX_DEPTH: each with the byte
 * offset in s), or LV_ENOMEM.
 * *out is NULL on failure. */
int lv_form_decode(const char *s, size_t n, json_t **out, char *err, size_t errlen);

/* Turns a "_target" field name into its path: "user[name]" gives ["user","name"], "tags[]" gives
 * ["tags"], "" gives []. The name is decoded as a query first, as Phoenix does ('+', %XX).
 * Returns 0 with a new array in *out, LV_EPROTO or LV_ENOMEM (and *out NULL). */
int lv_form_target(const char *target, json_t **out);

#endif

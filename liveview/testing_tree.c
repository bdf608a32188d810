/* The client's half of the rendered-tree protocol, for headless tests: merging a diff into the
 * tree the client holds and turning that tree into HTML, as the LiveView JS client does
 * (PROTOCOL.md section 4, "Client merge"). */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "liveview/testing_tree.h"

static void merge(json_t *target, json_t *diff);

/* "k" merge: entries are full/partial dynamics, an old index (moved), or [oldIndex, partial]. */
static json_t *merge_keyed(json_t *old, json_t *diff)
{
    json_t *out = json_object();
    json_int_t kc = json_integer_value(json_object_get(diff, "kc"));
    for (json_int_t i = 0; i < kc; i++) {
        char idx[24];
        snprintf(idx, sizeof(idx), "%lld", (long long)i);
        json_t *entry = json_object_get(diff, idx);
        json_t *item = NULL;
        if (entry == NULL) {
            json_t *prev = old ? json_object_get(old, idx) : NULL;
            item = prev ? json_deep_copy(prev) : json_object();
        } else if (json_is_integer(entry)) {
            char from[24];
            snprintf(from, sizeof(from), "%lld", (long long)json_integer_value(entry));
            json_t *prev = old ? json_object_get(old, from) : NULL;
            item = prev ? json_deep_copy(prev) : json_object();
        } else if (json_is_array(entry)) {
            char from[24];
            snprintf(from, sizeof(from), "%lld", (long long)json_integer_value(json_array_get(entry, 0)));
            json_t *prev = old ? json_object_get(old, from) : NULL;
            item = prev ? json_deep_copy(prev) : json_object();
            merge(item, json_array_get(entry, 1));
        } else {
            json_t *prev = old ? json_object_get(old, idx) : NULL;
            item = prev ? json_deep_copy(prev) : json_object();
            merge(item, entry);
        }
        json_object_set_new(out, idx, item);
    }
    json_object_set_new(out, "kc", json_integer(kc));
    return out;
}

static void merge(json_t *target, json_t *diff)
{
    const char *key;
    json_t *val;
    json_object_foreach(diff, key, val)
    {
        json_t *cur = json_object_get(target, key);
        if (strcmp(key, "k") == 0) {
            json_object_set_new(target, "k", merge_keyed(cur, val));
        } else if (json_is_object(val) && json_is_object(cur) && json_object_get(val, "s") == NULL) {
            merge(cur, val);
        } else {
            json_object_set(target, key, val);
        }
    }
}

void lv_tt_apply(json_t **tree, json_t *diff)
{
    json_t *d = json_deep_copy(diff);
    json_object_del(d, "r");
    json_object_del(d, "e");
    json_object_del(d, "t");
    json_t *comps = json_incref(json_object_get(d, "c"));
    json_object_del(d, "c");
    if (*tree == NULL || json_object_get(d, "s") != NULL) {
        json_decref(*tree);
        *tree = d;
        if (comps)
            json_object_set(*tree, "c", comps);
    } else {
        merge(*tree, d);
        json_decref(d);
        if (comps) {
            json_t *have = json_object_get(*tree, "c");
            if (have == NULL)
                json_object_set(*tree, "c", comps);
            else {
                const char *cid;
                json_t *c;
                json_object_foreach(comps, cid, c)
                {
                    json_t *old = json_object_get(have, cid);
                    if (old && json_object_get(c, "s") == NULL)
                        merge(old, c);
                    else
                        json_object_set(have, cid, c);
                }
            }
        }
    }
    json_decref(comps);
}

static json_t *resolve_statics(json_t *node, json_t *templates)
{
    json_t *s = json_object_get(node, "s");
    if (json_is_integer(s) && templates) {
        char idx[24];
        snprintf(idx, sizeof(idx), "%lld", (long long)json_integer_value(s));
        return json_object_get(templates, idx);
    }
    return s;
}

static void to_html(json_t *root, json_t *node, json_t *templates, lv_buf *out);

static void value_html(json_t *root, json_t *v, json_t *templates, lv_buf *out)
{
    if (json_is_string(v)) {
        lv_buf_puts(out, json_string_value(v));
    } else if (json_is_integer(v)) { /* a component */
        char cid[24];
        snprintf(cid, sizeof(cid), "%lld", (long long)json_integer_value(v));
        json_t *comp = json_object_get(json_object_get(root, "c"), cid);
        if (comp)
            to_html(root, comp, templates, out);
    } else if (json_is_object(v)) {
        to_html(root, v, templates, out);
    }
}

static void fill(json_t *root, json_t *statics, json_t *dyn, json_t *templates, lv_buf *out)
{
    size_t n = json_array_size(statics);
    for (size_t i = 0; i < n; i++) {
        lv_buf_puts(out, json_string_value(json_array_get(statics, i)));
        if (i + 1 < n) {
            char idx[24];
            snprintf(idx, sizeof(idx), "%zu", i);
            value_html(root, json_object_get(dyn, idx), templates, out);
        }
    }
}

static void to_html(json_t *root, json_t *node, json_t *templates, lv_buf *out)
{
    json_t *p = json_object_get(node, "p");
    if (p)
        templates = p;
    json_t *statics = resolve_statics(node, templates);
    json_t *k = json_object_get(node, "k");
    if (k != NULL) {
        json_int_t kc = json_integer_value(json_object_get(k, "kc"));
        for (json_int_t i = 0; i < kc; i++) {
            char idx[24];
            snprintf(idx, sizeof(idx), "%lld", (long long)i);
            fill(root, statics, json_object_get(k, idx), templates, out);
        }
        return;
    }
    fill(root, statics, node, templates, out);
}

void lv_tt_html(json_t *tree, lv_buf *out)
{
    if (tree)
        to_html(tree, tree, NULL, out);
}

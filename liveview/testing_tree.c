/* The client's half of the rendered-tree protocol, for headless tests: merging a diff into the
 * tree the client holds and turning that tree into HTML, as the LiveView JS client does
 * (PROTOCOL.md section 4, "Client merge"). Shared statics are resolved while merging: integer
 * "s" against the diff's "p" templates, and a component's integer "s" by cloning the tree of the
 * cid it names (positive: in this diff, negative: cached), so the tree only holds arrays. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "liveview/render.h"
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

static void resolve(json_t *node, json_t *templates, bool skip_self);

static void resolve_children(json_t *obj, json_t *templates)
{
    const char *key;
    json_t *val;
    json_object_foreach(obj, key, val)
    {
        if (json_is_object(val) && strcmp(key, "k") != 0)
            resolve(val, templates, false);
    }
}

/* Replaces integer statics below node (and node's own unless skip_self) by the nearest "p"'s
 * arrays, dropping the "p"s. A comprehension's own statics and entries read the outer "p"
 * first, as the official client does. */
static void resolve(json_t *node, json_t *templates, bool skip_self)
{
    json_t *k = json_object_get(node, "k");
    json_t *p = json_incref(json_object_get(node, "p"));
    if (p) {
        templates = k && templates ? templates : p;
        json_object_del(node, "p");
    }
    json_t *s = json_object_get(node, "s");
    if (!skip_self && json_is_integer(s)) {
        char idx[24];
        snprintf(idx, sizeof(idx), "%lld", (long long)json_integer_value(s));
        json_t *statics = templates ? json_object_get(templates, idx) : NULL;
        if (statics) /* a dangling index stays an integer: the HTML then shows nothing for it */
            json_object_set(node, "s", statics);
    }
    if (k) {
        const char *key;
        json_t *e;
        json_object_foreach(k, key, e)
        {
            json_t *entry = json_is_array(e) ? json_array_get(e, 1) : e;
            if (json_is_object(entry))
                resolve_children(entry, templates);
        }
    } else {
        resolve_children(node, templates);
    }
    json_decref(p);
}

/* The tree component `cid` of this diff's "c" stands for, memoized in done. */
static json_t *find_component(const char *cid, json_t *newc, json_t *oldc, json_t *done, int depth)
{
    json_t *have = json_object_get(done, cid);
    if (have)
        return have;
    json_t *cd = json_object_get(newc, cid);
    if (cd == NULL || depth > 64)
        return NULL;
    json_t *s = json_object_get(cd, "s");
    json_t *node;
    resolve(cd, NULL, json_is_integer(s));
    if (json_is_integer(s)) {
        json_int_t from = json_integer_value(s);
        char ref[24];
        snprintf(ref, sizeof(ref), "%lld", (long long)(from > 0 ? from : -from));
        json_t *base = from > 0 ? find_component(ref, newc, oldc, done, depth + 1) : json_object_get(oldc, ref);
        if (base == NULL)
            return NULL;
        node = json_deep_copy(base); /* its statics, and everything the diff does not replace */
        json_t *d = json_deep_copy(cd);
        json_object_del(d, "s");
        merge(node, d);
        json_decref(d);
    } else if (s != NULL || json_object_get(oldc, cid) == NULL) {
        node = json_incref(cd);
    } else {
        node = json_deep_copy(json_object_get(oldc, cid));
        merge(node, cd);
    }
    json_object_set_new(done, cid, node);
    return node;
}

void lv_tt_apply(json_t **tree, json_t *diff)
{
    json_t *d = json_deep_copy(diff);
    json_object_del(d, "r");
    json_object_del(d, "e");
    json_object_del(d, "t");
    json_t *comps = json_incref(json_object_get(d, "c"));
    json_object_del(d, "c");
    resolve(d, NULL, false);
    if (*tree == NULL || json_object_get(d, "s") != NULL) { /* a new tree: the cache restarts */
        json_decref(*tree);
        *tree = d;
        json_object_set_new(*tree, "c", json_object());
    } else {
        merge(*tree, d);
        json_decref(d);
    }
    json_t *oldc = json_object_get(*tree, "c");
    if (comps) {
        json_t *done = json_object();
        const char *cid;
        json_t *c;
        json_object_foreach(comps, cid, c) find_component(cid, comps, oldc, done, 0);
        json_object_update(oldc, done); /* after every lookup: negative references read the old cache */
        json_decref(done);
    }
    json_decref(comps);
}

static void to_html(json_t *root, json_t *node, const char *view_id, lv_buf *out);

static void value_html(json_t *root, json_t *v, const char *view_id, lv_buf *out)
{
    if (json_is_string(v)) {
        lv_buf_puts(out, json_string_value(v));
    } else if (json_is_integer(v)) { /* a component, its root element tagged as the client does */
        char cid[24];
        snprintf(cid, sizeof(cid), "%lld", (long long)json_integer_value(v));
        json_t *comp = json_object_get(json_object_get(root, "c"), cid);
        if (comp) {
            size_t start = out->len;
            to_html(root, comp, view_id, out);
            if (view_id)
                lv_rendered_tag_component(out, start, json_integer_value(v), view_id);
        }
    } else if (json_is_object(v)) {
        to_html(root, v, view_id, out);
    }
}

static void fill(json_t *root, json_t *statics, json_t *dyn, const char *view_id, lv_buf *out)
{
    size_t n = json_array_size(statics);
    for (size_t i = 0; i < n; i++) {
        lv_buf_puts(out, json_string_value(json_array_get(statics, i)));
        if (i + 1 < n) {
            char idx[24];
            snprintf(idx, sizeof(idx), "%zu", i);
            value_html(root, json_object_get(dyn, idx), view_id, out);
        }
    }
}

static void to_html(json_t *root, json_t *node, const char *view_id, lv_buf *out)
{
    json_t *statics = json_object_get(node, "s");
    json_t *k = json_object_get(node, "k");
    if (k != NULL) {
        json_int_t kc = json_integer_value(json_object_get(k, "kc"));
        for (json_int_t i = 0; i < kc; i++) {
            char idx[24];
            snprintf(idx, sizeof(idx), "%lld", (long long)i);
            fill(root, statics, json_object_get(k, idx), view_id, out);
        }
        return;
    }
    fill(root, statics, node, view_id, out);
}

void lv_tt_html(json_t *tree, const char *view_id, lv_buf *out)
{
    if (tree)
        to_html(tree, tree, view_id, out);
}

void lv_tt_component_html(json_t *tree, int64_t cid, const char *view_id, lv_buf *out)
{
    json_t *c = json_integer(cid);
    if (tree && c)
        value_html(tree, c, view_id, out);
    json_decref(c);
}

/* Adds to seen (an object by cid) every component reachable from v, through components too. */
static void collect(json_t *root, json_t *v, json_t *seen)
{
    if (json_is_integer(v)) {
        char cid[24];
        snprintf(cid, sizeof(cid), "%lld", (long long)json_integer_value(v));
        json_t *comp = json_object_get(json_object_get(root, "c"), cid);
        if (comp && json_object_get(seen, cid) == NULL) {
            json_object_set(seen, cid, v);
            collect(root, comp, seen);
        }
    } else if (json_is_object(v)) {
        json_t *k = json_object_get(v, "k");
        const char *key;
        json_t *val;
        json_object_foreach(k ? k : v, key, val)
        {
            if (key[0] >= '0' && key[0] <= '9')
                collect(root, val, seen);
        }
    }
}

size_t lv_tt_components(json_t *tree, int64_t *cids, size_t cap)
{
    json_t *seen = json_object();
    size_t n = 0;
    if (tree)
        collect(tree, tree, seen); /* only numbered keys are followed: not the cache under "c" */
    const char *key;
    json_t *v;
    json_object_foreach(seen, key, v)
    {
        if (cids && n < cap)
            cids[n] = json_integer_value(v);
        n++;
    }
    json_decref(seen);
    return n;
}

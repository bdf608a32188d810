/* The contract between lvtc's generated code and the rendering runtime.
 * A compiled template is an lv_template: a render function that walks the template in order,
 * opening nodes (a static skeleton with numbered dynamic slots) and filling slots. The runtime
 * keeps, per view instance, the rendered tree the client holds (lv_rendered) and turns each
 * render into either the full Phoenix LiveView rendered tree, a minimal diff, or HTML.
 * View authors never call the lv_r_* functions; lvtc emits them. */
#ifndef LV_RENDER_H
#define LV_RENDER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "liveview/buf.h"

/* One static skeleton: nstatics strings around nstatics-1 dynamic slots (s0 d0 s1 ... sN). */
typedef struct lv_tmpl {
    const char *const *statics;
    uint32_t nstatics;
} lv_tmpl;
#define LV_TMPL(statics_array)                                                                               \
    {                                                                                                        \
        (statics_array), (uint32_t)(sizeof(statics_array) / sizeof((statics_array)[0]))                      \
    }

/* A field of the view's state struct that some dynamic reads: bit i of a dependency mask is
 * fields[i]. Templates reading more than 63 fields put every further field on bit 63. */
typedef struct lv_field {
    uint32_t offset;
    uint32_t size;
} lv_field;
#define LV_FIELD(type, member)                                                                               \
    {                                                                                                        \
        (uint32_t) offsetof(type, member), (uint32_t)sizeof(((type *)0)->member)                             \
    }

typedef struct lv_r lv_r; /* one render pass, owned by the runtime */

/* A compiled .lv.html file. */
typedef struct lv_template {
    const char *file;
    const lv_field *fields;
    uint32_t nfields;
    void (*render)(lv_r *r, const void *state);
} lv_template;

/* ---- called by generated code, in template order ---- */

/* Opens a node with the given statics: at top level (the root), or as the value of the current
 * slot. Must be balanced by lv_r_close. */
void lv_r_open(lv_r *r, const lv_tmpl *t);
void lv_r_close(lv_r *r);

/* Advances to the next slot of the open node. Returns false when none of the fields in
 * `deps` changed since the last render: the slot keeps its value and generated code skips
 * evaluating it. Inside a comprehension item it always returns true. */
bool lv_r_slot(lv_r *r, uint64_t deps);

/* Slot values. Text is HTML-escaped; lv_r_raw is inserted as is. */
void lv_r_str(lv_r *r, const char *s);
void lv_r_strn(lv_r *r, const char *s, size_t n);
void lv_r_raw(lv_r *r, const char *s);
void lv_r_i64(lv_r *r, int64_t v);
void lv_r_u64(lv_r *r, uint64_t v);
void lv_r_f64(lv_r *r, double v); /* shortest form that round-trips, "%.17g"-trimmed */
void lv_r_bool(lv_r *r, bool v);  /* "true" / "false" */

/* Formats by static type: integers, floating point, strings (char arrays decay), _Bool. */
#define lv_r_put(r, x)                                                                                       \
    _Generic((x),                                                                                  \
        _Bool: lv_r_bool,                                                                          \
        char: lv_r_i64,                                                                            \
        signed char: lv_r_i64,                                                                     \
        short: lv_r_i64,                                                                           \
        int: lv_r_i64,                                                                             \
        long: lv_r_i64,                                                                            \
        long long: lv_r_i64,                                                                       \
        unsigned char: lv_r_u64,                                                                   \
        unsigned short: lv_r_u64,                                                                  \
        unsigned int: lv_r_u64,                                                                    \
        unsigned long: lv_r_u64,                                                                   \
        unsigned long long: lv_r_u64,                                                              \
        float: lv_r_f64,                                                                           \
        double: lv_r_f64,                                                                          \
        char *: lv_r_str,                                                                          \
        const char *: lv_r_str)((r), (x))

/* Comprehensions: every item shares the statics `t`. Between lv_r_for_begin and lv_r_for_end,
 * each item starts with lv_r_item_key (keyed) or lv_r_item (keyed by index), then fills t's
 * slots. Unchanged items are not sent; moved items are sent as moves (LiveView 1.1+ "k"). */
void lv_r_for_begin(lv_r *r, const lv_tmpl *t);
void lv_r_item(lv_r *r);
void lv_r_item_key_i64(lv_r *r, int64_t key);
void lv_r_item_key_str(lv_r *r, const char *key);
#define lv_r_item_key(r, k)                                                                                  \
    _Generic((k), char *: lv_r_item_key_str, const char *: lv_r_item_key_str, default: lv_r_item_key_i64)((r), (k))
void lv_r_for_end(lv_r *r);
/* Right after lv_r_item_key for an element of an array held in the state: true when the
 * element's bytes equal the last render's snapshot and none of `other_deps` (the fields the item
 * reads besides the array) changed. The item then keeps what the client has, and generated code
 * skips its body: a 1,000-row table with one edited row renders one row. */
bool lv_r_item_unchanged(lv_r *r, const void *elem, size_t size, uint64_t other_deps);

/* ---- called by the runtime ---- */

/* The rendered tree a client holds for one view instance, plus the state snapshot that change
 * tracking compares against. */
typedef struct lv_rendered lv_rendered;

lv_rendered *lv_rendered_new(const lv_template *t, size_t state_size);
void lv_rendered_free(lv_rendered *rd);
/* Declares a change the snapshot comparison cannot see (data behind a pointer). */
void lv_rendered_touch(lv_rendered *rd, size_t offset, size_t size);
/* Forgets what the client holds: the next lv_rendered_full sends every static again. */
void lv_rendered_reset(lv_rendered *rd);
/* Renders everything and appends the full rendered tree as a JSON object (join reply). */
int lv_rendered_full(lv_rendered *rd, const void *state, lv_buf *json);
/* Renders what changed and appends the diff JSON object; appends nothing when nothing changed.
 * Returns 0 or a negative LV_E* code. */
int lv_rendered_diff(lv_rendered *rd, const void *state, lv_buf *json);
/* Appends the HTML of the tree as last rendered. */
int lv_rendered_html(const lv_rendered *rd, lv_buf *html);

#endif

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

/* Formats by static type: integers (enums included), floating point, strings (char arrays
 * decay; NULL is ""), _Bool ("true" / "false"). */
#define lv_r_put(r, x)                                                                                       \
    _Generic((x),                                                                                            \
        _Bool: lv_r_bool,                                                                                    \
        char: lv_r_i64,                                                                                      \
        signed char: lv_r_i64,                                                                               \
        short: lv_r_i64,                                                                                     \
        int: lv_r_i64,                                                                                       \
        long: lv_r_i64,                                                                                      \
        long long: lv_r_i64,                                                                                 \
        unsigned char: lv_r_u64,                                                                             \
        unsigned short: lv_r_u64,                                                                            \
        unsigned int: lv_r_u64,                                                                              \
        unsigned long: lv_r_u64,                                                                             \
        unsigned long long: lv_r_u64,                                                                        \
        float: lv_r_f64,                                                                                     \
        double: lv_r_f64,                                                                                    \
        char *: lv_r_str,                                                                                    \
        const char *: lv_r_str)((r), (x))

/* A whole attribute given as name={expr}: the slot holds ` name="escaped value"`, so that, as in
 * HEEx, a false _Bool or a NULL string leaves the attribute out and a true _Bool writes the bare
 * name (checked, disabled, hidden...). `name` is the attribute name with its leading space. */
void lv_r_attr_str(lv_r *r, const char *name, const char *v);
void lv_r_attr_i64(lv_r *r, const char *name, int64_t v);
void lv_r_attr_u64(lv_r *r, const char *name, uint64_t v);
void lv_r_attr_f64(lv_r *r, const char *name, double v);
void lv_r_attr_bool(lv_r *r, const char *name, bool v);
#define lv_r_attr(r, name, x)                                                                                \
    _Generic((x),                                                                                            \
        _Bool: lv_r_attr_bool,                                                                               \
        char: lv_r_attr_i64,                                                                                 \
        signed char: lv_r_attr_i64,                                                                          \
        short: lv_r_attr_i64,                                                                                \
        int: lv_r_attr_i64,                                                                                  \
        long: lv_r_attr_i64,                                                                                 \
        long long: lv_r_attr_i64,                                                                            \
        unsigned char: lv_r_attr_u64,                                                                        \
        unsigned short: lv_r_attr_u64,                                                                       \
        unsigned int: lv_r_attr_u64,                                                                         \
        unsigned long: lv_r_attr_u64,                                                                        \
        unsigned long long: lv_r_attr_u64,                                                                   \
        float: lv_r_attr_f64,                                                                                \
        double: lv_r_attr_f64,                                                                               \
        char *: lv_r_attr_str,                                                                               \
        const char *: lv_r_attr_str)((r), (name), (x))

/* The page title (the template's top-level <title>): plain text, sent as "t" whenever it
 * changes. Between lv_r_title_begin and lv_r_title_end, lv_r_put and lv_r_title_text append
 * to the title instead of filling slots. lv_r_title_begin returns false when none of `deps`
 * changed: the title stays and generated code skips it. */
bool lv_r_title_begin(lv_r *r, uint64_t deps);
void lv_r_title_text(lv_r *r, const char *text);
void lv_r_title_end(lv_r *r);

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
 * element's bytes equal the bytes the item was rendered from last time and none of `other_deps`
 * (the fields the item reads besides the array) changed. The item then keeps what the client
 * has, and generated code skips its body: a 1,000-row table with one edited row renders one row.
 * (Data behind pointers in the element is not compared: declare such changes with
 * lv_rendered_touch, which turns this off for one render.) */
bool lv_r_item_unchanged(lv_r *r, const void *elem, size_t size, uint64_t other_deps);
/* lv_r_item_key / lv_r_item and lv_r_item_unchanged in one call, the form lvtc emits: the
 * common case (an unchanged element where the client has it) opens no item at all. */
bool lv_r_item_keep(lv_r *r, const void *elem, size_t size, uint64_t other_deps);
bool lv_r_item_keep_i64(lv_r *r, int64_t key, const void *elem, size_t size, uint64_t other_deps);
bool lv_r_item_keep_str(lv_r *r, const char *key, const void *elem, size_t size, uint64_t other_deps);
#define lv_r_item_key_keep(r, k, elem, size, other_deps)                                                     \
    _Generic((k), char *: lv_r_item_keep_str, const char *: lv_r_item_keep_str, default: lv_r_item_keep_i64)( \
        (r), (k), (elem), (size), (other_deps))

/* Stateful components: the component renders its own template (t) over its own state (a
 * struct the view keeps, usually inside its own state), and its node travels under the diff's
 * "c" by cid; the slot holds the cid. A component is identified by (t, id): the same pair keeps
 * its cid across renders. Its slots are compared with its own snapshot, so a change in its
 * state re-renders it even when the view's slot holding it is not evaluated. `state` must stay
 * valid while the component is shown. */
void lv_r_live_i64(lv_r *r, const lv_template *t, const void *state, size_t size, int64_t id);
void lv_r_live_str(lv_r *r, const lv_template *t, const void *state, size_t size, const char *id);
#define lv_r_live(r, t, state, size, id)                                                                     \
    _Generic((id), char *: lv_r_live_str, const char *: lv_r_live_str, default: lv_r_live_i64)(               \
        (r), (t), (state), (size), (id))
/* The cid of the component being rendered (@myself in its template, for phx-target), or 0. */
int64_t lv_r_myself(const lv_r *r);

/* ---- called by the runtime ---- */

/* The rendered tree a client holds for one view instance, plus the state snapshot that change
 * tracking compares against. */
typedef struct lv_rendered lv_rendered;

lv_rendered *lv_rendered_new(const lv_template *t, size_t state_size);
void lv_rendered_free(lv_rendered *rd);
/* The same in `size` bytes the caller owns (a view's own block), aligned for a pointer: at least
 * lv_rendered_size; with lv_rendered_size_with_root bytes, the root node goes there too when it
 * fits (the size comes from the root the last tree of t had, 0 slots before any). lv_rendered_dispose
 * frees what the tree holds, never the memory itself. */
size_t lv_rendered_size(size_t state_size);
size_t lv_rendered_size_with_root(const lv_template *t, size_t state_size);
lv_rendered *lv_rendered_init(void *mem, size_t size, const lv_template *t, size_t state_size);
/* Whether the root node is in the tree's own memory (rather than a node of its own): for tests. */
bool lv_rendered_root_in_room(const lv_rendered *rd);
void lv_rendered_dispose(lv_rendered *rd);
/* Declares a change the snapshot comparison cannot see (data behind a pointer). */
void lv_rendered_touch(lv_rendered *rd, size_t offset, size_t size);
/* Declares a change outside the state (the view's flash): the next render evaluates every slot
 * of the view's template, even those reading no field, and still sends only what differs from
 * what the client holds. */
void lv_rendered_touch_all(lv_rendered *rd);
/* Forgets what the client holds: the next lv_rendered_full sends every static again. */
void lv_rendered_reset(lv_rendered *rd);
/* Renders everything and appends the full rendered tree as a JSON object (join reply). */
int lv_rendered_full(lv_rendered *rd, const void *state, lv_buf *json);
/* Renders what changed and appends the diff JSON object; appends nothing when nothing changed.
 * Returns 0 or a negative LV_E* code. */
int lv_rendered_diff(lv_rendered *rd, const void *state, lv_buf *json);
/* Appends the HTML of the tree as last rendered, as the client builds it from the tree: the root
 * element of each stateful component carries the attributes the client adds (data-phx-id,
 * data-phx-component, data-phx-view), naming the container `view_id` (NULL: none added). */
int lv_rendered_html(const lv_rendered *rd, const char *view_id, lv_buf *html);
/* Inserts those attributes for component `cid` after the tag name of the first element at or
 * after `start` in html. LV_EINVAL when no element starts there. */
int lv_rendered_tag_component(lv_buf *html, size_t start, int64_t cid, const char *view_id);
/* The page title as last rendered (plain text, not HTML-escaped), or NULL when the template
 * has no <title>. Valid until the next render. */
const char *lv_rendered_title(const lv_rendered *rd);
/* An explicit title (lv_page_title) for the next render: it wins over what the template's
 * <title> renders in that render, and travels as the one "t" of its tree or diff (none when
 * the client already shows it). Later renders send the template's title again when its inputs
 * change. Returns 0 or LV_ENOMEM. */
int lv_rendered_set_title(lv_rendered *rd, const char *title);

/* Stateful components, for routing events that carry a "cid": the template and state pointer
 * component `cid` was last rendered with. LV_ENOTFOUND when there is no such component. */
int lv_rendered_component(const lv_rendered *rd, int64_t cid, const lv_template **tmpl, const void **state);
/* Declares a change of component `cid`'s state that its snapshot cannot see (behind pointers). */
void lv_rendered_touch_component(lv_rendered *rd, int64_t cid);
/* The client removed these components from its page ("cids_destroyed"): frees those that no
 * slot shows any more, writes their cids to `out` (room for n, or NULL) and returns how many.
 * Components still shown (rendered again meanwhile) stay. */
size_t lv_rendered_cids_destroyed(lv_rendered *rd, const int64_t *cids, size_t n, int64_t *out);

#endif

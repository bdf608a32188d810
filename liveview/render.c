/* The rendered tree a client holds for one view instance, and the render pass that updates it.
 * A render walks the compiled template; slots whose inputs did not change are skipped, values
 * equal to what the client has are not marked, and the diff is then written by walking only the
 * marked paths: changed leaves as strings, new nodes with their statics, comprehensions as
 * LiveView 1.1+ keyed entries ("k", "kc", "km"). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "liveview/error.h"
#include "liveview/render.h"

enum { S_EMPTY, S_STR, S_NODE, S_COMP };

typedef struct rnode rnode;
typedef struct rcomp rcomp;

typedef struct rslot {
    uint8_t kind;
    bool changed; /* differs from what the client holds */
    bool fresh;   /* a node or comprehension the client does not have: send it whole */
    uint32_t len;
    union {
        char *str;
        rnode *node;
        rcomp *comp;
    };
} rslot;

struct rnode {
    const lv_tmpl *t;
    bool dirty; /* some slot below changed */
    uint32_t nslots;
    rslot slots[];
};

typedef struct ritem {
    char *key;
    uint32_t old_index; /* position the client has it at; UINT32_MAX when new */
    bool dirty;
    rslot *slots;
} ritem;

struct rcomp {
    const lv_tmpl *t;
    uint32_t n;
    ritem *items;
    bool sent_count_changed;
};

typedef struct frame {
    rslot *slots;
    uint32_t nslots;
    int32_t idx;
    bool force;
    bool *dirty;
    /* comprehension being built */
    rcomp *comp;
    ritem *items;
    uint32_t n, cap;
    bool in_item; /* comprehension frame: an item frame sits above it */
    bool is_item;
} frame;

#define MAX_DEPTH 64

struct lv_r {
    struct lv_rendered *rd;
    const unsigned char *state, *snapshot; /* this render's state, and the last one's copy */
    size_t state_size;
    uint64_t touched; /* changes declared with lv_rendered_touch */
    uint64_t changed;
    bool first;
    int depth;
    bool failed;
    frame frames[MAX_DEPTH];
    char num[64];
};

struct lv_rendered {
    const lv_template *tmpl;
    size_t state_size;
    unsigned char *snapshot;
    bool have_snapshot;
    uint64_t touched;
    rnode *root;
    bool root_fresh;
    lv_buf scratch;
};

/* ---- freeing ---- */

static void free_node(rnode *n);
static void free_comp(rcomp *c);

static void clear_slot(rslot *s)
{
    switch (s->kind) {
    case S_STR: free(s->str); break;
    case S_NODE: free_node(s->node); break;
    case S_COMP: free_comp(s->comp); break;
    default: break;
    }
    s->kind = S_EMPTY;
    s->len = 0;
    s->str = NULL;
}

static void free_slots(rslot *slots, uint32_t n)
{
    for (uint32_t i = 0; i < n; i++)
        clear_slot(&slots[i]);
}

static void free_node(rnode *n)
{
    if (n == NULL)
        return;
    free_slots(n->slots, n->nslots);
    free(n);
}

static void free_item(ritem *it, uint32_t nslots)
{
    free(it->key);
    if (it->slots) {
        free_slots(it->slots, nslots);
        free(it->slots);
    }
}

static void free_comp(rcomp *c)
{
    if (c == NULL)
        return;
    for (uint32_t i = 0; i < c->n; i++)
        free_item(&c->items[i], c->t->nstatics - 1);
    free(c->items);
    free(c);
}

static rnode *new_node(const lv_tmpl *t)
{
    uint32_t n = t->nstatics ? t->nstatics - 1 : 0;
    rnode *node = calloc(1, sizeof(*node) + n * sizeof(rslot));
    if (node) {
        node->t = t;
        node->nslots = n;
    }
    return node;
}

/* ---- the render pass (called by generated code) ---- */

static frame *top(lv_r *r)
{
    return &r->frames[r->depth - 1];
}

static void mark_dirty(lv_r *r)
{
    for (int i = 0; i < r->depth; i++)
        if (r->frames[i].dirty)
            *r->frames[i].dirty = true;
}

static rslot *current_slot(lv_r *r)
{
    if (r->depth == 0) {
        r->failed = true;
        return NULL;
    }
    frame *f = top(r);
    if (f->idx < 0 || (uint32_t)f->idx >= f->nslots) {
        r->failed = true; /* generated code and statics disagree: a compiler bug */
        return NULL;
    }
    return &f->slots[f->idx];
}

static bool push(lv_r *r, frame f)
{
    if (r->depth == MAX_DEPTH) {
        r->failed = true;
        return false;
    }
    r->frames[r->depth++] = f;
    return true;
}

void lv_r_open(lv_r *r, const lv_tmpl *t)
{
    if (r->depth == 0) {
        lv_rendered *rd = r->rd;
        if (rd->root == NULL || rd->root->t != t) {
            free_node(rd->root);
            rd->root = new_node(t);
            rd->root_fresh = true;
        }
        if (rd->root == NULL) {
            r->failed = true;
            return;
        }
        push(r, (frame){.slots = rd->root->slots,
                        .nslots = rd->root->nslots,
                        .idx = -1,
                        .force = r->first || rd->root_fresh,
                        .dirty = &rd->root->dirty});
        return;
    }
    rslot *s = current_slot(r);
    if (s == NULL)
        return;
    bool force = top(r)->force;
    if (s->kind != S_NODE || s->node->t != t) {
        clear_slot(s);
        s->node = new_node(t);
        if (s->node == NULL) {
            r->failed = true;
            return;
        }
        s->kind = S_NODE;
        s->fresh = s->changed = true;
        force = true;
        mark_dirty(r);
    }
    push(r, (frame){.slots = s->node->slots,
                    .nslots = s->node->nslots,
                    .idx = -1,
                    .force = force,
                    .dirty = &s->node->dirty});
}

void lv_r_close(lv_r *r)
{
    if (r->depth > 0)
        r->depth--;
}

bool lv_r_slot(lv_r *r, uint64_t deps)
{
    if (r->depth == 0) {
        r->failed = true;
        return false;
    }
    frame *f = top(r);
    f->idx++;
    return f->force || (deps & r->changed) != 0;
}

/* Puts a value in the current slot, marking it only when it differs from the client's copy. */
static void set_value(lv_r *r, const char *s, size_t n)
{
    rslot *slot = current_slot(r);
    if (slot == NULL)
        return;
    if (slot->kind == S_STR && slot->len == n && memcmp(slot->str, s, n) == 0)
        return;
    char *copy = malloc(n + 1);
    if (copy == NULL) {
        r->failed = true;
        return;
    }
    memcpy(copy, s, n);
    copy[n] = '\0';
    clear_slot(slot);
    slot->kind = S_STR;
    slot->str = copy;
    slot->len = (uint32_t)n;
    slot->changed = true;
    mark_dirty(r);
}

static bool needs_escape(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (s[i] == '&' || s[i] == '<' || s[i] == '>' || s[i] == '"' || s[i] == '\'')
            return true;
    return false;
}

void lv_r_strn(lv_r *r, const char *s, size_t n)
{
    if (s == NULL)
        s = "", n = 0;
    if (!needs_escape(s, n)) {
        set_value(r, s, n);
        return;
    }
    lv_buf *b = &r->rd->scratch;
    lv_buf_reset(b);
    lv_buf_put_html(b, s, n);
    set_value(r, b->data, b->len);
}

void lv_r_str(lv_r *r, const char *s)
{
    lv_r_strn(r, s, s ? strlen(s) : 0);
}

void lv_r_raw(lv_r *r, const char *s)
{
    set_value(r, s ? s : "", s ? strlen(s) : 0);
}

/* Decimal digits without snprintf: keys are formatted once per item per render. */
static const char *format_i64(char buf[24], int64_t v)
{
    char *p = buf + 23;
    *p = '\0';
    uint64_t u = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
    do {
        *--p = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    if (v < 0)
        *--p = '-';
    return p;
}

void lv_r_i64(lv_r *r, int64_t v)
{
    const char *s = format_i64(r->num, v);
    set_value(r, s, strlen(s));
}

void lv_r_u64(lv_r *r, uint64_t v)
{
    int n = snprintf(r->num, sizeof(r->num), "%llu", (unsigned long long)v);
    set_value(r, r->num, (size_t)n);
}

void lv_r_f64(lv_r *r, double v)
{
    /* the shortest of %.15g..%.17g that reads back as v */
    for (int prec = 15; prec <= 17; prec++) {
        snprintf(r->num, sizeof(r->num), "%.*g", prec, v);
        if (strtod(r->num, NULL) == v)
            break;
    }
    set_value(r, r->num, strlen(r->num));
}

void lv_r_bool(lv_r *r, bool v)
{
    set_value(r, v ? "true" : "false", v ? 4 : 5);
}

/* ---- comprehensions ---- */

void lv_r_for_begin(lv_r *r, const lv_tmpl *t)
{
    rslot *s = current_slot(r);
    if (s == NULL)
        return;
    if (s->kind != S_COMP || s->comp->t != t) {
        clear_slot(s);
        s->comp = calloc(1, sizeof(rcomp));
        if (s->comp == NULL) {
            r->failed = true;
            return;
        }
        s->comp->t = t;
        s->kind = S_COMP;
        s->fresh = s->changed = true;
        mark_dirty(r);
    }
    frame f = {.idx = -1, .comp = s->comp};
    if (s->comp->n) { /* usually as many items as last time: no regrowth */
        f.items = malloc(s->comp->n * sizeof(ritem));
        f.cap = f.items ? s->comp->n : 0;
    }
    push(r, f);
}

/* Closes the open item, if any; returns the comprehension's frame (NULL outside one). */
static frame *end_item(lv_r *r)
{
    if (r->depth == 0)
        return NULL;
    if (top(r)->is_item) {
        r->depth--;
        top(r)->in_item = false;
    }
    return top(r)->comp ? top(r) : NULL;
}

/* Takes over the client's item with this key, if it has one; `hint` is where it most likely is. */
static ritem take_old(rcomp *c, const char *key, uint32_t hint)
{
    ritem found = {.old_index = UINT32_MAX};
    uint32_t n = c->n;
    for (uint32_t k = 0; k < n; k++) {
        uint32_t i = (hint + k) % n;
        ritem *it = &c->items[i];
        if (it->slots != NULL && it->key != NULL && strcmp(it->key, key) == 0) {
            found = *it; /* the new list owns its key and slots now */
            found.old_index = i;
            it->slots = NULL;
            it->key = NULL;
            return found;
        }
    }
    return found;
}

static void begin_item(lv_r *r, const char *key)
{
    frame *f = end_item(r);
    if (f == NULL) {
        r->failed = true;
        return;
    }
    if (f->n == f->cap) {
        uint32_t cap = f->cap ? f->cap * 2 : 16;
        ritem *items = realloc(f->items, cap * sizeof(ritem));
        if (items == NULL) {
            r->failed = true;
            return;
        }
        f->items = items;
        f->cap = cap;
    }
    uint32_t nslots = f->comp->t->nstatics - 1;
    ritem it = take_old(f->comp, key, f->n);
    if (it.slots == NULL) { /* new to the client */
        it.slots = calloc(nslots ? nslots : 1, sizeof(rslot));
        it.key = strdup(key);
        it.old_index = UINT32_MAX;
        if (it.slots == NULL || it.key == NULL) {
            free(it.slots);
            free(it.key);
            r->failed = true;
            return;
        }
    }
    it.dirty = false;
    f->items[f->n] = it;
    ritem *slot_owner = &f->items[f->n++];
    f->in_item = true;
    push(r, (frame){.slots = slot_owner->slots,
                    .nslots = nslots,
                    .idx = -1,
                    .force = true,
                    .dirty = &slot_owner->dirty,
                    .is_item = true});
}

void lv_r_item(lv_r *r)
{
    frame *f = end_item(r);
    char key[24];
    snprintf(key, sizeof(key), "%u", f ? f->n : 0);
    begin_item(r, key);
}

void lv_r_item_key_i64(lv_r *r, int64_t key)
{
    char k[24];
    begin_item(r, format_i64(k, key));
}

void lv_r_item_key_str(lv_r *r, const char *key)
{
    begin_item(r, key ? key : "");
}

bool lv_r_item_unchanged(lv_r *r, const void *elem, size_t size, uint64_t other_deps)
{
    if (r->first || r->touched || (r->changed & other_deps) || r->depth < 2 || !top(r)->is_item)
        return false;
    frame *comp = &r->frames[r->depth - 2];
    const ritem *it = &comp->items[comp->n - 1];
    const unsigned char *p = elem;
    if (it->old_index == UINT32_MAX || p < r->state || p + size > r->state + r->state_size ||
        memcmp(p, r->snapshot + (p - r->state), size) != 0)
        return false;
    r->depth--; /* the item keeps its slots as the client has them */
    comp->in_item = false;
    return true;
}

void lv_r_for_end(lv_r *r)
{
    if (r->depth == 0)
        return;
    frame *f = end_item(r);
    rcomp *c = f ? f->comp : NULL;
    if (c == NULL) {
        r->failed = true;
        return;
    }
    bool changed = f->n != c->n;
    for (uint32_t i = 0; i < f->n; i++)
        if (f->items[i].dirty || f->items[i].old_index != i)
            changed = true;
    for (uint32_t i = 0; i < c->n; i++) /* items the new list did not take over */
        free_item(&c->items[i], c->t->nstatics - 1);
    free(c->items);
    c->items = f->items;
    c->n = f->n;
    r->depth--;
    if (changed) {
        rslot *s = current_slot(r);
        if (s) {
            s->changed = true;
            mark_dirty(r);
        }
    }
}

/* ---- writing JSON and HTML ---- */

static void put_statics(lv_buf *out, const lv_tmpl *t)
{
    lv_buf_puts(out, "\"s\":[");
    for (uint32_t i = 0; i < t->nstatics; i++) {
        if (i)
            lv_buf_putc(out, ',');
        lv_buf_put_json_str(out, t->statics[i], strlen(t->statics[i]));
    }
    lv_buf_putc(out, ']');
}

static void put_key(lv_buf *out, uint32_t i, bool *first)
{
    if (!*first)
        lv_buf_putc(out, ',');
    *first = false;
    lv_buf_putc(out, '"');
    lv_buf_put_u64(out, i);
    lv_buf_puts(out, "\":");
}

static void write_slot(lv_buf *out, rslot *s, bool full);

static void write_slots_full(lv_buf *out, rslot *slots, uint32_t n, bool *first)
{
    for (uint32_t i = 0; i < n; i++) {
        put_key(out, i, first);
        write_slot(out, &slots[i], true);
    }
}

/* Writes the changed slots only, clearing the marks on the way. */
static void write_slots_diff(lv_buf *out, rslot *slots, uint32_t n, bool *first)
{
    for (uint32_t i = 0; i < n; i++) {
        rslot *s = &slots[i];
        bool nested_dirty = (s->kind == S_NODE && s->node->dirty);
        if (!s->changed && !nested_dirty)
            continue;
        put_key(out, i, first);
        write_slot(out, s, s->fresh);
    }
}

static void clear_marks(rslot *slots, uint32_t n);

static void write_comp(lv_buf *out, rcomp *c, bool full)
{
    uint32_t nslots = c->t->nstatics - 1;
    lv_buf_putc(out, '{');
    if (full) {
        put_statics(out, c->t);
        lv_buf_puts(out, ",\"k\":{");
        for (uint32_t i = 0; i < c->n; i++) {
            lv_buf_putc(out, '"');
            lv_buf_put_u64(out, i);
            lv_buf_puts(out, "\":{");
            bool first = true;
            write_slots_full(out, c->items[i].slots, nslots, &first);
            lv_buf_puts(out, "},");
        }
    } else {
        lv_buf_puts(out, "\"k\":{");
        bool moved = false;
        for (uint32_t i = 0; i < c->n; i++) {
            ritem *it = &c->items[i];
            bool is_new = it->old_index == UINT32_MAX;
            if (!is_new && it->old_index == i && !it->dirty)
                continue;
            lv_buf_putc(out, '"');
            lv_buf_put_u64(out, i);
            lv_buf_puts(out, "\":");
            if (is_new) {
                lv_buf_putc(out, '{');
                bool first = true;
                write_slots_full(out, it->slots, nslots, &first);
                lv_buf_putc(out, '}');
            } else if (it->old_index != i) {
                moved = true;
                if (it->dirty) {
                    lv_buf_putc(out, '[');
                    lv_buf_put_u64(out, it->old_index);
                    lv_buf_puts(out, ",{");
                    bool first = true;
                    write_slots_diff(out, it->slots, nslots, &first);
                    lv_buf_puts(out, "}]");
                } else {
                    lv_buf_put_u64(out, it->old_index);
                }
            } else {
                lv_buf_putc(out, '{');
                bool first = true;
                write_slots_diff(out, it->slots, nslots, &first);
                lv_buf_putc(out, '}');
            }
            lv_buf_putc(out, ',');
        }
        if (moved)
            lv_buf_puts(out, "\"km\":true,");
    }
    lv_buf_puts(out, "\"kc\":");
    lv_buf_put_u64(out, c->n);
    lv_buf_puts(out, "}}");
}

static void write_slot(lv_buf *out, rslot *s, bool full)
{
    switch (s->kind) {
    case S_STR: lv_buf_put_json_str(out, s->str, s->len); break;
    case S_NODE: {
        lv_buf_putc(out, '{');
        bool first = true;
        if (full || s->fresh) {
            put_statics(out, s->node->t);
            first = false;
            write_slots_full(out, s->node->slots, s->node->nslots, &first);
        } else {
            write_slots_diff(out, s->node->slots, s->node->nslots, &first);
        }
        lv_buf_putc(out, '}');
        break;
    }
    case S_COMP: write_comp(out, s->comp, full || s->fresh); break;
    default: lv_buf_puts(out, "\"\""); break;
    }
}

static void clear_marks(rslot *slots, uint32_t n)
{
    for (uint32_t i = 0; i < n; i++) {
        rslot *s = &slots[i];
        s->changed = s->fresh = false;
        if (s->kind == S_NODE) {
            s->node->dirty = false;
            clear_marks(s->node->slots, s->node->nslots);
        } else if (s->kind == S_COMP) {
            for (uint32_t k = 0; k < s->comp->n; k++) {
                ritem *it = &s->comp->items[k];
                it->dirty = false;
                it->old_index = k;
                clear_marks(it->slots, s->comp->t->nstatics - 1);
            }
        }
    }
}

static void html_slots(lv_buf *out, const lv_tmpl *t, const rslot *slots);

static void html_slot(lv_buf *out, const rslot *s)
{
    switch (s->kind) {
    case S_STR: lv_buf_append(out, s->str, s->len); break;
    case S_NODE: html_slots(out, s->node->t, s->node->slots); break;
    case S_COMP:
        for (uint32_t i = 0; i < s->comp->n; i++)
            html_slots(out, s->comp->t, s->comp->items[i].slots);
        break;
    default: break;
    }
}

static void html_slots(lv_buf *out, const lv_tmpl *t, const rslot *slots)
{
    for (uint32_t i = 0; i < t->nstatics; i++) {
        lv_buf_puts(out, t->statics[i]);
        if (i + 1 < t->nstatics)
            html_slot(out, &slots[i]);
    }
}

/* ---- the runtime's side ---- */

lv_rendered *lv_rendered_new(const lv_template *t, size_t state_size)
{
    lv_rendered *rd = calloc(1, sizeof(*rd));
    if (rd == NULL)
        return NULL;
    rd->tmpl = t;
    rd->state_size = state_size;
    rd->snapshot = calloc(1, state_size ? state_size : 1);
    if (rd->snapshot == NULL) {
        free(rd);
        return NULL;
    }
    return rd;
}

void lv_rendered_free(lv_rendered *rd)
{
    if (rd == NULL)
        return;
    free_node(rd->root);
    free(rd->snapshot);
    lv_buf_free(&rd->scratch);
    free(rd);
}

static uint64_t field_bit(uint32_t i)
{
    return (uint64_t)1 << (i < 63 ? i : 63);
}

void lv_rendered_touch(lv_rendered *rd, size_t offset, size_t size)
{
    for (uint32_t i = 0; i < rd->tmpl->nfields; i++) {
        const lv_field *f = &rd->tmpl->fields[i];
        if (offset < (size_t)f->offset + f->size && (size_t)f->offset < offset + size)
            rd->touched |= field_bit(i);
    }
}

void lv_rendered_reset(lv_rendered *rd)
{
    free_node(rd->root);
    rd->root = NULL;
    rd->have_snapshot = false;
}

static uint64_t changed_fields(lv_rendered *rd, const void *state)
{
    uint64_t mask = rd->touched;
    const unsigned char *now = state;
    for (uint32_t i = 0; i < rd->tmpl->nfields; i++) {
        const lv_field *f = &rd->tmpl->fields[i];
        if ((size_t)f->offset + f->size <= rd->state_size &&
            memcmp(now + f->offset, rd->snapshot + f->offset, f->size) != 0)
            mask |= field_bit(i);
    }
    return mask;
}

static int render(lv_rendered *rd, const void *state, bool everything)
{
    lv_r r;
    memset(&r, 0, offsetof(lv_r, frames));
    r.depth = 0;
    r.rd = rd;
    r.state = state;
    r.snapshot = rd->snapshot;
    r.state_size = rd->state_size;
    r.touched = rd->touched;
    r.first = everything || rd->root == NULL || !rd->have_snapshot;
    r.changed = r.first ? ~(uint64_t)0 : changed_fields(rd, state);
    if (r.changed == 0 && !r.first)
        return 0; /* nothing the template reads changed */
    rd->tmpl->render(&r, state);
    memcpy(rd->snapshot, state, rd->state_size);
    rd->have_snapshot = true;
    rd->touched = 0;
    for (int i = r.depth - 1; i >= 0; i--) /* a failed render may leave comprehension lists behind */
        if (r.frames[i].comp && r.frames[i].items) {
            for (uint32_t k = 0; k < r.frames[i].n; k++)
                free_item(&r.frames[i].items[k], r.frames[i].comp->t->nstatics - 1);
            free(r.frames[i].items);
        }
    return r.failed || rd->root == NULL ? LV_EINVAL : 0;
}

int lv_rendered_full(lv_rendered *rd, const void *state, lv_buf *json)
{
    int err = render(rd, state, true);
    if (err)
        return err;
    lv_buf_putc(json, '{');
    put_statics(json, rd->root->t);
    bool first = false;
    write_slots_full(json, rd->root->slots, rd->root->nslots, &first);
    lv_buf_putc(json, '}');
    clear_marks(rd->root->slots, rd->root->nslots);
    rd->root->dirty = rd->root_fresh = false;
    return lv_buf_ok(json) ? 0 : LV_ENOMEM;
}

int lv_rendered_diff(lv_rendered *rd, const void *state, lv_buf *json)
{
    bool fresh_root = rd->root == NULL;
    int err = render(rd, state, false);
    if (err)
        return err;
    if (fresh_root || rd->root_fresh) {
        lv_buf_putc(json, '{');
        put_statics(json, rd->root->t);
        bool first = false;
        write_slots_full(json, rd->root->slots, rd->root->nslots, &first);
        lv_buf_putc(json, '}');
    } else if (rd->root->dirty) {
        size_t start = json->len;
        lv_buf_putc(json, '{');
        bool first = true;
        write_slots_diff(json, rd->root->slots, rd->root->nslots, &first);
        lv_buf_putc(json, '}');
        if (first) /* marked, but every value ended equal to the client's */
            json->len = start;
    }
    clear_marks(rd->root->slots, rd->root->nslots);
    rd->root->dirty = rd->root_fresh = false;
    return lv_buf_ok(json) ? 0 : LV_ENOMEM;
}

int lv_rendered_html(const lv_rendered *rd, lv_buf *html)
{
    if (rd->root == NULL)
        return LV_EINVAL;
    html_slots(html, rd->root->t, rd->root->slots);
    return lv_buf_ok(html) ? 0 : LV_ENOMEM;
}

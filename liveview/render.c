/* The rendered tree a client holds for one view instance, and the render pass that updates it.
 * A render walks the compiled template; slots whose inputs did not change are skipped, values
 * equal to what the client has are not marked, and the diff is then written by walking only the
 * marked paths: changed leaves as strings, new nodes with their statics, comprehensions as
 * LiveView 1.1+ keyed entries ("k", "kc", "km"). Writing a diff clears the marks it visits, so
 * the cost of a diff follows the size of the change, not of the page. */
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "liveview/error.h"
#include "liveview/render.h"
#include "liveview/share.h"

/* ---- the tree ---- */

enum { S_EMPTY, S_STR, S_NODE, S_COMP, S_LIVE };
#define INLINE_STR 16 /* strings this short live in the slot itself: no allocation per value */
#define NO_INDEX   UINT32_MAX

typedef struct rnode rnode;
typedef struct rcomp rcomp;
typedef struct rlive rlive;

typedef struct rslot {
    uint8_t kind;
    bool changed; /* differs from what the client holds */
    bool fresh;   /* a node or comprehension the client does not have: sent whole, with "s" */
    bool heap;    /* S_STR: the bytes are in str.ptr */
    uint32_t len; /* S_STR */
    union {
        char inl[INLINE_STR];
        struct {
            char *ptr;
            uint32_t cap;
        } str;
        rnode *node;
        rcomp *comp;
        rlive *live; /* a stateful component: the client has its cid here */
    };
} rslot;

struct rnode {
    const lv_tmpl *t;
    bool dirty; /* some slot below is marked */
    uint32_t nslots;
    rslot slots[];
};

/* One comprehension entry. Keys are integers, or strings (skey) with their hash in ikey. */
typedef struct ritem {
    int64_t ikey;
    char *skey;
    uint32_t old_index; /* where the client has it; NO_INDEX when new to the client */
    uint32_t src;       /* 1 + offset in the state of the element it was rendered from, or 0 */
    bool dirty;
    rslot slots[];
} ritem;

struct rcomp {
    const lv_tmpl *t;
    uint32_t nslots;
    ritem **items; /* what the client has, in order */
    uint32_t n, cap;
    /* during a render: the new list being built, and where the last match was found */
    ritem **next;
    uint32_t nnext, capnext;
    uint32_t hint;
    uint32_t taken;  /* how many of items were taken over by next */
    bool moved;      /* some item is new or at another position */
    bool dirty;      /* some item holds a change */
    uint32_t lo, hi; /* positions in [lo, hi) may differ from the client's: the diff looks there */
    uint32_t *index; /* open-addressing table over items, built on the first out-of-order key */
    uint32_t index_cap;
};

typedef struct rtree {
    const lv_template *tmpl;
    size_t state_size;
    unsigned char *snapshot; /* the view's: at the end of its lv_rendered; a component's: its own */
    uint64_t touched;
    rnode *root;
    bool have_snapshot;
    bool root_fresh;
    bool root_in_room;   /* root is the room after the snapshot, not a node of its own */
    uint16_t room_slots; /* a view's tree: the room holds a root of this many slots (0: none) */
} rtree;

/* A stateful component: its own tree and snapshot, shown by cid wherever slots reference it. */
struct rlive {
    int64_t cid;
    const lv_template *tmpl;
    int64_t ikey; /* its id, as item keys are */
    char *skey;
    const void *state; /* as last rendered: the view routes the component's events with it */
    uint32_t refs;     /* slots showing it; at 0 the client may destroy it (cids_destroyed) */
    uint64_t pass;     /* the last render pass that rendered it */
    rtree tree;
};

/* The page title as last rendered, with what the client has of it. */
typedef struct rtitle {
    size_t len;
    bool changed;
    bool pinned; /* set by lv_rendered_set_title: the template's <title> waits a render */
    char text[];
} rtitle;

/* Stateful components, by cid order, and an index by (template, id). */
typedef struct rlives {
    rlive **v;
    uint32_t n, cap;
    uint32_t *index;
    uint32_t index_cap;
    int64_t last_cid;
    uint64_t pass; /* counts renders once there are components: rlive.pass compares with it */
} rlives;

/* What a view without components points at: reads need no test, writes go through lives_of. */
static const rlives no_lives;

/* Every joined view holds one, so what most views never use is behind a pointer allocated on
 * first use (tests/bench/RESULTS.md, memory per idle session). */
struct lv_rendered {
    rtree tree;
    rtitle *title; /* NULL until a render or lv_rendered_set_title produced one */
    rlives *lives; /* &no_lives until the first component */
    unsigned char snapshot[]; /* the view's state as last rendered, tree.snapshot */
};
_Static_assert(sizeof(lv_rendered) <= 64, "lv_rendered grew: an idle session costs more");
_Static_assert(offsetof(lv_rendered, tree) == 0, "room_of finds the room from the view's tree");

/* ---- the render pass ---- */

enum { F_NODE, F_COMP, F_ITEM };

typedef struct frame {
    rslot *slots;
    uint32_t nslots;
    int32_t idx;
    uint8_t kind;
    bool force;   /* evaluate every slot: new node, comprehension item, first render */
    bool *dirty;  /* set when anything below gets marked */
    rcomp *comp;  /* F_COMP, F_ITEM: the comprehension */
    ritem *item;  /* F_ITEM */
    uint32_t pos; /* F_ITEM: its position in the new list */
} frame;

#define MAX_DEPTH 64

struct lv_r {
    lv_rendered *rd;
    rtree *tr;      /* the tree being rendered: the view's, or a stateful component's */
    int64_t myself; /* that component's cid, 0 for the view */
    int nesting;    /* stateful components rendering inside one another */
    const unsigned char *state, *snapshot;
    size_t state_size;
    uint64_t changed, touched;
    bool first;
    bool may_skip; /* unchanged comprehension items may keep their slots (lv_r_item_unchanged) */
    bool failed;
    bool in_title;
    size_t field_lo, field_hi; /* the field the last comprehension element was found in */
    int depth;
    lv_buf title; /* the title being rendered */
    frame frames[MAX_DEPTH];
};

/* ---- freeing ---- */

static void free_node(rnode *n);
static void free_comp(rcomp *c);

static void clear_slot(rslot *s)
{
    switch (s->kind) {
    case S_STR:
        if (s->heap)
            free(s->str.ptr);
        break;
    case S_NODE: free_node(s->node); break;
    case S_COMP: free_comp(s->comp); break;
    case S_LIVE: s->live->refs--; break;
    default: break;
    }
    s->kind = S_EMPTY;
    s->heap = false;
    s->len = 0;
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
    if (it == NULL)
        return;
    free(it->skey);
    free_slots(it->slots, nslots);
    free(it);
}

static void free_comp(rcomp *c)
{
    if (c == NULL)
        return;
    for (uint32_t i = 0; i < c->n; i++)
        free_item(c->items[i], c->nslots);
    for (uint32_t i = 0; i < c->nnext; i++) /* a render that crashed half-way */
        free_item(c->next[i], c->nslots);
    free(c->items);
    free(c->next);
    free(c->index);
    free(c);
}

static uint32_t nslots_of(const lv_tmpl *t)
{
    return t->nstatics ? t->nstatics - 1 : 0;
}

static rnode *new_node(const lv_tmpl *t)
{
    uint32_t n = nslots_of(t);
    rnode *node = calloc(1, sizeof(*node) + n * sizeof(rslot));
    if (node) {
        node->t = t;
        node->nslots = n;
    }
    return node;
}

/* ---- the root node's room ----
 * A view's root node, made at its first render, would be a malloc of its own (a 128-byte chunk
 * for four slots). A tree whose memory has room after its snapshot keeps the root there instead;
 * the room is sized from the root slot count the last tree of the same template had (a hint:
 * a root that does not fit, or a template seen for the first time, gets a node of its own). */

static size_t room_offset(size_t state_size)
{
    return (offsetof(lv_rendered, snapshot) + state_size + _Alignof(rnode) - 1) & ~(_Alignof(rnode) - 1);
}

/* Only a view's tree has a room: the one that starts its lv_rendered. */
static rnode *room_of(rtree *tr)
{
    return (rnode *)((unsigned char *)tr + room_offset(tr->state_size));
}

/* Direct-mapped, one word an entry (the template's address above 16 bits of slot count), so a
 * reader sees one writer's pair whole; a collision only costs a room that is missing or unused. */
#define ROOT_HINTS 64
static _Atomic uint64_t root_hints[ROOT_HINTS];

static _Atomic uint64_t *root_hint_of(const lv_template *t)
{
    return &root_hints[((uintptr_t)t >> 3) * 0x9E3779B97F4A7C15u >> 58];
}

static uint32_t root_hint(const lv_template *t)
{
    uint64_t e = atomic_load_explicit(root_hint_of(t), memory_order_relaxed);
    return e >> 16 == ((uint64_t)(uintptr_t)t & 0xffffffffffffu) ? (uint32_t)(e & 0xffff) : 0;
}

static void root_hint_learn(const lv_template *t, uint32_t nslots)
{
    if (nslots > 0 && nslots <= 0xffff && root_hint(t) != nslots)
        atomic_store_explicit(root_hint_of(t), ((uint64_t)(uintptr_t)t << 16) | nslots, memory_order_relaxed);
}

static rnode *new_root(rtree *tr, const lv_tmpl *t)
{
    uint32_t n = nslots_of(t);
    if (tr->tmpl)
        root_hint_learn(tr->tmpl, n);
    if (n == 0 || n > tr->room_slots)
        return new_node(t);
    rnode *node = room_of(tr);
    memset(node, 0, sizeof(*node) + n * sizeof(rslot));
    node->t = t;
    node->nslots = n;
    tr->root_in_room = true;
    return node;
}

static void drop_root(rtree *tr)
{
    if (tr->root_in_room)
        free_slots(tr->root->slots, tr->root->nslots);
    else
        free_node(tr->root);
    tr->root = NULL;
    tr->root_in_room = false;
}

static inline const char *slot_str(const rslot *s)
{
    return s->heap ? s->str.ptr : s->inl;
}

/* ---- slots ---- */

static inline frame *top(lv_r *r)
{
    return &r->frames[r->depth - 1];
}

/* Marks every open node and item as holding a change; stops at the first one already marked,
 * since marks always propagate all the way up. */
static inline void touch_range(rcomp *c, uint32_t pos)
{
    if (pos < c->lo)
        c->lo = pos;
    if (pos + 1 > c->hi)
        c->hi = pos + 1;
}

static void mark_dirty(lv_r *r)
{
    for (int i = r->depth - 1; i >= 0; i--) {
        frame *f = &r->frames[i];
        if (f->dirty == NULL)
            continue;
        if (*f->dirty)
            return;
        *f->dirty = true;
        if (f->kind == F_ITEM) {
            f->comp->dirty = true;
            touch_range(f->comp, f->pos);
        }
    }
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

static bool push(lv_r *r, const frame *f)
{
    if (r->depth == MAX_DEPTH) {
        r->failed = true;
        return false;
    }
    r->frames[r->depth++] = *f;
    return true;
}

void lv_r_open(lv_r *r, const lv_tmpl *t)
{
    if (r->depth == 0) {
        rtree *tr = r->tr;
        if (tr->root == NULL || tr->root->t != t) {
            drop_root(tr);
            tr->root = new_root(tr, t);
            tr->root_fresh = true;
        }
        if (tr->root == NULL) {
            r->failed = true;
            return;
        }
        frame f = {.slots = tr->root->slots,
                   .nslots = tr->root->nslots,
                   .idx = -1,
                   .kind = F_NODE,
                   .force = r->first || tr->root_fresh,
                   .dirty = &tr->root->dirty};
        push(r, &f);
        return;
    }
    rslot *s = current_slot(r);
    if (s == NULL)
        return;
    bool force = top(r)->force;
    if (s->kind != S_NODE || s->node->t != t) {
        rnode *node = new_node(t);
        if (node == NULL) {
            r->failed = true;
            return;
        }
        clear_slot(s);
        s->kind = S_NODE;
        s->node = node;
        s->fresh = s->changed = true;
        force = true;
        mark_dirty(r);
    }
    frame f = {.slots = s->node->slots,
               .nslots = s->node->nslots,
               .idx = -1,
               .kind = F_NODE,
               .force = force,
               .dirty = &s->node->dirty};
    push(r, &f);
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

/* Makes room for a string of n bytes in the slot (which then holds a string). */
static char *slot_reserve(lv_r *r, rslot *s, size_t n)
{
    if (s->kind == S_STR && s->heap && n <= s->str.cap && s->str.cap <= 4 * n + 64)
        return s->str.ptr; /* reused, unless a once-long value would pin a large buffer */
    if (n <= INLINE_STR) {
        clear_slot(s);
        s->kind = S_STR;
        return s->inl;
    }
    if (n > UINT32_MAX) {
        r->failed = true;
        return NULL;
    }
    char *p = malloc(n);
    if (p == NULL) {
        r->failed = true;
        return NULL;
    }
    clear_slot(s);
    s->kind = S_STR;
    s->heap = true;
    s->str.ptr = p;
    s->str.cap = (uint32_t)n;
    return p;
}

/* A value is written as up to three pieces (attribute name, value, closing quote); only the
 * value piece may need HTML escaping. */
typedef struct piece {
    const char *s;
    size_t n;
    bool escape;
} piece;

static const char *html_entity(char c)
{
    switch (c) {
    case '&': return "&amp;";
    case '<': return "&lt;";
    case '>': return "&gt;";
    case '"': return "&quot;";
    case '\'': return "&#39;";
    default: return NULL;
    }
}

/* Length of a valid UTF-8 sequence at s (at most n bytes), or 0 when it is not one. */
static size_t utf8_len(const unsigned char *s, size_t n)
{
    unsigned char c = s[0];
    size_t len;
    uint32_t min, cp;
    if (c < 0x80)
        return 1;
    if (c >= 0xc2 && c <= 0xdf)
        len = 2, min = 0x80, cp = c & 0x1f;
    else if (c >= 0xe0 && c <= 0xef)
        len = 3, min = 0x800, cp = c & 0x0f;
    else if (c >= 0xf0 && c <= 0xf4)
        len = 4, min = 0x10000, cp = c & 0x07;
    else
        return 0;
    if (len > n)
        return 0;
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 0;
        cp = (cp << 6) | (s[i] & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
        return 0;
    return len;
}

/* True when a value can be copied as is: nothing to escape and valid UTF-8 (the frame it goes
 * into is a WebSocket text frame). */
static bool plain(const char *s, size_t n, bool escape)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x80) {
            size_t l = utf8_len((const unsigned char *)s + i, n - i);
            if (l == 0)
                return false;
            i += l - 1;
        } else if (escape && html_entity((char)c)) {
            return false;
        }
    }
    return true;
}

/* Writes the piece escaped (and with invalid UTF-8 replaced by U+FFFD) into out, or only counts
 * when out is NULL; returns the length. */
static size_t put_piece(char *out, const piece *p)
{
    size_t len = 0;
    for (size_t i = 0; i < p->n; i++) {
        unsigned char c = (unsigned char)p->s[i];
        const char *rep = NULL;
        size_t rlen = 1;
        if (c >= 0x80) {
            size_t l = utf8_len((const unsigned char *)p->s + i, p->n - i);
            if (l == 0) {
                rep = "\xef\xbf\xbd", rlen = 3;
            } else {
                if (out)
                    memcpy(out + len, p->s + i, l);
                len += l;
                i += l - 1;
                continue;
            }
        } else if (p->escape && (rep = html_entity((char)c)) != NULL) {
            rlen = strlen(rep);
        }
        if (out) {
            if (rep)
                memcpy(out + len, rep, rlen);
            else
                out[len] = (char)c;
        }
        len += rlen;
    }
    return len;
}

static void title_append(lv_r *r, const piece *ps, int np)
{
    for (int i = 0; i < np; i++) {
        piece raw = ps[i];
        raw.escape = false; /* the title is text, never HTML */
        size_t n = put_piece(NULL, &raw);
        if (!lv_buf_reserve(&r->title, n)) {
            r->failed = true;
            return;
        }
        put_piece(r->title.data + r->title.len, &raw);
        r->title.len += n;
        r->title.data[r->title.len] = '\0';
    }
}

/* Puts a value in the current slot, marking it only when it differs from the client's copy. */
static void set_pieces(lv_r *r, const piece *ps, int np)
{
    if (r->in_title) {
        title_append(r, ps, np);
        return;
    }
    rslot *slot = current_slot(r);
    if (slot == NULL)
        return;
    size_t total = 0;
    bool simple = true;
    for (int i = 0; i < np; i++) {
        if (plain(ps[i].s, ps[i].n, ps[i].escape)) {
            total += ps[i].n;
        } else {
            simple = false;
            total += put_piece(NULL, &ps[i]);
        }
    }
    if (slot->kind == S_STR && slot->len == total) { /* compare before replacing */
        const char *old = slot_str(slot);
        bool same = true;
        char tmp[256];
        for (int i = 0; i < np && same; i++) {
            if (simple || plain(ps[i].s, ps[i].n, ps[i].escape)) {
                same = memcmp(old, ps[i].s, ps[i].n) == 0;
                old += ps[i].n;
                continue;
            }
            size_t n = put_piece(NULL, &ps[i]);
            char *buf = n <= sizeof(tmp) ? tmp : malloc(n);
            if (buf == NULL) {
                same = false;
                break;
            }
            put_piece(buf, &ps[i]);
            same = memcmp(old, buf, n) == 0;
            old += n;
            if (buf != tmp)
                free(buf);
        }
        if (same)
            return;
    }
    char *out = slot_reserve(r, slot, total);
    if (out == NULL)
        return;
    size_t at = 0;
    for (int i = 0; i < np; i++) {
        if (simple || plain(ps[i].s, ps[i].n, ps[i].escape)) {
            if (ps[i].n)
                memcpy(out + at, ps[i].s, ps[i].n);
            at += ps[i].n;
        } else {
            at += put_piece(out + at, &ps[i]);
        }
    }
    slot->len = (uint32_t)total;
    slot->changed = true;
    mark_dirty(r);
}

static void set_text(lv_r *r, const char *s, size_t n, bool escape)
{
    piece p = {s ? s : "", s ? n : 0, escape};
    set_pieces(r, &p, 1);
}

/* Number formatting without printf: the hot path of a counter. */
static size_t fmt_u64(char *end, uint64_t v, char **start)
{
    char *p = end;
    do {
        *--p = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    *start = p;
    return (size_t)(end - p);
}

static size_t fmt_i64(char *end, int64_t v, char **start)
{
    if (v >= 0)
        return fmt_u64(end, (uint64_t)v, start);
    size_t n = fmt_u64(end, (uint64_t)0 - (uint64_t)v, start);
    *--*start = '-';
    return n + 1;
}

/* The shortest of %.15g..%.17g that reads back as v. */
static size_t fmt_f64(char *buf, size_t cap, double v)
{
    if (v != v)
        return (size_t)snprintf(buf, cap, "NaN");
    for (int prec = 15; prec <= 17; prec++) {
        snprintf(buf, cap, "%.*g", prec, v);
        if (strtod(buf, NULL) == v)
            break;
    }
    return strlen(buf);
}

void lv_r_strn(lv_r *r, const char *s, size_t n)
{
    set_text(r, s, n, true);
}

void lv_r_str(lv_r *r, const char *s)
{
    set_text(r, s, s ? strlen(s) : 0, true);
}

void lv_r_raw(lv_r *r, const char *s)
{
    set_text(r, s, s ? strlen(s) : 0, false);
}

void lv_r_i64(lv_r *r, int64_t v)
{
    char buf[24], *p;
    size_t n = fmt_i64(buf + sizeof(buf), v, &p);
    set_text(r, p, n, false);
}

void lv_r_u64(lv_r *r, uint64_t v)
{
    char buf[24], *p;
    size_t n = fmt_u64(buf + sizeof(buf), v, &p);
    set_text(r, p, n, false);
}

void lv_r_f64(lv_r *r, double v)
{
    char buf[40];
    set_text(r, buf, fmt_f64(buf, sizeof(buf), v), false);
}

void lv_r_bool(lv_r *r, bool v)
{
    set_text(r, v ? "true" : "false", v ? 4 : 5, false);
}

/* ` name="value"` */
static void set_attr(lv_r *r, const char *name, const char *v, size_t n, bool escape)
{
    piece ps[3] = {{name, strlen(name), false}, {v, n, escape}, {"\"", 1, false}};
    char head[128];
    size_t hn = ps[0].n + 2;
    if (hn <= sizeof(head)) { /* name and opening quote as one piece */
        memcpy(head, name, ps[0].n);
        memcpy(head + ps[0].n, "=\"", 2);
        ps[0] = (piece){head, hn, false};
        set_pieces(r, ps, 3);
        return;
    }
    piece long_name[4] = {ps[0], {"=\"", 2, false}, ps[1], ps[2]};
    set_pieces(r, long_name, 4); /* set_pieces takes any count; keeps a long name correct */
}

void lv_r_attr_str(lv_r *r, const char *name, const char *v)
{
    if (v == NULL)
        set_text(r, "", 0, false);
    else
        set_attr(r, name, v, strlen(v), true);
}

void lv_r_attr_i64(lv_r *r, const char *name, int64_t v)
{
    char buf[24], *p;
    size_t n = fmt_i64(buf + sizeof(buf), v, &p);
    set_attr(r, name, p, n, false);
}

void lv_r_attr_u64(lv_r *r, const char *name, uint64_t v)
{
    char buf[24], *p;
    size_t n = fmt_u64(buf + sizeof(buf), v, &p);
    set_attr(r, name, p, n, false);
}

void lv_r_attr_f64(lv_r *r, const char *name, double v)
{
    char buf[40];
    set_attr(r, name, buf, fmt_f64(buf, sizeof(buf), v), false);
}

void lv_r_attr_bool(lv_r *r, const char *name, bool v)
{
    set_text(r, v ? name : "", v ? strlen(name) : 0, false);
}

/* ---- the title ---- */

/* Makes `text` the title; marked changed unless the client already has it. */
static int title_set(lv_rendered *rd, const char *text, size_t n)
{
    if (rd->title && rd->title->len == n && memcmp(rd->title->text, text, n) == 0)
        return 0;
    rtitle *t = malloc(sizeof(*t) + n + 1);
    if (t == NULL)
        return LV_ENOMEM;
    t->len = n;
    t->changed = true;
    t->pinned = rd->title && rd->title->pinned;
    memcpy(t->text, text, n);
    t->text[n] = '\0';
    free(rd->title);
    rd->title = t;
    return 0;
}

bool lv_r_title_begin(lv_r *r, uint64_t deps)
{
    if (r->tr != &r->rd->tree)
        return false; /* a stateful component's template: the title is the view's */
    if (!r->first && (deps & r->changed) == 0 && r->rd->title != NULL)
        return false;
    r->in_title = true;
    lv_buf_reset(&r->title);
    if (!lv_buf_reserve(&r->title, 0))
        r->failed = true;
    return true;
}

void lv_r_title_text(lv_r *r, const char *text)
{
    piece p = {text ? text : "", text ? strlen(text) : 0, false};
    title_append(r, &p, 1);
}

void lv_r_title_end(lv_r *r)
{
    if (!r->in_title)
        return;
    r->in_title = false;
    lv_rendered *rd = r->rd;
    if (r->failed || r->title.data == NULL || (rd->title && rd->title->pinned))
        return;
    if (title_set(rd, r->title.data, r->title.len) != 0)
        r->failed = true;
}

int lv_rendered_set_title(lv_rendered *rd, const char *title)
{
    if (title == NULL)
        title = "";
    int err = title_set(rd, title, strlen(title));
    if (err == 0)
        rd->title->pinned = true; /* even when the client has it: the template still waits */
    return err;
}

/* ---- comprehensions ---- */

void lv_r_for_begin(lv_r *r, const lv_tmpl *t)
{
    rslot *s = current_slot(r);
    if (s == NULL)
        return;
    if (s->kind != S_COMP || s->comp->t != t) {
        rcomp *nc = calloc(1, sizeof(rcomp));
        if (nc == NULL) {
            r->failed = true;
            return;
        }
        nc->t = t;
        nc->nslots = nslots_of(t);
        clear_slot(s);
        s->kind = S_COMP;
        s->comp = nc;
        s->fresh = s->changed = true;
        mark_dirty(r);
    }
    rcomp *c = s->comp;
    c->nnext = c->hint = c->taken = 0;
    c->moved = c->dirty = false;
    c->lo = UINT32_MAX;
    c->hi = 0;
    frame f = {.idx = -1, .kind = F_COMP, .comp = c};
    push(r, &f);
}

/* Closes the open item, if any; returns the comprehension's frame (NULL outside one). */
static frame *end_item(lv_r *r)
{
    if (r->depth == 0)
        return NULL;
    if (top(r)->kind == F_ITEM)
        r->depth--;
    return top(r)->kind == F_COMP ? top(r) : NULL;
}

static uint64_t hash_key(int64_t ikey)
{
    uint64_t h = (uint64_t)ikey * 0x9e3779b97f4a7c15ull;
    return h ^ (h >> 29);
}

static bool same_key(const ritem *it, int64_t ikey, const char *skey)
{
    if (it->ikey != ikey)
        return false;
    if (skey == NULL || it->skey == NULL)
        return skey == NULL && it->skey == NULL;
    return strcmp(it->skey, skey) == 0;
}

/* Builds the key index over the client's items the first time a key is not where expected. */
static bool build_index(rcomp *c)
{
    uint32_t cap = 16;
    while (cap < c->n * 2)
        cap *= 2;
    uint32_t *idx = malloc(cap * sizeof(uint32_t));
    if (idx == NULL)
        return false;
    memset(idx, 0xff, cap * sizeof(uint32_t));
    for (uint32_t i = 0; i < c->n; i++) {
        if (c->items[i] == NULL)
            continue;
        uint32_t h = (uint32_t)hash_key(c->items[i]->ikey) & (cap - 1);
        while (idx[h] != NO_INDEX)
            h = (h + 1) & (cap - 1);
        idx[h] = i;
    }
    c->index = idx;
    c->index_cap = cap;
    return true;
}

static ritem *take(rcomp *c, uint32_t i)
{
    ritem *it = c->items[i];
    c->items[i] = NULL;
    it->old_index = i;
    c->hint = i + 1;
    c->taken++;
    return it;
}

/* Takes over the client's item with this key, if it has one: first where the previous match
 * suggests (appends, deletions and edits keep the order), then through the index. */
static ritem *take_old(rcomp *c, int64_t ikey, const char *skey)
{
    uint32_t i = c->hint;
    if (i < c->n && c->items[i] && same_key(c->items[i], ikey, skey))
        return take(c, i);
    i = c->nnext;
    if (i < c->n && c->items[i] && same_key(c->items[i], ikey, skey))
        return take(c, i);
    if (c->taken == c->n || (c->index == NULL && !build_index(c)))
        return NULL;
    uint32_t mask = c->index_cap - 1;
    for (uint32_t h = (uint32_t)hash_key(ikey) & mask; c->index[h] != NO_INDEX; h = (h + 1) & mask) {
        i = c->index[h];
        if (c->items[i] && same_key(c->items[i], ikey, skey))
            return take(c, i);
    }
    return NULL;
}

static ritem *new_item(rcomp *c, int64_t ikey, const char *skey)
{
    ritem *it = calloc(1, sizeof(ritem) + c->nslots * sizeof(rslot));
    char *k = skey ? strdup(skey) : NULL;
    if (it == NULL || (skey && k == NULL)) {
        free(it);
        free(k);
        return NULL;
    }
    it->ikey = ikey;
    it->skey = k;
    it->old_index = NO_INDEX;
    return it;
}

/* Everything but the common case of begin_item: growing the list, keys out of order, new items. */
static __attribute__((noinline)) ritem *begin_item_slow(lv_r *r, rcomp *c, int64_t ikey, const char *skey)
{
    if (c->nnext == c->capnext) {
        uint32_t cap = c->capnext ? c->capnext * 2 : 8;
        ritem **next = realloc(c->next, cap * sizeof(ritem *));
        if (next == NULL) {
            r->failed = true;
            return NULL;
        }
        c->next = next;
        c->capnext = cap;
    }
    ritem *it = take_old(c, ikey, skey);
    if (it == NULL && (it = new_item(c, ikey, skey)) == NULL)
        r->failed = true;
    return it;
}

static void begin_item(lv_r *r, int64_t ikey, const char *skey)
{
    if (r->depth == 0) {
        r->failed = true;
        return;
    }
    frame *f = top(r);
    if (f->kind == F_ITEM) { /* the previous item ends here */
        r->depth--;
        f--;
    }
    if (f->kind != F_COMP || r->depth == MAX_DEPTH) {
        r->failed = true;
        return;
    }
    rcomp *c = f->comp;
    uint32_t pos = c->nnext, h = c->hint;
    ritem *it;
    if (pos < c->capnext && h < c->n && (it = c->items[h]) != NULL && it->ikey == ikey && skey == NULL &&
        it->skey == NULL) { /* the next item of the client's list: edits and appends */
        c->items[h] = NULL;
        it->old_index = h;
        c->hint = h + 1;
        c->taken++;
    } else if ((it = begin_item_slow(r, c, ikey, skey)) == NULL) {
        return;
    }
    c->nnext = pos + 1;
    c->next[pos] = it;
    it->dirty = false;
    if (it->old_index != pos) {
        c->moved = true;
        touch_range(c, pos);
    }
    frame *item = &r->frames[r->depth++];
    item->slots = it->slots;
    item->nslots = c->nslots;
    item->idx = -1;
    item->kind = F_ITEM;
    item->force = true;
    item->dirty = &it->dirty;
    item->comp = c;
    item->item = it;
    item->pos = pos;
}

void lv_r_item(lv_r *r)
{
    frame *f = end_item(r);
    begin_item(r, f ? (int64_t)f->comp->nnext : 0, NULL);
}

void lv_r_item_key_i64(lv_r *r, int64_t key)
{
    begin_item(r, key, NULL);
}

static int64_t str_hash(const char *key)
{
    uint64_t h = 1469598103934665603ull; /* FNV-1a */
    for (const char *p = key; *p; p++)
        h = (h ^ (unsigned char)*p) * 1099511628211ull;
    return (int64_t)h;
}

void lv_r_item_key_str(lv_r *r, const char *key)
{
    if (key == NULL)
        key = "";
    begin_item(r, str_hash(key), key);
}

/* memcmp for the small elements of a state array, without a library call. */
static inline bool same_bytes(const unsigned char *a, const unsigned char *b, size_t n)
{
    for (; n >= 8; n -= 8, a += 8, b += 8) {
        uint64_t x, y;
        memcpy(&x, a, 8);
        memcpy(&y, b, 8);
        if (x != y)
            return false;
    }
    while (n--)
        if (*a++ != *b++)
            return false;
    return true;
}

/* 1 + the offset of elem in the state when its bytes lie inside a field the template reads
 * (the snapshot keeps those up to date), else 0: such an element cannot be compared. */
static inline uint32_t tracked_src(lv_r *r, const void *elem, size_t size)
{
    uintptr_t off = (uintptr_t)elem - (uintptr_t)r->state; /* as integers: elem may be anywhere */
    if (off >= r->state_size || size > r->state_size - off)
        return 0;
    if (off < r->field_lo || off + size > r->field_hi) { /* not in the field the last one was in */
        const lv_template *t = r->tr->tmpl;
        uint32_t i = 0;
        while (i < t->nfields &&
               !(off >= t->fields[i].offset && off + size <= (size_t)t->fields[i].offset + t->fields[i].size))
            i++;
        if (i == t->nfields)
            return 0;
        r->field_lo = t->fields[i].offset;
        r->field_hi = (size_t)t->fields[i].offset + t->fields[i].size;
    }
    return (uint32_t)off + 1;
}

bool lv_r_item_unchanged(lv_r *r, const void *elem, size_t size, uint64_t other_deps)
{
    if (r->depth == 0 || top(r)->kind != F_ITEM)
        return false;
    ritem *it = top(r)->item;
    uint32_t src = tracked_src(r, elem, size);
    uint32_t was = it->src;
    it->src = src;
    /* the bytes it was rendered from, compared with the element's bytes now */
    if (!r->may_skip || src == 0 || was == 0 || it->old_index == NO_INDEX || (r->changed & other_deps) ||
        size > r->state_size - (was - 1) ||
        !(size <= 256 ? same_bytes(elem, r->snapshot + was - 1, size)
                      : !memcmp(elem, r->snapshot + was - 1, size)))
        return false;
    r->depth--; /* the item keeps its slots as the client has them */
    return true;
}

static __attribute__((noinline)) bool item_keep_slow(lv_r *r, int64_t ikey, const char *skey,
                                                     const void *elem, size_t size, uint64_t other)
{
    begin_item(r, ikey, skey);
    return lv_r_item_unchanged(r, elem, size, other);
}

/* lv_r_item_key + lv_r_item_unchanged in one call: an unchanged element at the expected place
 * in the list costs a key compare and a byte compare, without opening the item at all. */
static inline bool item_keep(lv_r *r, int64_t ikey, const char *skey, const void *elem, size_t size,
                             uint64_t other)
{
    if (!r->may_skip || (r->changed & other) != 0 || r->depth == 0)
        return item_keep_slow(r, ikey, skey, elem, size, other);
    frame *f = top(r);
    if (f->kind == F_ITEM) {
        r->depth--;
        f--;
    }
    if (f->kind != F_COMP)
        return item_keep_slow(r, ikey, skey, elem, size, other);
    rcomp *c = f->comp;
    uint32_t pos = c->nnext, h = c->hint;
    ritem *it = h < c->n ? c->items[h] : NULL;
    uint32_t src;
    if (it == NULL || it->ikey != ikey || pos >= c->capnext || it->src == 0 ||
        (src = tracked_src(r, elem, size)) == 0 || size > r->state_size - (it->src - 1) ||
        (skey ? it->skey == NULL || strcmp(it->skey, skey) != 0 : it->skey != NULL) ||
        !(size <= 256 ? same_bytes(elem, r->snapshot + it->src - 1, size)
                      : !memcmp(elem, r->snapshot + it->src - 1, size)))
        return item_keep_slow(r, ikey, skey, elem, size, other);
    c->items[h] = NULL;
    c->hint = h + 1;
    c->taken++;
    c->next[pos] = it;
    c->nnext = pos + 1;
    it->old_index = h;
    it->dirty = false;
    it->src = src;
    if (h != pos) {
        c->moved = true;
        touch_range(c, pos);
    }
    return true;
}

bool lv_r_item_keep(lv_r *r, const void *elem, size_t size, uint64_t other_deps)
{
    frame *f = r->depth ? top(r) : NULL;
    if (f && f->kind == F_ITEM)
        f--;
    int64_t pos = f && f->kind == F_COMP ? (int64_t)f->comp->nnext : 0;
    return item_keep(r, pos, NULL, elem, size, other_deps);
}

bool lv_r_item_keep_i64(lv_r *r, int64_t key, const void *elem, size_t size, uint64_t other_deps)
{
    return item_keep(r, key, NULL, elem, size, other_deps);
}

bool lv_r_item_keep_str(lv_r *r, const char *key, const void *elem, size_t size, uint64_t other_deps)
{
    if (key == NULL)
        key = "";
    return item_keep(r, str_hash(key), key, elem, size, other_deps);
}

/* Makes the list built by this render the client's list; returns whether it differs. */
static bool finish_comp(rcomp *c)
{
    bool changed = c->moved || c->dirty || c->nnext != c->n;
    if (c->taken != c->n)
        for (uint32_t i = 0; i < c->n; i++) /* items the new list did not take over */
            free_item(c->items[i], c->nslots);
    ritem **old = c->items;
    uint32_t oldcap = c->cap;
    c->items = c->next;
    c->cap = c->capnext;
    c->n = c->nnext;
    c->next = old;
    c->capnext = oldcap;
    c->nnext = c->taken = 0;
    free(c->index);
    c->index = NULL;
    c->index_cap = 0;
    if (c->capnext > 64 && c->capnext > 4 * c->n) { /* a list that shrank gives memory back */
        free(c->next);
        c->next = NULL;
        c->capnext = 0;
    }
    return changed;
}

void lv_r_for_end(lv_r *r)
{
    frame *f = end_item(r);
    if (f == NULL) {
        r->failed = true;
        return;
    }
    bool changed = finish_comp(f->comp);
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

static void put_key(lv_buf *out, uint32_t i, bool *first)
{
    char buf[16], *p;
    size_t n = fmt_u64(buf + sizeof(buf) - 2, i, &p);
    buf[sizeof(buf) - 2] = '"';
    buf[sizeof(buf) - 1] = ':';
    *--p = '"';
    n++;
    if (!*first)
        *--p = ',', n++;
    *first = false;
    lv_buf_append(out, p, n + 2);
}

static void write_slot(lv_buf *out, lv_share *sh, rslot *s, bool full);

/* Every slot, clearing marks on the way. */
static void write_slots_full(lv_buf *out, lv_share *sh, rslot *slots, uint32_t n, bool *first)
{
    for (uint32_t i = 0; i < n; i++) {
        put_key(out, i, first);
        write_slot(out, sh, &slots[i], true);
    }
}

/* The marked slots only, clearing the marks on the way: what is not visited is already clean. */
static void write_slots_diff(lv_buf *out, lv_share *sh, rslot *slots, uint32_t n, bool *first)
{
    for (uint32_t i = 0; i < n; i++) {
        rslot *s = &slots[i];
        if (!s->changed && !(s->kind == S_NODE && s->node->dirty))
            continue;
        put_key(out, i, first);
        write_slot(out, sh, s, s->fresh);
    }
}

static void put_index(lv_buf *out, uint32_t i)
{
    char buf[12], *p;
    size_t n = fmt_u64(buf + sizeof(buf), i, &p);
    lv_buf_append(out, p, n);
}

static void write_comp(lv_buf *out, lv_share *sh, rcomp *c, bool full)
{
    lv_buf_putc(out, '{');
    if (full) {
        lv_share_statics(sh, out, c->t);
        lv_buf_puts(out, ",\"k\":{");
        for (uint32_t i = 0; i < c->n; i++) {
            ritem *it = c->items[i];
            lv_buf_putc(out, '"');
            put_index(out, i);
            lv_buf_puts(out, "\":{");
            bool first = true;
            write_slots_full(out, sh, it->slots, c->nslots, &first);
            lv_buf_puts(out, "},");
            it->dirty = false;
            it->old_index = i;
        }
    } else {
        lv_buf_puts(out, "\"k\":{");
        bool moved = false;
        uint32_t hi = c->hi < c->n ? c->hi : c->n;
        for (uint32_t i = c->lo; i < hi; i++) {
            ritem *it = c->items[i];
            bool is_new = it->old_index == NO_INDEX;
            if (!is_new && it->old_index == i && !it->dirty)
                continue;
            lv_buf_putc(out, '"');
            put_index(out, i);
            lv_buf_puts(out, "\":");
            bool first = true;
            if (is_new) {
                lv_buf_putc(out, '{');
                write_slots_full(out, sh, it->slots, c->nslots, &first);
                lv_buf_putc(out, '}');
            } else if (it->old_index != i) {
                moved = true;
                if (it->dirty) {
                    lv_buf_putc(out, '[');
                    put_index(out, it->old_index);
                    lv_buf_puts(out, ",{");
                    write_slots_diff(out, sh, it->slots, c->nslots, &first);
                    lv_buf_puts(out, "}]");
                } else {
                    put_index(out, it->old_index);
                }
            } else {
                lv_buf_putc(out, '{');
                write_slots_diff(out, sh, it->slots, c->nslots, &first);
                lv_buf_putc(out, '}');
            }
            lv_buf_putc(out, ',');
            it->dirty = false;
            it->old_index = i;
        }
        if (moved)
            lv_buf_puts(out, "\"km\":true,");
    }
    lv_buf_puts(out, "\"kc\":");
    put_index(out, c->n);
    lv_buf_puts(out, "}}");
    c->lo = UINT32_MAX;
    c->hi = 0;
}

static void write_slot(lv_buf *out, lv_share *sh, rslot *s, bool full)
{
    bool whole = full || s->fresh;
    s->changed = s->fresh = false;
    switch (s->kind) {
    case S_STR: lv_buf_put_json_str(out, slot_str(s), s->len); break;
    case S_NODE: {
        rnode *node = s->node;
        bool first = true;
        lv_buf_putc(out, '{');
        if (whole) {
            lv_share_statics(sh, out, node->t);
            first = false;
            write_slots_full(out, sh, node->slots, node->nslots, &first);
        } else {
            write_slots_diff(out, sh, node->slots, node->nslots, &first);
        }
        lv_buf_putc(out, '}');
        node->dirty = false;
        break;
    }
    case S_COMP: write_comp(out, sh, s->comp, whole); break;
    case S_LIVE: lv_buf_put_i64(out, s->live->cid); break;
    default: lv_buf_puts(out, "\"\""); break;
    }
}

/* Where the attributes go in the HTML of a component's single root element: right after its
 * tag name, past leading whitespace and comments, as the client's modifyRoot does. */
static size_t root_tag_name_end(const char *h, size_t n)
{
    size_t i = 0;
    for (;;) {
        while (i < n && (h[i] == ' ' || h[i] == '\t' || h[i] == '\n' || h[i] == '\r' || h[i] == '\f'))
            i++;
        if (i + 4 <= n && memcmp(h + i, "<!--", 4) == 0) {
            const char *close = memmem(h + i + 4, n - i - 4, "-->", 3);
            if (close == NULL)
                return SIZE_MAX;
            i = (size_t)(close - h) + 3;
            continue;
        }
        break;
    }
    if (i >= n || h[i] != '<')
        return SIZE_MAX;
    size_t name = ++i;
    while (i < n && h[i] != '/' && h[i] != '>' && h[i] != ' ' && h[i] != '\t' && h[i] != '\n' && h[i] != '\r' &&
           h[i] != '\f')
        i++;
    return i > name ? i : SIZE_MAX;
}

int lv_rendered_tag_component(lv_buf *html, size_t start, int64_t cid, const char *view_id)
{
    if (start > html->len || html->data == NULL)
        return LV_EINVAL;
    size_t at = root_tag_name_end(html->data + start, html->len - start);
    if (at == SIZE_MAX)
        return LV_EINVAL;
    at += start;
    char attrs[256];
    int n = snprintf(attrs, sizeof(attrs),
                     " data-phx-id=\"c%lld-%s\" data-phx-component=\"%lld\" data-phx-view=\"%s\"", (long long)cid,
                     view_id, (long long)cid, view_id);
    if (n < 0 || (size_t)n >= sizeof(attrs))
        return LV_EINVAL;
    size_t tail = html->len - at;
    lv_buf_append(html, attrs, (size_t)n); /* grows the buffer; then the tail moves behind attrs */
    if (!lv_buf_ok(html))
        return LV_ENOMEM;
    memmove(html->data + at + n, html->data + at, tail);
    memcpy(html->data + at, attrs, (size_t)n);
    return 0;
}

static void html_slots(lv_buf *out, const lv_tmpl *t, const rslot *slots, const char *view_id);

static void html_slot(lv_buf *out, const rslot *s, const char *view_id)
{
    switch (s->kind) {
    case S_STR: lv_buf_append(out, slot_str(s), s->len); break;
    case S_NODE: html_slots(out, s->node->t, s->node->slots, view_id); break;
    case S_COMP:
        for (uint32_t i = 0; i < s->comp->n; i++)
            html_slots(out, s->comp->t, s->comp->items[i]->slots, view_id);
        break;
    case S_LIVE:
        if (s->live->tree.root) {
            size_t start = out->len;
            html_slots(out, s->live->tree.root->t, s->live->tree.root->slots, view_id);
            if (view_id) /* a template without one root element is refused by lvtc */
                lv_rendered_tag_component(out, start, s->live->cid, view_id);
        }
        break;
    default: break;
    }
}

static void html_slots(lv_buf *out, const lv_tmpl *t, const rslot *slots, const char *view_id)
{
    for (uint32_t i = 0; i < t->nstatics; i++) {
        lv_buf_puts(out, t->statics[i]);
        if (i + 1 < t->nstatics)
            html_slot(out, &slots[i], view_id);
    }
}

/* ---- the runtime's side ---- */

size_t lv_rendered_size(size_t state_size)
{
    return sizeof(lv_rendered) + state_size; /* with its snapshot */
}

size_t lv_rendered_size_with_root(const lv_template *t, size_t state_size)
{
    uint32_t n = root_hint(t);
    return n ? room_offset(state_size) + sizeof(rnode) + n * sizeof(rslot) : lv_rendered_size(state_size);
}

lv_rendered *lv_rendered_new(const lv_template *t, size_t state_size)
{
    size_t size = lv_rendered_size_with_root(t, state_size);
    void *mem = malloc(size);
    return mem ? lv_rendered_init(mem, size, t, state_size) : NULL;
}

lv_rendered *lv_rendered_init(void *mem, size_t size, const lv_template *t, size_t state_size)
{
    lv_rendered *rd = memset(mem, 0, lv_rendered_size(state_size));
    rd->tree.tmpl = t;
    rd->tree.state_size = state_size;
    rd->tree.snapshot = rd->snapshot;
    size_t room = room_offset(state_size) + sizeof(rnode);
    if (size >= room + sizeof(rslot)) {
        size_t n = (size - room) / sizeof(rslot);
        rd->tree.room_slots = (uint16_t)(n < 0xffff ? n : 0xffff);
    }
    rd->lives = (rlives *)&no_lives; /* never written: lives_of replaces it first */
    return rd;
}

/* Frees the components; a reset keeps the list (empty) so that cids keep counting up. */
static void free_lives(lv_rendered *rd, bool keep)
{
    rlives *l = rd->lives;
    if (l == &no_lives)
        return;
    /* trees first: their slots drop references to other components */
    for (uint32_t i = 0; i < l->n; i++) {
        free_node(l->v[i]->tree.root);
        l->v[i]->tree.root = NULL;
    }
    for (uint32_t i = 0; i < l->n; i++) {
        free(l->v[i]->tree.snapshot);
        free(l->v[i]->skey);
        free(l->v[i]);
    }
    free(l->v);
    free(l->index);
    if (keep) {
        *l = (rlives){.last_cid = l->last_cid, .pass = l->pass};
        return;
    }
    free(l);
    rd->lives = (rlives *)&no_lives;
}

bool lv_rendered_root_in_room(const lv_rendered *rd)
{
    return rd->tree.root_in_room;
}

void lv_rendered_dispose(lv_rendered *rd)
{
    if (rd == NULL)
        return;
    drop_root(&rd->tree);
    free_lives(rd, false);
    free(rd->title);
}

void lv_rendered_free(lv_rendered *rd)
{
    lv_rendered_dispose(rd);
    free(rd);
}

static uint64_t field_bit(uint32_t i)
{
    return (uint64_t)1 << (i < 63 ? i : 63);
}

static void touch_tree(rtree *tr, size_t offset, size_t size)
{
    const lv_template *t = tr->tmpl;
    for (uint32_t i = 0; i < t->nfields; i++) {
        const lv_field *f = &t->fields[i];
        if (offset < (size_t)f->offset + f->size && (size_t)f->offset < offset + size)
            tr->touched |= field_bit(i);
    }
}

void lv_rendered_touch(lv_rendered *rd, size_t offset, size_t size)
{
    touch_tree(&rd->tree, offset, size);
}

void lv_rendered_touch_all(lv_rendered *rd)
{
    rd->tree.have_snapshot = false; /* as at the first render, but against what the client holds */
}

void lv_rendered_reset(lv_rendered *rd)
{
    drop_root(&rd->tree);
    rd->tree.have_snapshot = false;
    free_lives(rd, true); /* the client's component cache goes with the tree */
    free(rd->title);
    rd->title = NULL;
}

static bool field_ok(const rtree *tr, const lv_field *f)
{
    return (size_t)f->offset + f->size <= tr->state_size;
}

static uint64_t changed_fields(const rtree *tr, const unsigned char *now)
{
    uint64_t mask = tr->touched;
    const lv_template *t = tr->tmpl;
    for (uint32_t i = 0; i < t->nfields; i++) {
        const lv_field *f = &t->fields[i];
        if (field_ok(tr, f) && !(mask & field_bit(i)) &&
            memcmp(now + f->offset, tr->snapshot + f->offset, f->size) != 0)
            mask |= field_bit(i);
    }
    return mask;
}

/* Brings the snapshot up to date: only the fields that changed are copied. */
static void update_snapshot(rtree *tr, const unsigned char *now, uint64_t changed, bool all)
{
    if (all) {
        memcpy(tr->snapshot, now, tr->state_size);
        return;
    }
    const lv_template *t = tr->tmpl;
    for (uint32_t i = 0; i < t->nfields; i++) {
        const lv_field *f = &t->fields[i];
        if ((changed & field_bit(i)) && field_ok(tr, f))
            memcpy(tr->snapshot + f->offset, now + f->offset, f->size);
    }
}

/* Leaves a consistent tree after a render that stopped half-way (generated code and statics
 * disagreeing, or running out of memory): open comprehensions keep the items built so far. */
static void unwind(lv_r *r)
{
    for (int i = r->depth - 1; i >= 0; i--)
        if (r->frames[i].kind == F_COMP)
            finish_comp(r->frames[i].comp);
    r->depth = 0;
}

/* One render pass over one tree: the view's, or a stateful component's (nested passes). */
static int render_tree(lv_rendered *rd, rtree *tr, const void *state, bool everything, int64_t myself,
                       int nesting)
{
    lv_r r;
    memset(&r, 0, offsetof(lv_r, frames));
    r.rd = rd;
    r.tr = tr;
    r.myself = myself;
    r.nesting = nesting;
    r.state = state;
    r.snapshot = tr->snapshot;
    r.state_size = tr->state_size;
    r.touched = tr->touched;
    r.first = everything || tr->root == NULL || !tr->have_snapshot;
    r.changed = r.first ? ~(uint64_t)0 : changed_fields(tr, state);
    r.may_skip = !r.first && r.touched == 0;
    if (r.changed == 0)
        return 0; /* nothing the template reads changed */
    tr->tmpl->render(&r, state);
    if (r.depth != 0 || r.in_title)
        r.failed = true;
    unwind(&r);
    lv_buf_free(&r.title);
    update_snapshot(tr, state, r.changed, r.first);
    tr->have_snapshot = true;
    tr->touched = 0;
    return r.failed || tr->root == NULL ? LV_EINVAL : 0;
}

/* ---- stateful components ---- */

#define MAX_NESTING 8

static uint32_t live_hash(const lv_template *t, int64_t ikey)
{
    return (uint32_t)hash_key(ikey ^ (int64_t)(uintptr_t)t);
}

static bool live_index_build(lv_rendered *rd)
{
    uint32_t cap = 16;
    while (cap < rd->lives->n * 2 + 2)
        cap *= 2;
    uint32_t *idx = malloc(cap * sizeof(uint32_t));
    if (idx == NULL)
        return false;
    memset(idx, 0xff, cap * sizeof(uint32_t));
    for (uint32_t i = 0; i < rd->lives->n; i++) {
        uint32_t h = live_hash(rd->lives->v[i]->tmpl, rd->lives->v[i]->ikey) & (cap - 1);
        while (idx[h] != NO_INDEX)
            h = (h + 1) & (cap - 1);
        idx[h] = i;
    }
    free(rd->lives->index);
    rd->lives->index = idx;
    rd->lives->index_cap = cap;
    return true;
}

static rlive *live_find(lv_rendered *rd, const lv_template *t, int64_t ikey, const char *skey)
{
    if (rd->lives->index == NULL)
        return NULL;
    uint32_t mask = rd->lives->index_cap - 1;
    for (uint32_t h = live_hash(t, ikey) & mask; rd->lives->index[h] != NO_INDEX; h = (h + 1) & mask) {
        rlive *c = rd->lives->v[rd->lives->index[h]];
        if (c->tmpl == t && c->ikey == ikey &&
            (skey ? c->skey && strcmp(c->skey, skey) == 0 : c->skey == NULL))
            return c;
    }
    return NULL;
}

/* The component list, made writable on the first component. */
static rlives *lives_of(lv_rendered *rd)
{
    if (rd->lives == &no_lives) {
        rlives *l = calloc(1, sizeof(*l));
        if (l == NULL)
            return NULL;
        rd->lives = l;
    }
    return rd->lives;
}

static rlive *live_new(lv_rendered *rd, const lv_template *t, int64_t ikey, const char *skey)
{
    if (lives_of(rd) == NULL)
        return NULL;
    if (rd->lives->n == rd->lives->cap) {
        uint32_t cap = rd->lives->cap ? rd->lives->cap * 2 : 4;
        rlive **lives = realloc(rd->lives->v, cap * sizeof(rlive *));
        if (lives == NULL)
            return NULL;
        rd->lives->v = lives;
        rd->lives->cap = cap;
    }
    rlive *c = calloc(1, sizeof(rlive));
    char *k = skey ? strdup(skey) : NULL;
    if (c == NULL || (skey && k == NULL)) {
        free(c);
        free(k);
        return NULL;
    }
    c->cid = ++rd->lives->last_cid;
    c->tmpl = t;
    c->ikey = ikey;
    c->skey = k;
    c->tree.tmpl = t;
    rd->lives->v[rd->lives->n++] = c;
    if (rd->lives->n * 2 > rd->lives->index_cap) {
        if (!live_index_build(rd)) {
            rd->lives->n--;
            free(c->skey);
            free(c);
            return NULL;
        }
    } else {
        uint32_t mask = rd->lives->index_cap - 1, h = live_hash(t, ikey) & mask;
        while (rd->lives->index[h] != NO_INDEX)
            h = (h + 1) & mask;
        rd->lives->index[h] = rd->lives->n - 1;
    }
    return c;
}

static void live(lv_r *r, const lv_template *t, const void *state, size_t size, int64_t ikey,
                 const char *skey)
{
    rslot *s = current_slot(r);
    if (s == NULL)
        return;
    lv_rendered *rd = r->rd;
    if (t == NULL || state == NULL || r->nesting >= MAX_NESTING) {
        r->failed = true;
        return;
    }
    rlive *c = live_find(rd, t, ikey, skey);
    if (c == NULL && (c = live_new(rd, t, ikey, skey)) == NULL) {
        r->failed = true;
        return;
    }
    if (c->tree.snapshot == NULL || c->tree.state_size != size) {
        unsigned char *snap = realloc(c->tree.snapshot, size ? size : 1);
        if (snap == NULL) {
            r->failed = true;
            return;
        }
        c->tree.snapshot = snap;
        c->tree.state_size = size;
        c->tree.have_snapshot = false;
    }
    c->state = state;
    c->pass = rd->lives->pass;
    if (render_tree(rd, &c->tree, state, r->first, c->cid, r->nesting + 1) != 0)
        r->failed = true;
    if (s->kind == S_LIVE && s->live == c)
        return;
    clear_slot(s);
    s->kind = S_LIVE;
    s->live = c;
    c->refs++;
    s->changed = true;
    mark_dirty(r);
}

void lv_r_live_i64(lv_r *r, const lv_template *t, const void *state, size_t size, int64_t id)
{
    live(r, t, state, size, id, NULL);
}

void lv_r_live_str(lv_r *r, const lv_template *t, const void *state, size_t size, const char *id)
{
    if (id == NULL)
        id = "";
    live(r, t, state, size, str_hash(id), id);
}

int64_t lv_r_myself(const lv_r *r)
{
    return r->myself;
}

/* Components whose slots were not evaluated this pass may still have changed (state behind a
 * pointer the view's fields do not show): each is compared with its own snapshot. */
static int render_lives(lv_rendered *rd, bool everything)
{
    int err = 0;
    for (uint32_t i = 0; i < rd->lives->n; i++) { /* rendering may add components: nlives is re-read */
        rlive *c = rd->lives->v[i];
        if (c->refs == 0 || c->pass == rd->lives->pass || c->state == NULL)
            continue;
        c->pass = rd->lives->pass;
        if (render_tree(rd, &c->tree, c->state, everything, c->cid, 1) != 0)
            err = LV_EINVAL;
    }
    return err;
}

int lv_rendered_component(const lv_rendered *rd, int64_t cid, const lv_template **tmpl, const void **state)
{
    for (uint32_t i = 0; i < rd->lives->n; i++)
        if (rd->lives->v[i]->cid == cid) {
            if (tmpl)
                *tmpl = rd->lives->v[i]->tmpl;
            if (state)
                *state = rd->lives->v[i]->state;
            return 0;
        }
    return LV_ENOTFOUND;
}

void lv_rendered_touch_component(lv_rendered *rd, int64_t cid)
{
    for (uint32_t i = 0; i < rd->lives->n; i++)
        if (rd->lives->v[i]->cid == cid)
            rd->lives->v[i]->tree.touched = ~(uint64_t)0;
}

size_t lv_rendered_cids_destroyed(lv_rendered *rd, const int64_t *cids, size_t n, int64_t *out)
{
    size_t gone = 0;
    for (size_t k = 0; k < n; k++) {
        for (uint32_t i = 0; i < rd->lives->n; i++) {
            rlive *c = rd->lives->v[i];
            if (c->cid != cids[k] || c->refs != 0)
                continue;
            free_node(c->tree.root); /* drops what it showed of other components */
            free(c->tree.snapshot);
            free(c->skey);
            free(c);
            memmove(&rd->lives->v[i], &rd->lives->v[i + 1], (rd->lives->n - i - 1) * sizeof(rlive *));
            rd->lives->n--;
            if (out)
                out[gone] = cids[k];
            gone++;
            break;
        }
    }
    if (gone && !live_index_build(rd)) { /* positions moved; without an index, lookups create anew */
        free(rd->lives->index);
        rd->lives->index = NULL;
        rd->lives->index_cap = 0;
    }
    return gone;
}

/* ---- the whole view: render, then write ---- */

static int render(lv_rendered *rd, const void *state, bool everything)
{
    if (rd->lives != &no_lives)
        rd->lives->pass++;
    int err = render_tree(rd, &rd->tree, state, everything, 0, 0);
    int lerr = rd->lives->n ? render_lives(rd, everything) : 0;
    return err ? err : lerr;
}

static void rollback(lv_buf *json, size_t len)
{
    json->len = len;
    if (json->data)
        json->data[len] = '\0';
}

/* The title went out (or needs not): the template's <title> rules again from the next render. */
static void title_sent(lv_rendered *rd)
{
    if (rd->title)
        rd->title->changed = rd->title->pinned = false;
}

static void put_title(lv_rendered *rd, lv_buf *json, bool always)
{
    if (rd->title && (always || rd->title->changed)) {
        lv_buf_puts(json, ",\"t\":");
        lv_buf_put_json_str(json, rd->title->text, rd->title->len);
    }
    title_sent(rd);
}

/* What one write of a tree or diff shares: templates repeated in a scope ("p"), and the root
 * statics of components the client holds (by cid). On the stack: nothing between renders. */
typedef struct writer {
    lv_share sh;
    lv_share_cids cids;
    bool full; /* a whole tree: the client's component cache restarts from this one */
} writer;

static void writer_init(writer *w, bool full)
{
    lv_share_init(&w->sh);
    lv_share_cids_init(&w->cids);
    w->full = full;
}

static void writer_free(writer *w)
{
    lv_share_free(&w->sh);
    lv_share_cids_free(&w->cids);
}

/* The cid whose statics a component with root template t can borrow, or 0. In a diff, the
 * client's cache counts too: components it holds (not changing template in this diff) and still
 * shown, as one being destroyed may leave its cache. */
static int64_t shared_cid(lv_rendered *rd, writer *w, const lv_tmpl *t)
{
    if (!w->full && !w->cids.primed) {
        w->cids.primed = true;
        for (uint32_t i = 0; i < rd->lives->n; i++) {
            rlive *c = rd->lives->v[i];
            if (c->refs > 0 && c->tree.root && !c->tree.root_fresh)
                lv_share_cids_add(&w->cids, c->tree.root->t, -c->cid); /* no room: just not shared */
        }
    }
    return lv_share_cids_find(&w->cids, t);
}

/* A component's node under "c": whole when the client does not have it, with its statics
 * (and "r":1, the client's cue to tag its root element with the cid) or, when another cid has
 * the same root template, "s": that cid: the client clones that cid's tree, and every slot is
 * written whole over the clone. Else its changed slots. Returns false, writing nothing, when
 * nothing changed. */
static bool write_live(lv_rendered *rd, writer *w, lv_buf *json, rlive *c, bool *first)
{
    rnode *root = c->tree.root;
    if (root == NULL || c->refs == 0) {
        if (root && w->full)
            c->tree.root_fresh = true; /* not in the client's new cache: whole when shown again */
        return false;
    }
    bool whole = w->full || c->tree.root_fresh;
    if (!whole && !root->dirty)
        return false;
    size_t start = json->len;
    lv_buf_putc(json, *first ? '"' : ',');
    if (!*first)
        lv_buf_putc(json, '"');
    lv_buf_put_i64(json, c->cid);
    lv_buf_puts(json, "\":{");
    lv_share_scope_begin(&w->sh, json);
    bool inner_first = true;
    if (whole) {
        int64_t from = shared_cid(rd, w, root->t);
        if (from != 0) {
            lv_buf_puts(json, "\"s\":");
            lv_buf_put_i64(json, from);
        } else {
            lv_share_put_statics(json, root->t);
            lv_share_cids_add(&w->cids, root->t, c->cid); /* no room: just not shared */
        }
        inner_first = false;
        write_slots_full(json, &w->sh, root->slots, root->nslots, &inner_first);
        if (from == 0)
            lv_buf_puts(json, ",\"r\":1"); /* a clone has the "r" of the tree it copies */
    } else {
        write_slots_diff(json, &w->sh, root->slots, root->nslots, &inner_first);
    }
    lv_share_scope_end(&w->sh, json);
    lv_buf_putc(json, '}');
    root->dirty = c->tree.root_fresh = false;
    if (inner_first) { /* marked, but every value ended equal to the client's */
        rollback(json, start);
        return false;
    }
    *first = false;
    return true;
}

static void put_lives(lv_rendered *rd, writer *w, lv_buf *json, bool comma)
{
    if (rd->lives->n == 0)
        return;
    size_t start = json->len;
    lv_buf_puts(json, comma ? ",\"c\":{" : "\"c\":{");
    bool first = true;
    for (uint32_t i = 0; i < rd->lives->n; i++)
        write_live(rd, w, json, rd->lives->v[i], &first);
    if (first)
        rollback(json, start);
    else
        lv_buf_putc(json, '}');
}

static void write_full(lv_rendered *rd, lv_buf *json)
{
    writer w;
    writer_init(&w, true);
    rnode *root = rd->tree.root;
    lv_buf_putc(json, '{');
    lv_share_put_statics(json, root->t);
    lv_share_scope_begin(&w.sh, json);
    bool first = false;
    write_slots_full(json, &w.sh, root->slots, root->nslots, &first);
    lv_share_scope_end(&w.sh, json);
    put_lives(rd, &w, json, true);
    put_title(rd, json, true);
    lv_buf_putc(json, '}');
    root->dirty = rd->tree.root_fresh = false;
    writer_free(&w);
}

int lv_rendered_full(lv_rendered *rd, const void *state, lv_buf *json)
{
    int err = render(rd, state, true);
    if (err)
        return err;
    write_full(rd, json);
    return lv_buf_ok(json) ? 0 : LV_ENOMEM;
}

int lv_rendered_diff(lv_rendered *rd, const void *state, lv_buf *json)
{
    int err = render(rd, state, false);
    if (err)
        return err;
    rnode *root = rd->tree.root;
    if (rd->tree.root_fresh) {
        write_full(rd, json);
        return lv_buf_ok(json) ? 0 : LV_ENOMEM;
    }
    writer w;
    writer_init(&w, false);
    size_t start = json->len;
    bool first = true;
    lv_buf_putc(json, '{');
    if (root->dirty) {
        lv_share_scope_begin(&w.sh, json);
        write_slots_diff(json, &w.sh, root->slots, root->nslots, &first);
        lv_share_scope_end(&w.sh, json);
    }
    root->dirty = false;
    size_t before = json->len;
    put_lives(rd, &w, json, !first);
    first = first && json->len == before;
    writer_free(&w);
    if (rd->title && rd->title->changed) {
        lv_buf_puts(json, first ? "\"t\":" : ",\"t\":");
        lv_buf_put_json_str(json, rd->title->text, rd->title->len);
        first = false;
    }
    title_sent(rd);
    lv_buf_putc(json, '}');
    if (first) /* nothing the client shows changed */
        rollback(json, start);
    return lv_buf_ok(json) ? 0 : LV_ENOMEM;
}

int lv_rendered_html(const lv_rendered *rd, const char *view_id, lv_buf *html)
{
    if (rd->tree.root == NULL)
        return LV_EINVAL;
    html_slots(html, rd->tree.root->t, rd->tree.root->slots, view_id);
    return lv_buf_ok(html) ? 0 : LV_ENOMEM;
}

const char *lv_rendered_title(const lv_rendered *rd)
{
    return rd->title ? rd->title->text : NULL;
}

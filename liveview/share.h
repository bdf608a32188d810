/* Statics sent once per template: the bookkeeping behind the "p" templates and the integer "s"
 * of components (PROTOCOL.md section 4), used by render.c while it writes a tree or a diff.
 * Everything lives for one write, on the writer's stack: nothing is kept between renders and
 * nothing is allocated unless a write holds more new nodes or component templates than the
 * inline room (so a click's diff, which holds none, costs nothing here). */
#ifndef LV_SHARE_H
#define LV_SHARE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "liveview/buf.h"
#include "liveview/render.h"

#define LV_SHARE_INLINE 16

/* One "s":[...] written inline: where it is in the output, and whose statics it holds. */
typedef struct lv_share_rec {
    const lv_tmpl *t;
    size_t at, len;
} lv_share_rec;

/* A scope is what one "p" serves: the view's tree, or one component's node (the official client
 * reads a component's statics against the component's own "p" only). New nodes inside a scope
 * are first written with their statics inline; when the scope closes, the templates that occur
 * more than once move to the scope's "p" and each of their nodes says "s":<index>. */
typedef struct lv_share {
    lv_share_rec *recs;
    uint32_t nrecs, cap;
    size_t scope_at; /* where the scope's first record may start */
    lv_share_rec inline_recs[LV_SHARE_INLINE];
    bool failed;
} lv_share;

void lv_share_init(lv_share *sh);
void lv_share_free(lv_share *sh);
/* Writes `"s":[statics]` for a node that is not a scope's root, and records it. */
void lv_share_statics(lv_share *sh, lv_buf *out, const lv_tmpl *t);
/* Writes `"s":[statics]` for a scope's root: never shared through "p". */
void lv_share_put_statics(lv_buf *out, const lv_tmpl *t);
void lv_share_scope_begin(lv_share *sh, const lv_buf *out);
/* Ends the scope whose object is open at the end of out (its closing '}' not written yet):
 * rewrites repeated statics as indexes and appends `,"p":{...}`. Out of memory, the statics
 * stay inline: the output is as correct, only longer. */
void lv_share_scope_end(lv_share *sh, lv_buf *out);

/* Components whose statics the client holds, by root template: a component whose root
 * template is already there is sent with "s": the cid it shares them with (positive: a
 * component of this diff, negative: one the client has from before). */
typedef struct lv_share_cid {
    const lv_tmpl *t;
    int64_t cid;
} lv_share_cid;

typedef struct lv_share_cids {
    lv_share_cid *v;
    uint32_t n, cap;
    bool primed; /* the client's cached components were added */
    lv_share_cid inline_v[8];
} lv_share_cids;

void lv_share_cids_init(lv_share_cids *m);
void lv_share_cids_free(lv_share_cids *m);
/* The cid that shares t's statics, or 0. */
int64_t lv_share_cids_find(const lv_share_cids *m, const lv_tmpl *t);
/* Records that the client holds t's statics under cid (first one kept). Returns 0 or LV_ENOMEM. */
int lv_share_cids_add(lv_share_cids *m, const lv_tmpl *t, int64_t cid);

#endif

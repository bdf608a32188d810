/* Statics sent once per template within a tree or diff ("p" templates) and components sharing
 * their root statics by cid (integer "s"); see share.h. The "p" pass runs only when a scope
 * holds two or more new nodes, and rewrites only from the first one on. */
#include "liveview/share.h"

#include <stdlib.h>
#include <string.h>

#include "liveview/error.h"

void lv_share_init(lv_share *sh)
{
    sh->recs = sh->inline_recs;
    sh->nrecs = 0;
    sh->cap = LV_SHARE_INLINE;
    sh->scope_at = 0;
    sh->failed = false;
}

void lv_share_free(lv_share *sh)
{
    if (sh->recs != sh->inline_recs)
        free(sh->recs);
    lv_share_init(sh);
}

static void put_array(lv_buf *out, const lv_tmpl *t)
{
    lv_buf_putc(out, '[');
    for (uint32_t i = 0; i < t->nstatics; i++) {
        if (i)
            lv_buf_putc(out, ',');
        lv_buf_put_json_str(out, t->statics[i], strlen(t->statics[i]));
    }
    lv_buf_putc(out, ']');
}

void lv_share_put_statics(lv_buf *out, const lv_tmpl *t)
{
    lv_buf_puts(out, "\"s\":");
    put_array(out, t);
}

void lv_share_statics(lv_share *sh, lv_buf *out, const lv_tmpl *t)
{
    size_t at = out->len;
    lv_share_put_statics(out, t);
    if (sh->nrecs == sh->cap) {
        uint32_t cap = sh->cap * 2;
        lv_share_rec *r = sh->recs == sh->inline_recs ? malloc(cap * sizeof(*r))
                                                      : realloc(sh->recs, cap * sizeof(*r));
        if (r == NULL) {
            sh->failed = true; /* this node keeps its inline statics: correct, only longer */
            return;
        }
        if (sh->recs == sh->inline_recs)
            memcpy(r, sh->inline_recs, sizeof(sh->inline_recs));
        sh->recs = r;
        sh->cap = cap;
    }
    sh->recs[sh->nrecs++] = (lv_share_rec){t, at, out->len - at};
}

void lv_share_scope_begin(lv_share *sh, const lv_buf *out)
{
    sh->nrecs = 0;
    sh->scope_at = out->len;
}

/* Index in the scope's "p" of each of the n records' template, or UINT32_MAX for a template that occurs
 * once (it stays inline). Returns how many templates go to "p". */
static uint32_t number(const lv_share *sh, uint32_t n, uint32_t *idx, const lv_tmpl **first_of)
{
    uint32_t cap = 16, ntemplates = 0;
    while (cap < 2 * n)
        cap *= 2;
    /* open addressing over template pointers: slot -> first record holding that template */
    uint32_t *slot = malloc(cap * sizeof(uint32_t));
    if (slot == NULL)
        return 0;
    memset(slot, 0xff, cap * sizeof(uint32_t));
    for (uint32_t i = 0; i < n; i++) {
        uintptr_t key = (uintptr_t)sh->recs[i].t;
        uint32_t h = (uint32_t)((key >> 4) * 0x9e3779b9u) & (cap - 1);
        while (slot[h] != UINT32_MAX && sh->recs[slot[h]].t != sh->recs[i].t)
            h = (h + 1) & (cap - 1);
        idx[i] = UINT32_MAX;
        if (slot[h] == UINT32_MAX) {
            slot[h] = i;
            continue;
        }
        uint32_t first = slot[h];
        if (idx[first] == UINT32_MAX) { /* its second occurrence: the template gets an index */
            idx[first] = ntemplates;
            first_of[ntemplates++] = sh->recs[first].t;
        }
        idx[i] = idx[first];
    }
    free(slot);
    return ntemplates;
}

void lv_share_scope_end(lv_share *sh, lv_buf *out)
{
    uint32_t n = sh->nrecs;
    sh->nrecs = 0;
    if (n < 2 || !lv_buf_ok(out))
        return;
    uint32_t *idx = malloc(n * sizeof(uint32_t));
    const lv_tmpl **templates = malloc(n * sizeof(*templates));
    uint32_t ntemplates = idx && templates ? number(sh, n, idx, templates) : 0; /* 0: all stay inline */
    if (ntemplates > 0) {
        lv_share_rec *recs = sh->recs;
        size_t from = recs[0].at;
        lv_buf tail = LV_BUF_INIT;
        size_t at = from;
        for (uint32_t i = 0; i < n; i++) {
            lv_buf_append(&tail, out->data + at, recs[i].at - at);
            if (idx[i] == UINT32_MAX) {
                lv_buf_append(&tail, out->data + recs[i].at, recs[i].len);
            } else {
                lv_buf_puts(&tail, "\"s\":");
                lv_buf_put_u64(&tail, idx[i]);
            }
            at = recs[i].at + recs[i].len;
        }
        lv_buf_append(&tail, out->data + at, out->len - at);
        lv_buf_puts(&tail, ",\"p\":{");
        for (uint32_t k = 0; k < ntemplates; k++) {
            lv_buf_puts(&tail, k ? ",\"" : "\"");
            lv_buf_put_u64(&tail, k);
            lv_buf_puts(&tail, "\":");
            put_array(&tail, templates[k]);
        }
        lv_buf_putc(&tail, '}');
        if (lv_buf_ok(&tail)) {
            out->len = from;
            lv_buf_append(out, tail.data, tail.len);
        }
        lv_buf_free(&tail);
    }
    free(idx);
    free(templates);
}

void lv_share_cids_init(lv_share_cids *m)
{
    m->v = m->inline_v;
    m->n = 0;
    m->cap = sizeof(m->inline_v) / sizeof(m->inline_v[0]);
    m->primed = false;
}

void lv_share_cids_free(lv_share_cids *m)
{
    if (m->v != m->inline_v)
        free(m->v);
    lv_share_cids_init(m);
}

/* A view has few component templates: a scan beats hashing. */
int64_t lv_share_cids_find(const lv_share_cids *m, const lv_tmpl *t)
{
    for (uint32_t i = 0; i < m->n; i++)
        if (m->v[i].t == t)
            return m->v[i].cid;
    return 0;
}

int lv_share_cids_add(lv_share_cids *m, const lv_tmpl *t, int64_t cid)
{
    if (lv_share_cids_find(m, t) != 0)
        return 0;
    if (m->n == m->cap) {
        uint32_t cap = m->cap * 2;
        lv_share_cid *v = m->v == m->inline_v ? malloc(cap * sizeof(*v)) : realloc(m->v, cap * sizeof(*v));
        if (v == NULL)
            return LV_ENOMEM;
        if (m->v == m->inline_v)
            memcpy(v, m->inline_v, sizeof(m->inline_v));
        m->v = v;
        m->cap = cap;
    }
    m->v[m->n++] = (lv_share_cid){t, cid};
    return 0;
}

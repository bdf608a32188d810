/* Per-process arena: size classes over 16 KiB chunks, large blocks individually mapped
 * through malloc. Each block carries an 8-byte header with its class so lv_arena_free needs
 * no size argument. */
#include "liveview/arena.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define FIRST_CHUNK 128u
#define MAX_CHUNK   16384u
#define BIG_CLASS   0xffu

struct lv__chunk {
    struct lv__chunk *next;
    char data[];
};

struct lv__big {
    struct lv__big *next, *prev;
    size_t size;
    uint64_t header; /* must stay last: the payload follows it, like a small block's header */
};

static int size_class(size_t size)
{
    size_t c = 16;
    for (int i = 0; i < LV_ARENA_CLASSES; i++, c <<= 1)
        if (size <= c)
            return i;
    return -1;
}

void lv_arena_init(lv_arena *a, size_t limit)
{
    memset(a, 0, sizeof(*a));
    a->limit = limit;
}

void lv_arena_dispose(lv_arena *a)
{
    for (struct lv__chunk *c = a->chunks, *n; c; c = n) {
        n = c->next;
        free(c);
    }
    for (struct lv__big *b = a->bigs, *n; b; b = n) {
        n = b->next;
        free(b);
    }
    lv_arena_init(a, a->limit);
}

bool lv_arena_over_limit(const lv_arena *a, size_t more)
{
    return a->limit != 0 && a->used + more > a->limit;
}

static void *alloc_big(lv_arena *a, size_t size)
{
    struct lv__big *b = malloc(sizeof(*b) + size);
    if (b == NULL)
        return NULL;
    b->size = size;
    b->header = BIG_CLASS;
    b->prev = NULL;
    b->next = a->bigs;
    if (a->bigs)
        a->bigs->prev = b;
    a->bigs = b;
    a->used += size + sizeof(*b);
    a->reserved += size + sizeof(*b);
    return b + 1;
}

void *lv_arena_alloc_tracked(lv_arena *a, size_t size)
{
    if (lv_arena_over_limit(a, size + sizeof(struct lv__big)))
        return NULL;
    return alloc_big(a, size);
}

void *lv_arena_alloc(lv_arena *a, size_t size)
{
    int cls = size_class(size);
    size_t need = (cls < 0 ? size + sizeof(struct lv__big) : ((size_t)16 << cls) + 8);
    if (lv_arena_over_limit(a, need))
        return NULL;
    if (cls < 0)
        return alloc_big(a, size);
    void *p = a->free[cls];
    if (p != NULL) {
        memcpy(&a->free[cls], p, sizeof(void *));
    } else {
        size_t block = ((size_t)16 << cls) + 8;
        if (a->cur == NULL || (size_t)(a->end - a->cur) < block) {
            size_t csize = a->next_chunk ? a->next_chunk : FIRST_CHUNK;
            while (csize < block)
                csize *= 2;
            a->next_chunk = csize < MAX_CHUNK ? csize * 2 : MAX_CHUNK;
            struct lv__chunk *c = malloc(sizeof(*c) + csize);
            if (c == NULL)
                return NULL;
            c->next = a->chunks;
            a->chunks = c;
            a->cur = c->data;
            a->end = c->data + csize;
            a->reserved += csize;
        }
        uint64_t hdr = (uint64_t)cls;
        memcpy(a->cur, &hdr, 8);
        p = a->cur + 8;
        a->cur += block;
    }
    a->used += ((size_t)16 << cls) + 8;
    return p;
}

static uint64_t header_of(void *p)
{
    uint64_t h;
    memcpy(&h, (char *)p - 8, 8);
    return h;
}

void lv_arena_free(lv_arena *a, void *p)
{
    if (p == NULL)
        return;
    uint64_t cls = header_of(p);
    if (cls == BIG_CLASS) {
        struct lv__big *b = (struct lv__big *)p - 1;
        if (b->prev)
            b->prev->next = b->next;
        else
            a->bigs = b->next;
        if (b->next)
            b->next->prev = b->prev;
        a->used -= b->size + sizeof(*b);
        a->reserved -= b->size + sizeof(*b);
        free(b);
        return;
    }
    memcpy(p, &a->free[cls], sizeof(void *));
    a->free[cls] = p;
    a->used -= ((size_t)16 << cls) + 8;
}

void *lv_arena_realloc(lv_arena *a, void *p, size_t size)
{
    if (p == NULL)
        return lv_arena_alloc(a, size);
    uint64_t cls = header_of(p);
    size_t have = cls == BIG_CLASS ? ((struct lv__big *)p - 1)->size : (size_t)16 << cls;
    if (size <= have)
        return p;
    void *n = lv_arena_alloc(a, size);
    if (n == NULL)
        return NULL;
    memcpy(n, p, have);
    lv_arena_free(a, p);
    return n;
}

/* lv_arena: the memory a process owns. Blocks are carved from chunks and recycled through
 * size-class free lists; lv_arena_dispose releases everything at once when the process ends,
 * so a crash frees what the process allocated. Not thread-safe: only the owner allocates. */
#ifndef LV_ARENA_H
#define LV_ARENA_H

#include <stdbool.h>
#include <stddef.h>

#define LV_ARENA_CLASSES 9 /* 16, 32, ..., 4096 bytes; larger blocks are allocated one by one */

typedef struct lv_arena {
    struct lv__chunk *chunks; /* carved chunks */
    struct lv__big *bigs;     /* large blocks, doubly linked */
    void *free[LV_ARENA_CLASSES];
    char *cur, *end;   /* bump region of the newest chunk */
    size_t used;       /* bytes handed out, headers included */
    size_t reserved;   /* bytes taken from the system */
    size_t limit;      /* 0 = none */
    size_t next_chunk; /* chunks start small so an idle process stays cheap */
} lv_arena;

void lv_arena_init(lv_arena *a, size_t limit);
void lv_arena_dispose(lv_arena *a);
/* NULL when out of memory or over the limit (the caller decides whether that is a crash). */
void *lv_arena_alloc(lv_arena *a, size_t size);
void *lv_arena_realloc(lv_arena *a, void *p, size_t size);
/* A block of its own (malloc'd, linked into the arena): short-lived data whose memory should
 * return to the system when freed, yet still die with the arena. lv_arena_free takes it. */
void *lv_arena_alloc_tracked(lv_arena *a, size_t size);
void lv_arena_free(lv_arena *a, void *p);
/* True when the last failure was the limit, not the system. */
bool lv_arena_over_limit(const lv_arena *a, size_t more);

#endif

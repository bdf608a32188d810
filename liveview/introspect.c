/* Introspection: process lists, top by CPU in the last second, backtraces (taken by the owning
 * scheduler, or by its signal handler while the process runs) and message traces. Everything
 * read across threads is either immutable after spawn or an atomic the owner publishes. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define UNW_LOCAL_ONLY
#include <libunwind.h>

#include "liveview/rt_internal.h"

extern const char __start_lvrt[] __attribute__((weak));
extern const char __stop_lvrt[] __attribute__((weak));

/* Owner side: after each dispatch. CPU is kept in buckets of 2^30 ns (1.07 s: a shift, not a
 * division, on every dispatch) for "the last second". */
#define LV__BUCKET_SHIFT 30

/* lv_proc.st_memory in 32 bits: bytes below 2 GiB, above that 4 KiB units (rounded up) with the
 * top bit set, which reaches 8 TiB (the heap limit goes to 1 TiB). */
#define LV__MEM_PAGES ((uint32_t)1 << 31)
static uint32_t mem_pack(size_t bytes)
{
    if (bytes < LV__MEM_PAGES)
        return (uint32_t)bytes;
    size_t pages = (bytes + 4095) / 4096;
    return LV__MEM_PAGES | (uint32_t)(pages < LV__MEM_PAGES ? pages : LV__MEM_PAGES - 1);
}

static size_t mem_unpack(uint32_t v)
{
    return v & LV__MEM_PAGES ? (size_t)(v & ~LV__MEM_PAGES) * 4096 : v;
}

void lv__proc_account(lv_proc *p, uint64_t ran_ns, uint64_t now_ns)
{
    uint32_t sec = (uint32_t)(now_ns >> LV__BUCKET_SHIFT); /* wraps after 146 years */
    atomic_fetch_add_explicit(&p->st_reductions, 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&p->st_cpu_ns, ran_ns, memory_order_relaxed);
    uint32_t cur_sec = atomic_load_explicit(&p->st_cpu_sec, memory_order_relaxed);
    uint64_t cur = atomic_load_explicit(&p->st_cpu_cur_ns, memory_order_relaxed);
    if (cur_sec != sec) {
        atomic_store_explicit(&p->st_cpu_prev_ns, cur_sec + 1 == sec ? (uint32_t)cur : 0, memory_order_relaxed);
        atomic_store_explicit(&p->st_cpu_sec, sec, memory_order_relaxed);
        cur = 0;
    }
    /* only the owner writes: saturate rather than wrap (4.3 s in one bucket reads as 1 s anyway) */
    cur += ran_ns;
    atomic_store_explicit(&p->st_cpu_cur_ns, cur < UINT32_MAX ? (uint32_t)cur : UINT32_MAX, memory_order_relaxed);
    if (p->arena != NULL && p->arena->reserved == 0) { /* idle processes hold no arena header */
        free(p->arena);
        p->arena = NULL;
    }
    /* a held stack counts by its used depth (to the saved stack pointer), not its mapping */
    size_t stack = 0;
    if (p->stack && p->stack->ctx) {
        uintptr_t top = (uintptr_t)p->stack->base + p->stack->size, sp = (uintptr_t)p->stack->ctx;
        stack = sp < top ? ((top - sp) + 4095) & ~(size_t)4095 : 0;
    }
    size_t mem = (p->arena ? sizeof(*p->arena) + p->arena->reserved : 0) + sizeof(*p) + p->hstate_size + stack;
    atomic_store_explicit(&p->st_memory, mem_pack(mem), memory_order_relaxed);
}

int lv_rt_schedulers(lv_rt *rt)
{
    return rt->nsched;
}

void lv_rt_sched_stats(lv_rt *rt, int index, lv_sched_stats *out)
{
    lv__sched *s = &rt->scheds[index];
    out->busy_ns = atomic_load_explicit(&s->busy_ns, memory_order_relaxed);
    out->preemptions = atomic_load_explicit(&s->preemptions, memory_order_relaxed);
    out->preempt_refused = atomic_load_explicit(&s->preempt_refused, memory_order_relaxed);
    out->handoffs = atomic_load_explicit(&s->handoffs, memory_order_relaxed);
}

size_t lv_rt_process_count(lv_rt *rt)
{
    return atomic_load(&rt->nprocs);
}

long long lv_rss_bytes(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    long long kb = -1;
    while (f && fgets(line, sizeof(line), f))
        if (sscanf(line, "VmRSS: %lld kB", &kb) == 1)
            break;
    if (f)
        fclose(f);
    return kb < 0 ? -1 : kb * 1024;
}

static void fill_info(lv_rt *rt, lv_proc *p, lv_proc_info *out)
{
    memset(out, 0, sizeof(*out));
    out->pid = p->pid;
    snprintf(out->name, sizeof(out->name), "%s", lv__proc_name(p));
    out->kind = atomic_load_explicit(&p->kind, memory_order_relaxed);
    out->scheduler = p->sched->index;
    out->mailbox = atomic_load_explicit(&p->st_mailbox, memory_order_relaxed);
    out->memory = mem_unpack(atomic_load_explicit(&p->st_memory, memory_order_relaxed));
    out->reductions = atomic_load_explicit(&p->st_reductions, memory_order_relaxed);
    uint64_t now = lv__now_ns();
    uint64_t running = 0;
    int state = atomic_load(&p->state);
    bool on_its_scheduler = atomic_load(&p->sched->running_pid) == p->pid;
    if (state == LV__RUNNING && on_its_scheduler) {
        uint64_t since = atomic_load(&p->sched->running_since_ns);
        running = since && since < now ? now - since : 0;
    }
    out->cpu_us = (atomic_load_explicit(&p->st_cpu_ns, memory_order_relaxed) + running) / 1000u;
    /* last second: the current bucket plus the part of the previous one still inside the window */
    const uint64_t len = (uint64_t)1 << LV__BUCKET_SHIFT;
    uint64_t sec = now >> LV__BUCKET_SHIFT, frac = now & (len - 1);
    uint32_t bucket_sec = atomic_load_explicit(&p->st_cpu_sec, memory_order_relaxed);
    uint64_t cur = atomic_load_explicit(&p->st_cpu_cur_ns, memory_order_relaxed);
    uint64_t prev = atomic_load_explicit(&p->st_cpu_prev_ns, memory_order_relaxed);
    uint64_t last = 0;
    if (bucket_sec == (uint32_t)sec)
        last = cur + prev * (len - frac) / len;
    else if (bucket_sec + 1 == (uint32_t)sec)
        last = cur * (len - frac) / len;
    last += running < 1000000000u ? running : 1000000000u;
    out->cpu_us_last_s = (last > 1000000000u ? 1000000000u : last) / 1000u;
    out->status =
        state == LV__RUNNING
            ? (on_its_scheduler || atomic_load(&p->preempted) != LV__BLOCKED ? "running" : "blocked")
        : state == LV__RUNNABLE ? (atomic_load(&p->preempted) == 1 ? "preempted" : "runnable")
                                : "waiting";
    (void)rt;
}

/* Calls fn for every live process under its stripe lock, so it cannot be freed meanwhile. */
static void each_proc(lv_rt *rt, void (*fn)(lv_rt *rt, lv_proc *p, void *ctx), void *ctx)
{
    uint32_t nslots = rt->nslots;
    for (uint32_t i = 0; i < nslots; i++) {
        lv__slot *chunk = atomic_load(&rt->chunks[i / LV__SLOT_CHUNK]);
        if (chunk == NULL)
            continue;
        pthread_mutex_t *lock = &rt->stripes[i % LV__STRIPES];
        pthread_mutex_lock(lock);
        lv_proc *p = lv__slot_proc(&chunk[i % LV__SLOT_CHUNK], memory_order_seq_cst);
        if (p != NULL && atomic_load(&p->state) != LV__DEAD)
            fn(rt, p, ctx);
        pthread_mutex_unlock(lock);
    }
}

typedef struct {
    lv_proc_info *items;
    size_t n, cap;
    bool oom;
} info_list;

static void collect(lv_rt *rt, lv_proc *p, void *ctx)
{
    info_list *l = ctx;
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 256;
        lv_proc_info *items = realloc(l->items, cap * sizeof(*items));
        if (items == NULL) {
            l->oom = true;
            return;
        }
        l->items = items;
        l->cap = cap;
    }
    fill_info(rt, p, &l->items[l->n++]);
}

int lv_rt_list(lv_rt *rt, lv_proc_info **out, size_t *n)
{
    info_list l = {0};
    each_proc(rt, collect, &l);
    if (l.oom) {
        free(l.items);
        return LV_ENOMEM;
    }
    *out = l.items;
    *n = l.n;
    return 0;
}

int lv_rt_info(lv_rt *rt, lv_pid pid, lv_proc_info *out)
{
    pthread_mutex_t *lock = NULL;
    lv__sched *cur = lv__current_sched();
    lv_proc *p = lv__lookup_locked(rt, pid, &lock);
    if (p == NULL)
        return LV_ENOPROC;
    fill_info(rt, p, out);
    if (lock)
        pthread_mutex_unlock(lock);
    (void)cur;
    return 0;
}

static int by_cpu(const void *a, const void *b)
{
    const lv_proc_info *x = a, *y = b;
    return x->cpu_us_last_s < y->cpu_us_last_s ? 1 : x->cpu_us_last_s > y->cpu_us_last_s ? -1 : 0;
}

int lv_rt_top(lv_rt *rt, lv_proc_info *out, size_t max, size_t *n)
{
    lv_proc_info *all;
    size_t count;
    int err = lv_rt_list(rt, &all, &count);
    if (err)
        return err;
    qsort(all, count, sizeof(*all), by_cpu);
    *n = count < max ? count : max;
    memcpy(out, all, *n * sizeof(*out));
    free(all);
    return 0;
}

/* ---- backtraces ---- */

void lv__query_release(lv__query *q)
{
    if (atomic_fetch_sub(&q->refs, 1) == 1)
        free(q);
}

/* Unwinds a process suspended in jump_fcontext: its saved registers sit at the context
 * pointer (mxcsr/x87, r12, r13, r14, r15, rbx, rbp, then the return address). */
static size_t unwind_suspended(lv_proc *p, void **frames, size_t max)
{
    const uint64_t *saved = p->stack->ctx;
    unw_context_t uc;
    unw_getcontext(&uc);
    uc.uc_mcontext.gregs[REG_R12] = (greg_t)saved[1];
    uc.uc_mcontext.gregs[REG_R13] = (greg_t)saved[2];
    uc.uc_mcontext.gregs[REG_R14] = (greg_t)saved[3];
    uc.uc_mcontext.gregs[REG_R15] = (greg_t)saved[4];
    uc.uc_mcontext.gregs[REG_RBX] = (greg_t)saved[5];
    uc.uc_mcontext.gregs[REG_RBP] = (greg_t)saved[6];
    uc.uc_mcontext.gregs[REG_RIP] = (greg_t)saved[7];
    uc.uc_mcontext.gregs[REG_RSP] = (greg_t)(uintptr_t)(saved + 8);
    return lv_fault_walk((ucontext_t *)&uc, false, frames, max);
}

/* Scheduler side: answers pending backtrace requests between dispatches. */
void lv__answer_queries(lv__sched *s)
{
    lv__query *q = atomic_exchange(&s->queries, NULL);
    while (q) {
        lv__query *next = q->next;
        if (!atomic_load(&q->done)) {
            pthread_mutex_t *lock;
            lv_proc *p = lv__lookup_locked(s->rt, q->pid, &lock);
            if (p == NULL)
                q->err = LV_ENOPROC;
            else if (p->stack != NULL && p != s->current)
                q->nframes = unwind_suspended(p, q->frames, LV_MAX_FRAMES);
            else
                q->nframes = 0; /* a handler process between messages holds no stack */
            if (lock)
                pthread_mutex_unlock(lock);
            lv__query *expected = q;
            atomic_compare_exchange_strong(&s->sample, &expected, NULL);
            atomic_store(&q->done, 1);
        }
        lv__query_release(q);
        q = next;
    }
}

static bool in_runtime(void *ip)
{
    return (const char *)ip >= __start_lvrt && (const char *)ip < __stop_lvrt;
}

int lv_rt_backtrace(lv_rt *rt, lv_pid pid, char *out, size_t cap, int timeout_ms)
{
    if (!lv_rt_alive(rt, pid))
        return LV_ENOPROC;
    int index = lv__pid_sched_index(rt, pid);
    if (index < 0 || index >= rt->nsched)
        return LV_ENOPROC;
    lv__sched *s = &rt->scheds[index];
    lv__query *q = calloc(1, sizeof(*q));
    if (q == NULL)
        return LV_ENOMEM;
    q->pid = pid;
    atomic_store(&q->refs, 3); /* the caller, the queue, and the signal slot */
    lv__query *head = atomic_load(&s->queries);
    do {
        q->next = head;
    } while (!atomic_compare_exchange_weak(&s->queries, &head, q));
    lv__query *none = NULL;
    bool sampled = atomic_compare_exchange_strong(&s->sample, &none, q);
    if (!sampled)
        atomic_fetch_sub(&q->refs, 1);
    if (rt->cfg.schedulers == 0 && s == lv__current_sched()) {
        lv__answer_queries(s);
    } else {
        if (sampled && atomic_load(&s->running_pid) == pid)
            lv__preempt_signal(s);
        lv__sched_wake(s);
        struct timespec ts = {0, 1000000};
        for (int waited = 0; !atomic_load(&q->done) && waited < timeout_ms; waited++)
            nanosleep(&ts, NULL);
    }
    if (sampled) { /* take the signal slot back if the handler never used it */
        lv__query *expected = q;
        if (atomic_compare_exchange_strong(&s->sample, &expected, NULL) || atomic_load(&q->done))
            atomic_fetch_sub(&q->refs, 1);
    }
    int err = atomic_load(&q->done) ? q->err : LV_ETIMEDOUT;
    if (err == 0) {
        FILE *f = fmemopen(out, cap, "w");
        if (f) {
            /* the current function: the innermost frame of application code */
            size_t i = 0;
            while (i < q->nframes && in_runtime(q->frames[i]))
                i++;
            char name[128] = "(waiting for a message: a handler process holds no stack between messages)";
            if (i < q->nframes)
                lv_fault_symbol(q->frames[i], i > 0, name, sizeof(name));
            else if (q->nframes)
                lv_fault_symbol(q->frames[0], 0, name, sizeof(name));
            fprintf(f, "current function: %s\n", name);
            lv_fault_print_frames(f, q->frames, q->nframes);
            fclose(f);
        }
    }
    lv__query_release(q);
    return err;
}

/* ---- traces ---- */

void lv__trace_note(lv_proc *p, const char *what, const char *tag, lv_pid from, size_t size)
{
    lv__trace *t = atomic_load(&p->trace);
    if (t == NULL)
        return;
    size_t i = atomic_fetch_add(&t->n, 1);
    if (i >= t->max)
        return;
    lv_trace_entry *e = &t->entries[i];
    e->at_us = (lv__now_ns() - t->start_ns) / 1000u;
    snprintf(e->what, sizeof(e->what), "%s", what ? what : "message");
    snprintf(e->tag, sizeof(e->tag), "%s", tag ? tag : "");
    e->from = from;
    e->size = size;
}

int lv_rt_trace(lv_rt *rt, lv_pid pid, int max_ms, size_t max, lv_trace_entry *out, size_t *n)
{
    lv__trace *t = calloc(1, sizeof(*t));
    if (t == NULL)
        return LV_ENOMEM;
    t->start_ns = lv__now_ns();
    t->max = max < 50 ? max : 50;
    pthread_mutex_t *lock;
    lv_proc *p = lv__lookup_locked(rt, pid, &lock);
    if (p == NULL) {
        free(t);
        return LV_ENOPROC;
    }
    lv__trace *none = NULL;
    bool set = atomic_compare_exchange_strong(&p->trace, &none, t);
    lv__sched *s = p->sched;
    if (lock)
        pthread_mutex_unlock(lock);
    if (!set) {
        free(t);
        return LV_EEXIST; /* someone else is tracing it */
    }
    struct timespec ts = {0, 1000000};
    for (int waited = 0; waited < max_ms && atomic_load(&t->n) < t->max && lv_rt_alive(rt, pid); waited++)
        nanosleep(&ts, NULL);
    p = lv__lookup_locked(rt, pid, &lock);
    if (p != NULL) {
        lv__trace *expected = t;
        atomic_compare_exchange_strong(&p->trace, &expected, NULL);
    }
    if (lock)
        pthread_mutex_unlock(lock);
    /* the owner may be writing an entry right now: wait for its current dispatch to end */
    uint64_t seq = atomic_load(&s->dispatch_seq);
    for (int i = 0; i < 100 && atomic_load(&s->running_pid) == pid && atomic_load(&s->running_since_ns) &&
                    atomic_load(&s->dispatch_seq) == seq;
         i++)
        nanosleep(&ts, NULL);
    size_t got = atomic_load(&t->n);
    *n = got < t->max ? got : t->max;
    memcpy(out, t->entries, *n * sizeof(*out));
    free(t);
    return 0;
}

/* Processes: the PID table, spawning, mailboxes (lock-free push, owner-side FIFO with selective
 * receive), ending a process and telling its monitors and links, names, and the process-owned
 * allocator. A PID encodes table slot, home scheduler and slot generation, so a PID is never
 * reused while the generation has not wrapped (2^28 reuses of one slot). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "liveview/module.h"
#include "liveview/rt_internal.h"

#define SLOT_BITS     28
#define SCHED_BITS    8
#define SLOT_MASK     ((1u << SLOT_BITS) - 1)
#define PID_SLOT(pid) ((uint32_t)((pid)&SLOT_MASK))
#define PID_GEN(pid)  ((uint32_t)((pid) >> (SLOT_BITS + SCHED_BITS)))

static lv__slot *slot_at(lv_rt *rt, uint32_t index)
{
    lv__slot *chunk = atomic_load_explicit(&rt->chunks[index / LV__SLOT_CHUNK], memory_order_acquire);
    return chunk ? &chunk[index % LV__SLOT_CHUNK] : NULL;
}

/* Reserves a table slot; returns its index or -1. */
static int64_t slot_alloc(lv_rt *rt)
{
    pthread_mutex_lock(&rt->table_lock);
    int64_t index = -1;
    if (rt->free_head != 0) {
        index = rt->free_head - 1;
        rt->free_head = (uint32_t)((uintptr_t)atomic_load(&slot_at(rt, (uint32_t)index)->proc) >> 1);
    } else if (rt->nslots < LV__SLOT_CHUNK * LV__MAX_CHUNKS && rt->nslots <= SLOT_MASK) {
        uint32_t c = rt->nslots / LV__SLOT_CHUNK;
        if (atomic_load(&rt->chunks[c]) == NULL) {
            lv__slot *chunk = calloc(LV__SLOT_CHUNK, sizeof(lv__slot));
            if (chunk == NULL)
                goto Exit;
            atomic_store_explicit(&rt->chunks[c], chunk, memory_order_release);
        }
        index = rt->nslots++;
    }
Exit:
    pthread_mutex_unlock(&rt->table_lock);
    return index;
}

static void slot_release(lv_rt *rt, uint32_t index)
{
    pthread_mutex_lock(&rt->table_lock);
    lv__slot *sl = slot_at(rt, index);
    sl->gen = (sl->gen + 1) & ((1u << (64 - SLOT_BITS - SCHED_BITS)) - 1);
    atomic_store(&sl->proc, (lv_proc *)(((uintptr_t)rt->free_head << 1) | 1)); /* lv__slot_proc: none */
    rt->free_head = index + 1;
    pthread_mutex_unlock(&rt->table_lock);
}

/* Finds a live process. When it lives on another thread, returns with its stripe lock held in
 * *lock (the owner frees a process only under that lock), else *lock is NULL. */
lv_proc *lv__lookup_locked(lv_rt *rt, lv_pid pid, pthread_mutex_t **lock)
{
    *lock = NULL;
    uint32_t index = PID_SLOT(pid);
    if (pid == 0 || index >= rt->nslots + 0u)
        return NULL;
    lv__sched *cur = lv__current_sched();
    lv__slot *sl = slot_at(rt, index);
    /* only a process's own scheduler frees or moves it: it alone may look without the lock */
    bool local = sl != NULL && cur != NULL && cur->rt == rt &&
                 atomic_load_explicit(&sl->owner, memory_order_acquire) == cur->index;
    if (!local) {
        *lock = &rt->stripes[index % LV__STRIPES];
        pthread_mutex_lock(*lock);
    }
    lv_proc *p = sl ? lv__slot_proc(sl, memory_order_acquire) : NULL;
    if (p == NULL || p->pid != pid || atomic_load(&p->state) == LV__DEAD) {
        if (*lock)
            pthread_mutex_unlock(*lock);
        *lock = NULL;
        return NULL;
    }
    return p;
}

static void unlock(pthread_mutex_t *lock)
{
    if (lock)
        pthread_mutex_unlock(lock);
}

/* The scheduler a process lives on now (its PID names the one it was spawned on), or -1. */
int lv__pid_sched_index(lv_rt *rt, lv_pid pid)
{
    uint32_t index = PID_SLOT(pid);
    lv__slot *sl = pid != 0 && index < rt->nslots ? slot_at(rt, index) : NULL;
    return sl ? atomic_load(&sl->owner) : -1;
}

/* Moves a runnable process that is in no queue to scheduler `to`; called by its scheduler. */
void lv__proc_move(lv_proc *p, lv__sched *to)
{
    lv_rt *rt = p->sched->rt;
    lv__timers_detach(p->sched, p);
    pthread_mutex_t *lock = &rt->stripes[PID_SLOT(p->pid) % LV__STRIPES];
    pthread_mutex_lock(lock); /* lookups from other threads see the old or the new owner whole */
    p->sched = to;
    lv__proc_set_flag(p, LV__P_MOVED, true);
    atomic_store_explicit(&slot_at(rt, PID_SLOT(p->pid))->owner, to->index, memory_order_release);
    pthread_mutex_unlock(lock);
}

/* ---- mailboxes ---- */

void lv__mq_drain_inbox(lv_proc *p)
{
    lv__msgnode *list = atomic_exchange_explicit(&p->inbox, NULL, memory_order_acquire);
    lv__msgnode *rev = NULL;
    while (list) {
        lv__msgnode *n = list->next;
        list->next = rev;
        rev = list;
        list = n;
    }
    while (rev) {
        lv__msgnode *n = rev->next;
        rev->next = NULL;
        if (p->mq_tail)
            p->mq_tail->next = rev;
        else
            p->mq_head = rev;
        p->mq_tail = rev;
        rev = n;
    }
}

lv__msgnode *lv__mq_take(lv_proc *p, bool (*match)(const lv_msg *, void *), void *ctx)
{
    lv__mq_drain_inbox(p);
    lv__msgnode *prev = NULL;
    for (lv__msgnode *n = p->mq_head; n; prev = n, n = n->next) {
        if (match && !match(&n->msg, ctx))
            continue;
        if (prev)
            prev->next = n->next;
        else
            p->mq_head = n->next;
        if (p->mq_tail == n)
            p->mq_tail = prev;
        n->next = NULL;
        atomic_fetch_sub_explicit(&p->st_mailbox, 1, memory_order_relaxed);
        return n;
    }
    return NULL;
}

int lv__deliver(lv_rt *rt, lv_pid to, int kind, lv_pid from, const char *tag, const void *data, size_t size,
                uint64_t ref)
{
    if (size > rt->cfg.max_message)
        return LV_ETOOBIG;
    if (tag == NULL)
        tag = "";
    size_t taglen = strlen(tag);
    size_t data_at = (sizeof(lv__msgnode) + taglen + 1 + 15) & ~(size_t)15; /* payloads are read as structs */
    lv__msgnode *n = malloc(data_at + size);
    if (n == NULL)
        return LV_ENOMEM;
    char *tagcopy = (char *)(n + 1);
    memcpy(tagcopy, tag, taglen + 1);
    void *datacopy = (char *)n + data_at;
    if (size)
        memcpy(datacopy, data, size);
    n->next = NULL;
    n->msg = (lv_msg){
        .kind = kind, .from = from, .tag = tagcopy, .data = size ? datacopy : NULL, .size = size, .ref = ref};
    pthread_mutex_t *lock;
    lv_proc *p = lv__lookup_locked(rt, to, &lock);
    if (p == NULL) {
        free(n);
        return LV_ENOPROC;
    }
    lv__msgnode *head = atomic_load_explicit(&p->inbox, memory_order_relaxed);
    do {
        n->next = head;
    } while (!atomic_compare_exchange_weak_explicit(&p->inbox, &head, n, memory_order_release,
                                                    memory_order_relaxed));
    atomic_fetch_add_explicit(&p->st_mailbox, 1, memory_order_relaxed);
    int expected = LV__WAITING;
    if (atomic_compare_exchange_strong(&p->state, &expected, LV__RUNNABLE))
        lv__make_runnable(p);
    unlock(lock);
    return 0;
}

/* ---- spawning ---- */

static lv__sched *pick_sched(lv_rt *rt)
{
    lv__sched *cur = lv__current_sched();
    if (cur != NULL && cur->rt == rt)
        return cur->exiled ? cur->home : cur; /* an exile queues it remotely, like any thread */
    unsigned i = atomic_fetch_add(&rt->spawn_rr, 1);
    return &rt->scheds[i % (unsigned)rt->nsched];
}

/* Every joined session holds one process: its size is most of an idle session's cost
 * (tests/bench/RESULTS.md, memory per idle session). Grow it only knowingly: with the 16-byte
 * alignment the state after it needs, 8 more bytes cost 16 (the module reference did, until the
 * flags became one byte and the memory counter 32 bits). */
_Static_assert(sizeof(lv_proc) <= 208, "lv_proc grew: an idle session costs more");

/* A handler process's state (`extra` bytes) and the name share the process's own allocation:
 * they live exactly as long as the process, and a separate arena chunk for the state would round
 * a view's few hundred bytes up to the next power of two and keep the rest reserved for good. */
static int spawn(lv_rt *rt, const char *name, size_t extra, lv_proc **out)
{
    size_t nlen = name ? strnlen(name, LV_PROC_NAME_MAX - 1) : 0;
    lv_proc *p = calloc(1, sizeof(*p) + extra + nlen + 1);
    if (p == NULL)
        return LV_ENOMEM;
    int64_t index = slot_alloc(rt);
    if (index < 0) {
        free(p);
        return LV_ELIMIT;
    }
    p->sched = pick_sched(rt);
    lv__slot *sl = slot_at(rt, (uint32_t)index);
    p->pid = ((uint64_t)sl->gen << (SLOT_BITS + SCHED_BITS)) | ((uint64_t)p->sched->index << SLOT_BITS) |
             (uint64_t)index;
    if (p->pid == 0) /* slot 0, generation 0: PID 0 means "no process" */
        p->pid = ((uint64_t)1 << (SLOT_BITS + SCHED_BITS)) | (uint64_t)index, sl->gen = 1;
    char *pname = (char *)(p + 1) + extra; /* lv__proc_name once hstate_size is set */
    memcpy(pname, name ? name : "", nlen); /* NUL from calloc */
    atomic_store(&p->state, LV__RUNNABLE);
    *out = p;
    return 0;
}

static void publish(lv_rt *rt, lv_proc *p)
{
    atomic_fetch_add(&rt->nprocs, 1);
    lv__slot *sl = slot_at(rt, PID_SLOT(p->pid));
    atomic_store_explicit(&sl->owner, p->sched->index, memory_order_relaxed);
    atomic_store_explicit(&sl->proc, p, memory_order_release);
    lv__make_runnable(p);
}

int lv_rt_spawn(lv_rt *rt, const char *name, lv_proc_fn fn, void *arg, lv_pid *out)
{
    return lv_rt_spawn_with_exit_hook(rt, name, fn, arg, NULL, NULL, out);
}

int lv_rt_spawn_with_exit_hook(lv_rt *rt, const char *name, lv_proc_fn fn, void *arg,
                               void (*on_exit)(void *ctx, const char *reason), void *ctx, lv_pid *out)
{
    lv_proc *p;
    int err = spawn(rt, name, 0, &p);
    if (err)
        return err;
    p->fn = fn;
    p->arg = arg;
    p->code = lv__module_hold((const void *)fn); /* a module's function keeps its module loaded */
    p->on_exit = on_exit;
    p->on_exit_ctx = ctx;
    if (out)
        *out = p->pid;
    publish(rt, p);
    return 0;
}

int lv_rt_spawn_handler(lv_rt *rt, const char *name, size_t state_size, void (*init)(void *state, void *arg),
                        void *arg, lv_handler_fn handler, lv_pid *out)
{
    lv_proc *p;
    if (state_size > UINT32_MAX)
        return LV_EINVAL;
    int err = spawn(rt, name, state_size, &p);
    if (err)
        return err;
    p->handler = handler;
    p->code = lv__module_hold((const void *)handler);
    lv__proc_set_flag(p, LV__P_HANDLER, true);
    if (state_size) {
        p->hstate = p + 1; /* zeroed by spawn's calloc */
        p->hstate_size = (uint32_t)state_size;
    }
    /* init runs in the spawner's context, before the process is visible to anyone */
    lv__sched *s = lv__current_sched();
    lv_proc *saved = s ? s->current : NULL;
    if (init) {
        if (s && s->rt == rt)
            s->current = p;
        init(p->hstate, arg);
        if (s && s->rt == rt)
            s->current = saved;
    }
    if (out)
        *out = p->pid;
    publish(rt, p);
    return 0;
}

int lv_spawn(const char *name, lv_proc_fn fn, void *arg, lv_pid *out)
{
    lv_proc *self = lv__current_proc();
    if (self == NULL)
        return LV_EINVAL;
    return lv_rt_spawn(self->sched->rt, name, fn, arg, out);
}

/* ---- ending ---- */

pthread_mutex_t *lv__watch_lock(lv_proc *p)
{
    return &p->sched->rt->watch_stripes[PID_SLOT(p->pid) % LV__STRIPES];
}

/* Crash details live outside lv_proc: most processes never crash, and idle ones must stay small. */
lv__crash *lv__proc_crash_record(lv_proc *p)
{
    if (p->crash == NULL)
        p->crash = calloc(1, sizeof(*p->crash));
    return p->crash;
}

static void log_crash(lv_proc *p)
{
    FILE *out = p->sched->rt->cfg.crash_log ? p->sched->rt->cfg.crash_log : stderr;
    flockfile(out);
    const char *detail = p->crash ? p->crash->detail : "";
    const char *name = lv__proc_name(p);
    fprintf(out, "[salamander] CRASH process <%llu> %s%s%s: %s%s%s\n", (unsigned long long)p->pid,
            name[0] ? "(" : "", name, name[0] ? ")" : "", p->exit_reason, detail[0] ? ": " : "", detail);
    if (p->crash && p->crash->nframes)
        lv_fault_print_frames(out, p->crash->frames, p->crash->nframes);
    funlockfile(out);
}

static void notify_watchers(lv_proc *p)
{
    lv_rt *rt = p->sched->rt;
    bool abnormal = strcmp(p->exit_reason, LV_REASON_NORMAL) != 0;
    pthread_mutex_lock(lv__watch_lock(p));
    lv__watch *w = p->watches;
    p->watches = NULL;
    pthread_mutex_unlock(lv__watch_lock(p));
    while (w) {
        lv__watch *next = w->next;
        if (w->kind == LV__WATCH_MONITORED_BY) {
            lv__deliver(rt, w->other, LV_MSG_DOWN, p->pid, p->exit_reason, NULL, 0, w->ref);
        } else if (w->kind == LV__WATCH_LINK && abnormal) {
            pthread_mutex_t *lock;
            lv_proc *o = lv__lookup_locked(rt, w->other, &lock);
            bool trap = o && lv__proc_flag(o, LV__P_TRAP_EXIT);
            unlock(lock);
            if (trap)
                lv__deliver(rt, w->other, LV_MSG_EXIT, p->pid, p->exit_reason, NULL, 0, 0);
            else if (o)
                lv_rt_kill(rt, w->other);
        }
        free(w);
        w = next;
    }
}

/* Frees everything a process owns. Runs on its scheduler, never on its own stack. */
void lv__proc_destroy(lv_proc *p)
{
    lv_rt *rt = p->sched->rt;
    uint32_t index = PID_SLOT(p->pid);
    if (p->exit_reason == NULL)
        p->exit_reason = LV_REASON_NORMAL;
    pthread_mutex_t *lock = &rt->stripes[index % LV__STRIPES];
    pthread_mutex_lock(lock);
    atomic_store(&p->state, LV__DEAD);
    atomic_store(&slot_at(rt, index)->proc, NULL);
    pthread_mutex_unlock(lock);
    if (strcmp(p->exit_reason, LV_REASON_NORMAL) != 0 && strcmp(p->exit_reason, LV_REASON_KILLED) != 0 &&
        strcmp(p->exit_reason, LV_REASON_SHUTDOWN) != 0)
        log_crash(p);
    if (p->on_exit)
        p->on_exit(p->on_exit_ctx, p->exit_reason);
    notify_watchers(p);
    while (p->timers) {
        lv__timer *t = p->timers;
        p->timers = t->pnext;
        lv__timer_remove(p->sched, t);
        free(t);
    }
    lv__mq_drain_inbox(p);
    for (lv__msgnode *n = p->mq_head, *next; n; n = next) {
        next = n->next;
        free(n);
    }
    free(p->current_node);
    if (p->stack)
        lv__stack_put(p->sched, p->stack);
    pthread_mutex_lock(&rt->names_lock);
    for (lv__name **pp = &rt->names; *pp;) {
        if ((*pp)->pid == p->pid) {
            lv__name *dead = *pp;
            *pp = dead->next;
            free(dead);
        } else {
            pp = &(*pp)->next;
        }
    }
    pthread_mutex_unlock(&rt->names_lock);
    if (p->arena) {
        lv_arena_dispose(p->arena);
        free(p->arena);
    }
    free(p->crash);
    slot_release(rt, index);
    atomic_fetch_sub(&rt->nprocs, 1);
    lv_module_release(p->code); /* last: the exit hook and the crash report may be its code */
    free(p);
}

_Noreturn void lv__proc_end(const char *reason)
{
    lv_proc *p = lv__current_proc();
    p->exit_reason = reason;
    lv__proc_switch_exit();
}

_Noreturn void lv_exit(const char *reason)
{
    lv__proc_end(reason ? reason : LV_REASON_NORMAL);
}

_Noreturn void lv_crash(const char *fmt, ...)
{
    lv_proc *p = lv__current_proc();
    lv__crash *c = lv__proc_crash_record(p);
    va_list ap;
    va_start(ap, fmt);
    if (c)
        vsnprintf(c->detail, sizeof(c->detail), fmt, ap);
    va_end(ap);
    lv__proc_end(LV_REASON_CRASH);
}

int lv_rt_kill(lv_rt *rt, lv_pid pid)
{
    lv_proc *self = lv__current_proc();
    if (self != NULL && self->pid == pid)
        lv__proc_end(LV_REASON_KILLED);
    pthread_mutex_t *lock;
    lv_proc *p = lv__lookup_locked(rt, pid, &lock);
    if (p == NULL)
        return LV_ENOPROC;
    atomic_store(&p->kill_requested, 1);
    int expected = LV__WAITING;
    if (atomic_compare_exchange_strong(&p->state, &expected, LV__RUNNABLE))
        lv__make_runnable(p);
    else if (expected == LV__RUNNING && p->sched != lv__current_sched())
        lv__preempt_signal(p->sched); /* it is spinning: end it at its next safe point */
    unlock(lock);
    return 0;
}

bool lv_rt_alive(lv_rt *rt, lv_pid pid)
{
    pthread_mutex_t *lock;
    lv_proc *p = lv__lookup_locked(rt, pid, &lock);
    unlock(lock);
    return p != NULL;
}

/* ---- inside a process ---- */

lv_pid lv_self(void)
{
    lv_proc *p = lv__current_proc();
    return p ? p->pid : 0;
}

lv_rt *lv_self_rt(void)
{
    lv__sched *s = lv__current_sched();
    return s ? s->rt : NULL;
}

int lv_send(lv_pid to, const char *tag, const void *data, size_t size)
{
    lv_proc *self = lv__current_proc();
    if (self == NULL)
        return LV_EINVAL;
    return lv__deliver(self->sched->rt, to, LV_MSG_USER, self->pid, tag, data, size, 0);
}

int lv_rt_send(lv_rt *rt, lv_pid to, const char *tag, const void *data, size_t size)
{
    return lv__deliver(rt, to, LV_MSG_USER, lv_self(), tag, data, size, 0);
}

/* lv_receive's timeout, kept with the process's other timers. */
static lv__timer **rx_timer_link(lv_proc *p)
{
    for (lv__timer **pp = &p->timers; *pp; pp = &(*pp)->pnext)
        if ((*pp)->is_receive_timeout)
            return pp;
    return NULL;
}

int lv_receive(const lv_msg **msg, bool (*match)(const lv_msg *m, void *ctx), void *ctx, int64_t timeout_ms)
{
    lv_proc *p = lv__current_proc();
    if (p == NULL)
        return LV_EINVAL;
    if (p->current_node) { /* the previous message is released by the next receive */
        free(p->current_node);
        p->current_node = NULL;
    }
    bool timed_out = false;
    for (;;) {
        lv__msgnode *n = lv__mq_take(p, match, ctx);
        if (n != NULL || timed_out || timeout_ms == 0) {
            lv__timer **rx = rx_timer_link(p);
            if (rx) {
                lv__timer *t = *rx;
                *rx = t->pnext;
                lv__timer_remove(p->sched, t);
                free(t);
            }
            if (n == NULL)
                return LV_ETIMEDOUT;
            p->current_node = n;
            *msg = &n->msg;
            if (atomic_load_explicit(&p->trace, memory_order_relaxed))
                lv__trace_note(p, NULL, n->msg.tag, n->msg.from, n->msg.size);
            return 0;
        }
        if (timeout_ms > 0 && rx_timer_link(p) == NULL) {
            lv__timer *t = lv__timer_add(p->sched, p, (uint64_t)timeout_ms, NULL);
            if (t) {
                t->pnext = p->timers;
                p->timers = t;
            }
        }
        lv__proc_wait();
        if (atomic_load(&p->kill_requested))
            lv__proc_end(LV_REASON_KILLED);
        lv__timer **rx = rx_timer_link(p);
        timed_out = rx != NULL && (*rx)->expires == 0;
    }
}

/* ---- monitors and links ---- */

static int add_watch(lv_rt *rt, lv_pid on, lv_pid other, int kind, uint64_t ref)
{
    lv__watch *w = malloc(sizeof(*w));
    if (w == NULL)
        return LV_ENOMEM;
    *w = (lv__watch){.other = other, .ref = ref, .kind = kind};
    pthread_mutex_t *lock;
    lv_proc *p = lv__lookup_locked(rt, on, &lock);
    if (p == NULL) {
        free(w);
        return LV_ENOPROC;
    }
    pthread_mutex_lock(lv__watch_lock(p));
    w->next = p->watches;
    p->watches = w;
    pthread_mutex_unlock(lv__watch_lock(p));
    unlock(lock);
    return 0;
}

static void remove_watch(lv_rt *rt, lv_pid on, lv_pid other, int kind, uint64_t ref)
{
    pthread_mutex_t *lock;
    lv_proc *p = lv__lookup_locked(rt, on, &lock);
    if (p == NULL)
        return;
    pthread_mutex_lock(lv__watch_lock(p));
    for (lv__watch **pp = &p->watches; *pp; pp = &(*pp)->next) {
        lv__watch *w = *pp;
        if (w->other == other && w->kind == kind && (ref == 0 || w->ref == ref)) {
            *pp = w->next;
            free(w);
            break;
        }
    }
    pthread_mutex_unlock(lv__watch_lock(p));
    unlock(lock);
}

int lv_monitor(lv_pid pid, uint64_t *ref)
{
    lv_proc *self = lv__current_proc();
    if (self == NULL)
        return LV_EINVAL;
    lv_rt *rt = self->sched->rt;
    uint64_t r = atomic_fetch_add(&rt->next_ref, 1);
    if (ref)
        *ref = r;
    if (add_watch(rt, pid, self->pid, LV__WATCH_MONITORED_BY, r) != 0)
        return lv__deliver(rt, self->pid, LV_MSG_DOWN, pid, "noproc", NULL, 0, r);
    return add_watch(rt, self->pid, pid, LV__WATCH_MONITORS, r);
}

int lv_demonitor(uint64_t ref)
{
    lv_proc *self = lv__current_proc();
    if (self == NULL)
        return LV_EINVAL;
    lv_pid other = 0;
    pthread_mutex_lock(lv__watch_lock(self));
    for (lv__watch *w = self->watches; w; w = w->next)
        if (w->kind == LV__WATCH_MONITORS && w->ref == ref)
            other = w->other;
    pthread_mutex_unlock(lv__watch_lock(self));
    if (other == 0)
        return LV_EINVAL;
    remove_watch(self->sched->rt, self->pid, other, LV__WATCH_MONITORS, ref);
    remove_watch(self->sched->rt, other, self->pid, LV__WATCH_MONITORED_BY, ref);
    return 0;
}

int lv_link(lv_pid pid)
{
    lv_proc *self = lv__current_proc();
    if (self == NULL)
        return LV_EINVAL;
    lv_rt *rt = self->sched->rt;
    if (add_watch(rt, pid, self->pid, LV__WATCH_LINK, 0) != 0) {
        /* linking to a dead process is an immediate "noproc" exit signal */
        if (lv__proc_flag(self, LV__P_TRAP_EXIT))
            return lv__deliver(rt, self->pid, LV_MSG_EXIT, pid, "noproc", NULL, 0, 0);
        lv__proc_end("noproc");
    }
    return add_watch(rt, self->pid, pid, LV__WATCH_LINK, 0);
}

int lv_unlink(lv_pid pid)
{
    lv_proc *self = lv__current_proc();
    if (self == NULL)
        return LV_EINVAL;
    remove_watch(self->sched->rt, self->pid, pid, LV__WATCH_LINK, 0);
    remove_watch(self->sched->rt, pid, self->pid, LV__WATCH_LINK, 0);
    return 0;
}

void lv_trap_exit(bool on)
{
    lv_proc *self = lv__current_proc();
    if (self)
        lv__proc_set_flag(self, LV__P_TRAP_EXIT, on);
}

/* ---- names ---- */

int lv_register(const char *name, lv_pid pid)
{
    lv_rt *rt = lv_self_rt();
    if (rt == NULL || name == NULL || strlen(name) >= sizeof(((lv__name *)0)->name))
        return LV_EINVAL;
    if (!lv_rt_alive(rt, pid))
        return LV_ENOPROC;
    int err = 0;
    pthread_mutex_lock(&rt->names_lock);
    for (lv__name *n = rt->names; n; n = n->next)
        if (strcmp(n->name, name) == 0) {
            err = LV_EEXIST;
            goto Exit;
        }
    lv__name *n = calloc(1, sizeof(*n));
    if (n == NULL) {
        err = LV_ENOMEM;
        goto Exit;
    }
    snprintf(n->name, sizeof(n->name), "%s", name);
    n->pid = pid;
    n->next = rt->names;
    rt->names = n;
Exit:
    pthread_mutex_unlock(&rt->names_lock);
    return err;
}

int lv_unregister(const char *name)
{
    lv_rt *rt = lv_self_rt();
    if (rt == NULL || name == NULL)
        return LV_EINVAL;
    int err = LV_ENONAME;
    pthread_mutex_lock(&rt->names_lock);
    for (lv__name **pp = &rt->names; *pp; pp = &(*pp)->next)
        if (strcmp((*pp)->name, name) == 0) {
            lv__name *dead = *pp;
            *pp = dead->next;
            free(dead);
            err = 0;
            break;
        }
    pthread_mutex_unlock(&rt->names_lock);
    return err;
}

int lv_whereis(lv_rt *rt, const char *name, lv_pid *out)
{
    int err = LV_ENONAME;
    pthread_mutex_lock(&rt->names_lock);
    for (lv__name *n = rt->names; n; n = n->next)
        if (strcmp(n->name, name) == 0) {
            *out = n->pid;
            err = 0;
            break;
        }
    pthread_mutex_unlock(&rt->names_lock);
    return err;
}

/* ---- process memory ---- */

/* An idle process holds no arena memory, so it holds no arena header either: the header is
 * allocated by the first allocation and let go by lv__proc_account once nothing is left in it.
 * The limit counts what the arena hands out, as before; the header never counted. */
lv_arena *lv__proc_arena(lv_proc *p)
{
    if (p->arena == NULL) {
        p->arena = malloc(sizeof(*p->arena));
        if (p->arena != NULL)
            lv_arena_init(p->arena, p->sched->rt->cfg.heap_limit);
    }
    return p->arena;
}

static _Noreturn void alloc_failed(lv_proc *p, size_t size)
{
    if (p->arena != NULL && lv_arena_over_limit(p->arena, size))
        lv__proc_end(LV_REASON_HEAP_LIMIT);
    lv_crash("out of memory allocating %zu bytes", size);
}

void *lv_alloc(size_t size)
{
    lv_proc *p = lv__current_proc();
    if (p == NULL)
        return malloc(size);
    lv_arena *a = lv__proc_arena(p);
    void *m = a ? lv_arena_alloc(a, size) : NULL;
    if (m == NULL)
        alloc_failed(p, size);
    return m;
}

void *lv_realloc(void *ptr, size_t size)
{
    lv_proc *p = lv__current_proc();
    if (p == NULL)
        return realloc(ptr, size);
    lv_arena *a = lv__proc_arena(p);
    void *m = a ? lv_arena_realloc(a, ptr, size) : NULL;
    if (m == NULL)
        alloc_failed(p, size);
    return m;
}

void lv_free(void *ptr)
{
    lv_proc *p = lv__current_proc();
    if (p == NULL)
        free(ptr);
    else if (ptr != NULL)
        lv_arena_free(p->arena, ptr); /* it came from this arena, which therefore exists */
}

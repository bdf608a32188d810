/* Internal structures of the process runtime, shared by proc.c, sched.c, timer.c and arena.c.
 * Nothing here is part of the public API. Ownership rule: a process's fields other than its
 * mailbox head, state and kill flag are touched only by the scheduler thread it lives on. */
#ifndef LV_RT_INTERNAL_H
#define LV_RT_INTERNAL_H

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "liveview/arena.h"
#include "liveview/fault.h"
#include "liveview/preempt.h"
#include "liveview/runtime.h"

/* boost.context (libboost-context-dev) exports these with C linkage. */
typedef void *lv__fctx;
typedef struct {
    lv__fctx fctx;
    void *data;
} lv__transfer;
lv__transfer jump_fcontext(lv__fctx const to, void *vp);
lv__fctx make_fcontext(void *sp, size_t size, void (*fn)(lv__transfer));

typedef struct lv__msgnode {
    struct lv__msgnode *next;
    lv_msg msg;
    /* tag and data follow */
} lv__msgnode;

typedef struct lv__timer {
    struct lv__timer *wnext, *wprev; /* wheel slot list */
    struct lv__timer *pnext;         /* owner's list */
    uint64_t expires;
    uint64_t ref;
    lv_proc *owner;
    bool in_wheel;
    bool is_receive_timeout; /* wakes lv_receive instead of delivering a message */
    char tag[];              /* sized to the tag (lv__timer_add) */
} lv__timer;
#define LV__TIMER_TAG_MAX 32 /* bytes, NUL included */

typedef struct lv__crash {
    char detail[160];
    void *frames[LV_MAX_FRAMES];
    size_t nframes;
} lv__crash;

typedef struct lv__watch { /* a monitor or a link, kept on both ends */
    struct lv__watch *next;
    lv_pid other;
    uint64_t ref; /* monitor ref; 0 for a link */
    int kind;     /* LV__WATCH_MONITORS, LV__WATCH_MONITORED_BY, LV__WATCH_LINK */
} lv__watch;
enum { LV__WATCH_MONITORS = 1, LV__WATCH_MONITORED_BY, LV__WATCH_LINK };

enum lv__pstate { LV__WAITING = 0, LV__RUNNABLE, LV__RUNNING, LV__DEAD };
#define LV__BLOCKED 2

typedef struct lv__stack {
    struct lv__stack *next; /* pool link */
    void *base;             /* mapping start (guard page first) */
    size_t size;            /* mapping size */
    lv__fctx ctx;           /* the context of the process holding it, while it is switched out */
} lv__stack;

typedef struct lv__sched lv__sched;

#define LV_PROC_NAME_MAX 32 /* as lv_proc_info.name */

/* Aligned so that a handler state placed right after it is aligned for any type. Fields are
 * ordered so the struct has no holes: every joined view is one of these, so whatever an idle
 * process does not use lives elsewhere (the arena header, allocated on first use; crash details)
 * and the introspection counters are packed (tests/bench/RESULTS.md, memory per idle session). */
struct lv_proc {
    _Alignas(max_align_t) lv_pid pid;
    _Atomic int state;
    _Atomic uint8_t kill_requested;
    _Atomic uint8_t preempted;    /* 1 after a preemption; LV__BLOCKED while its thread is an exile */
    int8_t home_why;              /* how it left a thread that lost its scheduler (see lv__sched.returned) */
    _Atomic uint8_t flags;        /* LV__P_*: lv__proc_flag, lv__proc_set_flag */
    _Atomic(lv__msgnode *) inbox; /* senders push here (LIFO), the owner drains it */
    lv__sched *sched;
    lv_proc *runq_next;
    /* owner-only below */
    lv__msgnode *mq_head, *mq_tail; /* FIFO of drained messages */
    lv__stack *stack;               /* non-NULL while it holds a stack (running or suspended mid-function) */
    union {                         /* LV__P_HANDLER tells which */
        lv_proc_fn fn;
        lv_handler_fn handler;
    };
    union {
        void *arg;
        void *hstate; /* handler process state: right after this struct, same block */
    };
    lv__msgnode *current_node; /* the message being handled; freed after the handler returns */
    lv_arena *arena;           /* NULL until the first allocation; let go when empty (lv__proc_arena) */
    lv__timer *timers;         /* lv_send_after's, and lv_receive's timeout (is_receive_timeout) */
    lv__watch *watches;        /* guarded by the rt's watch stripe of this PID */
    const char *exit_reason;
    struct lv__crash *crash; /* set when it crashed: what the report says */
    /* called on the scheduler when the process ends, before its arena is freed */
    void (*on_exit)(void *ctx, const char *reason);
    void *on_exit_ctx;
    /* the loaded view module whose code it runs (its view's, or its entry function's), held
     * until it is destroyed; NULL for code of the executable */
    struct lv_module *code;
    /* introspection: written by the owner, read by anyone */
    _Atomic(const char *) kind;
    _Atomic(struct lv__trace *) trace;
    _Atomic uint64_t st_reductions, st_cpu_ns;
    /* memory (lv__proc_account's encoding: exact below 2 GiB), CPU of the current and previous
     * 2^30 ns bucket (saturated: "the last second" reads at most one second of either), the
     * current bucket's number, messages queued */
    _Atomic uint32_t st_memory, st_cpu_cur_ns, st_cpu_prev_ns, st_cpu_sec, st_mailbox;
    uint32_t hstate_size; /* the name follows the state: lv__proc_name */
};

/* lv_proc.flags. One atomic byte rather than bitfields or bools: LV__P_TRAP_EXIT is read by other
 * schedulers (a link firing) while the owner may set LV__P_PINNED, and LV__P_MOVED is written by
 * the scheduler that hands the process over; atomic read-modify-writes lose none of them. All are
 * written rarely (spawn, join, a move, lv_trap_exit); reads are plain loads. */
enum {
    LV__P_HANDLER = 1,   /* runs a handler: the fn/handler union holds `handler` (set before publish) */
    LV__P_TRAP_EXIT = 2, /* exit signals arrive as messages (lv_trap_exit) */
    LV__P_PINNED = 4,    /* holds something of its scheduler's loop (a socket): never moves */
    LV__P_MOVED = 8,     /* arrived from another scheduler: its timers join this one's wheel */
};

static inline bool lv__proc_flag(lv_proc *p, uint8_t flag)
{
    return (atomic_load_explicit(&p->flags, memory_order_relaxed) & flag) != 0;
}

static inline void lv__proc_set_flag(lv_proc *p, uint8_t flag, bool on)
{
    if (on)
        atomic_fetch_or_explicit(&p->flags, flag, memory_order_relaxed);
    else
        atomic_fetch_and_explicit(&p->flags, (uint8_t)~flag, memory_order_relaxed);
}

/* A handler process from its state, which sits right after it in its block (lv_rt_spawn_handler
 * with a state size). */
static inline lv_proc *lv__proc_of_state(const void *hstate)
{
    return (lv_proc *)hstate - 1;
}

/* Its name, at the end of its block (at most LV_PROC_NAME_MAX - 1 bytes). */
static inline const char *lv__proc_name(const lv_proc *p)
{
    return (const char *)(p + 1) + p->hstate_size;
}

typedef struct lv__trace {
    uint64_t start_ns;
    time_t start_wall;
    _Atomic size_t n;
    size_t max;
    lv_trace_entry entries[50];
} lv__trace;

/* A backtrace request, answered by the process's scheduler (or its signal handler while the
 * process runs), so nobody else ever reads a stack that may be moving. */
typedef struct lv__query {
    struct lv__query *next;
    lv_pid pid;
    int err;
    size_t nframes;
    void *frames[LV_MAX_FRAMES];
    _Atomic int done;
    _Atomic int refs;
} lv__query;

typedef struct lv__runq {
    lv_proc *head, *tail;
} lv__runq;

/* An OS thread that runs schedulers (Go's M; a scheduler is its P). A thread whose process
 * blocks in a system call or a library loop loses its scheduler to another thread, finishes
 * that one process as an "exile", sends it home and then waits as a spare. */
typedef struct lv__thread {
    struct lv__thread *next;       /* every thread of the runtime */
    struct lv__thread *next_spare; /* threads waiting for a scheduler */
    pthread_t handle;
    lv_rt *rt;
    lv__sched *assigned; /* the scheduler to run next; guarded by rt->threads_lock */
} lv__thread;

struct lv__sched {
    lv_rt *rt;
    int index;
    void *loop; /* h2o_loop_t* */
    void *queue, *receiver;
    lv__runq runq;             /* new and woken processes: served first */
    lv__runq yieldq;           /* preempted processes: served when nothing woke up */
    bool yielded;              /* the last dispatch ended in a preemption */
    _Atomic(lv_proc *) remote; /* other threads push runnable processes here (LIFO) */
    _Atomic int sleeping;
    lv__fctx ctx;             /* scheduler context while a process runs */
    const void *stack_bottom; /* the scheduler thread's own stack, for ASan's fiber switches */
    size_t stack_size;
    lv_proc *current;
    lv__stack *stack_pool;
    size_t stack_pool_len;
    /* timer wheel */
    lv__timer *wheel[1024];
    uint64_t wheel_now;
    size_t ntimers;
    _Atomic uint64_t busy_ns; /* time spent running processes */
    uint64_t last_dispatch_ns;
    _Atomic int stop;
    /* read by the monitor thread */
    int tid;
    int epfd;
    _Atomic uint64_t running_since_ns; /* 0 while no process runs */
    _Atomic uint64_t dispatch_seq;
    _Atomic lv_pid running_pid;
    _Atomic uint64_t next_timer_ms; /* 0: none */
    _Atomic uint64_t preemptions, preempt_refused, handoffs;
    _Atomic(lv__query *) queries; /* backtrace requests */
    _Atomic(lv__query *) sample;  /* the one the signal handler answers for a running process */
    /* hand-off of a blocked thread's scheduler (see preempt.c) */
    bool hook_done;                     /* the transport's per-scheduler start hook has run */
    _Atomic(lv__sched *) exile_request; /* prepared by the monitor, taken by the signal handler */
    _Atomic(lv__sched *) exile_ready;   /* the handler moved the thread out: hand this one over */
    _Atomic(lv_proc *) returned;        /* processes coming back from an exiled thread */
    /* set only in an exile: the private stand-in of a thread that lost its scheduler */
    bool exiled;
    lv__sched *home;
    struct lv__sched *next_exile;
    uint64_t exile_seq; /* the dispatch the request was made for */
    bool handed_over;   /* the monitor has listed it and given its scheduler a new thread */
};

/* One per process: 16 bytes. While the slot is free, `proc` holds the next free slot's index
 * (shifted, with the low bit set: never a process's address); read it with lv__slot_proc. */
typedef struct lv__slot {
    _Atomic(lv_proc *) proc;
    _Atomic int owner; /* index of the scheduler the process lives on; only that one changes it */
    uint32_t gen;
} lv__slot;

_Static_assert(sizeof(lv__slot) == 16, "lv__slot grew: an idle session costs more");

static inline lv_proc *lv__slot_proc(lv__slot *sl, memory_order order)
{
    lv_proc *p = atomic_load_explicit(&sl->proc, order);
    return ((uintptr_t)p & 1) ? NULL : p;
}

#define LV__SLOT_CHUNK 4096u
#define LV__MAX_CHUNKS 4096u
#define LV__STRIPES    64u

typedef struct lv__name {
    struct lv__name *next;
    lv_pid pid;
    char name[48];
} lv__name;

struct lv_rt {
    lv_rt_config cfg;
    int nsched;
    lv__sched *scheds;
    _Atomic unsigned spawn_rr;
    /* process table */
    pthread_mutex_t table_lock;
    lv__slot *_Atomic chunks[LV__MAX_CHUNKS];
    uint32_t nslots;
    uint32_t free_head; /* index + 1; 0 = none */
    _Atomic size_t nprocs;
    pthread_mutex_t stripes[LV__STRIPES];
    pthread_mutex_t watch_stripes[LV__STRIPES];
    /* names */
    pthread_mutex_t names_lock;
    lv__name *names;
    _Atomic uint64_t next_ref;
    uint64_t virtual_now;
    uint64_t start_ns;
    time_t start_wall;
    bool started;
    /* threads: schedulers' and spares (guarded by threads_lock) */
    pthread_mutex_t threads_lock;
    pthread_cond_t threads_cond;
    lv__thread *threads, *spares;
    lv__sched *exiles; /* threads running a process whose scheduler moved on */
    bool threads_stop;
    cpu_set_t cpus; /* the CPUs the process may use, read at start: --bind-schedulers */
    pthread_t sysmon;
    _Atomic int sysmon_stop;
    bool sysmon_running;
    /* transport hook: called on each scheduler thread before its loop runs */
    void (*on_sched_start)(void *ctx, int index, void *loop);
    void *on_sched_start_ctx;
};

uint64_t lv__now_ns(void);
lv__sched *lv__current_sched(void);
lv_proc *lv__current_proc(void);
lv_proc *lv__lookup_locked(lv_rt *rt, lv_pid pid, pthread_mutex_t **lock);
int lv__pid_sched_index(lv_rt *rt, lv_pid pid);
void lv__proc_move(lv_proc *p, lv__sched *to);
void lv__timers_detach(lv__sched *s, lv_proc *p);
void lv__timers_attach(lv__sched *s, lv_proc *p);
void lv__make_runnable(lv_proc *p);
uint64_t lv__proc_run(lv__sched *s, lv_proc *p, uint64_t t0);
void lv__proc_destroy(lv_proc *p);
/* Its arena, created on first use (NULL when out of memory); lv__proc_account lets an empty one go. */
lv_arena *lv__proc_arena(lv_proc *p);

lv__crash *lv__proc_crash_record(lv_proc *p);
pthread_mutex_t *lv__watch_lock(lv_proc *p);
_Noreturn void lv__proc_end(const char *reason);
int lv__deliver(lv_rt *rt, lv_pid to, int kind, lv_pid from, const char *tag, const void *data, size_t size,
                uint64_t ref);
lv__msgnode *lv__mq_take(lv_proc *p, bool (*match)(const lv_msg *, void *), void *ctx);
void lv__mq_drain_inbox(lv_proc *p);

void lv__timers_fire(lv__sched *s, uint64_t now_ms);
int64_t lv__timers_next_ms(lv__sched *s, uint64_t now_ms);
lv__timer *lv__timer_add(lv__sched *s, lv_proc *owner, uint64_t ms, const char *tag);
void lv__timer_remove(lv__sched *s, lv__timer *t);
uint64_t lv__sched_now_ms(lv__sched *s);
int lv__sched_init(lv_rt *rt, lv__sched *s, int index);
lv__sched *lv__sched_run(lv__sched *s);
/* --bind-schedulers: the calling runtime thread (the monitor) to the CPUs no scheduler has. */
void lv__rt_bind_helper_thread(const lv_rt *rt);
/* --bind-schedulers: thread tid, which no longer carries a scheduler (a hand-off), back to every
 * CPU, so its blocked process does not share the CPU of the scheduler it left. */
void lv__rt_unbind_thread(const lv_rt *rt, int tid);
void lv__sched_set_current(lv__sched *s);
void lv__sched_stop(lv__sched *s);
void lv__sched_dispose(lv__sched *s);
void lv__enter_caller_thread(lv__sched *s);
void lv__leave_caller_thread(void);
void lv__proc_wait(void);
void lv__proc_yield(void);
_Noreturn void lv__proc_switch_exit(void);
void lv__sched_wake(lv__sched *s);
void lv__sched_report_stuck(lv__sched *s, uint64_t ran_ns);
void lv__answer_queries(lv__sched *s);
void lv__query_release(lv__query *q);
void lv__trace_note(lv_proc *p, const char *what, const char *tag, lv_pid from, size_t size);
void lv__proc_account(lv_proc *p, uint64_t ran_ns, uint64_t now_ns);
size_t lv__page_size(void);
void lv__rt_set_sched_start_hook(lv_rt *rt, void (*fn)(void *ctx, int index, void *loop), void *ctx);
void lv__sched_push_local(lv__sched *s, lv_proc *p);
void lv__proc_go_home(void);
int lv__sched_assign(lv_rt *rt, lv__sched *s);
void lv__threads_join(lv_rt *rt);
bool lv__handoff_check(lv_rt *rt, lv__sched *s, uint64_t ran_ns);
void lv__handoff_dispose(lv__sched *s);
void lv__handoff_prod_exiles(lv_rt *rt);
lv__sched *lv__handoff_on_signal(lv__sched *s, void *ucontext);
bool lv__preempt_is_app_code(uintptr_t pc);
bool lv__preempt_is_runtime_code(uintptr_t pc);
char lv__thread_state(int tid);
void lv__sched_run_ready(lv__sched *s);
lv__stack *lv__stack_get(lv__sched *s);
void lv__stack_put(lv__sched *s, lv__stack *st);
void lv__stack_unmap(lv__stack *st);

#endif

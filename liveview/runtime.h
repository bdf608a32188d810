/* The green-process runtime: processes with PIDs and mailboxes, scheduled M:N on scheduler
 * threads that each run an h2o event loop; timers; links and monitors; names.
 * Functions named lv_* without an lv_rt argument act on behalf of the calling process and
 * must be called from inside one. */
#ifndef LV_RUNTIME_H
#define LV_RUNTIME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>

#include "liveview/error.h"

typedef uint64_t lv_pid; /* 0 is no process; a PID is never reused */
typedef struct lv_rt lv_rt;
typedef struct lv_proc lv_proc;

typedef struct lv_rt_config {
    int schedulers;     /* scheduler threads; 0 = driven by the caller (tests): lv_rt_run_until_idle */
    size_t heap_limit;  /* per-process memory limit in bytes (default 64 MiB) */
    size_t max_message; /* largest message payload accepted by lv_send (default 1 MiB) */
    bool virtual_clock; /* time only moves with lv_rt_advance (tests) */
    size_t stack_size;  /* bytes per process stack (default 256 KiB), plus a guard page */
    FILE *crash_log;    /* where crash reports go (NULL: stderr) */
    /* scheduler i runs on the i-th CPU the process may use (modulo their count), whichever thread
     * carries it; the monitor on the CPUs no scheduler has, if any. A busy thread the kernel
     * stacks on another's CPU, while a core idles, delays every process behind it. */
    bool bind_schedulers;
} lv_rt_config;

/* Kinds of message a process receives. */
enum {
    LV_MSG_USER = 0,  /* lv_send */
    LV_MSG_TIMER = 1, /* lv_send_after fired */
    LV_MSG_DOWN = 2,  /* a monitored process ended: from = it, reason in data */
    LV_MSG_EXIT = 3,  /* a linked process ended while trapping exits */
    LV_MSG_SYSTEM = 4 /* runtime-internal (transport events, upgrades) */
};

/* A received message. The runtime owns it; it stays valid until the handler returns or the
 * next lv_receive. */
typedef struct lv_msg {
    int kind;
    lv_pid from;
    const char *tag; /* NUL-terminated, e.g. "tick"; for DOWN/EXIT the reason ("normal", "killed", "crash") */
    const void *data;
    size_t size;
    uint64_t ref; /* timer reference for LV_MSG_TIMER, monitor reference for LV_MSG_DOWN */
} lv_msg;

/* Reasons a process ends, reported in crash reports, DOWN and EXIT messages. */
#define LV_REASON_NORMAL         "normal"
#define LV_REASON_KILLED         "killed"
#define LV_REASON_CRASH          "crash"
#define LV_REASON_SHUTDOWN       "shutdown"
#define LV_REASON_HEAP_LIMIT     "heap_limit"
#define LV_REASON_STACK_OVERFLOW "stack_overflow"

typedef void (*lv_proc_fn)(void *arg);
/* Called once per message for processes spawned with lv_spawn_handler: such a process holds no
 * stack while it waits, only its state. */
typedef void (*lv_handler_fn)(void *state, const lv_msg *msg);

void lv_rt_config_defaults(lv_rt_config *cfg);
int lv_rt_new(const lv_rt_config *cfg, lv_rt **out);
/* Starts the scheduler threads (no-op with schedulers = 0). */
int lv_rt_start(lv_rt *rt);
/* Stops schedulers, kills every process and frees everything. */
void lv_rt_free(lv_rt *rt);
/* Caller-driven mode: runs processes and due timers until none is runnable. */
void lv_rt_run_until_idle(lv_rt *rt);
/* Virtual clock: moves time forward by ms and fires due timers (then runs until idle). */
void lv_rt_advance(lv_rt *rt, uint64_t ms);
uint64_t lv_rt_now_ms(lv_rt *rt);
/* Seconds since the epoch; with a virtual clock it advances with lv_rt_advance. */
time_t lv_rt_wall_time(lv_rt *rt);
uint64_t lv_rt_wall_ms(lv_rt *rt);

/* Spawning. fn runs on its own stack and may block in lv_receive. `name` is shown in
 * introspection (may be NULL). The new process lives on the calling process's scheduler, or
 * on a scheduler chosen round-robin when called from outside a process. */
int lv_rt_spawn(lv_rt *rt, const char *name, lv_proc_fn fn, void *arg, lv_pid *out);
/* Spawns a handler process; `state` (state_size bytes, zeroed, aligned for any type) is
 * allocated with the process itself, freed when it ends, and passed to init (may be NULL) then
 * to every handler call. */
int lv_rt_spawn_handler(lv_rt *rt, const char *name, size_t state_size, void (*init)(void *state, void *arg),
                        void *arg, lv_handler_fn handler, lv_pid *out);

/* Spawns fn with a hook called on its scheduler when it ends, crash included: for state it owns
 * outside its arena (freed by the hook). */
int lv_rt_spawn_with_exit_hook(lv_rt *rt, const char *name, lv_proc_fn fn, void *arg,
                               void (*on_exit)(void *ctx, const char *reason), void *ctx, lv_pid *out);

/* Sends a copy of data (size bytes) tagged `tag` to `to`. LV_ENOPROC if it is not alive,
 * LV_ETOOBIG over max_message. Safe from any thread. */
int lv_rt_send(lv_rt *rt, lv_pid to, const char *tag, const void *data, size_t size);
/* Ends a process at once, whatever it is doing. Safe from any thread. */
int lv_rt_kill(lv_rt *rt, lv_pid pid);
bool lv_rt_alive(lv_rt *rt, lv_pid pid);

/* ---- inside a process ---- */
lv_pid lv_self(void);
lv_rt *lv_self_rt(void);
int lv_send(lv_pid to, const char *tag, const void *data, size_t size);
/* Waits for the first message accepted by `match` (NULL accepts any). timeout_ms < 0 waits
 * forever. Returns 0 and sets *msg, or LV_ETIMEDOUT. Unmatched messages stay queued in order. */
int lv_receive(const lv_msg **msg, bool (*match)(const lv_msg *m, void *ctx), void *ctx, int64_t timeout_ms);
/* Runs fn in a new process from inside a process (same scheduler). */
int lv_spawn(const char *name, lv_proc_fn fn, void *arg, lv_pid *out);
/* Timer: delivers an LV_MSG_TIMER message tagged `tag` to the calling process after ms.
 * *ref (may be NULL) identifies it for lv_cancel_timer. */
int lv_send_after(uint64_t ms, const char *tag, uint64_t *ref);
int lv_cancel_timer(uint64_t ref);
/* Monitors pid: when it ends, an LV_MSG_DOWN arrives (at once if it is already dead). */
int lv_monitor(lv_pid pid, uint64_t *ref);
int lv_demonitor(uint64_t ref);
/* Links: when either ends abnormally, the other is killed, unless it traps exits. */
int lv_link(lv_pid pid);
int lv_unlink(lv_pid pid);
void lv_trap_exit(bool on);
/* Ends the calling process with a crash report: the C counterpart of raising. */
_Noreturn void lv_crash(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Ends the calling process normally. */
_Noreturn void lv_exit(const char *reason);
/* Memory owned by the calling process, freed when it ends; counts toward its heap limit. */
void *lv_alloc(size_t size);
void *lv_realloc(void *p, size_t size);
void lv_free(void *p);

/* Names: one process per name. */
int lv_register(const char *name, lv_pid pid);
int lv_unregister(const char *name);
int lv_whereis(lv_rt *rt, const char *name, lv_pid *out);

/* ---- introspection: cheap enough to leave on; callable from any thread ---- */

typedef struct lv_proc_info {
    lv_pid pid;
    char name[32];
    const char *kind;   /* the view's name for view processes, else NULL */
    /* "running", "runnable", "preempted", "waiting", or "blocked": in a system call or library
     * loop long enough that its scheduler moved to another thread (see README) */
    const char *status;
    int scheduler;
    size_t mailbox;         /* messages waiting */
    size_t memory;          /* bytes: its arena plus the stack it holds, if any */
    uint64_t reductions;    /* dispatches so far */
    uint64_t cpu_us;        /* total CPU time */
    uint64_t cpu_us_last_s; /* CPU time in the last second */
} lv_proc_info;

typedef struct lv_sched_stats {
    uint64_t busy_ns;         /* time spent running processes since start */
    uint64_t preemptions;     /* processes preempted */
    uint64_t preempt_refused; /* signals that found no safe point (runtime or library code) */
    uint64_t handoffs;        /* times a process blocked its thread and the scheduler moved on */
} lv_sched_stats;

int lv_rt_schedulers(lv_rt *rt);
void lv_rt_sched_stats(lv_rt *rt, int index, lv_sched_stats *out);
size_t lv_rt_process_count(lv_rt *rt);
/* Resident memory of this OS process in bytes (VmRSS), or -1 if /proc cannot be read. */
long long lv_rss_bytes(void);

/* Every live process; *out is malloc'd, the caller frees it. */
int lv_rt_list(lv_rt *rt, lv_proc_info **out, size_t *n);
int lv_rt_info(lv_rt *rt, lv_pid pid, lv_proc_info *out);
/* The n processes that used the most CPU in the last second, most first. */
int lv_rt_top(lv_rt *rt, lv_proc_info *out, size_t max, size_t *n);
/* Appends a symbolized backtrace of pid, taken also while it spins. Waits at most timeout_ms. */
int lv_rt_backtrace(lv_rt *rt, lv_pid pid, char *out, size_t cap, int timeout_ms);

typedef struct lv_trace_entry {
    uint64_t at_us; /* since the trace began */
    char what[12];  /* "message", "timer", "down", "exit", "event", "reply", "push" */
    char tag[48];
    lv_pid from;
    size_t size;
} lv_trace_entry;

/* Records pid's next messages, events and replies for up to max_ms or max entries (at most 50),
 * whichever comes first; blocks meanwhile. */
int lv_rt_trace(lv_rt *rt, lv_pid pid, int max_ms, size_t max, lv_trace_entry *out, size_t *n);

#endif

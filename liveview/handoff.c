/* Threads and the hand-off of a blocked scheduler (Go's M and P). A process that sits in a
 * blocking system call, or in a long loop inside a library, cannot be preempted there (only
 * application code is a safe point), so it would starve every other process of its scheduler.
 * The monitor notices the long dispatch and asks the thread's preemption handler to move out:
 * when nothing of the runtime is on the interrupted stack (application code called the blocking
 * function directly) the handler swaps the thread's scheduler for a private stand-in, the
 * "exile". The monitor then gives the scheduler (loop, run queue, timers) to a spare or new
 * thread. The exile finishes its one process and sends it home when it switches out (waits,
 * is preempted at a safe point, or ends) or when it next touches its scheduler's loop or timers
 * (lv__proc_go_home); then the thread waits as a spare. Threads are never ended before the
 * runtime is: a process may have cached an address in its old thread's TLS (errno). */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <ucontext.h>
#include <unistd.h>

#include "liveview/rt_internal.h"

#define HANDOFF_NS      20000000u /* a dispatch this long is not being preempted: move its thread out */
#define MAX_EXILES      256       /* bounds the threads a burst of blocking calls can create */
#define EXILE_MAX_WALK  64

/* exile_request holds NULL, a prepared stand-in, or TAKEN while the handler looks at one */
#define TAKEN ((lv__sched *)1)

/* ---- threads ---- */

static void *thread_main(void *arg)
{
    lv__thread *m = arg;
    lv_rt *rt = m->rt;
    lv_fault_thread_init();
    for (;;) {
        pthread_mutex_lock(&rt->threads_lock);
        while (m->assigned == NULL && !rt->threads_stop)
            pthread_cond_wait(&rt->threads_cond, &rt->threads_lock);
        lv__sched *s = m->assigned;
        m->assigned = NULL;
        pthread_mutex_unlock(&rt->threads_lock);
        if (s == NULL)
            break;
        lv__sched *exile = lv__sched_run(s);
        if (exile == NULL)
            break; /* s stopped */
        pthread_mutex_lock(&rt->threads_lock);
        while (!exile->handed_over) /* the monitor lists it right after the swap */
            pthread_cond_wait(&rt->threads_cond, &rt->threads_lock);
        for (lv__sched **x = &rt->exiles; *x; x = &(*x)->next_exile)
            if (*x == exile) {
                *x = exile->next_exile;
                break;
            }
        m->next_spare = rt->spares;
        rt->spares = m;
        pthread_mutex_unlock(&rt->threads_lock);
        pthread_setname_np(pthread_self(), "spare");
        free(exile);
    }
    lv_fault_thread_dispose();
    return NULL;
}

/* Gives s to a spare thread or a new one. Called with threads_lock held. */
static int assign_locked(lv_rt *rt, lv__sched *s)
{
    if (rt->threads_stop)
        return LV_EINVAL;
    lv__thread *m = rt->spares;
    if (m != NULL) {
        rt->spares = m->next_spare;
        m->assigned = s;
        pthread_cond_broadcast(&rt->threads_cond);
        return 0;
    }
    m = calloc(1, sizeof(*m));
    if (m == NULL)
        return LV_ENOMEM;
    m->rt = rt;
    m->assigned = s;
    if (pthread_create(&m->handle, NULL, thread_main, m) != 0) {
        free(m);
        return LV_EIO;
    }
    m->next = rt->threads;
    rt->threads = m;
    return 0;
}

int lv__sched_assign(lv_rt *rt, lv__sched *s)
{
    pthread_mutex_lock(&rt->threads_lock);
    int err = assign_locked(rt, s);
    pthread_mutex_unlock(&rt->threads_lock);
    return err;
}

/* Ends every thread: schedulers must have been told to stop. Waits for exiles to finish the
 * call they are blocked in. */
void lv__threads_join(lv_rt *rt)
{
    pthread_mutex_lock(&rt->threads_lock);
    rt->threads_stop = true;
    pthread_cond_broadcast(&rt->threads_cond);
    lv__thread *all = rt->threads;
    rt->threads = NULL;
    rt->spares = NULL;
    pthread_mutex_unlock(&rt->threads_lock);
    while (all) {
        lv__thread *m = all;
        all = m->next;
        pthread_join(m->handle, NULL);
        free(m);
    }
}

/* ---- the monitor's side ---- */

/* 'R' running, 'S' sleeping in the kernel, 'D' uninterruptible; '?' when unknown. */
char lv__thread_state(int tid)
{
    char path[64], buf[256];
    snprintf(path, sizeof(path), "/proc/self/task/%d/stat", tid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return '?';
    ssize_t n = read(fd, buf, sizeof(buf) - 1);
    close(fd);
    if (n <= 0)
        return '?';
    buf[n] = '\0';
    const char *end = strrchr(buf, ')'); /* the command name may hold spaces and parentheses */
    return end && end[1] == ' ' ? end[2] : '?';
}

static size_t count_exiles_locked(lv_rt *rt)
{
    size_t n = 0;
    for (lv__sched *x = rt->exiles; x; x = x->next_exile)
        n++;
    return n;
}

/* The handler moved s's thread out: list the exile and run s on another thread. */
static void complete(lv_rt *rt, lv__sched *s, lv__sched *exile)
{
    lv_pid pid = exile->current ? exile->current->pid : 0;
    uint64_t ran_ms = (lv__now_ns() - exile->running_since_ns) / 1000000u;
    lv__rt_unbind_thread(rt, exile->tid);
    pthread_mutex_lock(&rt->threads_lock);
    exile->next_exile = rt->exiles;
    rt->exiles = exile;
    exile->handed_over = true;
    s->current = NULL;
    s->tid = 0;
    atomic_store(&s->running_pid, 0);
    atomic_store_explicit(&s->running_since_ns, 0, memory_order_release);
    int err = atomic_load(&s->stop) ? 0 : assign_locked(rt, s);
    pthread_cond_broadcast(&rt->threads_cond);
    pthread_mutex_unlock(&rt->threads_lock);
    atomic_fetch_add(&s->handoffs, 1);
    fprintf(stderr,
            "[salamander] scheduler %d: process <%llu> has been in a system call or library loop for "
            "%llu ms: its run queue moved to another thread%s\n",
            s->index, (unsigned long long)pid, (unsigned long long)ran_ms,
            err ? " (FAILED: no thread could be started)" : "");
}

/* One monitor tick for scheduler s, whose current dispatch has run ran_ns (0: none). Returns
 * true when s has just moved to another thread. */
bool lv__handoff_check(lv_rt *rt, lv__sched *s, uint64_t ran_ns)
{
    lv__sched *ready = atomic_exchange_explicit(&s->exile_ready, NULL, memory_order_acquire);
    if (ready != NULL) {
        complete(rt, s, ready);
        return true;
    }
    uint64_t seq = atomic_load_explicit(&s->dispatch_seq, memory_order_relaxed);
    lv__sched *pending = atomic_load(&s->exile_request);
    if (pending == TAKEN)
        return false;
    if (pending != NULL && (ran_ns == 0 || pending->exile_seq != seq)) {
        /* that dispatch ended by itself; the handler may hold it right now, then leave it */
        if (atomic_compare_exchange_strong(&s->exile_request, &pending, NULL))
            free(pending);
        return false;
    }
    if (ran_ns < HANDOFF_NS || atomic_load(&s->stop))
        return false;
    if (pending == NULL) {
        pthread_mutex_lock(&rt->threads_lock);
        size_t n = count_exiles_locked(rt);
        pthread_mutex_unlock(&rt->threads_lock);
        if (n >= MAX_EXILES)
            return false;
        lv__sched *x = calloc(1, sizeof(*x));
        if (x == NULL)
            return false;
        x->rt = rt;
        x->index = -1; /* matches no PID: every lookup from the exile takes the locks */
        x->epfd = -1;
        x->exiled = true;
        x->home = s;
        x->exile_seq = seq;
        lv__sched *none = NULL;
        if (!atomic_compare_exchange_strong(&s->exile_request, &none, x)) {
            free(x);
            return false;
        }
    }
    lv__preempt_signal(s); /* also wakes it from a blocking call: the handler runs there */
    return false;
}

/* A request nobody took (the runtime stopped first). */
void lv__handoff_dispose(lv__sched *s)
{
    lv__sched *x = atomic_exchange(&s->exile_request, NULL);
    if (x != TAKEN)
        free(x);
}

/* Exiles come home at their process's next safe point: prod those running application code
 * (not those blocked in the kernel: a signal would only cut their call short). */
void lv__handoff_prod_exiles(lv_rt *rt)
{
    pthread_mutex_lock(&rt->threads_lock);
    for (lv__sched *x = rt->exiles; x; x = x->next_exile)
        if (__atomic_load_n(&x->current, __ATOMIC_RELAXED) != NULL && lv__thread_state(x->tid) == 'R')
            lv__preempt_signal(x);
    pthread_mutex_unlock(&rt->threads_lock);
}

/* ---- the handler's side (signal context: no locks, no allocation) ---- */

/* True when application code called what the thread is in now, with nothing of the runtime in
 * between: then the runtime holds none of the scheduler's state on this stack. */
static bool only_app_code_above(ucontext_t *uc)
{
    void *frames[EXILE_MAX_WALK];
    size_t n = lv_fault_capture(uc, frames, EXILE_MAX_WALK);
    for (size_t i = 0; i < n; i++) {
        uintptr_t pc = (uintptr_t)frames[i] - (i > 0); /* return addresses point past the call */
        if (lv__preempt_is_runtime_code(pc))
            return false;
        if (lv__preempt_is_app_code(pc))
            return i > 0; /* the thread is in a library or the kernel, called from the app */
    }
    return false;
}

/* Called by the preemption handler on s's thread; returns the scheduler the thread now has. */
lv__sched *lv__handoff_on_signal(lv__sched *s, void *ucontext)
{
    lv__sched *x = atomic_load(&s->exile_request);
    if (x == NULL || x == TAKEN || !atomic_compare_exchange_strong(&s->exile_request, &x, TAKEN))
        return s;
    lv_proc *p = s->current;
    if (p == NULL || x->exile_seq != atomic_load(&s->dispatch_seq) || !only_app_code_above(ucontext)) {
        atomic_store(&s->exile_request, x); /* not now: the monitor retries or withdraws it */
        return s;
    }
    atomic_store(&s->exile_request, NULL);
    atomic_store(&p->preempted, LV__BLOCKED); /* shown as "blocked" until it runs at home again */
    x->ctx = s->ctx;
    x->current = p;
    x->stack_bottom = s->stack_bottom;
    x->stack_size = s->stack_size;
    x->tid = s->tid;
    atomic_store(&x->running_pid, p->pid);
    atomic_store(&x->running_since_ns, atomic_load(&s->running_since_ns));
    atomic_store(&x->dispatch_seq, atomic_load(&s->dispatch_seq));
    lv__sched_set_current(x);
    atomic_store_explicit(&s->exile_ready, x, memory_order_release);
    return x;
}

/* Schedulers: one thread each, running its h2o event loop between process dispatches, a local
 * run queue, a lock-free queue where other threads hand over runnable processes, pooled stacks
 * and the switch between scheduler and process (boost.context fcontext, ASan-annotated). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include <h2o.h>

#include "liveview/rt_internal.h"
#include "liveview/sanitizer.h"

/* volatile: the preemption handler moves a thread out of its scheduler (see handoff.c) */
static _Thread_local lv__sched *volatile tls_sched;

uint64_t lv__now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

lv__sched *lv__current_sched(void)
{
    return tls_sched;
}

size_t lv__page_size(void)
{
    static _Atomic size_t page;
    size_t p = atomic_load_explicit(&page, memory_order_relaxed);
    if (p == 0) {
        p = (size_t)sysconf(_SC_PAGESIZE);
        atomic_store_explicit(&page, p, memory_order_relaxed);
    }
    return p;
}

lv_proc *lv__current_proc(void)
{
    return tls_sched ? tls_sched->current : NULL;
}

uint64_t lv__sched_now_ms(lv__sched *s)
{
    if (s->rt->cfg.virtual_clock)
        return s->rt->virtual_now;
    return (lv__now_ns() - s->rt->start_ns) / 1000000u;
}

/* ---- stacks ---- */

lv__stack *lv__stack_get(lv__sched *s)
{
    lv__stack *st = s->stack_pool;
    if (st != NULL) {
        s->stack_pool = st->next;
        s->stack_pool_len--;
        return st;
    }
    size_t page = lv__page_size();
    size_t size = s->rt->cfg.stack_size + page;
    void *base = mmap(NULL, size, PROT_READ | PROT_WRITE,
                      MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_STACK, -1, 0);
    if (base == MAP_FAILED)
        return NULL;
    if (mprotect(base, page, PROT_NONE) != 0) { /* guard page: an overflow faults instead of corrupting */
        munmap(base, size);
        return NULL;
    }
    st = malloc(sizeof(*st));
    if (st == NULL) {
        munmap(base, size);
        return NULL;
    }
    st->base = base;
    st->size = size;
    st->next = NULL;
    LV_LSAN_REGISTER_ROOT((char *)base + page, size - page);
    return st;
}

void lv__stack_unmap(lv__stack *st)
{
    size_t page = lv__page_size();
    LV_LSAN_UNREGISTER_ROOT((char *)st->base + page, st->size - page);
    munmap(st->base, st->size);
    free(st);
}

void lv__stack_put(lv__sched *s, lv__stack *st)
{
    size_t page = lv__page_size();
    /* a stack abandoned mid-call (crash, kill) still carries the redzones of its frames */
    LV_ASAN_UNPOISON((char *)st->base + page, st->size - page);
    if (s->stack_pool_len >= 256) {
        lv__stack_unmap(st);
        return;
    }
    st->next = s->stack_pool;
    s->stack_pool = st;
    s->stack_pool_len++;
}

/* ---- run queues ---- */

static void push_queue(lv__runq *q, lv_proc *p)
{
    p->runq_next = NULL;
    if (q->tail)
        q->tail->runq_next = p;
    else
        q->head = p;
    q->tail = p;
}

void lv__sched_push_local(lv__sched *s, lv_proc *p)
{
    push_queue(&s->runq, p);
}

static lv_proc *pop_queue(lv__runq *q)
{
    lv_proc *p = q->head;
    if (p) {
        q->head = p->runq_next;
        if (q->head == NULL)
            q->tail = NULL;
    }
    return p;
}

/* Woken processes go before preempted ones: an interactive process beats a spinner that has
 * used its share, as CFS does. */
static lv_proc *pop_local(lv__sched *s)
{
    lv_proc *p = pop_queue(&s->runq);
    return p ? p : pop_queue(&s->yieldq);
}

void lv__sched_report_stuck(lv__sched *s, uint64_t ran_ns)
{
    fprintf(stderr,
            "[salamander] scheduler %d: process <%llu> has run %llu ms without yielding "
            "(outside preemptible code: a system call or a library loop)\n",
            s->index, (unsigned long long)atomic_load(&s->running_pid),
            (unsigned long long)(ran_ns / 1000000));
}

/* Pushes p on a list that other threads push to and the owner takes whole (LIFO). */
static void push_shared(_Atomic(lv_proc *) *list, lv_proc *p)
{
    lv_proc *head = atomic_load_explicit(list, memory_order_relaxed);
    do {
        p->runq_next = head;
    } while (!atomic_compare_exchange_weak_explicit(list, &head, p, memory_order_release, memory_order_relaxed));
}

static void after_switch(lv__sched *s, lv_proc *p, int why);

/* Processes whose thread lost this scheduler while they ran finish their switch here, on the
 * scheduler's own thread, as if they had just switched out of it. */
static void take_returned(lv__sched *s)
{
    lv_proc *p = atomic_exchange_explicit(&s->returned, NULL, memory_order_acquire);
    while (p) {
        lv_proc *n = p->runq_next;
        after_switch(s, p, p->home_why);
        p = n;
    }
}

static void drain_remote(lv__sched *s)
{
    if (atomic_load_explicit(&s->returned, memory_order_relaxed) != NULL)
        take_returned(s);
    lv_proc *list = atomic_exchange_explicit(&s->remote, NULL, memory_order_acquire);
    lv_proc *rev = NULL;
    while (list) { /* pushed LIFO: reverse to keep wake-up order */
        lv_proc *n = list->runq_next;
        list->runq_next = rev;
        rev = list;
        list = n;
    }
    while (rev) {
        lv_proc *n = rev->runq_next;
        if (lv__proc_flag(rev, LV__P_MOVED)) { /* shared by a busier scheduler (balance below) */
            lv__proc_set_flag(rev, LV__P_MOVED, false);
            lv__timers_attach(s, rev);
        }
        lv__sched_push_local(s, rev);
        rev = n;
    }
}

/* ---- balance ---- */

/* Work sharing, the push side of work stealing: a scheduler with processes waiting to run gives
 * about half of them to a scheduler that is idle in its event loop. Processes that hold a socket
 * of this scheduler's loop (views) stay. Processes keep their PIDs; the table records where each
 * lives now. */
static lv__sched *idle_peer(lv__sched *s)
{
    lv_rt *rt = s->rt;
    for (int i = 1; i < rt->nsched; i++) {
        lv__sched *t = &rt->scheds[(s->index + i) % rt->nsched];
        if (atomic_load_explicit(&t->sleeping, memory_order_relaxed) && !atomic_load(&t->stop) && t->tid > 0)
            return t;
    }
    return NULL;
}

static size_t share_queue(lv__runq *q, lv__sched *to, size_t want)
{
    lv__runq keep = {NULL, NULL};
    size_t moved = 0;
    bool take = false;
    lv_proc *p;
    while (moved < want && (p = pop_queue(q)) != NULL) {
        take = !take; /* every other one: both schedulers get a fair mix of the queue */
        if (take && !lv__proc_flag(p, LV__P_PINNED)) {
            lv__proc_move(p, to);
            push_shared(&to->remote, p);
            moved++;
        } else {
            push_queue(&keep, p);
        }
    }
    if (keep.tail) { /* what was kept goes back in front of what was never looked at */
        keep.tail->runq_next = q->head;
        if (q->head == NULL)
            q->tail = keep.tail;
        q->head = keep.head;
    }
    return moved;
}

/* Processes waiting to run here, counted up to max. */
static size_t count_waiting(const lv__sched *s, size_t max)
{
    size_t n = 0;
    for (const lv_proc *p = s->yieldq.head; p && n < max; p = p->runq_next)
        n++;
    for (const lv_proc *p = s->runq.head; p && n < max; p = p->runq_next)
        n++;
    return n;
}

static void balance(lv__sched *s)
{
    if (s->rt->nsched < 2 || s->rt->cfg.schedulers == 0 || s->exiled || count_waiting(s, 2) < 2)
        return;
    lv__sched *to = idle_peer(s);
    if (to == NULL)
        return;
    size_t n = count_waiting(s, 256); /* bounded: a long queue is shared over several rounds */
    size_t moved = share_queue(&s->yieldq, to, n / 2); /* the CPU-bound ones first */
    moved += share_queue(&s->runq, to, n / 2 - moved);
    if (moved)
        lv__sched_wake(to);
}

void lv__sched_wake(lv__sched *s)
{
    if (s->receiver != NULL && atomic_exchange(&s->sleeping, 0))
        h2o_multithread_send_message(s->receiver, NULL);
}

/* Puts a process that became runnable on its scheduler's queue, from any thread. */
void lv__make_runnable(lv_proc *p)
{
    lv__sched *s = p->sched;
    if (tls_sched == s) {
        lv__sched_push_local(s, p);
        return;
    }
    push_shared(&s->remote, p);
    lv__sched_wake(s);
}

/* ---- dispatch ---- */

enum { SWITCH_WAIT = 1, SWITCH_YIELD, SWITCH_IDLE, SWITCH_EXIT, SWITCH_HOME };

static void proc_entry(lv__transfer t);

/* Runs p until it waits, yields, finishes its messages or ends. t0 is the current time; returns
 * the time at the end, so back-to-back dispatches read the clock once each. */
uint64_t lv__proc_run(lv__sched *s, lv_proc *p, uint64_t t0)
{
    if (atomic_load(&p->kill_requested)) {
        p->exit_reason = LV_REASON_KILLED;
        lv__proc_destroy(p);
        return t0;
    }
    atomic_store_explicit(&p->state, LV__RUNNING, memory_order_relaxed);
    atomic_store_explicit(&p->preempted, 0, memory_order_relaxed);
    if (p->stack == NULL) {
        p->stack = lv__stack_get(s);
        if (p->stack == NULL) { /* no memory for a stack: retry later rather than fail the process */
            atomic_store(&p->state, LV__RUNNABLE);
            lv__sched_push_local(s, p);
            return t0;
        }
        p->stack->ctx = make_fcontext((char *)p->stack->base + p->stack->size, p->stack->size, proc_entry);
    }
    s->current = p;
    s->last_dispatch_ns = t0;
    atomic_store_explicit(&s->running_pid, p->pid, memory_order_relaxed);
    atomic_fetch_add_explicit(&s->dispatch_seq, 1, memory_order_relaxed);
    atomic_store_explicit(&s->running_since_ns, t0, memory_order_release);
    size_t page = lv__page_size();
    void *fake = NULL;
    LV_ASAN_START_SWITCH(&fake, (char *)p->stack->base + page, p->stack->size - page);
    lv__transfer t = jump_fcontext(p->stack->ctx, p);
    LV_ASAN_FINISH_SWITCH(fake, NULL, NULL);
    uint64_t t1 = lv__now_ns(), dt = t1 - t0;
    intptr_t why = (intptr_t)t.data;
    if (why != SWITCH_IDLE && why != SWITCH_EXIT)
        p->stack->ctx = t.fctx;
    atomic_fetch_add_explicit(&s->busy_ns, dt, memory_order_relaxed);
    lv__proc_account(p, dt, t1);
    lv__sched *self = tls_sched;
    if (self != s) { /* this thread lost s while p ran: send p home, touch nothing of s's */
        self->current = NULL;
        p->home_why = (int8_t)why;
        push_shared(&s->returned, p);
        lv__sched_wake(s);
        return t1;
    }
    atomic_store_explicit(&s->running_since_ns, 0, memory_order_release);
    s->current = NULL;
    after_switch(s, p, (int)why);
    return t1;
}

static void wait_for_mail(lv__sched *s, lv_proc *p)
{
    atomic_store(&p->state, LV__WAITING);
    /* a message may have arrived between the mailbox check and the state change */
    if (atomic_load(&p->inbox) != NULL || atomic_load(&p->kill_requested)) {
        int expected = LV__WAITING;
        if (atomic_compare_exchange_strong(&p->state, &expected, LV__RUNNABLE))
            lv__sched_push_local(s, p);
    }
}

/* What a process's switch out of the scheduler means for it, on its scheduler's thread. */
static void after_switch(lv__sched *s, lv_proc *p, int why)
{
    switch (why) {
    case SWITCH_WAIT:
        wait_for_mail(s, p);
        break;
    case SWITCH_YIELD:
        atomic_store(&p->preempted, 1);
        atomic_store(&p->state, LV__RUNNABLE);
        push_queue(&s->yieldq, p);
        s->yielded = true;
        break;
    case SWITCH_HOME: /* it came back from an exiled thread mid-call: resume it first */
        atomic_store(&p->preempted, 0);
        atomic_store(&p->state, LV__RUNNABLE);
        push_queue(&s->runq, p);
        break;
    case SWITCH_IDLE:
        lv__stack_put(s, p->stack);
        p->stack = NULL;
        wait_for_mail(s, p);
        break;
    case SWITCH_EXIT:
    default: lv__proc_destroy(p); break;
    }
}

/* Leaves the current process for the scheduler; returns when the scheduler resumes it. */
static void switch_out(int why)
{
    lv__sched *s = tls_sched;
    lv_proc *p = s->current;
    void *fake = NULL;
    LV_ASAN_START_SWITCH(why == SWITCH_EXIT || why == SWITCH_IDLE ? NULL : &fake, s->stack_bottom,
                         s->stack_size);
    lv__transfer t = jump_fcontext(s->ctx, (void *)(intptr_t)why);
    (void)p;
    s = tls_sched;
    s->ctx = t.fctx;
    LV_ASAN_FINISH_SWITCH(fake, &s->stack_bottom, &s->stack_size);
}

void lv__proc_wait(void)
{
    switch_out(SWITCH_WAIT);
}

void lv__proc_yield(void)
{
    switch_out(SWITCH_YIELD);
}

/* Called by the runtime before it touches its scheduler's loop, timers or queues: a process
 * whose thread lost its scheduler (an exile) first moves back to that scheduler's thread. */
void lv__proc_go_home(void)
{
    lv__sched *s = tls_sched;
    if (s != NULL && s->exiled && s->current != NULL)
        switch_out(SWITCH_HOME);
}

_Noreturn void lv__proc_switch_exit(void)
{
    switch_out(SWITCH_EXIT);
    abort(); /* an ended process is never resumed */
}

static void proc_entry(lv__transfer t)
{
    lv__sched *s = tls_sched;
    s->ctx = t.fctx;
    LV_ASAN_FINISH_SWITCH(NULL, &s->stack_bottom, &s->stack_size);
    lv_proc *p = t.data;
    if (lv__proc_flag(p, LV__P_HANDLER)) {
        for (;;) {
            lv__msgnode *n = lv__mq_take(p, NULL, NULL);
            if (n == NULL) {
                switch_out(SWITCH_IDLE); /* the stack goes back to the pool: never resumed */
                abort();
            }
            p->current_node = n;
            if (atomic_load_explicit(&p->trace, memory_order_relaxed))
                lv__trace_note(p, NULL, n->msg.tag, n->msg.from, n->msg.size);
            p->handler(p->hstate, &n->msg);
            free(p->current_node); /* n, or what an lv_receive inside the handler took (it freed n) */
            p->current_node = NULL;
            if (atomic_load(&p->kill_requested))
                lv__proc_end(LV_REASON_KILLED);
        }
    }
    p->fn(p->arg);
    lv__proc_end(LV_REASON_NORMAL);
}

/* How long a burst of dispatches may keep the scheduler from its event loop. */
#define POLL_EVERY_NS 200000u

/* Runs everything runnable now; returns the number of dispatches. */
static size_t run_ready(lv__sched *s)
{
    size_t n = 0;
    drain_remote(s);
    lv__answer_queries(s);
    lv__timers_fire(s, lv__sched_now_ms(s));
    balance(s);
    lv_proc *p;
    uint64_t now = lv__now_ns(), polled = now;
    bool threaded = s->receiver != NULL && s->rt->cfg.schedulers > 0;
    while (!atomic_load_explicit(&s->stop, memory_order_relaxed) && (p = pop_local(s)) != NULL) {
        s->yielded = false;
        now = lv__proc_run(s, p, now);
        n++;
        if (tls_sched != s)
            return n; /* this thread was moved out of s while p ran; s runs elsewhere now */
        /* a process was preempted, or a burst of short dispatches has kept the loop from its
         * sockets for a while: let waiting sockets and timers in before going on */
        if (threaded && (s->yielded || now - polled >= POLL_EVERY_NS)) {
            polled = now;
            h2o_evloop_run(s->loop, 0);
            drain_remote(s);
            lv__answer_queries(s);
            lv__timers_fire(s, lv__sched_now_ms(s));
            balance(s);
            now = lv__now_ns();
        } else if ((n & 63) == 0) {
            drain_remote(s);
            lv__answer_queries(s);
            balance(s);
        }
    }
    return n;
}

void lv__sched_run_ready(lv__sched *s)
{
    run_ready(s);
}

static void on_wake(h2o_multithread_receiver_t *receiver, h2o_linklist_t *messages)
{
    (void)receiver;
    (void)messages;
}

/* --bind-schedulers: scheduler i on the i-th CPU of the process's set (modulo its size), set by
 * whichever thread starts carrying it (a hand-off moves a scheduler to another thread). */
static int sched_cpu(const lv_rt *rt, int index)
{
    int n = CPU_COUNT(&rt->cpus);
    if (n == 0)
        return -1;
    for (int cpu = 0, seen = 0; cpu < CPU_SETSIZE; cpu++)
        if (CPU_ISSET(cpu, &rt->cpus) && seen++ == index % n)
            return cpu;
    return -1;
}

static void bind_to_sched(const lv__sched *s)
{
    int cpu = s->rt->cfg.bind_schedulers ? sched_cpu(s->rt, s->index) : -1;
    if (cpu < 0)
        return;
    cpu_set_t one;
    CPU_ZERO(&one);
    CPU_SET(cpu, &one);
    int err = pthread_setaffinity_np(pthread_self(), sizeof(one), &one);
    if (err)
        fprintf(stderr, "[salamander] scheduler %d: cannot bind to CPU %d: %s\n", s->index, cpu, strerror(err));
}

void lv__rt_bind_helper_thread(const lv_rt *rt)
{
    if (!rt->cfg.bind_schedulers || CPU_COUNT(&rt->cpus) <= rt->nsched)
        return; /* no CPU is left over: the kernel places it */
    cpu_set_t rest = rt->cpus;
    for (int i = 0; i < rt->nsched; i++)
        CPU_CLR(sched_cpu(rt, i), &rest);
    int err = pthread_setaffinity_np(pthread_self(), sizeof(rest), &rest);
    if (err)
        fprintf(stderr, "[salamander] monitor: cannot keep off the schedulers' CPUs: %s\n", strerror(err));
}

void lv__rt_unbind_thread(const lv_rt *rt, int tid)
{
    if (rt->cfg.bind_schedulers && tid > 0 && CPU_COUNT(&rt->cpus) > 0 &&
        sched_setaffinity(tid, sizeof(rt->cpus), &rt->cpus) != 0)
        fprintf(stderr, "[salamander] thread %d: cannot let go of its scheduler's CPU: %s\n", tid, strerror(errno));
}

/* Runs scheduler s on the calling thread until it stops or the thread loses it (handoff.c);
 * returns the thread's stand-in in the second case, NULL in the first. */
lv__sched *lv__sched_run(lv__sched *s)
{
    tls_sched = s;
    s->tid = (int)gettid();
    bind_to_sched(s);
    char name[16];
    snprintf(name, sizeof(name), "sched-%d", s->index); /* lvload and top show which thread is busy */
    pthread_setname_np(pthread_self(), name);
    if (!s->hook_done) {
        s->hook_done = true;
        s->epfd = lv__loop_epoll_fd(s->loop);
        if (s->rt->on_sched_start)
            s->rt->on_sched_start(s->rt->on_sched_start_ctx, s->index, s->loop);
    }
    while (!atomic_load(&s->stop)) {
        run_ready(s);
        if (tls_sched != s)
            break;
        uint64_t now = lv__sched_now_ms(s);
        int64_t wait = lv__timers_next_ms(s, now);
        atomic_store_explicit(&s->next_timer_ms, wait < 0 ? 0 : now + (uint64_t)wait, memory_order_relaxed);
        atomic_store(&s->sleeping, 1);
        if (atomic_load(&s->remote) != NULL || atomic_load(&s->returned) != NULL || s->runq.head != NULL)
            wait = 0;
        if (wait < 0 || wait > 1000)
            wait = 1000;
        h2o_evloop_run(s->loop, (int32_t)wait);
        atomic_store(&s->sleeping, 0);
    }
    lv__sched *self = tls_sched;
    tls_sched = NULL;
    return self == s ? NULL : self;
}

void lv__sched_set_current(lv__sched *s)
{
    tls_sched = s;
}

int lv__sched_init(lv_rt *rt, lv__sched *s, int index)
{
    memset(s, 0, sizeof(*s));
    s->rt = rt;
    s->index = index;
    s->epfd = -1;
    s->loop = h2o_evloop_create();
    s->queue = h2o_multithread_create_queue(s->loop);
    s->receiver = calloc(1, sizeof(h2o_multithread_receiver_t));
    if (s->receiver == NULL)
        return LV_ENOMEM;
    h2o_multithread_register_receiver(s->queue, s->receiver, on_wake);
    return 0;
}

void lv__sched_stop(lv__sched *s)
{
    atomic_store(&s->stop, 1);
    atomic_store(&s->sleeping, 1);
    lv__sched_wake(s);
}

void lv__sched_dispose(lv__sched *s)
{
    lv__handoff_dispose(s);
    while (s->stack_pool) {
        lv__stack *st = s->stack_pool;
        s->stack_pool = st->next;
        lv__stack_unmap(st);
    }
    if (s->receiver) {
        h2o_multithread_unregister_receiver(s->queue, s->receiver);
        free(s->receiver);
        h2o_multithread_destroy_queue(s->queue);
    }
    if (s->loop)
        h2o_evloop_destroy(s->loop);
    free(s->queue); /* h2o 2.2.5's destroy_queue leaves the struct to the caller in evloop builds */
}

void lv__enter_caller_thread(lv__sched *s)
{
    tls_sched = s;
}

void lv__leave_caller_thread(void)
{
    tls_sched = NULL;
}

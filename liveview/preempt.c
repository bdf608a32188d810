/* Preemption: a monitor thread (like Go's sysmon) watches every scheduler and signals one
 * (SIGURG) when its running process has outlived its slice, or has used its share while other
 * work waits (a woken process, a due timer, a readable socket). The handler preempts only at a
 * safe point: the interrupted PC is in application code (the main executable outside the
 * runtime's own "lvrt" section: never the runtime, libc or another library, which may hold
 * locks) and the process's stack has room. It then redirects the process into an assembly
 * trampoline that saves every register and the full xsave state and yields; a kill request
 * redirects it into its end instead. */
#include <cpuid.h>
#include <errno.h>
#include <fcntl.h>
#include <link.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <ucontext.h>
#include <unistd.h>

#include <h2o.h>

#include "liveview/preempt.h"
#include "liveview/rt_internal.h"
#include "liveview/sanitizer.h"

#define PREEMPT_SIGNAL SIGURG

/* The runtime's code, renamed into this section by the build (see Makefile). */
extern const char __start_lvrt[] __attribute__((weak));
extern const char __stop_lvrt[] __attribute__((weak));

static struct {
    uintptr_t exe_lo, exe_hi; /* executable text of the main program */
    uintptr_t rt_lo, rt_hi;   /* the runtime's own text inside it */
    uint32_t xsave_size;
    bool enabled;
} code;

uint32_t lv__xsave_size; /* read by the trampoline */

void lv__preempt_trampoline(void);
void lv__preempt_yield(void);

/* Saves the interrupted process completely, yields, restores it and returns past the red zone.
 * On entry [rsp] holds the interrupted RIP and rsp sits 128 bytes (the red zone) + 8 below the
 * interrupted rsp. The CFI describes that frame so backtraces of a preempted process work. */
__asm__(".text\n"
        ".globl lv__preempt_trampoline\n"
        ".type lv__preempt_trampoline,@function\n"
        "lv__preempt_trampoline:\n"
        ".cfi_startproc\n"
        ".cfi_signal_frame\n"
        ".cfi_def_cfa %rsp, 136\n"
        ".cfi_offset %rip, -136\n"
        "pushfq\n"
        "pushq %rax\n .cfi_offset %rax, -152\n"
        "pushq %rbx\n .cfi_offset %rbx, -160\n"
        "pushq %rcx\n .cfi_offset %rcx, -168\n"
        "pushq %rdx\n .cfi_offset %rdx, -176\n"
        "pushq %rsi\n .cfi_offset %rsi, -184\n"
        "pushq %rdi\n .cfi_offset %rdi, -192\n"
        "pushq %rbp\n .cfi_offset %rbp, -200\n"
        "pushq %r8\n .cfi_offset %r8, -208\n"
        "pushq %r9\n .cfi_offset %r9, -216\n"
        "pushq %r10\n .cfi_offset %r10, -224\n"
        "pushq %r11\n .cfi_offset %r11, -232\n"
        "pushq %r12\n .cfi_offset %r12, -240\n"
        "pushq %r13\n .cfi_offset %r13, -248\n"
        "pushq %r14\n .cfi_offset %r14, -256\n"
        "pushq %r15\n .cfi_offset %r15, -264\n"
        "movq %rsp, %rbp\n"
        ".cfi_def_cfa %rbp, 264\n"
        "movl lv__xsave_size(%rip), %ecx\n"
        "subq %rcx, %rsp\n"
        "andq $-64, %rsp\n"
        /* the xsave header (bytes 512..575) must be zero for xrstor */
        "xorl %eax, %eax\n"
        "movq %rax, 512(%rsp)\n movq %rax, 520(%rsp)\n movq %rax, 528(%rsp)\n movq %rax, 536(%rsp)\n"
        "movq %rax, 544(%rsp)\n movq %rax, 552(%rsp)\n movq %rax, 560(%rsp)\n movq %rax, 568(%rsp)\n"
        "movl $-1, %eax\n movl $-1, %edx\n"
        "xsave64 (%rsp)\n"
        "cld\n"
        "call lv__preempt_yield\n"
        "movl $-1, %eax\n movl $-1, %edx\n"
        "xrstor64 (%rsp)\n"
        "movq %rbp, %rsp\n"
        "popq %r15\n popq %r14\n popq %r13\n popq %r12\n popq %r11\n popq %r10\n popq %r9\n popq %r8\n"
        "popq %rbp\n popq %rdi\n popq %rsi\n popq %rdx\n popq %rcx\n popq %rbx\n popq %rax\n"
        "popfq\n"
        "ret $128\n"
        ".cfi_endproc\n"
        ".size lv__preempt_trampoline, .-lv__preempt_trampoline\n");

void lv__preempt_yield(void)
{
    int saved = errno;
    lv__proc_yield();
    errno = saved;
    lv_proc *p = lv__current_proc();
    if (p && atomic_load(&p->kill_requested))
        lv__proc_end(LV_REASON_KILLED);
}

static void kill_landing(void)
{
    lv__proc_end(LV_REASON_KILLED);
}

static int find_exe_text(struct dl_phdr_info *info, size_t size, void *data)
{
    (void)size;
    (void)data;
    /* the first object is the main program */
    for (int i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        if (ph->p_type == PT_LOAD && (ph->p_flags & PF_X)) {
            code.exe_lo = info->dlpi_addr + ph->p_vaddr;
            code.exe_hi = code.exe_lo + ph->p_memsz;
        }
    }
    return 1;
}

/* Text of loaded view modules: application code too. The signal handler reads this table
 * without a lock: an entry is published by its `hi` (stored last, read first), so a reader sees
 * either an empty range or a whole one; removal empties it by `hi` alone, and the slot is reused
 * only after a grace period no handler run can outlast. */
#define MAX_MODULES 256
#define GRACE_NS    100000000L
enum { SLOT_FREE, SLOT_USED, SLOT_RETIRED };
static struct {
    _Atomic uintptr_t lo, hi;
    _Atomic int state;
} modules[MAX_MODULES];
static _Atomic int nmodules;
static pthread_mutex_t modules_lock = PTHREAD_MUTEX_INITIALIZER; /* writers only */

void lv__preempt_add_code(uintptr_t lo, uintptr_t hi)
{
    pthread_mutex_lock(&modules_lock);
    int n = atomic_load(&nmodules), i = 0;
    while (i < n && atomic_load(&modules[i].state) != SLOT_FREE)
        i++;
    if (i < MAX_MODULES) {
        atomic_store(&modules[i].state, SLOT_USED);
        atomic_store(&modules[i].lo, lo);
        atomic_store_explicit(&modules[i].hi, hi, memory_order_release); /* the entry is whole now */
        if (i == n)
            atomic_store_explicit(&nmodules, n + 1, memory_order_release);
    }
    pthread_mutex_unlock(&modules_lock);
}

void lv__preempt_remove_code(uintptr_t lo, uintptr_t hi)
{
    pthread_mutex_lock(&modules_lock);
    int n = atomic_load(&nmodules), i = 0;
    while (i < n && !(atomic_load(&modules[i].state) == SLOT_USED && atomic_load(&modules[i].lo) == lo &&
                      atomic_load(&modules[i].hi) == hi))
        i++;
    if (i < n) {
        atomic_store(&modules[i].state, SLOT_RETIRED);
        atomic_store(&modules[i].hi, 0); /* any read from now on sees an empty range */
    }
    pthread_mutex_unlock(&modules_lock);
    if (i == n)
        return;
    /* a handler that read the entry before it emptied finishes within microseconds */
    struct timespec grace = {0, GRACE_NS};
    while (nanosleep(&grace, &grace) != 0 && errno == EINTR)
        ;
    atomic_store(&modules[i].state, SLOT_FREE);
}

bool lv__preempt_is_runtime_code(uintptr_t pc)
{
    return pc >= code.rt_lo && pc < code.rt_hi;
}

bool lv__preempt_is_app_code(uintptr_t pc)
{
    if (pc >= code.exe_lo && pc < code.exe_hi)
        return !lv__preempt_is_runtime_code(pc);
    int n = atomic_load_explicit(&nmodules, memory_order_acquire);
    for (int i = 0; i < n; i++) {
        uintptr_t hi = atomic_load_explicit(&modules[i].hi, memory_order_acquire);
        if (pc < hi && pc >= atomic_load_explicit(&modules[i].lo, memory_order_relaxed))
            return true;
    }
    return false;
}

LV_NO_ASAN __attribute__((no_sanitize("undefined"))) static void on_preempt(int signo, siginfo_t *si,
                                                                            void *ctx)
{
    (void)signo;
    (void)si;
    lv__sched *s = lv__current_sched();
    ucontext_t *uc = ctx;
    if (s != NULL && !s->exiled && atomic_load_explicit(&s->exile_request, memory_order_relaxed) != NULL)
        s = lv__handoff_on_signal(s, uc); /* blocked: the thread leaves its scheduler (handoff.c) */
    lv_proc *p = s ? s->current : NULL;
    lv__query *q = s ? atomic_load(&s->sample) : NULL;
    if (q && p && p->pid == q->pid && atomic_compare_exchange_strong(&s->sample, &q, NULL)) {
        q->nframes = lv_fault_capture(uc, q->frames, LV_MAX_FRAMES); /* it is running: unwind right here */
        atomic_store(&q->done, 1);
    }
    if (p == NULL || p->stack == NULL || !code.enabled)
        return;
    uintptr_t pc = (uintptr_t)uc->uc_mcontext.gregs[REG_RIP];
    uintptr_t sp = (uintptr_t)uc->uc_mcontext.gregs[REG_RSP];
    uintptr_t lo = (uintptr_t)p->stack->base + 4096, hi = (uintptr_t)p->stack->base + p->stack->size;
    if (sp <= lo + 4096 + code.xsave_size || sp > hi || !lv__preempt_is_app_code(pc)) {
        atomic_fetch_add_explicit(&s->preempt_refused, 1, memory_order_relaxed);
        return;
    }
    if (atomic_load(&p->kill_requested)) {
        uintptr_t nsp = ((sp - 128) & ~(uintptr_t)15) - 8;
        uc->uc_mcontext.gregs[REG_RSP] = (greg_t)nsp;
        uc->uc_mcontext.gregs[REG_RIP] = (greg_t)(uintptr_t)kill_landing;
        return;
    }
    uintptr_t nsp = sp - 128 - 8;
    *(uint64_t *)nsp = pc;
    uc->uc_mcontext.gregs[REG_RSP] = (greg_t)nsp;
    uc->uc_mcontext.gregs[REG_RIP] = (greg_t)(uintptr_t)lv__preempt_trampoline;
    atomic_fetch_add_explicit(&s->preemptions, 1, memory_order_relaxed);
}

int lv__preempt_install(void)
{
    static bool installed;
    if (installed)
        return 0;
    installed = true;
    dl_iterate_phdr(find_exe_text, NULL);
    code.rt_lo = (uintptr_t)__start_lvrt;
    code.rt_hi = (uintptr_t)__stop_lvrt;
    unsigned eax, ebx, ecx, edx;
    if (!__get_cpuid_count(0xD, 0, &eax, &ebx, &ecx, &edx) || ebx < 576)
        return LV_EINVAL;
    code.xsave_size = ebx;
    lv__xsave_size = ebx + 64; /* room to align down to 64 */
    if (code.rt_lo == 0 || code.rt_hi <= code.rt_lo || code.exe_hi == 0) {
        fprintf(stderr, "[salamander] warning: runtime code section not found: preemption disabled\n");
        return LV_EINVAL;
    }
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_sigaction = on_preempt;
    sa.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_RESTART;
    sigemptyset(&sa.sa_mask);
    if (sigaction(PREEMPT_SIGNAL, &sa, NULL) != 0)
        return LV_EIO;
    code.enabled = true;
    return 0;
}

bool lv__preempt_enabled(void)
{
    return code.enabled;
}

void lv__preempt_signal(lv__sched *s)
{
    if (s->tid > 0)
        syscall(SYS_tgkill, getpid(), s->tid, PREEMPT_SIGNAL);
}

/* The epoll descriptor behind an h2o 2.2.5 evloop follows the public struct; verified against
 * /proc before use, so a different layout only loses I/O-aware preemption. */
int lv__loop_epoll_fd(void *loop)
{
    int fd;
    memcpy(&fd, (char *)loop + sizeof(h2o_evloop_t), sizeof(fd));
    char path[64], link[64];
    snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
    ssize_t n = fd >= 0 ? readlink(path, link, sizeof(link) - 1) : -1;
    if (n <= 0)
        return -1;
    link[n] = '\0';
    return strstr(link, "eventpoll") ? fd : -1;
}

/* ---- the monitor thread ---- */

#define TICK_US  250
#define SLICE_NS 2000000u /* a process running this long yields to the others */
#define SHARE_NS 100000u  /* ... or this long, when something else is waiting */
#define STUCK_NS 100000000u

static bool work_waiting(lv__sched *s, uint64_t now_ms, bool io_ready)
{
    if (io_ready || atomic_load_explicit(&s->remote, memory_order_relaxed) != NULL)
        return true;
    uint64_t due = atomic_load_explicit(&s->next_timer_ms, memory_order_relaxed);
    return due != 0 && due <= now_ms;
}

/* What the monitor remembers of one scheduler between ticks. */
typedef struct {
    uint64_t signalled_seq; /* the dispatch it last signalled, and when */
    uint64_t signalled_ns;
    uint64_t stuck_seq; /* the dispatch it last reported as stuck */
    uint64_t preemptions, preempted_ns; /* its count of preemptions, and when it last grew */
} sched_watch;

/* A scheduler that preempted a process lately runs CPU-bound work beside the rest. */
#define CONTENDED_NS 20000000u

static void *sysmon_main(void *arg)
{
    lv_rt *rt = arg;
    pthread_setname_np(pthread_self(), "monitor");
    lv__rt_bind_helper_thread(rt);
    int n = rt->nsched;
    struct pollfd *fds = calloc((size_t)n, sizeof(*fds));
    sched_watch *w = calloc((size_t)n, sizeof(*w));
    if (fds == NULL || w == NULL)
        goto Exit;
    long idle_ticks = 0;
    while (!atomic_load(&rt->sysmon_stop)) {
        lv__handoff_prod_exiles(rt);
        int nfds = 0;
        uint64_t start = lv__now_ns();
        int running = 0;
        uint64_t share_due_ns = UINT64_MAX; /* the soonest a running dispatch reaches its share */
        for (int i = 0; i < n; i++) {
            lv__sched *s = &rt->scheds[i];
            /* Watch the loop's descriptor only while a dispatch has run past its share: a shorter
             * one ends soon and the scheduler polls its loop itself. Watching it during short
             * dispatches would wake this thread for every packet of a busy server. Nor once that
             * dispatch has been signalled: the descriptor stays readable until the scheduler
             * polls, so watching it again would spin this thread. */
            uint64_t since = atomic_load_explicit(&s->running_since_ns, memory_order_relaxed);
            uint64_t seq = atomic_load_explicit(&s->dispatch_seq, memory_order_relaxed);
            running += since != 0;
            bool long_dispatch = since != 0 && since < start && start - since >= SHARE_NS;
            uint64_t preemptions = atomic_load_explicit(&s->preemptions, memory_order_relaxed);
            if (preemptions != w[i].preemptions) {
                w[i].preemptions = preemptions;
                w[i].preempted_ns = start;
            }
            bool contended = start - w[i].preempted_ns < CONTENDED_NS;
            if (contended && since != 0 && !long_dispatch && since < start &&
                SHARE_NS - (start - since) < share_due_ns)
                share_due_ns = SHARE_NS - (start - since);
            fds[i].fd = long_dispatch && s->epfd >= 0 && w[i].signalled_seq != seq ? s->epfd : -1;
            fds[i].events = POLLIN;
            fds[i].revents = 0;
            nfds += fds[i].fd >= 0;
        }
        /* every wake-up costs CPU on these VMs: back off to 8 ms while no process runs; a
         * process that starts spinning meanwhile is caught within that plus its slice */
        long us = running ? TICK_US : TICK_US << (idle_ticks < 5 ? idle_ticks : 5);
        idle_ticks = running ? 0 : idle_ticks + 1;
        /* where processes were preempted lately, a dispatch younger than its share is looked at
         * again when it reaches it, not a whole tick later: a socket that becomes readable
         * meanwhile waits at most the share (elsewhere dispatches are short: ticks cost less) */
        if (share_due_ns < (uint64_t)us * 1000u)
            us = (long)(share_due_ns / 1000u) + 10;
        struct timespec ts = {0, us * 1000};
        if (nfds)
            ppoll(fds, (nfds_t)n, &ts, NULL);
        else
            nanosleep(&ts, NULL);
        uint64_t now = lv__now_ns();
        for (int i = 0; i < n; i++) {
            lv__sched *s = &rt->scheds[i];
            uint64_t since = atomic_load_explicit(&s->running_since_ns, memory_order_acquire);
            uint64_t seq = atomic_load_explicit(&s->dispatch_seq, memory_order_relaxed);
            bool live = since != 0 && since <= now;
            if (lv__handoff_check(rt, s, live ? now - since : 0) || !live)
                continue;
            uint64_t ran = now - since;
            bool io = fds[i].fd >= 0 && (fds[i].revents & POLLIN);
            bool due = ran >= SLICE_NS || (ran >= SHARE_NS && work_waiting(s, lv__sched_now_ms(s), io));
            /* a refused signal (no safe point yet) is repeated once a tick, not in a burst */
            bool recent = w[i].signalled_seq == seq && now - w[i].signalled_ns < TICK_US * 1000u;
            if (!due || recent)
                continue;
            /* a thread blocked in the kernel cannot be preempted: a signal would only cut its
             * call short (EINTR); the hand-off above deals with it */
            char state = ran >= SLICE_NS ? lv__thread_state(s->tid) : 'R';
            if (state != 'S' && state != 'D') {
                lv__preempt_signal(s);
                w[i].signalled_seq = seq;
                w[i].signalled_ns = now;
            }
            if (ran >= STUCK_NS && w[i].stuck_seq != seq) {
                w[i].stuck_seq = seq;
                lv__sched_report_stuck(s, ran);
            }
        }
    }
Exit:
    free(fds);
    free(w);
    return NULL;
}

int lv__sysmon_start(lv_rt *rt)
{
    if (!code.enabled)
        return 0;
    atomic_store(&rt->sysmon_stop, 0);
    if (pthread_create(&rt->sysmon, NULL, sysmon_main, rt) != 0)
        return LV_EIO;
    rt->sysmon_running = true;
    return 0;
}

void lv__sysmon_stop(lv_rt *rt)
{
    if (!rt->sysmon_running)
        return;
    atomic_store(&rt->sysmon_stop, 1);
    pthread_join(rt->sysmon, NULL);
    rt->sysmon_running = false;
}

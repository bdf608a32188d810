/* Crash isolation: SIGSEGV, SIGBUS, SIGFPE, SIGILL and SIGABRT raised by a process end that
 * process only. The handler (on a per-thread alternate stack, so a stack overflow is caught
 * too) records the fault and the stack's return addresses, then rewrites the interrupted
 * context so that sigreturn lands in crash_landing on a spare per-thread stack, which ends the
 * process like lv_crash does. A fault outside any process is a runtime bug: reported, fatal. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <ucontext.h>
#include <unistd.h>

#define UNW_LOCAL_ONLY
#include <libunwind.h>

#include "liveview/fault.h"
#include "liveview/rt_internal.h"
#include "liveview/sanitizer.h"

#define ALT_STACK_SIZE     (64 * 1024)
#define LANDING_STACK_SIZE (64 * 1024)

typedef struct {
    void *altstack;
    void *landing;
    int signo;
    int code;
    void *addr;
    void *ip;
    bool overflow;
    size_t nframes;
    void *frames[LV_MAX_FRAMES];
} thread_fault;

static _Thread_local thread_fault tls_fault;
static const int SIGNALS[] = {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT};

static const char *signal_name(int signo)
{
    switch (signo) {
    case SIGSEGV: return "SIGSEGV";
    case SIGBUS: return "SIGBUS";
    case SIGFPE: return "SIGFPE";
    case SIGILL: return "SIGILL";
    case SIGABRT: return "SIGABRT";
    default: return "signal";
    }
}

size_t lv_fault_symbol(void *ip, bool return_address, char *name, size_t cap)
{
    unw_word_t off = 0;
    /* a return address points after the call: look up the call itself */
    unw_word_t at = (unw_word_t)ip - return_address;
    unw_context_t uc;
    unw_cursor_t c;
    unw_getcontext(&uc);
    uc.uc_mcontext.gregs[REG_RIP] = (greg_t)at; /* a cursor that starts at ip, to name it */
    if (unw_init_local(&c, &uc) != 0 || unw_get_proc_name(&c, name, cap, &off) != 0)
        snprintf(name, cap, "??");
    return (size_t)off + return_address;
}

/* Prints IPs with symbol names; outside signal context only (names are resolved lazily). */
void lv_fault_print_frames(FILE *out, void *const *frames, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        char name[128];
        size_t off = lv_fault_symbol(frames[i], i > 0, name, sizeof(name));
        fprintf(out, "    #%zu %p in %s+0x%zx\n", i, frames[i], name, off);
    }
}

size_t lv_fault_capture(ucontext_t *uc, void **frames, size_t max)
{
    return uc ? lv_fault_walk(uc, true, frames, max) : 0;
}

size_t lv_fault_walk(ucontext_t *uc, bool signal_frame, void **frames, size_t max)
{
    unw_cursor_t c;
    size_t n = 0;
    int init = signal_frame ? unw_init_local2(&c, (unw_context_t *)uc, UNW_INIT_SIGNAL_FRAME)
                            : unw_init_local(&c, (unw_context_t *)uc);
    if (init != 0)
        return 0;
    do {
        unw_word_t ip;
        if (unw_get_reg(&c, UNW_REG_IP, &ip) != 0 || ip == 0)
            break;
        frames[n++] = (void *)ip;
    } while (n < max && unw_step(&c) > 0);
    return n;
}

/* Runs on the landing stack after sigreturn; never returns. */
static void crash_landing(void)
{
    LV_ASAN_FINISH_SWITCH(NULL, NULL, NULL); /* ASan: we now run on the landing stack */
    thread_fault *f = &tls_fault;
    lv_proc *p = lv__current_proc();
    const char *what = f->overflow           ? "stack overflow"
                       : f->signo == SIGFPE  ? "arithmetic fault (divide by zero)"
                       : f->signo == SIGABRT ? "abort"
                       : f->addr == NULL     ? "NULL dereference"
                                             : "invalid memory access";
    lv__crash *c = lv__proc_crash_record(p);
    if (c != NULL) {
        snprintf(c->detail, sizeof(c->detail), "%s: %s at address %p (ip %p)", signal_name(f->signo), what,
                 f->addr, f->ip);
        memcpy(c->frames, f->frames, f->nframes * sizeof(void *));
        c->nframes = f->nframes;
    }
    lv__proc_end(f->overflow ? LV_REASON_STACK_OVERFLOW : LV_REASON_CRASH);
}

static bool on_process_stack(lv_proc *p, uintptr_t sp)
{
    if (p == NULL || p->stack == NULL)
        return false;
    uintptr_t lo = (uintptr_t)p->stack->base, hi = lo + p->stack->size;
    return sp >= lo && sp < hi;
}

LV_NO_ASAN __attribute__((no_sanitize("undefined"))) static void on_fault(int signo, siginfo_t *si, void *ctx)
{
    ucontext_t *uc = ctx;
    lv_proc *p = lv__current_proc();
    uintptr_t sp = (uintptr_t)uc->uc_mcontext.gregs[REG_RSP];
    thread_fault *f = &tls_fault;
    if (!on_process_stack(p, sp) || f->landing == NULL) {
        void *frames[LV_MAX_FRAMES];
        size_t n = lv_fault_capture(uc, frames, LV_MAX_FRAMES);
        fprintf(stderr, "[salamander] FATAL: %s in the runtime itself (ip %p, address %p): stopping\n",
                signal_name(signo), (void *)uc->uc_mcontext.gregs[REG_RIP], si->si_addr);
        lv_fault_print_frames(stderr, frames, n);
        signal(signo, SIG_DFL); /* returning re-raises with the default action */
        if (signo == SIGABRT)
            raise(SIGABRT);
        return;
    }
    f->signo = signo;
    f->code = si->si_code;
    f->addr = si->si_addr;
    f->ip = (void *)uc->uc_mcontext.gregs[REG_RIP];
    size_t page = lv__page_size();
    uintptr_t guard = (uintptr_t)p->stack->base;
    f->overflow =
        signo == SIGSEGV && (uintptr_t)si->si_addr >= guard && (uintptr_t)si->si_addr < guard + page;
    f->nframes = lv_fault_capture(uc, f->frames, LV_MAX_FRAMES);
    /* sigreturn into crash_landing on the spare stack, with a clean FPU state; the last landing's
     * frames left their ASan redzones there */
    LV_ASAN_UNPOISON(f->landing, LANDING_STACK_SIZE);
    LV_ASAN_START_SWITCH(NULL, f->landing, LANDING_STACK_SIZE); /* the process's stack is abandoned */
    uintptr_t top = ((uintptr_t)f->landing + LANDING_STACK_SIZE) & ~(uintptr_t)15;
    uc->uc_mcontext.gregs[REG_RSP] = (greg_t)(top - 8); /* as if called: return address slot */
    uc->uc_mcontext.gregs[REG_RIP] = (greg_t)(uintptr_t)crash_landing;
    if (uc->uc_mcontext.fpregs) {
        uc->uc_mcontext.fpregs->mxcsr = 0x1f80;
        uc->uc_mcontext.fpregs->cwd = 0x37f;
    }
    sigdelset(&uc->uc_sigmask, signo);
}

int lv_fault_thread_init(void)
{
    thread_fault *f = &tls_fault;
    if (f->altstack != NULL)
        return 0;
    f->altstack = mmap(NULL, ALT_STACK_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    f->landing = mmap(NULL, LANDING_STACK_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (f->altstack == MAP_FAILED || f->landing == MAP_FAILED) {
        f->altstack = f->landing = NULL;
        return LV_ENOMEM;
    }
    stack_t ss = {.ss_sp = f->altstack, .ss_size = ALT_STACK_SIZE, .ss_flags = 0};
    return sigaltstack(&ss, NULL) == 0 ? 0 : LV_EIO;
}

void lv_fault_thread_dispose(void)
{
    thread_fault *f = &tls_fault;
    if (f->altstack == NULL)
        return;
    /* ASan unmaps the current altstack at thread exit: detach ours first */
    stack_t ss = {.ss_flags = SS_DISABLE};
    sigaltstack(&ss, NULL);
    munmap(f->altstack, ALT_STACK_SIZE);
    munmap(f->landing, LANDING_STACK_SIZE);
    f->altstack = f->landing = NULL;
}

int lv_fault_install(void)
{
    static bool installed;
    if (installed)
        return 0;
    /* backtrace machinery may load libgcc_s lazily: never do that first inside a handler */
    unw_context_t uc;
    unw_cursor_t c;
    unw_getcontext(&uc);
    unw_init_local(&c, &uc);
    unw_step(&c);
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_sigaction = on_fault;
    sa.sa_flags = SA_SIGINFO | SA_ONSTACK;
    sigemptyset(&sa.sa_mask);
    for (size_t i = 0; i < sizeof(SIGNALS) / sizeof(SIGNALS[0]); i++)
        if (sigaction(SIGNALS[i], &sa, NULL) != 0)
            return LV_EIO;
    installed = true;
    return 0;
}

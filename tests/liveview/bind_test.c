/* --bind-schedulers (lv_rt_config.bind_schedulers): each scheduler's thread runs on one CPU of its
 * own, the monitor on the CPUs left; without it every thread may run anywhere. */
#include <criterion/criterion.h>
#include <dirent.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "liveview/runtime.h"

#define PROCS 6

typedef struct {
    cpu_set_t mask; /* the affinity of the thread that ran the process */
    _Atomic int recorded;
} sample;

static sample samples[PROCS];

static void record_affinity(void *arg)
{
    sample *s = arg;
    pthread_getaffinity_np(pthread_self(), sizeof(s->mask), &s->mask);
    atomic_store(&s->recorded, 1);
    const lv_msg *m;
    lv_receive(&m, NULL, NULL, -1); /* stays, so its scheduler can be asked */
}

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000};
    nanosleep(&ts, NULL);
}

static lv_rt *start(int schedulers, bool bind)
{
    lv_rt_config cfg;
    lv_rt_config_defaults(&cfg);
    cfg.schedulers = schedulers;
    cfg.bind_schedulers = bind;
    lv_rt *rt;
    cr_assert_eq(lv_rt_new(&cfg, &rt), 0);
    cr_assert_eq(lv_rt_start(rt), 0);
    return rt;
}

/* The n-th CPU of set (modulo its size). */
static int nth_cpu(const cpu_set_t *set, int n)
{
    n %= CPU_COUNT(set);
    for (int cpu = 0; cpu < CPU_SETSIZE; cpu++)
        if (CPU_ISSET(cpu, set) && n-- == 0)
            return cpu;
    return -1;
}

/* Runs PROCS processes and checks the affinity each one's thread had against its scheduler. */
static void check_processes(lv_rt *rt, bool bind, const cpu_set_t *allowed)
{
    memset(samples, 0, sizeof(samples));
    lv_pid pids[PROCS];
    for (int i = 0; i < PROCS; i++)
        cr_assert_eq(lv_rt_spawn(rt, "probe", record_affinity, &samples[i], &pids[i]), 0);
    for (int i = 0; i < PROCS; i++) {
        for (int w = 0; w < 400 && !atomic_load(&samples[i].recorded); w++)
            sleep_ms(5);
        cr_assert(atomic_load(&samples[i].recorded), "process %d never ran", i);
        lv_proc_info info;
        cr_assert_eq(lv_rt_info(rt, pids[i], &info), 0);
        if (bind) {
            int want = nth_cpu(allowed, info.scheduler);
            cr_expect_eq(CPU_COUNT(&samples[i].mask), 1, "scheduler %d's thread may run on %d CPUs", info.scheduler,
                         CPU_COUNT(&samples[i].mask));
            cr_expect(CPU_ISSET(want, &samples[i].mask), "scheduler %d is not on CPU %d", info.scheduler, want);
        } else {
            cr_expect(CPU_EQUAL(&samples[i].mask, allowed), "an unbound scheduler's thread was restricted");
        }
    }
}

/* The affinity of this process's thread named `name`; false if there is none. */
static bool thread_mask(const char *name, cpu_set_t *mask)
{
    DIR *d = opendir("/proc/self/task");
    cr_assert_not_null(d);
    struct dirent *e;
    bool found = false;
    while (!found && (e = readdir(d)) != NULL) {
        char path[300], comm[32] = "";
        snprintf(path, sizeof(path), "/proc/self/task/%s/comm", e->d_name);
        FILE *f = fopen(path, "r");
        if (f == NULL)
            continue;
        if (fgets(comm, sizeof(comm), f) && strncmp(comm, name, strlen(name)) == 0 && comm[strlen(name)] == '\n')
            found = sched_getaffinity(atoi(e->d_name), sizeof(*mask), mask) == 0;
        fclose(f);
    }
    closedir(d);
    return found;
}

static void two_schedulers(bool bind)
{
    cpu_set_t allowed;
    cr_assert_eq(sched_getaffinity(0, sizeof(allowed), &allowed), 0);
    lv_rt *rt = start(2, bind);
    check_processes(rt, bind, &allowed);
    lv_rt_free(rt);
}

Test(bind, each_scheduler_on_a_cpu_of_its_own, .timeout = 30)
{
    two_schedulers(true);
}

Test(bind, unbound_schedulers_may_run_anywhere, .timeout = 30)
{
    two_schedulers(false);
}

Test(bind, the_monitor_keeps_off_the_scheduler_cpus, .timeout = 30)
{
    cpu_set_t allowed, monitor;
    cr_assert_eq(sched_getaffinity(0, sizeof(allowed), &allowed), 0);
    if (CPU_COUNT(&allowed) < 2)
        cr_skip_test("one CPU: nothing is left over for the monitor");
    lv_rt *rt = start(1, true);
    bool found = false;
    for (int w = 0; w < 200 && !(found = thread_mask("monitor", &monitor) && !CPU_EQUAL(&monitor, &allowed)); w++)
        sleep_ms(5); /* the monitor binds itself as it starts */
    cr_assert(found, "no monitor thread, or it was not bound");
    cr_expect_not(CPU_ISSET(nth_cpu(&allowed, 0), &monitor), "the monitor shares scheduler 0's CPU");
    cr_expect_eq(CPU_COUNT(&monitor), CPU_COUNT(&allowed) - 1);
    lv_rt_free(rt);
}

/* Utilisation from scheduler busy time, memory from /proc/self/status. */
#include "examples/dashboard/system_stats.h"

#include <stdio.h>
#include <time.h>

void system_stats_sample(lv_rt *rt, system_sample *out)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    out->at_ns = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
    out->nsched = lv_rt_schedulers(rt);
    if (out->nsched > SYSTEM_MAX_SCHEDULERS)
        out->nsched = SYSTEM_MAX_SCHEDULERS;
    for (int i = 0; i < out->nsched; i++) {
        lv_sched_stats st;
        lv_rt_sched_stats(rt, i, &st);
        out->busy_ns[i] = st.busy_ns;
    }
}

int system_stats_utilisation(const system_sample *a, const system_sample *b, int i)
{
    uint64_t dt = b->at_ns > a->at_ns ? b->at_ns - a->at_ns : 1;
    uint64_t busy = b->busy_ns[i] > a->busy_ns[i] ? b->busy_ns[i] - a->busy_ns[i] : 0;
    uint64_t pct = busy * 100 / dt;
    return pct > 100 ? 100 : (int)pct;
}

void system_stats_describe(const system_sample *a, const system_sample *b, char *sched, size_t sched_cap,
                           char *memory, size_t memory_cap)
{
    size_t used = (size_t)snprintf(sched, sched_cap, "scheduler utilisation:");
    for (int i = 0; i < b->nsched && used < sched_cap; i++)
        used += (size_t)snprintf(sched + used, sched_cap - used, " %d %%", system_stats_utilisation(a, b, i));
    snprintf(memory, memory_cap, "%.1f MiB", (double)lv_rss_bytes() / 1048576.0);
}

/* Scheduler utilisation and memory for the demo views, from two samples a second apart. */
#ifndef LV_EXAMPLES_SYSTEM_STATS_H
#define LV_EXAMPLES_SYSTEM_STATS_H

#include <stddef.h>
#include <stdint.h>

#include "liveview/runtime.h"

#define SYSTEM_MAX_SCHEDULERS 16

typedef struct system_sample {
    uint64_t at_ns;
    int nsched;
    uint64_t busy_ns[SYSTEM_MAX_SCHEDULERS];
} system_sample;

void system_stats_sample(lv_rt *rt, system_sample *out);
/* Utilisation of scheduler i between two samples, 0..100. */
int system_stats_utilisation(const system_sample *a, const system_sample *b, int i);
/* "scheduler utilisation: 3 % 97 %" and "123.4 MiB" */
void system_stats_describe(const system_sample *a, const system_sample *b, char *sched, size_t sched_cap,
                           char *memory, size_t memory_cap);

#endif

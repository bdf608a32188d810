/* The synthetic load of the demo: worker processes under sharded supervisors, each doing a small
 * calculation once a second at a random phase, counted by a controller process. */
#ifndef LV_EXAMPLES_LOAD_JOBS_H
#define LV_EXAMPLES_LOAD_JOBS_H

#include <stdatomic.h>

#include "liveview/runtime.h"

#define LOAD_SAMPLES 600 /* 60 s of 100 ms samples */

/* Shared with the admin socket and the views: written by the controller only. */
typedef struct load_stats {
    _Atomic double successes_per_s; /* 1 s moving average */
    _Atomic int jobs;
} load_stats;

/* Starts the controller, registered as "load". `stats` must outlive the runtime. */
int load_controller_start(lv_rt *rt, load_stats *stats);
double load_successes_per_s(void *stats);

/* Messages to the controller (from a process): */
#define LOAD_SET_JOBS    "set_jobs" /* data: int */
#define LOAD_GET_SAMPLES "samples"  /* answered with "samples": float[LOAD_SAMPLES], oldest first */

#endif

/* Preemption and the monitor thread (preempt.c). */
#ifndef LV_PREEMPT_H
#define LV_PREEMPT_H

#include <stdbool.h>
#include <stdint.h>

typedef struct lv__sched lv__sched;
typedef struct lv_rt lv_rt;

int lv__preempt_install(void);
bool lv__preempt_enabled(void);
void lv__preempt_signal(lv__sched *s);
int lv__loop_epoll_fd(void *loop);
/* Marks [lo, hi) as application code (a view module loaded at run time). */
void lv__preempt_add_code(uintptr_t lo, uintptr_t hi);
/* Takes back lv__preempt_add_code(lo, hi). Blocks for a grace period longer than any run of the
 * preemption handler, which reads the table without a lock: call it off the schedulers, and
 * unmap the code only after it returns. */
void lv__preempt_remove_code(uintptr_t lo, uintptr_t hi);
int lv__sysmon_start(lv_rt *rt);
void lv__sysmon_stop(lv_rt *rt);

#endif

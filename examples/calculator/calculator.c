/* The calculator demo from the "let it crash" talk: each submission computes the sum 1..n in a
 * separate, monitored process. The bugs are kept on purpose: n = 13 dereferences NULL, a large n
 * is slow, and a negative n loops forever (no validation). The session only sees a DOWN message.
 * Built with -DLV_CALCULATOR_FIXED (build/views/calculator_fixed.so) it is the talk's fix, loaded
 * with `lvctl upgrade`: input is validated and the sum takes the closed form. */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#include "liveview/liveview.h"

typedef struct {
    int64_t id;
    char input[24];
    char status[16]; /* "calculating", "done", "error", "invalid" */
    char result[32];
    uint64_t monitor;
} calc_entry;

typedef struct {
    char n[24];             /* what is typed in the form: recovered after a reconnect */
    calc_entry entries[32]; /* newest first */
    int nentries;
    int64_t next_id;
} calculator;

static const char *entry_separator(const calc_entry *e)
{
    return strcmp(e->status, "done") == 0 ? " = " : " … ";
}

#include "examples/calculator/calculator.lv.h"

typedef struct {
    int64_t id, n;
} calc_job;

typedef struct {
    int64_t id, sum;
    bool overflow;
} calc_answer;

#ifdef LV_CALCULATOR_FIXED
static int64_t sum_to(int64_t n, bool *overflow)
{
    int64_t product; /* n(n+1)/2, dividing the even factor first */
    *overflow = n % 2 == 0 ? __builtin_mul_overflow(n / 2, n + 1, &product)
                           : __builtin_mul_overflow(n, (n + 1) / 2, &product);
    return product;
}
#else
/* Naive on purpose: the loop must really run (the barrier stops compilers from folding it into
 * n(n+1)/2), and a negative n never reaches 0. */
__attribute__((no_sanitize("undefined"))) static int64_t sum_to(int64_t n, bool *overflow)
{
    int64_t sum = 0;
    *overflow = false;
    if (n == 13) {
        volatile int *unlucky = NULL; /* the talk's bug: a real segfault */
        *unlucky = 13;
    }
    for (int64_t i = n; i != 0; i--) {
        *overflow |= __builtin_add_overflow(sum, i, &sum);
        __asm__ volatile("" : "+r"(sum));
    }
    return sum;
}
#endif

static void calc_worker(void *arg)
{
    (void)arg;
    const lv_msg *m;
    if (lv_receive(&m, NULL, NULL, -1) != 0 || m->size != sizeof(calc_job))
        lv_crash("calculator worker got no job");
    calc_job job;
    memcpy(&job, m->data, sizeof(job));
    calc_answer a = {.id = job.id};
    a.sum = sum_to(job.n, &a.overflow);
    lv_send(m->from, "answer", &a, sizeof(a));
}

static calc_entry *find_entry(calculator *c, int64_t id, uint64_t monitor)
{
    for (int i = 0; i < c->nentries; i++)
        if ((id && c->entries[i].id == id) || (monitor && c->entries[i].monitor == monitor))
            return &c->entries[i];
    return NULL;
}

static calc_entry *push_entry(calculator *c, const char *input)
{
    if (c->nentries == (int)(sizeof(c->entries) / sizeof(c->entries[0])))
        c->nentries--; /* the oldest falls off */
    memmove(&c->entries[1], &c->entries[0], (size_t)c->nentries * sizeof(c->entries[0]));
    c->nentries++;
    calc_entry *e = &c->entries[0];
    memset(e, 0, sizeof(*e));
    e->id = ++c->next_id;
    snprintf(e->input, sizeof(e->input), "%s", input);
    return e;
}

static int handle_event(lv_view *v, const char *event, const lv_value *payload)
{
    calculator *c = lv_state(v);
    const char *input = lv_value_str(payload, "n");
    if (strcmp(event, "edit") == 0) {
        snprintf(c->n, sizeof(c->n), "%s", input ? input : "");
        return 0;
    }
    if (strcmp(event, "calculate") != 0)
        return LV_ENOTFOUND;
    calc_entry *e = push_entry(c, input ? input : "");
    int64_t n = 0;
#ifdef LV_CALCULATOR_FIXED
    char *end;
    errno = 0;
    n = strtoll(e->input, &end, 10);
    if (errno || end == e->input || *end != '\0' || n <= 0) {
        strcpy(e->status, "invalid");
        strcpy(e->result, "invalid input");
        return 0;
    }
#else
    sscanf(e->input, "%" SCNd64, &n); /* no validation: that is the bug the upgrade fixes */
#endif
    lv_pid worker;
    calc_job job = {e->id, n};
    if (lv_spawn("calculation", calc_worker, NULL, &worker) != 0 || lv_monitor(worker, &e->monitor) != 0 ||
        lv_send(worker, "job", &job, sizeof(job)) != 0) {
        strcpy(e->status, "error");
        strcpy(e->result, "error");
        return 0;
    }
    strcpy(e->status, "calculating");
    strcpy(e->result, "calculating");
    return 0;
}

static void handle_info(lv_view *v, const lv_msg *msg)
{
    calculator *c = lv_state(v);
    if (msg->kind == LV_MSG_USER && strcmp(msg->tag, "answer") == 0 && msg->size == sizeof(calc_answer)) {
        calc_answer a;
        memcpy(&a, msg->data, sizeof(a));
        calc_entry *e = find_entry(c, a.id, 0);
        if (e == NULL)
            return;
        e->monitor = 0;
        if (a.overflow) {
            strcpy(e->status, "error");
            strcpy(e->result, "overflow");
        } else {
            strcpy(e->status, "done");
            snprintf(e->result, sizeof(e->result), "%" PRId64, a.sum);
        }
    } else if (msg->kind == LV_MSG_DOWN && strcmp(msg->tag, LV_REASON_NORMAL) != 0) {
        calc_entry *e = find_entry(c, 0, msg->ref);
        if (e != NULL) {
            strcpy(e->status, "error");
            strcpy(e->result, "error");
        }
    }
}

LV_VIEW(calculator, NULL, handle_event, handle_info);

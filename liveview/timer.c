/* Timers: one hashed wheel per scheduler with 1 ms slots. The scheduler sleeps in its event loop
 * until the next expiry, so a scheduler costs one OS wake-up per due slot, not one per timer.
 * A timer belongs to the process that set it and dies with it. */
#include <stdlib.h>
#include <string.h>

#include "liveview/rt_internal.h"

#define WHEEL_SLOTS 1024u

static void wheel_link(lv__sched *s, lv__timer *t)
{
    lv__timer **head = &s->wheel[t->expires % WHEEL_SLOTS];
    t->wprev = NULL;
    t->wnext = *head;
    if (*head)
        (*head)->wprev = t;
    *head = t;
    t->in_wheel = true;
    s->ntimers++;
}

static void wheel_unlink(lv__sched *s, lv__timer *t)
{
    if (!t->in_wheel)
        return;
    if (t->wprev)
        t->wprev->wnext = t->wnext;
    else
        s->wheel[t->expires % WHEEL_SLOTS] = t->wnext;
    if (t->wnext)
        t->wnext->wprev = t->wprev;
    t->in_wheel = false;
    s->ntimers--;
}

static void note_next(lv__sched *s, uint64_t expires)
{
    uint64_t next = atomic_load_explicit(&s->next_timer_ms, memory_order_relaxed);
    if (next == 0 || expires < next) /* tell the monitor thread when to look */
        atomic_store_explicit(&s->next_timer_ms, expires, memory_order_relaxed);
}

lv__timer *lv__timer_add(lv__sched *s, lv_proc *owner, uint64_t ms, const char *tag)
{
    lv__proc_go_home(); /* the wheel belongs to s's thread */
    /* sized from the tag's offset, not sizeof (which pads the flags to 8 bytes): a 1 s tick with a
     * tag of up to 5 characters is then a 64-byte chunk, not 80 */
    lv__timer *t = calloc(1, offsetof(lv__timer, tag) + (tag ? strlen(tag) + 1 : 1));
    if (t == NULL)
        return NULL;
    uint64_t now = lv__sched_now_ms(s);
    if (s->wheel_now == 0 || s->wheel_now > now)
        s->wheel_now = now;
    t->expires = now + (ms ? ms : 1);
    if (t->expires <= s->wheel_now) /* the wheel already passed that slot */
        t->expires = s->wheel_now + 1;
    t->owner = owner;
    t->ref = atomic_fetch_add(&s->rt->next_ref, 1);
    t->is_receive_timeout = tag == NULL;
    if (tag)
        strcpy(t->tag, tag);
    wheel_link(s, t);
    note_next(s, t->expires);
    return t;
}

/* A process moving to another scheduler takes its timers along: out of this wheel ... */
void lv__timers_detach(lv__sched *s, lv_proc *p)
{
    for (lv__timer *t = p->timers; t; t = t->pnext)
        wheel_unlink(s, t);
}

static void attach(lv__sched *s, lv__timer *t)
{
    if (t->expires == 0) /* a receive timeout that already fired */
        return;
    if (t->expires <= s->wheel_now) /* this wheel already passed that slot: fire on the next */
        t->expires = s->wheel_now + 1;
    wheel_link(s, t);
    note_next(s, t->expires);
}

/* ... and into the new one, on its thread. */
void lv__timers_attach(lv__sched *s, lv_proc *p)
{
    for (lv__timer *t = p->timers; t; t = t->pnext)
        attach(s, t);
}

void lv__timer_remove(lv__sched *s, lv__timer *t)
{
    lv__proc_go_home();
    wheel_unlink(s, t);
}

static void fire(lv__sched *s, lv__timer *t)
{
    wheel_unlink(s, t);
    lv_proc *p = t->owner;
    if (t->is_receive_timeout) {
        t->expires = 0; /* tells lv_receive it timed out; lv_receive frees it */
        int expected = LV__WAITING;
        if (atomic_compare_exchange_strong(&p->state, &expected, LV__RUNNABLE))
            lv__sched_push_local(s, p);
        return;
    }
    for (lv__timer **pp = &p->timers; *pp; pp = &(*pp)->pnext)
        if (*pp == t) {
            *pp = t->pnext;
            break;
        }
    lv__deliver(s->rt, p->pid, LV_MSG_TIMER, p->pid, t->tag, NULL, 0, t->ref);
    free(t);
}

void lv__timers_fire(lv__sched *s, uint64_t now)
{
    if (s->ntimers == 0) {
        s->wheel_now = now;
        return;
    }
    uint64_t from = s->wheel_now + 1;
    if (now >= from && now - from >= WHEEL_SLOTS) /* a long jump: one pass over every slot */
        from = now - WHEEL_SLOTS + 1;
    for (uint64_t tick = from; tick <= now && s->ntimers; tick++) {
        lv__timer *t = s->wheel[tick % WHEEL_SLOTS];
        while (t) {
            lv__timer *next = t->wnext;
            if (t->expires <= now)
                fire(s, t);
            t = next;
        }
    }
    s->wheel_now = now;
}

int64_t lv__timers_next_ms(lv__sched *s, uint64_t now)
{
    if (s->ntimers == 0)
        return -1;
    uint64_t best = UINT64_MAX;
    for (uint64_t i = 1; i <= WHEEL_SLOTS; i++) {
        for (lv__timer *t = s->wheel[(now + i) % WHEEL_SLOTS]; t; t = t->wnext)
            if (t->expires < best)
                best = t->expires;
        if (best != UINT64_MAX && best <= now + i)
            break;
    }
    return best <= now ? 0 : (int64_t)(best - now);
}

/* ---- process API ---- */

int lv_send_after(uint64_t ms, const char *tag, uint64_t *ref)
{
    lv_proc *p = lv__current_proc();
    if (p == NULL || tag == NULL || strlen(tag) >= LV__TIMER_TAG_MAX)
        return LV_EINVAL;
    lv__proc_go_home(); /* the scheduler's thread fires these timers: no sharing p->timers */
    lv__timer *t = lv__timer_add(p->sched, p, ms, tag);
    if (t == NULL)
        return LV_ENOMEM;
    t->pnext = p->timers;
    p->timers = t;
    if (ref)
        *ref = t->ref;
    return 0;
}

int lv_cancel_timer(uint64_t ref)
{
    lv_proc *p = lv__current_proc();
    if (p == NULL)
        return LV_EINVAL;
    lv__proc_go_home();
    for (lv__timer **pp = &p->timers; *pp; pp = &(*pp)->pnext) {
        lv__timer *t = *pp;
        if (t->ref == ref && !t->is_receive_timeout) {
            *pp = t->pnext;
            wheel_unlink(p->sched, t);
            free(t);
            return 0;
        }
    }
    return LV_ENOTFOUND;
}

/* inflight.c — the table of in-flight requests at level 2 and 3.
 *
 * DESIGN
 *
 * A fixed array of AGENT_SLOTS slots, each a small state machine driven by
 * CAS (acq_rel), so that the request thread, the watchdog/sampler and the
 * writer hand a slot over without a lock:
 *
 *   FREE --claim (request)--> RUN
 *   RUN  --capture_begin (watchdog/sampler)--> BUSY --capture_end--> RUN
 *   RUN  --end, nothing captured--> FREE
 *   RUN  --end, something captured--> ENDED            (writer takes it)
 *   BUSY --end--> END_BUSY --capture_end--> ENDED
 *   ENDED/END_BUSY, record dropped --> ORPHAN/ORPHAN_BUSY (watchdog frees)
 *
 * slot->cap is written only by the thread that holds the slot BUSY and is
 * published by the release of the CAS that leaves BUSY.  The writer waits
 * (it may block; it is not the request path) until a slot it was handed
 * reaches ENDED.  When every slot is taken, the request simply runs at
 * level 1: it is still recorded, just without outlier capture.
 */
#include <pthread.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "agent/agent_int.h"

/* The kernel thread id, cached per thread: gettid() is a system call, and
 * the request path makes none.  initial-exec TLS needs no allocation. */
static __thread pid_t tls_tid __attribute__((tls_model("initial-exec")));

static pid_t my_tid(void)
{
    if (!tls_tid)
        tls_tid = (pid_t)syscall(SYS_gettid);
    return tls_tid;
}

static int cas(_Atomic int *p, int from, int to)
{
    return atomic_compare_exchange_strong_explicit(p, &from, to, memory_order_acq_rel,
                                                   memory_order_acquire);
}

int inflight_claim(evd_agent *a, int ep, int level, int64_t t0, void *ctx)
{
    uint64_t self = (uint64_t)pthread_self();
    /* Start probing at a per-thread spot so threads rarely collide. */
    unsigned start = (unsigned)((self >> 6) ^ (self >> 16)) % AGENT_SLOTS;
    for (unsigned i = 0; i < AGENT_SLOTS; i++) {
        unsigned k = (start + i) % AGENT_SLOTS;
        slot *s = &a->slots[k];
        if (atomic_load_explicit(&s->state, memory_order_relaxed) != SLOT_FREE)
            continue;
        int expect = SLOT_FREE;
        /* Claim in a private state first so that the watchdog never sees a
         * half-filled slot: FREE -> BUSY (ours) -> RUN. */
        if (!atomic_compare_exchange_strong_explicit(&s->state, &expect, SLOT_BUSY,
                                                     memory_order_acquire, memory_order_relaxed))
            continue;
        endpoint *e = &a->eps[ep];
        uint64_t n = atomic_load_explicit(&e->mean_n, memory_order_relaxed);
        uint64_t sum = atomic_load_explicit(&e->mean_sum_ns, memory_order_relaxed);
        s->endpoint = ep;
        atomic_store_explicit(&s->level, level, memory_order_relaxed);
        s->t0 = t0;
        atomic_store_explicit(&s->deadline,
                              n >= AGENT_MEAN_MIN_SAMPLES
                                  ? t0 + (int64_t)(a->outlier_c * (double)sum / (double)n)
                                  : INT64_MAX,
                              memory_order_relaxed);
        s->thread = self;
        s->tid = my_tid();
        s->ctx = ctx;
        s->cap = NULL;
        s->last_sample = t0;
        atomic_store_explicit(&s->state, SLOT_RUN, memory_order_release);
        return (int)k;
    }
    return -1;
}

int inflight_end(evd_agent *a, int idx)
{
    slot *s = &a->slots[idx];
    for (;;) {
        int st = atomic_load_explicit(&s->state, memory_order_acquire);
        if (st == SLOT_RUN) {
            int to = s->cap ? SLOT_ENDED : SLOT_FREE;
            if (cas(&s->state, SLOT_RUN, to))
                return to == SLOT_ENDED ? idx : -1;
        } else if (st == SLOT_BUSY) {
            if (cas(&s->state, SLOT_BUSY, SLOT_END_BUSY))
                return idx;
        } else {
            return -1; /* reset by fork: nothing to hand over */
        }
    }
}

void inflight_orphan(evd_agent *a, int idx)
{
    slot *s = &a->slots[idx];
    if (!cas(&s->state, SLOT_ENDED, SLOT_ORPHAN))
        cas(&s->state, SLOT_END_BUSY, SLOT_ORPHAN_BUSY);
}

int inflight_capture_begin(evd_agent *a, int idx)
{
    return cas(&a->slots[idx].state, SLOT_RUN, SLOT_BUSY) ? 0 : -1;
}

void inflight_capture_end(evd_agent *a, int idx)
{
    slot *s = &a->slots[idx];
    if (cas(&s->state, SLOT_BUSY, SLOT_RUN))
        return;
    if (cas(&s->state, SLOT_END_BUSY, SLOT_ENDED))
        return;
    cas(&s->state, SLOT_ORPHAN_BUSY, SLOT_ORPHAN);
}

capture *inflight_take(evd_agent *a, int idx)
{
    slot *s = &a->slots[idx];
    struct timespec ts = {0, 100000};
    /* A capture in progress finishes within the stack time-out. */
    while (atomic_load_explicit(&s->state, memory_order_acquire) == SLOT_END_BUSY)
        nanosleep(&ts, NULL);
    if (atomic_load_explicit(&s->state, memory_order_acquire) != SLOT_ENDED)
        return NULL;
    capture *c = s->cap;
    s->cap = NULL;
    atomic_store_explicit(&s->state, SLOT_FREE, memory_order_release);
    return c;
}

void inflight_reap_orphans(evd_agent *a)
{
    for (int i = 0; i < AGENT_SLOTS; i++) {
        slot *s = &a->slots[i];
        if (atomic_load_explicit(&s->state, memory_order_acquire) != SLOT_ORPHAN)
            continue;
        capture_free(s->cap);
        s->cap = NULL;
        atomic_store_explicit(&s->state, SLOT_FREE, memory_order_release);
    }
}

void capture_free(capture *c)
{
    if (!c)
        return;
    free(c->stack);
    free(c->cpu);
    free(c->memory);
    free(c->details);
    calltree_free(c->tree);
    free(c);
}

void inflight_reset_after_fork(evd_agent *a)
{
    tls_tid = 0; /* the child's thread has a new id */
    for (int i = 0; i < AGENT_SLOTS; i++) {
        capture_free(a->slots[i].cap);
        a->slots[i].cap = NULL;
        atomic_store(&a->slots[i].state, SLOT_FREE);
    }
}

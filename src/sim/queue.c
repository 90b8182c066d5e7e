/* queue.c — radix-heap event queue; see queue.h. */
#include <stdlib.h>
#include <string.h>

#include "evodash.h"
#include "sim/queue.h"

double sim_ev_time(sim_ev e)
{
    double t;
    memcpy(&t, &e.key, sizeof t);
    return t;
}

_Static_assert(EVD_ENOMEM == -1, "queue.h returns -1 for EVD_ENOMEM");

int sim_queue_grow_(sim_queue *q, int b)
{
    sim_bucket *v = &q->b[b];
    size_t cap = v->cap ? v->cap * 2 : 64;
    sim_ev *a = realloc(v->a, cap * sizeof *a);
    if (!a)
        return EVD_ENOMEM;
    v->a = a;
    v->cap = cap;
    return 0;
}

void sim_queue_init(sim_queue *q)
{
    memset(q, 0, sizeof *q);
}

void sim_queue_free(sim_queue *q)
{
    for (int b = 0; b < 65; b++)
        free(q->b[b].a);
    memset(q, 0, sizeof *q);
}

/* Make bucket 0 non-empty: take the lowest non-empty bucket, make its
 * smallest key the new `last`, and spread the bucket over the buckets
 * below it (all its keys now share more leading bits with `last`). */
int sim_queue_refill_(sim_queue *q)
{
    sim_bucket *z = &q->b[0];
    z->n = q->head0 = 0;
    q->mask &= ~1ULL;
    int i = __builtin_ctzll(q->mask);
    sim_bucket *v = &q->b[i];
    uint64_t m = v->a[0].key;
    for (size_t k = 1; k < v->n; k++)
        if (v->a[k].key < m)
            m = v->a[k].key;
    q->last = m;
    size_t n = v->n;
    v->n = 0;
    q->mask &= ~(1ULL << i);
    for (size_t k = 0; k < n; k++) {
        int b = sim_queue_bucket_(v->a[k].key, m);
        sim_bucket *w = &q->b[b];
        if (w->n == w->cap && sim_queue_grow_(q, b))
            return EVD_ENOMEM;
        w->a[w->n++] = v->a[k];
        q->mask |= 1ULL << b;
    }
    return 0;
}

void sim_queue_rebase(sim_queue *q)
{
    q->last = 0;
    q->head0 = 0;
    q->b[0].n = 0;
    q->mask = 0;
}

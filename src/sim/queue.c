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

static inline int bucket_of(uint64_t key, uint64_t last)
{
    return key == last ? 0 : 64 - __builtin_clzll(key ^ last);
}

static inline int append(sim_queue *q, int b, sim_ev e)
{
    sim_bucket *v = &q->b[b];
    if (v->n == v->cap) {
        size_t cap = v->cap ? v->cap * 2 : 64;
        sim_ev *a = realloc(v->a, cap * sizeof *a);
        if (!a)
            return EVD_ENOMEM;
        v->a = a;
        v->cap = cap;
    }
    v->a[v->n++] = e;
    q->mask |= 1ULL << b;
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

int sim_queue_push(sim_queue *q, double t, uint32_t kind, uint32_t id, uint32_t gen)
{
    uint64_t key;
    t += 0.0; /* -0.0 becomes +0.0 */
    memcpy(&key, &t, sizeof key);
    if (!(t >= 0) || key < q->last)
        key = q->last;
    sim_ev e = {.key = key, .kid = kind << 28 | id, .gen = gen};
    if (append(q, bucket_of(key, q->last), e))
        return EVD_ENOMEM;
    q->n++;
    return 0;
}

/* Make bucket 0 non-empty: take the lowest non-empty bucket, make its
 * smallest key the new `last`, and spread the bucket over the buckets
 * below it (all its keys now share more leading bits with `last`). */
static int refill(sim_queue *q)
{
    sim_bucket *z = &q->b[0];
    if (q->head0 < z->n)
        return 0;
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
    for (size_t k = 0; k < n; k++)
        if (append(q, bucket_of(v->a[k].key, m), v->a[k]))
            return EVD_ENOMEM;
    return 0;
}

int sim_queue_peek(sim_queue *q, sim_ev *e)
{
    int rc = refill(q);
    if (!rc)
        *e = q->b[0].a[q->head0];
    return rc;
}

int sim_queue_pop(sim_queue *q, sim_ev *e)
{
    int rc = refill(q);
    if (!rc) {
        *e = q->b[0].a[q->head0++];
        q->n--;
    }
    return rc;
}

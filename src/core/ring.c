/* ring.c — the request ring.
 *
 * DESIGN
 *
 * A bounded array of cells, each with a sequence number, after Vyukov's
 * bounded MPMC queue, restricted to one consumer (the writer thread).
 *
 *   producer: pos = head (relaxed); look at cells[pos & mask].seq (acquire):
 *     seq == pos       the cell is free: CAS head pos -> pos+1 (relaxed); on
 *                      success the cell is ours; fill it and store
 *                      seq = pos+1 (release), which publishes the record.
 *     seq <  pos       the consumer has not freed this cell yet: the ring is
 *                      full.  The caller drops the record and counts it.
 *     seq >  pos       another producer took pos; reload head and retry.
 *   consumer: at tail, seq == tail+1 (acquire) means published; copy the
 *     record, then store seq = tail + capacity (release) to free the cell.
 *
 * Producers never wait for each other except through the CAS, never
 * allocate and never block; overflow is reported to the caller, who counts
 * a drop.  A producer preempted between reserve and publish stalls only the
 * consumer, which stops at that cell and comes back later.  head counts
 * every accepted record, so "recorded" needs no counter of its own.
 */
#include <stdlib.h>
#include <string.h>

#include "core/ring.h"

int ring_init(ring *r, size_t capacity)
{
    memset(r, 0, sizeof *r);
    if (capacity < 2 || (capacity & (capacity - 1)))
        return EVD_EINVAL;
    r->cells = aligned_alloc(64, capacity * sizeof(ring_cell));
    if (!r->cells)
        return EVD_ENOMEM;
    r->mask = capacity - 1;
    for (size_t i = 0; i < capacity; i++)
        atomic_init(&r->cells[i].seq, i);
    atomic_init(&r->head, 0);
    atomic_init(&r->tail, 0);
    return 0;
}

void ring_free(ring *r)
{
    if (!r)
        return;
    free(r->cells);
    r->cells = NULL;
}

ring_cell *ring_reserve(ring *r, uint64_t *out_pos)
{
    uint64_t pos = atomic_load_explicit(&r->head, memory_order_relaxed);
    for (;;) {
        ring_cell *c = &r->cells[pos & r->mask];
        uint64_t seq = atomic_load_explicit(&c->seq, memory_order_acquire);
        int64_t dif = (int64_t)(seq - pos);
        if (dif == 0) {
            if (atomic_compare_exchange_weak_explicit(&r->head, &pos, pos + 1, memory_order_relaxed,
                                                      memory_order_relaxed)) {
                *out_pos = pos;
                return c;
            }
            /* pos was reloaded by the failed CAS */
        } else if (dif < 0) {
            return NULL;
        } else {
            pos = atomic_load_explicit(&r->head, memory_order_relaxed);
        }
    }
}

void ring_publish(ring_cell *c, uint64_t pos)
{
    atomic_store_explicit(&c->seq, pos + 1, memory_order_release);
}

size_t ring_drain(ring *r, ring_rec *out, size_t max)
{
    size_t n = 0;
    uint64_t tail = atomic_load_explicit(&r->tail, memory_order_relaxed);
    while (n < max) {
        ring_cell *c = &r->cells[tail & r->mask];
        uint64_t seq = atomic_load_explicit(&c->seq, memory_order_acquire);
        if (seq != tail + 1)
            break;
        out[n++] = c->rec;
        atomic_store_explicit(&c->seq, tail + r->mask + 1, memory_order_release);
        tail++;
    }
    atomic_store_explicit(&r->tail, tail, memory_order_release);
    return n;
}

uint64_t ring_accepted(const ring *r)
{
    return atomic_load_explicit(&((ring *)r)->head, memory_order_relaxed);
}

uint64_t ring_pending(const ring *r)
{
    uint64_t tail = atomic_load_explicit(&((ring *)r)->tail, memory_order_acquire);
    return ring_accepted(r) - tail;
}

uint64_t ring_drained(const ring *r)
{
    return atomic_load_explicit(&((ring *)r)->tail, memory_order_acquire);
}

void ring_reset(ring *r)
{
    uint64_t cap = r->mask + 1;
    uint64_t head = atomic_load_explicit(&r->head, memory_order_relaxed);
    /* Keep head (so "recorded" stays monotonic) and mark every cell free for
     * the positions head .. head+cap-1. */
    for (uint64_t i = 0; i < cap; i++) {
        uint64_t p = head + i;
        atomic_store_explicit(&r->cells[p & r->mask].seq, p, memory_order_relaxed);
    }
    atomic_store_explicit(&r->tail, head, memory_order_relaxed);
}

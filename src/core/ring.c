/* ring.c — the request ring.
 *
 * DESIGN
 *
 * The ring is a few shards; each shard is a bounded array of cells, each
 * with a sequence number, after Vyukov's bounded MPMC queue, restricted to
 * one consumer (the writer thread).  A producer thread is given a shard
 * the first time it records (round-robin over threads, kept in a
 * thread-local), so threads on different cores do not fight over one
 * head: with one shared head, two threads spent ~170 ns per request just
 * moving its cache line between cores; with a head each, ~10 ns.  Threads
 * that share a shard stay correct, since each shard takes many producers.
 *
 *   producer: pos = head (relaxed); look at cells[pos & mask].seq (acquire):
 *     seq == pos       the cell is free: CAS head pos -> pos+1 (relaxed); on
 *                      success the cell is ours; fill it and store
 *                      seq = pos+1 (release), which publishes the record.
 *     seq <  pos       the consumer has not freed this cell yet: the shard
 *                      is full.  The caller drops the record and counts it.
 *     seq >  pos       another producer took pos; reload head and retry.
 *   consumer: at tail, seq == tail+1 (acquire) means published; copy the
 *     record, then store seq = tail + capacity (release) to free the cell.
 *
 * A cell stores seq minus its own index, so that a zeroed cell reads as
 * free for its first position: the cells are anonymous pages straight
 * from mmap (calloc may hand back recycled heap memory and clear it, which
 * touches every page), so a shard's pages are touched only once records
 * pass through them, and shards that no thread uses cost address space,
 * not memory.
 *
 * Producers never wait for each other except through the CAS, never
 * allocate and never block; overflow is reported to the caller, who counts
 * a drop.  A producer preempted between reserve and publish stalls only
 * its shard's consumer side, which stops at that cell and comes back
 * later.  The heads count every accepted record, so "recorded" needs no
 * counter of its own.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "core/ring.h"

/* The calling thread's shard number + 1 (0: not yet given one). */
static __thread unsigned t_shard;
static _Atomic unsigned next_shard;

int ring_init(ring *r, size_t capacity, unsigned nshards)
{
    memset(r, 0, sizeof *r);
    if (capacity < 2 || (capacity & (capacity - 1)) || !nshards || nshards > RING_SHARDS_MAX ||
        (nshards & (nshards - 1)))
        return EVD_EINVAL;
    r->shard = aligned_alloc(64, nshards * sizeof(ring_shard));
    if (!r->shard)
        return EVD_ENOMEM;
    memset(r->shard, 0, nshards * sizeof(ring_shard));
    r->nshards = nshards;
    r->mask = capacity - 1;
    for (unsigned i = 0; i < nshards; i++) {
        ring_shard *s = &r->shard[i];
        void *m = mmap(NULL, capacity * sizeof(ring_cell), PROT_READ | PROT_WRITE,
                       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (m == MAP_FAILED) {
            ring_free(r);
            return EVD_ENOMEM;
        }
        s->cells = m;
        atomic_init(&s->head, 0);
        atomic_init(&s->tail, 0);
    }
    return 0;
}

void ring_free(ring *r)
{
    if (!r || !r->shard)
        return;
    for (unsigned i = 0; i < r->nshards; i++)
        if (r->shard[i].cells)
            munmap(r->shard[i].cells, (r->mask + 1) * sizeof(ring_cell));
    free(r->shard);
    r->shard = NULL;
}

/* seq as stored in cell index i, and back */
#define SEQ_AT(c, i)     (atomic_load_explicit(&(c)->seq, memory_order_acquire) + (i))
#define SEQ_SET(c, i, v) atomic_store_explicit(&(c)->seq, (v) - (i), memory_order_release)

ring_cell *ring_reserve(ring *r, uint64_t *out_pos)
{
    if (!t_shard)
        t_shard = atomic_fetch_add_explicit(&next_shard, 1, memory_order_relaxed) + 1;
    ring_shard *s = &r->shard[(t_shard - 1) & (r->nshards - 1)];
    uint64_t pos = atomic_load_explicit(&s->head, memory_order_relaxed);
    for (;;) {
        uint64_t i = pos & r->mask;
        ring_cell *c = &s->cells[i];
        int64_t dif = (int64_t)(SEQ_AT(c, i) - pos);
        if (dif == 0) {
            if (atomic_compare_exchange_weak_explicit(&s->head, &pos, pos + 1, memory_order_relaxed,
                                                      memory_order_relaxed)) {
                *out_pos = pos;
                return c;
            }
            /* pos was reloaded by the failed CAS */
        } else if (dif < 0) {
            return NULL;
        } else {
            pos = atomic_load_explicit(&s->head, memory_order_relaxed);
        }
    }
}

void ring_publish(const ring *r, ring_cell *c, uint64_t pos)
{
    SEQ_SET(c, pos & r->mask, pos + 1);
}

/* Drain one shard into out[0..max). */
static size_t drain_shard(const ring *r, ring_shard *s, ring_rec *out, size_t max)
{
    size_t n = 0;
    uint64_t tail = atomic_load_explicit(&s->tail, memory_order_relaxed);
    while (n < max) {
        uint64_t i = tail & r->mask;
        ring_cell *c = &s->cells[i];
        if (SEQ_AT(c, i) != tail + 1)
            break;
        out[n++] = c->rec;
        SEQ_SET(c, i, tail + r->mask + 1);
        tail++;
    }
    atomic_store_explicit(&s->tail, tail, memory_order_release);
    return n;
}

size_t ring_drain(ring *r, ring_rec *out, size_t max)
{
    size_t n = 0;
    /* start with a different shard each time, so that none waits behind
     * a busy one */
    for (unsigned k = 0; k < r->nshards && n < max; k++)
        n += drain_shard(r, &r->shard[(r->next + k) & (r->nshards - 1)], out + n, max - n);
    r->next++;
    return n;
}

uint64_t ring_accepted(const ring *r)
{
    uint64_t n = 0;
    for (unsigned i = 0; i < r->nshards; i++)
        n += atomic_load_explicit(&r->shard[i].head, memory_order_relaxed);
    return n;
}

uint64_t ring_pending(const ring *r)
{
    uint64_t n = 0;
    for (unsigned i = 0; i < r->nshards; i++) {
        uint64_t tail = atomic_load_explicit(&r->shard[i].tail, memory_order_acquire);
        n += atomic_load_explicit(&r->shard[i].head, memory_order_relaxed) - tail;
    }
    return n;
}

void ring_accepted_each(const ring *r, uint64_t *out)
{
    for (unsigned i = 0; i < r->nshards; i++)
        out[i] = atomic_load_explicit(&r->shard[i].head, memory_order_relaxed);
}

void ring_drained_each(const ring *r, uint64_t *out)
{
    for (unsigned i = 0; i < r->nshards; i++)
        out[i] = atomic_load_explicit(&r->shard[i].tail, memory_order_acquire);
}

void ring_reset(ring *r)
{
    uint64_t cap = r->mask + 1;
    for (unsigned k = 0; k < r->nshards; k++) {
        ring_shard *s = &r->shard[k];
        uint64_t head = atomic_load_explicit(&s->head, memory_order_relaxed);
        /* Keep head (so "recorded" stays monotonic) and mark every cell
         * free for the positions head .. head+cap-1.  A shard never used
         * is free as it is; leave its pages untouched. */
        if (head)
            for (uint64_t i = 0; i < cap; i++) {
                uint64_t p = head + i;
                atomic_store_explicit(&s->cells[p & r->mask].seq, p - (p & r->mask),
                                      memory_order_relaxed);
            }
        atomic_store_explicit(&s->tail, head, memory_order_relaxed);
    }
}

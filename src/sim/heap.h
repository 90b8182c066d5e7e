/* heap.h — the simulator's event queue: a 4-ary min-heap ordered by (time,
 * sequence number).  The sequence number makes equal-time events pop in
 * insertion order, so runs are reproducible.  A 4-ary heap has half the
 * depth of a binary one and its four children share a cache line or two,
 * which is what makes it faster in practice for this workload.
 *
 * Events of one kind (kind == track_kind) can be moved in place: their
 * position is kept in track_pos[id], so that a replica's single "next
 * completion" event is updated instead of being pushed again. */
#ifndef EVD_SIM_HEAP_H
#define EVD_SIM_HEAP_H

#include <stddef.h>
#include <stdint.h>

typedef struct sim_ev {
    double t;     /* ns */
    uint64_t seq; /* tie-break: order of insertion */
    uint32_t kind;
    uint32_t id;
} sim_ev;

typedef struct sim_heap {
    sim_ev *a;
    size_t n, cap;
    uint64_t next_seq;
    uint32_t track_kind; /* UINT32_MAX: none */
    int32_t *track_pos;  /* borrowed; indexed by id; -1 when not queued */
} sim_heap;

/* Initialise an empty heap.  track_pos may be NULL (nothing tracked). */
void sim_heap_init(sim_heap *h, uint32_t track_kind, int32_t *track_pos);

/* Free the storage; the heap is empty afterwards. */
void sim_heap_free(sim_heap *h);

/* Insert an event at time t.  Returns 0 or EVD_ENOMEM. */
int sim_heap_push(sim_heap *h, double t, uint32_t kind, uint32_t id);

/* Remove and return the earliest event.  The heap must not be empty. */
sim_ev sim_heap_pop(sim_heap *h);

/* Move the event at index i to time t (keeps its place among equal times
 * only if t is unchanged). */
void sim_heap_move(sim_heap *h, size_t i, double t);

/* Remove the event at index i. */
void sim_heap_remove(sim_heap *h, size_t i);

/* Repoint the tracked-position table (after the caller grew it). */
static inline void sim_heap_set_track(sim_heap *h, int32_t *track_pos)
{
    h->track_pos = track_pos;
}

#endif

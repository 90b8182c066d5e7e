/* ring.h — bounded lock-free multi-producer / single-consumer ring of
 * fixed-size request records, sharded by producer thread.  See the DESIGN
 * comment in ring.c. */
#ifndef EVD_RING_H
#define EVD_RING_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "evodash.h"

/* Record flags. */
#define REC_GROUP_TRUNC 0x1
#define REC_IP_TRUNC    0x2
#define REC_HAS_SLOT    0x4 /* slot holds captured outlier/profile data */

/* One request.  128 bytes with the cell's sequence number: two cache lines. */
typedef struct ring_rec {
    int64_t ts_ns;     /* UTC start, ns since the epoch */
    int64_t dur_ns;    /* duration */
    uint32_t endpoint; /* agent-local endpoint id */
    int16_t slot;      /* in-flight slot with captures, or -1 */
    uint16_t test;     /* the running test (agent-local id), 0: live traffic */
    uint16_t status;
    uint16_t flags;
    char group[EVD_GROUP_MAX + 1];
    char ip[EVD_IP_MAX + 1];
} ring_rec;

typedef struct ring_cell {
    _Atomic uint64_t seq; /* stored minus the cell's index: see ring.c */
    ring_rec rec;
} ring_cell;

#define RING_SHARDS_MAX 8

/* One shard: a Vyukov ring of capacity cells. */
typedef struct ring_shard {
    /* Producers and the consumer each own a cache line. */
    _Alignas(64) _Atomic uint64_t head; /* next position to reserve; = records accepted */
    _Alignas(64) _Atomic uint64_t tail; /* written by the consumer only */
    _Alignas(64) ring_cell *cells;
} ring_shard;

typedef struct ring {
    ring_shard *shard;
    unsigned nshards; /* a power of two */
    uint64_t mask;    /* capacity - 1, the same for every shard */
    unsigned next;    /* consumer: the shard its next drain starts with */
} ring;

/* Allocate nshards shards (a power of two, 1..RING_SHARDS_MAX) of capacity
 * cells each (a power of two >= 2).  Memory is reserved, and pages are
 * touched only as records pass through them.  Returns 0, EVD_EINVAL or
 * EVD_ENOMEM.  Release with ring_free(). */
int ring_init(ring *r, size_t capacity, unsigned nshards);
void ring_free(ring *r);

/* Reserve a cell in the calling thread's shard: returns it, or NULL when
 * that shard is full.  The caller fills cell->rec and then calls
 * ring_publish(r, cell, pos).  Lock-free. */
ring_cell *ring_reserve(ring *r, uint64_t *pos);
void ring_publish(const ring *r, ring_cell *c, uint64_t pos);

/* Consumer side (one thread): copy up to max records into out, taking
 * from every shard in turn.  Returns how many; within a shard it stops at
 * the first cell a producer has reserved but not published. */
size_t ring_drain(ring *r, ring_rec *out, size_t max);

/* Records accepted so far (the producers' positions, summed). */
uint64_t ring_accepted(const ring *r);

/* Records published or reserved but not yet drained. */
uint64_t ring_pending(const ring *r);

/* Per shard (out[0..nshards)): positions accepted, and drained. */
void ring_accepted_each(const ring *r, uint64_t *out);
void ring_drained_each(const ring *r, uint64_t *out);

/* After fork() in the child: forget every cell (they belong to the parent,
 * which writes them) and start empty.  Only one thread exists then. */
void ring_reset(ring *r);

#endif

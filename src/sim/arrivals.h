/* arrivals.h — one arrival stream per distribution.json entry, producing
 * scenario start times in increasing order, one at a time, so that the event
 * queue holds one pending arrival per stream instead of the whole workload. */
#ifndef EVD_SIM_ARRIVALS_H
#define EVD_SIM_ARRIVALS_H

#include <stddef.h>
#include <stdint.h>

#include "sim/rng.h"
#include "sim/sim.h"

/* A replay's copy of the recorded trace, shifted in time (arrivals.c). */
typedef struct sim_rcopy {
    double t;     /* its next arrival, s */
    double shift; /* s */
    size_t i;     /* the recorded request that arrival copies */
    size_t left;  /* arrivals it has still to produce */
    uint32_t c;   /* its number: 0 is the recording itself */
} sim_rcopy;

typedef struct sim_stream {
    const sim_arr *a; /* borrowed from the model */
    sim_rng rng;
    double scale;   /* rate multiplier */
    long long left; /* arrivals still to produce (volume kinds) */
    sim_rcopy *cp;  /* replay: a min-heap of its copies by next time; owned */
    size_t ncp;
    uint32_t partial;   /* replay: the copy that keeps only frac(scale) of the requests */
    double keep, wrap;  /* ... that fraction; the period copies wrap around, s */
    uint64_t thin_seed; /* replay: which requests the partial copy keeps */
    double u;           /* last uniform order statistic */
    double t;           /* last time produced, s */
    double *buf;        /* owned: pre-drawn sorted times (normal) */
    size_t i, n;
} sim_stream;

/* Prepare stream number idx of a run seeded with seed.  Returns 0 or
 * EVD_ENOMEM.  Free with sim_stream_free(). */
int sim_stream_init(sim_stream *s, const sim_arr *a, uint64_t seed, int idx, double scale);

/* Store the next arrival time (s) in *t and return 1, or return 0 when the
 * stream is exhausted. */
int sim_stream_next(sim_stream *s, double *t);

/* Number of arrivals the stream will produce, or -1 if random (poisson). */
double sim_stream_expected(const sim_arr *a, double scale);

void sim_stream_free(sim_stream *s);

#endif

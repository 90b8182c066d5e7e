/* sketch.h — mergeable log-bucket quantile sketch (DDSketch-style).
 *
 * A value v > 0 goes to bucket ceil(log(v) / log(gamma)) with
 * gamma = (1 + a) / (1 - a), a = 0.01; every bucket's representative value
 * is within 1% of every value in it, so any quantile is within 1% relative
 * error of a value at that rank.  Sketches merge by adding counts, which is
 * exact: hours, versions and instances combine without loss. */
#ifndef EVD_SKETCH_H
#define EVD_SKETCH_H

#include <stddef.h>
#include <stdint.h>

#define SKETCH_ALPHA    0.01
#define SKETCH_MIN_IDX  (-400) /* ~3e-4 (values below go to the zero bucket) */
#define SKETCH_MAX_IDX  1500   /* ~1e13; values above clamp to the top bucket */
#define SKETCH_NBUCKETS (SKETCH_MAX_IDX - SKETCH_MIN_IDX + 1)

typedef struct sketch {
    uint64_t count;
    uint64_t zero;                  /* values <= the smallest bucket */
    int lo, hi;                     /* range of non-empty buckets (lo > hi when none) */
    uint64_t bins[SKETCH_NBUCKETS]; /* only [lo - MIN_IDX, hi - MIN_IDX] is valid */
} sketch;

void sketch_init(sketch *s);
void sketch_add(sketch *s, double v);
void sketch_add_n(sketch *s, double v, uint64_t n);
void sketch_merge(sketch *dst, const sketch *src);

/* The q-quantile (0 <= q <= 1), or 0 for an empty sketch. */
double sketch_quantile(const sketch *s, double q);

/* Serialise into buf[0..cap).  Returns the bytes needed; if that exceeds
 * cap nothing useful was written.  SKETCH_ENCODED_MAX always suffices. */
#define SKETCH_ENCODED_MAX (16 + SKETCH_NBUCKETS * 20)
size_t sketch_encode(const sketch *s, uint8_t *buf, size_t cap);

/* Add an encoded sketch into dst (dst keeps what it had).  Returns 0, or
 * EVD_ECORRUPT for a malformed buffer (dst is then unchanged). */
int sketch_merge_encoded(sketch *dst, const uint8_t *buf, size_t len);

#endif

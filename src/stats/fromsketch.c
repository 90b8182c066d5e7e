/* fromsketch.c — the binned tests on evodash's rollup sketches, for when
 * the raw rows of a version have been pruned.  The two sketches' buckets
 * are laid side by side over their joint range, the zero bucket (values
 * below ~3e-4) first. */
#include <math.h>
#include <stdlib.h>

#include "evodash.h"
#include "core/sketch.h"
#include "stats/stats.h"

/* Counts of a and b over buckets [lo - 1, hi] (lo - 1: the zero bucket)
 * into fresh arrays of *nb.  Returns 0, EVD_ENOMEM, or STATS_EDEGENERATE
 * when both are empty. */
static int side_by_side(const sketch *a, const sketch *b, uint64_t **ca, uint64_t **cb, size_t *nb)
{
    int lo = SKETCH_MAX_IDX + 1, hi = SKETCH_MIN_IDX - 1;
    const sketch *s[2] = {a, b};
    for (int k = 0; k < 2; k++)
        if (s[k]->lo <= s[k]->hi) {
            lo = s[k]->lo < lo ? s[k]->lo : lo;
            hi = s[k]->hi > hi ? s[k]->hi : hi;
        }
    if (lo > hi)
        lo = hi = SKETCH_MIN_IDX; /* only zero buckets (or nothing) */
    *nb = (size_t)(hi - lo) + 2;
    uint64_t *c[2] = {calloc(*nb, sizeof(uint64_t)), calloc(*nb, sizeof(uint64_t))};
    if (!c[0] || !c[1]) {
        free(c[0]);
        free(c[1]);
        return EVD_ENOMEM;
    }
    for (int k = 0; k < 2; k++) {
        c[k][0] = s[k]->zero;
        for (int i = s[k]->lo; i <= s[k]->hi; i++)
            c[k][i - lo + 1] = s[k]->bins[i - SKETCH_MIN_IDX];
    }
    *ca = c[0];
    *cb = c[1];
    return 0;
}

int stats_mwu_sketch(const sketch *x, const sketch *y, stats_mwu_method method,
                     stats_mwu_result *out)
{
    if (!x || !y || !out)
        return EVD_EINVAL;
    uint64_t *cx, *cy;
    size_t nb;
    int rc = side_by_side(x, y, &cx, &cy, &nb);
    if (rc)
        return rc;
    rc = stats_mwu_binned(cx, cy, nb, method, out);
    free(cx);
    free(cy);
    return rc;
}

int stats_ratio_ci_sketch(const sketch *a, const sketch *b, double conf, stats_ratio *out)
{
    if (!a || !b || !out)
        return EVD_EINVAL;
    uint64_t *ca, *cb;
    size_t nb;
    int rc = side_by_side(a, b, &ca, &cb, &nb);
    if (rc)
        return rc;
    /* Bucket i holds (gamma^(i-1), gamma^i]; the zero bucket is taken as
     * the one below the lowest, which only matters for values < 3e-4. */
    double ln_gamma = log((1 + SKETCH_ALPHA) / (1 - SKETCH_ALPHA));
    rc = stats_ratio_ci_binned(ca, cb, nb, ln_gamma, conf, out);
    free(ca);
    free(cb);
    return rc;
}

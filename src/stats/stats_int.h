/* stats_int.h — what the files of src/stats share. */
#ifndef EVD_STATS_INT_H
#define EVD_STATS_INT_H

#include <stddef.h>
#include <stdint.h>

#include "stats/stats.h"

struct stats_sample {
    size_t n;
    double *v; /* sorted ascending, finite, no -0.0 */
};

/* One walk over the pooled values of two sides, in increasing order, as
 * runs of equal values: what every rank statistic needs. */
typedef struct stats_walk {
    unsigned __int128 u1x2; /* 2 U1, exact */
    double tie_term;        /* sum over runs of t^3 - t */
    uint64_t runs;          /* distinct values */
    int ties;               /* some run has t > 1 */
} stats_walk;

void stats_walk_sorted(const double *x, size_t n1, const double *y, size_t n2, stats_walk *w);
/* Empty buckets are skipped.  The caller checks that the totals fit. */
void stats_walk_binned(const uint64_t *cx, const uint64_t *cy, size_t nbuckets, stats_walk *w);

/* counts[0..kmax] of the exact null distribution of U for sizes m, n
 * (the coefficients of the Gaussian binomial [m+n choose m]_q), divided by
 * C(m+n, m): pmf[k] = P(U = k).  Needs kmax <= m n.  Returns 0 or
 * EVD_ENOMEM; the caller frees *pmf. */
int stats_mwu_exact_pmf(uint64_t m, uint64_t n, uint64_t kmax, double **pmf);

/* P(U <= k) under H0 for sides n1, n2: from the table of the exact
 * distribution when k < table_max, else (a side of <= 8 only, else
 * EVD_EINVAL) from its large-n limit, Irwin-Hall with U's variance.
 * Returns 0, EVD_ENOMEM or EVD_EINVAL. */
int stats_mwu_null_cdf(uint64_t n1, uint64_t n2, uint64_t k, uint64_t table_max, double *cdf);

/* C = 1 + the largest c with P(U <= c) <= half, clamped to [1, (mn+1)/2],
 * and *cdf = P(U <= C - 1); table or limit as above (by (mn+1)/2 against
 * table_max).  Returns 0, EVD_ENOMEM or EVD_EINVAL. */
int stats_mwu_null_quantile(uint64_t n1, uint64_t n2, double half, uint64_t table_max, uint64_t *c,
                            double *cdf);

/* Whether the exact distribution gives p (scipy's AUTO rule, or EXACT
 * when affordable). */
int stats_mwu_use_exact(stats_mwu_method method, uint64_t n1, uint64_t n2, int ties);

/* The tie-corrected variance of U. */
double stats_mwu_var(uint64_t n1, uint64_t n2, double tie_term);

#endif

/* stats.h — the statistics behind evodash's verdicts: rank tests on request
 * durations (raw or from log-bucket sketches), proportion tests on error
 * rates, confidence intervals, multiple-testing corrections and Pearson's r.
 * Internal to the project (not exported from libevodash.so).
 *
 * Conventions
 *   - Functions return 0, EVD_EINVAL for a bad argument (NULL, NaN or
 *     infinite values, k > n, conf outside (0, 1), a value <= 0 where a log
 *     is taken), EVD_ENOMEM, or STATS_EDEGENERATE when the data cannot
 *     answer the question (an empty side, all values equal, n < 3 for
 *     Pearson, an error rate of 0 on both sides).  On STATS_EDEGENERATE the
 *     result is still filled with defined numbers (counts, and a p-value of
 *     1 where the null hypothesis cannot be rejected); no field is ever NaN.
 *   - All p-values are two-sided.  Every statistic names the reference it
 *     matches (scipy 1.10, the version Debian 12 ships); tests/stats/
 *     compares them.
 *   - No global state: every function is safe to call from several threads.
 */
#ifndef EVD_STATS_H
#define EVD_STATS_H

#include <stddef.h>
#include <stdint.h>

/* Distinct from every EVD_E* code (include/evodash.h). */
#define STATS_EDEGENERATE (-20)

/* ---- distributions ----------------------------------------------------------
 * Arguments outside the domain give NaN, as libm does; the tests below
 * validate their inputs first, so NaN never reaches a result. */

double stats_norm_cdf(double x); /* P(Z <= x) */
double stats_norm_sf(double x);  /* P(Z > x), accurate far in the upper tail */
/* The p-quantile of the standard normal, 0 < p < 1 (±inf at 0 and 1). */
double stats_norm_ppf(double p);
/* Regularized incomplete beta I_x(a, b), a, b > 0, 0 <= x <= 1, and its
 * complement 1 - I_x(a, b) computed without cancellation. */
double stats_betainc(double a, double b, double x);
double stats_betainc_c(double a, double b, double x);
/* Regularized incomplete gamma P(a, x) and Q(a, x) = 1 - P(a, x), a > 0. */
double stats_gammainc_p(double a, double x);
double stats_gammainc_q(double a, double x);
double stats_t_sf(double t, double df);    /* P(T > t), Student's t, df > 0 */
double stats_chi2_sf(double x, double df); /* P(X > x), chi-square, df > 0 */
/* P(B <= k) for B ~ Binomial(n, p). */
double stats_binom_cdf(uint64_t k, uint64_t n, double p);

/* ---- samples ---------------------------------------------------------------
 * A sample is a sorted copy of the values, made once and shared by the
 * tests and intervals below (sorting is most of their cost). */
typedef struct stats_sample stats_sample;

/* Copy and sort v[0..n) (n may be 0).  Values must be finite.  Returns 0,
 * EVD_EINVAL or EVD_ENOMEM; on success the caller frees *out with
 * stats_sample_free(). */
int stats_sample_new(const double *v, size_t n, stats_sample **out);
/* The same for integers (durations in microseconds); |v| < 2^53. */
int stats_sample_new_i64(const int64_t *v, size_t n, stats_sample **out);
void stats_sample_free(stats_sample *s); /* NULL is fine */
size_t stats_sample_n(const stats_sample *s);
/* The sorted values, borrowed for the life of s. */
const double *stats_sample_sorted(const stats_sample *s);
/* The median (mean of the two middle values when n is even), or 0 when empty. */
double stats_sample_median(const stats_sample *s);

/* Sort v[0..n) ascending in place (LSD radix sort on the IEEE bits, O(n)).
 * Values must not be NaN.  Returns 0 or EVD_ENOMEM (it needs n doubles of
 * scratch). */
int stats_sort(double *v, size_t n);

/* ---- Mann-Whitney U ---------------------------------------------------------- */
typedef enum stats_mwu_method {
    STATS_MWU_AUTO = 0,   /* exact when a side has <= 8 values and nothing ties */
    STATS_MWU_EXACT,      /* exact distribution of U (ties are ignored) */
    STATS_MWU_ASYMPTOTIC, /* normal approximation, tie and continuity corrected */
} stats_mwu_method;

/* The exact distribution is tabulated up to P(U <= k) for k below this
 * (8 bytes each: 32 MB at most, k <= n1 n2 / 2).  Past it, with a side of
 * at most 8 values, its large-n limit is used instead (the sum of uniforms,
 * Irwin-Hall, matched to U's variance: error below 1e-10 relative there,
 * since it needs n >= 10^6); with both sides above 8, EXACT falls back to
 * the normal approximation, as it does with both sides above 64. */
#define STATS_MWU_TABLE_MAX ((uint64_t)1 << 22)

typedef struct stats_mwu_result {
    uint64_t n1, n2;
    double u1;            /* U of the first sample: pairs x > y, plus half the ties */
    double u2;            /* n1 * n2 - u1 */
    double z;             /* standardized U (asymptotic only, else 0) */
    double p;             /* two-sided p-value */
    double cles;          /* u1 / (n1 n2) = P(X > Y) + P(X = Y) / 2 */
    double rank_biserial; /* 2 cles - 1 in [-1, 1]: > 0 when x tends to be larger */
    int exact;            /* 1 if the exact distribution gave p */
    int ties;             /* 1 if any value occurs more than once (pooled) */
    int binned;           /* 1 if computed from histograms (stats_mwu_binned) */
} stats_mwu_result;

/* The two-sided Mann-Whitney U test of x against y.  Matches
 * scipy.stats.mannwhitneyu(x, y, alternative='two-sided',
 * use_continuity=True, method=...) for method auto/exact/asymptotic (see
 * STATS_MWU_TABLE_MAX for very large exact cases).  O(n1 + n2) on the
 * sorted samples, plus O(min(n1, n2) k) for an exact p.
 * Returns 0, EVD_EINVAL, EVD_ENOMEM (exact only), or STATS_EDEGENERATE for
 * an empty side or when every value is equal (then p = 1). */
int stats_mwu(const stats_sample *x, const stats_sample *y, stats_mwu_method method,
              stats_mwu_result *out);

/* The same test when each side is a histogram over shared, increasing
 * buckets (cx[i], cy[i] values in bucket i): values in one bucket count as
 * ties.  Equals stats_mwu() on the samples with each value replaced by its
 * bucket's index.  O(nbuckets).  EVD_EINVAL if a side totals 2^62 or more. */
int stats_mwu_binned(const uint64_t *cx, const uint64_t *cy, size_t nbuckets,
                     stats_mwu_method method, stats_mwu_result *out);

/* The binned test on two of evodash's rollup sketches (core/sketch.h),
 * over their joint buckets, the zero bucket lowest.  Same returns as
 * stats_mwu_binned, plus EVD_ENOMEM. */
struct sketch;
int stats_mwu_sketch(const struct sketch *x, const struct sketch *y, stats_mwu_method method,
                     stats_mwu_result *out);

/* ---- confidence intervals ------------------------------------------------------ */
typedef struct stats_interval {
    double est;      /* point estimate */
    double lo, hi;   /* the interval */
    double coverage; /* the coverage the bounds achieve: exact, or its normal
                        approximation; below conf when the sample is too small */
    int exact;       /* 1 if the bounds come from an exact distribution */
} stats_interval;

/* Distribution-free CI for the median of s, from order statistics: the
 * l-th and (n+1-l)-th values with l the largest such that
 * P(B < l) <= (1 - conf) / 2, B ~ Binomial(n, 1/2).  est is the sample
 * median; coverage is 1 - 2 P(B < l), exact.  With n too small for conf
 * (n < 6 at 95%) the interval is [min, max] with its lower coverage.
 * Returns 0, EVD_EINVAL, or STATS_EDEGENERATE when s is empty (all zeros). */
int stats_median_ci(const stats_sample *s, double conf, stats_interval *out);

typedef struct stats_ratio {
    double median_ratio; /* median(b) / median(a), the plain ratio of sample medians */
    stats_interval hl;   /* Hodges-Lehmann ratio with Moses' CI (see stats_ratio_ci) */
} stats_ratio;

/* How much slower b is than a, as a ratio of medians with a CI.  The
 * method: under a scale shift (b ~ a * theta, so every quantile and the
 * median scale by theta) the shift of the log-durations is estimated by
 * Hodges-Lehmann (the median of all n_a n_b ratios b_j / a_i) and bounded
 * by Moses' distribution-free CI, the C-th smallest and C-th largest ratio
 * (Hollander & Wolfe, Nonparametric Statistical Methods, sec. 4.3).  C is
 * 1 + the largest c with P(U <= c) <= (1 - conf) / 2 (at least 1), from the
 * exact distribution of U when stats_mwu's AUTO would use it, else from the
 * normal one with continuity and tie corrections; coverage is then
 * 1 - 2 P(U <= C - 1), below conf only when C had to be raised to 1 (n_a n_b
 * too small).  The order statistics are
 * selected without forming the n_a n_b ratios (randomized selection on the
 * sorted samples, O((n_a + n_b) log(n_a n_b)) expected, O(n_a + n_b)
 * memory), so 10^6 per side is practical; the result is exact, not from a
 * subsample.  Values must be > 0.  Returns 0, EVD_EINVAL (a value <= 0),
 * EVD_ENOMEM or STATS_EDEGENERATE (an empty side; the fields are then 1). */
int stats_ratio_ci(const stats_sample *a, const stats_sample *b, double conf, stats_ratio *out);

/* The same from histograms over log buckets: bucket i stands for the value
 * exp(i * ln_width) (evodash's sketch: ln_width = ln gamma, the zero bucket
 * left out).  Ratios are then powers of exp(ln_width), so the bounds carry
 * the buckets' relative error (±1% per side for the sketch).
 * median_ratio uses the buckets' values.  O(occupied range^2), at most
 * 2^20 buckets; EVD_EINVAL if a side totals 2^31 or more (the ranks are
 * counted in doubles). */
int stats_ratio_ci_binned(const uint64_t *ca, const uint64_t *cb, size_t nbuckets, double ln_width,
                          double conf, stats_ratio *out);

/* stats_ratio_ci_binned on two rollup sketches (ln_width = ln gamma; the
 * zero bucket counts as the bucket below the lowest). */
int stats_ratio_ci_sketch(const struct sketch *a, const struct sketch *b, double conf,
                          stats_ratio *out);

/* ---- proportions ------------------------------------------------------------- */

/* Wilson score interval for k successes in n trials; est = k / n.  Matches
 * scipy.stats.binomtest(k, n).proportion_ci(conf, method='wilson').
 * Returns 0, EVD_EINVAL (k > n) or STATS_EDEGENERATE (n = 0: [0, 1]). */
int stats_wilson_ci(uint64_t k, uint64_t n, double conf, stats_interval *out);

typedef struct stats_prop2 {
    double p_a, p_b;        /* k_a / n_a, k_b / n_b */
    double z;               /* pooled two-proportion z for p_b - p_a */
    double p_z;             /* its two-sided p-value */
    double chi2, p_chi2;    /* Pearson chi-square of the 2x2 table, 1 df (= z^2) */
    double chi2_yates;      /* the same with Yates' continuity correction */
    double p_chi2_yates;    /*   and its p-value */
    stats_interval ci_a;    /* Wilson interval of p_a */
    stats_interval ci_b;    /* Wilson interval of p_b */
    stats_interval ci_diff; /* p_b - p_a: Newcombe's hybrid score interval (method 10
                               of Newcombe 1998), built from the two Wilson intervals */
} stats_prop2;

/* Did the share of failures change from a (k_a of n_a) to b (k_b of n_b)?
 * The chi-square fields match scipy.stats.chi2_contingency on
 * [[k_a, n_a - k_a], [k_b, n_b - k_b]] with correction False and True.
 * Returns 0, EVD_EINVAL (k > n, conf outside (0, 1)) or STATS_EDEGENERATE
 * when a side is empty or the pooled rate is 0 or 1 (the test statistics
 * are then 0 with p = 1; the intervals are still computed). */
int stats_prop2_test(uint64_t k_a, uint64_t n_a, uint64_t k_b, uint64_t n_b, double conf,
                     stats_prop2 *out);

/* ---- multiple testing -------------------------------------------------------- */

/* Holm-Bonferroni (step-down) and Benjamini-Hochberg (step-up FDR) adjusted
 * p-values of p[0..m), as statsmodels' multipletests 'holm' and 'fdr_bh'
 * define them.  adj may be p itself.  Returns 0, EVD_EINVAL (a p outside
 * [0, 1]) or EVD_ENOMEM. */
int stats_holm(const double *p, size_t m, double *adj);
int stats_bh(const double *p, size_t m, double *adj);

/* ---- correlation ------------------------------------------------------------- */

/* Pearson's r of x[0..n) and y[0..n) and its two-sided p-value (Student's
 * t with n - 2 df, t = r sqrt((n-2) / (1-r^2))), as scipy.stats.pearsonr.
 * Returns 0, EVD_EINVAL, or STATS_EDEGENERATE when n < 3 or a side is
 * constant (then r = 0, p = 1). */
int stats_pearson(const double *x, const double *y, size_t n, double *r, double *p);

#endif

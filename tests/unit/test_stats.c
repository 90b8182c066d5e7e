/* test_stats.c — src/stats at its edges: degenerate and invalid input give
 * their documented codes and never NaN, symmetries hold, the radix sort and
 * the ratio selection agree with brute force.  Agreement with scipy on
 * ordinary data is tests/stats/scipy_match.py's job. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "evodash.h"
#include "core/sketch.h"
#include "stats/stats.h"
#include "stats/stats_int.h"

/* cmocka's assert_float_equal works in float: compare doubles here. */
#define assert_near(got, want, tol)                                                                \
    do {                                                                                           \
        double got_ = (got), want_ = (want);                                                       \
        if (!(fabs(got_ - want_) <= (tol)))                                                        \
            fail_msg("%s = %.17g, want %.17g within %g", #got, got_, want_, (double)(tol));        \
    } while (0)

static uint64_t g_rng = 88172645463325252ULL;

static double uniform(void)
{
    g_rng ^= g_rng << 13;
    g_rng ^= g_rng >> 7;
    g_rng ^= g_rng << 17;
    return ((g_rng >> 11) + 0.5) * (1.0 / 9007199254740992.0);
}

static double lognormal(double mu, double sigma)
{
    double z = sqrt(-2 * log(uniform())) * cos(2 * M_PI * uniform());
    return exp(mu + sigma * z);
}

static stats_sample *sample_of(const double *v, size_t n)
{
    stats_sample *s = NULL;
    assert_int_equal(stats_sample_new(v, n, &s), 0);
    assert_non_null(s);
    return s;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static void assert_no_nan_mwu(const stats_mwu_result *r)
{
    assert_false(isnan(r->u1) || isnan(r->u2) || isnan(r->z) || isnan(r->p) || isnan(r->cles) ||
                 isnan(r->rank_biserial));
}

static void test_sort(void **state)
{
    (void)state;
    size_t sizes[] = {0, 1, 5, 63, 64, 1000, 100000};
    for (size_t t = 0; t < sizeof sizes / sizeof sizes[0]; t++) {
        size_t n = sizes[t];
        double *v = malloc((n + 1) * sizeof *v), *w = malloc((n + 1) * sizeof *w);
        assert_non_null(v);
        assert_non_null(w);
        for (size_t i = 0; i < n; i++) {
            double u = uniform();
            /* Negatives, zeros of both signs, subnormals, huge values, repeats. */
            v[i] = i % 7 == 0    ? -lognormal(0, 30)
                   : i % 11 == 0 ? (i % 2 ? -0.0 : 0.0)
                   : i % 13 == 0 ? 4.9e-324 * (double)(i % 5)
                   : i % 17 == 0 ? 3.0
                                 : lognormal(5, 3) * (u < 0.5 ? 1 : 1e300);
            w[i] = v[i];
        }
        assert_int_equal(stats_sort(v, n), 0);
        qsort(w, n, sizeof *w, cmp_double);
        for (size_t i = 0; i < n; i++)
            assert_true(v[i] == w[i]); /* -0.0 == 0.0 */
        free(v);
        free(w);
    }
    assert_int_equal(stats_sort(NULL, 3), EVD_EINVAL);
    assert_int_equal(stats_sort(NULL, 0), 0);
}

static void test_sample_input(void **state)
{
    (void)state;
    stats_sample *s = (stats_sample *)1;
    double bad[] = {1, NAN, 2};
    assert_int_equal(stats_sample_new(bad, 3, &s), EVD_EINVAL);
    assert_null(s);
    double inf[] = {1, INFINITY};
    assert_int_equal(stats_sample_new(inf, 2, &s), EVD_EINVAL);
    int64_t big[] = {1, (int64_t)1 << 53};
    assert_int_equal(stats_sample_new_i64(big, 2, &s), EVD_EINVAL);
    assert_int_equal(stats_sample_new(NULL, 2, &s), EVD_EINVAL);
    assert_int_equal(stats_sample_new(bad, 1, NULL), EVD_EINVAL);

    int64_t iv[] = {30, -5, 10, 20};
    assert_int_equal(stats_sample_new_i64(iv, 4, &s), 0);
    assert_int_equal(stats_sample_n(s), 4);
    const double *v = stats_sample_sorted(s);
    assert_true(v[0] == -5 && v[1] == 10 && v[2] == 20 && v[3] == 30);
    assert_true(stats_sample_median(s) == 15);
    stats_sample_free(s);

    assert_int_equal(stats_sample_new(NULL, 0, &s), 0); /* empty is a sample */
    assert_int_equal(stats_sample_n(s), 0);
    assert_true(stats_sample_median(s) == 0);
    stats_sample_free(s);
    stats_sample_free(NULL);
    assert_int_equal(stats_sample_n(NULL), 0);
}

static void test_mwu_degenerate(void **state)
{
    (void)state;
    double one[] = {3.0}, same[] = {2, 2, 2, 2};
    stats_sample *empty = sample_of(NULL, 0), *x = sample_of(one, 1), *eq = sample_of(same, 4);
    stats_mwu_result r;

    assert_int_equal(stats_mwu(empty, x, STATS_MWU_AUTO, &r), STATS_EDEGENERATE);
    assert_no_nan_mwu(&r);
    assert_true(r.p == 1 && r.n1 == 0 && r.n2 == 1);
    assert_int_equal(stats_mwu(x, empty, STATS_MWU_ASYMPTOTIC, &r), STATS_EDEGENERATE);
    assert_true(r.p == 1);

    /* Every value equal: U = mn/2 and nothing can be rejected. */
    for (int m = STATS_MWU_AUTO; m <= STATS_MWU_ASYMPTOTIC; m++) {
        assert_int_equal(stats_mwu(eq, eq, (stats_mwu_method)m, &r), STATS_EDEGENERATE);
        assert_no_nan_mwu(&r);
        assert_true(r.p == 1 && r.u1 == 8 && r.u2 == 8 && r.cles == 0.5 && r.ties);
    }
    assert_int_equal(stats_mwu(NULL, x, STATS_MWU_AUTO, &r), EVD_EINVAL);
    assert_int_equal(stats_mwu(x, x, (stats_mwu_method)7, &r), EVD_EINVAL);

    /* Binned: empty sides, one occupied bucket, no buckets. */
    uint64_t c0[] = {0, 0, 0}, c1[] = {0, 5, 0}, c2[] = {0, 9, 0};
    assert_int_equal(stats_mwu_binned(c0, c1, 3, STATS_MWU_AUTO, &r), STATS_EDEGENERATE);
    assert_true(r.p == 1 && r.binned);
    assert_int_equal(stats_mwu_binned(c1, c2, 3, STATS_MWU_AUTO, &r), STATS_EDEGENERATE);
    assert_true(r.p == 1 && r.u1 == 22.5);
    assert_int_equal(stats_mwu_binned(NULL, NULL, 0, STATS_MWU_AUTO, &r), STATS_EDEGENERATE);
    assert_int_equal(stats_mwu_binned(NULL, c1, 3, STATS_MWU_AUTO, &r), EVD_EINVAL);
    uint64_t huge[] = {(uint64_t)1 << 62, 1};
    assert_int_equal(stats_mwu_binned(huge, c1, 2, STATS_MWU_AUTO, &r), EVD_EINVAL);

    stats_sample_free(empty);
    stats_sample_free(x);
    stats_sample_free(eq);
}

static void test_mwu_symmetry_and_binned(void **state)
{
    (void)state;
    enum { NB = 40, N1 = 700, N2 = 900 };
    double *x = malloc(N1 * sizeof *x), *y = malloc(N2 * sizeof *y);
    uint64_t cx[NB] = {0}, cy[NB] = {0};
    assert_non_null(x);
    assert_non_null(y);
    for (int i = 0; i < N1; i++) {
        x[i] = floor(uniform() * NB);
        cx[(int)x[i]]++;
    }
    for (int i = 0; i < N2; i++) {
        y[i] = floor(uniform() * uniform() * NB);
        cy[(int)y[i]]++;
    }
    stats_sample *sx = sample_of(x, N1), *sy = sample_of(y, N2);
    stats_mwu_result a, b, h;
    assert_int_equal(stats_mwu(sx, sy, STATS_MWU_AUTO, &a), 0);
    assert_int_equal(stats_mwu(sy, sx, STATS_MWU_AUTO, &b), 0);
    assert_true(a.u1 == b.u2 && a.u2 == b.u1);
    assert_true(a.p == b.p);
    assert_true(a.rank_biserial == -b.rank_biserial);
    assert_true(a.ties && !a.exact && !a.binned);
    assert_true(a.u1 + a.u2 == (double)N1 * N2);
    assert_true(a.p < 1e-10); /* y leans low */
    assert_true(a.rank_biserial > 0);

    /* The histogram of bucket indices is the same test. */
    assert_int_equal(stats_mwu_binned(cx, cy, NB, STATS_MWU_AUTO, &h), 0);
    assert_true(h.binned);
    assert_true(h.u1 == a.u1 && h.p == a.p && h.z == a.z);

    /* Huge histograms (2^40 per side) stay exact and finite. */
    uint64_t hx[3] = {(uint64_t)1 << 39, (uint64_t)1 << 39, 0};
    uint64_t hy[3] = {0, (uint64_t)1 << 39, (uint64_t)1 << 39};
    assert_int_equal(stats_mwu_binned(hx, hy, 3, STATS_MWU_AUTO, &h), 0);
    assert_no_nan_mwu(&h);
    /* x is never above y and ties it in a quarter of the 2^80 pairs. */
    assert_true(h.u1 == ldexp(1, 77));
    assert_true(h.p < 1e-300);
    free(x);
    free(y);
    stats_sample_free(sx);
    stats_sample_free(sy);
}

static void test_mwu_exact(void **state)
{
    (void)state;
    /* The null distribution is a distribution, and symmetric. */
    double *pmf;
    assert_int_equal(stats_mwu_exact_pmf(7, 13, 91, &pmf), 0);
    double sum = 0;
    for (int k = 0; k <= 91; k++) {
        sum += pmf[k];
        assert_true(pmf[k] >= 0);
        assert_near(pmf[k], pmf[91 - k], 1e-15);
    }
    assert_near(sum, 1, 1e-13);
    /* P(U = 0) = 1 / C(20, 7). */
    assert_near(pmf[0] * 77520, 1, 1e-12);
    free(pmf);

    /* Complete separation of 3 and 4: p = 2 / C(7, 3). */
    double x[] = {1, 2, 3}, y[] = {10, 11, 12, 13};
    stats_sample *sx = sample_of(x, 3), *sy = sample_of(y, 4);
    stats_mwu_result r;
    assert_int_equal(stats_mwu(sx, sy, STATS_MWU_AUTO, &r), 0);
    assert_true(r.exact && r.u1 == 0 && r.rank_biserial == -1 && r.cles == 0);
    assert_near(r.p, 2.0 / 35, 1e-15);
    assert_int_equal(stats_mwu(sx, sy, STATS_MWU_ASYMPTOTIC, &r), 0);
    assert_false(r.exact);
    stats_sample_free(sx);
    stats_sample_free(sy);

    /* AUTO goes asymptotic once both sides exceed 8 or on ties; forced
     * EXACT with both sides above 8 needs the whole table to fit. */
    assert_true(stats_mwu_use_exact(STATS_MWU_AUTO, 8, 1000, 0));
    assert_true(stats_mwu_use_exact(STATS_MWU_AUTO, 100000000, 3, 0));
    assert_false(stats_mwu_use_exact(STATS_MWU_AUTO, 9, 9, 0));
    assert_false(stats_mwu_use_exact(STATS_MWU_AUTO, 8, 1000, 1));
    assert_true(stats_mwu_use_exact(STATS_MWU_EXACT, 8, 1000, 1));
    assert_true(stats_mwu_use_exact(STATS_MWU_EXACT, 30, 30, 1));
    assert_false(stats_mwu_use_exact(STATS_MWU_EXACT, 30, 300000, 0));
    assert_false(stats_mwu_use_exact(STATS_MWU_EXACT, 65, 65, 0));
}

/* Past the table, the Irwin-Hall limit stands in for the exact
 * distribution: compare the two where both can be computed. */
static void test_mwu_exact_limit(void **state)
{
    (void)state;
    const uint64_t ms[] = {1, 3, 8}, ns[] = {100000, 1000000};
    for (int a = 0; a < 3; a++)
        for (int b = 0; b < 2; b++) {
            uint64_t m = ms[a], n = ns[b];
            double sd = sqrt(stats_mwu_var(m, n, 0)), tol = n >= 1000000 ? 1e-9 : 1e-7;
            for (double z = 0.5; z <= 3.01; z += 0.5) {
                double kk = 0.5 * (double)m * (double)n - z * sd;
                if (kk < 1)
                    continue;
                uint64_t k = (uint64_t)kk;
                double table, limit;
                assert_int_equal(stats_mwu_null_cdf(m, n, k, UINT64_MAX, &table), 0);
                assert_int_equal(stats_mwu_null_cdf(n, m, k, 0, &limit), 0);
                if (fabs(limit / table - 1) > tol)
                    fail_msg("m=%llu n=%llu k=%llu: table %.17g limit %.17g", (unsigned long long)m,
                             (unsigned long long)n, (unsigned long long)k, table, limit);
            }
            uint64_t c1, c2;
            double d1, d2;
            assert_int_equal(stats_mwu_null_quantile(m, n, 0.025, UINT64_MAX, &c1, &d1), 0);
            assert_int_equal(stats_mwu_null_quantile(m, n, 0.025, 0, &c2, &d2), 0);
            assert_true(c1 == c2);
            assert_near(d1, d2, 1e-9);
            assert_true(d1 <= 0.025);
        }
    double cdf;
    assert_int_equal(stats_mwu_null_cdf(9, 100, 400, 0, &cdf), EVD_EINVAL); /* no limit for 9 */
    assert_int_equal(stats_mwu_null_cdf(3, 4, 12, 0, &cdf), 0);
    assert_true(cdf == 1);

    /* Through the test: 5 against 2 * 10^6, near the centre (k past the table). */
    enum { N = 2000000 };
    double *y = malloc(N * sizeof *y), x[5];
    assert_non_null(y);
    for (int i = 0; i < N; i++)
        y[i] = i;
    for (int i = 0; i < 5; i++)
        x[i] = N * (0.3 + 0.1 * i) + 0.5;
    stats_sample *sx = sample_of(x, 5), *sy = sample_of(y, N);
    stats_mwu_result r;
    assert_int_equal(stats_mwu(sx, sy, STATS_MWU_AUTO, &r), 0);
    assert_true(r.exact && r.p > 0.5 && r.p <= 1);
    assert_true((uint64_t)r.u2 >= STATS_MWU_TABLE_MAX);
    double table;
    assert_int_equal(stats_mwu_null_cdf(5, N, (uint64_t)ceil(fmin(r.u1, r.u2)), UINT64_MAX, &table),
                     0);
    assert_near(r.p, fmin(1, 2 * table), 1e-10);
    free(y);
    stats_sample_free(sx);
    stats_sample_free(sy);
}

/* Brute force: every ratio, sorted, and C from the normal approximation
 * (the sizes below are past the exact method's). */
static void check_ratio_brute(const double *a, size_t m, const double *b, size_t n)
{
    stats_sample *sa = sample_of(a, m), *sb = sample_of(b, n);
    const double *va = stats_sample_sorted(sa), *vb = stats_sample_sorted(sb);
    size_t mn = m * n;
    double *all = malloc(mn * sizeof *all);
    assert_non_null(all);
    for (size_t i = 0; i < m; i++)
        for (size_t j = 0; j < n; j++)
            all[i * n + j] = vb[j] * (1 / va[i]);
    assert_int_equal(stats_sort(all, mn), 0);

    stats_walk w;
    stats_walk_sorted(va, m, vb, n, &w);
    double sd = sqrt(stats_mwu_var(m, n, w.tie_term));
    size_t c = (size_t)(floor((double)mn / 2 - 0.5 - stats_norm_ppf(0.975) * sd) + 1);

    stats_ratio r;
    assert_int_equal(stats_ratio_ci(sa, sb, 0.95, &r), 0);
    assert_false(r.hl.exact);
    assert_true(r.hl.lo == all[c - 1]);
    assert_true(r.hl.hi == all[mn - c]);
    size_t h = mn / 2;
    double med = mn % 2 ? all[h] : sqrt(all[h - 1] * all[h]);
    assert_near(r.hl.est, med, med * 1e-15);
    assert_true(r.hl.lo <= r.hl.est && r.hl.est <= r.hl.hi);
    assert_true(r.hl.coverage >= 0.95 && r.hl.coverage < 0.96);
    free(all);
    stats_sample_free(sa);
    stats_sample_free(sb);
}

static void test_ratio_selection(void **state)
{
    (void)state;
    enum { M = 1500, N = 2000 };
    double *a = malloc(M * sizeof *a), *b = malloc(N * sizeof *b);
    assert_non_null(a);
    assert_non_null(b);
    for (int i = 0; i < M; i++)
        a[i] = lognormal(7, 1);
    for (int i = 0; i < N; i++)
        b[i] = lognormal(7.1, 1);
    check_ratio_brute(a, 61, b, 70);
    check_ratio_brute(a, M, b, N); /* 3e6 ratios: several selection rounds */
    for (int i = 0; i < M; i++)
        a[i] = round(a[i] / 100) + 1; /* heavy ties */
    for (int i = 0; i < N; i++)
        b[i] = round(b[i] / 100) + 1;
    check_ratio_brute(a, M, b, N);
    free(a);
    free(b);
}

static void test_ratio_degenerate(void **state)
{
    (void)state;
    double a[] = {1, 2, 3}, z[] = {0, 1, 2};
    stats_sample *sa = sample_of(a, 3), *sz = sample_of(z, 3), *se = sample_of(NULL, 0);
    stats_ratio r;
    assert_int_equal(stats_ratio_ci(sa, se, 0.95, &r), STATS_EDEGENERATE);
    assert_true(r.median_ratio == 1 && r.hl.est == 1 && r.hl.lo == 1 && r.hl.hi == 1);
    assert_int_equal(stats_ratio_ci(sa, sz, 0.95, &r), EVD_EINVAL); /* log of 0 */
    assert_int_equal(stats_ratio_ci(sa, sa, 1.0, &r), EVD_EINVAL);
    assert_int_equal(stats_ratio_ci(sa, sa, NAN, &r), EVD_EINVAL);

    /* b = 1.5 a: every ratio of a quantile is 1.5.  3 x 3 without ties is
     * exact, and too small for 95%: the widest interval, with its true
     * coverage 1 - 2 P(U = 0) = 1 - 2 / C(6, 3). */
    double b[] = {1.5, 3, 6}, a2[] = {1, 2, 4};
    stats_sample *sa2 = sample_of(a2, 3), *sb = sample_of(b, 3);
    assert_int_equal(stats_ratio_ci(sa2, sb, 0.95, &r), 0);
    assert_true(r.median_ratio == 1.5 && r.hl.est == 1.5);
    assert_true(r.hl.lo == 1.5 / 4 && r.hl.hi == 6);
    assert_true(r.hl.exact);
    assert_near(r.hl.coverage, 1 - 2.0 / 20, 1e-15);
    stats_sample_free(sa2);
    stats_sample_free(sb);
    /* With ties (a against itself) the normal approximation is used. */
    assert_int_equal(stats_ratio_ci(sa, sa, 0.95, &r), 0);
    assert_true(r.median_ratio == 1 && r.hl.est == 1 && !r.hl.exact);

    /* Binned. */
    uint64_t ca[] = {0, 4, 6, 1}, cb[] = {0, 0, 5, 5}, c0[] = {0, 0, 0, 0};
    double w = log(1.0202020202020202);
    assert_int_equal(stats_ratio_ci_binned(ca, c0, 4, w, 0.95, &r), STATS_EDEGENERATE);
    assert_int_equal(stats_ratio_ci_binned(ca, cb, 4, -1, 0.95, &r), EVD_EINVAL);
    assert_int_equal(stats_ratio_ci_binned(ca, cb, 4, w, 0.95, &r), 0);
    assert_true(r.hl.lo >= 1 && r.hl.hi <= exp(2 * w) * (1 + 1e-15) && r.hl.lo <= r.hl.est);
    stats_sample_free(sa);
    stats_sample_free(sz);
    stats_sample_free(se);
}

/* From rollup sketches: the same test as on the bucket indices, and close
 * to the raw test (values in one 2% bucket become ties). */
static void test_sketch(void **state)
{
    (void)state;
    enum { N = 20000 };
    sketch *a = malloc(sizeof *a), *b = malloc(sizeof *b), *e = malloc(sizeof *e);
    double *ra = malloc(N * sizeof *ra), *rb = malloc(N * sizeof *rb);
    assert_true(a && b && e && ra && rb);
    sketch_init(a);
    sketch_init(b);
    sketch_init(e);
    for (int i = 0; i < N; i++) {
        ra[i] = lognormal(3, 0.5);
        rb[i] = lognormal(3.02, 0.5);
        sketch_add(a, ra[i]);
        sketch_add(b, rb[i]);
    }
    sketch_add(a, 0); /* the zero bucket */
    stats_sample *sa = sample_of(ra, N), *sb = sample_of(rb, N);
    stats_mwu_result raw, sk;
    assert_int_equal(stats_mwu(sa, sb, STATS_MWU_AUTO, &raw), 0);
    assert_int_equal(stats_mwu_sketch(a, b, STATS_MWU_AUTO, &sk), 0);
    assert_true(sk.binned && sk.ties && sk.n1 == N + 1 && sk.n2 == N);
    assert_true(raw.p < 0.05 && sk.p < 0.05);
    assert_near(sk.rank_biserial, raw.rank_biserial, 0.01);

    stats_ratio rr, rs;
    assert_int_equal(stats_ratio_ci(sa, sb, 0.95, &rr), 0);
    assert_int_equal(stats_ratio_ci_sketch(a, b, 0.95, &rs), 0);
    /* Within the buckets' 2% width of the raw interval. */
    assert_near(rs.hl.est, rr.hl.est, 0.021 * rr.hl.est);
    assert_near(rs.hl.lo, rr.hl.lo, 0.021 * rr.hl.lo);
    assert_near(rs.hl.hi, rr.hl.hi, 0.021 * rr.hl.hi);

    assert_int_equal(stats_mwu_sketch(a, e, STATS_MWU_AUTO, &sk), STATS_EDEGENERATE);
    assert_int_equal(stats_mwu_sketch(e, e, STATS_MWU_AUTO, &sk), STATS_EDEGENERATE);
    assert_int_equal(stats_ratio_ci_sketch(e, b, 0.95, &rs), STATS_EDEGENERATE);
    assert_int_equal(stats_mwu_sketch(NULL, e, STATS_MWU_AUTO, &sk), EVD_EINVAL);
    stats_sample_free(sa);
    stats_sample_free(sb);
    free(a);
    free(b);
    free(e);
    free(ra);
    free(rb);
}

static void test_median_ci(void **state)
{
    (void)state;
    double v[] = {5, 1, 4, 2, 3, 9, 7, 8, 6, 10};
    stats_sample *s = sample_of(v, 10), *one = sample_of(v, 1), *e = sample_of(NULL, 0);
    stats_interval ci;
    assert_int_equal(stats_median_ci(s, 0.95, &ci), 0);
    /* n = 10: l = 2 (P(B <= 1) = 11/1024 <= 0.025 < P(B <= 2) = 56/1024). */
    assert_true(ci.lo == 2 && ci.hi == 9 && ci.est == 5.5 && ci.exact);
    assert_near(ci.coverage, 1 - 22.0 / 1024, 1e-15);
    assert_int_equal(stats_median_ci(one, 0.95, &ci), 0);
    assert_true(ci.lo == 5 && ci.hi == 5 && ci.coverage == 0);
    assert_int_equal(stats_median_ci(e, 0.95, &ci), STATS_EDEGENERATE);
    assert_false(isnan(ci.lo) || isnan(ci.hi) || isnan(ci.est));
    assert_int_equal(stats_median_ci(s, 0, &ci), EVD_EINVAL);
    assert_int_equal(stats_median_ci(NULL, 0.5, &ci), EVD_EINVAL);
    stats_sample_free(s);
    stats_sample_free(one);
    stats_sample_free(e);
}

static void test_proportions(void **state)
{
    (void)state;
    stats_interval ci;
    assert_int_equal(stats_wilson_ci(0, 0, 0.95, &ci), STATS_EDEGENERATE);
    assert_true(ci.lo == 0 && ci.hi == 1 && ci.est == 0);
    assert_int_equal(stats_wilson_ci(3, 2, 0.95, &ci), EVD_EINVAL);
    assert_int_equal(stats_wilson_ci(0, 10, 0.95, &ci), 0);
    assert_true(ci.lo == 0 && ci.hi > 0.2 && ci.hi < 0.35);
    assert_int_equal(stats_wilson_ci(10, 10, 0.95, &ci), 0);
    assert_true(ci.hi == 1);

    stats_prop2 r;
    /* No 5xx on either side: nothing to test, but the intervals exist. */
    assert_int_equal(stats_prop2_test(0, 1000, 0, 2000, 0.95, &r), STATS_EDEGENERATE);
    assert_true(r.p_z == 1 && r.p_chi2 == 1 && r.p_chi2_yates == 1 && r.z == 0 && r.chi2 == 0);
    assert_true(r.ci_a.lo == 0 && r.ci_a.hi > 0 && r.ci_diff.lo < 0 && r.ci_diff.hi > 0);
    assert_int_equal(stats_prop2_test(5, 5, 7, 7, 0.95, &r), STATS_EDEGENERATE);
    assert_int_equal(stats_prop2_test(0, 0, 7, 9, 0.95, &r), STATS_EDEGENERATE);
    assert_false(isnan(r.ci_diff.lo) || isnan(r.ci_diff.hi) || isnan(r.p_z));
    assert_int_equal(stats_prop2_test(6, 5, 7, 9, 0.95, &r), EVD_EINVAL);
    assert_int_equal(stats_prop2_test(1, 5, 7, 9, 2, &r), EVD_EINVAL);

    /* The same rate: z = 0, p = 1; Yates can only lower chi-square. */
    assert_int_equal(stats_prop2_test(10, 1000, 20, 2000, 0.95, &r), 0);
    assert_near(r.z, 0, 1e-12);
    assert_near(r.p_z, 1, 1e-12);
    assert_true(r.chi2_yates <= r.chi2);
    /* A real rise: p small, z^2 = chi-square, the difference excludes 0. */
    assert_int_equal(stats_prop2_test(10, 10000, 60, 10000, 0.95, &r), 0);
    assert_true(r.z > 5 && r.p_z < 1e-6 && r.ci_diff.lo > 0);
    assert_near(r.z * r.z, r.chi2, r.chi2 * 1e-12);
    assert_near(r.p_z, r.p_chi2, r.p_z * 1e-9);
}

static void test_multi(void **state)
{
    (void)state;
    double p[] = {0.01, 0.04, 0.03, 0.005}, adj[4];
    assert_int_equal(stats_holm(p, 4, adj), 0);
    assert_near(adj[3], 0.02, 1e-15);
    assert_near(adj[0], 0.03, 1e-15);
    assert_near(adj[2], 0.06, 1e-15);
    assert_near(adj[1], 0.06, 1e-15);
    assert_int_equal(stats_bh(p, 4, adj), 0);
    assert_near(adj[3], 0.02, 1e-15);
    assert_near(adj[0], 0.02, 1e-15);
    assert_near(adj[2], 0.04, 1e-15);
    assert_near(adj[1], 0.04, 1e-15);
    /* In place. */
    double q[] = {0.2, 0.2, 0.9};
    assert_int_equal(stats_holm(q, 3, q), 0);
    assert_near(q[0], 0.6, 1e-15);
    assert_near(q[1], 0.6, 1e-15);
    assert_near(q[2], 0.9, 1e-15);
    double bad[] = {0.5, NAN};
    assert_int_equal(stats_holm(bad, 2, adj), EVD_EINVAL);
    bad[1] = -0.1;
    assert_int_equal(stats_bh(bad, 2, adj), EVD_EINVAL);
    assert_int_equal(stats_bh(NULL, 0, NULL), 0);
    assert_int_equal(stats_holm(NULL, 2, adj), EVD_EINVAL);
}

static void test_pearson(void **state)
{
    (void)state;
    double x[] = {1, 2, 3, 4, 5}, y[] = {2, 4, 6, 8, 10}, c[] = {7, 7, 7, 7, 7}, r, p;
    assert_int_equal(stats_pearson(x, y, 5, &r, &p), 0);
    assert_near(r, 1, 1e-15);
    assert_true(p < 1e-20);
    assert_int_equal(stats_pearson(x, c, 5, &r, &p), STATS_EDEGENERATE);
    assert_true(r == 0 && p == 1);
    assert_int_equal(stats_pearson(x, y, 2, &r, &p), STATS_EDEGENERATE);
    assert_true(r == 0 && p == 1);
    assert_int_equal(stats_pearson(x, y, 0, &r, &p), STATS_EDEGENERATE);
    double n[] = {1, 2, NAN};
    assert_int_equal(stats_pearson(x, n, 3, &r, &p), EVD_EINVAL);

    /* The seed paper's Table I (live vs Travis medians of five versions). */
    double live[] = {1349.41, 1466.13, 1256.65, 1266.42, 1080.68};
    double ci[] = {764.87, 992.87, 760.87, 813.89, 303.4};
    assert_int_equal(stats_pearson(live, ci, 5, &r, &p), 0);
    assert_near(r, 0.934, 0.0005);
    assert_near(p, 0.020, 0.0005);
}

static void test_dist_edges(void **state)
{
    (void)state;
    assert_true(isinf(stats_norm_ppf(0)) && stats_norm_ppf(0) < 0);
    assert_true(isinf(stats_norm_ppf(1)) && stats_norm_ppf(1) > 0);
    assert_true(isnan(stats_norm_ppf(-0.1)) && isnan(stats_norm_ppf(NAN)));
    assert_true(stats_norm_ppf(0.5) == 0);
    assert_near(stats_norm_ppf(0.975), 1.959963984540054, 1e-15);
    assert_true(isnan(stats_betainc(0, 1, 0.5)) && isnan(stats_betainc(1, 1, 1.5)));
    assert_true(stats_betainc(2, 3, 0) == 0 && stats_betainc(2, 3, 1) == 1);
    assert_true(stats_betainc_c(2, 3, 0) == 1 && stats_betainc_c(2, 3, 1) == 0);
    assert_true(stats_gammainc_q(1, INFINITY) == 0 && stats_gammainc_p(1, 0) == 0);
    assert_true(isnan(stats_gammainc_p(-1, 1)));
    assert_true(stats_t_sf(INFINITY, 3) == 0 && stats_t_sf(-INFINITY, 3) == 1);
    assert_true(stats_t_sf(0, 3) == 0.5);
    assert_true(stats_chi2_sf(0, 1) == 1 && stats_chi2_sf(-1, 1) == 1);
    assert_true(stats_binom_cdf(5, 5, 0.3) == 1 && stats_binom_cdf(0, 5, 1) == 0);
    assert_true(isnan(stats_binom_cdf(1, 5, 2)));
    /* Far tails keep their relative precision. */
    assert_near(stats_norm_sf(30) / 4.906713927147908e-198, 1, 1e-12); /* scipy's */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sort),
        cmocka_unit_test(test_sample_input),
        cmocka_unit_test(test_mwu_degenerate),
        cmocka_unit_test(test_mwu_symmetry_and_binned),
        cmocka_unit_test(test_mwu_exact),
        cmocka_unit_test(test_mwu_exact_limit),
        cmocka_unit_test(test_ratio_selection),
        cmocka_unit_test(test_ratio_degenerate),
        cmocka_unit_test(test_sketch),
        cmocka_unit_test(test_median_ci),
        cmocka_unit_test(test_proportions),
        cmocka_unit_test(test_multi),
        cmocka_unit_test(test_pearson),
        cmocka_unit_test(test_dist_edges),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

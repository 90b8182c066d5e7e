/* shift.c — the ratio of two versions' durations with a confidence interval.
 *
 * DESIGN — under a scale shift, b = theta * a in distribution, so theta is
 * the ratio of the medians (and of every quantile).  log theta is a location
 * shift of the log-durations, for which the Hodges-Lehmann estimator (the
 * median of the n_a n_b differences log b_j - log a_i) and Moses' interval
 * (the C-th smallest and C-th largest difference, C from the null
 * distribution of the Mann-Whitney U) are the distribution-free standard
 * (Hodges & Lehmann 1963; Moses 1965; Hollander & Wolfe, Nonparametric
 * Statistical Methods, 2nd ed., sec. 4.2-4.3).  exp() is monotone, so we
 * rank the ratios b_j / a_i themselves and never take a log.
 *
 * The n_a n_b ratios (10^12 for 10^6 a side) are never formed.  With both
 * samples sorted, row i of the matrix b_j * (1 / a_i) increases along j and
 * every column decreases along i.  Selection keeps, per row, the band
 * [L_i, R_i) of columns that may still hold the k-th value: a random
 * pivot (see select_kth), one two-pointer pass counts the values below and
 * at it in every row (O(n_a + n_b), the counts grow with i), and the bands
 * shrink to the side that holds rank k.  When at most n_a + n_b candidates
 * remain they are copied out and quickselected.  Expected
 * O((n_a + n_b) log(n_a n_b)) time and O(n_a + n_b) memory; the answer is
 * the exact order statistic.  Each element's value is fl(b_j * fl(1/a_i)),
 * the same expression everywhere, so the counting is consistent. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "evodash.h"
#include "stats/stats_int.h"

#define SAMPLE 4096 /* candidates drawn per selection round */

typedef struct matrix {
    const double *b; /* columns, sorted */
    double *inv_a;   /* 1 / a_i, rows, decreasing */
    size_t m, n;
    size_t *lo, *hi;       /* the band of row i is [lo[i], hi[i]) */
    size_t *lt[2], *le[2]; /* per row, for each pivot: values < it, <= it */
    uint64_t *pre;         /* candidates in the rows before i */
    double *buf;           /* the last candidates */
    double samp[SAMPLE];
    uint64_t rng;
} matrix;

static uint64_t next_rand(uint64_t *s)
{
    /* xorshift64* (Vigna 2016): enough to pick pivots. */
    *s ^= *s >> 12;
    *s ^= *s << 25;
    *s ^= *s >> 27;
    return *s * 0x2545F4914F6CDD1DULL;
}

static void swap(double *x, double *y)
{
    double t = *x;
    *x = *y;
    *y = t;
}

/* The k-th smallest (0-based) of v[0..n), Hoare's quickselect with a
 * median-of-three pivot; v is reordered. */
static double quickselect(double *v, size_t n, size_t k)
{
    size_t l = 0, r = n - 1;
    while (r > l) {
        size_t mid = l + (r - l) / 2;
        if (v[mid] < v[l])
            swap(&v[mid], &v[l]);
        if (v[r] < v[l])
            swap(&v[r], &v[l]);
        if (v[r] < v[mid])
            swap(&v[r], &v[mid]);
        double piv = v[mid];
        size_t i = l, j = r;
        while (i <= j) {
            while (v[i] < piv)
                i++;
            while (v[j] > piv)
                j--;
            if (i <= j) {
                swap(&v[i], &v[j]);
                i++;
                if (j == 0)
                    break;
                j--;
            }
        }
        if (k <= j)
            r = j;
        else if (k >= i)
            l = i;
        else
            return v[k];
    }
    return v[k];
}

/* Count, per row, the values below and at the pivot; both counts lie in
 * the row's band (see DESIGN) and grow with i. */
static void count_rows(matrix *x, double pivot, size_t *lt, size_t *le, uint64_t *n_lt,
                       uint64_t *n_le)
{
    size_t plt = 0, ple = 0;
    uint64_t slt = 0, sle = 0;
    for (size_t i = 0; i < x->m; i++) {
        double ia = x->inv_a[i];
        size_t j = plt > x->lo[i] ? plt : x->lo[i];
        while (j < x->hi[i] && x->b[j] * ia < pivot)
            j++;
        lt[i] = plt = j;
        if (ple > j)
            j = ple;
        while (j < x->hi[i] && x->b[j] * ia <= pivot)
            j++;
        le[i] = ple = j;
        slt += lt[i];
        sle += le[i];
    }
    *n_lt = slt;
    *n_le = sle;
}

static int cmp_double(const void *p, const void *q)
{
    double x = *(const double *)p, y = *(const double *)q;
    return x < y ? -1 : x > y;
}

/* A uniformly drawn candidate's value. */
static double draw(matrix *x, uint64_t cand)
{
    uint64_t r = next_rand(&x->rng) % cand;
    size_t lo = 0, hi = x->m; /* the last row with pre[row] <= r */
    while (hi - lo > 1) {
        size_t mid = lo + (hi - lo) / 2;
        if (x->pre[mid] <= r)
            lo = mid;
        else
            hi = mid;
    }
    return x->b[x->lo[lo] + (r - x->pre[lo])] * x->inv_a[lo];
}

/* The k-th smallest (1-based) of the m n values.  Each round draws
 * SAMPLE candidates and takes as pivots the sample values 2 sqrt(SAMPLE)
 * ranks either side of where rank k should fall (Floyd & Rivest 1975): the
 * k-th value then lies between them with probability ~1 - 1e-4, and the
 * band between holds ~4 / sqrt(SAMPLE) of the candidates, so 10^12 pairs
 * take about five rounds of two counting passes. */
static double select_kth(matrix *x, uint64_t k)
{
    size_t thresh = x->m + x->n;
    for (size_t i = 0; i < x->m; i++) {
        x->lo[i] = 0;
        x->hi[i] = x->n;
    }
    for (;;) {
        uint64_t cand = 0, below = 0;
        for (size_t i = 0; i < x->m; i++) {
            x->pre[i] = cand;
            cand += x->hi[i] - x->lo[i];
            below += x->lo[i];
        }
        if (cand <= thresh) {
            size_t c = 0;
            for (size_t i = 0; i < x->m; i++)
                for (size_t j = x->lo[i]; j < x->hi[i]; j++)
                    x->buf[c++] = x->b[j] * x->inv_a[i];
            return quickselect(x->buf, c, (size_t)(k - below - 1));
        }
        for (size_t t = 0; t < SAMPLE; t++)
            x->samp[t] = draw(x, cand);
        qsort(x->samp, SAMPLE, sizeof x->samp[0], cmp_double);
        double pos = (double)(k - below) / (double)cand * SAMPLE, d = 2 * sqrt(SAMPLE);
        int has1 = pos - d >= 0, has2 = pos + d < SAMPLE;
        uint64_t n_lt, n_le;
        if (has1) {
            double p1 = x->samp[(size_t)(pos - d)];
            count_rows(x, p1, x->lt[0], x->le[0], &n_lt, &n_le);
            if (k <= n_lt) {
                memcpy(x->hi, x->lt[0], x->m * sizeof *x->hi);
                continue;
            }
            if (k <= n_le)
                return p1;
        }
        if (has2) {
            double p2 = x->samp[(size_t)(pos + d)];
            count_rows(x, p2, x->lt[1], x->le[1], &n_lt, &n_le);
            if (k > n_le) {
                memcpy(x->lo, x->le[1], x->m * sizeof *x->lo);
                continue;
            }
            if (k > n_lt)
                return p2;
        }
        if (has1) /* rank k lies between the pivots */
            memcpy(x->lo, x->le[0], x->m * sizeof *x->lo);
        if (has2)
            memcpy(x->hi, x->lt[1], x->m * sizeof *x->hi);
    }
}

/* C for Moses' interval: 1 + the largest c with P(U <= c) <= (1-conf)/2,
 * clamped to [1, (mn+1)/2]; *coverage = 1 - 2 P(U <= C - 1).  The normal
 * approximation of P(U <= c) is continuity corrected, as in stats_mwu. */
static int moses_c(uint64_t m, uint64_t n, double tie_term, int ties, double conf, uint64_t *c_out,
                   double *coverage, int *exact)
{
    double half = 0.5 * (1 - conf);
    uint64_t mn = m * n, cmax = (mn + 1) / 2, c;
    *exact = stats_mwu_use_exact(STATS_MWU_AUTO, m, n, ties);
    if (*exact) {
        double cdf;
        int rc = stats_mwu_null_quantile(m, n, half, STATS_MWU_TABLE_MAX, c_out, &cdf);
        *coverage = 1 - 2 * cdf;
        return rc;
    }
    double sd = sqrt(stats_mwu_var(m, n, tie_term));
    double z = stats_norm_ppf(1 - half);
    double f = floor(0.5 * (double)mn - 0.5 - z * sd) + 1;
    c = f < 1 ? 1 : f > (double)cmax ? cmax : (uint64_t)f;
    *c_out = c;
    *coverage = sd > 0 ? 1 - 2 * stats_norm_cdf(((double)c - 0.5 - 0.5 * (double)mn) / sd) : 0;
    return 0;
}

static void ratio_degenerate(stats_ratio *out)
{
    out->median_ratio = 1;
    out->hl.est = out->hl.lo = out->hl.hi = 1;
    out->hl.coverage = 0;
    out->hl.exact = 0;
}

int stats_ratio_ci(const stats_sample *a, const stats_sample *b, double conf, stats_ratio *out)
{
    if (!a || !b || !out || !(conf > 0 && conf < 1))
        return EVD_EINVAL;
    memset(out, 0, sizeof *out);
    ratio_degenerate(out);
    if (a->n == 0 || b->n == 0)
        return STATS_EDEGENERATE;
    if (!(a->v[0] > 0) || !(b->v[0] > 0))
        return EVD_EINVAL;

    int rc = EVD_ENOMEM;
    size_t m = a->n, n = b->n;
    matrix *x = calloc(1, sizeof *x);
    if (!x)
        return EVD_ENOMEM;
    x->b = b->v;
    x->m = m;
    x->n = n;
    x->rng = 0x9E3779B97F4A7C15ULL; /* fixed: the same input takes the same time */
    x->inv_a = malloc(m * sizeof *x->inv_a);
    x->lo = malloc(m * sizeof *x->lo);
    x->hi = malloc(m * sizeof *x->hi);
    x->pre = malloc(m * sizeof *x->pre);
    x->buf = malloc((m + n) * sizeof *x->buf);
    int ok = x->inv_a && x->lo && x->hi && x->pre && x->buf;
    for (int p = 0; p < 2; p++) {
        x->lt[p] = malloc(m * sizeof *x->lt[p]);
        x->le[p] = malloc(m * sizeof *x->le[p]);
        ok = ok && x->lt[p] && x->le[p];
    }
    if (!ok)
        goto done;
    /* a ascending makes 1 / a_i descending, as count_rows expects. */
    for (size_t i = 0; i < m; i++)
        x->inv_a[i] = 1 / a->v[i];

    /* The pooled ties set the variance of U, as in stats_mwu. */
    stats_walk w;
    stats_walk_sorted(a->v, m, b->v, n, &w);
    uint64_t c, mn = (uint64_t)m * n;
    rc = moses_c(m, n, w.tie_term, w.ties, conf, &c, &out->hl.coverage, &out->hl.exact);
    if (rc)
        goto done;
    out->hl.lo = select_kth(x, c);
    out->hl.hi = select_kth(x, mn + 1 - c);
    if (mn % 2)
        out->hl.est = select_kth(x, (mn + 1) / 2);
    else
        out->hl.est = sqrt(select_kth(x, mn / 2) * select_kth(x, mn / 2 + 1));
    out->median_ratio = stats_sample_median(b) / stats_sample_median(a);
    rc = 0;
done:
    free(x->inv_a);
    free(x->lo);
    free(x->hi);
    free(x->pre);
    free(x->buf);
    for (int p = 0; p < 2; p++) {
        free(x->lt[p]);
        free(x->le[p]);
    }
    free(x);
    return rc;
}

/* The value exp(i w) of the median bucket of c[lo..hi] (total n > 0), with
 * numpy's rule for even n (the mean of the two middle values). */
static double binned_median(const uint64_t *c, size_t nb, uint64_t n, double w)
{
    uint64_t r1 = (n - 1) / 2, r2 = n / 2, cum = 0; /* 0-based ranks */
    double v1 = 0, v2 = 0;
    int got1 = 0;
    for (size_t i = 0; i < nb; i++) {
        cum += c[i];
        if (!got1 && cum > r1) {
            v1 = exp((double)i * w);
            got1 = 1;
        }
        if (cum > r2) {
            v2 = exp((double)i * w);
            break;
        }
    }
    return 0.5 * (v1 + v2);
}

/* The shift d (bucket units) of the k-th smallest (1-based) of the pair
 * differences j - i, from their weighted histogram h[d + off]. */
static long kth_shift(const double *h, size_t nh, long off, double k)
{
    double cum = 0;
    for (size_t d = 0; d < nh; d++) {
        cum += h[d];
        if (cum >= k)
            return (long)d - off;
    }
    return (long)nh - 1 - off;
}

int stats_ratio_ci_binned(const uint64_t *ca, const uint64_t *cb, size_t nbuckets, double ln_width,
                          double conf, stats_ratio *out)
{
    const uint64_t lim = (uint64_t)1 << 31; /* n_a n_b stays exact in doubles and uint64 */
    if (!out || (nbuckets && (!ca || !cb)) || !(conf > 0 && conf < 1) || !isfinite(ln_width) ||
        !(ln_width > 0) || nbuckets > ((size_t)1 << 20))
        return EVD_EINVAL;
    memset(out, 0, sizeof *out);
    ratio_degenerate(out);
    uint64_t m = 0, n = 0;
    size_t alo = nbuckets, ahi = 0, blo = nbuckets, bhi = 0;
    for (size_t i = 0; i < nbuckets; i++) {
        if (ca[i] >= lim - m || cb[i] >= lim - n)
            return EVD_EINVAL;
        m += ca[i];
        n += cb[i];
        if (ca[i]) {
            alo = alo < i ? alo : i;
            ahi = i;
        }
        if (cb[i]) {
            blo = blo < i ? blo : i;
            bhi = i;
        }
    }
    if (m == 0 || n == 0)
        return STATS_EDEGENERATE;

    /* h[d + off] = sum_i ca[i] cb[i + d] over the occupied ranges. */
    long off = (long)(ahi - blo);
    size_t nh = (bhi - blo) + (ahi - alo) + 1;
    double *h = calloc(nh, sizeof *h);
    if (!h)
        return EVD_ENOMEM;
    for (size_t i = alo; i <= ahi; i++)
        if (ca[i])
            for (size_t j = blo; j <= bhi; j++)
                if (cb[j])
                    h[(long)j - (long)i + off] += (double)ca[i] * (double)cb[j];

    stats_walk w;
    stats_walk_binned(ca, cb, nbuckets, &w);
    uint64_t c, mn = m * n;
    int rc = moses_c(m, n, w.tie_term, w.ties, conf, &c, &out->hl.coverage, &out->hl.exact);
    if (rc)
        goto done;
    out->hl.lo = exp((double)kth_shift(h, nh, off, (double)c) * ln_width);
    out->hl.hi = exp((double)kth_shift(h, nh, off, (double)(mn + 1 - c)) * ln_width);
    double d1 = (double)kth_shift(h, nh, off, (double)(mn / 2 + (mn % 2)));
    double d2 = (double)kth_shift(h, nh, off, (double)(mn / 2 + 1));
    out->hl.est = exp(0.5 * (d1 + d2) * ln_width);
    out->median_ratio =
        binned_median(cb, nbuckets, n, ln_width) / binned_median(ca, nbuckets, m, ln_width);
done:
    free(h);
    return rc;
}

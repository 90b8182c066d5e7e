/* sample.c — sorted samples, the median and its order-statistic CI.
 *
 * Sorting dominates every rank statistic, and a version of a busy endpoint
 * has 10^6 durations, so samples are sorted once with an LSD radix sort:
 * six passes of 11 bits over the IEEE-754 bits mapped to unsigned order,
 * skipping the passes where every key has the same digit (durations that
 * are whole microseconds leave the low mantissa bits all zero). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "evodash.h"
#include "stats/stats_int.h"

#define RADIX_BITS   11
#define RADIX_SIZE   (1u << RADIX_BITS)
#define RADIX_PASSES 6
#define SMALL_SORT   64

/* Monotone map of doubles to unsigned integers: negative numbers have
 * every bit flipped, positive ones only the sign bit. */
static uint64_t key_of(double d)
{
    uint64_t u;
    memcpy(&u, &d, sizeof u);
    return (u >> 63) ? ~u : u ^ ((uint64_t)1 << 63);
}

static double double_of(uint64_t k)
{
    uint64_t u = (k >> 63) ? k ^ ((uint64_t)1 << 63) : ~k;
    double d;
    memcpy(&d, &u, sizeof d);
    return d;
}

static void insertion_sort(double *v, size_t n)
{
    for (size_t i = 1; i < n; i++) {
        double x = v[i];
        size_t j = i;
        while (j > 0 && v[j - 1] > x) {
            v[j] = v[j - 1];
            j--;
        }
        v[j] = x;
    }
}

/* Sort src[0..n) into dst, both may be the same array. */
static int radix_sort(const double *src, double *dst, size_t n)
{
    if (n < SMALL_SORT) {
        if (dst != src)
            memmove(dst, src, n * sizeof *dst);
        insertion_sort(dst, n);
        return 0;
    }
    uint64_t *a = malloc(n * sizeof *a), *b = malloc(n * sizeof *b);
    size_t *hist = calloc((size_t)RADIX_PASSES * RADIX_SIZE, sizeof *hist);
    int rc = EVD_ENOMEM;
    if (!a || !b || !hist)
        goto done;
    for (size_t i = 0; i < n; i++) {
        uint64_t k = key_of(src[i]);
        a[i] = k;
        for (int p = 0; p < RADIX_PASSES; p++)
            hist[p * RADIX_SIZE + ((k >> (p * RADIX_BITS)) & (RADIX_SIZE - 1))]++;
    }
    for (int p = 0; p < RADIX_PASSES; p++) {
        size_t *h = hist + (size_t)p * RADIX_SIZE;
        int shift = p * RADIX_BITS;
        if (h[(a[0] >> shift) & (RADIX_SIZE - 1)] == n)
            continue; /* every key has this digit: the pass would not move anything */
        size_t sum = 0;
        for (size_t d = 0; d < RADIX_SIZE; d++) {
            size_t c = h[d];
            h[d] = sum;
            sum += c;
        }
        for (size_t i = 0; i < n; i++)
            b[h[(a[i] >> shift) & (RADIX_SIZE - 1)]++] = a[i];
        uint64_t *t = a;
        a = b;
        b = t;
    }
    for (size_t i = 0; i < n; i++)
        dst[i] = double_of(a[i]);
    rc = 0;
done:
    free(a);
    free(b);
    free(hist);
    return rc;
}

int stats_sort(double *v, size_t n)
{
    if (!v && n)
        return EVD_EINVAL;
    return radix_sort(v, v, n);
}

/* Sort c[0..n) and wrap it into *out; takes ownership of c either way. */
static int sample_adopt(double *c, size_t n, stats_sample **out)
{
    stats_sample *s = malloc(sizeof *s);
    int rc = s ? radix_sort(c, c, n) : EVD_ENOMEM;
    if (rc) {
        free(c);
        free(s);
        return rc;
    }
    s->n = n;
    s->v = c;
    *out = s;
    return 0;
}

int stats_sample_new(const double *v, size_t n, stats_sample **out)
{
    if (!out || (!v && n))
        return EVD_EINVAL;
    *out = NULL;
    double *c = malloc((n ? n : 1) * sizeof *c);
    if (!c)
        return EVD_ENOMEM;
    for (size_t i = 0; i < n; i++) {
        if (!isfinite(v[i]))
            goto bad;
        c[i] = v[i] == 0 ? 0.0 : v[i]; /* -0.0 would sort before +0.0 */
    }
    return sample_adopt(c, n, out);
bad:
    free(c);
    return EVD_EINVAL;
}

int stats_sample_new_i64(const int64_t *v, size_t n, stats_sample **out)
{
    const int64_t lim = (int64_t)1 << 53; /* beyond it doubles skip integers */
    if (!out || (!v && n))
        return EVD_EINVAL;
    *out = NULL;
    double *c = malloc((n ? n : 1) * sizeof *c);
    if (!c)
        return EVD_ENOMEM;
    for (size_t i = 0; i < n; i++) {
        if (v[i] >= lim || v[i] <= -lim)
            goto bad;
        c[i] = (double)v[i];
    }
    return sample_adopt(c, n, out);
bad:
    free(c);
    return EVD_EINVAL;
}

void stats_sample_free(stats_sample *s)
{
    if (!s)
        return;
    free(s->v);
    free(s);
}

size_t stats_sample_n(const stats_sample *s)
{
    return s ? s->n : 0;
}

const double *stats_sample_sorted(const stats_sample *s)
{
    return s ? s->v : NULL;
}

double stats_sample_median(const stats_sample *s)
{
    if (!s || s->n == 0)
        return 0;
    size_t h = s->n / 2;
    return s->n % 2 ? s->v[h] : 0.5 * (s->v[h - 1] + s->v[h]);
}

int stats_median_ci(const stats_sample *s, double conf, stats_interval *out)
{
    if (!s || !out || !(conf > 0 && conf < 1))
        return EVD_EINVAL;
    memset(out, 0, sizeof *out);
    out->exact = 1;
    size_t n = s->n;
    if (n == 0)
        return STATS_EDEGENERATE;
    double half = 0.5 * (1 - conf);
    /* l - 1 = c, the largest c with P(B <= c) <= half.  Start from the
     * normal approximation and walk; each step is one beta evaluation. */
    double z = stats_norm_ppf(1 - half);
    double guess = floor(0.5 * (double)n - 0.5 * z * sqrt((double)n)) - 1;
    int64_t c = guess < -1 ? -1 : (int64_t)guess;
    if ((uint64_t)(c + 1) > n / 2)
        c = (int64_t)(n / 2) - 1;
    while (c >= 0 && stats_binom_cdf((uint64_t)c, n, 0.5) > half)
        c--;
    while ((uint64_t)(c + 1) < (n + 1) / 2 && stats_binom_cdf((uint64_t)(c + 1), n, 0.5) <= half)
        c++;
    size_t l = c < 0 ? 1 : (size_t)c + 1; /* 1-based */
    out->lo = s->v[l - 1];
    out->hi = s->v[n - l];
    out->est = stats_sample_median(s);
    /* Coverage 1 - 2 P(B <= l - 1); with l clamped to 1 that is below conf. */
    out->coverage = 1 - 2 * stats_binom_cdf((uint64_t)(l - 1), n, 0.5);
    return 0;
}

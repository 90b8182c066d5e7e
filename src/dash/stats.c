/* stats.c — exact box-plot statistics from raw durations (per-group and
 * per-IP views, which the rollups do not key by); the sketch-based ones
 * are box_from_acc() in aggcache.c. */
#include <stdlib.h>

#include "evodash.h"
#include "dash/dash_int.h"

/* Reorder v[0..n) so that v[k] holds the value of rank k, everything before
 * it is <= and everything after it >=; returns v[k].  Quickselect with a
 * median-of-three pivot and a three-way partition (durations repeat a
 * lot): linear on average, where sorting a month of one endpoint's rows
 * was most of a box plot's cost.  Written here because libc has no
 * selection routine. */
static int64_t select_rank(int64_t *v, size_t n, size_t k)
{
    size_t lo = 0, hi = n;
    while (hi - lo > 16) {
        int64_t a = v[lo], b = v[lo + (hi - lo) / 2], c = v[hi - 1];
        int64_t p = a < b ? (b < c ? b : (a < c ? c : a)) : (a < c ? a : (b < c ? c : b));
        size_t lt = lo, i = lo, gt = hi;
        while (i < gt) {
            int64_t x = v[i];
            if (x < p) {
                v[i++] = v[lt];
                v[lt++] = x;
            } else if (x > p) {
                v[i] = v[--gt];
                v[gt] = x;
            } else {
                i++;
            }
        }
        if (k < lt)
            hi = lt;
        else if (k >= gt)
            lo = gt;
        else
            return p;
    }
    for (size_t i = lo + 1; i < hi; i++) {
        int64_t x = v[i];
        size_t j = i;
        for (; j > lo && v[j - 1] > x; j--)
            v[j] = v[j - 1];
        v[j] = x;
    }
    return v[k];
}

/* Linear interpolation between closest ranks, as numpy's default. */
static double quantile(int64_t *v, size_t n, double q)
{
    double pos = q * (double)(n - 1);
    size_t i = (size_t)pos;
    double frac = pos - (double)i;
    int64_t a = select_rank(v, n, i);
    if (frac == 0 || i + 1 >= n)
        return (double)a;
    int64_t b = v[i + 1]; /* the next rank: the least value above i */
    for (size_t j = i + 2; j < n; j++)
        if (v[j] < b)
            b = v[j];
    return (double)a + frac * (double)(b - a);
}

void box_from_values(int64_t *v, size_t n, boxstat *out)
{
    *out = (boxstat){0};
    out->count = (int64_t)n;
    if (!n)
        return;
    double sum = 0;
    int64_t lo = v[0], hi = v[0];
    for (size_t i = 0; i < n; i++) {
        sum += (double)v[i];
        if (v[i] < lo)
            lo = v[i];
        if (v[i] > hi)
            hi = v[i];
    }
    out->min = (double)lo;
    out->max = (double)hi;
    out->mean = sum / (double)n;
    out->median = quantile(v, n, 0.5);
    out->q1 = quantile(v, n, 0.25);
    out->q3 = quantile(v, n, 0.75);
}

json_t *box_json(const boxstat *b)
{
    if (!b->count)
        return json_pack("{s:I,s:n,s:n,s:n,s:n,s:n,s:n}", "count", (json_int_t)0, "min_us", "q1_us",
                         "median_us", "q3_us", "max_us", "mean_us");
    return json_pack("{s:I,s:f,s:f,s:f,s:f,s:f,s:f}", "count", (json_int_t)b->count, "min_us",
                     b->min, "q1_us", b->q1, "median_us", b->median, "q3_us", b->q3, "max_us",
                     b->max, "mean_us", b->mean);
}

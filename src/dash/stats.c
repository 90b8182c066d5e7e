/* stats.c — exact box-plot statistics from raw durations (per-group and
 * per-IP views, which the rollups do not key by); the sketch-based ones
 * are box_from_acc() in aggcache.c. */
#include <stdlib.h>

#include "evodash.h"
#include "dash/dash_int.h"

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/* Linear interpolation between closest ranks, as numpy's default. */
static double quant_sorted(const int64_t *v, size_t n, double q)
{
    double pos = q * (double)(n - 1);
    size_t i = (size_t)pos;
    double frac = pos - (double)i;
    if (i + 1 >= n)
        return (double)v[n - 1];
    return (double)v[i] + frac * (double)(v[i + 1] - v[i]);
}

void box_from_values(int64_t *v, size_t n, boxstat *out)
{
    *out = (boxstat){0};
    out->count = (int64_t)n;
    if (!n)
        return;
    qsort(v, n, sizeof *v, cmp_i64);
    double sum = 0;
    for (size_t i = 0; i < n; i++)
        sum += (double)v[i];
    out->min = (double)v[0];
    out->max = (double)v[n - 1];
    out->mean = sum / (double)n;
    out->q1 = quant_sorted(v, n, 0.25);
    out->median = quant_sorted(v, n, 0.5);
    out->q3 = quant_sorted(v, n, 0.75);
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

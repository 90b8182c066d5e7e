/* bench_stats.c — the cost of a latency verdict on a busy endpoint: N
 * durations per version (lognormal, whole microseconds, so with ties; B is
 * 3% slower), sorted into samples, the Mann-Whitney U test, and the ratio
 * of medians with its Moses interval.  Median of RUNS runs per step.
 *
 * Usage: bench_stats [N]   (default 10^6 per side)
 * Last line: stats_mwu_1e6_ms: T ms (sorting both sides + the U test) */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "stats/stats.h"

#define RUNS 3

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static uint64_t rng_state = 0x853c49e6748fea9bULL;

static double uniform(void)
{
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return ((rng_state * 0x2545F4914F6CDD1DULL) >> 11) * (1.0 / 9007199254740992.0) + 1e-300;
}

static void fill(int64_t *v, size_t n, double scale)
{
    for (size_t i = 0; i < n; i++) {
        double z = sqrt(-2 * log(uniform())) * cos(2 * M_PI * uniform());
        v[i] = (int64_t)(scale * exp(9 + 0.8 * z)) + 1; /* ~8 ms median */
    }
}

static int cmpd(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double median3(double t[RUNS])
{
    qsort(t, RUNS, sizeof t[0], cmpd);
    return t[RUNS / 2];
}

int main(int argc, char **argv)
{
    size_t n = argc > 1 ? strtoul(argv[1], NULL, 10) : 1000000;
    int64_t *a = malloc(n * sizeof *a), *b = malloc(n * sizeof *b);
    if (!a || !b)
        return 1;
    fill(a, n, 1.0);
    fill(b, n, 1.03);

    double t_sort[RUNS], t_mwu[RUNS], t_ratio[RUNS];
    stats_mwu_result u = {0};
    stats_ratio r = {0};
    for (int run = 0; run < RUNS; run++) {
        stats_sample *sa, *sb;
        double t0 = now_ms();
        if (stats_sample_new_i64(a, n, &sa) || stats_sample_new_i64(b, n, &sb))
            return 1;
        double t1 = now_ms();
        if (stats_mwu(sa, sb, STATS_MWU_AUTO, &u))
            return 1;
        double t2 = now_ms();
        if (stats_ratio_ci(sa, sb, 0.95, &r))
            return 1;
        double t3 = now_ms();
        t_sort[run] = t1 - t0;
        t_mwu[run] = t2 - t1;
        t_ratio[run] = t3 - t2;
        stats_sample_free(sa);
        stats_sample_free(sb);
    }
    double sort = median3(t_sort), mwu = median3(t_mwu), ratio = median3(t_ratio);
    printf("n = %zu per side: p = %.3g, U1 = %.0f, rank-biserial %.4f\n", n, u.p, u.u1,
           u.rank_biserial);
    printf("ratio of medians %.4f, Hodges-Lehmann %.4f, 95%% CI [%.4f, %.4f]\n", r.median_ratio,
           r.hl.est, r.hl.lo, r.hl.hi);
    printf("sort both sides %.1f ms, U test %.1f ms, ratio CI %.1f ms\n", sort, mwu, ratio);
    printf("stats_mwu_1e6_ms: %.1f ms\n", sort + mwu);
    free(a);
    free(b);
    return 0;
}

/* prop.c — error rates: Wilson intervals, the two-proportion z and
 * chi-square tests of a 2x2 table, and Newcombe's interval for the
 * difference.
 *
 * References: Wilson (1927), "Probable inference, the law of succession,
 * and statistical inference", JASA 22; Yates (1934), the continuity
 * correction, applied as scipy.stats.chi2_contingency does (each cell moves
 * toward its expected count by min(1/2, |O - E|)); Newcombe (1998),
 * "Interval estimation for the difference between independent
 * proportions: comparison of eleven methods", Stat. Med. 17, method 10. */
#include <math.h>
#include <string.h>

#include "evodash.h"
#include "stats/stats_int.h"

int stats_wilson_ci(uint64_t k, uint64_t n, double conf, stats_interval *out)
{
    if (!out || k > n || !(conf > 0 && conf < 1))
        return EVD_EINVAL;
    memset(out, 0, sizeof *out);
    out->coverage = conf;
    out->hi = 1;
    if (n == 0)
        return STATS_EDEGENERATE;
    double z = stats_norm_ppf(0.5 + 0.5 * conf), z2 = z * z;
    double dn = (double)n, dk = (double)k;
    double center = (dk + 0.5 * z2) / (dn + z2);
    double half = z / (dn + z2) * sqrt(dk * (dn - dk) / dn + 0.25 * z2);
    out->est = dk / dn;
    out->lo = k == 0 ? 0 : center - half; /* exact zero / one at the ends */
    out->hi = k == n ? 1 : center + half;
    return 0;
}

/* Pearson's chi-square of the 2x2 table, optionally with Yates' correction. */
static double chi2_2x2(const double o[4], const double e[4], int yates)
{
    double s = 0;
    for (int i = 0; i < 4; i++) {
        double d = fabs(o[i] - e[i]);
        if (yates)
            d -= fmin(0.5, d);
        s += d * d / e[i];
    }
    return s;
}

int stats_prop2_test(uint64_t k_a, uint64_t n_a, uint64_t k_b, uint64_t n_b, double conf,
                     stats_prop2 *out)
{
    if (!out || k_a > n_a || k_b > n_b || !(conf > 0 && conf < 1) || n_a > UINT64_MAX - n_b)
        return EVD_EINVAL;
    memset(out, 0, sizeof *out);
    out->p_z = out->p_chi2 = out->p_chi2_yates = 1;
    int rca = stats_wilson_ci(k_a, n_a, conf, &out->ci_a);
    int rcb = stats_wilson_ci(k_b, n_b, conf, &out->ci_b);
    out->p_a = out->ci_a.est;
    out->p_b = out->ci_b.est;

    /* Newcombe's hybrid score interval for p_b - p_a. */
    double d = out->p_b - out->p_a;
    double dl_b = out->p_b - out->ci_b.lo, du_b = out->ci_b.hi - out->p_b;
    double dl_a = out->p_a - out->ci_a.lo, du_a = out->ci_a.hi - out->p_a;
    out->ci_diff.est = d;
    out->ci_diff.lo = d - sqrt(dl_b * dl_b + du_a * du_a);
    out->ci_diff.hi = d + sqrt(du_b * du_b + dl_a * dl_a);
    out->ci_diff.coverage = conf;
    if (rca || rcb)
        return STATS_EDEGENERATE; /* a side is empty */

    uint64_t k = k_a + k_b, n = n_a + n_b;
    if (k == 0 || k == n)
        return STATS_EDEGENERATE; /* no failure, or nothing else: nothing to compare */
    double dn = (double)n, pool = (double)k / dn;
    double se = sqrt(pool * (1 - pool) * (1 / (double)n_a + 1 / (double)n_b));
    out->z = d / se;
    out->p_z = fmin(1, 2 * stats_norm_sf(fabs(out->z)));

    double o[4] = {(double)k_a, (double)(n_a - k_a), (double)k_b, (double)(n_b - k_b)};
    double rows[2] = {(double)n_a, (double)n_b}, cols[2] = {(double)k, (double)(n - k)};
    double e[4];
    for (int i = 0; i < 4; i++)
        e[i] = rows[i / 2] * cols[i % 2] / dn;
    out->chi2 = chi2_2x2(o, e, 0);
    out->chi2_yates = chi2_2x2(o, e, 1);
    out->p_chi2 = stats_chi2_sf(out->chi2, 1);
    out->p_chi2_yates = stats_chi2_sf(out->chi2_yates, 1);
    return 0;
}

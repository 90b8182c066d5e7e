/* corr.c — Pearson's correlation and its t-test, as scipy.stats.pearsonr.
 *
 * r = sum(dx dy) / sqrt(sum(dx^2) sum(dy^2)) about the means (computed
 * first, so a large common offset, like durations in microseconds, does
 * not cost digits).  Under H0 (bivariate normal, rho = 0) t = r sqrt((n-2)/(1-r^2))
 * has Student's t with n - 2 df, and P(|T| > |t|) = I_{1-r^2}((n-2)/2, 1/2). */
#include <math.h>

#include "evodash.h"
#include "stats/stats_int.h"

int stats_pearson(const double *x, const double *y, size_t n, double *r, double *p)
{
    if (!r || !p || (n && (!x || !y)))
        return EVD_EINVAL;
    *r = 0;
    *p = 1;
    for (size_t i = 0; i < n; i++)
        if (!isfinite(x[i]) || !isfinite(y[i]))
            return EVD_EINVAL;
    if (n < 3)
        return STATS_EDEGENERATE;
    double mx = 0, my = 0;
    for (size_t i = 0; i < n; i++) {
        mx += x[i];
        my += y[i];
    }
    mx /= (double)n;
    my /= (double)n;
    /* Refine the means by the mean residual (the corrected two-pass
     * algorithm, Chan, Golub & LeVeque 1983): with an offset of 1e9 the
     * plain sum is off in its last digits, which r^2 near 1 magnifies. */
    double ex = 0, ey = 0;
    for (size_t i = 0; i < n; i++) {
        ex += x[i] - mx;
        ey += y[i] - my;
    }
    mx += ex / (double)n;
    my += ey / (double)n;
    double sxx = 0, syy = 0, sxy = 0;
    for (size_t i = 0; i < n; i++) {
        double dx = x[i] - mx, dy = y[i] - my;
        sxx += dx * dx;
        syy += dy * dy;
        sxy += dx * dy;
    }
    if (!(sxx > 0) || !(syy > 0))
        return STATS_EDEGENERATE; /* a constant side: r is undefined */
    double rr = sxy / (sqrt(sxx) * sqrt(syy));
    rr = fmax(-1, fmin(1, rr));
    *r = rr;
    double ar = fabs(rr);
    double one_minus_r2 = (1 - ar) * (1 + ar); /* no cancellation near |r| = 1 */
    *p = one_minus_r2 == 0 ? 0 : stats_betainc(0.5 * (double)(n - 2), 0.5, one_minus_r2);
    return 0;
}

/* dist.c — the distribution functions the tests need, written from the
 * published algorithms:
 *   - normal CDF from libm's erfc; its quantile from Acklam's rational
 *     approximation (rel. error 1.2e-9) polished by Halley steps on erfc;
 *   - the regularized incomplete beta by its continued fraction
 *     (Abramowitz & Stegun 26.5.8) evaluated with the modified Lentz method
 *     (Numerical Recipes, sec. 6.4 and 5.2), on the side of the mean where it
 *     converges fast, so that each tail is computed without cancellation;
 *   - the regularized incomplete gamma by its series (x < a + 1) or its
 *     Legendre continued fraction (A&S 6.5.29, 6.5.31; NR sec. 6.2).
 * For large a and b the beta prefactor x^a (1-x)^b / B(a, b) is formed
 * with Stirling's series, since subtracting lgamma values of 10^6 would
 * lose nine digits. */
#include <math.h>
#include <stdint.h>

#include "stats/stats.h"

#define CF_EPS   1e-16
#define CF_TINY  1e-300
#define CF_MAXIT 200000 /* the beta fraction needs O(sqrt(max(a, b))) terms */

double stats_norm_cdf(double x)
{
    return 0.5 * erfc(-x * M_SQRT1_2);
}

double stats_norm_sf(double x)
{
    return 0.5 * erfc(x * M_SQRT1_2);
}

/* Acklam's approximation for the lower half, 0 < p <= 0.5. */
static double acklam_lower(double p)
{
    static const double a[] = {-3.969683028665376e+01, 2.209460984245205e+02,
                               -2.759285104469687e+02, 1.383577518672690e+02,
                               -3.066479806614716e+01, 2.506628277459239e+00};
    static const double b[] = {-5.447609879822406e+01, 1.615858368580409e+02,
                               -1.556989798598866e+02, 6.680131188771972e+01,
                               -1.328068155288572e+01};
    static const double c[] = {-7.784894002430293e-03, -3.223964580411365e-01,
                               -2.400758277161838e+00, -2.549732539343734e+00,
                               4.374664141464968e+00,  2.938163982698783e+00};
    static const double d[] = {7.784695709041462e-03, 3.224671290700398e-01, 2.445134137142996e+00,
                               3.754408661907416e+00};
    if (p < 0.02425) {
        double q = sqrt(-2 * log(p));
        return (((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) /
               ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1);
    }
    double q = p - 0.5, r = q * q;
    return (((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5]) * q /
           (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1);
}

double stats_norm_ppf(double p)
{
    if (isnan(p) || p < 0 || p > 1)
        return NAN;
    if (p == 0)
        return -INFINITY;
    if (p == 1)
        return INFINITY;
    /* Work in the lower half, where Phi(x) = erfc(-x/sqrt2)/2 keeps full
     * relative precision; 1 - p is exact for p >= 0.5 (Sterbenz). */
    int upper = p > 0.5;
    double q = upper ? 1 - p : p;
    double x = acklam_lower(q);
    for (int i = 0; i < 2; i++) {
        double e = stats_norm_cdf(x) - q;
        double u = e * sqrt(2 * M_PI) * exp(0.5 * x * x);
        x = x - u / (1 + 0.5 * x * u);
    }
    return upper ? -x : x;
}

/* ---- incomplete beta -------------------------------------------------------- */

/* lgamma(z) minus Stirling's approximation (z - 1/2) ln z - z + ln(2 pi)/2. */
static double stirling_err(double z)
{
    if (z < 15)
        return lgamma(z) - ((z - 0.5) * log(z) - z + 0.5 * log(2 * M_PI));
    double z2 = z * z;
    return (1.0 / 12 - (1.0 / 360 - (1.0 / 1260 - 1.0 / (1680 * z2)) / z2) / z2) / z;
}

/* log of x^a (1-x)^b / B(a, b). */
static double beta_logprefix(double a, double b, double x)
{
    if (a < 15 || b < 15)
        return lgamma(a + b) - lgamma(a) - lgamma(b) + a * log(x) + b * log1p(-x);
    /* With s = a + b and u = (x s - a) / a, the terms a ln(x s / a) and
     * b ln((1-x) s / b) are a log1p(u) and b log1p(-u a / b); their first
     * orders cancel, so they are summed as log1p(t) - t. */
    double s = a + b, u = (x * s - a) / a, w = -u * a / b;
    double ent = a * (log1p(u) - u) + b * (log1p(w) - w);
    return ent + 0.5 * log(a * b / (s * 2 * M_PI)) + stirling_err(s) - stirling_err(a) -
           stirling_err(b);
}

/* The continued fraction for I_x(a, b) / prefix (A&S 26.5.8). */
static double beta_cf(double a, double b, double x)
{
    double qab = a + b, qap = a + 1, qam = a - 1;
    double c = 1, d = 1 - qab * x / qap;
    if (fabs(d) < CF_TINY)
        d = CF_TINY;
    d = 1 / d;
    double h = d;
    for (int m = 1; m <= CF_MAXIT; m++) {
        double m2 = 2.0 * m;
        double aa = m * (b - m) * x / ((qam + m2) * (a + m2));
        d = 1 + aa * d;
        if (fabs(d) < CF_TINY)
            d = CF_TINY;
        c = 1 + aa / c;
        if (fabs(c) < CF_TINY)
            c = CF_TINY;
        d = 1 / d;
        h *= d * c;
        aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2));
        d = 1 + aa * d;
        if (fabs(d) < CF_TINY)
            d = CF_TINY;
        c = 1 + aa / c;
        if (fabs(c) < CF_TINY)
            c = CF_TINY;
        d = 1 / d;
        double del = d * c;
        h *= del;
        if (fabs(del - 1) < CF_EPS)
            break;
    }
    return h;
}

/* I_x(a, b) directly; only accurate (and fast) for x < (a+1) / (a+b+2). */
static double beta_lower(double a, double b, double x)
{
    if (x == 0)
        return 0;
    return exp(beta_logprefix(a, b, x)) * beta_cf(a, b, x) / a;
}

static int beta_bad(double a, double b, double x)
{
    return isnan(a) || isnan(b) || isnan(x) || a <= 0 || b <= 0 || x < 0 || x > 1;
}

double stats_betainc(double a, double b, double x)
{
    if (beta_bad(a, b, x))
        return NAN;
    if (x == 1)
        return 1;
    if (x < (a + 1) / (a + b + 2))
        return beta_lower(a, b, x);
    return 1 - beta_lower(b, a, 1 - x);
}

double stats_betainc_c(double a, double b, double x)
{
    if (beta_bad(a, b, x))
        return NAN;
    if (x == 0)
        return 1;
    if (x < (a + 1) / (a + b + 2))
        return 1 - beta_lower(a, b, x);
    return beta_lower(b, a, 1 - x);
}

/* ---- incomplete gamma -------------------------------------------------------- */

/* P(a, x) by its series, for x < a + 1. */
static double gamma_series(double a, double x)
{
    double ap = a, sum = 1 / a, del = sum;
    for (int n = 0; n < CF_MAXIT; n++) {
        ap += 1;
        del *= x / ap;
        sum += del;
        if (fabs(del) < fabs(sum) * CF_EPS)
            break;
    }
    return sum * exp(-x + a * log(x) - lgamma(a));
}

/* Q(a, x) by its continued fraction (modified Lentz), for x >= a + 1. */
static double gamma_cf(double a, double x)
{
    double b = x + 1 - a, c = 1 / CF_TINY, d = 1 / b, h = d;
    for (int i = 1; i <= CF_MAXIT; i++) {
        double an = -i * (i - a);
        b += 2;
        d = an * d + b;
        if (fabs(d) < CF_TINY)
            d = CF_TINY;
        c = b + an / c;
        if (fabs(c) < CF_TINY)
            c = CF_TINY;
        d = 1 / d;
        double del = d * c;
        h *= del;
        if (fabs(del - 1) < CF_EPS)
            break;
    }
    return exp(-x + a * log(x) - lgamma(a)) * h;
}

double stats_gammainc_p(double a, double x)
{
    if (isnan(a) || isnan(x) || a <= 0 || x < 0)
        return NAN;
    if (x == 0)
        return 0;
    if (isinf(x))
        return 1;
    return x < a + 1 ? gamma_series(a, x) : 1 - gamma_cf(a, x);
}

double stats_gammainc_q(double a, double x)
{
    if (isnan(a) || isnan(x) || a <= 0 || x < 0)
        return NAN;
    if (x == 0)
        return 1;
    if (isinf(x))
        return 0;
    return x < a + 1 ? 1 - gamma_series(a, x) : gamma_cf(a, x);
}

/* ---- derived distributions ---------------------------------------------------- */

double stats_t_sf(double t, double df)
{
    if (isnan(t) || isnan(df) || df <= 0)
        return NAN;
    if (isinf(t))
        return t > 0 ? 0 : 1;
    /* P(|T| > |t|) = I_{df / (df + t^2)}(df/2, 1/2); each tail is half. */
    double x = df / (df + t * t);
    double tail = 0.5 * stats_betainc(0.5 * df, 0.5, x);
    return t > 0 ? tail : 1 - tail;
}

double stats_chi2_sf(double x, double df)
{
    if (isnan(x) || isnan(df) || df <= 0)
        return NAN;
    if (x <= 0)
        return 1;
    return stats_gammainc_q(0.5 * df, 0.5 * x);
}

double stats_binom_cdf(uint64_t k, uint64_t n, double p)
{
    if (isnan(p) || p < 0 || p > 1)
        return NAN;
    if (k >= n)
        return 1;
    if (p == 0)
        return 1;
    if (p == 1)
        return 0;
    /* P(B <= k) = I_{1-p}(n - k, k + 1) (A&S 26.5.24). */
    return stats_betainc((double)(n - k), (double)k + 1, 1 - p);
}

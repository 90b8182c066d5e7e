/* stats_driver.c — runs src/stats on cases read from stdin, one result line
 * per case, for tests/stats/scipy_match.py.  Tokens are whitespace
 * separated; numbers print with 17 significant digits.
 *
 *   mwu METHOD N1 N2 x... y...        -> rc u1 u2 p z exact ties cles rb
 *   mwub METHOD NB cx... cy...        -> the same, from histograms
 *   ratio CONF M N a... b...          -> rc median_ratio est lo hi coverage exact
 *   ratiob CONF W NB ca... cb...      -> the same, from histograms
 *   medci CONF N v...                 -> rc est lo hi coverage
 *   wilson K N CONF                   -> rc est lo hi
 *   prop2 KA NA KB NB CONF            -> rc p_a p_b z p_z chi2 p_chi2 chi2_y p_chi2_y
 *                                        a.lo a.hi b.lo b.hi d.lo d.hi
 *   holm M p... / bh M p...           -> rc adj...
 *   pearson N x... y...               -> rc r p
 *   dist NAME ARGS...                 -> value (norm_cdf, norm_sf, norm_ppf,
 *                                        betainc, betainc_c, gammainc_p,
 *                                        gammainc_q, t_sf, chi2_sf, binom_cdf)
 * METHOD is auto, exact or asymptotic. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "stats/stats.h"

/* Every buffer is 64 bytes. */
static int tok(char buf[64])
{
    return scanf("%63s", buf) == 1;
}

static double num(void)
{
    char buf[64];
    if (!tok(buf)) {
        fprintf(stderr, "stats_driver: unexpected end of input\n");
        exit(2);
    }
    return strtod(buf, NULL);
}

static uint64_t count(void)
{
    char buf[64];
    if (!tok(buf)) {
        fprintf(stderr, "stats_driver: unexpected end of input\n");
        exit(2);
    }
    return strtoull(buf, NULL, 10);
}

static double *nums(size_t n)
{
    double *v = malloc((n ? n : 1) * sizeof *v);
    if (!v)
        exit(3);
    for (size_t i = 0; i < n; i++)
        v[i] = num();
    return v;
}

static uint64_t *counts(size_t n)
{
    uint64_t *v = malloc((n ? n : 1) * sizeof *v);
    if (!v)
        exit(3);
    for (size_t i = 0; i < n; i++)
        v[i] = count();
    return v;
}

static stats_sample *sample(size_t n)
{
    double *v = nums(n);
    stats_sample *s;
    if (stats_sample_new(v, n, &s))
        exit(4);
    free(v);
    return s;
}

static stats_mwu_method method(void)
{
    char buf[64];
    if (!tok(buf))
        exit(2);
    return !strcmp(buf, "exact")        ? STATS_MWU_EXACT
           : !strcmp(buf, "asymptotic") ? STATS_MWU_ASYMPTOTIC
                                        : STATS_MWU_AUTO;
}

static void print_mwu(int rc, const stats_mwu_result *r)
{
    printf("%d %.17g %.17g %.17g %.17g %d %d %.17g %.17g\n", rc, r->u1, r->u2, r->p, r->z, r->exact,
           r->ties, r->cles, r->rank_biserial);
}

static void print_ratio(int rc, const stats_ratio *r)
{
    printf("%d %.17g %.17g %.17g %.17g %.17g %d\n", rc, r->median_ratio, r->hl.est, r->hl.lo,
           r->hl.hi, r->hl.coverage, r->hl.exact);
}

static void dist(void)
{
    char name[64];
    if (!tok(name))
        exit(2);
    double v;
    if (!strcmp(name, "norm_cdf"))
        v = stats_norm_cdf(num());
    else if (!strcmp(name, "norm_sf"))
        v = stats_norm_sf(num());
    else if (!strcmp(name, "norm_ppf"))
        v = stats_norm_ppf(num());
    else if (!strcmp(name, "binom_cdf")) {
        uint64_t k = count(), n = count();
        v = stats_binom_cdf(k, n, num());
    } else {
        double a = num(), b = num();
        if (!strcmp(name, "gammainc_p"))
            v = stats_gammainc_p(a, b);
        else if (!strcmp(name, "gammainc_q"))
            v = stats_gammainc_q(a, b);
        else if (!strcmp(name, "t_sf"))
            v = stats_t_sf(a, b);
        else if (!strcmp(name, "chi2_sf"))
            v = stats_chi2_sf(a, b);
        else {
            double x = num();
            v = !strcmp(name, "betainc") ? stats_betainc(a, b, x) : stats_betainc_c(a, b, x);
        }
    }
    printf("%.17g\n", v);
}

int main(void)
{
    char cmd[64];
    while (tok(cmd)) {
        if (!strcmp(cmd, "mwu")) {
            stats_mwu_method m = method();
            size_t n1 = count(), n2 = count();
            stats_sample *x = sample(n1), *y = sample(n2);
            stats_mwu_result r;
            int rc = stats_mwu(x, y, m, &r);
            print_mwu(rc, &r);
            stats_sample_free(x);
            stats_sample_free(y);
        } else if (!strcmp(cmd, "mwub")) {
            stats_mwu_method m = method();
            size_t nb = count();
            uint64_t *cx = counts(nb), *cy = counts(nb);
            stats_mwu_result r;
            int rc = stats_mwu_binned(cx, cy, nb, m, &r);
            print_mwu(rc, &r);
            free(cx);
            free(cy);
        } else if (!strcmp(cmd, "ratio")) {
            double conf = num();
            size_t m = count(), n = count();
            stats_sample *a = sample(m), *b = sample(n);
            stats_ratio r;
            print_ratio(stats_ratio_ci(a, b, conf, &r), &r);
            stats_sample_free(a);
            stats_sample_free(b);
        } else if (!strcmp(cmd, "ratiob")) {
            double conf = num(), w = num();
            size_t nb = count();
            uint64_t *ca = counts(nb), *cb = counts(nb);
            stats_ratio r;
            print_ratio(stats_ratio_ci_binned(ca, cb, nb, w, conf, &r), &r);
            free(ca);
            free(cb);
        } else if (!strcmp(cmd, "medci")) {
            double conf = num();
            stats_sample *s = sample(count());
            stats_interval ci;
            int rc = stats_median_ci(s, conf, &ci);
            printf("%d %.17g %.17g %.17g %.17g\n", rc, ci.est, ci.lo, ci.hi, ci.coverage);
            stats_sample_free(s);
        } else if (!strcmp(cmd, "wilson")) {
            uint64_t k = count(), n = count();
            stats_interval ci;
            int rc = stats_wilson_ci(k, n, num(), &ci);
            printf("%d %.17g %.17g %.17g\n", rc, ci.est, ci.lo, ci.hi);
        } else if (!strcmp(cmd, "prop2")) {
            uint64_t ka = count(), na = count(), kb = count(), nb = count();
            stats_prop2 r;
            int rc = stats_prop2_test(ka, na, kb, nb, num(), &r);
            printf("%d %.17g %.17g %.17g %.17g %.17g %.17g %.17g %.17g %.17g %.17g %.17g %.17g "
                   "%.17g %.17g\n",
                   rc, r.p_a, r.p_b, r.z, r.p_z, r.chi2, r.p_chi2, r.chi2_yates, r.p_chi2_yates,
                   r.ci_a.lo, r.ci_a.hi, r.ci_b.lo, r.ci_b.hi, r.ci_diff.lo, r.ci_diff.hi);
        } else if (!strcmp(cmd, "holm") || !strcmp(cmd, "bh")) {
            size_t m = count();
            double *p = nums(m), *adj = malloc((m ? m : 1) * sizeof *adj);
            if (!adj)
                exit(3);
            int rc = cmd[0] == 'h' ? stats_holm(p, m, adj) : stats_bh(p, m, adj);
            printf("%d", rc);
            for (size_t i = 0; i < m; i++)
                printf(" %.17g", adj[i]);
            printf("\n");
            free(p);
            free(adj);
        } else if (!strcmp(cmd, "pearson")) {
            size_t n = count();
            double *x = nums(n), *y = nums(n), r, p;
            int rc = stats_pearson(x, y, n, &r, &p);
            printf("%d %.17g %.17g\n", rc, r, p);
            free(x);
            free(y);
        } else if (!strcmp(cmd, "dist")) {
            dist();
        } else {
            fprintf(stderr, "stats_driver: unknown command %s\n", cmd);
            return 2;
        }
        fflush(stdout);
    }
    return 0;
}

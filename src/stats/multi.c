/* multi.c — adjusted p-values across many endpoints.
 *
 * With p sorted ascending, p_(1) <= ... <= p_(m):
 *   Holm (1979), step-down:   adj_(i) = max_{j <= i} min(1, (m - j + 1) p_(j))
 *   Benjamini & Hochberg (1995), step-up:
 *                             adj_(i) = min_{j >= i} min(1, m / j p_(j))
 * which is what statsmodels' multipletests calls 'holm' and 'fdr_bh'.
 * Equal p-values get equal adjusted values under both, so the order in
 * which ties are sorted does not matter. */
#include <math.h>
#include <stdlib.h>

#include "evodash.h"
#include "stats/stats_int.h"

typedef struct ranked {
    double p;
    size_t i;
} ranked;

static int by_p(const void *x, const void *y)
{
    const ranked *a = x, *b = y;
    if (a->p != b->p)
        return a->p < b->p ? -1 : 1;
    return a->i < b->i ? -1 : a->i > b->i;
}

/* Sort p[0..m) with their positions; *out is freed by the caller. */
static int rank_p(const double *p, size_t m, ranked **out)
{
    *out = NULL;
    if (m > SIZE_MAX / sizeof(ranked))
        return EVD_ENOMEM;
    ranked *r = malloc((m ? m : 1) * sizeof *r);
    if (!r)
        return EVD_ENOMEM;
    for (size_t i = 0; i < m; i++) {
        if (!(p[i] >= 0 && p[i] <= 1)) {
            free(r);
            return EVD_EINVAL;
        }
        r[i].p = p[i];
        r[i].i = i;
    }
    qsort(r, m, sizeof *r, by_p);
    *out = r;
    return 0;
}

int stats_holm(const double *p, size_t m, double *adj)
{
    if ((!p || !adj) && m)
        return EVD_EINVAL;
    ranked *r;
    int rc = rank_p(p, m, &r);
    if (rc)
        return rc;
    double run = 0;
    for (size_t j = 0; j < m; j++) {
        run = fmax(run, fmin(1, (double)(m - j) * r[j].p));
        adj[r[j].i] = run; /* p[] was copied into r: adj may alias it */
    }
    free(r);
    return 0;
}

int stats_bh(const double *p, size_t m, double *adj)
{
    if ((!p || !adj) && m)
        return EVD_EINVAL;
    ranked *r;
    int rc = rank_p(p, m, &r);
    if (rc)
        return rc;
    double run = 1;
    for (size_t j = m; j-- > 0;) {
        run = fmin(run, fmin(1, (double)m / (double)(j + 1) * r[j].p));
        adj[r[j].i] = run;
    }
    free(r);
    return 0;
}

/* demand.c — see demand.h. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "evodash.h"
#include "sim/demand.h"
#include "sim/nnls.h"
#include "stats/stats.h"

/* Residuals past this many robust standard deviations (1.4826 x the
 * median absolute residual) are outliers: an interval that holds a
 * process's start-up, a garbage collection or a cron job is not the
 * requests' doing. */
#define OUTLIER_SIGMAS 4.0

struct demand_reg {
    int neps;
    double *rows; /* each row: weight, utilisation, then 1 and the throughputs */
    size_t nrows, cap;
};

demand_reg *demand_reg_new(int neps)
{
    demand_reg *r = calloc(1, sizeof *r);
    if (!r || neps < 0)
        goto fail;
    r->neps = neps;
    return r;
fail:
    demand_reg_free(r);
    return NULL;
}

void demand_reg_free(demand_reg *r)
{
    if (!r)
        return;
    free(r->rows);
    free(r);
}

int demand_reg_add(demand_reg *r, double dt, double cpu, const double *count)
{
    size_t width = (size_t)r->neps + 3;
    if (!(dt > 0))
        return 0;
    if (r->nrows == r->cap) {
        size_t cap = r->cap ? r->cap * 2 : 256;
        double *a = realloc(r->rows, cap * width * sizeof *a);
        if (!a)
            return EVD_ENOMEM;
        r->rows = a;
        r->cap = cap;
    }
    double *row = r->rows + r->nrows++ * width;
    row[0] = dt;
    row[1] = cpu / dt;
    row[2] = 1;
    for (int e = 0; e < r->neps; e++)
        row[e + 3] = count[e] / dt;
    return 0;
}

static int cmp_double(const void *x, const void *y)
{
    double a = *(const double *)x, b = *(const double *)y;
    return (a > b) - (a < b);
}

/* Fit the rows not marked in skip. */
static int fit_rows(const demand_reg *r, const char *skip, double *x, double *s, nnls_fit *f)
{
    size_t width = (size_t)r->neps + 3;
    nnls *ls = nnls_new(r->neps + 1);
    if (!ls)
        return EVD_ENOMEM;
    for (size_t i = 0; i < r->nrows; i++)
        if (!skip[i]) {
            const double *row = r->rows + i * width;
            nnls_add(ls, row + 2, row[1], row[0]);
        }
    int rc = nnls_solve(ls, x, s, f);
    nnls_free(ls);
    return rc;
}

/* The structured fit on the rows not marked in skip: columns 1 (U0), the
 * throughput of the endpoints with a base (b), then one per endpoint
 * without; the target less the bases' share.  full is the free fit on the
 * same rows, for the F-test. */
static int fit_common(const demand_reg *r, const char *skip, const double *base,
                      const nnls_fit *full, demand_common *c)
{
    size_t width = (size_t)r->neps + 3;
    int n = 2, rc = 0;
    c->endpoints = 0;
    for (int e = 0; e < r->neps; e++) {
        if (base[e] >= 0)
            c->endpoints++;
        else
            n++;
    }
    if (c->endpoints < 2)
        return 0;
    nnls *ls = nnls_new(n);
    double *a = calloc((size_t)n, sizeof *a), *x = calloc((size_t)n, sizeof *x),
           *s = calloc((size_t)n, sizeof *s);
    if (!ls || !a || !x || !s) {
        rc = EVD_ENOMEM;
        goto done;
    }
    for (size_t i = 0; i < r->nrows; i++) {
        if (skip[i])
            continue;
        const double *row = r->rows + i * width;
        double y = row[1];
        int k = 2;
        a[0] = 1;
        a[1] = 0;
        for (int e = 0; e < r->neps; e++) {
            if (base[e] >= 0) {
                a[1] += row[3 + e];
                y -= row[3 + e] * base[e];
            } else {
                a[k++] = row[3 + e];
            }
        }
        nnls_add(ls, a, y, row[0]);
    }
    nnls_fit f;
    if ((rc = nnls_solve(ls, x, s, &f)))
        goto done;
    c->u0 = x[0];
    c->b = x[1];
    c->b_se = s[1];
    /* nested models: the free one has its extra coefficients free */
    int df1 = full->active - f.active, df2 = full->rows - full->active;
    double extra = f.ssr - full->ssr;
    /* sums of squares below this share of the total are rounding (they
     * come from the normal equations) */
    double tiny = 1e-10 * full->sst;
    c->p = 1;
    if (df1 > 0 && df2 > 0 && f.ssr > tiny && extra > 0) {
        if (full->ssr > tiny) {
            double F = (extra / df1) / (full->ssr / df2);
            c->p = stats_betainc(df2 / 2.0, df1 / 2.0, df2 / (df2 + df1 * F));
        } else {
            c->p = 0; /* the free fit is exact and this one is not */
        }
    }
done:
    nnls_free(ls);
    free(a);
    free(x);
    free(s);
    return rc;
}

int demand_reg_solve(const demand_reg *r, const double *base, double *d, double *se, size_t *rows,
                     demand_fit *fit)
{
    int n = r->neps + 1, rc;
    size_t width = (size_t)r->neps + 3;
    double *x = calloc((size_t)n, sizeof *x), *s = calloc((size_t)n, sizeof *s);
    double *res = calloc(r->nrows ? r->nrows : 1, sizeof *res);
    char *skip = calloc(r->nrows ? r->nrows : 1, 1);
    nnls_fit f;
    memset(fit, 0, sizeof *fit);
    if (!x || !s || !res || !skip) {
        rc = EVD_ENOMEM;
        goto done;
    }
    if ((rc = fit_rows(r, skip, x, s, &f)))
        goto done;
    /* once: drop the outliers of the first fit and fit again */
    for (size_t i = 0; i < r->nrows; i++) {
        const double *row = r->rows + i * width;
        double pred = 0;
        for (int k = 0; k < n; k++)
            pred += row[2 + k] * x[k];
        res[i] = fabs(row[1] - pred) * sqrt(row[0]);
    }
    double *sorted = malloc(r->nrows * sizeof *sorted + 1);
    if (!sorted) {
        rc = EVD_ENOMEM;
        goto done;
    }
    memcpy(sorted, res, r->nrows * sizeof *sorted);
    qsort(sorted, r->nrows, sizeof *sorted, cmp_double);
    double sigma = r->nrows ? 1.4826 * sorted[r->nrows / 2] : 0;
    free(sorted);
    int dropped = 0;
    for (size_t i = 0; i < r->nrows && sigma > 0; i++)
        if (res[i] > OUTLIER_SIGMAS * sigma) {
            skip[i] = 1;
            dropped++;
        }
    if (dropped && (size_t)dropped * 4 < r->nrows && (rc = fit_rows(r, skip, x, s, &f)))
        goto done;
    if ((size_t)dropped * 4 >= r->nrows)
        dropped = 0; /* not outliers: the model does not fit */
    fit->rows = f.rows;
    fit->dropped = dropped;
    fit->r2 = f.r2;
    fit->rmse = f.rmse;
    fit->u0 = x[0];
    fit->u0_se = s[0];
    if (base && (rc = fit_common(r, skip, base, &f, &fit->common)))
        goto done;
    for (int e = 0; e < r->neps; e++) {
        d[e] = x[e + 1];
        se[e] = s[e + 1];
        rows[e] = 0;
        for (size_t i = 0; i < r->nrows; i++)
            rows[e] += !skip[i] && r->rows[i * width + 3 + (size_t)e] > 0;
    }
done:
    free(x);
    free(s);
    free(res);
    free(skip);
    return rc;
}

/* The calls that block: their names as C, Python and the common drivers
 * spell them (the last component of a dotted or ::-qualified name). */
static const char *const WAITS[] = {
    "sleep",
    "nanosleep",
    "clock_nanosleep",
    "usleep",
    "poll",
    "ppoll",
    "select",
    "pselect",
    "pselect6",
    "epoll_wait",
    "epoll_pwait",
    "recv",
    "recvfrom",
    "recvmsg",
    "read",
    "readv",
    "pread",
    "pread64",
    "accept",
    "accept4",
    "connect",
    "wait",
    "waitpid",
    "wait4",
    "futex",
    "sem_wait",
    "pthread_cond_wait",
    "pthread_cond_timedwait",
    "pthread_join",
    "__lll_lock_wait",
    "acquire",
    "getaddrinfo",
    "PQexec",
    "PQgetResult",
    "urlopen",
    "recv_into",
    "readinto",
    "sendall",
    "join",
};

int demand_is_wait(const char *function)
{
    const char *base = function;
    for (const char *p = function; *p; p++)
        if (*p == '.' || *p == ':' || *p == ' ')
            base = p + 1;
    /* a C frame may carry an offset ("nanosleep+0x1f"), a Python one its
     * arguments */
    size_t len = strcspn(base, "+(");
    for (size_t i = 0; i < sizeof WAITS / sizeof WAITS[0]; i++)
        if (strlen(WAITS[i]) == len && !strncasecmp(base, WAITS[i], len))
            return 1;
    return 0;
}

int64_t demand_tree_cpu(const int *indent, const char *const *function, const int64_t *duration_us,
                        size_t n)
{
    /* self time = own duration less the direct children's, found with a
     * stack of the open ancestors */
    enum { DEPTH = 256 };
    size_t stack[DEPTH];
    int depth = 0;
    int64_t cpu = 0;
    int64_t *self = malloc(n ? n * sizeof *self : 1);
    if (!self)
        return -1;
    for (size_t i = 0; i < n; i++) {
        self[i] = duration_us[i];
        while (depth > 0 && indent[stack[depth - 1]] >= indent[i])
            depth--;
        if (depth > 0)
            self[stack[depth - 1]] -= duration_us[i];
        if (depth < DEPTH)
            stack[depth++] = i;
    }
    for (size_t i = 0; i < n; i++)
        if (self[i] > 0 && !demand_is_wait(function[i]))
            cpu += self[i];
    free(self);
    return cpu;
}

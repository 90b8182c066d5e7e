/* nnls.c — see nnls.h.  Lawson and Hanson, "Solving Least Squares
 * Problems" (1974), chapter 23, written on the normal equations: the
 * problems here have few unknowns (an intercept and one demand per
 * endpoint) and many rows (one per CPU sample), so the Gram matrix is the
 * natural summary, and each active-set step solves its passive block by
 * Cholesky. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "evodash.h"
#include "sim/nnls.h"

struct nnls {
    int n, rows;
    double *g;  /* n x n, A'WA */
    double *c;  /* n, A'Wb */
    double bb;  /* b'Wb */
    double sw;  /* sum of w */
    double swb; /* sum of w b */
};

nnls *nnls_new(int n)
{
    nnls *p = calloc(1, sizeof *p);
    if (!p || n <= 0)
        goto fail;
    p->n = n;
    p->g = calloc((size_t)n * (size_t)n, sizeof *p->g);
    p->c = calloc((size_t)n, sizeof *p->c);
    if (!p->g || !p->c)
        goto fail;
    return p;
fail:
    nnls_free(p);
    return NULL;
}

void nnls_free(nnls *p)
{
    if (!p)
        return;
    free(p->g);
    free(p->c);
    free(p);
}

void nnls_add(nnls *p, const double *a, double b, double w)
{
    int n = p->n;
    for (int i = 0; i < n; i++) {
        if (a[i] == 0)
            continue;
        double wa = w * a[i];
        for (int j = 0; j < n; j++)
            p->g[i * n + j] += wa * a[j];
        p->c[i] += wa * b;
    }
    p->bb += w * b * b;
    p->sw += w;
    p->swb += w * b;
    p->rows++;
}

/* Factor the k x k matrix m (row stride k, overwritten by L) as L L'.
 * Returns -1 when it is not positive definite. */
static int cholesky(double *m, int k)
{
    for (int j = 0; j < k; j++) {
        double d = m[j * k + j];
        for (int t = 0; t < j; t++)
            d -= m[j * k + t] * m[j * k + t];
        if (!(d > 1e-13))
            return -1;
        d = sqrt(d);
        m[j * k + j] = d;
        for (int i = j + 1; i < k; i++) {
            double s = m[i * k + j];
            for (int t = 0; t < j; t++)
                s -= m[i * k + t] * m[j * k + t];
            m[i * k + j] = s / d;
        }
    }
    return 0;
}

/* Solve L L' x = b in place. */
static void chol_solve(const double *l, int k, double *b)
{
    for (int i = 0; i < k; i++) {
        double s = b[i];
        for (int t = 0; t < i; t++)
            s -= l[i * k + t] * b[t];
        b[i] = s / l[i * k + i];
    }
    for (int i = k - 1; i >= 0; i--) {
        double s = b[i];
        for (int t = i + 1; t < k; t++)
            s -= l[t * k + i] * b[t];
        b[i] = s / l[i * k + i];
    }
}

/* Work space of one solve. */
typedef struct ws {
    int n;
    double *gs, *cs, *d; /* scaled Gram matrix and right side; the scales */
    double *m, *rhs;     /* the passive block and its right side */
    int *idx;            /* the passive columns */
} ws;

/* z = the least-squares solution on the passive set P (z = 0 elsewhere).
 * A singular block (collinear columns) gets a tiny ridge. */
static int solve_passive(ws *w, const int *passive, double *z)
{
    int n = w->n, k = 0;
    for (int j = 0; j < n; j++)
        if (passive[j])
            w->idx[k++] = j;
    memset(z, 0, (size_t)n * sizeof *z);
    if (!k)
        return 0;
    for (double ridge = 0; ridge < 1; ridge = ridge ? ridge * 100 : 1e-10) {
        for (int a = 0; a < k; a++) {
            for (int b = 0; b < k; b++)
                w->m[a * k + b] = w->gs[w->idx[a] * n + w->idx[b]];
            w->m[a * k + a] += ridge;
            w->rhs[a] = w->cs[w->idx[a]];
        }
        if (!cholesky(w->m, k)) {
            chol_solve(w->m, k, w->rhs);
            for (int a = 0; a < k; a++)
                z[w->idx[a]] = w->rhs[a];
            return 0;
        }
    }
    return -1;
}

/* (G_S^-1)_jj for the columns S marked in set (j among them), from the
 * scaled Gram matrix; -1 when G_S is singular. */
static double inv_diag(ws *w, const int *set, int j)
{
    int n = w->n, k = 0, at = -1;
    for (int c = 0; c < n; c++)
        if (set[c]) {
            if (c == j)
                at = k;
            w->idx[k++] = c;
        }
    for (int a = 0; a < k; a++)
        for (int b = 0; b < k; b++)
            w->m[a * k + b] = w->gs[w->idx[a] * n + w->idx[b]];
    if (at < 0 || cholesky(w->m, k))
        return -1;
    memset(w->rhs, 0, (size_t)k * sizeof *w->rhs);
    w->rhs[at] = 1;
    chol_solve(w->m, k, w->rhs);
    return w->rhs[at];
}

int nnls_solve(const nnls *p, double *x, double *se, nnls_fit *fit)
{
    int n = p->n, rc = 0;
    memset(fit, 0, sizeof *fit);
    memset(x, 0, (size_t)n * sizeof *x);
    for (int j = 0; j < n; j++)
        se[j] = INFINITY;
    fit->rows = p->rows;
    if (p->rows == 0)
        return EVD_EINVAL;
    ws w = {.n = n};
    int *passive = calloc((size_t)n, sizeof *passive);
    double *y = calloc((size_t)n, sizeof *y), *z = calloc((size_t)n, sizeof *z);
    double *grad = calloc((size_t)n, sizeof *grad);
    w.gs = malloc((size_t)n * (size_t)n * sizeof *w.gs);
    w.cs = malloc((size_t)n * sizeof *w.cs);
    w.d = malloc((size_t)n * sizeof *w.d);
    w.m = malloc((size_t)n * (size_t)n * sizeof *w.m);
    w.rhs = malloc((size_t)n * sizeof *w.rhs);
    w.idx = malloc((size_t)n * sizeof *w.idx);
    if (!passive || !y || !z || !grad || !w.gs || !w.cs || !w.d || !w.m || !w.rhs || !w.idx) {
        rc = EVD_ENOMEM;
        goto done;
    }
    /* unit-norm columns: the demands (seconds) and the intercept (a
     * fraction of a core) differ by orders of magnitude */
    double cmax = 0;
    for (int j = 0; j < n; j++)
        w.d[j] = sqrt(p->g[j * n + j]);
    for (int i = 0; i < n; i++) {
        for (int j = 0; j < n; j++)
            w.gs[i * n + j] = w.d[i] > 0 && w.d[j] > 0 ? p->g[i * n + j] / (w.d[i] * w.d[j]) : 0;
        w.cs[i] = w.d[i] > 0 ? p->c[i] / w.d[i] : 0;
        if (fabs(w.cs[i]) > cmax)
            cmax = fabs(w.cs[i]);
    }
    double tol = 1e-12 * (cmax > 0 ? cmax : 1);
    for (int outer = 0; outer < 3 * n + 3; outer++) {
        int best = -1;
        for (int j = 0; j < n; j++) {
            double g = w.cs[j];
            for (int k = 0; k < n; k++)
                g -= w.gs[j * n + k] * y[k];
            grad[j] = g;
            if (!passive[j] && w.d[j] > 0 && g > tol && (best < 0 || g > grad[best]))
                best = j;
        }
        if (best < 0)
            break;
        passive[best] = 1;
        for (int inner = 0; inner < 3 * n + 3; inner++) {
            if (solve_passive(&w, passive, z))
                break;
            int feasible = 1;
            for (int j = 0; j < n; j++)
                if (passive[j] && z[j] <= 0)
                    feasible = 0;
            if (feasible) {
                memcpy(y, z, (size_t)n * sizeof *y);
                break;
            }
            /* step from y towards z until the first coefficient reaches 0 */
            double alpha = 1;
            for (int j = 0; j < n; j++)
                if (passive[j] && z[j] <= 0 && y[j] - z[j] > 0 && y[j] / (y[j] - z[j]) < alpha)
                    alpha = y[j] / (y[j] - z[j]);
            for (int j = 0; j < n; j++) {
                y[j] += alpha * (z[j] - y[j]);
                if (passive[j] && y[j] <= 1e-15) {
                    passive[j] = 0;
                    y[j] = 0;
                }
            }
        }
    }
    for (int j = 0; j < n; j++) {
        x[j] = w.d[j] > 0 && y[j] > 0 ? y[j] / w.d[j] : 0;
        fit->active += x[j] > 0;
    }
    /* residuals from the normal equations */
    double ssr = p->bb;
    for (int i = 0; i < n; i++) {
        ssr -= 2 * x[i] * p->c[i];
        for (int j = 0; j < n; j++)
            ssr += x[i] * p->g[i * n + j] * x[j];
    }
    if (ssr < 0)
        ssr = 0;
    fit->ssr = ssr;
    double sst = p->bb - p->swb * p->swb / p->sw;
    fit->sst = sst;
    fit->r2 = sst > 1e-300 ? 1 - ssr / sst : (ssr <= 1e-300 ? 1 : 0);
    fit->rmse = sqrt(ssr / p->sw);
    for (int j = 0; j < n; j++)
        se[j] = INFINITY;
    if (p->rows > fit->active + 1) {
        fit->sigma2 = ssr / (double)(p->rows - fit->active);
        for (int j = 0; j < n; j++)
            passive[j] = x[j] > 0;
        /* a coefficient at zero: the error it would have beside the
         * positive ones, were it free (how well "no demand" is known) */
        for (int j = 0; j < n; j++) {
            if (!(w.d[j] > 0))
                continue;
            int was = passive[j];
            passive[j] = 1;
            double v = inv_diag(&w, passive, j);
            passive[j] = was;
            if (v >= 0)
                se[j] = sqrt(fit->sigma2 * v) / w.d[j];
        }
    }
done:
    free(passive);
    free(y);
    free(z);
    free(grad);
    free(w.gs);
    free(w.cs);
    free(w.d);
    free(w.m);
    free(w.rhs);
    free(w.idx);
    return rc;
}

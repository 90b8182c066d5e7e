/* nnls.h — weighted least squares with non-negative coefficients, for the
 * capacity model's utilisation law (demand.c).
 *
 * Rows are added one at a time into the normal equations (A'WA, A'Wb, b'Wb),
 * so memory is O(n^2) for n unknowns however many rows there are; the
 * solver is Lawson and Hanson's active-set method on that Gram matrix,
 * with columns scaled to unit norm first to keep it well conditioned. */
#ifndef EVD_SIM_NNLS_H
#define EVD_SIM_NNLS_H

#include <stddef.h>

typedef struct nnls nnls;

/* A problem of n unknowns.  NULL when out of memory.  Free with
 * nnls_free(). */
nnls *nnls_new(int n);
void nnls_free(nnls *p);

/* Add the row a[0..n) . x = b with weight w > 0. */
void nnls_add(nnls *p, const double *a, double b, double w);

typedef struct nnls_fit {
    int rows;      /* rows added */
    int active;    /* coefficients above zero */
    double r2;     /* 1 - SSR/SST (weighted, about the weighted mean of b) */
    double rmse;   /* sqrt(SSR / (sum of weights)): the typical residual of one row */
    double sigma2; /* SSR / (rows - active): the residual variance of a unit weight */
    double ssr;    /* the weighted sum of squared residuals ... */
    double sst;    /* ... and of squares about the weighted mean of b */
} nnls_fit;

/* Solve: x[0..n) >= 0 minimising the weighted squared residuals, with the
 * standard error of each coefficient in se[0..n): from sigma2 and the
 * inverse Gram matrix of the active columns; for a coefficient at zero,
 * the error it would have beside them were it free (how well "no demand"
 * is known).  INFINITY where it cannot be told (a column of zeros,
 * collinear columns, too few rows).  Returns 0, or EVD_EINVAL with no
 * rows, or EVD_ENOMEM. */
int nnls_solve(const nnls *p, double *x, double *se, nnls_fit *fit);

#endif

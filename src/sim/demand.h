/* demand.h — an endpoint's CPU demand per request, estimated two ways.
 *
 * The utilisation law: over an interval of dt seconds an instance that
 * served n_e requests of each endpoint e used
 *     cpu = dt * U0 + sum_e n_e * D_e
 * seconds of CPU, where D_e is e's demand and U0 the background (the
 * agent's threads, timers, a garbage collector).  Dividing by dt gives one
 * row of a linear regression of utilisation on per-endpoint throughput;
 * rows are weighted by dt, and the coefficients are kept >= 0 (NNLS), which
 * is what they mean.  Intervals with different mixes tell the endpoints
 * apart, and different loads tell them from the background.  The fit is
 * made twice: intervals whose residual is an outlier in the first (a
 * process's start-up, a garbage collection, a cron job) are left out of
 * the second.
 *
 * The call trees: a level-3 request's sampled tree gives the time spent in
 * each function; the time of frames that wait (sleep, poll, recv, locks:
 * demand_is_wait) is off the CPU, the rest is counted as CPU.  Python
 * stacks hide the C call that waits, so there it is an upper bound.
 *
 * Beside the free fit, a structured one: an endpoint's demand is its CPU
 * time alone (the recorded span, which holds its own work) plus one
 * overhead b common to the endpoints (what a server and a framework do
 * for every request outside the span: accept, parse, respond), so
 *     cpu = dt * U0 + sum_e n_e * base_e + b * sum_e n_e.
 * It has two unknowns however many endpoints there are, so it is well
 * conditioned where the free fit is not (an endpoint in few intervals).
 * An F-test of the free fit against it says whether the structure holds
 * (for endpoints that wait off the CPU it does not: their time alone is
 * more than their CPU). */
#ifndef EVD_SIM_DEMAND_H
#define EVD_SIM_DEMAND_H

#include <stddef.h>
#include <stdint.h>

typedef struct demand_reg demand_reg;

/* A regression over neps endpoints.  NULL when out of memory. */
demand_reg *demand_reg_new(int neps);
void demand_reg_free(demand_reg *r);

/* One interval: dt seconds, cpu seconds used, count[0..neps) requests.
 * Returns 0 or EVD_ENOMEM. */
int demand_reg_add(demand_reg *r, double dt, double cpu, const double *count);

/* The structured fit (see above) on the rows the free fit kept. */
typedef struct demand_common {
    int endpoints;  /* with a base; below 2 nothing was fitted */
    double b, b_se; /* the common overhead, s per request, and its standard error */
    double u0;
    /* F-test of the free fit against this one: the chance of the free fit
     * being at least this much better if the structure held.  Small: it
     * does not hold.  1 when the free fit has no more coefficients. */
    double p;
} demand_common;

typedef struct demand_fit {
    int rows;    /* used */
    int dropped; /* outliers left out: residuals past 4 robust standard deviations */
    double r2;   /* of the utilisation, 0..1 */
    double rmse; /* typical residual of the utilisation, fraction of a core */
    double u0, u0_se;
    demand_common common;
} demand_fit;

/* Solve into d[0..neps) (s per request), se[0..neps) (their standard
 * errors, INFINITY where they cannot be told; see nnls_solve) and
 * rows[0..neps) (the intervals in which each endpoint had requests).
 * With base (NULL: none), also the structured fit into fit->common, with
 * base[e] the CPU time alone of endpoint e (s), or < 0 for an endpoint
 * that keeps a coefficient of its own.  Returns 0, EVD_EINVAL (no rows)
 * or EVD_ENOMEM. */
int demand_reg_solve(const demand_reg *r, const double *base, double *d, double *se, size_t *rows,
                     demand_fit *fit);

/* Nonzero when a frame named function waits off the CPU. */
int demand_is_wait(const char *function);

/* The CPU time (us) of one request's call tree, n nodes in pre-order with
 * their indents, function names and durations (children included). */
int64_t demand_tree_cpu(const int *indent, const char *const *function, const int64_t *duration_us,
                        size_t n);

#endif

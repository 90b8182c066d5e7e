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
 * stacks hide the C call that waits, so there it is an upper bound. */
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

typedef struct demand_fit {
    int rows;    /* used */
    int dropped; /* outliers left out: residuals past 4 robust standard deviations */
    double r2;   /* of the utilisation, 0..1 */
    double rmse; /* typical residual of the utilisation, fraction of a core */
    double u0, u0_se;
} demand_fit;

/* Solve into d[0..neps) (s per request), se[0..neps) (their standard
 * errors, INFINITY where they cannot be told; see nnls_solve) and
 * rows[0..neps) (the
 * intervals in which each endpoint had requests).  Returns 0, EVD_EINVAL
 * (no rows) or EVD_ENOMEM. */
int demand_reg_solve(const demand_reg *r, double *d, double *se, size_t *rows, demand_fit *fit);

/* Nonzero when a frame named function waits off the CPU. */
int demand_is_wait(const char *function);

/* The CPU time (us) of one request's call tree, n nodes in pre-order with
 * their indents, function names and durations (children included). */
int64_t demand_tree_cpu(const int *indent, const char *const *function, const int64_t *duration_us,
                        size_t n);

#endif

/* capacity.c — search for the highest arrival rate that meets a p95
 * response-time SLO (evodash simulate --find-capacity --slo-p95 MS).
 *
 * Every trial runs the same model with every arrival rate multiplied by a
 * factor k and the same seed, so that trials differ only by k (common random
 * numbers), which keeps the p95 close to monotone in k and the bisection
 * meaningful. */
#include <math.h>
#include <stdio.h>

#include "evodash.h"
#include "sim/arrivals.h"
#include "sim/sim.h"

/* Which interactions the SLO is judged on (NULL: all). */
typedef struct judge {
    int (*judged)(void *u, const char *interaction);
    void *u;
} judge;

/* Run at factor k; *worst is the largest p95 over the judged interactions
 * (s). */
static int trial(const sim_model *m, const sim_opts *base, const judge *j, double k, double *worst,
                 double *rate, char *err, size_t errlen)
{
    sim_opts o = *base;
    o.rate_scale = k;
    o.series = 0;
    o.progress = 0;
    double span = sim_model_arrivals_end(m);
    if (base->arrival_budget > 0 && o.until <= 0) {
        /* a trial past the budget simulates the first part of the
         * workload only (the arrival streams spread over all of it) */
        double want = 0;
        for (int i = 0; i < sim_model_narr(m); i++)
            want += sim_stream_expected(sim_model_arr(m, i), k);
        if (want > base->arrival_budget && span > 0)
            o.until = span * base->arrival_budget / want;
    }
    sim_run *r = NULL;
    int rc = sim_run_new(m, &o, &r);
    if (!rc)
        rc = sim_run_exec(r);
    if (rc) {
        snprintf(err, errlen, "%s", r ? sim_run_errmsg(r) : "out of memory");
        sim_run_free(r);
        return rc;
    }
    *worst = 0;
    for (int i = 0; i < sim_run_ninter(r); i++) {
        sim_istat st;
        sim_run_istat(r, i, &st);
        if (st.completed && st.p95 > *worst && (!j->judged || j->judged(j->u, st.name)))
            *worst = st.p95;
    }
    sim_totals t;
    sim_run_totals(r, &t);
    double covered = o.until > 0 && o.until < span ? o.until : span;
    *rate = covered > 0 ? (double)t.arrivals / covered : 0;
    sim_run_free(r);
    return 0;
}

int sim_find_capacity(const sim_model *m, const sim_opts *base, double slo, sim_capacity *out,
                      FILE *log, char *err, size_t errlen)
{
    return sim_find_capacity_for(m, base, slo, NULL, NULL, out, log, err, errlen);
}

int sim_find_capacity_for(const sim_model *m, const sim_opts *base, double slo,
                          int (*judged)(void *u, const char *interaction), void *u,
                          sim_capacity *out, FILE *log, char *err, size_t errlen)
{
    judge j = {judged, u};
    double lo = 0, hi = 1, p95, rate, lo_p95 = 0, lo_rate = 0;
    int rc;
    *out = (sim_capacity){0};
    /* Bracket: grow or shrink k by factors of 2 until the SLO flips. */
    if ((rc = trial(m, base, &j, 1, &p95, &rate, err, errlen)))
        return rc;
    if (log)
        fprintf(log, "capacity: x%-10.6g %12.3f arrivals/s  p95 %.3f ms  %s\n", 1.0, rate,
                p95 * 1e3, p95 <= slo ? "meets" : "misses");
    if (p95 <= slo) {
        lo = 1, lo_p95 = p95, lo_rate = rate;
        for (hi = 2; hi <= 1 << 16; hi *= 2) {
            if ((rc = trial(m, base, &j, hi, &p95, &rate, err, errlen)))
                return rc;
            if (log)
                fprintf(log, "capacity: x%-10.6g %12.3f arrivals/s  p95 %.3f ms  %s\n", hi, rate,
                        p95 * 1e3, p95 <= slo ? "meets" : "misses");
            if (p95 > slo)
                break;
            lo = hi, lo_p95 = p95, lo_rate = rate;
        }
        if (hi > 1 << 16) {
            snprintf(err, errlen, "the SLO is still met at 65536 times the load");
            return EVD_EINVAL;
        }
    } else {
        for (lo = 0.5; lo >= 1.0 / (1 << 16); lo /= 2) {
            if ((rc = trial(m, base, &j, lo, &p95, &rate, err, errlen)))
                return rc;
            if (log)
                fprintf(log, "capacity: x%-10.6g %12.3f arrivals/s  p95 %.3f ms  %s\n", lo, rate,
                        p95 * 1e3, p95 <= slo ? "meets" : "misses");
            if (p95 <= slo) {
                lo_p95 = p95, lo_rate = rate;
                break;
            }
            hi = lo;
        }
        if (lo < 1.0 / (1 << 16)) {
            snprintf(err, errlen, "the SLO is missed even at 1/65536 of the load");
            return EVD_EINVAL;
        }
    }
    /* Bisect to 1% of the factor. */
    while ((hi - lo) / lo > 0.01) {
        double mid = (lo + hi) / 2;
        if ((rc = trial(m, base, &j, mid, &p95, &rate, err, errlen)))
            return rc;
        if (log)
            fprintf(log, "capacity: x%-10.6g %12.3f arrivals/s  p95 %.3f ms  %s\n", mid, rate,
                    p95 * 1e3, p95 <= slo ? "meets" : "misses");
        if (p95 <= slo)
            lo = mid, lo_p95 = p95, lo_rate = rate;
        else
            hi = mid;
    }
    out->factor = lo;
    out->rate = lo_rate;
    out->p95 = lo_p95;
    return 0;
}

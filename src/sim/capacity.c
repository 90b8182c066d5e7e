/* capacity.c — search for the highest arrival rate that meets a p95
 * response-time SLO (evodash simulate --find-capacity --slo-p95 MS).
 *
 * Every trial runs the same model with every arrival rate multiplied by a
 * factor k and the same seed, so that trials differ only by k (common random
 * numbers), which keeps the p95 close to monotone in k and the bisection
 * meaningful.  The search itself takes any trial (sim_search_capacity):
 * the capacity model's what-if (whatif.c) runs each on the stretch of the
 * recording its budget allows. */
#include <math.h>
#include <stdio.h>

#include "evodash.h"
#include "sim/sim.h"

/* A trial on one model: which interactions the SLO is judged on (judged
 * NULL: all). */

/* An interaction's p95 counts once the trial completed this many of its
 * requests: the 95th percentile of fewer is mostly the one slowest sample,
 * and a rarely called endpoint would then decide the capacity by chance. */
#define P95_MIN_SAMPLES 50

typedef struct model_trial {
    const sim_model *m;
    const sim_opts *base;
    int (*judged)(void *u, const char *interaction);
    void *u;
} model_trial;

int sim_trial_run(const sim_model *m, const sim_opts *base, double k,
                  int (*judged)(void *u, const char *interaction), void *u, double *worst,
                  double *rate, char *err, size_t errlen)
{
    sim_opts o = *base;
    o.rate_scale = k;
    o.series = 0;
    o.progress = 0;
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
        if (st.completed >= P95_MIN_SAMPLES && st.p95 > *worst && (!judged || judged(u, st.name)))
            *worst = st.p95;
    }
    sim_totals t;
    sim_run_totals(r, &t);
    double span = sim_model_arrivals_end(m);
    *rate = span > 0 ? (double)t.arrivals / span : 0;
    sim_run_free(r);
    return 0;
}

static int on_model(void *u, double k, double *worst, double *rate, char *err, size_t errlen)
{
    const model_trial *t = u;
    return sim_trial_run(t->m, t->base, k, t->judged, t->u, worst, rate, err, errlen);
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
    model_trial t = {m, base, judged, u};
    return sim_search_capacity(on_model, &t, slo, out, log, err, errlen);
}

static void log_trial(FILE *log, double k, double rate, double p95, double slo)
{
    if (log)
        fprintf(log, "capacity: x%-10.6g %12.3f arrivals/s  p95 %.3f ms  %s\n", k, rate, p95 * 1e3,
                p95 <= slo ? "meets" : "misses");
}

int sim_search_capacity(sim_trial_fn trial, void *u, double slo, sim_capacity *out, FILE *log,
                        char *err, size_t errlen)
{
    double lo = 0, hi = 1, p95, rate, lo_p95 = 0, lo_rate = 0;
    int rc;
    *out = (sim_capacity){0};
    /* Bracket: grow or shrink k by factors of 2 until the SLO flips. */
    if ((rc = trial(u, 1, &p95, &rate, err, errlen)))
        return rc;
    log_trial(log, 1, rate, p95, slo);
    if (p95 <= slo) {
        lo = 1, lo_p95 = p95, lo_rate = rate;
        for (hi = 2; hi <= 1 << 16; hi *= 2) {
            if ((rc = trial(u, hi, &p95, &rate, err, errlen)))
                return rc;
            log_trial(log, hi, rate, p95, slo);
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
            if ((rc = trial(u, lo, &p95, &rate, err, errlen)))
                return rc;
            log_trial(log, lo, rate, p95, slo);
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
        if ((rc = trial(u, mid, &p95, &rate, err, errlen)))
            return rc;
        log_trial(log, mid, rate, p95, slo);
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

/* api_capacity.c — the Capacity page's API: the capacity model of one
 * service built from what the store holds (src/sim/livemodel.c), a
 * what-if run of the recorded traffic at a load factor or with other
 * worker and replica counts, with the simulator's time series, and, given
 * an SLO, the largest load factor that keeps every endpoint's p95 under
 * it and what saturates first.
 *
 *   GET /api/capacity?service=ID|NAME&hours=H&factor=K&workers=N&replicas=N
 *                    &slo_ms=MS[&from=..&to=..]
 *
 * The window is the H hours (default 1) before the service's newest
 * request, or from/to when given.  workers=0 is no limit; absent, workers
 * and replicas are those seen.  A run simulates every recorded request of
 * the window factor times over, so the work is bounded: at most
 * CAP_REQUESTS requests in the window and CAP_ARRIVALS simulated arrivals
 * (up to 8 runs are pooled while their arrivals stay within CAP_POOL),
 * and one run at a time per process (a second request meanwhile gets
 * 503): a dashboard served inside a service must not take its CPU away
 * for long. */
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "dash/colour.h"
#include "dash/dash_int.h"
#include "sim/livemodel.h"
#include "sim/whatif.h"
#include "sim/whatif_json.h"

#define CAP_REQUESTS 1000000
#define CAP_ARRIVALS 5e6
#define CAP_TRIAL    4e5 /* arrivals per trial of the capacity search */
#define CAP_POOL     1e6 /* arrivals of the pooled what-if runs in all (about a second) */

static _Atomic int running;

/* A number parameter in [lo, hi], def when absent.  Replies 400 and
 * returns -1 on bad input. */
static int param_num(dctx *c, const char *key, double lo, double hi, double def, double *out)
{
    const char *s = dash_param(c, key);
    *out = def;
    if (!s || !*s)
        return 0;
    char *end;
    double x = strtod(s, &end);
    if (*end || !(x >= lo && x <= hi))
        return dash_error(c, 400, "%s: expected a number from %g to %g, got '%.40s'", key, lo, hi,
                          s),
               -1;
    *out = x;
    return 0;
}

static int run(dctx *c)
{
    drange r;
    double hours, factor, slo, workers, replicas;
    if (dash_range(c, 3600, &r) || param_num(c, "hours", 0.01, 24 * 31, 1, &hours) ||
        param_num(c, "factor", 0.01, 1000, 1, &factor) || param_num(c, "slo_ms", 0, 1e7, 0, &slo) ||
        param_num(c, "workers", 0, 100000, -1, &workers) ||
        param_num(c, "replicas", 0, 10000, 0, &replicas))
        return 0;
    live_opts lo = {.service_id = c->filter.service_id,
                    .hours = hours,
                    .replicas = (int)replicas,
                    .workers = workers < 0    ? 0
                               : workers == 0 ? -1
                                              : (int)workers,
                    .max_requests = CAP_REQUESTS};
    if (!r.open_from || !r.open_to) {
        lo.from_us = r.from_us;
        lo.to_us = r.to_us;
    }
    live_model *lm = NULL;
    json_t *doc = NULL;
    whatif_result res = {0};
    char err[600];
    int rc = live_model_build(c->st, &lo, &lm, err, sizeof err);
    if (rc) {
        if (rc == EVD_ENOENT)
            return dash_error(c, 404, "%s", err);
        if (rc == EVD_EINVAL)
            return dash_error(c, 400, "%s", err);
        return dash_error(c, rc == EVD_EBUSY ? 503 : 500, "%s", err);
    }
    whatif_opts o = {.factor = factor,
                     .replicas = lo.replicas,
                     .workers = lo.workers,
                     .series = 1,
                     .max_arrivals = CAP_ARRIVALS,
                     .pool_arrivals = CAP_POOL};
    if ((rc = whatif_run(lm, &o, &res, err, sizeof err))) {
        dash_error(c, rc == EVD_EINVAL ? 400 : 500, "%s", err);
        goto done;
    }
    doc =
        json_pack("{s:o, s:o}", "model", live_model_json(lm), "run", whatif_result_json(lm, &res));
    /* the page draws response times, utilisation and the queue; the
     * cumulative counts per interaction would be most of the reply */
    json_t *series = doc ? json_object_get(json_object_get(doc, "run"), "series") : NULL;
    if (series) {
        json_object_del(series, "dones");
        json_object_del(series, "summary");
    }
    /* each endpoint in the colour it has in every other view */
    json_t *eps = doc ? json_object_get(json_object_get(doc, "model"), "endpoints") : NULL;
    for (size_t i = 0; i < json_array_size(eps); i++) {
        json_t *e = json_array_get(eps, i);
        char colour[8];
        colour_of(json_string_value(json_object_get(e, "name")), colour);
        json_object_set_new(e, "colour", json_string(colour));
    }
    if (doc && slo > 0) {
        whatif_capacity cap;
        whatif_opts co = o;
        co.trial_budget = CAP_TRIAL;
        co.replications = 1; /* a search is tens of trials: one run each */
        if ((rc = whatif_find_capacity(lm, &co, slo / 1e3, &cap, NULL, err, sizeof err))) {
            dash_error(c, 500, "capacity: %s", err);
            goto done;
        }
        json_object_set_new(doc, "capacity", whatif_capacity_json(lm, &cap, slo / 1e3));
    }
    if (!doc) {
        dash_error(c, 500, "out of memory");
        goto done;
    }
    dash_json(c, 200, doc);
    doc = NULL;
done:
    json_decref(doc);
    whatif_result_free(&res);
    live_model_free(lm);
    return 0;
}

int api_capacity(dctx *c)
{
    if (atomic_exchange(&running, 1))
        return dash_error(c, 503, "a capacity run is under way: try again in a moment");
    int rc = run(c);
    atomic_store(&running, 0);
    return rc;
}

/* whatif_json.c — see whatif_json.h. */
#include <math.h>

#include "sim/whatif_json.h"

/* A number, or null where it is not one (an endpoint that never ran). */
static json_t *num(double x)
{
    return isfinite(x) ? json_real(x) : json_null();
}

json_t *live_model_json(const live_model *lm)
{
    json_t *eps = json_array();
    for (int i = 0; eps && i < lm->nep; i++) {
        const live_ep *e = &lm->ep[i];
        json_t *measured =
            json_pack("{s:o, s:o, s:o, s:o}", "mean_ms", num(e->mean * 1e3), "p50_ms",
                      num(e->p50 * 1e3), "p95_ms", num(e->p95 * 1e3), "p99_ms", num(e->p99 * 1e3));
        json_t *reg = json_pack("{s:o, s:o, s:I}", "demand_ms", num(e->reg_d * 1e3), "se_ms",
                                num(e->reg_se * 1e3), "samples", (json_int_t)e->reg_rows);
        json_t *tree = json_pack("{s:o, s:I}", "demand_ms", num(e->tree_d * 1e3), "requests",
                                 (json_int_t)e->ntree);
        json_t *common =
            json_pack("{s:o}", "demand_ms", e->common_d > 0 ? num(e->common_d * 1e3) : json_null());
        json_array_append_new(
            eps, json_pack("{s:s, s:I, s:I, s:o, s:o, s:o, s:I, s:o, s:o, s:s, s:o, s:o, s:o, s:o}",
                           "name", e->name, "id", (json_int_t)e->id, "requests", (json_int_t)e->n,
                           "rate", num(e->rate), "measured", measured, "solo_ms",
                           num(e->solo_mean * 1e3), "solo_requests", (json_int_t)e->nsolo,
                           "demand_ms", num(e->demand * 1e3), "wait_ms", num(e->wait * 1e3),
                           "source", live_source_name(e->source), "regression", reg, "calltree",
                           tree, "common", common, "cv", num(e->cv)));
    }
    json_t *common = lm->common_n >= 2
                         ? json_pack("{s:i, s:o, s:o, s:o}", "endpoints", lm->common_n,
                                     "overhead_ms", num(lm->common_b * 1e3), "se_ms",
                                     num(lm->common_b_se * 1e3), "p", num(lm->common_p))
                         : json_null();
    json_t *steal =
        lm->steal_samples
            ? json_pack("{s:I, s:o, s:o, s:I, s:b, s:b}", "samples", (json_int_t)lm->steal_samples,
                        "mean", num(lm->steal_mean), "max", num(lm->steal_max), "left_out",
                        (json_int_t)lm->samples_stolen, "kept", lm->steal_kept, "warn",
                        lm->steal_mean > LIVE_STEAL_WARN)
            : json_null();
    json_t *fit = json_pack(
        "{s:I, s:I, s:o, s:o, s:o, s:o, s:o, s:o, s:o}", "samples", (json_int_t)lm->samples,
        "outliers", (json_int_t)lm->samples_dropped, "r2", num(lm->r2), "rmse", num(lm->rmse),
        "background", num(lm->u0), "background_se", num(lm->u0_se), "monitor",
        lm->agent_samples ? num(lm->agent) : json_null(), "common", common, "steal", steal);
    json_t *obs = json_pack("{s:i, s:i, s:i, s:i, s:i, s:o, s:o}", "hosts", lm->hosts, "instances",
                            lm->instances, "cores", lm->cores, "workers", lm->workers_seen,
                            "peak_in_flight", lm->peak_conc, "mean_in_flight", num(lm->mean_conc),
                            "utilisation", lm->util >= 0 ? num(lm->util) : json_null());
    json_t *model = json_pack("{s:i, s:i, s:o, s:o, s:o}", "replicas", lm->replicas, "workers",
                              lm->workers, "max_cpu", num(lm->max_cpu), "steal", num(lm->steal),
                              "quantum_ms", num(lm->quantum * 1e3));
    return json_pack("{s:s, s:I, s:I, s:o, s:I, s:o, s:o, s:o, s:o}", "service", lm->service,
                     "from_us", (json_int_t)lm->from_us, "to_us", (json_int_t)lm->to_us, "span_s",
                     num(lm->span), "requests", (json_int_t)lm->requests, "fit", fit, "observed",
                     obs, "model", model, "endpoints", eps);
}

json_t *whatif_result_json(const live_model *lm, const whatif_result *r)
{
    json_t *eps = json_array();
    for (int i = 0; eps && i < r->nep; i++) {
        const whatif_ep *e = &r->ep[i];
        json_array_append_new(eps, json_pack("{s:s, s:I, s:o, s:o, s:o, s:o, s:o, s:o}", "name",
                                             lm->ep[i].name, "completed", (json_int_t)e->completed,
                                             "mean_ms", num(e->mean * 1e3), "p50_ms",
                                             num(e->p50 * 1e3), "p95_ms", num(e->p95 * 1e3),
                                             "p99_ms", num(e->p99 * 1e3), "wait_ms",
                                             num(e->wait * 1e3), "throughput", num(e->throughput)));
    }
    json_t *doc =
        json_pack("{s:o, s:i, s:i, s:i, s:o, s:o, s:o, s:o, s:I, s:o, s:o}", "factor",
                  num(r->factor), "replications", r->replications, "replicas", r->replicas,
                  "workers", r->workers, "rate", num(r->rate), "utilisation", num(r->util),
                  "in_system", num(r->in_system), "queue", num(r->queue), "peak_queue",
                  (json_int_t)r->peak_queue, "sim_cpu_s", num(r->cpu_s), "endpoints", eps);
    if (doc && r->series) {
        json_t *s = json_loadb(r->series, r->series_len, 0, NULL);
        if (s)
            json_object_set_new(doc, "series", s);
    }
    return doc;
}

json_t *whatif_capacity_json(const live_model *lm, const whatif_capacity *c, double slo_s)
{
    json_t *trials = json_array(), *left = json_array();
    for (int i = 0; left && i < c->nleft_out; i++)
        json_array_append_new(left, json_string(lm->ep[c->left_out[i]].name));
    for (int i = 0; trials && i < c->ntrials; i++)
        json_array_append_new(trials, json_pack("{s:o, s:o}", "factor", num(c->trial_factor[i]),
                                                "p95_ms", num(c->trial_p95[i] * 1e3)));
    return json_pack(
        "{s:o, s:o, s:o, s:o, s:o, s:o, s:s, s:o, s:o, s:o}", "slo_ms", num(slo_s * 1e3), "factor",
        num(c->factor), "rate", num(c->rate), "p95_ms", num(c->p95 * 1e3), "worst",
        c->worst >= 0 ? json_string(lm->ep[c->worst].name) : json_null(), "utilisation",
        num(c->util_break), "bottleneck", c->bottleneck, "trials", trials, "left_out", left,
        "window_s", c->window_s > 0 ? num(c->window_s) : json_null());
}

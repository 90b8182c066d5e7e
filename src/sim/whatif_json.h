/* whatif_json.h — a live model, a what-if run and a capacity search as
 * JSON (jansson), one shape for `evodash simulate --what-if --json` and
 * the dashboard's /api/capacity.  Times are in milliseconds.  NULL when
 * out of memory; the caller owns the result. */
#ifndef EVD_SIM_WHATIF_JSON_H
#define EVD_SIM_WHATIF_JSON_H

#include <jansson.h>

#include "sim/livemodel.h"
#include "sim/whatif.h"

/* {"service", "from_us", "to_us", "span_s", "requests", "fit": {...},
 *  "observed": {...}, "model": {...}, "endpoints": [{name, requests, rate,
 *  measured: {mean_ms, p50_ms, p95_ms, p99_ms}, solo_ms, demand_ms,
 *  wait_ms, source, regression: {demand_ms, se_ms, samples}, calltree:
 *  {demand_ms, requests}, cv}]} */
json_t *live_model_json(const live_model *lm);

/* {"factor", "replicas", "workers", "rate", "utilisation", "in_system",
 *  "queue", "peak_queue", "endpoints": [{name, completed, mean_ms, p50_ms,
 *  p95_ms, p99_ms, wait_ms, throughput}]}, and "series" (SimResults.json)
 *  when the run kept it. */
json_t *whatif_result_json(const live_model *lm, const whatif_result *r);

/* {"slo_ms", "factor", "rate", "p95_ms", "worst", "utilisation",
 *  "bottleneck", "trials": [{factor, p95_ms}], "left_out": [names], "window_s": the busiest stretch
 * searched, or null} */
json_t *whatif_capacity_json(const live_model *lm, const whatif_capacity *c, double slo_s);

#endif

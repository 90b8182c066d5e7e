/* ci_report.h — a CI build upload as JSON: what `evodash collect` and the
 * pytest plugin send to POST /dashboard/api/ci/builds, and what the route
 * (and the plugin's local store) turn back into a store_ci_build.
 *
 *   {"build": "8841", "version": "3f2a9c1...", "label": "v1.4 · 3f2a9c1",
 *    "service": "shop", "created_us": 1760000000000000,
 *    "tests": [{"suite": "tests.test_api", "name": "test_list",
 *               "iteration": 1, "duration_us": 5120, "outcome": "passed",
 *               "from_us": ..., "to_us": ...,
 *               "calls": [{"endpoint": "api.list", "duration_us": 812,
 *                          "ts_us": ..., "status": 200}]}]}
 *
 * service, label, created_us, iteration, outcome, from_us/to_us and calls
 * may be left out (iterations are then numbered by occurrence). */
#ifndef EVD_DASH_CI_REPORT_H
#define EVD_DASH_CI_REPORT_H

#include <jansson.h>
#include <stddef.h>

#include "store/ci.h"

/* A parsed upload: b's strings point into doc; the arrays are owned. */
typedef struct ci_report {
    store_ci_build b;
    store_ci_test *tests;
    store_ci_call *calls;
    json_t *doc;
} ci_report;

/* Parse body[0..len) (duplicate keys rejected) into *out, with created_us
 * defaulting to now_us.  Returns 0, EVD_EINVAL with a message in err, or
 * EVD_ENOMEM.  Free with ci_report_free() either way. */
int ci_report_parse(const char *body, size_t len, int64_t now_us, ci_report *out, char *err,
                    size_t errcap);
void ci_report_free(ci_report *r);

/* The JSON of b (new reference), or NULL when out of memory. */
json_t *ci_report_json(const store_ci_build *b);

#endif

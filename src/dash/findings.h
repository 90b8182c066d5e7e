/* findings.h — the findings engine: what changed between versions and what
 * is wrong, computed from the store (for the dashboard's /api/findings,
 * its metrics and `evodash stats`). */
#ifndef EVD_DASH_FINDINGS_H
#define EVD_DASH_FINDINGS_H

#include <jansson.h>
#include <stdint.h>

#include "store/store.h"

struct aggcache;

/* Defaults of FINDINGS_MIN_REQUESTS and FINDINGS_MIN_RATIO. */
#define FINDINGS_MIN_REQUESTS_DEF 200
#define FINDINGS_MIN_RATIO_DEF    1.2
/* The family-wise error rate each kind of test is held to (Holm, over the
 * endpoints of one version): 1%, so that hundreds of unchanged endpoints
 * across many versions raise nothing. */
#define FINDINGS_ALPHA_DEF 0.01

typedef struct findings_opts {
    int64_t service_id;     /* 0: every service */
    int64_t from_us, to_us; /* the range read */
    int64_t min_requests;   /* per side of a comparison */
    double min_ratio;       /* the smallest change reported (> 1) */
    double alpha;           /* family-wise error rate after Holm; 0: FINDINGS_ALPHA_DEF */
    const char *prefix;     /* the dashboard's path, for links: "/dashboard" */
} findings_opts;

/* Compute every finding.  ac: the dashboard's rollup cache, or NULL (a
 * private one is made).  On success *out is {"findings": [...], "tests":
 * {...}} sorted most severe first (the caller owns it).  Returns 0 or a
 * negative code with the message on st (or "out of memory"). */
int findings_compute(store *st, struct aggcache *ac, const findings_opts *o, json_t **out);

/* The rank of a severity ("high" 3, "medium" 2, "low" 1, else 0). */
int findings_severity_rank(const char *s);

#endif

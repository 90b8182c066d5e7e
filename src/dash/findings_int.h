/* findings_int.h — what the findings engine's files share (src/dash
 * only): the engine's state while it computes, and its helpers. */
#ifndef EVD_DASH_FINDINGS_INT_H
#define EVD_DASH_FINDINGS_INT_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "dash/dash_int.h"
#include "dash/findings.h"

#define HOUR_US      3600000000LL
#define RAW_CAP      5000 /* raw durations per side of a latency test */
#define GROUP_SAMPLE 5000 /* newest raw rows per endpoint for slow_group */
#define GROUP_MIN    20
#define SLOW_RATIO   5.0
#define EXPECT_MIN   30.0 /* requests a dead/new endpoint would have had */
#define CAUSE_MIN    20
#define CAUSE_SHARE  0.6
#define CAUSE_ALONE  0.8
#define STACKS_MAX   200
#define MEMBERS_MAX  32
#define SHAPE_HOURS  168

typedef struct fver {
    int64_t id, first_us, last_us;
    char *name, *label;
    int important, hidden;
} fver;

typedef struct fep {
    int64_t id, service_id;
    char *name;
    int first, last; /* version indexes with traffic; -1 when none */
    int64_t total;
    int dead, fresh, renamed; /* candidates, and paired into a rename */
    /* rename shapes: hour-of-day counts of the window, first/last hour */
    double hod[24];
    int64_t h_first, h_last, h_sum, h_n;
} fep;

typedef struct ltest {
    const fep *e;
    int vj, vi;
    double p, adj, ratio, med_a, med_b, lo, hi, hl; /* hl: Hodges-Lehmann ratio */
    int64_t na, nb;
    int raw, has_ci;
} ltest;

typedef struct etest {
    const fep *e;
    int vj, vi;
    int64_t ka, na, kb, nb;
    double p, adj;
} etest;

typedef struct fctx {
    store *st;
    struct aggcache *ac;
    const findings_opts *o;
    double alpha;
    fver *v;
    size_t nv;
    fep *e;
    size_t ne;
    int64_t *ids; /* endpoint ids, sorted (for the aggregate) */
    agg_result ar;
    json_t *list;
    ltest *lt;
    size_t nlt, caplt;
    etest *et;
    size_t net, capet;
    int64_t raw_sides, sketch_sides, group_tests;
    int pass; /* hourly pass: 0 find first/last hours, 1 fill windows */
} fctx;

/* The aggregate of version index vi and endpoint e, NULL when it has no
 * request. */
const agg_acc *fx_cell(const fctx *x, int vi, const fep *e);
/* Append a finding: fields (stolen) gets kind, endpoint, severity, summary,
 * link and the sort score.  0 or EVD_ENOMEM. */
int fx_add(fctx *x, const char *kind, const fep *e, const char *sev, double score, json_t *fields,
           const char *link, const char *summary);
void fx_link_ep(const fctx *x, const fep *e, char *out, size_t cap);
void fx_fmt_us(double us, char *out, size_t cap);

/* findings_usage.c: who uses what — dead, new and renamed endpoints (q:
 * the range's hourly counts), slow user groups, outlier causes. */
int fx_renames_and_lifecycle(fctx *x, const agg_ask *q);
int fx_slow_groups(fctx *x, const fep *e);
int fx_outlier_causes(fctx *x);

#endif

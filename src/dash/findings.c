/* findings.c — the findings engine (findings.h).
 *
 * DESIGN — everything starts from one aggregate of the rollups over the
 * range, per (version, endpoint), with merged sketches (the dashboard's
 * day cache makes it cheap).  From it, per endpoint and per version in
 * deployment order (hidden versions left out):
 *
 *   regression / improvement  the version against its baseline (the
 *       previous important version with enough requests, else the previous
 *       version with enough): Mann-Whitney U on the sketches, and, where
 *       the sketches' median ratio reaches the floor, again on every raw
 *       duration when both sides have at most RAW_CAP requests and their
 *       raw rows are still there (larger sides keep the sketches' answer:
 *       every request, binned within 1%).  Holm's correction over every endpoint tested for
 *       the same version; reported when the adjusted p < alpha AND the
 *       ratio of medians is past FINDINGS_MIN_RATIO.
 *   error_rate  the share of 5xx, two-proportion z test, the same floors
 *       (plus one percentage point), Holm over the version's endpoints.
 *   dead_endpoint / new_endpoint  traffic that stopped (started) at a
 *       version while the rest of its service went on: reported only when
 *       the endpoint's share of the service's traffic would have given at
 *       least EXPECT_MIN requests in the versions where it has none.
 *   rename_candidate  a dead and a new endpoint of one service, the new
 *       one starting within a version of the old one's end, with the same
 *       volume (within 2x) and hour-of-day pattern (Pearson r of 24 bins).
 *   slow_group  in the newest GROUP_SAMPLE raw rows of an endpoint, a user
 *       group with at least GROUP_MIN rows whose median is SLOW_RATIO times
 *       the other groups', U test, Holm over the endpoint's groups.
 *   outlier_cause  the innermost frame of most (>= CAUSE_SHARE) of an
 *       endpoint's newest outlier stacks (at least CAUSE_MIN of them), and
 *       more often than in the other endpoints' stacks (z test, Holm).
 *
 * Nothing here caches: api_findings.c keeps the results. */
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "evodash.h"
#include "core/sketch.h"
#include "dash/findings_int.h"
#include "stats/stats.h"
#include "store/read.h"
#include "store/read_verdicts.h"

static const char *const KINDS[] = {"regression",    "error_rate",    "slow_group",
                                    "outlier_cause", "dead_endpoint", "rename_candidate",
                                    "improvement",   "new_endpoint"};

int findings_severity_rank(const char *s)
{
    return !s ? 0 : !strcmp(s, "high") ? 3 : !strcmp(s, "medium") ? 2 : !strcmp(s, "low") ? 1 : 0;
}

void fx_fmt_us(double us, char *out, size_t cap)
{
    if (us >= 1e6)
        snprintf(out, cap, "%.2f s", us / 1e6);
    else if (us >= 1e3)
        snprintf(out, cap, "%.1f ms", us / 1e3);
    else
        snprintf(out, cap, "%.0f µs", us);
}

/* ---- loading ------------------------------------------------------------------------ */

static int ver_row(void *u, const store_version_row *r)
{
    fctx *x = u;
    fver *nv = realloc(x->v, (x->nv + 1) * sizeof *nv);
    if (!nv)
        return EVD_ENOMEM;
    x->v = nv;
    fver *v = &x->v[x->nv];
    *v = (fver){.id = r->id, .first_us = r->first_seen_us, .last_us = r->last_seen_us};
    v->name = strdup(r->name);
    v->label = strdup(r->label);
    x->nv++;
    return v->name && v->label ? 0 : EVD_ENOMEM;
}

static int mark_row(void *u, const store_vmark_row *r)
{
    fctx *x = u;
    for (size_t i = 0; i < x->nv; i++)
        if (x->v[i].id == r->version_id) {
            x->v[i].important = r->important;
            x->v[i].hidden = r->hidden;
        }
    return 0;
}

static int ep_row(void *u, const store_endpoint_row *r)
{
    fctx *x = u;
    fep *ne = realloc(x->e, (x->ne + 1) * sizeof *ne);
    if (!ne)
        return EVD_ENOMEM;
    x->e = ne;
    fep *e = &x->e[x->ne];
    *e = (fep){.id = r->id, .service_id = r->service_id, .first = -1, .last = -1};
    if (!(e->name = strdup(r->name)))
        return EVD_ENOMEM;
    x->ne++;
    return 0;
}

const agg_acc *fx_cell(const fctx *x, int vi, const fep *e)
{
    const agg_acc *a = agg_find(&x->ar, x->v[vi].id, e->id);
    return a && a->count > 0 ? a : NULL;
}

/* ---- output ------------------------------------------------------------------------- */

/* Append a finding: fields (stolen) gets kind, endpoint, severity, summary,
 * link and the sort score. */
int fx_add(fctx *x, const char *kind, const fep *e, const char *sev, double score, json_t *fields,
           const char *link, const char *summary)
{
    if (!fields)
        return EVD_ENOMEM;
    int k = 0;
    while (k < (int)(sizeof KINDS / sizeof KINDS[0]) && strcmp(KINDS[k], kind))
        k++;
    json_object_set_new(fields, "kind", json_string(kind));
    json_object_set_new(fields, "endpoint", json_string(e->name));
    json_object_set_new(fields, "endpoint_id", json_integer(e->id));
    json_object_set_new(fields, "severity", json_string(sev));
    json_object_set_new(fields, "summary", json_string(summary));
    json_object_set_new(fields, "link", json_string(link));
    json_object_set_new(
        fields, "_rank",
        json_real(findings_severity_rank(sev) * 1e6 - k * 1e3 + (score < 999 ? score : 999)));
    return json_array_append_new(x->list, fields) ? EVD_ENOMEM : 0;
}

void fx_link_ep(const fctx *x, const fep *e, char *out, size_t cap)
{
    snprintf(out, cap, "%s/#/endpoint/%lld", x->o->prefix, (long long)e->id);
}

static void link_cmp(const fctx *x, int vi, int vj, const fep *e, char *out, size_t cap)
{
    snprintf(out, cap, "%s/#/compare/%lld/%lld/%lld", x->o->prefix, (long long)x->v[vi].id,
             (long long)x->v[vj].id, (long long)e->id);
}

/* ---- latency and errors between versions -------------------------------------------- */

/* The baseline of version index j for endpoint e: the previous important
 * version with enough requests, else the previous one with enough. */
static int baseline(const fctx *x, const fep *e, int j)
{
    int prev = -1;
    for (int i = j - 1; i >= 0; i--) {
        const agg_acc *a = x->v[i].hidden ? NULL : fx_cell(x, i, e);
        if (!a || a->count < x->o->min_requests)
            continue;
        if (x->v[i].important)
            return i;
        if (prev < 0)
            prev = i;
    }
    return prev;
}

typedef struct dvec {
    double *v;
    size_t n, cap;
} dvec;

static int dvec_push(dvec *d, double v)
{
    if (d->n == d->cap) {
        size_t cap = d->cap ? d->cap * 2 : 1024;
        double *nv = realloc(d->v, cap * sizeof *nv);
        if (!nv)
            return EVD_ENOMEM;
        d->v = nv;
        d->cap = cap;
    }
    d->v[d->n++] = v;
    return 0;
}

static int dur_row(void *u, const store_sample_row *r)
{
    /* a ratio needs positive values: a 0 us request counts as 1 us */
    return dvec_push(u, r->duration_us > 0 ? (double)r->duration_us : 1.0);
}

/* The newest `cap` durations of endpoint e (and what was renamed into it)
 * in version vi, within the range. */
static int raw_side(fctx *x, const fep *e, int vi, size_t cap, dvec *out)
{
    int64_t ids[MEMBERS_MAX];
    size_t n = 0;
    int rc = store_endpoint_members(x->st, e->id, ids, MEMBERS_MAX, &n);
    int64_t from = x->o->from_us > x->v[vi].first_us ? x->o->from_us : x->v[vi].first_us;
    int64_t to = x->o->to_us < x->v[vi].last_us + 1 ? x->o->to_us : x->v[vi].last_us + 1;
    for (size_t i = 0; !rc && i < n && out->n < cap; i++)
        rc = store_raw_newest(x->st, ids[i], x->v[vi].id, from, to, (int64_t)(cap - out->n),
                              dur_row, out);
    return rc;
}

/* Re-test with the raw durations when both sides are small enough and
 * still have their rows. */
static int refine_raw(fctx *x, ltest *t, const agg_acc *a, const agg_acc *b)
{
    dvec da = {0}, db = {0};
    stats_sample *sa = NULL, *sb = NULL;
    if (a->count > RAW_CAP || b->count > RAW_CAP)
        return 0;
    int rc = raw_side(x, t->e, t->vi, RAW_CAP, &da);
    if (!rc)
        rc = raw_side(x, t->e, t->vj, RAW_CAP, &db);
    if (rc)
        goto done;
    double need_a = 0.9 * (double)a->count, need_b = 0.9 * (double)b->count;
    if ((double)da.n < need_a || (double)db.n < need_b || da.n < 3 || db.n < 3)
        goto done; /* pruned: keep the sketches' answer */
    if ((rc = stats_sample_new(da.v, da.n, &sa)) || (rc = stats_sample_new(db.v, db.n, &sb)))
        goto done;
    stats_mwu_result m;
    int mr = stats_mwu(sb, sa, STATS_MWU_AUTO, &m);
    if (mr && mr != STATS_EDEGENERATE) {
        rc = mr;
        goto done;
    }
    t->p = m.p;
    t->med_a = stats_sample_median(sa);
    t->med_b = stats_sample_median(sb);
    t->ratio = t->med_a > 0 ? t->med_b / t->med_a : 1;
    t->na = (int64_t)da.n;
    t->nb = (int64_t)db.n;
    stats_ratio r;
    if (!stats_ratio_ci(sa, sb, 0.95, &r)) {
        t->lo = r.hl.lo;
        t->hi = r.hl.hi;
        t->hl = r.hl.est;
        t->has_ci = 1;
    }
    t->raw = 1;
done:
    stats_sample_free(sa);
    stats_sample_free(sb);
    free(da.v);
    free(db.v);
    return rc == STATS_EDEGENERATE ? 0 : rc;
}

static int push_ltest(fctx *x, const ltest *t)
{
    if (x->nlt == x->caplt) {
        size_t cap = x->caplt ? x->caplt * 2 : 256;
        ltest *nv = realloc(x->lt, cap * sizeof *nv);
        if (!nv)
            return EVD_ENOMEM;
        x->lt = nv;
        x->caplt = cap;
    }
    x->lt[x->nlt++] = *t;
    return 0;
}

static int push_etest(fctx *x, const etest *t)
{
    if (x->net == x->capet) {
        size_t cap = x->capet ? x->capet * 2 : 256;
        etest *nv = realloc(x->et, cap * sizeof *nv);
        if (!nv)
            return EVD_ENOMEM;
        x->et = nv;
        x->capet = cap;
    }
    x->et[x->net++] = *t;
    return 0;
}

/* Every (version, baseline) test of endpoint e. */
static int version_tests(fctx *x, const fep *e)
{
    double floor = x->o->min_ratio;
    for (int j = 1; j < (int)x->nv; j++) {
        const agg_acc *b = x->v[j].hidden ? NULL : fx_cell(x, j, e);
        if (!b || b->count < x->o->min_requests)
            continue;
        int i = baseline(x, e, j);
        if (i < 0)
            continue;
        const agg_acc *a = fx_cell(x, i, e);
        if (!a->sk || !b->sk)
            continue;
        ltest t = {.e = e, .vj = j, .vi = i, .na = a->count, .nb = b->count, .p = 1};
        stats_mwu_result m;
        int rc = stats_mwu_sketch(b->sk, a->sk, STATS_MWU_AUTO, &m);
        if (rc && rc != STATS_EDEGENERATE)
            return rc;
        t.p = m.p;
        t.med_a = sketch_quantile(a->sk, 0.5);
        t.med_b = sketch_quantile(b->sk, 0.5);
        t.ratio = t.med_a > 0 ? t.med_b / t.med_a : 1;
        /* the sketches' medians are within 1%: re-test what may pass */
        if (t.ratio >= floor * 0.97 || t.ratio <= 1 / (floor * 0.97)) {
            if ((rc = refine_raw(x, &t, a, b)))
                return rc;
            stats_ratio r;
            if (!t.raw && !stats_ratio_ci_sketch(a->sk, b->sk, 0.95, &r)) {
                t.lo = r.hl.lo;
                t.hi = r.hl.hi;
                t.hl = r.hl.est;
                t.has_ci = 1;
            }
        }
        if (t.raw)
            x->raw_sides += 2;
        else
            x->sketch_sides += 2;
        if ((rc = push_ltest(x, &t)))
            return rc;
        etest et = {.e = e,
                    .vj = j,
                    .vi = i,
                    .ka = a->cls[5],
                    .na = a->count,
                    .kb = b->cls[5],
                    .nb = b->count,
                    .p = 1};
        stats_prop2 pr;
        int pc = stats_prop2_test(et.ka, et.na, et.kb, et.nb, 0.95, &pr);
        if (pc && pc != STATS_EDEGENERATE)
            return pc;
        et.p = pr.p_z;
        if ((rc = push_etest(x, &et)))
            return rc;
    }
    return 0;
}

/* Holm over the tests of each version (p at stride bytes in items). */
static int holm_by_version(void *items, size_t n, size_t stride, size_t off_vj, size_t off_p,
                           size_t off_adj)
{
    double *p = malloc((n ? n : 1) * sizeof *p);
    size_t *idx = malloc((n ? n : 1) * sizeof *idx);
    int rc = p && idx ? 0 : EVD_ENOMEM;
    char *base = items;
    int *done = calloc(n ? n : 1, sizeof *done);
    if (!done)
        rc = EVD_ENOMEM;
    for (size_t s = 0; !rc && s < n; s++) {
        if (done[s])
            continue;
        int vj = *(int *)(base + s * stride + off_vj);
        size_t m = 0;
        for (size_t k = s; k < n; k++)
            if (!done[k] && *(int *)(base + k * stride + off_vj) == vj) {
                idx[m] = k;
                p[m++] = *(double *)(base + k * stride + off_p);
                done[k] = 1;
            }
        if ((rc = stats_holm(p, m, p)))
            break;
        for (size_t k = 0; k < m; k++)
            *(double *)(base + idx[k] * stride + off_adj) = p[k];
    }
    free(p);
    free(idx);
    free(done);
    return rc;
}

static int report_versions(fctx *x)
{
    char link[256], sum[640], ma[32], mb[32];
    int rc = holm_by_version(x->lt, x->nlt, sizeof(ltest), offsetof(ltest, vj), offsetof(ltest, p),
                             offsetof(ltest, adj));
    if (!rc)
        rc = holm_by_version(x->et, x->net, sizeof(etest), offsetof(etest, vj), offsetof(etest, p),
                             offsetof(etest, adj));
    double floor = x->o->min_ratio;
    for (size_t k = 0; !rc && k < x->nlt; k++) {
        const ltest *t = &x->lt[k];
        /* both estimates of the shift past the floor: the ratio of
         * medians alone is noisy at a few hundred requests a side */
        int worse = t->ratio >= floor && (!t->has_ci || t->hl >= floor);
        int better = t->ratio <= 1 / floor && (!t->has_ci || t->hl <= 1 / floor);
        if (t->adj >= x->alpha || (!worse && !better))
            continue;
        const fver *a = &x->v[t->vi], *b = &x->v[t->vj];
        fx_fmt_us(t->med_a, ma, sizeof ma);
        fx_fmt_us(t->med_b, mb, sizeof mb);
        link_cmp(x, t->vi, t->vj, t->e, link, sizeof link);
        double mag = worse ? t->ratio : 1 / t->ratio;
        snprintf(sum, sizeof sum,
                 "%s is %.1f× %s in %s than in %s (median %s against %s, p = %.2g).", t->e->name,
                 mag, worse ? "slower" : "faster", b->label, a->label, mb, ma, t->adj);
        json_t *ev = json_pack("{s:f,s:f,s:I,s:I,s:f,s:f,s:s}", "median_us", t->med_b,
                               "baseline_median_us", t->med_a, "requests", (json_int_t)t->nb,
                               "baseline_requests", (json_int_t)t->na, "p_raw", t->p, "p_holm",
                               t->adj, "method", t->raw ? "raw" : "sketch");
        if (ev && t->has_ci) {
            json_object_set_new(ev, "ratio_ci95", json_pack("[f,f]", t->lo, t->hi));
            json_object_set_new(ev, "hodges_lehmann_ratio", json_real(t->hl));
        }
        json_t *f = json_pack("{s:s,s:s,s:s,s:s,s:f,s:f,s:o}", "version", b->name, "version_label",
                              b->label, "baseline_version", a->name, "baseline_label", a->label,
                              "ratio", t->ratio, "p_value", t->adj, "evidence", ev);
        const char *sev = !worse ? "low" : t->ratio >= 2 ? "high" : "medium";
        rc = fx_add(x, worse ? "regression" : "improvement", t->e, sev, mag, f, link, sum);
    }
    for (size_t k = 0; !rc && k < x->net; k++) {
        const etest *t = &x->et[k];
        double ra = t->na ? (double)t->ka / (double)t->na : 0;
        double rb = t->nb ? (double)t->kb / (double)t->nb : 0;
        if (t->adj >= x->alpha || rb < floor * ra || rb - ra < 0.01)
            continue;
        const fver *a = &x->v[t->vi], *b = &x->v[t->vj];
        link_cmp(x, t->vi, t->vj, t->e, link, sizeof link);
        snprintf(sum, sizeof sum,
                 "%s answers 5xx to %.1f%% of requests in %s, against %.1f%% in %s (p = %.2g).",
                 t->e->name, 100 * rb, b->label, 100 * ra, a->label, t->adj);
        json_t *ev =
            json_pack("{s:I,s:I,s:I,s:I,s:f,s:f}", "errors", (json_int_t)t->kb, "requests",
                      (json_int_t)t->nb, "baseline_errors", (json_int_t)t->ka, "baseline_requests",
                      (json_int_t)t->na, "p_raw", t->p, "p_holm", t->adj);
        json_t *f =
            json_pack("{s:s,s:s,s:s,s:s,s:f,s:f,s:f,s:o}", "version", b->name, "version_label",
                      b->label, "baseline_version", a->name, "baseline_label", a->label, "rate", rb,
                      "baseline_rate", ra, "p_value", t->adj, "evidence", ev);
        rc = fx_add(x, "error_rate", t->e, rb >= 0.05 || rb - ra >= 0.05 ? "high" : "medium",
                    100 * (rb - ra), f, link, sum);
    }
    return rc;
}

/* ---- the whole ----------------------------------------------------------------------- */

static int by_rank(const void *a, const void *b)
{
    double x = json_real_value(json_object_get(*(json_t *const *)a, "_rank"));
    double y = json_real_value(json_object_get(*(json_t *const *)b, "_rank"));
    return (x < y) - (x > y);
}

static int id_cmp(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

static json_t *sorted(json_t *list)
{
    size_t n = json_array_size(list);
    json_t **v = malloc((n ? n : 1) * sizeof *v);
    json_t *out = json_array();
    if (!v || !out) {
        free(v);
        json_decref(out);
        return NULL;
    }
    for (size_t i = 0; i < n; i++)
        v[i] = json_array_get(list, i);
    qsort(v, n, sizeof *v, by_rank);
    for (size_t i = 0; i < n; i++) {
        json_object_del(v[i], "_rank");
        json_array_append(out, v[i]);
    }
    free(v);
    return out;
}

int findings_compute(store *st, struct aggcache *ac, const findings_opts *o, json_t **out)
{
    fctx x = {.st = st,
              .o = o,
              .alpha = o->alpha > 0 ? o->alpha : FINDINGS_ALPHA_DEF,
              .list = json_array()};
    struct aggcache *own = NULL;
    store_filter f = {.service_id = o->service_id};
    int rc = x.list ? 0 : EVD_ENOMEM;
    *out = NULL;
    if (!rc && !ac && !(ac = own = aggcache_new()))
        rc = EVD_ENOMEM;
    x.ac = ac;
    if (!rc)
        rc = store_versions(st, ver_row, &x);
    if (!rc)
        rc = store_version_marks(st, mark_row, &x);
    if (!rc)
        rc = store_endpoints(st, &f, STORE_EP_BY_ID, ep_row, &x);
    if (!rc && !(x.ids = malloc((x.ne ? x.ne : 1) * sizeof *x.ids)))
        rc = EVD_ENOMEM;
    for (size_t i = 0; !rc && i < x.ne; i++)
        x.ids[i] = x.e[i].id;
    if (!rc)
        qsort(x.ids, x.ne, sizeof *x.ids, id_cmp);
    int64_t h0 = o->from_us / HOUR_US - (o->from_us % HOUR_US < 0);
    int64_t h1 = (o->to_us + HOUR_US - 1) / HOUR_US;
    /* a service's view asks for its endpoints only (an empty one for none) */
    agg_ask q = {.f = &f,
                 .eps = o->service_id ? x.ids : NULL,
                 .neps = o->service_id ? x.ne : 0,
                 .h0 = h0,
                 .h1 = h1,
                 .only_ep = -1,
                 .group = AG_VER_EP,
                 .want_sketch = 1};
    if (!rc)
        rc = aggcache_query(ac, st, &q, &x.ar);
    for (size_t i = 0; !rc && i < x.ne; i++)
        rc = version_tests(&x, &x.e[i]);
    if (!rc)
        rc = report_versions(&x);
    q.want_sketch = 0;
    if (!rc)
        rc = fx_renames_and_lifecycle(&x, &q);
    for (size_t i = 0; !rc && i < x.ne; i++)
        if (x.e[i].total >= o->min_requests)
            rc = fx_slow_groups(&x, &x.e[i]);
    if (!rc)
        rc = fx_outlier_causes(&x);
    json_t *list = rc ? NULL : sorted(x.list);
    if (!rc && !list)
        rc = EVD_ENOMEM;
    if (!rc) {
        *out = json_pack("{s:o,s:{s:I,s:I,s:I,s:{s:I,s:I},s:I,s:f,s:f}}", "findings", list, "tests",
                         "latency", (json_int_t)x.nlt, "error_rate", (json_int_t)x.net, "groups",
                         (json_int_t)x.group_tests, "sides", "raw", (json_int_t)x.raw_sides,
                         "sketch", (json_int_t)x.sketch_sides, "min_requests",
                         (json_int_t)o->min_requests, "min_ratio", o->min_ratio, "alpha", x.alpha);
        if (!*out)
            rc = EVD_ENOMEM;
    }
    agg_free(&x.ar);
    aggcache_free(own);
    for (size_t i = 0; i < x.nv; i++) {
        free(x.v[i].name);
        free(x.v[i].label);
    }
    for (size_t i = 0; i < x.ne; i++)
        free(x.e[i].name);
    free(x.v);
    free(x.e);
    free(x.ids);
    free(x.lt);
    free(x.et);
    json_decref(x.list);
    return rc;
}

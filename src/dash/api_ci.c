/* api_ci.c — CI test timings beside live timings: the upload of
 * a build, box plots of its tests and endpoints (builds side by side), the
 * live-vs-CI median per version with Pearson's r, and CI regressions.
 *
 * A regression is a test (its runs) or an endpoint (its calls) of a build
 * that is slower than in the service's previous build beyond that series'
 * own noise: the Mann-Whitney U test of the two samples, Benjamini-Hochberg
 * adjusted across every series compared for the build, below ALPHA, and
 * the Hodges-Lehmann ratio's 95% interval above 1 with a median at least
 * MIN_RATIO times the previous one (a significant 2% is not worth a flag).
 * A series needs MIN_RUNS values on both sides: with fewer, no U test can
 * reach ALPHA. */
#include <stdlib.h>
#include <string.h>

#include "evodash.h"
#include "core/clock.h"
#include "dash/ci_report.h"
#include "dash/dash_int.h"
#include "stats/stats.h"
#include "store/ci.h"

#define CI_BUILDS_DEFAULT 5
#define CI_BUILDS_MAX     50
#define ALPHA             0.05
#define MIN_RATIO         1.10
#define MIN_RUNS          4

/* Room for item n of a growable array p of *cap items of `size` bytes: p
 * itself, or a larger copy of it (*cap updated), or NULL when out of
 * memory (p left as it was). */
static void *grow(void *p, size_t n, size_t *cap, size_t size)
{
    if (n < *cap)
        return p;
    size_t nc = *cap ? *cap * 2 : 16;
    void *np = realloc(p, nc * size);
    if (np)
        *cap = nc;
    return np;
}

/* ---- upload ---------------------------------------------------------------------- */

int api_ci_upload(dctx *c)
{
    ci_report rep;
    char err[300];
    int rc = ci_report_parse(c->rq->body, c->rq->body_len, clock_real_ns() / 1000, &rep, err,
                             sizeof err);
    if (rc) {
        ci_report_free(&rep);
        return dash_error(c, rc == EVD_ENOMEM ? 500 : 400, "ci/builds: %s", err);
    }
    store_ci_stored out;
    rc = store_ci_put(c->st, &rep.b, &out);
    ci_report_free(&rep);
    if (rc == STORE_CI_EDUP)
        return dash_error(c, 409, "ci/builds: %s", store_errmsg(c->st));
    if (rc == EVD_EINVAL)
        return dash_error(c, 400, "ci/builds: %s", store_errmsg(c->st));
    if (rc)
        return dash_store_error(c, rc, "ci/builds");
    return dash_json(c, 201,
                     json_pack("{s:I,s:I,s:I,s:I}", "build_id", (json_int_t)out.build_id, "tests",
                               (json_int_t)out.tests, "calls", (json_int_t)out.calls, "claimed",
                               (json_int_t)out.claimed));
}

/* ---- builds --------------------------------------------------------------------- */

typedef struct cbuild {
    int64_t id, service_id, created_us, tests, failed, calls;
    char *build, *version, *label, *service;
} cbuild;

typedef struct cbuilds {
    cbuild *v;
    size_t n, cap;
} cbuilds;

static void builds_free(cbuilds *l)
{
    for (size_t i = 0; i < l->n; i++) {
        free(l->v[i].build);
        free(l->v[i].version);
        free(l->v[i].label);
        free(l->v[i].service);
    }
    free(l->v);
    memset(l, 0, sizeof *l);
}

static int build_row(void *u, const store_ci_build_row *r)
{
    cbuilds *l = u;
    cbuild *nv = grow(l->v, l->n, &l->cap, sizeof *nv);
    if (!nv)
        return EVD_ENOMEM;
    l->v = nv;
    cbuild *b = &l->v[l->n];
    *b = (cbuild){.id = r->id,
                  .service_id = r->service_id,
                  .created_us = r->created_us,
                  .tests = r->tests,
                  .failed = r->failed,
                  .calls = r->calls,
                  .build = strdup(r->build ? r->build : ""),
                  .version = strdup(r->version ? r->version : ""),
                  .label = strdup(r->label ? r->label : ""),
                  .service = strdup(r->service ? r->service : "")};
    l->n++;
    if (!b->build || !b->version || !b->label || !b->service)
        return EVD_ENOMEM;
    return 0;
}

/* The newest ?builds= (default def) builds of the filtered service, oldest
 * first.  Replies and returns -1 on failure. */
static int builds_load(dctx *c, int64_t def, cbuilds *l)
{
    int64_t limit;
    memset(l, 0, sizeof *l);
    if (dash_param_int(c, "builds", 1, CI_BUILDS_MAX, def, &limit))
        return -1;
    int rc = store_ci_builds(c->st, c->filter.service_id, limit, build_row, l);
    if (rc) {
        builds_free(l);
        if (rc == EVD_ENOMEM)
            return dash_error(c, 500, "out of memory"), -1;
        return dash_store_error(c, rc, "ci builds"), -1;
    }
    return 0;
}

static json_t *build_json(dctx *c, const cbuild *b)
{
    return json_pack("{s:I,s:s,s:s,s:s,s:s,s:o,s:I,s:I,s:I}", "id", (json_int_t)b->id, "build",
                     b->build, "version", b->version, "label", b->label, "service", b->service,
                     "created", dash_time(dash_tz(c), b->created_us), "tests", (json_int_t)b->tests,
                     "failed", (json_int_t)b->failed, "calls", (json_int_t)b->calls);
}

int api_ci_builds(dctx *c)
{
    cbuilds l;
    if (!dash_tz(c) || builds_load(c, 20, &l))
        return 0;
    json_t *items = json_array();
    for (size_t i = 0; i < l.n; i++)
        json_array_append_new(items, build_json(c, &l.v[i]));
    builds_free(&l);
    return dash_json(c, 200, json_pack("{s:o}", "builds", items));
}

/* ---- series: the durations of one test or endpoint in one build ----------------- */

typedef struct series {
    size_t build; /* index into the build list */
    char *suite, *key;
    int64_t *v;
    size_t n, cap;
} series;

typedef struct serieslist {
    const cbuilds *builds;
    series *s;
    size_t n, cap;
} serieslist;

static void series_free(serieslist *l)
{
    for (size_t i = 0; i < l->n; i++) {
        free(l->s[i].suite);
        free(l->s[i].key);
        free(l->s[i].v);
    }
    free(l->s);
    l->s = NULL;
    l->n = l->cap = 0;
}

static size_t build_index(const cbuilds *b, int64_t id)
{
    for (size_t i = 0; i < b->n; i++)
        if (b->v[i].id == id)
            return i;
    return 0;
}

/* Rows come grouped by (build, suite, key): a new series starts where the
 * group changes. */
static int sample_row(void *u, const store_ci_sample *s)
{
    serieslist *l = u;
    size_t bi = build_index(l->builds, s->build_id);
    series *cur = l->n ? &l->s[l->n - 1] : NULL;
    if (!cur || cur->build != bi || strcmp(cur->suite, s->suite) || strcmp(cur->key, s->key)) {
        series *ns = grow(l->s, l->n, &l->cap, sizeof *ns);
        if (!ns)
            return EVD_ENOMEM;
        l->s = ns;
        cur = &l->s[l->n++];
        *cur = (series){.build = bi, .suite = strdup(s->suite), .key = strdup(s->key)};
        if (!cur->suite || !cur->key)
            return EVD_ENOMEM;
    }
    int64_t *nv = grow(cur->v, cur->n, &cur->cap, sizeof *nv);
    if (!nv)
        return EVD_ENOMEM;
    cur->v = nv;
    cur->v[cur->n++] = s->duration_us;
    return 0;
}

static int series_cmp(const void *pa, const void *pb)
{
    const series *a = pa, *b = pb;
    int r = strcmp(a->suite, b->suite);
    if (!r)
        r = strcmp(a->key, b->key);
    return r ? r : (a->build > b->build) - (a->build < b->build);
}

/* Every series of the builds, by (suite, key, build).  Replies and
 * returns -1 on failure. */
static int series_load(dctx *c, const cbuilds *b, int by, serieslist *l)
{
    int64_t *ids = malloc((b->n ? b->n : 1) * sizeof *ids);
    *l = (serieslist){.builds = b};
    if (!ids)
        return dash_error(c, 500, "out of memory"), -1;
    for (size_t i = 0; i < b->n; i++)
        ids[i] = b->v[i].id;
    int rc = store_ci_samples(c->st, ids, b->n, by, sample_row, l);
    free(ids);
    if (rc) {
        series_free(l);
        if (rc == EVD_ENOMEM)
            return dash_error(c, 500, "out of memory"), -1;
        return dash_store_error(c, rc, "ci samples"), -1;
    }
    if (l->n)
        qsort(l->s, l->n, sizeof *l->s, series_cmp);
    return 0;
}

static int parse_by(dctx *c, int *by)
{
    const char *s = dash_param(c, "by");
    if (!s || !strcmp(s, "test"))
        *by = STORE_CI_BY_TEST;
    else if (!strcmp(s, "endpoint"))
        *by = STORE_CI_BY_ENDPOINT;
    else
        return dash_error(c, 400, "by: expected test or endpoint"), -1;
    return 0;
}

/* GET /api/ci/boxes?by=test|endpoint&builds=N: per test (or endpoint), a
 * box of its durations in each of the last N builds (null where it did
 * not run): the builds side by side. */
int api_ci_boxes(dctx *c)
{
    cbuilds b;
    serieslist l;
    int by;
    if (!dash_tz(c) || parse_by(c, &by) || builds_load(c, CI_BUILDS_DEFAULT, &b))
        return 0;
    if (series_load(c, &b, by, &l)) {
        builds_free(&b);
        return 0;
    }
    json_t *builds = json_array(), *keys = json_array();
    for (size_t i = 0; i < b.n; i++)
        json_array_append_new(builds, build_json(c, &b.v[i]));
    for (size_t i = 0; i < l.n;) {
        json_t *boxes = json_array();
        for (size_t k = 0; k < b.n; k++)
            json_array_append_new(boxes, json_null());
        size_t j = i;
        for (; j < l.n && !strcmp(l.s[j].suite, l.s[i].suite) && !strcmp(l.s[j].key, l.s[i].key);
             j++) {
            boxstat bs;
            box_from_values(l.s[j].v, l.s[j].n, &bs);
            json_array_set_new(boxes, l.s[j].build, box_json(&bs));
        }
        json_array_append_new(keys, json_pack("{s:s,s:s,s:o}", "suite", l.s[i].suite, "name",
                                              l.s[i].key, "boxes", boxes));
        i = j;
    }
    series_free(&l);
    builds_free(&b);
    return dash_json(c, 200,
                     json_pack("{s:s,s:o,s:o}", "by", by == STORE_CI_BY_TEST ? "test" : "endpoint",
                               "builds", builds, "keys", keys));
}

/* ---- regressions ----------------------------------------------------------------- */

typedef struct verdict {
    const series *prev, *cur;
    double p, p_adj, ratio, lo, hi, prev_median, cur_median;
} verdict;

/* Compare cur with prev (both sorted in place by the box); 1 when there
 * are enough values to test. */
static int compare(const series *prev, const series *cur, verdict *v)
{
    if (prev->n < MIN_RUNS || cur->n < MIN_RUNS)
        return 0;
    double *a = malloc(prev->n * sizeof *a), *b = malloc(cur->n * sizeof *b);
    stats_sample *sa = NULL, *sb = NULL;
    int ok = 0;
    if (!a || !b)
        goto done;
    /* the ratio interval takes logs: a call faster than a microsecond
     * counts as one */
    for (size_t i = 0; i < prev->n; i++)
        a[i] = prev->v[i] > 0 ? (double)prev->v[i] : 1;
    for (size_t i = 0; i < cur->n; i++)
        b[i] = cur->v[i] > 0 ? (double)cur->v[i] : 1;
    stats_mwu_result m;
    stats_ratio r;
    if (stats_sample_new(a, prev->n, &sa) || stats_sample_new(b, cur->n, &sb))
        goto done;
    int rc = stats_mwu(sb, sa, STATS_MWU_AUTO, &m);
    if (rc && rc != STATS_EDEGENERATE)
        goto done;
    rc = stats_ratio_ci(sa, sb, 0.95, &r);
    if (rc && rc != STATS_EDEGENERATE)
        goto done;
    *v = (verdict){.prev = prev,
                   .cur = cur,
                   .p = m.p,
                   .ratio = r.median_ratio,
                   .lo = r.hl.lo,
                   .hi = r.hl.hi,
                   .prev_median = stats_sample_median(sa),
                   .cur_median = stats_sample_median(sb)};
    ok = 1;
done:
    stats_sample_free(sa);
    stats_sample_free(sb);
    free(a);
    free(b);
    return ok;
}

/* The series of build index bi's predecessor with cur's key, or NULL. */
static const series *previous(const serieslist *l, const cbuilds *b, size_t at)
{
    const series *cur = &l->s[at];
    /* the previous build of the same service */
    size_t pb = cur->build;
    while (pb > 0 && b->v[pb - 1].service_id != b->v[cur->build].service_id)
        pb--;
    if (pb == 0)
        return NULL;
    pb--;
    for (size_t j = at; j > 0; j--) {
        const series *s = &l->s[j - 1];
        if (strcmp(s->suite, cur->suite) || strcmp(s->key, cur->key))
            break;
        if (s->build == pb)
            return s;
    }
    return NULL;
}

static json_t *verdict_json(dctx *c, const cbuilds *b, const verdict *v, const char *kind)
{
    const cbuild *cb = &b->v[v->cur->build], *pb = &b->v[v->prev->build];
    return json_pack("{s:s,s:s,s:s,s:o,s:o,s:f,s:f,s:f,s:f,s:f,s:f,s:f,s:I,s:I}", "kind", kind,
                     "suite", v->cur->suite, "name", v->cur->key, "build", build_json(c, cb),
                     "previous", build_json(c, pb), "prev_median_ms", v->prev_median / 1000,
                     "median_ms", v->cur_median / 1000, "ratio", v->ratio, "ratio_lo", v->lo,
                     "ratio_hi", v->hi, "p_value", v->p, "p_adjusted", v->p_adj, "runs",
                     (json_int_t)v->cur->n, "prev_runs", (json_int_t)v->prev->n);
}

/* Append the regressions among l's series to out; *compared counts the
 * comparisons made.  Returns 0 or EVD_ENOMEM. */
static int regressions_of(dctx *c, const cbuilds *b, const serieslist *l, const char *kind,
                          json_t *out, int64_t *compared)
{
    verdict *v = calloc(l->n ? l->n : 1, sizeof *v);
    double *p = calloc(l->n ? l->n : 1, sizeof *p);
    size_t nv = 0;
    int rc = 0;
    if (!v || !p) {
        rc = EVD_ENOMEM;
        goto done;
    }
    for (size_t i = 0; i < l->n; i++) {
        const series *prev = previous(l, b, i);
        if (prev && compare(prev, &l->s[i], &v[nv]))
            nv++;
    }
    *compared += (int64_t)nv;
    /* the correction runs over the comparisons of one build at a time */
    for (size_t bi = 0; bi < b->n; bi++) {
        size_t m = 0;
        for (size_t i = 0; i < nv; i++)
            if (v[i].cur->build == bi)
                p[m++] = v[i].p;
        if (!m || (rc = stats_bh(p, m, p)))
            continue;
        m = 0;
        for (size_t i = 0; i < nv; i++)
            if (v[i].cur->build == bi)
                v[i].p_adj = p[m++];
    }
    for (size_t i = 0; i < nv; i++)
        if (v[i].p_adj < ALPHA && v[i].lo > 1 && v[i].ratio >= MIN_RATIO)
            json_array_append_new(out, verdict_json(c, b, &v[i], kind));
done:
    free(v);
    free(p);
    return rc;
}

int api_ci_regressions(dctx *c)
{
    cbuilds b;
    if (!dash_tz(c) || builds_load(c, 20, &b))
        return 0;
    json_t *items = json_array();
    int64_t compared = 0;
    static const struct {
        int by;
        const char *kind;
    } kinds[] = {{STORE_CI_BY_TEST, "test"}, {STORE_CI_BY_ENDPOINT, "endpoint"}};
    for (size_t k = 0; k < 2; k++) {
        serieslist l;
        if (series_load(c, &b, kinds[k].by, &l)) {
            json_decref(items);
            builds_free(&b);
            return 0;
        }
        int rc = regressions_of(c, &b, &l, kinds[k].kind, items, &compared);
        series_free(&l);
        if (rc) {
            json_decref(items);
            builds_free(&b);
            return dash_error(c, 500, "out of memory");
        }
    }
    builds_free(&b);
    return dash_json(c, 200,
                     json_pack("{s:o,s:I,s:{s:f,s:f,s:i}}", "items", items, "compared",
                               (json_int_t)compared, "rule", "alpha", ALPHA, "min_ratio", MIN_RATIO,
                               "min_runs", MIN_RUNS));
}

/* ---- live vs CI per version -------------------------------------------------------- */

typedef struct cver {
    char *version, *label;
    int64_t first_us;
    int64_t *v;
    size_t n, cap;
} cver;

typedef struct cvers {
    cver *v;
    size_t n, cap;
} cvers;

static void cvers_free(cvers *l)
{
    for (size_t i = 0; i < l->n; i++) {
        free(l->v[i].version);
        free(l->v[i].label);
        free(l->v[i].v);
    }
    free(l->v);
}

static int ci_version_row(void *u, const store_ci_version_sample *s)
{
    cvers *l = u;
    cver *cur = l->n ? &l->v[l->n - 1] : NULL;
    if (!cur || strcmp(cur->version, s->version)) {
        cver *nv = grow(l->v, l->n, &l->cap, sizeof *nv);
        if (!nv)
            return EVD_ENOMEM;
        l->v = nv;
        cur = &l->v[l->n++];
        *cur = (cver){.version = strdup(s->version),
                      .label = strdup(s->label ? s->label : s->version),
                      .first_us = s->first_build_us};
        if (!cur->version || !cur->label)
            return EVD_ENOMEM;
    }
    int64_t *nv = grow(cur->v, cur->n, &cur->cap, sizeof *nv);
    if (!nv)
        return EVD_ENOMEM;
    cur->v = nv;
    cur->v[cur->n++] = s->duration_us;
    return 0;
}

typedef struct ep_find {
    const char *name;
    int64_t id, service_id;
    int found;
} ep_find;

static int ep_match(void *u, const store_endpoint_row *r)
{
    ep_find *f = u;
    if (strcmp(r->name, f->name))
        return 0;
    f->found++;
    f->id = r->id;
    f->service_id = r->service_id;
    return 0;
}

/* One row of the reply; live_ms < 0 or ci == NULL where a side is absent. */
static json_t *corr_row(const char *version, const char *label, double live_ms, const cver *ci)
{
    json_t *o = json_pack("{s:s,s:s}", "version", version, "label", label);
    boxstat b = {0};
    if (ci)
        box_from_values(ci->v, ci->n, &b);
    json_object_set_new(o, "live_median_ms", live_ms >= 0 ? json_real(live_ms) : json_null());
    json_object_set_new(o, "ci_median_ms", ci ? json_real(b.median / 1000) : json_null());
    json_object_set_new(o, "ci_samples", json_integer(ci ? (json_int_t)ci->n : 0));
    return o;
}

/* GET /api/ci/correlation?endpoint=NAME: per version, the endpoint's live
 * median (rollup sketches, ±1%) and CI median (exact, every call of every
 * build of that version), and Pearson's r across the versions with both. */
int api_ci_correlation(dctx *c)
{
    const char *name = dash_param(c, "endpoint");
    if (!name || !*name)
        return dash_error(c, 400, "endpoint: name the endpoint (?endpoint=NAME)");
    ep_find f = {.name = name};
    int rc = store_endpoints(c->st, &c->filter, STORE_EP_BY_NAME, ep_match, &f);
    if (rc)
        return dash_store_error(c, rc, "endpoints");
    if (f.found > 1)
        return dash_error(
            c, 400, "endpoint: %d services have an endpoint '%.80s'; add ?service=", f.found, name);
    cvers cv = {0};
    verlist vl = {0};
    agg_result ar = {0};
    int64_t service_id = f.found ? f.service_id : c->filter.service_id;
    if ((rc = store_ci_endpoint_samples(c->st, service_id, name, ci_version_row, &cv))) {
        cvers_free(&cv);
        return rc == EVD_ENOMEM ? dash_error(c, 500, "out of memory")
                                : dash_store_error(c, rc, "ci samples");
    }
    if (!f.found && !cv.n) {
        cvers_free(&cv);
        return dash_error(c, 404, "endpoint: no endpoint '%.80s', live or in CI", name);
    }
    if (vers_load(c, &vl) ||
        (f.found && agg_query(c, INT64_MIN / 4, INT64_MAX / 4, AG_VER, f.id, 1, &ar))) {
        vers_free(&vl);
        cvers_free(&cv);
        return 0;
    }
    json_t *rows = json_array();
    double *x = calloc(vl.n + cv.n + 1, sizeof *x), *y = calloc(vl.n + cv.n + 1, sizeof *y);
    char *used = calloc(cv.n + 1, 1);
    size_t both = 0;
    if (!x || !y || !used) {
        rc = EVD_ENOMEM;
        goto done;
    }
    /* live versions in the order first seen, then those only CI built */
    for (size_t i = 0; i < vl.n; i++) {
        const agg_acc *a = f.found ? agg_find(&ar, vl.v[i].id, 0) : NULL;
        const cver *ci = NULL;
        for (size_t k = 0; k < cv.n && !ci; k++)
            if (!strcmp(cv.v[k].version, vl.v[i].name)) {
                ci = &cv.v[k];
                used[k] = 1;
            }
        if ((!a || !a->count) && !ci)
            continue;
        double live = -1;
        if (a && a->count) {
            boxstat b;
            box_from_acc(a, &b);
            live = b.median / 1000;
        }
        json_t *row = corr_row(vl.v[i].name, vl.v[i].label, live, ci);
        if (live >= 0 && ci) {
            x[both] = live;
            y[both++] = json_real_value(json_object_get(row, "ci_median_ms"));
        }
        json_array_append_new(rows, row);
    }
    for (size_t k = 0; k < cv.n; k++)
        if (!used[k])
            json_array_append_new(rows, corr_row(cv.v[k].version, cv.v[k].label, -1, &cv.v[k]));
    double r = 0, p = 1;
    int prc = stats_pearson(x, y, both, &r, &p);
    json_t *doc =
        json_pack("{s:s,s:o,s:I}", "endpoint", name, "versions", rows, "paired", (json_int_t)both);
    rows = NULL;
    /* fewer than three versions with both, or a constant side: no r */
    json_object_set_new(doc, "pearson_r", prc ? json_null() : json_real(r));
    json_object_set_new(doc, "p_value", prc ? json_null() : json_real(p));
    rc = dash_json(c, 200, doc);
done:
    json_decref(rows);
    free(x);
    free(y);
    free(used);
    agg_free(&ar);
    vers_free(&vl);
    cvers_free(&cv);
    if (rc == EVD_ENOMEM)
        return dash_error(c, 500, "out of memory");
    return 0;
}

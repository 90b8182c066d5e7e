/* api_compare.c — GET /api/compare (two versions or two time ranges, per
 * endpoint and per user group) and GET /api/endpoints/{id}/profile_diff
 * (the grouped call trees of two versions, and how each function's share
 * of the time changed).
 *
 * Each side's requests, median and p95 come from the rollup sketches (all
 * requests, ±1%).  The test and the ratio's CI (Mann-Whitney U,
 * Hodges-Lehmann ratio with Moses' CI) use every raw duration of a side
 * when it has at most SAMPLE_CAP requests and their raw rows are still
 * there, else the sketches, which hold every request (values binned
 * within 1%); "method" says which.  Per user group: raw samples (the
 * side's rows when read for the test, else its newest GROUP_SAMPLE)
 * pooled over endpoints. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "evodash.h"
#include "core/sketch.h"
#include "dash/dash_int.h"
#include "dash/findings.h"
#include "stats/stats.h"
#include "store/read.h"
#include "store/read_verdicts.h"

#define HOUR_US      3600000000LL
#define SAMPLE_CAP   5000
#define GROUP_SAMPLE 1000
#define MEMBERS_MAX  32
#define GROUPS_MAX   50
#define PROF_REQS    500

/* ---- sides ------------------------------------------------------------------------- */

typedef struct side {
    int version; /* index into the version list, or -1 for a time range */
    int64_t from_us, to_us;
} side;

/* Version s (an id, a name or a label) into *idx; replies 400 and returns
 * -1 when there is none. */
static int find_version(dctx *c, const verlist *vl, const char *key, const char *s, int *idx)
{
    char *end;
    long long id = strtoll(s, &end, 10);
    for (size_t i = 0; i < vl->n; i++)
        if ((!*end && *s && vl->v[i].id == id) || !strcmp(vl->v[i].name, s) ||
            !strcmp(vl->v[i].label, s)) {
            *idx = (int)i;
            return 0;
        }
    return dash_error(c, 404, "%s: no version '%.60s'", key, s), -1;
}

/* ?a=&b= (versions, within ?from=&to=) or ?a_from=&a_to=&b_from=&b_to=. */
static int parse_sides(dctx *c, const verlist *vl, side *a, side *b, const tz_zone **tz)
{
    const char *va = dash_param(c, "a"), *vb = dash_param(c, "b");
    drange r;
    if (dash_range(c, 0, &r))
        return -1;
    *tz = r.tz;
    if (va || vb) {
        if (!va || !vb)
            return dash_error(c, 400, "give both a and b (version ids or names)"), -1;
        *a = (side){.from_us = r.from_us, .to_us = r.to_us};
        *b = *a;
        return find_version(c, vl, "a", va, &a->version) ||
                       find_version(c, vl, "b", vb, &b->version)
                   ? -1
                   : 0;
    }
    /* two ranges: reuse dash_range's parsing by renaming the keys */
    static const char *const keys[2][2] = {{"a_from", "a_to"}, {"b_from", "b_to"}};
    side *sd[2] = {a, b};
    for (int k = 0; k < 2; k++) {
        const char *f = dash_param(c, keys[k][0]), *t = dash_param(c, keys[k][1]);
        if (!f || !t)
            return dash_error(c, 400,
                              "give a and b (versions), or a_from, a_to, b_from and b_to (ranges)"),
                   -1;
        int64_t v[2];
        for (int j = 0; j < 2; j++) {
            const char *s = j ? t : f;
            char *end;
            long long n = strtoll(s, &end, 10);
            if (*end || !*s)
                return dash_error(c, 400, "%s: expected epoch seconds, got '%.40s'", keys[k][j], s),
                       -1;
            v[j] = (int64_t)n * 1000000;
        }
        if (v[0] >= v[1])
            return dash_error(c, 400, "%s is not before %s", keys[k][0], keys[k][1]), -1;
        *sd[k] = (side){.version = -1, .from_us = v[0], .to_us = v[1]};
    }
    return 0;
}

static json_t *side_json(const verlist *vl, const side *s, const tz_zone *tz)
{
    if (s->version >= 0) {
        const dver *v = &vl->v[s->version];
        return json_pack("{s:s,s:I,s:s,s:s}", "kind", "version", "id", (json_int_t)v->id, "name",
                         v->name, "label", v->label);
    }
    return json_pack("{s:s,s:o,s:o}", "kind", "range", "from", dash_time(tz, s->from_us), "to",
                     dash_time(tz, s->to_us));
}

/* The rollups of a side, per endpoint (k1 = endpoint). */
static int side_agg(dctx *c, const verlist *vl, const side *s, agg_result *out)
{
    int64_t h0 = s->from_us / HOUR_US - (s->from_us % HOUR_US < 0);
    int64_t h1 = (s->to_us + HOUR_US - 1) / HOUR_US;
    if (s->version < 0)
        return agg_query(c, h0, h1, AG_EP, -1, 1, out);
    agg_result all;
    if (agg_query(c, h0, h1, AG_VER_EP, -1, 1, &all))
        return -1;
    /* keep the side's version, re-keyed by endpoint */
    *out = all;
    int64_t vid = vl->v[s->version].id;
    size_t n = 0;
    for (size_t i = 0; i < all.n; i++) {
        if (all.v[i].k1 != vid) {
            free(all.v[i].sk);
            continue;
        }
        all.v[n] = all.v[i];
        all.v[n].k1 = all.v[i].k2;
        all.v[n].k2 = 0;
        n++;
    }
    out->n = n;
    free(out->slot); /* agg_find hashes; rebuilt as a linear list */
    out->slot = NULL;
    out->nslot = 0;
    return 0;
}

static const agg_acc *acc_of(const agg_result *r, int64_t ep)
{
    for (size_t i = 0; i < r->n; i++)
        if (r->v[i].k1 == ep && r->v[i].count > 0)
            return &r->v[i];
    return NULL;
}

/* ---- raw samples ------------------------------------------------------------------- */

typedef struct srow {
    char *group;
    double dur;
} srow;
typedef struct svec {
    srow *v;
    size_t n, cap;
} svec;

static int srow_cb(void *u, const store_sample_row *r)
{
    svec *s = u;
    if (s->n == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 1024;
        srow *nv = realloc(s->v, cap * sizeof *nv);
        if (!nv)
            return EVD_ENOMEM;
        s->v = nv;
        s->cap = cap;
    }
    s->v[s->n].dur = r->duration_us > 0 ? (double)r->duration_us : 1.0;
    if (!(s->v[s->n].group = strdup(r->group)))
        return EVD_ENOMEM;
    s->n++;
    return 0;
}

static void svec_free(svec *s)
{
    for (size_t i = 0; i < s->n; i++)
        free(s->v[i].group);
    free(s->v);
    *s = (svec){0};
}

static int sample(dctx *c, const verlist *vl, const side *s, int64_t ep, size_t cap, svec *out)
{
    int64_t ids[MEMBERS_MAX];
    size_t nm = 0;
    int64_t from = s->from_us, to = s->to_us, vid = 0;
    if (s->version >= 0) {
        const dver *v = &vl->v[s->version];
        vid = v->id;
        if (v->first_us > from)
            from = v->first_us;
        if (v->last_us + 1 < to)
            to = v->last_us + 1;
    }
    int rc = store_endpoint_members(c->st, ep, ids, MEMBERS_MAX, &nm);
    for (size_t i = 0; !rc && i < nm && out->n < cap; i++)
        rc = store_raw_newest(c->st, ids[i], vid, from, to, (int64_t)(cap - out->n), srow_cb, out);
    return rc;
}

static int to_sample(const svec *s, stats_sample **out)
{
    double *v = malloc((s->n ? s->n : 1) * sizeof *v);
    if (!v)
        return EVD_ENOMEM;
    for (size_t i = 0; i < s->n; i++)
        v[i] = s->v[i].dur;
    int rc = stats_sample_new(v, s->n, out);
    free(v);
    return rc;
}

/* ---- /api/compare ------------------------------------------------------------------ */

static json_t *status_mix(const agg_acc *a)
{
    return json_pack("{s:I,s:I,s:I,s:I,s:I,s:I}", "1xx", (json_int_t)a->cls[1], "2xx",
                     (json_int_t)a->cls[2], "3xx", (json_int_t)a->cls[3], "4xx",
                     (json_int_t)a->cls[4], "5xx", (json_int_t)a->cls[5], "other",
                     (json_int_t)a->cls[0]);
}

static json_t *side_stats(const agg_acc *a)
{
    if (!a)
        return json_pack("{s:i,s:n,s:n}", "requests", 0, "median_us", "p95_us");
    return json_pack("{s:I,s:f,s:f,s:o}", "requests", (json_int_t)a->count, "median_us",
                     a->sk ? sketch_quantile(a->sk, 0.5) : 0.0, "p95_us",
                     a->sk ? sketch_quantile(a->sk, 0.95) : 0.0, "status", status_mix(a));
}

/* Per user group of one grouping (groupings.c), over the pooled samples. */
typedef struct grp {
    const char *group; /* the value, group[0..len) */
    size_t len;
    double dur;
    int side;
} grp;

static int grp_cmp(const void *x, const void *y)
{
    const grp *a = x, *b = y;
    int c = groupings_cmp(a->group, a->len, b->group, b->len);
    return c ? c : (a->side - b->side);
}

static int same_group(const grp *a, const grp *b)
{
    return a->len == b->len && !memcmp(a->group, b->group, a->len);
}

/* The groupings the samples name, in the order first seen (each side's
 * newest rows first); ["group"] when they name none. */
static json_t *groupings_of(const svec *sa, const svec *sb)
{
    json_t *names = json_array();
    const svec *sv[2] = {sa, sb};
    for (int k = 0; names && k < 2; k++)
        for (size_t i = 0; i < sv[k]->n; i++) {
            grouping_part part[GROUPINGS_PARTS_MAX];
            size_t np = groupings_split(sv[k]->v[i].group, part, GROUPINGS_PARTS_MAX);
            for (size_t j = 0; j < np; j++) {
                size_t x, seen = 0;
                json_t *nm;
                json_array_foreach(names, x, nm)
                {
                    seen |= json_string_length(nm) == part[j].nlen &&
                            !memcmp(json_string_value(nm), part[j].name, part[j].nlen);
                }
                if (!seen)
                    json_array_append_new(names, json_stringn(part[j].name, part[j].nlen));
            }
        }
    if (names && !json_array_size(names))
        json_array_append_new(names, json_string(GROUPING_UNNAMED));
    return names;
}

static int dcmp(const void *x, const void *y)
{
    double a = *(const double *)x, b = *(const double *)y;
    return (a > b) - (a < b);
}

static double med(double *v, size_t n)
{
    qsort(v, n, sizeof *v, dcmp);
    return n ? (n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2) : 0;
}

static int grp_count_cmp(const void *x, const void *y)
{
    int64_t a = json_integer_value(json_object_get(*(json_t *const *)x, "requests_total"));
    int64_t b = json_integer_value(json_object_get(*(json_t *const *)y, "requests_total"));
    return (a < b) - (a > b);
}

static json_t *groups_json(const svec *sa, const svec *sb, const char *grouping)
{
    size_t n = sa->n + sb->n;
    grp *g = malloc((n ? n : 1) * sizeof *g);
    double *v = malloc((n ? n : 1) * sizeof *v);
    json_t *items = json_array();
    if (!g || !v || !items) {
        free(g);
        free(v);
        json_decref(items);
        return NULL;
    }
    size_t k = 0;
    const svec *sv[2] = {sa, sb};
    for (int sd = 0; sd < 2; sd++)
        for (size_t i = 0; i < sv[sd]->n; i++) {
            grp x = {.dur = sv[sd]->v[i].dur, .side = sd};
            /* the requests naming no group of it are not a group */
            if (groupings_value(sv[sd]->v[i].group, grouping, &x.group, &x.len) && x.len)
                g[k++] = x;
        }
    qsort(g, k, sizeof *g, grp_cmp);
    for (size_t s = 0; s < k;) {
        size_t t = s, mid;
        while (t < k && same_group(&g[t], &g[s]))
            t++;
        for (mid = s; mid < t && g[mid].side == 0; mid++)
            ;
        for (size_t i = s; i < t; i++)
            v[i - s] = g[i].dur;
        double ma = med(v, mid - s), mb = med(v + (mid - s), t - mid);
        json_t *o =
            json_pack("{s:s#,s:I,s:{s:I,s:f},s:{s:I,s:f}}", "group", g[s].group, g[s].len,
                      "requests_total", (json_int_t)(t - s), "a", "requests", (json_int_t)(mid - s),
                      "median_us", ma, "b", "requests", (json_int_t)(t - mid), "median_us", mb);
        if (o)
            json_object_set_new(o, "ratio",
                                mid > s && t > mid && ma > 0 ? json_real(mb / ma) : json_null());
        json_array_append_new(items, o);
        s = t;
    }
    /* the busiest groups only */
    size_t ni = json_array_size(items);
    json_t **arr = malloc((ni ? ni : 1) * sizeof *arr);
    json_t *out = json_array();
    if (arr && out) {
        for (size_t i = 0; i < ni; i++)
            arr[i] = json_array_get(items, i);
        qsort(arr, ni, sizeof *arr, grp_count_cmp);
        for (size_t i = 0; i < ni && i < GROUPS_MAX; i++) {
            json_object_del(arr[i], "requests_total");
            json_array_append(out, arr[i]);
        }
    }
    free(arr);
    free(g);
    free(v);
    json_decref(items);
    return out;
}

static int append_svec(svec *dst, svec *src)
{
    if (!src->n) {
        svec_free(src);
        return 0;
    }
    if (dst->n + src->n > dst->cap) {
        size_t cap = dst->n + src->n + 1024;
        srow *nv = realloc(dst->v, cap * sizeof *nv);
        if (!nv)
            return EVD_ENOMEM;
        dst->v = nv;
        dst->cap = cap;
    }
    if (src->n)
        memcpy(dst->v + dst->n, src->v, src->n * sizeof *src->v);
    dst->n += src->n;
    free(src->v);
    *src = (svec){0};
    return 0;
}

typedef struct epname {
    int64_t id;
    char *name;
} epname;
typedef struct eplist2 {
    epname *v;
    size_t n;
} eplist2;

static int epname_row(void *u, const store_endpoint_row *r)
{
    eplist2 *l = u;
    epname *nv = realloc(l->v, (l->n + 1) * sizeof *nv);
    if (!nv)
        return EVD_ENOMEM;
    l->v = nv;
    l->v[l->n].id = r->id;
    if (!(l->v[l->n].name = strdup(r->name)))
        return EVD_ENOMEM;
    l->n++;
    return 0;
}

/* One endpoint's row of the comparison; its samples go to the pools. */
static int compare_endpoint(dctx *c, const verlist *vl, const side *sa, const side *sb,
                            const epname *e, const agg_acc *a, const agg_acc *b, svec *pool_a,
                            svec *pool_b, json_t *rows, double *p_out)
{
    svec xa = {0}, xb = {0};
    stats_sample *ta = NULL, *tb = NULL;
    /* all of a side's rows when it is small enough for the raw test */
    int small = a && b && a->count <= SAMPLE_CAP && b->count <= SAMPLE_CAP;
    int rc = sample(c, vl, sa, e->id, small ? SAMPLE_CAP : GROUP_SAMPLE, &xa);
    if (!rc)
        rc = sample(c, vl, sb, e->id, small ? SAMPLE_CAP : GROUP_SAMPLE, &xb);
    if (rc)
        goto done;
    json_t *row = json_pack("{s:I,s:s,s:o,s:o}", "endpoint_id", (json_int_t)e->id, "endpoint",
                            e->name, "a", side_stats(a), "b", side_stats(b));
    if (!row) {
        rc = EVD_ENOMEM;
        goto done;
    }
    *p_out = 1;
    const char *change = !a ? "appeared" : !b ? "vanished" : "same";
    if (a && b) {
        /* raw rows pruned (fewer than the rollups count): the sketches */
        int raw = small && xa.n >= 2 && xb.n >= 2 && (double)xa.n >= 0.9 * (double)a->count &&
                  (double)xb.n >= 0.9 * (double)b->count;
        stats_mwu_result m = {.p = 1};
        stats_ratio r = {.median_ratio = 1};
        int mr, cr;
        if (raw) {
            if ((rc = to_sample(&xa, &ta)) || (rc = to_sample(&xb, &tb))) {
                json_decref(row);
                goto done;
            }
            mr = stats_mwu(tb, ta, STATS_MWU_AUTO, &m);
            cr = stats_ratio_ci(ta, tb, 0.95, &r);
        } else {
            mr = a->sk && b->sk ? stats_mwu_sketch(b->sk, a->sk, STATS_MWU_AUTO, &m) : -1;
            cr = a->sk && b->sk ? stats_ratio_ci_sketch(a->sk, b->sk, 0.95, &r) : -1;
        }
        json_object_set_new(row, "method", json_string(raw ? "raw" : "sketch"));
        json_object_set_new(row, "ratio", json_real(r.median_ratio));
        json_object_set_new(row, "ratio_ci95",
                            cr == 0 ? json_pack("[f,f]", r.hl.lo, r.hl.hi) : json_null());
        json_object_set_new(row, "p_value",
                            mr == 0 || mr == STATS_EDEGENERATE ? json_real(m.p) : json_null());
        json_object_set_new(row, "sample",
                            json_pack("{s:I,s:I}", "a", (json_int_t)xa.n, "b", (json_int_t)xb.n));
        *p_out = mr == 0 ? m.p : 1;
    }
    json_object_set_new(row, "change", json_string(change));
    json_array_append_new(rows, row);
    if (!(rc = append_svec(pool_a, &xa)))
        rc = append_svec(pool_b, &xb);
done:
    stats_sample_free(ta);
    stats_sample_free(tb);
    svec_free(&xa);
    svec_free(&xb);
    return rc;
}

int api_compare(dctx *c)
{
    verlist vl;
    side sa, sb;
    const tz_zone *tz;
    agg_result ra = {0}, rb = {0};
    eplist2 eps = {0};
    svec pa = {0}, pb = {0};
    json_t *rows = json_array(), *appeared = json_array(), *vanished = json_array();
    double *pv = NULL;
    int rc = 0, replied = 0;
    if (vers_load(c, &vl))
        return 0;
    if (parse_sides(c, &vl, &sa, &sb, &tz) || side_agg(c, &vl, &sa, &ra)) {
        replied = 1;
        goto done;
    }
    if (side_agg(c, &vl, &sb, &rb)) {
        replied = 1;
        goto done;
    }
    if ((rc = store_endpoints(c->st, &c->filter, STORE_EP_BY_NAME, epname_row, &eps)))
        goto done;
    if (!(pv = malloc((eps.n ? eps.n : 1) * sizeof *pv))) {
        rc = EVD_ENOMEM;
        goto done;
    }
    size_t np = 0;
    for (size_t i = 0; !rc && i < eps.n; i++) {
        const agg_acc *a = acc_of(&ra, eps.v[i].id), *b = acc_of(&rb, eps.v[i].id);
        if (!a && !b)
            continue;
        rc = compare_endpoint(c, &vl, &sa, &sb, &eps.v[i], a, b, &pa, &pb, rows, &pv[np]);
        if (a && b)
            np++; /* only the endpoints on both sides were tested */
        if (!a)
            json_array_append_new(appeared, json_string(eps.v[i].name));
        if (!b)
            json_array_append_new(vanished, json_string(eps.v[i].name));
    }
    if (rc)
        goto done;
    /* Holm across the endpoints compared */
    if (np && (rc = stats_holm(pv, np, pv)))
        goto done;
    size_t i, t = 0;
    json_t *row;
    json_array_foreach(rows, i, row)
    {
        int tested = json_object_get(row, "method") != NULL;
        json_object_set_new(row, "p_holm", tested ? json_real(pv[t]) : json_null());
        /* a change is what the test holds after Holm, at the findings'
         * level; its direction the ratio's */
        if (tested && pv[t] < FINDINGS_ALPHA_DEF) {
            double ratio = json_real_value(json_object_get(row, "ratio"));
            json_object_set_new(row, "change", json_string(ratio > 1 ? "slower" : "faster"));
        }
        t += tested;
    }
    /* the groups table shows one grouping: ?grouping=, else the first */
    json_t *names = groupings_of(&pa, &pb);
    const char *grouping = dash_param(c, "grouping");
    if (!grouping || !*grouping)
        grouping = json_string_value(json_array_get(names, 0));
    if (!grouping)
        grouping = GROUPING_UNNAMED;
    json_t *doc =
        json_pack("{s:o,s:o,s:O,s:O,s:O,s:o,s:{s:s,s:s,s:s}}", "a", side_json(&vl, &sa, tz), "b",
                  side_json(&vl, &sb, tz), "endpoints", rows, "appeared", appeared, "vanished",
                  vanished, "groups", groups_json(&pa, &pb, grouping), "methods", "quantiles",
                  "rollup sketches (every request, within 1%)", "tests",
                  "raw: every request of each side when it has at most 5000 and they are kept, "
                  "else the sketches",
                  "groups", "the raw samples, pooled over endpoints");
    if (doc) {
        json_object_set_new(doc, "grouping", json_string(grouping));
        json_object_set(doc, "groupings", names);
    }
    json_decref(names);
    rc = dash_json(c, 200, doc);
    replied = 1;
done:
    if (rc && !replied)
        rc == EVD_ENOMEM ? dash_error(c, 500, "out of memory")
                         : dash_store_error(c, rc, "comparing");
    for (size_t k = 0; k < eps.n; k++)
        free(eps.v[k].name);
    free(eps.v);
    free(pv);
    svec_free(&pa);
    svec_free(&pb);
    agg_free(&ra);
    agg_free(&rb);
    vers_free(&vl);
    json_decref(rows);
    json_decref(appeared);
    json_decref(vanished);
    return 0;
}

/* ---- /api/endpoints/{id}/profile_diff -------------------------------------------- */

/* One node of the merged call tree: a function under its parent. */
typedef struct pnode {
    char *fn, *file;
    int parent, child, next; /* indexes; -1 none */
    int64_t us[2];           /* inclusive time per side */
} pnode;

typedef struct ptree {
    pnode *v;
    int n, cap;
    int side;
    int64_t req, reqs[2];
    int stack[256]; /* the current request's path, by indent */
} ptree;

static int pnode_child(ptree *t, int parent, const char *fn, const char *file)
{
    for (int k = parent >= 0 ? t->v[parent].child : -1; k >= 0; k = t->v[k].next)
        if (!strcmp(t->v[k].fn, fn) && !strcmp(t->v[k].file, file))
            return k;
    if (t->n == t->cap) {
        int cap = t->cap ? t->cap * 2 : 256;
        pnode *nv = realloc(t->v, (size_t)cap * sizeof *nv);
        if (!nv)
            return -1;
        t->v = nv;
        t->cap = cap;
    }
    pnode *nd = &t->v[t->n];
    *nd = (pnode){.fn = strdup(fn), .file = strdup(file), .parent = parent, .child = -1};
    if (!nd->fn || !nd->file) {
        free(nd->fn);
        free(nd->file);
        return -1;
    }
    if (parent >= 0) {
        nd->next = t->v[parent].child;
        t->v[parent].child = t->n;
    } else
        nd->next = -1;
    return t->n++;
}

static int pnode_row(void *u, const store_pnode_row *r)
{
    ptree *t = u;
    if (r->request_id != t->req) {
        t->req = r->request_id;
        t->reqs[t->side]++;
    }
    int d = r->indent < 0 ? 0 : r->indent > 254 ? 254 : r->indent;
    t->stack[0] = 0;
    int parent = t->stack[d];
    if (parent < 0 || parent >= t->n)
        parent = 0;
    int k = pnode_child(t, parent, r->function, r->file);
    if (k < 0)
        return EVD_ENOMEM;
    t->v[k].us[t->side] += r->duration_us;
    if (d == 0)
        t->v[0].us[t->side] += r->duration_us;
    t->stack[d + 1] = k;
    return 0;
}

static double share(const ptree *t, int k, int s)
{
    return t->v[0].us[s] > 0 ? (double)t->v[k].us[s] / (double)t->v[0].us[s] : 0;
}

static json_t *pnode_json(const ptree *t, int k)
{
    const pnode *nd = &t->v[k];
    double a = share(t, k, 0), b = share(t, k, 1);
    json_t *kids = json_array();
    for (int x = nd->child; x >= 0; x = t->v[x].next)
        json_array_append_new(kids, pnode_json(t, x));
    return json_pack("{s:s,s:s,s:I,s:I,s:f,s:f,s:f,s:o}", "function", nd->fn, "file", nd->file,
                     "a_us", (json_int_t)nd->us[0], "b_us", (json_int_t)nd->us[1], "a_share", a,
                     "b_share", b, "delta", b - a, "children", kids);
}

/* Self time per function (inclusive minus its children), summed over the
 * tree: the function whose share of self time grew (shrank) most. */
static json_t *self_change(const ptree *t, int grew)
{
    int best = -1;
    double best_d = 0, best_a = 0, best_b = 0;
    for (int k = 1; k < t->n; k++) {
        double self[2] = {0, 0};
        /* the same function elsewhere in the tree counts with it */
        int first = 1;
        for (int j = 1; j < k && first; j++)
            if (!strcmp(t->v[j].fn, t->v[k].fn))
                first = 0;
        if (!first)
            continue;
        for (int j = 1; j < t->n; j++) {
            if (strcmp(t->v[j].fn, t->v[k].fn))
                continue;
            for (int s = 0; s < 2; s++) {
                double kids = 0;
                for (int x = t->v[j].child; x >= 0; x = t->v[x].next)
                    kids += (double)t->v[x].us[s];
                double v = (double)t->v[j].us[s] - kids;
                self[s] += v > 0 ? v : 0;
            }
        }
        double a = t->v[0].us[0] > 0 ? self[0] / (double)t->v[0].us[0] : 0;
        double b = t->v[0].us[1] > 0 ? self[1] / (double)t->v[0].us[1] : 0;
        double d = b - a;
        if (best < 0 || (grew ? d > best_d : d < best_d)) {
            best = k;
            best_d = d;
            best_a = a;
            best_b = b;
        }
    }
    if (best < 0)
        return json_null();
    return json_pack("{s:s,s:s,s:f,s:f,s:f}", "function", t->v[best].fn, "file", t->v[best].file,
                     "a_self_share", best_a, "b_self_share", best_b, "delta", best_d);
}

int api_profile_diff(dctx *c)
{
    char name[512];
    verlist vl;
    drange r;
    int ia, ib;
    ptree t = {0};
    if (dash_endpoint_exists(c, name, sizeof name) || dash_range(c, 0, &r))
        return 0;
    const char *va = dash_param(c, "a"), *vb = dash_param(c, "b");
    if (!va || !vb)
        return dash_error(c, 400, "give a and b (version ids or names)");
    if (vers_load(c, &vl))
        return 0;
    int rc = 0;
    if (find_version(c, &vl, "a", va, &ia) || find_version(c, &vl, "b", vb, &ib))
        goto done;
    if (pnode_child(&t, -1, "all", "") != 0) {
        rc = EVD_ENOMEM;
        goto done;
    }
    for (int s = 0; s < 2 && !rc; s++) {
        t.side = s;
        t.req = -1;
        rc = store_profile_nodes(c->st, c->id, vl.v[s ? ib : ia].id, r.from_us, r.to_us, PROF_REQS,
                                 pnode_row, &t);
    }
    if (rc)
        goto done;
    json_t *grew = self_change(&t, 1);
    json_t *doc = json_pack(
        "{s:I,s:s,s:{s:I,s:s,s:s,s:I,s:I},s:{s:I,s:s,s:s,s:I,s:I},s:o,s:o,s:o,s:s}", "endpoint_id",
        (json_int_t)c->id, "endpoint", name, "a", "id", (json_int_t)vl.v[ia].id, "name",
        vl.v[ia].name, "label", vl.v[ia].label, "requests", (json_int_t)t.reqs[0], "total_us",
        (json_int_t)t.v[0].us[0], "b", "id", (json_int_t)vl.v[ib].id, "name", vl.v[ib].name,
        "label", vl.v[ib].label, "requests", (json_int_t)t.reqs[1], "total_us",
        (json_int_t)t.v[0].us[1], "tree", pnode_json(&t, 0), "grew_most", grew, "shrank_most",
        self_change(&t, 0), "share", "of the side's total profiled time");
    dash_json(c, 200, doc);
done:
    if (rc)
        rc == EVD_ENOMEM ? dash_error(c, 500, "out of memory")
                         : dash_store_error(c, rc, "reading profiles");
    for (int k = 0; k < t.n; k++) {
        free(t.v[k].fn);
        free(t.v[k].file);
    }
    free(t.v);
    vers_free(&vl);
    return 0;
}

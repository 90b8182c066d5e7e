/* api_aggregate.c — the views over all endpoints.  Every number here comes
 * from the hourly rollups, never the raw rows, so the views cost the same
 * with a day or years of traffic.  Ranges are therefore hour-granular:
 * [from, to) covers every UTC hour that starts inside it.
 *
 * Local-time bucketing maps each UTC rollup hour to the local hour it starts
 * in, using the zone's offset at that instant (tz.c); zones with
 * half-hour offsets put each UTC hour in the local hour it starts in. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "evodash.h"
#include "core/clock.h"
#include "dash/colour.h"
#include "core/sketch.h"
#include "agent/callbacks.h"
#include "dash/dash_int.h"
#include "store/read.h"
#include "store/read_verdicts.h"

#define HOUR_US  3600000000LL
#define MAX_DAYS 3700

/* ---- helpers ---------------------------------------------------------------- */

static int64_t floordiv(int64_t a, int64_t b)
{
    return a / b - (a % b != 0 && (a < 0) != (b < 0));
}

/* First and one-past-last rollup hour of a range. */
static void hour_span(const drange *r, int64_t *h0, int64_t *h1)
{
    *h0 = floordiv(r->from_us, HOUR_US);
    *h1 = floordiv(r->to_us + HOUR_US - 1, HOUR_US);
}

/* Endpoint names by id, sorted, for joining query results in C. */
typedef struct ep {
    int64_t id;
    char *name;
    char colour[8];
} ep;
typedef struct eplist {
    ep *v;
    size_t n;
} eplist;

static void eps_free(eplist *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->v[i].name);
    free(l->v);
    l->v = NULL;
    l->n = 0;
}

typedef struct eps_ctx {
    eplist *l;
    size_t cap;
} eps_ctx;

static int eps_row(void *u, const store_endpoint_row *r)
{
    eps_ctx *x = u;
    eplist *l = x->l;
    if (l->n == x->cap) {
        size_t cap = x->cap ? x->cap * 2 : 64;
        ep *nv = realloc(l->v, cap * sizeof *nv);
        if (!nv)
            return EVD_ENOMEM;
        l->v = nv;
        x->cap = cap;
    }
    ep *e = &l->v[l->n];
    e->id = r->id;
    if (!(e->name = strdup(r->name)))
        return EVD_ENOMEM;
    colour_of(e->name, e->colour);
    l->n++;
    return 0;
}

/* The endpoints of the view (its service's, or all), by id. */
static int eps_load(dctx *c, eplist *l)
{
    eps_ctx x = {l, 0};
    l->v = NULL;
    l->n = 0;
    int rc = store_endpoints(c->st, &c->filter, STORE_EP_BY_ID, eps_row, &x);
    if (rc) {
        eps_free(l);
        return rc == EVD_ENOMEM ? dash_error(c, 500, "out of memory"),
               -1               : dash_store_error(c, rc, "reading endpoints"), -1;
    }
    return 0;
}

/* ---- the cache, narrowed to the view -------------------------------------------- */

static int id_row(void *u, const store_endpoint_row *r)
{
    dctx *c = u;
    int64_t *nv = realloc(c->svc_eps, (c->nsvc_eps + 1) * sizeof *nv);
    if (!nv)
        return EVD_ENOMEM;
    c->svc_eps = nv;
    c->svc_eps[c->nsvc_eps++] = r->id;
    return 0;
}

/* Fill q's filter from the request: the service's endpoints, loaded once
 * per request.  On failure replies and returns -1. */
static int ask_for(dctx *c, agg_ask *q)
{
    q->f = &c->filter;
    q->eps = NULL;
    q->neps = 0;
    if (!c->filter.service_id)
        return 0;
    if (!c->svc_eps_loaded) {
        int rc = store_endpoints(c->st, &c->filter, STORE_EP_BY_ID, id_row, c);
        if (rc)
            return dash_store_error(c, rc, "reading the service's endpoints"), -1;
        c->svc_eps_loaded = 1;
    }
    q->eps = c->svc_eps;
    q->neps = c->nsvc_eps;
    if (!q->eps) /* a service with no endpoint: nothing matches */
        q->eps = c->inst_ids;
    return 0;
}

int agg_query(dctx *c, int64_t h0, int64_t h1, int group, int64_t only_ep, int want_sketch,
              agg_result *out)
{
    agg_ask q = {
        .h0 = h0, .h1 = h1, .only_ep = only_ep, .group = group, .want_sketch = want_sketch};
    memset(out, 0, sizeof *out);
    if (ask_for(c, &q))
        return -1;
    int rc = aggcache_query(c->d->aggcache, c->st, &q, out);
    if (rc)
        return dash_store_error(c, rc, "aggregating rollups"), -1;
    return 0;
}

int agg_hourly(dctx *c, int64_t h0, int64_t h1, int64_t only_ep,
               void (*cb)(void *u, int64_t ep, int64_t hour, int64_t count), void *u)
{
    agg_ask q = {.h0 = h0, .h1 = h1, .only_ep = only_ep};
    if (ask_for(c, &q))
        return -1;
    int rc = aggcache_hourly(c->d->aggcache, c->st, &q, cb, u);
    if (rc)
        return dash_store_error(c, rc, "hourly counts"), -1;
    return 0;
}

static ep *eps_find(const eplist *l, int64_t id)
{
    size_t lo = 0, hi = l->n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (l->v[mid].id < id)
            lo = mid + 1;
        else if (l->v[mid].id > id)
            hi = mid;
        else
            return &l->v[mid];
    }
    return NULL;
}

static json_t *ep_head(const ep *e)
{
    return json_pack("{s:I,s:s,s:s}", "endpoint_id", (json_int_t)e->id, "name", e->name, "colour",
                     e->colour);
}

/* ---- overview ---------------------------------------------------------------- */

/* Fill hits/errors/median/p90 of one window into each endpoint's object. */
static int overview_window(dctx *c, json_t *byid, const char *win, int64_t h0, int64_t h1)
{
    agg_result ar;
    if (agg_query(c, h0, h1, AG_EP, -1, 1, &ar))
        return -1;
    for (size_t i = 0; i < ar.n; i++) {
        const agg_acc *a = &ar.v[i];
        char key[24];
        snprintf(key, sizeof key, "%lld", (long long)a->k1);
        json_t *o = json_object_get(byid, key);
        if (!o || !a->count)
            continue;
        json_object_set_new(json_object_get(o, "hits"), win, json_integer(a->count));
        json_object_set_new(json_object_get(o, "errors"), win, json_integer(a->cls[4] + a->cls[5]));
        json_object_set_new(json_object_get(o, "median_us"), win,
                            a->sk ? json_real(sketch_quantile(a->sk, 0.5)) : json_null());
        json_object_set_new(json_object_get(o, "p90_us"), win,
                            a->sk ? json_real(sketch_quantile(a->sk, 0.9)) : json_null());
    }
    agg_free(&ar);
    return 0;
}

typedef struct overview_ctx {
    const tz_zone *tz;
    json_t *items, *byid;
} overview_ctx;

static int overview_row(void *u, const store_endpoint_row *r)
{
    overview_ctx *x = u;
    char col[8], key[24];
    colour_of(r->name, col);
    json_t *z3 = json_pack("{s:i,s:i,s:i}", "today", 0, "week", 0, "overall", 0);
    json_t *e3 = json_pack("{s:i,s:i,s:i}", "today", 0, "week", 0, "overall", 0);
    json_t *m3 = json_pack("{s:n,s:n,s:n}", "today", "week", "overall");
    json_t *p3 = json_pack("{s:n,s:n,s:n}", "today", "week", "overall");
    json_t *o = json_pack(
        "{s:I,s:s,s:s,s:s?,s:s?,s:i,s:s,s:o,s:I,s:o,s:o,s:o,s:o}", "id", (json_int_t)r->id, "name",
        r->name, "service", r->service, "rule", r->rule, "methods", r->methods, "level", r->level,
        "colour", col, "last_access", dash_time(x->tz, r->last_access_us), "dropped",
        (json_int_t)r->dropped, "hits", z3, "errors", e3, "median_us", m3, "p90_us", p3);
    if (!o)
        return EVD_ENOMEM;
    snprintf(key, sizeof key, "%lld", (long long)r->id);
    json_object_set(x->byid, key, o);
    json_array_append_new(x->items, o);
    return 0;
}

int api_overview(dctx *c)
{
    drange r;
    dpage p;
    if (dash_range(c, 0, &r) || dash_page(c, &p))
        return 0;
    int64_t to_s = floordiv(r.to_us, 1000000);
    int64_t today = tz_day(r.tz, to_s);
    int64_t h_today = floordiv(tz_day_start(r.tz, today), 3600);
    int64_t h_week = floordiv(tz_day_start(r.tz, today - 6), 3600);
    int64_t h_end = floordiv(r.to_us + HOUR_US - 1, HOUR_US);

    overview_ctx x = {r.tz, json_array(), json_object()};
    int rc = store_endpoints(c->st, &c->filter, STORE_EP_BY_NAME, overview_row, &x);
    if (rc) {
        json_decref(x.items);
        json_decref(x.byid);
        return dash_store_error(c, rc, "overview");
    }
    if (overview_window(c, x.byid, "today", h_today, h_end) ||
        overview_window(c, x.byid, "week", h_week, h_end) ||
        overview_window(c, x.byid, "overall", INT64_MIN / 2, h_end)) {
        json_decref(x.items);
        json_decref(x.byid);
        return 0;
    }
    json_decref(x.byid);
    json_t *doc = dash_paged(x.items, &p);
    if (doc)
        json_object_set_new(doc, "tz", json_string(tz_name(r.tz)));
    return dash_json(c, 200, doc);
}

/* ---- rules and levels ------------------------------------------------------------ */

typedef struct rules_ctx {
    const tz_zone *tz;
    json_t *items;
} rules_ctx;

static int rules_row(void *u, const store_endpoint_row *r)
{
    rules_ctx *x = u;
    char col[8];
    colour_of(r->name, col);
    json_t *o =
        json_pack("{s:I,s:s,s:s,s:s?,s:s?,s:i,s:o,s:s}", "id", (json_int_t)r->id, "endpoint",
                  r->name, "service", r->service, "rule", r->rule, "methods", r->methods, "level",
                  r->level, "last_access", dash_time(x->tz, r->last_access_us), "colour", col);
    if (!o)
        return EVD_ENOMEM;
    json_array_append_new(x->items, o);
    return 0;
}

int api_rules(dctx *c)
{
    dpage p;
    const tz_zone *tz;
    if (!(tz = dash_tz(c)) || dash_page(c, &p))
        return 0;
    rules_ctx x = {tz, json_array()};
    int rc = store_endpoints(c->st, &c->filter, STORE_EP_BY_RULE, rules_row, &x);
    if (rc) {
        json_decref(x.items);
        return dash_store_error(c, rc, "rules");
    }
    return dash_json(c, 200, dash_paged(x.items, &p));
}

int api_set_level(dctx *c)
{
    int64_t level = -1;
    const char *ct = dash_header(c, "Content-Type");
    const char *body = c->rq->body;
    size_t len = c->rq->body_len;
    if (dash_endpoint_exists(c, NULL, 0))
        return 0;
    if (!body || !len || len > 1024)
        return dash_error(c, 400, "level: send {\"level\": 0..3} or level=N");
    if (ct && !strncasecmp(ct, "application/json", 16)) {
        json_error_t je;
        json_t *doc = json_loadb(body, len, JSON_REJECT_DUPLICATES, &je);
        json_t *lv = doc ? json_object_get(doc, "level") : NULL;
        if (json_is_integer(lv))
            level = json_integer_value(lv);
        json_decref(doc);
        if (!doc)
            return dash_error(c, 400, "level: malformed JSON at line %d: %s", je.line, je.text);
    } else if (len > 6 && !memcmp(body, "level=", 6) && len < 16) {
        char tmp[16];
        memcpy(tmp, body + 6, len - 6);
        tmp[len - 6] = 0;
        char *end;
        long v = strtol(tmp, &end, 10);
        if (!*end && end != tmp)
            level = v;
    }
    if (level < 0 || level > 3)
        return dash_error(c, 400, "level: expected an integer from 0 to 3");
    int rc = store_endpoint_set_level(c->st, c->id, (int)level);
    if (rc)
        return dash_store_error(c, rc, "setting the level");
    return dash_json(c, 200,
                     json_pack("{s:I,s:I}", "id", (json_int_t)c->id, "level", (json_int_t)level));
}

/* ---- heatmap --------------------------------------------------------------------- */

struct heat_acc {
    int64_t *cells;
    const tz_zone *tz;
    int64_t first, days;
};

static void heat_add(void *u, int64_t epid, int64_t hour, int64_t count)
{
    struct heat_acc *h = u;
    (void)epid;
    int64_t t = hour * 3600;
    int64_t local = t + tz_offset(h->tz, t);
    int64_t d = floordiv(local, 86400) - h->first;
    int64_t hh = (local - floordiv(local, 86400) * 86400) / 3600;
    if (d >= 0 && d < h->days)
        h->cells[d * 24 + hh] += count;
}

/* 24 hours x N local days ending with the day of `to`. */
static int heatmap(dctx *c, int per_endpoint)
{
    drange r;
    int64_t days;
    if (dash_range(c, 0, &r) || dash_param_int(c, "days", 1, 366, 30, &days))
        return 0;
    if (per_endpoint && dash_endpoint_exists(c, NULL, 0))
        return 0;
    int64_t last = tz_day(r.tz, floordiv(r.to_us, 1000000)), first = last - days + 1;
    int64_t h0 = floordiv(tz_day_start(r.tz, first), 3600);
    int64_t h1 = floordiv(tz_day_start(r.tz, last + 1) + 3599, 3600);
    int64_t *cells = calloc((size_t)days * 24, sizeof *cells);
    if (!cells)
        return dash_error(c, 500, "out of memory");
    struct heat_acc ha = {.cells = cells, .tz = r.tz, .first = first, .days = days};
    if (agg_hourly(c, h0, h1, per_endpoint ? c->id : -1, heat_add, &ha)) {
        free(cells);
        return 0;
    }
    json_t *dlist = json_array(), *matrix = json_array();
    for (int64_t d = 0; d < days; d++) {
        char iso[48];
        dash_iso(r.tz, tz_day_start(r.tz, first + d) * 1000000, iso, sizeof iso);
        iso[10] = 0;
        json_array_append_new(dlist, json_string(iso));
        json_t *row = json_array();
        for (int h = 0; h < 24; h++)
            json_array_append_new(row, json_integer(cells[d * 24 + h]));
        json_array_append_new(matrix, row);
    }
    free(cells);
    return dash_json(
        c, 200, json_pack("{s:s,s:o,s:o}", "tz", tz_name(r.tz), "days", dlist, "counts", matrix));
}

int api_heatmap(dctx *c)
{
    return heatmap(c, 0);
}

int api_ep_heatmap(dctx *c)
{
    return heatmap(c, 1);
}

/* ---- daily utilisation ----------------------------------------------------------- */

struct daily_acc {
    int64_t *cells;
    const eplist *eps;
    const tz_zone *tz;
    int64_t first, ndays;
};

static void daily_add(void *u, int64_t epid, int64_t hour, int64_t count)
{
    struct daily_acc *a = u;
    ep *e = eps_find(a->eps, epid);
    int64_t d = tz_day(a->tz, hour * 3600) - a->first;
    if (e && d >= 0 && d < a->ndays)
        a->cells[(size_t)(e - a->eps->v) * (size_t)a->ndays + (size_t)d] += count;
}

int api_daily(dctx *c)
{
    drange r;
    dpage p;
    eplist eps;
    if (dash_range(c, 30 * 86400, &r) || dash_page(c, &p))
        return 0;
    int64_t first = tz_day(r.tz, floordiv(r.from_us, 1000000));
    int64_t last = tz_day(r.tz, floordiv(r.to_us - 1, 1000000));
    int64_t ndays = last - first + 1;
    if (ndays > MAX_DAYS)
        return dash_error(c, 400, "range: at most %d days", MAX_DAYS);
    if (eps_load(c, &eps))
        return 0;
    int64_t *cells = calloc(eps.n * (size_t)ndays + 1, sizeof *cells);
    if (!cells) {
        eps_free(&eps);
        return dash_error(c, 500, "out of memory");
    }
    int64_t h0, h1;
    hour_span(&r, &h0, &h1);
    struct daily_acc da = {.cells = cells, .eps = &eps, .tz = r.tz, .first = first, .ndays = ndays};
    if (agg_hourly(c, h0, h1, -1, daily_add, &da)) {
        free(cells);
        eps_free(&eps);
        return 0;
    }
    json_t *dlist = json_array(), *series = json_array();
    for (int64_t d = 0; d < ndays; d++) {
        char iso[48];
        dash_iso(r.tz, tz_day_start(r.tz, first + d) * 1000000, iso, sizeof iso);
        iso[10] = 0;
        json_array_append_new(dlist, json_string(iso));
    }
    for (size_t i = 0; i < eps.n; i++) {
        json_t *s = ep_head(&eps.v[i]), *counts = json_array();
        for (int64_t d = 0; d < ndays; d++)
            json_array_append_new(counts, json_integer(cells[i * (size_t)ndays + (size_t)d]));
        json_object_set_new(s, "counts", counts);
        json_array_append_new(series, s);
    }
    free(cells);
    eps_free(&eps);
    json_t *doc = dash_paged(series, &p);
    if (doc) {
        json_object_set_new(doc, "days", dlist);
        json_object_set_new(doc, "tz", json_string(tz_name(r.tz)));
    } else
        json_decref(dlist);
    return dash_json(c, 200, doc);
}

/* ---- last 48 hours, hour by hour ------------------------------------------------------ */

typedef struct hourly_ctx {
    const eplist *eps;
    int64_t h0;
    int64_t *cnt, *sum, *mn, *mx;
} hourly_ctx;

static int hourly_row(void *u, const store_rollup_row *r)
{
    hourly_ctx *x = u;
    ep *e = eps_find(x->eps, r->endpoint_id);
    int64_t h = r->hour - x->h0;
    if (!e || h < 0 || h >= 48)
        return 0;
    size_t k = (size_t)(e - x->eps->v) * 48 + (size_t)h;
    x->cnt[k] = r->count;
    x->sum[k] = r->sum_us;
    x->mn[k] = r->min_us;
    x->mx[k] = r->max_us;
    return 0;
}

int api_hourly(dctx *c)
{
    drange r;
    dpage p;
    eplist eps;
    if (dash_range(c, 0, &r) || dash_page(c, &p))
        return 0;
    int64_t h1 = floordiv(r.to_us - 1, HOUR_US) + 1, h0 = h1 - 48;
    if (eps_load(c, &eps))
        return 0;
    size_t n = eps.n * 48 + 1;
    int64_t *cnt = calloc(n, sizeof *cnt), *sum = calloc(n, sizeof *sum),
            *mn = calloc(n, sizeof *mn), *mx = calloc(n, sizeof *mx);
    int rc = EVD_ENOMEM;
    if (cnt && sum && mn && mx) {
        hourly_ctx x = {&eps, h0, cnt, sum, mn, mx};
        rc = store_rollup_by_hour(c->st, &c->filter, h0, h1, -1, hourly_row, &x);
    }
    if (rc) {
        free(cnt), free(sum), free(mn), free(mx);
        eps_free(&eps);
        return rc == EVD_ENOMEM ? dash_error(c, 500, "out of memory")
                                : dash_store_error(c, rc, "hourly");
    }
    json_t *hours = json_array(), *series = json_array();
    for (int h = 0; h < 48; h++)
        json_array_append_new(hours, dash_time(r.tz, (h0 + h) * HOUR_US));
    for (size_t i = 0; i < eps.n; i++) {
        json_t *s = ep_head(&eps.v[i]), *jc = json_array(), *jmin = json_array(),
               *javg = json_array(), *jmax = json_array();
        for (int h = 0; h < 48; h++) {
            size_t k = i * 48 + (size_t)h;
            json_array_append_new(jc, json_integer(cnt[k]));
            json_array_append_new(jmin, cnt[k] ? json_integer(mn[k]) : json_null());
            json_array_append_new(javg, cnt[k] ? json_real((double)sum[k] / (double)cnt[k])
                                               : json_null());
            json_array_append_new(jmax, cnt[k] ? json_integer(mx[k]) : json_null());
        }
        json_object_set_new(s, "count", jc);
        json_object_set_new(s, "min_us", jmin);
        json_object_set_new(s, "avg_us", javg);
        json_object_set_new(s, "max_us", jmax);
        json_array_append_new(series, s);
    }
    free(cnt), free(sum), free(mn), free(mx);
    eps_free(&eps);
    json_t *doc = dash_paged(series, &p);
    if (doc) {
        json_object_set_new(doc, "hours", hours);
        json_object_set_new(doc, "tz", json_string(tz_name(r.tz)));
    } else
        json_decref(hours);
    return dash_json(c, 200, doc);
}

/* ---- API performance: box plots per endpoint --------------------------------------- */

int api_performance(dctx *c)
{
    drange r;
    dpage p;
    eplist eps;
    agg_result ar;
    if (dash_range(c, 30 * 86400, &r) || dash_page(c, &p) || eps_load(c, &eps))
        return 0;
    int64_t h0, h1;
    hour_span(&r, &h0, &h1);
    if (agg_query(c, h0, h1, AG_EP, -1, 1, &ar)) {
        eps_free(&eps);
        return 0;
    }
    json_t *items = json_array();
    for (size_t i = 0; i < eps.n; i++) {
        const agg_acc *a = agg_find(&ar, eps.v[i].id, 0);
        if (!a || !a->count)
            continue;
        boxstat b;
        box_from_acc(a, &b);
        json_t *o = ep_head(&eps.v[i]);
        json_object_set_new(o, "box", box_json(&b));
        json_array_append_new(items, o);
    }
    agg_free(&ar);
    eps_free(&eps);
    return dash_json(c, 200, dash_paged(items, &p));
}

/* ---- versions, instances, counters ---------------------------------------------------- */

/* ---- versions ----------------------------------------------------------------- */

static int ver_row(void *u, const store_version_row *r)
{
    verlist *l = u;
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 32;
        dver *nv = realloc(l->v, cap * sizeof *nv);
        if (!nv)
            return EVD_ENOMEM;
        l->v = nv;
        l->cap = cap;
    }
    dver *v = &l->v[l->n];
    *v = (dver){.id = r->id, .first_us = r->first_seen_us, .last_us = r->last_seen_us};
    v->name = strdup(r->name);
    v->label = strdup(r->label);
    if (!v->name || !v->label) {
        free(v->name);
        free(v->label);
        return EVD_ENOMEM;
    }
    l->n++;
    return 0;
}

static int mark_row(void *u, const store_vmark_row *r)
{
    verlist *l = u;
    for (size_t i = 0; i < l->n; i++)
        if (l->v[i].id == r->version_id) {
            l->v[i].important = r->important;
            l->v[i].hidden = r->hidden;
        }
    return 0;
}

int vers_load(dctx *c, verlist *l)
{
    memset(l, 0, sizeof *l);
    int rc = store_versions(c->st, ver_row, l);
    if (!rc)
        rc = store_version_marks(c->st, mark_row, l);
    if (rc) {
        vers_free(l);
        return rc == EVD_ENOMEM ? dash_error(c, 500, "out of memory"),
               -1               : dash_store_error(c, rc, "reading versions"), -1;
    }
    return 0;
}

void vers_free(verlist *l)
{
    for (size_t i = 0; i < l->n; i++) {
        free(l->v[i].name);
        free(l->v[i].label);
    }
    free(l->v);
    memset(l, 0, sizeof *l);
}

static const dver *vers_find(const verlist *l, int64_t id)
{
    for (size_t i = 0; i < l->n; i++)
        if (l->v[i].id == id)
            return &l->v[i];
    return NULL;
}

const char *vers_name(const verlist *l, int64_t id)
{
    const dver *v = vers_find(l, id);
    return v ? v->name : "";
}

const char *vers_label(const verlist *l, int64_t id)
{
    const dver *v = vers_find(l, id);
    return v ? v->label : "";
}

int api_versions(dctx *c)
{
    dpage p;
    const tz_zone *tz;
    agg_result ar;
    verlist vl;
    int64_t with_hidden;
    if (!(tz = dash_tz(c)) || dash_page(c, &p) ||
        dash_param_int(c, "hidden", 0, 1, 0, &with_hidden))
        return 0;
    if (agg_query(c, INT64_MIN / 4, INT64_MAX / 4, AG_VER, -1, 0, &ar))
        return 0;
    if (vers_load(c, &vl)) {
        agg_free(&ar);
        return 0;
    }
    json_t *items = json_array();
    for (size_t i = 0; i < vl.n; i++) {
        const dver *v = &vl.v[i];
        const agg_acc *a = agg_find(&ar, v->id, 0);
        /* narrowed to a service or instances: only the versions it ran */
        if ((c->filter.service_id || c->filter.ninstances) && (!a || !a->count))
            continue;
        /* hidden versions (short-lived ones an admin hid) only when asked */
        if (v->hidden && !with_hidden)
            continue;
        json_array_append_new(
            items, json_pack("{s:I,s:s,s:o,s:o,s:I,s:b,s:b}", "id", (json_int_t)v->id, "name",
                             v->name, "first_seen", dash_time(tz, v->first_us), "last_seen",
                             dash_time(tz, v->last_us), "requests", (json_int_t)(a ? a->count : 0),
                             "important", v->important, "hidden", v->hidden));
    }
    vers_free(&vl);
    agg_free(&ar);
    return dash_json(c, 200, dash_paged(items, &p));
}

/* ---- instances and counters ------------------------------------------------------- */

/* An instance syncs with the store every second; one silent for this
 * long is shown as stale (stopped, or cut off from the store). */
#define LIVE_US (60LL * 1000000)

typedef struct inst_ctx {
    const tz_zone *tz;
    json_t *items;
    int64_t tot[6], now;
    agent_live_info live; /* this process's own instance, when it has an agent */
    int has_live, live_seen;
} inst_ctx;

static int inst_row(void *u, const store_instance_row *r)
{
    static const char *const names[] = {"recorded",     "dropped",   "written",
                                        "write_errors", "truncated", "outliers"};
    inst_ctx *x = u;
    int own = x->has_live && r->id == x->live.instance_id;
    /* our own counters as they are now, not as last synced */
    const evd_counters *lc = &x->live.c;
    const int64_t v[6] = {own ? (int64_t)lc->recorded : r->recorded,
                          own ? (int64_t)lc->dropped : r->dropped,
                          own ? (int64_t)lc->written : r->written,
                          own ? (int64_t)lc->write_errors : r->write_errors,
                          own ? (int64_t)lc->truncated : r->truncated,
                          own ? (int64_t)lc->outliers : r->outliers};
    json_t *o = json_pack("{s:I,s:s,s:s,s:s,s:s?,s:s,s:i,s:o,s:o,s:b}", "id", (json_int_t)r->id,
                          "name", r->name, "host", r->host, "service", r->service, "version",
                          r->version, "version_label", r->version_label ? r->version_label : "",
                          "pid", r->pid, "started", dash_time(x->tz, r->started_us), "last_seen",
                          dash_time(x->tz, own ? x->now : r->last_seen_us), "live",
                          own || x->now - r->last_seen_us < LIVE_US);
    if (!o)
        return EVD_ENOMEM;
    x->live_seen |= own;
    for (int i = 0; i < 6; i++) {
        x->tot[i] += v[i];
        json_object_set_new(o, names[i], json_integer(v[i]));
    }
    json_array_append_new(x->items, o);
    return 0;
}

/* This process's instance when the store has no row for it (it never
 * reached the store): shown from its live counters alone. */
static int live_only_row(inst_ctx *x)
{
    static const char *const names[] = {"recorded",     "dropped",   "written",
                                        "write_errors", "truncated", "outliers"};
    const evd_counters *lc = &x->live.c;
    const int64_t v[6] = {(int64_t)lc->recorded,     (int64_t)lc->dropped,   (int64_t)lc->written,
                          (int64_t)lc->write_errors, (int64_t)lc->truncated, (int64_t)lc->outliers};
    json_t *o =
        json_pack("{s:n,s:s,s:s,s:s,s:s,s:s,s:i,s:n,s:o,s:b,s:b}", "id", "name", x->live.instance,
                  "host", x->live.host, "service", x->live.service, "version", x->live.version,
                  "version_label", x->live.version, "pid", x->live.pid, "started", "last_seen",
                  dash_time(x->tz, x->now), "live", 1, "unregistered", 1);
    if (!o)
        return EVD_ENOMEM;
    for (int i = 0; i < 6; i++) {
        x->tot[i] += v[i];
        json_object_set_new(o, names[i], json_integer(v[i]));
    }
    json_array_append_new(x->items, o);
    return 0;
}

/* The instances of the view, with their totals in *x. */
static json_t *instance_rows(dctx *c, inst_ctx *x)
{
    x->items = json_array();
    x->now = clock_real_us();
    if ((x->has_live = c->d->live != NULL))
        agent_live(c->d->live, &x->live);
    int rc = store_instances(c->st, &c->filter, inst_row, x);
    if (!rc && x->has_live && !x->live_seen && !c->filter.ninstances && !x->live.instance_id)
        rc = live_only_row(x);
    if (rc) {
        json_decref(x->items);
        dash_store_error(c, rc, "instances");
        return NULL;
    }
    return x->items;
}

int api_instances(dctx *c)
{
    dpage p;
    inst_ctx x = {0};
    if (!(x.tz = dash_tz(c)) || dash_page(c, &p))
        return 0;
    json_t *items = instance_rows(c, &x);
    if (!items)
        return 0;
    json_t *doc = dash_paged(items, &p);
    if (doc)
        json_object_set_new(doc, "live_after_s", json_integer(LIVE_US / 1000000));
    return dash_json(c, 200, doc);
}

static int sum_drops(void *u, const store_endpoint_row *r)
{
    *(int64_t *)u += r->dropped;
    return 0;
}

int api_counters(dctx *c)
{
    static const char *const names[] = {"recorded",     "dropped",   "written",
                                        "write_errors", "truncated", "outliers"};
    dpage p;
    inst_ctx x = {0};
    store_size sz;
    int64_t ep_dropped = 0;
    int rc;
    if (!(x.tz = dash_tz(c)) || dash_page(c, &p))
        return 0;
    json_t *items = instance_rows(c, &x);
    if (!items)
        return 0;
    if ((rc = store_endpoints(c->st, &c->filter, STORE_EP_BY_ID, sum_drops, &ep_dropped)) ||
        (rc = store_size_of(c->st, &sz))) {
        json_decref(items);
        return dash_store_error(c, rc, "counters");
    }
    json_t *totals = json_object();
    for (int i = 0; i < 6; i++)
        json_object_set_new(totals, names[i], json_integer(x.tot[i]));
    json_object_set_new(totals, "endpoint_dropped", json_integer(ep_dropped));
    json_t *doc = dash_paged(items, &p);
    if (doc) {
        json_object_set_new(doc, "totals", totals);
        json_object_set_new(doc, "store",
                            json_pack("{s:s,s:I,s:o,s:i}", "backend", store_backend_name(c->st),
                                      "bytes", (json_int_t)sz.bytes, "oldest_raw",
                                      dash_time(x.tz, sz.oldest_raw_us), "retention_days",
                                      c->d->retention_days));
    } else
        json_decref(totals);
    return dash_json(c, 200, doc);
}

/* ---- services --------------------------------------------------------------------- */

typedef struct svc_ctx {
    const tz_zone *tz;
    json_t *items;
    int64_t now;
} svc_ctx;

static int svc_row(void *u, const store_service_row *r)
{
    svc_ctx *x = u;
    json_t *o = json_pack("{s:I,s:s,s:I,s:I,s:o,s:b}", "id", (json_int_t)r->id, "name",
                          *r->name ? r->name : "(unnamed)", "endpoints", (json_int_t)r->endpoints,
                          "instances", (json_int_t)r->instances, "last_seen",
                          dash_time(x->tz, r->last_seen_us), "live",
                          r->last_seen_us && x->now - r->last_seen_us < LIVE_US);
    if (!o)
        return EVD_ENOMEM;
    json_array_append_new(x->items, o);
    return 0;
}

int api_services(dctx *c)
{
    svc_ctx x = {0};
    if (!(x.tz = dash_tz(c)))
        return 0;
    x.items = json_array();
    x.now = clock_real_us();
    int rc = store_services(c->st, svc_row, &x);
    if (rc) {
        json_decref(x.items);
        return dash_store_error(c, rc, "services");
    }
    return dash_json(c, 200, json_pack("{s:o}", "items", x.items));
}

/* ---- multi-version utilisation ------------------------------------------------------ */

/* Per version (in deployment order), each endpoint's requests: their share
 * of the version's total (the utilisation matrix) and, with stats, their
 * median, p90 and mean (the evolution across versions).  Both read the
 * rollups grouped per (version, endpoint). */
static int per_version(dctx *c, int stats)
{
    drange r;
    dpage p;
    eplist eps;
    agg_result ar;
    verlist vl;
    if (dash_range(c, 0, &r) || dash_page(c, &p) || eps_load(c, &eps))
        return 0;
    int64_t h0, h1;
    hour_span(&r, &h0, &h1);
    if (agg_query(c, h0, h1, AG_VER_EP, -1, stats, &ar)) {
        eps_free(&eps);
        return 0;
    }
    if (vers_load(c, &vl)) {
        agg_free(&ar);
        eps_free(&eps);
        return 0;
    }
    json_t *items = json_array();
    for (size_t vi = 0; vi < vl.n; vi++) {
        int64_t vid = vl.v[vi].id, total = 0;
        if (vl.v[vi].hidden) /* hidden from the version views */
            continue;
        for (size_t i = 0; i < eps.n; i++) {
            const agg_acc *a = agg_find(&ar, vid, eps.v[i].id);
            total += a ? a->count : 0;
        }
        if (!total)
            continue;
        json_t *list = json_array();
        for (size_t i = 0; i < eps.n; i++) {
            const agg_acc *a = agg_find(&ar, vid, eps.v[i].id);
            if (!a || !a->count)
                continue;
            json_t *o = ep_head(&eps.v[i]);
            json_object_set_new(o, "count", json_integer(a->count));
            json_object_set_new(o, "share", json_real((double)a->count / (double)total));
            if (stats) {
                boxstat b;
                box_from_acc(a, &b);
                double p90 = a->sk ? sketch_quantile(a->sk, 0.9) : b.max;
                json_object_set_new(o, "median_us", json_real(b.median));
                json_object_set_new(o, "p90_us", json_real(p90 > b.max ? b.max : p90));
                json_object_set_new(o, "mean_us", json_real(b.mean));
            }
            json_array_append_new(list, o);
        }
        json_t *v = json_pack("{s:I,s:s,s:s,s:o,s:I}", "version_id", (json_int_t)vid, "version",
                              vl.v[vi].name, "label", vl.v[vi].label, "endpoints", list, "total",
                              (json_int_t)total);
        if (stats)
            json_object_set_new(v, "first_seen", dash_time(r.tz, vl.v[vi].first_us));
        json_array_append_new(items, v);
    }
    vers_free(&vl);
    agg_free(&ar);
    eps_free(&eps);
    return dash_json(c, 200, dash_paged(items, &p));
}

int api_matrix(dctx *c)
{
    return per_version(c, 0);
}

int api_evolution(dctx *c)
{
    return per_version(c, 1);
}

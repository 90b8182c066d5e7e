/* api_endpoint.c — the views of one endpoint.  Per-version numbers come
 * from the rollups; per-group, per-IP and per-status-code numbers need the
 * raw rows (the rollups are not keyed by them), summarised by one shared
 * pass over the endpoint's range (rawscan.c). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "evodash.h"
#include "dash/dash_int.h"
#include "store/read.h"

#define HOUR_US 3600000000LL

static int64_t floordiv(int64_t a, int64_t b)
{
    return a / b - (a % b != 0 && (a < 0) != (b < 0));
}

int api_ep_versions(dctx *c)
{
    drange r;
    dpage p;
    agg_result ar;
    verlist vl;
    if (dash_range(c, 0, &r) || dash_page(c, &p) || dash_endpoint_exists(c, NULL, 0))
        return 0;
    if (agg_query(c, floordiv(r.from_us, HOUR_US), floordiv(r.to_us + HOUR_US - 1, HOUR_US), AG_VER,
                  c->id, 1, &ar))
        return 0;
    if (vers_load(c, &vl)) {
        agg_free(&ar);
        return 0;
    }
    json_t *items = json_array();
    for (size_t i = 0; i < vl.n; i++) {
        const dver *v = &vl.v[i];
        const agg_acc *a = agg_find(&ar, v->id, 0);
        if (!a || !a->count || v->hidden) /* hidden from the version views */
            continue;
        boxstat b;
        box_from_acc(a, &b);
        json_array_append_new(items, json_pack("{s:I,s:s,s:o,s:o,s:o}", "version_id",
                                               (json_int_t)v->id, "version", v->name, "first_seen",
                                               dash_time(r.tz, v->first_us), "last_seen",
                                               dash_time(r.tz, v->last_us), "box", box_json(&b)));
    }
    vers_free(&vl);
    agg_free(&ar);
    return dash_json(c, 200, dash_paged(items, &p));
}

/* The shared raw-row summary of endpoint c->id over r; replies on failure. */
static const rawscan *scan_of(dctx *c, const drange *r)
{
    char err[200];
    int rc = 0;
    const rawscan *s = rawscan_get(c->d->rawscan, c->st, &c->filter, c->id, r, c->d->raw_rows_max,
                                   &rc, err, sizeof err);
    if (!s)
        dash_error(c, rc == EVD_EBUSY ? 503 : rc == EVD_EINVAL ? 400 : 500, "%s", err);
    return s;
}

/* The dimension a group view reads: ?grouping= (default: the first) of
 * the groupings, or the IPs.  NULL (an empty view) for a grouping the
 * range does not have. */
static const rawscan_dim *dim_of(dctx *c, const rawscan *s, int ip)
{
    return ip ? &s->ip : rawscan_grouping(s, dash_param(c, "grouping"));
}

/* Say which grouping doc shows, and which the range has. */
static void describe_groupings(dctx *c, const rawscan *s, const rawscan_dim *d, json_t *doc)
{
    if (!doc)
        return;
    json_t *names = json_array();
    for (size_t g = 0; g < s->ngroup; g++)
        json_array_append_new(names, json_string(s->group[g].name));
    const char *asked = dash_param(c, "grouping");
    json_object_set_new(doc, "grouping", json_string(d ? d->name : asked));
    json_object_set_new(doc, "groupings", names);
}

/* Box plots per group or per IP (exact, from the raw rows). */
static int raw_boxes(dctx *c, int k)
{
    drange r;
    dpage p;
    const rawscan *s;
    if (dash_range(c, 30 * 86400, &r) || dash_page(c, &p) || dash_endpoint_exists(c, NULL, 0) ||
        !(s = scan_of(c, &r)))
        return 0;
    const rawscan_dim *d = dim_of(c, s, k);
    json_t *items = json_array();
    for (size_t i = 0; d && i < d->nbox; i++)
        json_array_append_new(items, json_pack("{s:s,s:o}", k ? "ip" : "group", d->box[i].key,
                                               "box", box_json(&d->box[i].box)));
    json_t *doc = dash_paged(items, &p);
    rawscan_describe(s, &r, doc);
    if (!k)
        describe_groupings(c, s, d, doc);
    rawscan_release(c->d->rawscan, s);
    return dash_json(c, 200, doc);
}

int api_ep_groups(dctx *c)
{
    return raw_boxes(c, 0);
}

int api_ep_ips(dctx *c)
{
    return raw_boxes(c, 1);
}

int api_ep_bubbles(dctx *c)
{
    drange r;
    dpage p;
    const rawscan *s;
    verlist vl;
    const char *by = dash_param(c, "by");
    if (!by)
        by = "group";
    if (strcmp(by, "group") && strcmp(by, "ip"))
        return dash_error(c, 400, "by: expected 'group' or 'ip'");
    int k = by[0] == 'i';
    if (dash_range(c, 30 * 86400, &r) || dash_page(c, &p) || dash_endpoint_exists(c, NULL, 0) ||
        vers_load(c, &vl))
        return 0;
    if (!(s = scan_of(c, &r))) {
        vers_free(&vl);
        return 0;
    }
    const rawscan_dim *d = dim_of(c, s, k);
    json_t *items = json_array();
    for (size_t i = 0; d && i < d->npair; i++) {
        const rawscan_pair *b = &d->pair[i];
        json_array_append_new(items, json_pack("{s:s,s:s,s:s,s:I,s:f}", by, b->key, "version",
                                               vers_name(&vl, b->version_id), "label",
                                               vers_label(&vl, b->version_id), "count",
                                               (json_int_t)b->count, "avg_us",
                                               b->sum_us / (double)b->count));
    }
    vers_free(&vl);
    json_t *doc = dash_paged(items, &p);
    rawscan_describe(s, &r, doc);
    if (!k)
        describe_groupings(c, s, d, doc);
    rawscan_release(c->d->rawscan, s);
    if (doc)
        json_object_set_new(doc, "by", json_string(by));
    return dash_json(c, 200, doc);
}

int api_ep_status(dctx *c)
{
    drange r;
    const rawscan *s;
    if (dash_range(c, 30 * 86400, &r) || dash_endpoint_exists(c, NULL, 0))
        return 0;
    agg_result ar;
    if (agg_query(c, floordiv(r.from_us, HOUR_US), floordiv(r.to_us + HOUR_US - 1, HOUR_US), AG_EP,
                  c->id, 0, &ar))
        return 0;
    const agg_acc *a = agg_find(&ar, c->id, 0);
    json_t *classes = json_object();
    static const char *const cname[] = {"other", "1xx", "2xx", "3xx", "4xx", "5xx"};
    for (int i = 1; i <= 6; i++)
        json_object_set_new(classes, cname[i % 6], json_integer(a ? a->cls[i % 6] : 0));
    agg_free(&ar);
    if (!(s = scan_of(c, &r))) {
        json_decref(classes);
        return 0;
    }
    json_t *codes = json_array();
    for (size_t i = 0; i < s->ncodes; i++)
        json_array_append_new(codes, json_pack("{s:i,s:I}", "status", s->codes[i].status, "count",
                                               (json_int_t)s->codes[i].count));
    json_t *doc = json_pack("{s:I,s:o,s:o}", "endpoint_id", (json_int_t)c->id, "classes", classes,
                            "codes", codes);
    rawscan_describe(s, &r, doc);
    rawscan_release(c->d->rawscan, s);
    return dash_json(c, 200, doc);
}

/* ---- outliers -------------------------------------------------------------- */

static json_t *paged(json_t *items, const dpage *p, int64_t total)
{
    return json_pack("{s:o,s:I,s:I,s:I}", "items", items, "page", (json_int_t)p->page, "per_page",
                     (json_int_t)p->per_page, "total", (json_int_t)total);
}

typedef struct list_ctx {
    const tz_zone *tz;
    json_t *items;
} list_ctx;

static int outlier_item(void *u, const store_outlier_row *o)
{
    list_ctx *x = u;
    json_array_append_new(x->items,
                          json_pack("{s:I,s:I,s:o,s:I}", "id", (json_int_t)o->id, "request_id",
                                    (json_int_t)o->request_id, "time", dash_time(x->tz, o->ts_us),
                                    "duration_us", (json_int_t)o->duration_us));
    return 0;
}

int api_outliers(dctx *c)
{
    drange r;
    dpage p;
    int64_t total;
    const char *sort = dash_param(c, "sort");
    if (sort && strcmp(sort, "time") && strcmp(sort, "duration"))
        return dash_error(c, 400, "sort: expected 'time' or 'duration'");
    if (dash_range(c, 0, &r) || dash_page(c, &p) || dash_endpoint_exists(c, NULL, 0))
        return 0;
    list_ctx x = {r.tz, json_array()};
    int rc =
        store_outliers_page(c->st, c->id, r.from_us, r.to_us,
                            sort && sort[0] == 'd' ? STORE_OUTLIERS_SLOWEST : STORE_OUTLIERS_NEWEST,
                            p.per_page, p.offset, &total, outlier_item, &x);
    if (rc) {
        json_decref(x.items);
        return dash_store_error(c, rc, "outliers");
    }
    return dash_json(c, 200, paged(x.items, &p, total));
}

/* "function\tfile\tline" lines into [{function, file, line}]. */
static json_t *format_stack(const char *s)
{
    json_t *arr = json_array();
    while (s && *s) {
        const char *nl = strchr(s, '\n');
        size_t n = nl ? (size_t)(nl - s) : strlen(s);
        char *line = strndup(s, n);
        if (line && *line) {
            char *f2 = strchr(line, '\t'), *f3 = f2 ? strchr(f2 + 1, '\t') : NULL;
            if (f2)
                *f2++ = 0;
            if (f3)
                *f3++ = 0;
            json_array_append_new(arr, json_pack("{s:s,s:s?,s:o}", "function", line, "file",
                                                 f2 && *f2 ? f2 : NULL, "line",
                                                 f3 && *f3 ? json_integer(atol(f3)) : json_null()));
        }
        free(line);
        s = nl ? nl + 1 : NULL;
    }
    return arr;
}

/* The details' "threads" object ({thread id: stack text}, the stacks of
 * the request's other threads at capture time) as [{thread, stack}], in
 * the order captured; null when the adapter sent none. */
static json_t *format_threads(const json_t *det)
{
    json_t *in = json_is_object(det) ? json_object_get(det, "threads") : NULL;
    if (!json_is_object(in))
        return json_null();
    json_t *arr = json_array(), *v;
    const char *k;
    json_object_foreach(in, k, v)
    {
        if (json_is_string(v))
            json_array_append_new(arr, json_pack("{s:s,s:o}", "thread", k, "stack",
                                                 format_stack(json_string_value(v))));
    }
    return arr;
}

static json_t *parse_or_null(const char *s)
{
    json_t *v = s ? json_loads(s, 0, NULL) : NULL;
    return v ? v : json_null();
}

typedef struct outlier_ctx {
    const tz_zone *tz;
    json_t *doc, *det;
} outlier_ctx;

static int outlier_doc(void *u, const store_outlier_row *o)
{
    outlier_ctx *x = u;
    json_t *cpu = parse_or_null(o->cpu), *cores = json_array();
    size_t i;
    json_t *v;
    if (json_is_array(cpu))
        json_array_foreach(cpu, i, v) json_array_append_new(
            cores, json_pack("{s:i,s:f}", "core", (int)i, "percent", json_number_value(v)));
    json_decref(cpu);
    x->det = parse_or_null(o->details);
    x->doc = json_pack(
        "{s:I,s:I,s:I,s:s?,s:o,s:I,s:o,s:o,s:o}", "id", (json_int_t)o->id, "request_id",
        (json_int_t)o->request_id, "endpoint_id", (json_int_t)o->endpoint_id, "endpoint",
        o->endpoint, "time", dash_time(x->tz, o->ts_us), "duration_us", (json_int_t)o->duration_us,
        "stack", format_stack(o->stack), "cpu_per_core", cores, "memory", parse_or_null(o->memory));
    return 0;
}

int api_outlier(dctx *c)
{
    outlier_ctx x = {0};
    if (!(x.tz = dash_tz(c)))
        return 0;
    int rc = store_outlier_get(c->st, c->id, outlier_doc, &x);
    if (rc) {
        json_decref(x.doc);
        json_decref(x.det);
        return dash_store_error(c, rc, "outlier");
    }
    static const char *const keys[] = {"url", "headers", "environ", "values"};
    for (int k = 0; x.doc && k < 4; k++) {
        json_t *v = json_is_object(x.det) ? json_object_get(x.det, keys[k]) : NULL;
        json_object_set(x.doc, keys[k], v ? v : json_null());
    }
    if (x.doc)
        json_object_set_new(x.doc, "threads", format_threads(x.det));
    json_decref(x.det);
    return dash_json(c, 200, x.doc);
}

/* ---- profiler ---------------------------------------------------------------- */

/* Pre-order rows with indents become a nested tree: a stack of the open
 * nodes' children arrays, one per depth. */
typedef struct tree_ctx {
    json_t *stack[64];
    int depth;
} tree_ctx;

static int tree_line(void *u, const store_line_row *l)
{
    tree_ctx *t = u;
    int indent = l->indent;
    if (indent < 0)
        indent = 0;
    if (indent > t->depth)
        indent = t->depth;
    if (indent > 62)
        indent = 62;
    t->depth = indent;
    json_t *kids = json_array();
    json_array_append_new(t->stack[t->depth],
                          json_pack("{s:s,s:s?,s:i,s:I,s:I,s:o}", "function", l->function, "file",
                                    l->file, "line", l->line, "duration_us",
                                    (json_int_t)l->duration_us, "samples", (json_int_t)l->samples,
                                    "children", kids));
    t->stack[++t->depth] = kids;
    return 0;
}

int api_profiler(dctx *c)
{
    store_profiled_row pr;
    int rc = store_profiled_get(c->st, c->id, &pr);
    if (rc == EVD_ENOENT || (!rc && !pr.lines))
        return dash_error(c, 404, "no profile for request %lld", (long long)c->id);
    if (rc)
        return dash_store_error(c, rc, "profile");
    json_t *doc = json_pack("{s:I,s:I,s:I}", "request_id", (json_int_t)c->id, "endpoint_id",
                            (json_int_t)pr.endpoint_id, "duration_us", (json_int_t)pr.duration_us);
    tree_ctx t = {.stack = {json_array()}};
    json_t *root = t.stack[0];
    if ((rc = store_profile_lines(c->st, c->id, tree_line, &t))) {
        json_decref(root);
        json_decref(doc);
        return dash_store_error(c, rc, "profile");
    }
    json_object_set_new(doc, "tree", root);
    return dash_json(c, 200, doc);
}

static int profiled_item(void *u, const store_profiled_row *pr)
{
    list_ctx *x = u;
    json_array_append_new(x->items,
                          json_pack("{s:I,s:o,s:I,s:s?}", "request_id", (json_int_t)pr->request_id,
                                    "time", dash_time(x->tz, pr->ts_us), "duration_us",
                                    (json_int_t)pr->duration_us, "version", pr->version));
    return 0;
}

/* The endpoint's profiled requests in the range, newest first: the list a
 * per-request call tree is picked from. */
int api_ep_profiled(dctx *c)
{
    drange r;
    dpage p;
    int64_t total;
    if (dash_range(c, 30 * 86400, &r) || dash_page(c, &p) || dash_endpoint_exists(c, NULL, 0))
        return 0;
    list_ctx x = {r.tz, json_array()};
    int rc = store_profiled_page(c->st, c->id, r.from_us, r.to_us, p.per_page, p.offset, &total,
                                 profiled_item, &x);
    if (rc) {
        json_decref(x.items);
        return dash_store_error(c, rc, "profiled requests");
    }
    return dash_json(c, 200, paged(x.items, &p, total));
}

static int grouped_line(void *u, const store_line_row *l)
{
    list_ctx *x = u;
    json_array_append_new(x->items,
                          json_pack("{s:s,s:i,s:s,s:s?,s:i,s:I,s:I,s:I}", "version",
                                    l->version ? l->version : "", "indent", l->indent, "function",
                                    l->function, "file", l->file, "line", l->line, "duration_us",
                                    (json_int_t)l->duration_us, "samples", (json_int_t)l->samples,
                                    "requests", (json_int_t)l->requests));
    return 0;
}

/* Lines of every profiled request of the endpoint, grouped per version by
 * (function, file, line, indent): total duration, samples and hits. */
int api_ep_profile(dctx *c)
{
    drange r;
    dpage p;
    if (dash_range(c, 30 * 86400, &r) || dash_page(c, &p) || dash_endpoint_exists(c, NULL, 0))
        return 0;
    list_ctx x = {r.tz, json_array()};
    int rc = store_profile_grouped(c->st, c->id, r.from_us, r.to_us, grouped_line, &x);
    if (rc) {
        json_decref(x.items);
        return dash_store_error(c, rc, "grouped profile");
    }
    return dash_json(c, 200, dash_paged(x.items, &p));
}

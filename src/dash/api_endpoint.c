/* api_endpoint.c — the views of one endpoint.  Per-version numbers come
 * from the rollups; per-group, per-IP and per-status-code numbers need the
 * raw rows (the rollups are not keyed by them), summarised by one shared
 * pass over the endpoint's range (rawscan.c). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "evodash.h"
#include "dash/dash_int.h"

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
    sqlite3_stmt *q = NULL;
    if (dash_range(c, 0, &r) || dash_page(c, &p) || dash_endpoint_exists(c, NULL, 0))
        return 0;
    if (agg_query(c, floordiv(r.from_us, HOUR_US), floordiv(r.to_us + HOUR_US - 1, HOUR_US), AG_VER,
                  c->id, 1, &ar))
        return 0;
    if (sqlite3_prepare_v2(c->db,
                           "SELECT id, name, first_seen_us, last_seen_us FROM versions ORDER BY "
                           "first_seen_us, id",
                           -1, &q, NULL) != SQLITE_OK) {
        agg_free(&ar);
        return dash_sql_error(c, "versions of the endpoint");
    }
    json_t *items = json_array();
    while (sqlite3_step(q) == SQLITE_ROW) {
        const agg_acc *a = agg_find(&ar, sqlite3_column_int64(q, 0), 0);
        if (!a || !a->count)
            continue;
        boxstat b;
        box_from_acc(a, &b);
        json_array_append_new(
            items,
            json_pack("{s:I,s:s,s:o,s:o,s:o}", "version_id", (json_int_t)sqlite3_column_int64(q, 0),
                      "version", (const char *)sqlite3_column_text(q, 1), "first_seen",
                      dash_time(r.tz, sqlite3_column_int64(q, 2)), "last_seen",
                      dash_time(r.tz, sqlite3_column_int64(q, 3)), "box", box_json(&b)));
    }
    sqlite3_finalize(q);
    agg_free(&ar);
    return dash_json(c, 200, dash_paged(items, &p));
}

/* Box plots per group or per IP (exact, from the raw rows). */
static int raw_boxes(dctx *c, int k)
{
    drange r;
    dpage p;
    const rawscan *s;
    if (dash_range(c, 30 * 86400, &r) || dash_page(c, &p) || dash_endpoint_exists(c, NULL, 0) ||
        !(s = rawscan_get(c, &r)))
        return 0;
    json_t *items = json_array();
    for (size_t i = 0; i < s->nbox[k]; i++)
        json_array_append_new(items, json_pack("{s:s,s:o}", k ? "ip" : "group", s->box[k][i].key,
                                               "box", box_json(&s->box[k][i].box)));
    json_t *doc = dash_paged(items, &p);
    rawscan_describe(s, &r, doc);
    rawscan_release(c, s);
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
    sqlite3_stmt *q = NULL;
    const char *by = dash_param(c, "by");
    if (!by)
        by = "group";
    if (strcmp(by, "group") && strcmp(by, "ip"))
        return dash_error(c, 400, "by: expected 'group' or 'ip'");
    int k = by[0] == 'i';
    if (dash_range(c, 30 * 86400, &r) || dash_page(c, &p) || dash_endpoint_exists(c, NULL, 0) ||
        !(s = rawscan_get(c, &r)))
        return 0;
    if (sqlite3_prepare_v2(c->db, "SELECT name FROM versions WHERE id = ?", -1, &q, NULL) !=
        SQLITE_OK) {
        rawscan_release(c, s);
        return dash_sql_error(c, "bubbles");
    }
    json_t *items = json_array();
    for (size_t i = 0; i < s->npair[k]; i++) {
        const rawscan_pair *b = &s->pair[k][i];
        sqlite3_reset(q);
        sqlite3_bind_int64(q, 1, b->version_id);
        const char *vname =
            sqlite3_step(q) == SQLITE_ROW ? (const char *)sqlite3_column_text(q, 0) : "";
        json_array_append_new(items, json_pack("{s:s,s:s,s:I,s:f}", by, b->key, "version", vname,
                                               "count", (json_int_t)b->count, "avg_us",
                                               b->sum_us / (double)b->count));
    }
    sqlite3_finalize(q);
    json_t *doc = dash_paged(items, &p);
    rawscan_describe(s, &r, doc);
    rawscan_release(c, s);
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
    if (!(s = rawscan_get(c, &r))) {
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
    rawscan_release(c, s);
    return dash_json(c, 200, doc);
}

/* ---- outliers -------------------------------------------------------------- */

/* One page of an endpoint's rows of `table` (outliers or profiled) in the
 * range: `select` reads the page (bound: ?1 endpoint, ?2 from, ?3 to, ?4
 * limit, ?5 offset) and row() makes an item of each row; the total counts
 * the whole range.  Replies. */
static int ep_page(dctx *c, const drange *r, const dpage *p, const char *table, const char *select,
                   json_t *(*row)(sqlite3_stmt *q, const drange *r))
{
    char count_sql[160];
    sqlite3_stmt *q = NULL;
    int64_t total = 0;
    int step = SQLITE_ERROR;
    snprintf(count_sql, sizeof count_sql,
             "SELECT count(*) FROM %s WHERE endpoint_id = ?1 AND ts_us >= ?2 AND ts_us < ?3",
             table);
    json_t *items = json_array();
    for (int pass = 0; pass < 2; pass++) {
        if (sqlite3_prepare_v2(c->db, pass ? select : count_sql, -1, &q, NULL) != SQLITE_OK)
            break;
        sqlite3_bind_int64(q, 1, c->id);
        sqlite3_bind_int64(q, 2, r->from_us);
        sqlite3_bind_int64(q, 3, r->to_us);
        if (pass) {
            sqlite3_bind_int64(q, 4, p->per_page);
            sqlite3_bind_int64(q, 5, p->offset);
        }
        while ((step = sqlite3_step(q)) == SQLITE_ROW) {
            if (pass)
                json_array_append_new(items, row(q, r));
            else
                total = sqlite3_column_int64(q, 0);
        }
        sqlite3_finalize(q);
        q = NULL;
        if (step != SQLITE_DONE)
            break;
    }
    if (step != SQLITE_DONE) {
        json_decref(items);
        return dash_sql_error(c, table);
    }
    return dash_json(c, 200,
                     json_pack("{s:o,s:I,s:I,s:I}", "items", items, "page", (json_int_t)p->page,
                               "per_page", (json_int_t)p->per_page, "total", (json_int_t)total));
}

static json_t *outlier_row(sqlite3_stmt *q, const drange *r)
{
    return json_pack("{s:I,s:I,s:o,s:I}", "id", (json_int_t)sqlite3_column_int64(q, 0),
                     "request_id", (json_int_t)sqlite3_column_int64(q, 1), "time",
                     dash_time(r->tz, sqlite3_column_int64(q, 2)), "duration_us",
                     (json_int_t)sqlite3_column_int64(q, 3));
}

int api_outliers(dctx *c)
{
    drange r;
    dpage p;
    const char *sort = dash_param(c, "sort");
    if (sort && strcmp(sort, "time") && strcmp(sort, "duration"))
        return dash_error(c, 400, "sort: expected 'time' or 'duration'");
    if (dash_range(c, 0, &r) || dash_page(c, &p) || dash_endpoint_exists(c, NULL, 0))
        return 0;
    /* two texts rather than a bound ORDER BY, which SQL cannot take */
    return ep_page(c, &r, &p, "outliers",
                   sort && sort[0] == 'd'
                       ? "SELECT id, request_id, ts_us, duration_us FROM outliers WHERE "
                         "endpoint_id = ?1 AND ts_us >= ?2 AND ts_us < ?3 ORDER BY duration_us "
                         "DESC, id LIMIT ?4 OFFSET ?5"
                       : "SELECT id, request_id, ts_us, duration_us FROM outliers WHERE "
                         "endpoint_id = ?1 AND ts_us >= ?2 AND ts_us < ?3 ORDER BY ts_us DESC, "
                         "id LIMIT ?4 OFFSET ?5",
                   outlier_row);
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

static json_t *parse_or_null(const char *s)
{
    json_t *v = s ? json_loads(s, 0, NULL) : NULL;
    return v ? v : json_null();
}

int api_outlier(dctx *c)
{
    const tz_zone *tz;
    sqlite3_stmt *q = NULL;
    if (!(tz = dash_tz(c)))
        return 0;
    if (sqlite3_prepare_v2(c->db,
                           "SELECT o.id, o.request_id, o.endpoint_id, e.name, o.ts_us, "
                           "o.duration_us, o.stack, o.cpu, o.memory, o.details FROM outliers o "
                           "LEFT JOIN endpoints e ON e.id = o.endpoint_id WHERE o.id = ?",
                           -1, &q, NULL) != SQLITE_OK)
        return dash_sql_error(c, "outlier");
    sqlite3_bind_int64(q, 1, c->id);
    if (sqlite3_step(q) != SQLITE_ROW) {
        sqlite3_finalize(q);
        return dash_error(c, 404, "no outlier with id %lld", (long long)c->id);
    }
    json_t *cpu = parse_or_null((const char *)sqlite3_column_text(q, 7)), *cores = json_array();
    size_t i;
    json_t *v;
    if (json_is_array(cpu))
        json_array_foreach(cpu, i, v) json_array_append_new(
            cores, json_pack("{s:i,s:f}", "core", (int)i, "percent", json_number_value(v)));
    json_decref(cpu);
    json_t *det = parse_or_null((const char *)sqlite3_column_text(q, 9));
    json_t *doc = json_pack(
        "{s:I,s:I,s:I,s:s?,s:o,s:I,s:o,s:o,s:o}", "id", (json_int_t)sqlite3_column_int64(q, 0),
        "request_id", (json_int_t)sqlite3_column_int64(q, 1), "endpoint_id",
        (json_int_t)sqlite3_column_int64(q, 2), "endpoint", (const char *)sqlite3_column_text(q, 3),
        "time", dash_time(tz, sqlite3_column_int64(q, 4)), "duration_us",
        (json_int_t)sqlite3_column_int64(q, 5), "stack",
        format_stack((const char *)sqlite3_column_text(q, 6)), "cpu_per_core", cores, "memory",
        parse_or_null((const char *)sqlite3_column_text(q, 8)));
    sqlite3_finalize(q);
    static const char *const keys[] = {"url", "headers", "environ", "values"};
    for (int k = 0; doc && k < 4; k++) {
        json_t *x = json_is_object(det) ? json_object_get(det, keys[k]) : NULL;
        json_object_set(doc, keys[k], x ? x : json_null());
    }
    json_decref(det);
    return dash_json(c, 200, doc);
}

/* ---- profiler ---------------------------------------------------------------- */

int api_profiler(dctx *c)
{
    sqlite3_stmt *q = NULL;
    if (sqlite3_prepare_v2(c->db,
                           "SELECT p.request_id, p.endpoint_id, p.duration_us, (SELECT count(*) "
                           "FROM profiler_samples s WHERE s.request_id = p.request_id) FROM "
                           "profiled p WHERE p.request_id = ?",
                           -1, &q, NULL) != SQLITE_OK)
        return dash_sql_error(c, "profile");
    sqlite3_bind_int64(q, 1, c->id);
    if (sqlite3_step(q) != SQLITE_ROW || !sqlite3_column_int64(q, 3)) {
        sqlite3_finalize(q);
        return dash_error(c, 404, "no profile for request %lld", (long long)c->id);
    }
    json_t *doc = json_pack("{s:I,s:I,s:I}", "request_id", (json_int_t)c->id, "endpoint_id",
                            (json_int_t)sqlite3_column_int64(q, 1), "duration_us",
                            (json_int_t)sqlite3_column_int64(q, 2));
    sqlite3_finalize(q);
    if (sqlite3_prepare_v2(c->db,
                           "SELECT position, indent, function, file, line, duration_us, samples "
                           "FROM profiler_samples WHERE request_id = ? ORDER BY position",
                           -1, &q, NULL) != SQLITE_OK) {
        json_decref(doc);
        return dash_sql_error(c, "profile");
    }
    sqlite3_bind_int64(q, 1, c->id);
    /* Pre-order rows with indents become a nested tree: a stack of the
     * open nodes' children arrays, one per depth. */
    json_t *root = json_array();
    json_t *stack[64];
    int depth = 0;
    stack[0] = root;
    while (sqlite3_step(q) == SQLITE_ROW) {
        int indent = sqlite3_column_int(q, 1);
        if (indent < 0)
            indent = 0;
        if (indent > depth)
            indent = depth;
        if (indent > 62)
            indent = 62;
        depth = indent;
        json_t *kids = json_array();
        json_array_append_new(stack[depth],
                              json_pack("{s:s,s:s?,s:i,s:I,s:i,s:o}", "function",
                                        sqlite3_column_text(q, 2), "file",
                                        sqlite3_column_text(q, 3), "line", sqlite3_column_int(q, 4),
                                        "duration_us", (json_int_t)sqlite3_column_int64(q, 5),
                                        "samples", sqlite3_column_int(q, 6), "children", kids));
        stack[++depth] = kids;
    }
    sqlite3_finalize(q);
    json_object_set_new(doc, "tree", root);
    return dash_json(c, 200, doc);
}

static json_t *profiled_row(sqlite3_stmt *q, const drange *r)
{
    return json_pack("{s:I,s:o,s:I,s:s?}", "request_id", (json_int_t)sqlite3_column_int64(q, 0),
                     "time", dash_time(r->tz, sqlite3_column_int64(q, 1)), "duration_us",
                     (json_int_t)sqlite3_column_int64(q, 2), "version",
                     (const char *)sqlite3_column_text(q, 3));
}

/* The endpoint's profiled requests in the range, newest first: the list a
 * per-request call tree is picked from. */
int api_ep_profiled(dctx *c)
{
    drange r;
    dpage p;
    if (dash_range(c, 30 * 86400, &r) || dash_page(c, &p) || dash_endpoint_exists(c, NULL, 0))
        return 0;
    return ep_page(c, &r, &p, "profiled",
                   "SELECT p.request_id, p.ts_us, p.duration_us, v.name FROM profiled p LEFT "
                   "JOIN versions v ON v.id = p.version_id WHERE p.endpoint_id = ?1 AND p.ts_us "
                   ">= ?2 AND p.ts_us < ?3 ORDER BY p.ts_us DESC LIMIT ?4 OFFSET ?5",
                   profiled_row);
}

/* Lines of every profiled request of the endpoint, grouped per version by
 * (function, file, line, indent): total duration, samples and hits. */
int api_ep_profile(dctx *c)
{
    drange r;
    dpage p;
    sqlite3_stmt *q = NULL;
    if (dash_range(c, 30 * 86400, &r) || dash_page(c, &p) || dash_endpoint_exists(c, NULL, 0))
        return 0;
    if (sqlite3_prepare_v2(c->db,
                           "SELECT v.name, s.indent, s.function, s.file, s.line, "
                           "sum(s.duration_us), sum(s.samples), count(DISTINCT s.request_id) "
                           "FROM profiled r JOIN profiler_samples s ON s.request_id = "
                           "r.request_id JOIN versions v ON v.id = r.version_id WHERE "
                           "r.endpoint_id = ?1 AND r.ts_us >= ?2 AND r.ts_us < ?3 GROUP BY "
                           "r.version_id, s.indent, s.function, s.file, s.line ORDER BY "
                           "v.first_seen_us, 6 DESC",
                           -1, &q, NULL) != SQLITE_OK)
        return dash_sql_error(c, "grouped profile");
    sqlite3_bind_int64(q, 1, c->id);
    sqlite3_bind_int64(q, 2, r.from_us);
    sqlite3_bind_int64(q, 3, r.to_us);
    json_t *items = json_array();
    while (sqlite3_step(q) == SQLITE_ROW)
        json_array_append_new(
            items,
            json_pack("{s:s,s:i,s:s,s:s?,s:i,s:I,s:I,s:I}", "version", sqlite3_column_text(q, 0),
                      "indent", sqlite3_column_int(q, 1), "function", sqlite3_column_text(q, 2),
                      "file", sqlite3_column_text(q, 3), "line", sqlite3_column_int(q, 4),
                      "duration_us", (json_int_t)sqlite3_column_int64(q, 5), "samples",
                      (json_int_t)sqlite3_column_int64(q, 6), "requests",
                      (json_int_t)sqlite3_column_int64(q, 7)));
    sqlite3_finalize(q);
    return dash_json(c, 200, dash_paged(items, &p));
}

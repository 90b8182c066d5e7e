/* api_endpoint.c — the views of one endpoint.  Per-version numbers come
 * from the rollups; per-group and per-IP numbers need the raw rows (the
 * rollups are not keyed by them), read through the (endpoint_id, ts_us)
 * index and bounded by the range. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "evodash.h"
#include "dash/dash_int.h"

#define HOUR_US      3600000000LL
#define RAW_ROWS_MAX 2000000 /* raw rows one per-group/IP view may read */

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

/* Raw durations grouped by a text key (and a version id), gathered in a
 * hash table: cheaper than making SQLite sort a week of rows. */
typedef struct rgroup {
    char key[64];
    int64_t ver;
    int64_t *v;
    size_t n, cap;
    double sum;
} rgroup;

typedef struct rgroups {
    rgroup *g;
    size_t n, cap;
    size_t *slot, nslot;
} rgroups;

static size_t key_hash(const char *k, int64_t ver)
{
    uint64_t h = 1469598103934665603ull ^ (uint64_t)ver;
    for (; *k; k++)
        h = (h ^ (unsigned char)*k) * 1099511628211ull;
    return (size_t)(h ^ h >> 32);
}

static void rgroups_free(rgroups *t)
{
    for (size_t i = 0; i < t->n; i++)
        free(t->g[i].v);
    free(t->g);
    free(t->slot);
}

static rgroup *rgroup_get(rgroups *t, const char *key, int64_t ver)
{
    if (t->n * 2 >= t->nslot) {
        size_t ns = t->nslot ? t->nslot * 2 : 256;
        size_t *slot = calloc(ns, sizeof *slot);
        rgroup *ng = realloc(t->g, (ns / 2 + 1) * sizeof *ng);
        if (ng)
            t->g = ng;
        if (!slot || !ng) {
            free(slot);
            return NULL;
        }
        for (size_t i = 0; i < t->n; i++) {
            size_t h = key_hash(t->g[i].key, t->g[i].ver) & (ns - 1);
            while (slot[h])
                h = (h + 1) & (ns - 1);
            slot[h] = i + 1;
        }
        free(t->slot);
        t->slot = slot;
        t->nslot = ns;
    }
    size_t h = key_hash(key, ver) & (t->nslot - 1);
    while (t->slot[h]) {
        rgroup *g = &t->g[t->slot[h] - 1];
        if (g->ver == ver && !strncmp(g->key, key, sizeof g->key - 1))
            return g;
        h = (h + 1) & (t->nslot - 1);
    }
    rgroup *g = &t->g[t->n];
    memset(g, 0, sizeof *g);
    snprintf(g->key, sizeof g->key, "%s", key);
    g->ver = ver;
    t->slot[h] = ++t->n;
    return g;
}

static int rgroup_cmp(const void *a, const void *b)
{
    const rgroup *x = a, *y = b;
    int c = strcmp(x->key, y->key);
    return c ? c : (x->ver > y->ver) - (x->ver < y->ver);
}

/* Read (key, version, duration) of the endpoint's raw rows in the range
 * into t, sorted by key then version.  keep_values: keep every duration
 * (box plots) or only count and sum (bubbles).  Replies and returns -1 on
 * failure. */
static int raw_groups(dctx *c, const drange *r, const char *col, int by_version, int keep_values,
                      rgroups *t)
{
    sqlite3_stmt *q = NULL;
    char sql[256];
    memset(t, 0, sizeof *t);
    snprintf(sql, sizeof sql,
             "SELECT coalesce(%s, ''), version_id, duration_us FROM requests WHERE "
             "endpoint_id = ?1 AND ts_us >= ?2 AND ts_us < ?3",
             col);
    if (sqlite3_prepare_v2(c->db, sql, -1, &q, NULL) != SQLITE_OK)
        return dash_sql_error(c, col), -1;
    sqlite3_bind_int64(q, 1, c->id);
    sqlite3_bind_int64(q, 2, r->from_us);
    sqlite3_bind_int64(q, 3, r->to_us);
    size_t rows = 0;
    int step;
    while ((step = sqlite3_step(q)) == SQLITE_ROW) {
        if (++rows > RAW_ROWS_MAX) {
            sqlite3_finalize(q);
            rgroups_free(t);
            return dash_error(c, 400, "range holds more than %d requests; narrow from/to",
                              RAW_ROWS_MAX),
                   -1;
        }
        rgroup *g = rgroup_get(t, (const char *)sqlite3_column_text(q, 0),
                               by_version ? sqlite3_column_int64(q, 1) : 0);
        if (g && keep_values && g->n == g->cap) {
            size_t ncap = g->cap ? g->cap * 2 : 64;
            int64_t *nv = realloc(g->v, ncap * sizeof *nv);
            if (nv) {
                g->v = nv;
                g->cap = ncap;
            }
        }
        if (!g || (keep_values && g->n == g->cap)) {
            sqlite3_finalize(q);
            rgroups_free(t);
            return dash_error(c, 500, "out of memory"), -1;
        }
        int64_t d = sqlite3_column_int64(q, 2);
        if (keep_values)
            g->v[g->n] = d;
        g->n++;
        g->sum += (double)d;
    }
    sqlite3_finalize(q);
    if (step != SQLITE_DONE) {
        rgroups_free(t);
        return dash_sql_error(c, col), -1;
    }
    if (t->n)
        qsort(t->g, t->n, sizeof *t->g, rgroup_cmp);
    return 0;
}

/* Box plots per value of a raw column (group_name or ip), exact. */
static int raw_boxes(dctx *c, const char *col)
{
    drange r;
    dpage p;
    rgroups t;
    if (dash_range(c, 30 * 86400, &r) || dash_page(c, &p) || dash_endpoint_exists(c, NULL, 0) ||
        raw_groups(c, &r, col, 0, 1, &t))
        return 0;
    json_t *items = json_array();
    for (size_t i = 0; i < t.n; i++) {
        boxstat b;
        box_from_values(t.g[i].v, t.g[i].n, &b);
        json_array_append_new(items, json_pack("{s:s,s:o}", col[0] == 'g' ? "group" : "ip",
                                               t.g[i].key, "box", box_json(&b)));
    }
    rgroups_free(&t);
    return dash_json(c, 200, dash_paged(items, &p));
}

int api_ep_groups(dctx *c)
{
    return raw_boxes(c, "group_name");
}

int api_ep_ips(dctx *c)
{
    return raw_boxes(c, "ip");
}

int api_ep_bubbles(dctx *c)
{
    drange r;
    dpage p;
    rgroups t;
    sqlite3_stmt *q = NULL;
    const char *by = dash_param(c, "by");
    if (!by)
        by = "group";
    if (strcmp(by, "group") && strcmp(by, "ip"))
        return dash_error(c, 400, "by: expected 'group' or 'ip'");
    if (dash_range(c, 30 * 86400, &r) || dash_page(c, &p) || dash_endpoint_exists(c, NULL, 0) ||
        raw_groups(c, &r, by[0] == 'g' ? "group_name" : "ip", 1, 0, &t))
        return 0;
    if (sqlite3_prepare_v2(c->db, "SELECT name FROM versions WHERE id = ?", -1, &q, NULL) !=
        SQLITE_OK) {
        rgroups_free(&t);
        return dash_sql_error(c, "bubbles");
    }
    json_t *items = json_array();
    for (size_t i = 0; i < t.n; i++) {
        sqlite3_reset(q);
        sqlite3_bind_int64(q, 1, t.g[i].ver);
        const char *vname =
            sqlite3_step(q) == SQLITE_ROW ? (const char *)sqlite3_column_text(q, 0) : "";
        json_array_append_new(items, json_pack("{s:s,s:s,s:I,s:f}", by, t.g[i].key, "version",
                                               vname, "count", (json_int_t)t.g[i].n, "avg_us",
                                               t.g[i].sum / (double)t.g[i].n));
    }
    sqlite3_finalize(q);
    rgroups_free(&t);
    json_t *doc = dash_paged(items, &p);
    if (doc)
        json_object_set_new(doc, "by", json_string(by));
    return dash_json(c, 200, doc);
}

int api_ep_status(dctx *c)
{
    drange r;
    sqlite3_stmt *q = NULL;
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
    /* Counted in C: HTTP codes are 100..599, so an array beats SQLite's
     * sort for GROUP BY; anything else lands in a short list. */
    if (sqlite3_prepare_v2(c->db,
                           "SELECT status FROM requests WHERE endpoint_id = ?1 AND ts_us >= ?2 "
                           "AND ts_us < ?3",
                           -1, &q, NULL) != SQLITE_OK) {
        json_decref(classes);
        return dash_sql_error(c, "status codes");
    }
    sqlite3_bind_int64(q, 1, c->id);
    sqlite3_bind_int64(q, 2, r.from_us);
    sqlite3_bind_int64(q, 3, r.to_us);
    int64_t *n = calloc(600, sizeof *n);
    int odd_code[32];
    int64_t odd_n[32];
    int nodd = 0, step;
    if (!n) {
        sqlite3_finalize(q);
        json_decref(classes);
        return dash_error(c, 500, "out of memory");
    }
    while ((step = sqlite3_step(q)) == SQLITE_ROW) {
        int code = sqlite3_column_int(q, 0);
        if (code >= 0 && code < 600) {
            n[code]++;
            continue;
        }
        int k = 0;
        while (k < nodd && odd_code[k] != code)
            k++;
        if (k == nodd && nodd < 32) {
            odd_code[nodd] = code;
            odd_n[nodd++] = 0;
        }
        if (k < nodd)
            odd_n[k]++;
    }
    sqlite3_finalize(q);
    if (step != SQLITE_DONE) {
        free(n);
        json_decref(classes);
        return dash_sql_error(c, "status codes");
    }
    json_t *codes = json_array();
    for (int k = 0; k < nodd; k++)
        if (odd_code[k] < 0)
            json_array_append_new(codes, json_pack("{s:i,s:I}", "status", odd_code[k], "count",
                                                   (json_int_t)odd_n[k]));
    for (int code = 0; code < 600; code++)
        if (n[code])
            json_array_append_new(
                codes, json_pack("{s:i,s:I}", "status", code, "count", (json_int_t)n[code]));
    for (int k = 0; k < nodd; k++)
        if (odd_code[k] >= 600)
            json_array_append_new(codes, json_pack("{s:i,s:I}", "status", odd_code[k], "count",
                                                   (json_int_t)odd_n[k]));
    free(n);
    return dash_json(c, 200,
                     json_pack("{s:I,s:o,s:o}", "endpoint_id", (json_int_t)c->id, "classes",
                               classes, "codes", codes));
}

/* ---- outliers -------------------------------------------------------------- */

int api_outliers(dctx *c)
{
    drange r;
    dpage p;
    sqlite3_stmt *q = NULL;
    if (dash_range(c, 0, &r) || dash_page(c, &p) || dash_endpoint_exists(c, NULL, 0))
        return 0;
    if (sqlite3_prepare_v2(c->db,
                           "SELECT id, request_id, ts_us, duration_us, (SELECT count(*) FROM "
                           "outliers WHERE endpoint_id = ?1 AND ts_us >= ?2 AND ts_us < ?3) FROM "
                           "outliers WHERE endpoint_id = ?1 AND ts_us >= ?2 AND ts_us < ?3 ORDER "
                           "BY ts_us DESC LIMIT ?4 OFFSET ?5",
                           -1, &q, NULL) != SQLITE_OK)
        return dash_sql_error(c, "outliers");
    sqlite3_bind_int64(q, 1, c->id);
    sqlite3_bind_int64(q, 2, r.from_us);
    sqlite3_bind_int64(q, 3, r.to_us);
    sqlite3_bind_int64(q, 4, p.per_page);
    sqlite3_bind_int64(q, 5, p.offset);
    json_t *items = json_array();
    int64_t total = 0;
    while (sqlite3_step(q) == SQLITE_ROW) {
        total = sqlite3_column_int64(q, 4);
        json_array_append_new(
            items, json_pack("{s:I,s:I,s:o,s:I}", "id", (json_int_t)sqlite3_column_int64(q, 0),
                             "request_id", (json_int_t)sqlite3_column_int64(q, 1), "time",
                             dash_time(r.tz, sqlite3_column_int64(q, 2)), "duration_us",
                             (json_int_t)sqlite3_column_int64(q, 3)));
    }
    sqlite3_finalize(q);
    return dash_json(c, 200,
                     json_pack("{s:o,s:I,s:I,s:I}", "items", items, "page", (json_int_t)p.page,
                               "per_page", (json_int_t)p.per_page, "total", (json_int_t)total));
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

/* The endpoint's profiled requests in the range, newest first: the list a
 * per-request call tree is picked from. */
int api_ep_profiled(dctx *c)
{
    drange r;
    dpage p;
    sqlite3_stmt *q = NULL;
    if (dash_range(c, 30 * 86400, &r) || dash_page(c, &p) || dash_endpoint_exists(c, NULL, 0))
        return 0;
    if (sqlite3_prepare_v2(c->db,
                           "SELECT p.request_id, p.ts_us, p.duration_us, v.name, (SELECT count(*) "
                           "FROM profiled WHERE endpoint_id = ?1 AND ts_us >= ?2 AND ts_us < ?3) "
                           "FROM profiled p LEFT JOIN versions v ON v.id = p.version_id WHERE "
                           "p.endpoint_id = ?1 AND p.ts_us >= ?2 AND p.ts_us < ?3 ORDER BY "
                           "p.ts_us DESC LIMIT ?4 OFFSET ?5",
                           -1, &q, NULL) != SQLITE_OK)
        return dash_sql_error(c, "profiled requests");
    sqlite3_bind_int64(q, 1, c->id);
    sqlite3_bind_int64(q, 2, r.from_us);
    sqlite3_bind_int64(q, 3, r.to_us);
    sqlite3_bind_int64(q, 4, p.per_page);
    sqlite3_bind_int64(q, 5, p.offset);
    json_t *items = json_array();
    int64_t total = 0;
    int step;
    while ((step = sqlite3_step(q)) == SQLITE_ROW) {
        total = sqlite3_column_int64(q, 4);
        json_array_append_new(items,
                              json_pack("{s:I,s:o,s:I,s:s?}", "request_id",
                                        (json_int_t)sqlite3_column_int64(q, 0), "time",
                                        dash_time(r.tz, sqlite3_column_int64(q, 1)), "duration_us",
                                        (json_int_t)sqlite3_column_int64(q, 2), "version",
                                        (const char *)sqlite3_column_text(q, 3)));
    }
    sqlite3_finalize(q);
    if (step != SQLITE_DONE) {
        json_decref(items);
        return dash_sql_error(c, "profiled requests");
    }
    return dash_json(c, 200,
                     json_pack("{s:o,s:I,s:I,s:I}", "items", items, "page", (json_int_t)p.page,
                               "per_page", (json_int_t)p.per_page, "total", (json_int_t)total));
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

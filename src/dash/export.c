/* export.c — machine routes: the raw-request export (CSV or JSON, streamed
 * row by row so a year of requests never sits in memory), the Prometheus
 * metrics, and the upload of CI test timings.
 *
 * The export's body is written by hand rather than through a document
 * tree: it may hold millions of rows.  Each row is a small JSON object
 * serialised by jansson. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include <sqlite3.h>

#include "evodash.h"
#include "core/sketch.h"
#include "dash/dash_int.h"

#define LINE_MAX_BYTES 2048

typedef struct export_stream {
    store *st;
    sqlite3_stmt *q;
    int json;
    int state; /* 0 header, 1 rows, 2 footer written, 3 done */
    int64_t rows;
    char line[LINE_MAX_BYTES];
    size_t len, pos;
} export_stream;

static const char SQL_EXPORT[] =
    "SELECT r.id, e.name, v.name, r.ts_us, r.duration_us, r.status, r.group_name, r.ip, i.name "
    "FROM requests r JOIN endpoints e ON e.id = r.endpoint_id JOIN versions v ON v.id = "
    "r.version_id LEFT JOIN instances i ON i.id = r.instance_id WHERE r.ts_us >= ?1 AND r.ts_us "
    "< ?2 ORDER BY r.ts_us, r.id";

static void stream_free(export_stream *s)
{
    if (!s)
        return;
    sqlite3_finalize(s->q);
    store_close(s->st);
    free(s);
}

/* CSV field: quoted when it holds a separator, quote or line break. */
static size_t csv_field(char *out, size_t cap, const char *v)
{
    if (!v)
        v = "";
    if (!strpbrk(v, ",\"\r\n"))
        return (size_t)snprintf(out, cap, "%s", v);
    size_t n = 0;
    if (n < cap)
        out[n++] = '"';
    for (; *v && n + 2 < cap; v++) {
        if (*v == '"')
            out[n++] = '"';
        out[n++] = *v;
    }
    if (n < cap)
        out[n++] = '"';
    if (n < cap)
        out[n] = 0;
    return n;
}

/* Produce the next line into s->line; 0 when there is one, 1 at the end,
 * -1 on a database error. */
static int next_line(export_stream *s)
{
    s->len = s->pos = 0;
    if (s->state == 0) {
        s->state = 1;
        s->len = (size_t)snprintf(s->line, sizeof s->line, "%s",
                                  s->json ? "["
                                          : "id,endpoint,version,time_us,duration_us,"
                                            "status,group,ip,instance\n");
        return 0;
    }
    if (s->state == 1) {
        int rc = sqlite3_step(s->q);
        if (rc == SQLITE_ROW) {
            const char *grp = (const char *)sqlite3_column_text(s->q, 6);
            const char *ip = (const char *)sqlite3_column_text(s->q, 7);
            const char *inst = (const char *)sqlite3_column_text(s->q, 8);
            if (s->json) {
                json_t *o = json_pack(
                    "{s:I,s:s,s:s,s:I,s:I,s:i,s:s?,s:s?,s:s?}", "id",
                    (json_int_t)sqlite3_column_int64(s->q, 0), "endpoint",
                    sqlite3_column_text(s->q, 1), "version", sqlite3_column_text(s->q, 2),
                    "time_us", (json_int_t)sqlite3_column_int64(s->q, 3), "duration_us",
                    (json_int_t)sqlite3_column_int64(s->q, 4), "status",
                    sqlite3_column_int(s->q, 5), "group", grp, "ip", ip, "instance", inst);
                if (!o)
                    return -1;
                if (s->rows)
                    s->line[s->len++] = ',';
                size_t n =
                    json_dumpb(o, s->line + s->len, sizeof s->line - s->len - 2, JSON_COMPACT);
                json_decref(o);
                if (!n || n > sizeof s->line - s->len - 2)
                    return -1;
                s->len += n;
                s->line[s->len++] = '\n';
            } else {
                char *p = s->line;
                size_t cap = sizeof s->line;
                size_t n =
                    (size_t)snprintf(p, cap, "%lld,", (long long)sqlite3_column_int64(s->q, 0));
                n += csv_field(p + n, cap - n, (const char *)sqlite3_column_text(s->q, 1));
                n += (size_t)snprintf(p + n, cap - n, ",");
                n += csv_field(p + n, cap - n, (const char *)sqlite3_column_text(s->q, 2));
                n += (size_t)snprintf(
                    p + n, cap - n, ",%lld,%lld,%d,", (long long)sqlite3_column_int64(s->q, 3),
                    (long long)sqlite3_column_int64(s->q, 4), sqlite3_column_int(s->q, 5));
                n += csv_field(p + n, cap - n, grp);
                n += (size_t)snprintf(p + n, cap - n, ",");
                n += csv_field(p + n, cap - n, ip);
                n += (size_t)snprintf(p + n, cap - n, ",");
                n += csv_field(p + n, cap - n, inst);
                if (n + 2 > cap)
                    return -1;
                p[n++] = '\n';
                s->len = n;
            }
            s->rows++;
            return 0;
        }
        if (rc != SQLITE_DONE)
            return -1;
        s->state = 2;
        if (s->json) {
            s->len = (size_t)snprintf(s->line, sizeof s->line, "]\n");
            return 0;
        }
    }
    s->state = 3;
    return 1;
}

long evd_dash_response_read(evd_dash_response *rs, char *buf, size_t cap)
{
    export_stream *s = rs->stream_;
    size_t out = 0;
    if (!s)
        return 0;
    while (out < cap) {
        if (s->pos == s->len) {
            if (s->state == 3)
                break;
            int rc = next_line(s);
            if (rc < 0)
                return -1;
            if (rc > 0)
                break;
        }
        size_t n = s->len - s->pos;
        if (n > cap - out)
            n = cap - out;
        memcpy(buf + out, s->line + s->pos, n);
        s->pos += n;
        out += n;
    }
    return (long)out;
}

void evd_dash_response_free(evd_dash_response *rs)
{
    if (!rs)
        return;
    if (!rs->body_static)
        free(rs->body);
    rs->body = NULL;
    stream_free(rs->stream_);
    rs->stream_ = NULL;
}

int api_export(dctx *c)
{
    drange r;
    const char *fmt = dash_param(c, "format");
    if (!fmt)
        fmt = "csv";
    if (strcmp(fmt, "csv") && strcmp(fmt, "json"))
        return dash_error(c, 400, "format: expected 'csv' or 'json'");
    if (dash_range(c, 0, &r))
        return 0;
    export_stream *s = calloc(1, sizeof *s);
    if (!s)
        return dash_error(c, 500, "out of memory");
    s->json = fmt[0] == 'j';
    /* Its own connection: the stream outlives this request's pooled one. */
    if (store_open(c->d->db_url, STORE_RDONLY, &s->st) ||
        sqlite3_prepare_v2(store_db(s->st), SQL_EXPORT, -1, &s->q, NULL) != SQLITE_OK) {
        int rc =
            dash_error(c, 500, "export: %s", s->st ? store_errmsg(s->st) : "cannot open the store");
        stream_free(s);
        return rc;
    }
    sqlite3_bind_int64(s->q, 1, r.from_us);
    sqlite3_bind_int64(s->q, 2, r.to_us);
    c->rs->status = 200;
    c->rs->content_type = s->json ? "application/json" : "text/csv; charset=utf-8";
    c->rs->stream_ = s;
    return 0;
}

/* ---- Prometheus metrics ------------------------------------------------------ */

typedef struct sbuf {
    char *p;
    size_t len, cap;
    int oom;
} sbuf;

static void sb_printf(sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void sb_printf(sbuf *b, const char *fmt, ...)
{
    for (int tries = 0; tries < 2 && !b->oom; tries++) {
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
        va_end(ap);
        if (n < 0) {
            b->oom = 1;
            return;
        }
        if ((size_t)n < b->cap - b->len) {
            b->len += (size_t)n;
            return;
        }
        size_t ncap = (b->cap + (size_t)n + 1) * 2;
        char *np = realloc(b->p, ncap);
        if (!np) {
            b->oom = 1;
            return;
        }
        b->p = np;
        b->cap = ncap;
    }
}

/* Label values escape backslash, quote and newline (exposition format). */
static void label(const char *v, char *out, size_t cap)
{
    size_t n = 0;
    for (; *v && n + 3 < cap; v++) {
        if (*v == '\\' || *v == '"') {
            out[n++] = '\\';
            out[n++] = *v;
        } else if (*v == '\n') {
            out[n++] = '\\';
            out[n++] = 'n';
        } else
            out[n++] = *v;
    }
    out[n] = 0;
}

static const double le_seconds[] = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1,
                                    0.25,  0.5,    1,     2.5,  5,     10};
#define NLE (sizeof le_seconds / sizeof le_seconds[0])

int route_metrics(dctx *c)
{
    sqlite3_stmt *q = NULL;
    sbuf b = {.p = malloc(4096), .cap = 4096};
    sketch *sk = malloc(sizeof *sk);
    if (!b.p || !sk) {
        free(b.p);
        free(sk);
        return dash_error(c, 500, "out of memory");
    }
    b.p[0] = 0;
    agg_result ar;
    if (agg_query(c, INT64_MIN / 4, INT64_MAX / 4, AG_EP, -1, 1, &ar)) {
        free(b.p);
        free(sk);
        return 0;
    }
    if (sqlite3_prepare_v2(c->db, "SELECT id, name FROM endpoints ORDER BY name", -1, &q, NULL) !=
        SQLITE_OK) {
        agg_free(&ar);
        free(b.p);
        free(sk);
        return dash_sql_error(c, "metrics");
    }
    sbuf h = {.p = malloc(4096), .cap = 4096};
    if (!h.p)
        h.oom = 1;
    else
        h.p[0] = 0;
    sb_printf(&b, "# HELP evodash_requests_total Requests recorded, per endpoint and status "
                  "class.\n# TYPE evodash_requests_total counter\n");
    sb_printf(&h, "# HELP evodash_request_duration_seconds Request duration per endpoint.\n"
                  "# TYPE evodash_request_duration_seconds histogram\n");
    static const char *const cls[] = {"1xx", "2xx", "3xx", "4xx", "5xx", "other"};
    const double lg = log((1 + SKETCH_ALPHA) / (1 - SKETCH_ALPHA));
    while (sqlite3_step(q) == SQLITE_ROW) {
        char name[512];
        label((const char *)sqlite3_column_text(q, 1), name, sizeof name);
        const agg_acc *a = agg_find(&ar, sqlite3_column_int64(q, 0), 0);
        static const int order[] = {1, 2, 3, 4, 5, 0};
        for (int i = 0; i < 6; i++)
            sb_printf(&b, "evodash_requests_total{endpoint=\"%s\",status_class=\"%s\"} %lld\n",
                      name, cls[i], (long long)(a ? a->cls[order[i]] : 0));
        sketch_init(sk);
        if (a && a->sk)
            sketch_merge(sk, a->sk);
        /* Bucket i of the sketch holds (gamma^(i-1), gamma^i] microseconds;
         * a bucket counts under `le` when its upper bound is <= le, so the
         * cumulative counts are exact to the sketch's 1%. */
        size_t k = 0;
        uint64_t cum = sk->zero;
        for (int i = SKETCH_MIN_IDX; i <= SKETCH_MAX_IDX && k < NLE; i++) {
            double upper_s = exp(lg * i) / 1e6;
            while (k < NLE && upper_s > le_seconds[k]) {
                sb_printf(&h,
                          "evodash_request_duration_seconds_bucket{endpoint=\"%s\",le=\"%g\"} "
                          "%llu\n",
                          name, le_seconds[k], (unsigned long long)cum);
                k++;
            }
            if (i >= sk->lo && i <= sk->hi)
                cum += sk->bins[i - SKETCH_MIN_IDX];
        }
        for (; k < NLE; k++)
            sb_printf(&h,
                      "evodash_request_duration_seconds_bucket{endpoint=\"%s\",le=\"%g\"} %llu\n",
                      name, le_seconds[k], (unsigned long long)cum);
        long long cnt = a ? (long long)a->count : 0;
        sb_printf(&h,
                  "evodash_request_duration_seconds_bucket{endpoint=\"%s\",le=\"+Inf\"} %lld\n"
                  "evodash_request_duration_seconds_sum{endpoint=\"%s\"} %.6f\n"
                  "evodash_request_duration_seconds_count{endpoint=\"%s\"} %lld\n",
                  name, cnt, name, a ? (double)a->sum / 1e6 : 0.0, name, cnt);
    }
    agg_free(&ar);
    sqlite3_finalize(q);
    free(sk);
    int64_t dropped = 0;
    if (sqlite3_prepare_v2(c->db, "SELECT coalesce(sum(dropped), 0) FROM instances", -1, &q,
                           NULL) == SQLITE_OK &&
        sqlite3_step(q) == SQLITE_ROW)
        dropped = sqlite3_column_int64(q, 0);
    sqlite3_finalize(q);
    if (!h.oom)
        sb_printf(&b, "%s", h.p);
    free(h.p);
    sb_printf(&b,
              "# HELP evodash_dropped_records_total Records lost before reaching the store.\n"
              "# TYPE evodash_dropped_records_total counter\nevodash_dropped_records_total "
              "%lld\n",
              (long long)dropped);
    if (b.oom || h.oom) {
        free(b.p);
        return dash_error(c, 500, "out of memory");
    }
    int rc = dash_text(c, 200, "text/plain; version=0.0.4; charset=utf-8", b.p, b.len);
    free(b.p);
    return rc;
}

/* ---- CI test timings ------------------------------------------------------------ */

static int insert_run(dctx *c, sqlite3_stmt *q, json_t *o, size_t i)
{
    const char *suite, *test, *version, *ep = NULL, *run = NULL;
    json_int_t ts, dur;
    int passed;
    json_error_t je;
    if (json_unpack_ex(o, &je, JSON_STRICT, "{s:s,s:s,s:s,s:I,s:I,s:b,s?s,s?s}", "suite", &suite,
                       "test_name", &test, "version", &version, "time_us", &ts, "duration_us", &dur,
                       "passed", &passed, "endpoint", &ep, "run_id", &run)) {
        dash_error(c, 400, "test_runs[%zu]: %s", i, je.text);
        return -1;
    }
    sqlite3_reset(q);
    sqlite3_bind_text(q, 1, suite, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(q, 2, test, -1, SQLITE_TRANSIENT);
    if (ep)
        sqlite3_bind_text(q, 3, ep, -1, SQLITE_TRANSIENT);
    else
        sqlite3_bind_null(q, 3);
    sqlite3_bind_text(q, 4, version, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(q, 5, ts);
    sqlite3_bind_int64(q, 6, dur);
    sqlite3_bind_int(q, 7, passed);
    if (run)
        sqlite3_bind_text(q, 8, run, -1, SQLITE_TRANSIENT);
    else
        sqlite3_bind_null(q, 8);
    if (sqlite3_step(q) != SQLITE_DONE) {
        dash_sql_error(c, "storing test runs");
        return -1;
    }
    return 0;
}

int api_test_runs(dctx *c)
{
    json_error_t je;
    sqlite3_stmt *q = NULL;
    if (!c->rq->body || !c->rq->body_len)
        return dash_error(c, 400, "test_runs: send a JSON array of runs");
    json_t *doc = json_loadb(c->rq->body, c->rq->body_len, 0, &je);
    if (!doc)
        return dash_error(c, 400, "test_runs: malformed JSON at line %d: %s", je.line, je.text);
    if (!json_is_array(doc)) {
        json_decref(doc);
        return dash_error(c, 400, "test_runs: expected a JSON array");
    }
    if (sqlite3_prepare_v2(c->db,
                           "INSERT INTO test_runs(suite, test_name, endpoint_id, version, ts_us, "
                           "duration_us, passed, run_id) VALUES(?1, ?2, (SELECT id FROM "
                           "endpoints WHERE name = ?3), ?4, ?5, ?6, ?7, ?8)",
                           -1, &q, NULL) != SQLITE_OK ||
        sqlite3_exec(c->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK) {
        sqlite3_finalize(q);
        json_decref(doc);
        return dash_sql_error(c, "storing test runs");
    }
    size_t i;
    json_t *o;
    json_array_foreach(doc, i, o) if (insert_run(c, q, o, i))
    {
        sqlite3_finalize(q);
        json_decref(doc);
        sqlite3_exec(c->db, "ROLLBACK", NULL, NULL, NULL);
        return 0;
    }
    sqlite3_finalize(q);
    size_t n = json_array_size(doc);
    json_decref(doc);
    if (sqlite3_exec(c->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
        return dash_sql_error(c, "storing test runs");
    return dash_json(c, 201, json_pack("{s:I}", "stored", (json_int_t)n));
}

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

#include "evodash.h"
#include "core/sketch.h"
#include "agent/callbacks.h"
#include "dash/dash_int.h"
#include "store/read.h"

#define LINE_MAX_BYTES 2048

typedef struct export_stream {
    store *st;
    store_cursor *cur;
    int json;
    int state; /* 0 header, 1 rows, 2 footer written, 3 done */
    int64_t inst[DASH_INST_MAX];
    int64_t rows;
    char line[LINE_MAX_BYTES];
    size_t len, pos;
} export_stream;

static void stream_free(export_stream *s)
{
    if (!s)
        return;
    store_export_close(s->cur);
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
                                            "status,group,ip,instance,service\n");
        return 0;
    }
    if (s->state == 1) {
        store_export_row x;
        int rc = store_export_next(s->cur, &x);
        if (rc > 0) {
            if (s->json) {
                json_t *o = json_pack(
                    "{s:I,s:s,s:s,s:s,s:I,s:I,s:i,s:s?,s:s?,s:s?}", "id", (json_int_t)x.id,
                    "service", x.service, "endpoint", x.endpoint, "version", x.version, "time_us",
                    (json_int_t)x.ts_us, "duration_us", (json_int_t)x.duration_us, "status",
                    x.status, "group", x.group, "ip", x.ip, "instance", x.instance);
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
                size_t n = (size_t)snprintf(p, cap, "%lld,", (long long)x.id);
                n += csv_field(p + n, cap - n, x.endpoint);
                n += (size_t)snprintf(p + n, cap - n, ",");
                n += csv_field(p + n, cap - n, x.version);
                n += (size_t)snprintf(p + n, cap - n, ",%lld,%lld,%d,", (long long)x.ts_us,
                                      (long long)x.duration_us, x.status);
                n += csv_field(p + n, cap - n, x.group);
                n += (size_t)snprintf(p + n, cap - n, ",");
                n += csv_field(p + n, cap - n, x.ip);
                n += (size_t)snprintf(p + n, cap - n, ",");
                n += csv_field(p + n, cap - n, x.instance);
                n += (size_t)snprintf(p + n, cap - n, ",");
                n += csv_field(p + n, cap - n, x.service);
                if (n + 2 > cap)
                    return -1;
                p[n++] = '\n';
                s->len = n;
            }
            s->rows++;
            return 0;
        }
        if (rc < 0)
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
    /* Its own connection: the stream outlives this request's pooled one.
     * The filter's instance ids are copied: the cursor keeps them. */
    if (c->filter.ninstances)
        memcpy(s->inst, c->filter.instances, c->filter.ninstances * sizeof *s->inst);
    store_filter f = {c->filter.service_id, s->inst, c->filter.ninstances};
    int rc = store_open(c->d->db_url, STORE_RDONLY, &s->st);
    if (!rc)
        rc = store_export_open(s->st, &f, r.from_us, r.to_us, &s->cur);
    if (rc) {
        dash_error(c, rc == EVD_EBUSY ? 503 : 500, "export: %s",
                   s->st ? store_errmsg(s->st) : "cannot open the store");
        stream_free(s);
        return 0;
    }
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

typedef struct metrics_ctx {
    sbuf *b, *h;
    const agg_result *ar;
    sketch *sk;
    double lg;
    agent_live_info live; /* this process's instance: its counters now */
    int has_live, live_seen;
} metrics_ctx;

static int metrics_endpoint(void *u, const store_endpoint_row *r)
{
    static const char *const cls[] = {"1xx", "2xx", "3xx", "4xx", "5xx", "other"};
    static const int order[] = {1, 2, 3, 4, 5, 0};
    metrics_ctx *m = u;
    char name[512], svc[256], lab[800];
    label(r->name, name, sizeof name);
    label(r->service, svc, sizeof svc);
    snprintf(lab, sizeof lab, "service=\"%s\",endpoint=\"%s\"", svc, name);
    const agg_acc *a = agg_find(m->ar, r->id, 0);
    for (int i = 0; i < 6; i++)
        sb_printf(m->b, "evodash_requests_total{%s,status_class=\"%s\"} %lld\n", lab, cls[i],
                  (long long)(a ? a->cls[order[i]] : 0));
    sketch *sk = m->sk;
    sketch_init(sk);
    if (a && a->sk)
        sketch_merge(sk, a->sk);
    /* Bucket i of the sketch holds (gamma^(i-1), gamma^i] microseconds; a
     * bucket counts under `le` when its upper bound is <= le, so the
     * cumulative counts are exact to the sketch's 1%. */
    size_t k = 0;
    uint64_t cum = sk->zero;
    for (int i = SKETCH_MIN_IDX; i <= SKETCH_MAX_IDX && k < NLE; i++) {
        double upper_s = exp(m->lg * i) / 1e6;
        while (k < NLE && upper_s > le_seconds[k]) {
            sb_printf(m->h, "evodash_request_duration_seconds_bucket{%s,le=\"%g\"} %llu\n", lab,
                      le_seconds[k], (unsigned long long)cum);
            k++;
        }
        if (i >= sk->lo && i <= sk->hi)
            cum += sk->bins[i - SKETCH_MIN_IDX];
    }
    for (; k < NLE; k++)
        sb_printf(m->h, "evodash_request_duration_seconds_bucket{%s,le=\"%g\"} %llu\n", lab,
                  le_seconds[k], (unsigned long long)cum);
    long long cnt = a ? (long long)a->count : 0;
    sb_printf(m->h,
              "evodash_request_duration_seconds_bucket{%s,le=\"+Inf\"} %lld\n"
              "evodash_request_duration_seconds_sum{%s} %.6f\n"
              "evodash_request_duration_seconds_count{%s} %lld\n",
              lab, cnt, lab, a ? (double)a->sum / 1e6 : 0.0, lab, cnt);
    return 0;
}

static void dropped_line(metrics_ctx *m, const char *service, const char *instance, int64_t n)
{
    char svc[256], inst[256];
    label(service, svc, sizeof svc);
    label(instance, inst, sizeof inst);
    sb_printf(m->b, "evodash_dropped_records_total{service=\"%s\",instance=\"%s\"} %lld\n", svc,
              inst, (long long)n);
}

static int metrics_instance(void *u, const store_instance_row *r)
{
    metrics_ctx *m = u;
    int own = m->has_live && r->id == m->live.instance_id;
    m->live_seen |= own;
    dropped_line(m, r->service, r->name, own ? (int64_t)m->live.c.dropped : r->dropped);
    return 0;
}

int route_metrics_live(dctx *c)
{
    metrics_ctx m = {0};
    sbuf b = {.p = malloc(1024), .cap = 1024};
    if (!b.p)
        return dash_error(c, 500, "out of memory");
    b.p[0] = 0;
    m.b = &b;
    agent_live(c->d->live, &m.live);
    sb_printf(&b, "# HELP evodash_store_up Whether the dashboard can read its store.\n"
                  "# TYPE evodash_store_up gauge\nevodash_store_up 0\n"
                  "# HELP evodash_dropped_records_total Records lost before reaching the store, "
                  "per instance.\n# TYPE evodash_dropped_records_total counter\n");
    dropped_line(&m, m.live.service, m.live.instance, (int64_t)m.live.c.dropped);
    if (b.oom) {
        free(b.p);
        return dash_error(c, 500, "out of memory");
    }
    int rc = dash_text(c, 200, "text/plain; version=0.0.4; charset=utf-8", b.p, b.len);
    free(b.p);
    return rc;
}

/* Open findings per kind, every kind listed (0 when none), from the
 * findings cache (api_findings.c). */
static int metrics_findings(dctx *c, sbuf *b)
{
    static const char *const kinds[] = {"regression",       "improvement",   "error_rate",
                                        "slow_group",       "dead_endpoint", "new_endpoint",
                                        "rename_candidate", "outlier_cause"};
    json_t *doc;
    int stale;
    int64_t at;
    int rc = findings_get(c, c->filter.service_id, NULL, &doc, &stale, &at);
    if (rc)
        return rc;
    sb_printf(b, "# HELP evodash_findings_open Findings the dashboard reports now, per kind.\n"
                 "# TYPE evodash_findings_open gauge\n");
    json_t *list = json_object_get(doc, "findings");
    for (size_t k = 0; k < sizeof kinds / sizeof kinds[0]; k++) {
        size_t i, n = 0;
        json_t *f;
        json_array_foreach(list, i, f) n +=
            !strcmp(json_string_value(json_object_get(f, "kind")), kinds[k]);
        sb_printf(b, "evodash_findings_open{kind=\"%s\"} %zu\n", kinds[k], n);
    }
    json_decref(doc);
    return 0;
}

int route_metrics(dctx *c)
{
    sbuf b = {.p = malloc(4096), .cap = 4096};
    sbuf h = {.p = malloc(4096), .cap = 4096};
    sketch *sk = malloc(sizeof *sk);
    agg_result ar;
    int rc;
    if (!b.p || !h.p || !sk) {
        free(b.p);
        free(h.p);
        free(sk);
        return dash_error(c, 500, "out of memory");
    }
    b.p[0] = h.p[0] = 0;
    if (agg_query(c, INT64_MIN / 4, INT64_MAX / 4, AG_EP, -1, 1, &ar)) {
        free(b.p);
        free(h.p);
        free(sk);
        return 0;
    }
    metrics_ctx m = {&b, &h, &ar, sk, log((1 + SKETCH_ALPHA) / (1 - SKETCH_ALPHA))};
    sb_printf(&b, "# HELP evodash_store_up Whether the dashboard can read its store.\n"
                  "# TYPE evodash_store_up gauge\nevodash_store_up 1\n");
    sb_printf(&b, "# HELP evodash_requests_total Requests recorded, per endpoint and status "
                  "class.\n# TYPE evodash_requests_total counter\n");
    sb_printf(&h, "# HELP evodash_request_duration_seconds Request duration per endpoint.\n"
                  "# TYPE evodash_request_duration_seconds histogram\n");
    rc = store_endpoints(c->st, &c->filter, STORE_EP_BY_NAME, metrics_endpoint, &m);
    agg_free(&ar);
    free(sk);
    if (!rc && !h.oom)
        sb_printf(&b, "%s", h.p);
    free(h.p);
    sb_printf(&b, "# HELP evodash_dropped_records_total Records lost before reaching the store, "
                  "per instance.\n# TYPE evodash_dropped_records_total counter\n");
    if ((m.has_live = c->d->live != NULL))
        agent_live(c->d->live, &m.live);
    if (!rc)
        rc = store_instances(c->st, &c->filter, metrics_instance, &m);
    /* this process before it ever reached the store */
    if (!rc && m.has_live && !m.live_seen && !m.live.instance_id && !c->filter.ninstances)
        dropped_line(&m, m.live.service, m.live.instance, (int64_t)m.live.c.dropped);
    if (!rc)
        rc = metrics_findings(c, &b);
    if (rc) {
        free(b.p);
        return dash_store_error(c, rc, "metrics");
    }
    if (b.oom || h.oom) {
        free(b.p);
        return dash_error(c, 500, "out of memory");
    }
    rc = dash_text(c, 200, "text/plain; version=0.0.4; charset=utf-8", b.p, b.len);
    free(b.p);
    return rc;
}

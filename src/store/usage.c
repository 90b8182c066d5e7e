/* usage.c — CPU samples and the raw data of the capacity model (see
 * usage.h). */
#include <stdio.h>
#include <stdlib.h>

#include "evodash.h"
#include "store/read_int.h"
#include "store/sq.h"
#include "store/store_int.h"
#include "store/usage.h"

static const sq_text SQL_SAMPLE_INS =
    SQ("INSERT INTO cpu_samples(instance_id, ts_us, interval_us, cpu_us, ncpu, agent_us, "
       "steal_us) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7) RETURNING id",
       "storing a CPU sample");
static const sq_text SQL_COUNT_INS =
    SQ("INSERT INTO cpu_sample_counts(sample_id, endpoint_id, count, busy_us) VALUES(?1, ?2, ?3, "
       "?4)",
       "storing a CPU sample's request counts");
/* one row per (sample, endpoint); a sample without requests has one row
 * with a NULL endpoint */
static const sq_text SQL_SAMPLES =
    SQ("SELECT s.id, s.instance_id, s.ts_us, s.interval_us, s.cpu_us, s.ncpu, i.host, "
       "c.endpoint_id, c.count, c.busy_us, s.agent_us, s.steal_us FROM cpu_samples s "
       "JOIN instances i ON i.id = s.instance_id "
       "LEFT JOIN cpu_sample_counts c ON c.sample_id = s.id WHERE i.service_id = ?1 "
       "AND s.ts_us > ?2 AND s.ts_us - s.interval_us < ?3 ORDER BY s.ts_us, s.id, c.endpoint_id",
       "reading CPU samples");
static const sq_text SQL_REQUESTS =
    SQ("SELECT r.endpoint_id, r.instance_id, r.ts_us, r.duration_us, r.status FROM requests r JOIN "
       "endpoints e ON e.id = r.endpoint_id WHERE e.service_id = ?1 AND r.ts_us >= ?2 AND r.ts_us "
       "< ?3 ORDER BY r.ts_us, r.id",
       "reading a service's requests");
static const sq_text SQL_SPAN =
    SQ("SELECT min(r.ts_us), max(r.ts_us) FROM requests r JOIN endpoints e ON e.id = "
       "r.endpoint_id WHERE e.service_id = ?1",
       "reading a service's time span");
static const sq_text SQL_TREES =
    SQ("SELECT p.endpoint_id, p.request_id, p.duration_us, s.indent, s.function, s.duration_us "
       "FROM profiled p JOIN endpoints e ON e.id = p.endpoint_id JOIN profiler_samples s ON "
       "s.request_id = p.request_id WHERE e.service_id = ?1 AND p.ts_us >= ?2 AND p.ts_us < ?3 "
       "ORDER BY p.request_id, s.position",
       "reading profiled call trees");

int store_usage_put(store *st, const store_usage_sample *s, const store_usage_count *c, size_t n)
{
    sq *q = sq_prepare(st, &SQL_SAMPLE_INS, 0);
    if (!q)
        return EVD_EIO;
    sq_bind_i64(q, 1, s->instance_id);
    sq_bind_i64(q, 2, s->ts_us);
    sq_bind_i64(q, 3, s->interval_us);
    sq_bind_i64(q, 4, s->cpu_us);
    sq_bind_i64(q, 5, s->ncpu);
    if (s->agent_us >= 0)
        sq_bind_i64(q, 6, s->agent_us);
    else
        sq_bind_null(q, 6);
    if (s->steal_us >= 0)
        sq_bind_i64(q, 7, s->steal_us);
    else
        sq_bind_null(q, 7);
    int64_t id = 0;
    int rc = sq_step(q);
    if (rc == SQ_ROW) {
        id = sq_i64(q, 0);
        rc = 0;
    } else if (rc == SQ_DONE) {
        rc = store_fail(st, EVD_EIO, "storing a CPU sample: no id came back");
    }
    sq_free(q);
    if (rc)
        return rc;
    if (!(q = sq_prepare(st, &SQL_COUNT_INS, 0)))
        return EVD_EIO;
    for (size_t i = 0; i < n && !rc; i++) {
        if (c[i].count <= 0)
            continue;
        sq_bind_i64(q, 1, id);
        sq_bind_i64(q, 2, c[i].endpoint_id);
        sq_bind_i64(q, 3, c[i].count);
        sq_bind_i64(q, 4, c[i].busy_us);
        rc = sq_exec(q);
    }
    sq_free(q);
    return rc;
}

/* Gathers the rows of one sample, then hands the sample on. */
typedef struct samples_ctx {
    int (*cb)(void *u, const store_usage_row *r);
    void *u;
    store_usage_row cur;
    char host[256];
    store_usage_count *counts;
    size_t n, cap;
    int have;
} samples_ctx;

static int samples_emit(samples_ctx *c)
{
    if (!c->have)
        return 0;
    c->have = 0;
    c->cur.host = c->host;
    c->cur.counts = c->counts;
    c->cur.ncounts = c->n;
    return c->cb(c->u, &c->cur);
}

static int samples_row(sq *q, void *ctx)
{
    samples_ctx *c = ctx;
    int64_t id = sq_i64(q, 0);
    if (!c->have || id != c->cur.id) {
        int rc = samples_emit(c);
        if (rc)
            return rc;
        c->cur = (store_usage_row){.id = id,
                                   .s = {.instance_id = sq_i64(q, 1),
                                         .ts_us = sq_i64(q, 2),
                                         .interval_us = sq_i64(q, 3),
                                         .cpu_us = sq_i64(q, 4),
                                         .ncpu = (int)sq_i64(q, 5),
                                         .agent_us = sq_is_null(q, 10) ? -1 : sq_i64(q, 10),
                                         .steal_us = sq_is_null(q, 11) ? -1 : sq_i64(q, 11)}};
        const char *h = sq_str(q, 6);
        snprintf(c->host, sizeof c->host, "%s", h ? h : "");
        c->n = 0;
        c->have = 1;
    }
    if (sq_is_null(q, 7))
        return 0;
    if (c->n == c->cap) {
        size_t cap = c->cap ? c->cap * 2 : 16;
        store_usage_count *a = realloc(c->counts, cap * sizeof *a);
        if (!a)
            return EVD_ENOMEM;
        c->counts = a;
        c->cap = cap;
    }
    c->counts[c->n++] = (store_usage_count){
        .endpoint_id = sq_i64(q, 7), .count = sq_i64(q, 8), .busy_us = sq_i64(q, 9)};
    return 0;
}

int store_usage_samples(store *st, int64_t service_id, int64_t from_us, int64_t to_us,
                        int (*cb)(void *u, const store_usage_row *r), void *u)
{
    sq *q = sq_prepare(st, &SQL_SAMPLES, SQ_STREAM);
    if (q) {
        sq_bind_i64(q, 1, service_id);
        sq_bind_i64(q, 2, from_us);
        sq_bind_i64(q, 3, to_us);
    }
    samples_ctx c = {.cb = cb, .u = u};
    int rc = read_walk(q, samples_row, &c);
    if (!rc)
        rc = samples_emit(&c);
    free(c.counts);
    return rc;
}

typedef struct req_ctx {
    int (*cb)(void *u, const store_usage_req *r);
    void *u;
} req_ctx;

static int req_row(sq *q, void *ctx)
{
    req_ctx *c = ctx;
    store_usage_req r = {.endpoint_id = sq_i64(q, 0),
                         .instance_id = sq_i64(q, 1),
                         .ts_us = sq_i64(q, 2),
                         .duration_us = sq_i64(q, 3),
                         .status = (int)sq_i64(q, 4)};
    return c->cb(c->u, &r);
}

int store_usage_requests(store *st, int64_t service_id, int64_t from_us, int64_t to_us,
                         int (*cb)(void *u, const store_usage_req *r), void *u)
{
    sq *q = sq_prepare(st, &SQL_REQUESTS, SQ_STREAM);
    if (q) {
        sq_bind_i64(q, 1, service_id);
        sq_bind_i64(q, 2, from_us);
        sq_bind_i64(q, 3, to_us);
    }
    req_ctx c = {cb, u};
    return read_walk(q, req_row, &c);
}

int store_usage_span(store *st, int64_t service_id, int64_t *min_us, int64_t *max_us)
{
    sq *q = sq_prepare(st, &SQL_SPAN, 0);
    if (!q)
        return EVD_EIO;
    sq_bind_i64(q, 1, service_id);
    int rc = sq_step(q);
    if (rc == SQ_ROW && sq_is_null(q, 0))
        rc = store_fail(st, EVD_ENOENT, "the service has no recorded requests");
    else if (rc == SQ_ROW) {
        *min_us = sq_i64(q, 0);
        *max_us = sq_i64(q, 1);
        rc = 0;
    } else if (rc == SQ_DONE) {
        rc = store_fail(st, EVD_ENOENT, "the service has no recorded requests");
    }
    sq_free(q);
    return rc;
}

typedef struct tree_ctx {
    int (*cb)(void *u, const store_usage_node *n);
    void *u;
} tree_ctx;

static int tree_row(sq *q, void *ctx)
{
    tree_ctx *c = ctx;
    const char *fn = sq_str(q, 4);
    store_usage_node n = {.endpoint_id = sq_i64(q, 0),
                          .request_id = sq_i64(q, 1),
                          .request_us = sq_i64(q, 2),
                          .indent = (int)sq_i64(q, 3),
                          .function = fn ? fn : "",
                          .duration_us = sq_i64(q, 5)};
    return c->cb(c->u, &n);
}

int store_usage_trees(store *st, int64_t service_id, int64_t from_us, int64_t to_us,
                      int (*cb)(void *u, const store_usage_node *n), void *u)
{
    sq *q = sq_prepare(st, &SQL_TREES, SQ_STREAM);
    if (q) {
        sq_bind_i64(q, 1, service_id);
        sq_bind_i64(q, 2, from_us);
        sq_bind_i64(q, 3, to_us);
    }
    tree_ctx c = {cb, u};
    return read_walk(q, tree_row, &c);
}

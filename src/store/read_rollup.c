/* read_rollup.c — the read side's aggregates: the hourly rollups grouped
 * by endpoint and version, by day, or by hour, and the CLI's summary. */
#include <stdlib.h>
#include <string.h>

#include "evodash.h"
#include "core/sketch.h"
#include "store/read.h"
#include "store/read_int.h"
#include "store/sq.h"
#include "store/store_int.h"

#define SUMS                                                                                       \
    "sum(count), sum(sum_us), min(min_us), max(max_us), sum(sother), sum(s1xx), sum(s2xx), "       \
    "sum(s3xx), sum(s4xx), sum(s5xx)"

/* Rows of an endpoint renamed into another are read as that one's
 * (read_verdicts.h): EP_ROOT names the endpoint a rollup counts for, and
 * EP_MEMBER matches the rows of endpoint p and of those merged into it. */
#define EP_ROOT "coalesce(m.merged_into, rollups.endpoint_id)"
#define EP_JOIN " FROM rollups LEFT JOIN endpoints m ON m.id = rollups.endpoint_id "
#define EP_MEMBER(p)                                                                               \
    "(" p " < 0 OR rollups.endpoint_id IN (SELECT id FROM endpoints WHERE id = " p                 \
    " OR merged_into = " p "))"

/* ?1 first hour, ?2 end hour, ?3 endpoint or -1, ?4 instance ids */
#define BY_VERSION(sk, in)                                                                         \
    "SELECT " EP_ROOT ", version_id, " SUMS ", " sk EP_JOIN                                        \
    "WHERE hour >= ?1 AND hour < ?2 AND " EP_MEMBER("?3") " AND " in " GROUP BY 1, 2"
static const sq_text SQL_BY_VERSION[2] = {
    SQ2(BY_VERSION("NULL", SQ_IN_IDS_LITE("instance_id", "?4")),
        BY_VERSION("NULL", SQ_IN_IDS_PG("instance_id", "?4")), "aggregating rollups"),
    SQ2(BY_VERSION(SQ_SKETCH_AGG_LITE("sketch"), SQ_IN_IDS_LITE("instance_id", "?4")),
        BY_VERSION(SQ_SKETCH_AGG_PG("sketch"), SQ_IN_IDS_PG("instance_id", "?4")),
        "aggregating rollups"),
};

#define BY_DAY(sk)                                                                                 \
    "SELECT " EP_ROOT ", version_id, hour / 24 AS d, " SUMS ", " sk EP_JOIN "WHERE hour >= ?1 "    \
    "AND hour < ?2 GROUP BY 1, 2, 3 ORDER BY 3"
static const sq_text SQL_BY_DAY = SQ2(BY_DAY(SQ_SKETCH_AGG_LITE("sketch")),
                                      BY_DAY(SQ_SKETCH_AGG_PG("sketch")), "reading daily rollups");

#define BY_HOUR(in)                                                                                \
    "SELECT " EP_ROOT ", hour, sum(count), sum(sum_us), min(min_us), max(max_us)" EP_JOIN          \
    "WHERE hour >= ?1 AND hour < ?2 AND " EP_MEMBER("?3") " AND " in                               \
                                                          " GROUP BY 2, 1 ORDER BY 2, 1"
static const sq_text SQL_BY_HOUR =
    SQ2(BY_HOUR(SQ_IN_IDS_LITE("instance_id", "?4")), BY_HOUR(SQ_IN_IDS_PG("instance_id", "?4")),
        "reading hourly rollups");

typedef struct roll_ctx {
    int (*cb)(void *u, const store_rollup_row *r);
    void *u;
    int kind; /* 0 by version, 1 by day, 2 by hour */
    int sketch;
} roll_ctx;

int store_rollup_sketch(const store_rollup_row *r, sketch *into)
{
    if (!r->src_ || r->col_ < 0)
        return 0;
    return sq_sketch_agg(r->src_, r->col_, into);
}

static int rollup_row(sq *q, void *ctx)
{
    roll_ctx *c = ctx;
    store_rollup_row r = {.src_ = q, .col_ = -1};
    int k = 0;
    r.endpoint_id = sq_i64(q, k++);
    if (c->kind == 2) {
        r.hour = sq_i64(q, k++);
        r.count = sq_i64(q, k++);
        r.sum_us = sq_i64(q, k++);
        r.min_us = sq_i64(q, k++);
        r.max_us = sq_i64(q, k++);
        return c->cb(c->u, &r);
    }
    r.version_id = sq_i64(q, k++);
    if (c->kind == 1) {
        r.day = sq_i64(q, k++);
        r.hour = r.day * 24;
    }
    r.count = sq_i64(q, k++);
    r.sum_us = sq_i64(q, k++);
    r.min_us = sq_i64(q, k++);
    r.max_us = sq_i64(q, k++);
    for (int i = 0; i < 6; i++)
        r.cls[i] = sq_i64(q, k++);
    if (c->sketch)
        r.col_ = k;
    return c->cb(c->u, &r);
}

static void bind_range(sq *q, const store_filter *f, int64_t h0, int64_t h1, int64_t only_ep)
{
    sq_bind_i64(q, 1, h0);
    sq_bind_i64(q, 2, h1);
    sq_bind_i64(q, 3, only_ep);
    sq_bind_ids(q, 4, f ? f->instances : NULL, f ? f->ninstances : 0);
}

int store_rollup_by_version(store *st, const store_filter *f, int64_t h0, int64_t h1,
                            int64_t only_ep, int want_sketch,
                            int (*cb)(void *u, const store_rollup_row *r), void *u)
{
    sq *q = sq_prepare(st, &SQL_BY_VERSION[want_sketch ? 1 : 0], 0);
    if (q)
        bind_range(q, f, h0, h1, only_ep);
    roll_ctx c = {cb, u, 0, want_sketch};
    return read_walk(q, rollup_row, &c);
}

int store_rollup_by_day(store *st, int64_t d0, int64_t d1,
                        int (*cb)(void *u, const store_rollup_row *r), void *u)
{
    sq *q = sq_prepare(st, &SQL_BY_DAY, SQ_STREAM);
    if (q) {
        sq_bind_i64(q, 1, d0 <= INT64_MIN / 48 ? INT64_MIN / 2 : d0 * 24);
        sq_bind_i64(q, 2, d1 >= INT64_MAX / 48 ? INT64_MAX / 2 : d1 * 24);
    }
    roll_ctx c = {cb, u, 1, 1};
    return read_walk(q, rollup_row, &c);
}

int store_rollup_by_hour(store *st, const store_filter *f, int64_t h0, int64_t h1, int64_t only_ep,
                         int (*cb)(void *u, const store_rollup_row *r), void *u)
{
    sq *q = sq_prepare(st, &SQL_BY_HOUR, SQ_STREAM);
    if (q)
        bind_range(q, f, h0, h1, only_ep);
    roll_ctx c = {cb, u, 2, 0};
    return read_walk(q, rollup_row, &c);
}

/* ---- the CLI's summary ------------------------------------------------------------- */

#define SUMMARY(sk)                                                                                \
    "SELECT e.name, coalesce(s.name, ''), e.level, coalesce(sum(r.count), 0), " sk ", "            \
    "coalesce(sum(r.s4xx + r.s5xx), 0), e.dropped + coalesce((SELECT sum(d.dropped) FROM "         \
    "endpoint_drops d WHERE d.endpoint_id = e.id), 0), coalesce(e.last_access_us, 0) FROM "        \
    "endpoints e LEFT JOIN services s ON s.id = e.service_id LEFT JOIN rollups r ON "              \
    "r.endpoint_id IN (SELECT x.id FROM endpoints x WHERE x.id = e.id OR x.merged_into = e.id) "   \
    "WHERE e.merged_into IS NULL GROUP BY e.id, s.name ORDER BY 4 DESC, e.name"
static const sq_text SQL_SUMMARY =
    SQ2(SUMMARY(SQ_SKETCH_AGG_LITE("r.sketch")), SUMMARY(SQ_SKETCH_AGG_PG("r.sketch")),
        "reading the summary");

static const sq_text SQL_TOTALS =
    SQ("SELECT (SELECT coalesce(sum(count), 0) FROM rollups), (SELECT count(*) FROM endpoints), "
       "(SELECT count(*) FROM versions), (SELECT count(*) FROM instances), (SELECT count(*) FROM "
       "outliers), (SELECT count(*) FROM services), (SELECT coalesce(sum(recorded), 0) FROM "
       "instances), (SELECT coalesce(sum(dropped), 0) FROM instances), (SELECT "
       "coalesce(sum(written), 0) FROM instances), (SELECT coalesce(sum(write_errors), 0) FROM "
       "instances)",
       "reading totals");

typedef struct sum_ctx {
    int (*cb)(void *u, const store_summary_row *r);
    void *u;
    sketch *sk;
} sum_ctx;

static int summary_row_cb(sq *q, void *ctx)
{
    sum_ctx *c = ctx;
    sketch_init(c->sk);
    if (sq_sketch_agg(q, 4, c->sk))
        return store_fail(q->st, EVD_ECORRUPT, "%s: a stored rollup sketch is corrupt",
                          q->st->path);
    store_summary_row r = {.name = sq_str(q, 0),
                           .service = sq_str(q, 1),
                           .level = (int)sq_i64(q, 2),
                           .count = sq_i64(q, 3),
                           .p50_us = c->sk->count ? sketch_quantile(c->sk, 0.5) : -1,
                           .p99_us = c->sk->count ? sketch_quantile(c->sk, 0.99) : -1,
                           .errors = sq_i64(q, 5),
                           .dropped = sq_i64(q, 6),
                           .last_access_us = sq_i64(q, 7)};
    if (!r.name)
        r.name = "";
    return c->cb(c->u, &r);
}

int store_summary(store *st, int (*cb)(void *u, const store_summary_row *r), void *u)
{
    sum_ctx c = {cb, u, malloc(sizeof(sketch))};
    if (!c.sk)
        return store_fail(st, EVD_ENOMEM, "out of memory");
    int rc = read_walk(sq_prepare(st, &SQL_SUMMARY, 0), summary_row_cb, &c);
    free(c.sk);
    return rc;
}

int store_totals_get(store *st, store_totals *t)
{
    sq *q = sq_prepare(st, &SQL_TOTALS, 0);
    if (!q)
        return EVD_EIO;
    int rc = sq_step(q);
    if (rc == SQ_ROW) {
        int64_t *f[] = {&t->requests, &t->endpoints, &t->versions, &t->instances, &t->outliers,
                        &t->services, &t->recorded,  &t->dropped,  &t->written,   &t->write_errors};
        for (int i = 0; i < 10; i++)
            *f[i] = sq_i64(q, i);
    }
    sq_free(q);
    return rc < 0 ? rc : 0;
}

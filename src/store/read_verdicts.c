/* read_verdicts.c — version marks, renames, bounded raw samples, outlier
 * stacks, per-version profile trees and the data stamp (read_verdicts.h). */
#include <stdlib.h>
#include <string.h>

#include "evodash.h"
#include "store/read_int.h"
#include "store/read_verdicts.h"
#include "store/sq.h"
#include "store/store_int.h"

/* An endpoint and every endpoint merged into it. */
#define MEMBERS(p) "(SELECT id FROM endpoints WHERE id = " p " OR merged_into = " p ")"

/* t prepared with v[0..n) bound to ?1..?n; NULL on failure (message on st). */
static sq *prepare_bound(store *st, const sq_text *t, int flags, const int64_t *v, int n)
{
    sq *q = sq_prepare(st, t, flags);
    for (int i = 0; q && i < n; i++)
        sq_bind_i64(q, i + 1, v[i]);
    return q;
}

/* ---- version marks ------------------------------------------------------------------ */

static const sq_text SQL_MARKS =
    SQ("SELECT id, important, hidden FROM versions ORDER BY id", "reading version marks");
static const sq_text SQL_MARK =
    SQ("UPDATE versions SET important = CASE WHEN ?2 < 0 THEN important ELSE ?2 END, hidden = "
       "CASE WHEN ?3 < 0 THEN hidden ELSE ?3 END WHERE id = ?1",
       "marking a version");

typedef struct mark_ctx {
    int (*cb)(void *u, const store_vmark_row *r);
    void *u;
} mark_ctx;

static int mark_row(sq *q, void *ctx)
{
    mark_ctx *c = ctx;
    store_vmark_row r = {
        .version_id = sq_i64(q, 0), .important = (int)sq_i64(q, 1), .hidden = (int)sq_i64(q, 2)};
    return c->cb(c->u, &r);
}

int store_version_marks(store *st, int (*cb)(void *u, const store_vmark_row *r), void *u)
{
    mark_ctx c = {cb, u};
    return read_walk(sq_prepare(st, &SQL_MARKS, 0), mark_row, &c);
}

int store_version_mark(store *st, int64_t id, int important, int hidden)
{
    sq *q = sq_prepare(st, &SQL_MARK, 0);
    if (!q)
        return EVD_EIO;
    sq_bind_i64(q, 1, id);
    sq_bind_i64(q, 2, important < 0 ? -1 : !!important);
    sq_bind_i64(q, 3, hidden < 0 ? -1 : !!hidden);
    int rc = sq_step(q);
    int64_t changed = rc == SQ_DONE ? sq_changes(q) : 0;
    sq_free(q);
    if (rc < 0)
        return rc;
    if (!changed)
        return store_fail(st, EVD_ENOENT, "no version with id %lld", (long long)id);
    return 0;
}

/* ---- renames ------------------------------------------------------------------------ */

static const sq_text SQL_RENAMES =
    SQ("SELECT r.from_id, r.to_id, r.created_us, coalesce(a.name, ''), coalesce(b.name, '') FROM "
       "endpoint_renames r LEFT JOIN endpoints a ON a.id = r.from_id LEFT JOIN endpoints b ON "
       "b.id = r.to_id ORDER BY r.created_us, r.from_id",
       "reading renames");
static const sq_text SQL_EP_SERVICE =
    SQ("SELECT service_id FROM endpoints WHERE id = ?1", "reading an endpoint's service");
static const sq_text SQL_RENAME_INS =
    SQ("INSERT INTO endpoint_renames(from_id, to_id, created_us) VALUES(?1, ?2, ?3) ON CONFLICT "
       "DO NOTHING",
       "recording a rename");
static const sq_text SQL_RENAME_DEL =
    SQ("DELETE FROM endpoint_renames WHERE from_id = ?1", "undoing a rename");
static const sq_text SQL_EDGES =
    SQ("SELECT from_id, to_id FROM endpoint_renames", "reading renames");
static const sq_text SQL_ROOTS_CLEAR = SQ(
    "UPDATE endpoints SET merged_into = NULL WHERE merged_into IS NOT NULL", "merging endpoints");
static const sq_text SQL_ROOT_SET =
    SQ("UPDATE endpoints SET merged_into = ?2 WHERE id = ?1", "merging endpoints");
static const sq_text SQL_MEMBERS =
    SQ("SELECT id FROM endpoints WHERE id = ?1 OR merged_into = ?1 ORDER BY id <> ?1, id",
       "reading an endpoint's renames");

typedef struct ren_ctx {
    int (*cb)(void *u, const store_rename_row *r);
    void *u;
} ren_ctx;

static int rename_row(sq *q, void *ctx)
{
    ren_ctx *c = ctx;
    store_rename_row r = {.from_id = sq_i64(q, 0),
                          .to_id = sq_i64(q, 1),
                          .created_us = sq_i64(q, 2),
                          .from_name = sq_str(q, 3),
                          .to_name = sq_str(q, 4)};
    return c->cb(c->u, &r);
}

int store_renames(store *st, int (*cb)(void *u, const store_rename_row *r), void *u)
{
    ren_ctx c = {cb, u};
    return read_walk(sq_prepare(st, &SQL_RENAMES, 0), rename_row, &c);
}

typedef struct edges {
    int64_t (*v)[2];
    size_t n, cap;
} edges;

static int edge_row(sq *q, void *ctx)
{
    edges *e = ctx;
    if (e->n == e->cap) {
        size_t cap = e->cap ? e->cap * 2 : 16;
        int64_t(*nv)[2] = realloc(e->v, cap * sizeof *nv);
        if (!nv)
            return EVD_ENOMEM;
        e->v = nv;
        e->cap = cap;
    }
    e->v[e->n][0] = sq_i64(q, 0);
    e->v[e->n][1] = sq_i64(q, 1);
    e->n++;
    return 0;
}

/* Where the edges from `id` end; -1 when they loop. */
static int64_t root_of(const edges *e, int64_t id)
{
    for (size_t hops = 0; hops <= e->n; hops++) {
        size_t i = 0;
        while (i < e->n && e->v[i][0] != id)
            i++;
        if (i == e->n)
            return id;
        id = e->v[i][1];
    }
    return -1;
}

static int exec_ids(store *st, const sq_text *t, int64_t a, int64_t b, int64_t c, int nb)
{
    const int64_t v[] = {a, b, c};
    sq *q = prepare_bound(st, t, 0, v, nb);
    if (!q)
        return EVD_EIO;
    int rc = sq_exec(q);
    sq_free(q);
    return rc;
}

/* Recompute merged_into from the edges, inside the caller's transaction;
 * EVD_EINVAL when they loop. */
static int set_roots(store *st)
{
    edges e = {0};
    int rc = read_walk(sq_prepare(st, &SQL_EDGES, 0), edge_row, &e);
    if (rc)
        goto done;
    if ((rc = exec_ids(st, &SQL_ROOTS_CLEAR, 0, 0, 0, 0)))
        goto done;
    for (size_t i = 0; i < e.n; i++) {
        int64_t r = root_of(&e, e.v[i][0]);
        if (r < 0) {
            rc = store_fail(st, EVD_EINVAL, "that rename would make a cycle");
            goto done;
        }
        if ((rc = exec_ids(st, &SQL_ROOT_SET, e.v[i][0], r, 0, 2)))
            goto done;
    }
done:
    free(e.v);
    return rc;
}

static int ep_service(store *st, int64_t id, int64_t *svc)
{
    sq *q = sq_prepare(st, &SQL_EP_SERVICE, 0);
    if (!q)
        return EVD_EIO;
    sq_bind_i64(q, 1, id);
    int rc = sq_step(q);
    if (rc == SQ_ROW)
        *svc = sq_i64(q, 0);
    sq_free(q);
    if (rc == SQ_DONE)
        return store_fail(st, EVD_ENOENT, "no endpoint with id %lld", (long long)id);
    return rc < 0 ? rc : 0;
}

int store_rename_add(store *st, int64_t from, int64_t to, int64_t now_us)
{
    int64_t sa = 0, sb = 0;
    int rc;
    if (from == to)
        return store_fail(st, EVD_EINVAL, "an endpoint cannot be renamed to itself");
    if ((rc = ep_service(st, from, &sa)) || (rc = ep_service(st, to, &sb)))
        return rc;
    if (sa != sb)
        return store_fail(st, EVD_EINVAL, "the two endpoints belong to different services");
    if ((rc = store_begin(st)))
        return rc;
    sq *q = sq_prepare(st, &SQL_RENAME_INS, 0);
    if (!q) {
        rc = EVD_EIO;
        goto fail;
    }
    sq_bind_i64(q, 1, from);
    sq_bind_i64(q, 2, to);
    sq_bind_i64(q, 3, now_us);
    rc = sq_step(q);
    int64_t added = rc == SQ_DONE ? sq_changes(q) : 0;
    sq_free(q);
    if (rc < 0)
        goto fail;
    if (!added) {
        rc = store_fail(st, EVD_EINVAL, "endpoint %lld is already renamed; undo that first",
                        (long long)from);
        goto fail;
    }
    if ((rc = set_roots(st)))
        goto fail;
    return store_commit(st);
fail:
    store_rollback(st);
    return rc;
}

int store_rename_undo(store *st, int64_t from)
{
    int rc;
    if ((rc = store_begin(st)))
        return rc;
    sq *q = sq_prepare(st, &SQL_RENAME_DEL, 0);
    if (!q) {
        rc = EVD_EIO;
        goto fail;
    }
    sq_bind_i64(q, 1, from);
    rc = sq_step(q);
    int64_t gone = rc == SQ_DONE ? sq_changes(q) : 0;
    sq_free(q);
    if (rc < 0)
        goto fail;
    if (!gone) {
        rc = store_fail(st, EVD_ENOENT, "endpoint %lld was not renamed", (long long)from);
        goto fail;
    }
    if ((rc = set_roots(st)))
        goto fail;
    return store_commit(st);
fail:
    store_rollback(st);
    return rc;
}

typedef struct mem_ctx {
    int64_t *ids;
    size_t cap, n;
} mem_ctx;

static int member_row(sq *q, void *ctx)
{
    mem_ctx *c = ctx;
    if (c->n < c->cap)
        c->ids[c->n++] = sq_i64(q, 0);
    return 0;
}

int store_endpoint_members(store *st, int64_t ep, int64_t *ids, size_t cap, size_t *n)
{
    mem_ctx c = {ids, cap, 0};
    sq *q = sq_prepare(st, &SQL_MEMBERS, 0);
    if (q)
        sq_bind_i64(q, 1, ep);
    int rc = read_walk(q, member_row, &c);
    *n = c.n;
    return rc;
}

/* ---- bounded raw samples ------------------------------------------------------------ */

/* One id, so that the newest rows are one backward walk of the clustered
 * key (an IN list would sort the whole range first). */
static const sq_text SQL_NEWEST =
    SQ("SELECT coalesce(group_name, ''), version_id, ts_us, duration_us, status FROM requests "
       "WHERE endpoint_id = ?1 AND ts_us >= ?2 AND ts_us < ?3 AND (?4 <= 0 OR version_id = ?4) "
       "ORDER BY ts_us DESC LIMIT ?5",
       "sampling raw requests");

typedef struct samp_ctx {
    int (*cb)(void *u, const store_sample_row *r);
    void *u;
} samp_ctx;

static int sample_row(sq *q, void *ctx)
{
    samp_ctx *c = ctx;
    store_sample_row r = {.group = sq_str(q, 0),
                          .version_id = sq_i64(q, 1),
                          .ts_us = sq_i64(q, 2),
                          .duration_us = sq_i64(q, 3),
                          .status = (int)sq_i64(q, 4)};
    if (!r.group)
        r.group = "";
    return c->cb(c->u, &r);
}

int store_raw_newest(store *st, int64_t ep, int64_t version_id, int64_t from_us, int64_t to_us,
                     int64_t limit, int (*cb)(void *u, const store_sample_row *r), void *u)
{
    const int64_t v[] = {ep, from_us, to_us, version_id, limit};
    sq *q = prepare_bound(st, &SQL_NEWEST, SQ_STREAM, v, 5);
    samp_ctx c = {cb, u};
    return read_walk(q, sample_row, &c);
}

/* ---- outlier stacks ----------------------------------------------------------------- */

static const sq_text SQL_STACKS =
    SQ("SELECT stack FROM outliers WHERE endpoint_id IN " MEMBERS(
           "?1") " AND ts_us >= ?2 AND "
                 "ts_us < ?3 AND stack IS NOT NULL ORDER BY ts_us DESC LIMIT ?4",
       "reading outlier stacks");

typedef struct stack_ctx {
    int (*cb)(void *u, const char *stack);
    void *u;
} stack_ctx;

static int stack_row(sq *q, void *ctx)
{
    stack_ctx *c = ctx;
    const char *s = sq_str(q, 0);
    return c->cb(c->u, s ? s : "");
}

int store_outlier_stacks(store *st, int64_t ep, int64_t from_us, int64_t to_us, int64_t limit,
                         int (*cb)(void *u, const char *stack), void *u)
{
    const int64_t v[] = {ep, from_us, to_us, limit};
    sq *q = prepare_bound(st, &SQL_STACKS, 0, v, 4);
    stack_ctx c = {cb, u};
    return read_walk(q, stack_row, &c);
}

/* ---- profile trees ------------------------------------------------------------------ */

static const sq_text SQL_PNODES =
    SQ("SELECT s.request_id, s.indent, s.function, s.file, s.line, s.duration_us FROM "
       "profiler_samples s WHERE s.request_id IN (SELECT p.request_id FROM profiled p WHERE "
       "p.endpoint_id IN " MEMBERS(
           "?1") " AND p.version_id = ?2 AND p.ts_us >= ?3 AND p.ts_us < "
                 "?4 ORDER BY p.ts_us DESC LIMIT ?5) ORDER BY s.request_id, s.position",
       "reading profile trees");

typedef struct pn_ctx {
    int (*cb)(void *u, const store_pnode_row *r);
    void *u;
} pn_ctx;

static int pnode_row(sq *q, void *ctx)
{
    pn_ctx *c = ctx;
    store_pnode_row r = {.request_id = sq_i64(q, 0),
                         .indent = (int)sq_i64(q, 1),
                         .function = sq_str(q, 2),
                         .file = sq_str(q, 3),
                         .line = (int)sq_i64(q, 4),
                         .duration_us = sq_i64(q, 5)};
    if (!r.function)
        r.function = "?";
    if (!r.file)
        r.file = "";
    return c->cb(c->u, &r);
}

int store_profile_nodes(store *st, int64_t ep, int64_t version_id, int64_t from_us, int64_t to_us,
                        int64_t max_requests, int (*cb)(void *u, const store_pnode_row *r), void *u)
{
    const int64_t v[] = {ep, version_id, from_us, to_us, max_requests};
    sq *q = prepare_bound(st, &SQL_PNODES, SQ_STREAM, v, 5);
    pn_ctx c = {cb, u};
    return read_walk(q, pnode_row, &c);
}

/* ---- the stamp ---------------------------------------------------------------------- */

/* The newest rollup hours' counts move with every flush; the rest with
 * every outlier, endpoint, version, mark or rename. */
static const sq_text SQL_STAMP =
    SQ("SELECT (SELECT coalesce(max(hour), 0) FROM rollups), (SELECT coalesce(sum(count), 0) "
       "FROM rollups WHERE hour >= (SELECT coalesce(max(hour), 0) FROM rollups) - 1), (SELECT "
       "coalesce(max(id), 0) FROM outliers), (SELECT count(*) FROM endpoints), (SELECT "
       "coalesce(sum(id * (1 + important + 2 * hidden)), 0) FROM versions), (SELECT "
       "coalesce(max(last_seen_us), 0) FROM versions), (SELECT coalesce(sum(from_id * 31 + "
       "to_id), 0) FROM endpoint_renames), (SELECT count(*) FROM endpoint_renames)",
       "reading the data stamp");

int store_verdict_stamp(store *st, uint64_t *stamp)
{
    sq *q = sq_prepare(st, &SQL_STAMP, 0);
    if (!q)
        return EVD_EIO;
    int rc = sq_step(q);
    uint64_t h = 1469598103934665603ULL;
    if (rc == SQ_ROW)
        for (int i = 0; i < 8; i++) {
            h ^= (uint64_t)sq_i64(q, i);
            h *= 1099511628211ULL;
        }
    *stamp = h;
    sq_free(q);
    return rc < 0 ? rc : 0;
}

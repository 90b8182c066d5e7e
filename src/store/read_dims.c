/* read_dims.c — the read side's dimensions: services, endpoints, versions,
 * instances, and the store's size. */
#include <string.h>

#include "evodash.h"
#include "store/read.h"
#include "store/read_int.h"
#include "store/sq.h"
#include "store/store_int.h"

int read_walk(sq *q, int (*row)(sq *q, void *ctx), void *ctx)
{
    int rc, stop = 0;
    if (!q)
        return EVD_EIO;
    while ((rc = sq_step(q)) == SQ_ROW)
        if ((stop = row(q, ctx)))
            break;
    sq_free(q);
    return stop ? stop : rc < 0 ? rc : 0;
}

/* ---- services --------------------------------------------------------------------- */

static const sq_text SQL_SERVICES =
    SQ("SELECT s.id, s.name, s.created_us, (SELECT count(*) FROM endpoints e WHERE e.service_id = "
       "s.id), (SELECT count(*) FROM instances i WHERE i.service_id = s.id), (SELECT "
       "coalesce(max(i.last_seen_us), 0) FROM instances i WHERE i.service_id = s.id) FROM services "
       "s ORDER BY s.name",
       "reading services");

typedef struct svc_ctx {
    int (*cb)(void *u, const store_service_row *r);
    void *u;
} svc_ctx;

static int service_row(sq *q, void *ctx)
{
    svc_ctx *c = ctx;
    store_service_row r = {.id = sq_i64(q, 0),
                           .name = sq_str(q, 1),
                           .created_us = sq_i64(q, 2),
                           .endpoints = sq_i64(q, 3),
                           .instances = sq_i64(q, 4),
                           .last_seen_us = sq_i64(q, 5)};
    if (!r.name)
        r.name = "";
    return c->cb(c->u, &r);
}

int store_services(store *st, int (*cb)(void *u, const store_service_row *r), void *u)
{
    svc_ctx c = {cb, u};
    return read_walk(sq_prepare(st, &SQL_SERVICES, 0), service_row, &c);
}

int store_services_count(store *st, int64_t *n, int64_t *some_id)
{
    static const sq_text t =
        SQ("SELECT count(*), coalesce(min(id), 0) FROM services", "counting services");
    sq *q = sq_prepare(st, &t, 0);
    if (!q)
        return EVD_EIO;
    int rc = sq_step(q);
    *n = rc == SQ_ROW ? sq_i64(q, 0) : 0;
    *some_id = rc == SQ_ROW ? sq_i64(q, 1) : 0;
    sq_free(q);
    return rc < 0 ? rc : 0;
}

int store_service_find(store *st, const char *name, int64_t *id)
{
    sq *q = sq_cached(st, Q_SERVICE_GET);
    if (!q)
        return EVD_EIO;
    sq_bind_str(q, 1, name);
    int rc = sq_step(q);
    if (rc == SQ_ROW)
        *id = sq_i64(q, 0);
    sq_reset(q);
    if (rc == SQ_DONE)
        return store_fail(st, EVD_ENOENT, "no service named '%.100s'", name);
    return rc < 0 ? rc : 0;
}

/* ---- endpoints ------------------------------------------------------------------------ */

#define EP_COLS                                                                                    \
    "SELECT e.id, e.service_id, e.name, e.rule, e.methods, e.level, "                              \
    "coalesce(e.last_access_us, 0), e.dropped + coalesce((SELECT sum(d.dropped) FROM "             \
    "endpoint_drops d WHERE d.endpoint_id = e.id), 0), coalesce(s.name, '') FROM endpoints e "     \
    "LEFT JOIN services s ON s.id = e.service_id "

/* An endpoint renamed into another is listed under that one only
 * (read_verdicts.h). */
#define EP_LISTED "WHERE (?1 = 0 OR e.service_id = ?1) AND e.merged_into IS NULL "
static const sq_text SQL_ENDPOINTS[] = {
    [STORE_EP_BY_ID] = SQ(EP_COLS EP_LISTED "ORDER BY e.id", "reading endpoints"),
    [STORE_EP_BY_NAME] = SQ(EP_COLS EP_LISTED "ORDER BY e.name, e.id", "reading endpoints"),
    [STORE_EP_BY_RULE] = SQ(EP_COLS EP_LISTED "ORDER BY coalesce(e.rule, e.name), e.name, e.id",
                            "reading endpoints"),
};
static const sq_text SQL_ENDPOINT_GET = SQ(EP_COLS "WHERE e.id = ?1", "reading the endpoint");

typedef struct ep_ctx {
    int (*cb)(void *u, const store_endpoint_row *r);
    void *u;
    int found;
} ep_ctx;

static int endpoint_row(sq *q, void *ctx)
{
    ep_ctx *c = ctx;
    store_endpoint_row r = {.id = sq_i64(q, 0),
                            .service_id = sq_i64(q, 1),
                            .name = sq_str(q, 2),
                            .rule = sq_str(q, 3),
                            .methods = sq_str(q, 4),
                            .level = (int)sq_i64(q, 5),
                            .last_access_us = sq_i64(q, 6),
                            .dropped = sq_i64(q, 7),
                            .service = sq_str(q, 8)};
    if (!r.name)
        r.name = "";
    if (!r.service)
        r.service = "";
    c->found = 1;
    return c->cb(c->u, &r);
}

int store_endpoints(store *st, const store_filter *f, int order,
                    int (*cb)(void *u, const store_endpoint_row *r), void *u)
{
    if (order < STORE_EP_BY_ID || order > STORE_EP_BY_RULE)
        return store_fail(st, EVD_EINVAL, "no such endpoint order");
    sq *q = sq_prepare(st, &SQL_ENDPOINTS[order], 0);
    if (q)
        sq_bind_i64(q, 1, f ? f->service_id : 0);
    ep_ctx c = {cb, u, 0};
    return read_walk(q, endpoint_row, &c);
}

int store_endpoint_get(store *st, int64_t id, int (*cb)(void *u, const store_endpoint_row *r),
                       void *u)
{
    sq *q = sq_prepare(st, &SQL_ENDPOINT_GET, 0);
    if (q)
        sq_bind_i64(q, 1, id);
    ep_ctx c = {cb, u, 0};
    int rc = read_walk(q, endpoint_row, &c);
    if (!rc && !c.found)
        return store_fail(st, EVD_ENOENT, "no endpoint with id %lld", (long long)id);
    return rc;
}

/* ---- versions ------------------------------------------------------------------------- */

static const sq_text SQL_VERSIONS =
    SQ("SELECT id, name, first_seen_us, last_seen_us, coalesce(label, name) FROM versions ORDER BY "
       "first_seen_us, id",
       "reading versions");

typedef struct ver_ctx {
    int (*cb)(void *u, const store_version_row *r);
    void *u;
} ver_ctx;

static int version_row(sq *q, void *ctx)
{
    ver_ctx *c = ctx;
    store_version_row r = {.id = sq_i64(q, 0),
                           .name = sq_str(q, 1),
                           .first_seen_us = sq_i64(q, 2),
                           .last_seen_us = sq_i64(q, 3),
                           .label = sq_str(q, 4)};
    if (!r.name)
        r.name = "";
    if (!r.label)
        r.label = r.name;
    return c->cb(c->u, &r);
}

int store_versions(store *st, int (*cb)(void *u, const store_version_row *r), void *u)
{
    ver_ctx c = {cb, u};
    return read_walk(sq_prepare(st, &SQL_VERSIONS, 0), version_row, &c);
}

/* ---- instances ------------------------------------------------------------------------ */

static const sq_text SQL_INSTANCES = SQ2(
    "SELECT i.id, i.service_id, coalesce(i.version_id, 0), i.name, i.host, coalesce(s.name, ''), "
    "v.name, i.pid, i.started_us, i.last_seen_us, i.recorded, i.dropped, i.written, "
    "i.write_errors, i.truncated, i.outliers, coalesce(v.label, v.name) FROM instances i LEFT JOIN "
    "services s ON s.id = "
    "i.service_id LEFT JOIN versions v ON v.id = i.version_id WHERE (?1 = 0 OR i.service_id = ?1) "
    "AND " SQ_IN_IDS_LITE("i.id", "?2") " ORDER BY i.id",
    "SELECT i.id, i.service_id, coalesce(i.version_id, 0), i.name, i.host, coalesce(s.name, ''), "
    "v.name, i.pid, i.started_us, i.last_seen_us, i.recorded, i.dropped, i.written, "
    "i.write_errors, i.truncated, i.outliers, coalesce(v.label, v.name) FROM instances i LEFT JOIN "
    "services s ON s.id = "
    "i.service_id LEFT JOIN versions v ON v.id = i.version_id WHERE (?1 = 0 OR i.service_id = ?1) "
    "AND " SQ_IN_IDS_PG("i.id", "?2") " ORDER BY i.id",
    "reading instances");

typedef struct inst_ctx {
    int (*cb)(void *u, const store_instance_row *r);
    void *u;
} inst_ctx;

static int instance_row(sq *q, void *ctx)
{
    inst_ctx *c = ctx;
    store_instance_row r = {.id = sq_i64(q, 0),
                            .service_id = sq_i64(q, 1),
                            .version_id = sq_i64(q, 2),
                            .name = sq_str(q, 3),
                            .host = sq_str(q, 4),
                            .service = sq_str(q, 5),
                            .version = sq_str(q, 6),
                            .pid = (int)sq_i64(q, 7),
                            .started_us = sq_i64(q, 8),
                            .last_seen_us = sq_i64(q, 9),
                            .recorded = sq_i64(q, 10),
                            .dropped = sq_i64(q, 11),
                            .written = sq_i64(q, 12),
                            .write_errors = sq_i64(q, 13),
                            .truncated = sq_i64(q, 14),
                            .outliers = sq_i64(q, 15),
                            .version_label = sq_str(q, 16)};
    if (!r.name)
        r.name = "";
    if (!r.host)
        r.host = "";
    return c->cb(c->u, &r);
}

int store_instances(store *st, const store_filter *f,
                    int (*cb)(void *u, const store_instance_row *r), void *u)
{
    sq *q = sq_prepare(st, &SQL_INSTANCES, 0);
    if (q) {
        sq_bind_i64(q, 1, f ? f->service_id : 0);
        sq_bind_ids(q, 2, f ? f->instances : NULL, f ? f->ninstances : 0);
    }
    inst_ctx c = {cb, u};
    return read_walk(q, instance_row, &c);
}

/* ---- size --------------------------------------------------------------------------- */

/* The oldest raw row: the first of each endpoint's run in the clustered
 * key, so an index lookup per endpoint on either backend. */
static const sq_text SQL_SIZE =
    SQ2("SELECT (SELECT page_count * page_size FROM pragma_page_count(), pragma_page_size()), "
        "(SELECT coalesce(min(m), 0) FROM (SELECT (SELECT min(r.ts_us) FROM requests r WHERE "
        "r.endpoint_id = e.id) AS m FROM endpoints e) x)",
        "SELECT pg_database_size(current_database()), (SELECT coalesce(min(m), 0) FROM (SELECT "
        "(SELECT min(r.ts_us) FROM requests r WHERE r.endpoint_id = e.id) AS m FROM endpoints e) "
        "x)",
        "reading the store's size");

int store_size_of(store *st, store_size *out)
{
    memset(out, 0, sizeof *out);
    sq *q = sq_prepare(st, &SQL_SIZE, 0);
    if (!q)
        return EVD_EIO;
    int rc = sq_step(q);
    if (rc == SQ_ROW) {
        out->bytes = sq_i64(q, 0);
        out->oldest_raw_us = sq_i64(q, 1);
    }
    sq_free(q);
    return rc < 0 ? rc : 0;
}

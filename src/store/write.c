/* write.c — the write side: dimensions (services, instances, versions,
 * endpoints), request rows and what hangs off them, counters, pruning.
 * One text per statement serves both backends. */
#include <stdio.h>
#include <string.h>

#include "evodash.h"
#include "store/sq.h"
#include "store/store.h"
#include "store/store_int.h"

const sq_text store_cached_text[Q__COUNT] = {
    [Q_INSTANCE_INS] = SQ("INSERT INTO instances(name, host, pid, started_us, last_seen_us, "
                          "service_id, version_id) VALUES(?1, ?2, ?3, ?4, ?4, ?5, ?6) RETURNING id",
                          "registering the instance"),
    [Q_VERSION_UPSERT] = SQ("INSERT INTO versions(name, first_seen_us, last_seen_us) VALUES(?1, "
                            "?2, ?2) ON CONFLICT(name) DO UPDATE SET last_seen_us = "
                            "greatest(versions.last_seen_us, excluded.last_seen_us) RETURNING id",
                            "recording the version"),
    [Q_VERSION_ID] = SQ("SELECT id FROM versions WHERE name = ?1", "reading the version id"),
    [Q_SERVICE_GET] = SQ("SELECT id FROM services WHERE name = ?1", "reading the service"),
    [Q_SERVICE_INS] = SQ("INSERT INTO services(name, created_us) VALUES(?1, ?2) ON CONFLICT(name) "
                         "DO NOTHING",
                         "registering the service"),
    [Q_ENDPOINT_INS] = SQ("INSERT INTO endpoints(service_id, name, rule, methods, level, "
                          "created_us) VALUES(?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT(service_id, "
                          "name) DO NOTHING",
                          "registering an endpoint"),
    [Q_ENDPOINT_GET] = SQ("SELECT id, level FROM endpoints WHERE service_id = ?1 AND name = ?2",
                          "reading an endpoint"),
    [Q_ENDPOINT_UPD_META] = SQ("UPDATE endpoints SET rule = coalesce(?2, rule), methods = "
                               "coalesce(?3, methods) WHERE id = ?1 AND (rule IS DISTINCT FROM "
                               "coalesce(?2, rule) OR methods IS DISTINCT FROM coalesce(?3, "
                               "methods))",
                               "updating an endpoint"),
    [Q_ENDPOINT_SET_LEVEL] =
        SQ("UPDATE endpoints SET level = ?2 WHERE id = ?1", "setting a monitoring level"),
    [Q_ENDPOINT_LEVELS] =
        SQ("SELECT id, level FROM endpoints WHERE service_id = ?1", "reading monitoring levels"),
    [Q_ENDPOINT_TOUCH] = SQ("UPDATE endpoints SET last_access_us = "
                            "greatest(coalesce(last_access_us, 0), ?2), dropped = dropped + ?3 "
                            "WHERE id = ?1",
                            "updating an endpoint"),
    [Q_PROFILED_INS] = SQ("INSERT INTO profiled(request_id, endpoint_id, version_id, ts_us, "
                          "duration_us) VALUES(?1, ?2, ?3, ?4, ?5) ON CONFLICT(request_id) DO "
                          "NOTHING",
                          "listing a profiled request"),
    [Q_OUTLIER_INS] = SQ("INSERT INTO outliers(request_id, endpoint_id, ts_us, duration_us, "
                         "stack, cpu, memory, details) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                         "inserting an outlier"),
    [Q_PROFILE_INS] = SQ("INSERT INTO profiler_samples(request_id, position, indent, function, "
                         "file, line, duration_us, samples) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, "
                         "?8)",
                         "inserting a profiler sample"),
    [Q_ROLLUP_GET] = SQ("SELECT sketch FROM rollups WHERE endpoint_id = ?1 AND version_id = ?2 "
                        "AND hour = ?3 AND instance_id = ?4",
                        "reading a rollup"),
    /* Only this instance's writer writes its rows, so the sketch bound as
     * ?15 (the stored one merged with the batch's, rollup.c) is current. */
    [Q_ROLLUP_PUT] = SQ("INSERT INTO rollups(endpoint_id, version_id, hour, instance_id, count, "
                        "sum_us, min_us, max_us, s1xx, s2xx, s3xx, s4xx, s5xx, sother, sketch) "
                        "VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15) "
                        "ON CONFLICT(endpoint_id, version_id, hour, instance_id) DO UPDATE SET "
                        "count = rollups.count + excluded.count, sum_us = rollups.sum_us + "
                        "excluded.sum_us, min_us = least(rollups.min_us, excluded.min_us), "
                        "max_us = greatest(rollups.max_us, excluded.max_us), s1xx = rollups.s1xx "
                        "+ excluded.s1xx, s2xx = rollups.s2xx + excluded.s2xx, s3xx = "
                        "rollups.s3xx + excluded.s3xx, s4xx = rollups.s4xx + excluded.s4xx, s5xx "
                        "= rollups.s5xx + excluded.s5xx, sother = rollups.sother + "
                        "excluded.sother, sketch = excluded.sketch",
                        "writing a rollup"),
    [Q_INSTANCE_COUNTERS] = SQ("UPDATE instances SET recorded = ?2, dropped = ?3, written = ?4, "
                               "write_errors = ?5, truncated = ?6, outliers = ?7, last_seen_us = "
                               "?8 WHERE id = ?1",
                               "updating counters"),
};

/* Step a cached statement that may return one id row; *id gets it. */
static int step_id(sq *q, int64_t *id)
{
    int rc = sq_step(q);
    if (rc == SQ_ROW && id)
        *id = sq_i64(q, 0);
    sq_reset(q);
    return rc < 0 ? rc : rc == SQ_ROW ? 1 : 0;
}

int store_service_register(store *st, const char *name, int64_t now_us, int64_t *id)
{
    static const sq_text claim =
        SQ("UPDATE services SET name = ?1 WHERE name = '' AND NOT EXISTS (SELECT 1 FROM services "
           "WHERE name = ?1) RETURNING id",
           "claiming the unnamed service");
    sq *q;
    int rc;
    if (!name || !*name)
        return store_fail(st, EVD_EINVAL, "a service needs a name");
    for (int pass = 0; pass < 2; pass++) {
        if (!(q = sq_cached(st, Q_SERVICE_GET)))
            return EVD_EIO;
        sq_bind_text(q, 1, name);
        if ((rc = step_id(q, id)))
            return rc < 0 ? rc : 0;
        if (pass)
            break;
        /* A store older than services keeps its endpoints in an unnamed
         * one: the first service that registers takes it over. */
        if (!(q = sq_prepare(st, &claim, 0)))
            return EVD_EIO;
        sq_bind_text(q, 1, name);
        rc = sq_step(q);
        if (rc == SQ_ROW)
            *id = sq_i64(q, 0);
        sq_free(q);
        if (rc == SQ_ROW)
            return 0;
        if (rc < 0)
            return rc;
        if (!(q = sq_cached(st, Q_SERVICE_INS)))
            return EVD_EIO;
        sq_bind_text(q, 1, name);
        sq_bind_i64(q, 2, now_us);
        if ((rc = sq_exec(q)))
            return rc;
    }
    return store_fail(st, EVD_EIO, "%s: service '%s' vanished while registering", st->path, name);
}

int store_instance_register(store *st, const store_instance *in, int64_t now_us, int64_t *id)
{
    sq *q = sq_cached(st, Q_INSTANCE_INS);
    if (!q)
        return EVD_EIO;
    sq_bind_text(q, 1, in->name);
    sq_bind_text(q, 2, in->host);
    sq_bind_i64(q, 3, in->pid);
    sq_bind_i64(q, 4, now_us);
    sq_bind_i64(q, 5, in->service_id);
    if (in->version_id)
        sq_bind_i64(q, 6, in->version_id);
    else
        sq_bind_null(q, 6);
    int rc = step_id(q, id);
    if (rc == 0)
        return store_fail(st, EVD_EIO, "%s: registering the instance returned no id", st->path);
    return rc < 0 ? rc : 0;
}

int store_version_touch(store *st, const char *version, int64_t now_us, int64_t *id)
{
    sq *q = sq_cached(st, Q_VERSION_UPSERT);
    if (!q)
        return EVD_EIO;
    sq_bind_text(q, 1, version);
    sq_bind_i64(q, 2, now_us);
    int rc = step_id(q, id);
    return rc < 0 ? rc : 0;
}

int store_version_label(store *st, int64_t id, const char *label)
{
    static const sq_text t =
        SQ("UPDATE versions SET label = ?2 WHERE id = ?1 AND label IS DISTINCT FROM ?2",
           "recording a version's label");
    sq *q = sq_prepare(st, &t, 0);
    if (!q)
        return EVD_EIO;
    sq_bind_i64(q, 1, id);
    sq_bind_text(q, 2, label);
    int rc = sq_exec(q);
    sq_free(q);
    return rc;
}

int store_version_first_seen(store *st, int64_t id, int64_t ts_us)
{
    static const sq_text t = SQ("UPDATE versions SET first_seen_us = least(first_seen_us, ?2) "
                                "WHERE id = ?1",
                                "recording when a version was first seen");
    sq *q = sq_prepare(st, &t, 0);
    if (!q)
        return EVD_EIO;
    sq_bind_i64(q, 1, id);
    sq_bind_i64(q, 2, ts_us);
    int rc = sq_exec(q);
    sq_free(q);
    return rc;
}

int store_endpoint_upsert(store *st, int64_t service_id, const char *name, const char *rule,
                          const char *methods, int default_level, int64_t *id, int *level)
{
    sq *q = sq_cached(st, Q_ENDPOINT_INS);
    int rc;
    if (!q)
        return EVD_EIO;
    sq_bind_i64(q, 1, service_id);
    sq_bind_str(q, 2, name);
    sq_bind_text(q, 3, rule);
    sq_bind_text(q, 4, methods);
    sq_bind_i64(q, 5, default_level);
    sq_bind_i64(q, 6, 0);
    if ((rc = sq_exec(q)))
        return rc;
    if (!(q = sq_cached(st, Q_ENDPOINT_GET)))
        return EVD_EIO;
    sq_bind_i64(q, 1, service_id);
    sq_bind_str(q, 2, name);
    rc = sq_step(q);
    if (rc == SQ_ROW) {
        *id = sq_i64(q, 0);
        *level = (int)sq_i64(q, 1);
    }
    sq_reset(q);
    if (rc != SQ_ROW)
        return rc < 0 ? rc : store_fail(st, EVD_EIO, "%s: endpoint '%s' vanished", st->path, name);
    if (!rule && !methods)
        return 0;
    if (!(q = sq_cached(st, Q_ENDPOINT_UPD_META)))
        return EVD_EIO;
    sq_bind_i64(q, 1, *id);
    sq_bind_text(q, 2, rule);
    sq_bind_text(q, 3, methods);
    return sq_exec(q);
}

int store_endpoint_set_level(store *st, int64_t id, int level)
{
    sq *q = sq_cached(st, Q_ENDPOINT_SET_LEVEL);
    if (!q)
        return EVD_EIO;
    sq_bind_i64(q, 1, id);
    sq_bind_i64(q, 2, level);
    return sq_exec(q);
}

int store_endpoint_levels(store *st, int64_t service_id, void (*cb)(void *u, int64_t id, int level),
                          void *u)
{
    sq *q = sq_cached(st, Q_ENDPOINT_LEVELS);
    int rc;
    if (!q)
        return EVD_EIO;
    sq_bind_i64(q, 1, service_id);
    while ((rc = sq_step(q)) == SQ_ROW)
        cb(u, sq_i64(q, 0), (int)sq_i64(q, 1));
    sq_reset(q);
    return rc < 0 ? rc : 0;
}

int store_endpoint_touch(store *st, int64_t id, int64_t last_access_us, uint64_t dropped_delta)
{
    sq *q = sq_cached(st, Q_ENDPOINT_TOUCH);
    if (!q)
        return EVD_EIO;
    sq_bind_i64(q, 1, id);
    sq_bind_i64(q, 2, last_access_us);
    sq_bind_i64(q, 3, (int64_t)dropped_delta);
    return sq_exec(q);
}

int store_endpoint_drops(store *st, int64_t endpoint_id, int64_t instance_id, uint64_t dropped)
{
    static const sq_text t =
        SQ("INSERT INTO endpoint_drops(endpoint_id, instance_id, dropped) VALUES(?1, ?2, ?3) ON "
           "CONFLICT(endpoint_id, instance_id) DO UPDATE SET dropped = excluded.dropped",
           "recording dropped records");
    sq *q = sq_prepare(st, &t, 0);
    if (!q)
        return EVD_EIO;
    sq_bind_i64(q, 1, endpoint_id);
    sq_bind_i64(q, 2, instance_id);
    sq_bind_i64(q, 3, (int64_t)dropped);
    int rc = sq_exec(q);
    sq_free(q);
    return rc;
}

int store_insert_request(store *st, const store_request *r, int64_t *id)
{
    int rc;
    if (st->id_next == st->id_end) {
        if ((rc = st->ops->reserve_ids(st, &st->id_next)))
            return rc;
        st->id_end = st->id_next + STORE_ID_BLOCK;
    }
    int64_t rid = st->id_next;
    if ((rc = st->ops->put_request(st, r, rid)))
        return rc;
    st->id_next++;
    if (id)
        *id = rid;
    return 0;
}

int store_insert_profiled(store *st, int64_t request_id, const store_request *r)
{
    sq *q = sq_cached(st, Q_PROFILED_INS);
    if (!q)
        return EVD_EIO;
    sq_bind_i64(q, 1, request_id);
    sq_bind_i64(q, 2, r->endpoint_id);
    sq_bind_i64(q, 3, r->version_id);
    sq_bind_i64(q, 4, r->ts_us);
    sq_bind_i64(q, 5, r->duration_us);
    return sq_exec(q);
}

int store_insert_outlier(store *st, const store_outlier *o)
{
    sq *q = sq_cached(st, Q_OUTLIER_INS);
    if (!q)
        return EVD_EIO;
    sq_bind_i64(q, 1, o->request_id);
    sq_bind_i64(q, 2, o->endpoint_id);
    sq_bind_i64(q, 3, o->ts_us);
    sq_bind_i64(q, 4, o->duration_us);
    sq_bind_text(q, 5, o->stack);
    sq_bind_text(q, 6, o->cpu);
    sq_bind_text(q, 7, o->memory);
    sq_bind_text(q, 8, o->details);
    return sq_exec(q);
}

int store_insert_profile_line(store *st, const store_profile_line *p)
{
    return st->ops->put_profile_line(st, p);
}

int store_instance_counters(store *st, int64_t id, const store_counters *c, int64_t now_us)
{
    sq *q = sq_cached(st, Q_INSTANCE_COUNTERS);
    if (!q)
        return EVD_EIO;
    sq_bind_i64(q, 1, id);
    sq_bind_i64(q, 2, (int64_t)c->recorded);
    sq_bind_i64(q, 3, (int64_t)c->dropped);
    sq_bind_i64(q, 4, (int64_t)c->written);
    sq_bind_i64(q, 5, (int64_t)c->write_errors);
    sq_bind_i64(q, 6, (int64_t)c->truncated);
    sq_bind_i64(q, 7, (int64_t)c->outliers);
    sq_bind_i64(q, 8, now_us);
    return sq_exec(q);
}

/* ---- retention ------------------------------------------------------------------ */

/* Each statement deletes at most ?2 rows older than ?1, oldest first, so
 * that one batch holds the write lock for milliseconds. */
static const sq_text SQL_PRUNE[] = {
    SQ("DELETE FROM requests WHERE (endpoint_id, ts_us, id) IN (SELECT endpoint_id, ts_us, id "
       "FROM requests WHERE ts_us < ?1 ORDER BY ts_us LIMIT ?2)",
       "pruning old requests"),
    SQ("DELETE FROM outliers WHERE id IN (SELECT id FROM outliers WHERE ts_us < ?1 ORDER BY "
       "ts_us LIMIT ?2)",
       "pruning old outliers"),
    SQ("DELETE FROM profiler_samples WHERE request_id IN (SELECT request_id FROM profiled WHERE "
       "ts_us < ?1 ORDER BY ts_us, request_id LIMIT ?2)",
       "pruning old profiler samples"),
    SQ("DELETE FROM profiled WHERE request_id IN (SELECT request_id FROM profiled WHERE ts_us < "
       "?1 ORDER BY ts_us, request_id LIMIT ?2)",
       "pruning old profiled requests"),
    /* the packed hours it cut into (an hour wholly pruned stays packed,
     * empty, as the rollups still count its requests) */
    SQ("DELETE FROM raw_segments WHERE (endpoint_id, hour, instance_id) IN (SELECT endpoint_id, "
       "hour, instance_id FROM raw_segments WHERE hour <= ?1 / 3600000000 AND rows > 0 LIMIT ?2)",
       "pruning packed hours"),
};

int store_prune_batch(store *st, int64_t cutoff_us, int64_t batch, store_pruned *n)
{
    int rc;
    memset(n, 0, sizeof *n);
    if ((rc = store_begin(st)))
        return rc;
    int64_t *out[] = {&n->requests, &n->outliers, &n->samples, &n->profiled, &n->segments};
    for (size_t i = 0; i < sizeof SQL_PRUNE / sizeof SQL_PRUNE[0]; i++) {
        sq *q = sq_prepare(st, &SQL_PRUNE[i], 0);
        if (!q) {
            store_rollback(st);
            return EVD_EIO;
        }
        sq_bind_i64(q, 1, cutoff_us);
        sq_bind_i64(q, 2, batch);
        rc = sq_exec(q);
        *out[i] = rc ? 0 : sq_changes(q);
        sq_free(q);
        if (rc) {
            store_rollback(st);
            return rc;
        }
    }
    return store_commit(st);
}

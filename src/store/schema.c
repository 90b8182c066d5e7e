/* schema.c — the store's schema as one list of migrations, rendered for
 * each backend's dialect.
 *
 * schema_version holds one row: the number of migrations applied.  Opening
 * an older store applies the missing ones, each in its own transaction;
 * a store newer than STORE_SCHEMA_VERSION is refused rather than guessed at.
 * Migrations are append-only: never change what one does once it shipped.
 *
 * A migration is a list of statements written once, with tokens where
 * the dialects differ:
 *
 *   {ID}       a row id: INTEGER PRIMARY KEY | BIGINT identity primary key
 *   {INT}      INTEGER | BIGINT (SQLite integers are 64-bit already)
 *   {BLOB}     BLOB | BYTEA
 *   {NOROWID}  " WITHOUT ROWID" | nothing (PostgreSQL has no clustered tables)
 *   {REF:t}    " REFERENCES t(id)" | nothing: SQLite does not enforce them
 *              (foreign_keys=OFF) and PostgreSQL would, at a cost on every
 *              insert and an order the writer does not keep
 *
 * and a statement may be marked for one dialect only. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "evodash.h"
#include "store/sq.h"
#include "store/store.h"
#include "store/store_int.h"

enum { BOTH = 0, LITE_ONLY = 1, PG_ONLY = 2 };

typedef struct mstep {
    int only;
    const char *sql;
} mstep;

#define STEPS_MAX 48

static const mstep migrations[STORE_SCHEMA_VERSION][STEPS_MAX] = {
    /* 1: the request log and its dimensions */
    {
        {BOTH, "CREATE TABLE versions("
               "  id {ID}, name TEXT NOT NULL UNIQUE,"
               "  first_seen_us {INT} NOT NULL, last_seen_us {INT} NOT NULL)"},
        {BOTH, "CREATE TABLE instances("
               "  id {ID}, name TEXT NOT NULL, host TEXT NOT NULL, pid {INT} NOT NULL,"
               "  started_us {INT} NOT NULL, last_seen_us {INT} NOT NULL,"
               "  recorded {INT} NOT NULL DEFAULT 0, dropped {INT} NOT NULL DEFAULT 0,"
               "  written {INT} NOT NULL DEFAULT 0, write_errors {INT} NOT NULL DEFAULT 0,"
               "  truncated {INT} NOT NULL DEFAULT 0, outliers {INT} NOT NULL DEFAULT 0)"},
        {BOTH, "CREATE TABLE endpoints("
               "  id {ID}, name TEXT NOT NULL UNIQUE, rule TEXT, methods TEXT,"
               "  level {INT} NOT NULL DEFAULT 1 CHECK(level BETWEEN 0 AND 3),"
               "  last_access_us {INT}, dropped {INT} NOT NULL DEFAULT 0,"
               "  created_us {INT} NOT NULL DEFAULT 0)"},
        {BOTH, "CREATE TABLE requests("
               "  id {ID}, endpoint_id {INT} NOT NULL{REF:endpoints},"
               "  ts_us {INT} NOT NULL, duration_us {INT} NOT NULL, status {INT} NOT NULL,"
               "  version_id {INT} NOT NULL{REF:versions}, group_name TEXT, ip TEXT,"
               "  instance_id {INT} NOT NULL{REF:instances})"},
        {BOTH, "CREATE INDEX requests_endpoint_ts ON requests(endpoint_id, ts_us)"},
        {BOTH, "CREATE INDEX requests_ts ON requests(ts_us)"},
        {BOTH, "CREATE TABLE outliers("
               "  id {ID}, request_id {INT} NOT NULL{REF:requests},"
               "  endpoint_id {INT} NOT NULL, ts_us {INT} NOT NULL, duration_us {INT} NOT NULL,"
               "  stack TEXT, cpu TEXT, memory TEXT, details TEXT)"},
        {BOTH, "CREATE INDEX outliers_endpoint_ts ON outliers(endpoint_id, ts_us)"},
    },
    /* 2: aggregates, the profiler and CI test timings */
    {
        {BOTH, "CREATE TABLE rollups("
               "  endpoint_id {INT} NOT NULL, version_id {INT} NOT NULL, hour {INT} NOT NULL,"
               "  instance_id {INT} NOT NULL, count {INT} NOT NULL, sum_us {INT} NOT NULL,"
               "  min_us {INT} NOT NULL, max_us {INT} NOT NULL,"
               "  s1xx {INT} NOT NULL DEFAULT 0, s2xx {INT} NOT NULL DEFAULT 0,"
               "  s3xx {INT} NOT NULL DEFAULT 0, s4xx {INT} NOT NULL DEFAULT 0,"
               "  s5xx {INT} NOT NULL DEFAULT 0, sother {INT} NOT NULL DEFAULT 0,"
               "  sketch {BLOB} NOT NULL,"
               "  PRIMARY KEY(endpoint_id, version_id, hour, instance_id)){NOROWID}"},
        {BOTH, "CREATE INDEX rollups_hour ON rollups(hour)"},
        {BOTH, "CREATE TABLE profiler_samples("
               "  id {ID}, request_id {INT} NOT NULL{REF:requests},"
               "  position {INT} NOT NULL, indent {INT} NOT NULL, function TEXT NOT NULL,"
               "  file TEXT, line {INT}, duration_us {INT} NOT NULL, samples {INT} NOT NULL)"},
        {BOTH, "CREATE INDEX profiler_samples_request ON profiler_samples(request_id, position)"},
        {BOTH, "CREATE TABLE test_runs("
               "  id {ID}, suite TEXT NOT NULL, test_name TEXT NOT NULL,"
               "  endpoint_id {INT}{REF:endpoints}, version TEXT NOT NULL,"
               "  ts_us {INT} NOT NULL, duration_us {INT} NOT NULL, passed {INT} NOT NULL,"
               "  run_id TEXT)"},
        {BOTH, "CREATE INDEX test_runs_endpoint ON test_runs(endpoint_id, ts_us)"},
    },
    /* 3: the dashboard's users, sessions and settings */
    {
        {BOTH, "CREATE TABLE users("
               "  id {ID}, username TEXT NOT NULL UNIQUE, pw_hash TEXT NOT NULL,"
               "  role TEXT NOT NULL CHECK(role IN ('admin','guest')), created_us {INT} NOT NULL)"},
        {BOTH, "CREATE TABLE sessions("
               "  token_hash {BLOB} PRIMARY KEY, user_id {INT} NOT NULL{REF:users},"
               "  csrf TEXT NOT NULL, created_us {INT} NOT NULL, expires_us {INT} NOT NULL)"},
        {BOTH, "CREATE TABLE settings(key TEXT PRIMARY KEY, value TEXT NOT NULL)"},
    },
    /* 4: requests clustered by (endpoint, time).  Every per-endpoint view
     * reads one endpoint's rows over a range; stored in that order they are
     * one sequential run of pages instead of an index walk with a random
     * table lookup per row (3-4x faster on 10M rows), and there is one
     * B-tree fewer to write.  Ids come from request_ids, reserved a block
     * at a time inside the writing transaction (a sequence in PostgreSQL,
     * where concurrent writers must not queue on one row).  profiled lists
     * the requests that have a profiler tree, so profile views no longer
     * touch the request log at all. */
    {
        {LITE_ONLY, "CREATE TABLE request_ids(next INTEGER NOT NULL)"},
        {LITE_ONLY, "INSERT INTO request_ids SELECT coalesce(max(id), 0) + 1 FROM requests"},
        {PG_ONLY, "CREATE SEQUENCE request_ids_seq AS bigint INCREMENT BY 1024 START WITH 1"},
        {BOTH, "CREATE TABLE requests_v4("
               "  id {INT} NOT NULL, endpoint_id {INT} NOT NULL{REF:endpoints},"
               "  ts_us {INT} NOT NULL, duration_us {INT} NOT NULL, status {INT} NOT NULL,"
               "  version_id {INT} NOT NULL{REF:versions}, group_name TEXT, ip TEXT,"
               "  instance_id {INT} NOT NULL{REF:instances},"
               "  PRIMARY KEY(endpoint_id, ts_us, id)){NOROWID}"},
        {BOTH, "INSERT INTO requests_v4 SELECT id, endpoint_id, ts_us, duration_us, status, "
               "version_id, group_name, ip, instance_id FROM requests ORDER BY endpoint_id, "
               "ts_us, id"},
        {BOTH, "CREATE TABLE profiled("
               "  request_id {INT} PRIMARY KEY, endpoint_id {INT} NOT NULL,"
               "  version_id {INT} NOT NULL, ts_us {INT} NOT NULL, duration_us {INT} NOT NULL)"},
        {BOTH, "INSERT INTO profiled SELECT r.id, r.endpoint_id, r.version_id, r.ts_us, "
               "r.duration_us FROM requests r WHERE r.id IN (SELECT request_id FROM "
               "profiler_samples)"},
        {BOTH, "CREATE INDEX profiled_endpoint_ts ON profiled(endpoint_id, ts_us)"},
        {BOTH, "DROP TABLE requests"},
        {BOTH, "ALTER TABLE requests_v4 RENAME TO requests"},
        /* time order is insertion order: a block range index is enough in
         * PostgreSQL and costs next to nothing to keep up */
        {LITE_ONLY, "CREATE INDEX requests_ts ON requests(ts_us)"},
        {PG_ONLY, "CREATE INDEX requests_ts ON requests USING brin(ts_us)"},
        {PG_ONLY, "SELECT setval('request_ids_seq', coalesce(max(id), 0) + 1, false) FROM "
                  "requests"},
    },
    /* 5: services, and what several writers need.  Several services share
     * one store; an endpoint belongs to one, and its name is unique within
     * it.  An older store's
     * endpoints go to an unnamed service that the first service to
     * register claims (store_service_register), so that a single-service
     * store keeps its history.  Instances record their service, the
     * version they run and their real host. */
    {
        {BOTH, "CREATE TABLE services("
               "  id {ID}, name TEXT NOT NULL UNIQUE, created_us {INT} NOT NULL)"},
        {BOTH, "INSERT INTO services(id, name, created_us) SELECT 1, '', 0 WHERE EXISTS "
               "(SELECT 1 FROM endpoints)"},
        {BOTH, "CREATE TABLE endpoints_v5("
               "  id {ID}, service_id {INT} NOT NULL DEFAULT 1, name TEXT NOT NULL,"
               "  rule TEXT, methods TEXT,"
               "  level {INT} NOT NULL DEFAULT 1 CHECK(level BETWEEN 0 AND 3),"
               "  last_access_us {INT}, dropped {INT} NOT NULL DEFAULT 0,"
               "  created_us {INT} NOT NULL DEFAULT 0, UNIQUE(service_id, name))"},
        {BOTH, "INSERT INTO endpoints_v5(id, service_id, name, rule, methods, level, "
               "last_access_us, dropped, created_us) SELECT id, 1, name, rule, methods, level, "
               "last_access_us, dropped, created_us FROM endpoints"},
        {BOTH, "DROP TABLE endpoints"},
        {BOTH, "ALTER TABLE endpoints_v5 RENAME TO endpoints"},
        {PG_ONLY, "SELECT setval(pg_get_serial_sequence('endpoints', 'id'), coalesce(max(id), "
                  "0) + 1, false) FROM endpoints"},
        {PG_ONLY, "SELECT setval(pg_get_serial_sequence('services', 'id'), coalesce(max(id), "
                  "0) + 1, false) FROM services"},
        {BOTH, "ALTER TABLE instances ADD COLUMN service_id {INT} NOT NULL DEFAULT 1"},
        {BOTH, "ALTER TABLE instances ADD COLUMN version_id {INT}"},
        {BOTH, "CREATE INDEX instances_service ON instances(service_id)"},
        /* drops per (endpoint, instance), each written whole by its own
         * instance: a sync that is retried after a lost answer cannot
         * count a drop twice */
        {BOTH, "CREATE TABLE endpoint_drops("
               "  endpoint_id {INT} NOT NULL, instance_id {INT} NOT NULL, dropped {INT} NOT NULL,"
               "  PRIMARY KEY(endpoint_id, instance_id)){NOROWID}"},
        /* users no longer in the config are disabled, not deleted (their
         * sessions and history stay readable); a session is bound to the
         * password hash it was made with */
        {BOTH, "ALTER TABLE users ADD COLUMN disabled {INT} NOT NULL DEFAULT 0"},
        {BOTH, "ALTER TABLE sessions ADD COLUMN pw_tag {BLOB}"},
        /* what people read: "v1.4.0 · 3f2a9c1" (tag and short hash) */
        {BOTH, "ALTER TABLE versions ADD COLUMN label TEXT"},
        /* CI test timings, apart from live data: a build of a
         * service at a version, named by the CI's build id */
        {BOTH, "CREATE TABLE ci_builds("
               "  id {ID}, service_id {INT} NOT NULL, build TEXT NOT NULL, version TEXT NOT NULL,"
               "  label TEXT, created_us {INT} NOT NULL, UNIQUE(service_id, build))"},
        /* one run of one test in a build (iteration: `collect --times`) */
        {BOTH, "CREATE TABLE ci_tests("
               "  id {ID}, build_id {INT} NOT NULL{REF:ci_builds}, suite TEXT NOT NULL,"
               "  name TEXT NOT NULL, iteration {INT} NOT NULL, duration_us {INT} NOT NULL,"
               "  outcome TEXT NOT NULL, UNIQUE(build_id, suite, name, iteration))"},
        /* the requests a test made, by endpoint name (joined to live data by
         * service, endpoint and version); test_id stays NULL from the agent
         * recording it until a build's upload claims it */
        {BOTH, "CREATE TABLE ci_calls("
               "  id {ID}, service_id {INT} NOT NULL, endpoint TEXT NOT NULL, test TEXT NOT NULL,"
               "  ts_us {INT} NOT NULL, duration_us {INT} NOT NULL, status {INT} NOT NULL,"
               "  test_id {INT})"},
        /* a build's calls, and the unclaimed ones by (service, test, time) */
        {BOTH, "CREATE INDEX ci_calls_test ON ci_calls(test_id)"},
        {BOTH, "CREATE INDEX ci_calls_unclaimed ON ci_calls(service_id, test, ts_us)"},
        /* verdicts: releases are the default baselines, short-lived
         * versions can be hidden from the version views */
        {BOTH, "ALTER TABLE versions ADD COLUMN important {INT} NOT NULL DEFAULT 0"},
        {BOTH, "ALTER TABLE versions ADD COLUMN hidden {INT} NOT NULL DEFAULT 0"},
        /* renames: each edge an admin confirmed; merged_into is the root
         * every view reads an endpoint's rows under (raw rows keep their
         * own endpoint id, so deleting the edge undoes the rename) */
        {BOTH, "CREATE TABLE endpoint_renames("
               "  from_id {INT} PRIMARY KEY, to_id {INT} NOT NULL, created_us {INT} NOT NULL)"},
        {BOTH, "ALTER TABLE endpoints ADD COLUMN merged_into {INT}"},
        /* every import of a foreign database (import-fmd), so that importing
         * the same one twice is refused instead of counting its requests
         * twice; attempt > 1 only for the re-imports asked for with --force */
        {BOTH, "CREATE TABLE imports("
               "  id {ID}, kind TEXT NOT NULL, fingerprint TEXT NOT NULL, attempt {INT} NOT NULL,"
               "  source TEXT NOT NULL, service_id {INT} NOT NULL{REF:services},"
               "  imported_us {INT} NOT NULL, endpoints {INT} NOT NULL DEFAULT 0,"
               "  requests {INT} NOT NULL DEFAULT 0, outliers {INT} NOT NULL DEFAULT 0,"
               "  profile_lines {INT} NOT NULL DEFAULT 0, first_us {INT}, last_us {INT},"
               "  UNIQUE(kind, fingerprint, attempt))"},
        /* each instance's CPU time per interval (about 10 s; ts_us ends it)
         * and, beside it, its requests per endpoint in that interval: the
         * capacity model's utilisation law (store/usage.c) */
        {BOTH, "CREATE TABLE cpu_samples("
               "  id {ID}, instance_id {INT} NOT NULL{REF:instances}, ts_us {INT} NOT NULL,"
               "  interval_us {INT} NOT NULL, cpu_us {INT} NOT NULL, ncpu {INT} NOT NULL)"},
        {BOTH, "CREATE INDEX cpu_samples_ts ON cpu_samples(ts_us)"},
        {BOTH, "CREATE TABLE cpu_sample_counts("
               "  sample_id {INT} NOT NULL{REF:cpu_samples}, endpoint_id {INT} NOT NULL,"
               "  count {INT} NOT NULL, busy_us {INT} NOT NULL,"
               "  PRIMARY KEY(sample_id, endpoint_id)){NOROWID}"},
    },
    /* 6: past hours of raw rows packed, one value per (endpoint, instance,
     * hour) (compact.c, segment.c).  counted is the rollups' count when it
     * was packed: the copy stands for the rows while they still count as
     * many.  Stored uncompressed in PostgreSQL: the rows are packed
     * already, and a scan should not pay to inflate them. */
    {
        {BOTH, "CREATE TABLE raw_segments("
               "  endpoint_id {INT} NOT NULL, instance_id {INT} NOT NULL, hour {INT} NOT NULL,"
               "  rows {INT} NOT NULL, counted {INT} NOT NULL, data {BLOB} NOT NULL,"
               "  PRIMARY KEY(endpoint_id, hour, instance_id)){NOROWID}"},
        {PG_ONLY, "ALTER TABLE raw_segments ALTER COLUMN data SET STORAGE EXTERNAL"},
    },
    /* 7: the share of a CPU sample that evodash's own threads used (the
     * writer, the watchdog, the sampler), so that the capacity model keeps
     * the monitor's work, which is paid per batch rather than per request,
     * out of the requests' demands; NULL in the samples taken before */
    {
        {BOTH, "ALTER TABLE cpu_samples ADD COLUMN agent_us {INT}"},
    },
    /* 8: the host's steal time per CPU in a CPU sample's interval, so
     * that the capacity model can leave out what a noisy neighbour
     * inflated; NULL in the samples taken before and where /proc/stat
     * could not be read */
    {
        {BOTH, "ALTER TABLE cpu_samples ADD COLUMN steal_us {INT}"},
    },
};

/* ---- rendering --------------------------------------------------------------- */

typedef struct token {
    const char *name, *lite, *pg;
} token;

static const token tokens[] = {
    {"{ID}", "INTEGER PRIMARY KEY", "BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY"},
    {"{INT}", "INTEGER", "BIGINT"},
    {"{BLOB}", "BLOB", "BYTEA"},
    {"{NOROWID}", " WITHOUT ROWID", ""},
};

/* The statement in dialect pg (0 SQLite, 1 PostgreSQL); caller frees.
 * NULL when out of memory. */
static char *render(const char *sql, int pg)
{
    size_t cap = strlen(sql) * 2 + 256, o = 0;
    char *out = malloc(cap);
    if (!out)
        return NULL;
    for (const char *p = sql; *p;) {
        if (*p != '{') {
            out[o++] = *p++;
            continue;
        }
        const char *rep = NULL;
        size_t skip = 0;
        char refbuf[96];
        for (size_t i = 0; i < sizeof tokens / sizeof tokens[0]; i++) {
            size_t n = strlen(tokens[i].name);
            if (!strncmp(p, tokens[i].name, n)) {
                rep = pg ? tokens[i].pg : tokens[i].lite;
                skip = n;
                break;
            }
        }
        if (!rep && !strncmp(p, "{REF:", 5)) {
            const char *end = strchr(p, '}');
            int len = end ? (int)(end - p - 5) : 0;
            refbuf[0] = 0;
            if (!pg && len > 0 && len < 64)
                snprintf(refbuf, sizeof refbuf, " REFERENCES %.*s(id)", len, p + 5);
            rep = refbuf;
            skip = end ? (size_t)(end - p) + 1 : 1;
        }
        if (!rep) {
            out[o++] = *p++;
            continue;
        }
        size_t rl = strlen(rep);
        memcpy(out + o, rep, rl);
        o += rl;
        p += skip;
    }
    out[o] = 0;
    return out;
}

/* ---- versions ------------------------------------------------------------------ */

static const sq_text SQL_VERSION =
    SQ("SELECT max(version) FROM schema_version", "reading the schema version");
static const sq_text SQL_VERSION_SET =
    SQ("UPDATE schema_version SET version = ?1", "recording the schema version");
static const sq_text SQL_VERSION_INIT =
    SQ("INSERT INTO schema_version VALUES(?1)", "recording the schema version");
/* Migrations of concurrent processes queue here (PostgreSQL; SQLite's
 * BEGIN IMMEDIATE already serialises them). */
static const sq_text SQL_MIGRATE_LOCK =
    SQ2("SELECT 1", "SELECT pg_advisory_xact_lock(7270756544617368)", "locking the schema");

int store_schema_version(store *st, int *version)
{
    int has, rc;
    if ((rc = st->ops->has_table(st, "schema_version", &has)))
        return rc;
    if (!has) {
        *version = 0;
        return 0;
    }
    sq *q = sq_prepare(st, &SQL_VERSION, 0);
    if (!q)
        return EVD_EIO;
    rc = sq_step(q);
    *version = rc == SQ_ROW ? (int)sq_i64(q, 0) : 0;
    sq_free(q);
    return rc < 0 ? rc : 0;
}

int store_request_estimate(store *st, int64_t *n)
{
    static const sq_text t = SQ("SELECT coalesce(max(id), 0) FROM requests", "counting requests");
    sq *q = sq_prepare(st, &t, 0);
    if (!q)
        return EVD_EIO;
    int rc = sq_step(q);
    *n = rc == SQ_ROW ? sq_i64(q, 0) : 0;
    sq_free(q);
    return rc < 0 ? rc : 0;
}

static int exec_int(store *st, const sq_text *t, int64_t v)
{
    sq *q = sq_prepare(st, t, 0);
    if (!q)
        return EVD_EIO;
    sq_bind_i64(q, 1, v);
    int rc = sq_exec(q);
    sq_free(q);
    return rc;
}

static int apply(store *st, int v)
{
    int pg = store_dialect(st) == DIALECT_PG, rc = 0;
    for (int i = 0; i < STEPS_MAX && migrations[v][i].sql; i++) {
        const mstep *m = &migrations[v][i];
        if ((m->only == LITE_ONLY && pg) || (m->only == PG_ONLY && !pg))
            continue;
        char *sql = render(m->sql, pg);
        if (!sql)
            return store_fail(st, EVD_ENOMEM, "out of memory migrating the schema");
        char what[64];
        snprintf(what, sizeof what, "migrating the schema to version %d", v + 1);
        rc = sq_run(st, sql, what);
        free(sql);
        if (rc)
            return rc;
    }
    return 0;
}

int store_migrate_to(store *st, int to)
{
    int cur, rc, ntables = 0;

    if ((rc = store_schema_version(st, &cur)))
        return rc;
    if (cur > STORE_SCHEMA_VERSION)
        return store_fail(st, EVD_ESCHEMA,
                          "%s: schema version %d is newer than this evodash supports (%d); "
                          "upgrade evodash to read it",
                          st->path, cur, STORE_SCHEMA_VERSION);
    if (cur == 0) {
        /* A database that has tables but no schema_version belongs to
         * someone else: refuse it rather than add our tables to it. */
        if ((rc = st->ops->count_tables(st, &ntables)))
            return rc;
        if (ntables)
            return store_fail(st, EVD_ECORRUPT,
                              "%s: holds %d tables but is not an evodash store; refusing to "
                              "change it",
                              st->path, ntables);
    }
    if (to > STORE_SCHEMA_VERSION)
        to = STORE_SCHEMA_VERSION;
    while (cur < to) {
        if ((rc = store_begin(st)))
            return rc;
        sq *lock = sq_prepare(st, &SQL_MIGRATE_LOCK, 0);
        if (!lock || (rc = sq_exec(lock)))
            goto fail;
        sq_free(lock);
        lock = NULL;
        /* another process may have migrated while we waited */
        int now;
        if ((rc = store_schema_version(st, &now)))
            goto fail;
        if (now >= to) {
            store_rollback(st);
            return 0;
        }
        if (now == 0) {
            if ((rc = sq_run(st, "CREATE TABLE schema_version(version INTEGER NOT NULL)",
                             "creating the schema")) ||
                (rc = exec_int(st, &SQL_VERSION_INIT, 0)))
                goto fail;
        }
        if ((rc = apply(st, now)) || (rc = exec_int(st, &SQL_VERSION_SET, now + 1)))
            goto fail;
        if ((rc = store_commit(st)))
            return rc;
        cur = now + 1;
        continue;
    fail:
        sq_free(lock);
        if (!rc)
            rc = EVD_EIO;
        store_rollback(st);
        return rc;
    }
    return 0;
}

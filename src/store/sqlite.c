/* sqlite.c — the SQLite store: open, pragmas, and the writer's statements.
 *
 * WAL mode lets readers (the dashboard) run beside the writer, and with
 * synchronous=NORMAL a commit costs no fsync until checkpoint; a power
 * loss can lose the last commits but never corrupts the file.  Several
 * processes may write one file: each transaction takes the write lock up
 * front (BEGIN IMMEDIATE) and waits up to busy_timeout for it; the writer
 * thread retries past that with backoff. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "evodash.h"
#include "store/store.h"
#include "store/store_int.h"

#define BUSY_TIMEOUT_MS 1000

static const char *const sql_text[Q__COUNT] = {
    [Q_INSTANCE_INS] = "INSERT INTO instances(name, host, pid, started_us, last_seen_us) "
                       "VALUES(?, ?, ?, ?, ?)",
    [Q_VERSION_UPSERT] = "INSERT INTO versions(name, first_seen_us, last_seen_us) VALUES(?1, "
                         "?2, ?2) ON CONFLICT(name) DO UPDATE SET last_seen_us = "
                         "max(last_seen_us, excluded.last_seen_us)",
    [Q_VERSION_ID] = "SELECT id FROM versions WHERE name = ?",
    [Q_ENDPOINT_INS] = "INSERT OR IGNORE INTO endpoints(name, rule, methods, level, created_us) "
                       "VALUES(?, ?, ?, ?, ?)",
    [Q_ENDPOINT_GET] = "SELECT id, level FROM endpoints WHERE name = ?",
    [Q_ENDPOINT_UPD_META] = "UPDATE endpoints SET rule = coalesce(?2, rule), methods = "
                            "coalesce(?3, methods) WHERE id = ?1",
    [Q_ENDPOINT_SET_LEVEL] = "UPDATE endpoints SET level = ?2 WHERE id = ?1",
    [Q_ENDPOINT_LEVELS] = "SELECT id, level FROM endpoints",
    [Q_ENDPOINT_TOUCH] = "UPDATE endpoints SET last_access_us = max(coalesce(last_access_us, "
                         "0), ?2), dropped = dropped + ?3 WHERE id = ?1",
    [Q_REQUEST_INS] = "INSERT INTO requests(endpoint_id, ts_us, duration_us, status, "
                      "version_id, group_name, ip, instance_id, id) VALUES(?, ?, ?, ?, ?, ?, ?, "
                      "?, ?)",
    [Q_REQUEST_IDS] = "UPDATE request_ids SET next = next + ?1 RETURNING next - ?1",
    [Q_PROFILED_INS] = "INSERT OR IGNORE INTO profiled(request_id, endpoint_id, version_id, ts_us, "
                       "duration_us) VALUES(?, ?, ?, ?, ?)",
    [Q_OUTLIER_INS] = "INSERT INTO outliers(request_id, endpoint_id, ts_us, duration_us, stack, "
                      "cpu, memory, details) VALUES(?, ?, ?, ?, ?, ?, ?, ?)",
    [Q_PROFILE_INS] = "INSERT INTO profiler_samples(request_id, position, indent, function, "
                      "file, line, duration_us, samples) VALUES(?, ?, ?, ?, ?, ?, ?, ?)",
    [Q_ROLLUP_GET] = "SELECT sketch FROM rollups WHERE endpoint_id = ? AND version_id = ? AND "
                     "hour = ? AND instance_id = ?",
    [Q_ROLLUP_INS] = "INSERT INTO rollups(endpoint_id, version_id, hour, instance_id, count, "
                     "sum_us, min_us, max_us, s1xx, s2xx, s3xx, s4xx, s5xx, sother, sketch) "
                     "VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)",
    [Q_ROLLUP_UPD] = "UPDATE rollups SET count = count + ?5, sum_us = sum_us + ?6, min_us = "
                     "min(min_us, ?7), max_us = max(max_us, ?8), s1xx = s1xx + ?9, s2xx = s2xx "
                     "+ ?10, s3xx = s3xx + ?11, s4xx = s4xx + ?12, s5xx = s5xx + ?13, sother = "
                     "sother + ?14, sketch = ?15 WHERE endpoint_id = ?1 AND version_id = ?2 "
                     "AND hour = ?3 AND instance_id = ?4",
    [Q_INSTANCE_COUNTERS] = "UPDATE instances SET recorded = ?2, dropped = ?3, written = ?4, "
                            "write_errors = ?5, truncated = ?6, outliers = ?7, last_seen_us = "
                            "?8 WHERE id = ?1",
    [Q_PRUNE] = "DELETE FROM requests WHERE ts_us < ?1 AND id NOT IN (SELECT request_id FROM "
                "outliers)",
};

int store_fail(store *st, int rc, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(st->err, sizeof st->err, fmt, ap);
    va_end(ap);
    return rc;
}

int store_code(int sqlite_rc)
{
    switch (sqlite_rc & 0xff) {
    case SQLITE_OK:
    case SQLITE_ROW:
    case SQLITE_DONE:
        return 0;
    case SQLITE_NOMEM:
        return EVD_ENOMEM;
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
        return EVD_EBUSY;
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
        return EVD_ECORRUPT;
    case SQLITE_CONSTRAINT:
    case SQLITE_MISMATCH:
    case SQLITE_RANGE:
        return EVD_EINVAL;
    default:
        return EVD_EIO;
    }
}

int store_fail_sqlite(store *st, const char *what)
{
    int rc = sqlite3_errcode(st->db);
    const char *hint = "";
    if ((rc & 0xff) == SQLITE_NOTADB || (rc & 0xff) == SQLITE_CORRUPT)
        hint = " (the file is damaged or is not an evodash database)";
    else if ((rc & 0xff) == SQLITE_FULL)
        hint = " (no space left on the device, or the file size limit was reached)";
    else if ((rc & 0xff) == SQLITE_READONLY || (rc & 0xff) == SQLITE_CANTOPEN)
        hint = " (check that the file and its folder are writable)";
    store_fail(st, store_code(rc) ? store_code(rc) : EVD_EIO, "%s: %s: %s%s",
               st->path ? st->path : "store", what, sqlite3_errmsg(st->db), hint);
    return store_code(rc) ? store_code(rc) : EVD_EIO;
}

const char *store_errmsg(const store *st)
{
    return st ? st->err : "out of memory";
}

sqlite3 *store_db(store *st)
{
    return st->db;
}

int store_url_path(const char *url, char *out, size_t cap, char *err, size_t errcap)
{
    const char *p = url;
    if (!url || !*url) {
        snprintf(err, errcap, "empty DATABASE URL");
        return EVD_EINVAL;
    }
    if (!strncmp(url, "postgresql://", 13) || !strncmp(url, "postgres://", 11)) {
        snprintf(err, errcap,
                 "%s: PostgreSQL stores are not supported by this build; use "
                 "sqlite:///FILE",
                 url);
        return EVD_EINVAL;
    }
    if (!strncmp(url, "sqlite://", 9)) {
        p = url + 9;
        /* SQLAlchemy style: sqlite:///rel.db is relative, sqlite:////abs.db absolute */
        if (*p != '/') {
            snprintf(err, errcap,
                     "%s: expected sqlite:///relative/path or "
                     "sqlite:////absolute/path",
                     url);
            return EVD_EINVAL;
        }
        p++;
    } else if (strstr(url, "://")) {
        snprintf(err, errcap, "%s: unknown database URL scheme (expected sqlite://)", url);
        return EVD_EINVAL;
    }
    if (!*p || strlen(p) >= cap) {
        snprintf(err, errcap, "%s: bad database path", url);
        return EVD_EINVAL;
    }
    strcpy(out, p);
    return 0;
}

sqlite3_stmt *store_stmt(store *st, int q)
{
    if (!st->q[q] &&
        sqlite3_prepare_v3(st->db, sql_text[q], -1, SQLITE_PREPARE_PERSISTENT, &st->q[q], NULL))
        return NULL;
    sqlite3_reset(st->q[q]);
    sqlite3_clear_bindings(st->q[q]);
    return st->q[q];
}

int store_exec_int(store *st, const char *sql, int64_t v)
{
    sqlite3_stmt *q = NULL;
    int rc = sqlite3_prepare_v2(st->db, sql, -1, &q, NULL);
    if (rc == SQLITE_OK) {
        sqlite3_bind_int64(q, 1, v);
        rc = sqlite3_step(q);
    }
    sqlite3_finalize(q);
    return rc == SQLITE_DONE ? 0 : store_fail_sqlite(st, "writing");
}

static int exec(store *st, const char *sql, const char *what)
{
    if (sqlite3_exec(st->db, sql, NULL, NULL, NULL) != SQLITE_OK)
        return store_fail_sqlite(st, what);
    return 0;
}

int store_open(const char *url, int flags, store **out)
{
    store *st = calloc(1, sizeof *st);
    char path[4096];
    int rc;

    *out = st;
    if (!st)
        return EVD_ENOMEM;
    st->flags = flags;
    if ((rc = store_url_path(url, path, sizeof path, st->err, sizeof st->err)))
        return rc;
    if (!(st->path = strdup(path)))
        return EVD_ENOMEM;
    int oflags =
        (flags & STORE_RDONLY) ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE;
    if (sqlite3_open_v2(path, &st->db, oflags | SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK) {
        rc = store_fail_sqlite(st, "cannot open the database");
        if (access(path, F_OK) == 0)
            return rc;
        if (flags & STORE_RDONLY)
            return store_fail(st, EVD_EIO, "%s: no such database file", path);
        /* say which folder, and why, rather than SQLite's generic text */
        char folder[4096];
        snprintf(folder, sizeof folder, "%s", path);
        char *slash = strrchr(folder, '/');
        if (slash)
            *(slash == folder ? slash + 1 : slash) = 0;
        else
            strcpy(folder, ".");
        if (access(folder, W_OK) != 0)
            return store_fail(st, EVD_EIO,
                              "%s: cannot create the database: %s: %s (check that the folder "
                              "exists and is writable)",
                              path, folder, strerror(errno));
        return rc;
    }
    sqlite3_extended_result_codes(st->db, 1);
    sqlite3_busy_timeout(st->db, BUSY_TIMEOUT_MS);
    if ((rc = store_register_functions(st->db)))
        return store_fail(st, rc, "%s: registering SQL functions failed", path);
    /* The first read tells a non-database file apart. */
    int version;
    if ((rc = store_schema_version(st, &version)))
        return rc;
    if (flags & STORE_RDONLY) {
        if (version > STORE_SCHEMA_VERSION)
            return store_fail(st, EVD_ESCHEMA,
                              "%s: schema version %d is newer than this evodash supports (%d)",
                              path, version, STORE_SCHEMA_VERSION);
        if (version < 1)
            return store_fail(st, EVD_ECORRUPT, "%s: not an evodash store (no schema)", path);
        return 0;
    }
    if ((rc = exec(st, "PRAGMA journal_mode=WAL", "enabling WAL")) ||
        (rc = exec(st, "PRAGMA synchronous=NORMAL", "setting synchronous")) ||
        (rc = exec(st, "PRAGMA foreign_keys=OFF", "setting foreign_keys")))
        return rc;
    if (flags & STORE_NOMIGRATE)
        return 0;
    return store_migrate_to(st, STORE_SCHEMA_VERSION);
}

void store_close(store *st)
{
    if (!st)
        return;
    for (int i = 0; i < Q__COUNT; i++)
        sqlite3_finalize(st->q[i]);
    sqlite3_close(st->db);
    free(st->scratch);
    free(st->scratch_buf);
    free(st->acc_buf);
    free(st->path);
    free(st);
}

int store_begin(store *st)
{
    if (sqlite3_exec(st->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
        return store_fail_sqlite(st, "starting a transaction");
    st->in_txn = 1;
    return 0;
}

int store_commit(store *st)
{
    if (sqlite3_exec(st->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
        int rc = store_fail_sqlite(st, "committing");
        store_rollback(st);
        return rc;
    }
    st->in_txn = 0;
    return 0;
}

void store_rollback(store *st)
{
    if (!sqlite3_get_autocommit(st->db))
        sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
    st->in_txn = 0;
    st->id_next = st->id_end = 0; /* a reservation made in it is undone too */
}

/* Step a write statement to completion; map failure to a message. */
static int step_done(store *st, sqlite3_stmt *q, const char *what)
{
    if (!q)
        return store_fail_sqlite(st, "preparing a statement");
    int rc = sqlite3_step(q);
    if (rc != SQLITE_DONE && rc != SQLITE_ROW) {
        rc = store_fail_sqlite(st, what);
        sqlite3_reset(q);
        return rc;
    }
    sqlite3_reset(q);
    return 0;
}

static void bind_text_or_null(sqlite3_stmt *q, int i, const char *s)
{
    if (s && *s)
        sqlite3_bind_text(q, i, s, -1, SQLITE_STATIC);
    else
        sqlite3_bind_null(q, i);
}

int store_instance_register(store *st, const char *name, const char *host, int pid, int64_t now_us,
                            int64_t *id)
{
    sqlite3_stmt *q = store_stmt(st, Q_INSTANCE_INS);
    if (!q)
        return store_fail_sqlite(st, "preparing");
    sqlite3_bind_text(q, 1, name, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 2, host, -1, SQLITE_STATIC);
    sqlite3_bind_int(q, 3, pid);
    sqlite3_bind_int64(q, 4, now_us);
    sqlite3_bind_int64(q, 5, now_us);
    int rc = step_done(st, q, "registering the instance");
    if (!rc)
        *id = sqlite3_last_insert_rowid(st->db);
    return rc;
}

int store_version_touch(store *st, const char *version, int64_t now_us, int64_t *id)
{
    sqlite3_stmt *q = store_stmt(st, Q_VERSION_UPSERT);
    int rc;
    if (!q)
        return store_fail_sqlite(st, "preparing");
    sqlite3_bind_text(q, 1, version, -1, SQLITE_STATIC);
    sqlite3_bind_int64(q, 2, now_us);
    if ((rc = step_done(st, q, "recording the version")))
        return rc;
    if (!id)
        return 0;
    q = store_stmt(st, Q_VERSION_ID);
    sqlite3_bind_text(q, 1, version, -1, SQLITE_STATIC);
    if (sqlite3_step(q) != SQLITE_ROW)
        return store_fail_sqlite(st, "reading the version id");
    *id = sqlite3_column_int64(q, 0);
    sqlite3_reset(q);
    return 0;
}

int store_endpoint_upsert(store *st, const char *name, const char *rule, const char *methods,
                          int default_level, int64_t *id, int *level)
{
    sqlite3_stmt *q = store_stmt(st, Q_ENDPOINT_INS);
    int rc;
    if (!q)
        return store_fail_sqlite(st, "preparing");
    sqlite3_bind_text(q, 1, name, -1, SQLITE_STATIC);
    bind_text_or_null(q, 2, rule);
    bind_text_or_null(q, 3, methods);
    sqlite3_bind_int(q, 4, default_level);
    sqlite3_bind_int64(q, 5, 0);
    if ((rc = step_done(st, q, "registering an endpoint")))
        return rc;
    q = store_stmt(st, Q_ENDPOINT_GET);
    sqlite3_bind_text(q, 1, name, -1, SQLITE_STATIC);
    if (sqlite3_step(q) != SQLITE_ROW)
        return store_fail_sqlite(st, "reading an endpoint");
    *id = sqlite3_column_int64(q, 0);
    *level = sqlite3_column_int(q, 1);
    sqlite3_reset(q);
    if (rule || methods) {
        q = store_stmt(st, Q_ENDPOINT_UPD_META);
        sqlite3_bind_int64(q, 1, *id);
        bind_text_or_null(q, 2, rule);
        bind_text_or_null(q, 3, methods);
        return step_done(st, q, "updating an endpoint");
    }
    return 0;
}

int store_endpoint_set_level(store *st, int64_t id, int level)
{
    sqlite3_stmt *q = store_stmt(st, Q_ENDPOINT_SET_LEVEL);
    if (!q)
        return store_fail_sqlite(st, "preparing");
    sqlite3_bind_int64(q, 1, id);
    sqlite3_bind_int(q, 2, level);
    return step_done(st, q, "setting a monitoring level");
}

int store_endpoint_levels(store *st, void (*cb)(void *u, int64_t id, int level), void *u)
{
    sqlite3_stmt *q = store_stmt(st, Q_ENDPOINT_LEVELS);
    int rc;
    if (!q)
        return store_fail_sqlite(st, "preparing");
    while ((rc = sqlite3_step(q)) == SQLITE_ROW)
        cb(u, sqlite3_column_int64(q, 0), sqlite3_column_int(q, 1));
    sqlite3_reset(q);
    return rc == SQLITE_DONE ? 0 : store_fail_sqlite(st, "reading monitoring levels");
}

int store_endpoint_touch(store *st, int64_t id, int64_t last_access_us, uint64_t dropped_delta)
{
    sqlite3_stmt *q = store_stmt(st, Q_ENDPOINT_TOUCH);
    if (!q)
        return store_fail_sqlite(st, "preparing");
    sqlite3_bind_int64(q, 1, id);
    sqlite3_bind_int64(q, 2, last_access_us);
    sqlite3_bind_int64(q, 3, (int64_t)dropped_delta);
    return step_done(st, q, "updating an endpoint");
}

/* Reserve the next block of request ids.  The block is ours once the
 * transaction that took it commits, so it outlives commits and is dropped
 * on rollback; a process wastes at most one block's tail when it closes. */
static int reserve_ids(store *st)
{
    sqlite3_stmt *q = store_stmt(st, Q_REQUEST_IDS);
    if (!q)
        return store_fail_sqlite(st, "preparing");
    sqlite3_bind_int64(q, 1, STORE_ID_BLOCK);
    int rc = sqlite3_step(q);
    if (rc != SQLITE_ROW) {
        rc = rc == SQLITE_DONE
                 ? store_fail(st, EVD_ECORRUPT, "%s: request_ids has no row", st->path)
                 : store_fail_sqlite(st, "reserving request ids");
        sqlite3_reset(q);
        return rc;
    }
    st->id_next = sqlite3_column_int64(q, 0);
    st->id_end = st->id_next + STORE_ID_BLOCK;
    sqlite3_reset(q);
    return 0;
}

int store_insert_request(store *st, const store_request *r, int64_t *id)
{
    sqlite3_stmt *q;
    int rc;
    if (st->id_next == st->id_end && (rc = reserve_ids(st)))
        return rc;
    if (!(q = store_stmt(st, Q_REQUEST_INS)))
        return store_fail_sqlite(st, "preparing");
    int64_t rid = st->id_next;
    sqlite3_bind_int64(q, 1, r->endpoint_id);
    sqlite3_bind_int64(q, 2, r->ts_us);
    sqlite3_bind_int64(q, 3, r->duration_us);
    sqlite3_bind_int(q, 4, r->status);
    sqlite3_bind_int64(q, 5, r->version_id);
    bind_text_or_null(q, 6, r->group);
    bind_text_or_null(q, 7, r->ip);
    sqlite3_bind_int64(q, 8, r->instance_id);
    sqlite3_bind_int64(q, 9, rid);
    if ((rc = step_done(st, q, "inserting a request")))
        return rc;
    st->id_next++;
    if (id)
        *id = rid;
    return 0;
}

int store_insert_profiled(store *st, int64_t request_id, const store_request *r)
{
    sqlite3_stmt *q = store_stmt(st, Q_PROFILED_INS);
    if (!q)
        return store_fail_sqlite(st, "preparing");
    sqlite3_bind_int64(q, 1, request_id);
    sqlite3_bind_int64(q, 2, r->endpoint_id);
    sqlite3_bind_int64(q, 3, r->version_id);
    sqlite3_bind_int64(q, 4, r->ts_us);
    sqlite3_bind_int64(q, 5, r->duration_us);
    return step_done(st, q, "listing a profiled request");
}

int store_insert_outlier(store *st, const store_outlier *o)
{
    sqlite3_stmt *q = store_stmt(st, Q_OUTLIER_INS);
    if (!q)
        return store_fail_sqlite(st, "preparing");
    sqlite3_bind_int64(q, 1, o->request_id);
    sqlite3_bind_int64(q, 2, o->endpoint_id);
    sqlite3_bind_int64(q, 3, o->ts_us);
    sqlite3_bind_int64(q, 4, o->duration_us);
    bind_text_or_null(q, 5, o->stack);
    bind_text_or_null(q, 6, o->cpu);
    bind_text_or_null(q, 7, o->memory);
    bind_text_or_null(q, 8, o->details);
    return step_done(st, q, "inserting an outlier");
}

int store_insert_profile_line(store *st, const store_profile_line *p)
{
    sqlite3_stmt *q = store_stmt(st, Q_PROFILE_INS);
    if (!q)
        return store_fail_sqlite(st, "preparing");
    sqlite3_bind_int64(q, 1, p->request_id);
    sqlite3_bind_int(q, 2, p->position);
    sqlite3_bind_int(q, 3, p->indent);
    sqlite3_bind_text(q, 4, p->function ? p->function : "?", -1, SQLITE_STATIC);
    bind_text_or_null(q, 5, p->file);
    sqlite3_bind_int(q, 6, p->line);
    sqlite3_bind_int64(q, 7, p->duration_us);
    sqlite3_bind_int(q, 8, p->samples);
    return step_done(st, q, "inserting a profiler sample");
}

int store_instance_counters(store *st, int64_t id, const store_counters *c, int64_t now_us)
{
    sqlite3_stmt *q = store_stmt(st, Q_INSTANCE_COUNTERS);
    if (!q)
        return store_fail_sqlite(st, "preparing");
    sqlite3_bind_int64(q, 1, id);
    sqlite3_bind_int64(q, 2, (int64_t)c->recorded);
    sqlite3_bind_int64(q, 3, (int64_t)c->dropped);
    sqlite3_bind_int64(q, 4, (int64_t)c->written);
    sqlite3_bind_int64(q, 5, (int64_t)c->write_errors);
    sqlite3_bind_int64(q, 6, (int64_t)c->truncated);
    sqlite3_bind_int64(q, 7, (int64_t)c->outliers);
    sqlite3_bind_int64(q, 8, now_us);
    return step_done(st, q, "updating counters");
}

int store_prune(store *st, int64_t cutoff_us, int64_t *n)
{
    sqlite3_stmt *q = store_stmt(st, Q_PRUNE);
    int rc;
    if (!q)
        return store_fail_sqlite(st, "preparing");
    sqlite3_bind_int64(q, 1, cutoff_us);
    if ((rc = step_done(st, q, "pruning old requests")))
        return rc;
    *n = sqlite3_changes(st->db);
    return 0;
}

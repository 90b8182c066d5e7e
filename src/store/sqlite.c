/* sqlite.c — the SQLite backend: open, pragmas, transactions and the
 * statement interface over sqlite3_stmt.
 *
 * WAL mode lets readers (the dashboard) run beside the writer, and with
 * synchronous=NORMAL a commit costs no fsync until checkpoint; a power
 * loss can lose the last commits but never corrupts the file.  Several
 * processes may write one file: each transaction takes the write lock up
 * front (BEGIN IMMEDIATE) and waits up to busy_timeout for it; the writer
 * thread retries past that with backoff. */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "evodash.h"
#include "core/sketch.h"
#include "store/store_int.h"

#define BUSY_TIMEOUT_MS 1000
/* How long opening a store may spend checking its pages (PRAGMA
 * quick_check).  A store of a few hundred MB is checked whole; a larger one
 * as far as this gets, once per file and process. */
#define CHECK_BUDGET_MS 300

typedef struct lite {
    sqlite3 *db;
    dev_t dev; /* the file opened: a path that no longer leads here means */
    ino_t ino; /* the store was deleted or replaced under us */
    int stale;
    sqlite3_stmt *ins_request, *ins_profile, *ids;
    sqlite3_stmt *bulk; /* bulk_open's insert */
    int bulk_cols;
} lite;

typedef struct lite_sq {
    sq base;
    sqlite3_stmt *s;
} lite_sq;

static const char SQL_REQUEST_INS[] =
    "INSERT INTO requests(endpoint_id, ts_us, duration_us, status, version_id, group_name, ip, "
    "instance_id, id) VALUES(?, ?, ?, ?, ?, ?, ?, ?, ?)";
static const char SQL_PROFILE_INS[] =
    "INSERT INTO profiler_samples(request_id, position, indent, function, file, line, "
    "duration_us, samples) VALUES(?, ?, ?, ?, ?, ?, ?, ?)";
static const char SQL_REQUEST_IDS[] = "UPDATE request_ids SET next = next + ?1 RETURNING next - ?1";

static sqlite3 *db_of(const store *st)
{
    return ((lite *)st->be)->db;
}

static int code_of(int sqlite_rc)
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

/* Record SQLite's current error with a context phrase; returns its code. */
static int fail_sqlite(store *st, const char *what)
{
    sqlite3 *db = db_of(st);
    int rc = sqlite3_errcode(db);
    const char *hint = "";
    if ((rc & 0xff) == SQLITE_NOTADB || (rc & 0xff) == SQLITE_CORRUPT)
        hint = " (the file is damaged or is not an evodash database)";
    else if ((rc & 0xff) == SQLITE_FULL)
        hint = " (no space left on the device, or the file size limit was reached)";
    else if ((rc & 0xff) == SQLITE_READONLY || (rc & 0xff) == SQLITE_CANTOPEN)
        hint = " (check that the file and its folder are writable)";
    int code = code_of(rc) ? code_of(rc) : EVD_EIO;
    store_fail(st, code, "%s: %s: %s%s", st->path ? st->path : "store", what ? what : "query",
               sqlite3_errmsg(db), hint);
    return code;
}

static int lite_run(store *st, const char *sql, const char *what)
{
    if (sqlite3_exec(db_of(st), sql, NULL, NULL, NULL) != SQLITE_OK)
        return fail_sqlite(st, what);
    return 0;
}

/* ---- checking the file before writing to it ------------------------------------ */

/* Files already checked by this process (and its forked children). */
static pthread_mutex_t checked_mu = PTHREAD_MUTEX_INITIALIZER;
static struct {
    dev_t dev;
    ino_t ino;
} checked[16];
static int nchecked;

static int was_checked(const struct stat *sb)
{
    int yes = 0;
    pthread_mutex_lock(&checked_mu);
    for (int i = 0; i < nchecked && !yes; i++)
        yes = checked[i].dev == sb->st_dev && checked[i].ino == sb->st_ino;
    pthread_mutex_unlock(&checked_mu);
    return yes;
}

static void note_checked(const struct stat *sb)
{
    pthread_mutex_lock(&checked_mu);
    checked[nchecked % 16].dev = sb->st_dev;
    checked[nchecked % 16].ino = sb->st_ino;
    nchecked++;
    pthread_mutex_unlock(&checked_mu);
}

static int past_deadline(void *u)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return now.tv_sec * 1000 + now.tv_nsec / 1000000 > *(long long *)u;
}

/* PRAGMA quick_check of the file at path, through an immutable read-only
 * connection: it neither writes the file nor creates -wal or -shm files
 * beside it, so a file we refuse is left exactly as it was.  0 when the
 * pages checked are sound (or time ran out), EVD_ECORRUPT with the
 * reason. */
static int check_file(store *st, const char *path)
{
    char uri[8192];
    size_t n = (size_t)snprintf(uri, sizeof uri, "file:");
    for (const char *p = path; *p && n + 4 < sizeof uri; p++) {
        if (*p == '%' || *p == '?' || *p == '#')
            n += (size_t)snprintf(uri + n, sizeof uri - n, "%%%02X", (unsigned char)*p);
        else
            uri[n++] = *p;
    }
    snprintf(uri + n, sizeof uri - n, "?immutable=1");
    sqlite3 *db = NULL;
    sqlite3_stmt *q = NULL;
    char why[300] = "";
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    long long deadline = t.tv_sec * 1000 + t.tv_nsec / 1000000 + CHECK_BUDGET_MS;
    int rc = sqlite3_open_v2(uri, &db, SQLITE_OPEN_READONLY | SQLITE_OPEN_URI, NULL);
    if (rc == SQLITE_OK) {
        sqlite3_progress_handler(db, 1000, past_deadline, &deadline);
        rc = sqlite3_prepare_v2(db, "PRAGMA quick_check(1)", -1, &q, NULL);
        if (rc == SQLITE_OK)
            rc = sqlite3_step(q);
        if (rc == SQLITE_ROW) {
            const char *r = (const char *)sqlite3_column_text(q, 0);
            if (r && strcmp(r, "ok"))
                snprintf(why, sizeof why, "%s", r);
            rc = SQLITE_OK;
        }
    }
    int code = rc & 0xff;
    if (!why[0] && code != SQLITE_OK && code != SQLITE_INTERRUPT)
        snprintf(why, sizeof why, "%s", db ? sqlite3_errmsg(db) : "cannot read it");
    sqlite3_finalize(q);
    sqlite3_close(db);
    if (why[0])
        return store_fail(st, EVD_ECORRUPT,
                          "%s: the file is damaged (%s); refusing to write to it: restore it "
                          "from a backup, or move it aside to start a new store",
                          path, why);
    return 0;
}

static int lite_open(store *st, const char *path)
{
    lite *l = calloc(1, sizeof *l);
    int rc;
    if (!(st->be = l))
        return store_fail(st, EVD_ENOMEM, "out of memory");
    int oflags = (st->flags & STORE_RDONLY) ? SQLITE_OPEN_READONLY
                                            : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE;
    struct stat sb;
    int exists = stat(path, &sb) == 0;
    /* Before any connection (even a read-only one makes -wal and -shm files
     * beside a store in WAL mode): a damaged file is refused untouched,
     * rather than served half and changed. */
    if (exists && sb.st_size > 0 && !was_checked(&sb)) {
        if ((rc = check_file(st, path)))
            return rc;
        note_checked(&sb);
    }
    if (sqlite3_open_v2(path, &l->db, oflags | SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK) {
        rc = fail_sqlite(st, "cannot open the database");
        if (access(path, F_OK) == 0)
            return rc;
        if (st->flags & STORE_RDONLY)
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
    sqlite3_extended_result_codes(l->db, 1);
    sqlite3_busy_timeout(l->db, BUSY_TIMEOUT_MS);
    if ((rc = store_register_functions(l->db)))
        return store_fail(st, rc, "%s: registering SQL functions failed", path);
    /* SQLite opens a file it may not write read-only without a word: the
     * writer would then fail every batch with the file never fixed by a
     * retry.  Say so now; the writer reopens until it can write. */
    if (!(st->flags & STORE_RDONLY) && sqlite3_db_readonly(l->db, "main") == 1)
        return store_fail(st, EVD_EIO,
                          "%s: the store is read-only (check the permissions of the file, its "
                          "-wal and -shm files and its folder)",
                          path);
    if (stat(path, &sb) == 0) {
        l->dev = sb.st_dev;
        l->ino = sb.st_ino;
    }
    return 0;
}

/* Does the path still lead to the file we have open?  A store deleted
 * (rm -rf of its folder) or replaced under a running service would
 * otherwise take batches that nobody can read. */
static int file_gone(store *st)
{
    lite *l = st->be;
    struct stat sb;
    return stat(st->path, &sb) != 0 || sb.st_dev != l->dev || sb.st_ino != l->ino;
}

static int lite_tune(store *st)
{
    int rc;
    if ((rc = lite_run(st, "PRAGMA journal_mode=WAL", "enabling WAL")) ||
        (rc = lite_run(st, "PRAGMA synchronous=NORMAL", "setting synchronous")) ||
        (rc = lite_run(st, "PRAGMA foreign_keys=OFF", "setting foreign_keys")))
        return rc;
    return 0;
}

static void lite_close(store *st)
{
    lite *l = st->be;
    if (!l)
        return;
    sqlite3_finalize(l->ins_request);
    sqlite3_finalize(l->ins_profile);
    sqlite3_finalize(l->ids);
    sqlite3_finalize(l->bulk);
    sqlite3_close(l->db);
    free(l);
    st->be = NULL;
}

static int lite_begin(store *st)
{
    return lite_run(st, "BEGIN IMMEDIATE", "starting a transaction");
}

static void lite_rollback(store *st)
{
    if (!sqlite3_get_autocommit(db_of(st)))
        sqlite3_exec(db_of(st), "ROLLBACK", NULL, NULL, NULL);
}

static int lite_commit(store *st)
{
    lite *l = st->be;
    if (file_gone(st)) {
        l->stale = 1;
        lite_rollback(st);
        return store_fail(st, EVD_EIO,
                          "%s: the store file was deleted or replaced; opening it "
                          "again",
                          st->path);
    }
    if (sqlite3_exec(l->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
        int rc = fail_sqlite(st, "committing");
        if ((sqlite3_errcode(l->db) & 0xff) == SQLITE_READONLY)
            l->stale = 1; /* a new connection may write once permission is back */
        lite_rollback(st);
        return rc;
    }
    return 0;
}

static int lite_stale(store *st)
{
    lite *l = st->be;
    return l && (l->stale || file_gone(st));
}

/* ---- statements ----------------------------------------------------------- */

static sq *lite_prepare(store *st, const sq_text *t, int flags)
{
    lite_sq *q = calloc(1, sizeof *q);
    if (!q) {
        store_fail(st, EVD_ENOMEM, "out of memory preparing a statement");
        return NULL;
    }
    q->base.st = st;
    q->base.text = t;
    q->base.flags = flags;
    if (sqlite3_prepare_v3(db_of(st), t->sqlite, -1, SQLITE_PREPARE_PERSISTENT, &q->s, NULL) !=
        SQLITE_OK) {
        fail_sqlite(st, t->what);
        sqlite3_finalize(q->s);
        free(q);
        return NULL;
    }
    return &q->base;
}

#define LQ(q) (((lite_sq *)(q))->s)

static void lite_free(sq *q)
{
    sqlite3_finalize(LQ(q));
    free(q);
}

static void lite_reset(sq *q)
{
    sqlite3_reset(LQ(q));
    sqlite3_clear_bindings(LQ(q));
}

static void lite_bind_i64(sq *q, int i, int64_t v)
{
    sqlite3_bind_int64(LQ(q), i, v);
}

static void lite_bind_f64(sq *q, int i, double v)
{
    sqlite3_bind_double(LQ(q), i, v);
}

static void lite_bind_text(sq *q, int i, const char *s, int copy)
{
    sqlite3_bind_text(LQ(q), i, s, -1, copy ? SQLITE_TRANSIENT : SQLITE_STATIC);
}

static void lite_bind_blob(sq *q, int i, const void *p, size_t n)
{
    sqlite3_bind_blob(LQ(q), i, p, (int)n, SQLITE_STATIC);
}

static void lite_bind_null(sq *q, int i)
{
    sqlite3_bind_null(LQ(q), i);
}

static int lite_step(sq *q)
{
    int rc = sqlite3_step(LQ(q));
    if (rc == SQLITE_ROW)
        return SQ_ROW;
    if (rc == SQLITE_DONE)
        return SQ_DONE;
    rc = fail_sqlite(q->st, q->text->what);
    sqlite3_reset(LQ(q));
    return rc;
}

static int lite_is_null(sq *q, int col)
{
    return sqlite3_column_type(LQ(q), col) == SQLITE_NULL;
}

static int64_t lite_i64(sq *q, int col)
{
    return sqlite3_column_int64(LQ(q), col);
}

static double lite_f64(sq *q, int col)
{
    return sqlite3_column_double(LQ(q), col);
}

static const char *lite_str(sq *q, int col)
{
    return (const char *)sqlite3_column_text(LQ(q), col);
}

static const void *lite_blob(sq *q, int col, size_t *len)
{
    const void *p = sqlite3_column_blob(LQ(q), col);
    *len = (size_t)sqlite3_column_bytes(LQ(q), col);
    return p;
}

static int lite_sketch_agg(sq *q, int col, sketch *s)
{
    size_t n;
    const void *p = lite_blob(q, col, &n);
    if (!p || !n)
        return 0;
    return sketch_merge_encoded(s, p, n) ? EVD_ECORRUPT : 0;
}

static int64_t lite_changes(sq *q)
{
    return sqlite3_changes(db_of(q->st));
}

/* ---- writer helpers ---------------------------------------------------------- */

static sqlite3_stmt *own_stmt(store *st, sqlite3_stmt **slot, const char *sql)
{
    if (!*slot &&
        sqlite3_prepare_v3(db_of(st), sql, -1, SQLITE_PREPARE_PERSISTENT, slot, NULL) != SQLITE_OK)
        return NULL;
    sqlite3_reset(*slot);
    return *slot;
}

static int step_done(store *st, sqlite3_stmt *s, const char *what)
{
    int rc = sqlite3_step(s);
    if (rc != SQLITE_DONE && rc != SQLITE_ROW) {
        rc = fail_sqlite(st, what);
        sqlite3_reset(s);
        return rc;
    }
    sqlite3_reset(s);
    return 0;
}

static void bind_opt(sqlite3_stmt *s, int i, const char *v)
{
    if (v && *v)
        sqlite3_bind_text(s, i, v, -1, SQLITE_STATIC);
    else
        sqlite3_bind_null(s, i);
}

static int lite_reserve_ids(store *st, int64_t *first)
{
    lite *l = st->be;
    sqlite3_stmt *s = own_stmt(st, &l->ids, SQL_REQUEST_IDS);
    if (!s)
        return fail_sqlite(st, "preparing the id reservation");
    sqlite3_bind_int64(s, 1, STORE_ID_BLOCK);
    int rc = sqlite3_step(s);
    if (rc != SQLITE_ROW) {
        rc = rc == SQLITE_DONE
                 ? store_fail(st, EVD_ECORRUPT, "%s: request_ids has no row", st->path)
                 : fail_sqlite(st, "reserving request ids");
        sqlite3_reset(s);
        return rc;
    }
    *first = sqlite3_column_int64(s, 0);
    sqlite3_reset(s);
    return 0;
}

static int lite_put_request(store *st, const store_request *r, int64_t id)
{
    lite *l = st->be;
    sqlite3_stmt *s = own_stmt(st, &l->ins_request, SQL_REQUEST_INS);
    if (!s)
        return fail_sqlite(st, "preparing the request insert");
    sqlite3_bind_int64(s, 1, r->endpoint_id);
    sqlite3_bind_int64(s, 2, r->ts_us);
    sqlite3_bind_int64(s, 3, r->duration_us);
    sqlite3_bind_int(s, 4, r->status);
    sqlite3_bind_int64(s, 5, r->version_id);
    bind_opt(s, 6, r->group);
    bind_opt(s, 7, r->ip);
    sqlite3_bind_int64(s, 8, r->instance_id);
    sqlite3_bind_int64(s, 9, id);
    return step_done(st, s, "inserting a request");
}

static int lite_put_profile_line(store *st, const store_profile_line *p)
{
    lite *l = st->be;
    sqlite3_stmt *s = own_stmt(st, &l->ins_profile, SQL_PROFILE_INS);
    if (!s)
        return fail_sqlite(st, "preparing the profiler insert");
    sqlite3_bind_int64(s, 1, p->request_id);
    sqlite3_bind_int(s, 2, p->position);
    sqlite3_bind_int(s, 3, p->indent);
    sqlite3_bind_text(s, 4, p->function ? p->function : "?", -1, SQLITE_STATIC);
    bind_opt(s, 5, p->file);
    sqlite3_bind_int(s, 6, p->line);
    sqlite3_bind_int64(s, 7, p->duration_us);
    sqlite3_bind_int(s, 8, p->samples);
    return step_done(st, s, "inserting a profiler sample");
}

static int count_master(store *st, const char *sql, const char *name, int *n)
{
    sqlite3_stmt *s = NULL;
    int rc = sqlite3_prepare_v2(db_of(st), sql, -1, &s, NULL);
    if (rc == SQLITE_OK) {
        if (name)
            sqlite3_bind_text(s, 1, name, -1, SQLITE_STATIC);
        rc = sqlite3_step(s);
    }
    if (rc != SQLITE_ROW) {
        rc = fail_sqlite(st, "reading the schema");
        sqlite3_finalize(s);
        return rc;
    }
    *n = sqlite3_column_int(s, 0);
    sqlite3_finalize(s);
    return 0;
}

static int lite_has_table(store *st, const char *name, int *n)
{
    return count_master(st, "SELECT count(*) FROM sqlite_master WHERE type='table' AND name=?",
                        name, n);
}

static int lite_count_tables(store *st, int *n)
{
    return count_master(st, "SELECT count(*) FROM sqlite_master WHERE type='table'", NULL, n);
}

/* ---- copying whole tables ------------------------------------------------------ */

static int lite_ncols(sq *q)
{
    return sqlite3_column_count(LQ(q));
}

static const char *lite_colname(sq *q, int col)
{
    return sqlite3_column_name(LQ(q), col);
}

static int lite_colkind(sq *q, int col)
{
    switch (sqlite3_column_type(LQ(q), col)) {
    case SQLITE_INTEGER:
        return SQ_K_INT;
    case SQLITE_FLOAT:
        return SQ_K_REAL;
    case SQLITE_TEXT:
        return SQ_K_TEXT;
    case SQLITE_BLOB:
        return SQ_K_BLOB;
    default:
        return SQ_K_NULL;
    }
}

static int lite_bulk_open(store *st, const char *table, const char *const *cols, int ncols)
{
    lite *l = st->be;
    size_t cap = 64 + strlen(table);
    for (int i = 0; i < ncols; i++)
        cap += strlen(cols[i]) + 8;
    char *sql = malloc(cap);
    if (!sql)
        return store_fail(st, EVD_ENOMEM, "out of memory");
    size_t n = (size_t)snprintf(sql, cap, "INSERT INTO %s(", table);
    for (int i = 0; i < ncols; i++)
        n += (size_t)snprintf(sql + n, cap - n, "%s%s", i ? ", " : "", cols[i]);
    n += (size_t)snprintf(sql + n, cap - n, ") VALUES(");
    for (int i = 0; i < ncols; i++)
        n += (size_t)snprintf(sql + n, cap - n, "%s?", i ? ", " : "");
    snprintf(sql + n, cap - n, ")");
    sqlite3_finalize(l->bulk);
    l->bulk = NULL;
    int rc = sqlite3_prepare_v2(l->db, sql, -1, &l->bulk, NULL);
    free(sql);
    if (rc != SQLITE_OK)
        return fail_sqlite(st, "preparing a copy");
    l->bulk_cols = ncols;
    return 0;
}

static int lite_bulk_row(store *st, const sq_val *v)
{
    lite *l = st->be;
    for (int i = 0; i < l->bulk_cols; i++) {
        switch (v[i].kind) {
        case SQ_K_INT:
            sqlite3_bind_int64(l->bulk, i + 1, v[i].i);
            break;
        case SQ_K_REAL:
            sqlite3_bind_double(l->bulk, i + 1, v[i].f);
            break;
        case SQ_K_TEXT:
            sqlite3_bind_text(l->bulk, i + 1, v[i].p, (int)v[i].n, SQLITE_STATIC);
            break;
        case SQ_K_BLOB:
            sqlite3_bind_blob(l->bulk, i + 1, v[i].p, (int)v[i].n, SQLITE_STATIC);
            break;
        default:
            sqlite3_bind_null(l->bulk, i + 1);
        }
    }
    return step_done(st, l->bulk, "copying a row");
}

static int lite_bulk_close(store *st)
{
    lite *l = st->be;
    sqlite3_finalize(l->bulk);
    l->bulk = NULL;
    return 0;
}

const store_ops store_sqlite_ops = {
    .name = "SQLite",
    .dialect = DIALECT_SQLITE,
    .open = lite_open,
    .close = lite_close,
    .tune = lite_tune,
    .run = lite_run,
    .begin = lite_begin,
    .commit = lite_commit,
    .rollback = lite_rollback,
    .prepare = lite_prepare,
    .free = lite_free,
    .reset = lite_reset,
    .bind_i64 = lite_bind_i64,
    .bind_f64 = lite_bind_f64,
    .bind_text = lite_bind_text,
    .bind_blob = lite_bind_blob,
    .bind_null = lite_bind_null,
    .step = lite_step,
    .is_null = lite_is_null,
    .i64 = lite_i64,
    .f64 = lite_f64,
    .str = lite_str,
    .blob = lite_blob,
    .sketch_agg = lite_sketch_agg,
    .changes = lite_changes,
    .reserve_ids = lite_reserve_ids,
    .put_request = lite_put_request,
    .put_profile_line = lite_put_profile_line,
    .has_table = lite_has_table,
    .count_tables = lite_count_tables,
    .ncols = lite_ncols,
    .colname = lite_colname,
    .colkind = lite_colkind,
    .bulk_open = lite_bulk_open,
    .bulk_row = lite_bulk_row,
    .bulk_close = lite_bulk_close,
    .stale = lite_stale,
};

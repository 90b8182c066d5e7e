/* copy.c — a whole store into another, either backend to either (`evodash
 * migrate`).
 *
 * Every table of the source's schema is copied row for row, ids kept, in
 * transactions of COPY_TXN_ROWS rows so that a copy of millions never holds
 * one huge transaction; the source is read through streaming cursors.  The
 * tables are found in the source's catalogue rather than listed here, so a
 * table added by a later migration is copied without a change to this file
 * (both stores have the same schema version: the target is migrated to it
 * when opened).  Afterwards the target's id generators are moved past the
 * copied ids. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "evodash.h"
#include "store/copy.h"
#include "store/read_int.h"
#include "store/sq.h"
#include "store/store_int.h"

#define COPY_TXN_ROWS   20000
#define COPY_MAX_COLS   64
#define COPY_MAX_TABLES 64

static const sq_text SQL_TABLES =
    SQ2("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY "
        "name",
        "SELECT tablename FROM pg_tables WHERE schemaname = current_schema() ORDER BY tablename",
        "listing tables");

/* The store's bookkeeping, not data: made by the target's own migration. */
static int skipped(const char *t)
{
    return !strcmp(t, "schema_version") || !strcmp(t, "request_ids");
}

typedef struct tables {
    char *name[COPY_MAX_TABLES];
    int n;
} tables;

static int table_row(sq *q, void *ctx)
{
    tables *t = ctx;
    const char *name = sq_str(q, 0);
    if (!name || skipped(name))
        return 0;
    if (t->n == COPY_MAX_TABLES)
        return store_fail(q->st, EVD_EINVAL, "more than %d tables", COPY_MAX_TABLES);
    if (!(t->name[t->n] = strdup(name)))
        return store_fail(q->st, EVD_ENOMEM, "out of memory");
    t->n++;
    return 0;
}

static void tables_free(tables *t)
{
    for (int i = 0; i < t->n; i++)
        free(t->name[i]);
    t->n = 0;
}

/* Table names come from the catalogue; still, only plain identifiers are
 * spliced into SQL text. */
static int plain_name(const char *s)
{
    if (!*s)
        return 0;
    for (; *s; s++)
        if (!(*s == '_' || (*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9')))
            return 0;
    return 1;
}

static int count_rows(store *st, const char *table, int64_t *n)
{
    char sql[128];
    snprintf(sql, sizeof sql, "SELECT count(*) FROM %s", table);
    return store_query_int(st, sql, n);
}

int store_is_empty(store *st, int64_t *rows, char *first, size_t cap)
{
    tables t = {0};
    int rc = read_walk(sq_prepare(st, &SQL_TABLES, 0), table_row, &t);
    *rows = 0;
    if (first && cap)
        first[0] = 0;
    for (int i = 0; !rc && i < t.n; i++) {
        int64_t n = 0;
        if (!plain_name(t.name[i]))
            continue;
        if (!(rc = count_rows(st, t.name[i], &n)) && n && first && !first[0])
            snprintf(first, cap, "%s", t.name[i]);
        *rows += n;
    }
    tables_free(&t);
    return rc;
}

/* Copy one table; progress after every transaction. */
static int copy_table(store *src, store *dst, const char *table, int64_t total,
                      store_copy_progress cb, void *u)
{
    char sql[128];
    snprintf(sql, sizeof sql, "SELECT * FROM %s", table);
    sq_text t = {sql, NULL, "reading a table to copy"};
    sq *q = sq_prepare(src, &t, SQ_STREAM);
    if (!q)
        return EVD_EIO;
    sq_val v[COPY_MAX_COLS];
    const char *cols[COPY_MAX_COLS];
    int ncols = 0, rc, open = 0;
    int64_t done = 0, in_txn = 0;
    while ((rc = sq_step(q)) == SQ_ROW) {
        if (!open) {
            ncols = src->ops->ncols(q);
            if (ncols > COPY_MAX_COLS) {
                rc = store_fail(dst, EVD_EINVAL, "%s: more than %d columns", table, COPY_MAX_COLS);
                break;
            }
            for (int i = 0; i < ncols; i++)
                cols[i] = src->ops->colname(q, i);
            if ((rc = store_begin(dst)) || (rc = dst->ops->bulk_open(dst, table, cols, ncols)))
                break;
            open = 1;
        }
        for (int i = 0; i < ncols; i++) {
            v[i] = (sq_val){.kind = src->ops->colkind(q, i)};
            if (v[i].kind == SQ_K_INT)
                v[i].i = sq_i64(q, i);
            else if (v[i].kind == SQ_K_REAL)
                v[i].f = sq_f64(q, i);
            else if (v[i].kind == SQ_K_TEXT) {
                v[i].p = sq_str(q, i);
                v[i].n = v[i].p ? strlen(v[i].p) : 0;
            } else if (v[i].kind == SQ_K_BLOB)
                v[i].p = sq_blob(q, i, &v[i].n);
        }
        if ((rc = dst->ops->bulk_row(dst, v)))
            break;
        done++;
        if (++in_txn == COPY_TXN_ROWS) {
            in_txn = 0;
            if ((rc = dst->ops->bulk_close(dst)) || (rc = store_commit(dst)) ||
                (rc = store_begin(dst)) || (rc = dst->ops->bulk_open(dst, table, cols, ncols)))
                break;
            if (cb)
                cb(u, table, done, total);
        }
    }
    if (rc < 0) {
        /* a failed copy leaves no half transaction behind */
        if (open)
            store_rollback(dst);
        sq_free(q);
        return rc;
    }
    if (open && ((rc = dst->ops->bulk_close(dst)) || (rc = store_commit(dst)))) {
        sq_free(q);
        return rc;
    }
    sq_free(q);
    if (cb)
        cb(u, table, done, total);
    int64_t got;
    if ((rc = count_rows(dst, table, &got)))
        return rc;
    if (got != total)
        return store_fail(dst, EVD_EIO, "%s: copied %lld rows of %lld", table, (long long)got,
                          (long long)total);
    return 0;
}

/* Move the target's id generators past the copied ids. */
static const sq_text SQL_IDS_LITE =
    SQ("UPDATE request_ids SET next = (SELECT coalesce(max(id), 0) + 1 FROM requests)",
       "moving the request ids on");
static const sq_text SQL_IDS_PG =
    SQ("SELECT setval('request_ids_seq', (SELECT coalesce(max(id), 0) + 1 FROM requests), false)",
       "moving the request ids on");

static const sq_text SQL_IDENTITY =
    SQ("SELECT table_name FROM information_schema.columns WHERE table_schema = current_schema() "
       "AND column_name = 'id' AND is_identity = 'YES' ORDER BY table_name",
       "listing identity columns");

static int fix_ids(store *dst)
{
    int rc;
    sq *q = sq_prepare(dst, store_dialect(dst) == DIALECT_PG ? &SQL_IDS_PG : &SQL_IDS_LITE, 0);
    if (!q)
        return EVD_EIO;
    rc = sq_exec(q);
    sq_free(q);
    if (rc || store_dialect(dst) != DIALECT_PG)
        return rc; /* SQLite's rowids continue from the largest by themselves */
    tables t = {0};
    if ((rc = read_walk(sq_prepare(dst, &SQL_IDENTITY, 0), table_row, &t)))
        return rc;
    for (int i = 0; !rc && i < t.n; i++) {
        char sql[300];
        int64_t ignored;
        if (!plain_name(t.name[i]))
            continue;
        snprintf(sql, sizeof sql,
                 "SELECT setval(pg_get_serial_sequence('%s', 'id'), (SELECT coalesce(max(id), 0) "
                 "+ 1 FROM %s), false)",
                 t.name[i], t.name[i]);
        rc = store_query_int(dst, sql, &ignored);
    }
    tables_free(&t);
    return rc;
}

int store_copy(store *src, store *dst, int replace, store_copy_progress cb, void *u)
{
    tables t = {0};
    int64_t rows;
    char first[64];
    src->err[0] = dst->err[0] = 0;
    int rc = read_walk(sq_prepare(src, &SQL_TABLES, 0), table_row, &t);
    if (rc)
        goto done;
    for (int i = 0; i < t.n; i++)
        if (!plain_name(t.name[i])) {
            rc = store_fail(src, EVD_EINVAL, "table '%.60s': not a plain name", t.name[i]);
            goto done;
        }
    if ((rc = store_is_empty(dst, &rows, first, sizeof first)))
        goto done;
    if (rows && !replace) {
        rc = store_fail(dst, EVD_EINVAL,
                        "%s: the target holds data (%lld rows, e.g. in %s); give --force to "
                        "replace it",
                        dst->path, (long long)rows, first);
        goto done;
    }
    if (rows) {
        if ((rc = store_begin(dst)))
            goto done;
        for (int i = 0; !rc && i < t.n; i++) {
            char sql[128];
            int64_t ignored;
            snprintf(sql, sizeof sql, "DELETE FROM %s", t.name[i]);
            rc = store_query_int(dst, sql, &ignored);
        }
        if (rc) {
            store_rollback(dst);
            goto done;
        }
        if ((rc = store_commit(dst)))
            goto done;
    }
    for (int i = 0; !rc && i < t.n; i++) {
        int64_t total;
        if (!(rc = count_rows(src, t.name[i], &total)))
            rc = copy_table(src, dst, t.name[i], total, cb, u);
    }
    if (!rc)
        rc = fix_ids(dst);
done:
    /* one message for the caller, on dst, whichever side failed */
    if (rc && !dst->err[0])
        snprintf(dst->err, sizeof dst->err, "%s", src->err[0] ? src->err : "copy failed");
    tables_free(&t);
    return rc;
}

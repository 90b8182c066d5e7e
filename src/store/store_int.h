/* store_int.h — the store handle and the backend interface, shared by the
 * store's own files only.
 *
 * DESIGN — the store is one handle over one of two backends, SQLite (a
 * file, the default) or PostgreSQL (a server shared by many hosts).  Every
 * query is written once against the statement interface of sq.h; the
 * backend behind st->ops prepares, binds and steps it in its own dialect.
 * What the two cannot share goes through the ops as well: transactions,
 * the reservation of request ids, and the bulk insert of requests (prepared
 * inserts in SQLite, COPY in PostgreSQL). */
#ifndef EVD_STORE_INT_H
#define EVD_STORE_INT_H

#include <stddef.h>
#include <stdint.h>

#include "store/sq.h"
#include "store/store.h"

struct sqlite3;
struct sketch;

/* Request ids reserved per round trip. */
#define STORE_ID_BLOCK 1024

/* Statements the store keeps prepared for its life (write side). */
enum {
    Q_INSTANCE_INS,
    Q_VERSION_UPSERT,
    Q_VERSION_ID,
    Q_SERVICE_GET,
    Q_SERVICE_INS,
    Q_ENDPOINT_INS,
    Q_ENDPOINT_GET,
    Q_ENDPOINT_UPD_META,
    Q_ENDPOINT_SET_LEVEL,
    Q_ENDPOINT_LEVELS,
    Q_ENDPOINT_TOUCH,
    Q_PROFILED_INS,
    Q_OUTLIER_INS,
    Q_PROFILE_INS,
    Q_ROLLUP_GET,
    Q_ROLLUP_PUT,
    Q_INSTANCE_COUNTERS,
    Q__COUNT
};

struct sq {
    store *st;
    const sq_text *text;
    int flags;
    int cached; /* its index in st->q, or -1 */
};

/* One value of a row being copied. */
enum { SQ_K_NULL, SQ_K_INT, SQ_K_REAL, SQ_K_TEXT, SQ_K_BLOB };
typedef struct sq_val {
    int kind;
    int64_t i;
    double f;
    const void *p; /* text (NUL-terminated) or blob */
    size_t n;
} sq_val;

typedef struct store_ops {
    const char *name; /* "SQLite", "PostgreSQL" */
    int dialect;
    /* target: a file path, or a libpq connection string */
    int (*open)(store *st, const char *target);
    void (*close)(store *st);
    /* settings of a writable store, once its schema version is known */
    int (*tune)(store *st);
    int (*run)(store *st, const char *sql, const char *what);
    int (*begin)(store *st);
    int (*commit)(store *st);
    void (*rollback)(store *st);
    sq *(*prepare)(store *st, const sq_text *t, int flags);
    void (*free)(sq *q);
    void (*reset)(sq *q);
    void (*bind_i64)(sq *q, int i, int64_t v);
    void (*bind_f64)(sq *q, int i, double v);
    void (*bind_text)(sq *q, int i, const char *s, int copy);
    void (*bind_blob)(sq *q, int i, const void *p, size_t n);
    void (*bind_null)(sq *q, int i);
    int (*step)(sq *q);
    /* start a statement without waiting (sq_send); NULL: not supported */
    int (*send)(sq *q);
    int (*is_null)(sq *q, int col);
    int64_t (*i64)(sq *q, int col);
    double (*f64)(sq *q, int col);
    const char *(*str)(sq *q, int col);
    const void *(*blob)(sq *q, int col, size_t *len);
    int (*sketch_agg)(sq *q, int col, struct sketch *s);
    int64_t (*changes)(sq *q);
    /* the first of STORE_ID_BLOCK fresh request ids, inside the caller's
     * transaction */
    int (*reserve_ids)(store *st, int64_t *first);
    /* one request row with its id; may be buffered until commit */
    int (*put_request)(store *st, const store_request *r, int64_t id);
    /* one profiler line; may be buffered until commit */
    int (*put_profile_line)(store *st, const store_profile_line *p);
    /* does a table of this name exist?  Sets *n to 0 or 1 */
    int (*has_table)(store *st, const char *name, int *n);
    /* how many tables the database holds */
    int (*count_tables)(store *st, int *n);
    /* the result's columns, for copying a table whole (copy.c) */
    int (*ncols)(sq *q);
    const char *(*colname)(sq *q, int col);
    int (*colkind)(sq *q, int col); /* SQ_K_* of the current row's value */
    /* rows into one table in bulk: open, a row at a time, close (which
     * sends what is buffered); inside the caller's transaction */
    int (*bulk_open)(store *st, const char *table, const char *const *cols, int ncols);
    int (*bulk_row)(store *st, const sq_val *v);
    int (*bulk_close)(store *st);
    /* the handle no longer reaches the store (its file was deleted,
     * replaced or is read-only): close it and open the store again */
    int (*stale)(store *st);
} store_ops;

enum { DIALECT_SQLITE = 0, DIALECT_PG = 1 };

struct store {
    const store_ops *ops;
    void *be;   /* the backend's connection state */
    char *path; /* what messages name: a file, or a URL without its password */
    int flags;
    int in_txn;
    int64_t id_next, id_end; /* reserved request ids [next, end) */
    sq *q[Q__COUNT];
    struct sketch *scratch; /* rollup merging; allocated on first use */
    uint8_t *scratch_buf;   /* SKETCH_ENCODED_MAX bytes */
    uint8_t *acc_buf;       /* an accumulator's encoding; SKETCH_ENCODED_MAX */
    char err[512];
};

extern const store_ops store_sqlite_ops;
extern const store_ops store_pg_ops;

/* Record a message; returns rc. */
int store_fail(store *st, int rc, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* The SQL of t in the store's dialect. */
const char *store_sql_of(const store *st, const sq_text *t);
int store_dialect(const store *st);

/* Run sql, which returns one integer, into *out (0 when it returns no row
 * or NULL): for the unit tests, which check what a store holds on either
 * backend.  0 or a negative code. */
int store_query_int(store *st, const char *sql, int64_t *out);

/* SQL functions over encoded sketches, registered on every SQLite
 * connection (sqlfuncs.c; the unit tests register them too). */
int store_register_functions(struct sqlite3 *db);

#endif

/* sq.h — one statement interface over both store backends, for the store's
 * own files only (nothing outside src/store sees a statement).
 *
 * A query is an sq_text: its SQL for SQLite and, where the dialects differ,
 * for PostgreSQL.  Both are written with ?N placeholders; the PostgreSQL
 * backend renders them as $N.  Text shared by both dialects uses SQ(sql).
 *
 * Every function that can fail returns 0 (or SQ_ROW/SQ_DONE) or a negative
 * EVD_E* code and leaves the message on the store handle (store_errmsg). */
#ifndef EVD_STORE_SQ_H
#define EVD_STORE_SQ_H

#include <stddef.h>
#include <stdint.h>

typedef struct store store;
typedef struct sq sq;
struct sketch;

typedef struct sq_text {
    const char *sqlite;
    const char *pg;   /* NULL: the same as sqlite */
    const char *what; /* for messages: "reading endpoints" */
} sq_text;

#define SQ(sql, what)                                                                              \
    {                                                                                              \
        sql, NULL, what                                                                            \
    }
#define SQ2(lite, pgsql, what)                                                                     \
    {                                                                                              \
        lite, pgsql, what                                                                          \
    }

/* The dialect-specific spelling of an aggregate over encoded sketches: one
 * merged sketch in SQLite (a C function of ours), the length-prefixed
 * concatenation of every row's sketch in PostgreSQL (which cannot run our
 * code).  Read either with sq_sketch_agg(). */
#define SQ_SKETCH_AGG_LITE(col) "sketch_merge(" col ")"
#define SQ_SKETCH_AGG_PG(col)   "string_agg(int4send(length(" col ")) || " col ", ''::bytea)"
/* A list of ids bound with sq_bind_ids(): NULL (no filter) or the ids. */
#define SQ_IN_IDS_LITE(col, p) "(" p " IS NULL OR " col " IN (SELECT value FROM json_each(" p ")))"
#define SQ_IN_IDS_PG(col, p)   "(" p "::text IS NULL OR " col " = ANY(CAST(" p " AS bigint[])))"

enum { SQ_DONE = 0, SQ_ROW = 1 };

/* A statement flag: stream the rows (a cursor in PostgreSQL) instead of
 * reading the whole result at once.  For scans that may return millions. */
#define SQ_STREAM 0x1
/* A statement flag: run on the store's second read connection, where the
 * backend has one (PostgreSQL; SQLite ignores it), so that two statements
 * sent with sq_send() run on the server at once. */
#define SQ_LANE2 0x2
/* A statement flag for a long read whose columns are integers (read with
 * sq_i64) and texts (sq_str), nothing else: PostgreSQL sends its rows with
 * COPY ... TO STDOUT in the binary format, which libpq hands over a row at
 * a time without building a result of them (SQLite ignores it).  With
 * SQ_STREAM or without, its rows arrive streamed; sent with sq_send(),
 * they are taken whole. */
#define SQ_COPY 0x4

/* Prepare t for one use; release with sq_free().  NULL on failure (the
 * message is on st). */
sq *sq_prepare(store *st, const sq_text *t, int flags);
/* The store's cached statement number id (store_int.h), reset and with its
 * bindings cleared; do not free it.  NULL on failure. */
sq *sq_cached(store *st, int id);
void sq_free(sq *q); /* accepts NULL; a cached statement is only reset */
void sq_reset(sq *q);

/* Bind parameter i (1-based).  Text and blobs are borrowed until the
 * statement is stepped to its end or reset. */
void sq_bind_i64(sq *q, int i, int64_t v);
void sq_bind_f64(sq *q, int i, double v);
void sq_bind_text(sq *q, int i, const char *s); /* NULL or "" binds NULL */
void sq_bind_str(sq *q, int i, const char *s);  /* NULL binds NULL, "" stays "" */
void sq_bind_blob(sq *q, int i, const void *p, size_t n);
void sq_bind_null(sq *q, int i);
/* A list of ids for SQ_IN_IDS_*: n == 0 binds NULL (no filter). */
void sq_bind_ids(sq *q, int i, const int64_t *ids, size_t n);

/* Run or advance: SQ_ROW with a row to read, SQ_DONE at the end, or a
 * negative EVD_E* code (message on the store, naming t->what). */
int sq_step(sq *q);
/* Start q on the server without waiting for its rows, which the first
 * sq_step() then takes (whole).  A no-op where the backend runs statements
 * in process (SQLite) or inside a transaction.  0 or a negative code. */
int sq_send(sq *q);
/* How many statements can run on the server at once for this handle: 2 on
 * PostgreSQL outside a transaction (its second connection, SQ_LANE2), else
 * 1. */
int sq_lanes(const store *st);
/* Step a statement that returns no row (or whose rows are ignored) to its
 * end, then reset it.  0 or a negative code. */
int sq_exec(sq *q);

/* Columns of the current row (0-based).  Strings and blobs are borrowed
 * until the next step. */
int sq_is_null(sq *q, int col);
int64_t sq_i64(sq *q, int col); /* NULL reads 0 */
double sq_f64(sq *q, int col);
const char *sq_str(sq *q, int col); /* NULL for NULL */
const void *sq_blob(sq *q, int col, size_t *len);
/* Merge an SQ_SKETCH_AGG_* column into s.  0 or EVD_ECORRUPT. */
int sq_sketch_agg(sq *q, int col, struct sketch *s);
/* Rows changed by the last completed write. */
int64_t sq_changes(sq *q);

/* Run one statement with no parameters and no rows (DDL, pragmas). */
int sq_run(store *st, const char *sql, const char *what);

#endif

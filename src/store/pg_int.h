/* pg_int.h — what the PostgreSQL backend's two files share: the
 * connection's state (postgres.c: connection, transactions, COPY ingest,
 * schema, whole-table copies) and a statement's (pg_stmt.c: prepared
 * statements, parameters, results and their columns). */
#ifndef EVD_STORE_PG_INT_H
#define EVD_STORE_PG_INT_H

#include <libpq-fe.h>
#include <pthread.h>

#include "core/sketch.h"

#include "store/store_int.h"

/* Type OIDs (pg_type.h is a server header; these values are fixed). */
#define OID_BOOL    16
#define OID_BYTEA   17
#define OID_INT8    20
#define OID_INT2    21
#define OID_INT4    23
#define OID_TEXT    25
#define OID_OID     26
#define OID_FLOAT4  700
#define OID_FLOAT8  701
#define OID_NUMERIC 1700

typedef struct buf {
    char *p;
    size_t len, cap;
} buf;

typedef struct marker {
    int set;
    int64_t endpoint_id, ts_us, id;
} marker;

typedef struct pg {
    PGconn *conn;
    PGconn *conn2;           /* the second read connection (SQ_LANE2), opened on first use */
    char *conninfo;          /* as given: reconnecting needs the password */
    unsigned gen;            /* bumped on every (re)connect: prepared names are per connection */
    struct pg_sq *streaming; /* the statement whose rows are arriving */
    struct pg_sq *sent_main; /* the statement whose sent result is on its way on conn */
    buf req, prof;           /* COPY rows waiting for the commit */
    size_t nreq, nprof;
    marker first;    /* the current transaction's first request row */
    marker pending;  /* a commit whose outcome is unknown */
    int insert_mode; /* EVODASH_PG_INGEST=insert: multi-row INSERT instead of COPY */
    buf bulk;        /* bulk_open's COPY rows */
    char *bulk_sql;
    int bulk_cols;
} pg;

typedef struct pg_sq {
    sq base;
    char *sql; /* rendered with $N */
    char name[24];
    unsigned gen; /* connection generation it was prepared on; 0 never */
    int nparams;
    Oid *types;
    int *isset, *lens, *fmts;
    size_t *offs; /* parameter values, at these offsets in arena */
    buf arena;
    const char **vals;
    PGresult *res;
    int row, nrows, stream, done;
    PGconn *sent; /* sq_send()'s connection, until its result is taken */
    pthread_t rx; /* receiving sent's result meanwhile, when rx_on (pg_stmt.c) */
    int rx_on;
    PGresult *rx_res;
    /* SQ_COPY: the current row's fields (value, length; NULL and -1 for a
     * NULL), in crow (a streamed row, libpq's) or in cbuf (a sent COPY's
     * rows, each a 4-byte length, the row and a spare byte), at cpos */
    int copy, cheader, cbad, nf;
    char *fv[32];
    int fl[32];
    char *crow;
    buf cbuf;
    size_t cpos;
    int64_t changes;
    int reads_buffered; /* names a table whose rows we buffer (COPY) */
    Oid coltype[32];    /* the result's column types, read once per execution */
    int ncoltype;
    char num[32]; /* str() of a non-text column */
} pg_sq;

/* postgres.c */
int pg_buf_put(buf *b, const void *p, size_t n);
int pg_put_text(buf *b, const char *s, int copy);
int pg_fail(store *st, const PGresult *r, const char *what);
int pg_fail_on(store *st, PGconn *c, const PGresult *r, const char *what);
int pg_ensure_conn(store *st);
PGconn *pg_lane(store *st, int lane2, int fresh, int *rc);
/* Take and drop every result still coming on c. */
void pg_drain(PGconn *c);
int pg_flush_copies(store *st);
int pg_lost_idle(store *st, int rc);
PGconn *pg_conn_of(const store *st);

/* pg_stmt.c: the statement layer's operations */
sq *pg_prepare(store *st, const sq_text *t, int flags);
void pg_free(sq *b);
void pg_reset(sq *b);
void pg_bind_i64(sq *b, int i, int64_t v);
void pg_bind_f64(sq *b, int i, double v);
void pg_bind_text(sq *b, int i, const char *s, int copy);
void pg_bind_blob(sq *b, int i, const void *p, size_t n);
void pg_bind_null(sq *b, int i);
int pg_step(sq *b);
int pg_send(sq *b);
int pg_is_null(sq *b, int col);
int64_t pg_i64(sq *b, int col);
double pg_f64(sq *b, int col);
const char *pg_str(sq *b, int col);
const void *pg_blob(sq *b, int col, size_t *n);
int pg_sketch_agg(sq *b, int col, sketch *s);
int64_t pg_changes(sq *b);
int pg_ncols(sq *b);
const char *pg_colname(sq *b, int col);
int pg_colkind(sq *b, int col);
/* End a streamed read: cancel it if rows are still coming, free the
 * connection. */
void pg_end_stream(pg_sq *q);

/* pg_copy.c: COPY reads */
int64_t pg_be_int(const char *v, int len);
int pg_copy_send(pg_sq *q, PGconn *c);
PGresult *pg_copy_receive(pg_sq *q, PGconn *c);
void pg_copy_clear(pg_sq *q);
int pg_copy_next_taken(pg_sq *q);
int pg_copy_next_streamed(pg_sq *q);

#endif

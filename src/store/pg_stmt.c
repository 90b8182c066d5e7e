/* pg_stmt.c — the PostgreSQL backend's statements: ?N rendered as $N,
 * prepared once per connection, parameters as text (blobs binary), results
 * binary, streamed rows in single-row mode or as a COPY (pg_copy.c); and
 * reading their columns.  See postgres.c for the design.
 *
 * DESIGN — one thread per sent statement.  A statement sent with sq_send()
 * has its rows received by a thread of its own (receive), which reads them
 * off the socket (a COPY's into a buffer, others into libpq's result)
 * while the caller reads the rows of the one before: a slice of a raw scan
 * is about 1 MB, and a caller that took it only once done with the last
 * left the server waiting on a full socket meanwhile.  The thread touches
 * only its statement's connection and its rx_res and COPY buffer; the
 * caller joins it (collect, drop_sent) before it uses any of them, and
 * runs nothing else on that connection meanwhile (sent_main).  No lock:
 * the join is the hand-over.  When no thread can be started, the caller
 * receives the rows itself. */
#include <endian.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "evodash.h"
#include "core/sketch.h"
#include "store/pg_int.h"

/* ---- statements ------------------------------------------------------------------- */

/* ?N -> $N and ? -> $k, outside quoted text.  Sets *nparams. */
static char *render(const char *sql, int *nparams)
{
    size_t n = strlen(sql);
    char *out = malloc(n * 2 + 16);
    int seq = 0, maxp = 0;
    char quote = 0;
    size_t o = 0;
    if (!out)
        return NULL;
    for (const char *p = sql; *p; p++) {
        if (quote) {
            if (*p == quote)
                quote = 0;
            out[o++] = *p;
        } else if (*p == '\'' || *p == '"') {
            quote = *p;
            out[o++] = *p;
        } else if (*p == '?') {
            int k;
            if (p[1] >= '0' && p[1] <= '9') {
                k = (int)strtol(p + 1, (char **)&p, 10);
                p--;
            } else {
                k = ++seq;
            }
            if (k > maxp)
                maxp = k;
            o += (size_t)sprintf(out + o, "$%d", k);
        } else {
            out[o++] = *p;
        }
    }
    out[o] = 0;
    *nparams = maxp;
    return out;
}

/* The receiving thread: the sent statement's result, and then the end of
 * its results, so that the connection is free when joined. */
static void *receive(void *u)
{
    pg_sq *q = u;
    q->rx_res = q->copy ? pg_copy_receive(q, q->sent) : PQgetResult(q->sent);
    pg_drain(q->sent);
    return NULL;
}

/* The sent statement's result (NULL for none), once received. */
static PGresult *received(pg_sq *q)
{
    pg *p = q->base.st->be;
    PGresult *r;
    if (q->rx_on) {
        pthread_join(q->rx, NULL);
        q->rx_on = 0;
        r = q->rx_res;
        q->rx_res = NULL;
    } else {
        r = q->copy ? pg_copy_receive(q, q->sent) : PQgetResult(q->sent);
        pg_drain(q->sent);
    }
    if (p->sent_main == q)
        p->sent_main = NULL;
    return r;
}

/* Take (and drop) what an sq_send() left on its connection. */
static void drop_sent(pg_sq *q)
{
    if (q->sent)
        PQclear(received(q));
    q->sent = NULL;
}

static void sq_clear(pg_sq *q)
{
    drop_sent(q);
    if (q->res)
        PQclear(q->res);
    q->res = NULL;
    q->row = -1;
    q->nrows = 0;
    q->done = 0;
    pg_copy_clear(q);
}

/* End a single-row or COPY read: cancel it if rows are still coming, and
 * take every result so that the connection is free again. */
void pg_end_stream(pg_sq *q)
{
    store *st = q->base.st;
    pg *p = st->be;
    if (!q->stream)
        return;
    q->stream = 0;
    if (p->streaming != q)
        return;
    p->streaming = NULL;
    PGconn *c = p->conn;
    if (!q->done && PQstatus(c) == CONNECTION_OK && (PQisBusy(c) || q->copy)) {
        PGcancel *cancel = PQgetCancel(c);
        char err[128];
        if (cancel) {
            PQcancel(cancel, err, sizeof err);
            PQfreeCancel(cancel);
        }
    }
    pg_drain(c);
}

sq *pg_prepare(store *st, const sq_text *t, int flags)
{
    pg_sq *q = calloc(1, sizeof *q);
    if (!q) {
        store_fail(st, EVD_ENOMEM, "out of memory preparing a statement");
        return NULL;
    }
    q->base.st = st;
    q->base.text = t;
    q->base.flags = flags;
    q->row = -1;
    q->copy = (flags & SQ_COPY) != 0;
    q->cheader = 1;
    q->sql = render(store_sql_of(st, t), &q->nparams);
    q->reads_buffered =
        q->sql && (strstr(q->sql, "requests") || strstr(q->sql, "profiler_samples"));
    int np = q->nparams ? q->nparams : 1;
    q->types = calloc((size_t)np, sizeof *q->types);
    q->isset = calloc((size_t)np, sizeof *q->isset);
    q->lens = calloc((size_t)np, sizeof *q->lens);
    q->fmts = calloc((size_t)np, sizeof *q->fmts);
    q->offs = calloc((size_t)np, sizeof *q->offs);
    q->vals = calloc((size_t)np, sizeof *q->vals);
    if (!q->sql || !q->types || !q->isset || !q->lens || !q->fmts || !q->offs || !q->vals) {
        store_fail(st, EVD_ENOMEM, "out of memory preparing a statement");
        st->ops->free(&q->base);
        return NULL;
    }
    return &q->base;
}

void pg_free(sq *b)
{
    pg_sq *q = (pg_sq *)b;
    sq_clear(q);
    pg_end_stream(q);
    free(q->sql);
    free(q->types);
    free(q->isset);
    free(q->lens);
    free(q->fmts);
    free(q->offs);
    free(q->vals);
    free(q->arena.p);
    free(q->cbuf.p);
    free(q);
}

void pg_reset(sq *b)
{
    pg_sq *q = (pg_sq *)b;
    sq_clear(q);
    pg_end_stream(q);
    for (int i = 0; i < q->nparams; i++)
        q->isset[i] = 0;
    q->arena.len = 0;
}

/* Set parameter i to the bytes p[0..n) (copied), of type t, format fmt. */
static void put_param(pg_sq *q, int i, Oid t, const void *p, size_t n, int fmt)
{
    if (i < 1 || i > q->nparams)
        return;
    i--;
    q->offs[i] = q->arena.len;
    if (pg_buf_put(&q->arena, p, n) || pg_buf_put(&q->arena, "", 1)) {
        q->isset[i] = 0; /* bound NULL: the statement then fails its check */
        return;
    }
    q->types[i] = t;
    q->lens[i] = (int)n;
    q->fmts[i] = fmt;
    q->isset[i] = 1;
}

void pg_bind_i64(sq *b, int i, int64_t v)
{
    char t[24];
    int n = snprintf(t, sizeof t, "%lld", (long long)v);
    put_param((pg_sq *)b, i, OID_INT8, t, (size_t)n, 0);
}

void pg_bind_f64(sq *b, int i, double v)
{
    char t[40];
    int n = snprintf(t, sizeof t, "%.17g", v);
    put_param((pg_sq *)b, i, OID_FLOAT8, t, (size_t)n, 0);
}

void pg_bind_text(sq *b, int i, const char *s, int copy)
{
    (void)copy; /* always copied */
    pg_sq *q = (pg_sq *)b;
    buf tmp = {0};
    if (pg_put_text(&tmp, s, 0) || pg_buf_put(&tmp, "", 1)) {
        free(tmp.p);
        return;
    }
    put_param(q, i, OID_TEXT, tmp.p, tmp.len - 1, 0);
    free(tmp.p);
}

void pg_bind_blob(sq *b, int i, const void *p, size_t n)
{
    put_param((pg_sq *)b, i, OID_BYTEA, p, n, 1);
}

void pg_bind_null(sq *b, int i)
{
    pg_sq *q = (pg_sq *)b;
    if (i >= 1 && i <= q->nparams)
        q->isset[i - 1] = 0;
}

static void fill_values(pg_sq *q)
{
    for (int i = 0; i < q->nparams; i++)
        q->vals[i] = q->isset[i] ? q->arena.p + q->offs[i] : NULL;
}

/* Take a result of connection c: rows to read, or the changes of a
 * command. */
static int take(pg_sq *q, PGconn *c, PGresult *r, const char *what)
{
    ExecStatusType s = PQresultStatus(r);
    if (s == PGRES_TUPLES_OK) {
        q->res = r;
        q->nrows = PQntuples(r);
        q->row = -1;
        return 0;
    }
    if (s == PGRES_COMMAND_OK) {
        const char *n = PQcmdTuples(r);
        q->changes = n && *n ? strtoll(n, NULL, 10) : 0;
        PQclear(r);
        q->nrows = 0;
        q->row = -1;
        return 0;
    }
    int rc = pg_fail_on(q->base.st, c, r, what);
    PQclear(r);
    return rc;
}

/* The main connection is busy with a single-row read. */
static int busy_streaming(pg_sq *q)
{
    store *st = q->base.st;
    return store_fail(st, EVD_EINVAL, "%s: %s: another read is still streaming on this connection",
                      st->path, q->base.text->what);
}

static int execute(pg_sq *q)
{
    store *st = q->base.st;
    pg *p = st->be;
    PGconn *c;
    int rc;
    q->ncoltype = 0;
    if (p->sent_main)
        return busy_streaming(q);
    if (!st->in_txn && (rc = pg_ensure_conn(st)))
        return pg_fail(st, NULL, q->base.text->what);
    /* rows we buffered must be in their tables before a statement that
     * reads them */
    if (st->in_txn && q->reads_buffered && (rc = pg_flush_copies(st)))
        return rc;
    c = p->conn;
    fill_values(q);
    if (p->streaming)
        return busy_streaming(q);
    if (q->copy) { /* streamed, with or without SQ_STREAM */
        if ((rc = pg_copy_send(q, c)))
            return rc;
        PGresult *r = PQgetResult(c);
        if (PQresultStatus(r) != PGRES_COPY_OUT) {
            rc = pg_fail(st, r, q->base.text->what);
            PQclear(r);
            pg_drain(c);
            return rc;
        }
        PQclear(r);
        p->streaming = q;
        q->stream = 1;
        return 0;
    }
    if (q->base.flags & SQ_STREAM) {
        if (!PQsendQueryParams(c, q->sql, q->nparams, q->types, q->vals, q->lens, q->fmts, 1) ||
            !PQsetSingleRowMode(c)) {
            rc = pg_fail(st, NULL, q->base.text->what);
            pg_drain(c);
            return rc;
        }
        p->streaming = q;
        q->stream = 1;
        return 0;
    }
    q->stream = 0;
    PGresult *r;
    if (q->base.cached >= 0) {
        if (q->gen != p->gen) {
            snprintf(q->name, sizeof q->name, "evd_q%d", q->base.cached);
            PGresult *pr = PQprepare(c, q->name, q->sql, q->nparams, q->types);
            if (PQresultStatus(pr) != PGRES_COMMAND_OK) {
                rc = pg_fail(st, pr, q->base.text->what);
                PQclear(pr);
                return rc;
            }
            PQclear(pr);
            q->gen = p->gen;
        }
        r = PQexecPrepared(c, q->name, q->nparams, q->vals, q->lens, q->fmts, 1);
    } else {
        r = PQexecParams(c, q->sql, q->nparams, q->types, q->vals, q->lens, q->fmts, 1);
    }
    return take(q, c, r, q->base.text->what);
}

/* sq_send: the statement goes to its lane's connection, its rows are read
 * whole by the first step (collect).  Outside a transaction only. */
int pg_send(sq *b)
{
    pg_sq *q = (pg_sq *)b;
    store *st = q->base.st;
    pg *p = st->be;
    int rc, lane2 = (q->base.flags & SQ_LANE2) != 0;
    sq_clear(q);
    PGconn *c = pg_lane(st, lane2, 0, &rc);
    if (!c)
        return rc;
    if (!lane2 && (p->streaming || p->sent_main))
        return busy_streaming(q);
    fill_values(q);
    if (q->copy) {
        if ((rc = pg_copy_send(q, c)))
            return rc;
    } else if (!PQsendQueryParams(c, q->sql, q->nparams, q->types, q->vals, q->lens, q->fmts, 1)) {
        return pg_fail_on(st, c, NULL, q->base.text->what);
    }
    q->sent = c;
    if (!lane2)
        p->sent_main = q;
    q->rx_on = pthread_create(&q->rx, NULL, receive, q) == 0;
    return 0;
}

/* The result of a sent statement.  A connection the server had closed
 * while idle shows only now: the statement runs once more on a new one. */
static int collect(pg_sq *q)
{
    store *st = q->base.st;
    PGconn *c = q->sent;
    PGresult *r = received(q);
    q->sent = NULL;
    if (PQresultStatus(r) != (q->copy ? PGRES_COMMAND_OK : PGRES_TUPLES_OK) &&
        PQstatus(c) != CONNECTION_OK) {
        int rc;
        PQclear(r);
        if (!(c = pg_lane(st, (q->base.flags & SQ_LANE2) != 0, 1, &rc)))
            return rc;
        if (q->copy) {
            pg_copy_clear(q);
            if ((rc = pg_copy_send(q, c)))
                return rc;
            r = pg_copy_receive(q, c);
            pg_drain(c);
        } else {
            r = PQexecParams(c, q->sql, q->nparams, q->types, q->vals, q->lens, q->fmts, 1);
        }
    }
    return take(q, c, r, q->base.text->what);
}

/* The next row of a single-row read. */
static int next_streamed(pg_sq *q)
{
    store *st = q->base.st;
    sq_clear(q);
    PGresult *r = PQgetResult(pg_conn_of(st));
    ExecStatusType s = PQresultStatus(r);
    if (r && s == PGRES_SINGLE_TUPLE) {
        q->res = r;
        q->nrows = 1;
        q->row = 0;
        return SQ_ROW;
    }
    int rc = r && s == PGRES_TUPLES_OK ? SQ_DONE : pg_fail(st, r, q->base.text->what);
    PQclear(r);
    q->done = 1;
    pg_end_stream(q);
    return rc;
}

int pg_step(sq *b)
{
    pg_sq *q = (pg_sq *)b;
    int rc;
    if (q->done)
        return SQ_DONE;
    if (q->sent) {
        if ((rc = collect(q))) {
            sq_clear(q);
            return rc;
        }
    } else if (!q->res && q->row < 0 && !q->stream) {
        rc = execute(q);
        if (rc && !q->base.st->in_txn && !q->stream && pg_lost_idle(q->base.st, rc))
            rc = execute(q);
        if (rc) {
            sq_clear(q);
            pg_end_stream(q);
            return rc;
        }
    }
    if (q->stream)
        return q->copy ? pg_copy_next_streamed(q) : next_streamed(q);
    if (q->copy)
        return pg_copy_next_taken(q);
    if (q->res && q->row + 1 < q->nrows) {
        q->row++;
        return SQ_ROW;
    }
    sq_clear(q);
    q->done = 1;
    return SQ_DONE;
}

/* ---- columns ------------------------------------------------------------------------ */

/* A binary NUMERIC: ndigits, weight, sign, dscale, then base-10000 digits. */
static double numeric_value(const char *v, int len)
{
    if (len < 8)
        return 0;
    int nd = (int)pg_be_int(v, 2), weight = (int)pg_be_int(v + 2, 2);
    unsigned sign = (unsigned)pg_be_int(v + 4, 2) & 0xFFFF;
    double x = 0;
    for (int i = 0; i < nd && 8 + 2 * i + 1 < len; i++) {
        double d = (double)pg_be_int(v + 8 + 2 * i, 2);
        double scale = 1;
        int e = weight - i;
        for (int k = 0; k < (e < 0 ? -e : e); k++)
            scale *= 10000;
        x += e < 0 ? d / scale : d * scale;
    }
    return sign == 0x4000 ? -x : x;
}

/* A value of the current row, its type and length.  The types are read
 * once per execution: every row of a streamed read is a result of its own,
 * and a scan reads hundreds of thousands.  len_of_text: whether a
 * variable-size value's length is wanted (a text's is not: libpq ends it
 * with a NUL). */
static const char *cell(pg_sq *q, int col, int *len, Oid *t, int len_of_text)
{
    if (!q->res || q->row < 0 || col < 0)
        return NULL;
    if (!q->ncoltype) {
        int n = PQnfields(q->res);
        q->ncoltype = n < 32 ? n : 32;
        for (int i = 0; i < q->ncoltype; i++)
            q->coltype[i] = PQftype(q->res, i);
    }
    if (col >= q->ncoltype || PQgetisnull(q->res, q->row, col))
        return NULL;
    *t = q->coltype[col];
    switch (*t) { /* fixed sizes in the binary format */
    case OID_INT8:
    case OID_FLOAT8:
        *len = 8;
        break;
    case OID_INT4:
    case OID_FLOAT4:
    case OID_OID:
        *len = 4;
        break;
    case OID_INT2:
        *len = 2;
        break;
    case OID_BOOL:
        *len = 1;
        break;
    default:
        *len = len_of_text ? PQgetlength(q->res, q->row, col) : 0;
    }
    return PQgetvalue(q->res, q->row, col);
}

int pg_is_null(sq *b, int col)
{
    pg_sq *q = (pg_sq *)b;
    if (q->copy)
        return q->row < 0 || col < 0 || col >= q->nf || !q->fv[col];
    return !q->res || q->row < 0 || PQgetisnull(q->res, q->row, col);
}

int64_t pg_i64(sq *b, int col)
{
    pg_sq *q = (pg_sq *)b;
    int len;
    Oid t;
    if (q->copy) /* an integer column: its size says which */
        return pg_is_null(b, col) ? 0 : pg_be_int(q->fv[col], q->fl[col]);
    const char *v = cell(q, col, &len, &t, 1);
    if (!v)
        return 0;
    switch (t) {
    case OID_INT8:
    case OID_INT4:
    case OID_INT2:
        return pg_be_int(v, len);
    case OID_OID:
        return (int64_t)(uint32_t)pg_be_int(v, len);
    case OID_BOOL:
        return len > 0 && v[0] != 0;
    case OID_FLOAT4:
    case OID_FLOAT8:
    case OID_NUMERIC: {
        double d = pg_f64(b, col);
        return (int64_t)(d < 0 ? d - 0.5 : d + 0.5);
    }
    default:
        return strtoll(v, NULL, 10);
    }
}

double pg_f64(sq *b, int col)
{
    int len;
    Oid t;
    const char *v = cell((pg_sq *)b, col, &len, &t, 1);
    if (!v)
        return 0;
    switch (t) {
    case OID_FLOAT8: {
        uint64_t x = (uint64_t)pg_be_int(v, 8);
        double d;
        memcpy(&d, &x, sizeof d);
        return d;
    }
    case OID_FLOAT4: {
        uint32_t x = (uint32_t)pg_be_int(v, 4);
        float f;
        memcpy(&f, &x, sizeof f);
        return f;
    }
    case OID_NUMERIC:
        return numeric_value(v, len);
    case OID_INT8:
    case OID_INT4:
    case OID_INT2:
    case OID_OID:
    case OID_BOOL:
        return (double)pg_i64(b, col);
    default:
        return strtod(v, NULL);
    }
}

const char *pg_str(sq *b, int col)
{
    pg_sq *q = (pg_sq *)b;
    int len;
    Oid t;
    if (q->copy) /* a text column */
        return pg_is_null(b, col) ? NULL : q->fv[col];
    const char *v = cell(q, col, &len, &t, 0);
    if (!v)
        return NULL;
    switch (t) {
    case OID_INT8:
    case OID_INT4:
    case OID_INT2:
    case OID_OID:
        snprintf(q->num, sizeof q->num, "%lld", (long long)pg_i64(b, col));
        return q->num;
    case OID_FLOAT4:
    case OID_FLOAT8:
    case OID_NUMERIC:
        snprintf(q->num, sizeof q->num, "%.17g", pg_f64(b, col));
        return q->num;
    default:
        return v; /* libpq ends every value with a NUL, binary ones too */
    }
}

const void *pg_blob(sq *b, int col, size_t *n)
{
    int len;
    Oid t;
    const char *v = cell((pg_sq *)b, col, &len, &t, 1);
    *n = v ? (size_t)len : 0;
    return v;
}

int pg_sketch_agg(sq *b, int col, sketch *s)
{
    size_t n;
    const unsigned char *p = pg_blob(b, col, &n);
    while (p && n >= 4) {
        size_t len = (size_t)pg_be_int((const char *)p, 4);
        if (len > n - 4 || sketch_merge_encoded(s, p + 4, len))
            return EVD_ECORRUPT;
        p += 4 + len;
        n -= 4 + len;
    }
    return n ? EVD_ECORRUPT : 0;
}

int64_t pg_changes(sq *b)
{
    return ((pg_sq *)b)->changes;
}

int pg_ncols(sq *b)
{
    pg_sq *q = (pg_sq *)b;
    if (q->copy)
        return q->nf;
    return q->res ? PQnfields(q->res) : 0;
}

const char *pg_colname(sq *b, int col)
{
    pg_sq *q = (pg_sq *)b;
    return q->res ? PQfname(q->res, col) : NULL;
}

int pg_colkind(sq *b, int col)
{
    pg_sq *q = (pg_sq *)b;
    if (pg_is_null(b, col))
        return SQ_K_NULL;
    switch (PQftype(q->res, col)) {
    case OID_INT8:
    case OID_INT4:
    case OID_INT2:
    case OID_OID:
    case OID_BOOL:
        return SQ_K_INT;
    case OID_FLOAT4:
    case OID_FLOAT8:
    case OID_NUMERIC:
        return SQ_K_REAL;
    case OID_BYTEA:
        return SQ_K_BLOB;
    default:
        return SQ_K_TEXT;
    }
}

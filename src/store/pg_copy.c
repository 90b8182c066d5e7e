/* pg_copy.c — the PostgreSQL backend's COPY reads (SQ_COPY): a statement
 * sent as COPY (...) TO STDOUT in the binary format, and its rows split
 * into fields by hand.  libpq builds a result of a whole read, or one per
 * row in single-row mode, copying each value; COPY hands over each row's
 * bytes as they came.  A week of a busy endpoint (110k rows) cost the
 * dashboard 47 ms of CPU as a result and 14 ms as a COPY, the server
 * about the same.  The binary format is PostgreSQL's own (its COPY documentation):
 * a header, then per row a field count and each field's length and bytes,
 * then a count of -1; no library reads it. */
#include <endian.h>
#include <stdlib.h>
#include <string.h>

#include "evodash.h"
#include "store/pg_int.h"

/* A big-endian integer of len bytes (a binary result's), sign-extended. */
int64_t pg_be_int(const char *v, int len)
{
    uint64_t x = 0;
    if (len == 8) { /* the common case: a bigint */
        memcpy(&x, v, 8);
        return (int64_t)be64toh(x);
    }
    if (len == 4) { /* a COPY row's lengths, an int4 */
        uint32_t y;
        memcpy(&y, v, 4);
        return (int32_t)be32toh(y);
    }
    for (int i = 0; i < len; i++)
        x = x << 8 | (unsigned char)v[i];
    if (len < 8 && len > 0 && (x >> (len * 8 - 1)) & 1)
        x |= ~0ull << (len * 8); /* sign-extend */
    return (int64_t)x;
}

/* The statement as COPY (...) TO STDOUT in the binary format, each $N
 * replaced by its parameter as a literal (COPY takes no bind parameters),
 * quoted by libpq so that no value is ever read as SQL.  NULL when a
 * parameter is binary or memory runs out. */
static char *copy_sql(pg_sq *q, PGconn *c)
{
    static const char head[] = "COPY (", tail[] = ") TO STDOUT (FORMAT binary)";
    buf b = {0};
    char quote = 0;
    int bad = pg_buf_put(&b, head, sizeof head - 1);
    for (const char *p = q->sql; *p && !bad; p++) {
        if (quote || *p == '\'' || *p == '"' || *p != '$' || p[1] < '0' || p[1] > '9') {
            quote = quote ? (*p == quote ? 0 : quote) : (*p == '\'' || *p == '"') ? *p : 0;
            bad = pg_buf_put(&b, p, 1);
            continue;
        }
        int k = (int)strtol(p + 1, (char **)&p, 10) - 1;
        p--;
        if (k < 0 || k >= q->nparams || (q->isset[k] && q->fmts[k])) {
            bad = 1;
        } else if (!q->isset[k]) {
            bad = pg_buf_put(&b, "NULL", 4);
        } else {
            char *lit = PQescapeLiteral(c, q->arena.p + q->offs[k], (size_t)q->lens[k]);
            bad = !lit || pg_buf_put(&b, lit, strlen(lit));
            PQfreemem(lit);
        }
    }
    if (bad || pg_buf_put(&b, tail, sizeof tail)) {
        free(b.p);
        return NULL;
    }
    return b.p;
}

/* Send q as a COPY on connection c (its result still to come).  0 or a
 * negative code, with the message on the store. */
int pg_copy_send(pg_sq *q, PGconn *c)
{
    store *st = q->base.st;
    char *sql = copy_sql(q, c);
    if (!sql)
        return store_fail(st, EVD_ENOMEM, "%s: out of memory, or a binary parameter, writing %s",
                          st->path, q->base.text->what);
    int ok = PQsendQuery(c, sql);
    free(sql);
    return ok ? 0 : pg_fail_on(st, c, NULL, q->base.text->what);
}

/* Split a COPY row of n bytes (one spare after them) into its fields, and
 * end each value with a NUL, over the next field's length once read.  The
 * stream's header comes before its first row.  0 for a row, 1 for none
 * (the header alone, or the trailer), -1 when malformed. */
static int split(pg_sq *q, char *row, int n)
{
    char *p = row, *end = row + n;
    q->nf = 0;
    if (q->cheader) {
        if (n < 19 || memcmp(p, "PGCOPY\n\377\r\n", 11))
            return -1;
        int64_t ext = pg_be_int(p + 15, 4);
        if (ext < 0 || ext > end - p - 19)
            return -1;
        p += 19 + ext;
        q->cheader = 0;
        if (p == end)
            return 1;
    }
    if (end - p < 2)
        return -1;
    int nf = (int)pg_be_int(p, 2);
    p += 2;
    if (nf == -1)
        return 1;
    if (nf < 0 || nf > 32)
        return -1;
    for (int i = 0; i < nf; i++) {
        if (end - p < 4)
            return -1;
        int64_t len = pg_be_int(p, 4);
        p += 4;
        if (len > end - p)
            return -1;
        q->fv[i] = len < 0 ? NULL : p;
        q->fl[i] = len < 0 ? -1 : (int)len;
        p += len < 0 ? 0 : len;
    }
    for (int i = 0; i < nf; i++)
        if (q->fv[i])
            q->fv[i][q->fl[i]] = 0;
    q->nf = nf;
    return 0;
}

/* Receive a sent COPY: its rows into q->cbuf, then its final result, or
 * the result that says why it did not start. */
PGresult *pg_copy_receive(pg_sq *q, PGconn *c)
{
    PGresult *r = PQgetResult(c);
    if (PQresultStatus(r) != PGRES_COPY_OUT)
        return r;
    PQclear(r);
    char *row;
    int n;
    q->cbuf.len = 0;
    while ((n = PQgetCopyData(c, &row, 0)) > 0) {
        uint32_t len = (uint32_t)n;
        if (!q->cbad)
            q->cbad = pg_buf_put(&q->cbuf, &len, 4) || pg_buf_put(&q->cbuf, row, (size_t)n) ||
                      pg_buf_put(&q->cbuf, "", 1);
        PQfreemem(row);
    }
    return PQgetResult(c);
}

void pg_copy_clear(pg_sq *q)
{
    PQfreemem(q->crow);
    q->crow = NULL;
    q->cbuf.len = q->cpos = 0;
    q->cheader = 1;
    q->cbad = 0;
    q->nf = 0;
}

static int malformed(pg_sq *q)
{
    store *st = q->base.st;
    q->done = 1;
    return store_fail(st, EVD_ECORRUPT, "%s: %s: a malformed row from the server", st->path,
                      q->base.text->what);
}

/* The next row of a sent COPY, from its buffer. */
int pg_copy_next_taken(pg_sq *q)
{
    if (q->cbad) {
        q->done = 1;
        return store_fail(q->base.st, EVD_ENOMEM, "out of memory reading %s", q->base.text->what);
    }
    while (q->cpos + 4 <= q->cbuf.len) {
        uint32_t len;
        memcpy(&len, q->cbuf.p + q->cpos, 4);
        char *row = q->cbuf.p + q->cpos + 4;
        q->cpos += 4 + (size_t)len + 1;
        int k = split(q, row, (int)len);
        if (k < 0)
            return malformed(q);
        if (!k) {
            q->row = 0;
            return SQ_ROW;
        }
    }
    pg_copy_clear(q);
    q->done = 1;
    return SQ_DONE;
}

/* The next row of a streamed COPY, off the connection. */
int pg_copy_next_streamed(pg_sq *q)
{
    store *st = q->base.st;
    PGconn *c = pg_conn_of(st);
    int n, k;
    for (;;) {
        PQfreemem(q->crow);
        q->crow = NULL;
        if ((n = PQgetCopyData(c, &q->crow, 0)) <= 0)
            break;
        if ((k = split(q, q->crow, n)) < 0) {
            pg_end_stream(q);
            return malformed(q);
        }
        if (!k) {
            q->row = 0;
            return SQ_ROW;
        }
    }
    PGresult *r = PQgetResult(c);
    int rc = PQresultStatus(r) == PGRES_COMMAND_OK ? SQ_DONE : pg_fail(st, r, q->base.text->what);
    PQclear(r);
    q->done = 1;
    pg_end_stream(q);
    return rc;
}

/* postgres.c — the PostgreSQL backend (libpq).
 *
 * DESIGN — one connection per store handle (and a second for sliced reads),
 * used by one thread at a time.
 *
 * Statements: the ?N placeholders of our SQL become $N.  A cached statement
 * is prepared on the server once per connection (re-prepared after a
 * reconnect); a one-off statement goes as an unnamed one.  Parameters are
 * sent as text (integers formatted, so the server reads them as whatever
 * type the column has) except blobs, sent binary; every result comes back
 * binary, so integers, floats and sketches need no parsing or hex decoding.
 * A statement flagged SQ_STREAM is read in libpq's single-row mode: the
 * server sends the rows as fast as it makes them and one row at a time is
 * in memory, so a scan of millions costs no more memory than one of ten.
 * (A cursor fetched in batches was half again slower: 92 against 60 ms for
 * a busy endpoint's week of 110k rows.)  While such a read is open its
 * connection runs nothing else; one stopped early is cancelled.  A handle
 * may open a second connection (SQ_LANE2, on first use) for statements
 * sent with sq_send() and read whole: read_raw.c reads a long range in
 * slices, two in flight, one on each.  A long read of integers and texts
 * (SQ_COPY) comes as a binary COPY instead of a result (pg_copy.c).
 *
 * Writes: request rows and profiler lines are buffered in COPY text format
 * and sent at commit (or when the buffer fills) with COPY FROM STDIN: one
 * round trip for a whole batch instead of one per row.  Other writes are
 * prepared statements.  Request ids come from a sequence that hands out
 * STORE_ID_BLOCK at a time, so concurrent writers on many hosts never wait
 * on each other for ids.
 *
 * Faults: losing the connection is normal operation.  Any failure that
 * means "the server is gone" (connection lost, shutdown, cannot connect)
 * returns EVD_EBUSY, so the writer keeps its batch and retries with
 * backoff while the ring absorbs new records; the next transaction
 * reconnects.  A COMMIT whose answer was lost leaves its outcome unknown:
 * the store remembers the transaction's first request row and, once
 * connected again, looks it up to tell whether the batch is stored
 * (store_commit_pending / store_resolve_commit), so a batch is never
 * written twice or counted as lost when it was kept. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "evodash.h"
#include "store/pg_int.h"

#define COPY_FLUSH      (4u << 20) /* send buffered COPY rows past this */
#define CONNECT_TIMEOUT "5"

PGconn *pg_conn_of(const store *st)
{
    return ((pg *)st->be)->conn;
}

/* ---- buffers ----------------------------------------------------------------- */

static int buf_reserve(buf *b, size_t n)
{
    if (b->len + n <= b->cap)
        return 0;
    size_t nc = b->cap ? b->cap : 4096;
    while (nc < b->len + n)
        nc *= 2;
    char *np = realloc(b->p, nc);
    if (!np)
        return -1;
    b->p = np;
    b->cap = nc;
    return 0;
}

int pg_buf_put(buf *b, const void *p, size_t n)
{
    if (buf_reserve(b, n))
        return -1;
    memcpy(b->p + b->len, p, n);
    b->len += n;
    return 0;
}

/* Length of a valid UTF-8 sequence at s, or 0. */
static size_t utf8_len(const unsigned char *s)
{
    if (s[0] < 0x80)
        return 1;
    size_t n = (s[0] & 0xE0) == 0xC0   ? 2
               : (s[0] & 0xF0) == 0xE0 ? 3
               : (s[0] & 0xF8) == 0xF0 ? 4
                                       : 0;
    if (!n || (n == 2 && s[0] < 0xC2))
        return 0;
    for (size_t i = 1; i < n; i++)
        if ((s[i] & 0xC0) != 0x80)
            return 0;
    if (n == 3 && ((s[0] == 0xE0 && s[1] < 0xA0) || (s[0] == 0xED && s[1] >= 0xA0)))
        return 0;
    if (n == 4 && ((s[0] == 0xF0 && s[1] < 0x90) || s[0] > 0xF4 || (s[0] == 0xF4 && s[1] >= 0x90)))
        return 0;
    return n;
}

/* Text the server will accept: invalid UTF-8 bytes become '?' (the
 * database encoding is UTF-8; SQLite keeps such bytes as they are, but a
 * record must not be refused for them).  With copy set, also escape for
 * COPY's text format. */
int pg_put_text(buf *b, const char *s, int copy)
{
    const unsigned char *p = (const unsigned char *)s;
    while (*p) {
        size_t n = utf8_len(p);
        if (!n) {
            if (pg_buf_put(b, "?", 1))
                return -1;
            p++;
            continue;
        }
        if (copy && n == 1 && (*p == '\\' || *p == '\t' || *p == '\n' || *p == '\r')) {
            char esc[2] = {'\\', *p == '\\' ? '\\' : *p == '\t' ? 't' : *p == '\n' ? 'n' : 'r'};
            if (pg_buf_put(b, esc, 2))
                return -1;
        } else if (pg_buf_put(b, p, n)) {
            return -1;
        }
        p += n;
    }
    return 0;
}

/* ---- errors and the connection ------------------------------------------------- */

/* The message of a failed result or of the connection, without its final
 * newline and on one line. */
static void pg_message(PGconn *c, const PGresult *r, char *out, size_t cap)
{
    const char *m = r ? PQresultErrorMessage(r) : NULL;
    if (!m || !*m)
        m = c ? PQerrorMessage(c) : "no connection";
    snprintf(out, cap, "%s", m && *m ? m : "unknown error");
    for (char *p = out; *p; p++)
        if (*p == '\n')
            *p = p[1] ? ' ' : 0;
}

static int gone(const char *state)
{
    /* 08: connection exceptions; 57P01-03: shutdown, crash, not yet up */
    return !state || !strncmp(state, "08", 2) || !strcmp(state, "57P01") ||
           !strcmp(state, "57P02") || !strcmp(state, "57P03");
}

static int code_of(PGconn *c, const PGresult *r)
{
    const char *state = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;
    if (PQstatus(c) != CONNECTION_OK || gone(state))
        return EVD_EBUSY;
    if (!strcmp(state, "40001") || !strcmp(state, "40P01") || !strcmp(state, "55P03"))
        return EVD_EBUSY; /* serialization failure, deadlock, lock not available */
    if (!strncmp(state, "23", 2) || !strncmp(state, "22", 2))
        return EVD_EINVAL;
    return EVD_EIO;
}

int pg_fail(store *st, const PGresult *r, const char *what)
{
    return pg_fail_on(st, pg_conn_of(st), r, what);
}

/* The same for a statement that ran on connection c. */
int pg_fail_on(store *st, PGconn *c, const PGresult *r, const char *what)
{
    char msg[400];
    pg_message(c, r, msg, sizeof msg);
    int rc = code_of(c, r);
    const char *state = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;
    const char *hint = "";
    if (rc == EVD_EBUSY && PQstatus(c) != CONNECTION_OK)
        hint = " (lost the connection to the server; retrying)";
    else if (state && !strcmp(state, "42501"))
        hint = " (the database user lacks a privilege: grant it, or use a database it owns)";
    else if (state && !strcmp(state, "53100"))
        hint = " (the database server's disk is full)";
    store_fail(st, rc, "%s: %s: %s%s", st->path, what ? what : "query", msg, hint);
    return rc;
}

/* Connect (or reconnect) *slot with the stored connection string. */
static int connect_session(store *st, PGconn **slot)
{
    pg *p = st->be;
    /* Keywords before dbname take effect unless the connection string
     * sets them itself; expand_dbname makes libpq read a URL or keyword
     * string given as dbname. */
    const char *keys[] = {"connect_timeout", "application_name", "dbname", NULL};
    const char *vals[] = {CONNECT_TIMEOUT, "evodash", p->conninfo, NULL};
    if (*slot)
        PQfinish(*slot);
    PGconn *c = *slot = PQconnectdbParams(keys, vals, 1);
    if (!c)
        return store_fail(st, EVD_ENOMEM, "out of memory connecting to %s", st->path);
    if (PQstatus(c) != CONNECTION_OK) {
        /* EVD_EBUSY: the writer keeps what it has and tries again (a
         * server that is down, or a password being changed, is
         * transient; what cannot be kept is counted) */
        char msg[400];
        pg_message(c, NULL, msg, sizeof msg);
        return store_fail(st, EVD_EBUSY, "%s: cannot connect: %s", st->path, msg);
    }
    /* JIT compiles a query for 5-40 ms: a loss on the dashboard's queries,
     * which read thousands to a few hundred thousand rows */
    PGresult *r = PQexec(c, "SET client_min_messages = warning; SET client_encoding = "
                            "'UTF8'; SET jit = off");
    int ok = PQresultStatus(r) == PGRES_COMMAND_OK;
    int rc = ok ? 0 : pg_fail_on(st, c, r, "setting up the session");
    PQclear(r);
    return rc;
}

static int pg_connect(store *st)
{
    pg *p = st->be;
    p->gen++;
    return connect_session(st, &p->conn);
}

/* The connection of a lane: the main one, or the second read connection,
 * (re)opened when it is not up, or in any case when fresh (the server was
 * found to have closed it).  NULL (with *rc set) when it cannot be. */
PGconn *pg_lane(store *st, int lane2, int fresh, int *rc)
{
    pg *p = st->be;
    PGconn **slot = lane2 ? &p->conn2 : &p->conn;
    *rc = 0;
    if (fresh || !*slot || PQstatus(*slot) != CONNECTION_OK)
        *rc = lane2 ? connect_session(st, slot) : pg_connect(st);
    return *rc ? NULL : *slot;
}

void pg_drain(PGconn *c)
{
    PGresult *r;
    while ((r = PQgetResult(c))) {
        int copying = PQresultStatus(r) == PGRES_COPY_OUT;
        PQclear(r);
        char *row;
        while (copying && PQgetCopyData(c, &row, 0) > 0) /* until its end, or its error */
            PQfreemem(row);
    }
}

/* Reconnect when the connection broke.  EVD_EBUSY while the server is
 * unreachable. */
int pg_ensure_conn(store *st)
{
    pg *p = st->be;
    if (p->conn && PQstatus(p->conn) == CONNECTION_OK)
        return 0;
    return pg_connect(st);
}

static int pg_open(store *st, const char *conninfo)
{
    pg *p = calloc(1, sizeof *p);
    if (!(st->be = p))
        return store_fail(st, EVD_ENOMEM, "out of memory");
    if (!(p->conninfo = strdup(conninfo)))
        return store_fail(st, EVD_ENOMEM, "out of memory");
    const char *mode = getenv("EVODASH_PG_INGEST");
    p->insert_mode = mode && !strcmp(mode, "insert");
    return pg_connect(st);
}

static int pg_tune(store *st)
{
    (void)st;
    return 0;
}

static void pg_close(store *st)
{
    pg *p = st->be;
    if (!p)
        return;
    if (p->conn)
        PQfinish(p->conn);
    if (p->conn2)
        PQfinish(p->conn2);
    if (p->conninfo) {
        /* it holds the password */
        memset(p->conninfo, 0, strlen(p->conninfo));
        free(p->conninfo);
    }
    free(p->req.p);
    free(p->prof.p);
    free(p->bulk.p);
    free(p->bulk_sql);
    free(p);
    st->be = NULL;
}

/* Run a command with no parameters; 0 or a negative code. */
static int simple(store *st, const char *sql, const char *what)
{
    PGresult *r = PQexec(pg_conn_of(st), sql);
    ExecStatusType s = PQresultStatus(r);
    int rc = s == PGRES_COMMAND_OK || s == PGRES_TUPLES_OK ? 0 : pg_fail(st, r, what);
    PQclear(r);
    return rc;
}

static int pg_run(store *st, const char *sql, const char *what)
{
    int rc;
    if (!st->in_txn && (rc = pg_ensure_conn(st)))
        return rc;
    return simple(st, sql, what);
}

/* ---- transactions and COPY ----------------------------------------------------- */

static void drop_buffers(pg *p)
{
    p->req.len = p->prof.len = 0;
    p->nreq = p->nprof = 0;
    p->first.set = 0;
}

/* libpq sees that the server closed an idle connection only when it next
 * uses it: a statement that starts nothing (BEGIN, or a read outside a
 * transaction) and fails that way is sent once more on a new connection. */
int pg_lost_idle(store *st, int rc)
{
    return rc == EVD_EBUSY && PQstatus(pg_conn_of(st)) != CONNECTION_OK && !pg_ensure_conn(st);
}

static int pg_begin(store *st)
{
    pg *p = st->be;
    int rc;
    drop_buffers(p);
    if ((rc = pg_ensure_conn(st)))
        return rc;
    rc = simple(st, "BEGIN", "starting a transaction");
    if (pg_lost_idle(st, rc))
        rc = simple(st, "BEGIN", "starting a transaction");
    return rc;
}

static void pg_rollback(store *st)
{
    pg *p = st->be;
    drop_buffers(p);
    if (p->conn && PQstatus(p->conn) == CONNECTION_OK &&
        PQtransactionStatus(p->conn) != PQTRANS_IDLE) {
        PGresult *r = PQexec(p->conn, "ROLLBACK");
        PQclear(r);
    }
}

static int copy_in(store *st, const char *sql, buf *b, const char *what)
{
    PGconn *c = pg_conn_of(st);
    PGresult *r = PQexec(c, sql);
    if (PQresultStatus(r) != PGRES_COPY_IN) {
        int rc = pg_fail(st, r, what);
        PQclear(r);
        return rc;
    }
    PQclear(r);
    int ok = PQputCopyData(c, b->p, (int)b->len) == 1 && PQputCopyEnd(c, NULL) == 1;
    r = PQgetResult(c);
    int rc = ok && PQresultStatus(r) == PGRES_COMMAND_OK ? 0 : pg_fail(st, r, what);
    PQclear(r);
    pg_drain(c);
    b->len = 0;
    return rc;
}

/* The buffered request rows as multi-row INSERTs (EVODASH_PG_INGEST=insert,
 * kept to compare with COPY in bench-ingest_pg). */
static int insert_rows(store *st)
{
    pg *p = st->be;
    buf sql = {0};
    int rc = 0;
    static const char head[] = "INSERT INTO requests(id, endpoint_id, ts_us, duration_us, status, "
                               "version_id, group_name, ip, instance_id) VALUES ";
    char *line = p->req.p, *end = p->req.p + p->req.len;
    while (!rc && line < end) {
        sql.len = 0;
        rc = pg_buf_put(&sql, head, sizeof head - 1) ? EVD_ENOMEM : 0;
        for (int n = 0; !rc && n < 1000 && line < end; n++) {
            char *nl = memchr(line, '\n', (size_t)(end - line));
            if (!nl)
                nl = end;
            rc = pg_buf_put(&sql, n ? ",(" : "(", n ? 2 : 1) ? EVD_ENOMEM : 0;
            for (int f = 0; !rc && f < 9; f++) {
                char *tab = memchr(line, '\t', (size_t)(nl - line));
                char *fe = tab && f < 8 ? tab : nl;
                if (f)
                    rc = pg_buf_put(&sql, ",", 1) ? EVD_ENOMEM : 0;
                if (!rc && fe - line == 2 && !memcmp(line, "\\N", 2))
                    rc = pg_buf_put(&sql, "NULL", 4) ? EVD_ENOMEM : 0;
                else if (!rc && (f == 6 || f == 7)) {
                    char tmp[512];
                    size_t tl =
                        (size_t)(fe - line) < sizeof tmp - 1 ? (size_t)(fe - line) : sizeof tmp - 1;
                    memcpy(tmp, line, tl);
                    tmp[tl] = 0;
                    char *lit = PQescapeLiteral(pg_conn_of(st), tmp, tl);
                    rc = !lit || pg_buf_put(&sql, lit, strlen(lit)) ? EVD_ENOMEM : 0;
                    PQfreemem(lit);
                } else if (!rc)
                    rc = pg_buf_put(&sql, line, (size_t)(fe - line)) ? EVD_ENOMEM : 0;
                line = fe + 1;
            }
            if (!rc)
                rc = pg_buf_put(&sql, ")", 1) ? EVD_ENOMEM : 0;
            line = nl + 1;
        }
        if (!rc && !pg_buf_put(&sql, "", 1))
            rc = simple(st, sql.p, "inserting requests");
        else if (!rc)
            rc = EVD_ENOMEM;
    }
    free(sql.p);
    p->req.len = 0;
    return rc == EVD_ENOMEM ? store_fail(st, rc, "out of memory inserting requests") : rc;
}

int pg_flush_copies(store *st)
{
    pg *p = st->be;
    int rc = 0;
    if (p->req.len)
        rc = p->insert_mode
                 ? insert_rows(st)
                 : copy_in(st,
                           "COPY requests(id, endpoint_id, ts_us, duration_us, status, version_id, "
                           "group_name, ip, instance_id) FROM STDIN",
                           &p->req, "inserting requests");
    if (!rc && p->prof.len)
        rc = copy_in(st,
                     "COPY profiler_samples(request_id, position, indent, function, file, line, "
                     "duration_us, samples) FROM STDIN",
                     &p->prof, "inserting profiler samples");
    return rc;
}

/* Is the transaction that wrote marker m stored?  0 with *yes set, or a
 * negative code (EVD_EBUSY: still cannot tell). */
static int marker_stored(store *st, const marker *m, int *yes)
{
    int rc;
    if ((rc = pg_ensure_conn(st)))
        return rc;
    char a[24], b[24], c[24];
    snprintf(a, sizeof a, "%lld", (long long)m->endpoint_id);
    snprintf(b, sizeof b, "%lld", (long long)m->ts_us);
    snprintf(c, sizeof c, "%lld", (long long)m->id);
    const char *v[] = {a, b, c};
    PGresult *r = PQexecParams(pg_conn_of(st),
                               "SELECT 1 FROM requests WHERE endpoint_id = $1 AND ts_us = $2 AND "
                               "id = $3",
                               3, NULL, v, NULL, NULL, 0);
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        rc = pg_fail(st, r, "checking whether a batch was stored");
        PQclear(r);
        return rc;
    }
    *yes = PQntuples(r) > 0;
    PQclear(r);
    return 0;
}

static int pg_commit(store *st)
{
    pg *p = st->be;
    int rc = pg_flush_copies(st);
    if (rc) {
        pg_rollback(st);
        return rc;
    }
    PGresult *r = PQexec(p->conn, "COMMIT");
    ExecStatusType s = PQresultStatus(r);
    if (s == PGRES_COMMAND_OK) {
        PQclear(r);
        drop_buffers(p);
        return 0;
    }
    rc = pg_fail(st, r, "committing");
    PQclear(r);
    if (rc == EVD_EBUSY && p->first.set) {
        /* The answer was lost with the connection: the batch may or may
         * not be stored.  Ask now if the server is back, else later. */
        marker m = p->first;
        int yes = 0;
        drop_buffers(p);
        if (!marker_stored(st, &m, &yes)) {
            if (yes)
                return 0;
            return store_fail(st, EVD_EBUSY,
                              "%s: the connection was lost while committing; the "
                              "batch was not stored and will be sent again",
                              st->path);
        }
        p->pending = m;
        p->pending.set = 1;
        return EVD_EBUSY;
    }
    pg_rollback(st);
    return rc;
}

int store_commit_pending(const store *st)
{
    return st->ops == &store_pg_ops && ((pg *)st->be)->pending.set;
}

int store_resolve_commit(store *st, int *stored)
{
    *stored = 0;
    if (!store_commit_pending(st))
        return 0;
    pg *p = st->be;
    int rc = marker_stored(st, &p->pending, stored);
    if (!rc)
        p->pending.set = 0;
    return rc;
}

void store_forget_commit(store *st)
{
    if (st->ops == &store_pg_ops)
        ((pg *)st->be)->pending.set = 0;
}

static int pg_reserve_ids(store *st, int64_t *first)
{
    PGresult *r = PQexecParams(pg_conn_of(st), "SELECT nextval('request_ids_seq')", 0, NULL, NULL,
                               NULL, NULL, 0);
    if (PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) != 1) {
        int rc = pg_fail(st, r, "reserving request ids");
        PQclear(r);
        return rc;
    }
    *first = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
    PQclear(r);
    return 0;
}

static int put_int(buf *b, int64_t v, char sep)
{
    char t[32];
    int n = snprintf(t, sizeof t, "%lld%c", (long long)v, sep);
    return pg_buf_put(b, t, (size_t)n);
}

static int put_opt(buf *b, const char *s, char sep)
{
    if (!s || !*s)
        return pg_buf_put(b, "\\N", 2) || pg_buf_put(b, &sep, 1);
    return pg_put_text(b, s, 1) || pg_buf_put(b, &sep, 1);
}

static int maybe_flush(store *st)
{
    pg *p = st->be;
    return p->req.len + p->prof.len > COPY_FLUSH ? pg_flush_copies(st) : 0;
}

static int pg_put_request(store *st, const store_request *r, int64_t id)
{
    pg *p = st->be;
    buf *b = &p->req;
    size_t mark = b->len;
    if (put_int(b, id, '\t') || put_int(b, r->endpoint_id, '\t') || put_int(b, r->ts_us, '\t') ||
        put_int(b, r->duration_us, '\t') || put_int(b, r->status, '\t') ||
        put_int(b, r->version_id, '\t') || put_opt(b, r->group, '\t') || put_opt(b, r->ip, '\t') ||
        put_int(b, r->instance_id, '\n')) {
        b->len = mark;
        return store_fail(st, EVD_ENOMEM, "out of memory buffering requests");
    }
    if (!p->first.set)
        p->first = (marker){1, r->endpoint_id, r->ts_us, id};
    p->nreq++;
    return maybe_flush(st);
}

static int pg_put_profile_line(store *st, const store_profile_line *l)
{
    pg *p = st->be;
    buf *b = &p->prof;
    size_t mark = b->len;
    if (put_int(b, l->request_id, '\t') || put_int(b, l->position, '\t') ||
        put_int(b, l->indent, '\t') || put_opt(b, l->function ? l->function : "?", '\t') ||
        put_opt(b, l->file, '\t') || put_int(b, l->line, '\t') ||
        put_int(b, l->duration_us, '\t') || put_int(b, l->samples, '\n')) {
        b->len = mark;
        return store_fail(st, EVD_ENOMEM, "out of memory buffering profiler lines");
    }
    p->nprof++;
    return maybe_flush(st);
}

/* ---- schema ------------------------------------------------------------------------- */

static int count_query(store *st, const char *sql, const char *arg, int *n)
{
    const char *v[] = {arg};
    PGresult *r = PQexecParams(pg_conn_of(st), sql, arg ? 1 : 0, NULL, v, NULL, NULL, 0);
    if (PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) != 1) {
        int rc = pg_fail(st, r, "reading the schema");
        PQclear(r);
        return rc;
    }
    *n = atoi(PQgetvalue(r, 0, 0));
    PQclear(r);
    return 0;
}

static int pg_has_table(store *st, const char *name, int *n)
{
    return count_query(st,
                       "SELECT count(*) FROM pg_tables WHERE schemaname = current_schema() AND "
                       "tablename = $1",
                       name, n);
}

static int pg_count_tables(store *st, int *n)
{
    return count_query(st, "SELECT count(*) FROM pg_tables WHERE schemaname = current_schema()",
                       NULL, n);
}

/* ---- copying whole tables ------------------------------------------------------ */

static int pg_bulk_open(store *st, const char *table, const char *const *cols, int ncols)
{
    pg *p = st->be;
    size_t cap = 64 + strlen(table);
    for (int i = 0; i < ncols; i++)
        cap += strlen(cols[i]) + 4;
    free(p->bulk_sql);
    if (!(p->bulk_sql = malloc(cap)))
        return store_fail(st, EVD_ENOMEM, "out of memory");
    size_t n = (size_t)snprintf(p->bulk_sql, cap, "COPY %s(", table);
    for (int i = 0; i < ncols; i++)
        n += (size_t)snprintf(p->bulk_sql + n, cap - n, "%s%s", i ? ", " : "", cols[i]);
    snprintf(p->bulk_sql + n, cap - n, ") FROM STDIN");
    p->bulk.len = 0;
    p->bulk_cols = ncols;
    return 0;
}

static int pg_bulk_row(store *st, const sq_val *v)
{
    pg *p = st->be;
    buf *b = &p->bulk;
    static const char hex[] = "0123456789abcdef";
    int bad = 0;
    for (int i = 0; i < p->bulk_cols && !bad; i++) {
        char sep = i + 1 < p->bulk_cols ? '\t' : '\n', t[40];
        switch (v[i].kind) {
        case SQ_K_INT:
            bad = put_int(b, v[i].i, sep);
            break;
        case SQ_K_REAL:
            snprintf(t, sizeof t, "%.17g%c", v[i].f, sep);
            bad = pg_buf_put(b, t, strlen(t));
            break;
        case SQ_K_TEXT:
            bad = pg_put_text(b, v[i].p, 1) || pg_buf_put(b, &sep, 1);
            break;
        case SQ_K_BLOB: /* bytea's hex form, its backslash escaped for COPY */
            bad = pg_buf_put(b, "\\\\x", 3) || buf_reserve(b, v[i].n * 2 + 1);
            for (size_t k = 0; !bad && k < v[i].n; k++) {
                unsigned char c = ((const unsigned char *)v[i].p)[k];
                b->p[b->len++] = hex[c >> 4];
                b->p[b->len++] = hex[c & 15];
            }
            bad = bad || pg_buf_put(b, &sep, 1);
            break;
        default:
            bad = pg_buf_put(b, "\\N", 2) || pg_buf_put(b, &sep, 1);
        }
    }
    if (bad)
        return store_fail(st, EVD_ENOMEM, "out of memory copying rows");
    return b->len > COPY_FLUSH ? copy_in(st, p->bulk_sql, b, "copying rows") : 0;
}

static int pg_bulk_close(store *st)
{
    pg *p = st->be;
    return p->bulk.len ? copy_in(st, p->bulk_sql, &p->bulk, "copying rows") : 0;
}

/* A lost connection is reopened by the next transaction: never stale. */
static int pg_stale(store *st)
{
    (void)st;
    return 0;
}

const store_ops store_pg_ops = {
    .name = "PostgreSQL",
    .dialect = DIALECT_PG,
    .open = pg_open,
    .close = pg_close,
    .tune = pg_tune,
    .run = pg_run,
    .begin = pg_begin,
    .commit = pg_commit,
    .rollback = pg_rollback,
    .prepare = pg_prepare,
    .free = pg_free,
    .reset = pg_reset,
    .bind_i64 = pg_bind_i64,
    .bind_f64 = pg_bind_f64,
    .bind_text = pg_bind_text,
    .bind_blob = pg_bind_blob,
    .bind_null = pg_bind_null,
    .step = pg_step,
    .send = pg_send,
    .is_null = pg_is_null,
    .i64 = pg_i64,
    .f64 = pg_f64,
    .str = pg_str,
    .blob = pg_blob,
    .sketch_agg = pg_sketch_agg,
    .changes = pg_changes,
    .reserve_ids = pg_reserve_ids,
    .put_request = pg_put_request,
    .put_profile_line = pg_put_profile_line,
    .has_table = pg_has_table,
    .count_tables = pg_count_tables,
    .ncols = pg_ncols,
    .colname = pg_colname,
    .colkind = pg_colkind,
    .bulk_open = pg_bulk_open,
    .bulk_row = pg_bulk_row,
    .bulk_close = pg_bulk_close,
    .stale = pg_stale,
};

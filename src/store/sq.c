/* sq.c — the statement interface of sq.h, dispatched to the store's
 * backend. */
#include <stdio.h>
#include <stdlib.h>

#include "evodash.h"
#include "store/sq.h"
#include "store/store_int.h"

extern const sq_text store_cached_text[Q__COUNT];

const char *store_sql_of(const store *st, const sq_text *t)
{
    return st->ops->dialect == DIALECT_PG && t->pg ? t->pg : t->sqlite;
}

int store_dialect(const store *st)
{
    return st->ops->dialect;
}

sq *sq_prepare(store *st, const sq_text *t, int flags)
{
    sq *q = st->ops->prepare(st, t, flags);
    if (q)
        q->cached = -1;
    return q;
}

sq *sq_cached(store *st, int id)
{
    if (!st->q[id]) {
        if (!(st->q[id] = st->ops->prepare(st, &store_cached_text[id], 0)))
            return NULL;
        st->q[id]->cached = id;
    } else {
        st->ops->reset(st->q[id]);
    }
    return st->q[id];
}

void sq_free(sq *q)
{
    if (!q)
        return;
    if (q->cached >= 0)
        q->st->ops->reset(q);
    else
        q->st->ops->free(q);
}

int sq_send(sq *q)
{
    return q->st->ops->send && !q->st->in_txn ? q->st->ops->send(q) : 0;
}

int sq_lanes(const store *st)
{
    return st->ops->send && !st->in_txn ? 2 : 1;
}

void sq_reset(sq *q)
{
    q->st->ops->reset(q);
}

void sq_bind_i64(sq *q, int i, int64_t v)
{
    q->st->ops->bind_i64(q, i, v);
}

void sq_bind_f64(sq *q, int i, double v)
{
    q->st->ops->bind_f64(q, i, v);
}

void sq_bind_text(sq *q, int i, const char *s)
{
    if (s && *s)
        q->st->ops->bind_text(q, i, s, 0);
    else
        q->st->ops->bind_null(q, i);
}

void sq_bind_str(sq *q, int i, const char *s)
{
    if (s)
        q->st->ops->bind_text(q, i, s, 0);
    else
        q->st->ops->bind_null(q, i);
}

void sq_bind_blob(sq *q, int i, const void *p, size_t n)
{
    q->st->ops->bind_blob(q, i, p, n);
}

void sq_bind_null(sq *q, int i)
{
    q->st->ops->bind_null(q, i);
}

/* "[1,2]" for SQLite's json_each, "{1,2}" for a PostgreSQL array. */
void sq_bind_ids(sq *q, int i, const int64_t *ids, size_t n)
{
    if (!n) {
        q->st->ops->bind_null(q, i);
        return;
    }
    int pg = q->st->ops->dialect == DIALECT_PG;
    size_t cap = n * 21 + 3;
    char *buf = malloc(cap);
    if (!buf) {
        q->st->ops->bind_null(q, i); /* the step then fails the filter */
        return;
    }
    size_t len = 0;
    buf[len++] = pg ? '{' : '[';
    for (size_t k = 0; k < n; k++)
        len += (size_t)snprintf(buf + len, cap - len, "%s%lld", k ? "," : "", (long long)ids[k]);
    buf[len++] = pg ? '}' : ']';
    buf[len] = 0;
    q->st->ops->bind_text(q, i, buf, 1);
    free(buf);
}

int sq_step(sq *q)
{
    return q->st->ops->step(q);
}

int sq_exec(sq *q)
{
    int rc;
    while ((rc = q->st->ops->step(q)) == SQ_ROW)
        ;
    q->st->ops->reset(q);
    return rc < 0 ? rc : 0;
}

int sq_is_null(sq *q, int col)
{
    return q->st->ops->is_null(q, col);
}

int64_t sq_i64(sq *q, int col)
{
    return q->st->ops->i64(q, col);
}

double sq_f64(sq *q, int col)
{
    return q->st->ops->f64(q, col);
}

const char *sq_str(sq *q, int col)
{
    return q->st->ops->str(q, col);
}

const void *sq_blob(sq *q, int col, size_t *len)
{
    return q->st->ops->blob(q, col, len);
}

int sq_sketch_agg(sq *q, int col, struct sketch *s)
{
    return q->st->ops->sketch_agg(q, col, s);
}

int64_t sq_changes(sq *q)
{
    return q->st->ops->changes(q);
}

int sq_run(store *st, const char *sql, const char *what)
{
    return st->ops->run(st, sql, what);
}

/* replay_read.c — see replay_read.h. */
#include "evodash.h"
#include "store/read_int.h"
#include "store/replay_read.h"
#include "store/sq.h"
#include "store/store_int.h"

static const sq_text SQL_REPLAY_SPAN =
    SQ("SELECT min(ts_us), max(ts_us) FROM requests", "reading the requests' time span");

static const sq_text SQL_REPLAY_ROWS =
    SQ("SELECT e.name, r.ts_us, r.duration_us FROM requests r JOIN endpoints e ON e.id = "
       "r.endpoint_id WHERE r.ts_us BETWEEN ?1 AND ?2 ORDER BY r.ts_us, r.id",
       "reading the request log");

int store_replay_span(store *st, int64_t *min_us, int64_t *max_us)
{
    sq *q = sq_prepare(st, &SQL_REPLAY_SPAN, 0);
    if (!q)
        return EVD_EIO;
    int rc = sq_step(q);
    if (rc == SQ_ROW && sq_is_null(q, 0))
        rc = store_fail(st, EVD_ENOENT, "%s: the store holds no requests", st->path);
    else if (rc == SQ_ROW) {
        *min_us = sq_i64(q, 0);
        *max_us = sq_i64(q, 1);
        rc = 0;
    }
    sq_free(q);
    return rc;
}

typedef struct replay_ctx {
    store_replay_fn cb;
    void *u;
} replay_ctx;

static int replay_row(sq *q, void *ctx)
{
    replay_ctx *c = ctx;
    const char *name = sq_str(q, 0);
    return c->cb(c->u, name ? name : "", sq_i64(q, 1), sq_i64(q, 2));
}

int store_replay_rows(store *st, int64_t from_us, int64_t to_us, store_replay_fn cb, void *u)
{
    sq *q = sq_prepare(st, &SQL_REPLAY_ROWS, SQ_STREAM);
    if (q) {
        sq_bind_i64(q, 1, from_us);
        sq_bind_i64(q, 2, to_us);
    }
    replay_ctx c = {cb, u};
    return read_walk(q, replay_row, &c);
}

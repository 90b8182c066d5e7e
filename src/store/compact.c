/* compact.c — packing past hours of raw rows (segment.c) so that a scan
 * reads one value per (endpoint, instance, hour) instead of every row.
 *
 * A packed hour records the rollups' count of requests for its (endpoint,
 * instance, hour) when it was packed, and it stands for the rows only
 * while the rollups still count that many: a request written into the
 * hour later (a writer catching up after an outage, an import) adds to the
 * rollups in the same transaction as its row, so the hour reads from the
 * request log again until it is packed anew.  The count is read before the
 * rows, so a request committed in between makes the packed copy stale,
 * never short.  Retention deletes the packed hours it cuts into
 * (write.c). */
#include <stdlib.h>
#include <string.h>

#include "evodash.h"
#include "store/read_int.h"
#include "store/segment.h"
#include "store/sq.h"
#include "store/store.h"
#include "store/store_int.h"

/* The (endpoint, instance, hour) groups in [?3, ?1) whose packed copy is
 * missing or stale, newest first.  A batch looks at WINDOW_HOURS at a
 * time (the rollups' index on hour), not at the whole history. */
#define WINDOW_HOURS 24
#define STALE                                                                                      \
    "FROM (SELECT endpoint_id, instance_id, hour, sum(count) AS n FROM rollups WHERE hour < ?1 "   \
    "AND hour >= ?3 GROUP BY endpoint_id, instance_id, hour) r LEFT JOIN raw_segments s ON "       \
    "s.endpoint_id = r.endpoint_id AND s.hour = r.hour AND s.instance_id = r.instance_id WHERE "   \
    "s.counted IS NULL OR s.counted <> r.n"
static const sq_text SQL_STALE =
    SQ("SELECT r.endpoint_id, r.instance_id, r.hour, r.n " STALE " ORDER BY r.hour DESC LIMIT ?2",
       "finding hours to pack");
static const sq_text SQL_STALE_COUNT = SQ("SELECT count(*) " STALE, "counting hours to pack");
/* ?1 when there are no rollups */
static const sq_text SQL_OLDEST =
    SQ("SELECT coalesce(min(hour), ?1) FROM rollups", "finding the oldest hour");
static const sq_text SQL_HOUR_ROWS =
    SQ("SELECT group_name, ip, version_id, duration_us, status, ts_us FROM requests WHERE "
       "endpoint_id = ?1 AND ts_us >= ?3 AND ts_us < ?4 AND instance_id = ?2",
       "reading an hour to pack");
static const sq_text SQL_PUT =
    SQ("INSERT INTO raw_segments(endpoint_id, instance_id, hour, rows, counted, data) VALUES (?1, "
       "?2, ?3, ?4, ?5, ?6) ON CONFLICT(endpoint_id, hour, instance_id) DO UPDATE SET rows = "
       "excluded.rows, counted = excluded.counted, data = excluded.data",
       "storing a packed hour");

typedef struct group {
    int64_t ep, inst, hour, counted, rows;
    unsigned char *data;
    size_t len;
} group;

typedef struct take {
    group *g;
    int n, cap;
} take;

static int stale_row(sq *q, void *ctx)
{
    take *t = ctx;
    if (t->n < t->cap)
        t->g[t->n++] = (group){.ep = sq_i64(q, 0),
                               .inst = sq_i64(q, 1),
                               .hour = sq_i64(q, 2),
                               .counted = sq_i64(q, 3)};
    return 0;
}

typedef struct rows {
    seg_in *v;
    char *text; /* the texts, copied: a row's are borrowed only until the next step */
    size_t n, cap, tn, tcap;
} rows;

/* Copy s into r->text; its offset, or -1. */
static ptrdiff_t keep_text(rows *r, const char *s)
{
    size_t l = strlen(s ? s : "") + 1;
    if (r->tn + l > r->tcap) {
        size_t c = r->tcap ? r->tcap : 4096;
        while (c < r->tn + l)
            c *= 2;
        char *g = realloc(r->text, c);
        if (!g)
            return -1;
        r->text = g;
        r->tcap = c;
    }
    memcpy(r->text + r->tn, s ? s : "", l);
    r->tn += l;
    return (ptrdiff_t)(r->tn - l);
}

static int hour_row(sq *q, void *ctx)
{
    rows *r = ctx;
    if (r->n == r->cap) {
        size_t c = r->cap ? r->cap * 2 : 1024;
        seg_in *g = realloc(r->v, c * sizeof *g);
        if (!g)
            return EVD_ENOMEM;
        r->v = g;
        r->cap = c;
    }
    ptrdiff_t g = keep_text(r, sq_str(q, 0)), ip = keep_text(r, sq_str(q, 1));
    if (g < 0 || ip < 0)
        return EVD_ENOMEM;
    /* offsets now, pointers once every row is in (the text may move) */
    r->v[r->n++] = (seg_in){.group = (const char *)(intptr_t)g,
                            .ip = (const char *)(intptr_t)ip,
                            .version_id = sq_i64(q, 2),
                            .duration_us = sq_i64(q, 3),
                            .status = (int)sq_i64(q, 4),
                            .ts_us = sq_i64(q, 5)};
    return 0;
}

/* Read group g's rows and pack them into g->data. */
static int pack_group(store *st, group *g, rows *r)
{
    r->n = r->tn = 0;
    sq *q = sq_prepare(st, &SQL_HOUR_ROWS, 0);
    if (q) {
        sq_bind_i64(q, 1, g->ep);
        sq_bind_i64(q, 2, g->inst);
        sq_bind_i64(q, 3, g->hour * STORE_HOUR_US);
        sq_bind_i64(q, 4, (g->hour + 1) * STORE_HOUR_US);
    }
    int rc = read_walk(q, hour_row, r);
    if (rc)
        return rc == EVD_ENOMEM ? store_fail(st, rc, "out of memory packing an hour") : rc;
    for (size_t i = 0; i < r->n; i++) {
        r->v[i].group = r->text + (intptr_t)r->v[i].group;
        r->v[i].ip = r->text + (intptr_t)r->v[i].ip;
    }
    g->rows = (int64_t)r->n;
    if (seg_pack(g->hour, r->v, r->n, &g->data, &g->len))
        return store_fail(st, EVD_ENOMEM, "out of memory packing an hour");
    return 0;
}

static int put_groups(store *st, group *g, int n)
{
    int rc = store_begin(st);
    for (int i = 0; i < n && !rc; i++) {
        sq *q = sq_prepare(st, &SQL_PUT, 0);
        if (!q) {
            rc = EVD_EIO;
            break;
        }
        sq_bind_i64(q, 1, g[i].ep);
        sq_bind_i64(q, 2, g[i].inst);
        sq_bind_i64(q, 3, g[i].hour);
        sq_bind_i64(q, 4, g[i].rows);
        sq_bind_i64(q, 5, g[i].counted);
        sq_bind_blob(q, 6, g[i].data, g[i].len);
        rc = sq_exec(q);
        sq_free(q);
    }
    if (rc) {
        store_rollback(st);
        return rc;
    }
    return store_commit(st);
}

/* The one integer of t bound with arg[0..narg) as ?1.. */
static int one_int(store *st, const sq_text *t, const int64_t *arg, int narg, int64_t *v)
{
    *v = 0;
    sq *q = sq_prepare(st, t, 0);
    if (!q)
        return EVD_EIO;
    for (int i = 0; i < narg; i++)
        sq_bind_i64(q, i + 1, arg[i]);
    int rc = sq_step(q);
    if (rc == SQ_ROW)
        *v = sq_i64(q, 0);
    sq_free(q);
    return rc < 0 ? rc : 0;
}

int store_compact_pending(store *st, int64_t before_hour, int64_t *n)
{
    const int64_t arg[] = {before_hour, 0, INT64_MIN / 2}; /* ?3: from the first hour */
    return one_int(st, &SQL_STALE_COUNT, arg, 3, n);
}

int store_compact_batch(store *st, int64_t before_hour, int max, store_compacted *done)
{
    *done = (store_compacted){.next_before = before_hour};
    if (max < 1)
        max = 1;
    take t = {calloc((size_t)max, sizeof(group)), 0, max};
    if (!t.g)
        return store_fail(st, EVD_ENOMEM, "out of memory");
    int64_t oldest; /* before_hour when there are no rollups: nothing more */
    int rc = one_int(st, &SQL_OLDEST, &before_hour, 1, &oldest);
    if (rc) {
        free(t.g);
        return rc;
    }
    sq *q = sq_prepare(st, &SQL_STALE, 0);
    if (q) {
        sq_bind_i64(q, 1, before_hour);
        sq_bind_i64(q, 2, max);
        sq_bind_i64(q, 3, before_hour - WINDOW_HOURS);
    }
    /* the counts first, then the rows (see the top) */
    rc = read_walk(q, stale_row, &t);
    /* a window with fewer than max left is done after this batch */
    done->next_before = t.n < max ? before_hour - WINDOW_HOURS : before_hour;
    done->more = done->next_before > oldest;
    rows r = {0};
    for (int i = 0; i < t.n && !rc; i++)
        rc = pack_group(st, &t.g[i], &r);
    if (!rc && t.n)
        rc = put_groups(st, t.g, t.n);
    if (rc)
        done->more = 0;
    else {
        done->hours = t.n;
        for (int i = 0; i < t.n; i++) {
            done->rows += t.g[i].rows;
            done->bytes += (int64_t)t.g[i].len;
        }
    }
    for (int i = 0; i < t.n; i++)
        free(t.g[i].data);
    free(t.g);
    free(r.v);
    free(r.text);
    return rc;
}

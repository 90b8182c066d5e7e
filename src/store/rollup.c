/* rollup.c — merge a batch's aggregate for one (endpoint, version, hour,
 * instance) into its stored row.  Counts and sums add in SQL (an upsert);
 * the sketch is decoded, merged and re-encoded here, because neither
 * backend can add two sketches in SQL.  Runs inside the writer's batch
 * transaction. */
#include <stdlib.h>
#include <string.h>

#include "evodash.h"
#include "core/sketch.h"
#include "store/sq.h"
#include "store/store.h"
#include "store/store_int.h"

static void bind_rollup(sq *q, const store_rollup *r, const uint8_t *sk, size_t len)
{
    sq_bind_i64(q, 1, r->endpoint_id);
    sq_bind_i64(q, 2, r->version_id);
    sq_bind_i64(q, 3, r->hour);
    sq_bind_i64(q, 4, r->instance_id);
    sq_bind_i64(q, 5, (int64_t)r->count);
    sq_bind_i64(q, 6, r->sum_us);
    sq_bind_i64(q, 7, r->min_us);
    sq_bind_i64(q, 8, r->max_us);
    for (int c = 1; c <= 5; c++)
        sq_bind_i64(q, 8 + c, (int64_t)r->status_class[c]);
    sq_bind_i64(q, 14, (int64_t)r->status_class[0]);
    sq_bind_blob(q, 15, sk, len);
}

int store_rollup_merge(store *st, const store_rollup *r)
{
    sq *q = sq_cached(st, Q_ROLLUP_GET);
    const uint8_t *sk = r->sketch;
    size_t sklen = r->sketch_len;
    int rc;

    if (!q)
        return EVD_EIO;
    sq_bind_i64(q, 1, r->endpoint_id);
    sq_bind_i64(q, 2, r->version_id);
    sq_bind_i64(q, 3, r->hour);
    sq_bind_i64(q, 4, r->instance_id);
    rc = sq_step(q);
    if (rc < 0)
        return rc;
    if (rc == SQ_ROW) {
        if (!st->scratch && !(st->scratch = malloc(sizeof *st->scratch)))
            return store_fail(st, EVD_ENOMEM, "out of memory merging rollups");
        if (!st->scratch_buf && !(st->scratch_buf = malloc(SKETCH_ENCODED_MAX)))
            return store_fail(st, EVD_ENOMEM, "out of memory merging rollups");
        sketch_init(st->scratch);
        size_t oldlen;
        const uint8_t *old = sq_blob(q, 0, &oldlen);
        if (sketch_merge_encoded(st->scratch, old, oldlen) ||
            sketch_merge_encoded(st->scratch, r->sketch, r->sketch_len)) {
            sq_reset(q);
            return store_fail(st, EVD_ECORRUPT, "%s: a stored rollup sketch is corrupt", st->path);
        }
        sklen = sketch_encode(st->scratch, st->scratch_buf, SKETCH_ENCODED_MAX);
        sk = st->scratch_buf;
    }
    sq_reset(q);
    if (!(q = sq_cached(st, Q_ROLLUP_PUT)))
        return EVD_EIO;
    bind_rollup(q, r, sk, sklen);
    return sq_exec(q);
}

int store_rollup_acc_init(store_rollup_acc *a)
{
    memset(a, 0, sizeof *a);
    if (!(a->sk = malloc(sizeof *a->sk)))
        return EVD_ENOMEM;
    store_rollup_acc_reset(a);
    return 0;
}

void store_rollup_acc_free(store_rollup_acc *a)
{
    if (!a)
        return;
    free(a->sk);
    a->sk = NULL;
}

void store_rollup_acc_reset(store_rollup_acc *a)
{
    a->count = 0;
    a->sum_us = 0;
    a->min_us = INT64_MAX;
    a->max_us = INT64_MIN;
    memset(a->status_class, 0, sizeof a->status_class);
    sketch_init(a->sk);
}

void store_rollup_acc_add(store_rollup_acc *a, int64_t dur_us, double exact_us, int status)
{
    int cls = status / 100;
    a->count++;
    a->sum_us += dur_us;
    if (dur_us < a->min_us)
        a->min_us = dur_us;
    if (dur_us > a->max_us)
        a->max_us = dur_us;
    a->status_class[cls >= 1 && cls <= 5 ? cls : 0]++;
    sketch_add(a->sk, exact_us);
}

int store_rollup_acc_merge(store *st, store_rollup_acc *a, int64_t endpoint_id, int64_t version_id,
                           int64_t hour, int64_t instance_id)
{
    if (!st->acc_buf && !(st->acc_buf = malloc(SKETCH_ENCODED_MAX)))
        return store_fail(st, EVD_ENOMEM, "out of memory merging rollups");
    store_rollup r = {.endpoint_id = endpoint_id,
                      .version_id = version_id,
                      .instance_id = instance_id,
                      .hour = hour,
                      .count = a->count,
                      .sum_us = a->sum_us,
                      .min_us = a->min_us,
                      .max_us = a->max_us,
                      .sketch = st->acc_buf,
                      .sketch_len = sketch_encode(a->sk, st->acc_buf, SKETCH_ENCODED_MAX)};
    memcpy(r.status_class, a->status_class, sizeof r.status_class);
    int rc = store_rollup_merge(st, &r);
    if (!rc)
        store_rollup_acc_reset(a);
    return rc;
}

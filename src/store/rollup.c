/* rollup.c — merge a batch's aggregate for one (endpoint, version, hour,
 * instance) into its stored row.  Counts and sums add in SQL; the sketch is
 * decoded, merged and re-encoded here, because SQLite cannot add two
 * sketches in an UPDATE.  Runs inside the writer's batch transaction. */
#include <stdlib.h>

#include "evodash.h"
#include "core/sketch.h"
#include "store/store.h"
#include "store/store_int.h"

static void bind_rollup(sqlite3_stmt *q, const store_rollup *r, const uint8_t *sk, size_t len)
{
    sqlite3_bind_int64(q, 1, r->endpoint_id);
    sqlite3_bind_int64(q, 2, r->version_id);
    sqlite3_bind_int64(q, 3, r->hour);
    sqlite3_bind_int64(q, 4, r->instance_id);
    sqlite3_bind_int64(q, 5, (int64_t)r->count);
    sqlite3_bind_int64(q, 6, r->sum_us);
    sqlite3_bind_int64(q, 7, r->min_us);
    sqlite3_bind_int64(q, 8, r->max_us);
    for (int c = 1; c <= 5; c++)
        sqlite3_bind_int64(q, 8 + c, (int64_t)r->status_class[c]);
    sqlite3_bind_int64(q, 14, (int64_t)r->status_class[0]);
    sqlite3_bind_blob(q, 15, sk, (int)len, SQLITE_STATIC);
}

int store_rollup_merge(store *st, const store_rollup *r)
{
    sqlite3_stmt *q = store_stmt(st, Q_ROLLUP_GET);
    int rc;

    if (!q)
        return store_fail_sqlite(st, "preparing");
    sqlite3_bind_int64(q, 1, r->endpoint_id);
    sqlite3_bind_int64(q, 2, r->version_id);
    sqlite3_bind_int64(q, 3, r->hour);
    sqlite3_bind_int64(q, 4, r->instance_id);
    rc = sqlite3_step(q);
    if (rc == SQLITE_DONE) {
        sqlite3_reset(q);
        q = store_stmt(st, Q_ROLLUP_INS);
        bind_rollup(q, r, r->sketch, r->sketch_len);
    } else if (rc == SQLITE_ROW) {
        if (!st->scratch && !(st->scratch = malloc(sizeof *st->scratch)))
            return store_fail(st, EVD_ENOMEM, "out of memory merging rollups");
        if (!st->scratch_buf && !(st->scratch_buf = malloc(SKETCH_ENCODED_MAX)))
            return store_fail(st, EVD_ENOMEM, "out of memory merging rollups");
        sketch_init(st->scratch);
        const uint8_t *old = sqlite3_column_blob(q, 0);
        int oldlen = sqlite3_column_bytes(q, 0);
        if (sketch_merge_encoded(st->scratch, old, (size_t)oldlen) ||
            sketch_merge_encoded(st->scratch, r->sketch, r->sketch_len)) {
            sqlite3_reset(q);
            return store_fail(st, EVD_ECORRUPT, "%s: a stored rollup sketch is corrupt", st->path);
        }
        sqlite3_reset(q);
        size_t len = sketch_encode(st->scratch, st->scratch_buf, SKETCH_ENCODED_MAX);
        q = store_stmt(st, Q_ROLLUP_UPD);
        bind_rollup(q, r, st->scratch_buf, len);
    } else {
        return store_fail_sqlite(st, "reading a rollup");
    }
    rc = sqlite3_step(q);
    sqlite3_reset(q);
    return rc == SQLITE_DONE ? 0 : store_fail_sqlite(st, "writing a rollup");
}

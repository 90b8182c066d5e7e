/* replay_read.c — see replay_read.h. */
#include <sqlite3.h>

#include "evodash.h"
#include "store/replay_read.h"
#include "store/store_int.h"

static const char SQL_REPLAY_SPAN[] = "SELECT MIN(ts_us), MAX(ts_us) FROM requests";

static const char SQL_REPLAY_ROWS[] = "SELECT e.name, r.ts_us, r.duration_us"
                                      "  FROM requests r JOIN endpoints e ON e.id = r.endpoint_id"
                                      " WHERE r.ts_us BETWEEN ?1 AND ?2"
                                      " ORDER BY r.ts_us, r.id";

int store_replay_span(store *st, int64_t *min_us, int64_t *max_us)
{
    sqlite3_stmt *q = NULL;
    int rc = 0;
    if (sqlite3_prepare_v2(st->db, SQL_REPLAY_SPAN, -1, &q, NULL) != SQLITE_OK ||
        sqlite3_step(q) != SQLITE_ROW) {
        rc = store_fail_sqlite(st, "reading the requests' time span");
        goto done;
    }
    if (sqlite3_column_type(q, 0) == SQLITE_NULL) {
        rc = store_fail(st, EVD_ENOENT, "%s: the store holds no requests", st->path);
        goto done;
    }
    *min_us = sqlite3_column_int64(q, 0);
    *max_us = sqlite3_column_int64(q, 1);
done:
    sqlite3_finalize(q);
    return rc;
}

int store_replay_rows(store *st, int64_t from_us, int64_t to_us, store_replay_fn cb, void *u)
{
    sqlite3_stmt *q = NULL;
    int rc;
    if (sqlite3_prepare_v2(st->db, SQL_REPLAY_ROWS, -1, &q, NULL) != SQLITE_OK) {
        rc = store_fail_sqlite(st, "preparing the request log");
        goto done;
    }
    sqlite3_bind_int64(q, 1, from_us);
    sqlite3_bind_int64(q, 2, to_us);
    while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
        const char *name = (const char *)sqlite3_column_text(q, 0);
        int stop = cb(u, name ? name : "", sqlite3_column_int64(q, 1), sqlite3_column_int64(q, 2));
        if (stop) {
            rc = stop;
            goto done;
        }
    }
    rc = rc == SQLITE_DONE ? 0 : store_fail_sqlite(st, "reading the request log");
done:
    sqlite3_finalize(q);
    return rc;
}

/* query.c — see query.h. */
#include <sqlite3.h>

#include "evodash.h"
#include "store/query.h"
#include "store/store_int.h"

static const char SQL_SUMMARY[] =
    "SELECT e.name, e.level, coalesce(sum(r.count), 0),"
    "       sketch_quantile(sketch_merge(r.sketch), 0.5),"
    "       sketch_quantile(sketch_merge(r.sketch), 0.99),"
    "       coalesce(sum(r.s4xx + r.s5xx), 0), e.dropped, coalesce(e.last_access_us, 0)"
    "  FROM endpoints e LEFT JOIN rollups r ON r.endpoint_id = e.id"
    " GROUP BY e.id ORDER BY 3 DESC, e.name";

static const char SQL_TOTALS[] =
    "SELECT (SELECT coalesce(sum(count), 0) FROM rollups),"
    "       (SELECT count(*) FROM endpoints), (SELECT count(*) FROM versions),"
    "       (SELECT count(*) FROM instances), (SELECT count(*) FROM outliers),"
    "       (SELECT coalesce(sum(recorded), 0) FROM instances),"
    "       (SELECT coalesce(sum(dropped), 0) FROM instances),"
    "       (SELECT coalesce(sum(written), 0) FROM instances),"
    "       (SELECT coalesce(sum(write_errors), 0) FROM instances)";

int query_summary(store *st, int (*cb)(void *u, const summary_row *r), void *u)
{
    sqlite3_stmt *q = NULL;
    int rc;
    if (sqlite3_prepare_v2(st->db, SQL_SUMMARY, -1, &q, NULL) != SQLITE_OK)
        return store_fail_sqlite(st, "preparing the summary");
    while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
        summary_row r = {
            .name = (const char *)sqlite3_column_text(q, 0),
            .level = sqlite3_column_int(q, 1),
            .count = sqlite3_column_int64(q, 2),
            .p50_us = sqlite3_column_type(q, 3) == SQLITE_NULL ? -1 : sqlite3_column_double(q, 3),
            .p99_us = sqlite3_column_type(q, 4) == SQLITE_NULL ? -1 : sqlite3_column_double(q, 4),
            .errors = sqlite3_column_int64(q, 5),
            .dropped = sqlite3_column_int64(q, 6),
            .last_access_us = sqlite3_column_int64(q, 7),
        };
        int stop = cb(u, &r);
        if (stop) {
            sqlite3_finalize(q);
            return stop;
        }
    }
    rc = rc == SQLITE_DONE ? 0 : store_fail_sqlite(st, "reading the summary");
    sqlite3_finalize(q);
    return rc;
}

int query_totals(store *st, totals *t)
{
    sqlite3_stmt *q = NULL;
    if (sqlite3_prepare_v2(st->db, SQL_TOTALS, -1, &q, NULL) != SQLITE_OK ||
        sqlite3_step(q) != SQLITE_ROW) {
        int rc = store_fail_sqlite(st, "reading totals");
        sqlite3_finalize(q);
        return rc;
    }
    int64_t *f[] = {&t->requests, &t->endpoints, &t->versions, &t->instances,   &t->outliers,
                    &t->recorded, &t->dropped,   &t->written,  &t->write_errors};
    for (int i = 0; i < 9; i++)
        *f[i] = sqlite3_column_int64(q, i);
    sqlite3_finalize(q);
    return 0;
}

/* store_int.h — the store handle, shared by the store's own files only. */
#ifndef EVD_STORE_INT_H
#define EVD_STORE_INT_H

#include <sqlite3.h>

#include "store/store.h"

/* Request ids reserved per round trip to request_ids. */
#define STORE_ID_BLOCK 1024

/* Prepared statements, one per SQL text below; finalized on close. */
enum {
    Q_INSTANCE_INS,
    Q_VERSION_UPSERT,
    Q_VERSION_ID,
    Q_ENDPOINT_INS,
    Q_ENDPOINT_GET,
    Q_ENDPOINT_UPD_META,
    Q_ENDPOINT_SET_LEVEL,
    Q_ENDPOINT_LEVELS,
    Q_ENDPOINT_TOUCH,
    Q_REQUEST_INS,
    Q_REQUEST_IDS,
    Q_PROFILED_INS,
    Q_OUTLIER_INS,
    Q_PROFILE_INS,
    Q_ROLLUP_GET,
    Q_ROLLUP_INS,
    Q_ROLLUP_UPD,
    Q_INSTANCE_COUNTERS,
    Q_PRUNE,
    Q__COUNT
};

struct store {
    sqlite3 *db;
    char *path;
    int flags;
    int in_txn;
    int64_t id_next, id_end; /* reserved request ids [next, end) */
    sqlite3_stmt *q[Q__COUNT];
    struct sketch *scratch; /* rollup merging; allocated on first use */
    uint8_t *scratch_buf;   /* SKETCH_ENCODED_MAX bytes */
    uint8_t *acc_buf;       /* an accumulator's encoding; SKETCH_ENCODED_MAX */
    char err[512];
};

/* Record a message; returns rc. */
int store_fail(store *st, int rc, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Record sqlite's current error with a context phrase; returns its code. */
int store_fail_sqlite(store *st, const char *what);
/* Map a SQLite result code to an EVD_E* code. */
int store_code(int sqlite_rc);
/* Run a one-off statement with one integer parameter. */
int store_exec_int(store *st, const char *sql, int64_t v);
/* The prepared statement for q, reset and with bindings cleared. */
sqlite3_stmt *store_stmt(store *st, int q);

/* SQL functions over encoded sketches (sqlfuncs.c). */
int store_register_functions(sqlite3 *db);

#endif

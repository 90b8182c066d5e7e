/* testutil.h — small helpers shared by the unit tests (header-only, since
 * each test is one translation unit). */
#ifndef EVD_TESTUTIL_H
#define EVD_TESTUTIL_H

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "store/store_int.h" /* store_register_functions */

/* A fresh temporary folder; path written into dir (>= 64 bytes). */
static inline void tu_tmpdir(char *dir, size_t cap)
{
    snprintf(dir, cap, "/tmp/evd-test-XXXXXX");
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        exit(1);
    }
}

static inline void tu_rmrf(const char *dir)
{
    char cmd[512];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "warning: could not remove %s\n", dir);
}

/* Register service "svc" and instance "t" on host "h" in an open store,
 * for tests that write rows through the store API.  0 or the store's
 * code. */
static inline int tu_register(store *st, int64_t *svc, int64_t *inst)
{
    int rc = store_service_register(st, "svc", 0, svc);
    store_instance in = {.name = "t", .host = "h", .pid = 1, .service_id = *svc};
    return rc ? rc : store_instance_register(st, &in, 0, inst);
}

/* Run a query that returns one integer. */
static inline long long tu_sql_int(const char *dbpath, const char *sql)
{
    sqlite3 *db;
    sqlite3_stmt *q;
    long long v = -1;
    if (sqlite3_open_v2(dbpath, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK)
        return -2;
    store_register_functions(db); /* sketch_count() and friends */
    if (sqlite3_prepare_v2(db, sql, -1, &q, NULL) == SQLITE_OK) {
        if (sqlite3_step(q) == SQLITE_ROW)
            v = sqlite3_column_int64(q, 0);
        sqlite3_finalize(q);
    } else {
        fprintf(stderr, "tu_sql_int: %s: %s\n", sql, sqlite3_errmsg(db));
    }
    sqlite3_close(db);
    return v;
}

/* Run a query that returns one text value; caller frees. NULL if none. */
static inline char *tu_sql_text(const char *dbpath, const char *sql)
{
    sqlite3 *db;
    sqlite3_stmt *q;
    char *out = NULL;
    if (sqlite3_open_v2(dbpath, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK)
        return NULL;
    if (sqlite3_prepare_v2(db, sql, -1, &q, NULL) == SQLITE_OK) {
        if (sqlite3_step(q) == SQLITE_ROW && sqlite3_column_text(q, 0))
            out = strdup((const char *)sqlite3_column_text(q, 0));
        sqlite3_finalize(q);
    }
    sqlite3_close(db);
    return out;
}

/* A temporary folder with a store URL in it, for tests that open agents:
 * tu_dir, tu_db (the file) and tu_url (sqlite:///...).  Use tu_setup and
 * tu_teardown as cmocka setup/teardown functions. */
static char tu_dir[128], tu_db[256], tu_url[300];

static inline int tu_setup(void **state)
{
    (void)state;
    tu_tmpdir(tu_dir, sizeof tu_dir);
    snprintf(tu_db, sizeof tu_db, "%s/evodash.db", tu_dir);
    snprintf(tu_url, sizeof tu_url, "sqlite:///%s", tu_db); /* absolute: four slashes */
    return 0;
}

static inline int tu_teardown(void **state)
{
    (void)state;
    chmod(tu_dir, 0755); /* a test may have made it read-only */
    tu_rmrf(tu_dir);
    return 0;
}

/* Burn CPU for about ms milliseconds in a way the optimiser keeps. */
static inline double tu_spin_ms(int ms)
{
    struct timespec a, b;
    volatile double x = 0;
    clock_gettime(CLOCK_MONOTONIC, &a);
    do {
        for (int i = 0; i < 10000; i++)
            x += i * 0.5;
        clock_gettime(CLOCK_MONOTONIC, &b);
    } while ((b.tv_sec - a.tv_sec) * 1000 + (b.tv_nsec - a.tv_nsec) / 1000000 < ms);
    return x;
}

#endif

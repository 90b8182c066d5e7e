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

/* Is db (a path or URL) a PostgreSQL store? */
static inline int tu_is_pg(const char *db)
{
    return !strncmp(db, "postgresql://", 13);
}

/* Run a query that returns one integer. */
static inline long long tu_sql_int(const char *dbpath, const char *sql)
{
    if (tu_is_pg(dbpath)) {
        store *st = NULL;
        int64_t v = -1;
        if (store_open(dbpath, STORE_RDONLY, &st) || store_query_int(st, sql, &v)) {
            fprintf(stderr, "tu_sql_int: %s: %s\n", sql, store_errmsg(st));
            v = -1;
        }
        store_close(st);
        return v;
    }
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

/* Run a statement that changes the store (what another process, or the
 * dashboard, would do).  0 or the store's code. */
static inline int tu_sql_exec(const char *db, const char *sql)
{
    store *st = NULL;
    int64_t ignored;
    char url[300];
    snprintf(url, sizeof url, "%s%s", tu_is_pg(db) ? "" : "sqlite:///", db);
    int rc = store_open(url, STORE_NOMIGRATE, &st);
    if (!rc)
        rc = store_query_int(st, sql, &ignored);
    if (rc)
        fprintf(stderr, "tu_sql_exec: %s: %s\n", sql, store_errmsg(st));
    store_close(st);
    return rc;
}

/* A temporary folder with a store URL in it, for tests that open agents:
 * tu_dir, tu_db (the file) and tu_url (sqlite:///...).  Use tu_setup and
 * tu_teardown as cmocka setup/teardown functions.
 *
 * Run under tests/pg/with_pg.sh with EVODASH_TEST_UNIT_PG set, the store is
 * a fresh PostgreSQL database instead, and tu_db and tu_url both hold its
 * URL: the same tests check the other backend. */
static char tu_dir[128], tu_db[256], tu_url[300], tu_pgname[64];

/* Run psql against the test server's maintenance database. */
static inline int tu_psql(const char *sql)
{
    char cmd[600];
    const char *bin = getenv("EVODASH_TEST_PG_BIN");
    snprintf(cmd, sizeof cmd, "'%s/psql' '%s/postgres' -qc '%s' >/dev/null", bin ? bin : "/usr/bin",
             getenv("EVODASH_TEST_PG"), sql);
    return system(cmd);
}

static inline int tu_setup(void **state)
{
    (void)state;
    static int n;
    tu_tmpdir(tu_dir, sizeof tu_dir);
    if (getenv("EVODASH_TEST_UNIT_PG") && getenv("EVODASH_TEST_PG")) {
        char sql[128];
        snprintf(tu_pgname, sizeof tu_pgname, "evd_unit_%d_%d", (int)getpid(), ++n);
        snprintf(sql, sizeof sql, "CREATE DATABASE %s", tu_pgname);
        if (tu_psql(sql)) {
            fprintf(stderr, "tu_setup: cannot create database %s\n", tu_pgname);
            exit(1);
        }
        snprintf(tu_db, sizeof tu_db, "%s/%s", getenv("EVODASH_TEST_PG"), tu_pgname);
        snprintf(tu_url, sizeof tu_url, "%s", tu_db);
        return 0;
    }
    tu_pgname[0] = 0;
    snprintf(tu_db, sizeof tu_db, "%s/evodash.db", tu_dir);
    snprintf(tu_url, sizeof tu_url, "sqlite:///%s", tu_db); /* absolute: four slashes */
    return 0;
}

static inline int tu_teardown(void **state)
{
    (void)state;
    chmod(tu_dir, 0755); /* a test may have made it read-only */
    tu_rmrf(tu_dir);
    if (tu_pgname[0]) {
        char sql[128];
        snprintf(sql, sizeof sql, "DROP DATABASE %s WITH (FORCE)", tu_pgname);
        tu_psql(sql);
    }
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

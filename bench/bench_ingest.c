/* bench_ingest.c — requests per second recorded end to end into SQLite,
 * rollups included, with zero drops; and the process's peak RSS.
 *
 * One producer records TOTAL requests over 50 endpoints and 1,000 users as
 * fast as the writer takes them: it never lets more than half a ring be in
 * flight, so nothing is dropped (the run fails if anything is).  The rate
 * is TOTAL / (time until the last record is committed).  As a baseline in
 * the same run, the same rows are inserted straight into a SQLite table of
 * the same shape with one prepared statement in large transactions: the
 * ratio shows how close the agent comes to SQLite's own insert speed.
 * Median of RUNS runs.
 *
 * Last line: ingest_req_per_s: N req/s */
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "evodash.h"

#define TOTAL     1000000
#define RUNS      3
#define ENDPOINTS 50
#define USERS     1000

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static char users[USERS][16], ips[USERS][20];

static double run_agent(const char *dir, int run)
{
    char url[256];
    snprintf(url, sizeof url, "sqlite:///%s/agent%d.db", dir, run);
    evd_config *cfg = evd_config_new();
    evd_config_set(cfg, "DATABASE", url);
    evd_config_set(cfg, "APP_VERSION", "bench");
    evd_agent *a;
    if (evd_open(cfg, &a)) {
        fprintf(stderr, "bench: %s\n", evd_errmsg(a));
        exit(1);
    }
    evd_config_free(cfg);
    int ep[ENDPOINTS];
    for (int i = 0; i < ENDPOINTS; i++) {
        char name[32];
        snprintf(name, sizeof name, "endpoint%02d", i);
        evd_endpoint_register(a, name, name, "GET", &ep[i]);
    }
    uint64_t half = 65536 / 2;
    evd_counters c;
    double t0 = now_s();
    for (int i = 0; i < TOTAL; i++) {
        if ((i & 1023) == 0) {
            for (;;) {
                evd_get_counters(a, &c);
                if (c.recorded - c.written - c.dropped < half)
                    break;
                struct timespec ts = {0, 200000};
                nanosleep(&ts, NULL);
            }
        }
        int u = (int)((unsigned)i * 2654435761u % USERS);
        evd_req r = evd_req_begin(a, ep[i % ENDPOINTS]);
        if (evd_req_end(&r, i % 50 ? 200 : 500, users[u], ips[u])) {
            fprintf(stderr, "bench: a record was dropped\n");
            exit(1);
        }
    }
    if (evd_flush(a, 120000)) {
        fprintf(stderr, "bench: flush timed out\n");
        exit(1);
    }
    double dt = now_s() - t0;
    evd_get_counters(a, &c);
    if (c.written != TOTAL || c.dropped) {
        fprintf(stderr, "bench: written %llu dropped %llu\n", (unsigned long long)c.written,
                (unsigned long long)c.dropped);
        exit(1);
    }
    evd_close(a);
    return TOTAL / dt;
}

/* The same rows, straight into SQLite, no rollups: the ceiling. */
static double run_sqlite(const char *dir, int run)
{
    char path[256];
    sqlite3 *db;
    sqlite3_stmt *q;
    snprintf(path, sizeof path, "%s/raw%d.db", dir, run);
    sqlite3_open(path, &db);
    sqlite3_exec(db,
                 "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"
                 "CREATE TABLE requests(id INTEGER NOT NULL, endpoint_id INTEGER NOT NULL, "
                 "ts_us INTEGER NOT NULL, duration_us INTEGER, status INTEGER, version_id "
                 "INTEGER, group_name TEXT, ip TEXT, instance_id INTEGER, PRIMARY "
                 "KEY(endpoint_id, ts_us, id)) WITHOUT ROWID;"
                 "CREATE INDEX r2 ON requests(ts_us);",
                 NULL, NULL, NULL);
    sqlite3_prepare_v2(db, "INSERT INTO requests VALUES(?7,?1,?2,?3,?4,1,?5,?6,1)", -1, &q, NULL);
    double t0 = now_s();
    long long ts = (long long)time(NULL) * 1000000;
    for (int i = 0; i < TOTAL; i++) {
        if (i % 4096 == 0)
            sqlite3_exec(db, i ? "COMMIT; BEGIN" : "BEGIN", NULL, NULL, NULL);
        int u = (int)((unsigned)i * 2654435761u % USERS);
        sqlite3_bind_int(q, 1, i % ENDPOINTS);
        sqlite3_bind_int64(q, 2, ts + i);
        sqlite3_bind_int(q, 3, 1);
        sqlite3_bind_int(q, 4, 200);
        sqlite3_bind_text(q, 5, users[u], -1, SQLITE_STATIC);
        sqlite3_bind_text(q, 6, ips[u], -1, SQLITE_STATIC);
        sqlite3_bind_int64(q, 7, i + 1);
        sqlite3_step(q);
        sqlite3_reset(q);
    }
    sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
    double dt = now_s() - t0;
    sqlite3_finalize(q);
    sqlite3_close(db);
    return TOTAL / dt;
}

int main(void)
{
    char dir[] = "/tmp/evd-ingest-XXXXXX";
    if (!mkdtemp(dir))
        return 1;
    for (int i = 0; i < USERS; i++) {
        snprintf(users[i], sizeof users[i], "user%d", i);
        snprintf(ips[i], sizeof ips[i], "10.%d.%d.%d", i / 65536, i / 256 % 256, i % 256);
    }
    double agent[RUNS], raw[RUNS];
    for (int r = 0; r < RUNS; r++) {
        raw[r] = run_sqlite(dir, r);
        agent[r] = run_agent(dir, r);
        printf("run %d: agent %.0f req/s, raw sqlite %.0f rows/s\n", r + 1, agent[r], raw[r]);
        fflush(stdout);
    }
    qsort(agent, RUNS, sizeof agent[0], cmp);
    qsort(raw, RUNS, sizeof raw[0], cmp);
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    char cmd[160];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (system(cmd))
        fprintf(stderr, "bench: could not remove %s\n", dir);
    printf("%d requests x %d runs, %d endpoints, %d users; 0 dropped\n", TOTAL, RUNS, ENDPOINTS,
           USERS);
    printf("raw SQLite insert (baseline, no rollups): %.0f rows/s\n", raw[RUNS / 2]);
    printf("agent end to end, rollups included:       %.0f req/s (%.2fx the baseline)\n",
           agent[RUNS / 2], agent[RUNS / 2] / raw[RUNS / 2]);
    printf("peak RSS: %.1f MB (target <= 32 MB)\n", ru.ru_maxrss / 1024.0);
    printf("ingest_req_per_s: %.0f req/s\n", agent[RUNS / 2]);
    return 0;
}

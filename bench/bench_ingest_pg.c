/* bench_ingest_pg.c — requests per second recorded end to end into one
 * local PostgreSQL by 4 processes at once (2 services x 2 instances),
 * rollups included, with zero drops.
 *
 *   usage: bench_ingest_pg SERVER_URL     (postgresql://user:pw@host:port,
 *                                          a superuser; run by make
 *                                          bench-ingest_pg under
 *                                          tests/pg/with_pg.sh --durable)
 *
 * Each process records TOTAL/4 requests over 50 endpoints and 1,000 users
 * as fast as its writer takes them (never more than half a ring in flight,
 * so nothing is dropped; the run fails if anything is).  The rate is TOTAL
 * over the wall time from the common start to the last process's last
 * commit.  Beside it, in the same run and on the same server:
 *
 *   - the agent with multi-row INSERT instead of COPY
 *     (EVODASH_PG_INGEST=insert), to say which the agent should use;
 *   - the raw COPY rate of the same rows by 4 connections into a table of
 *     the same shape and indexes, no rollups: the ceiling.
 *
 * Median of RUNS runs, each into a fresh database, after a CHECKPOINT.
 * Last line: ingest_pg_req_per_s: N req/s */
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "evodash.h"

#define TOTAL     1000000
#define PROCS     4
#define RUNS      3
#define ENDPOINTS 50
#define USERS     1000
#define RAW_CHUNK 65536

static const char *server;
static char users[USERS][16], ips[USERS][20];

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

static void die(const char *what, PGconn *c)
{
    fprintf(stderr, "bench_ingest_pg: %s: %s\n", what, c ? PQerrorMessage(c) : "");
    exit(1);
}

static void sql(PGconn *c, const char *q)
{
    PGresult *r = PQexec(c, q);
    ExecStatusType s = PQresultStatus(r);
    if (s != PGRES_COMMAND_OK && s != PGRES_TUPLES_OK)
        die(q, c);
    PQclear(r);
}

/* A fresh database named name; its URL into url. */
static void fresh_db(const char *name, char *url, size_t cap)
{
    char q[128], admin[512];
    snprintf(admin, sizeof admin, "%s/postgres", server);
    PGconn *c = PQconnectdb(admin);
    if (PQstatus(c) != CONNECTION_OK)
        die("connecting", c);
    snprintf(q, sizeof q, "DROP DATABASE IF EXISTS %s WITH (FORCE)", name);
    sql(c, q);
    snprintf(q, sizeof q, "CREATE DATABASE %s", name);
    sql(c, q);
    /* the previous run's writes out now, not by a checkpoint in this one */
    sql(c, "CHECKPOINT");
    PQfinish(c);
    snprintf(url, cap, "%s/%s", server, name);
}

static int ready_fd; /* a child writes a byte here once it is set up */

static void agent_child(const char *url, int p, int fd)
{
    evd_config *cfg = evd_config_new();
    char svc[16], inst[16];
    snprintf(svc, sizeof svc, "bench%d", p % 2);
    snprintf(inst, sizeof inst, "inst%d", p);
    evd_config_set(cfg, "DATABASE", url);
    evd_config_set(cfg, "APP_VERSION", "bench");
    evd_config_set(cfg, "SERVICE_NAME", svc);
    evd_config_set(cfg, "INSTANCE", inst);
    evd_agent *a;
    if (evd_open(cfg, &a)) {
        fprintf(stderr, "bench_ingest_pg: %s\n", evd_errmsg(a));
        _exit(1);
    }
    evd_config_free(cfg);
    int ep[ENDPOINTS];
    for (int i = 0; i < ENDPOINTS; i++) {
        char name[32];
        snprintf(name, sizeof name, "endpoint%02d", i);
        evd_endpoint_register(a, name, name, "GET", &ep[i]);
    }
    evd_flush(a, 30000); /* endpoints registered before the clock starts */
    char go = 1;
    if (write(ready_fd, &go, 1) != 1 || read(fd, &go, 1) != 1) /* the common start */
        _exit(1);
    uint64_t half = 65536 / 2;
    evd_counters c;
    int n = TOTAL / PROCS;
    for (int i = 0; i < n; i++) {
        if ((i & 1023) == 0) {
            for (;;) {
                evd_get_counters(a, &c);
                if (c.recorded - c.written - c.dropped < half)
                    break;
                struct timespec ts = {0, 200000};
                nanosleep(&ts, NULL);
            }
        }
        int u = (int)((unsigned)(i + p * n) * 2654435761u % USERS);
        evd_req r = evd_req_begin(a, ep[i % ENDPOINTS]);
        if (evd_req_end(&r, i % 50 ? 200 : 500, users[u], ips[u])) {
            fprintf(stderr, "bench_ingest_pg: a record was dropped\n");
            _exit(1);
        }
    }
    if (evd_flush(a, 300000))
        _exit(1);
    evd_get_counters(a, &c);
    if (c.written != (uint64_t)n || c.dropped)
        _exit(1);
    evd_close(a);
    _exit(0);
}

/* The same rows by COPY into a requests-shaped table: the ceiling. */
static void raw_child(const char *url, int p, int fd)
{
    PGconn *c = PQconnectdb(url);
    if (PQstatus(c) != CONNECTION_OK)
        die("connecting", c);
    char go = 1;
    if (write(ready_fd, &go, 1) != 1 || read(fd, &go, 1) != 1)
        _exit(1);
    int n = TOTAL / PROCS;
    size_t cap = (size_t)RAW_CHUNK * 128;
    char *buf = malloc(cap);
    int64_t ts = (int64_t)time(NULL) * 1000000;
    for (int done = 0; done < n;) {
        size_t len = 0;
        int k = 0;
        for (; k < RAW_CHUNK && done + k < n; k++) {
            int i = done + k, u = (int)((unsigned)(i + p * n) * 2654435761u % USERS);
            len +=
                (size_t)snprintf(buf + len, cap - len, "%lld\t%d\t%lld\t%d\t%d\t1\t%s\t%s\t%d\n",
                                 (long long)(p * n + i + 1), i % ENDPOINTS + 1, (long long)(ts + i),
                                 50 + i % 200, i % 50 ? 200 : 500, users[u], ips[u], p + 1);
        }
        sql(c, "BEGIN");
        PGresult *r = PQexec(c, "COPY raw(id, endpoint_id, ts_us, duration_us, status, version_id, "
                                "group_name, ip, instance_id) FROM STDIN");
        if (PQresultStatus(r) != PGRES_COPY_IN)
            die("COPY", c);
        PQclear(r);
        if (PQputCopyData(c, buf, (int)len) != 1 || PQputCopyEnd(c, NULL) != 1)
            die("COPY data", c);
        r = PQgetResult(c);
        if (PQresultStatus(r) != PGRES_COMMAND_OK)
            die("COPY end", c);
        PQclear(r);
        sql(c, "COMMIT");
        done += k;
    }
    free(buf);
    PQfinish(c);
    _exit(0);
}

/* Fork PROCS children of fn, start them together, wait; wall seconds. */
static double race(void (*fn)(const char *, int, int), const char *url)
{
    int fds[2], ready[2];
    pid_t pid[PROCS];
    if (pipe(fds) || pipe(ready))
        exit(1);
    ready_fd = ready[1];
    for (int p = 0; p < PROCS; p++)
        if ((pid[p] = fork()) == 0) {
            close(fds[1]);
            close(ready[0]);
            fn(url, p, fds[0]);
        }
    close(fds[0]);
    close(ready[1]);
    char ok[PROCS];
    for (size_t got = 0; got < PROCS;) { /* every child connected and registered */
        ssize_t k = read(ready[0], ok + got, PROCS - got);
        if (k <= 0) {
            fprintf(stderr, "bench_ingest_pg: a process failed to start\n");
            exit(1);
        }
        got += (size_t)k;
    }
    close(ready[0]);
    double t0 = now_s();
    char go[PROCS] = {0};
    if (write(fds[1], go, PROCS) != PROCS)
        exit(1);
    close(fds[1]);
    int bad = 0;
    for (int p = 0; p < PROCS; p++) {
        int ws;
        waitpid(pid[p], &ws, 0);
        bad |= !WIFEXITED(ws) || WEXITSTATUS(ws);
    }
    double dt = now_s() - t0;
    if (bad) {
        fprintf(stderr, "bench_ingest_pg: a process failed (a drop, or an error)\n");
        exit(1);
    }
    return dt;
}

static long long count(const char *url, const char *q)
{
    PGconn *c = PQconnectdb(url);
    if (PQstatus(c) != CONNECTION_OK)
        die("connecting", c);
    PGresult *r = PQexec(c, q);
    if (PQresultStatus(r) != PGRES_TUPLES_OK)
        die(q, c);
    long long n = atoll(PQgetvalue(r, 0, 0));
    PQclear(r);
    PQfinish(c);
    return n;
}

static double run_agent(int run, const char *mode)
{
    char url[512], name[32];
    snprintf(name, sizeof name, "bench_%s_%d", mode, run);
    fresh_db(name, url, sizeof url);
    /* migrate once, as a deployment's first process does */
    evd_config *cfg = evd_config_new();
    evd_config_set(cfg, "DATABASE", url);
    evd_agent *a;
    if (evd_open(cfg, &a))
        die(evd_errmsg(a), NULL);
    evd_close(a);
    evd_config_free(cfg);
    if (!strcmp(mode, "insert"))
        setenv("EVODASH_PG_INGEST", "insert", 1);
    else
        unsetenv("EVODASH_PG_INGEST");
    double dt = race(agent_child, url);
    long long n = count(url, "SELECT count(*) FROM requests");
    long long r = count(url, "SELECT sum(count) FROM rollups");
    if (n != TOTAL || r != TOTAL) {
        fprintf(stderr, "bench_ingest_pg: stored %lld requests, %lld in rollups\n", n, r);
        exit(1);
    }
    return TOTAL / dt;
}

static double run_raw(int run)
{
    char url[512], name[32];
    snprintf(name, sizeof name, "bench_raw_%d", run);
    fresh_db(name, url, sizeof url);
    PGconn *c = PQconnectdb(url);
    if (PQstatus(c) != CONNECTION_OK)
        die("connecting", c);
    sql(c, "CREATE TABLE raw(id BIGINT NOT NULL, endpoint_id BIGINT NOT NULL, ts_us BIGINT NOT "
           "NULL, duration_us BIGINT NOT NULL, status BIGINT NOT NULL, version_id BIGINT NOT NULL, "
           "group_name TEXT, ip TEXT, instance_id BIGINT NOT NULL, PRIMARY KEY(endpoint_id, "
           "ts_us, id))");
    sql(c, "CREATE INDEX raw_ts ON raw USING brin(ts_us)");
    PQfinish(c);
    double dt = race(raw_child, url);
    if (count(url, "SELECT count(*) FROM raw") != TOTAL)
        exit(1);
    return TOTAL / dt;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: bench_ingest_pg SERVER_URL (see tests/pg/with_pg.sh)\n");
        return 2;
    }
    server = argv[1];
    for (int i = 0; i < USERS; i++) {
        snprintf(users[i], sizeof users[i], "user%d", i);
        snprintf(ips[i], sizeof ips[i], "10.%d.%d.%d", i / 65536, i / 256 % 256, i % 256);
    }
    double copy[RUNS], ins[RUNS], raw[RUNS];
    for (int r = 0; r < RUNS; r++) {
        raw[r] = run_raw(r);
        copy[r] = run_agent(r, "copy");
        ins[r] = run_agent(r, "insert");
        printf("run %d: agent (COPY) %.0f req/s, agent (multi-row INSERT) %.0f req/s, raw COPY "
               "%.0f rows/s\n",
               r + 1, copy[r], ins[r], raw[r]);
        fflush(stdout);
    }
    qsort(copy, RUNS, sizeof copy[0], cmp);
    qsort(ins, RUNS, sizeof ins[0], cmp);
    qsort(raw, RUNS, sizeof raw[0], cmp);
    printf("%d requests x %d runs from %d processes (2 services x 2 instances), %d endpoints, "
           "%d users; 0 dropped, every row counted\n",
           TOTAL, RUNS, PROCS, ENDPOINTS, USERS);
    printf("raw COPY of the same rows (baseline, no rollups): %.0f rows/s\n", raw[RUNS / 2]);
    printf("agent, multi-row INSERT:                         %.0f req/s (%.2fx the baseline)\n",
           ins[RUNS / 2], ins[RUNS / 2] / raw[RUNS / 2]);
    printf("agent, COPY (what it uses):                      %.0f req/s (%.2fx the baseline)\n",
           copy[RUNS / 2], copy[RUNS / 2] / raw[RUNS / 2]);
    printf("ingest_pg_req_per_s: %.0f req/s\n", copy[RUNS / 2]);
    return 0;
}

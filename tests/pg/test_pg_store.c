/* test_pg_store.c — the PostgreSQL backend against a real server (run by
 * `make check-pg-store` under tests/pg/with_pg.sh): the schema it creates,
 * databases it must refuse, clear errors without the password, four
 * processes of two services writing one database at once, a connection
 * lost between transactions, COPY's escaping, pruning in batches, and
 * raw scans streamed and in slices. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>

#include "evodash.h"
#include "store/read.h"
#include "store/store.h"
#include "testutil.h"

/* Run sql in database db (psql, as the superuser). */
static int pg_exec(const char *db, const char *sql)
{
    char cmd[1200];
    snprintf(cmd, sizeof cmd, "'%s/psql' '%s/%s' -qc \"%s\" >/dev/null 2>&1",
             getenv("EVODASH_TEST_PG_BIN"), getenv("EVODASH_TEST_PG"), db, sql);
    return system(cmd);
}

static int64_t q1(store *st, const char *sql)
{
    int64_t v;
    int rc = store_query_int(st, sql, &v);
    if (rc)
        fail_msg("%s: %s", sql, store_errmsg(st));
    return v;
}

static void test_fresh_schema(void **state)
{
    (void)state;
    store *st;
    int v;
    assert_int_equal(store_open(tu_url, 0, &st), 0);
    assert_string_equal(store_backend_name(st), "PostgreSQL");
    assert_int_equal(store_schema_version(st, &v), 0);
    assert_int_equal(v, STORE_SCHEMA_VERSION);
    const char *tables[] = {"versions",         "endpoints",     "requests",  "outliers",
                            "profiler_samples", "test_runs",     "rollups",   "users",
                            "sessions",         "settings",      "instances", "profiled",
                            "services",         "endpoint_drops"};
    for (size_t i = 0; i < sizeof tables / sizeof tables[0]; i++) {
        char sql[160];
        snprintf(sql, sizeof sql, "SELECT count(*) FROM pg_tables WHERE tablename = '%s'",
                 tables[i]);
        if (q1(st, sql) != 1)
            fail_msg("table %s missing", tables[i]);
    }
    /* ids come from a sequence that hands out blocks */
    assert_int_equal(q1(st, "SELECT increment_by FROM pg_sequences WHERE sequencename = "
                            "'request_ids_seq'"),
                     1024);
    /* opening again (another process) migrates nothing twice */
    store *st2;
    assert_int_equal(store_open(tu_url, 0, &st2), 0);
    assert_int_equal(q1(st2, "SELECT count(*) FROM schema_version"), 1);
    store_close(st2);
    store_close(st);
}

static void test_foreign_database_refused(void **state)
{
    (void)state;
    store *st;
    assert_int_equal(pg_exec(tu_pgname, "CREATE TABLE theirs(x int)"), 0);
    assert_int_equal(store_open(tu_url, 0, &st), EVD_ECORRUPT);
    assert_non_null(strstr(store_errmsg(st), "not an evodash store"));
    store_close(st);
    /* and nothing of ours was added */
    assert_int_equal(store_open(tu_url, STORE_NOMIGRATE, &st), 0);
    assert_int_equal(q1(st, "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'"), 1);
    store_close(st);
}

static void test_errors_without_password(void **state)
{
    (void)state;
    store *st;
    char url[400], pw[64];
    /* the test server's password, to check it is never shown */
    const char *base = getenv("EVODASH_TEST_PG");
    const char *colon = strchr(base + 13, ':'), *at = strchr(base, '@');
    snprintf(pw, sizeof pw, "%.*s", (int)(at - colon - 1), colon + 1);

    snprintf(url, sizeof url, "postgresql://evodash:wrong-%s@%s/%s", pw, at + 1, tu_pgname);
    assert_int_not_equal(store_open(url, 0, &st), 0);
    assert_non_null(strstr(store_errmsg(st), "password authentication failed"));
    assert_null(strstr(store_errmsg(st), pw));
    assert_non_null(strstr(store_errmsg(st), "evodash:***@"));
    store_close(st);

    /* nothing listens on port 1 */
    assert_int_not_equal(store_open("postgresql://evodash:hunter2@127.0.0.1:1/x", 0, &st), 0);
    assert_non_null(strstr(store_errmsg(st), "cannot connect"));
    assert_null(strstr(store_errmsg(st), "hunter2"));
    store_close(st);

    /* the keyword form works, and is masked the same way */
    const char *port = strrchr(base, ':') + 1;
    snprintf(url, sizeof url, "host=127.0.0.1 port=%s dbname=%s user=evodash password=%s", port,
             tu_pgname, pw);
    assert_int_equal(store_open(url, 0, &st), 0);
    assert_null(strstr(store_display_url(st), pw));
    assert_non_null(strstr(store_display_url(st), "password=***"));
    store_close(st);
}

/* A database whose schema belongs to someone else: our user may connect
 * but not create tables (PostgreSQL 15 grants no CREATE on public). */
static void test_no_privilege(void **state)
{
    (void)state;
    store *st;
    char url[400];
    assert_int_equal(pg_exec("postgres", "DROP ROLE IF EXISTS visitor"), 0);
    assert_int_equal(pg_exec("postgres", "CREATE ROLE visitor LOGIN PASSWORD 'visitor-pw'"), 0);
    const char *at = strchr(getenv("EVODASH_TEST_PG"), '@');
    snprintf(url, sizeof url, "postgresql://visitor:visitor-pw@%s/%s", at + 1, tu_pgname);
    assert_int_not_equal(store_open(url, 0, &st), 0);
    assert_non_null(strstr(store_errmsg(st), "permission denied"));
    assert_non_null(strstr(store_errmsg(st), "lacks a privilege"));
    store_close(st);
    pg_exec("postgres", "DROP OWNED BY visitor; DROP ROLE visitor");
}

/* Four processes, two services with two instances each, write one
 * database at once: every request stored once, with its own id, and the
 * counts per service and per instance exact. */
#define WRITERS    4
#define PER_WRITER 20000

static void writer_child(int i)
{
    evd_config *cfg = evd_config_new();
    char svc[16], inst[16];
    snprintf(svc, sizeof svc, "svc%d", i % 2);
    snprintf(inst, sizeof inst, "inst%d", i);
    evd_config_set(cfg, "DATABASE", tu_url);
    evd_config_set(cfg, "SERVICE_NAME", svc);
    evd_config_set(cfg, "INSTANCE", inst);
    evd_config_set(cfg, "APP_VERSION", i < 2 ? "v1" : "v2");
    evd_agent *a;
    if (evd_open(cfg, &a)) {
        fprintf(stderr, "child %d: %s\n", i, evd_errmsg(a));
        _exit(1);
    }
    evd_config_free(cfg);
    int ep[3];
    const char *names[] = {"index", "api.users", "api.orders"};
    for (int e = 0; e < 3; e++)
        evd_endpoint_register(a, names[e], NULL, NULL, &ep[e]);
    int lost = 0;
    for (int k = 0; k < PER_WRITER; k++) {
        evd_req r = evd_req_begin(a, ep[k % 3]);
        /* stay under the ring's bound: this test is about exactness */
        if (evd_req_end(&r, k % 50 ? 200 : 500, "g", "10.0.0.1") == EVD_EFULL)
            lost++;
        if (k % 4096 == 4095)
            evd_flush(a, 20000);
    }
    int rc = evd_close(a);
    _exit(rc || lost ? 2 : 0);
}

static void test_four_writers(void **state)
{
    (void)state;
    store *st;
    /* migrated once up front, as a deployment's first process would */
    assert_int_equal(store_open(tu_url, 0, &st), 0);
    store_close(st);
    pid_t pid[WRITERS];
    for (int i = 0; i < WRITERS; i++)
        if ((pid[i] = fork()) == 0)
            writer_child(i);
    for (int i = 0; i < WRITERS; i++) {
        int ws;
        waitpid(pid[i], &ws, 0);
        assert_true(WIFEXITED(ws));
        assert_int_equal(WEXITSTATUS(ws), 0);
    }
    assert_int_equal(store_open(tu_url, STORE_RDONLY, &st), 0);
    assert_int_equal(q1(st, "SELECT count(*) FROM requests"), WRITERS * PER_WRITER);
    assert_int_equal(q1(st, "SELECT count(DISTINCT id) FROM requests"), WRITERS * PER_WRITER);
    assert_int_equal(q1(st, "SELECT count(*) FROM services"), 2);
    assert_int_equal(q1(st, "SELECT count(*) FROM endpoints"), 6);
    assert_int_equal(q1(st, "SELECT count(*) FROM instances"), WRITERS);
    assert_int_equal(q1(st, "SELECT sum(count) FROM rollups"), WRITERS * PER_WRITER);
    assert_int_equal(q1(st, "SELECT sum(s5xx) FROM rollups"),
                     q1(st, "SELECT count(*) FROM requests WHERE status = 500"));
    for (int i = 0; i < WRITERS; i++) {
        char sql[300];
        snprintf(sql, sizeof sql,
                 "SELECT count(*) FROM requests r JOIN instances i ON i.id = r.instance_id JOIN "
                 "endpoints e ON e.id = r.endpoint_id JOIN services s ON s.id = e.service_id "
                 "WHERE i.name = 'inst%d' AND s.name = 'svc%d' AND i.service_id = s.id",
                 i, i % 2);
        assert_int_equal(q1(st, sql), PER_WRITER);
        snprintf(sql, sizeof sql, "SELECT written FROM instances WHERE name = 'inst%d'", i);
        assert_int_equal(q1(st, sql), PER_WRITER);
        snprintf(sql, sizeof sql,
                 "SELECT sum(r.count) FROM rollups r JOIN instances i ON i.id = r.instance_id "
                 "WHERE i.name = 'inst%d'",
                 i);
        assert_int_equal(q1(st, sql), PER_WRITER);
    }
    /* the dashboard's reading of it, per service */
    int64_t svc;
    store_totals t;
    assert_int_equal(store_service_find(st, "svc1", &svc), 0);
    assert_int_equal(store_totals_get(st, &t), 0);
    assert_int_equal(t.requests, WRITERS * PER_WRITER);
    assert_int_equal(t.services, 2);
    store_close(st);
}

/* A store with this process's instance, version "v1" and endpoint "e",
 * inside a transaction. */
static store *one_endpoint(int64_t *inst, int64_t *ep, int64_t *ver)
{
    store *st;
    int64_t svc;
    int level;
    assert_int_equal(store_open(tu_url, 0, &st), 0);
    assert_int_equal(store_begin(st), 0);
    assert_int_equal(tu_register(st, &svc, inst), 0);
    assert_int_equal(store_version_touch(st, "v1", 1, ver), 0);
    assert_int_equal(store_endpoint_upsert(st, svc, "e", NULL, NULL, 1, ep, &level), 0);
    return st;
}

/* A connection that the server drops between transactions is normal
 * operation: the next transaction reconnects. */
static void test_reconnect(void **state)
{
    (void)state;
    int64_t inst, ep, ver;
    store *st = one_endpoint(&inst, &ep, &ver);
    assert_int_equal(store_commit(st), 0);
    char sql[200];
    snprintf(sql, sizeof sql,
             "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '%s' AND "
             "application_name = 'evodash'",
             tu_pgname);
    assert_int_equal(pg_exec("postgres", sql), 0);
    store_request r = {.endpoint_id = ep,
                       .version_id = ver,
                       .instance_id = inst,
                       .ts_us = 5,
                       .duration_us = 7,
                       .status = 200};
    assert_int_equal(store_begin(st), 0);
    assert_int_equal(store_insert_request(st, &r, NULL), 0);
    assert_int_equal(store_commit(st), 0);
    assert_int_equal(q1(st, "SELECT count(*) FROM requests"), 1);
    store_close(st);
}

/* COPY's text format: tabs, line breaks and backslashes in a group name
 * arrive as they were; bytes that are not UTF-8 become '?' rather than
 * failing the batch. */
static void test_copy_escaping(void **state)
{
    (void)state;
    int64_t inst, ep, ver;
    store *st = one_endpoint(&inst, &ep, &ver);
    const char *groups[] = {"a\tb", "line\nbreak", "back\\slash", "bad\xff\xfe", "\\N"};
    for (int i = 0; i < 5; i++) {
        store_request r = {.endpoint_id = ep,
                           .version_id = ver,
                           .instance_id = inst,
                           .ts_us = 100 + i,
                           .duration_us = 7,
                           .status = 200,
                           .group = groups[i],
                           .ip = "::1"};
        assert_int_equal(store_insert_request(st, &r, NULL), 0);
    }
    assert_int_equal(store_commit(st), 0);
    assert_int_equal(q1(st, "SELECT count(*) FROM requests WHERE group_name = E'a\\tb'"), 1);
    assert_int_equal(q1(st, "SELECT count(*) FROM requests WHERE group_name = E'line\\nbreak'"), 1);
    assert_int_equal(q1(st, "SELECT count(*) FROM requests WHERE group_name = E'back\\\\slash'"),
                     1);
    assert_int_equal(q1(st, "SELECT count(*) FROM requests WHERE group_name = 'bad?"
                            "?'"),
                     1);
    assert_int_equal(q1(st, "SELECT count(*) FROM requests WHERE group_name = E'\\\\N'"), 1);
    store_close(st);
}

/* Retention deletes in small batches, oldest first; rollups stay. */
static void test_prune_batches(void **state)
{
    (void)state;
    int64_t inst, ep, ver;
    store *st = one_endpoint(&inst, &ep, &ver);
    store_rollup_acc acc;
    assert_int_equal(store_rollup_acc_init(&acc), 0);
    for (int i = 0; i < 5000; i++) {
        store_request r = {.endpoint_id = ep,
                           .version_id = ver,
                           .instance_id = inst,
                           .ts_us = 1000000 + (int64_t)i * 1000,
                           .duration_us = 7,
                           .status = 200};
        int64_t id;
        assert_int_equal(store_insert_request(st, &r, &id), 0);
        store_rollup_acc_add(&acc, 7, 7, 200);
        if (i % 100 == 0) {
            store_outlier o = {.request_id = id, .endpoint_id = ep, .ts_us = r.ts_us};
            assert_int_equal(store_insert_outlier(st, &o), 0);
        }
    }
    assert_int_equal(store_rollup_acc_merge(st, &acc, ep, ver, 0, inst), 0);
    assert_int_equal(store_commit(st), 0);
    store_rollup_acc_free(&acc);
    /* everything before t = 1 s + 3000 ms */
    int64_t cutoff = 1000000 + 3000 * 1000, total = 0;
    store_pruned n;
    int batches = 0;
    do {
        assert_int_equal(store_prune_batch(st, cutoff, 1000, &n), 0);
        assert_true(n.requests <= 1000);
        total += n.requests;
        batches++;
    } while (n.requests || n.outliers);
    assert_int_equal(total, 3000);
    assert_true(batches >= 3);
    assert_int_equal(q1(st, "SELECT count(*) FROM requests"), 2000);
    assert_int_equal(q1(st, "SELECT count(*) FROM outliers"), 20);
    assert_int_equal(q1(st, "SELECT sum(count) FROM rollups"), 5000);
    store_close(st);
}

/* A raw scan, as the dashboard reads it: every row once, newest first,
 * with its texts (NULL ones read "", an 8-byte one is no integer, one
 * before a NULL ends where it should) and its integers, whether it is streamed or read in slices on
 * two connections; and a scan stopped early leaves both connections free. */
typedef struct scan_seen {
    int n, stop_at;
    int64_t last_ts;
} scan_seen;

static int scan_check(void *u, const store_raw_row *r)
{
    scan_seen *s = u;
    int i = (int)(r->ts_us / 1000) - 1; /* row i is at (i + 1) ms */
    char ip[16], group[16];
    snprintf(ip, sizeof ip, "10.0.0.%d", i % 10);
    snprintf(group, sizeof group, "g:%d", i);
    assert_int_equal(i, 499 - s->n); /* newest first, none missed */
    assert_string_equal(r->group, i % 3 ? group : "");
    assert_string_equal(r->ip, i % 7 ? ip : "");
    assert_int_equal(r->duration_us, (int64_t)i * 3 + 1);
    assert_int_equal(r->status, 200 + i % 5);
    s->last_ts = r->ts_us;
    return ++s->n == s->stop_at;
}

static void test_sliced_scans(void **state)
{
    (void)state;
    int64_t inst, ep, ver;
    store *st = one_endpoint(&inst, &ep, &ver);
    store_rollup_acc acc;
    assert_int_equal(store_rollup_acc_init(&acc), 0);
    for (int i = 0; i < 500; i++) {
        char group[16], ip[16];
        snprintf(group, sizeof group, "g:%d", i);
        snprintf(ip, sizeof ip, "10.0.0.%d", i % 10);
        store_request r = {.endpoint_id = ep,
                           .version_id = ver,
                           .instance_id = inst,
                           .ts_us = (int64_t)(i + 1) * 1000,
                           .duration_us = (int64_t)i * 3 + 1,
                           .status = 200 + i % 5,
                           .group = i % 3 ? group : NULL,
                           .ip = i % 7 ? ip : NULL};
        assert_int_equal(store_insert_request(st, &r, NULL), 0);
        store_rollup_acc_add(&acc, r.duration_us, (double)r.duration_us, r.status);
    }
    assert_int_equal(store_rollup_acc_merge(st, &acc, ep, ver, 0, inst), 0);
    assert_int_equal(store_commit(st), 0);
    store_rollup_acc_free(&acc);
    const char *sizes[] = {"1000000000", "50", "7"}; /* streamed; 10 slices; 72 */
    for (int k = 0; k < 3; k++) {
        setenv("EVODASH_PG_SLICE_ROWS", sizes[k], 1);
        scan_seen all = {0};
        assert_int_equal(store_raw_scan(st, NULL, ep, 0, 1000000000, scan_check, &all), 0);
        assert_int_equal(all.n, 500);
        scan_seen some = {.stop_at = 123};
        assert_int_equal(store_raw_scan(st, NULL, ep, 0, 1000000000, scan_check, &some), 1);
        assert_int_equal(some.n, 123);
        assert_int_equal(some.last_ts, (500 - 122) * 1000);
        assert_int_equal(q1(st, "SELECT count(*) FROM requests"), 500);
        all = (scan_seen){0};
        assert_int_equal(store_raw_scan(st, NULL, ep, 0, 1000000000, scan_check, &all), 0);
        assert_int_equal(all.n, 500);
    }
    unsetenv("EVODASH_PG_SLICE_ROWS");
    store_close(st);
}

int main(void)
{
    if (!getenv("EVODASH_TEST_PG")) {
        fprintf(stderr, "test_pg_store: run it under tests/pg/with_pg.sh\n");
        return 1;
    }
    setenv("EVODASH_TEST_UNIT_PG", "1", 1);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_fresh_schema, tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(test_foreign_database_refused, tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(test_errors_without_password, tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(test_no_privilege, tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(test_four_writers, tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(test_reconnect, tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(test_copy_escaping, tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(test_prune_batches, tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(test_sliced_scans, tu_setup, tu_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

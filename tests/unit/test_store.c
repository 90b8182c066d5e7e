/* test_store.c — the store: migrations (from empty and from an older
 * schema), refusing newer and foreign databases, two processes writing one
 * file, nothing lost across close, fork, and the faults: a corrupt or
 * truncated file, a read-only folder, a full disk. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <sqlite3.h>

#include "evodash.h"
#include "store/store.h"
#include "testutil.h"

static int open_agent(evd_agent **a, const char *dburl)
{
    evd_config *cfg = evd_config_new();
    evd_config_set(cfg, "DATABASE", dburl);
    evd_config_set(cfg, "APP_VERSION", "v1");
    int rc = evd_open(cfg, a);
    evd_config_free(cfg);
    return rc;
}

static void record(evd_agent *a, int ep, int n)
{
    for (int i = 0; i < n; i++) {
        evd_req r = evd_req_begin(a, ep);
        assert_int_equal(evd_req_end(&r, 200, "g", "::1"), 0);
    }
}

static void test_url_forms(void **state)
{
    (void)state;
    char out[256], err[256];
    assert_int_equal(store_url_path("sqlite:///rel.db", out, sizeof out, err, sizeof err), 0);
    assert_string_equal(out, "rel.db");
    assert_int_equal(store_url_path("sqlite:////abs/x.db", out, sizeof out, err, sizeof err), 0);
    assert_string_equal(out, "/abs/x.db");
    assert_int_equal(store_url_path("plain.db", out, sizeof out, err, sizeof err), 0);
    assert_int_equal(store_url_path("mysql://x", out, sizeof out, err, sizeof err), EVD_EINVAL);
    assert_non_null(strstr(err, "scheme"));
    assert_int_equal(store_url_path("sqlite://", out, sizeof out, err, sizeof err), EVD_EINVAL);
    assert_int_equal(store_url_path("", out, sizeof out, err, sizeof err), EVD_EINVAL);
}

/* A password in a DATABASE URL is never shown: URL and keyword forms. */
static void test_url_redact(void **state)
{
    (void)state;
    static const char *const cases[][2] = {
        {"postgresql://u:hunter2@db.example:5432/evd", "postgresql://u:***@db.example:5432/evd"},
        {"postgres://u:p%40ss:w@h/db?sslmode=require", "postgres://u:***@h/db?sslmode=require"},
        {"postgresql://u@h/db?password=hunter2&x=1", "postgresql://u@h/db?password=***&x=1"},
        {"postgresql://h/db", "postgresql://h/db"},
        {"host=h dbname=d password=hunter2 user=u", "host=h dbname=d password=*** user=u"},
        {"host=h password = 'hun ter\\'2' user=u", "host=h password = *** user=u"},
        {"sqlite:///x.db", "sqlite:///x.db"},
    };
    char out[256];
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        store_url_redact(cases[i][0], out, sizeof out);
        if (strcmp(out, cases[i][1]))
            fail_msg("redact(%s) = %s, want %s", cases[i][0], out, cases[i][1]);
        assert_null(strstr(out, "hunter2"));
    }
    assert_int_equal(store_url_kind("postgresql://h/d"), STORE_URL_PG);
    assert_int_equal(store_url_kind("host=h dbname=d"), STORE_URL_PG);
    assert_int_equal(store_url_kind("sqlite:///x.db"), STORE_URL_SQLITE);
    assert_int_equal(store_url_kind("plain.db"), STORE_URL_SQLITE);
}

static void test_migrate_from_empty(void **state)
{
    (void)state;
    store *st;
    int v;
    assert_int_equal(store_open(tu_url, STORE_RDONLY, &st), EVD_EIO); /* no file yet */
    assert_non_null(strstr(store_errmsg(st), tu_db));
    store_close(st);
    sqlite3 *h;
    sqlite3_open(tu_db, &h);
    sqlite3_close(h); /* an empty database file */
    assert_int_equal(store_open(tu_url, STORE_RDONLY, &st), EVD_ECORRUPT); /* no schema */
    store_close(st);
    assert_int_equal(store_open(tu_url, 0, &st), 0);
    assert_int_equal(store_schema_version(st, &v), 0);
    assert_int_equal(v, STORE_SCHEMA_VERSION);
    store_close(st);
    const char *tables[] = {"versions",  "endpoints", "requests",   "outliers", "profiler_samples",
                            "test_runs", "rollups",   "users",      "sessions", "settings",
                            "instances", "profiled",  "request_ids"};
    for (size_t i = 0; i < sizeof tables / sizeof tables[0]; i++) {
        char sql[128];
        snprintf(sql, sizeof sql, "SELECT count(*) FROM sqlite_master WHERE name = '%s'",
                 tables[i]);
        if (tu_sql_int(tu_db, sql) != 1)
            fail_msg("table %s missing", tables[i]);
    }
    /* requests are clustered by (endpoint, time): no rowid, no second index */
    assert_int_equal(tu_sql_int(tu_db, "SELECT count(*) FROM sqlite_master WHERE name = 'requests' "
                                       "AND sql LIKE '%WITHOUT ROWID%'"),
                     1);
    assert_int_equal(tu_sql_int(tu_db, "SELECT count(*) FROM sqlite_master WHERE type = 'index' "
                                       "AND name = 'requests_ts'"),
                     1);
    char *mode = tu_sql_text(tu_db, "PRAGMA journal_mode");
    assert_string_equal(mode, "wal");
    free(mode);
}

static void test_upgrade_from_older_keeps_data(void **state)
{
    (void)state;
    store *st;
    int v, level;
    int64_t id;
    /* a version-1 store, made by the first migration, holding data */
    assert_int_equal(store_open(tu_url, STORE_NOMIGRATE, &st), 0);
    assert_int_equal(store_migrate_to(st, 1), 0);
    assert_int_equal(store_schema_version(st, &v), 0);
    assert_int_equal(v, 1);
    store_close(st);
    assert_int_equal(tu_sql_int(tu_db, "SELECT count(*) FROM sqlite_master WHERE name='rollups'"),
                     0);
    sqlite3 *h;
    sqlite3_open(tu_db, &h);
    assert_int_equal(
        sqlite3_exec(h, "INSERT INTO endpoints(name, level) VALUES('old', 3)", NULL, NULL, NULL),
        SQLITE_OK);
    sqlite3_close(h);
    /* opening it upgrades it, keeping what it held */
    assert_int_equal(store_open(tu_url, 0, &st), 0);
    assert_int_equal(store_schema_version(st, &v), 0);
    assert_int_equal(v, STORE_SCHEMA_VERSION);
    int64_t svc;
    /* the first service to register takes over the older store's endpoints */
    assert_int_equal(store_service_register(st, "svc", 1, &svc), 0);
    assert_int_equal(store_endpoint_upsert(st, svc, "old", "/old", NULL, 1, &id, &level), 0);
    assert_int_equal(level, 3);
    store_close(st);
    assert_int_equal(tu_sql_int(tu_db, "SELECT count(*) FROM rollups"), 0); /* table exists now */
    assert_int_equal(tu_sql_int(tu_db, "SELECT count(*) FROM endpoints WHERE rule = '/old'"), 1);
}

/* Version 3 kept requests in rowid order; version 4 clusters them by
 * (endpoint, time) and lists profiled requests.  The upgrade keeps every
 * row and id, and new ids continue above the old ones. */
static void test_upgrade_3_to_4_clusters_requests(void **state)
{
    (void)state;
    store *st;
    int64_t id;
    assert_int_equal(store_open(tu_url, STORE_NOMIGRATE, &st), 0);
    assert_int_equal(store_migrate_to(st, 3), 0);
    store_close(st);
    sqlite3 *h;
    sqlite3_open(tu_db, &h);
    assert_int_equal(
        sqlite3_exec(h,
                     "INSERT INTO endpoints(id, name) VALUES(1, 'a'), (2, 'b');"
                     "INSERT INTO versions VALUES(1, 'v1', 0, 0);"
                     "INSERT INTO requests VALUES(7, 2, 500, 10, 200, 1, 'g', NULL, 1),"
                     "(8, 1, 400, 20, 500, 1, NULL, '::1', 1),"
                     "(40, 1, 300, 30, 404, 1, 'h', '::2', 1);"
                     "INSERT INTO profiler_samples(request_id, position, indent, "
                     "function, duration_us, samples) VALUES(8, 0, 0, 'f', 20, 1), "
                     "(8, 1, 1, 'g', 5, 1);",
                     NULL, NULL, NULL),
        SQLITE_OK);
    sqlite3_close(h);
    assert_int_equal(store_open(tu_url, 0, &st), 0);
    store_request r = {.endpoint_id = 1, .version_id = 1, .instance_id = 1, .ts_us = 600};
    assert_int_equal(store_insert_request(st, &r, &id), 0);
    assert_true(id > 40);
    store_close(st);
    assert_int_equal(tu_sql_int(tu_db, "SELECT count(*) FROM requests"), 4);
    /* the old rows, whole, now read back in (endpoint, time) order */
    char *ids = tu_sql_text(tu_db, "SELECT group_concat(id || ':' || duration_us || ':' || "
                                   "status || ':' || coalesce(group_name, '-') || ':' || "
                                   "coalesce(ip, '-'), ' ') FROM (SELECT * FROM requests WHERE "
                                   "id < 41)");
    assert_string_equal(ids, "40:30:404:h:::2 8:20:500:-:::1 7:10:200:g:-");
    free(ids);
    assert_int_equal(tu_sql_int(tu_db, "SELECT count(*) FROM profiled WHERE request_id = 8 AND "
                                       "endpoint_id = 1 AND ts_us = 400 AND duration_us = 20"),
                     1);
    assert_int_equal(tu_sql_int(tu_db, "SELECT count(*) FROM profiled"), 1);
}

/* Ids are reserved in blocks inside the writing transaction: a rolled
 * back block is handed out again, never twice once committed. */
static void test_request_ids_survive_rollback(void **state)
{
    (void)state;
    store *st, *other;
    int64_t a, b, c;
    assert_int_equal(store_open(tu_url, 0, &st), 0);
    assert_int_equal(store_open(tu_url, 0, &other), 0);
    store_request r = {.endpoint_id = 1, .version_id = 1, .instance_id = 1, .ts_us = 1};
    assert_int_equal(store_begin(st), 0);
    assert_int_equal(store_insert_request(st, &r, &a), 0);
    store_rollback(st);
    assert_int_equal(store_begin(other), 0);
    assert_int_equal(store_insert_request(other, &r, &b), 0);
    assert_int_equal(store_commit(other), 0);
    assert_int_equal(b, a); /* the rolled-back block was free again */
    assert_int_equal(store_begin(st), 0);
    assert_int_equal(store_insert_request(st, &r, &c), 0);
    assert_int_equal(store_commit(st), 0);
    assert_true(c != b);
    r.ts_us = 2;
    assert_int_equal(store_insert_request(other, &r, &a), 0); /* autocommit, same block */
    assert_int_equal(a, b + 1);
    store_close(st);
    store_close(other);
    assert_int_equal(tu_sql_int(tu_db, "SELECT count(DISTINCT id) FROM requests"), 3);
}

static void test_newer_and_foreign_refused(void **state)
{
    (void)state;
    store *st;
    sqlite3 *h;
    assert_int_equal(store_open(tu_url, 0, &st), 0);
    store_close(st);
    sqlite3_open(tu_db, &h);
    sqlite3_exec(h, "UPDATE schema_version SET version = 99", NULL, NULL, NULL);
    sqlite3_close(h);
    assert_int_equal(store_open(tu_url, 0, &st), EVD_ESCHEMA);
    assert_non_null(strstr(store_errmsg(st), "newer"));
    store_close(st);
    unlink(tu_db);
    sqlite3_open(tu_db, &h);
    sqlite3_exec(h, "CREATE TABLE customers(id INTEGER)", NULL, NULL, NULL);
    sqlite3_close(h);
    assert_int_equal(store_open(tu_url, 0, &st), EVD_ECORRUPT);
    assert_non_null(strstr(store_errmsg(st), "not an evodash store"));
    store_close(st);
    assert_int_equal(tu_sql_int(tu_db, "SELECT count(*) FROM sqlite_master"), 1); /* untouched */
}

static void test_corrupt_and_truncated_file(void **state)
{
    (void)state;
    store *st;
    evd_agent *a;
    /* garbage */
    int fd = open(tu_db, O_CREAT | O_WRONLY | O_TRUNC, 0644);
    char junk[8192];
    for (size_t i = 0; i < sizeof junk; i++)
        junk[i] = (char)(i * 7919);
    assert_int_equal(write(fd, junk, sizeof junk), (ssize_t)sizeof junk);
    close(fd);
    assert_int_equal(store_open(tu_url, 0, &st), EVD_ECORRUPT);
    assert_non_null(strstr(store_errmsg(st), tu_db));
    store_close(st);
    /* the agent reports it, keeps serving, and counts what it cannot keep */
    int rc = open_agent(&a, tu_url);
    assert_int_equal(rc, EVD_ECORRUPT);
    assert_non_null(strstr(evd_errmsg(a), "not a database"));
    int ep;
    assert_int_equal(evd_endpoint_register(a, "e", NULL, NULL, &ep), 0);
    record(a, ep, 100);
    evd_flush(a, 10000);
    evd_counters c;
    evd_get_counters(a, &c);
    assert_int_equal(c.recorded, 100);
    assert_int_equal(c.written, 0);
    assert_int_equal(c.dropped, 100);
    evd_close(a);
    /* the file was not changed */
    fd = open(tu_db, O_RDONLY);
    char back[8192];
    assert_int_equal(read(fd, back, sizeof back), (ssize_t)sizeof back);
    close(fd);
    assert_memory_equal(back, junk, sizeof junk);

    /* a real store cut in half */
    unlink(tu_db);
    assert_int_equal(open_agent(&a, tu_url), 0);
    evd_endpoint_register(a, "e", NULL, NULL, &ep);
    record(a, ep, 20000);
    assert_int_equal(evd_close(a), 0);
    sqlite3 *h;
    sqlite3_open(tu_db, &h);
    sqlite3_exec(h, "PRAGMA wal_checkpoint(TRUNCATE)", NULL, NULL, NULL);
    sqlite3_close(h);
    struct stat sb;
    stat(tu_db, &sb);
    assert_int_equal(truncate(tu_db, sb.st_size / 2), 0);
    rc = open_agent(&a, tu_url);
    /* either refused at open, or every later write fails and is counted */
    evd_endpoint_register(a, "e", NULL, NULL, &ep);
    record(a, ep, 50);
    evd_flush(a, 20000);
    evd_get_counters(a, &c);
    assert_int_equal(c.recorded, 50);
    assert_int_equal(c.written + c.dropped, 50);
    if (rc == 0)
        assert_true(c.written == 50 || c.write_errors > 0);
    else
        assert_non_null(strstr(evd_errmsg(a), tu_db));
    evd_close(a);
}

static void test_read_only_folder(void **state)
{
    (void)state;
    evd_agent *a;
    chmod(tu_dir, 0555);
    pid_t pid = fork();
    if (pid == 0) {
        /* root ignores permissions: drop to nobody in a child */
        if (geteuid() == 0 && (setgid(65534) || setuid(65534)))
            _exit(3);
        int rc = open_agent(&a, tu_url);
        int ok = rc == EVD_EIO && strstr(evd_errmsg(a), "writable");
        int ep;
        evd_endpoint_register(a, "e", NULL, NULL, &ep);
        for (int i = 0; i < 10; i++) {
            evd_req r = evd_req_begin(a, ep);
            evd_req_end(&r, 200, NULL, NULL);
        }
        evd_flush(a, 10000);
        evd_counters c;
        evd_get_counters(a, &c);
        ok = ok && c.dropped == 10;
        if (!ok)
            fprintf(stderr, "rc=%d msg=%s dropped=%llu\n", rc, evd_errmsg(a),
                    (unsigned long long)c.dropped);
        evd_close(a);
        _exit(ok ? 0 : 1);
    }
    int status;
    waitpid(pid, &status, 0);
    chmod(tu_dir, 0755);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
}

static void test_full_disk(void **state)
{
    (void)state;
    pid_t pid = fork();
    if (pid == 0) {
        /* a file size limit stands in for a full disk: writes past it fail
         * with EFBIG (SQLITE_FULL) instead of killing the process */
        signal(SIGXFSZ, SIG_IGN);
        struct rlimit rl = {1024 * 1024, 1024 * 1024}; /* room for the schema, not the requests */
        setrlimit(RLIMIT_FSIZE, &rl);
        evd_agent *a;
        if (open_agent(&a, tu_url)) {
            fprintf(stderr, "open: %s\n", evd_errmsg(a));
            _exit(2);
        }
        int ep;
        evd_endpoint_register(a, "e", NULL, NULL, &ep);
        for (int i = 0; i < 50000; i++) {
            evd_req r = evd_req_begin(a, ep);
            evd_req_end(&r, 200, "someone", "192.168.100.100");
        }
        evd_flush(a, 60000);
        evd_counters c;
        evd_get_counters(a, &c);
        int ok = c.write_errors > 0 && c.written + c.dropped == c.recorded + 0 &&
                 c.recorded + 0 <= 50000 && c.written < 50000;
        if (!ok)
            fprintf(stderr, "recorded=%llu written=%llu dropped=%llu errors=%llu\n",
                    (unsigned long long)c.recorded, (unsigned long long)c.written,
                    (unsigned long long)c.dropped, (unsigned long long)c.write_errors);
        evd_close(a);
        _exit(ok ? 0 : 1);
    }
    int status;
    waitpid(pid, &status, 0);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
    /* what was committed is intact and readable */
    assert_true(tu_sql_int(tu_db, "SELECT count(*) FROM requests") >= 0);
    char *check = tu_sql_text(tu_db, "PRAGMA integrity_check");
    assert_non_null(check);
    assert_string_equal(check, "ok");
    free(check);
}

#define PER_PROC 20000

static void test_two_processes_one_file(void **state)
{
    (void)state;
    store *st;
    assert_int_equal(store_open(tu_url, 0, &st), 0); /* create it first */
    store_close(st);
    pid_t pids[2];
    for (int p = 0; p < 2; p++) {
        pids[p] = fork();
        if (pids[p] == 0) {
            evd_agent *a;
            /* A transient BUSY at open is not fatal: the agent retries. The
             * test is that every row arrives and close reports no loss. */
            int orc = open_agent(&a, tu_url);
            if (orc && orc != EVD_EBUSY)
                _exit(2);
            int ep;
            evd_endpoint_register(a, "shared", "/s", "GET", &ep);
            for (int i = 0; i < PER_PROC; i++) {
                evd_req r = evd_req_begin(a, ep);
                if (evd_req_end(&r, 200, NULL, NULL))
                    _exit(3);
            }
            evd_flush(a, 60000);
            evd_counters c;
            evd_get_counters(a, &c);
            if (c.dropped)
                fprintf(stderr, "child: %s; recorded %llu written %llu dropped %llu errors %llu\n",
                        evd_errmsg(a), (unsigned long long)c.recorded,
                        (unsigned long long)c.written, (unsigned long long)c.dropped,
                        (unsigned long long)c.write_errors);
            int crc = evd_close(a);
            _exit(crc ? 4 : 0);
        }
    }
    for (int p = 0; p < 2; p++) {
        int status;
        waitpid(pids[p], &status, 0);
        assert_true(WIFEXITED(status));
        assert_int_equal(WEXITSTATUS(status), 0);
    }
    assert_int_equal(tu_sql_int(tu_db, "SELECT count(*) FROM requests"), 2 * PER_PROC);
    assert_int_equal(tu_sql_int(tu_db, "SELECT count(DISTINCT id) FROM requests"), 2 * PER_PROC);
    assert_int_equal(tu_sql_int(tu_db, "SELECT count(*) FROM instances"), 2);
    assert_int_equal(tu_sql_int(tu_db, "SELECT count(*) FROM endpoints"), 1);
    assert_int_equal(tu_sql_int(tu_db, "SELECT sum(count) FROM rollups"), 2 * PER_PROC);
    assert_int_equal(tu_sql_int(tu_db, "SELECT count(DISTINCT instance_id) FROM rollups"), 2);
}

static void test_nothing_lost_across_close_and_exit(void **state)
{
    (void)state;
    evd_agent *a;
    int ep;
    assert_int_equal(open_agent(&a, tu_url), 0);
    evd_endpoint_register(a, "e", NULL, NULL, &ep);
    record(a, ep, 30000);
    assert_int_equal(evd_close(a), 0); /* close drains, no flush first */
    assert_int_equal(tu_sql_int(tu_db, "SELECT count(*) FROM requests"), 30000);
    /* a process that exits without evd_close still flushes (atexit) */
    pid_t pid = fork();
    if (pid == 0) {
        evd_agent *b;
        int e2;
        if (open_agent(&b, tu_url))
            _exit(2);
        evd_endpoint_register(b, "e", NULL, NULL, &e2);
        record(b, e2, 7000);
        exit(0);
    }
    int status;
    waitpid(pid, &status, 0);
    assert_int_equal(WEXITSTATUS(status), 0);
    assert_int_equal(tu_sql_int(tu_db, "SELECT count(*) FROM requests"), 37000);
}

static void test_fork_keeps_recording(void **state)
{
    (void)state;
    evd_agent *a;
    int ep;
    assert_int_equal(open_agent(&a, tu_url), 0);
    evd_endpoint_register(a, "f", NULL, NULL, &ep);
    record(a, ep, 5000); /* some still in the ring when we fork */
    pid_t pid = fork();
    if (pid == 0) {
        /* the child records through the inherited agent, like a gunicorn
         * worker forked from its master */
        for (int i = 0; i < 3000; i++) {
            evd_req r = evd_req_begin(a, ep);
            if (evd_req_end(&r, 201, "child", NULL))
                _exit(3);
        }
        evd_counters c;
        evd_flush(a, 20000);
        evd_get_counters(a, &c);
        int ok = c.recorded == 3000 && c.written == 3000 && c.dropped == 0;
        if (!ok)
            fprintf(stderr, "child: recorded=%llu written=%llu dropped=%llu\n",
                    (unsigned long long)c.recorded, (unsigned long long)c.written,
                    (unsigned long long)c.dropped);
        _exit(evd_close(a) == 0 && ok ? 0 : 1);
    }
    record(a, ep, 2000);
    int status;
    waitpid(pid, &status, 0);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
    assert_int_equal(evd_close(a), 0);
    /* nothing duplicated, nothing lost */
    assert_int_equal(tu_sql_int(tu_db, "SELECT count(*) FROM requests"), 10000);
    assert_int_equal(tu_sql_int(tu_db, "SELECT count(*) FROM requests WHERE status = 201"), 3000);
    assert_int_equal(tu_sql_int(tu_db, "SELECT count(*) FROM instances"), 2);
    assert_int_equal(tu_sql_int(tu_db, "SELECT sum(count) FROM rollups"), 10000);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_url_forms),
        cmocka_unit_test(test_url_redact),
        cmocka_unit_test_setup_teardown(test_migrate_from_empty, tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(test_upgrade_from_older_keeps_data, tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(test_upgrade_3_to_4_clusters_requests, tu_setup,
                                        tu_teardown),
        cmocka_unit_test_setup_teardown(test_request_ids_survive_rollback, tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(test_newer_and_foreign_refused, tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(test_corrupt_and_truncated_file, tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(test_read_only_folder, tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(test_full_disk, tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(test_two_processes_one_file, tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(test_nothing_lost_across_close_and_exit, tu_setup,
                                        tu_teardown),
        cmocka_unit_test_setup_teardown(test_fork_keeps_recording, tu_setup, tu_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

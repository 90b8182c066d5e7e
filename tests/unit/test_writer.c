/* test_writer.c — the agent end to end: hot path -> ring -> writer ->
 * SQLite, with rollups, counters, levels and drops.  Also run under
 * ThreadSanitizer by make check. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <time.h>

#include "evodash.h"
#include "testutil.h"

static evd_agent *open_agent(const char *level, const char *ring)
{
    evd_config *cfg = evd_config_new();
    evd_agent *a;
    assert_int_equal(evd_config_set(cfg, "DATABASE", tu_url), 0);
    assert_int_equal(evd_config_set(cfg, "APP_VERSION", "2.1"), 0);
    if (level)
        assert_int_equal(evd_config_set(cfg, "MONITOR_LEVEL", level), 0);
    if (ring)
        assert_int_equal(evd_config_set(cfg, "RING_CAPACITY", ring), 0);
    int rc = evd_open(cfg, &a);
    if (rc)
        fail_msg("evd_open: %s", evd_errmsg(a));
    evd_config_free(cfg);
    return a;
}

#define THREADS    2
#define PER_THREAD 20000

typedef struct worker {
    evd_agent *a;
    int ep[3];
    int n, id;
    int full;
} worker;

static void *work(void *arg)
{
    worker *w = arg;
    char group[16], ip[32];
    for (int i = 0; i < w->n; i++) {
        snprintf(group, sizeof group, "user%d", i % 7);
        snprintf(ip, sizeof ip, "10.0.%d.%d", w->id, i % 250);
        evd_req r = evd_req_begin(w->a, w->ep[i % 3]);
        int rc = evd_req_end(&r, i % 10 == 0 ? 500 : 200, group, ip);
        if (rc == EVD_EFULL)
            w->full++;
        else
            assert_int_equal(rc, 0);
    }
    return NULL;
}

static void test_every_request_stored(void **state)
{
    (void)state;
    evd_agent *a = open_agent(NULL, NULL);
    worker w[THREADS];
    pthread_t t[THREADS];
    int ep[3];
    assert_int_equal(evd_endpoint_register(a, "api.users", "/api/users", "GET", &ep[0]), 0);
    assert_int_equal(evd_endpoint_register(a, "api.orders", "/api/orders", "GET,POST", &ep[1]), 0);
    assert_int_equal(evd_endpoint_register(a, "index", "/", NULL, &ep[2]), 0);
    int again;
    assert_int_equal(evd_endpoint_register(a, "index", "/", NULL, &again), 0);
    assert_int_equal(again, ep[2]);
    assert_string_equal(evd_version(a), "2.1");
    for (int i = 0; i < THREADS; i++) {
        w[i] = (worker){.a = a, .n = PER_THREAD, .id = i};
        memcpy(w[i].ep, ep, sizeof ep);
        pthread_create(&t[i], NULL, work, &w[i]);
    }
    int full = 0;
    for (int i = 0; i < THREADS; i++) {
        pthread_join(t[i], NULL);
        full += w[i].full;
    }
    assert_int_equal(evd_flush(a, 20000), 0);
    evd_counters c;
    evd_get_counters(a, &c);
    assert_int_equal(c.recorded + c.dropped, THREADS * PER_THREAD);
    assert_int_equal(c.dropped, (uint64_t)full);
    assert_int_equal(evd_close(a), 0);

    long long total = THREADS * PER_THREAD - full;
    assert_int_equal(tu_sql_int(tu_db, "SELECT count(*) FROM requests"), total);
    assert_int_equal(tu_sql_int(tu_db, "SELECT sum(count) FROM rollups"), total);
    assert_int_equal(tu_sql_int(tu_db, "SELECT sum(s5xx) FROM rollups"),
                     tu_sql_int(tu_db, "SELECT count(*) FROM requests WHERE status = 500"));
    assert_int_equal(tu_sql_int(tu_db, "SELECT sum(sum_us) FROM rollups"),
                     tu_sql_int(tu_db, "SELECT sum(duration_us) FROM requests"));
    if (!tu_is_pg(tu_db)) /* sketch_count() is a function of ours in SQLite */
        assert_int_equal(tu_sql_int(tu_db, "SELECT sum(sketch_count(sketch)) FROM rollups"), total);
    assert_int_equal(tu_sql_int(tu_db, "SELECT count(*) FROM endpoints"), 3);
    assert_int_equal(tu_sql_int(tu_db, "SELECT count(DISTINCT group_name) FROM requests"), 7);
    assert_int_equal(tu_sql_int(tu_db, "SELECT count(*) FROM versions WHERE name = '2.1'"), 1);
    assert_int_equal(tu_sql_int(tu_db, "SELECT written FROM instances"), total);
    assert_int_equal(tu_sql_int(tu_db, "SELECT recorded FROM instances"), total);
    assert_int_equal(tu_sql_int(tu_db, "SELECT count(*) FROM endpoints WHERE last_access_us > 0"),
                     3);
    /* timestamps are UTC microseconds near now */
    long long now_us = (long long)time(NULL) * 1000000;
    long long ts = tu_sql_int(tu_db, "SELECT max(ts_us) FROM requests");
    assert_true(ts > now_us - 60000000LL && ts < now_us + 60000000LL);
}

static void test_truncation_counted(void **state)
{
    (void)state;
    evd_agent *a = open_agent(NULL, NULL);
    int ep;
    char long_group[200];
    memset(long_group, 'g', sizeof long_group - 1);
    long_group[sizeof long_group - 1] = 0;
    evd_endpoint_register(a, "x", NULL, NULL, &ep);
    evd_req r = evd_req_begin(a, ep);
    assert_int_equal(evd_req_end(&r, 200, long_group, "2001:0db8:85a3:0000:0000:8a2e:0370:7334"),
                     0);
    r = evd_req_begin(a, ep);
    assert_int_equal(evd_req_end(&r, 200, NULL, NULL), 0);
    evd_flush(a, 10000);
    evd_counters c;
    evd_get_counters(a, &c);
    assert_int_equal(c.truncated, 1); /* the group; the IPv6 address fits */
    evd_close(a);
    assert_int_equal(tu_sql_int(tu_db, "SELECT max(length(group_name)) FROM requests"),
                     EVD_GROUP_MAX);
    assert_int_equal(tu_sql_int(tu_db, "SELECT count(*) FROM requests WHERE group_name IS NULL"),
                     1);
}

static void test_level0_and_levels_from_store(void **state)
{
    (void)state;
    evd_agent *a = open_agent("0", NULL);
    int ep;
    evd_endpoint_register(a, "quiet", "/quiet", "GET", &ep);
    assert_int_equal(evd_endpoint_level(a, ep), 0);
    evd_req r = evd_req_begin(a, ep);
    assert_int_equal(evd_req_end(&r, 200, NULL, NULL), 0);
    /* a second end on the same token is refused, not double counted */
    assert_int_equal(evd_req_end(&r, 200, NULL, NULL), EVD_ESTATE);
    /* a flush syncs the endpoints too: the row and its last access are
     * in the store as soon as it returns */
    assert_int_equal(evd_flush(a, 10000), 0);
    assert_int_equal(tu_sql_int(tu_db, "SELECT count(*) FROM endpoints WHERE last_access_us > 0"),
                     1);
    /* the dashboard changes the level in the store; the agent follows */
    struct timespec ts = {0, 100000000};
    assert_int_equal(tu_sql_exec(tu_db, "UPDATE endpoints SET level = 2 WHERE name = 'quiet'"), 0);
    int seen = 0;
    for (int i = 0; i < 50 && !seen; i++) {
        seen = evd_endpoint_level(a, ep) == 2;
        nanosleep(&ts, NULL);
    }
    assert_true(seen);
    /* and a level set from code reaches the store */
    assert_int_equal(evd_endpoint_set_level(a, ep, 1), 0);
    assert_int_equal(evd_endpoint_set_level(a, ep, 7), EVD_EINVAL);
    assert_int_equal(evd_endpoint_set_level(a, 99, 1), EVD_ENOENT);
    assert_int_equal(evd_flush(a, 10000), 0);
    assert_int_equal(tu_sql_int(tu_db, "SELECT level FROM endpoints WHERE name = 'quiet'"), 1);
    evd_close(a);
    assert_int_equal(tu_sql_int(tu_db, "SELECT level FROM endpoints WHERE name = 'quiet'"), 1);
    assert_int_equal(tu_sql_int(tu_db, "SELECT count(*) FROM requests"), 0);
    assert_true(tu_sql_int(tu_db, "SELECT last_access_us FROM endpoints") > 0);
}

static void test_full_ring_drops_are_counted_and_stored(void **state)
{
    (void)state;
    evd_agent *a = open_agent(NULL, "1024");
    int ep;
    evd_endpoint_register(a, "busy", NULL, NULL, &ep);
    evd_flush(a, 5000);
    /* Hold the database's write lock so the writer has to wait: SQLite's
     * one lock, or PostgreSQL's on the tables a batch writes. */
    struct timespec ts = {0, 50000000};
    nanosleep(&ts, NULL);
    store *h = NULL;
    int64_t ignored;
    assert_int_equal(store_open(tu_url, STORE_NOMIGRATE, &h), 0);
    assert_int_equal(store_begin(h), 0);
    if (tu_is_pg(tu_db))
        assert_int_equal(
            store_query_int(h, "LOCK TABLE requests, rollups IN EXCLUSIVE MODE", &ignored), 0);
    int full = 0;
    for (int i = 0; i < 5000; i++) {
        evd_req r = evd_req_begin(a, ep);
        if (evd_req_end(&r, 200, NULL, NULL) == EVD_EFULL)
            full++;
    }
    assert_true(full > 0);
    assert_int_equal(store_commit(h), 0);
    store_close(h);
    evd_counters c;
    evd_flush(a, 20000);
    evd_get_counters(a, &c);
    assert_int_equal(c.recorded + c.dropped, 5000);
    /* close says records were lost */
    assert_int_equal(evd_close(a), EVD_EFULL);
    long long rows = tu_sql_int(tu_db, "SELECT count(*) FROM requests");
    /* this instance's drops of the endpoint, as the dashboard sums them */
    long long dropped = tu_sql_int(tu_db, "SELECT e.dropped + (SELECT sum(d.dropped) FROM "
                                          "endpoint_drops d WHERE d.endpoint_id = e.id) FROM "
                                          "endpoints e WHERE name = 'busy'");
    assert_int_equal(rows + dropped, 5000);
    assert_true(dropped >= full);
    assert_int_equal(tu_sql_int(tu_db, "SELECT dropped FROM instances"), dropped);
    (void)ignored;
}

static void test_bad_git_keeps_recording(void **state)
{
    (void)state;
    evd_config *cfg = evd_config_new();
    evd_agent *a;
    char git[300];
    snprintf(git, sizeof git, "%s/.git", tu_dir);
    FILE *f = fopen(git, "w"); /* a worktree-style .git file pointing nowhere */
    fprintf(f, "gitdir: %s/nowhere\n", tu_dir);
    fclose(f);
    evd_config_set(cfg, "DATABASE", tu_url);
    evd_config_set(cfg, "GIT", tu_dir);
    assert_int_equal(evd_open(cfg, &a), EVD_ENOENT);
    evd_config_free(cfg);
    assert_non_null(strstr(evd_errmsg(a), "GIT"));
    assert_string_equal(evd_version(a), "unknown");
    int ep;
    evd_endpoint_register(a, "e", NULL, NULL, &ep);
    evd_req r = evd_req_begin(a, ep);
    assert_int_equal(evd_req_end(&r, 200, NULL, NULL), 0);
    assert_int_equal(evd_close(a), 0);
    assert_int_equal(tu_sql_int(tu_db, "SELECT count(*) FROM requests r JOIN versions v ON v.id = "
                                       "r.version_id WHERE v.name = 'unknown'"),
                     1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_every_request_stored, tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(test_truncation_counted, tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(test_level0_and_levels_from_store, tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(test_full_ring_drops_are_counted_and_stored, tu_setup,
                                        tu_teardown),
        cmocka_unit_test_setup_teardown(test_bad_git_keeps_recording, tu_setup, tu_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/* test_watchdog.c — outliers (level 2) and the sampling profiler (level
 * 3): a slow request becomes an outlier with CPU, memory and a stack that
 * names the slow function; fast requests do not; a profiled request's call
 * tree names its hot function under its caller. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <jansson.h>

#include "evodash.h"
#include "testutil.h"

static evd_agent *open_agent(const char *level)
{
    evd_config *cfg = evd_config_new();
    evd_agent *a;
    assert_int_equal(evd_config_set(cfg, "DATABASE", tu_url), 0);
    assert_int_equal(evd_config_set(cfg, "APP_VERSION", "t"), 0);
    assert_int_equal(evd_config_set(cfg, "MONITOR_LEVEL", level), 0);
    assert_int_equal(evd_config_set(cfg, "SAMPLING_PERIOD", "2"), 0);
    if (evd_open(cfg, &a))
        fail_msg("evd_open: %s", evd_errmsg(a));
    evd_config_free(cfg);
    return a;
}

/* Not static and not inlined, so that the names survive into the stack. */
__attribute__((noinline)) double evd_test_slow_function(int ms);
__attribute__((noinline)) double evd_test_hot_function(int ms);
__attribute__((noinline)) double evd_test_outer_function(int ms);

double evd_test_slow_function(int ms)
{
    return tu_spin_ms(ms) + 1;
}

double evd_test_hot_function(int ms)
{
    return tu_spin_ms(ms) + 2;
}

double evd_test_outer_function(int ms)
{
    return evd_test_hot_function(ms) + 3;
}

static char *sql_text(const char *sql)
{
    sqlite3 *h;
    sqlite3_stmt *q;
    char *out = NULL;
    sqlite3_open_v2(tu_db, &h, SQLITE_OPEN_READONLY, NULL);
    if (sqlite3_prepare_v2(h, sql, -1, &q, NULL) == SQLITE_OK) {
        if (sqlite3_step(q) == SQLITE_ROW && sqlite3_column_text(q, 0))
            out = strdup((const char *)sqlite3_column_text(q, 0));
        sqlite3_finalize(q);
    }
    sqlite3_close(h);
    return out;
}

static void test_slow_request_becomes_outlier(void **state)
{
    (void)state;
    evd_agent *a = open_agent("2");
    int ep;
    evd_endpoint_register(a, "slowish", "/slowish", "GET", &ep);
    /* 30 fast requests (~2 ms) set the endpoint's mean */
    for (int i = 0; i < 30; i++) {
        evd_req r = evd_req_begin(a, ep);
        tu_spin_ms(2);
        evd_req_end(&r, 200, "u", "127.0.0.1");
    }
    evd_flush(a, 10000);
    /* none of them is an outlier unless it really ran past 2.5 x a mean of
     * at least 2 ms (a loaded machine can deschedule one that long) */
    assert_int_equal(tu_sql_int(tu_db, "SELECT count(*) FROM outliers WHERE duration_us < 5000"),
                     0);
    /* one request 100x slower than the mean */
    evd_req r = evd_req_begin(a, ep);
    evd_test_slow_function(300);
    evd_req_end(&r, 200, "u", "127.0.0.1");
    /* and fast ones again: still no more outliers */
    for (int i = 0; i < 5; i++) {
        evd_req f = evd_req_begin(a, ep);
        tu_spin_ms(1);
        evd_req_end(&f, 200, "u", "127.0.0.1");
    }
    evd_counters c;
    evd_flush(a, 10000);
    evd_get_counters(a, &c);
    assert_true(c.outliers >= 1);
    assert_int_equal(evd_close(a), 0);

    /* Only requests past the deadline are outliers.  On a loaded machine a
     * "fast" request can be descheduled long enough to really be one, so
     * the test is the threshold, not a count: no outlier is shorter than
     * 2.5 x the fast requests' mean (about 2 ms), and the slow one is there. */
    assert_int_equal(tu_sql_int(tu_db, "SELECT count(*) FROM outliers"), (long long)c.outliers);
    assert_int_equal(tu_sql_int(tu_db, "SELECT count(*) FROM outliers WHERE duration_us < 5000"),
                     0);
    assert_int_equal(tu_sql_int(tu_db, "SELECT count(*) FROM outliers WHERE duration_us >= 290000"),
                     1);
    /* each outlier points at its request */
    assert_int_equal(tu_sql_int(tu_db, "SELECT count(*) FROM outliers o JOIN requests r ON r.id = "
                                       "o.request_id AND r.duration_us = o.duration_us"),
                     (long long)c.outliers);
    char *stack = sql_text("SELECT stack FROM outliers WHERE duration_us >= 290000");
    assert_non_null(stack);
    if (!strstr(stack, "evd_test_slow_function"))
        fail_msg("stack does not name the slow function:\n%s", stack);
    /* outermost first: main appears before the slow function */
    char *m = strstr(stack, "main");
    assert_non_null(m);
    assert_true(m < strstr(stack, "evd_test_slow_function"));
    free(stack);

    char *cpu = sql_text("SELECT cpu FROM outliers WHERE duration_us >= 290000");
    json_error_t err;
    json_t *arr = json_loads(cpu, 0, &err);
    assert_non_null(arr);
    assert_true(json_is_array(arr));
    assert_int_equal((long)json_array_size(arr), sysconf(_SC_NPROCESSORS_ONLN));
    for (size_t i = 0; i < json_array_size(arr); i++) {
        double v = json_number_value(json_array_get(arr, i));
        assert_true(v >= 0 && v <= 100);
    }
    json_decref(arr);
    free(cpu);
    char *mem = sql_text("SELECT memory FROM outliers WHERE duration_us >= 290000");
    json_t *o = json_loads(mem, 0, &err);
    assert_non_null(o);
    assert_true(json_integer_value(json_object_get(o, "total_bytes")) > 0);
    assert_true(json_integer_value(json_object_get(o, "process_rss_bytes")) > 0);
    json_decref(o);
    free(mem);
}

static int details_cb(void *user, uint64_t thread, void *ctx, char *buf, size_t cap)
{
    (void)user;
    (void)thread;
    return snprintf(buf, cap, "{\"url\":\"%s\"}", ctx ? (const char *)ctx : "");
}

static void test_details_callback(void **state)
{
    (void)state;
    evd_agent *a = open_agent("2");
    int ep;
    evd_set_callbacks(a, NULL, details_cb, NULL);
    evd_endpoint_register(a, "d", NULL, NULL, &ep);
    for (int i = 0; i < 12; i++) {
        evd_req r = evd_req_begin(a, ep);
        tu_spin_ms(1);
        evd_req_end(&r, 200, NULL, NULL);
    }
    /* the running mean comes from what the writer has seen */
    assert_int_equal(evd_flush(a, 10000), 0);
    evd_req r = evd_req_begin_ctx(a, ep, "/d?x=1");
    tu_spin_ms(200);
    evd_req_end(&r, 200, NULL, NULL);
    evd_close(a);
    char *d = sql_text("SELECT details FROM outliers ORDER BY duration_us DESC LIMIT 1");
    assert_non_null(d);
    assert_string_equal(d, "{\"url\":\"/d?x=1\"}");
    free(d);
}

typedef struct line {
    int indent;
    char fn[128];
    long long dur;
} line;

static void test_profiler_tree_names_hot_function(void **state)
{
    (void)state;
    evd_agent *a = open_agent("3");
    int ep;
    evd_endpoint_register(a, "profiled", NULL, NULL, &ep);
    evd_req r = evd_req_begin(a, ep);
    evd_test_outer_function(300);
    evd_req_end(&r, 200, NULL, NULL);
    /* a fast request gets at most a sample or two, never a tree of the other */
    evd_close(a);

    sqlite3 *h;
    sqlite3_stmt *q;
    sqlite3_open_v2(tu_db, &h, SQLITE_OPEN_READONLY, NULL);
    assert_int_equal(sqlite3_prepare_v2(h,
                                        "SELECT indent, function, duration_us FROM "
                                        "profiler_samples ORDER BY position",
                                        -1, &q, NULL),
                     SQLITE_OK);
    int outer = -1, hot = -1, n = 0;
    long long hot_dur = 0;
    line lines[512];
    while (sqlite3_step(q) == SQLITE_ROW && n < 512) {
        lines[n].indent = sqlite3_column_int(q, 0);
        snprintf(lines[n].fn, sizeof lines[n].fn, "%s", sqlite3_column_text(q, 1));
        lines[n].dur = sqlite3_column_int64(q, 2);
        if (!strcmp(lines[n].fn, "evd_test_outer_function") && outer < 0)
            outer = n;
        if (!strcmp(lines[n].fn, "evd_test_hot_function") && hot < 0) {
            hot = n;
            hot_dur = lines[n].dur;
        }
        n++;
    }
    sqlite3_finalize(q);
    sqlite3_close(h);
    if (outer < 0 || hot < 0) {
        for (int i = 0; i < n; i++)
            fprintf(stderr, "%*s%s %lld\n", lines[i].indent * 2, "", lines[i].fn, lines[i].dur);
        fail_msg("profile lacks the outer or hot function");
    }
    assert_true(hot > outer);
    assert_int_equal(lines[hot].indent, lines[outer].indent + 1);
    /* the hot function took most of the 300 ms request */
    assert_true(hot_dur >= 150000);
    assert_true(hot_dur <= 400000);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_slow_request_becomes_outlier, tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(test_details_callback, tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(test_profiler_tree_names_hot_function, tu_setup,
                                        tu_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

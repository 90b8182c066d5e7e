/* test_dash_cache.c — the day cache of aggcache.c against plain SQL: for
 * many ranges with ragged ends, over closed days (cached) and the last
 * hours (read live), every aggregate view must count exactly what the
 * rollups hold.  Also: rollups written after the cache was built for still
 * open hours show up at once, and a day that closes with no rollups in it
 * extends the cache by nothing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "evodash.h"
#include "core/sketch.h"
#include "dash/dash_int.h"
#include "store/store.h"
#include "testutil.h"

#define HOURS (6 * 24)

static char dir[64], url[128];
static evd_dash *dash;
static char cookie[128];
static int64_t now_h;

/* One rollup row per (endpoint, hour) with count = 1 + (hour + ep) % 5. */
static void add_hours(int64_t h0, int64_t h1)
{
    store *st = NULL;
    int64_t ep[2], ver, inst;
    int level;
    assert_int_equal(store_open(url, 0, &st), 0);
    assert_int_equal(store_begin(st), 0);
    int64_t svc;
    assert_int_equal(store_service_register(st, "svc", 1, &svc), 0);
    store_instance in = {.name = "t", .host = "h", .pid = 1, .service_id = svc};
    assert_int_equal(store_instance_register(st, &in, 1, &inst), 0);
    assert_int_equal(store_version_touch(st, "v1", 1, &ver), 0);
    assert_int_equal(store_endpoint_upsert(st, svc, "a", NULL, NULL, 1, &ep[0], &level), 0);
    assert_int_equal(store_endpoint_upsert(st, svc, "b", NULL, NULL, 1, &ep[1], &level), 0);
    uint8_t *enc = malloc(SKETCH_ENCODED_MAX);
    sketch *sk = malloc(sizeof *sk);
    for (int64_t h = h0; h < h1; h++)
        for (int e = 0; e < 2; e++) {
            uint64_t n = (uint64_t)(1 + (h + e) % 5);
            sketch_init(sk);
            sketch_add_n(sk, 100.0 + (double)e, n);
            store_rollup r = {.endpoint_id = ep[e],
                              .version_id = ver,
                              .instance_id = inst,
                              .hour = h,
                              .count = n,
                              .sum_us = (int64_t)n * (100 + e),
                              .min_us = 100 + e,
                              .max_us = 100 + e};
            r.status_class[2] = n;
            r.sketch = enc;
            r.sketch_len = sketch_encode(sk, enc, SKETCH_ENCODED_MAX);
            assert_int_equal(store_rollup_merge(st, &r), 0);
        }
    free(sk);
    free(enc);
    assert_int_equal(store_commit(st), 0);
    store_close(st);
}

static json_t *get(const char *path, const char *query)
{
    evd_dash_header h = {"Cookie", cookie};
    evd_dash_request rq = {
        .method = "GET", .path = path, .query = query, .headers = &h, .nheaders = 1};
    evd_dash_response rs;
    assert_int_equal(evd_dash_handle(dash, &rq, &rs), 0);
    assert_int_equal(rs.status, 200);
    json_t *doc = json_loadb(rs.body, rs.body_len, 0, NULL);
    evd_dash_response_free(&rs);
    assert_non_null(doc);
    return doc;
}

/* Requests of every endpoint in hours [h0, h1), straight from the rollups. */
static long long sql_count(int64_t h0, int64_t h1)
{
    char sql[200];
    snprintf(sql, sizeof sql,
             "SELECT coalesce(sum(count), 0) FROM rollups WHERE hour >= %lld AND hour < %lld",
             (long long)h0, (long long)h1);
    return tu_sql_int(url, sql);
}

static long long perf_total(int64_t from_s, int64_t to_s)
{
    char q[128];
    snprintf(q, sizeof q, "from=%lld&to=%lld", (long long)from_s, (long long)to_s);
    json_t *doc = get("/dashboard/api/performance", q);
    long long total = 0;
    size_t i;
    json_t *it;
    json_array_foreach(json_object_get(doc, "items"), i, it) total +=
        json_integer_value(json_object_get(json_object_get(it, "box"), "count"));
    json_decref(doc);
    return total;
}

static void test_ranges_match_sql(void **state)
{
    (void)state;
    unsigned seed = 7;
    for (int k = 0; k < 60; k++) {
        int64_t a = now_h - HOURS + rand_r(&seed) % (HOURS + 4);
        int64_t b = a + rand_r(&seed) % (HOURS + 4 - (a - (now_h - HOURS)));
        /* range ends inside hours too: [a h + 17 min, b h + 5 min) */
        int64_t from_s = a * 3600 + 17 * 60, to_s = b * 3600 + 5 * 60;
        if (to_s < from_s)
            to_s = from_s;
        long long want = sql_count(from_s / 3600, (to_s + 3599) / 3600);
        assert_int_equal(perf_total(from_s, to_s), want);
    }
    /* the whole store, through the totals of every cached day */
    json_t *doc = get("/dashboard/api/versions", NULL);
    assert_int_equal(json_integer_value(json_object_get(
                         json_array_get(json_object_get(doc, "items"), 0), "requests")),
                     sql_count(INT64_MIN / 4, INT64_MAX / 4));
    json_decref(doc);
}

static void test_open_hours_are_live(void **state)
{
    (void)state;
    long long before = perf_total(0, (now_h + 2) * 3600);
    /* more traffic in the current hour, after the cache was built */
    add_hours(now_h, now_h + 1);
    long long after = perf_total(0, (now_h + 2) * 3600);
    assert_int_equal(after, before + sql_count(now_h, now_h + 1) / 2);
    assert_int_equal(after, sql_count(INT64_MIN / 4, INT64_MAX / 4));
}

/* The cache built, then the clock past the next day's close: that day
 * has no rollups (all of them are older), so the incremental build adds
 * no cells.  It must keep the counts, and (under UBSan) not hand memcpy a
 * NULL source. */
static void test_day_closes_empty(void **state)
{
    (void)state;
    store *st = NULL;
    assert_int_equal(store_open(url, STORE_RDONLY, &st), 0);
    struct aggcache *ac = aggcache_new();
    assert_non_null(ac);
    /* A minute before a day closes (two hours after UTC midnight), two days
     * after the newest rollup; then two minutes later, which is within the
     * cache's rebuild interval, so the day is added, not all rebuilt. */
    int64_t t0 = ((now_h / 24 + 3) * 24 + 2) * 3600 * 1000000LL - 60 * 1000000LL;
    assert_int_equal(aggcache_warm_at(ac, st, t0), 0);
    assert_int_equal(aggcache_warm_at(ac, st, t0 + 120 * 1000000LL), 0);
    agg_ask q = {.h0 = INT64_MIN / 4, .h1 = INT64_MAX / 4, .only_ep = -1, .group = AG_EP};
    agg_result r;
    assert_int_equal(aggcache_query(ac, st, &q, &r), 0);
    long long total = 0;
    for (size_t i = 0; i < r.n; i++)
        total += r.v[i].count;
    assert_int_equal(r.n, 2);
    assert_int_equal(total, sql_count(INT64_MIN / 4, INT64_MAX / 4));
    agg_free(&r);
    aggcache_free(ac);
    store_close(st);
}

static int setup(void **state)
{
    (void)state;
    tu_tmpdir(dir, sizeof dir);
    snprintf(url, sizeof url, "%s/t.db", dir);
    now_h = (int64_t)time(NULL) / 3600;
    add_hours(now_h - HOURS, now_h + 1);
    evd_config *cfg = evd_config_new();
    evd_config_set(cfg, "USERNAME", "u");
    evd_config_set(cfg, "PASSWORD", "p");
    assert_int_equal(evd_dash_open(cfg, url, &dash), 0);
    evd_config_free(cfg);
    /* built ahead, as `evodash serve` does; every range below must still
     * match SQL */
    assert_int_equal(evd_dash_warm(dash), 0);
    evd_dash_request rq = {.method = "POST",
                           .path = "/dashboard/login",
                           .body = "username=u&password=p",
                           .body_len = 21};
    evd_dash_response rs;
    assert_int_equal(evd_dash_handle(dash, &rq, &rs), 0);
    assert_int_equal(rs.status, 200);
    snprintf(cookie, sizeof cookie, "%.*s", (int)strcspn(rs.set_cookie, ";"), rs.set_cookie);
    evd_dash_response_free(&rs);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    evd_dash_close(dash);
    tu_rmrf(dir);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ranges_match_sql),
        cmocka_unit_test(test_open_hours_are_live),
        cmocka_unit_test(test_day_closes_empty),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}

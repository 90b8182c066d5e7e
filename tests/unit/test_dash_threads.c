/* test_dash_threads.c — one dashboard handle answering from several
 * threads at once (as under libmicrohttpd's thread pool): the store pool,
 * the time-zone cache, the login rate limit, the day cache while it is
 * being built and the shared raw-row scans.  Every thread must see the same, correct totals.  Runs
 * under ASan and TSan. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "evodash.h"
#include "core/sketch.h"
#include "store/store.h"
#include "testutil.h"

#define NTHREADS 4
#define ROUNDS   12
#define NREQ     600
#define DAY0     20000 /* 2024-10-04, long closed */

static evd_dash *dash;
static char cookie[128];

/* NREQ requests over 3 days, endpoint i % 3, through the store API. */
static void fill(const char *url)
{
    store *st = NULL;
    int64_t ep[3], ver, inst, id;
    int level;
    assert_int_equal(store_open(url, 0, &st), 0);
    assert_int_equal(store_begin(st), 0);
    int64_t svc;
    assert_int_equal(store_service_register(st, "svc", 1, &svc), 0);
    store_instance in = {.name = "t", .host = "h", .pid = 1, .service_id = svc};
    assert_int_equal(store_instance_register(st, &in, 1, &inst), 0);
    assert_int_equal(store_version_touch(st, "v1", 1, &ver), 0);
    for (int e = 0; e < 3; e++) {
        char name[16];
        snprintf(name, sizeof name, "ep%d", e);
        assert_int_equal(store_endpoint_upsert(st, svc, name, NULL, NULL, 1, &ep[e], &level), 0);
    }
    uint8_t *enc = malloc(SKETCH_ENCODED_MAX);
    sketch *sk = malloc(sizeof *sk);
    for (int i = 0; i < NREQ; i++) {
        int64_t hour = (int64_t)DAY0 * 24 + i % 72;
        int64_t dur = 100 + i;
        store_request r = {.endpoint_id = ep[i % 3],
                           .version_id = ver,
                           .instance_id = inst,
                           .ts_us = hour * 3600000000LL + i,
                           .duration_us = dur,
                           .status = 200};
        assert_int_equal(store_insert_request(st, &r, &id), 0);
        sketch_init(sk);
        sketch_add(sk, (double)dur);
        store_rollup ru = {.endpoint_id = ep[i % 3],
                           .version_id = ver,
                           .instance_id = inst,
                           .hour = hour,
                           .count = 1,
                           .sum_us = dur,
                           .min_us = dur,
                           .max_us = dur};
        ru.status_class[2] = 1;
        ru.sketch = enc;
        ru.sketch_len = sketch_encode(sk, enc, SKETCH_ENCODED_MAX);
        assert_int_equal(store_rollup_merge(st, &ru), 0);
    }
    free(sk);
    free(enc);
    assert_int_equal(store_commit(st), 0);
    store_close(st);
}

static json_t *get(const char *path, const char *query, int *status)
{
    evd_dash_header h = {"Cookie", cookie};
    evd_dash_request rq = {.method = "GET",
                           .path = path,
                           .query = query,
                           .headers = &h,
                           .nheaders = 1,
                           .remote_ip = "127.0.0.1"};
    evd_dash_response rs;
    if (evd_dash_handle(dash, &rq, &rs))
        return NULL;
    *status = rs.status;
    json_t *doc = rs.body ? json_loadb(rs.body, rs.body_len, 0, NULL) : NULL;
    evd_dash_response_free(&rs);
    return doc;
}

static void *worker(void *arg)
{
    long bad = 0;
    long t = (long)(intptr_t)arg;
    /* More zones than the handler caches (DASH_TZ_CACHE): zones are evicted
     * while other threads still hold the ones they use. */
    static const char *const tzs[] = {
        "UTC",           "Europe/Amsterdam", "America/New_York", "Asia/Kolkata",
        "Europe/Paris",  "Europe/Berlin",    "Europe/London",    "Asia/Tokyo",
        "Asia/Shanghai", "Asia/Dubai",       "America/Chicago",  "America/Denver",
        "Africa/Cairo",  "Australia/Sydney", "Pacific/Auckland", "Asia/Kathmandu",
        "Europe/Madrid", "Europe/Rome",      "America/Lima",     "Asia/Seoul",
        "Europe/Oslo",   "Asia/Singapore",   "Africa/Lagos",     "Australia/Perth"};
    const size_t ntz = sizeof tzs / sizeof tzs[0];
    char q[128];
    for (int r = 0; r < ROUNDS; r++) {
        int st = 0;
        snprintf(q, sizeof q, "to=%lld&tz=%s", (long long)(DAY0 + 3) * 86400,
                 tzs[(size_t)(t * 7 + r) % ntz]);
        json_t *doc = get("/dashboard/api/overview", q, &st);
        int64_t total = 0;
        size_t i;
        json_t *it;
        if (st == 200)
            json_array_foreach(json_object_get(doc, "items"), i, it) total +=
                json_integer_value(json_object_get(json_object_get(it, "hits"), "overall"));
        bad += st != 200 || total != NREQ;
        json_decref(doc);
        doc = get("/dashboard/api/heatmap", q, &st);
        total = 0;
        json_t *row, *cell;
        size_t j;
        if (st == 200)
            json_array_foreach(json_object_get(doc, "counts"), i, row)
                json_array_foreach(row, j, cell) total += json_integer_value(cell);
        bad += st != 200 || total != NREQ;
        json_decref(doc);
        doc = get("/dashboard/api/performance", "from=0", &st);
        bad += st != 200 || json_integer_value(json_object_get(doc, "total")) != 3;
        json_decref(doc);
        /* Raw-row views share one scan per (endpoint, range): alternate a
         * range every thread asks for with one of their own, so scans are
         * waited for, reused and evicted while others still read them. */
        snprintf(q, sizeof q, "from=0&to=%lld",
                 (long long)(DAY0 + 3) * 86400 + (r % 2 ? t * ROUNDS + r : 0));
        doc = get("/dashboard/api/endpoints/1/status", q, &st);
        total = 0;
        if (st == 200)
            json_array_foreach(json_object_get(doc, "codes"), i, it) total +=
                json_integer_value(json_object_get(it, "count"));
        bad += st != 200 || total != NREQ / 3;
        json_decref(doc);
        doc = get("/dashboard/api/endpoints/1/groups", q, &st);
        it = json_array_get(json_object_get(doc, "items"), 0);
        bad += st != 200 ||
               json_integer_value(json_object_get(json_object_get(it, "box"), "count")) != NREQ / 3;
        json_decref(doc);
    }
    return (void *)(intptr_t)bad;
}

/* Requests with status 201 in the endpoint 1 status view; -1 on error. */
static int64_t count_201(const char *query)
{
    int st = 0;
    int64_t n = 0;
    json_t *doc = get("/dashboard/api/endpoints/1/status", query, &st);
    json_t *codes = json_object_get(doc, "codes");
    for (size_t i = 0; i < json_array_size(codes); i++) {
        json_t *it = json_array_get(codes, i);
        if (json_integer_value(json_object_get(it, "status")) == 201)
            n = json_integer_value(json_object_get(it, "count"));
    }
    json_decref(doc);
    return st == 200 ? n : -1;
}

static void test_concurrent_requests(void **state)
{
    (void)state;
    char dir[64], url[128];
    tu_tmpdir(dir, sizeof dir);
    snprintf(url, sizeof url, "%s/t.db", dir);
    fill(url);
    evd_config *cfg = evd_config_new();
    evd_config_set(cfg, "USERNAME", "u");
    evd_config_set(cfg, "PASSWORD", "p");
    assert_int_equal(evd_dash_open(cfg, url, &dash), 0);
    evd_config_free(cfg);
    evd_dash_request rq = {.method = "POST",
                           .path = "/dashboard/login",
                           .body = "username=u&password=p",
                           .body_len = 21};
    evd_dash_response rs;
    assert_int_equal(evd_dash_handle(dash, &rq, &rs), 0);
    assert_int_equal(rs.status, 200);
    snprintf(cookie, sizeof cookie, "%.*s", (int)strcspn(rs.set_cookie, ";"), rs.set_cookie);
    evd_dash_response_free(&rs);

    pthread_t th[NTHREADS];
    for (long i = 0; i < NTHREADS; i++)
        assert_int_equal(pthread_create(&th[i], NULL, worker, (void *)(intptr_t)i), 0);
    long bad = 0;
    for (int i = 0; i < NTHREADS; i++) {
        void *r;
        pthread_join(th[i], &r);
        bad += (long)(intptr_t)r;
    }
    assert_int_equal(bad, 0);

    /* Requests that leave the range open at "now" share one scan: a row
     * written between two of them shows only in a range of its own. */
    store *st = NULL;
    int64_t id;
    assert_int_equal(store_open(url, 0, &st), 0);
    store_request r = {.endpoint_id = 1,
                       .version_id = 1,
                       .instance_id = 1,
                       .ts_us = ((int64_t)time(NULL) - 3600) * 1000000,
                       .duration_us = 5,
                       .status = 201};
    for (int attempt = 0; attempt < 3; attempt++) {
        time_t t0 = time(NULL);
        assert_int_equal(count_201(NULL), attempt); /* the rows written so far */
        assert_int_equal(store_insert_request(st, &r, &id), 0);
        r.ts_us++;
        int64_t shared = count_201(NULL);
        if (time(NULL) / 10 != t0 / 10) {
            /* The two fell on either side of a 10 s mark, and the first
             * may have been answered in the later window, by a scan made
             * before the row, which that window's next requests would
             * share: start again in a window of its own. */
            sleep((unsigned)(10 - time(NULL) % 10));
            continue;
        }
        assert_int_equal(shared, attempt); /* the shared scan, without the new row */
        char q[64];
        snprintf(q, sizeof q, "to=%lld", (long long)time(NULL) + 60);
        assert_int_equal(count_201(q), attempt + 1);
        break;
    }
    store_close(st);
    evd_dash_close(dash);
    tu_rmrf(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_concurrent_requests)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}

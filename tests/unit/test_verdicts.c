/* test_verdicts.c — the findings engine and the verdict routes in process
 * (under ASan+UBSan): findings with their cache, the comparison of
 * versions and ranges, the profile diff, version marks and their effect on
 * baselines, renames (chained, undone) read through by the rollups and the
 * raw rows, and the metrics gauge.  The statistics themselves are checked
 * against scipy in tests/verdicts/. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "evodash.h"
#include "core/clock.h"
#include "dash/dash_int.h"
#include "dash/findings.h"
#include "sim/rng.h"
#include "store/read_verdicts.h"
#include "testutil.h"

#define NEP   6
#define NVER  3
#define HOURS 144

typedef struct fixture {
    char dir[128], url[256];
    int64_t ep[NEP], ver[NVER];
    evd_dash *d;
    char cookie[128], csrf[80];
} fixture;

static uint64_t seed = 7;
static double unif(void)
{
    return (double)(sim_splitmix64(&seed) >> 11) / 9007199254740992.0;
}

/* ep0 twice as slow from v3 (profiles: g() grows), ep1's outliers end in
 * lock_wait, ep4 has no traffic after v1, the rest unchanged; 48 hours a
 * version. */
static void fill(fixture *fx)
{
    store *st = NULL;
    int64_t svc, inst;
    int level;
    assert_int_equal(store_open(fx->url, 0, &st), 0);
    assert_int_equal(store_begin(st), 0);
    assert_int_equal(tu_register(st, &svc, &inst), 0);
    int64_t t0 = (clock_real_us() / 3600000000LL - HOURS - 1) * 3600;
    for (int v = 0; v < NVER; v++) {
        char name[16];
        snprintf(name, sizeof name, "v%d", v + 1);
        assert_int_equal(store_version_touch(st, name, (t0 + v * 48 * 3600) * 1000000, &fx->ver[v]),
                         0);
    }
    store_rollup_acc acc[NEP][NVER];
    for (int e = 0; e < NEP; e++) {
        char name[16];
        snprintf(name, sizeof name, "ep%d", e);
        assert_int_equal(store_endpoint_upsert(st, svc, name, NULL, "GET", 3, &fx->ep[e], &level),
                         0);
        for (int v = 0; v < NVER; v++)
            assert_int_equal(store_rollup_acc_init(&acc[e][v]), 0);
    }
    for (int h = 0; h < HOURS; h++) {
        int v = h / 48;
        int64_t hour_s = t0 + h * 3600;
        for (int e = 0; e < NEP; e++) {
            if (e == 4 && v > 0)
                continue;
            for (int k = 0; k < 20; k++) {
                double z = sqrt(-2 * log(unif() + 1e-300)) * cos(6.283185307 * unif());
                int64_t du = (int64_t)(1000 * (1 + e) * exp(0.4 * z) * (e == 0 && v == 2 ? 2 : 1));
                char grp[8];
                snprintf(grp, sizeof grp, "u%d", k % 4);
                store_request rq = {.endpoint_id = fx->ep[e],
                                    .version_id = fx->ver[v],
                                    .instance_id = inst,
                                    .ts_us = hour_s * 1000000 + k * 1000000,
                                    .duration_us = du + 1,
                                    .status = unif() < 0.01 ? 500 : 200,
                                    .group = grp,
                                    .ip = "10.0.0.1"};
                int64_t rid;
                assert_int_equal(store_insert_request(st, &rq, &rid), 0);
                store_rollup_acc_add(&acc[e][v], rq.duration_us, (double)rq.duration_us, rq.status);
                if (e == 1 && k == 0) {
                    store_outlier o = {.request_id = rid,
                                       .endpoint_id = rq.endpoint_id,
                                       .ts_us = rq.ts_us,
                                       .duration_us = rq.duration_us,
                                       .stack = "main\ta.c\t1\nlock_wait\tb.c\t2\n"};
                    assert_int_equal(store_insert_outlier(st, &o), 0);
                }
                if (e == 2 && k == 0) { /* other endpoints' stacks, for the baseline */
                    store_outlier o = {.request_id = rid,
                                       .endpoint_id = rq.endpoint_id,
                                       .ts_us = rq.ts_us,
                                       .duration_us = rq.duration_us,
                                       .stack = h % 2 ? "main\ta.c\t1\nread\tc.c\t3\n"
                                                      : "main\ta.c\t1\nwrite\tc.c\t4\n"};
                    assert_int_equal(store_insert_outlier(st, &o), 0);
                }
                if (e == 0 && k < 2 && (v == 1 || v == 2)) {
                    assert_int_equal(store_insert_profiled(st, rid, &rq), 0);
                    const char *fn[] = {"root", "f", "g"};
                    double part[] = {1, v == 2 ? 0.2 : 0.6, v == 2 ? 0.8 : 0.4};
                    for (int p = 0; p < 3; p++) {
                        store_profile_line pl = {.request_id = rid,
                                                 .position = p,
                                                 .indent = p ? 1 : 0,
                                                 .function = fn[p],
                                                 .file = "x.c",
                                                 .line = p,
                                                 .duration_us = (int64_t)(du * part[p]),
                                                 .samples = 1};
                        assert_int_equal(store_insert_profile_line(st, &pl), 0);
                    }
                }
            }
        }
        for (int e = 0; e < NEP; e++)
            for (int w = 0; w < NVER; w++)
                if (acc[e][w].count)
                    assert_int_equal(store_rollup_acc_merge(st, &acc[e][w], fx->ep[e], fx->ver[w],
                                                            hour_s / 3600, inst),
                                     0);
    }
    for (int v = 0; v < NVER; v++) {
        char name[16];
        int64_t id;
        snprintf(name, sizeof name, "v%d", v + 1);
        assert_int_equal(store_version_touch(st, name, (t0 + (v + 1) * 48 * 3600) * 1000000, &id),
                         0);
    }
    assert_int_equal(store_commit(st), 0);
    for (int e = 0; e < NEP; e++)
        for (int v = 0; v < NVER; v++)
            store_rollup_acc_free(&acc[e][v]);
    store_close(st);
}

typedef struct reply {
    int status;
    json_t *doc;
    char *text;
} reply;

static reply call(fixture *fx, const char *method, const char *path, const char *query,
                  const char *body, int with_csrf)
{
    evd_dash_header h[3];
    size_t nh = 0;
    if (fx->cookie[0])
        h[nh++] = (evd_dash_header){"Cookie", fx->cookie};
    if (with_csrf)
        h[nh++] = (evd_dash_header){"X-CSRF-Token", fx->csrf};
    if (body)
        h[nh++] = (evd_dash_header){"Content-Type", "application/json"};
    evd_dash_request rq = {.method = method,
                           .path = path,
                           .query = query,
                           .headers = h,
                           .nheaders = nh,
                           .body = body,
                           .body_len = body ? strlen(body) : 0,
                           .remote_ip = "192.0.2.9"};
    evd_dash_response rs;
    assert_int_equal(evd_dash_handle(fx->d, &rq, &rs), 0);
    reply r = {.status = rs.status};
    if (rs.body && !strcmp(rs.content_type, "application/json"))
        r.doc = json_loadb(rs.body, rs.body_len, 0, NULL);
    else if (rs.body)
        r.text = strndup(rs.body, rs.body_len);
    evd_dash_response_free(&rs);
    return r;
}

static void done(reply *r)
{
    json_decref(r->doc);
    free(r->text);
}

static int setup(void **state)
{
    fixture *fx = calloc(1, sizeof *fx);
    tu_tmpdir(fx->dir, sizeof fx->dir);
    snprintf(fx->url, sizeof fx->url, "%s/v.db", fx->dir);
    fill(fx);
    evd_config *cfg = evd_config_new();
    assert_int_equal(evd_config_set(cfg, "USERNAME", "root"), 0);
    assert_int_equal(evd_config_set(cfg, "PASSWORD", "pw-root"), 0);
    assert_int_equal(evd_dash_open(cfg, fx->url, &fx->d), 0);
    evd_config_free(cfg);
    /* log in: the session cookie and its CSRF token */
    evd_dash_request rq = {.method = "POST",
                           .path = "/dashboard/login",
                           .body = "{\"username\":\"root\",\"password\":\"pw-root\"}",
                           .headers = &(evd_dash_header){"Content-Type", "application/json"},
                           .nheaders = 1,
                           .remote_ip = "192.0.2.9"};
    rq.body_len = strlen(rq.body);
    evd_dash_response rs;
    assert_int_equal(evd_dash_handle(fx->d, &rq, &rs), 0);
    snprintf(fx->cookie, sizeof fx->cookie, "%.*s", (int)strcspn(rs.set_cookie, ";"),
             rs.set_cookie);
    json_t *doc = json_loadb(rs.body, rs.body_len, 0, NULL);
    snprintf(fx->csrf, sizeof fx->csrf, "%s",
             json_string_value(json_object_get(doc, "csrf_token")));
    json_decref(doc);
    evd_dash_response_free(&rs);
    *state = fx;
    return 0;
}

static int teardown(void **state)
{
    fixture *fx = *state;
    evd_dash_close(fx->d);
    tu_rmrf(fx->dir);
    free(fx);
    return 0;
}

static const json_t *find_kind(const json_t *list, const char *kind, const char *ep)
{
    size_t i;
    json_t *f;
    json_array_foreach(list, i, f)
    {
        if (!strcmp(json_string_value(json_object_get(f, "kind")), kind) &&
            (!ep || !strcmp(json_string_value(json_object_get(f, "endpoint")), ep)))
            return f;
    }
    return NULL;
}

static void test_findings_engine(void **state)
{
    fixture *fx = *state;
    store *st = NULL;
    assert_int_equal(store_open(fx->url, STORE_RDONLY, &st), 0);
    findings_opts o = {.to_us = INT64_MAX / 4,
                       .min_requests = FINDINGS_MIN_REQUESTS_DEF,
                       .min_ratio = FINDINGS_MIN_RATIO_DEF,
                       .prefix = "/dashboard"};
    json_t *doc = NULL;
    assert_int_equal(findings_compute(st, NULL, &o, &doc), 0);
    const json_t *list = json_object_get(doc, "findings");
    const json_t *reg = find_kind(list, "regression", "ep0");
    assert_non_null(reg);
    assert_string_equal(json_string_value(json_object_get(reg, "version")), "v3");
    assert_string_equal(json_string_value(json_object_get(reg, "baseline_version")), "v2");
    assert_true(json_real_value(json_object_get(reg, "ratio")) > 1.7);
    assert_non_null(find_kind(list, "outlier_cause", "ep1"));
    assert_non_null(find_kind(list, "dead_endpoint", "ep4"));
    /* nothing about the unchanged ones */
    size_t i;
    json_t *f;
    json_array_foreach(list, i, f)
    {
        const char *ep = json_string_value(json_object_get(f, "endpoint"));
        assert_true(!strcmp(ep, "ep0") || !strcmp(ep, "ep1") || !strcmp(ep, "ep4"));
    }
    json_decref(doc);
    /* a floor above the change: no regression */
    o.min_ratio = 3;
    assert_int_equal(findings_compute(st, NULL, &o, &doc), 0);
    assert_null(find_kind(json_object_get(doc, "findings"), "regression", NULL));
    json_decref(doc);
    store_close(st);
}

static void test_routes(void **state)
{
    fixture *fx = *state;
    reply r = call(fx, "GET", "/dashboard/api/findings", NULL, NULL, 0);
    assert_int_equal(r.status, 200);
    assert_non_null(find_kind(json_object_get(r.doc, "findings"), "regression", "ep0"));
    done(&r);
    r = call(fx, "GET", "/dashboard/api/findings", "kind=dead_endpoint", NULL, 0);
    assert_int_equal(json_array_size(json_object_get(r.doc, "findings")), 1);
    done(&r);
    r = call(fx, "GET", "/dashboard/api/compare", "a=v2&b=v3", NULL, 0);
    assert_int_equal(r.status, 200);
    const json_t *rows = json_object_get(r.doc, "endpoints");
    assert_true(json_array_size(rows) >= 5);
    assert_string_equal(json_string_value(json_object_get(json_array_get(rows, 0), "method")),
                        "raw");
    done(&r);
    r = call(fx, "GET", "/dashboard/api/compare", "a_from=0&a_to=10&b_from=5&b_to=4000000000", NULL,
             0);
    assert_int_equal(r.status, 200);
    done(&r);
    r = call(fx, "GET", "/dashboard/api/compare", "a=v2", NULL, 0);
    assert_int_equal(r.status, 400);
    done(&r);
    char path[96];
    snprintf(path, sizeof path, "/dashboard/api/endpoints/%lld/profile_diff", (long long)fx->ep[0]);
    r = call(fx, "GET", path, "a=v2&b=v3&from=0", NULL, 0);
    assert_int_equal(r.status, 200);
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(r.doc, "grew_most"), "function")), "g");
    done(&r);
    r = call(fx, "GET", path, "a=v2&b=nope", NULL, 0);
    assert_int_equal(r.status, 404);
    done(&r);
    r = call(fx, "GET", "/dashboard/metrics", NULL, NULL, 0);
    assert_int_equal(r.status, 200);
    assert_non_null(strstr(r.text, "evodash_findings_open{kind=\"regression\"} 1\n"));
    done(&r);
}

static void test_marks_and_baselines(void **state)
{
    fixture *fx = *state;
    char path[96], body[64];
    snprintf(path, sizeof path, "/dashboard/api/versions/%lld/mark", (long long)fx->ver[0]);
    reply r = call(fx, "POST", path, NULL, "{\"important\": true}", 0);
    assert_int_equal(r.status, 403); /* no CSRF token */
    done(&r);
    r = call(fx, "POST", path, NULL, "{\"important\": true, \"important\": false}", 1);
    assert_int_equal(r.status, 400); /* duplicate keys */
    done(&r);
    r = call(fx, "POST", path, NULL, "{\"important\": true}", 1);
    assert_int_equal(r.status, 200);
    done(&r);
    /* v3's baseline is now v1, the previous important version */
    r = call(fx, "GET", "/dashboard/api/findings", NULL, NULL, 0);
    const json_t *reg = find_kind(json_object_get(r.doc, "findings"), "regression", "ep0");
    assert_non_null(reg);
    assert_string_equal(json_string_value(json_object_get(reg, "baseline_version")), "v1");
    done(&r);
    snprintf(body, sizeof body, "{\"hidden\": true}");
    snprintf(path, sizeof path, "/dashboard/api/versions/%lld/mark", (long long)fx->ver[2]);
    r = call(fx, "POST", path, NULL, body, 1);
    assert_int_equal(r.status, 200);
    done(&r);
    /* a hidden version is neither a side nor listed */
    r = call(fx, "GET", "/dashboard/api/findings", NULL, NULL, 0);
    assert_null(find_kind(json_object_get(r.doc, "findings"), "regression", NULL));
    done(&r);
    r = call(fx, "GET", "/dashboard/api/versions", NULL, NULL, 0);
    assert_int_equal(json_array_size(json_object_get(r.doc, "items")), 2);
    done(&r);
    r = call(fx, "GET", "/dashboard/api/versions", "hidden=1", NULL, 0);
    assert_int_equal(json_array_size(json_object_get(r.doc, "items")), 3);
    done(&r);
    r = call(fx, "GET", "/dashboard/api/evolution", "from=0", NULL, 0);
    assert_int_equal(json_array_size(json_object_get(r.doc, "items")), 2);
    done(&r);
    snprintf(path, sizeof path, "/dashboard/api/endpoints/%lld/versions", (long long)fx->ep[0]);
    r = call(fx, "GET", path, "from=0", NULL, 0);
    assert_int_equal(json_array_size(json_object_get(r.doc, "items")), 2);
    done(&r);
}

static int64_t overview_hits(fixture *fx, const char *name)
{
    reply r = call(fx, "GET", "/dashboard/api/overview", "per_page=100", NULL, 0);
    int64_t n = -1;
    size_t i;
    json_t *it;
    json_array_foreach(json_object_get(r.doc, "items"), i, it)
    {
        if (!strcmp(json_string_value(json_object_get(it, "name")), name))
            n = json_integer_value(json_object_get(json_object_get(it, "hits"), "overall"));
    }
    done(&r);
    return n;
}

static void test_renames(void **state)
{
    fixture *fx = *state;
    char body[96], path[96];
    int64_t h3 = overview_hits(fx, "ep3"), h4 = overview_hits(fx, "ep4"),
            h5 = overview_hits(fx, "ep5");
    assert_true(h3 > 0 && h4 > 0 && h5 > 0);
    /* ep4 -> ep3, then ep3 -> ep5: both read as ep5 */
    snprintf(body, sizeof body, "{\"from\": %lld, \"to\": %lld}", (long long)fx->ep[4],
             (long long)fx->ep[3]);
    reply r = call(fx, "POST", "/dashboard/api/renames", NULL, body, 1);
    assert_int_equal(r.status, 200);
    done(&r);
    snprintf(body, sizeof body, "{\"from\": %lld, \"to\": %lld}", (long long)fx->ep[3],
             (long long)fx->ep[5]);
    r = call(fx, "POST", "/dashboard/api/renames", NULL, body, 1);
    assert_int_equal(r.status, 200);
    done(&r);
    assert_int_equal(overview_hits(fx, "ep5"), h3 + h4 + h5);
    assert_int_equal(overview_hits(fx, "ep3"), -1);
    /* a cycle is refused */
    snprintf(body, sizeof body, "{\"from\": %lld, \"to\": %lld}", (long long)fx->ep[5],
             (long long)fx->ep[4]);
    r = call(fx, "POST", "/dashboard/api/renames", NULL, body, 1);
    assert_int_equal(r.status, 400);
    done(&r);
    /* raw rows through the rename: the groups view of ep5 counts all */
    snprintf(path, sizeof path, "/dashboard/api/endpoints/%lld/groups", (long long)fx->ep[5]);
    r = call(fx, "GET", path, "from=0&per_page=100", NULL, 0);
    int64_t n = 0;
    size_t i;
    json_t *it;
    json_array_foreach(json_object_get(r.doc, "items"), i, it) n +=
        json_integer_value(json_object_get(json_object_get(it, "box"), "count"));
    assert_int_equal(n, h3 + h4 + h5);
    done(&r);
    store *st = NULL;
    int64_t ids[8];
    size_t nm;
    assert_int_equal(store_open(fx->url, STORE_RDONLY, &st), 0);
    assert_int_equal(store_endpoint_members(st, fx->ep[5], ids, 8, &nm), 0);
    assert_int_equal(nm, 3);
    assert_int_equal(ids[0], fx->ep[5]);
    store_close(st);
    /* undo the second: ep4 reads as ep3 again, ep5 alone */
    snprintf(path, sizeof path, "/dashboard/api/renames/%lld/undo", (long long)fx->ep[3]);
    r = call(fx, "POST", path, NULL, "{}", 1);
    assert_int_equal(r.status, 200);
    done(&r);
    assert_int_equal(overview_hits(fx, "ep5"), h5);
    assert_int_equal(overview_hits(fx, "ep3"), h3 + h4);
    r = call(fx, "POST", path, NULL, "{}", 1);
    assert_int_equal(r.status, 404);
    done(&r);
    r = call(fx, "GET", "/dashboard/api/renames", NULL, NULL, 0);
    assert_int_equal(json_array_size(json_object_get(r.doc, "items")), 1);
    done(&r);
}

/* New data (here: a mark written by another process) is picked up in the
 * background: the cached answer is served, marked stale, then replaced. */
static void test_refresh_as_data_arrives(void **state)
{
    fixture *fx = *state;
    reply r = call(fx, "GET", "/dashboard/api/findings", NULL, NULL, 0);
    const json_t *reg = find_kind(json_object_get(r.doc, "findings"), "regression", "ep0");
    assert_string_equal(json_string_value(json_object_get(reg, "baseline_version")), "v2");
    done(&r);
    store *st = NULL;
    assert_int_equal(store_open(fx->url, 0, &st), 0);
    assert_int_equal(store_version_mark(st, fx->ver[0], 1, -1), 0);
    store_close(st);
    /* within the stamp's check interval the cache answers as it was */
    r = call(fx, "GET", "/dashboard/api/findings", NULL, NULL, 0);
    reg = find_kind(json_object_get(r.doc, "findings"), "regression", "ep0");
    assert_string_equal(json_string_value(json_object_get(reg, "baseline_version")), "v2");
    done(&r);
    const char *base = "v2";
    for (int i = 0; i < 200 && !strcmp(base, "v2"); i++) {
        nanosleep(&(struct timespec){0, 100000000}, NULL);
        r = call(fx, "GET", "/dashboard/api/findings", NULL, NULL, 0);
        reg = find_kind(json_object_get(r.doc, "findings"), "regression", "ep0");
        base = !strcmp(json_string_value(json_object_get(reg, "baseline_version")), "v1") ? "v1"
                                                                                          : "v2";
        done(&r);
    }
    assert_string_equal(base, "v1");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_findings_engine, setup, teardown),
        cmocka_unit_test_setup_teardown(test_routes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_marks_and_baselines, setup, teardown),
        cmocka_unit_test_setup_teardown(test_renames, setup, teardown),
        cmocka_unit_test_setup_teardown(test_refresh_as_data_arrives, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

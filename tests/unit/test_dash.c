/* test_dash.c — the dashboard handler in process: time-zone offsets across
 * DST, local day boundaries, routing and status codes, the login body
 * parser, sessions and CSRF, pagination and range errors, the open ends of
 * a parsed range and the raw-row cache's keys for them, and static asset
 * path handling. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "evodash.h"
#include "core/clock.h"
#include "dash/dash_int.h"
#include "dash/helpers.h"
#include "dash/tz.h"
#include "testutil.h"

/* ---- time zones ---- */

static void test_tz_amsterdam_dst(void **state)
{
    (void)state;
    tz_zone *z;
    char err[160];
    assert_int_equal(tz_load("Europe/Amsterdam", NULL, &z, err, sizeof err), 0);
    /* 2026-03-29 01:00 UTC: CET (+1) becomes CEST (+2). */
    assert_int_equal(tz_offset(z, 1774746000 - 1), 3600);
    assert_int_equal(tz_offset(z, 1774746000), 7200);
    /* 2026-10-25 01:00 UTC: back to +1. */
    assert_int_equal(tz_offset(z, 1792890000 - 1), 7200);
    assert_int_equal(tz_offset(z, 1792890000), 3600);
    /* 2026-10-25 is a 25-hour local day. */
    int64_t day = tz_day(z, 1792890000);
    assert_int_equal(tz_day_start(z, day + 1) - tz_day_start(z, day), 25 * 3600);
    /* and 2026-03-29 a 23-hour one */
    day = tz_day(z, 1774746000);
    assert_int_equal(tz_day_start(z, day + 1) - tz_day_start(z, day), 23 * 3600);
    /* local midnight of 2026-11-04 is 23:00 UTC the day before */
    assert_int_equal(tz_day_start(z, 20761), 1793746800);
    tz_free(z);
}

static void test_tz_names(void **state)
{
    (void)state;
    tz_zone *z;
    char err[160];
    assert_int_equal(tz_load("UTC", NULL, &z, err, sizeof err), 0);
    assert_int_equal(tz_offset(z, 1234567890), 0);
    tz_free(z);
    assert_int_equal(tz_load("../etc/passwd", NULL, &z, err, sizeof err), EVD_EINVAL);
    assert_null(z);
    assert_int_equal(tz_load("/etc/localtime", NULL, &z, err, sizeof err), EVD_EINVAL);
    assert_int_equal(tz_load("Mars/Olympus", NULL, &z, err, sizeof err), EVD_ENOENT);
    assert_non_null(strstr(err, "Mars/Olympus"));
    /* a file that is not TZif */
    char dir[64];
    tu_tmpdir(dir, sizeof dir);
    char path[128];
    snprintf(path, sizeof path, "%s/Bad", dir);
    FILE *f = fopen(path, "w");
    fputs("TZif2 but truncated", f);
    fclose(f);
    assert_int_equal(tz_load("Bad", dir, &z, err, sizeof err), EVD_EINVAL);
    tu_rmrf(dir);
    /* India: +5:30 all year */
    assert_int_equal(tz_load("Asia/Kolkata", NULL, &z, err, sizeof err), 0);
    assert_int_equal(tz_offset(z, 1700000000), 19800);
    tz_free(z);
}

/* ---- login parser ---- */

static void test_login_parse(void **state)
{
    (void)state;
    char u[64], p[64], err[200];
    const char *js = "{\"username\":\"ann\",\"password\":\"p w\"}";
    assert_int_equal(auth_parse_login(js, strlen(js), "application/json", u, sizeof u, p, sizeof p,
                                      err, sizeof err),
                     0);
    assert_string_equal(u, "ann");
    assert_string_equal(p, "p w");
    const char *form = "password=a%26b%3D&username=bob+x";
    assert_int_equal(auth_parse_login(form, strlen(form), "application/x-www-form-urlencoded", u,
                                      sizeof u, p, sizeof p, err, sizeof err),
                     0);
    assert_string_equal(u, "bob x");
    assert_string_equal(p, "a&b=");
    static const char *const bad[] = {"{", "[1]", "{\"username\":1,\"password\":\"x\"}",
                                      "{\"username\":\"a\\u0000b\",\"password\":\"x\"}"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_equal(auth_parse_login(bad[i], strlen(bad[i]), "application/json", u, sizeof u,
                                          p, sizeof p, err, sizeof err),
                         -1);
    const char *badform[] = {"username=x", "username=%zz&password=y", "username=%00&password=y"};
    for (size_t i = 0; i < 3; i++)
        assert_int_equal(auth_parse_login(badform[i], strlen(badform[i]), NULL, u, sizeof u, p,
                                          sizeof p, err, sizeof err),
                         -1);
    char big[100];
    memset(big, 'a', sizeof big - 1);
    big[sizeof big - 1] = 0;
    char body[200];
    snprintf(body, sizeof body, "username=%s&password=x", big);
    assert_int_equal(
        auth_parse_login(body, strlen(body), NULL, u, sizeof u, p, sizeof p, err, sizeof err), -1);
    assert_int_equal(auth_parse_login(NULL, 0, NULL, u, sizeof u, p, sizeof p, err, sizeof err),
                     -1);
}

/* ---- the handler in process ---- */

typedef struct fixture {
    char dir[64];
    char url[160];
    evd_dash *d;
} fixture;

static int setup(void **state)
{
    fixture *fx = calloc(1, sizeof *fx);
    tu_tmpdir(fx->dir, sizeof fx->dir);
    snprintf(fx->url, sizeof fx->url, "%s/t.db", fx->dir);
    store *st = NULL;
    assert_int_equal(store_open(fx->url, 0, &st), 0);
    int64_t id, svc;
    int level;
    assert_int_equal(store_service_register(st, "svc", 1, &svc), 0);
    assert_int_equal(store_endpoint_upsert(st, svc, "api.one", "/one", "GET", 1, &id, &level), 0);
    store_close(st);
    evd_config *cfg = evd_config_new();
    assert_int_equal(evd_config_set(cfg, "USERNAME", "root"), 0);
    assert_int_equal(evd_config_set(cfg, "PASSWORD", "pw-root"), 0);
    assert_int_equal(evd_config_set(cfg, "GUEST_USERNAME", "g"), 0);
    assert_int_equal(evd_config_set(cfg, "GUEST_PASSWORD", "['gp1', 'gp2']"), 0);
    int rc = evd_dash_open(cfg, fx->url, &fx->d);
    if (rc)
        fprintf(stderr, "%s\n", evd_dash_errmsg(fx->d));
    assert_int_equal(rc, 0);
    evd_config_free(cfg);
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

typedef struct reply {
    int status;
    char cookie[256];
    json_t *doc;
} reply;

static reply call(fixture *fx, const char *method, const char *path, const char *query,
                  const char *cookie, const char *csrf, const char *ctype, const char *body)
{
    evd_dash_header h[3];
    size_t nh = 0;
    if (cookie)
        h[nh++] = (evd_dash_header){"Cookie", cookie};
    if (csrf)
        h[nh++] = (evd_dash_header){"X-CSRF-Token", csrf};
    if (ctype)
        h[nh++] = (evd_dash_header){"Content-Type", ctype};
    evd_dash_request rq = {.method = method,
                           .path = path,
                           .query = query,
                           .headers = h,
                           .nheaders = nh,
                           .body = body,
                           .body_len = body ? strlen(body) : 0,
                           .remote_ip = "192.0.2.1"};
    evd_dash_response rs;
    assert_int_equal(evd_dash_handle(fx->d, &rq, &rs), 0);
    reply r = {.status = rs.status};
    snprintf(r.cookie, sizeof r.cookie, "%s", rs.set_cookie);
    if (rs.body && !strcmp(rs.content_type, "application/json"))
        r.doc = json_loadb(rs.body, rs.body_len, 0, NULL);
    evd_dash_response_free(&rs);
    return r;
}

static void expect_error(reply r, int status)
{
    assert_int_equal(r.status, status);
    assert_non_null(r.doc);
    assert_true(json_is_string(json_object_get(r.doc, "error")));
    json_decref(r.doc);
}

static void login(fixture *fx, const char *user, const char *pw, char *cookie, size_t ccap,
                  char *csrf, size_t scap)
{
    char body[128];
    snprintf(body, sizeof body, "username=%s&password=%s", user, pw);
    reply r = call(fx, "POST", "/dashboard/login", NULL, NULL, NULL, NULL, body);
    assert_int_equal(r.status, 200);
    assert_non_null(strstr(r.cookie, "HttpOnly"));
    assert_non_null(strstr(r.cookie, "SameSite=Strict"));
    size_t n = strcspn(r.cookie, ";");
    snprintf(cookie, ccap, "%.*s", (int)n, r.cookie);
    snprintf(csrf, scap, "%s", json_string_value(json_object_get(r.doc, "csrf_token")));
    json_decref(r.doc);
}

/* Quantiles by selection agree with a full sort (numpy's linear rule), on
 * sizes around the selection's cut-over and on heavily repeated values. */
static int cmp64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

static double sorted_q(const int64_t *v, size_t n, double q)
{
    double pos = q * (double)(n - 1);
    size_t i = (size_t)pos;
    return i + 1 >= n ? (double)v[n - 1]
                      : (double)v[i] + (pos - (double)i) * (double)(v[i + 1] - v[i]);
}

static void test_box_from_values(void **state)
{
    (void)state;
    static const size_t sizes[] = {1, 2, 3, 4, 5, 16, 17, 18, 100, 1001, 50000};
    uint64_t seed = 42;
    for (size_t si = 0; si < sizeof sizes / sizeof sizes[0]; si++)
        for (int spread = 0; spread < 3; spread++) {
            size_t n = sizes[si];
            int64_t *v = malloc(n * sizeof *v), *w = malloc(n * sizeof *w);
            for (size_t i = 0; i < n; i++) {
                seed = seed * 6364136223846793005ull + 1442695040888963407ull;
                uint64_t r = seed >> 33;
                v[i] = spread == 0   ? (int64_t)(r % 3)
                       : spread == 1 ? (int64_t)(r % 1000)
                                     : (int64_t)r;
                w[i] = v[i];
            }
            qsort(w, n, sizeof *w, cmp64);
            boxstat b;
            box_from_values(v, n, &b);
            assert_int_equal(b.count, n);
            assert_true(b.min == (double)w[0] && b.max == (double)w[n - 1]);
            assert_true(b.q1 == sorted_q(w, n, 0.25));
            assert_true(b.median == sorted_q(w, n, 0.5));
            assert_true(b.q3 == sorted_q(w, n, 0.75));
            free(v);
            free(w);
        }
}

static void test_routing(void **state)
{
    fixture *fx = *state;
    char ck[128], cs[80];
    expect_error(call(fx, "GET", "/elsewhere", NULL, NULL, NULL, NULL, NULL), 404);
    expect_error(call(fx, "GET", "/dashboard/api/overview", NULL, NULL, NULL, NULL, NULL), 401);
    login(fx, "root", "pw-root", ck, sizeof ck, cs, sizeof cs);
    reply r = call(fx, "GET", "/dashboard/api/overview", "per_page=1", ck, NULL, NULL, NULL);
    assert_int_equal(r.status, 200);
    assert_int_equal(json_integer_value(json_object_get(r.doc, "total")), 1);
    json_decref(r.doc);
    expect_error(call(fx, "GET", "/dashboard/api/nope", NULL, ck, NULL, NULL, NULL), 404);
    expect_error(call(fx, "DELETE", "/dashboard/api/overview", NULL, ck, NULL, NULL, NULL), 405);
    expect_error(
        call(fx, "GET", "/dashboard/api/endpoints/x1/versions", NULL, ck, NULL, NULL, NULL), 400);
    expect_error(call(fx, "GET", "/dashboard/api/endpoints/99999999999999999999999/versions", NULL,
                      ck, NULL, NULL, NULL),
                 400);
    expect_error(
        call(fx, "GET", "/dashboard/api/endpoints/42/versions", NULL, ck, NULL, NULL, NULL), 404);
    expect_error(call(fx, "GET", "/dashboard/api/overview", "per_page=0", ck, NULL, NULL, NULL),
                 400);
    expect_error(call(fx, "GET", "/dashboard/api/overview", "page=1e9", ck, NULL, NULL, NULL), 400);
    expect_error(
        call(fx, "GET", "/dashboard/api/daily", "from=2026-02-30T25:00", ck, NULL, NULL, NULL),
        400);
    expect_error(
        call(fx, "GET", "/dashboard/api/daily", "from=0&to=999999999999", ck, NULL, NULL, NULL),
        400);
    expect_error(call(fx, "GET", "/dashboard/api/heatmap", "tz=Europe%2F..%2F..%2Fetc", ck, NULL,
                      NULL, NULL),
                 400);
    expect_error(call(fx, "GET", "/dashboard/static/../secret", NULL, NULL, NULL, NULL, NULL), 400);
    expect_error(call(fx, "GET", "/dashboard/static/a\\b", NULL, NULL, NULL, NULL, NULL), 400);
    r = call(fx, "GET", "/dashboard/", NULL, NULL, NULL, NULL, NULL);
    assert_int_equal(r.status, 200);
    assert_null(r.doc);
}

static void test_sessions_and_csrf(void **state)
{
    fixture *fx = *state;
    char ck[128], cs[80], gck[128], gcs[80];
    login(fx, "root", "pw-root", ck, sizeof ck, cs, sizeof cs);
    /* the second GUEST_PASSWORD works too */
    login(fx, "g", "gp2", gck, sizeof gck, gcs, sizeof gcs);
    const char *lv = "{\"level\": 3}";
    expect_error(
        call(fx, "POST", "/dashboard/api/rules/1/level", NULL, ck, NULL, "application/json", lv),
        403);
    expect_error(
        call(fx, "POST", "/dashboard/api/rules/1/level", NULL, gck, gcs, "application/json", lv),
        403);
    reply r =
        call(fx, "POST", "/dashboard/api/rules/1/level", NULL, ck, cs, "application/json", lv);
    assert_int_equal(r.status, 200);
    json_decref(r.doc);
    assert_int_equal(tu_sql_int(fx->url, "SELECT level FROM endpoints WHERE id = 1"), 3);
    /* the store keeps only a hash of the session token */
    char *stored = tu_sql_text(fx->url, "SELECT hex(token_hash) FROM sessions LIMIT 1");
    assert_non_null(stored);
    assert_null(strstr(ck, stored));
    free(stored);
    /* a forged cookie of the right shape is just not logged in */
    expect_error(call(fx, "GET", "/dashboard/api/rules", NULL,
                      "evd_session="
                      "00000000000000000000000000000000000000000000000000000000000000aa",
                      NULL, NULL, NULL),
                 401);
}

static void test_rate_limit(void **state)
{
    fixture *fx = *state;
    for (int i = 0; i < 5; i++)
        expect_error(call(fx, "POST", "/dashboard/login", NULL, NULL, NULL, NULL,
                          "username=root&password=nope"),
                     401);
    expect_error(call(fx, "POST", "/dashboard/login", NULL, NULL, NULL, NULL,
                      "username=root&password=pw-root"),
                 429);
}

/* More distinct zones than the cache holds: every valid one is served, the
 * configured zone and UTC keep working (a full cache used to refuse every
 * new zone, UTC included, until restart), and a bad name is still 400. */
static void test_tz_cache_evicts(void **state)
{
    fixture *fx = *state;
    static const char *const zones[] = {
        "Europe/Amsterdam", "Europe/Paris",      "Europe/Berlin",     "Europe/London",
        "Europe/Madrid",    "Europe/Rome",       "Europe/Oslo",       "Europe/Helsinki",
        "Europe/Athens",    "Europe/Istanbul",   "Europe/Moscow",     "Asia/Tokyo",
        "Asia/Kolkata",     "Asia/Shanghai",     "Asia/Dubai",        "Asia/Kathmandu",
        "Asia/Singapore",   "Asia/Seoul",        "America/New_York",  "America/Chicago",
        "America/Denver",   "America/Phoenix",   "America/Sao_Paulo", "America/Lima",
        "Africa/Cairo",     "Africa/Lagos",      "Australia/Sydney",  "Australia/Perth",
        "Pacific/Auckland", "Pacific/Honolulu",  "Etc/GMT%2B5",       "Etc/GMT-14",
        "Atlantic/Azores",  "America/St_Johns",  "Asia/Tehran",       "Australia/Eucla",
        "Pacific/Chatham",  "America/Anchorage", "Indian/Maldives",   "Antarctica/Troll",
    };
    char ck[128], cs[80], q[64];
    login(fx, "g", "gp1", ck, sizeof ck, cs, sizeof cs);
    for (int round = 0; round < 2; round++)
        for (size_t i = 0; i < sizeof zones / sizeof zones[0]; i++) {
            snprintf(q, sizeof q, "tz=%s", zones[i]);
            reply r = call(fx, "GET", "/dashboard/api/heatmap", q, ck, NULL, NULL, NULL);
            if (r.status != 200)
                print_error("%s: %d\n", zones[i], r.status);
            assert_int_equal(r.status, 200);
            json_decref(r.doc);
        }
    static const char *const after[] = {"tz=UTC", NULL, "tz=Europe%2FAmsterdam"};
    for (size_t i = 0; i < 3; i++) {
        reply r = call(fx, "GET", "/dashboard/api/heatmap", after[i], ck, NULL, NULL, NULL);
        assert_int_equal(r.status, 200);
        json_decref(r.doc);
    }
    expect_error(
        call(fx, "GET", "/dashboard/api/heatmap", "tz=Mars%2FOlympus", ck, NULL, NULL, NULL), 400);
    /* Nothing is held once the requests are over, but the configured zone. */
    int held = 0;
    for (int i = 0; i < fx->d->ntz; i++)
        held += fx->d->tz_cache[i].refs;
    assert_int_equal(fx->d->ntz, DASH_TZ_CACHE);
    assert_int_equal(held, 1);
}

/* A parsed range says which ends were left open, so that the raw-row
 * cache (rawscan.c) keys an "until now" range without reading the query
 * string again. */
static void test_range_open_flags(void **state)
{
    fixture *fx = *state;
    static const struct {
        const char *q;
        int open_from, open_to;
        int64_t from_s, to_s; /* -1: relative to now */
    } cases[] = {
        {"", 1, 1, -1, -1},
        {"from=2026-11-01T00:00Z", 0, 1, 1793491200, -1},
        {"to=1793577600", 1, 0, 1793577600 - 3600, 1793577600},
        {"from=2026-11-01T00:00Z&to=2026-11-02T00:00Z", 0, 0, 1793491200, 1793577600},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        evd_dash_request rq = {.method = "GET", .path = "/dashboard/api/heatmap"};
        evd_dash_response rs = {0};
        dctx c = {.d = fx->d, .rq = &rq, .rs = &rs};
        char err[160];
        drange r;
        assert_int_equal(dash_parse_query(&c, cases[i].q, err, sizeof err), 0);
        int64_t before = clock_real_us();
        assert_int_equal(dash_range(&c, 3600, &r), 0);
        assert_int_equal(r.open_from, cases[i].open_from);
        assert_int_equal(r.open_to, cases[i].open_to);
        if (cases[i].to_s < 0)
            assert_true(r.to_us >= before && r.to_us <= clock_real_us());
        else
            assert_int_equal(r.to_us, cases[i].to_s * 1000000);
        if (cases[i].from_s < 0)
            assert_int_equal(r.from_us, r.to_us - 3600 * 1000000LL);
        else
            assert_int_equal(r.from_us, cases[i].from_s * 1000000);
        dash_tz_release(&c);
        free(c.parambuf);
        evd_dash_response_free(&rs);
    }
}

/* ... and by those flags alone the raw-row cache lets the requests of one
 * page, whose open ranges end microseconds apart, share one scan, while a
 * range with both ends given is its own. */
static void test_rawscan_open_range_shared(void **state)
{
    fixture *fx = *state;
    store *st = NULL;
    assert_int_equal(store_open(fx->url, 0, &st), 0);
    /* the middle of a 10-second mark (RAWSCAN_OPEN_US), so 1 us crosses none */
    int64_t now = clock_real_us() / 10000000 * 10000000 + 5000000;
    for (int open = 0; open < 2; open++) {
        drange a = {
            .from_us = now - 3600 * 1000000LL, .to_us = now, .open_to = open, .open_from = open};
        drange b = a;
        b.from_us += 1;
        b.to_us += 1;
        int rc = 0;
        char err[160];
        const rawscan *sa =
            rawscan_get(fx->d->rawscan, st, NULL, 1, &a, 1000, &rc, err, sizeof err);
        const rawscan *sb =
            rawscan_get(fx->d->rawscan, st, NULL, 1, &b, 1000, &rc, err, sizeof err);
        assert_non_null(sa);
        assert_non_null(sb);
        if (open)
            assert_ptr_equal(sa, sb);
        else
            assert_ptr_not_equal(sa, sb);
        rawscan_release(fx->d->rawscan, sa);
        rawscan_release(fx->d->rawscan, sb);
    }
    store_close(st);
}

/* An error reply: JSON {"error": text, "status": N} with that HTTP status. */
static void expect_json_error(reply r, int status)
{
    if (r.status != status)
        print_error("status %d, want %d\n", r.status, status);
    assert_int_equal(r.status, status);
    assert_non_null(r.doc);
    assert_true(json_is_string(json_object_get(r.doc, "error")));
    assert_int_equal(json_integer_value(json_object_get(r.doc, "status")), status);
    json_decref(r.doc);
}

/* Bad input gets a JSON error with its status: bad UTF-8 (which made the
 * error body itself fail, leaving {"error":"out of memory"} and no status),
 * over-long URLs and headers, and JSON bodies with a key twice. */
static void test_bad_input_json_errors(void **state)
{
    fixture *fx = *state;
    char ck[128], cs[80];
    login(fx, "root", "pw-root", ck, sizeof ck, cs, sizeof cs);
    static const char *const bad_utf8[] = {
        "tz=%ff%fe",
        "from=%c3%28",
        "%ff=1",
        "page=%ed%a0%80",
        "q=%e2%82",
        /* valid UTF-8 that an error message cuts in the middle of a character */
        "per_page=%e2%82%ac%e2%82%ac%e2%82%ac%e2%82%ac%e2%82%ac%e2%82%ac%e2%82%ac%e2%82%ac"
        "%e2%82%ac%e2%82%ac%e2%82%ac%e2%82%ac%e2%82%ac%e2%82%ac%e2%82%ac%e2%82%ac",
    };
    for (size_t i = 0; i < sizeof bad_utf8 / sizeof bad_utf8[0]; i++)
        expect_json_error(
            call(fx, "GET", "/dashboard/api/overview", bad_utf8[i], ck, NULL, NULL, NULL), 400);
    expect_json_error(call(fx, "GET", "/dashboard/api/ov\xffview", NULL, ck, NULL, NULL, NULL),
                      404);
    expect_json_error(
        call(fx, "GET", "/dashboard/api/endpoints/\xc3/versions", NULL, ck, NULL, NULL, NULL), 400);

    /* Too long: the URL (414), the header block (431). */
    char *big = malloc(20001);
    memset(big, 'a', 20000);
    big[20000] = 0;
    memcpy(big, "q=", 2);
    expect_json_error(call(fx, "GET", "/dashboard/api/overview", big, ck, NULL, NULL, NULL), 414);
    big[9000] = 0;
    expect_json_error(call(fx, "GET", "/dashboard/api/overview", big, ck, NULL, NULL, NULL), 414);
    big[9000] = 'a';
    char path[9100] = "/dashboard/api/";
    memset(path + 15, 'p', 9000);
    path[9015] = 0;
    expect_json_error(call(fx, "GET", path, NULL, ck, NULL, NULL, NULL), 414);
    evd_dash_header h[2] = {{"Cookie", ck}, {"X-Big", big}};
    evd_dash_request rq = {.method = "GET",
                           .path = "/dashboard/api/overview",
                           .headers = h,
                           .nheaders = 2,
                           .remote_ip = "192.0.2.1"};
    evd_dash_response rs;
    assert_int_equal(evd_dash_handle(fx->d, &rq, &rs), 0);
    reply r = {.status = rs.status, .doc = json_loadb(rs.body, rs.body_len, 0, NULL)};
    evd_dash_response_free(&rs);
    expect_json_error(r, 431);
    free(big);

    /* A key twice is refused, not read as its last value. */
    const char *lv = "application/json";
    expect_json_error(call(fx, "POST", "/dashboard/api/rules/1/level", NULL, ck, cs, lv,
                           "{\"level\":1,\"level\":3}"),
                      400);
    assert_int_equal(tu_sql_int(fx->url, "SELECT level FROM endpoints WHERE id = 1"), 1);
    expect_json_error(call(fx, "POST", "/dashboard/api/ci/builds", NULL, ck, cs, lv,
                           "{\"build\":\"a\",\"version\":\"t\",\"build\":\"b\"}"),
                      400);
    /* ... also without a JSON Content-Type, and nested. */
    expect_json_error(call(fx, "POST", "/dashboard/api/ci/builds", NULL, ck, cs, NULL,
                           " {\"x\":{\"a\":1,\"a\":2}}"),
                      400);
    expect_json_error(call(fx, "POST", "/dashboard/login", NULL, NULL, NULL, lv,
                           "{\"username\":\"g\",\"username\":\"root\",\"password\":\"pw-root\"}"),
                      400);
    r = call(fx, "POST", "/dashboard/api/rules/1/level", NULL, ck, cs, lv, "{\"level\":2}");
    assert_int_equal(r.status, 200);
    json_decref(r.doc);
    assert_int_equal(tu_sql_int(fx->url, "SELECT level FROM endpoints WHERE id = 1"), 2);
    /* Malformed JSON is still the route's own 400. */
    expect_json_error(
        call(fx, "POST", "/dashboard/api/rules/1/level", NULL, ck, cs, lv, "{\"level\":"), 400);
}

static void test_no_default_admin(void **state)
{
    (void)state;
    char dir[64], url[128];
    tu_tmpdir(dir, sizeof dir);
    snprintf(url, sizeof url, "%s/t.db", dir);
    store *st = NULL;
    assert_int_equal(store_open(url, 0, &st), 0);
    store_close(st);
    evd_dash *d = NULL;
    assert_int_equal(evd_dash_open(NULL, url, &d), 0);
    evd_dash_close(d);
    /* an admin exists, with a random password: admin/admin does not log in */
    assert_int_equal(tu_sql_int(url, "SELECT count(*) FROM users WHERE role = 'admin'"), 1);
    assert_int_equal(evd_dash_open(NULL, url, &d), 0);
    evd_dash_request rq = {.method = "POST",
                           .path = "/dashboard/login",
                           .body = "username=admin&password=admin",
                           .body_len = 29};
    evd_dash_response rs;
    assert_int_equal(evd_dash_handle(d, &rq, &rs), 0);
    assert_int_equal(rs.status, 401);
    evd_dash_response_free(&rs);
    evd_dash_close(d);
    /* a missing store is an error, not a fresh empty file */
    snprintf(url, sizeof url, "%s/missing.db", dir);
    assert_int_not_equal(evd_dash_open(NULL, url, &d), 0);
    assert_non_null(strstr(evd_dash_errmsg(d), "missing.db"));
    evd_dash_close(d);
    tu_rmrf(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tz_amsterdam_dst),
        cmocka_unit_test(test_tz_names),
        cmocka_unit_test(test_login_parse),
        cmocka_unit_test(test_box_from_values),
        cmocka_unit_test_setup_teardown(test_routing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sessions_and_csrf, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rate_limit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tz_cache_evicts, setup, teardown),
        cmocka_unit_test_setup_teardown(test_range_open_flags, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rawscan_open_range_shared, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_input_json_errors, setup, teardown),
        cmocka_unit_test(test_no_default_admin),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

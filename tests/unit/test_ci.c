/* test_ci.c — CI test timings: JUnit reports (pytest's and ctest's
 * shapes), the upload's JSON, a build stored whole or not at all (claiming
 * the calls an agent recorded for its tests), duplicates, and the agent
 * keeping a test's requests out of the live tables.  Run on PostgreSQL too
 * (make check-pg-ci). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "evodash.h"
#include "ci/junit.h"
#include "dash/ci_report.h"
#include "store/ci.h"
#include "testutil.h"

/* ---- JUnit ---- */

static const char PYTEST_XML[] =
    "<?xml version=\"1.0\" encoding=\"utf-8\"?><testsuites><testsuite name=\"pytest\" "
    "errors=\"1\" failures=\"1\" skipped=\"1\" tests=\"4\" time=\"0.5\">"
    "<testcase classname=\"tests.test_api\" name=\"test_list\" time=\"0.012\" />"
    "<testcase classname=\"tests.test_api\" name=\"test_bad\" time=\"0.003\"><failure "
    "message=\"assert 0\">assert 0</failure></testcase>"
    "<testcase classname=\"tests.test_api\" name=\"test_skip\" time=\"0.000\"><skipped "
    "type=\"pytest.skip\" message=\"no\" /></testcase>"
    "<testcase classname=\"tests.test_api\" name=\"test_err\" time=\"0.001\"><failure/><error "
    "message=\"fixture\" /></testcase>"
    "</testsuite></testsuites>";

/* ctest --output-junit: one testsuite, classname = name, status attributes */
static const char CTEST_XML[] =
    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuite name=\"Linux-c++\" tests=\"2\" "
    "failures=\"0\" disabled=\"1\" skipped=\"0\" hostname=\"\" time=\"0\" timestamp=\"x\">\n"
    "  <testcase name=\"t_hello\" classname=\"t_hello\" time=\"0.00523\" status=\"run\">\n"
    "    <system-out>hello</system-out>\n  </testcase>\n"
    "  <testcase name=\"t_off\" classname=\"t_off\" time=\"0\" status=\"disabled\"/>\n"
    "</testsuite>\n";

static void test_junit_shapes(void **state)
{
    (void)state;
    junit_set s = {0};
    char err[256];
    assert_int_equal(junit_parse(PYTEST_XML, strlen(PYTEST_XML), "p.xml", &s, err, sizeof err), 0);
    assert_int_equal(s.n, 4);
    assert_string_equal(s.v[0].suite, "tests.test_api");
    assert_string_equal(s.v[0].name, "test_list");
    assert_int_equal(s.v[0].duration_us, 12000);
    assert_string_equal(s.v[0].outcome, "passed");
    assert_string_equal(s.v[1].outcome, "failed");
    assert_string_equal(s.v[2].outcome, "skipped");
    assert_string_equal(s.v[3].outcome, "error"); /* an error outranks a failure */
    assert_int_equal(junit_parse(CTEST_XML, strlen(CTEST_XML), "c.xml", &s, err, sizeof err), 0);
    assert_int_equal(s.n, 6);
    assert_string_equal(s.v[4].name, "t_hello");
    assert_int_equal(s.v[4].duration_us, 5230);
    assert_string_equal(s.v[5].outcome, "skipped");
    junit_set_free(&s);
}

static void test_junit_errors(void **state)
{
    (void)state;
    junit_set s = {0};
    char err[256];
    static const struct {
        const char *xml, *msg;
    } bad[] = {
        {"<testsuite><testcase name=\"a\"", "malformed XML"},
        {"<testsuite>\n<testcase name=\"a\"></testsuite>", ":2: malformed XML"},
        {"<testsuites></testsuites>", "no test case"},
        {"not xml", "malformed XML"},
        {"<testsuite><testcase classname=\"x\"/></testsuite>", "without a name"},
        {"<testsuite><testcase name=\"a\" time=\"fast\"/></testsuite>", "not a number"},
    };
    assert_int_equal(junit_parse(CTEST_XML, strlen(CTEST_XML), "ok.xml", &s, err, sizeof err), 0);
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(
            junit_parse(bad[i].xml, strlen(bad[i].xml), "bad.xml", &s, err, sizeof err),
            EVD_EINVAL);
        if (!strstr(err, bad[i].msg) || strncmp(err, "bad.xml", 7))
            fail_msg("case %zu: %s", i, err);
        assert_int_equal(s.n, 2); /* nothing appended from a bad report */
    }
    assert_int_equal(junit_read_file("/nonexistent/r.xml", &s, err, sizeof err), EVD_ENOENT);
    junit_set_free(&s);
}

/* ---- the upload's JSON ---- */

static void test_report_json(void **state)
{
    (void)state;
    ci_report r;
    char err[300];
    const char *js = "{\"build\":\"7\",\"version\":\"v1\",\"tests\":["
                     "{\"suite\":\"s\",\"name\":\"a\",\"duration_us\":5},"
                     "{\"suite\":\"s\",\"name\":\"b\",\"duration_us\":6,\"outcome\":\"failed\"},"
                     "{\"suite\":\"s\",\"name\":\"a\",\"duration_us\":7,\"calls\":["
                     "{\"endpoint\":\"e1\",\"duration_us\":3}]}]}";
    assert_int_equal(ci_report_parse(js, strlen(js), 99, &r, err, sizeof err), 0);
    assert_int_equal(r.b.ntests, 3);
    assert_int_equal(r.b.created_us, 99);
    assert_int_equal(r.b.tests[0].iteration, 1);
    assert_int_equal(r.b.tests[1].iteration, 1);
    assert_int_equal(r.b.tests[2].iteration, 2); /* a second run of s::a */
    assert_int_equal(r.b.tests[2].ncalls, 1);
    assert_string_equal(r.b.tests[2].calls[0].endpoint, "e1");
    /* round trip through the encoder `evodash collect` uses */
    json_t *doc = ci_report_json(&r.b);
    char *again = json_dumps(doc, 0);
    ci_report r2;
    assert_int_equal(ci_report_parse(again, strlen(again), 1, &r2, err, sizeof err), 0);
    assert_int_equal(r2.b.ntests, 3);
    assert_int_equal(r2.b.tests[2].iteration, 2);
    assert_int_equal(r2.b.created_us, 99);
    ci_report_free(&r2);
    free(again);
    json_decref(doc);
    ci_report_free(&r);

    static const char *const bad[] = {
        "",
        "{",
        "[]",
        "{\"build\":\"7\",\"version\":\"v1\",\"tests\":[]}",
        "{\"build\":\"7\",\"build\":\"8\",\"version\":\"v1\",\"tests\":[]}",
        "{\"build\":\"7\",\"version\":\"v1\",\"tests\":[{\"name\":\"a\"}]}",
        "{\"build\":\"7\",\"version\":\"v1\",\"tests\":[{\"name\":\"a\",\"duration_us\":1,"
        "\"outcome\":\"meh\"}]}",
        "{\"build\":\"7\",\"version\":\"v1\",\"extra\":1,\"tests\":[{\"name\":\"a\","
        "\"duration_us\":1}]}",
        "{\"build\":\"\",\"version\":\"v1\",\"tests\":[{\"name\":\"a\",\"duration_us\":1}]}",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int rc = ci_report_parse(bad[i], strlen(bad[i]), 1, &r, err, sizeof err);
        if (rc != EVD_EINVAL)
            fail_msg("case %zu accepted", i);
        assert_true(err[0] != 0);
        ci_report_free(&r);
    }
}

/* ---- the store ---- */

static store *open_store(void)
{
    store *st = NULL;
    assert_int_equal(store_open(tu_url, 0, &st), 0);
    return st;
}

static void test_put_claims_and_duplicates(void **state)
{
    (void)state;
    store *st = open_store();
    int64_t svc;
    assert_int_equal(store_service_register(st, "shop", 1, &svc), 0);
    /* what an agent recorded while the tests ran (and one call outside
     * every test's window, and one of another test) */
    assert_int_equal(store_begin(st), 0);
    assert_int_equal(store_ci_record(st, svc, "api.list", "t.api::test_list", 1500, 800, 200), 0);
    assert_int_equal(store_ci_record(st, svc, "api.list", "t.api.test_list", 1600, 900, 200), 0);
    assert_int_equal(store_ci_record(st, svc, "api.item", "test_list", 1700, 400, 404), 0);
    assert_int_equal(store_ci_record(st, svc, "api.list", "t.api::test_list", 9000, 1, 200), 0);
    assert_int_equal(store_ci_record(st, svc, "api.item", "t.api::test_other", 1500, 5, 200), 0);
    assert_int_equal(store_commit(st), 0);

    store_ci_call carried[] = {{"api.cart", 1800, 300, 201}};
    store_ci_test tests[] = {
        {.suite = "t.api",
         .name = "test_list",
         .outcome = "passed",
         .iteration = 1,
         .duration_us = 2500,
         .from_us = 1000,
         .to_us = 2000},
        {.suite = "t.api",
         .name = "test_cart",
         .outcome = "failed",
         .iteration = 1,
         .duration_us = 700,
         .calls = carried,
         .ncalls = 1},
        {.suite = "t.api",
         .name = "test_empty",
         .outcome = "passed",
         .iteration = 1,
         .duration_us = 10},
    };
    store_ci_build b = {.service = "shop",
                        .build = "41",
                        .version = "v1",
                        .created_us = 5,
                        .tests = tests,
                        .ntests = 3};
    store_ci_stored out;
    assert_int_equal(store_ci_put(st, &b, &out), 0);
    assert_int_equal(out.tests, 3);
    assert_int_equal(out.claimed, 3); /* the three names of test_list inside its window */
    assert_int_equal(out.calls, 4);
    assert_int_equal(tu_sql_int(tu_db, "SELECT count(*) FROM ci_calls WHERE test_id IS NULL"), 2);
    assert_int_equal(tu_sql_int(tu_db, "SELECT count(*) FROM ci_calls c JOIN ci_tests t ON t.id "
                                       "= c.test_id WHERE t.name = 'test_empty'"),
                     0);
    /* test traffic never reaches the live tables */
    assert_int_equal(tu_sql_int(tu_db, "SELECT count(*) FROM requests"), 0);

    /* the same build again: refused whole */
    assert_int_equal(store_ci_put(st, &b, &out), STORE_CI_EDUP);
    assert_non_null(strstr(store_errmsg(st), "stored already"));
    assert_int_equal(tu_sql_int(tu_db, "SELECT count(*) FROM ci_tests"), 3);
    /* a build that fails half-way (a test run twice under one iteration)
     * leaves nothing behind: not the build, not a claimed call */
    store_ci_test twice[] = {tests[0], tests[0]};
    twice[0].from_us = twice[1].from_us = 0;
    twice[0].to_us = twice[1].to_us = 0;
    store_ci_build b2 = {.service = "shop",
                         .build = "42",
                         .version = "v2",
                         .created_us = 6,
                         .tests = twice,
                         .ntests = 2};
    assert_true(store_ci_put(st, &b2, &out) < 0);
    assert_int_equal(tu_sql_int(tu_db, "SELECT count(*) FROM ci_builds"), 1);
    assert_int_equal(tu_sql_int(tu_db, "SELECT count(*) FROM ci_calls WHERE test_id IS NULL"), 2);
    /* no test; no service named where the store has two */
    b2.ntests = 0;
    assert_int_equal(store_ci_put(st, &b2, &out), EVD_EINVAL);
    assert_int_equal(store_service_register(st, "other", 1, &svc), 0);
    b2 = (store_ci_build){.build = "43", .version = "v2", .tests = tests + 2, .ntests = 1};
    assert_int_equal(store_ci_put(st, &b2, &out), EVD_EINVAL);
    assert_non_null(strstr(store_errmsg(st), "2 services"));
    store_close(st);
}

typedef struct counter {
    int64_t n, sum;
} counter;

static int count_build(void *u, const store_ci_build_row *r)
{
    counter *c = u;
    c->n++;
    c->sum += r->tests * 100 + r->failed * 10 + r->calls;
    return 0;
}

static int count_sample(void *u, const store_ci_sample *s)
{
    counter *c = u;
    c->n++;
    c->sum += s->duration_us;
    return 0;
}

static int count_version(void *u, const store_ci_version_sample *s)
{
    counter *c = u;
    c->n++;
    c->sum += s->duration_us + (strcmp(s->version, "v1") ? 1000000 : 0);
    return 0;
}

static void test_reads(void **state)
{
    (void)state;
    store *st = open_store();
    int64_t svc;
    assert_int_equal(store_service_register(st, "shop", 1, &svc), 0);
    store_ci_call c1[] = {{"api.list", 0, 100, 200}, {"api.item", 0, 50, 200}};
    store_ci_call c2[] = {{"api.list", 0, 300, 200}};
    store_ci_test t1[] = {
        {.suite = "s",
         .name = "a",
         .outcome = "passed",
         .iteration = 1,
         .duration_us = 1000,
         .calls = c1,
         .ncalls = 2},
        {.suite = "s", .name = "b", .outcome = "failed", .iteration = 1, .duration_us = 2000}};
    store_ci_test t2[] = {{.suite = "s",
                           .name = "a",
                           .outcome = "passed",
                           .iteration = 1,
                           .duration_us = 3000,
                           .calls = c2,
                           .ncalls = 1}};
    store_ci_build b1 = {.build = "1", .version = "v1", .created_us = 10, .tests = t1, .ntests = 2};
    store_ci_build b2 = {.build = "2", .version = "v2", .created_us = 20, .tests = t2, .ntests = 1};
    store_ci_stored out;
    assert_int_equal(store_ci_put(st, &b1, &out), 0);
    int64_t id1 = out.build_id;
    assert_int_equal(store_ci_put(st, &b2, &out), 0);
    int64_t ids[] = {id1, out.build_id};
    counter c = {0};
    assert_int_equal(store_ci_builds(st, svc, 10, count_build, &c), 0);
    assert_int_equal(c.n, 2);
    assert_int_equal(c.sum, (200 + 10 + 2) + (100 + 1));
    c = (counter){0};
    assert_int_equal(store_ci_builds(st, 0, 1, count_build, &c), 0);
    assert_int_equal(c.n, 1); /* the newest only */
    c = (counter){0};
    assert_int_equal(store_ci_samples(st, ids, 2, STORE_CI_BY_TEST, count_sample, &c), 0);
    assert_int_equal(c.n, 3);
    assert_int_equal(c.sum, 6000);
    c = (counter){0};
    assert_int_equal(store_ci_samples(st, ids, 2, STORE_CI_BY_ENDPOINT, count_sample, &c), 0);
    assert_int_equal(c.sum, 450);
    c = (counter){0};
    assert_int_equal(store_ci_samples(st, ids, 0, STORE_CI_BY_ENDPOINT, count_sample, &c), 0);
    assert_int_equal(c.n, 0);
    c = (counter){0};
    assert_int_equal(store_ci_endpoint_samples(st, svc, "api.list", count_version, &c), 0);
    assert_int_equal(c.n, 2);
    assert_int_equal(c.sum, 100 + 300 + 1000000);
    store_close(st);
}

/* ---- the agent: a test's requests go to the CI tables ---- */

static void test_agent_records_tests(void **state)
{
    (void)state;
    evd_config *cfg = evd_config_new();
    evd_agent *a;
    assert_int_equal(evd_config_set(cfg, "DATABASE", tu_url), 0);
    assert_int_equal(evd_config_set(cfg, "APP_VERSION", "v9"), 0);
    assert_int_equal(evd_config_set(cfg, "SERVICE_NAME", "shop"), 0);
    assert_int_equal(evd_config_set(cfg, "TEST", "suite::from_env"), 0);
    assert_int_equal(evd_open(cfg, &a), 0);
    evd_config_free(cfg);
    assert_false(evd_test_header(a));
    assert_string_equal(evd_service(a), "shop");
    int ep, t1, t2, again;
    assert_int_equal(evd_endpoint_register(a, "api.list", "/list", "GET", &ep), 0);
    /* TEST (EVODASH_TEST) names the process's test */
    evd_req r = evd_req_begin(a, ep);
    assert_int_equal(evd_req_end(&r, 200, NULL, NULL), 0);
    assert_int_equal(evd_test_register(a, "suite::one", &t1), 0);
    assert_int_equal(evd_test_register(a, "suite::two", &t2), 0);
    assert_int_equal(evd_test_register(a, "suite::one", &again), 0);
    assert_int_equal(again, t1);
    assert_int_equal(evd_test_set(a, t1), 0);
    for (int i = 0; i < 3; i++) {
        r = evd_req_begin(a, ep);
        assert_int_equal(evd_req_end(&r, 200, NULL, NULL), 0);
    }
    /* one request named by its header, over the process's test */
    r = evd_req_begin(a, ep);
    evd_req_set_test(&r, t2);
    assert_int_equal(evd_req_end(&r, 201, NULL, NULL), 0);
    assert_int_equal(evd_test_set(a, 0), 0);
    assert_int_equal(evd_test_set(a, 999), EVD_ENOENT);
    for (int i = 0; i < 2; i++) { /* live traffic again */
        r = evd_req_begin(a, ep);
        assert_int_equal(evd_req_end(&r, 200, NULL, NULL), 0);
    }
    assert_int_equal(evd_close(a), 0);
    assert_int_equal(tu_sql_int(tu_db, "SELECT count(*) FROM requests"), 2);
    assert_int_equal(tu_sql_int(tu_db, "SELECT sum(count) FROM rollups"), 2);
    assert_int_equal(tu_sql_int(tu_db, "SELECT count(*) FROM ci_calls WHERE test = "
                                       "'suite::from_env' AND endpoint = 'api.list'"),
                     1);
    assert_int_equal(tu_sql_int(tu_db, "SELECT count(*) FROM ci_calls WHERE test = 'suite::one'"),
                     3);
    assert_int_equal(tu_sql_int(tu_db, "SELECT count(*) FROM ci_calls WHERE test = 'suite::two' "
                                       "AND status = 201"),
                     1);
    assert_int_equal(tu_sql_int(tu_db, "SELECT count(*) FROM ci_calls c JOIN services s ON s.id "
                                       "= c.service_id WHERE s.name = 'shop'"),
                     5);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_junit_shapes),
        cmocka_unit_test(test_junit_errors),
        cmocka_unit_test(test_report_json),
        cmocka_unit_test_setup_teardown(test_put_claims_and_duplicates, tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(test_reads, tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(test_agent_records_tests, tu_setup, tu_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

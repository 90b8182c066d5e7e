/* test_fmd_import.c — import-fmd: FMD's outlier text converted as live
 * capture stores it (stacks in FMD's own format and in traceback's, details
 * with secrets masked, psutil's memory text), and the store's record of
 * imports (a second import of one FMD database refused and the store
 * unchanged, --force, a copy of the file known as the same database).  The
 * import cases read tests/data/fmd/fmd.db, written by FMD itself; they run
 * on PostgreSQL too (make check-pg-fmd-unit). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "evodash.h"
#include "fmd/fmd_convert.h"
#include "fmd/fmd_import.h"
#include "testutil.h"

static const char *fixture(void)
{
    const char *d = getenv("EVD_TEST_FMD");
    return d ? d : "tests/data/fmd/fmd.db";
}

/* ---- stacks ---------------------------------------------------------------- */

static void test_stack_fmd_format(void **state)
{
    (void)state;
    /* as outlier_profiler.py writes it: the code may hold quotes, and the
     * last frame has no <br /> after it */
    const char *fmd = "File: \"/srv/app.py\", line 29, in \"slow\": \"return render(float("
                      "request.args.get(\"ms\", \"5\")))\"<br />File: \"/srv/app.py\", line 19, "
                      "in \"render\": \"return lookup(ms) + \" \" + x\"<br />File: \"/usr/lib/"
                      "python3.11/threading.py\", line 320, in \"wait\": \"waiter.acquire()\"";
    char *s = fmd_stack_frames(fmd);
    assert_non_null(s);
    assert_string_equal(s, "slow\t/srv/app.py\t29\n"
                           "render\t/srv/app.py\t19\n"
                           "wait\t/usr/lib/python3.11/threading.py\t320\n");
    free(s);
    /* a file name with a quote in it, a function with a tab */
    s = fmd_stack_frames("File: \"/srv/it\"s.py\", line 7, in \"f\tg\": \"x\"");
    assert_string_equal(s, "f g\t/srv/it\"s.py\t7\n");
    free(s);
}

static void test_stack_traceback_format(void **state)
{
    (void)state;
    char *s = fmd_stack_frames("  File \"/srv/app.py\", line 10, in index\n    return slow()\n"
                               "  File \"/srv/app.py\", line 20, in slow\n    time.sleep(1)\n");
    assert_string_equal(s, "index\t/srv/app.py\t10\nslow\t/srv/app.py\t20\n");
    free(s);
}

static void test_stack_other_text(void **state)
{
    (void)state;
    /* FMD leaves the stack empty when the view is not named like its endpoint */
    assert_null(fmd_stack_frames(""));
    assert_null(fmd_stack_frames(NULL));
    assert_null(fmd_stack_frames("  \n "));
    /* text in no known format: one frame named by it, on one line */
    char *s = fmd_stack_frames(" something\tunexpected\nhere ");
    assert_string_equal(s, "something unexpected here\n");
    free(s);
    /* a frame cut short is not a frame */
    s = fmd_stack_frames("File: \"/srv/app.py\", line ");
    assert_string_equal(s, "File: \"/srv/app.py\", line\n");
    free(s);
}

/* ---- details ---------------------------------------------------------------- */

/* d[part][key] as a string, or d[part] when key is NULL. */
static const char *get(json_t *d, const char *part, const char *key)
{
    json_t *v = json_object_get(d, part);
    return json_string_value(key ? json_object_get(v, key) : v);
}

static void test_details_masked(void **state)
{
    (void)state;
    const char *url = "http://localhost/login?password=hunter2&q=shoes+red&j%77t=abc&q=2";
    const char *hdr = "Host: localhost\r\nAuthorization: Bearer tok\r\nCookie: session=c00kie\r\n"
                      "X-Trace: 1\r\n\r\n";
    const char *env =
        "{'REMOTE_ADDR': '10.0.0.4', 'QUERY_STRING': 'password=hunter2&q=shoes', "
        "'REQUEST_URI': '/login?password=hunter2&q=shoes', 'RAW_URI': '/login?password=hunter2', "
        "'wsgi.version': (1, 0), 'wsgi.input': <_io.BytesIO object at 0x7f>, "
        "'wsgi.errors': <_io.TextIOWrapper name='<stderr>' mode='w' encoding='utf-8'>, "
        "'wsgi.multithread': False, 'HTTP_AUTHORIZATION': 'Bearer tok', 'N': 3, 'F': -1.5, "
        "'Z': None, \"Q\": \"it's\", 'U': 'caf\\xe9 \\u20ac', 'B': b'\\xc3\\xa9', "
        "'werkzeug.request': <Request 'http://localhost/login?password=hunter2' [GET]>, "
        "'HTTP_COOKIE': 'session=c00kie'}";
    json_t *d = fmd_details(url, hdr, env);
    assert_non_null(d);
    assert_string_equal(get(d, "url", NULL),
                        "http://localhost/login?password=***&q=shoes+red&j%77t=***"
                        "&q=2");
    assert_string_equal(get(d, "values", "password"), "***");
    assert_string_equal(get(d, "values", "q"), "shoes red"); /* decoded, the first value */
    assert_string_equal(get(d, "values", "jwt"), "***");
    assert_string_equal(get(d, "headers", "Host"), "localhost");
    assert_string_equal(get(d, "headers", "Authorization"), "***");
    assert_string_equal(get(d, "headers", "Cookie"), "***");
    assert_string_equal(get(d, "headers", "X-Trace"), "1");
    assert_string_equal(get(d, "environ", "REMOTE_ADDR"), "10.0.0.4");
    assert_string_equal(get(d, "environ", "QUERY_STRING"), "password=***&q=shoes");
    assert_string_equal(get(d, "environ", "REQUEST_URI"), "/login?password=***&q=shoes");
    assert_string_equal(get(d, "environ", "RAW_URI"), "/login?password=***");
    assert_string_equal(get(d, "environ", "HTTP_AUTHORIZATION"), "***");
    assert_string_equal(get(d, "environ", "HTTP_COOKIE"), "***");
    /* values that are not strings by their type, as live capture shows them */
    assert_string_equal(get(d, "environ", "wsgi.version"), "<tuple>");
    assert_string_equal(get(d, "environ", "wsgi.input"), "<_io.BytesIO>");
    assert_string_equal(get(d, "environ", "wsgi.errors"), "<_io.TextIOWrapper>");
    assert_string_equal(get(d, "environ", "wsgi.multithread"), "<bool>");
    assert_string_equal(get(d, "environ", "werkzeug.request"), "<Request>");
    assert_string_equal(get(d, "environ", "N"), "<int>");
    assert_string_equal(get(d, "environ", "F"), "<float>");
    assert_string_equal(get(d, "environ", "Z"), "<NoneType>");
    assert_string_equal(get(d, "environ", "Q"), "it's");
    assert_string_equal(get(d, "environ", "U"), "caf\xc3\xa9 \xe2\x82\xac");
    assert_string_equal(get(d, "environ", "B"), "\xc3\xa9");
    char *all = json_dumps(d, 0);
    assert_null(strstr(all, "hunter2"));
    assert_null(strstr(all, "c00kie"));
    assert_null(strstr(all, "Bearer"));
    free(all);
    json_decref(d);
}

static void test_details_unreadable(void **state)
{
    (void)state;
    /* an environ that is no dict is left out, not kept as text */
    json_t *d = fmd_details("http://h/p", NULL, "environ(password=hunter2)");
    assert_non_null(d);
    assert_null(json_object_get(d, "environ"));
    assert_string_equal(get(d, "url", NULL), "http://h/p");
    json_decref(d);
    /* one cut short keeps the pairs before the cut */
    d = fmd_details(NULL, NULL, "{'A': 'x', 'PASSWORD': 'hunter2', 'B': 'y");
    assert_string_equal(get(d, "environ", "A"), "x");
    assert_string_equal(get(d, "environ", "PASSWORD"), "***");
    assert_null(json_object_get(json_object_get(d, "environ"), "B"));
    json_decref(d);
    /* a query whose every pair is a secret keeps its '?' off, as live capture */
    d = fmd_details("http://h/p?", NULL, NULL);
    assert_string_equal(get(d, "url", NULL), "http://h/p");
    json_decref(d);
}

static void test_memory_cpu(void **state)
{
    (void)state;
    json_t *m = fmd_memory("svmem(total=1000, available=250, percent=75.0, used=600, free=100)");
    assert_non_null(m);
    assert_int_equal(json_integer_value(json_object_get(m, "total_bytes")), 1000);
    assert_int_equal(json_integer_value(json_object_get(m, "available_bytes")), 250);
    assert_int_equal(json_integer_value(json_object_get(m, "used_bytes")), 750);
    assert_true(json_real_value(json_object_get(m, "used_percent")) == 75.0);
    json_decref(m);
    assert_null(fmd_memory("70%"));
    assert_null(fmd_memory("svmem(total=10, available=20)"));
    json_t *c = fmd_cpu("[4.7, 25.2]");
    assert_int_equal(json_array_size(c), 2);
    json_decref(c);
    assert_null(fmd_cpu("[4.7, 'x']"));
    assert_null(fmd_cpu("4.7"));
}

/* ---- the import, twice ---------------------------------------------------------- */

static long long rows(const char *table)
{
    char sql[128];
    snprintf(sql, sizeof sql, "SELECT count(*) FROM %s", table);
    return tu_sql_int(tu_db, sql);
}

static void test_import_refused_twice(void **state)
{
    (void)state;
    char err[1024], copy[300], cmd[700];
    fmd_counts n;
    fmd_options o = {.source = fixture(), .into = tu_url, .service = "shop"};
    assert_int_equal(fmd_import(&o, &n, err, sizeof err), 0);
    long long fmd_requests = tu_sql_int(fixture(), "SELECT count(*) FROM Request");
    assert_true(fmd_requests > 0);
    assert_int_equal(n.requests, fmd_requests);
    assert_int_equal(rows("requests"), fmd_requests);
    long long outliers = rows("outliers"), rollups = rows("rollups"),
              lines = rows("profiler_samples");
    assert_int_equal(rows("imports"), 1);

    /* again: refused, saying when, and nothing changed */
    err[0] = 0;
    assert_int_equal(fmd_import(&o, &n, err, sizeof err), FMD_EIMPORTED);
    assert_non_null(strstr(err, "imported into"));
    assert_non_null(strstr(err, "--force"));
    assert_non_null(strstr(err, "service \"shop\""));
    assert_int_equal(rows("requests"), fmd_requests);
    assert_int_equal(rows("outliers"), outliers);
    assert_int_equal(rows("rollups"), rollups);
    assert_int_equal(rows("profiler_samples"), lines);
    assert_int_equal(rows("imports"), 1);

    /* a copy of the file is the same database; so is one into another service */
    snprintf(copy, sizeof copy, "%s/renamed.db", tu_dir);
    snprintf(cmd, sizeof cmd, "cp '%s' '%s'", fixture(), copy);
    assert_int_equal(system(cmd), 0);
    fmd_options c = {.source = copy, .into = tu_url, .service = "other"};
    assert_int_equal(fmd_import(&c, &n, err, sizeof err), FMD_EIMPORTED);
    assert_int_equal(rows("requests"), fmd_requests);
    assert_int_equal(tu_sql_int(tu_db, "SELECT count(*) FROM services WHERE name = 'other'"), 0);

    /* forced: imported again, and remembered as a second attempt */
    o.force = 1;
    assert_int_equal(fmd_import(&o, &n, err, sizeof err), 0);
    assert_int_equal(rows("requests"), 2 * fmd_requests);
    assert_int_equal(rows("outliers"), 2 * outliers);
    assert_int_equal(tu_sql_int(tu_db, "SELECT max(attempt) FROM imports"), 2);
    assert_int_equal(tu_sql_int(tu_db, "SELECT sum(requests) FROM imports"), 2 * fmd_requests);
    o.force = 0;
    assert_int_equal(fmd_import(&o, &n, err, sizeof err), FMD_EIMPORTED);
    assert_non_null(strstr(err, "not its first import"));
}

/* The stacks land as frames with files, and no secret of the fixture's
 * requests is anywhere in the store. */
static void test_import_stacks_and_secrets(void **state)
{
    (void)state;
    char err[1024];
    fmd_options o = {.source = fixture(), .into = tu_url};
    assert_int_equal(fmd_import(&o, NULL, err, sizeof err), 0);
    long long with_stack =
        tu_sql_int(fixture(), "SELECT count(*) FROM Outlier WHERE stacktrace LIKE 'File: \"%'");
    assert_true(with_stack > 0);
    /* four frames each, every one with a file and a line */
    assert_int_equal(tu_sql_int(tu_db, "SELECT count(*) FROM outliers WHERE stack LIKE "
                                       "'slow\t/srv/shop/app.py\t29\nrender\t/srv/shop/app.py\t%\n"
                                       "lookup\t%\nsleep_ms\t/srv/shop/app.py\t10\n'"),
                     with_stack);
    static const char *const secrets[] = {"hunter2", "tok-s3cr3t", "c00kie"};
    for (int i = 0; i < 3; i++) {
        char sql[256];
        snprintf(sql, sizeof sql,
                 "SELECT count(*) FROM outliers WHERE details LIKE '%%%s%%' OR stack LIKE "
                 "'%%%s%%'",
                 secrets[i], secrets[i]);
        assert_int_equal(tu_sql_int(tu_db, sql), 0);
    }
    long long with_password = tu_sql_int(
        fixture(),
        "SELECT count(*) FROM Outlier WHERE CAST(request_url AS TEXT) LIKE '%password=hunter2%'");
    assert_true(with_password > 0);
    assert_int_equal(tu_sql_int(tu_db, "SELECT count(*) FROM outliers WHERE details LIKE "
                                       "'%password=***%'"),
                     with_password);
    /* FMD's "None" group is no group */
    assert_int_equal(tu_sql_int(tu_db, "SELECT count(*) FROM requests WHERE group_name = 'None'"),
                     0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_stack_fmd_format),
        cmocka_unit_test(test_stack_traceback_format),
        cmocka_unit_test(test_stack_other_text),
        cmocka_unit_test(test_details_masked),
        cmocka_unit_test(test_details_unreadable),
        cmocka_unit_test(test_memory_cpu),
        cmocka_unit_test_setup_teardown(test_import_refused_twice, tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(test_import_stacks_and_secrets, tu_setup, tu_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

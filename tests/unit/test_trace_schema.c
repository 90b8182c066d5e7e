/* test_trace_schema.c — the JSON Schema validator and the shipped schemas:
 * valid documents pass, and each kind of failure names its JSON path. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "evodash.h"
#include "profile/schema.h"

struct errs {
    char text[4096];
    int n;
};

static void collect(void *user, const char *path, const char *msg)
{
    struct errs *e = user;
    size_t o = strlen(e->text);
    snprintf(e->text + o, sizeof e->text - o, "%s: %s\n", path, msg);
    e->n++;
}

static int line_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The error lines of e, sorted, joined again: the two walkers visit
 * properties in different orders. */
static void sorted(const struct errs *e, char *out, size_t cap)
{
    char copy[4096], *lines[128];
    int n = 0;
    snprintf(copy, sizeof copy, "%s", e->text);
    for (char *tok = strtok(copy, "\n"); tok && n < 128; tok = strtok(NULL, "\n"))
        lines[n++] = tok;
    qsort(lines, (size_t)n, sizeof *lines, line_cmp);
    out[0] = '\0';
    for (int i = 0; i < n; i++) {
        size_t o = strlen(out);
        snprintf(out + o, cap - o, "%s\n", lines[i]);
    }
}

/* Validate text against a shipped schema with both walkers (jansson tree
 * and raw text); they must agree.  Errors collected in *e. */
static int check(const char *schema, const char *text, struct errs *e)
{
    json_error_t je;
    json_t *doc = json_loads(text, JSON_DECODE_ANY, &je);
    if (!doc)
        fail_msg("test document does not parse: %s", je.text);
    json_t *s = schema_load(schema);
    assert_non_null(s);
    memset(e, 0, sizeof *e);
    int n = schema_validate(s, doc, "$", collect, e, 20);
    struct errs e2;
    memset(&e2, 0, sizeof e2);
    int n2 = schema_validate_text(s, text, strlen(text), "$", collect, &e2, 20);
    char a[4096], b[4096];
    sorted(e, a, sizeof a);
    sorted(&e2, b, sizeof b);
    assert_int_equal(n, n2);
    assert_string_equal(a, b);
    json_decref(s);
    json_decref(doc);
    return n;
}

static void test_text_syntax_errors(void **state)
{
    (void)state;
    struct errs e;
    json_t *s = schema_load("profile");
    const char *bad[] = {"{\"name\": \"x\",\n \"scenarios\": [1,]}", "{\"name\": tru}",
                         "{\"name\": \"x\"} 5", "{\"name\": \"a\001\"", "[1, 2"};
    const char *want[] = {"$.scenarios[1]: invalid JSON at line 2, column 18: unexpected character",
                          "$.name: invalid JSON at line 1, column 10: unexpected character",
                          "$: invalid JSON at line 1, column 15: text after the end",
                          "$.name: invalid JSON",
                          "$: invalid JSON at line 1, column 6: expected ',' or ']'"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        memset(&e, 0, sizeof e);
        schema_validate_text(s, bad[i], strlen(bad[i]), "$", collect, &e, 20);
        if (!strstr(e.text, want[i]))
            fail_msg("case %zu: expected '%s' in '%s'", i, want[i], e.text);
    }
    json_decref(s);
    assert_string_equal(schema_guess_text(" {\"a\": {\"b\": 1}, \"services\": []}", 32),
                        "services");
    assert_string_equal(schema_guess_text("[]", 2), "distribution");
    assert_string_equal(schema_guess_text("{\"x\": \"y\"}", 10), "mapping");
}

#define FN_OK                                                                                      \
    "{\"functionID\":\"f_1\",\"cpu\":304.0,\"cpu_time\":65120000.0,\"ram\":0.0,\"io\":0.0,"        \
    "\"net\":0,\"delay\":0,\"callbacks\":[\"-1\"]}"

static void test_shipped_schemas_parse(void **state)
{
    (void)state;
    const char *names[] = {"profile", "services", "mapping", "distribution"};
    for (size_t i = 0; i < 4; i++) {
        json_t *s = schema_load(names[i]);
        assert_non_null(s);
        assert_true(json_is_object(s));
        json_decref(s);
    }
    assert_null(schema_load("nope"));
    assert_null(schema_text("nope", NULL));
}

static void test_profile_valid(void **state)
{
    (void)state;
    struct errs e;
    /* The example of docs/formats.md. */
    const char *doc =
        "{ \"name\": \"app\", \"scenarios\": [ { \"scenarioID\": 1, \"interactions\": ["
        "{ \"name\": \"index.xhtml\", \"interactionID\": \"0 index.xhtml\", \"delay\": 0,"
        "\"functions\": [" FN_OK "] } ] } ] }";
    assert_int_equal(check("profile", doc, &e), 0);
}

static void test_profile_errors_have_paths(void **state)
{
    (void)state;
    struct errs e;
    const char *doc =
        "{\"name\":\"app\",\"scenarios\":[{\"scenarioID\":1,\"interactions\":["
        "{\"name\":\"a\",\"interactionID\":\"0 a\",\"delay\":0,\"functions\":[" FN_OK "]},"
        "{\"name\":\"b\",\"interactionID\":\"1 b\",\"delay\":0,\"functions\":[" FN_OK "]},"
        "{\"name\":\"c\",\"interactionID\":\"2 c\",\"delay\":-1,\"functions\":["
        "{\"functionID\":\"f_1\",\"cpu\":1,\"cpu_time\":\"fast\",\"ram\":0,\"io\":0,\"net\":0,"
        "\"delay\":0,\"callbacks\":[\"-1\"],\"colour\":1},"
        "{\"functionID\":\"f_2\",\"cpu\":1,\"ram\":0,\"io\":0,\"net\":0,\"delay\":0,"
        "\"callbacks\":[7]}]}]}]}";
    assert_int_equal(check("profile", doc, &e), 5);
    assert_non_null(strstr(e.text, "$.scenarios[0].interactions[2].functions[0].cpu_time: "
                                   "expected number, got string\n"));
    assert_non_null(
        strstr(e.text, "$.scenarios[0].interactions[2].delay: must be >= 0 (got -1)\n"));
    assert_non_null(strstr(e.text, "$.scenarios[0].interactions[2].functions[0].colour: "
                                   "unexpected property\n"));
    assert_non_null(strstr(e.text, "$.scenarios[0].interactions[2].functions[1]: missing required "
                                   "property \"cpu_time\"\n"));
    assert_non_null(strstr(e.text, "$.scenarios[0].interactions[2].functions[1].callbacks[0]: "
                                   "expected string, got integer\n"));
}

static void test_profile_wrong_root(void **state)
{
    (void)state;
    struct errs e;
    assert_int_equal(check("profile", "[1,2]", &e), 1);
    assert_string_equal(e.text, "$: expected object, got array\n");
    assert_int_equal(check("profile", "{\"scenarios\":[]}", &e), 1);
    assert_string_equal(e.text, "$: missing required property \"name\"\n");
    /* An empty functions list: an interaction needs an entry point. */
    assert_int_equal(check("profile",
                           "{\"name\":\"x\",\"scenarios\":[{\"scenarioID\":1.5,"
                           "\"interactions\":[{\"name\":\"a\",\"interactionID\":\"0\","
                           "\"delay\":0,\"functions\":[]}]}]}",
                           &e),
                     2);
    assert_non_null(strstr(e.text, "$.scenarios[0].scenarioID: expected integer, got number\n"));
    assert_non_null(
        strstr(e.text, "$.scenarios[0].interactions[0].functions: expected at least 1"));
}

static void test_services(void **state)
{
    (void)state;
    struct errs e;
    const char *ok =
        "{ \"name\": \"Service Definition\", \"services\": [ { \"serviceID\": \"default\", "
        "\"scale\": 1, \"scales\": false, \"scaleUpAt\": 0.8, \"scaleDownAt\": 0.3, "
        "\"scaleingMetric\": \"CPU\", \"scalingDelay\": 0, \"defaultServer\": { "
        "\"maxCPU\": 100, \"maxRAM\": 100, \"maxIO\": 100, \"maxNET\": 100 } } ] }";
    assert_int_equal(check("services", ok, &e), 0);
    assert_int_equal(check("services",
                           "{\"services\":[{\"serviceID\":\"db\",\"scaleingMetric\":\"DISK\","
                           "\"defaultServer\":{\"maxCPU\":0}}]}",
                           &e),
                     3);
    assert_non_null(strstr(e.text, "$.services[0].scaleingMetric: expected one of "
                                   "[\"CPU\",\"RAM\",\"IO\",\"NET\"]\n"));
    assert_non_null(strstr(e.text, "$.services[0].defaultServer.maxCPU: must be > 0 (got 0)\n"));
    assert_non_null(strstr(e.text, "$.services: no item matches"));
}

static void test_mapping_and_distribution(void **state)
{
    (void)state;
    struct errs e;
    assert_int_equal(check("mapping", "{\"class1.func1\":\"default\",\"class2\":\"server2\"}", &e),
                     0);
    assert_int_equal(check("mapping", "{\"a b\":3,\"ok\":\"\"}", &e), 2);
    assert_non_null(strstr(e.text, "$[\"a b\"]: expected string, got integer\n"));
    assert_non_null(strstr(e.text, "$.ok: expected a string of at least 1 characters\n"));
    assert_int_equal(check("distribution",
                           "[{\"kind\":\"triangle\",\"start\":0,\"end\":2000,\"highpoint\":100,"
                           "\"volume\":100,\"scenarioID\":1}]",
                           &e),
                     0);
    assert_int_equal(check("distribution", "[{\"kind\":\"zigzag\",\"volume\":-3}]", &e), 3);
    assert_non_null(strstr(e.text, "$[0].kind: expected one of"));
    assert_non_null(strstr(e.text, "$[0].volume: must be >= 0 (got -3)\n"));
    assert_non_null(strstr(e.text, "$[0]: missing required property \"scenarioID\"\n"));
}

/* What the original DSPS tools wrote or shipped: the profile builder puts
 * "$id" at the top of profile.json and "id" at the top of services.json,
 * and their own schema let a scenario have a name.  evodash's extensions,
 * which `simulate` reads, pass too; anything else stays unexpected. */
static void test_dsps_and_extension_fields(void **state)
{
    (void)state;
    struct errs e;
    const char *prof =
        "{\"$id\":\"/Matz/Patrice/Master-Thesis/Profile.schema.json\",\"name\":\"name\","
        "\"scenarios\":[{\"scenarioID\":1,\"name\":\"s\",\"interactions\":[{\"name\":\"1\","
        "\"interactionID\":\"1\",\"delay\":0,\"functions\":[{\"functionID\":\"f1\",\"cpu\":10,"
        "\"cpu_time\":500000000,\"ram\":100,\"io\":0.0,\"net\":10,\"delay\":0,\"callbacks\":[\"-"
        "1\"],"
        "\"name\":\"A.f\",\"cpu_time_dist\":\"lognormal\",\"cpu_time_cv\":0.5}]}]}]}";
    assert_int_equal(check("profile", prof, &e), 0);
    const char *svc =
        "{\"id\":\"/Matz/Patrice/Master-Thesis/Service.schema.json\",\"$schema\":\"x\","
        "\"name\":\"Service Definition for Example Application\",\"services\":[{\"scaleUpAt\":0.8,"
        "\"scaleDownAt\":0.3,\"scaleingMetric\":\"CPU\",\"serviceID\":\"default\",\"scales\":false,"
        "\"scale\":1,\"scalingDelay\":0,\"minScale\":1,\"maxScale\":8,\"defaultServer\":{"
        "\"maxCPU\":100,\"maxRAM\":10000,\"maxIO\":10000,\"maxNET\":1000,\"workers\":4}}]}";
    assert_int_equal(check("services", svc, &e), 0);
    assert_int_equal(check("services",
                           "{\"id\":1,\"services\":[{\"serviceID\":\"default\",\"workers\":2,"
                           "\"defaultServer\":{\"workers\":-1}}]}",
                           &e),
                     3);
    assert_non_null(strstr(e.text, "$.id: expected string, got integer\n"));
    assert_non_null(strstr(e.text, "$.services[0].workers: unexpected property\n"));
    assert_non_null(strstr(e.text, "$.services[0].defaultServer.workers: must be >= 0"));
}

/* The thesis's own demo files (tests/data/dsps, see its README) validate. */
static void test_dsps_files(void **state)
{
    (void)state;
    static const char *const files[] = {
        "demo_files/profile.json",
        "demo_files/services.json",
        "demo_files/mapping.json",
        "demo_files/distribution.json",
        "demo_files/distribution2.json",
        "demo_files/Validierung_Queueing_Theory/1/profile.json",
        "demo_files/Validierung_Queueing_Theory/1/services.json",
        "demo_files/Validierung_Queueing_Theory/1/mapping.json",
        "demo_files/Validierung_Queueing_Theory/2/profile.json",
        "demo_files/Validierung_Queueing_Theory/2/services.json",
        "demo_files/Validierung_Queueing_Theory/2/mapping.json",
        "demo_files/Validierung_Queueing_Theory/3/profile.json",
        "demo_files/Validierung_Queueing_Theory/3/services.json",
        "demo_files/Validierung_Queueing_Theory/3/distribution.json",
    };
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        char path[512], out[2048] = "";
        snprintf(path, sizeof path, "tests/data/dsps/%s", files[i]);
        FILE *diag = fmemopen(out, sizeof out - 1, "w");
        int rc = schema_validate_file(path, NULL, diag, 10);
        fclose(diag);
        if (rc)
            fail_msg("%s: %d\n%s", path, rc, out);
    }
}

static void test_guess_and_file(void **state)
{
    (void)state;
    json_t *d = json_loads("[]", JSON_DECODE_ANY, NULL);
    assert_string_equal(schema_guess(d), "distribution");
    json_decref(d);
    d = json_loads("{\"services\":[]}", 0, NULL);
    assert_string_equal(schema_guess(d), "services");
    json_decref(d);

    char path[] = "/tmp/evd-schema-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    const char *bad = "{\n  \"name\": \"x\",\n  \"scenarios\": [1,\n}\n";
    assert_int_equal(write(fd, bad, strlen(bad)), (ssize_t)strlen(bad));
    close(fd);
    char out[1024] = "";
    FILE *diag = fmemopen(out, sizeof out - 1, "w");
    assert_int_equal(schema_validate_file(path, NULL, diag, 10), EVD_EINVAL);
    fclose(diag);
    /* A parse error gives the line and column. */
    char want[256];
    snprintf(want, sizeof want, "%s: $.scenarios[1]: invalid JSON at line 4, column 1", path);
    if (!strstr(out, want))
        fail_msg("expected '%s' in '%s'", want, out);
    FILE *f = fopen(path, "w");
    fputs("{\"name\":\"x\",\"scenarios\":[{\"scenarioID\":1,\"interactions\":[]}]}", f);
    fclose(f);
    assert_int_equal(schema_validate_file(path, NULL, NULL, 10), 0);
    assert_int_equal(schema_validate_file(path, "services", NULL, 10), EVD_EINVAL);
    unlink(path);
    assert_int_equal(schema_validate_file(path, NULL, NULL, 10), EVD_ENOENT);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_shipped_schemas_parse),
        cmocka_unit_test(test_profile_valid),
        cmocka_unit_test(test_profile_errors_have_paths),
        cmocka_unit_test(test_profile_wrong_root),
        cmocka_unit_test(test_services),
        cmocka_unit_test(test_mapping_and_distribution),
        cmocka_unit_test(test_guess_and_file),
        cmocka_unit_test(test_text_syntax_errors),
        cmocka_unit_test(test_dsps_and_extension_fields),
        cmocka_unit_test(test_dsps_files),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

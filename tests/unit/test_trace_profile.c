/* test_trace_profile.c — the profile builder on hand-written logs with
 * known answers: call-tree shape, depth cut, CPU and memory attribution,
 * remote calls, and logs that are unsorted, multi-threaded, truncated or
 * malformed. */
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

#include "profile/calllog.h"
#include "profile/profile.h"
#include "profile/util_series.h"

struct env {
    char dir[64];
    char diag_buf[8192];
    struct profile_stats st;
    json_t *profile, *services, *mapping;
};

static void put(const struct env *e, const char *name, const char *text)
{
    char p[256];
    snprintf(p, sizeof p, "%s/%s", e->dir, name);
    FILE *f = fopen(p, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static int setup(void **state)
{
    struct env *e = calloc(1, sizeof *e);
    snprintf(e->dir, sizeof e->dir, "/tmp/evd-trace-XXXXXX");
    assert_non_null(mkdtemp(e->dir));
    *state = e;
    return 0;
}

static int teardown(void **state)
{
    struct env *e = *state;
    const char *files[] = {"log",           "util.csv",     "net.csv",    "profile.json",
                           "services.json", "mapping.json", "gantt.html", "callgraph.html"};
    char p[256];
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        snprintf(p, sizeof p, "%s/%s", e->dir, files[i]);
        unlink(p);
    }
    rmdir(e->dir);
    json_decref(e->profile);
    json_decref(e->services);
    json_decref(e->mapping);
    free(e);
    return 0;
}

/* Build with the files present in e->dir; returns the builder's code. */
static int build(struct env *e, int depth, int util, int net)
{
    char log[256], u[256], n[256];
    snprintf(log, sizeof log, "%s/log", e->dir);
    snprintf(u, sizeof u, "%s/util.csv", e->dir);
    snprintf(n, sizeof n, "%s/net.csv", e->dir);
    FILE *diag = fmemopen(e->diag_buf, sizeof e->diag_buf - 1, "w");
    struct profile_opts o = {.calllog = log,
                             .utillog = util ? u : NULL,
                             .netlog = net ? n : NULL,
                             .outdir = e->dir,
                             .depth = depth,
                             .validate = 1,
                             .html = 1,
                             .diag = diag,
                             .max_reports = 50};
    char err[512] = "";
    memset(e->diag_buf, 0, sizeof e->diag_buf);
    int rc = profile_build(&o, &e->st, err, sizeof err);
    fclose(diag);
    if (rc < 0)
        fprintf(stderr, "build: %s\n%s", err, e->diag_buf);
    json_decref(e->profile);
    json_decref(e->services);
    json_decref(e->mapping);
    snprintf(u, sizeof u, "%s/profile.json", e->dir);
    e->profile = json_load_file(u, 0, NULL);
    snprintf(u, sizeof u, "%s/services.json", e->dir);
    e->services = json_load_file(u, 0, NULL);
    snprintf(u, sizeof u, "%s/mapping.json", e->dir);
    e->mapping = json_load_file(u, 0, NULL);
    return rc;
}

static json_t *inter(struct env *e, size_t i)
{
    json_t *in =
        json_array_get(json_object_get(json_array_get(json_object_get(e->profile, "scenarios"), 0),
                                       "interactions"),
                       i);
    assert_non_null(in);
    return in;
}

static size_t ninter(struct env *e)
{
    return json_array_size(json_object_get(
        json_array_get(json_object_get(e->profile, "scenarios"), 0), "interactions"));
}

/* "name:cpu_time_ns name:..." of an interaction's functions. */
static void shape(struct env *e, size_t i, char *out, size_t cap)
{
    json_t *fs = json_object_get(inter(e, i), "functions"), *f;
    size_t k;
    out[0] = '\0';
    json_array_foreach(fs, k, f)
    {
        const char *id = json_string_value(json_object_get(f, "functionID"));
        const char *us = strrchr(id, '_');
        size_t o = strlen(out);
        snprintf(out + o, cap - o, "%s%.*s:%.0f", k ? " " : "", (int)(us - id), id,
                 json_number_value(json_object_get(f, "cpu_time")));
    }
}

static double fnum(struct env *e, size_t i, size_t k, const char *key)
{
    json_t *f = json_array_get(json_object_get(inter(e, i), "functions"), k);
    assert_non_null(f);
    return json_number_value(json_object_get(f, key));
}

static void test_tree_and_depth(void **state)
{
    struct env *e = *state;
    char s[1024];
    put(e, "log",
        "startRoot /page 1000 1\n"
        "start A.a 1100 1\n"
        "start B.b 1200 1\n"
        "start C.c 1300 1\n"
        "end C.c 1350 1\n"
        "end B.b 1500 1\n"
        "start B.b 1600 1\n"
        "end B.b 1700 1\n"
        "end A.a 1900 1\n"
        "endRoot /page 2000 1\n");
    assert_int_equal(build(e, 100, 0, 0), 0);
    shape(e, 0, s, sizeof s);
    assert_string_equal(s, "/page:100 A.a:100 B.b:100 C.c:50 B.b:150 A.a:100 B.b:100 A.a:200 "
                           "/page:100");
    assert_int_equal(e->st.calls, 4);
    assert_int_equal(e->st.interactions, 1);
    /* Callbacks chain the pieces; the last one ends with "-1". */
    json_t *fs = json_object_get(inter(e, 0), "functions");
    assert_string_equal(
        json_string_value(json_array_get(json_object_get(json_array_get(fs, 0), "callbacks"), 0)),
        json_string_value(json_object_get(json_array_get(fs, 1), "functionID")));
    assert_string_equal(
        json_string_value(json_array_get(json_object_get(json_array_get(fs, 8), "callbacks"), 0)),
        "-1");
    assert_string_equal(json_string_value(json_object_get(json_array_get(fs, 0), "functionID")),
                        "/page_1000");

    assert_int_equal(build(e, 1, 0, 0), 0);
    shape(e, 0, s, sizeof s);
    assert_string_equal(s, "/page:100 A.a:800 /page:100");
    assert_int_equal(build(e, 2, 0, 0), 0);
    shape(e, 0, s, sizeof s);
    assert_string_equal(s, "/page:100 A.a:100 B.b:300 A.a:100 B.b:100 A.a:200 /page:100");
    /* mapping lists every function on default; services only default. */
    assert_string_equal(json_string_value(json_object_get(e->mapping, "B.b")), "default");
    assert_int_equal(json_array_size(json_object_get(e->services, "services")), 1);
}

static void test_attribution(void **state)
{
    struct env *e = *state;
    /* cpu rises 0 -> 100 over [1 s, 2 s], then stays; memory 1.0, 1.1, 1.2 GB. */
    put(e, "util.csv",
        "time,cpu,mem\n"
        "1.0,0.0,1000000000\n"
        "2.0,100.0,1100000000\n"
        "3.0,100.0,1200000000\n");
    put(e, "log",
        "startRoot r 1500000000 7\n"
        "start m.f 1500000000 7\n"
        "end m.f 2500000000 7\n"
        "start m.g 2500000000 7\n"
        "end m.g 2500000000 7\n"
        "endRoot r 3500000000 7\n");
    assert_int_equal(build(e, 5, 1, 0), 0);
    char s[512];
    shape(e, 0, s, sizeof s);
    assert_string_equal(s, "m.f:1000000000 m.g:0 r:1000000000");
    /* f over [1.5, 2.5]: half at 50..100 (mean 75), half at 100 -> 87.5. */
    assert_float_equal(fnum(e, 0, 0, "cpu"), 87.5, 1e-3);
    /* memory mean 1.1 GB, minus the first sample 1.0 GB -> 100 MB. */
    assert_float_equal(fnum(e, 0, 0, "ram"), 100.0, 1e-3);
    /* A zero-length call takes the value at its instant: 2.5 s -> 100 %. */
    assert_float_equal(fnum(e, 0, 1, "cpu"), 100.0, 1e-3);
    /* Past the last sample the series is held constant. */
    assert_float_equal(fnum(e, 0, 2, "cpu"), 100.0, 1e-3);
    /* memory over [2.5, 3.5]: mean 1.1875 GB -> 187.5 MB. */
    assert_float_equal(fnum(e, 0, 2, "ram"), 187.5, 1e-3);
}

static void test_series_mean(void **state)
{
    (void)state;
    struct env *e = *state;
    put(e, "util.csv", "time,cpu,mem\n2.0,50,10\n1.0,0,0\nbad,row\n3.0,50,10\n");
    char p[256], err[256];
    snprintf(p, sizeof p, "%s/util.csv", e->dir);
    struct util_series s;
    FILE *diag = fmemopen(e->diag_buf, sizeof e->diag_buf - 1, "w");
    assert_int_equal(util_series_load(&s, p, diag, 10, err, sizeof err), 0);
    fclose(diag);
    assert_non_null(strstr(e->diag_buf, "util.csv:4: malformed row"));
    assert_int_equal(s.n, 3); /* sorted despite the order in the file */
    double cpu, mem;
    util_series_mean(&s, 1000000000, 2000000000, &cpu, &mem);
    assert_float_equal(cpu, 25.0, 1e-9);
    util_series_mean(&s, 1000000000, 3000000000, &cpu, &mem);
    assert_float_equal(cpu, 37.5, 1e-9);
    util_series_mean(&s, 0, 500000000, &cpu, &mem);
    assert_float_equal(cpu, 0.0, 1e-9);
    util_series_mean(&s, 1500000000, 1500000000, &cpu, &mem);
    assert_float_equal(cpu, 25.0, 1e-9);
    assert_float_equal(mem, 5.0, 1e-9);
    util_series_free(&s);
}

static void test_remote_split(void **state)
{
    struct env *e = *state;
    /* Connections in seconds: one inside m.f, one spanning the whole log. */
    put(e, "net.csv",
        "start,target,end\n"
        "1.000000200,10.0.0.5:5432,1.000000300\n"
        "0.5,2001:db8::1:443,9.0\n");
    put(e, "log",
        "startRoot r 1000000000\n"
        "start m.f 1000000100\n"
        "end m.f 1000000400\n"
        "endRoot r 1000000500\n");
    assert_int_equal(build(e, 5, 0, 1), 0);
    char s[512];
    shape(e, 0, s, sizeof s);
    assert_string_equal(s, "r:100 m.f:100 10.0.0.5:5432:100 m.f:100 r:100");
    assert_int_equal(e->st.remote_calls, 1);
    json_t *sv = json_object_get(e->services, "services");
    assert_int_equal(json_array_size(sv), 2);
    assert_string_equal(json_string_value(json_object_get(json_array_get(sv, 1), "serviceID")),
                        "10.0.0.5:5432");
    assert_string_equal(json_string_value(json_object_get(e->mapping, "10.0.0.5:5432")),
                        "10.0.0.5:5432");
    assert_string_equal(json_string_value(json_object_get(e->mapping, "m.f")), "default");
}

static void test_threads_interleaved(void **state)
{
    struct env *e = *state;
    /* Two threads; lines interleave and are out of time order across threads. */
    put(e, "log",
        "startRoot b 5000 2\n"
        "startRoot a 1000 1\n"
        "start X.x 5100 2\n"
        "start Y.y 1100 1\n"
        "end X.x 5200 2\n"
        "end Y.y 1200 1\n"
        "endRoot a 1300 1\n"
        "endRoot b 5300 2\n");
    assert_int_equal(build(e, 3, 0, 0), 0);
    assert_int_equal(e->st.sorted_fallback, 0);
    assert_int_equal(e->st.threads, 2);
    assert_int_equal(ninter(e), 2);
    char s[256];
    shape(e, 0, s, sizeof s);
    assert_string_equal(s, "a:100 Y.y:100 a:100");
    shape(e, 1, s, sizeof s);
    assert_string_equal(s, "b:100 X.x:100 b:100");
    assert_string_equal(json_string_value(json_object_get(inter(e, 1), "interactionID")), "1 b");
    assert_int_equal(json_integer_value(json_object_get(inter(e, 1), "delay")), 4000);
}

static void test_unsorted_three_columns(void **state)
{
    struct env *e = *state;
    /* An old 3-column log whose lines were written out of time order. */
    put(e, "log",
        "end A.a 1500\n"
        "startRoot p 1000\n"
        "endRoot p 2000\n"
        "start A.a 1100\n");
    assert_int_equal(build(e, 3, 0, 0), 0);
    assert_int_equal(e->st.sorted_fallback, 1);
    assert_non_null(strstr(e->diag_buf, "out of time order"));
    char s[256];
    shape(e, 0, s, sizeof s);
    assert_string_equal(s, "p:100 A.a:400 p:500");
}

static void test_three_column_threads_splice(void **state)
{
    struct env *e = *state;
    /* Two threads' calls in one 3-column log: A.a ends while B.b is open. */
    put(e, "log",
        "startRoot p 1000\n"
        "start A.a 1100\n"
        "start B.b 1200\n"
        "end A.a 1300\n"
        "end B.b 1600\n"
        "endRoot p 2000\n");
    assert_int_equal(build(e, 3, 0, 0), 0);
    assert_int_equal(e->st.unclosed, 0);
    assert_int_equal(e->st.unmatched, 0);
    assert_int_equal(e->st.calls, 2);
}

static void test_truncated_and_unclosed(void **state)
{
    struct env *e = *state;
    put(e, "log",
        "startRoot p 1000 1\n"
        "start A.a 1100 1\n"
        "start B.b 1200 1\n"
        "end B.b 1300 1\n"
        "start C.c 1400 1\n"
        "end C.c 14"); /* cut in the middle of a line */
    assert_int_equal(build(e, 3, 0, 0), 0);
    assert_int_equal(e->st.malformed, 1);
    assert_non_null(strstr(e->diag_buf, "log:6: truncated last line"));
    /* C.c, A.a and p are closed at the last timestamp (1400) and reported. */
    assert_int_equal(e->st.unclosed, 3);
    assert_non_null(strstr(e->diag_buf, "call C.c has no end; closed at the last timestamp 1400"));
    assert_non_null(strstr(e->diag_buf, "interaction p has no end"));
    char s[256];
    shape(e, 0, s, sizeof s);
    assert_string_equal(s, "p:100 A.a:100 B.b:100 A.a:100 C.c:0");
}

static void test_malformed_lines(void **state)
{
    struct env *e = *state;
    put(e, "log",
        "startRoot p 1000 1\n"
        "garbage\n"
        "start A.a notanumber 1\n"
        "begin A.a 1100 1\n"
        "start A.a 1100 1 extra\n"
        "start A.a 1100 x\n"
        "\n"
        "# a comment\n"
        "end Z.z 1050 1\n"
        "start A.a 1100 1\n"
        "start B.b 1200 1\n"
        "end A.a 1300 1\n" /* B.b lost its end */
        "endRoot p 1400 1\n");
    assert_int_equal(build(e, 3, 0, 0), 0);
    assert_int_equal(e->st.malformed, 5);
    assert_non_null(strstr(e->diag_buf, "log:2: expected KIND NAME TIMESTAMP_NS [TID]: too few"));
    assert_non_null(strstr(e->diag_buf, "log:3: timestamp is not an integer"));
    assert_non_null(strstr(e->diag_buf, "log:4: unknown kind"));
    assert_non_null(strstr(e->diag_buf, "log:5: expected KIND NAME TIMESTAMP_NS [TID]: too many"));
    assert_non_null(strstr(e->diag_buf, "log:6: thread id is not"));
    assert_int_equal(e->st.unmatched, 1);
    assert_non_null(strstr(e->diag_buf, "log:9: end Z.z without a matching start"));
    assert_int_equal(e->st.unclosed, 1);
    assert_non_null(strstr(e->diag_buf, "call B.b (line 11) has no end; closed by line 12"));
    char s[256];
    shape(e, 0, s, sizeof s);
    assert_string_equal(s, "p:100 A.a:100 B.b:100 p:100");
}

static void test_odd_names(void **state)
{
    struct env *e = *state;
    /* Quotes, backslashes, "</script>" and bytes that are not UTF-8 must
     * leave valid JSON (loaded by jansson in build()) and safe HTML. */
    put(e, "log",
        "startRoot /a\"b\\c</script> 1000 1\n"
        "start caf\xc3\xa9.m\xff 1100 1\n"
        "end caf\xc3\xa9.m\xff 1200 1\n"
        "endRoot /a\"b\\c</script> 1300 1\n");
    assert_int_equal(build(e, 3, 0, 0), 0);
    assert_non_null(e->profile);
    assert_non_null(e->mapping);
    assert_string_equal(json_string_value(json_object_get(inter(e, 0), "name")),
                        "/a\"b\\c</script>");
    assert_non_null(json_object_get(e->mapping, "caf\xc3\xa9.m\xef\xbf\xbd"));
    char p[256], buf[4096];
    snprintf(p, sizeof p, "%s/gantt.html", e->dir);
    FILE *f = fopen(p, "r");
    assert_non_null(f);
    fseek(f, -4000, SEEK_END);
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    buf[n] = '\0';
    fclose(f);
    assert_null(strstr(buf, "c</script>"));
}

static void test_unique_ids(void **state)
{
    struct env *e = *state;
    /* A millisecond clock: several calls start in the same nanosecond. */
    put(e, "log",
        "startRoot r 1000000\n"
        "start T.of 1000000\n"
        "end T.of 1000000\n"
        "start T.of 1000000\n"
        "end T.of 1000000\n"
        "start T.of 1000000\n"
        "end T.of 2000000\n"
        "endRoot r 2000000\n");
    assert_int_equal(build(e, 3, 0, 0), 0);
    char s[256];
    shape(e, 0, s, sizeof s);
    assert_string_equal(s, "T.of:0 T.of:0 T.of:1000000");
    json_t *fs = json_object_get(inter(e, 0), "functions");
    assert_string_equal(json_string_value(json_object_get(json_array_get(fs, 0), "functionID")),
                        "T.of_1000000");
    assert_string_equal(json_string_value(json_object_get(json_array_get(fs, 1), "functionID")),
                        "T.of_1000001");
    assert_string_equal(json_string_value(json_object_get(json_array_get(fs, 2), "functionID")),
                        "T.of_1000002");
}

static void test_implicit_roots(void **state)
{
    struct env *e = *state;
    /* A name that contains "startRoot" is not a marker. */
    put(e, "log",
        "start m.main 100 3\n"
        "start m.startRootHandler 150 3\n"
        "end m.startRootHandler 160 3\n"
        "start m.f 200 3\n"
        "end m.f 300 3\n"
        "end m.main 400 3\n"
        "start m.other 500 3\n"
        "end m.other 600 3\n");
    assert_int_equal(build(e, 3, 0, 0), 0);
    assert_int_equal(e->st.implicit_roots, 1);
    assert_int_equal(ninter(e), 2);
    char s[256];
    shape(e, 0, s, sizeof s);
    assert_string_equal(s, "m.main:50 m.startRootHandler:10 m.main:40 m.f:100 m.main:100");
}

static void test_missing_inputs(void **state)
{
    struct env *e = *state;
    char log[256], err[256];
    snprintf(log, sizeof log, "%s/nope", e->dir);
    struct profile_opts o = {.calllog = log, .outdir = e->dir, .depth = 1};
    assert_true(profile_build(&o, NULL, err, sizeof err) < 0);
    assert_non_null(strstr(err, "nope"));
    put(e, "log", "start a 1\nend a 2\n");
    put(e, "util.csv", "when,cpu\n1,2\n");
    snprintf(log, sizeof log, "%s/log", e->dir);
    char u[256];
    snprintf(u, sizeof u, "%s/util.csv", e->dir);
    o.calllog = log;
    o.utillog = u;
    assert_true(profile_build(&o, NULL, err, sizeof err) < 0);
    assert_non_null(strstr(err, "expected the header time,cpu,mem"));
    o.utillog = NULL;
    o.depth = 0;
    assert_true(profile_build(&o, NULL, err, sizeof err) < 0);
}

/* Bad rows of UtilLog.csv and netLog.csv are skipped and reported with
 * their line numbers; the good ones load, in any column order. */
static void test_csv_bad_rows(void **state)
{
    struct env *e = *state;
    char path[256], err[256], *diag = NULL;
    size_t dlen = 0;
    put(e, "u.csv", "mem,time,cpu\n100,1.0,50\n200,oops,50\n300,2.0\n\n400,3.0,25\n500,4.0,1");
    snprintf(path, sizeof path, "%s/u.csv", e->dir);
    FILE *d = open_memstream(&diag, &dlen);
    struct util_series s;
    assert_int_equal(util_series_load(&s, path, d, 10, err, sizeof err), 0);
    fclose(d);
    assert_int_equal(s.n, 2);
    assert_true(s.mem[1] == 400 && s.cpu[1] == 25);
    assert_non_null(strstr(diag, "u.csv:3: malformed row skipped"));
    assert_non_null(strstr(diag, "u.csv:4: malformed row skipped"));
    assert_non_null(strstr(diag, "u.csv:7: truncated last row skipped"));
    util_series_free(&s);
    free(diag);

    put(e, "n.csv",
        "start,target,end\n1.0,10.0.0.1:80,2.0\n3.0,noport,4.0\n5.0,::1:443,4.0\n"
        "6.0,[::1]:443,7.0\n");
    snprintf(path, sizeof path, "%s/n.csv", e->dir);
    d = open_memstream(&diag, &dlen);
    struct net_log nl;
    assert_int_equal(net_log_load(&nl, path, d, 10, err, sizeof err), 0);
    fclose(d);
    assert_int_equal(nl.n, 2);
    assert_string_equal(nl.c[0].target, "10.0.0.1:80");
    assert_non_null(strstr(diag, "n.csv:3: malformed row skipped"));
    assert_non_null(strstr(diag, "n.csv:4: malformed row skipped")); /* ends before it starts */
    net_log_free(&nl);
    free(diag);
}

/* An empty netLog.csv, even without its header (the original tools' own
 * test folder has a 0-byte net.csv), means no connections; the profile is
 * built as without -n. */
static void test_empty_net_log(void **state)
{
    struct env *e = *state;
    char path[256], err[256] = "";
    snprintf(path, sizeof path, "%s/net.csv", e->dir);
    struct net_log nl;
    for (int header = 0; header < 2; header++) {
        put(e, "net.csv", header ? "start,target,end\n" : "");
        assert_int_equal(net_log_load(&nl, path, NULL, 10, err, sizeof err), 0);
        assert_int_equal(nl.n, 0);
        net_log_free(&nl);
    }
    put(e, "net.csv", "");
    put(e, "log",
        "startRoot i 1000000000\nstart a 1100000000\nend a 1900000000\n"
        "endRoot i 2000000000\n");
    assert_int_equal(build(e, 3, 0, 1), 0);
    assert_int_equal(e->st.remote_calls, 0);
    assert_int_equal(ninter(e), 1);
    put(e, "net.csv", "when,who\n");
    assert_true(build(e, 3, 0, 1) < 0); /* a wrong header is still an error */
}

static void test_parse_line(void **state)
{
    (void)state;
    struct cl_line l;
    const char *why;
    assert_int_equal(cl_parse_line("start Tag.of 1629179514792785363", 32, &l, &why), 0);
    assert_int_equal(l.kind, CL_START);
    assert_int_equal(l.ts, 1629179514792785363LL);
    assert_true(l.tid == CL_NO_TID);
    assert_int_equal(l.name_len, 6);
    assert_int_equal(cl_parse_line("endRoot index.xhtml 5 77", 24, &l, &why), 0);
    assert_int_equal(l.kind, CL_ROOT_END);
    assert_int_equal(l.tid, 77);
    assert_int_equal(cl_parse_line("start a 99999999999999999999", 28, &l, &why), -1);
    assert_int_equal(cl_parse_line("start a -5", 10, &l, &why), -1);
    assert_int_equal(cl_parse_line("   ", 3, &l, &why), 1);
    int64_t ns;
    assert_int_equal(cl_parse_epoch_s("1629190398.3588154", 18, &ns), 0);
    assert_int_equal(ns, 1629190398358815400LL);
    assert_int_equal(cl_parse_epoch_s("12", 2, &ns), 0);
    assert_int_equal(ns, 12000000000LL);
    assert_int_equal(cl_parse_epoch_s("1.2.3", 5, &ns), -1);
    assert_int_equal(cl_parse_epoch_s("", 0, &ns), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_tree_and_depth, setup, teardown),
        cmocka_unit_test_setup_teardown(test_attribution, setup, teardown),
        cmocka_unit_test_setup_teardown(test_series_mean, setup, teardown),
        cmocka_unit_test_setup_teardown(test_remote_split, setup, teardown),
        cmocka_unit_test_setup_teardown(test_threads_interleaved, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unsorted_three_columns, setup, teardown),
        cmocka_unit_test_setup_teardown(test_three_column_threads_splice, setup, teardown),
        cmocka_unit_test_setup_teardown(test_truncated_and_unclosed, setup, teardown),
        cmocka_unit_test_setup_teardown(test_malformed_lines, setup, teardown),
        cmocka_unit_test_setup_teardown(test_odd_names, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unique_ids, setup, teardown),
        cmocka_unit_test_setup_teardown(test_implicit_roots, setup, teardown),
        cmocka_unit_test_setup_teardown(test_missing_inputs, setup, teardown),
        cmocka_unit_test_setup_teardown(test_csv_bad_rows, setup, teardown),
        cmocka_unit_test_setup_teardown(test_empty_net_log, setup, teardown),
        cmocka_unit_test(test_parse_line),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

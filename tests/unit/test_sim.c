/* test_sim.c — unit tests of the capacity simulator (src/sim): loading and
 * rejecting inputs, the event queue, arrival streams, processor sharing,
 * FIFO limits, callbacks, conservation, autoscaling, seeds, capacity search
 * and replay from a store.  The queueing-theory checks at 1M arrivals are in
 * tests/sim/queueing.c (run by `make check` at -O2). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "evodash.h"
#include "sim/arrivals.h"
#include "sim/queue.h"
#include "sim/rng.h"
#include "sim/sim.h"
#include "store/store.h"

/* One-function profile: cpu %, cpu_time ns, ram MB, dist. */
static char *prof1(double cpu, double ns, double ram, const char *dist)
{
    static char buf[512];
    snprintf(buf, sizeof buf,
             "{\"scenarios\":[{\"scenarioID\":1,\"interactions\":[{\"name\":\"i\","
             "\"functions\":[{\"functionID\":\"A.f\",\"cpu\":%g,\"cpu_time\":%g,\"ram\":%g,"
             "\"cpu_time_dist\":\"%s\",\"callbacks\":[\"-1\"]}]}]}]}",
             cpu, ns, ram, dist);
    return buf;
}

/* Load the documents that are not NULL and link; NULL on a load error with
 * the message in err. */
static sim_model *mk(const char *prof, const char *svc, const char *map, const char *dist,
                     char *err, size_t errlen)
{
    static const char *const labels[4] = {"profile.json", "services.json", "mapping.json",
                                          "distribution.json"};
    const char *docs[4] = {prof, svc, map, dist};
    sim_model *m = sim_model_new();
    assert_non_null(m);
    int rc = 0;
    for (int k = 0; k < 4 && !rc; k++)
        if (docs[k])
            rc = sim_model_load_buf(m, k, labels[k], docs[k], strlen(docs[k]));
    if (!rc)
        rc = sim_model_link(m);
    if (rc) {
        snprintf(err, errlen, "%s", sim_model_errmsg(m));
        sim_model_free(m);
        return NULL;
    }
    return m;
}

static sim_run *run(const sim_model *m, sim_opts o)
{
    sim_run *r = NULL;
    assert_int_equal(sim_run_new(m, &o, &r), 0);
    assert_int_equal(sim_run_exec(r), 0);
    return r;
}

static const char *SVC1 = "{\"services\":[{\"serviceID\":\"default\"}]}";

/* ---- inputs ---------------------------------------------------------------- */

static void expect_error(const char *prof, const char *svc, const char *map, const char *dist,
                         const char *want)
{
    char err[800] = "";
    sim_model *m = mk(prof, svc, map, dist, err, sizeof err);
    if (m)
        sim_model_free(m);
    if (!strstr(err, want))
        fail_msg("expected an error containing \"%s\", got \"%s\"", want, err);
}

static void test_bad_files(void **state)
{
    (void)state;
    char p[512];
    snprintf(p, sizeof p, "%s", prof1(100, 1e6, 0, "deterministic"));
    const char *d = "[{\"kind\":\"uniform\",\"start\":0,\"end\":1,\"volume\":10,\"scenarioID\":1}]";
    expect_error(p,
                 "{\"services\":[{\"serviceID\":\"default\"},{\"serviceID\":\"x\",\"scale\":0}]}",
                 NULL, d, "services.json: $.services[1].scale: expected a positive integer");
    expect_error(p, "{\"services\":[{\"serviceID\":\"default\",\"scale\":1.5}]}", NULL, d,
                 "services.json: $.services[0].scale: expected a positive integer");
    expect_error(
        p, "{\"services\":[{\"serviceID\":\"default\",\"defaultServer\":{\"quantum\":-1}}]}", NULL,
        d, "services.json: $.services[0].defaultServer.quantum: expected a non-negative number");
    expect_error(p,
                 "{\"services\":[{\"serviceID\":\"default\",\"defaultServer\":{\"maxRAM\":-1}}]}",
                 NULL, d, "services.json: $.services[0].defaultServer.maxRAM: expected a positive");
    expect_error(p, "{\"services\":[{\"serviceID\":\"default\",\"scaleingMetric\":\"GPU\"}]}", NULL,
                 d, "$.services[0].scaleingMetric: expected");
    expect_error(p, "{\"services\":[{\"serviceID\":\"x\"}]}", NULL, d,
                 "serviceID \"default\" must exist");
    expect_error(p, "{\"services\": [\n{\"serviceID\": \"default\",,}]}", NULL, d,
                 "services.json:2:");
    expect_error("{\"scenarios\":[{\"scenarioID\":1,\"interactions\":[{\"name\":\"i\","
                 "\"functions\":[{\"functionID\":\"f\",\"cpu\":100}]}]}]}",
                 NULL, NULL, d,
                 "profile.json: $.scenarios[0].interactions[0].functions[0].cpu_time: missing");
    expect_error("{\"scenarios\":[{\"scenarioID\":1,\"interactions\":[{\"name\":\"i\","
                 "\"functions\":[{\"functionID\":\"f\",\"cpu_time\":\"1\"}]}]}]}",
                 NULL, NULL, d,
                 "$.scenarios[0].interactions[0].functions[0].cpu_time: expected a number");
    expect_error(prof1(100, 1e6, 0, "gamma"), NULL, NULL, d,
                 "$.scenarios[0].interactions[0].functions[0].cpu_time_dist: expected");
    expect_error("{\"scenarios\":[{\"scenarioID\":1,\"interactions\":[{\"name\":\"i\","
                 "\"functions\":[{\"functionID\":\"f\",\"cpu_time\":1,\"callbacks\":[\"g\"]}]}]}]}",
                 NULL, NULL, d, "functions[0].callbacks: \"g\" is not a function");
    expect_error("{\"scenarios\":[{\"scenarioID\":1,\"interactions\":[{\"name\":\"i\","
                 "\"functions\":[{\"functionID\":\"f\",\"cpu_time\":1,\"callbacks\":[\"g\"]},"
                 "{\"functionID\":\"g\",\"cpu_time\":1,\"callbacks\":[\"f\"]}]}]}]}",
                 NULL, NULL, d, "interactions[0].functions: the callbacks form a cycle");
    expect_error(prof1(100, 1e6, 500, "deterministic"), SVC1, NULL, d,
                 "functions[0].ram: 500 MB does not fit in maxRAM 100");
    expect_error(p, SVC1, "{\"A\": 3}", d, "mapping.json: $[\"A\"]: expected a service name");
    expect_error(p, SVC1, "{\"A\": \"nowhere\"}", d,
                 "mapping.json: $[\"A\"]: unknown service \"nowhere\"");
    expect_error(p, NULL, NULL, "[{\"kind\":\"zipf\",\"scenarioID\":1}]",
                 "distribution.json: $[0].kind: expected");
    expect_error(p, NULL, NULL,
                 "[{\"kind\":\"uniform\",\"start\":0,\"end\":1,\"volume\":1,\"scenarioID\":1},"
                 "{\"kind\":\"poisson\",\"start\":0,\"end\":1,\"scenarioID\":1}]",
                 "distribution.json: $[1].rate: missing");
    expect_error(p, NULL, NULL,
                 "[{\"kind\":\"triangle\",\"start\":0,\"end\":10,\"highpoint\":20,\"volume\":1,"
                 "\"scenarioID\":1}]",
                 "$[0].highpoint: must lie between start and end");
    expect_error(p, NULL, NULL,
                 "[{\"kind\":\"uniform\",\"start\":0,\"end\":1,\"volume\":1,\"scenarioID\":7}]",
                 "$[0].scenarioID: no scenario 7");
    expect_error(p, NULL, NULL, "{}", "distribution.json: $: expected an array");
}

static void test_fan_out_and_scale_caps(void **state)
{
    (void)state;
    /* 25 diamonds in a row: f0 -> {a0, b0} -> f1 -> ... runs 2^25 times. */
    enum { L = 25 };
    size_t cap = 200 * 3 * L + 512, n = 0;
    char *prof = malloc(cap);
    assert_non_null(prof);
    n += (size_t)snprintf(prof + n, cap - n,
                          "{\"scenarios\":[{\"scenarioID\":1,"
                          "\"interactions\":[{\"name\":\"i\",\"functions\":[");
    for (int k = 0; k < L; k++)
        n += (size_t)snprintf(
            prof + n, cap - n,
            "%s{\"functionID\":\"f%d\",\"cpu_time\":1,\"callbacks\":[\"a%d\",\"b%d\"]},"
            "{\"functionID\":\"a%d\",\"cpu_time\":1,\"callbacks\":[\"f%d\"]},"
            "{\"functionID\":\"b%d\",\"cpu_time\":1,\"callbacks\":[\"f%d\"]}",
            k ? "," : "", k, k, k, k, k + 1, k, k + 1);
    snprintf(prof + n, cap - n, ",{\"functionID\":\"f%d\",\"cpu_time\":1}]}]}]}", L);
    const char *d = "[{\"kind\":\"uniform\",\"start\":0,\"end\":1,\"volume\":1,\"scenarioID\":1}]";
    expect_error(prof, NULL, NULL, d,
                 "profile.json: $.scenarios[0].interactions[0].functions: the callbacks start");
    free(prof);
    expect_error(prof1(100, 1, 0, "deterministic"),
                 "{\"services\":[{\"serviceID\":\"default\",\"scale\":20000}]}", NULL, d,
                 "services.json: $.services[0].scale: at most 10000 replicas");
}

static void test_mapping_rules(void **state)
{
    (void)state;
    char err[800] = "";
    const char *prof = "{\"scenarios\":[{\"scenarioID\":1,\"interactions\":[{\"name\":\"i\","
                       "\"functions\":[{\"functionID\":\"C.f_123\",\"cpu_time\":1,"
                       "\"callbacks\":[\"C.g_124\"]},{\"functionID\":\"C.g_124\",\"cpu_time\":1},"
                       "{\"functionID\":\"D.h_125\",\"cpu_time\":1}]}]}]}";
    const char *svc = "{\"services\":[{\"serviceID\":\"default\"},{\"serviceID\":\"s1\"},"
                      "{\"serviceID\":\"s2\"}]}";
    const char *d = "[{\"kind\":\"uniform\",\"start\":0,\"end\":1,\"volume\":1,\"scenarioID\":1}]";
    sim_model *m = mk(prof, svc, "{\"C\": \"s2\", \"C.f\": \"s1\"}", d, err, sizeof err);
    assert_non_null(m);
    const sim_fn *fn = sim_model_scen(m, 0)->inter[0].fn;
    assert_string_equal(fn[0].name, "C.f");
    assert_int_equal(fn[0].svc, 1); /* Class.func beats Class */
    assert_int_equal(fn[1].svc, 2); /* Class */
    assert_int_equal(fn[2].svc, 0); /* unmapped: default */
    assert_int_equal(fn[0].ncb, 1);
    assert_int_equal(fn[0].cb[0], 1);
    sim_model_free(m);
}

/* ---- event heap and arrivals ----------------------------------------------- */

static void test_queue(void **state)
{
    (void)state;
    /* Monotone use, as in a run: pop the earliest, push later events, with
     * many equal times.  Out come nondecreasing times, and equal times in
     * the order they went in (gen carries a global insertion counter). */
    sim_queue q;
    sim_queue_init(&q);
    sim_rng rng;
    sim_rng_seed(&rng, 5, 0);
    uint32_t seq = 0;
    for (int i = 0; i < 3000; i++)
        assert_int_equal(sim_queue_push(&q, (double)(sim_rng_next(&rng) % 500), 1, 7, seq++), 0);
    double now = 0;
    uint32_t last_seq = 0;
    size_t popped = 0;
    while (q.n) {
        sim_ev e;
        assert_int_equal(sim_queue_pop(&q, &e), 0);
        double t = sim_ev_time(e);
        assert_true(t >= now);
        if (t == now && popped)
            assert_true(e.gen > last_seq);
        assert_int_equal(sim_ev_kind(e), 1);
        assert_int_equal(sim_ev_id(e), 7);
        now = t;
        last_seq = e.gen;
        popped++;
        if (popped < 20000) {
            /* 0: same instant; otherwise up to 1000 later, or fractional. */
            uint64_t x = sim_rng_next(&rng);
            double dt = x % 3 == 0 ? 0 : x % 3 == 1 ? (double)(x % 1000) : sim_rng_u01(&rng);
            assert_int_equal(sim_queue_push(&q, now + dt, 1, 7, seq++), 0);
        }
    }
    assert_int_equal(popped, 3000 + 19999);
    /* Peek leaves the event in; a time in the past counts as now. */
    assert_int_equal(sim_queue_push(&q, 1e12, 2, 1, 0), 0);
    assert_int_equal(sim_queue_push(&q, 5e11, 3, 2, 0), 0);
    sim_ev e;
    assert_int_equal(sim_queue_peek(&q, &e), 0);
    assert_true(sim_ev_time(e) == 5e11);
    assert_int_equal(q.n, 2);
    assert_int_equal(sim_queue_pop(&q, &e), 0);
    assert_int_equal(sim_queue_push(&q, 1.0, 4, 3, 0), 0);
    assert_int_equal(sim_queue_pop(&q, &e), 0);
    assert_int_equal(sim_ev_kind(e), 4);
    assert_true(sim_ev_time(e) == 5e11);
    sim_queue_free(&q);
}

static void check_stream(const sim_arr *a, double lo, double hi, double *count, double *mean)
{
    sim_stream s;
    assert_int_equal(sim_stream_init(&s, a, 42, 0, 1), 0);
    double t, prev = -INFINITY, sum = 0;
    *count = 0;
    while (sim_stream_next(&s, &t)) {
        assert_true(t >= prev);
        assert_true(t >= lo && t <= hi);
        prev = t;
        sum += t;
        (*count)++;
    }
    *mean = *count ? sum / *count : 0;
    sim_stream_free(&s);
}

static void test_arrivals(void **state)
{
    (void)state;
    double n, mean;
    sim_arr a = {.kind = SIM_ARR_UNIFORM, .start = 10, .end = 30, .volume = 20000};
    check_stream(&a, 10, 30, &n, &mean);
    assert_true(n == 20000);
    assert_true(fabs(mean - 20) < 0.2); /* s.d. of the mean: 20/sqrt(12*20000) = 0.04 */
    a = (sim_arr){
        .kind = SIM_ARR_TRIANGLE, .start = 0, .end = 90, .highpoint = 60, .volume = 20000};
    check_stream(&a, 0, 90, &n, &mean);
    assert_true(n == 20000);
    assert_true(fabs(mean - 50) < 0.6); /* (0+90+60)/3; s.d. of the mean ~0.14 */
    a = (sim_arr){
        .kind = SIM_ARR_NORMAL, .start = 0, .end = -1, .mean = 100, .sd = 5, .volume = 10000};
    check_stream(&a, 0, INFINITY, &n, &mean);
    assert_true(n == 10000);
    assert_true(fabs(mean - 100) < 0.25);
    a = (sim_arr){.kind = SIM_ARR_POISSON, .start = 5, .end = 105, .rate = 100};
    check_stream(&a, 5, 105, &n, &mean);
    assert_true(fabs(n - 10000) < 500); /* 5 s.d. */
    a = (sim_arr){.kind = SIM_ARR_CONSTANT, .start = 0, .end = 10, .interval = 0.5};
    check_stream(&a, 0, 10, &n, &mean);
    assert_true(n == 20);
    assert_true(sim_stream_expected(&a, 2) == 40);
}

/* ---- sharing, queues, flow ---------------------------------------------------- */

/* Two scenarios, each one function, one arrival each at given times. */
static sim_model *two_jobs(double ns1, double t1, double ns2, double t2, double cpu,
                           const char *svc)
{
    char prof[800], dist[400], err[800];
    snprintf(prof, sizeof prof,
             "{\"scenarios\":[{\"scenarioID\":1,\"interactions\":[{\"name\":\"a\",\"functions\":"
             "[{\"functionID\":\"a\",\"cpu\":%g,\"cpu_time\":%g}]}]},"
             "{\"scenarioID\":2,\"interactions\":[{\"name\":\"b\",\"functions\":"
             "[{\"functionID\":\"b\",\"cpu\":%g,\"cpu_time\":%g}]}]}]}",
             cpu, ns1, cpu, ns2);
    snprintf(dist, sizeof dist,
             "[{\"kind\":\"constant\",\"start\":%g,\"end\":%g,\"interval\":1,\"scenarioID\":1},"
             "{\"kind\":\"constant\",\"start\":%g,\"end\":%g,\"interval\":1,\"scenarioID\":2}]",
             t1, t1, t2, t2);
    sim_model *m = mk(prof, svc, NULL, dist, err, sizeof err);
    if (!m)
        fail_msg("%s", err);
    return m;
}

static void test_processor_sharing_exact(void **state)
{
    (void)state;
    /* A: 10 ms from t=0; B: 2 ms from t=5 ms.  Alone until 5 ms (A has 5 ms
     * left), then both at half speed: B ends at 9 ms, A has 3 ms left and
     * ends at 12 ms. */
    sim_model *m = two_jobs(10e6, 0, 2e6, 0.005, 100, SVC1);
    sim_run *r = run(m, (sim_opts){.seed = 1});
    sim_istat a, b;
    sim_run_istat(r, 0, &a);
    sim_run_istat(r, 1, &b);
    assert_true(fabs(a.mean - 0.012) < 1e-12);
    assert_true(fabs(b.mean - 0.004) < 1e-12);
    sim_sstat s;
    sim_run_sstat(r, 0, &s);
    assert_true(fabs(s.util_cpu - 1.0) < 1e-9); /* busy all 12 ms */
    sim_run_free(r);
    sim_model_free(m);
    /* Half-core functions on one core both fit: no slowdown. */
    m = two_jobs(10e6, 0, 2e6, 0.005, 50, SVC1);
    r = run(m, (sim_opts){.seed = 1});
    sim_run_istat(r, 0, &a);
    sim_run_istat(r, 1, &b);
    assert_true(fabs(a.mean - 0.010) < 1e-12);
    assert_true(fabs(b.mean - 0.002) < 1e-12);
    sim_run_free(r);
    sim_model_free(m);
    /* A 300% function on one core takes three times as long. */
    m = two_jobs(10e6, 0, 1e6, 1, 300, SVC1);
    r = run(m, (sim_opts){.seed = 1});
    sim_run_istat(r, 0, &a);
    assert_true(fabs(a.mean - 0.030) < 1e-12);
    sim_run_free(r);
    sim_model_free(m);
}

/* Jobs of ns[k] ns of CPU arriving at t[k] s, one scenario each, on one
 * core with time slices of quantum ns; the response time of each in
 * resp[k] (s). */
static void sliced(int n, const double *ns, const double *t, double quantum, double *resp)
{
    char prof[1200], dist[900], svc[200], err[800];
    size_t lp = 0, ld = 0;
    lp += (size_t)snprintf(prof + lp, sizeof prof - lp, "{\"scenarios\":[");
    ld += (size_t)snprintf(dist + ld, sizeof dist - ld, "[");
    for (int k = 0; k < n; k++) {
        lp += (size_t)snprintf(prof + lp, sizeof prof - lp,
                               "%s{\"scenarioID\":%d,\"interactions\":[{\"name\":\"j%d\","
                               "\"functions\":[{\"functionID\":\"j%d\",\"cpu\":100,"
                               "\"cpu_time\":%.17g}]}]}",
                               k ? "," : "", k + 1, k, k, ns[k]);
        ld += (size_t)snprintf(dist + ld, sizeof dist - ld,
                               "%s{\"kind\":\"constant\",\"start\":%.17g,\"end\":%.17g,"
                               "\"interval\":1,\"scenarioID\":%d}",
                               k ? "," : "", t[k], t[k], k + 1);
    }
    snprintf(prof + lp, sizeof prof - lp, "]}");
    snprintf(dist + ld, sizeof dist - ld, "]");
    snprintf(svc, sizeof svc,
             "{\"services\":[{\"serviceID\":\"default\",\"defaultServer\":{\"quantum\":%.17g}}]}",
             quantum);
    sim_model *m = mk(prof, svc, NULL, dist, err, sizeof err);
    if (!m)
        fail_msg("%s", err);
    sim_run *r = run(m, (sim_opts){.seed = 1});
    for (int k = 0; k < n; k++) {
        sim_istat st;
        sim_run_istat(r, k, &st);
        assert_int_equal(st.completed, 1);
        resp[k] = st.mean;
    }
    sim_sstat ss;
    sim_run_sstat(r, 0, &ss);
    assert_true(fabs(ss.util_cpu - 1.0) < 1e-9); /* never idle while a job waits */
    sim_run_free(r);
    sim_model_free(m);
}

static void test_time_slices_exact(void **state)
{
    (void)state;
    double resp[3];
    /* A: 10 ms from t=0; B: 2 ms from t=5 ms; slices of 2 ms.  A, alone,
     * starts a new slice at 4 ms and keeps the core until 6 ms; then B
     * runs to its end at 8 ms, and A from 8 to 12 ms.  (Processor
     * sharing: B at 9 ms.) */
    sliced(2, (double[]){10e6, 2e6}, (double[]){0, 0.005}, 2e6, resp);
    assert_true(fabs(resp[0] - 0.012) < 1e-12);
    assert_true(fabs(resp[1] - 0.003) < 1e-12);
    /* A slice longer than every job: first come, first served (A to 10 ms,
     * B to 12 ms). */
    sliced(2, (double[]){10e6, 2e6}, (double[]){0, 0.005}, 50e6, resp);
    assert_true(fabs(resp[0] - 0.010) < 1e-12);
    assert_true(fabs(resp[1] - 0.007) < 1e-12);
    /* A new job goes before the jobs that have had a slice.  A: 10 ms from
     * 0, B: 4 ms from 1 ms, C: 1 ms from 2.5 ms; slices of 1 ms.  A keeps
     * the core to 2 ms (its slice renewed at 1 ms), B runs 2-3, then C
     * (new) before A and B: 3-4.  A and B take turns: A 4-5, B 5-6, A 6-7,
     * B 7-8, A 8-9, B 9-10 (done), A alone to 15. */
    sliced(3, (double[]){10e6, 4e6, 1e6}, (double[]){0, 0.001, 0.0025}, 1e6, resp);
    assert_true(fabs(resp[0] - 0.015) < 1e-12);
    assert_true(fabs(resp[1] - 0.009) < 1e-12);
    assert_true(fabs(resp[2] - 0.0015) < 1e-12);
}

static void fifo_case(const char *svc, double ram)
{
    char err[800];
    /* Three arrivals 1 ms apart, 10 ms each, one at a time: responses 10,
     * 19 and 28 ms; waits 0, 9 and 18 ms. */
    sim_model *m = mk(prof1(100, 10e6, ram, "deterministic"), svc, NULL,
                      "[{\"kind\":\"constant\",\"start\":0,\"end\":0.0025,\"interval\":0.001,"
                      "\"scenarioID\":1}]",
                      err, sizeof err);
    if (!m)
        fail_msg("%s", err);
    sim_run *r = run(m, (sim_opts){.seed = 1});
    sim_istat st;
    sim_run_istat(r, 0, &st);
    assert_int_equal(st.completed, 3);
    assert_true(fabs(st.mean - 0.019) < 1e-12);
    assert_true(fabs(st.wait_mean - 0.009) < 1e-12);
    assert_true(fabs(st.p99 - 0.028) < 1e-12);
    sim_sstat ss;
    sim_run_sstat(r, 0, &ss);
    assert_int_equal(ss.peak_queue, 2);
    sim_run_free(r);
    sim_model_free(m);
}

static void test_fifo_limits(void **state)
{
    (void)state;
    fifo_case("{\"services\":[{\"serviceID\":\"default\",\"defaultServer\":{\"workers\":1}}]}", 0);
    /* RAM: 60 of 100 MB each, so only one fits at a time. */
    fifo_case(SVC1, 60);
}

static void test_callbacks_and_delays(void **state)
{
    (void)state;
    char err[800];
    /* i0: f (1 ms) then g after 0.5 ms (2 ms) and h after 0 (4 ms, other
     * service, zero CPU): done when both branches are, at 5 ms.  i1 starts
     * 1 s later and takes 1 ms. */
    const char *prof =
        "{\"scenarios\":[{\"scenarioID\":3,\"interactions\":["
        "{\"name\":\"i0\",\"functions\":["
        "{\"functionID\":\"f\",\"cpu\":100,\"cpu_time\":1e6,\"callbacks\":[\"g\",\"h\"]},"
        "{\"functionID\":\"g\",\"cpu\":100,\"cpu_time\":2e6,\"delay\":5e5,\"callbacks\":[\"-1\"]},"
        "{\"functionID\":\"h\",\"cpu\":0,\"cpu_time\":4e6}]},"
        "{\"name\":\"i1\",\"delay\":1e9,\"functions\":[{\"functionID\":\"x\",\"cpu_time\":1e6}]}"
        "]}]}";
    const char *svc = "{\"services\":[{\"serviceID\":\"default\"},{\"serviceID\":\"io\"}]}";
    sim_model *m = mk(prof, svc, "{\"h\":\"io\"}",
                      "[{\"kind\":\"constant\",\"start\":0,\"end\":0,\"interval\":1,"
                      "\"scenarioID\":3}]",
                      err, sizeof err);
    if (!m)
        fail_msg("%s", err);
    sim_run *r = run(m, (sim_opts){.seed = 1});
    sim_istat a, b;
    sim_run_istat(r, 0, &a);
    sim_run_istat(r, 1, &b);
    assert_string_equal(a.label, "scenario 3 interaction 0");
    assert_true(fabs(a.mean - 0.005) < 1e-12);
    assert_true(fabs(b.mean - 0.001) < 1e-12);
    sim_totals t;
    sim_run_totals(r, &t);
    assert_true(fabs(t.end_time - 1.001) < 1e-9);
    sim_run_free(r);
    sim_model_free(m);
}

/* ---- conservation, seeds --------------------------------------------------- */

static void test_conservation(void **state)
{
    (void)state;
    char err[800];
    /* Overloaded (2x) with a second interaction 2 s in; stop at 5 s. */
    const char *prof =
        "{\"scenarios\":[{\"scenarioID\":1,\"interactions\":["
        "{\"name\":\"a\",\"functions\":[{\"functionID\":\"f\",\"cpu_time\":2e6,"
        "\"cpu_time_dist\":\"exponential\"}]},"
        "{\"name\":\"b\",\"delay\":2e9,\"functions\":[{\"functionID\":\"g\",\"cpu_time\":1e6,"
        "\"cpu_time_dist\":\"lognormal\",\"cpu_time_cv\":2}]}]}]}";
    sim_model *m = mk(prof,
                      "{\"services\":[{\"serviceID\":\"default\",\"defaultServer\":"
                      "{\"workers\":2}}]}",
                      NULL,
                      "[{\"kind\":\"poisson\",\"start\":0,\"end\":10,\"rate\":700,"
                      "\"scenarioID\":1}]",
                      err, sizeof err);
    if (!m)
        fail_msg("%s", err);
    sim_run *r = run(m, (sim_opts){.seed = 9, .until = 5});
    sim_totals t;
    sim_run_totals(r, &t);
    assert_true(t.arrivals > 3000);
    assert_true(t.inter_in_flight > 0);
    assert_true(t.inter_pending > 0);
    assert_true(t.inter_completed + t.inter_in_flight == t.inter_started);
    assert_true(t.inter_started + t.inter_pending == 2 * t.arrivals);
    assert_true(t.end_time == 5);
    sim_run_free(r);
    /* Without a limit everything completes. */
    r = run(m, (sim_opts){.seed = 9});
    sim_run_totals(r, &t);
    assert_true(t.inter_in_flight == 0 && t.inter_pending == 0);
    assert_true(t.inter_completed == 2 * t.arrivals);
    /* Same seed, same run; another seed, another run. */
    sim_run *r2 = run(m, (sim_opts){.seed = 9});
    sim_run *r3 = run(m, (sim_opts){.seed = 10});
    sim_istat s1, s2, s3;
    sim_run_istat(r, 0, &s1);
    sim_run_istat(r2, 0, &s2);
    sim_run_istat(r3, 0, &s3);
    assert_true(s1.mean == s2.mean && s1.completed == s2.completed);
    assert_true(s1.mean != s3.mean);
    sim_run_free(r);
    sim_run_free(r2);
    sim_run_free(r3);
    sim_model_free(m);
}

/* ---- autoscaling -------------------------------------------------------------- */

static void test_autoscaling(void **state)
{
    (void)state;
    char err[800];
    /* 0-60 s: 2.5 cores of work for a 1-core replica; 60-120 s: 0.1 core.
     * Scale up above 80% CPU, down below 30%, 2 s start-up, at most 4. */
    const char *svc = "{\"services\":[{\"serviceID\":\"default\",\"scale\":1,\"scales\":true,"
                      "\"scaleUpAt\":0.8,\"scaleDownAt\":0.3,\"scaleingMetric\":\"CPU\","
                      "\"scalingDelay\":2e9,\"maxScale\":4}]}";
    const char *dist = "[{\"kind\":\"poisson\",\"start\":0,\"end\":60,\"rate\":250,"
                       "\"scenarioID\":1},"
                       "{\"kind\":\"poisson\",\"start\":60,\"end\":120,\"rate\":10,"
                       "\"scenarioID\":1}]";
    sim_model *m = mk(prof1(100, 10e6, 0, "exponential"), svc, NULL, dist, err, sizeof err);
    if (!m)
        fail_msg("%s", err);
    sim_run *r = run(m, (sim_opts){.seed = 3, .series = 1, .interval = 1});
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    assert_int_equal(sim_run_write_json(r, f), 0);
    fclose(f);
    json_error_t je;
    json_t *doc = json_loads(buf, 0, &je);
    if (!doc)
        fail_msg("SimResults.json does not parse: %s at %d", je.text, je.line);
    json_t *u = json_object_get(doc, "service_util");
    json_t *t = json_object_get(u, "t"), *id = json_object_get(u, "identifier"),
           *reps = json_object_get(u, "replicas"), *cpu = json_object_get(u, "CPU");
    assert_int_equal(json_array_size(t), json_array_size(reps));
    /* Replicas after each sample's decision, indexed by whole seconds. */
    int at[200] = {0}, maxsec = 0, peak = 0;
    double busy_up_to_1s = 0;
    for (size_t i = 0; i < json_array_size(t); i++) {
        if (strcmp(json_string_value(json_array_get(id, i)), "default"))
            continue;
        int sec = (int)llround(json_number_value(json_array_get(t, i)) / 1e9);
        if (sec < 200) {
            at[sec] = (int)json_number_value(json_array_get(reps, i));
            maxsec = sec > maxsec ? sec : maxsec;
        }
        if (sec == 1)
            busy_up_to_1s = json_number_value(json_array_get(cpu, i));
        peak = at[sec] > peak ? at[sec] : peak;
    }
    /* The first window is saturated, so a replica is ordered at 1 s and
     * serves from 3 s (the column is the count before that sample's own
     * decision; the start-up, queued first, is processed before the sample
     * at the same instant).  One start-up is pending at a time, so at most
     * one more replica every 2 s, up to maxScale. */
    assert_true(busy_up_to_1s > 0.8);
    assert_int_equal(at[1], 1);
    assert_int_equal(at[2], 1);
    assert_int_equal(at[3], 2);
    assert_int_equal(at[4], 2);
    for (int sec = 1; sec <= 60; sec++)
        assert_true(at[sec] <= 1 + (sec - 1) / 2);
    assert_int_equal(peak, 4);
    /* After the burst the load is 10% of a core: back down to one. */
    assert_true(maxsec >= 120);
    sim_sstat ss;
    sim_run_sstat(r, 0, &ss);
    assert_int_equal(ss.peak_replicas, 4);
    assert_int_equal(ss.final_replicas, 1);
    json_decref(doc);
    free(buf);
    sim_run_free(r);
    sim_model_free(m);
}

/* ---- HTML report ------------------------------------------------------------ */

static void test_html_report(void **state)
{
    (void)state;
    char err[800];
    /* An interaction name that would end a <script> element if copied raw. */
    const char *prof =
        "{\"scenarios\":[{\"scenarioID\":1,\"interactions\":[{\"name\":"
        "\"</script><b>x\",\"functions\":[{\"functionID\":\"f\",\"cpu_time\":1e6}]}]}]}";
    sim_model *m = mk(prof, NULL, NULL,
                      "[{\"kind\":\"constant\",\"start\":0,\"end\":3,\"interval\":0.5,"
                      "\"scenarioID\":1}]",
                      err, sizeof err);
    if (!m)
        fail_msg("%s", err);
    sim_run *r = run(m, (sim_opts){.seed = 1, .series = 1});
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    assert_int_equal(sim_run_write_html(r, f), 0);
    fclose(f);
    assert_null(strstr(buf, "src=\"echarts.js\""));
    assert_non_null(strstr(buf, "window.EVD_RESULTS = {"));
    assert_non_null(strstr(buf, "<\\/script><b>x"));
    /* Exactly the page's own three </script> tags remain. */
    int n = 0;
    for (const char *p = buf; (p = strstr(p, "</script>")); p++)
        n++;
    assert_int_equal(n, 3);
    assert_true(len > 500000); /* ECharts is inlined */
    free(buf);
    sim_run_free(r);
    sim_model_free(m);
}

/* ---- capacity ------------------------------------------------------------------- */

static void test_find_capacity(void **state)
{
    (void)state;
    char err[800];
    /* Constant arrivals every 10 ms for 10 s, 1 ms each: no queueing up to
     * 10x, a growing backlog beyond, so the p95 <= 5 ms limit is ~10x. */
    sim_model *m = mk(prof1(100, 1e6, 0, "deterministic"), SVC1, NULL,
                      "[{\"kind\":\"constant\",\"start\":0,\"end\":10,\"interval\":0.01,"
                      "\"scenarioID\":1}]",
                      err, sizeof err);
    if (!m)
        fail_msg("%s", err);
    sim_opts o = {.seed = 1};
    sim_capacity cap;
    assert_int_equal(sim_find_capacity(m, &o, 0.005, &cap, NULL, err, sizeof err), 0);
    assert_true(cap.factor > 9.8 && cap.factor < 10.1);
    assert_true(cap.p95 <= 0.005);
    assert_true(fabs(cap.rate - 100 * cap.factor) < 2 * cap.factor);
    sim_model_free(m);
}

/* ---- replay ------------------------------------------------------------------------ */

/* A store written through the store API, as the agent writes it.  Day 0:
 * 10 index requests; day 3: 30 index requests 1 s apart, 2 ms each (the
 * first 90 ms), and 20 api.x requests, 5 ms each. */
static void make_store(const char *path)
{
    store *st;
    int64_t ep[2], ver, inst;
    int level;
    unlink(path);
    assert_int_equal(store_open(path, 0, &st), 0);
    int64_t svc;
    assert_int_equal(store_service_register(st, "svc", 0, &svc), 0);
    store_instance in = {.name = "test", .host = "host", .pid = 1, .service_id = svc};
    assert_int_equal(store_instance_register(st, &in, 0, &inst), 0);
    assert_int_equal(store_version_touch(st, "v1", 0, &ver), 0);
    assert_int_equal(store_endpoint_upsert(st, svc, "index.xhtml", "/", NULL, 1, &ep[0], &level),
                     0);
    assert_int_equal(store_endpoint_upsert(st, svc, "api.x", "/x", NULL, 1, &ep[1], &level), 0);
    const int64_t day = 86400000000LL, t0 = 1700000000000000LL;
    store_request r = {.version_id = ver, .instance_id = inst, .status = 200};
    assert_int_equal(store_begin(st), 0);
    for (int i = 0; i < 10; i++) {
        r.endpoint_id = ep[0], r.ts_us = t0 + i * 1000000LL, r.duration_us = 2000;
        assert_int_equal(store_insert_request(st, &r, NULL), 0);
    }
    for (int i = 0; i < 30; i++) {
        r.endpoint_id = ep[0], r.ts_us = t0 + 3 * day + i * 1000000LL;
        r.duration_us = i == 0 ? 90000 : 2000;
        assert_int_equal(store_insert_request(st, &r, NULL), 0);
    }
    for (int i = 0; i < 20; i++) {
        r.endpoint_id = ep[1], r.ts_us = t0 + 3 * day + 500000 + i * 1000000LL;
        r.duration_us = 5000;
        assert_int_equal(store_insert_request(st, &r, NULL), 0);
    }
    assert_int_equal(store_commit(st), 0);
    store_close(st);
}

static void test_replay(void **state)
{
    (void)state;
    /* Work in a fresh directory, so that the relative URL form has a
     * known base and a failed run leaves nothing in the checkout. */
    char rel[] = "store.db", abs[4200], url[4300], cwd[4096], old[4096];
    char tmp[] = "/tmp/evd_test_sim_XXXXXX";
    assert_non_null(getcwd(old, sizeof old));
    assert_non_null(mkdtemp(tmp));
    assert_int_equal(chdir(tmp), 0);
    make_store(rel);
    assert_non_null(getcwd(cwd, sizeof cwd));
    snprintf(abs, sizeof abs, "%s/%s", cwd, rel);
    size_t nreq, unmatched;

    /* No profile, last 1 day, relative URL: one scenario per endpoint whose
     * work is the median duration; 50 requests, the last index.xhtml one
     * 29 s after the first. */
    sim_model *m = sim_model_new();
    snprintf(url, sizeof url, "sqlite:///%s", rel);
    sim_replay_opts o = {.url = url, .days = 1};
    assert_int_equal(sim_replay_load(m, &o, 0, &nreq, &unmatched), 0);
    assert_int_equal(nreq, 50);
    assert_int_equal(sim_model_link(m), 0);
    assert_int_equal(sim_model_nscen(m), 2);
    assert_true(sim_model_scen(m, 0)->inter[0].fn[0].cpu_time == 2e6);
    assert_true(sim_model_scen(m, 1)->inter[0].fn[0].cpu_time == 5e6);
    sim_run *r = run(m, (sim_opts){.seed = 1});
    sim_totals t;
    sim_run_totals(r, &t);
    assert_int_equal(t.arrivals, 50);
    assert_true(fabs(t.end_time - (29 + 0.002)) < 1e-9);
    sim_istat st;
    sim_run_istat(r, 1, &st);
    assert_string_equal(st.name, "api.x");
    assert_true(fabs(st.mean - 0.005) < 1e-12);
    sim_run_free(r);
    sim_model_free(m);

    /* With a profile, absolute URL, all days, twice as fast: only
     * index.xhtml matches an interaction; api.x is counted unmatched. */
    char err[800];
    m = sim_model_new();
    const char *prof =
        "{\"scenarios\":[{\"scenarioID\":4,\"interactions\":[{\"name\":"
        "\"index.xhtml\",\"functions\":[{\"functionID\":\"f\",\"cpu_time\":1e6}]}]}]}";
    assert_int_equal(sim_model_load_buf(m, SIM_DOC_PROFILE, "p", prof, strlen(prof)), 0);
    snprintf(url, sizeof url, "sqlite:///%s", abs);
    assert_true(url[10] == '/');
    o = (sim_replay_opts){.url = url, .speedup = 2};
    assert_int_equal(sim_replay_load(m, &o, 1, &nreq, &unmatched), 0);
    assert_int_equal(nreq, 60);
    assert_int_equal(unmatched, 20);
    assert_int_equal(sim_model_link(m), 0);
    r = run(m, (sim_opts){.seed = 1});
    sim_run_totals(r, &t);
    assert_int_equal(t.arrivals, 40);
    assert_true(fabs(t.end_time - ((3 * 86400.0 + 29) / 2 + 0.001)) < 1e-6);
    sim_run_free(r);
    sim_model_free(m);

    /* Endpoint filter, bad URL, missing file. */
    m = sim_model_new();
    const char *only[] = {"api.x", NULL};
    o = (sim_replay_opts){.url = url, .endpoints = only};
    assert_int_equal(sim_replay_load(m, &o, 0, &nreq, &unmatched), 0);
    assert_int_equal(nreq, 20);
    /* a server that cannot be reached: a clear error, its password not shown */
    o = (sim_replay_opts){.url = "postgresql://u:hunter2@nosuchhost.invalid/x"};
    assert_int_not_equal(sim_replay_load(m, &o, 0, &nreq, &unmatched), 0);
    assert_non_null(strstr(sim_model_errmsg(m), "cannot connect"));
    assert_null(strstr(sim_model_errmsg(m), "hunter2"));
    o = (sim_replay_opts){.url = "sqlite:///no/such/dir/x.db"};
    assert_int_equal(sim_replay_load(m, &o, 0, &nreq, &unmatched), EVD_EIO);
    (void)err;
    sim_model_free(m);
    unlink(rel);
    assert_int_equal(chdir(old), 0);
    rmdir(tmp);
}

/* Scaling a replay raises its arrival rate: each recorded request stands
 * for k arrivals over the same span, so a factor of 2 doubles the arrivals
 * (and arrivals per second), and a capacity search stops where the
 * replayed load saturates the replica instead of compressing one finite
 * burst whose total work never reaches the SLO. */
static void test_replay_scaling(void **state)
{
    (void)state;
    char path[] = "/tmp/evd_test_sim_scale_XXXXXX", db[64], url[96], err[800];
    assert_non_null(mkdtemp(path));
    snprintf(db, sizeof db, "%s/s.db", path);
    /* 20 requests 0.5 s apart (9.5 s, 2.1/s), 1 ms of work each: one core
     * saturates at 1000 arrivals/s, about 475 times the recorded rate. */
    store *st;
    int64_t ep, ver, inst, svc;
    int level;
    assert_int_equal(store_open(db, 0, &st), 0);
    assert_int_equal(store_service_register(st, "svc", 0, &svc), 0);
    store_instance in = {.name = "t", .host = "h", .pid = 1, .service_id = svc};
    assert_int_equal(store_instance_register(st, &in, 0, &inst), 0);
    assert_int_equal(store_version_touch(st, "v1", 0, &ver), 0);
    assert_int_equal(store_endpoint_upsert(st, svc, "api.q", "/q", NULL, 1, &ep, &level), 0);
    store_request r = {.endpoint_id = ep,
                       .version_id = ver,
                       .instance_id = inst,
                       .status = 200,
                       .duration_us = 1000};
    for (int i = 0; i < 20; i++) {
        r.ts_us = 1700000000000000LL + i * 500000LL;
        assert_int_equal(store_insert_request(st, &r, NULL), 0);
    }
    store_close(st);

    sim_model *m = sim_model_new();
    snprintf(url, sizeof url, "sqlite:///%s", db);
    sim_replay_opts o = {.url = url};
    size_t nreq, unmatched;
    assert_int_equal(sim_replay_load(m, &o, 0, &nreq, &unmatched), 0);
    assert_int_equal(nreq, 20);
    assert_int_equal(sim_model_link(m), 0);
    assert_true(fabs(sim_model_arrivals_end(m) - 9.5) < 1e-9);

    sim_totals t1, t2, th;
    sim_run *run1 = run(m, (sim_opts){.seed = 1});
    sim_run_totals(run1, &t1);
    sim_run_free(run1);
    sim_run *run2 = run(m, (sim_opts){.seed = 1, .rate_scale = 2});
    sim_run_totals(run2, &t2);
    sim_run_free(run2);
    assert_int_equal(t1.arrivals, 20);
    assert_int_equal(t2.arrivals, 40);
    /* The span stays: twice the arrivals in the same 9.5 s (+ one gap). */
    assert_true(t2.end_time < 9.5 + 0.5 + 0.01);
    /* A fraction of k adds a copy to that fraction of the requests, and
     * a factor below 1 thins them; the same seed gives the same draws. */
    sim_run *runh = run(m, (sim_opts){.seed = 1, .rate_scale = 0.5});
    sim_run_totals(runh, &th);
    sim_run_free(runh);
    assert_true(th.arrivals >= 4 && th.arrivals <= 16);

    sim_opts so = {.seed = 1};
    sim_capacity cap;
    int rc = sim_find_capacity(m, &so, 0.050, &cap, NULL, err, sizeof err);
    if (rc)
        fail_msg("find-capacity: %s", err);
    assert_true(cap.factor > 300 && cap.factor < 700);
    assert_true(cap.p95 <= 0.050);
    assert_true(fabs(cap.rate - cap.factor * 20 / 9.5) < 0.05 * cap.rate);
    sim_model_free(m);
    unlink(db);
    rmdir(path);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bad_files),
        cmocka_unit_test(test_fan_out_and_scale_caps),
        cmocka_unit_test(test_mapping_rules),
        cmocka_unit_test(test_queue),
        cmocka_unit_test(test_arrivals),
        cmocka_unit_test(test_processor_sharing_exact),
        cmocka_unit_test(test_time_slices_exact),
        cmocka_unit_test(test_fifo_limits),
        cmocka_unit_test(test_callbacks_and_delays),
        cmocka_unit_test(test_conservation),
        cmocka_unit_test(test_autoscaling),
        cmocka_unit_test(test_html_report),
        cmocka_unit_test(test_find_capacity),
        cmocka_unit_test(test_replay),
        cmocka_unit_test(test_replay_scaling),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/* test_capacity.c — the capacity model built from live data: the NNLS
 * demand estimator on synthetic utilisation series (exact and noisy), the
 * call-tree estimate, the CPU samples in the store (written by the agent,
 * read back), and the model builder on a synthetic store: its files
 * validate against the shipped schemas and load in the simulator, a
 * what-if at factor 1 reproduces the recorded mean response times, a
 * higher factor raises the arrival rate by that factor, and the capacity
 * search names the CPU as the bottleneck.  Run on PostgreSQL too (make
 * check-pg-capacity). */
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

#include "evodash.h"
#include "profile/schema.h"
#include "sim/demand.h"
#include "sim/livemodel.h"
#include "sim/nnls.h"
#include "sim/rng.h"
#include "sim/whatif.h"
#include "sim/whatif_json.h"
#include "store/read.h"
#include "store/usage.h"
#include "testutil.h"

/* ---- the estimator ------------------------------------------------------ */

/* Three endpoints with known demands; rates that vary over time with
 * different phases (as traffic does over a day), so that the intervals
 * tell the endpoints apart. */
static const double TRUE_D[3] = {0.002, 0.005, 0.012}; /* s */
static const double BASE_RATE[3] = {40, 20, 10};       /* per s */

static void series(demand_reg *r, int intervals, double noise_sd, double u0, sim_rng *rng)
{
    for (int k = 0; k < intervals; k++) {
        double dt = 10, count[3], cpu = u0 * dt;
        for (int e = 0; e < 3; e++) {
            double lam = BASE_RATE[e] * (1 + 0.5 * sin(2 * M_PI * k / 120.0 + 2.1 * e));
            /* a Poisson count by its normal approximation, whole */
            count[e] = fmax(0, round(lam * dt + sqrt(lam * dt) * sim_rng_normal(rng)));
            cpu += count[e] * TRUE_D[e];
        }
        cpu += noise_sd * dt * sim_rng_normal(rng);
        demand_reg_add(r, dt, fmax(cpu, 0), count);
    }
}

static void test_demand_exact(void **state)
{
    (void)state;
    sim_rng rng;
    sim_rng_seed(&rng, 7, 1);
    demand_reg *r = demand_reg_new(3);
    assert_non_null(r);
    series(r, 360, 0, 0.01, &rng);
    double d[3], se[3];
    size_t rows[3];
    demand_fit fit;
    assert_int_equal(demand_reg_solve(r, NULL, d, se, rows, &fit), 0);
    for (int e = 0; e < 3; e++) {
        assert_true(fabs(d[e] - TRUE_D[e]) < 1e-9 * TRUE_D[e] + 1e-12);
        assert_int_equal(rows[e], 360);
    }
    assert_true(fabs(fit.u0 - 0.01) < 1e-9);
    assert_true(fit.r2 > 0.999999);
    demand_reg_free(r);
}

/* Noise of 0.005 cores per 10-s interval (about what a CPU time counted in
 * 10 ms ticks and service times that vary by 30% give): every demand
 * within 5% and within 3 of its standard errors, over 360 intervals. */
static void test_demand_noisy(void **state)
{
    (void)state;
    for (uint64_t seed = 1; seed <= 5; seed++) {
        sim_rng rng;
        sim_rng_seed(&rng, seed, 2);
        demand_reg *r = demand_reg_new(3);
        series(r, 360, 0.005, 0.02, &rng);
        double d[3], se[3];
        size_t rows[3];
        demand_fit fit;
        assert_int_equal(demand_reg_solve(r, NULL, d, se, rows, &fit), 0);
        for (int e = 0; e < 3; e++) {
            double rel = fabs(d[e] - TRUE_D[e]) / TRUE_D[e];
            if (rel > 0.05 || fabs(d[e] - TRUE_D[e]) > 3 * se[e])
                fail_msg("seed %llu endpoint %d: %.5f ms (se %.5f) for %.5f ms",
                         (unsigned long long)seed, e, d[e] * 1e3, se[e] * 1e3, TRUE_D[e] * 1e3);
        }
        if (fit.r2 < 0.9)
            fail_msg("seed %llu: R^2 %.4f, rmse %.5f", (unsigned long long)seed, fit.r2, fit.rmse);
        demand_reg_free(r);
    }
}

/* The common-overhead fit: TRUE_D is each endpoint's time alone (base)
 * plus 0.4 ms.  Exact: b, U0 recovered and the structure holds (p 1).
 * Noisy: b within 3 standard errors (of 10% at most), the F-test not rejecting the
 * true structure; with wrong bases (every endpoint 2 ms alone) it rejects
 * it.  An endpoint without a base keeps a coefficient of its own. */
static void test_demand_common(void **state)
{
    (void)state;
    const double b = 0.0004, base[3] = {TRUE_D[0] - b, TRUE_D[1] - b, TRUE_D[2] - b};
    const double wrong[3] = {0.002, 0.002, 0.002}, two[3] = {base[0], base[1], -1};
    double d[3], se[3];
    size_t rows[3];
    demand_fit fit;
    sim_rng rng;
    sim_rng_seed(&rng, 7, 1);
    demand_reg *r = demand_reg_new(3);
    series(r, 360, 0, 0.01, &rng);
    assert_int_equal(demand_reg_solve(r, base, d, se, rows, &fit), 0);
    assert_int_equal(fit.common.endpoints, 3);
    assert_true(fabs(fit.common.b - b) < 1e-9);
    assert_true(fabs(fit.common.u0 - 0.01) < 1e-9);
    assert_true(fit.common.p == 1);
    assert_int_equal(demand_reg_solve(r, two, d, se, rows, &fit), 0);
    assert_int_equal(fit.common.endpoints, 2);
    assert_true(fabs(fit.common.b - b) < 1e-9);
    /* one base is no structure: nothing fitted */
    assert_int_equal(demand_reg_solve(r, (double[]){-1, base[1], -1}, d, se, rows, &fit), 0);
    assert_int_equal(fit.common.endpoints, 1);
    demand_reg_free(r);
    for (uint64_t seed = 1; seed <= 5; seed++) {
        sim_rng_seed(&rng, seed, 2);
        r = demand_reg_new(3);
        series(r, 360, 0.005, 0.02, &rng);
        assert_int_equal(demand_reg_solve(r, base, d, se, rows, &fit), 0);
        const demand_common *c = &fit.common;
        if (fabs(c->b - b) > 3 * c->b_se || c->b_se > 0.1 * b || c->p < 0.001)
            fail_msg("seed %llu: b %.4f ms (se %.4f), p %.4f", (unsigned long long)seed, c->b * 1e3,
                     c->b_se * 1e3, c->p);
        /* as good as the free fit's demands, with one unknown for three */
        assert_true(c->b_se < se[0]);
        assert_int_equal(demand_reg_solve(r, wrong, d, se, rows, &fit), 0);
        if (fit.common.p > 1e-6)
            fail_msg("seed %llu: wrong bases not rejected, p %.3g", (unsigned long long)seed,
                     fit.common.p);
        demand_reg_free(r);
    }
}

/* An endpoint that costs nothing gets 0, not a negative demand, and an
 * empty problem is refused. */
static void test_demand_nonnegative(void **state)
{
    (void)state;
    nnls *p = nnls_new(2);
    /* b = 1 * a0 - 0.5 * a1 would fit best; with x1 >= 0 it is x1 = 0 */
    for (int i = 0; i < 50; i++) {
        double a[2] = {1 + i % 5, 1 + (i * 7) % 3};
        nnls_add(p, a, 1.0 * a[0] - 0.5 * a[1], 1);
    }
    double x[2], se[2];
    nnls_fit fit;
    assert_int_equal(nnls_solve(p, x, se, &fit), 0);
    assert_true(x[1] == 0);
    assert_true(x[0] > 0);
    assert_true(isfinite(se[1]) && se[1] > 0); /* how well "none" is known */
    assert_int_equal(fit.active, 1);
    nnls_free(p);
    p = nnls_new(2);
    assert_int_equal(nnls_solve(p, x, se, &fit), EVD_EINVAL);
    nnls_free(p);
}

static void test_tree_cpu(void **state)
{
    (void)state;
    /* handler 100 = parse 20 + query 50 (of which recv 45) + self 30 */
    const int indent[] = {0, 1, 1, 2};
    const char *fn[] = {"app.handler", "app.parse", "db.query", "socket.recv"};
    const int64_t dur[] = {100, 20, 50, 45};
    assert_int_equal(demand_tree_cpu(indent, fn, dur, 4), 100 - 45);
    assert_true(demand_is_wait("time.sleep"));
    assert_true(demand_is_wait("nanosleep+0x1f"));
    assert_true(demand_is_wait("std::thread::join"));
    assert_false(demand_is_wait("app.read_config"));
    assert_false(demand_is_wait("compute"));
}

/* ---- the store ------------------------------------------------------------ */

typedef struct seen {
    int samples;
    int64_t cpu_us, count, busy_us;
    int64_t agent_us; /* of the samples that measured it */
    int unmeasured;   /* samples without it */
    int over;         /* samples whose agent_us exceeds cpu_us */
    int64_t steal_us; /* of the samples that measured it */
    int no_steal;     /* samples without it */
    char host[32];
} seen;

static int on_sample(void *u, const store_usage_row *r)
{
    seen *s = u;
    s->samples++;
    s->cpu_us += r->s.cpu_us;
    if (r->s.agent_us < 0)
        s->unmeasured++;
    else
        s->agent_us += r->s.agent_us;
    s->over += r->s.agent_us > r->s.cpu_us;
    if (r->s.steal_us < 0)
        s->no_steal++;
    else
        s->steal_us += r->s.steal_us;
    for (size_t i = 0; i < r->ncounts; i++) {
        s->count += r->counts[i].count;
        s->busy_us += r->counts[i].busy_us;
    }
    snprintf(s->host, sizeof s->host, "%s", r->host);
    return 0;
}

static void test_store_samples(void **state)
{
    (void)state;
    store *st;
    int64_t svc, inst, ep[2], ver;
    int level;
    assert_int_equal(store_open(tu_url, 0, &st), 0);
    assert_int_equal(tu_register(st, &svc, &inst), 0);
    assert_int_equal(store_version_touch(st, "v1", 0, &ver), 0);
    assert_int_equal(store_endpoint_upsert(st, svc, "a", NULL, NULL, 1, &ep[0], &level), 0);
    assert_int_equal(store_endpoint_upsert(st, svc, "b", NULL, NULL, 1, &ep[1], &level), 0);
    for (int k = 1; k <= 3; k++) {
        store_usage_sample s = {.instance_id = inst,
                                .ts_us = k * 10000000LL,
                                .interval_us = 10000000,
                                .cpu_us = 1000 * k,
                                .ncpu = 2,
                                .agent_us = 100 * k,
                                .steal_us = 20 * k};
        store_usage_count c[2] = {{ep[0], k, 10 * k}, {ep[1], k == 2 ? 0 : 5, 50}};
        assert_int_equal(store_begin(st), 0);
        assert_int_equal(store_usage_put(st, &s, c, 2), 0);
        assert_int_equal(store_commit(st), 0);
    }
    /* an idle interval: a sample without counts, from an agent that did not
     * measure its own threads or the host's steal */
    store_usage_sample idle = {inst, 40000000, 10000000, 7, 2, -1, -1};
    assert_int_equal(store_begin(st), 0);
    assert_int_equal(store_usage_put(st, &idle, NULL, 0), 0);
    assert_int_equal(store_commit(st), 0);
    seen s = {0};
    assert_int_equal(store_usage_samples(st, svc, 0, 40000000, on_sample, &s), 0);
    assert_int_equal(s.samples, 4);
    assert_int_equal(s.cpu_us, 6007);
    assert_int_equal(s.agent_us, 600);
    assert_int_equal(s.unmeasured, 1);
    assert_int_equal(s.steal_us, 120);
    assert_int_equal(s.no_steal, 1);
    assert_int_equal(s.count, 1 + 2 + 3 + 5 + 5);
    assert_int_equal(s.busy_us, 60 + 100);
    assert_string_equal(s.host, "h");
    /* the intervals that overlap the window: [0,10), [10,20), [20,30) */
    seen w = {0};
    assert_int_equal(store_usage_samples(st, svc, 5000000, 30000000, on_sample, &w), 0);
    assert_int_equal(w.samples, 3);
    /* another service sees none */
    int64_t other;
    assert_int_equal(store_service_register(st, "other", 0, &other), 0);
    seen o = {0};
    assert_int_equal(store_usage_samples(st, other, 0, INT64_MAX, on_sample, &o), 0);
    assert_int_equal(o.samples, 0);
    int64_t lo, hi;
    assert_int_equal(store_usage_span(st, svc, &lo, &hi), EVD_ENOENT);
    store_close(st);
}

/* The agent stores one sample per CPU_SAMPLE_SECONDS with the requests of
 * the interval beside it. */
static void test_agent_samples(void **state)
{
    (void)state;
    evd_config *cfg = evd_config_new();
    evd_agent *a = NULL;
    assert_int_equal(evd_config_set(cfg, "DATABASE", tu_url), 0);
    assert_int_equal(evd_config_set(cfg, "SERVICE_NAME", "spin"), 0);
    assert_int_equal(evd_config_set(cfg, "CPU_SAMPLE_SECONDS", "1"), 0);
    assert_int_equal(evd_open(cfg, &a), 0);
    int ep;
    assert_int_equal(evd_endpoint_register(a, "work", "/work", "GET", &ep), 0);
    for (int i = 0; i < 3; i++) { /* about 3 s: two or three samples */
        for (int j = 0; j < 10; j++) {
            evd_req r = evd_req_begin(a, ep);
            tu_spin_ms(20);
            evd_req_end(&r, 200, NULL, NULL);
        }
        usleep(800000);
    }
    evd_flush(a, 10000);
    usleep(1200000); /* the last interval's sample */
    assert_int_equal(evd_close(a), 0);
    evd_config_free(cfg);
    store *st;
    int64_t svc;
    assert_int_equal(store_open(tu_url, STORE_RDONLY, &st), 0);
    assert_int_equal(store_service_find(st, "spin", &svc), 0);
    seen s = {0};
    assert_int_equal(store_usage_samples(st, svc, 0, INT64_MAX, on_sample, &s), 0);
    store_close(st);
    if (s.samples < 2 || s.count < 20 || s.cpu_us < 15 * 20000)
        fail_msg("%d samples, %lld requests, %lld us of CPU", s.samples, (long long)s.count,
                 (long long)s.cpu_us);
    assert_true(s.busy_us >= s.count * 18000);
    /* every sample says what the agent's own threads used: something (the
     * writer wrote the batches), within the process's CPU, and not the
     * requests' spinning, which ran on this thread */
    if (s.unmeasured || s.over || s.agent_us <= 0 || s.cpu_us - s.agent_us < 15 * 20000)
        fail_msg("%d unmeasured, %d over, agent %lld us of %lld", s.unmeasured, s.over,
                 (long long)s.agent_us, (long long)s.cpu_us);
    /* and the host's steal: this machine has /proc/stat, so every sample
     * says it (0 on bare metal), and it is at most the samples' time */
    if (s.no_steal || s.steal_us > (int64_t)s.samples * 1500000)
        fail_msg("%d samples without steal, %lld us of it", s.no_steal, (long long)s.steal_us);
}

/* ---- a synthetic service ------------------------------------------------- */

/* Poisson arrivals of the three endpoints at BASE_RATE (utilisation 0.3)
 * on one core shared by processor sharing, each request needing exactly
 * TRUE_D of CPU; its duration is what that queue gives it.  The CPU
 * samples hold the busy time of each 10-s interval and the requests that
 * ended in it.  Returns the recorded mean duration per endpoint. */
#define SYN_SPAN 400.0
#define SYN_T0   1700000000000000LL

static const char *const SYN_NAMES[3] = {"GET /cheap", "GET /mid", "POST /dear"};

typedef struct job {
    double rem, start;
    int ep;
} job;

/* A store with service svc_name on one instance (host h1), version v1
 * and n endpoints; their ids in ep, the instance's and version's in *inst
 * and *ver.  Returns the store, open for writing. */
static store *service_store(const char *svc_name, const char *const *names, int n, int64_t *ep,
                            int64_t *inst, int64_t *ver)
{
    store *st;
    int64_t svc;
    int level;
    assert_int_equal(store_open(tu_url, 0, &st), 0);
    assert_int_equal(store_service_register(st, svc_name, 0, &svc), 0);
    store_instance in = {.name = "h1:1", .host = "h1", .pid = 1, .service_id = svc};
    assert_int_equal(store_instance_register(st, &in, 0, inst), 0);
    assert_int_equal(store_version_touch(st, "v1", 0, ver), 0);
    for (int e = 0; e < n; e++)
        assert_int_equal(store_endpoint_upsert(st, svc, names[e], NULL, NULL, 1, &ep[e], &level),
                         0);
    return st;
}

/* The monitor's own threads in the synthetic samples (synth_store's
 * monitor argument): MON_PER_REQ_S of CPU per request that ended in the
 * interval plus MON_CORES of a core, as a writer's work per batch looks
 * at a low load. */
#define MON_PER_REQ_S 0.0003
#define MON_CORES     0.002

/* monitor 0: the samples hold the requests' CPU alone, and say the agent
 * used none; 1: they hold the monitor's CPU too, and say how much; -1:
 * they hold it and do not say (an older agent). */
static void synth_store(double mean[3], size_t count[3], int monitor)
{
    int64_t inst, ver, ep[3];
    const char *const *names = SYN_NAMES;
    store *st = service_store("shop", names, 3, ep, &inst, &ver);
    sim_rng rng;
    sim_rng_seed(&rng, 42, 3);
    double lam = BASE_RATE[0] + BASE_RATE[1] + BASE_RATE[2];
    job *jobs = calloc(4096, sizeof *jobs);
    int njobs = 0;
    double now = 0, next_arr = sim_rng_exp(&rng, 1 / lam), sum[3] = {0};
    int interval = 0;
    double busy = 0;
    int64_t cnt[3] = {0}, bsy[3] = {0};
    memset(count, 0, 3 * sizeof *count);
    assert_int_equal(store_begin(st), 0);
    for (;;) {
        /* the next completion: every job runs at 1/njobs */
        int first = -1;
        for (int j = 0; j < njobs; j++)
            if (first < 0 || jobs[j].rem < jobs[first].rem)
                first = j;
        double t_done = first >= 0 ? now + jobs[first].rem * njobs : INFINITY;
        double t = fmin(t_done, next_arr);
        double t_iv = (interval + 1) * 10.0;
        if (t >= t_iv || (t == INFINITY && interval * 10.0 < SYN_SPAN + 10)) {
            /* close the interval at its boundary first */
            t = t_iv;
        }
        if (t == INFINITY)
            break;
        double dt = t - now;
        for (int j = 0; j < njobs; j++)
            jobs[j].rem -= dt / njobs;
        if (njobs)
            busy += dt;
        now = t;
        if (t == t_iv) {
            double mon =
                monitor ? MON_PER_REQ_S * (double)(cnt[0] + cnt[1] + cnt[2]) + MON_CORES * 10.0 : 0;
            store_usage_sample s = {.instance_id = inst,
                                    .ts_us = SYN_T0 + (int64_t)(t * 1e6),
                                    .interval_us = 10000000,
                                    .cpu_us = (int64_t)llround((busy + mon) * 1e6),
                                    .ncpu = 1,
                                    .agent_us = monitor < 0 ? -1 : (int64_t)llround(mon * 1e6)};
            store_usage_count c[3];
            for (int e = 0; e < 3; e++)
                c[e] = (store_usage_count){ep[e], cnt[e], bsy[e]};
            assert_int_equal(store_usage_put(st, &s, c, 3), 0);
            memset(cnt, 0, sizeof cnt);
            memset(bsy, 0, sizeof bsy);
            busy = 0;
            interval++;
            if (interval * 10.0 > SYN_SPAN + 20 && !njobs)
                break;
            continue;
        }
        if (t == next_arr) {
            double u = sim_rng_u01(&rng) * lam;
            int e = u < BASE_RATE[0] ? 0 : u < BASE_RATE[0] + BASE_RATE[1] ? 1 : 2;
            assert_true(njobs < 4096);
            jobs[njobs++] = (job){TRUE_D[e], now, e};
            next_arr = now + sim_rng_exp(&rng, 1 / lam);
            if (next_arr > SYN_SPAN)
                next_arr = INFINITY;
        } else {
            job j = jobs[first];
            jobs[first] = jobs[--njobs];
            double d = now - j.start;
            store_request r = {.endpoint_id = ep[j.ep],
                               .version_id = ver,
                               .instance_id = inst,
                               .ts_us = SYN_T0 + (int64_t)llround(j.start * 1e6),
                               .duration_us = (int64_t)llround(d * 1e6),
                               .status = 200};
            assert_int_equal(store_insert_request(st, &r, NULL), 0);
            sum[j.ep] += d;
            count[j.ep]++;
            cnt[j.ep]++;
            bsy[j.ep] += r.duration_us;
        }
    }
    assert_int_equal(store_commit(st), 0);
    for (int e = 0; e < 3; e++)
        mean[e] = sum[e] / (double)count[e];
    free(jobs);
    store_close(st);
}

static int ep_of(const live_model *lm, const char *name)
{
    for (int i = 0; i < lm->nep; i++)
        if (!strcmp(lm->ep[i].name, name))
            return i;
    fail_msg("no endpoint %s in the model", name);
    return -1;
}

/* Commit what the test wrote into st, close it, and build the model of
 * service from the store opened afresh, read-only. */
static live_model *committed_opts(store *st, const live_opts *lo)
{
    assert_int_equal(store_commit(st), 0);
    store_close(st);
    assert_int_equal(store_open(tu_url, STORE_RDONLY, &st), 0);
    live_model *lm;
    char err[600];
    if (live_model_build(st, lo, &lm, err, sizeof err))
        fail_msg("build: %s", err);
    store_close(st);
    return lm;
}

static live_model *committed_model(store *st, const char *service)
{
    live_opts lo = {.service = service};
    return committed_opts(st, &lo);
}

/* Requests one at a time (every one alone): GET /short of 2 ms and GET
 * /long of 10 ms, each made longer by the host's noise, a variance of
 * 0.02 ms^2 per ms of time alone (+-0.2 ms on the short ones, +-0.447 ms on
 * the long ones), and the long ones varying by their work too (+-2 ms, a
 * cv of 0.2).  The model keeps the work's variation only. */
static void test_host_noise(void **state)
{
    (void)state;
    int64_t inst, ver, ep[2];
    const char *names[2] = {"GET /short", "GET /long"};
    store *st = service_store("noisy", names, 2, ep, &inst, &ver);
    assert_int_equal(store_begin(st), 0);
    int64_t t = SYN_T0;
    for (int i = 0; i < 400; i++) {
        int e = i % 2, sign = (i / 2) % 2 ? 1 : -1, work = (i / 4) % 2 ? 1 : -1;
        double noise = sign * sqrt(0.02e-6 * (e ? 10e-3 : 2e-3) * 1e3);
        double d = e ? 10e-3 + work * 2e-3 + noise : 2e-3 + noise;
        store_request r = {.endpoint_id = ep[e],
                           .version_id = ver,
                           .instance_id = inst,
                           .ts_us = t,
                           .duration_us = (int64_t)llround(d * 1e6),
                           .status = 200};
        assert_int_equal(store_insert_request(st, &r, NULL), 0);
        t += 20000; /* 20 ms apart: none overlap */
    }
    live_model *lm = committed_model(st, "noisy");
    const live_ep *sh = &lm->ep[ep_of(lm, "GET /short")], *lg = &lm->ep[ep_of(lm, "GET /long")];
    assert_int_equal(sh->nsolo, 200);
    assert_int_equal(lg->nsolo, 200);
    /* alone, the short ones vary by 10% (noise only): deterministic */
    assert_true(sh->solo_cv > 0.099 && sh->solo_cv < 0.102);
    assert_true(sh->cv == 0);
    /* the long ones: sqrt(4 + 0.2) / 10 alone, 0.2 their work */
    assert_true(lg->solo_cv > 0.204 && lg->solo_cv < 0.206);
    if (fabs(lg->cv - 0.2) > 0.002)
        fail_msg("long: cv %.4f, want 0.2", lg->cv);
    assert_true(lm->quantum == LIVE_QUANTUM_S); /* Linux's, unless told */
    live_model_free(lm);
}

/* n requests of endpoint ep, each d seconds long, in the 10-s interval
 * from t0 that holds all requests in all: request *i of them goes at
 * (*i + 1) / (all + 1) of the interval, so none overlap. */
static void put_alone(store *st, int64_t ep, int64_t inst, int64_t ver, int64_t t0, int n, int *i,
                      int all, double d)
{
    for (int j = 0; j < n; j++, (*i)++) {
        store_request r = {.endpoint_id = ep,
                           .version_id = ver,
                           .instance_id = inst,
                           .ts_us = t0 + (int64_t)(*i + 1) * 10000000 / (all + 1),
                           .duration_us = (int64_t)llround(d * 1e6),
                           .status = 200};
        assert_int_equal(store_insert_request(st, &r, NULL), 0);
    }
}

/* Every request alone, taking its endpoint's time alone (1.5 and 4.5 ms,
 * a rare one 8 ms) plus 0.5 ms of CPU outside the recorded span, on a
 * background of 0.01 cores; 40 samples of 10 s.  The rare endpoint is in
 * 2 samples, too few for a coefficient of its own: it gets its time alone
 * plus the common overhead (8.5 ms), not its time alone (8 ms). */
static void test_common_fallback(void **state)
{
    (void)state;
    int64_t inst, ver, ep[3];
    const char *names[3] = {"GET /a", "GET /b", "GET /rare"};
    const double alone[3] = {1.5e-3, 4.5e-3, 8e-3}, over = 0.5e-3, u0 = 0.01;
    store *st = service_store("common", names, 3, ep, &inst, &ver);
    assert_int_equal(store_begin(st), 0);
    for (int k = 0; k < 40; k++) {
        int n[3] = {(int)lround(100 + 50 * sin(k / 3.0)), (int)lround(40 + 20 * cos(k / 5.0)),
                    k == 5    ? 2
                    : k == 25 ? 1
                              : 0};
        int all = n[0] + n[1] + n[2], i = 0;
        int64_t t0 = SYN_T0 + (int64_t)k * 10000000;
        double cpu = 10 * u0;
        store_usage_count c[3];
        for (int e = 0; e < 3; e++) {
            c[e] = (store_usage_count){ep[e], n[e], (int64_t)llround(n[e] * alone[e] * 1e6)};
            cpu += n[e] * (alone[e] + over);
            put_alone(st, ep[e], inst, ver, t0, n[e], &i, all, alone[e]);
        }
        store_usage_sample smp = {.instance_id = inst,
                                  .ts_us = t0 + 10000000,
                                  .interval_us = 10000000,
                                  .cpu_us = (int64_t)llround(cpu * 1e6),
                                  .ncpu = 1};
        assert_int_equal(store_usage_put(st, &smp, c, 3), 0);
    }
    live_model *lm = committed_model(st, "common");
    assert_int_equal(lm->common_n, 2); /* the rare one has too few requests alone for a base */
    if (fabs(lm->common_b - over) > 2e-6 || lm->common_p < 0.05)
        fail_msg("common overhead %.4f ms, p %.3g", lm->common_b * 1e3, lm->common_p);
    const live_ep *a = &lm->ep[ep_of(lm, "GET /a")], *rare = &lm->ep[ep_of(lm, "GET /rare")];
    assert_int_equal(a->source, LIVE_SRC_REGRESSION);
    assert_true(fabs(a->demand - 2e-3) < 2e-6);
    assert_int_equal(rare->reg_rows, 2);
    assert_string_equal(live_source_name(rare->source), "common");
    if (fabs(rare->demand - 8.5e-3) > 5e-6)
        fail_msg("rare: %.4f ms, want 8.5", rare->demand * 1e3);
    assert_true(rare->wait == 0);
    live_model_free(lm);
}

/* Every request alone, GET /a taking 2 ms of CPU and GET /b 5 ms, on a
 * background of 0.01 cores; 40 samples of 10 s, of which `noisy` (every
 * fourth, or all but every fourth) lost 8% of the host to steal and
 * charged the requests 15% more CPU, as a neighbour sharing the caches
 * does.  Builds the model with max_steal and steal (live_opts). */
static live_model *steal_model(const char *service, int most_noisy, double max_steal, double steal)
{
    int64_t inst, ver, ep[2];
    const char *names[2] = {"GET /a", "GET /b"};
    const double demand[2] = {2e-3, 5e-3}, u0 = 0.01;
    store *st = service_store(service, names, 2, ep, &inst, &ver);
    assert_int_equal(store_begin(st), 0);
    for (int k = 0; k < 40; k++) {
        int noisy = most_noisy ? k % 4 != 0 : k % 4 == 0;
        int n[2] = {(int)lround(100 + 50 * sin(k / 3.0)), (int)lround(40 + 20 * cos(k / 5.0))};
        int64_t t0 = SYN_T0 + (int64_t)k * 10000000;
        double cpu = 10 * u0;
        store_usage_count c[2];
        for (int e = 0, i = 0; e < 2; e++) {
            double d = demand[e] * (noisy ? 1.15 : 1);
            c[e] = (store_usage_count){ep[e], n[e], (int64_t)llround(n[e] * d * 1e6)};
            cpu += n[e] * d;
            put_alone(st, ep[e], inst, ver, t0, n[e], &i, n[0] + n[1], d);
        }
        store_usage_sample smp = {.instance_id = inst,
                                  .ts_us = t0 + 10000000,
                                  .interval_us = 10000000,
                                  .cpu_us = (int64_t)llround(cpu * 1e6),
                                  .ncpu = 1,
                                  .agent_us = -1,
                                  .steal_us = noisy ? 800000 : 1000};
        assert_int_equal(store_usage_put(st, &smp, c, 2), 0);
    }
    live_opts lo = {.service = service, .max_steal = max_steal, .steal = steal};
    return committed_opts(st, &lo);
}

/* The model's report (live_model_print) as a string; caller frees. */
static char *model_report(const live_model *lm)
{
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    assert_non_null(f);
    live_model_print(lm, f);
    fclose(f);
    return text;
}

/* The samples a busy neighbour inflated are left out of the fit, and the
 * demands are the quiet host's; kept in, they pull the demands up; when
 * most samples are noisy all are fitted, and the model says so. */
static void test_steal_left_out(void **state)
{
    (void)state;
    live_model *lm = steal_model("quiet", 0, 0, 0);
    assert_int_equal(lm->samples, 40);
    assert_int_equal(lm->steal_samples, 40);
    assert_int_equal(lm->samples_stolen, 10);
    assert_false(lm->steal_kept);
    /* 10 samples at 8%, 30 at 0.01% */
    if (fabs(lm->steal_mean - (10 * 0.08 + 30 * 0.0001) / 40) > 1e-9 || lm->steal_max != 0.08)
        fail_msg("steal mean %.5f, max %.5f", lm->steal_mean, lm->steal_max);
    const live_ep *a = &lm->ep[ep_of(lm, "GET /a")], *b = &lm->ep[ep_of(lm, "GET /b")];
    assert_int_equal(a->reg_rows, 30);
    /* the replica is the host as recorded: its core less the background
     * and the share stolen */
    assert_true(lm->steal == lm->steal_mean);
    if (fabs(lm->max_cpu - (100 * (1 - lm->steal) - 100 * lm->u0)) > 1e-9)
        fail_msg("max_cpu %.4f, u0 %.4f, steal %.4f", lm->max_cpu, lm->u0, lm->steal);
    if (fabs(a->reg_d - 2e-3) > 2e-6 || fabs(b->reg_d - 5e-3) > 5e-6)
        fail_msg("left out: %.4f and %.4f ms, want 2 and 5", a->reg_d * 1e3, b->reg_d * 1e3);
    /* the report and the page's JSON say so; a mean of 2% is a busy host */
    char *text = model_report(lm);
    if (!strstr(text, "host steal time: 2.0% of its CPUs on average, 8.0% in the worst sample; 10 "
                      "samples above the limit left out of the fit") ||
        !strstr(text, "model: 1 replica(s) of 97% CPU (2.0% of it lost to steal)") ||
        !strstr(text, "warning: the recording's host was busy"))
        fail_msg("report:\n%s", text);
    free(text);
    json_t *doc = live_model_json(lm), *st = json_object_get(json_object_get(doc, "fit"), "steal");
    assert_int_equal(json_integer_value(json_object_get(st, "left_out")), 10);
    assert_true(json_is_true(json_object_get(st, "warn")));
    json_decref(doc);
    live_model_free(lm);
    /* no limit: every sample fitted, the demands pulled up by the noisy
     * quarter (not all the way: an outlier fit may leave some out) */
    lm = steal_model("all", 0, -1, -1);
    assert_int_equal(lm->samples_stolen, 0);
    /* and a host of its own: no steal taken off */
    assert_true(lm->steal == 0);
    assert_true(fabs(lm->max_cpu - (100 - 100 * lm->u0)) < 1e-9);
    a = &lm->ep[ep_of(lm, "GET /a")];
    b = &lm->ep[ep_of(lm, "GET /b")];
    if (a->reg_d < 2e-3 * 1.01 || b->reg_d < 5e-3 * 1.01)
        fail_msg("kept in: %.4f and %.4f ms, want above 2 and 5", a->reg_d * 1e3, b->reg_d * 1e3);
    live_model_free(lm);
    /* three quarters noisy: too many to leave out */
    lm = steal_model("busy", 1, 0, 0.05);
    assert_true(lm->steal == 0.05); /* as told */
    assert_int_equal(lm->samples_stolen, 0);
    assert_true(lm->steal_kept);
    assert_true(lm->steal_mean > LIVE_STEAL_WARN);
    text = model_report(lm);
    if (!strstr(text, "most samples were above the limit, so all were fitted"))
        fail_msg("report:\n%s", text);
    free(text);
    live_model_free(lm);
}

/* The synthetic service's store (synth_store) and its model. */
static live_model *synth_model(double mean[3], size_t count[3], int monitor)
{
    synth_store(mean, count, monitor);
    store *st;
    assert_int_equal(store_open(tu_url, STORE_RDONLY, &st), 0);
    live_opts lo = {.service = "shop"};
    live_model *lm;
    char err[600];
    if (live_model_build(st, &lo, &lm, err, sizeof err))
        fail_msg("build: %s", err);
    store_close(st);
    return lm;
}

static void test_model_from_store(void **state)
{
    (void)state;
    double mean[3];
    size_t count[3];
    live_model *lm = synth_model(mean, count, 0);
    char err[600];
    const char *const *names = SYN_NAMES;
    assert_int_equal(lm->nep, 3);
    assert_int_equal(lm->hosts, 1);
    assert_int_equal(lm->replicas, 1);
    assert_int_equal(lm->cores, 1);
    assert_int_equal(lm->workers, 0); /* requests overlapped: no limit seen */
    assert_true(lm->samples >= 40);
    assert_true(lm->util > 0.25 && lm->util < 0.35);
    for (int e = 0; e < 3; e++) {
        const live_ep *x = &lm->ep[ep_of(lm, names[e])];
        assert_int_equal(x->source, LIVE_SRC_REGRESSION);
        /* work straddling a sample's boundary counts where it ends */
        if (fabs(x->demand - TRUE_D[e]) > 0.03 * TRUE_D[e])
            fail_msg("%s: demand %.4f ms for %.4f ms", names[e], x->demand * 1e3, TRUE_D[e] * 1e3);
        assert_true(x->wait == 0);
        assert_true(x->cv == 0); /* solo durations are the demand exactly */
        assert_int_equal(x->n, count[e]);
    }

    /* the files validate against the shipped schemas and load in simulate */
    char dir[160];
    snprintf(dir, sizeof dir, "%s/model", tu_dir);
    assert_int_equal(live_model_write(lm, dir, err, sizeof err), 0);
    static const char *const files[4] = {"profile.json", "services.json", "mapping.json",
                                         "distribution.json"};
    static const char *const schemas[4] = {"profile", "services", "mapping", "distribution"};
    sim_model *m = sim_model_new();
    for (int k = 0; k < 4; k++) {
        char path[256];
        snprintf(path, sizeof path, "%s/%s", dir, files[k]);
        assert_int_equal(schema_validate_file(path, schemas[k], stderr, 5), 0);
        if (sim_model_load_file(m, k, path))
            fail_msg("%s", sim_model_errmsg(m));
    }
    assert_int_equal(sim_model_link(m), 0);
    sim_opts so = {.seed = 1};
    sim_run *r = NULL;
    assert_int_equal(sim_run_new(m, &so, &r), 0);
    assert_int_equal(sim_run_exec(r), 0);
    sim_totals t;
    sim_run_totals(r, &t);
    assert_int_equal(t.arrivals, count[0] + count[1] + count[2]);
    sim_run_free(r);
    sim_model_free(m);

    /* factor 1 reproduces the recorded means: the same arrivals on the
     * same queue */
    whatif_opts o = {.factor = 1};
    whatif_result w1, w2;
    if (whatif_run(lm, &o, &w1, err, sizeof err))
        fail_msg("what-if: %s", err);
    for (int e = 0; e < 3; e++) {
        int i = ep_of(lm, names[e]);
        double rel = fabs(w1.ep[i].mean - mean[e]) / mean[e];
        if (rel > 0.05)
            fail_msg("%s: predicted %.4f ms, recorded %.4f ms", names[e], w1.ep[i].mean * 1e3,
                     mean[e] * 1e3);
        /* M/G/1-PS: D / (1 - rho) at rho 0.3, within the sampling error */
        assert_true(fabs(w1.ep[i].mean - TRUE_D[e] / 0.7) < 0.1 * TRUE_D[e] / 0.7);
    }
    assert_true(fabs(w1.util - 0.30) < 0.02);
    /* factor 2 doubles the arrival rate, and PS at 0.6 doubles little less
     * than D / (1 - 0.6) */
    o.factor = 2;
    assert_int_equal(whatif_run(lm, &o, &w2, err, sizeof err), 0);
    assert_true(fabs(w2.rate - 2 * w1.rate) < 1e-9 * w1.rate);
    assert_true(fabs(w2.util - 0.60) < 0.03);
    for (int e = 0; e < 3; e++) {
        int i = ep_of(lm, names[e]);
        assert_int_equal(w2.ep[i].completed, 2 * w1.ep[i].completed);
        double want = TRUE_D[e] / 0.4;
        if (fabs(w2.ep[i].mean - want) > 0.12 * want)
            fail_msg("%s at 2x: %.4f ms, M/G/1-PS %.4f ms", names[e], w2.ep[i].mean * 1e3,
                     want * 1e3);
    }
    whatif_result_free(&w2);

    /* the capacity: at about rho = 0.56 (1.9x) the dearest endpoint's
     * (12 ms, a mean of 27 ms there) p95 passes 60 ms under processor
     * sharing, with the CPU far from fully busy; the CPU is what they
     * share */
    whatif_capacity cap;
    o.factor = 1;
    if (whatif_find_capacity(lm, &o, 0.060, &cap, NULL, err, sizeof err))
        fail_msg("capacity: %s", err);
    if (cap.factor < 1.5 || cap.factor > 2.3 || cap.p95 > 0.060)
        fail_msg("capacity %.3fx, p95 %.3f ms", cap.factor, cap.p95 * 1e3);
    assert_true(fabs(cap.rate - cap.factor * w1.rate) < 0.02 * cap.rate);
    assert_non_null(strstr(cap.bottleneck, "the CPU of service shop"));
    assert_string_equal(lm->ep[cap.worst].name, "POST /dear");
    assert_true(cap.window_s == 0);
    /* on a budget, the busiest stretch that fits: the load is level here,
     * so about the same capacity */
    whatif_capacity small;
    o.trial_budget = 20000;
    assert_int_equal(whatif_find_capacity(lm, &o, 0.060, &small, NULL, err, sizeof err), 0);
    o.trial_budget = 0;
    if (!(small.window_s > 60 && small.window_s < 0.6 * lm->span) ||
        fabs(small.factor - cap.factor) > 0.2 * cap.factor)
        fail_msg("on a budget: %.3fx over %.0f s, whole window %.3fx", small.factor, small.window_s,
                 cap.factor);
    /* one worker on two cores: the worker is */
    lm->max_cpu = 200;
    o.workers = 1;
    assert_int_equal(whatif_find_capacity(lm, &o, 0.060, &cap, NULL, err, sizeof err), 0);
    assert_non_null(strstr(cap.bottleneck, "the workers of service shop"));
    /* an SLO below the dearest endpoint's own time: it is left out, the
     * others judged (it still loads the CPU) */
    o.workers = 0;
    lm->max_cpu = 100;
    assert_int_equal(whatif_find_capacity(lm, &o, 0.010, &cap, NULL, err, sizeof err), 0);
    assert_int_equal(cap.nleft_out, 1);
    assert_string_equal(lm->ep[cap.left_out[0]].name, "POST /dear");
    if (!(cap.factor > 0.1 && cap.factor < 1) || strcmp(lm->ep[cap.worst].name, "GET /mid"))
        fail_msg("capacity %g: %s", cap.factor, cap.bottleneck);
    assert_true(cap.ntrials >= 5);
    /* below every endpoint's: no load */
    assert_int_equal(whatif_find_capacity(lm, &o, 0.001, &cap, NULL, err, sizeof err), 0);
    assert_true(cap.factor == 0 && cap.nleft_out == 3);
    assert_non_null(strstr(cap.bottleneck, "every endpoint is slower"));
    whatif_result_free(&w1);
    live_model_free(lm);
}

/* The monitor's own CPU, said in the samples, stays out of the demands
 * and comes back as background; an older agent's samples, which do not
 * say, leave it in the demands (so the check can fail). */
static void test_monitor_cpu(void **state)
{
    (void)state;
    double mean[3];
    size_t count[3];
    const char *const *names = SYN_NAMES;
    live_model *lm = synth_model(mean, count, 1);
    /* over the sampled time: the requests, and the intervals of 10 s */
    double rate = (double)(count[0] + count[1] + count[2]) / (10.0 * (double)lm->samples);
    double want = MON_CORES + MON_PER_REQ_S * rate;
    assert_true(lm->agent_samples == lm->samples);
    if (fabs(lm->agent - want) > 0.01 * want)
        fail_msg("monitor %.5f cores for %.5f", lm->agent, want);
    assert_true(fabs(lm->max_cpu - 100 * (1 - lm->u0 - lm->agent)) < 1e-9);
    assert_true(lm->u0 < 0.001);
    for (int e = 0; e < 3; e++) {
        const live_ep *x = &lm->ep[ep_of(lm, names[e])];
        if (fabs(x->demand - TRUE_D[e]) > 0.03 * TRUE_D[e])
            fail_msg("%s: demand %.4f ms for %.4f ms", names[e], x->demand * 1e3, TRUE_D[e] * 1e3);
    }
    live_model_free(lm);
    tu_teardown(NULL);
    tu_setup(NULL);
    lm = synth_model(mean, count, -1);
    assert_int_equal(lm->agent_samples, 0);
    assert_true(lm->agent == 0);
    /* the cheap endpoint's 2 ms carry the monitor's 0.3 ms per request */
    const live_ep *x = &lm->ep[ep_of(lm, names[0])];
    if (x->demand < TRUE_D[0] + 0.5 * MON_PER_REQ_S)
        fail_msg("unmeasured: demand %.4f ms", x->demand * 1e3);
    live_model_free(lm);
}

/* A what-if pools its runs (seeds 1, 2, ...): the counts, rates and
 * utilisation are the runs' means, mean times weighted by the requests
 * completed, the percentiles the means of each run's.  Pooled, the p95 at a
 * high load moves less from seed to seed than one run's does, and a budget
 * of arrivals cuts the number of runs. */
static void test_pooled_runs(void **state)
{
    (void)state;
    double mean[3];
    size_t count[3];
    live_model *lm = synth_model(mean, count, 0);
    char err[600];
    enum { R = 8, POOLS = 4 };
    int dear = ep_of(lm, "POST /dear");
    /* single runs, seeds 1 .. R * POOLS, at utilisation 0.75 */
    double p95[R * POOLS], mean_w = 0, util = 0, rate = 0;
    uint64_t done = 0, peak = 0;
    for (int i = 0; i < R * POOLS; i++) {
        whatif_opts o = {.factor = 2.5, .seed = (uint64_t)i + 1, .replications = 1};
        whatif_result w;
        if (whatif_run(lm, &o, &w, err, sizeof err))
            fail_msg("what-if: %s", err);
        assert_int_equal(w.replications, 1);
        p95[i] = w.ep[dear].p95;
        if (i < R) {
            mean_w += w.ep[dear].mean * (double)w.ep[dear].completed;
            done += w.ep[dear].completed;
            util += w.util / R;
            rate += w.rate / R;
            if (w.peak_queue > peak)
                peak = w.peak_queue;
        }
        whatif_result_free(&w);
    }
    /* pooled, from seed 1: the same arithmetic over the same runs */
    whatif_opts o = {.factor = 2.5, .seed = 1};
    whatif_result w;
    assert_int_equal(whatif_run(lm, &o, &w, err, sizeof err), 0);
    assert_int_equal(w.replications, WHATIF_REPLICATIONS);
    assert_int_equal(WHATIF_REPLICATIONS, R);
    double p95_mean = 0;
    for (int i = 0; i < R; i++)
        p95_mean += p95[i] / R;
    assert_true(fabs(w.ep[dear].p95 - p95_mean) < 1e-9 * p95_mean);
    assert_true(fabs(w.ep[dear].mean - mean_w / (double)done) < 1e-9 * w.ep[dear].mean);
    assert_true(fabs(w.util - util) < 1e-9 && fabs(w.rate - rate) < 1e-9 * rate);
    assert_int_equal(w.peak_queue, peak);
    whatif_result_free(&w);
    /* pools of R runs (seeds 1, 9, 17, 25) scatter less than single runs */
    double lo1 = INFINITY, hi1 = 0, lo8 = INFINITY, hi8 = 0;
    for (int k = 0; k < POOLS; k++) {
        double pooled = 0;
        for (int i = 0; i < R; i++) {
            pooled += p95[k * R + i] / R;
            lo1 = fmin(lo1, p95[k * R + i]);
            hi1 = fmax(hi1, p95[k * R + i]);
        }
        lo8 = fmin(lo8, pooled);
        hi8 = fmax(hi8, pooled);
    }
    if (!(hi1 / lo1 > 1.1 && (hi8 - lo8) < 0.5 * (hi1 - lo1)))
        fail_msg("p95 of POST /dear: single runs %.2f..%.2f ms, pools of %d %.2f..%.2f ms",
                 lo1 * 1e3, hi1 * 1e3, R, lo8 * 1e3, hi8 * 1e3);
    /* a budget of 2.5 runs' arrivals: 2 runs; less than one run's: still 1 */
    double arrivals = (double)lm->requests * 2.5;
    o.pool_arrivals = 2.5 * arrivals;
    assert_int_equal(whatif_run(lm, &o, &w, err, sizeof err), 0);
    assert_int_equal(w.replications, 2);
    assert_true(fabs(w.ep[dear].p95 - (p95[0] + p95[1]) / 2) < 1e-9 * w.ep[dear].p95);
    whatif_result_free(&w);
    o.pool_arrivals = 0.5 * arrivals;
    assert_int_equal(whatif_run(lm, &o, &w, err, sizeof err), 0);
    assert_int_equal(w.replications, 1);
    whatif_result_free(&w);
    live_model_free(lm);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_demand_exact),
        cmocka_unit_test(test_demand_noisy),
        cmocka_unit_test(test_demand_nonnegative),
        cmocka_unit_test(test_demand_common),
        cmocka_unit_test(test_tree_cpu),
        cmocka_unit_test_setup_teardown(test_store_samples, tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(test_agent_samples, tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(test_model_from_store, tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(test_pooled_runs, tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(test_monitor_cpu, tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(test_host_noise, tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(test_common_fallback, tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(test_steal_left_out, tu_setup, tu_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

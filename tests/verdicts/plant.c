/* plant.c — a store of realistic synthetic traffic with planted faults, for
 * the findings tests (tests/verdicts/planted_test.py and the API tests).
 *
 * usage: plant DB NOW_S SEED
 *
 * 14 days of one service, six versions v1..v6 deployed every two days
 * (for six hours after a deployment a quarter of the requests still reach
 * the previous version).  Each endpoint has its own rate, median, spread
 * and error rate; traffic follows a daily curve, durations grow a little
 * at peak hours and drift from day to day; 40 user groups with Zipf-like
 * weights and a personal factor each; outliers have stacks whose
 * innermost frame varies.  Planted among UNCHANGED endpoints:
 *
 *   svc.slower      2.0x slower from v4 (and level-3 profiles in which
 *                   serialize() grows from v4)
 *   svc.faster      0.5x from v4
 *   svc.errors      5xx from ~0.5% to 8% in v5
 *   svc.slow_user   group user07 12x slower than the others
 *   svc.dead        no traffic after v3
 *   svc.old_name    renamed to svc.new_name in v5 (same traffic)
 *   svc.outliers    lock_wait innermost in 85% of its outlier stacks
 *
 * Prints what was planted as JSON on stdout. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "evodash.h"
#include "sim/rng.h"
#include "store/store.h"

#define UNCHANGED 34
#define NVER      6
#define DAYS      14
#define USERS     40

enum { P_SLOWER, P_FASTER, P_ERRORS, P_SLOWUSER, P_DEAD, P_OLD, P_NEW, P_OUTLIERS, NPLANT };
static const char *const PLANTED[NPLANT] = {"svc.slower",    "svc.faster",  "svc.errors",
                                            "svc.slow_user", "svc.dead",    "svc.old_name",
                                            "svc.new_name",  "svc.outliers"};

static uint64_t rs;
static double unif(void)
{
    return (double)(sim_splitmix64(&rs) >> 11) / 9007199254740992.0;
}
static double gauss(void)
{
    return sqrt(-2 * log(unif() + 1e-300)) * cos(6.283185307179586 * unif());
}
static int64_t poisson(double lam)
{
    if (lam > 50)
        return (int64_t)fmax(0, floor(lam + sqrt(lam) * gauss() + 0.5));
    double l = exp(-lam), p = 1;
    int64_t k = 0;
    do {
        k++;
        p *= unif();
    } while (p > l);
    return k - 1;
}

typedef struct ep {
    int64_t id;
    double rate, median, sigma, err5, drift[DAYS];
    int plant; /* -1 unchanged */
    store_rollup_acc acc[NVER];
} ep;

static int die(store *st, const char *what)
{
    fprintf(stderr, "plant: %s: %s\n", what, st ? store_errmsg(st) : "out of memory");
    return 1;
}

static const char *const LEAVES[] = {"json_dump", "db_query",   "template_render",
                                     "cache_get", "auth_check", "log_write"};
static const double LEAF_W[] = {0.25, 0.25, 0.15, 0.15, 0.1, 0.1};

int main(int argc, char **argv)
{
    if (argc != 4) {
        fprintf(stderr, "usage: plant DB NOW_S SEED\n");
        return 2;
    }
    int64_t now_s = atoll(argv[2]);
    rs = strtoull(argv[3], NULL, 10) * 0x9E3779B97F4A7C15ull + 1;
    int64_t start_s = (now_s / 3600 - DAYS * 24) * 3600;
    int nep = UNCHANGED + NPLANT;
    ep *e = calloc((size_t)nep, sizeof *e);
    store *st = NULL;
    if (!e || store_open(argv[1], 0, &st))
        return die(st, "open");
    if (store_begin(st))
        return die(st, "begin");
    int64_t svc, inst, ver[NVER];
    if (store_service_register(st, "shop", start_s * 1000000, &svc))
        return die(st, "service");
    store_instance in = {.name = "shop:1", .host = "h1", .pid = 1, .service_id = svc};
    if (store_instance_register(st, &in, start_s * 1000000, &inst))
        return die(st, "instance");
    for (int v = 0; v < NVER; v++) {
        char name[8];
        snprintf(name, sizeof name, "v%d", v + 1);
        if (store_version_touch(st, name, (start_s + v * 2 * 86400) * 1000000, &ver[v]))
            return die(st, "version");
    }
    double uw[USERS], uf[USERS], utot = 0;
    for (int u = 0; u < USERS; u++) {
        uw[u] = 1.0 / (u + 1);
        utot += uw[u];
        uf[u] = exp(0.2 * gauss());
    }
    for (int k = 0; k < nep; k++) {
        char name[64];
        e[k].plant = k < UNCHANGED ? -1 : k - UNCHANGED;
        if (e[k].plant < 0)
            snprintf(name, sizeof name, "svc.ok_%02d", k);
        else
            snprintf(name, sizeof name, "%s", PLANTED[e[k].plant]);
        int level = e[k].plant == P_SLOWER ? 3 : 2;
        if (store_endpoint_upsert(st, svc, name, NULL, "GET", level, &e[k].id, &level))
            return die(st, "endpoint");
        e[k].rate = exp(log(10) + unif() * log(6));      /* 10..60 an hour at peak */
        e[k].median = exp(log(200) + unif() * log(100)); /* 0.2..20 ms */
        e[k].sigma = 0.3 + 0.6 * unif();
        e[k].err5 = 0.002 + 0.008 * unif();
        if (e[k].plant == P_ERRORS)
            e[k].err5 = 0.005;
        if (e[k].plant == P_OLD || e[k].plant == P_NEW)
            e[k].rate = 40;
        for (int d = 0; d < DAYS; d++)
            e[k].drift[d] = exp(0.03 * gauss());
        for (int v = 0; v < NVER; v++)
            if (store_rollup_acc_init(&e[k].acc[v]))
                return die(NULL, "alloc");
    }
    int64_t nreq = 0, nout = 0;
    for (int64_t h = 0; h < DAYS * 24; h++) {
        int64_t hour_s = start_s + h * 3600;
        int cur = (int)(h / 48) < NVER ? (int)(h / 48) : NVER - 1;
        int since = (int)(h - cur * 48);
        double day = 0.25 + 0.75 * (1 + sin(6.283185307179586 * ((double)(h % 24) - 9) / 24)) / 2;
        for (int k = 0; k < nep; k++) {
            ep *x = &e[k];
            int64_t n = poisson(x->rate * day);
            for (int64_t i = 0; i < n; i++) {
                int v = cur > 0 && since < 6 && unif() < 0.25 ? cur - 1 : cur;
                if (x->plant == P_DEAD && v >= 3)
                    continue;
                if (x->plant == P_OLD && v >= 4)
                    continue;
                if (x->plant == P_NEW && v < 4)
                    continue;
                double r = unif() * utot;
                int u = 0;
                while (u < USERS - 1 && (r -= uw[u]) > 0)
                    u++;
                double mult = x->drift[h / 24] * (1 + 0.15 * day) * uf[u];
                if (x->plant == P_SLOWER && v >= 3)
                    mult *= 2.0;
                if (x->plant == P_FASTER && v >= 3)
                    mult *= 0.5;
                if (x->plant == P_SLOWUSER && u == 7)
                    mult *= 12;
                double dur = x->median * mult * exp(x->sigma * gauss());
                int64_t du = (int64_t)dur + 1;
                double e5 = x->plant == P_ERRORS && v == 4 ? 0.08 : x->err5;
                double s = unif();
                int status = s < e5 ? 500 : s < e5 + 0.03 ? 404 : s < e5 + 0.05 ? 302 : 200;
                char grp[16], ip[24];
                snprintf(grp, sizeof grp, "user%02d", u);
                snprintf(ip, sizeof ip, "10.1.0.%d", u + 1);
                int64_t ts = hour_s * 1000000 + (int64_t)(unif() * 3.6e9);
                store_request rq = {.endpoint_id = x->id,
                                    .version_id = ver[v],
                                    .instance_id = inst,
                                    .ts_us = ts,
                                    .duration_us = du,
                                    .status = status,
                                    .group = grp,
                                    .ip = ip};
                int64_t rid;
                if (store_insert_request(st, &rq, &rid))
                    return die(st, "request");
                nreq++;
                double po = x->plant == P_OUTLIERS ? 0.012 : 0.004;
                if (unif() < po) {
                    const char *leaf = NULL;
                    if (x->plant == P_OUTLIERS && unif() < 0.85)
                        leaf = "lock_wait";
                    else {
                        double w = unif();
                        int l = 0;
                        while (l < 5 && (w -= LEAF_W[l]) > 0)
                            l++;
                        leaf = LEAVES[l];
                    }
                    char stack[512];
                    snprintf(
                        stack, sizeof stack,
                        "main\tapp.py\t1\ndispatch\tframework.py\t88\nhandler_%d\tviews.py\t%d\n"
                        "%s\tlib.py\t12\n",
                        k, 10 + k, leaf);
                    store_outlier o = {.request_id = rid,
                                       .endpoint_id = x->id,
                                       .ts_us = ts,
                                       .duration_us = du,
                                       .stack = stack,
                                       .cpu = "[10.0]",
                                       .memory = "{}",
                                       .details = "{}"};
                    if (store_insert_outlier(st, &o))
                        return die(st, "outlier");
                    nout++;
                }
                if (x->plant == P_SLOWER && unif() < 0.05) {
                    if (store_insert_profiled(st, rid, &rq))
                        return die(st, "profiled");
                    double ser = v >= 3 ? 0.55 : 0.15; /* serialize's share */
                    static const char *const fn[] = {"handle", "parse", "query", "serialize"};
                    double part[] = {1, 0.15, 0.7 - ser, ser};
                    for (int p = 0; p < 4; p++) {
                        store_profile_line pl = {.request_id = rid,
                                                 .position = p,
                                                 .indent = p ? 1 : 0,
                                                 .function = fn[p],
                                                 .file = "views.py",
                                                 .line = 10 * (p + 1),
                                                 .duration_us = (int64_t)(du * part[p]),
                                                 .samples = 1};
                        if (store_insert_profile_line(st, &pl))
                            return die(st, "profile");
                    }
                }
                store_rollup_acc_add(&x->acc[v], du, (double)du, status);
            }
        }
        for (int k = 0; k < nep; k++)
            for (int v = 0; v < NVER; v++) {
                if (!e[k].acc[v].count)
                    continue;
                if (store_rollup_acc_merge(st, &e[k].acc[v], e[k].id, ver[v], hour_s / 3600, inst))
                    return die(st, "rollup");
                if (store_endpoint_touch(st, e[k].id, hour_s * 1000000 + 3599999999LL, 0))
                    return die(st, "touch");
            }
    }
    for (int v = 0; v < NVER; v++) {
        char name[8];
        int64_t id, last = v == NVER - 1 ? now_s : start_s + ((int64_t)v * 48 + 54) * 3600;
        snprintf(name, sizeof name, "v%d", v + 1);
        if (store_version_touch(st, name, last * 1000000, &id))
            return die(st, "version");
    }
    store_counters cn = {.recorded = (uint64_t)nreq, .written = (uint64_t)nreq};
    if (store_instance_counters(st, inst, &cn, now_s * 1000000) || store_commit(st))
        return die(st, "commit");
    for (int k = 0; k < nep; k++)
        for (int v = 0; v < NVER; v++)
            store_rollup_acc_free(&e[k].acc[v]);
    store_close(st);
    printf("{\"requests\": %lld, \"outliers\": %lld, \"unchanged\": [", (long long)nreq,
           (long long)nout);
    for (int k = 0; k < UNCHANGED; k++)
        printf("%s\"svc.ok_%02d\"", k ? ", " : "", k);
    printf("], \"planted\": ["
           "{\"kind\": \"regression\", \"endpoint\": \"svc.slower\", \"version\": \"v4\"}, "
           "{\"kind\": \"improvement\", \"endpoint\": \"svc.faster\", \"version\": \"v4\"}, "
           "{\"kind\": \"error_rate\", \"endpoint\": \"svc.errors\", \"version\": \"v5\"}, "
           "{\"kind\": \"slow_group\", \"endpoint\": \"svc.slow_user\", \"group\": \"user07\"}, "
           "{\"kind\": \"dead_endpoint\", \"endpoint\": \"svc.dead\", \"last_version\": \"v3\"}, "
           "{\"kind\": \"rename_candidate\", \"endpoint\": \"svc.new_name\", "
           "\"from_endpoint\": \"svc.old_name\"}, "
           "{\"kind\": \"outlier_cause\", \"endpoint\": \"svc.outliers\", \"function\": "
           "\"lock_wait\"}]}\n");
    free(e);
    return 0;
}

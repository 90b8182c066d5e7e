/* fill.c — fill a store with deterministic synthetic traffic, through the
 * store API (the writer's own statements), for the API integration test
 * and bench-api.
 *
 * usage: fill DB NOW_S REQUESTS ENDPOINTS VERSIONS USERS DAYS [SEED [GROUPS]]
 *
 * Requests are spread evenly over the DAYS days before NOW_S, generated
 * hour by hour so that the rollups of one hour are built in memory and
 * merged once; versions are deployed one after another, with a tenth of
 * the traffic still on the previous version.  Every 997th request gets an
 * outlier row and every 499th a profiler call tree.
 *
 * GROUPS "multi" names the groups as the Flask binding does for several
 * groupings ("user=user0001;plan=pro"), with some users in neither, some
 * without a plan, and some under an old single-name text ("user0017"); the
 * requests of plan "team" take 8 times as long. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "evodash.h"
#include "sim/rng.h" /* sim_splitmix64 */
#include "store/store.h"

static uint64_t rng_state;

static uint64_t rnd(void)
{
    return sim_splitmix64(&rng_state);
}

static double unif(void)
{
    return (double)(rnd() >> 11) / 9007199254740992.0;
}

static int die(store *st, const char *what)
{
    fprintf(stderr, "fill: %s: %s\n", what, st ? store_errmsg(st) : "out of memory");
    return 1;
}

/* The group text of user in GROUPS=multi (see the top); returns its plan's
 * index, or -1 when it names none. */
static int name_groups(char *buf, size_t cap, int user)
{
    static const char *const plan[] = {"free", "pro", "team"};
    if (user % 13 == 0)
        buf[0] = 0;
    else if (user % 17 == 0)
        snprintf(buf, cap, "user%04d", user);
    else if (user % 5 == 0)
        snprintf(buf, cap, "user=user%04d", user);
    else
        return snprintf(buf, cap, "user=user%04d;plan=%s", user, plan[user % 3]), user % 3;
    return -1;
}

int main(int argc, char **argv)
{
    if (argc < 8) {
        fprintf(stderr,
                "usage: fill DB NOW_S REQUESTS ENDPOINTS VERSIONS USERS DAYS [SEED [GROUPS]]\n");
        return 2;
    }
    const char *db = argv[1];
    int64_t now_s = atoll(argv[2]);
    int64_t nreq = atoll(argv[3]);
    int nep = atoi(argv[4]), nver = atoi(argv[5]), nusers = atoi(argv[6]), days = atoi(argv[7]);
    rng_state = argc > 8 ? strtoull(argv[8], NULL, 10) : 42;
    int multi = argc > 9 && !strcmp(argv[9], "multi");
    if (nep < 1 || nver < 1 || nusers < 1 || days < 1 || nreq < 1)
        return 2;

    store *st = NULL;
    if (store_open(db, 0, &st))
        return die(st, "open");
    int64_t inst = 0, *ver = calloc((size_t)nver, sizeof *ver),
            *ep = calloc((size_t)nep, sizeof *ep);
    double *base = calloc((size_t)nep, sizeof *base);
    store_rollup_acc *cells = calloc((size_t)nep * (size_t)nver, sizeof *cells);
    if (!ver || !ep || !base || !cells)
        return die(NULL, "alloc");
    int64_t start_s = now_s - (int64_t)days * 86400;
    int64_t hours = (int64_t)days * 24;
    if (store_begin(st))
        return die(st, "begin");
    int64_t svc;
    store_instance in = {.name = "fill:1", .host = "fillhost", .pid = 1};
    if (store_service_register(st, "fill", start_s * 1000000, &svc))
        return die(st, "service");
    in.service_id = svc;
    if (store_instance_register(st, &in, start_s * 1000000, &inst))
        return die(st, "instance");
    for (int v = 0; v < nver; v++) {
        char name[32];
        int64_t first = start_s + (int64_t)v * days * 86400 / nver;
        snprintf(name, sizeof name, "v%02d", v + 1);
        if (store_version_touch(st, name, first * 1000000, &ver[v]))
            return die(st, "version");
    }
    for (int e = 0; e < nep; e++) {
        char name[64], rule[64];
        int level;
        snprintf(name, sizeof name, "api.endpoint_%02d", e);
        snprintf(rule, sizeof rule, "/api/e%02d/<id>", e);
        if (store_endpoint_upsert(st, svc, name, rule, e % 3 ? "GET" : "GET,POST", 1, &ep[e],
                                  &level))
            return die(st, "endpoint");
        base[e] = 500.0 * (1 + e % 7); /* microseconds */
    }
    for (size_t i = 0; i < (size_t)nep * (size_t)nver; i++)
        if (store_rollup_acc_init(&cells[i]))
            return die(NULL, "alloc");

    int64_t done = 0, last_ts = 0, outliers = 0;
    for (int64_t h = 0; h < hours; h++) {
        int64_t n = nreq * (h + 1) / hours - nreq * h / hours;
        int64_t hour_s = start_s + h * 3600;
        int cur = (int)(h * nver / hours);
        for (int64_t k = 0; k < n; k++, done++) {
            /* Skewed endpoint choice: low ids are busier. */
            int e = (int)(pow(unif(), 2.0) * nep);
            int v = cur > 0 && unif() < 0.1 ? cur - 1 : cur;
            int user = (int)(unif() * nusers);
            int64_t ts = hour_s * 1000000 + (int64_t)(unif() * 3.6e9);
            double z = sqrt(-2 * log(unif() + 1e-12)) * cos(6.283185307 * unif());
            int64_t dur = (int64_t)(base[e] * exp(0.5 * z) * (1 + 0.1 * v)) + 1;
            double u = unif();
            int status = u < 0.01 ? 500 : u < 0.05 ? 404 : u < 0.07 ? 302 : 200;
            char group[32], ip[32];
            snprintf(group, sizeof group, "user%04d", user);
            if (multi && name_groups(group, sizeof group, user) == 2)
                dur *= 8; /* the "team" plan is slow: a slow group of one grouping */
            snprintf(ip, sizeof ip, "10.0.%d.%d", user / 250, user % 250);
            store_request rq = {.endpoint_id = ep[e],
                                .version_id = ver[v],
                                .instance_id = inst,
                                .ts_us = ts,
                                .duration_us = dur,
                                .status = status,
                                .group = group,
                                .ip = ip};
            int64_t rowid;
            if (store_insert_request(st, &rq, &rowid))
                return die(st, "request");
            if (done % 997 == 0) {
                store_outlier o = {
                    .request_id = rowid,
                    .endpoint_id = ep[e],
                    .ts_us = ts,
                    .duration_us = dur,
                    .stack = "main\tservice.c\t10\nhandle\tservice.c\t42\nslow_query\tdb.c\t7\n",
                    .cpu = "[12.5,80.0]",
                    .memory = "{\"total_bytes\":1000,\"used_bytes\":500}",
                    /* Every other one with the stacks of two other
                     * threads (one without Python frames), as the Flask
                     * binding captures them. */
                    .details = outliers % 2
                                   ? "{\"url\":\"/api/x?id=1\",\"headers\":{\"Accept\":\"*/*\"},"
                                     "\"environ\":{\"REMOTE_ADDR\":\"10.0.0.1\"},\"values\":{"
                                     "\"id\":\"1\"}}"
                                   : "{\"url\":\"/api/x?id=1\",\"headers\":{\"Accept\":\"*/*\"},"
                                     "\"environ\":{\"REMOTE_ADDR\":\"10.0.0.1\"},\"values\":{"
                                     "\"id\":\"1\"},\"threads\":{\"140002\":\"run\\tpool.py\\t5\\n"
                                     "wait_job\\tpool.py\\t88\\n\",\"140001\":\"\"}}"};
                if (store_insert_outlier(st, &o))
                    return die(st, "outlier");
                outliers++;
            }
            if (done % 499 == 0) {
                if (store_insert_profiled(st, rowid, &rq))
                    return die(st, "profiled");
                static const char *const fn[] = {"handle", "parse", "query", "render"};
                static const int ind[] = {0, 1, 1, 2};
                for (int p = 0; p < 4; p++) {
                    store_profile_line pl = {.request_id = rowid,
                                             .position = p,
                                             .indent = ind[p],
                                             .function = fn[p],
                                             .file = "service.c",
                                             .line = 10 * (p + 1),
                                             .duration_us = dur / (p + 1),
                                             .samples = 4 - p};
                    if (store_insert_profile_line(st, &pl))
                        return die(st, "profile");
                }
            }
            store_rollup_acc_add(&cells[e * nver + v], dur, (double)dur, status);
            if (ts > last_ts)
                last_ts = ts;
        }
        for (int e = 0; e < nep; e++)
            for (int v = 0; v < nver; v++) {
                store_rollup_acc *c = &cells[e * nver + v];
                if (!c->count)
                    continue;
                if (store_rollup_acc_merge(st, c, ep[e], ver[v], hour_s / 3600, inst))
                    return die(st, "rollup");
                if (store_endpoint_touch(st, ep[e], hour_s * 1000000 + 3599999999LL, 0))
                    return die(st, "touch");
            }
    }
    for (int v = 0; v < nver; v++) {
        char name[32];
        int64_t id;
        int64_t last = v == nver - 1 ? now_s : start_s + (int64_t)(v + 2) * days * 86400 / nver;
        snprintf(name, sizeof name, "v%02d", v + 1);
        if (store_version_touch(st, name, (last < now_s ? last : now_s) * 1000000, &id))
            return die(st, "version");
    }
    store_counters cn = {.recorded = (uint64_t)done + 7,
                         .dropped = 7,
                         .written = (uint64_t)done,
                         .write_errors = 2,
                         .outliers = (uint64_t)outliers};
    if (store_instance_counters(st, inst, &cn, now_s * 1000000))
        return die(st, "counters");
    if (store_commit(st))
        return die(st, "commit");
    for (size_t i = 0; i < (size_t)nep * (size_t)nver; i++)
        store_rollup_acc_free(&cells[i]);
    free(cells);
    free(ver);
    free(ep);
    free(base);
    store_close(st);
    printf("fill: %lld requests, %lld outliers\n", (long long)done, (long long)outliers);
    return 0;
}

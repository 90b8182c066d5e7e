/* ci_live.c — live traffic of known medians for the CI integration test:
 * COUNT requests of ENDPOINT in SERVICE at VERSION, every one lasting
 * MEDIAN_US, through the store API (the writer's own statements, rollups
 * and sketches included), an hour apart per version.
 *
 * usage: ci_live DB SERVICE ENDPOINT VERSION MEDIAN_US COUNT HOUR */
#include <stdio.h>
#include <stdlib.h>

#include "evodash.h"
#include "store/store.h"

static int die(store *st, const char *what)
{
    fprintf(stderr, "ci_live: %s: %s\n", what, st ? store_errmsg(st) : "out of memory");
    return 1;
}

int main(int argc, char **argv)
{
    if (argc != 8) {
        fprintf(stderr, "usage: ci_live DB SERVICE ENDPOINT VERSION MEDIAN_US COUNT HOUR\n");
        return 2;
    }
    int64_t median = atoll(argv[5]), n = atoll(argv[6]), hour = atoll(argv[7]);
    int64_t t0 = hour * 3600000000LL, svc, ver, ep, inst;
    int level;
    store *st = NULL;
    store_rollup_acc acc = {0};
    if (store_open(argv[1], 0, &st))
        return die(st, "open");
    if (store_rollup_acc_init(&acc) || store_begin(st))
        return die(st, "begin");
    if (store_service_register(st, argv[2], t0, &svc) ||
        store_version_touch(st, argv[4], t0, &ver) ||
        store_endpoint_upsert(st, svc, argv[3], NULL, "GET", 1, &ep, &level))
        return die(st, "dimensions");
    store_instance in = {
        .name = "live:1", .host = "live", .pid = 1, .service_id = svc, .version_id = ver};
    if (store_instance_register(st, &in, t0, &inst))
        return die(st, "instance");
    for (int64_t i = 0; i < n; i++) {
        store_request rq = {.endpoint_id = ep,
                            .version_id = ver,
                            .instance_id = inst,
                            .ts_us = t0 + i * 1000,
                            .duration_us = median,
                            .status = 200};
        if (store_insert_request(st, &rq, NULL))
            return die(st, "request");
        store_rollup_acc_add(&acc, median, (double)median, 200);
    }
    if (store_rollup_acc_merge(st, &acc, ep, ver, hour, inst) || store_commit(st))
        return die(st, "commit");
    store_rollup_acc_free(&acc);
    store_close(st);
    return 0;
}

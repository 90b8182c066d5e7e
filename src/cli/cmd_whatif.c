/* cmd_whatif.c — `evodash simulate --from-db URL --what-if`: build the
 * capacity model of a service from what evodash recorded (src/sim/
 * livemodel.c), write it in the DSPS formats, and run the recorded traffic
 * scaled by factors, or with other replica and worker counts; with
 * --find-capacity, the largest factor that keeps every endpoint's p95
 * under the SLO and what saturates first. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "cli/commands.h"
#include "sim/livemodel.h"
#include "sim/whatif.h"
#include "sim/whatif_json.h"
#include "store/store.h"

static void print_run(const live_model *lm, const whatif_result *r, FILE *f)
{
    fprintf(f,
            "\nwhat-if at %gx: %.3f arrivals/s, %d replica(s), %s: CPU %.1f%% busy, %.2f "
            "requests in the system, %.2f queued for a worker (peak %llu); the mean of %d "
            "simulated run(s)\n",
            r->factor, r->rate, r->replicas, r->workers ? "" : "no worker limit", 100 * r->util,
            r->in_system, r->queue, (unsigned long long)r->peak_queue, r->replications);
    if (r->workers)
        fprintf(f, "  (%d worker(s) per replica)\n", r->workers);
    fprintf(f, "%-28s %9s %9s %9s | %9s %9s %9s %9s %9s\n", "endpoint", "rec mean", "rec p50",
            "rec p95", "mean ms", "p50 ms", "p95 ms", "p99 ms", "wait ms");
    for (int i = 0; i < r->nep; i++) {
        const live_ep *e = &lm->ep[i];
        const whatif_ep *p = &r->ep[i];
        fprintf(f, "%-28.28s %9.3f %9.3f %9.3f | %9.3f %9.3f %9.3f %9.3f %9.3f\n", e->name,
                e->mean * 1e3, e->p50 * 1e3, e->p95 * 1e3, p->mean * 1e3, p->p50 * 1e3,
                p->p95 * 1e3, p->p99 * 1e3, p->wait * 1e3);
    }
}

int cmd_whatif(const whatif_cli *w)
{
    store *st = NULL;
    live_model *lm = NULL;
    json_t *doc = NULL, *runs = NULL;
    char err[600];
    int rc = 1;
    if (store_open(w->url, STORE_RDONLY, &st)) {
        fprintf(stderr, "evodash simulate: %s\n", st ? store_errmsg(st) : "out of memory");
        goto done;
    }
    live_opts lo = {.service = w->service,
                    .hours = w->hours,
                    .replicas = w->replicas,
                    .workers = w->workers,
                    .cores = w->cores,
                    .quantum = w->quantum_ms < 0   ? 0
                               : w->quantum_ms > 0 ? w->quantum_ms / 1e3
                                                   : -1,
                    .max_steal = w->max_steal,
                    .steal = w->steal};
    if (live_model_build(st, &lo, &lm, err, sizeof err)) {
        fprintf(stderr, "evodash simulate: --what-if: %s\n", err);
        goto done;
    }
    if (w->model_dir) {
        if (live_model_write(lm, w->model_dir, err, sizeof err)) {
            fprintf(stderr, "evodash simulate: %s\n", err);
            goto done;
        }
        if (!w->quiet && !w->json)
            fprintf(stderr,
                    "evodash simulate: wrote the model to %s/ (profile.json, services.json, "
                    "mapping.json, distribution.json)\n",
                    w->model_dir);
    }
    if (w->json &&
        (!(doc = json_pack("{s:o}", "model", live_model_json(lm))) || !(runs = json_array()))) {
        fprintf(stderr, "evodash simulate: out of memory\n");
        goto done;
    }
    if (!w->quiet && !w->json)
        live_model_print(lm, stdout);
    for (int i = 0; i < w->nfactors; i++) {
        whatif_opts o = {.factor = w->factors[i],
                         .replicas = w->replicas,
                         .workers = w->workers,
                         .seed = w->seed,
                         .replications = w->replications};
        whatif_result r;
        int bad = whatif_run(lm, &o, &r, err, sizeof err);
        if (!bad && w->json)
            json_array_append_new(runs, whatif_result_json(lm, &r));
        else if (!bad && !w->quiet)
            print_run(lm, &r, stdout);
        whatif_result_free(&r);
        if (bad) {
            fprintf(stderr, "evodash simulate: --what-if at %gx: %s\n", w->factors[i], err);
            goto done;
        }
    }
    if (w->slo_ms > 0) {
        whatif_opts o = {.replicas = w->replicas,
                         .workers = w->workers,
                         .seed = w->seed,
                         .replications = w->replications};
        whatif_capacity cap;
        if (whatif_find_capacity(lm, &o, w->slo_ms / 1e3, &cap, w->quiet || w->json ? NULL : stderr,
                                 err, sizeof err)) {
            fprintf(stderr, "evodash simulate: --find-capacity: %s\n", err);
            goto done;
        }
        if (!w->json && cap.nleft_out) {
            printf("\nleft out of the SLO (slower than %g ms alone, at any load):", w->slo_ms);
            for (int i = 0; i < cap.nleft_out; i++)
                printf("%s %s", i ? "," : "", lm->ep[cap.left_out[i]].name);
            putchar('\n');
        }
        if (w->json)
            json_object_set_new(doc, "capacity", whatif_capacity_json(lm, &cap, w->slo_ms / 1e3));
        else if (cap.factor > 0)
            printf("\ncapacity: %.4gx the recorded load (%.3f arrivals/s) keeps every endpoint's "
                   "p95 <= %g ms (worst %.3f ms)\nbottleneck: %s\n",
                   cap.factor, cap.rate, w->slo_ms, cap.p95 * 1e3, cap.bottleneck);
        else
            printf("\ncapacity: no load meets p95 <= %g ms\nbottleneck: %s\n", w->slo_ms,
                   cap.bottleneck);
    }
    if (w->json) {
        json_object_set_new(doc, "runs", runs);
        runs = NULL;
        char *text = json_dumps(doc, JSON_INDENT(1));
        if (!text) {
            fprintf(stderr, "evodash simulate: out of memory\n");
            goto done;
        }
        puts(text);
        free(text);
    }
    rc = 0;
done:
    json_decref(runs);
    json_decref(doc);
    live_model_free(lm);
    store_close(st);
    return rc;
}

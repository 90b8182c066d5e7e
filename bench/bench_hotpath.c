/* bench_hotpath.c — ns per request for evd_req_begin + evd_req_end, with
 * 1 and 2 producer threads, at level 1 and level 2.
 *
 * Each round times a burst of BURST requests (well inside the ring, so no
 * drop path is measured), then waits for the writer to drain the ring so
 * that every round starts from the same state.  The figure is the median
 * over ROUNDS rounds of the mean ns per request.  As a baseline in the same
 * run, the same loop with only the two clock reads is timed: the ratio
 * shows what the agent adds on this machine, whatever its noise.
 *
 * Last line: hotpath_level1_1thread: N ns */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "evodash.h"

#define ROUNDS 41
#define BURST  20000

static double now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e9 + ts.tv_nsec;
}

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

typedef struct prod {
    evd_agent *a;
    int ep;
    int n;
    int baseline;
    double ns;
    pthread_barrier_t *bar;
} prod;

static void *produce(void *arg)
{
    prod *p = arg;
    volatile double sink = 0;
    pthread_barrier_wait(p->bar);
    double t0 = now_ns();
    if (p->baseline) {
        for (int i = 0; i < p->n; i++) {
            struct timespec a, b;
            clock_gettime(CLOCK_MONOTONIC, &a);
            clock_gettime(CLOCK_MONOTONIC, &b);
            sink += (double)(b.tv_nsec - a.tv_nsec);
        }
    } else {
        for (int i = 0; i < p->n; i++) {
            evd_req r = evd_req_begin(p->a, p->ep);
            if (evd_req_end(&r, 200, "user42", "192.0.2.17")) {
                fprintf(stderr, "bench: a record was dropped; the figure would be wrong\n");
                exit(1);
            }
        }
    }
    p->ns = (now_ns() - t0) / p->n;
    (void)sink;
    return NULL;
}

/* Median ns per request over ROUNDS rounds with `threads` producers. */
static double measure(evd_agent *a, int ep, int threads, int baseline)
{
    double per[ROUNDS];
    for (int r = 0; r < ROUNDS; r++) {
        pthread_t t[2];
        prod p[2];
        pthread_barrier_t bar;
        pthread_barrier_init(&bar, NULL, (unsigned)threads);
        for (int i = 0; i < threads; i++) {
            p[i] = (prod){a, ep, BURST / threads, baseline, 0, &bar};
            pthread_create(&t[i], NULL, produce, &p[i]);
        }
        double sum = 0;
        for (int i = 0; i < threads; i++) {
            pthread_join(t[i], NULL);
            sum += p[i].ns;
        }
        pthread_barrier_destroy(&bar);
        per[r] = sum / threads;
        if (!baseline && evd_flush(a, 30000)) {
            fprintf(stderr, "bench: the writer did not drain the ring\n");
            exit(1);
        }
    }
    qsort(per, ROUNDS, sizeof per[0], cmp);
    return per[ROUNDS / 2];
}

int main(void)
{
    char dir[] = "/tmp/evd-bench-XXXXXX", url[128];
    if (!mkdtemp(dir))
        return 1;
    snprintf(url, sizeof url, "sqlite:///%s/bench.db", dir);
    evd_config *cfg = evd_config_new();
    evd_config_set(cfg, "DATABASE", url);
    evd_config_set(cfg, "APP_VERSION", "bench");
    evd_agent *a;
    if (evd_open(cfg, &a)) {
        fprintf(stderr, "bench: %s\n", evd_errmsg(a));
        return 1;
    }
    evd_config_free(cfg);
    int ep1, ep2;
    evd_endpoint_register(a, "level1", "/l1", "GET", &ep1);
    evd_endpoint_register(a, "level2", "/l2", "GET", &ep2);
    evd_endpoint_set_level(a, ep1, EVD_LEVEL_BASIC);
    evd_endpoint_set_level(a, ep2, EVD_LEVEL_OUTLIER);
    measure(a, ep1, 1, 0); /* warm up: page in the ring, start the writer */

    double base1 = measure(a, ep1, 1, 1);
    double l1t1 = measure(a, ep1, 1, 0);
    double l1t2 = measure(a, ep1, 2, 0);
    double l2t1 = measure(a, ep2, 1, 0);
    double l2t2 = measure(a, ep2, 2, 0);
    printf("two clock reads (baseline):  %6.1f ns\n", base1);
    printf("level 1, 1 thread:           %6.1f ns  (%.2fx the baseline)\n", l1t1, l1t1 / base1);
    printf("level 1, 2 threads:          %6.1f ns per request per thread\n", l1t2);
    printf("level 2, 1 thread:           %6.1f ns\n", l2t1);
    printf("level 2, 2 threads:          %6.1f ns per request per thread\n", l2t2);
    printf("(median of %d rounds of %d requests; target <= 150 ns)\n", ROUNDS, BURST);
    evd_counters c;
    evd_get_counters(a, &c);
    if (c.dropped) {
        fprintf(stderr, "bench: %llu records dropped\n", (unsigned long long)c.dropped);
        return 1;
    }
    evd_close(a);
    char cmd[160];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (system(cmd))
        fprintf(stderr, "bench: could not remove %s\n", dir);
    printf("hotpath_level1_1thread: %.0f ns\n", l1t1);
    return 0;
}

/* demo_traffic.c — record realistic synthetic traffic into a store through
 * the public C API: several endpoints with different speeds, five deployed
 * versions (one with a regression that the next fixes), 40 users of which a
 * few are heavy, some errors and some slow outliers.
 *
 *   demo_traffic [DB_PATH]   (default evodash.db)
 *
 * Durations are real: each request busy-waits or sleeps for its simulated
 * service time, in 8 threads, so the whole run takes a few seconds. */
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "evodash.h"

#define THREADS     8
#define PER_VERSION 6000

typedef struct route {
    const char *name, *rule, *methods;
    double median_us; /* typical service time */
    int weight;       /* share of traffic */
    int level;
} route;

static const route routes[] = {
    {"api.search", "/api/search", "GET", 900, 30, 2},
    {"api.users", "/api/users/<id>", "GET", 250, 25, 1},
    {"api.orders", "/api/orders", "GET,POST", 600, 15, 2},
    {"index", "/", "GET", 120, 12, 1},
    {"api.login", "/api/login", "POST", 1500, 8, 1},
    {"api.report", "/api/report", "GET", 4000, 4, 3},
    {"static", "/static/<path>", "GET", 60, 5, 0},
    {"api.health", "/health", "GET", 30, 1, 1},
};
#define NROUTES (int)(sizeof routes / sizeof routes[0])

typedef struct job {
    evd_agent *a;
    int ids[NROUTES];
    double slowdown[NROUTES];
    unsigned seed;
    int n;
} job;

static double gauss(unsigned *seed)
{
    double u1 = (rand_r(seed) + 1.0) / (RAND_MAX + 2.0);
    double u2 = (rand_r(seed) + 1.0) / (RAND_MAX + 2.0);
    return sqrt(-2 * log(u1)) * cos(2 * M_PI * u2);
}

static void wait_us(double us)
{
    struct timespec a, b;
    if (us > 300) {
        struct timespec ts = {(time_t)(us / 1e6), (long)fmod(us * 1000, 1e9)};
        nanosleep(&ts, NULL);
        return;
    }
    clock_gettime(CLOCK_MONOTONIC, &a);
    do
        clock_gettime(CLOCK_MONOTONIC, &b);
    while ((b.tv_sec - a.tv_sec) * 1e6 + (b.tv_nsec - a.tv_nsec) / 1e3 < us);
}

static int pick_route(unsigned *seed)
{
    int total = 0, r;
    for (int i = 0; i < NROUTES; i++)
        total += routes[i].weight;
    r = rand_r(seed) % total;
    for (int i = 0; i < NROUTES; i++) {
        if (r < routes[i].weight)
            return i;
        r -= routes[i].weight;
    }
    return 0;
}

static void *run(void *arg)
{
    job *j = arg;
    char user[32], ip[32];
    for (int i = 0; i < j->n; i++) {
        int k = pick_route(&j->seed);
        /* heavy users: user0..user3 send half of all requests */
        int u = rand_r(&j->seed) % 2 ? rand_r(&j->seed) % 4 : rand_r(&j->seed) % 40;
        snprintf(user, sizeof user, "user%d", u);
        snprintf(ip, sizeof ip, "10.1.%d.%d", u / 10, 10 + u);
        double us = routes[k].median_us * j->slowdown[k] * exp(0.5 * gauss(&j->seed));
        if (rand_r(&j->seed) % 2000 == 0)
            us *= 40; /* a rare stall: an outlier at level 2 */
        int status = 200;
        int roll = rand_r(&j->seed) % 1000;
        if (roll < 15)
            status = 404;
        else if (roll < 20)
            status = 500;
        else if (roll < 40 && k == 4)
            status = 401;
        evd_req r = evd_req_begin(j->a, j->ids[k]);
        wait_us(us);
        evd_req_end(&r, status, user, ip);
    }
    return NULL;
}

static int one_version(const char *db, const char *version, double regression, unsigned seed)
{
    evd_config *cfg = evd_config_new();
    evd_agent *a;
    char url[4200];
    snprintf(url, sizeof url, "sqlite:///%s", db);
    if (!cfg || evd_config_set(cfg, "DATABASE", url) ||
        evd_config_set(cfg, "APP_VERSION", version)) {
        fprintf(stderr, "demo: %s\n", cfg ? evd_config_errmsg(cfg) : "out of memory");
        evd_config_free(cfg);
        return 1;
    }
    int rc = evd_open(cfg, &a);
    evd_config_free(cfg);
    if (rc) {
        fprintf(stderr, "demo: %s\n", evd_errmsg(a));
        evd_close(a);
        return 1;
    }
    job jobs[THREADS];
    pthread_t t[THREADS];
    for (int i = 0; i < THREADS; i++) {
        jobs[i] = (job){.a = a, .seed = seed * 131 + (unsigned)i, .n = PER_VERSION / THREADS};
        for (int k = 0; k < NROUTES; k++) {
            evd_endpoint_register(a, routes[k].name, routes[k].rule, routes[k].methods,
                                  &jobs[i].ids[k]);
            jobs[i].slowdown[k] = k == 0 ? regression : 1.0;
        }
    }
    for (int k = 0; k < NROUTES; k++)
        evd_endpoint_set_level(a, jobs[0].ids[k], routes[k].level);
    for (int i = 0; i < THREADS; i++)
        pthread_create(&t[i], NULL, run, &jobs[i]);
    for (int i = 0; i < THREADS; i++)
        pthread_join(t[i], NULL);
    evd_counters c;
    evd_flush(a, 10000);
    evd_get_counters(a, &c);
    printf("version %-6s recorded %6llu  written %6llu  dropped %llu  outliers %llu\n", version,
           (unsigned long long)c.recorded, (unsigned long long)c.written,
           (unsigned long long)c.dropped, (unsigned long long)c.outliers);
    return evd_close(a) ? 1 : 0;
}

int main(int argc, char **argv)
{
    const char *db = argc > 1 ? argv[1] : "evodash.db";
    /* 1.3 regresses api.search by 60%; 1.4 fixes it */
    static const struct {
        const char *v;
        double slow;
    } versions[] = {{"1.0", 1.0}, {"1.1", 0.95}, {"1.2", 1.0}, {"1.3", 1.6}, {"1.4", 0.9}};
    printf("evodash demo: recording synthetic traffic into %s\n", db);
    for (size_t i = 0; i < sizeof versions / sizeof versions[0]; i++)
        if (one_version(db, versions[i].v, versions[i].slow, (unsigned)i + 1))
            return 1;
    return 0;
}

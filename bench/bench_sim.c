/* bench_sim.c — events per second of the capacity simulator, in two runs:
 *
 *  1. overloaded: 1M Poisson arrivals at 1.5x the capacity of one
 *     processor-sharing replica (exponential 1 ms functions), so that the
 *     number of jobs sharing the CPU grows to ~330k — the case where the
 *     original Python simulator slowed down quadratically;
 *  2. hold model: 100k interactions start at once, each a chain of 50
 *     zero-CPU functions with exponential durations, so that ~100k events
 *     are pending all the time and every event removes one and adds one.
 *
 * Each run is repeated 5 times and the median counts.  The machine is
 * shared (2 cores, other engineers building), so the rate is events per
 * CPU-second of the simulating thread, which other processes do not
 * inflate the way they inflate wall time; both are printed.  The last line
 * is the lower of the two medians. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim/sim.h"

#define REPS 5

static int cmp_double(const void *x, const void *y)
{
    double a = *(const double *)x, b = *(const double *)y;
    return (a > b) - (a < b);
}

static double measure(const char *name, const char *prof, const char *dist)
{
    sim_model *m = sim_model_new();
    if (!m || sim_model_load_buf(m, SIM_DOC_PROFILE, "profile", prof, strlen(prof)) ||
        sim_model_load_buf(m, SIM_DOC_DISTRIBUTION, "distribution", dist, strlen(dist)) ||
        sim_model_link(m)) {
        fprintf(stderr, "bench_sim: %s\n", m ? sim_model_errmsg(m) : "out of memory");
        exit(1);
    }
    double rate[REPS], wall[REPS];
    for (int i = 0; i < REPS; i++) {
        sim_run *r = NULL;
        sim_opts o = {.seed = 1 + (uint64_t)i};
        if (sim_run_new(m, &o, &r) || sim_run_exec(r)) {
            fprintf(stderr, "bench_sim: %s\n", r ? sim_run_errmsg(r) : "out of memory");
            exit(1);
        }
        sim_totals t;
        sim_run_totals(r, &t);
        if (t.inter_completed != t.inter_started) {
            fprintf(stderr, "bench_sim: %s: conservation broken\n", name);
            exit(1);
        }
        rate[i] = (double)t.events / t.cpu_s;
        wall[i] = (double)t.events / t.wall_s;
        printf("%-12s run %d: %llu arrivals, %llu events (+%llu discarded), %.3f s CPU, %.3f s "
               "wall: %.2fM events/CPU-s, %.2fM events/wall-s\n",
               name, i, (unsigned long long)t.arrivals, (unsigned long long)t.events,
               (unsigned long long)t.discarded, t.cpu_s, t.wall_s, rate[i] / 1e6, wall[i] / 1e6);
        sim_run_free(r);
    }
    sim_model_free(m);
    qsort(rate, REPS, sizeof *rate, cmp_double);
    qsort(wall, REPS, sizeof *wall, cmp_double);
    printf("%-12s median: %.2fM events/CPU-s (%.2fM events/wall-s)\n", name, rate[REPS / 2] / 1e6,
           wall[REPS / 2] / 1e6);
    return rate[REPS / 2];
}

int main(void)
{
    /* 1. Overloaded processor sharing. */
    const char *prof1 = "{\"scenarios\":[{\"scenarioID\":1,\"interactions\":[{\"name\":\"i\","
                        "\"functions\":[{\"functionID\":\"f\",\"cpu\":100,\"cpu_time\":1e6,"
                        "\"cpu_time_dist\":\"exponential\"}]}]}]}";
    char dist1[200];
    snprintf(dist1, sizeof dist1,
             "[{\"kind\":\"poisson\",\"rate\":1500,\"start\":0,\"end\":%.6f,\"scenarioID\":1}]",
             1e6 / 1500);
    double over = measure("overloaded", prof1, dist1);

    /* 2. Hold model: chains of 50 zero-CPU functions. */
    enum { CHAIN = 50 };
    size_t cap = 200 * CHAIN + 256;
    char *prof2 = malloc(cap);
    if (!prof2)
        return 1;
    size_t n = (size_t)snprintf(prof2, cap,
                                "{\"scenarios\":[{\"scenarioID\":1,\"interactions\":"
                                "[{\"name\":\"hold\",\"functions\":[");
    for (int k = 0; k < CHAIN; k++) {
        char next[32];
        snprintf(next, sizeof next, k + 1 < CHAIN ? "f%d" : "-1", k + 1);
        n += (size_t)snprintf(prof2 + n, cap - n,
                              "%s{\"functionID\":\"f%d\",\"cpu\":0,\"cpu_time\":1e9,"
                              "\"cpu_time_dist\":\"exponential\",\"callbacks\":[\"%s\"]}",
                              k ? "," : "", k, next);
    }
    snprintf(prof2 + n, cap - n, "]}]}]}");
    const char *dist2 = "[{\"kind\":\"uniform\",\"volume\":100000,\"start\":0,\"end\":0.001,"
                        "\"scenarioID\":1}]";
    double hold = measure("hold-100k", prof2, dist2);
    free(prof2);

    printf("sim_events_per_s: %.0f events/s\n", over < hold ? over : hold);
    return 0;
}

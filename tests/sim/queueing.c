/* queueing.c — the simulator against queueing theory.
 *
 * For utilisations 0.5, 0.8 and 0.9 the mean response time of M/M/1, M/M/c,
 * M/D/1 (FCFS, by a worker limit) and of M/M/1-PS and M/D/1-PS (processor
 * sharing, no worker limit) must match the closed forms within 2%.  So must
 * time slicing (a quantum, src/sim/rr.h) at its two limits: with a slice of
 * 100 service times no job is switched out, and M/D/1 is FCFS's; with one
 * of a fiftieth, M/D/1 is processor sharing's (deterministic jobs, where
 * the two differ most: 3 against 5 service times at rho 0.8).  Those runs
 * take fifty events a job, so they run at rho 0.5 and 0.8 only.
 *
 * Statistics: each case runs R independent seeded replications, each
 * starting empty and discarding a warm-up of 2% of its horizon, and pools
 * their means.  At rho <= 0.8, R x arrivals = 1M.  At rho = 0.9 the
 * standard error of the mean response time from 1M arrivals of an M/M/1 is
 * itself about 2% (the queue's relaxation time is ~400 service times), so a
 * 2% check would fail about a third of the time however correct the
 * simulator is; there we run 8 replications of 1M arrivals each (8M in
 * all), which brings the standard error to ~0.7%.  The standard error from
 * the spread of the replications is printed next to every result.
 *
 * Built with -O2 and run from `make check` (check-sim-queueing), not under
 * ASan: it simulates about 50M arrivals. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim/sim.h"

#define S_NS 1e6 /* mean service time: 1 ms */

struct qcase {
    const char *name;
    const char *dist; /* "exponential" or "deterministic" */
    int c;            /* servers */
    int workers;      /* worker limit per replica; 0 = processor sharing */
    int replicas;     /* c replicas of one core, or one replica of c cores */
    double quantum;   /* time slices of this many service times; 0: none */
};

static double erlang_c(int c, double a)
{
    double term = 1, sum = 1; /* k = 0 */
    for (int k = 1; k < c; k++) {
        term *= a / k;
        sum += term;
    }
    double top = term * a / c / (1 - a / c);
    return top / (sum + top);
}

static double theory(const struct qcase *q, double rho)
{
    double s = S_NS / 1e9, mu = 1 / s;
    if (q->workers == 0 && q->quantum < 1) /* M/G/1-PS: insensitive to the distribution */
        return s / (1 - rho);
    if (!strcmp(q->dist, "deterministic")) /* M/D/1: Pollaczek-Khinchine */
        return s + rho * s / (2 * (1 - rho));
    double lambda = rho * q->c * mu;
    return erlang_c(q->c, lambda / mu) / (q->c * mu - lambda) + s;
}

static int run_once(const struct qcase *q, double rho, double arrivals, uint64_t seed, double *mean,
                    unsigned long long *n, double *events, double *wall)
{
    char prof[512], svc[512], dist[256];
    double lambda = rho * q->c * 1e9 / S_NS; /* per s */
    double end = arrivals / lambda;
    snprintf(prof, sizeof prof,
             "{\"name\":\"q\",\"scenarios\":[{\"scenarioID\":1,\"interactions\":[{\"name\":\"i\","
             "\"delay\":0,\"functions\":[{\"functionID\":\"f\",\"cpu\":100,\"cpu_time\":%g,"
             "\"cpu_time_dist\":\"%s\",\"ram\":0,\"callbacks\":[\"-1\"]}]}]}]}",
             S_NS, q->dist);
    snprintf(svc, sizeof svc,
             "{\"services\":[{\"serviceID\":\"default\",\"scale\":%d,\"defaultServer\":"
             "{\"maxCPU\":%d,\"workers\":%d,\"quantum\":%.17g}}]}",
             q->replicas, 100 * q->c / q->replicas, q->workers, q->quantum * S_NS);
    snprintf(dist, sizeof dist,
             "[{\"kind\":\"poisson\",\"rate\":%.17g,\"start\":0,\"end\":%.17g,\"scenarioID\":1}]",
             lambda, end);
    sim_model *m = sim_model_new();
    sim_run *r = NULL;
    int rc = -1;
    if (!m || sim_model_load_buf(m, SIM_DOC_PROFILE, "p", prof, strlen(prof)) ||
        sim_model_load_buf(m, SIM_DOC_SERVICES, "s", svc, strlen(svc)) ||
        sim_model_load_buf(m, SIM_DOC_DISTRIBUTION, "d", dist, strlen(dist)) || sim_model_link(m)) {
        fprintf(stderr, "model: %s\n", m ? sim_model_errmsg(m) : "oom");
        goto done;
    }
    sim_opts o = {.seed = seed, .warmup = 0.02 * end};
    if (sim_run_new(m, &o, &r) || sim_run_exec(r)) {
        fprintf(stderr, "run: %s\n", r ? sim_run_errmsg(r) : "oom");
        goto done;
    }
    sim_istat st;
    sim_totals t;
    sim_run_istat(r, 0, &st);
    sim_run_totals(r, &t);
    if (t.inter_in_flight || t.inter_completed != t.inter_started) {
        fprintf(stderr, "conservation: %llu started, %llu completed\n",
                (unsigned long long)t.inter_started, (unsigned long long)t.inter_completed);
        goto done;
    }
    *mean = st.mean;
    *n = st.completed;
    *events += (double)t.events;
    *wall += t.wall_s;
    rc = 0;
done:
    sim_run_free(r);
    sim_model_free(m);
    return rc;
}

int main(int argc, char **argv)
{
    static const struct qcase cases[] = {
        {"M/M/1", "exponential", 1, 1, 1},
        {"M/M/4 (one 4-core replica)", "exponential", 4, 4, 1},
        {"M/M/4 (4 replicas, one queue)", "exponential", 4, 1, 4},
        {"M/D/1", "deterministic", 1, 1, 1},
        {"M/M/1-PS", "exponential", 1, 0, 1},
        {"M/D/1-PS", "deterministic", 1, 0, 1},
        {"M/D/1, slices of 100 S", "deterministic", 1, 0, 1, 100},
        {"M/D/1, slices of S/50", "deterministic", 1, 0, 1, 0.02},
    };
    static const double rhos[] = {0.5, 0.8, 0.9};
    double total = argc > 1 ? atof(argv[1]) : 1e6; /* arrivals at rho <= 0.8 */
    int failed = 0;
    double events = 0, wall = 0;
    printf("%-30s %4s %9s %11s %11s %8s %7s\n", "model", "rho", "arrivals", "theory ms", "sim ms",
           "error", "s.e.");
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        for (size_t k = 0; k < sizeof rhos / sizeof rhos[0]; k++) {
            double rho = rhos[k];
            int reps = rho > 0.85 ? 8 : 4;
            double per = rho > 0.85 ? total : total / reps;
            if (cases[c].quantum > 0 && cases[c].quantum < 1 && rho > 0.85)
                continue; /* 50 events a job: rho <= 0.8 only */
            double sum = 0, w = 0, means[8];
            for (int i = 0; i < reps; i++) {
                unsigned long long n;
                if (run_once(&cases[c], rho, per, 1000 * (c + 1) + 10 * k + (size_t)i, &means[i],
                             &n, &events, &wall)) {
                    failed++;
                    break;
                }
                sum += means[i] * (double)n;
                w += (double)n;
            }
            /* Pooled mean weighted by completions; standard error from the
             * spread of the replication means. */
            double pooled = sum / w, th = theory(&cases[c], rho), mbar = 0, ss = 0;
            for (int i = 0; i < reps; i++)
                mbar += means[i] / reps;
            for (int i = 0; i < reps; i++)
                ss += (means[i] - mbar) * (means[i] - mbar);
            double se = sqrt(ss / (reps - 1) / reps) / th;
            double err = (pooled - th) / th;
            int ok = fabs(err) < 0.02;
            failed += !ok;
            printf("%-30s %4.2f %9.0f %11.4f %11.4f %+7.2f%% %6.2f%% %s\n", cases[c].name, rho,
                   per * reps, th * 1e3, pooled * 1e3, 100 * err, 100 * se, ok ? "ok" : "FAIL");
            fflush(stdout);
        }
    }
    printf("simulated %.1fM events in %.1f s (%.2fM events/s)\n", events / 1e6, wall,
           events / wall / 1e6);
    printf("%s\n", failed ? "queueing: FAILED" : "queueing: all within 2%");
    return failed ? 1 : 0;
}

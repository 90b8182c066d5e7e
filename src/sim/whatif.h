/* whatif.h — what-if runs of a live model (livemodel.h): the recorded
 * traffic scaled by a factor, or served by other replica and worker
 * counts, and the largest factor that keeps every endpoint's p95 under an
 * SLO with what saturates first.  Used by `evodash simulate --what-if` and
 * the dashboard's Capacity page.
 *
 * Functions return 0 or a negative EVD_E* code with a message in
 * err[errlen]. */
#ifndef EVD_SIM_WHATIF_H
#define EVD_SIM_WHATIF_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "sim/livemodel.h"

typedef struct whatif_opts {
    double factor;         /* arrival-rate multiplier; <= 0: 1 */
    int replicas, workers; /* 0: the model's; workers < 0: no limit */
    uint64_t seed;         /* 0: 1 */
    int replications;      /* runs pooled, seeds seed, seed + 1, ...; 0: WHATIF_REPLICATIONS */
    double pool_arrivals;  /* fewer runs when theirs would pass this many arrivals in all (at
                              least one); 0: max_arrivals, or WHATIF_POOL_ARRIVALS */
    int series;            /* keep SimResults.json in the result */
    double max_arrivals;   /* refuse larger runs; 0: no bound */
    double trial_budget;   /* capacity search: arrivals a trial simulates at most (past
                              it, the busiest stretch of the window that keeps to it);
                              0: no bound */
} whatif_opts;

typedef struct whatif_ep {
    uint64_t started, completed;
    double mean, p50, p95, p99; /* response time, s */
    double wait;                /* time queued for a worker, s */
    double throughput;          /* per s */
} whatif_ep;

typedef struct whatif_result {
    double factor;
    int replications; /* the runs pooled */
    int replicas, workers;
    double rate;         /* arrivals per s */
    double util;         /* CPU utilisation of the replicas, 0..1 */
    double in_system;    /* mean requests in the system (Little's law) */
    double queue;        /* mean requests queued for a worker */
    uint64_t peak_queue; /* most requests queued at once */
    int nep;
    whatif_ep *ep; /* in the model's endpoint order; owned */
    char *series;  /* SimResults.json when asked; owned */
    size_t series_len;
    double cpu_s; /* the simulation's own CPU time */
} whatif_result;

/* How many runs a what-if pools by default.  One run's p95 at a high load
 * moves by 10-40% from seed to seed (which copies of the recording overlap,
 * which requests draw long demands); the mean of 8 independent runs moves
 * by 1/sqrt(8) of that. */
#define WHATIF_REPLICATIONS 8

/* Pooled runs stop at this many simulated arrivals in all (a few seconds):
 * a window long enough to pass it scatters less from run to run anyway. */
#define WHATIF_POOL_ARRIVALS 4e6

/* Run the replications and pool them: counts, throughputs and utilisation
 * are their means, mean times are weighted by the requests completed, the
 * percentiles are the means of each run's, the peak queue is the largest.
 * The series (o->series) is the first run's.  Free the result with
 * whatif_result_free() (also on error). */
int whatif_run(const live_model *lm, const whatif_opts *o, whatif_result *out, char *err,
               size_t errlen);
void whatif_result_free(whatif_result *r);

#define WHATIF_TRIALS_MAX   64
#define WHATIF_LEFT_OUT_MAX 32

typedef struct whatif_capacity {
    double factor;     /* the largest factor that meets the SLO (0: none does) */
    int unbounded;     /* the SLO still holds at the largest factor tried (factor) */
    double window_s;   /* > 0: at the factor found, the trials ran on the busiest stretch
                          of the window this long, to keep to the trial budget */
    double rate;       /* arrivals per s there */
    double p95;        /* the worst p95 there, s */
    int worst;         /* the endpoint whose p95 breaks the SLO first (index), -1: none */
    double util_break; /* the CPU utilisation just past the factor */
    char bottleneck[320];
    /* the endpoints left out of the SLO: slower than it alone, they miss
     * it at any load (all of them: factor 0) */
    int nleft_out;
    int left_out[WHATIF_LEFT_OUT_MAX];
    /* the search's trials in the order run: the worst p95 at each factor */
    int ntrials;
    double trial_factor[WHATIF_TRIALS_MAX], trial_p95[WHATIF_TRIALS_MAX];
} whatif_capacity;

/* Search the factor (doubling, then bisecting to 1%, the same seeds for
 * every trial; a trial's p95 is the mean over o->replications runs of each
 * run's worst) and name the bottleneck.  With o->trial_budget, a trial whose factor
 * would bring more arrivals than the budget runs on the busiest stretch of
 * the window that keeps to it (the peak is where the capacity is
 * decided).  Endpoints whose p95 alone (with no
 * other request running) is above the SLO can meet it at no load: they
 * are left out of the judging (still part of the load) and listed.
 * Trials are logged to log (may be NULL). */
int whatif_find_capacity(const live_model *lm, const whatif_opts *o, double slo_s,
                         whatif_capacity *out, FILE *log, char *err, size_t errlen);

#endif

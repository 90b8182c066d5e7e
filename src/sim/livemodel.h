/* livemodel.h — a capacity model built from what evodash recorded for one
 * service: its traffic mix and arrival times (the raw requests), each
 * endpoint's CPU demand per request (the utilisation law on the CPU
 * samples, or the sampled call trees, or the durations), and its replicas
 * and workers (hosts, instances and concurrency seen).  The model is
 * written in the DSPS formats (profile, services, mapping, distribution),
 * so that it can be edited and run again with `evodash simulate`, and it
 * runs in the simulator for what-if questions (whatif.h).
 *
 * Conventions: functions return 0 or a negative EVD_E* code with a message
 * in err[errlen]. */
#ifndef EVD_SIM_LIVEMODEL_H
#define EVD_SIM_LIVEMODEL_H

#include <stddef.h>
#include <stdint.h>

#include "sim/sim.h"
#include "store/store.h"

/* Where an endpoint's CPU demand came from. */
enum live_source { LIVE_SRC_REGRESSION = 0, LIVE_SRC_CALLTREE, LIVE_SRC_DURATION, LIVE_SRC_COMMON };

typedef struct live_ep {
    char *name;
    int64_t id;
    size_t n;                   /* requests in the window */
    double rate;                /* per s */
    double mean, p50, p95, p99; /* recorded durations, s */
    size_t nsolo;               /* requests that ran alone on their host ... */
    double solo_mean, solo_cv;  /* ... their mean duration (s) and its variation */
    double alone_p95;           /* p95 of those (of all when fewer than 5 ran alone), s */
    /* the estimates, CPU seconds per request */
    double reg_d, reg_se; /* regression, and its standard error */
    size_t reg_rows;      /* CPU samples in which the endpoint had requests */
    double common_d;      /* time alone + the common overhead (demand.h); 0: none */
    double tree_d;        /* call trees: sampled time outside waits */
    size_t ntree;         /* profiled requests */
    double dur_d;         /* the duration fallback */
    /* the model */
    int source;    /* enum live_source */
    double demand; /* CPU s per request */
    double wait;   /* s per request spent off the CPU (I/O, sleeps) */
    double cv;     /* of the CPU demand; 0: deterministic */
    double *times; /* arrival offsets, s, sorted; owned */
    size_t ntimes;
} live_ep;

typedef struct live_model {
    char service[128];
    int64_t service_id;
    int64_t from_us, to_us; /* the requests' window */
    double span;            /* s */
    live_ep *ep;
    int nep;
    size_t requests;
    /* the regression */
    size_t samples;         /* CPU samples in the window */
    size_t samples_dropped; /* ... left out of the fit as outliers */
    double r2, rmse, u0, u0_se;
    /* the host's steal time (share of its CPUs the hypervisor gave to
     * others), over steal_samples of the samples (0: none said): its mean
     * and its worst interval; samples_stolen were left out of the fit for
     * having more than live_opts.max_steal, steal_kept says they were
     * kept because too few samples would have been left */
    double steal_mean, steal_max;
    size_t steal_samples, samples_stolen;
    int steal_kept;
    /* evodash's own threads (cores per instance), left out of the fit and
     * kept as background, from agent_samples of the samples (0: none said) */
    double agent;
    size_t agent_samples;
    /* the structured fit, D = time alone + b (demand.h); common_n < 2: none */
    int common_n;
    double common_b, common_b_se, common_p;
    /* what was observed */
    int hosts, instances, cores;
    int workers_seen; /* per host: the sum of its single-worker instances, 0: no limit seen */
    int peak_conc;    /* most requests in flight at once on one host */
    double mean_conc; /* mean requests in flight per host */
    double util; /* mean CPU utilisation of a host (of its cores), from the samples; -1: none */
    /* the model's replicas and their size (overrides applied) */
    int replicas, workers; /* workers per replica, 0: no limit */
    double max_cpu;        /* percent of one core per replica, less the background and the
                              host's steal */
    double steal;          /* the share of the replica's cores lost to steal (as recorded,
                              or live_opts.steal) */
    double quantum;        /* s: the CPU's time slice (sim_svc.quantum); 0: processor sharing */
} live_model;

/* The time slice the model gives a replica's CPU unless told otherwise
 * (live_opts.quantum): Linux's.  Its scheduler (EEVDF, since 6.6) runs a
 * thread for a base slice of 0.7 ms (0.75 before 6.15) times 1 + log2 of
 * the machine's CPUs, counted up to 8: 1.4 to 1.5 ms on two, 2.1 on four,
 * 2.8 on eight.  The recording does not tell the machine's CPUs (the
 * processes may be pinned to fewer), so this is two CPUs' slice. */
#define LIVE_QUANTUM_S 0.0015
/* The steal share above which a CPU sample is left out of the fit unless
 * told otherwise (live_opts.max_steal): a neighbour that takes this much
 * of the host also shares its caches and cores, and the requests of that
 * interval cost more CPU than on a quiet host.  Samples are left out only
 * while at least half of them remain. */
#define LIVE_STEAL_MAX 0.03
/* The mean steal share above which the report warns that the demands were
 * measured on a busy host. */
#define LIVE_STEAL_WARN 0.01
/* The common-overhead fit's F-test p below which its structure does not
 * hold (the model, and the report that says so). */
#define LIVE_COMMON_MIN_P 0.05

typedef struct live_opts {
    const char *service;    /* its name; NULL or "": the store's only service */
    int64_t service_id;     /* > 0: this service, whatever service says */
    int64_t from_us, to_us; /* the window; 0, 0: the hours before the newest request */
    double hours;           /* <= 0: 24 */
    int replicas, workers;  /* overrides; 0: as observed (workers < 0: no limit) */
    int cores;              /* override of the cores per replica; 0: as observed */
    double quantum;         /* s: the CPU's time slice; 0: LIVE_QUANTUM_S, < 0: processor
                               sharing */
    size_t max_requests;    /* refuse larger windows; 0: 20 million */
    double max_steal;       /* leave out samples with more steal than this share; 0:
                               LIVE_STEAL_MAX, < 0: keep every sample */
    double steal;           /* the share of a replica's CPU lost to steal; 0: as recorded
                               (steal_mean), < 0: none (a host of its own) */
} live_opts;

/* Build the model of o->service from st.  Returns 0 or EVD_ENOENT (no such
 * service, no requests in the window), EVD_EINVAL (too many requests),
 * EVD_ENOMEM or a store code.  Free with live_model_free(). */
int live_model_build(store *st, const live_opts *o, live_model **out, char *err, size_t errlen);
void live_model_free(live_model *lm);

/* A copy of lm holding only the arrivals of its busiest stretch of length
 * seconds (the most arrivals in one window of that length), times from
 * its start: what a bounded search of the capacity simulates.  Returns 0
 * or EVD_ENOMEM; free with live_model_free(). */
int live_model_busiest(const live_model *lm, double length, live_model **out);

/* The name of a source: "regression", "calltree" or "duration". */
const char *live_source_name(int source);

/* The simulator model of lm with replicas and workers (0: lm's own;
 * workers < 0: no limit), arrivals as recorded.  Free with
 * sim_model_free(). */
int live_model_sim(const live_model *lm, int replicas, int workers, sim_model **out, char *err,
                   size_t errlen);

/* Write profile.json, services.json, mapping.json and distribution.json
 * into dir (created if missing).  The distribution replays the recorded
 * arrivals (kind "replay").  Returns 0 or EVD_EIO. */
int live_model_write(const live_model *lm, const char *dir, char *err, size_t errlen);

/* Print the demands, the fit and the topology (the CLI's report). */
void live_model_print(const live_model *lm, FILE *f);

#endif

/* engine.h — the state of one simulation run, shared by engine.c (the event
 * loop) and results.c (statistics and SimResults.json).  Private to src/sim. */
#ifndef EVD_SIM_ENGINE_H
#define EVD_SIM_ENGINE_H

#include <stddef.h>
#include <stdint.h>

#include "sim/arrivals.h"
#include "sim/queue.h"
#include "sim/rr.h"
#include "sim/rng.h"
#include "sim/sim.h"

enum { EV_ARRIVAL = 0, EV_ISTART, EV_FSTART, EV_DONE, EV_TIMER, EV_SAMPLE, EV_UP };

enum { REP_STARTING = 0, REP_ACTIVE, REP_DRAINING, REP_GONE };

/* A function instance: waiting, running or delayed.  24 bytes: under
 * overload there are hundreds of thousands. */
typedef struct sim_job {
    const sim_fn *f; /* borrowed from the model */
    int32_t inst;    /* interaction instance */
    int32_t rep;     /* replica while running; next free job while free */
    double t_enq;    /* when it entered the service queue, ns */
} sim_job;

/* An interaction instance (24 bytes). */
typedef struct sim_inst {
    int32_t stat;        /* index of its interaction in stats / stat_inter */
    int32_t outstanding; /* functions started or scheduled, not yet complete;
                            next free instance while free */
    double t_start;      /* ns */
    double wait;         /* ns spent in service queues */
} sim_inst;

/* A running CPU job on a replica, keyed by the replica's virtual work clock
 * at which it finishes. */
typedef struct sim_pjob {
    double fv;
    int32_t job;
    int32_t inst; /* copy of jobs[job].inst, to prefetch both early */
} sim_pjob;

/* One replica of a service.  Processor sharing: every CPU job on it runs at
 * the same fraction f of its solo speed (f = min(1, maxCPU / sum of cpu
 * demands)), so a virtual clock V advancing at rate f gives each job's
 * remaining work exactly as fv - V.  V is brought up to date at every
 * change of rate (advance()), which is the "update remaining work at every
 * rate change" step done for all jobs at once in O(1); only the job with
 * the least fv has a completion event in the queue; when the rate changes
 * that event is superseded (gen) and a new one queued. */
typedef struct sim_rep {
    int svc;
    int state;
    int nrun;     /* running jobs, CPU and zero-CPU ones */
    int ncpu;     /* running jobs with cpu > 0 (in h) */
    int armed;    /* an EV_DONE of generation gen is queued, at ev_t */
    uint32_t gen; /* bumped whenever the queued EV_DONE is superseded */
    double ev_t;
    double demand, ram, io, net;
    double V, f, t_last;
    /* The running CPU jobs, by fv.  Keys only grow past the virtual time V,
     * so most go to a radix heap (see queue.h; kid = job, gen = inst).  A
     * job that arrives with less work left than the current minimum gets a
     * key below the radix heap's floor; it goes to `low`, a small binary
     * heap, which is rare and always holds the overall minimum. */
    sim_queue jq;
    sim_pjob *low;
    size_t lown, lowcap;
    size_t hn; /* jobs in jq and low */
    /* With a quantum (the service's sim_svc.quantum > 0), the CPU jobs are
     * time-sliced here instead (rr.h), and V, f, jq and low are unused. */
    sim_rr rr;
    /* integrals over time of utilisation (0..1), ns */
    double c_cpu, c_ram, c_io, c_net;
    double s_cpu, s_ram, s_io, s_net, s_t; /* values at the last sample */
    double born, died;                     /* ns; died < 0 while alive */
} sim_rep;

typedef struct sim_svcrt {
    int32_t *q; /* FIFO ring of waiting jobs */
    size_t qh, qn, qcap;
    int *reps;
    int nreps, capreps;
    int nactive, npending;
    uint64_t peak_q;
    int peak_reps;
} sim_svcrt;

typedef struct sim_stat {
    char label[96];
    const char *name;
    uint64_t started_all, completed_all;
    uint64_t started, completed; /* after the warm-up */
    double sum_resp, sum_wait;
    double *resp; /* response times after the warm-up, ns */
    size_t nresp, capresp;
    int sorted;
    uint64_t iv_n;
    double iv_resp, iv_wait;
} sim_stat;

typedef struct sim_row {
    double t;
    int32_t id;
    double v[5];
} sim_row;

typedef struct sim_series {
    sim_row *r;
    size_t n, cap;
} sim_series;

struct sim_run {
    const sim_model *m;
    const sim_scen *scens; /* the model's scenario array */
    const sim_svc *svdefs; /* the model's service array */
    sim_opts o;
    double until_ns, interval_ns, warmup_ns;
    double now;
    sim_queue q;
    uint64_t stale; /* superseded EV_DONE events still in q */
    sim_rng rng;    /* service times */
    sim_stream *streams;
    int nstreams;

    sim_job *jobs;
    int32_t njobs, capjobs, free_job;
    sim_inst *insts;
    int32_t ninsts, capinsts, free_inst;

    sim_rep *reps;
    int nreps, capreps;
    sim_svcrt *svcs;
    int nsvc;

    sim_stat *stats;
    int nstats;
    int *stat_base;               /* first stat of each scenario */
    const sim_inter **stat_inter; /* the interaction of each stat */

    int32_t *donebuf;
    size_t ndone, capdone;

    uint64_t running, queued, pending_inst;
    uint64_t events, iv_events;
    sim_totals tot;
    double last_sample;
    int sampling;
    double est_end; /* ns, for the progress line */
    sim_series s_dones, s_resp, s_util, s_events;
    char err[256];
};

/* results.c */
int sim_series_add(sim_series *s, double t, int32_t id, double a, double b, double c, double d,
                   double e);

#endif

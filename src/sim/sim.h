/* sim.h — the capacity simulator: load a model (profile, services, mapping,
 * distribution), run a seeded discrete-event simulation of it, and write
 * SimResults.json plus a summary.  See docs/simulate.md and docs/formats.md.
 *
 * Times inside the simulator are nanoseconds held in doubles, so that
 * processor-sharing completions stay exact (a double holds 2^53 ns, about
 * 104 days, at full integer resolution).
 *
 * Conventions: functions return 0 or a negative EVD_E* code; the message is
 * kept on the handle (sim_model_errmsg(), sim_run_errmsg()). */
#ifndef EVD_SIM_H
#define EVD_SIM_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* Service-time distributions of a function's cpu_time. */
enum sim_dist { SIM_DET = 0, SIM_EXP, SIM_LOGNORMAL };

/* Arrival kinds of distribution.json. */
enum sim_arr_kind {
    SIM_ARR_TRIANGLE = 0,
    SIM_ARR_UNIFORM,
    SIM_ARR_NORMAL,
    SIM_ARR_POISSON,
    SIM_ARR_CONSTANT,
    SIM_ARR_REPLAY
};

/* Autoscaling metrics (services.json "scaleingMetric"). */
enum sim_metric { SIM_M_CPU = 0, SIM_M_RAM, SIM_M_IO, SIM_M_NET };

typedef struct sim_fn {
    char *id;        /* functionID */
    char *name;      /* "name" if given, else functionID without a _digits suffix */
    double cpu;      /* percent, 100 = one core */
    double cpu_time; /* ns when running alone (the mean for random ones) */
    int dist;        /* enum sim_dist */
    double cv;       /* coefficient of variation, lognormal only */
    double ram;      /* MB */
    double io;       /* operations per second */
    double net;      /* Mbit/s */
    double delay;    /* ns after the caller completes (interaction start: entry) */
    int svc;         /* service index, set by sim_model_link() */
    int ncb;
    int *cb;       /* callback function indices within the interaction */
    char **cb_ids; /* the callbacks as written, until linked */
} sim_fn;

typedef struct sim_inter {
    char *name;
    char *iid;    /* interactionID */
    double delay; /* ns from the scenario start */
    int nfn;
    sim_fn *fn;
    int stat; /* index into the run's per-interaction statistics */
} sim_inter;

typedef struct sim_scen {
    long long id; /* scenarioID */
    int ninter;
    sim_inter *inter;
    double runs; /* function runs one arrival causes, set by sim_model_link() */
} sim_scen;

typedef struct sim_svc {
    char *id;
    int scale; /* initial replicas */
    int scales;
    double up, down;
    int metric;           /* enum sim_metric */
    double scaling_delay; /* ns */
    int min_scale, max_scale;
    double max_cpu, max_ram, max_io, max_net;
    int workers;    /* 0 = no limit */
    double quantum; /* ns: CPU time slice of round-robin scheduling (rr.h); 0 = processor sharing */
} sim_svc;

typedef struct sim_arr {
    int kind; /* enum sim_arr_kind */
    int scen; /* scenario index, set by sim_model_link() */
    long long scen_id;
    double start, end; /* s; end < 0: none */
    double highpoint;  /* s, triangle */
    double volume;
    double mean, sd; /* s, normal */
    double rate;     /* per s, poisson */
    double interval; /* s, constant */
    double *times;   /* s, replay: sorted, owned */
    size_t ntimes;
} sim_arr;

typedef struct sim_model sim_model;

/* Which input a document is. */
enum sim_doc { SIM_DOC_PROFILE = 0, SIM_DOC_SERVICES, SIM_DOC_MAPPING, SIM_DOC_DISTRIBUTION };

/* An empty model.  NULL when out of memory.  Free with sim_model_free(). */
sim_model *sim_model_new(void);

/* Free a model; NULL is a no-op. */
void sim_model_free(sim_model *m);

/* Load one input file (kind: enum sim_doc).  The path is used as the label of
 * error messages, e.g. "services.json: $.services[1].scale: expected a
 * positive integer".  Returns 0, EVD_ENOENT, EVD_EINVAL or EVD_ENOMEM. */
int sim_model_load_file(sim_model *m, int kind, const char *path);

/* Same from a buffer of len bytes (not retained); label names it in errors. */
int sim_model_load_buf(sim_model *m, int kind, const char *label, const char *buf, size_t len);

/* Resolve the mapping, callbacks and scenario ids; check the model as a whole
 * (a "default" service, no callback cycles, RAM that fits).  Missing
 * services/mapping documents mean defaults.  Call once, after loading. */
int sim_model_link(sim_model *m);

/* Add a replay arrival stream for scenario index scen: times in s, sorted by
 * the callee; the array is copied.  Returns 0 or EVD_ENOMEM. */
int sim_model_add_replay(sim_model *m, int scen, const double *times, size_t n);

/* Add a scenario with one interaction of one function (used by replay when no
 * profile is given).  Returns the scenario index or EVD_ENOMEM. */
int sim_model_add_simple(sim_model *m, const char *name, double cpu_time_ns);

/* Drop every arrival stream (replay replaces the distribution). */
void sim_model_clear_arrivals(sim_model *m);

/* Replace the message of the last error (copied). */
void sim_model_set_error(sim_model *m, const char *msg);

/* Message for the last error; borrowed, never NULL. */
const char *sim_model_errmsg(const sim_model *m);

/* Read access for the engine and tools; borrowed for the model's life. */
int sim_model_nscen(const sim_model *m);
const sim_scen *sim_model_scen(const sim_model *m, int i);
int sim_model_nsvc(const sim_model *m);
const sim_svc *sim_model_svc(const sim_model *m, int i);
int sim_model_narr(const sim_model *m);
const sim_arr *sim_model_arr(const sim_model *m, int i);
/* Index of the scenario whose first interaction is called name, else of
 * the first scenario that has such an interaction, else -1. */
int sim_model_find_scen_by_inter(const sim_model *m, const char *name);
/* Latest end of the arrival streams in s (0 if none end). */
double sim_model_arrivals_end(const sim_model *m);

/* ---- running ------------------------------------------------------------ */

typedef struct sim_opts {
    uint64_t seed;
    double until;      /* s; <= 0: run until no event is left */
    double interval;   /* s between samples of the time series; <= 0: 1 s */
    double warmup;     /* s; interactions that start earlier are not in the stats */
    double rate_scale; /* multiplies every arrival rate; 0 means 1 */
    int progress;      /* print progress to stderr */
    int series;        /* keep the time series (SimResults.json); 0 for stats only */
} sim_opts;

/* Statistics of one interaction (after the warm-up). */
typedef struct sim_istat {
    const char *label; /* "scenario 1 interaction 0"; borrowed */
    const char *name;  /* interaction name; borrowed */
    uint64_t started, completed;
    double mean, p50, p95, p99; /* response time, s */
    double wait_mean;           /* time waiting in service queues, s */
    double throughput;          /* completions per s */
} sim_istat;

typedef struct sim_sstat {
    const char *id;
    double util_cpu; /* time-average CPU utilisation over the run, 0..1 */
    double util_ram;
    uint64_t peak_queue;
    int peak_replicas;
    int final_replicas;
} sim_sstat;

typedef struct sim_totals {
    uint64_t arrivals;        /* scenario starts */
    uint64_t inter_started;   /* interaction instances started */
    uint64_t inter_completed; /* ... completed */
    uint64_t inter_in_flight; /* ... not completed when the run ended */
    uint64_t inter_pending;   /* ... scheduled but not started at the end */
    uint64_t events;          /* events processed */
    uint64_t discarded; /* completion events that fired early or were superseded (not in events) */
    double end_time;    /* s */
    double wall_s;      /* wall-clock seconds of sim_run_exec */
    double cpu_s;       /* CPU seconds of the calling thread in sim_run_exec */
} sim_totals;

typedef struct sim_run sim_run;

/* Prepare a run of m (borrowed; must outlive the run) with opts (copied).
 * *out is set whenever memory allows; free it with sim_run_free().
 * Returns 0 or a negative EVD_E* code. */
int sim_run_new(const sim_model *m, const sim_opts *opts, sim_run **out);

/* Free a run; NULL is a no-op. */
void sim_run_free(sim_run *r);

/* Run to the end (or opts.until).  Returns 0 or EVD_ENOMEM. */
int sim_run_exec(sim_run *r);

const char *sim_run_errmsg(const sim_run *r);

/* Totals and statistics; valid after sim_run_exec(). */
void sim_run_totals(const sim_run *r, sim_totals *t);
int sim_run_ninter(const sim_run *r);
void sim_run_istat(sim_run *r, int i, sim_istat *st);
void sim_run_sstat(const sim_run *r, int i, sim_sstat *st);

/* Write SimResults.json (the four series of docs/formats.md plus "summary").
 * Returns 0 or EVD_EIO. */
int sim_run_write_json(sim_run *r, FILE *f);

/* Write a self-contained HTML report: the simulation page with ECharts and
 * this run's results inlined.  Returns 0, EVD_EIO or EVD_ENOMEM. */
int sim_run_write_html(sim_run *r, FILE *f);

/* Print the text summary. */
void sim_run_print_summary(sim_run *r, FILE *f);

/* ---- capacity search ---------------------------------------------------- */

typedef struct sim_capacity {
    double factor; /* highest arrival-rate multiplier found that meets the SLO */
    double rate;   /* scenario arrivals per s at that factor */
    double p95;    /* worst p95 over the interactions there, s */
} sim_capacity;

/* Bisect the arrival-rate multiplier until the worst per-interaction p95
 * (seconds) meets slo, to 1%.  Each trial is logged to log (may be NULL).
 * Returns 0, EVD_EINVAL (no bracket found) or EVD_ENOMEM; message in err. */
int sim_find_capacity(const sim_model *m, const sim_opts *base, double slo, sim_capacity *out,
                      FILE *log, char *err, size_t errlen);

/* The same, judging the SLO on the interactions for which judged(u, name)
 * is nonzero only (the others still load the replicas). */
int sim_find_capacity_for(const sim_model *m, const sim_opts *base, double slo,
                          int (*judged)(void *u, const char *interaction), void *u,
                          sim_capacity *out, FILE *log, char *err, size_t errlen);

/* One trial of a search: the worst p95 (s) at factor k, and the arrival
 * rate there (per s).  0 or a negative code with a message in err. */
typedef int (*sim_trial_fn)(void *u, double k, double *p95, double *rate, char *err, size_t errlen);
/* The search on any trial, as sim_find_capacity does it; every trial is
 * logged to log (may be NULL) as one line "capacity: xK RATE arrivals/s
 * p95 P ms meets|misses". */
int sim_search_capacity(sim_trial_fn trial, void *u, double slo, sim_capacity *out, FILE *log,
                        char *err, size_t errlen);
/* The trial of sim_find_capacity_for: m at factor k, the worst p95 over
 * the judged interactions (judged NULL: all). */
int sim_trial_run(const sim_model *m, const sim_opts *base, double k,
                  int (*judged)(void *u, const char *interaction), void *u, double *worst,
                  double *rate, char *err, size_t errlen);

/* ---- replay from the store -------------------------------------------- */

typedef struct sim_replay_opts {
    const char *url;        /* sqlite:///rel.db or sqlite:////abs.db */
    const char **endpoints; /* NULL-terminated list, or NULL for all */
    double days;            /* last N days before the newest request; <= 0: all */
    double speedup;         /* divide inter-arrival times by this; <= 0: 1 */
} sim_replay_opts;

/* Replace m's arrivals with the recorded requests.  With a loaded profile,
 * an endpoint's requests start the scenario whose interaction has the
 * endpoint's name (others are counted in *unmatched); without one, each
 * endpoint becomes a one-function scenario whose cpu_time is its median
 * recorded duration.  Call before sim_model_link().  Returns 0,
 * EVD_EINVAL (bad URL), EVD_EIO or EVD_ENOMEM; message on m. */
int sim_replay_load(sim_model *m, const sim_replay_opts *o, int have_profile, size_t *requests,
                    size_t *unmatched);

/* ---- the web page (evodash simulate --serve) ---------------------------- */

typedef struct sim_serve_opts {
    const char *listen;  /* "127.0.0.1:9100" */
    const char *dir;     /* directory of past runs; created if missing */
    size_t max_upload;   /* bytes per file */
    double max_arrivals; /* refuse runs whose distribution asks for more */
} sim_serve_opts;

/* Serve until SIGINT/SIGTERM.  Returns 0 or a negative code, with a message
 * in err (size errlen). */
int sim_serve(const sim_serve_opts *o, char *err, size_t errlen);

#endif

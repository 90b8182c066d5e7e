/* rr.h — time slicing of one replica's CPU, the discipline of a service
 * with a quantum (sim_svc.quantum > 0) instead of processor sharing.  An
 * operating system's scheduler does not share a core evenly at every
 * instant: it runs one thread for a slice, then another.  This models
 * Linux's EEVDF scheduler in the few traits that decide response times:
 *
 * - A job on a CPU keeps it for its slice (the quantum), then makes way
 *   for a waiting job.  Alone, it keeps the CPU for a new slice.
 * - A new job (a request whose thread has just woken up or been created)
 *   is placed at lag 0 with a deadline of half a slice, ahead of the jobs
 *   that have already had a slice: the waiting new jobs go first, in the
 *   order they came; the others take turns.  A request shorter than a
 *   slice therefore usually runs to its end as soon as the job on the CPU
 *   has had its slice, sooner than under processor sharing, and the long
 *   ones pay for it.
 *
 * Jobs on the CPUs run at full speed, in order, while the replica's
 * capacity lasts (the last may get only what is left of it).  With a
 * quantum longer than every job no job is ever switched out (first come,
 * first served); as the quantum goes to 0 it becomes processor sharing.
 *
 * Times are ns.  Private to src/sim (engine.c). */
#ifndef EVD_SIM_RR_H
#define EVD_SIM_RR_H

#include <stddef.h>
#include <stdint.h>

typedef struct sim_rrj {
    int32_t job, inst;
    double rem;       /* work left at full speed, ns */
    double slice_end; /* on a CPU: when its slice ends */
    double cpu;       /* percent of a core the job uses at full speed */
    double rate;      /* on a CPU: its speed now, 0..1 */
} sim_rrj;

typedef struct sim_rring {
    sim_rrj *a;
    size_t h, n, cap;
} sim_rring;

typedef struct sim_rr {
    sim_rrj *run; /* on the CPUs */
    size_t nrun, caprun;
    sim_rring fresh; /* waiting, never on a CPU yet */
    sim_rring old;   /* waiting, have had a slice */
    double t;        /* when rem was last brought up to date */
} sim_rr;

/* The scheduler of a replica: its capacity (percent of a core) and
 * quantum (ns). */
typedef struct sim_rr_cfg {
    double cap, q;
} sim_rr_cfg;

/* Bring the running jobs' work up to time now. */
void sim_rr_advance(sim_rr *s, double now);

/* Add a job of work ns that uses cpu percent of a core.  Call after
 * sim_rr_advance(s, now).  Returns 0 or EVD_ENOMEM. */
int sim_rr_add(sim_rr *s, const sim_rr_cfg *c, int32_t job, int32_t inst, double work, double cpu);

/* Take one job whose work is done out of the CPUs into *out: 1 if there was
 * one, else 0.  Call after sim_rr_advance(), then sim_rr_settle(). */
int sim_rr_take_done(sim_rr *s, sim_rrj *out);

/* After jobs are done or slices over: switch out the jobs whose slice is
 * over when others wait, fill the free capacity from the waiting jobs and
 * set the speeds.  Returns 0 or EVD_ENOMEM. */
int sim_rr_settle(sim_rr *s, const sim_rr_cfg *c);

/* When the next job finishes or is switched out: an absolute time, or
 * INFINITY when nothing runs. */
double sim_rr_next(const sim_rr *s);

void sim_rr_free(sim_rr *s);

#endif

/* engine.c — the discrete-event loop of the capacity simulator.
 *
 * Flow: an arrival starts a scenario; each of its interactions starts after
 * its delay with its entry function; a function runs on a replica of its
 * service and, when it completes, starts its callbacks after their delays.
 * An interaction is complete when all the functions it started are.
 *
 * Sharing: see sim_rep in engine.h (processor sharing with a virtual work
 * clock), or rr.h for a service with a quantum (time slices).  A function
 * that does not fit on any replica, by workers or by RAM, waits in its
 * service's FIFO queue, which is drained only when a replica frees
 * capacity or is added; nothing polls.  Zero-CPU functions
 * (pure waiting) hold their RAM and worker slot but take no CPU share, and
 * complete on a timer. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "evodash.h"
#include "sim/engine.h"

#define NS 1e9

static inline const sim_fn *fn_of(const sim_run *r, const sim_job *j)
{
    (void)r;
    return j->f;
}

/* ---- pools ------------------------------------------------------------------ */

static int32_t job_alloc(sim_run *r)
{
    if (r->free_job >= 0) {
        int32_t i = r->free_job;
        r->free_job = r->jobs[i].rep;
        return i;
    }
    if (r->njobs == r->capjobs) {
        if (r->capjobs > (int32_t)(SIM_EV_ID_MAX / 2))
            return -1;
        int32_t cap = r->capjobs ? r->capjobs * 2 : 4096;
        sim_job *a = realloc(r->jobs, (size_t)cap * sizeof *a);
        if (!a)
            return -1;
        r->jobs = a;
        r->capjobs = cap;
    }
    return r->njobs++;
}

static void job_free(sim_run *r, int32_t i)
{
    r->jobs[i].rep = r->free_job;
    r->free_job = i;
}

static int32_t inst_alloc(sim_run *r)
{
    if (r->free_inst >= 0) {
        int32_t i = r->free_inst;
        r->free_inst = r->insts[i].outstanding;
        return i;
    }
    if (r->ninsts == r->capinsts) {
        if (r->capinsts > (int32_t)(SIM_EV_ID_MAX / 2))
            return -1;
        int32_t cap = r->capinsts ? r->capinsts * 2 : 4096;
        sim_inst *a = realloc(r->insts, (size_t)cap * sizeof *a);
        if (!a)
            return -1;
        r->insts = a;
        r->capinsts = cap;
    }
    return r->ninsts++;
}

static void inst_free(sim_run *r, int32_t i)
{
    r->insts[i].outstanding = r->free_inst;
    r->free_inst = i;
}

/* ---- replicas ---------------------------------------------------------------- */

static void advance(sim_run *r, sim_rep *p)
{
    double dt = r->now - p->t_last;
    if (dt <= 0)
        return;
    const sim_svc *sv = r->svdefs + p->svc;
    p->V += p->f * dt;
    p->c_cpu += dt * (p->demand >= sv->max_cpu ? 1.0 : p->demand / sv->max_cpu);
    p->c_ram += dt * p->ram / sv->max_ram;
    p->c_io += dt * p->io / sv->max_io;
    p->c_net += dt * p->net / sv->max_net;
    p->t_last = r->now;
}

/* ---- the running jobs of a replica (see sim_rep) ------------------------- */

static int ph_push(sim_rep *p, double fv, int32_t job, int32_t inst)
{
    uint64_t key;
    memcpy(&key, &fv, sizeof key);
    if (key >= p->jq.last) {
        int rc = sim_queue_push(&p->jq, fv, 0, (uint32_t)job, (uint32_t)inst);
        p->hn += !rc;
        return rc;
    }
    if (p->lown == p->lowcap) {
        size_t cap = p->lowcap ? p->lowcap * 2 : 16;
        sim_pjob *a = realloc(p->low, cap * sizeof *a);
        if (!a)
            return EVD_ENOMEM;
        p->low = a;
        p->lowcap = cap;
    }
    size_t i = p->lown++;
    while (i > 0 && p->low[(i - 1) / 2].fv > fv) {
        p->low[i] = p->low[(i - 1) / 2];
        i = (i - 1) / 2;
    }
    p->low[i] = (sim_pjob){fv, job, inst};
    p->hn++;
    return 0;
}

static sim_pjob from_ev(sim_ev e)
{
    return (sim_pjob){sim_ev_time(e), (int32_t)sim_ev_id(e), (int32_t)e.gen};
}

/* The job with the least fv (p->hn > 0).  Returns 0 or EVD_ENOMEM. */
static int ph_top(sim_rep *p, sim_pjob *out)
{
    if (p->lown) {
        *out = p->low[0];
        return 0;
    }
    sim_ev e;
    int rc = sim_queue_peek(&p->jq, &e);
    if (!rc)
        *out = from_ev(e);
    return rc;
}

static int ph_pop(sim_rep *p, sim_pjob *out)
{
    int rc = 0;
    if (p->lown) {
        *out = p->low[0];
        sim_pjob last = p->low[--p->lown];
        size_t i = 0, n = p->lown;
        for (;;) {
            size_t c = 2 * i + 1;
            if (c >= n)
                break;
            if (c + 1 < n && p->low[c + 1].fv < p->low[c].fv)
                c++;
            if (p->low[c].fv >= last.fv)
                break;
            p->low[i] = p->low[c];
            i = c;
        }
        if (n)
            p->low[i] = last;
    } else {
        sim_ev e;
        if ((rc = sim_queue_pop(&p->jq, &e)))
            return rc;
        *out = from_ev(e);
    }
    p->hn--;
    return rc;
}

/* Queue the replica's next completion event, at t. */
static int arm(sim_run *r, int rep, double t)
{
    sim_rep *p = &r->reps[rep];
    p->armed = 1;
    p->ev_t = t;
    return sim_queue_push(&r->q, t, EV_DONE, (uint32_t)rep, p->gen);
}

static int reschedule(sim_run *r, int rep)
{
    sim_rep *p = &r->reps[rep];
    const sim_svc *sv = r->svdefs + p->svc;
    if (p->hn == 0) {
        if (p->armed) {
            p->armed = 0;
            p->gen++;
            r->stale++;
        }
        p->V = 0; /* no job holds a reference to it: rebase for precision */
        sim_queue_rebase(&p->jq);
        p->demand = 0;
        p->f = 1;
        return 0;
    }
    p->f = p->demand > sv->max_cpu ? sv->max_cpu / p->demand : 1.0;
    sim_pjob top;
    int rc = ph_top(p, &top);
    if (rc)
        return rc;
    /* The next job to finish is known now; its records are needed when it
     * does, usually several events later: start loading them. */
    __builtin_prefetch(&r->jobs[top.job]);
    __builtin_prefetch(&r->insts[top.inst]);
    double rem = top.fv - p->V;
    double t = r->now + (rem > 0 ? rem / p->f : 0);
    if (p->armed) {
        /* A later completion (the replica slowed down) keeps the queued
         * event: it fires early and on_done() re-arms it.  That costs at
         * most one extra pop per completion, where superseding would cost
         * one per arrival under overload. */
        if (t >= p->ev_t)
            return 0;
        p->gen++;
        r->stale++;
    }
    return arm(r, rep, t);
}

static sim_rr_cfg rr_cfg(const sim_svc *sv)
{
    return (sim_rr_cfg){.cap = sv->max_cpu, .q = sv->quantum};
}

/* Queue the replica's next event of time slicing (sim_rep.rr), superseding
 * the one queued unless it is at the same time. */
static int rr_reschedule(sim_run *r, int rep)
{
    sim_rep *p = &r->reps[rep];
    double t = sim_rr_next(&p->rr);
    if (p->armed) {
        if (t == p->ev_t)
            return 0;
        p->armed = 0;
        p->gen++;
        r->stale++;
    }
    if (t == INFINITY) {
        p->demand = 0; /* no drift left over from the sums */
        return 0;
    }
    return arm(r, rep, t);
}

static int fits(const sim_rep *p, const sim_svc *sv, const sim_fn *f)
{
    return p->state == REP_ACTIVE && (sv->workers == 0 || p->nrun < sv->workers) &&
           p->ram + f->ram <= sv->max_ram * (1 + 1e-12);
}

/* The fitting replica with the fewest running jobs, or -1. */
static int pick(sim_run *r, int svc, const sim_fn *f)
{
    const sim_svc *sv = r->svdefs + svc;
    const sim_svcrt *s = &r->svcs[svc];
    int best = -1;
    for (int k = 0; k < s->nreps; k++) {
        int i = s->reps[k];
        const sim_rep *p = &r->reps[i];
        if (fits(p, sv, f) && (best < 0 || p->nrun < r->reps[best].nrun))
            best = i;
    }
    return best;
}

static double draw_work(sim_run *r, const sim_fn *f)
{
    switch (f->dist) {
    case SIM_EXP:
        return sim_rng_exp(&r->rng, f->cpu_time);
    case SIM_LOGNORMAL:
        return f->cpu_time > 0 ? sim_rng_lognormal(&r->rng, f->cpu_time, f->cv) : 0;
    default:
        return f->cpu_time;
    }
}

static int start_job(sim_run *r, int32_t j, int rep)
{
    sim_job *jb = &r->jobs[j];
    const sim_fn *f = fn_of(r, jb);
    sim_rep *p = &r->reps[rep];
    advance(r, p);
    r->insts[jb->inst].wait += r->now - jb->t_enq;
    jb->rep = rep;
    double work = draw_work(r, f);
    p->nrun++;
    p->ram += f->ram;
    p->io += f->io;
    p->net += f->net;
    r->running++;
    if (f->cpu <= 0)
        return sim_queue_push(&r->q, r->now + work, EV_TIMER, (uint32_t)j, (uint32_t)jb->inst);
    p->ncpu++;
    p->demand += f->cpu;
    const sim_svc *sv = r->svdefs + p->svc;
    if (sv->quantum > 0) {
        sim_rr_advance(&p->rr, r->now);
        sim_rr_cfg c = rr_cfg(sv);
        int rc = sim_rr_add(&p->rr, &c, j, jb->inst, work, f->cpu);
        return rc ? rc : rr_reschedule(r, rep);
    }
    int rc = ph_push(p, p->V + work, j, jb->inst);
    return rc ? rc : reschedule(r, rep);
}

static int enqueue(sim_run *r, int svc, int32_t j)
{
    sim_svcrt *s = &r->svcs[svc];
    if (s->qn == s->qcap) {
        size_t cap = s->qcap ? s->qcap * 2 : 256;
        int32_t *q = malloc(cap * sizeof *q);
        if (!q)
            return EVD_ENOMEM;
        for (size_t k = 0; k < s->qn; k++)
            q[k] = s->q[(s->qh + k) % s->qcap];
        free(s->q);
        s->q = q;
        s->qh = 0;
        s->qcap = cap;
    }
    s->q[(s->qh + s->qn++) % s->qcap] = j;
    r->queued++;
    if (s->qn > s->peak_q)
        s->peak_q = s->qn;
    return 0;
}

/* Start queued functions, in FIFO order, while the head fits somewhere. */
static int drain(sim_run *r, int svc)
{
    sim_svcrt *s = &r->svcs[svc];
    while (s->qn) {
        int32_t j = s->q[s->qh];
        int rep = pick(r, svc, fn_of(r, &r->jobs[j]));
        if (rep < 0)
            break;
        s->qh = (s->qh + 1) % s->qcap;
        s->qn--;
        r->queued--;
        int rc = start_job(r, j, rep);
        if (rc)
            return rc;
    }
    return 0;
}

static int dispatch(sim_run *r, int32_t j)
{
    sim_job *jb = &r->jobs[j];
    const sim_fn *f = fn_of(r, jb);
    jb->t_enq = r->now;
    /* Strict FIFO: nothing overtakes a function that is already waiting. */
    int rep = r->svcs[f->svc].qn ? -1 : pick(r, f->svc, f);
    if (rep < 0)
        return enqueue(r, f->svc, j);
    return start_job(r, j, rep);
}

/* Start function k of instance i after its delay. */
static int spawn(sim_run *r, int32_t i, int k)
{
    int32_t j = job_alloc(r);
    if (j < 0)
        return EVD_ENOMEM;
    r->jobs[j] = (sim_job){.f = &r->stat_inter[r->insts[i].stat]->fn[k], .inst = i, .rep = -1};
    double d = fn_of(r, &r->jobs[j])->delay;
    if (d > 0)
        return sim_queue_push(&r->q, r->now + d, EV_FSTART, (uint32_t)j, (uint32_t)i);
    return dispatch(r, j);
}

static int inter_done(sim_run *r, int32_t i)
{
    sim_inst *in = &r->insts[i];
    sim_stat *st = &r->stats[in->stat];
    double resp = r->now - in->t_start;
    st->completed_all++;
    r->tot.inter_completed++;
    st->iv_n++;
    st->iv_resp += resp;
    st->iv_wait += in->wait;
    if (in->t_start >= r->warmup_ns) {
        st->completed++;
        st->sum_resp += resp;
        st->sum_wait += in->wait;
        if (st->nresp == st->capresp) {
            size_t cap = st->capresp ? st->capresp * 2 : 1024;
            double *a = realloc(st->resp, cap * sizeof *a);
            if (!a)
                return EVD_ENOMEM;
            st->resp = a;
            st->capresp = cap;
        }
        st->resp[st->nresp++] = resp;
        st->sorted = 0;
    }
    inst_free(r, i);
    return 0;
}

static int finish_job(sim_run *r, int32_t j)
{
    int32_t i = r->jobs[j].inst;
    const sim_fn *f = fn_of(r, &r->jobs[j]);
    job_free(r, j);
    r->insts[i].outstanding += f->ncb - 1;
    for (int c = 0; c < f->ncb; c++) {
        int rc = spawn(r, i, f->cb[c]);
        if (rc)
            return rc;
    }
    return r->insts[i].outstanding == 0 ? inter_done(r, i) : 0;
}

static void release(sim_run *r, sim_rep *p, const sim_fn *f)
{
    p->nrun--;
    r->running--;
    if (p->nrun == 0) {
        p->ram = p->io = p->net = 0; /* no drift left over from the sums */
    } else {
        p->ram -= f->ram;
        p->io -= f->io;
        p->net -= f->net;
    }
}

static void maybe_retire(sim_run *r, int rep)
{
    sim_rep *p = &r->reps[rep];
    if (p->state == REP_DRAINING && p->nrun == 0) {
        p->state = REP_GONE;
        p->died = r->now;
    }
}

static int add_done(sim_run *r, int32_t job)
{
    if (r->ndone == r->capdone) {
        size_t cap = r->capdone ? r->capdone * 2 : 64;
        int32_t *a = realloc(r->donebuf, cap * sizeof *a);
        if (!a)
            return EVD_ENOMEM;
        r->donebuf = a;
        r->capdone = cap;
    }
    r->donebuf[r->ndone++] = job;
    return 0;
}

/* CPU job `job` has finished on replica p: note it for after_done() and
 * give back its share and resources. */
static int cpu_job_left(sim_run *r, sim_rep *p, int32_t job)
{
    if (add_done(r, job))
        return EVD_ENOMEM;
    const sim_fn *f = fn_of(r, &r->jobs[job]);
    p->ncpu--;
    p->demand = p->ncpu ? p->demand - f->cpu : 0;
    release(r, p, f);
    return 0;
}

static int after_done(sim_run *r, int rep, int rc);

/* A completion or the end of a slice on a time-sliced replica. */
static int rr_on_done(sim_run *r, int rep)
{
    sim_rep *p = &r->reps[rep];
    const sim_svc *sv = r->svdefs + p->svc;
    advance(r, p);
    sim_rr_advance(&p->rr, r->now);
    r->ndone = 0;
    sim_rrj d;
    while (sim_rr_take_done(&p->rr, &d))
        if (cpu_job_left(r, p, d.job))
            return EVD_ENOMEM;
    sim_rr_cfg c = rr_cfg(sv);
    int rc = sim_rr_settle(&p->rr, &c);
    if (!rc)
        rc = rr_reschedule(r, rep);
    return after_done(r, rep, rc);
}

static int on_done(sim_run *r, int rep)
{
    sim_rep *p = &r->reps[rep];
    if (r->svdefs[p->svc].quantum > 0)
        return rr_on_done(r, rep);
    advance(r, p);
    sim_pjob top = {0};
    if (p->hn && ph_top(p, &top))
        return EVD_ENOMEM;
    double rem = top.fv - p->V;
    if (p->hn == 0 || (rem > 0 && r->now + rem / p->f > r->now)) {
        /* Early (see reschedule()): not an event of the model. */
        r->events--;
        r->tot.discarded++;
        r->iv_events--;
        return reschedule(r, rep);
    }
    r->ndone = 0;
    double vmax = p->V;
    while (p->hn) {
        sim_pjob pj;
        if (r->ndone && (ph_top(p, &pj) || pj.fv > vmax + 1e-6))
            break;
        if (ph_pop(p, &pj))
            return EVD_ENOMEM;
        if (pj.fv > vmax)
            vmax = pj.fv;
        if (cpu_job_left(r, p, pj.job))
            return EVD_ENOMEM;
    }
    p->V = vmax;
    return after_done(r, rep, reschedule(r, rep));
}

/* The jobs in donebuf have left replica rep: start what waits for it, then
 * what follows the jobs. */
static int after_done(sim_run *r, int rep, int rc)
{
    if (!rc)
        rc = drain(r, r->reps[rep].svc);
    maybe_retire(r, rep);
    for (size_t k = 0; k < r->ndone && !rc; k++)
        rc = finish_job(r, r->donebuf[k]);
    return rc;
}

static int on_timer(sim_run *r, int32_t j)
{
    sim_rep *p = &r->reps[r->jobs[j].rep];
    advance(r, p);
    release(r, p, fn_of(r, &r->jobs[j]));
    int rc = drain(r, p->svc);
    maybe_retire(r, r->jobs[j].rep);
    return rc ? rc : finish_job(r, j);
}

static int add_replica(sim_run *r, int svc, int state)
{
    if (r->nreps == r->capreps) {
        int cap = r->capreps ? r->capreps * 2 : 16;
        sim_rep *a = realloc(r->reps, (size_t)cap * sizeof *a);
        if (!a)
            return EVD_ENOMEM;
        r->reps = a;
        r->capreps = cap;
    }
    sim_svcrt *s = &r->svcs[svc];
    if (s->nreps == s->capreps) {
        int cap = s->capreps ? s->capreps * 2 : 4;
        int *a = realloc(s->reps, (size_t)cap * sizeof *a);
        if (!a)
            return EVD_ENOMEM;
        s->reps = a;
        s->capreps = cap;
    }
    int i = r->nreps++;
    r->reps[i] = (sim_rep){.svc = svc,
                           .state = state,
                           .f = 1,
                           .t_last = r->now,
                           .born = r->now,
                           .died = -1,
                           .s_t = r->now};
    s->reps[s->nreps++] = i;
    if (state == REP_ACTIVE)
        s->nactive++;
    else
        s->npending++;
    if (s->nactive + s->npending > s->peak_reps)
        s->peak_reps = s->nactive + s->npending;
    return i;
}

static int on_up(sim_run *r, int rep)
{
    sim_rep *p = &r->reps[rep];
    sim_svcrt *s = &r->svcs[p->svc];
    p->state = REP_ACTIVE;
    p->t_last = r->now;
    p->born = r->now; /* its utilisation counts from when it serves */
    s->npending--;
    s->nactive++;
    return drain(r, p->svc);
}

/* ---- sampling and autoscaling ----------------------------------------------- */

/* Mean of a metric over the replica's part of the current window, or -1 if
 * it has none yet (it has just started serving). */
static double window_metric(const sim_rep *p, int metric, double now)
{
    double t0 = p->s_t > p->born ? p->s_t : p->born, dt = now - t0;
    if (dt <= 0)
        return -1;
    switch (metric) {
    case SIM_M_RAM:
        return (p->c_ram - p->s_ram) / dt;
    case SIM_M_IO:
        return (p->c_io - p->s_io) / dt;
    case SIM_M_NET:
        return (p->c_net - p->s_net) / dt;
    default:
        return (p->c_cpu - p->s_cpu) / dt;
    }
}

static int autoscale(sim_run *r, int svc)
{
    const sim_svc *sv = r->svdefs + svc;
    sim_svcrt *s = &r->svcs[svc];
    double sum = 0;
    int n = 0;
    for (int k = 0; k < s->nreps; k++) {
        const sim_rep *p = &r->reps[s->reps[k]];
        double x = p->state == REP_ACTIVE ? window_metric(p, sv->metric, r->now) : -1;
        if (x >= 0) {
            sum += x;
            n++;
        }
    }
    if (n == 0 || s->npending)
        return 0;
    double avg = sum / n;
    if (avg > sv->up && s->nactive < sv->max_scale) {
        if (sv->scaling_delay <= 0) {
            int i = add_replica(r, svc, REP_ACTIVE);
            return i < 0 ? i : drain(r, svc);
        }
        int i = add_replica(r, svc, REP_STARTING);
        return i < 0 ? i : sim_queue_push(&r->q, r->now + sv->scaling_delay, EV_UP, (uint32_t)i, 0);
    }
    if (avg < sv->down && s->nactive > sv->min_scale) {
        int victim = -1;
        for (int k = 0; k < s->nreps; k++) {
            int i = s->reps[k];
            if (r->reps[i].state == REP_ACTIVE &&
                (victim < 0 || r->reps[i].nrun <= r->reps[victim].nrun))
                victim = i;
        }
        r->reps[victim].state = REP_DRAINING;
        s->nactive--;
        maybe_retire(r, victim);
    }
    return 0;
}

static int sample(sim_run *r)
{
    int rc = 0;
    double t = r->now;
    for (int i = 0; i < r->nreps; i++)
        if (r->reps[i].state != REP_GONE)
            advance(r, &r->reps[i]);
    if (r->o.series) {
        for (int i = 0; i < r->nstats && !rc; i++) {
            sim_stat *st = &r->stats[i];
            rc = sim_series_add(&r->s_dones, t, i, (double)st->completed_all,
                                (double)st->started_all, 0, 0, 0);
            if (st->iv_n && !rc)
                rc = sim_series_add(&r->s_resp, t, i, st->iv_wait / (double)st->iv_n / NS,
                                    st->iv_resp / (double)st->iv_n / NS, 0, 0, 0);
            st->iv_n = 0;
            st->iv_resp = st->iv_wait = 0;
        }
        double all[4] = {0};
        for (int s = 0; s < r->nsvc && !rc; s++) {
            const sim_svcrt *sr = &r->svcs[s];
            double u[4] = {0};
            int n = 0;
            for (int k = 0; k < sr->nreps; k++) {
                const sim_rep *p = &r->reps[sr->reps[k]];
                if ((p->state == REP_ACTIVE || p->state == REP_DRAINING) &&
                    window_metric(p, SIM_M_CPU, t) >= 0) {
                    for (int mtr = 0; mtr < 4; mtr++)
                        u[mtr] += window_metric(p, mtr, t);
                    n++;
                }
            }
            for (int mtr = 0; mtr < 4; mtr++) {
                u[mtr] = n ? u[mtr] / n : 0;
                all[mtr] += u[mtr] / r->nsvc;
            }
            rc = sim_series_add(&r->s_util, t, s, u[SIM_M_CPU], u[SIM_M_RAM], u[SIM_M_NET],
                                u[SIM_M_IO], (double)(sr->nactive));
        }
        if (!rc)
            rc = sim_series_add(&r->s_util, t, r->nsvc, all[SIM_M_CPU], all[SIM_M_RAM],
                                all[SIM_M_NET], all[SIM_M_IO], 0);
        double ev[4] = {(double)(r->q.n - r->stale), (double)r->running, (double)r->queued,
                        (double)r->iv_events};
        for (int k = 0; k < 4 && !rc; k++)
            rc = sim_series_add(&r->s_events, t, k, ev[k], 0, 0, 0, 0);
        r->iv_events = 0;
    }
    for (int s = 0; s < r->nsvc && !rc; s++)
        if (sim_model_svc(r->m, s)->scales)
            rc = autoscale(r, s);
    for (int i = 0; i < r->nreps; i++) {
        sim_rep *p = &r->reps[i];
        p->s_cpu = p->c_cpu;
        p->s_ram = p->c_ram;
        p->s_io = p->c_io;
        p->s_net = p->c_net;
        p->s_t = t;
    }
    r->last_sample = t;
    return rc;
}

/* ---- arrivals -------------------------------------------------------------- */

static int start_inter(sim_run *r, int32_t i)
{
    sim_inst *in = &r->insts[i];
    in->t_start = r->now;
    in->outstanding = 1;
    r->pending_inst--;
    r->tot.inter_started++;
    sim_stat *st = &r->stats[in->stat];
    st->started_all++;
    if (r->now >= r->warmup_ns)
        st->started++;
    return spawn(r, i, 0);
}

static int on_arrival(sim_run *r, int k)
{
    sim_stream *s = &r->streams[k];
    int sc = s->a->scen;
    const sim_scen *scen = (r->scens + sc);
    r->tot.arrivals++;
    for (int j = 0; j < scen->ninter; j++) {
        int32_t i = inst_alloc(r);
        if (i < 0)
            return EVD_ENOMEM;
        r->insts[i] = (sim_inst){.stat = r->stat_base[sc] + j};
        r->pending_inst++;
        int rc = scen->inter[j].delay > 0 ? sim_queue_push(&r->q, r->now + scen->inter[j].delay,
                                                           EV_ISTART, (uint32_t)i, 0)
                                          : start_inter(r, i);
        if (rc)
            return rc;
    }
    double t;
    if (sim_stream_next(s, &t))
        return sim_queue_push(&r->q, t * NS, EV_ARRIVAL, (uint32_t)k, 0);
    return 0;
}

/* ---- run lifetime ------------------------------------------------------------ */

int sim_run_new(const sim_model *m, const sim_opts *opts, sim_run **out)
{
    sim_run *r = calloc(1, sizeof *r);
    *out = r;
    if (!r)
        return EVD_ENOMEM;
    r->m = m;
    r->scens = sim_model_scen(m, 0);
    r->svdefs = sim_model_svc(m, 0);
    r->o = *opts;
    if (r->o.rate_scale <= 0)
        r->o.rate_scale = 1;
    r->until_ns = r->o.until > 0 ? r->o.until * NS : INFINITY;
    r->interval_ns = (r->o.interval > 0 ? r->o.interval : 1) * NS;
    r->warmup_ns = r->o.warmup > 0 ? r->o.warmup * NS : 0;
    r->free_job = r->free_inst = -1;
    sim_queue_init(&r->q);
    sim_rng_seed(&r->rng, r->o.seed, 1);
    r->nsvc = sim_model_nsvc(m);
    int nscen = sim_model_nscen(m);
    if (!(r->svcs = calloc((size_t)r->nsvc, sizeof *r->svcs)) ||
        !(r->stat_base = calloc((size_t)nscen, sizeof *r->stat_base)))
        goto nomem;
    for (int i = 0; i < nscen; i++) {
        r->stat_base[i] = r->nstats;
        r->nstats += sim_model_scen(m, i)->ninter;
    }
    if (!(r->stats = calloc((size_t)r->nstats, sizeof *r->stats)) ||
        !(r->stat_inter = calloc((size_t)r->nstats, sizeof *r->stat_inter)))
        goto nomem;
    for (int i = 0; i < nscen; i++) {
        const sim_scen *s = sim_model_scen(m, i);
        for (int j = 0; j < s->ninter; j++) {
            sim_stat *st = &r->stats[r->stat_base[i] + j];
            snprintf(st->label, sizeof st->label, "scenario %lld interaction %d", s->id, j);
            st->name = s->inter[j].name;
            r->stat_inter[r->stat_base[i] + j] = &s->inter[j];
        }
    }
    for (int s = 0; s < r->nsvc; s++)
        for (int k = 0; k < sim_model_svc(m, s)->scale; k++)
            if (add_replica(r, s, REP_ACTIVE) < 0)
                goto nomem;
    r->nstreams = sim_model_narr(m);
    if (!(r->streams = calloc((size_t)r->nstreams, sizeof *r->streams)))
        goto nomem;
    for (int k = 0; k < r->nstreams; k++) {
        const sim_arr *a = sim_model_arr(m, k);
        double t;
        if (sim_stream_init(&r->streams[k], a, r->o.seed, k, r->o.rate_scale))
            goto nomem;
        if (sim_stream_next(&r->streams[k], &t) &&
            sim_queue_push(&r->q, t * NS, EV_ARRIVAL, (uint32_t)k, 0))
            goto nomem;
    }
    r->est_end = sim_model_arrivals_end(m) * NS;
    r->sampling = r->o.series;
    for (int s = 0; s < r->nsvc; s++)
        if (sim_model_svc(m, s)->scales)
            r->sampling = 1;
    if (r->sampling && sim_queue_push(&r->q, r->interval_ns, EV_SAMPLE, 0, 0))
        goto nomem;
    return 0;
nomem:
    snprintf(r->err, sizeof r->err, "out of memory");
    return EVD_ENOMEM;
}

void sim_run_free(sim_run *r)
{
    if (!r)
        return;
    sim_queue_free(&r->q);
    for (int k = 0; k < r->nstreams; k++)
        sim_stream_free(&r->streams[k]);
    free(r->streams);
    free(r->jobs);
    free(r->insts);
    for (int i = 0; i < r->nreps; i++) {
        sim_queue_free(&r->reps[i].jq);
        sim_rr_free(&r->reps[i].rr);
        free(r->reps[i].low);
    }
    free(r->reps);
    for (int s = 0; s < r->nsvc; s++) {
        free(r->svcs[s].q);
        free(r->svcs[s].reps);
    }
    free(r->svcs);
    for (int i = 0; i < r->nstats; i++)
        free(r->stats[i].resp);
    free(r->stats);
    free(r->stat_base);
    free(r->stat_inter);
    free(r->donebuf);
    free(r->s_dones.r);
    free(r->s_resp.r);
    free(r->s_util.r);
    free(r->s_events.r);
    free(r);
}

const char *sim_run_errmsg(const sim_run *r)
{
    return r->err[0] ? r->err : "no error";
}

static double clock_s(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double wall_now(void)
{
    return clock_s(CLOCK_MONOTONIC);
}

static void progress(sim_run *r, double wall0)
{
    double pct = r->est_end > 0 ? 100 * r->now / r->est_end : 0;
    fprintf(stderr,
            "\rsimulate: t=%.1f s (%.0f%% of the arrivals) events=%.1fM in flight=%llu "
            "queued=%llu %.1fs ",
            r->now / NS, pct > 100 ? 100 : pct, (double)r->events / 1e6,
            (unsigned long long)(r->tot.inter_started - r->tot.inter_completed),
            (unsigned long long)r->queued, wall_now() - wall0);
}

int sim_run_exec(sim_run *r)
{
    int rc = 0;
    double wall0 = wall_now(), cpu0 = clock_s(CLOCK_THREAD_CPUTIME_ID);
    while (r->q.n && !rc) {
        sim_ev e;
        if (r->until_ns < INFINITY) {
            if ((rc = sim_queue_peek(&r->q, &e)))
                break;
            if (sim_ev_time(e) > r->until_ns) {
                r->now = r->until_ns;
                break;
            }
        }
        if ((rc = sim_queue_pop(&r->q, &e)))
            break;
        uint32_t id = sim_ev_id(e);
        if (sim_ev_kind(e) == EV_TIMER || sim_ev_kind(e) == EV_FSTART)
            __builtin_prefetch(&r->insts[e.gen]); /* in parallel with jobs[id] */
        if (sim_ev_kind(e) == EV_DONE) {
            sim_rep *p = &r->reps[id];
            if (e.gen != p->gen) {
                r->stale--; /* superseded by a later reschedule */
                r->tot.discarded++;
                continue;
            }
            p->armed = 0;
        }
        r->now = sim_ev_time(e);
        r->events++;
        r->iv_events++;
        switch (sim_ev_kind(e)) {
        case EV_ARRIVAL:
            rc = on_arrival(r, (int)id);
            break;
        case EV_ISTART:
            rc = start_inter(r, (int32_t)id);
            break;
        case EV_FSTART:
            rc = dispatch(r, (int32_t)id);
            break;
        case EV_DONE:
            rc = on_done(r, (int)id);
            break;
        case EV_TIMER:
            rc = on_timer(r, (int32_t)id);
            break;
        case EV_UP:
            rc = on_up(r, (int)id);
            break;
        case EV_SAMPLE:
            rc = sample(r);
            /* Keep sampling while anything else is pending. */
            if (!rc && r->q.n > r->stale)
                rc = sim_queue_push(&r->q, r->now + r->interval_ns, EV_SAMPLE, 0, 0);
            break;
        }
        if (r->o.progress && (r->events & ((1u << 21) - 1)) == 0)
            progress(r, wall0);
    }
    if (rc) {
        snprintf(r->err, sizeof r->err, "out of memory at t=%.3f s", r->now / NS);
        return rc;
    }
    if (r->sampling && r->last_sample < r->now)
        rc = sample(r);
    for (int i = 0; i < r->nreps; i++)
        if (r->reps[i].state != REP_GONE)
            advance(r, &r->reps[i]);
    if (r->o.progress) {
        progress(r, wall0);
        fputc('\n', stderr);
    }
    r->tot.events = r->events;
    r->tot.end_time = r->now / NS;
    r->tot.inter_in_flight = r->tot.inter_started - r->tot.inter_completed;
    r->tot.inter_pending = r->pending_inst;
    r->tot.wall_s = wall_now() - wall0;
    r->tot.cpu_s = clock_s(CLOCK_THREAD_CPUTIME_ID) - cpu0;
    return rc;
}

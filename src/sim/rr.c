/* rr.c — time slicing of a replica's CPU; see rr.h. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "evodash.h"
#include "sim/rr.h"

/* Work left below this (ns) counts as none: the times of the events are
 * computed in doubles, and a job must not come back for a picosecond. */
#define EPS 1e-3

/* Capacity counts as used up when less than this share of it is left, so
 * that rounding does not start a job at a negligible speed. */
#define CAP_EPS 1e-9

/* Nothing left of work x at speed rate at time t: below EPS, or too
 * little to move the clock. */
static int spent(double x, double rate, double t)
{
    return x <= EPS || t + x / rate <= t;
}

void sim_rr_advance(sim_rr *s, double now)
{
    double dt = now - s->t;
    if (dt <= 0)
        return;
    for (size_t i = 0; i < s->nrun; i++)
        s->run[i].rem -= s->run[i].rate * dt;
    s->t = now;
}

static int ring_push(sim_rring *q, sim_rrj j)
{
    if (q->n == q->cap) {
        size_t cap = q->cap ? q->cap * 2 : 64;
        sim_rrj *a = malloc(cap * sizeof *a);
        if (!a)
            return EVD_ENOMEM;
        for (size_t k = 0; k < q->n; k++)
            a[k] = q->a[(q->h + k) % q->cap];
        free(q->a);
        q->a = a;
        q->h = 0;
        q->cap = cap;
    }
    q->a[(q->h + q->n++) % q->cap] = j;
    return 0;
}

/* The next waiting job (some must wait): the new ones first. */
static sim_rrj ring_pop(sim_rr *s)
{
    sim_rring *q = s->fresh.n ? &s->fresh : &s->old;
    sim_rrj j = q->a[q->h];
    q->h = (q->h + 1) % q->cap;
    q->n--;
    return j;
}

static size_t waiting(const sim_rr *s)
{
    return s->fresh.n + s->old.n;
}

static int run_push(sim_rr *s, sim_rrj j)
{
    if (s->nrun == s->caprun) {
        size_t cap = s->caprun ? s->caprun * 2 : 8;
        sim_rrj *a = realloc(s->run, cap * sizeof *a);
        if (!a)
            return EVD_ENOMEM;
        s->run = a;
        s->caprun = cap;
    }
    s->run[s->nrun++] = j;
    return 0;
}

/* The speeds of the running jobs, in order; returns the capacity left. */
static double set_rates(sim_rr *s, double cap)
{
    double left = cap;
    for (size_t i = 0; i < s->nrun; i++) {
        sim_rrj *j = &s->run[i];
        j->rate = j->cpu <= 0 ? 1 : left >= j->cpu ? 1 : left > 0 ? left / j->cpu : 0;
        left -= j->rate * j->cpu;
    }
    return left;
}

/* A job that had the CPU to itself past the end of its slice has been
 * given new ones. */
static void renew(sim_rrj *j, const sim_rr_cfg *c, double now)
{
    if (j->slice_end <= now)
        j->slice_end += c->q * (floor((now - j->slice_end) / c->q) + 1);
}

/* With nobody waiting, the running jobs' slices do not end. */
static void renew_all(sim_rr *s, const sim_rr_cfg *c)
{
    if (!waiting(s))
        for (size_t i = 0; i < s->nrun; i++)
            renew(&s->run[i], c, s->t);
}

/* Switch out the jobs whose slice is over, for waiting ones. */
static int preempt(sim_rr *s, const sim_rr_cfg *c)
{
    int rc;
    size_t n = s->nrun;
    for (size_t i = 0; i < n && waiting(s);) {
        sim_rrj *j = &s->run[i];
        if (s->t + EPS < j->slice_end) {
            i++;
            continue;
        }
        sim_rrj out = *j;
        memmove(j, j + 1, (s->nrun - i - 1) * sizeof *s->run);
        s->nrun--;
        n--;
        sim_rrj in = ring_pop(s);
        in.slice_end = s->t + c->q;
        if ((rc = ring_push(&s->old, out)) || (rc = run_push(s, in)))
            return rc;
    }
    return 0;
}

static int fill(sim_rr *s, const sim_rr_cfg *c)
{
    double left = set_rates(s, c->cap);
    while (waiting(s) && left > CAP_EPS * c->cap) {
        sim_rrj in = ring_pop(s);
        in.slice_end = s->t + c->q;
        int rc = run_push(s, in);
        if (rc)
            return rc;
        left = set_rates(s, c->cap);
    }
    return 0;
}

int sim_rr_settle(sim_rr *s, const sim_rr_cfg *c)
{
    renew_all(s, c);
    int rc = preempt(s, c);
    return rc ? rc : fill(s, c);
}

int sim_rr_add(sim_rr *s, const sim_rr_cfg *c, int32_t job, int32_t inst, double work, double cpu)
{
    sim_rrj j = {.job = job, .inst = inst, .rem = work, .cpu = cpu};
    renew_all(s, c);
    int rc = ring_push(&s->fresh, j);
    return rc ? rc : fill(s, c);
}

int sim_rr_take_done(sim_rr *s, sim_rrj *out)
{
    for (size_t i = 0; i < s->nrun; i++) {
        if (s->run[i].rate <= 0 || !spent(s->run[i].rem, s->run[i].rate, s->t))
            continue;
        *out = s->run[i];
        memmove(&s->run[i], &s->run[i + 1], (s->nrun - i - 1) * sizeof *s->run);
        s->nrun--;
        return 1;
    }
    return 0;
}

double sim_rr_next(const sim_rr *s)
{
    double t = INFINITY;
    for (size_t i = 0; i < s->nrun; i++) {
        const sim_rrj *j = &s->run[i];
        if (j->rate > 0) {
            double d = s->t + (j->rem > 0 ? j->rem / j->rate : 0);
            if (d < t)
                t = d;
        }
        if (waiting(s) && j->slice_end < t)
            t = j->slice_end > s->t ? j->slice_end : s->t;
    }
    return t;
}

void sim_rr_free(sim_rr *s)
{
    free(s->run);
    free(s->fresh.a);
    free(s->old.a);
    memset(s, 0, sizeof *s);
}

/* whatif.c — see whatif.h.
 *
 * A run at factor k replays the recorded arrivals k times over (shifted
 * copies, arrivals.c), so the arrival rate is k times the recorded one
 * over the same span.  The bottleneck is read from the first run past the
 * capacity: the workers when there are fewer of them than cores and a
 * fifth or more of the requests in the system are queued for one; the
 * endpoint itself when its response time alone is close to the SLO; else
 * the CPU, which the requests share (with processor sharing, p95 passes an
 * SLO well before the CPU is fully busy). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "evodash.h"
#include "sim/whatif.h"

#define SERIES_POINTS 300

void whatif_result_free(whatif_result *r)
{
    if (!r)
        return;
    free(r->ep);
    free(r->series);
    r->ep = NULL;
    r->series = NULL;
}

/* covered: the part of the window simulated, s */
static void fill(const live_model *lm, const sim_model *m, sim_run *run, double covered,
                 whatif_result *out)
{
    sim_totals t;
    sim_run_totals(run, &t);
    out->rate = covered > 0 ? (double)t.arrivals / covered : 0;
    out->cpu_s = t.cpu_s;
    int n = sim_run_ninter(run);
    for (int i = 0; i < n; i++) {
        sim_istat st;
        sim_run_istat(run, i, &st);
        for (int e = 0; e < lm->nep; e++) {
            if (strcmp(lm->ep[e].name, st.name))
                continue;
            whatif_ep *x = &out->ep[e];
            *x = (whatif_ep){.started = st.started,
                             .completed = st.completed,
                             .mean = st.mean,
                             .p50 = st.p50,
                             .p95 = st.p95,
                             .p99 = st.p99,
                             .wait = st.wait_mean,
                             .throughput = covered > 0 ? (double)st.completed / covered : 0};
            out->in_system += x->throughput * x->mean;
            out->queue += x->throughput * x->wait;
            break;
        }
    }
    /* the busiest service is the model's (the "default" one runs nothing) */
    for (int s = 0; s < sim_model_nsvc(m); s++) {
        sim_sstat ss;
        sim_run_sstat(run, s, &ss);
        if (ss.util_cpu >= out->util) {
            out->util = ss.util_cpu;
            if (ss.peak_queue > out->peak_queue)
                out->peak_queue = ss.peak_queue;
        }
    }
}

/* How many runs to pool for a run of this many arrivals. */
static int pooled_runs(const whatif_opts *o, double arrivals)
{
    int reps = o->replications > 0 ? o->replications : WHATIF_REPLICATIONS;
    double pool = o->pool_arrivals > 0  ? o->pool_arrivals
                  : o->max_arrivals > 0 ? o->max_arrivals
                                        : WHATIF_POOL_ARRIVALS;
    if (arrivals * reps > pool)
        reps = arrivals > 0 ? (int)(pool / arrivals) : 1;
    return reps < 1 ? 1 : reps;
}

/* Add run x into the sums acc (zeroed before the first run). */
static void pool_add(whatif_result *acc, const whatif_result *x)
{
    for (int e = 0; e < x->nep; e++) {
        whatif_ep *a = &acc->ep[e];
        const whatif_ep *b = &x->ep[e];
        a->started += b->started;
        a->completed += b->completed;
        a->mean += b->mean * (double)b->completed;
        a->wait += b->wait * (double)b->completed;
        a->p50 += b->p50;
        a->p95 += b->p95;
        a->p99 += b->p99;
        a->throughput += b->throughput;
    }
    acc->rate += x->rate;
    acc->cpu_s += x->cpu_s;
    acc->util += x->util;
    acc->in_system += x->in_system;
    acc->queue += x->queue;
    if (x->peak_queue > acc->peak_queue)
        acc->peak_queue = x->peak_queue;
}

/* The sums of n runs into their means (cpu_s stays the total). */
static void pool_end(whatif_result *acc, int n)
{
    for (int e = 0; e < acc->nep; e++) {
        whatif_ep *a = &acc->ep[e];
        double done = (double)a->completed;
        a->mean = done > 0 ? a->mean / done : 0;
        a->wait = done > 0 ? a->wait / done : 0;
        a->started = (uint64_t)llround((double)a->started / n);
        a->completed = (uint64_t)llround(done / n);
        a->p50 /= n;
        a->p95 /= n;
        a->p99 /= n;
        a->throughput /= n;
    }
    acc->rate /= n;
    acc->util /= n;
    acc->in_system /= n;
    acc->queue /= n;
}

int whatif_run(const live_model *lm, const whatif_opts *o, whatif_result *out, char *err,
               size_t errlen)
{
    double k = o->factor > 0 ? o->factor : 1;
    sim_model *m = NULL;
    sim_run *run = NULL;
    whatif_result one = {0};
    int rc;
    memset(out, 0, sizeof *out);
    out->factor = k;
    double arrivals = (double)lm->requests * k;
    if (o->max_arrivals > 0 && arrivals > o->max_arrivals) {
        snprintf(err, errlen,
                 "%.0f arrivals at %gx is more than this server simulates (%.0f): choose a "
                 "shorter range or a smaller factor",
                 arrivals, k, o->max_arrivals);
        return EVD_EINVAL;
    }
    int reps = pooled_runs(o, arrivals);
    size_t nep = (size_t)(lm->nep ? lm->nep : 1);
    if (!(out->ep = calloc(nep, sizeof *out->ep)) || !(one.ep = calloc(nep, sizeof *one.ep))) {
        free(out->ep);
        out->ep = NULL;
        snprintf(err, errlen, "out of memory");
        return EVD_ENOMEM;
    }
    out->nep = one.nep = lm->nep;
    if ((rc = live_model_sim(lm, o->replicas, o->workers, &m, err, errlen)))
        goto done;
    out->replicas = sim_model_svc(m, 0)->scale;
    out->workers = sim_model_svc(m, 0)->workers;
    double span = sim_model_arrivals_end(m);
    uint64_t seed = o->seed ? o->seed : 1;
    for (int i = 0; i < reps; i++) {
        sim_opts so = {.seed = seed + (uint64_t)i,
                       .rate_scale = k,
                       .series = o->series && i == 0,
                       .interval = span > 0 ? span / SERIES_POINTS : 1};
        if (so.interval < 1e-3)
            so.interval = 1e-3;
        if ((rc = sim_run_new(m, &so, &run)) || (rc = sim_run_exec(run))) {
            snprintf(err, errlen, "%s", run ? sim_run_errmsg(run) : "out of memory");
            goto done;
        }
        memset(one.ep, 0, nep * sizeof *one.ep);
        one = (whatif_result){.nep = one.nep, .ep = one.ep};
        fill(lm, m, run, lm->span, &one);
        pool_add(out, &one);
        if (so.series) {
            FILE *f = open_memstream(&out->series, &out->series_len);
            if (!f || sim_run_write_json(run, f) || fclose(f)) {
                rc = EVD_ENOMEM;
                snprintf(err, errlen, "out of memory");
                goto done;
            }
        }
        sim_run_free(run);
        run = NULL;
    }
    pool_end(out, reps);
    out->replications = reps;
done:
    free(one.ep);
    sim_run_free(run);
    sim_model_free(m);
    return rc;
}

static void name_bottleneck(const live_model *lm, const whatif_result *r, double slo,
                            const char *skip, whatif_capacity *c)
{
    const char *svc = lm->service[0] ? lm->service : "default";
    c->worst = -1;
    double worst = 0;
    for (int e = 0; e < r->nep; e++)
        if (!skip[e] && r->ep[e].completed && r->ep[e].p95 > worst) {
            worst = r->ep[e].p95;
            c->worst = e;
        }
    c->util_break = r->util;
    double cores = lm->max_cpu / 100;
    const live_ep *w = c->worst >= 0 ? &lm->ep[c->worst] : NULL;
    if (r->workers > 0 && r->workers < cores && r->in_system > 0 && r->queue / r->in_system >= 0.2)
        snprintf(c->bottleneck, sizeof c->bottleneck,
                 "the workers of service %s (%d per replica, fewer than its %.3g cores): requests "
                 "queue for one while the CPU is %.0f%% busy at %.4gx",
                 svc, r->workers, cores, 100 * r->util, r->factor);
    else if (w && w->demand + w->wait >= 0.8 * slo)
        snprintf(c->bottleneck, sizeof c->bottleneck,
                 "endpoint %s itself: it takes %.1f ms alone, close to the SLO (%.0f ms)", w->name,
                 1e3 * (w->demand + w->wait), 1e3 * slo);
    else
        snprintf(c->bottleneck, sizeof c->bottleneck,
                 "the CPU of service %s: its %d replica(s) are %.0f%% busy at %.4gx, and %s is "
                 "the first endpoint past the SLO",
                 svc, r->replicas, 100 * r->util, r->factor, w ? w->name : "none");
}

/* The state of one search: the endpoints judged, and the stretch of the
 * window (and its simulator model) the last trial ran on. */
typedef struct search {
    const live_model *lm; /* the whole window */
    const whatif_opts *o;
    char *skip; /* per endpoint: left out of the SLO */
    live_model *slice;
    sim_model *m;
    const live_model *m_of; /* what m is the model of */
} search;

static int is_judged(void *u, const char *interaction)
{
    const search *s = u;
    for (int e = 0; e < s->lm->nep; e++)
        if (!strcmp(s->lm->ep[e].name, interaction))
            return !s->skip[e];
    return 1;
}

/* How long a stretch of the window a run at factor k simulates: all of
 * it, or, on a budget, the part that keeps to it. */
static double stretch(const search *s, double k)
{
    double want = (double)s->lm->requests * k, budget = s->o->trial_budget;
    return budget > 0 && want > budget ? s->lm->span * budget / want : s->lm->span;
}

/* The model of the window's busiest stretch of len seconds (the whole
 * window when len covers it). */
static const live_model *model_for(search *s, double len, char *err, size_t errlen)
{
    if (len >= s->lm->span)
        return s->lm;
    if (s->slice && fabs(s->slice->span - len) <= 1e-9 * len)
        return s->slice;
    if (s->m_of == s->slice) {
        sim_model_free(s->m);
        s->m = NULL;
        s->m_of = NULL;
    }
    live_model_free(s->slice);
    s->slice = NULL;
    if (live_model_busiest(s->lm, len, &s->slice)) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    return s->slice;
}

static int on_trial(void *u, double k, double *p95, double *rate, char *err, size_t errlen)
{
    search *s = u;
    const live_model *use = model_for(s, stretch(s, k), err, errlen);
    if (!use)
        return EVD_ENOMEM;
    if (s->m_of != use) {
        sim_model_free(s->m);
        s->m = NULL;
        s->m_of = NULL;
        int rc = live_model_sim(use, s->o->replicas, s->o->workers, &s->m, err, errlen);
        if (rc)
            return rc;
        s->m_of = use;
    }
    /* pooled as a what-if's runs are: the mean of each run's worst p95,
     * which is at least the worst of the endpoints' mean p95s */
    int reps = pooled_runs(s->o, (double)use->requests * k);
    uint64_t seed = s->o->seed ? s->o->seed : 1;
    *p95 = *rate = 0;
    for (int i = 0; i < reps; i++) {
        sim_opts so = {.seed = seed + (uint64_t)i};
        double w, r;
        int rc = sim_trial_run(s->m, &so, k, is_judged, s, &w, &r, err, errlen);
        if (rc)
            return rc;
        *p95 += w / reps;
        *rate += r / reps;
    }
    return 0;
}

int whatif_find_capacity(const live_model *lm, const whatif_opts *o, double slo_s,
                         whatif_capacity *out, FILE *log, char *err, size_t errlen)
{
    int rc = 0;
    memset(out, 0, sizeof *out);
    out->worst = -1;
    search s = {.lm = lm, .o = o, .skip = calloc((size_t)(lm->nep ? lm->nep : 1), 1)};
    if (!s.skip) {
        snprintf(err, errlen, "out of memory");
        return EVD_ENOMEM;
    }
    /* an endpoint slower than the SLO alone misses it at any load: judge
     * the others (a search over all would only find a factor small enough
     * to leave its requests out) */
    int judged = 0;
    for (int e = 0; e < lm->nep; e++) {
        if (lm->ep[e].alone_p95 > slo_s) {
            s.skip[e] = 1;
            if (out->nleft_out < WHATIF_LEFT_OUT_MAX)
                out->left_out[out->nleft_out++] = e;
            if (out->worst < 0 || lm->ep[e].alone_p95 > lm->ep[out->worst].alone_p95)
                out->worst = e;
        } else {
            judged++;
        }
    }
    if (!judged) {
        snprintf(out->bottleneck, sizeof out->bottleneck,
                 "every endpoint is slower than the SLO (%.0f ms) alone: %s takes %.1f ms (p95)",
                 1e3 * slo_s, lm->ep[out->worst].name, 1e3 * lm->ep[out->worst].alone_p95);
        goto done;
    }
    out->worst = -1;
    /* the trials, read back from the search's log (one line per trial),
     * for the page's p95-by-load chart */
    char *text = NULL;
    size_t tlen = 0;
    FILE *mem = open_memstream(&text, &tlen);
    sim_capacity cap;
    rc = sim_search_capacity(on_trial, &s, slo_s, &cap, mem ? mem : log, err, errlen);
    if (mem && !fclose(mem)) {
        for (char *line = text; line && *line;) {
            char *nl = strchr(line, '\n');
            double k, rate, p95;
            if (out->ntrials < WHATIF_TRIALS_MAX &&
                sscanf(line, "capacity: x%lf %lf arrivals/s p95 %lf ms", &k, &rate, &p95) == 3) {
                out->trial_factor[out->ntrials] = k;
                out->trial_p95[out->ntrials++] = p95 / 1e3;
            }
            if (log)
                fprintf(log, "%.*s\n", nl ? (int)(nl - line) : (int)strlen(line), line);
            line = nl ? nl + 1 : NULL;
        }
    }
    free(text);
    double past;
    if (rc == EVD_EINVAL && strstr(err, "still met")) {
        out->factor = 65536;
        out->unbounded = 1;
        snprintf(out->bottleneck, sizeof out->bottleneck,
                 "none: the SLO still holds at 65536x the load, the most the search tries");
        rc = 0;
        goto done;
    }
    if (rc == EVD_EINVAL && strstr(err, "missed even")) {
        past = 1.0 / 65536; /* no load meets it: what breaks it is the endpoint itself */
        rc = 0;
    } else if (rc) {
        goto done;
    } else {
        out->factor = cap.factor;
        out->rate = cap.rate;
        out->p95 = cap.p95;
        past = cap.factor * 1.02;
        if (stretch(&s, cap.factor) < lm->span)
            out->window_s = stretch(&s, cap.factor);
    }
    /* what saturates: one run just past the capacity, on its stretch */
    const live_model *use = model_for(&s, stretch(&s, past), err, errlen);
    if (!use) {
        rc = EVD_ENOMEM;
        goto done;
    }
    whatif_opts po = *o;
    po.factor = past;
    po.series = 0;
    po.max_arrivals = 0;
    po.trial_budget = 0;
    po.replications = 1; /* only which resource saturates */
    whatif_result r;
    if (!(rc = whatif_run(use, &po, &r, err, errlen)))
        name_bottleneck(lm, &r, slo_s, s.skip, out);
    whatif_result_free(&r);
done:
    sim_model_free(s.m);
    live_model_free(s.slice);
    free(s.skip);
    return rc;
}

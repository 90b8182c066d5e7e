/* livemodel.c — build a capacity model from the store (see livemodel.h).
 *
 * One pass over each source:
 *   - the service's raw requests in the window: per endpoint its arrival
 *     times and durations; per host, which requests ran alone (no other
 *     request of the service on that host overlapped them), whose durations
 *     are the endpoint's service time unslowed by sharing; per instance and
 *     per host, the most requests in flight at once;
 *   - the CPU samples of its instances: the utilisation-law regression
 *     (demand.c), the cores each host has, and the measured utilisation;
 *     a sample whose host lost more than max_steal of its CPU to steal is
 *     left out of the regression (a neighbour that busy slows the
 *     requests' CPU too), unless that would leave out most of them;
 *   - the call trees of its profiled requests.
 *
 * Then each endpoint gets one demand, in this order of preference:
 *   regression  when the endpoint had requests in >= 3 samples and its
 *               coefficient is precise: standard error <= 25% of the
 *               coefficient, or <= 5% of the endpoint's solo duration (an
 *               endpoint that mostly waits has a demand near 0, known
 *               well enough);
 *   common      its solo duration (>= 3 requests alone) plus the
 *               overhead b fitted as common to the endpoints with >= 20
 *               requests alone (demand.h), when the F-test does not reject
 *               that structure (p >= 0.05) and b is precise by the same
 *               rule: an endpoint in too few samples for a coefficient of
 *               its own, in a service whose endpoints take their time alone
 *               plus the same per-request work;
 *   calltree    when >= 5 of its requests were profiled (the span only:
 *               it misses the work outside it that the fits have);
 *   duration    else: its solo (or median) duration, all of it on the CPU,
 *               which overestimates the demand of one that waits.
 * What the solo duration has beyond the demand (more than 15% of it) is
 * time off the CPU: a function that holds no CPU share (modelwrite.c).
 *
 * Replicas are hosts (CPU is the resource, and instances on one host share
 * its cores); the cores of a host are the CPUs its processes may run on,
 * less the background and the share the host lost to steal while it was
 * recorded (the replicas are modelled on the host as it was).
 * Workers: an instance that never ran two requests at once over >= 50
 * requests is one worker (a sync worker process); any other has no limit
 * seen, and the host's workers are the sum of its instances' when all are
 * single. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "evodash.h"
#include "sim/demand.h"
#include "sim/livemodel.h"
#include "store/read.h"
#include "store/usage.h"

#define SOLO_MIN_REQUESTS   50 /* to call an instance single-worker */
#define REG_MIN_ROWS        3
#define TREE_MIN_REQUESTS   5
#define WAIT_SHARE          0.15
#define DETERMINISTIC_BELOW 0.10 /* a cv under this: deterministic */
#define COMMON_MIN_SOLO     20   /* requests alone, for a base of the common fit */

typedef struct hreq {
    int64_t start, end; /* us */
    int ep, inst;
} hreq;

typedef struct vec {
    void *v;
    size_t n, cap;
} vec;

static int vec_push(vec *a, const void *item, size_t size)
{
    if (a->n == a->cap) {
        size_t cap = a->cap ? a->cap * 2 : 64;
        void *p = realloc(a->v, cap * size);
        if (!p)
            return EVD_ENOMEM;
        a->v = p;
        a->cap = cap;
    }
    memcpy((char *)a->v + a->n * size, item, size);
    a->n++;
    return 0;
}

typedef struct inst_info {
    int64_t id;
    int host;
    size_t requests;
    int peak;
    double cpu_s, dt_s; /* from the samples */
    int ncpu;
} inst_info;

/* The build's scratch state. */
typedef struct build {
    live_model *lm;
    const live_opts *o;
    /* every endpoint of the service, by id (sorted) */
    int64_t *eid;
    char **ename;
    int neid;
    vec *durs;  /* per endpoint of eid: durations, s (double) */
    vec *times; /* per endpoint: arrival offsets, s (double) */
    inst_info *inst;
    int ninst;
    char **host;
    int nhost;
    vec *hreqs; /* per host */
    int64_t t0;
    int64_t tmax;
    size_t nreq, max_req;
    demand_reg *reg;     /* the samples below the steal limit */
    demand_reg *reg_all; /* every sample, for when too few are below it */
    double max_steal;    /* share; > 1: no limit */
    double steal_s, steal_dt;
    double *counts;
    double agent_s, agent_dt; /* evodash's own threads, in the samples that say */
    /* call trees */
    double *tree_sum;
    size_t *tree_n;
    vec t_indent, t_fn, t_dur;
    int64_t t_req, t_ep;
    char *err;
    size_t errlen;
} build;

static int bfail(build *b, int rc, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int bfail(build *b, int rc, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(b->err, b->errlen, fmt, ap);
    va_end(ap);
    return rc;
}

/* The spread of a request's time alone is partly its host's: other
 * threads (the agent's writer, the server's own) and interrupts take the
 * CPU from it now and then, the more the longer it runs, whatever its
 * work.  That part is already in the model as the background, and
 * counting it again in the demand's variation gives time slicing too many
 * requests that overrun a slice.  The variance that every endpoint's time
 * alone has, per ms, is taken as the host's (the least of them, over the
 * endpoints with at least 20 requests alone; at least two are needed to
 * tell) and taken off each; what is left below DETERMINISTIC_BELOW is
 * deterministic. */
static void host_noise(live_model *lm)
{
    double per_s = INFINITY;
    int n = 0;
    for (int e = 0; e < lm->nep; e++) {
        const live_ep *x = &lm->ep[e];
        if (x->nsolo >= 20 && x->solo_mean > 0) {
            double sd = x->cv * x->solo_mean, v = sd * sd / x->solo_mean;
            if (v < per_s)
                per_s = v;
            n++;
        }
    }
    for (int e = 0; e < lm->nep; e++) {
        live_ep *x = &lm->ep[e];
        double m = x->nsolo >= 20 ? x->solo_mean : x->mean;
        if (n >= 2 && m > 0) {
            double sd = x->cv * m, v = sd * sd - per_s * m;
            x->cv = v > 0 ? sqrt(v) / m : 0;
        }
        if (x->cv < DETERMINISTIC_BELOW)
            x->cv = 0;
    }
}

static int cmp_i64(const void *x, const void *y)
{
    int64_t a = *(const int64_t *)x, b = *(const int64_t *)y;
    return (a > b) - (a < b);
}

static int cmp_double(const void *x, const void *y)
{
    double a = *(const double *)x, b = *(const double *)y;
    return (a > b) - (a < b);
}

static int ep_index(const build *b, int64_t id)
{
    int lo = 0, hi = b->neid;
    while (lo < hi) {
        int mid = (lo + hi) / 2;
        if (b->eid[mid] < id)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < b->neid && b->eid[lo] == id ? lo : -1;
}

static int inst_index(const build *b, int64_t id)
{
    for (int i = 0; i < b->ninst; i++)
        if (b->inst[i].id == id)
            return i;
    return -1;
}

/* ---- dimensions ----------------------------------------------------------- */

typedef struct ep_pair {
    int64_t id;
    char *name;
} ep_pair;

static int on_endpoint(void *u, const store_endpoint_row *r)
{
    vec *v = u;
    ep_pair p = {r->id, strdup(r->name ? r->name : "")};
    if (!p.name || vec_push(v, &p, sizeof p)) {
        free(p.name);
        return EVD_ENOMEM;
    }
    return 0;
}

static int cmp_pair(const void *x, const void *y)
{
    return cmp_i64(&((const ep_pair *)x)->id, &((const ep_pair *)y)->id);
}

static int on_instance(void *u, const store_instance_row *r)
{
    build *b = u;
    const char *h = r->host && *r->host ? r->host : "?";
    int k = 0;
    while (k < b->nhost && strcmp(b->host[k], h))
        k++;
    if (k == b->nhost) {
        char **a = realloc(b->host, (size_t)(b->nhost + 1) * sizeof *a);
        if (!a)
            return EVD_ENOMEM;
        b->host = a;
        if (!(b->host[b->nhost] = strdup(h)))
            return EVD_ENOMEM;
        b->nhost++;
    }
    inst_info *a = realloc(b->inst, (size_t)(b->ninst + 1) * sizeof *a);
    if (!a)
        return EVD_ENOMEM;
    b->inst = a;
    b->inst[b->ninst++] = (inst_info){.id = r->id, .host = k};
    return 0;
}

static int load_dims(build *b, store *st)
{
    live_model *lm = b->lm;
    store_filter f = {.service_id = lm->service_id};
    vec eps = {0};
    int rc = store_endpoints(st, &f, STORE_EP_BY_ID, on_endpoint, &eps);
    if (rc && rc != EVD_ENOMEM)
        rc = bfail(b, rc, "%s", store_errmsg(st));
    if (!rc && !eps.n)
        rc = bfail(b, EVD_ENOENT, "service '%s' has no endpoints", lm->service);
    if (!rc) {
        qsort(eps.v, eps.n, sizeof(ep_pair), cmp_pair);
        b->neid = (int)eps.n;
        b->eid = calloc(eps.n, sizeof *b->eid);
        b->ename = calloc(eps.n, sizeof *b->ename);
        b->durs = calloc(eps.n, sizeof *b->durs);
        b->times = calloc(eps.n, sizeof *b->times);
        b->counts = calloc(eps.n, sizeof *b->counts);
        b->tree_sum = calloc(eps.n, sizeof *b->tree_sum);
        b->tree_n = calloc(eps.n, sizeof *b->tree_n);
        if (!b->eid || !b->ename || !b->durs || !b->times || !b->counts || !b->tree_sum ||
            !b->tree_n)
            rc = EVD_ENOMEM;
    }
    for (size_t i = 0; i < eps.n; i++) {
        ep_pair *p = &((ep_pair *)eps.v)[i];
        if (!rc) {
            b->eid[i] = p->id;
            b->ename[i] = p->name;
        } else {
            free(p->name);
        }
    }
    free(eps.v);
    if (!rc && (rc = store_instances(st, &f, on_instance, b)) && rc != EVD_ENOMEM)
        rc = bfail(b, rc, "%s", store_errmsg(st));
    if (!rc && !(b->hreqs = calloc((size_t)(b->nhost ? b->nhost : 1), sizeof *b->hreqs)))
        rc = EVD_ENOMEM;
    return rc;
}

/* ---- requests ----------------------------------------------------------- */

static int on_request(void *u, const store_usage_req *r)
{
    build *b = u;
    int e = ep_index(b, r->endpoint_id);
    if (e < 0)
        return 0;
    if (++b->nreq > b->max_req)
        return bfail(b, EVD_EINVAL, "more than %zu requests in the window: choose a shorter one",
                     b->max_req);
    if (b->nreq == 1)
        b->t0 = r->ts_us;
    b->tmax = r->ts_us;
    double t = (double)(r->ts_us - b->t0) / 1e6, d = (double)r->duration_us / 1e6;
    if (vec_push(&b->times[e], &t, sizeof t) || vec_push(&b->durs[e], &d, sizeof d))
        return EVD_ENOMEM;
    int k = inst_index(b, r->instance_id);
    if (k >= 0) {
        hreq h = {r->ts_us, r->ts_us + r->duration_us, e, k};
        b->inst[k].requests++;
        if (vec_push(&b->hreqs[b->inst[k].host], &h, sizeof h))
            return EVD_ENOMEM;
    }
    return 0;
}

/* The most intervals [start, end) open at once; starts sorted. */
static int peak_overlap(const int64_t *start, int64_t *end, size_t n)
{
    qsort(end, n, sizeof *end, cmp_i64);
    int open = 0, peak = 0;
    size_t j = 0;
    for (size_t i = 0; i < n; i++) {
        while (j < n && end[j] <= start[i]) {
            j++;
            open--;
        }
        if (++open > peak)
            peak = open;
    }
    return peak;
}

/* Concurrency per instance and host, and each endpoint's solo durations. */
static int topology(build *b, vec *solo)
{
    live_model *lm = b->lm;
    int rc = 0;
    int64_t *st = NULL, *en = NULL;
    double busy = 0;
    int hosts = 0;
    lm->workers_seen = 0;
    for (int h = 0; h < b->nhost && !rc; h++) {
        vec *v = &b->hreqs[h];
        hreq *q = v->v;
        if (!v->n)
            continue;
        hosts++;
        free(st);
        free(en);
        st = malloc(v->n * sizeof *st);
        en = malloc(v->n * sizeof *en);
        if (!st || !en) {
            rc = EVD_ENOMEM;
            break;
        }
        int64_t maxend = INT64_MIN;
        for (size_t i = 0; i < v->n; i++) {
            int alone = q[i].start >= maxend && (i + 1 == v->n || q[i + 1].start >= q[i].end);
            if (q[i].end > maxend)
                maxend = q[i].end;
            busy += (double)(q[i].end - q[i].start) / 1e6;
            if (alone) {
                double d = (double)(q[i].end - q[i].start) / 1e6;
                if ((rc = vec_push(&solo[q[i].ep], &d, sizeof d)))
                    break;
            }
            st[i] = q[i].start;
            en[i] = q[i].end;
        }
        int peak = peak_overlap(st, en, v->n);
        if (peak > lm->peak_conc)
            lm->peak_conc = peak;
        /* per instance of this host */
        int single = 1, workers = 0;
        for (int k = 0; k < b->ninst && !rc; k++) {
            if (b->inst[k].host != h || !b->inst[k].requests)
                continue;
            size_t m = 0;
            for (size_t i = 0; i < v->n; i++)
                if (q[i].inst == k) {
                    st[m] = q[i].start;
                    en[m++] = q[i].end;
                }
            b->inst[k].peak = peak_overlap(st, en, m);
            lm->instances++;
            if (b->inst[k].peak == 1 && m >= SOLO_MIN_REQUESTS)
                workers++;
            else
                single = 0;
        }
        if (single && workers > lm->workers_seen)
            lm->workers_seen = workers;
        if (!single)
            lm->workers_seen = -1; /* no limit seen on some host */
    }
    if (lm->workers_seen < 0)
        lm->workers_seen = 0;
    lm->hosts = hosts;
    lm->mean_conc = hosts && lm->span > 0 ? busy / lm->span / hosts : 0;
    free(st);
    free(en);
    return rc;
}

/* ---- CPU samples ----------------------------------------------------------- */

static int on_sample(void *u, const store_usage_row *r)
{
    build *b = u;
    int k = inst_index(b, r->s.instance_id);
    if (k < 0 || r->s.interval_us <= 0)
        return 0;
    memset(b->counts, 0, (size_t)b->neid * sizeof *b->counts);
    for (size_t i = 0; i < r->ncounts; i++) {
        int e = ep_index(b, r->counts[i].endpoint_id);
        if (e >= 0)
            b->counts[e] += (double)r->counts[i].count;
    }
    double dt = (double)r->s.interval_us / 1e6, cpu = (double)r->s.cpu_us / 1e6;
    /* The monitor's own threads are left out of the regression: their work
     * is paid per batch, at a rate that hardly moves with the load, and
     * comes back as background (live_model.agent).  A sample from before
     * they were measured keeps it in: a store upgraded in the middle of a
     * window fits a little more noisily, not wrongly. */
    double own = 0;
    if (r->s.agent_us >= 0) {
        own = (double)r->s.agent_us / 1e6;
        if (own > cpu)
            own = cpu;
        b->agent_s += own;
        b->agent_dt += dt;
        b->lm->agent_samples++;
    }
    int stolen = 0;
    if (r->s.steal_us >= 0) {
        double share = (double)r->s.steal_us / (double)r->s.interval_us;
        b->steal_s += share * dt;
        b->steal_dt += dt;
        if (share > b->lm->steal_max)
            b->lm->steal_max = share;
        b->lm->steal_samples++;
        stolen = share > b->max_steal;
    }
    if ((!stolen && demand_reg_add(b->reg, dt, cpu - own, b->counts)) ||
        demand_reg_add(b->reg_all, dt, cpu - own, b->counts))
        return EVD_ENOMEM;
    b->lm->samples_stolen += stolen;
    b->inst[k].cpu_s += cpu;
    b->inst[k].dt_s += dt;
    if (r->s.ncpu > b->inst[k].ncpu)
        b->inst[k].ncpu = r->s.ncpu;
    b->lm->samples++;
    return 0;
}

/* ---- call trees ---------------------------------------------------------- */

static void tree_reset(build *b)
{
    for (size_t i = 0; i < b->t_fn.n; i++)
        free(((char **)b->t_fn.v)[i]);
    b->t_fn.n = b->t_indent.n = b->t_dur.n = 0;
}

static int tree_flush(build *b)
{
    if (b->t_fn.n) {
        int e = ep_index(b, b->t_ep);
        int64_t cpu =
            demand_tree_cpu(b->t_indent.v, (const char *const *)b->t_fn.v, b->t_dur.v, b->t_fn.n);
        if (cpu < 0)
            return EVD_ENOMEM;
        if (e >= 0) {
            b->tree_sum[e] += (double)cpu / 1e6;
            b->tree_n[e]++;
        }
    }
    tree_reset(b);
    return 0;
}

static int on_node(void *u, const store_usage_node *n)
{
    build *b = u;
    int rc;
    if (n->request_id != b->t_req && (rc = tree_flush(b)))
        return rc;
    b->t_req = n->request_id;
    b->t_ep = n->endpoint_id;
    char *fn = strdup(n->function);
    if (!fn)
        return EVD_ENOMEM;
    if (vec_push(&b->t_fn, &fn, sizeof fn)) {
        free(fn);
        return EVD_ENOMEM;
    }
    if (vec_push(&b->t_indent, &n->indent, sizeof n->indent) ||
        vec_push(&b->t_dur, &n->duration_us, sizeof n->duration_us))
        return EVD_ENOMEM;
    return 0;
}

/* ---- the estimates ----------------------------------------------------- */

static double pctl(const double *v, size_t n, double p)
{
    if (n == 0)
        return 0;
    size_t k = (size_t)ceil(p * (double)n);
    return v[k ? k - 1 : 0];
}

/* A fitted coefficient x with standard error se is precise: within 25%,
 * or within 5% of the endpoint's own duration (a demand near 0 that is
 * known well). */
static int precise(double x, double se, double own)
{
    return isfinite(se) && ((x > 0 && se <= 0.25 * x) || se <= 0.05 * own);
}

/* The bases of the common fit: each endpoint's mean duration alone, when
 * enough of its requests ran alone; -1 for the others. */
static void common_bases(const build *b, const vec *solo, double *base)
{
    for (int e = 0; e < b->neid; e++) {
        const double *sd = solo[e].v;
        double s = 0;
        for (size_t i = 0; i < solo[e].n; i++)
            s += sd[i];
        base[e] = solo[e].n >= COMMON_MIN_SOLO ? s / (double)solo[e].n : -1;
    }
}

/* Fill lm->ep from the endpoints that had requests. */
static int estimate(build *b, vec *solo, const double *d, const double *se, const size_t *rows,
                    int have_fit)
{
    live_model *lm = b->lm;
    if (!(lm->ep = calloc((size_t)b->neid, sizeof *lm->ep)))
        return EVD_ENOMEM;
    for (int e = 0; e < b->neid; e++) {
        vec *tv = &b->times[e], *dv = &b->durs[e];
        if (!tv->n)
            continue;
        live_ep *x = &lm->ep[lm->nep++];
        x->name = b->ename[e];
        b->ename[e] = NULL;
        x->id = b->eid[e];
        x->n = tv->n;
        x->rate = lm->span > 0 ? (double)tv->n / lm->span : 0;
        double *dur = dv->v, sum = 0;
        qsort(dur, dv->n, sizeof *dur, cmp_double);
        for (size_t i = 0; i < dv->n; i++)
            sum += dur[i];
        x->mean = sum / (double)dv->n;
        x->p50 = pctl(dur, dv->n, 0.50);
        x->p95 = pctl(dur, dv->n, 0.95);
        x->p99 = pctl(dur, dv->n, 0.99);
        double *sd = solo[e].v;
        x->nsolo = solo[e].n;
        if (x->nsolo) {
            double s = 0, s2 = 0;
            for (size_t i = 0; i < x->nsolo; i++)
                s += sd[i];
            x->solo_mean = s / (double)x->nsolo;
            for (size_t i = 0; i < x->nsolo; i++)
                s2 += (sd[i] - x->solo_mean) * (sd[i] - x->solo_mean);
            x->solo_cv = x->nsolo > 1 && x->solo_mean > 0
                             ? sqrt(s2 / (double)(x->nsolo - 1)) / x->solo_mean
                             : 0;
        }
        if (x->nsolo >= 5) {
            qsort(sd, x->nsolo, sizeof *sd, cmp_double);
            x->alone_p95 = pctl(sd, x->nsolo, 0.95);
        } else {
            x->alone_p95 = x->p95;
        }
        double own = x->nsolo >= 3 ? x->solo_mean : x->p50;
        x->dur_d = own;
        if (have_fit) {
            x->reg_d = d[e];
            x->reg_se = se[e];
            x->reg_rows = rows[e];
        }
        x->ntree = b->tree_n[e];
        x->tree_d = x->ntree ? b->tree_sum[e] / (double)x->ntree : 0;
        int reg_ok = have_fit && x->reg_rows >= REG_MIN_ROWS && precise(x->reg_d, x->reg_se, own);
        if (have_fit && lm->common_n >= 2 && x->nsolo >= 3)
            x->common_d = x->solo_mean + lm->common_b;
        if (reg_ok) {
            x->source = LIVE_SRC_REGRESSION;
            x->demand = x->reg_d;
        } else if (x->common_d > 0 && lm->common_p >= LIVE_COMMON_MIN_P &&
                   precise(lm->common_b, lm->common_b_se, own)) {
            x->source = LIVE_SRC_COMMON;
            x->demand = x->common_d;
        } else if (x->ntree >= TREE_MIN_REQUESTS) {
            x->source = LIVE_SRC_CALLTREE;
            x->demand = x->tree_d;
        } else {
            x->source = LIVE_SRC_DURATION;
            x->demand = own;
        }
        x->wait = own > x->demand * (1 + WAIT_SHARE) ? own - x->demand : 0;
        /* the variation of its time alone; with too few alone, of all its
         * durations (which queueing widens a little) */
        double cv = x->solo_cv;
        if (x->nsolo < 20 && dv->n >= 5) {
            double s2 = 0;
            for (size_t i = 0; i < dv->n; i++)
                s2 += (dur[i] - x->mean) * (dur[i] - x->mean);
            cv = x->mean > 0 ? sqrt(s2 / (double)(dv->n - 1)) / x->mean : 0;
        }
        x->cv = x->nsolo >= 20 || dv->n >= 5 ? cv : 0;
        x->times = tv->v;
        x->ntimes = tv->n;
        tv->v = NULL;
        tv->n = tv->cap = 0;
    }
    host_noise(lm);
    return 0;
}

/* ---- entry point --------------------------------------------------------- */

static int find_service(build *b, store *st)
{
    live_model *lm = b->lm;
    const char *name = b->o->service;
    int rc;
    if (b->o->service_id > 0) {
        lm->service_id = b->o->service_id;
        return 0; /* named below */
    }
    if (name && *name) {
        if ((rc = store_service_find(st, name, &lm->service_id)))
            return bfail(b, rc, rc == EVD_ENOENT ? "no service '%s' in the store" : "%s",
                         rc == EVD_ENOENT ? name : store_errmsg(st));
        snprintf(lm->service, sizeof lm->service, "%s", name);
        return 0;
    }
    int64_t n = 0;
    if ((rc = store_services_count(st, &n, &lm->service_id)))
        return bfail(b, rc, "%s", store_errmsg(st));
    if (n != 1)
        return bfail(b, EVD_EINVAL,
                     n ? "the store holds %lld services: name one (--service NAME)"
                       : "the store has no service yet",
                     (long long)n);
    return 0;
}

static int service_name(void *u, const store_service_row *r)
{
    live_model *lm = u;
    if (r->id == lm->service_id)
        snprintf(lm->service, sizeof lm->service, "%s", r->name ? r->name : "");
    return 0;
}

int live_model_build(store *st, const live_opts *o, live_model **out, char *err, size_t errlen)
{
    int rc;
    live_model *lm = calloc(1, sizeof *lm);
    build b = {.lm = lm, .o = o, .err = err, .errlen = errlen, .t_req = -1};
    vec *solo = NULL;
    double *d = NULL, *se = NULL, *base = NULL;
    size_t *rows = NULL;
    *out = NULL;
    err[0] = 0;
    if (!lm)
        return bfail(&b, EVD_ENOMEM, "out of memory");
    b.max_req = o->max_requests ? o->max_requests : 20000000;
    if ((rc = find_service(&b, st)))
        goto done;
    if (!lm->service[0] && (rc = store_services(st, service_name, lm)))
        goto store_err;
    int64_t from = o->from_us, to = o->to_us;
    if (!from && !to) {
        int64_t lo, hi;
        if ((rc = store_usage_span(st, lm->service_id, &lo, &hi))) {
            rc = bfail(&b, rc, "service '%s': %s", lm->service, store_errmsg(st));
            goto done;
        }
        double h = o->hours > 0 ? o->hours : 24;
        to = hi + 1;
        from = to - (int64_t)(h * 3600e6);
    }
    lm->from_us = from;
    lm->to_us = to;
    if ((rc = load_dims(&b, st)))
        goto done;
    if ((rc = store_usage_requests(st, lm->service_id, from, to, on_request, &b))) {
        if (rc == EVD_EINVAL || rc == EVD_ENOMEM)
            goto done;
        goto store_err;
    }
    lm->requests = b.nreq;
    if (!b.nreq) {
        rc = bfail(&b, EVD_ENOENT, "service '%s' has no requests in the window", lm->service);
        goto done;
    }
    /* the span the arrivals cover, plus one mean gap so that a rate is
     * requests over the time they came in */
    lm->span = (double)(b.tmax - b.t0) / 1e6;
    lm->span = b.nreq > 1 ? lm->span * (double)b.nreq / (double)(b.nreq - 1) : 1;
    if (!(solo = calloc((size_t)b.neid, sizeof *solo))) {
        rc = EVD_ENOMEM;
        goto done;
    }
    if ((rc = topology(&b, solo)))
        goto done;
    b.max_steal = o->max_steal > 0 ? o->max_steal : o->max_steal < 0 ? 2 : LIVE_STEAL_MAX;
    if (!(b.reg = demand_reg_new(b.neid)) || !(b.reg_all = demand_reg_new(b.neid))) {
        rc = EVD_ENOMEM;
        goto done;
    }
    if ((rc = store_usage_samples(st, lm->service_id, from, to, on_sample, &b))) {
        if (rc == EVD_ENOMEM)
            goto done;
        goto store_err;
    }
    if ((rc = store_usage_trees(st, lm->service_id, from, to, on_node, &b)) ||
        (rc = tree_flush(&b))) {
        if (rc == EVD_ENOMEM)
            goto done;
        goto store_err;
    }
    d = calloc((size_t)b.neid, sizeof *d);
    se = calloc((size_t)b.neid, sizeof *se);
    rows = calloc((size_t)b.neid, sizeof *rows);
    base = calloc((size_t)b.neid, sizeof *base);
    if (!d || !se || !rows || !base) {
        rc = EVD_ENOMEM;
        goto done;
    }
    common_bases(&b, solo, base);
    lm->steal_mean = b.steal_dt > 0 ? b.steal_s / b.steal_dt : 0;
    if (lm->samples_stolen && 2 * lm->samples_stolen > lm->samples) {
        lm->samples_stolen = 0; /* most samples were noisy: fit them all, and say so */
        lm->steal_kept = 1;
    }
    demand_fit fit = {0};
    int have_fit = lm->samples > 0 &&
                   !demand_reg_solve(lm->steal_kept ? b.reg_all : b.reg, base, d, se, rows, &fit);
    lm->common_n = fit.common.endpoints;
    lm->common_b = fit.common.b;
    lm->common_b_se = fit.common.b_se;
    lm->common_p = fit.common.p;
    lm->r2 = fit.r2;
    lm->samples_dropped = (size_t)fit.dropped;
    lm->rmse = fit.rmse;
    lm->u0 = fit.u0;
    lm->u0_se = fit.u0_se;
    if ((rc = estimate(&b, solo, d, se, rows, have_fit)))
        goto done;
    /* cores, and the utilisation each host was measured at */
    double util = 0;
    int uhosts = 0;
    lm->cores = 0;
    for (int h = 0; h < b.nhost; h++) {
        double rate = 0;
        int cores = 0, any = 0;
        for (int k = 0; k < b.ninst; k++)
            if (b.inst[k].host == h && b.inst[k].dt_s > 0) {
                rate += b.inst[k].cpu_s / b.inst[k].dt_s;
                if (b.inst[k].ncpu > cores)
                    cores = b.inst[k].ncpu;
                any = 1;
            }
        if (!any)
            continue;
        util += rate / cores;
        uhosts++;
        if (cores > lm->cores)
            lm->cores = cores;
    }
    lm->util = uhosts ? util / uhosts : -1;
    if (!lm->cores)
        lm->cores = 1; /* no samples: assumed */
    lm->replicas = o->replicas > 0 ? o->replicas : lm->hosts;
    lm->workers = o->workers > 0 ? o->workers : o->workers < 0 ? 0 : lm->workers_seen;
    int cores = o->cores > 0 ? o->cores : lm->cores;
    lm->quantum = o->quantum > 0 ? o->quantum : o->quantum < 0 ? 0 : LIVE_QUANTUM_S;
    /* the monitor's own threads, per instance */
    lm->agent = b.agent_dt > 0 ? b.agent_s / b.agent_dt : 0;
    /* the background CPU (U0 and the monitor's, per instance) is not the
     * requests' to use, and nor is the time the hypervisor gave to other
     * machines: while stolen a core runs nothing of the replica's, so it
     * is as if the replica had that share less of each core */
    double per_host = lm->hosts ? (double)lm->instances / lm->hosts : 1;
    lm->steal = o->steal > 0 ? o->steal : o->steal < 0 ? 0 : lm->steal_mean;
    lm->max_cpu = 100.0 * cores * (1 - lm->steal) - 100.0 * (lm->u0 + lm->agent) * per_host;
    if (lm->max_cpu < 10.0 * cores)
        lm->max_cpu = 10.0 * cores;
    rc = 0;
    goto done;
store_err:
    rc = bfail(&b, rc, "%s", store_errmsg(st));
done:
    if (rc == EVD_ENOMEM && !err[0])
        bfail(&b, rc, "out of memory");
    tree_reset(&b);
    free(b.t_fn.v);
    free(b.t_indent.v);
    free(b.t_dur.v);
    for (int e = 0; e < b.neid; e++) {
        free(b.ename[e]);
        free(b.durs[e].v);
        free(b.times[e].v);
        if (solo)
            free(solo[e].v);
    }
    for (int h = 0; h < b.nhost; h++) {
        free(b.host[h]);
        if (b.hreqs)
            free(b.hreqs[h].v);
    }
    free(solo);
    free(d);
    free(se);
    free(rows);
    free(base);
    free(b.eid);
    free(b.ename);
    free(b.durs);
    free(b.times);
    free(b.counts);
    free(b.tree_sum);
    free(b.tree_n);
    free(b.inst);
    free(b.host);
    free(b.hreqs);
    demand_reg_free(b.reg);
    demand_reg_free(b.reg_all);
    if (rc)
        live_model_free(lm);
    else
        *out = lm;
    return rc;
}

void live_model_free(live_model *lm)
{
    if (!lm)
        return;
    for (int i = 0; i < lm->nep; i++) {
        free(lm->ep[i].name);
        free(lm->ep[i].times);
    }
    free(lm->ep);
    free(lm);
}

int live_model_busiest(const live_model *lm, double length, live_model **out)
{
    *out = NULL;
    size_t n = 0;
    for (int i = 0; i < lm->nep; i++)
        n += lm->ep[i].ntimes;
    double *all = malloc((n ? n : 1) * sizeof *all);
    live_model *c = calloc(1, sizeof *c);
    live_ep *eps = calloc((size_t)(lm->nep ? lm->nep : 1), sizeof *eps);
    if (!all || !c || !eps)
        goto fail;
    size_t k = 0;
    for (int i = 0; i < lm->nep; i++)
        for (size_t j = 0; j < lm->ep[i].ntimes; j++)
            all[k++] = lm->ep[i].times[j];
    qsort(all, n, sizeof *all, cmp_double);
    /* the window [all[a], all[a] + length) that holds the most arrivals */
    size_t best = 0, best_n = 0, b = 0;
    for (size_t a = 0; a < n; a++) {
        while (b < n && all[b] < all[a] + length)
            b++;
        if (b - a > best_n) {
            best_n = b - a;
            best = a;
        }
    }
    double from = n ? all[best] : 0, to = from + length;
    free(all);
    all = NULL;
    *c = *lm;
    c->ep = eps;
    c->requests = 0;
    c->span = length;
    for (int i = 0; i < lm->nep; i++) {
        const live_ep *e = &lm->ep[i];
        eps[i] = *e;
        eps[i].name = NULL;
        eps[i].times = NULL;
        eps[i].ntimes = 0;
    }
    c->nep = lm->nep;
    for (int i = 0; i < lm->nep; i++) {
        const live_ep *e = &lm->ep[i];
        if (!(eps[i].name = strdup(e->name)) ||
            !(eps[i].times = malloc((e->ntimes ? e->ntimes : 1) * sizeof *e->times)))
            goto fail;
        for (size_t j = 0; j < e->ntimes; j++)
            if (e->times[j] >= from && e->times[j] < to)
                eps[i].times[eps[i].ntimes++] = e->times[j] - from;
        eps[i].n = eps[i].ntimes;
        eps[i].rate = (double)eps[i].ntimes / length;
        c->requests += eps[i].ntimes;
    }
    c->from_us = lm->from_us + (int64_t)(from * 1e6);
    c->to_us = c->from_us + (int64_t)(length * 1e6);
    *out = c;
    return 0;
fail:
    free(all);
    if (c && c->ep == eps) {
        live_model_free(c);
    } else {
        free(eps);
        free(c);
    }
    return EVD_ENOMEM;
}

const char *live_source_name(int source)
{
    switch (source) {
    case LIVE_SRC_REGRESSION:
        return "regression";
    case LIVE_SRC_CALLTREE:
        return "calltree";
    case LIVE_SRC_COMMON:
        return "common";
    default:
        return "duration";
    }
}

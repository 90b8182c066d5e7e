/* replay.c — build the simulator's arrivals from the requests the agent
 * recorded in the store (evodash simulate --from-db URL).  The store is
 * opened read-only and read through store/replay_read.h. */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "evodash.h"
#include "sim/sim.h"
#include "store/replay_read.h"
#include "store/store.h"

/* Keep the message on the model, where the CLI reads every load error. */
static int replay_fail(sim_model *m, int rc, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int replay_fail(sim_model *m, int rc, const char *fmt, ...)
{
    char msg[600];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    sim_model_set_error(m, msg);
    return rc;
}

struct ep {
    char *name;
    double *t; /* s since the first selected request */
    size_t n, cap;
    double *dur; /* us */
};

static int cmp_double(const void *x, const void *y)
{
    double a = *(const double *)x, b = *(const double *)y;
    return (a > b) - (a < b);
}

static int wanted(const sim_replay_opts *o, const char *name)
{
    if (!o->endpoints)
        return 1;
    for (const char **p = o->endpoints; *p; p++)
        if (!strcmp(*p, name))
            return 1;
    return 0;
}

/* Collects the selected requests per endpoint (store_replay_rows()). */
struct collect {
    const sim_replay_opts *o;
    double speed;
    int64_t t0;
    int first;
    struct ep *eps;
    size_t neps;
    size_t *requests;
};

static int on_request(void *u, const char *name, int64_t ts, int64_t dur)
{
    struct collect *c = u;
    if (!wanted(c->o, name))
        return 0;
    if (c->first) {
        c->t0 = ts;
        c->first = 0;
    }
    size_t k = 0;
    while (k < c->neps && strcmp(c->eps[k].name, name))
        k++;
    if (k == c->neps) {
        struct ep *a = realloc(c->eps, (c->neps + 1) * sizeof *a);
        if (!a)
            return EVD_ENOMEM;
        c->eps = a;
        memset(&c->eps[c->neps], 0, sizeof *c->eps);
        if (!(c->eps[c->neps].name = strdup(name)))
            return EVD_ENOMEM;
        c->neps++;
    }
    struct ep *e = &c->eps[k];
    if (e->n == e->cap) {
        size_t cap = e->cap ? e->cap * 2 : 256;
        double *t = realloc(e->t, cap * sizeof *t);
        if (!t)
            return EVD_ENOMEM;
        e->t = t;
        double *d = realloc(e->dur, cap * sizeof *d);
        if (!d)
            return EVD_ENOMEM;
        e->dur = d;
        e->cap = cap;
    }
    e->t[e->n] = (double)(ts - c->t0) / 1e6 / c->speed;
    e->dur[e->n] = (double)dur;
    e->n++;
    (*c->requests)++;
    return 0;
}

int sim_replay_load(sim_model *m, const sim_replay_opts *o, int have_profile, size_t *requests,
                    size_t *unmatched)
{
    int rc = 0;
    store *st = NULL;
    struct collect c = {
        .o = o, .speed = o->speedup > 0 ? o->speedup : 1, .first = 1, .requests = requests};
    *requests = *unmatched = 0;
    if ((rc = store_open(o->url, STORE_RDONLY, &st))) {
        rc = replay_fail(m, rc, "%s", st ? store_errmsg(st) : "out of memory");
        goto done;
    }
    int64_t tmin, tmax;
    if ((rc = store_replay_span(st, &tmin, &tmax))) {
        rc = replay_fail(m, rc == EVD_ENOENT ? EVD_EINVAL : rc, "%s", store_errmsg(st));
        goto done;
    }
    int64_t from = o->days > 0 ? tmax - (int64_t)(o->days * 86400e6) : tmin;
    if ((rc = store_replay_rows(st, from, tmax, on_request, &c))) {
        rc = replay_fail(m, rc, "%s", rc == EVD_ENOMEM ? "out of memory" : store_errmsg(st));
        goto done;
    }
    if (*requests == 0) {
        rc = replay_fail(m, EVD_EINVAL, "%s: no requests match the endpoints and days given",
                         o->url);
        goto done;
    }
    sim_model_clear_arrivals(m);
    for (size_t k = 0; k < c.neps; k++) {
        struct ep *e = &c.eps[k];
        int scen;
        if (have_profile) {
            scen = sim_model_find_scen_by_inter(m, e->name);
            if (scen < 0) {
                *unmatched += e->n;
                continue;
            }
        } else {
            /* No profile: the endpoint's median recorded duration is its work. */
            qsort(e->dur, e->n, sizeof *e->dur, cmp_double);
            scen = sim_model_add_simple(m, e->name, e->dur[e->n / 2] * 1e3);
            if (scen < 0) {
                rc = scen;
                goto done;
            }
        }
        if ((rc = sim_model_add_replay(m, scen, e->t, e->n)))
            goto done;
    }
    if (sim_model_narr(m) == 0)
        rc = replay_fail(m, EVD_EINVAL,
                         "%s: no recorded endpoint matches an interaction name of the profile",
                         o->url);
done:
    store_close(st);
    for (size_t k = 0; k < c.neps; k++) {
        free(c.eps[k].name);
        free(c.eps[k].t);
        free(c.eps[k].dur);
    }
    free(c.eps);
    return rc;
}

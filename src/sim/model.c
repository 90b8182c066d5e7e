/* model.c — load and check the simulator's inputs (profile.json,
 * services.json, mapping.json, distribution.json) with jansson.  Every error
 * names the file and the JSON path of the bad value. */
#include <ctype.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "evodash.h"
#include "sim/sim.h"

struct sim_model {
    sim_scen *scen;
    int nscen;
    sim_svc *svc;
    int nsvc;
    sim_arr *arr;
    int narr;
    json_t *mapping; /* object name -> service id */
    char mapping_label[128];
    char profile_label[128];
    int linked;
    char err[768];
};

static int fail(sim_model *m, int rc, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int fail(sim_model *m, int rc, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(m->err, sizeof m->err, fmt, ap);
    va_end(ap);
    return rc;
}

sim_model *sim_model_new(void)
{
    sim_model *m = calloc(1, sizeof *m);
    if (m)
        strcpy(m->err, "no error");
    return m;
}

static void free_scen(sim_scen *s)
{
    for (int i = 0; i < s->ninter; i++) {
        sim_inter *in = &s->inter[i];
        for (int j = 0; j < in->nfn; j++) {
            sim_fn *f = &in->fn[j];
            free(f->id);
            free(f->name);
            free(f->cb);
            for (int k = 0; k < f->ncb; k++)
                free(f->cb_ids ? f->cb_ids[k] : NULL);
            free(f->cb_ids);
        }
        free(in->fn);
        free(in->name);
        free(in->iid);
    }
    free(s->inter);
}

void sim_model_clear_arrivals(sim_model *m)
{
    for (int i = 0; i < m->narr; i++)
        free(m->arr[i].times);
    free(m->arr);
    m->arr = NULL;
    m->narr = 0;
}

void sim_model_free(sim_model *m)
{
    if (!m)
        return;
    for (int i = 0; i < m->nscen; i++)
        free_scen(&m->scen[i]);
    free(m->scen);
    for (int i = 0; i < m->nsvc; i++)
        free(m->svc[i].id);
    free(m->svc);
    sim_model_clear_arrivals(m);
    json_decref(m->mapping);
    free(m);
}

void sim_model_set_error(sim_model *m, const char *msg)
{
    snprintf(m->err, sizeof m->err, "%s", msg);
}

const char *sim_model_errmsg(const sim_model *m)
{
    return m->err;
}

/* ---- typed getters that report JSON paths ------------------------------- */

#define NUM_REQ    1  /* the key must be present */
#define NUM_POS    2  /* > 0 */
#define NUM_NONNEG 4  /* >= 0 */
#define NUM_INT    8  /* an integer */
#define NUM_UNIT   16 /* within 0..1 (fractions) */

static int get_num(sim_model *m, const char *label, const char *path, json_t *obj, const char *key,
                   int flags, double def, double *out)
{
    json_t *v = json_object_get(obj, key);
    if (!v || json_is_null(v)) {
        if (flags & NUM_REQ)
            return fail(m, EVD_EINVAL, "%s: %s.%s: missing (expected a number)", label, path, key);
        *out = def;
        return 0;
    }
    if (!json_is_number(v))
        return fail(m, EVD_EINVAL, "%s: %s.%s: expected a number", label, path, key);
    double x = json_number_value(v);
    const char *what = NULL;
    if (!isfinite(x))
        what = "a finite number";
    else if ((flags & NUM_INT) && (flags & NUM_POS) && (x != floor(x) || x <= 0 || x > 1e6))
        what = "a positive integer";
    else if ((flags & NUM_INT) && (x != floor(x) || x < 0 || x > 1e6))
        what = "a non-negative integer";
    else if ((flags & NUM_POS) && x <= 0)
        what = "a positive number";
    else if ((flags & NUM_NONNEG) && x < 0)
        what = "a non-negative number";
    else if ((flags & NUM_UNIT) && (x < 0 || x > 1))
        what = "a number between 0 and 1";
    if (what)
        return fail(m, EVD_EINVAL, "%s: %s.%s: expected %s", label, path, key, what);
    *out = x;
    return 0;
}

static int get_str(sim_model *m, const char *label, const char *path, json_t *obj, const char *key,
                   int required, const char **out)
{
    json_t *v = json_object_get(obj, key);
    if (!v) {
        if (required)
            return fail(m, EVD_EINVAL, "%s: %s.%s: missing (expected a string)", label, path, key);
        *out = NULL;
        return 0;
    }
    if (!json_is_string(v))
        return fail(m, EVD_EINVAL, "%s: %s.%s: expected a string", label, path, key);
    *out = json_string_value(v);
    return 0;
}

static char *dupstr(const char *s)
{
    return s ? strdup(s) : NULL;
}

/* ---- profile.json ------------------------------------------------------- */

/* A function's name for the mapping: "name" when given, otherwise the
 * profile builder's functionID "<name>_<start ns>" without its suffix. */
static char *fn_name(const char *id, const char *name)
{
    if (name)
        return strdup(name);
    const char *u = strrchr(id, '_');
    if (u && u[1]) {
        const char *p = u + 1;
        while (*p && isdigit((unsigned char)*p))
            p++;
        if (!*p)
            return strndup(id, (size_t)(u - id));
    }
    return strdup(id);
}

static int load_fn(sim_model *m, const char *label, const char *path, json_t *jf, sim_fn *f)
{
    int rc;
    if (!json_is_object(jf))
        return fail(m, EVD_EINVAL, "%s: %s: expected an object", label, path);
    const char *id = NULL, *name = NULL, *dist = NULL;
    if ((rc = get_str(m, label, path, jf, "functionID", 1, &id)) ||
        (rc = get_str(m, label, path, jf, "name", 0, &name)) ||
        (rc = get_num(m, label, path, jf, "cpu", NUM_NONNEG, 100, &f->cpu)) ||
        (rc = get_num(m, label, path, jf, "cpu_time", NUM_REQ | NUM_NONNEG, 0, &f->cpu_time)) ||
        (rc = get_num(m, label, path, jf, "ram", NUM_NONNEG, 0, &f->ram)) ||
        (rc = get_num(m, label, path, jf, "io", NUM_NONNEG, 0, &f->io)) ||
        (rc = get_num(m, label, path, jf, "net", NUM_NONNEG, 0, &f->net)) ||
        (rc = get_num(m, label, path, jf, "delay", NUM_NONNEG, 0, &f->delay)) ||
        (rc = get_str(m, label, path, jf, "cpu_time_dist", 0, &dist)) ||
        (rc = get_num(m, label, path, jf, "cpu_time_cv", NUM_POS, 1, &f->cv)))
        return rc;
    f->dist = SIM_DET;
    if (dist) {
        if (!strcmp(dist, "deterministic"))
            f->dist = SIM_DET;
        else if (!strcmp(dist, "exponential"))
            f->dist = SIM_EXP;
        else if (!strcmp(dist, "lognormal"))
            f->dist = SIM_LOGNORMAL;
        else
            return fail(m, EVD_EINVAL,
                        "%s: %s.cpu_time_dist: expected \"deterministic\", \"exponential\" or "
                        "\"lognormal\"",
                        label, path);
    }
    f->id = strdup(id);
    f->name = fn_name(id, name);
    if (!f->id || !f->name)
        return fail(m, EVD_ENOMEM, "out of memory");
    json_t *cbs = json_object_get(jf, "callbacks");
    if (cbs && !json_is_array(cbs))
        return fail(m, EVD_EINVAL, "%s: %s.callbacks: expected an array of functionIDs", label,
                    path);
    size_t n = cbs ? json_array_size(cbs) : 0;
    if (n) {
        f->cb_ids = calloc(n, sizeof *f->cb_ids);
        if (!f->cb_ids)
            return fail(m, EVD_ENOMEM, "out of memory");
    }
    for (size_t k = 0; k < n; k++) {
        json_t *c = json_array_get(cbs, k);
        if (!json_is_string(c))
            return fail(m, EVD_EINVAL, "%s: %s.callbacks[%zu]: expected a string", label, path, k);
        if (!strcmp(json_string_value(c), "-1"))
            continue;
        if (!(f->cb_ids[f->ncb++] = strdup(json_string_value(c))))
            return fail(m, EVD_ENOMEM, "out of memory");
    }
    return 0;
}

static int load_profile(sim_model *m, const char *label, json_t *root)
{
    int rc;
    if (m->nscen)
        return fail(m, EVD_EINVAL, "%s: a profile is already loaded", label);
    snprintf(m->profile_label, sizeof m->profile_label, "%s", label);
    if (!json_is_object(root))
        return fail(m, EVD_EINVAL, "%s: $: expected an object with \"scenarios\"", label);
    json_t *sc = json_object_get(root, "scenarios");
    if (!json_is_array(sc) || json_array_size(sc) == 0)
        return fail(m, EVD_EINVAL, "%s: $.scenarios: expected a non-empty array", label);
    size_t ns = json_array_size(sc);
    if (!(m->scen = calloc(ns, sizeof *m->scen)))
        return fail(m, EVD_ENOMEM, "out of memory");
    char path[256];
    for (size_t i = 0; i < ns; i++) {
        json_t *js = json_array_get(sc, i);
        sim_scen *s = &m->scen[i];
        m->nscen = (int)i + 1;
        snprintf(path, sizeof path, "$.scenarios[%zu]", i);
        if (!json_is_object(js))
            return fail(m, EVD_EINVAL, "%s: %s: expected an object", label, path);
        double sid;
        if ((rc = get_num(m, label, path, js, "scenarioID", NUM_REQ, 0, &sid)))
            return rc;
        if (sid != floor(sid))
            return fail(m, EVD_EINVAL, "%s: %s.scenarioID: expected an integer", label, path);
        s->id = (long long)sid;
        for (size_t k = 0; k < i; k++)
            if (m->scen[k].id == s->id)
                return fail(m, EVD_EINVAL, "%s: %s.scenarioID: %lld is used twice", label, path,
                            s->id);
        json_t *ji = json_object_get(js, "interactions");
        if (!json_is_array(ji) || json_array_size(ji) == 0)
            return fail(m, EVD_EINVAL, "%s: %s.interactions: expected a non-empty array", label,
                        path);
        size_t ni = json_array_size(ji);
        if (!(s->inter = calloc(ni, sizeof *s->inter)))
            return fail(m, EVD_ENOMEM, "out of memory");
        for (size_t j = 0; j < ni; j++) {
            json_t *jn = json_array_get(ji, j);
            sim_inter *in = &s->inter[j];
            s->ninter = (int)j + 1;
            char ipath[300];
            snprintf(ipath, sizeof ipath, "%s.interactions[%zu]", path, j);
            if (!json_is_object(jn))
                return fail(m, EVD_EINVAL, "%s: %s: expected an object", label, ipath);
            const char *name = NULL, *iid = NULL;
            if ((rc = get_str(m, label, ipath, jn, "name", 1, &name)) ||
                (rc = get_str(m, label, ipath, jn, "interactionID", 0, &iid)) ||
                (rc = get_num(m, label, ipath, jn, "delay", NUM_NONNEG, 0, &in->delay)))
                return rc;
            in->name = strdup(name);
            in->iid = strdup(iid ? iid : name);
            if (!in->name || !in->iid)
                return fail(m, EVD_ENOMEM, "out of memory");
            json_t *jfs = json_object_get(jn, "functions");
            if (!json_is_array(jfs) || json_array_size(jfs) == 0)
                return fail(m, EVD_EINVAL, "%s: %s.functions: expected a non-empty array", label,
                            ipath);
            size_t nf = json_array_size(jfs);
            if (!(in->fn = calloc(nf, sizeof *in->fn)))
                return fail(m, EVD_ENOMEM, "out of memory");
            for (size_t k = 0; k < nf; k++) {
                char fpath[360];
                snprintf(fpath, sizeof fpath, "%s.functions[%zu]", ipath, k);
                in->nfn = (int)k + 1;
                if ((rc = load_fn(m, label, fpath, json_array_get(jfs, k), &in->fn[k])))
                    return rc;
                for (size_t q = 0; q < k; q++)
                    if (!strcmp(in->fn[q].id, in->fn[k].id))
                        return fail(m, EVD_EINVAL, "%s: %s.functionID: \"%s\" is used twice", label,
                                    fpath, in->fn[k].id);
            }
        }
    }
    return 0;
}

/* ---- services.json ------------------------------------------------------ */

static int load_services(sim_model *m, const char *label, json_t *root)
{
    int rc;
    if (m->nsvc)
        return fail(m, EVD_EINVAL, "%s: services are already loaded", label);
    if (!json_is_object(root))
        return fail(m, EVD_EINVAL, "%s: $: expected an object with \"services\"", label);
    json_t *sv = json_object_get(root, "services");
    if (!json_is_array(sv) || json_array_size(sv) == 0)
        return fail(m, EVD_EINVAL, "%s: $.services: expected a non-empty array", label);
    size_t n = json_array_size(sv);
    if (!(m->svc = calloc(n, sizeof *m->svc)))
        return fail(m, EVD_ENOMEM, "out of memory");
    char path[64], spath[96];
    for (size_t i = 0; i < n; i++) {
        json_t *js = json_array_get(sv, i);
        sim_svc *s = &m->svc[i];
        m->nsvc = (int)i + 1;
        snprintf(path, sizeof path, "$.services[%zu]", i);
        if (!json_is_object(js))
            return fail(m, EVD_EINVAL, "%s: %s: expected an object", label, path);
        const char *id = NULL, *metric = NULL;
        double scale, minsc, maxsc, workers;
        json_t *scales = json_object_get(js, "scales");
        if ((rc = get_str(m, label, path, js, "serviceID", 1, &id)) ||
            (rc = get_num(m, label, path, js, "scale", NUM_INT | NUM_POS, 1, &scale)) ||
            (rc = get_num(m, label, path, js, "scaleUpAt", NUM_UNIT, 0.8, &s->up)) ||
            (rc = get_num(m, label, path, js, "scaleDownAt", NUM_UNIT, 0.3, &s->down)) ||
            (rc = get_num(m, label, path, js, "scalingDelay", NUM_NONNEG, 0, &s->scaling_delay)) ||
            (rc = get_num(m, label, path, js, "minScale", NUM_INT | NUM_POS, 1, &minsc)) ||
            (rc = get_num(m, label, path, js, "maxScale", NUM_INT | NUM_POS, 64, &maxsc)) ||
            (rc = get_str(m, label, path, js, "scaleingMetric", 0, &metric)))
            return rc;
        if (scales && !json_is_boolean(scales))
            return fail(m, EVD_EINVAL, "%s: %s.scales: expected true or false", label, path);
        s->scales = scales && json_is_true(scales);
        if (s->scales && s->down >= s->up)
            return fail(m, EVD_EINVAL, "%s: %s.scaleDownAt: must be below scaleUpAt", label, path);
        if (minsc > maxsc)
            return fail(m, EVD_EINVAL, "%s: %s.minScale: must not exceed maxScale", label, path);
        if (scale > 10000 || maxsc > 10000)
            return fail(m, EVD_EINVAL, "%s: %s.%s: at most 10000 replicas", label, path,
                        scale > 10000 ? "scale" : "maxScale");
        s->scale = (int)scale;
        s->min_scale = (int)minsc;
        s->max_scale = (int)maxsc;
        if (s->scale > s->max_scale)
            s->max_scale = s->scale;
        s->metric = SIM_M_CPU;
        if (metric) {
            static const char *const names[] = {"CPU", "RAM", "IO", "NET"};
            s->metric = -1;
            for (int k = 0; k < 4; k++)
                if (!strcmp(metric, names[k]))
                    s->metric = k;
            if (s->metric < 0)
                return fail(m, EVD_EINVAL,
                            "%s: %s.scaleingMetric: expected \"CPU\", \"RAM\", \"IO\" or \"NET\"",
                            label, path);
        }
        for (size_t k = 0; k < i; k++)
            if (!strcmp(m->svc[k].id, id))
                return fail(m, EVD_EINVAL, "%s: %s.serviceID: \"%s\" is used twice", label, path,
                            id);
        if (!(s->id = strdup(id)))
            return fail(m, EVD_ENOMEM, "out of memory");
        json_t *ds = json_object_get(js, "defaultServer");
        snprintf(spath, sizeof spath, "%s.defaultServer", path);
        if (ds && !json_is_object(ds))
            return fail(m, EVD_EINVAL, "%s: %s: expected an object", label, spath);
        if ((rc = get_num(m, label, spath, ds, "maxCPU", NUM_POS, 100, &s->max_cpu)) ||
            (rc = get_num(m, label, spath, ds, "maxRAM", NUM_POS, 100, &s->max_ram)) ||
            (rc = get_num(m, label, spath, ds, "maxIO", NUM_POS, 100, &s->max_io)) ||
            (rc = get_num(m, label, spath, ds, "maxNET", NUM_POS, 100, &s->max_net)) ||
            (rc = get_num(m, label, spath, ds, "workers", NUM_INT, 0, &workers)) ||
            (rc = get_num(m, label, spath, ds, "quantum", NUM_NONNEG, 0, &s->quantum)))
            return rc;
        s->workers = (int)workers;
    }
    return 0;
}

/* ---- mapping.json ------------------------------------------------------- */

static int load_mapping(sim_model *m, const char *label, json_t *root)
{
    if (!json_is_object(root))
        return fail(m, EVD_EINVAL, "%s: $: expected an object of \"function\": \"service\"", label);
    const char *k;
    json_t *v;
    json_object_foreach(root, k, v)
    {
        if (!json_is_string(v))
            return fail(m, EVD_EINVAL, "%s: $[\"%s\"]: expected a service name (string)", label, k);
    }
    json_decref(m->mapping);
    m->mapping = json_incref(root);
    snprintf(m->mapping_label, sizeof m->mapping_label, "%s", label);
    return 0;
}

/* ---- distribution.json -------------------------------------------------- */

/* A replay entry's "times": seconds, in order (an evodash extension, what
 * `simulate --what-if` writes from the recorded requests). */
static int load_times(sim_model *m, const char *label, const char *path, json_t *j, sim_arr *e)
{
    json_t *t = json_object_get(j, "times");
    if (!json_is_array(t) || json_array_size(t) == 0)
        return fail(m, EVD_EINVAL, "%s: %s.times: expected a non-empty array of seconds", label,
                    path);
    size_t n = json_array_size(t);
    if (n > 50000000)
        return fail(m, EVD_EINVAL, "%s: %s.times: at most 50000000", label, path);
    if (!(e->times = malloc(n * sizeof *e->times)))
        return fail(m, EVD_ENOMEM, "out of memory");
    for (size_t i = 0; i < n; i++) {
        json_t *v = json_array_get(t, i);
        double x = json_is_number(v) ? json_number_value(v) : -1;
        if (!(x >= 0) || (i && x < e->times[i - 1]))
            return fail(m, EVD_EINVAL, "%s: %s.times[%zu]: expected seconds >= 0, in order", label,
                        path, i);
        e->times[i] = x + e->start;
    }
    e->ntimes = n;
    e->volume = (double)n;
    e->end = -1;
    return 0;
}

static int load_distribution(sim_model *m, const char *label, json_t *root)
{
    int rc;
    if (!json_is_array(root))
        return fail(m, EVD_EINVAL, "%s: $: expected an array of arrival entries", label);
    size_t n = json_array_size(root);
    if (n == 0)
        return fail(m, EVD_EINVAL, "%s: $: expected at least one arrival entry", label);
    sim_arr *a = realloc(m->arr, (size_t)(m->narr + (int)n) * sizeof *a);
    if (!a)
        return fail(m, EVD_ENOMEM, "out of memory");
    m->arr = a;
    char path[48];
    for (size_t i = 0; i < n; i++) {
        json_t *j = json_array_get(root, i);
        sim_arr *e = &m->arr[m->narr];
        memset(e, 0, sizeof *e);
        snprintf(path, sizeof path, "$[%zu]", i);
        if (!json_is_object(j))
            return fail(m, EVD_EINVAL, "%s: %s: expected an object", label, path);
        const char *kind;
        double sid;
        if ((rc = get_str(m, label, path, j, "kind", 1, &kind)) ||
            (rc = get_num(m, label, path, j, "scenarioID", NUM_REQ, 0, &sid)) ||
            (rc = get_num(m, label, path, j, "start", NUM_NONNEG, 0, &e->start)) ||
            (rc = get_num(m, label, path, j, "end", NUM_NONNEG, -1, &e->end)))
            return rc;
        if (sid != floor(sid))
            return fail(m, EVD_EINVAL, "%s: %s.scenarioID: expected an integer", label, path);
        e->scen_id = (long long)sid;
        e->scen = -1;
        if (e->end >= 0 && e->end < e->start)
            return fail(m, EVD_EINVAL, "%s: %s.end: must not be before start", label, path);
        int need_end = 1;
        if (!strcmp(kind, "triangle")) {
            e->kind = SIM_ARR_TRIANGLE;
            if ((rc = get_num(m, label, path, j, "volume", NUM_REQ | NUM_NONNEG, 0, &e->volume)) ||
                (rc = get_num(m, label, path, j, "highpoint", NUM_REQ | NUM_NONNEG, 0,
                              &e->highpoint)))
                return rc;
        } else if (!strcmp(kind, "uniform")) {
            e->kind = SIM_ARR_UNIFORM;
            if ((rc = get_num(m, label, path, j, "volume", NUM_REQ | NUM_NONNEG, 0, &e->volume)))
                return rc;
        } else if (!strcmp(kind, "normal")) {
            e->kind = SIM_ARR_NORMAL;
            need_end = 0;
            if ((rc = get_num(m, label, path, j, "volume", NUM_REQ | NUM_NONNEG, 0, &e->volume)) ||
                (rc = get_num(m, label, path, j, "mean", NUM_REQ | NUM_NONNEG, 0, &e->mean)) ||
                (rc = get_num(m, label, path, j, "sd", NUM_REQ | NUM_POS, 0, &e->sd)))
                return rc;
            if (e->volume > 5e7)
                return fail(m, EVD_EINVAL, "%s: %s.volume: at most 50000000 for \"normal\"", label,
                            path);
        } else if (!strcmp(kind, "poisson")) {
            e->kind = SIM_ARR_POISSON;
            if ((rc = get_num(m, label, path, j, "rate", NUM_REQ | NUM_POS, 0, &e->rate)))
                return rc;
        } else if (!strcmp(kind, "constant")) {
            e->kind = SIM_ARR_CONSTANT;
            if ((rc = get_num(m, label, path, j, "interval", NUM_REQ | NUM_POS, 0, &e->interval)))
                return rc;
        } else if (!strcmp(kind, "replay")) {
            e->kind = SIM_ARR_REPLAY;
            need_end = 0;
            m->narr++; /* the entry owns its times from here, freed with the model */
            if ((rc = load_times(m, label, path, j, e)))
                return rc;
            continue;
        } else {
            return fail(m, EVD_EINVAL,
                        "%s: %s.kind: expected \"triangle\", \"uniform\", \"normal\", "
                        "\"poisson\", \"constant\" or \"replay\"",
                        label, path);
        }
        if (need_end && e->end < 0)
            return fail(m, EVD_EINVAL, "%s: %s.end: missing (expected a number of seconds)", label,
                        path);
        if (e->kind == SIM_ARR_TRIANGLE && (e->highpoint < e->start || e->highpoint > e->end))
            return fail(m, EVD_EINVAL, "%s: %s.highpoint: must lie between start and end", label,
                        path);
        if (e->volume > 1e10)
            return fail(m, EVD_EINVAL, "%s: %s.volume: at most 1e10", label, path);
        m->narr++;
    }
    return 0;
}

/* ---- entry points ------------------------------------------------------- */

static int load_json(sim_model *m, int kind, const char *label, json_t *root)
{
    switch (kind) {
    case SIM_DOC_PROFILE:
        return load_profile(m, label, root);
    case SIM_DOC_SERVICES:
        return load_services(m, label, root);
    case SIM_DOC_MAPPING:
        return load_mapping(m, label, root);
    case SIM_DOC_DISTRIBUTION:
        return load_distribution(m, label, root);
    default:
        return fail(m, EVD_EINVAL, "unknown document kind %d", kind);
    }
}

int sim_model_load_buf(sim_model *m, int kind, const char *label, const char *buf, size_t len)
{
    json_error_t e;
    json_t *root = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &e);
    if (!root)
        return fail(m, EVD_EINVAL, "%s:%d:%d: invalid JSON: %s", label, e.line, e.column, e.text);
    int rc = load_json(m, kind, label, root);
    json_decref(root);
    return rc;
}

int sim_model_load_file(sim_model *m, int kind, const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return fail(m, EVD_ENOENT, "%s: cannot open", path);
    json_error_t e;
    json_t *root = json_loadf(f, JSON_REJECT_DUPLICATES, &e);
    fclose(f);
    if (!root)
        return fail(m, EVD_EINVAL, "%s:%d:%d: invalid JSON: %s", path, e.line, e.column, e.text);
    int rc = load_json(m, kind, path, root);
    json_decref(root);
    return rc;
}

/* ---- linking -------------------------------------------------------------- */

static int find_svc(const sim_model *m, const char *id)
{
    for (int i = 0; i < m->nsvc; i++)
        if (!strcmp(m->svc[i].id, id))
            return i;
    return -1;
}

/* Service of a function: functionID, then "Class.func", then "Class". */
static int map_fn(sim_model *m, const sim_fn *f, int *svc)
{
    const char *to = NULL, *key = NULL;
    json_t *v;
    if (m->mapping) {
        if ((v = json_object_get(m->mapping, f->id)))
            key = f->id;
        else if ((v = json_object_get(m->mapping, f->name)))
            key = f->name;
        else {
            const char *dot = strrchr(f->name, '.');
            if (dot) {
                char cls[256];
                snprintf(cls, sizeof cls, "%.*s", (int)(dot - f->name), f->name);
                if ((v = json_object_get(m->mapping, cls)))
                    key = json_object_iter_key(json_object_iter_at(m->mapping, cls));
            }
        }
        if (key)
            to = json_string_value(v);
    }
    *svc = find_svc(m, to ? to : "default");
    if (*svc < 0)
        return fail(m, EVD_EINVAL, "%s: $[\"%s\"]: unknown service \"%s\"", m->mapping_label, key,
                    to);
    return 0;
}

/* Depth-first search for a callback cycle from function k; colour: 0 new,
 * 1 on the stack, 2 done. */
static int has_cycle(const sim_inter *in, int k, char *colour)
{
    colour[k] = 1;
    for (int c = 0; c < in->fn[k].ncb; c++) {
        int t = in->fn[k].cb[c];
        if (colour[t] == 1 || (colour[t] == 0 && has_cycle(in, t, colour)))
            return 1;
    }
    colour[k] = 2;
    return 0;
}

/* Function runs that starting function k causes, callbacks included; a
 * function reached along two paths runs twice.  memo[k] < 0: not known. */
static double runs_from(const sim_inter *in, int k, double *memo)
{
    if (memo[k] >= 0)
        return memo[k];
    double n = 1;
    for (int c = 0; c < in->fn[k].ncb && n < 1e18; c++)
        n += runs_from(in, in->fn[k].cb[c], memo);
    return memo[k] = n;
}

#define SIM_MAX_RUNS 1e6 /* per interaction: beyond this a profile is a fan-out bomb */

int sim_model_link(sim_model *m)
{
    int rc;
    if (m->linked)
        return 0;
    if (m->nscen == 0)
        return fail(m, EVD_EINVAL, "no profile: give -p profile.json (or --from-db)");
    if (m->nsvc == 0) {
        /* docs/formats.md: the defaults are one core, 100 MB, 100 IOPS, 100 Mbit/s. */
        if (!(m->svc = calloc(1, sizeof *m->svc)) || !(m->svc->id = strdup("default")))
            return fail(m, EVD_ENOMEM, "out of memory");
        m->nsvc = 1;
        *m->svc = (sim_svc){.id = m->svc->id,
                            .scale = 1,
                            .up = 0.8,
                            .down = 0.3,
                            .min_scale = 1,
                            .max_scale = 64,
                            .max_cpu = 100,
                            .max_ram = 100,
                            .max_io = 100,
                            .max_net = 100};
    }
    if (find_svc(m, "default") < 0)
        return fail(m, EVD_EINVAL,
                    "services: $.services: a service with serviceID \"default\" "
                    "must exist");
    const char *pl = m->profile_label[0] ? m->profile_label : "profile";
    for (int i = 0; i < m->nscen; i++) {
        sim_scen *s = &m->scen[i];
        for (int j = 0; j < s->ninter; j++) {
            sim_inter *in = &s->inter[j];
            for (int k = 0; k < in->nfn; k++) {
                sim_fn *f = &in->fn[k];
                if ((rc = map_fn(m, f, &f->svc)))
                    return rc;
                const sim_svc *sv = &m->svc[f->svc];
                if (f->ram > sv->max_ram)
                    return fail(m, EVD_EINVAL,
                                "%s: $.scenarios[%d].interactions[%d].functions[%d].ram: %g MB "
                                "does not fit in maxRAM %g of service \"%s\"",
                                pl, i, j, k, f->ram, sv->max_ram, sv->id);
                if (f->ncb && !(f->cb = calloc((size_t)f->ncb, sizeof *f->cb)))
                    return fail(m, EVD_ENOMEM, "out of memory");
                for (int c = 0; c < f->ncb; c++) {
                    int t = -1;
                    for (int q = 0; q < in->nfn; q++)
                        if (!strcmp(in->fn[q].id, f->cb_ids[c]))
                            t = q;
                    if (t < 0)
                        return fail(m, EVD_EINVAL,
                                    "%s: $.scenarios[%d].interactions[%d].functions[%d]."
                                    "callbacks: \"%s\" is not a function of this interaction",
                                    pl, i, j, k, f->cb_ids[c]);
                    f->cb[c] = t;
                }
            }
            char *col = calloc((size_t)in->nfn, 1);
            if (!col)
                return fail(m, EVD_ENOMEM, "out of memory");
            int cyc = 0;
            for (int k = 0; k < in->nfn && !cyc; k++)
                if (!col[k])
                    cyc = has_cycle(in, k, col);
            free(col);
            if (cyc)
                return fail(m, EVD_EINVAL,
                            "%s: $.scenarios[%d].interactions[%d].functions: the callbacks form "
                            "a cycle",
                            pl, i, j);
            double *memo = malloc((size_t)in->nfn * sizeof *memo);
            if (!memo)
                return fail(m, EVD_ENOMEM, "out of memory");
            for (int k = 0; k < in->nfn; k++)
                memo[k] = -1;
            double runs = runs_from(in, 0, memo);
            free(memo);
            if (runs > SIM_MAX_RUNS)
                return fail(m, EVD_EINVAL,
                            "%s: $.scenarios[%d].interactions[%d].functions: the callbacks "
                            "start %.3g function runs per interaction (at most %.0f)",
                            pl, i, j, runs, SIM_MAX_RUNS);
            s->runs += runs;
        }
    }
    if (m->narr == 0)
        return fail(m, EVD_EINVAL, "no arrivals: give -d distribution.json (or --from-db)");
    for (int i = 0; i < m->narr; i++) {
        sim_arr *a = &m->arr[i];
        if (a->scen >= 0)
            continue;
        for (int k = 0; k < m->nscen; k++)
            if (m->scen[k].id == a->scen_id)
                a->scen = k;
        if (a->scen < 0)
            return fail(m, EVD_EINVAL,
                        "distribution: $[%d].scenarioID: no scenario %lld in the "
                        "profile",
                        i, a->scen_id);
    }
    m->linked = 1;
    return 0;
}

/* ---- programmatic additions (replay) ------------------------------------ */

int sim_model_add_replay(sim_model *m, int scen, const double *times, size_t n)
{
    sim_arr *a = realloc(m->arr, (size_t)(m->narr + 1) * sizeof *a);
    if (!a)
        return fail(m, EVD_ENOMEM, "out of memory");
    m->arr = a;
    sim_arr *e = &a[m->narr];
    memset(e, 0, sizeof *e);
    e->kind = SIM_ARR_REPLAY;
    e->scen = scen;
    e->scen_id = m->scen[scen].id;
    e->end = -1;
    if (n && !(e->times = malloc(n * sizeof *times)))
        return fail(m, EVD_ENOMEM, "out of memory");
    if (n)
        memcpy(e->times, times, n * sizeof *times);
    e->ntimes = n;
    e->volume = (double)n;
    m->narr++;
    return 0;
}

int sim_model_add_simple(sim_model *m, const char *name, double cpu_time_ns)
{
    sim_scen *s = realloc(m->scen, (size_t)(m->nscen + 1) * sizeof *s);
    if (!s)
        return fail(m, EVD_ENOMEM, "out of memory");
    m->scen = s;
    s = &m->scen[m->nscen];
    memset(s, 0, sizeof *s);
    long long id = 1;
    for (int i = 0; i < m->nscen; i++)
        if (m->scen[i].id >= id)
            id = m->scen[i].id + 1;
    s->id = id;
    if (!(s->inter = calloc(1, sizeof *s->inter)))
        return fail(m, EVD_ENOMEM, "out of memory");
    s->ninter = 1;
    m->nscen++;
    sim_inter *in = s->inter;
    in->name = dupstr(name);
    in->iid = dupstr(name);
    if (!in->name || !in->iid || !(in->fn = calloc(1, sizeof *in->fn)))
        return fail(m, EVD_ENOMEM, "out of memory");
    in->nfn = 1;
    in->fn->id = dupstr(name);
    in->fn->name = dupstr(name);
    if (!in->fn->id || !in->fn->name)
        return fail(m, EVD_ENOMEM, "out of memory");
    in->fn->cpu = 100;
    in->fn->cpu_time = cpu_time_ns;
    return m->nscen - 1;
}

/* ---- read access ---------------------------------------------------------- */

int sim_model_nscen(const sim_model *m)
{
    return m->nscen;
}
const sim_scen *sim_model_scen(const sim_model *m, int i)
{
    return &m->scen[i];
}
int sim_model_nsvc(const sim_model *m)
{
    return m->nsvc;
}
const sim_svc *sim_model_svc(const sim_model *m, int i)
{
    return &m->svc[i];
}
int sim_model_narr(const sim_model *m)
{
    return m->narr;
}
const sim_arr *sim_model_arr(const sim_model *m, int i)
{
    return &m->arr[i];
}

int sim_model_find_scen_by_inter(const sim_model *m, const char *name)
{
    /* A scenario that starts with the interaction first, then any. */
    for (int i = 0; i < m->nscen; i++)
        if (!strcmp(m->scen[i].inter[0].name, name))
            return i;
    for (int i = 0; i < m->nscen; i++)
        for (int j = 0; j < m->scen[i].ninter; j++)
            if (!strcmp(m->scen[i].inter[j].name, name))
                return i;
    return -1;
}

double sim_model_arrivals_end(const sim_model *m)
{
    double end = 0;
    for (int i = 0; i < m->narr; i++) {
        const sim_arr *a = &m->arr[i];
        double e = a->end;
        if (a->kind == SIM_ARR_NORMAL && e < 0)
            e = a->mean + 4 * a->sd;
        if (a->kind == SIM_ARR_REPLAY && a->ntimes)
            e = a->times[a->ntimes - 1];
        if (e > end)
            end = e;
    }
    return end;
}

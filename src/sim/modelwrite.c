/* modelwrite.c — a live model (livemodel.h) as DSPS documents, as a
 * simulator model, and as a report.
 *
 * Each endpoint is a scenario (scenarioID = its position + 1) of one
 * interaction named after it.  Its CPU demand is a function at 100% of a
 * core for `demand`; time it spends off the CPU is modelled two ways:
 *   - with no worker limit (threads), a second function with no CPU share
 *     called back after the first, so that waiting never competes for the
 *     CPU;
 *   - with a worker limit (sync workers), one function that holds its
 *     worker for the whole duration at a fraction of a core
 *     (cpu = 100 * demand / (demand + wait)): a callback would give the
 *     worker up between the two and queue again, which a worker process
 *     does not do.
 * Every function maps to one service named after the evodash service (or
 * "default" when it has no name), with a replica per host. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <jansson.h>

#include "evodash.h"
#include "sim/livemodel.h"

static const char *svc_id(const live_model *lm)
{
    return lm->service[0] && strcmp(lm->service, "default") ? lm->service : "default";
}

static int split_wait(const live_model *lm, int workers, const live_ep *e)
{
    (void)lm;
    return workers == 0 && e->wait > 0;
}

static json_t *function_doc(const char *id, const char *name, double cpu, double ns, double cv,
                            const char *callback)
{
    json_t *f = json_pack("{s:s, s:s, s:f, s:f, s:f, s:f, s:f, s:f, s:[s]}", "functionID", id,
                          "name", name, "cpu", cpu, "cpu_time", ns, "ram", 0.0, "io", 0.0, "net",
                          0.0, "delay", 0.0, "callbacks", callback);
    if (f && cv > 0) {
        json_object_set_new(f, "cpu_time_dist", json_string("lognormal"));
        json_object_set_new(f, "cpu_time_cv", json_real(cv));
    }
    return f;
}

static json_t *profile_doc(const live_model *lm, int workers)
{
    json_t *scen = json_array();
    char id[600], wid[600], wname[600], iid[600];
    for (int i = 0; scen && i < lm->nep; i++) {
        const live_ep *e = &lm->ep[i];
        json_t *fns = json_array();
        snprintf(id, sizeof id, "%s_1", e->name);
        snprintf(wid, sizeof wid, "%s.wait_2", e->name);
        snprintf(wname, sizeof wname, "%s.wait", e->name);
        snprintf(iid, sizeof iid, "0 %s", e->name);
        if (split_wait(lm, workers, e)) {
            json_array_append_new(fns, function_doc(id, e->name, 100, e->demand * 1e9, e->cv, wid));
            json_array_append_new(fns, function_doc(wid, wname, 0, e->wait * 1e9, 0, "-1"));
        } else {
            double total = e->demand + e->wait;
            double cpu = total > 0 ? 100 * e->demand / total : 100;
            json_array_append_new(fns, function_doc(id, e->name, cpu, total * 1e9, e->cv, "-1"));
        }
        json_t *inter = json_pack("{s:s, s:s, s:f, s:o}", "name", e->name, "interactionID", iid,
                                  "delay", 0.0, "functions", fns);
        json_array_append_new(scen,
                              json_pack("{s:I, s:s, s:[o]}", "scenarioID", (json_int_t)(i + 1),
                                        "name", e->name, "interactions", inter));
    }
    return scen ? json_pack("{s:s, s:o}", "name", lm->service, "scenarios", scen) : NULL;
}

static json_t *service_doc(const char *id, int scale, double max_cpu, int workers, double quantum)
{
    json_t *srv = json_pack("{s:f, s:f, s:f, s:f}", "maxCPU", max_cpu, "maxRAM", 1e6, "maxIO",
                            100.0, "maxNET", 100.0);
    if (srv && workers > 0)
        json_object_set_new(srv, "workers", json_integer(workers));
    if (srv && quantum > 0)
        json_object_set_new(srv, "quantum", json_real(quantum * 1e9));
    return json_pack("{s:s, s:i, s:b, s:f, s:f, s:s, s:f, s:o}", "serviceID", id, "scale", scale,
                     "scales", 0, "scaleUpAt", 0.8, "scaleDownAt", 0.3, "scaleingMetric", "CPU",
                     "scalingDelay", 0.0, "defaultServer", srv);
}

static json_t *services_doc(const live_model *lm, int replicas, int workers)
{
    char name[200];
    snprintf(name, sizeof name, "%s (evodash capacity model)", lm->service);
    json_t *list = json_array();
    json_array_append_new(list,
                          service_doc(svc_id(lm), replicas, lm->max_cpu, workers, lm->quantum));
    if (strcmp(svc_id(lm), "default")) /* the formats require one; nothing runs on it */
        json_array_append_new(list, service_doc("default", 1, 100, 0, 0));
    return json_pack("{s:s, s:o}", "name", name, "services", list);
}

static json_t *mapping_doc(const live_model *lm, int workers)
{
    json_t *m = json_object();
    char id[600];
    for (int i = 0; m && i < lm->nep; i++) {
        snprintf(id, sizeof id, "%s_1", lm->ep[i].name);
        json_object_set_new(m, id, json_string(svc_id(lm)));
        if (split_wait(lm, workers, &lm->ep[i])) {
            snprintf(id, sizeof id, "%s.wait_2", lm->ep[i].name);
            json_object_set_new(m, id, json_string(svc_id(lm)));
        }
    }
    return m;
}

static int load_doc(sim_model *m, int kind, const char *label, json_t *doc, char *err,
                    size_t errlen)
{
    char *text = doc ? json_dumps(doc, JSON_COMPACT) : NULL;
    json_decref(doc);
    if (!text) {
        snprintf(err, errlen, "out of memory");
        return EVD_ENOMEM;
    }
    int rc = sim_model_load_buf(m, kind, label, text, strlen(text));
    free(text);
    if (rc)
        snprintf(err, errlen, "%s", sim_model_errmsg(m));
    return rc;
}

static void choose(const live_model *lm, int *replicas, int *workers)
{
    if (*replicas <= 0)
        *replicas = lm->replicas > 0 ? lm->replicas : 1;
    *workers = *workers > 0 ? *workers : *workers < 0 ? 0 : lm->workers;
}

int live_model_sim(const live_model *lm, int replicas, int workers, sim_model **out, char *err,
                   size_t errlen)
{
    int rc;
    choose(lm, &replicas, &workers);
    sim_model *m = sim_model_new();
    *out = NULL;
    if (!m) {
        snprintf(err, errlen, "out of memory");
        return EVD_ENOMEM;
    }
    if ((rc =
             load_doc(m, SIM_DOC_PROFILE, "profile.json", profile_doc(lm, workers), err, errlen)) ||
        (rc = load_doc(m, SIM_DOC_SERVICES, "services.json", services_doc(lm, replicas, workers),
                       err, errlen)) ||
        (rc = load_doc(m, SIM_DOC_MAPPING, "mapping.json", mapping_doc(lm, workers), err, errlen)))
        goto fail;
    for (int i = 0; i < lm->nep; i++)
        if ((rc = sim_model_add_replay(m, i, lm->ep[i].times, lm->ep[i].ntimes))) {
            snprintf(err, errlen, "%s", sim_model_errmsg(m));
            goto fail;
        }
    if ((rc = sim_model_link(m))) {
        snprintf(err, errlen, "%s", sim_model_errmsg(m));
        goto fail;
    }
    *out = m;
    return 0;
fail:
    sim_model_free(m);
    return rc;
}

static int write_json(const char *dir, const char *name, json_t *doc, char *err, size_t errlen)
{
    char path[1100];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    int rc = doc && !json_dump_file(doc, path, JSON_INDENT(2) | JSON_ENSURE_ASCII) ? 0 : EVD_EIO;
    json_decref(doc);
    if (rc)
        snprintf(err, errlen, "%s: cannot write", path);
    return rc;
}

/* The distribution, streamed: a replay holds every recorded arrival. */
static int write_distribution(const live_model *lm, const char *dir, char *err, size_t errlen)
{
    char path[1100];
    snprintf(path, sizeof path, "%s/distribution.json", dir);
    FILE *f = fopen(path, "w");
    if (!f) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return EVD_EIO;
    }
    fputs("[\n", f);
    for (int i = 0; i < lm->nep; i++) {
        const live_ep *e = &lm->ep[i];
        fprintf(f, "  {\"kind\": \"replay\", \"scenarioID\": %d, \"start\": 0, \"times\": [",
                i + 1);
        for (size_t k = 0; k < e->ntimes; k++)
            fprintf(f, "%s%.6f", k ? (k % 10 ? ", " : ",\n    ") : "", e->times[k]);
        fprintf(f, "]}%s\n", i + 1 < lm->nep ? "," : "");
    }
    fputs("]\n", f);
    int bad = ferror(f);
    if (fclose(f) || bad) {
        snprintf(err, errlen, "%s: cannot write", path);
        return EVD_EIO;
    }
    return 0;
}

int live_model_write(const live_model *lm, const char *dir, char *err, size_t errlen)
{
    int replicas = 0, workers = 0, rc;
    choose(lm, &replicas, &workers);
    if (mkdir(dir, 0755) && errno != EEXIST) {
        snprintf(err, errlen, "%s: %s", dir, strerror(errno));
        return EVD_EIO;
    }
    if ((rc = write_json(dir, "profile.json", profile_doc(lm, workers), err, errlen)) ||
        (rc = write_json(dir, "services.json", services_doc(lm, replicas, workers), err, errlen)) ||
        (rc = write_json(dir, "mapping.json", mapping_doc(lm, workers), err, errlen)) ||
        (rc = write_distribution(lm, dir, err, errlen)))
        return rc;
    return 0;
}

void live_model_print(const live_model *lm, FILE *f)
{
    fprintf(f, "service %s: %zu requests over %.1f s (%.3f/s), %d endpoints\n", lm->service,
            lm->requests, lm->span, lm->span > 0 ? (double)lm->requests / lm->span : 0, lm->nep);
    if (lm->samples)
        fprintf(f,
                "CPU demand regression (utilisation law, NNLS): %zu samples (%zu outliers left "
                "out), R^2 %.4f, residual %.4f of a core, background %.4f +- %.4f cores per "
                "instance\n",
                lm->samples, lm->samples_dropped, lm->r2, lm->rmse, lm->u0, lm->u0_se);
    if (lm->agent_samples)
        fprintf(f,
                "evodash's own threads: %.4f cores per instance (%zu of the samples), left out "
                "of the demands and kept as background\n",
                lm->agent, lm->agent_samples);
    if (lm->steal_samples) {
        fprintf(f, "host steal time: %.1f%% of its CPUs on average, %.1f%% in the worst sample",
                100 * lm->steal_mean, 100 * lm->steal_max);
        if (lm->samples_stolen)
            fprintf(f, "; %zu samples above the limit left out of the fit", lm->samples_stolen);
        else if (lm->steal_kept)
            fprintf(f, "; most samples were above the limit, so all were fitted");
        fputc('\n', f);
        if (lm->steal_mean > LIVE_STEAL_WARN)
            fprintf(f, "warning: the recording's host was busy with other machines' work; "
                       "demands measured on it can run several percent high, and the "
                       "predictions with them: record again at a quieter time\n");
    }
    if (!lm->samples)
        fprintf(f, "no CPU samples in the window: demands come from call trees or durations\n");
    if (lm->common_n >= 2)
        fprintf(f,
                "common overhead fit (demand = time alone + b, %d endpoints): b %.3f +- %.3f ms, "
                "F-test against the free fit p %.3g: %s\n",
                lm->common_n, lm->common_b * 1e3, lm->common_b_se * 1e3, lm->common_p,
                lm->common_p >= LIVE_COMMON_MIN_P ? "consistent with it" : "the free fit differs");
    fprintf(f, "%-28s %8s %9s %9s %9s %9s %9s %9s %-10s %5s\n", "endpoint", "requests", "rate/s",
            "mean ms", "solo ms", "regr ms", "+-ms", "demand ms", "source", "cv");
    for (int i = 0; i < lm->nep; i++) {
        const live_ep *e = &lm->ep[i];
        fprintf(f, "%-28.28s %8zu %9.3f %9.3f %9.3f %9.3f %9.3f %9.3f %-10s %5.2f\n", e->name, e->n,
                e->rate, e->mean * 1e3, e->solo_mean * 1e3, e->reg_d * 1e3, e->reg_se * 1e3,
                e->demand * 1e3, live_source_name(e->source), e->cv);
        if (e->wait > 0)
            fprintf(f, "%-28s   + %.3f ms off the CPU per request\n", "", e->wait * 1e3);
    }
    fprintf(f,
            "observed: %d host(s), %d instance(s), %d core(s) per host, peak %d and mean %.2f "
            "requests in flight per host, ",
            lm->hosts, lm->instances, lm->cores, lm->peak_conc, lm->mean_conc);
    if (lm->workers_seen)
        fprintf(f, "%d single-worker instance(s) per host", lm->workers_seen);
    else
        fprintf(f, "no worker limit seen");
    if (lm->util >= 0)
        fprintf(f, ", measured CPU utilisation %.3f", lm->util);
    fprintf(f, "\nmodel: %d replica(s) of %.0f%% CPU", lm->replicas, lm->max_cpu);
    if (lm->steal > 0)
        fprintf(f, " (%.1f%% of it lost to steal)", 100 * lm->steal);
    fprintf(f, ", ");
    if (lm->workers)
        fprintf(f, "%d worker(s) per replica, ", lm->workers);
    else
        fprintf(f, "no worker limit, ");
    if (lm->quantum > 0)
        fprintf(f, "CPU time slices of %g ms\n", lm->quantum * 1e3);
    else
        fprintf(f, "processor sharing\n");
}

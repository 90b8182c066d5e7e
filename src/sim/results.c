/* results.c — statistics of a finished run, the text summary, and
 * SimResults.json.  The JSON is written by a small streaming writer rather
 * than through jansson because a long run has millions of cells and a
 * document tree of them would cost several times the memory. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "evodash.h"
#include "sim/engine.h"

#define NS 1e9

int sim_series_add(sim_series *s, double t, int32_t id, double a, double b, double c, double d,
                   double e)
{
    if (s->n == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 256;
        sim_row *r = realloc(s->r, cap * sizeof *r);
        if (!r)
            return EVD_ENOMEM;
        s->r = r;
        s->cap = cap;
    }
    s->r[s->n++] = (sim_row){.t = t, .id = id, .v = {a, b, c, d, e}};
    return 0;
}

static int cmp_double(const void *x, const void *y)
{
    double a = *(const double *)x, b = *(const double *)y;
    return (a > b) - (a < b);
}

/* Nearest-rank percentile of a sorted array. */
static double pct(const double *v, size_t n, double p)
{
    if (n == 0)
        return 0;
    size_t k = (size_t)ceil(p * (double)n);
    return v[k ? k - 1 : 0];
}

void sim_run_totals(const sim_run *r, sim_totals *t)
{
    *t = r->tot;
}

int sim_run_ninter(const sim_run *r)
{
    return r->nstats;
}

void sim_run_istat(sim_run *r, int i, sim_istat *st)
{
    sim_stat *s = &r->stats[i];
    if (!s->sorted) {
        if (s->nresp) /* an interaction that never ran has no array */
            qsort(s->resp, s->nresp, sizeof *s->resp, cmp_double);
        s->sorted = 1;
    }
    double span = r->now - r->warmup_ns;
    *st = (sim_istat){
        .label = s->label,
        .name = s->name,
        .started = s->started,
        .completed = s->completed,
        .mean = s->completed ? s->sum_resp / (double)s->completed / NS : 0,
        .p50 = pct(s->resp, s->nresp, 0.50) / NS,
        .p95 = pct(s->resp, s->nresp, 0.95) / NS,
        .p99 = pct(s->resp, s->nresp, 0.99) / NS,
        .wait_mean = s->completed ? s->sum_wait / (double)s->completed / NS : 0,
        .throughput = span > 0 ? (double)s->completed / (span / NS) : 0,
    };
}

void sim_run_sstat(const sim_run *r, int i, sim_sstat *st)
{
    const sim_svcrt *s = &r->svcs[i];
    double cpu = 0, ram = 0, life = 0;
    for (int k = 0; k < s->nreps; k++) {
        const sim_rep *p = &r->reps[s->reps[k]];
        double end = p->died >= 0 ? p->died : r->now;
        cpu += p->c_cpu;
        ram += p->c_ram;
        life += end - p->born;
    }
    *st = (sim_sstat){
        .id = sim_model_svc(r->m, i)->id,
        .util_cpu = life > 0 ? cpu / life : 0,
        .util_ram = life > 0 ? ram / life : 0,
        .peak_queue = s->peak_q,
        .peak_replicas = s->peak_reps,
        .final_replicas = s->nactive,
    };
}

/* ---- JSON writing ------------------------------------------------------------ */

static void jstr(FILE *f, const char *s)
{
    fputc('"', f);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '"' || *p == '\\')
            fprintf(f, "\\%c", *p);
        else if (*p < 0x20)
            fprintf(f, "\\u%04x", *p);
        else
            fputc(*p, f);
    }
    fputc('"', f);
}

static void jnum(FILE *f, double x)
{
    if (isfinite(x))
        fprintf(f, "%.9g", x);
    else
        fputs("null", f);
}

typedef const char *(*label_fn)(const sim_run *r, int32_t id);

static const char *stat_label(const sim_run *r, int32_t id)
{
    return r->stats[id].label;
}

static const char *util_label(const sim_run *r, int32_t id)
{
    return id < r->nsvc ? sim_model_svc(r->m, id)->id : "average";
}

static const char *event_label(const sim_run *r, int32_t id)
{
    static const char *const names[] = {"total", "running", "queued", "processed"};
    (void)r;
    return names[id];
}

/* Write one key of parallel columns: t (ns), identifier, then the named
 * value columns taken from v[0..ncols). */
static void write_series(FILE *f, const sim_run *r, const char *key, const sim_series *s,
                         label_fn label, const char *const *cols, int ncols)
{
    fprintf(f, "  ");
    jstr(f, key);
    fputs(": {\n    \"t\": [", f);
    for (size_t i = 0; i < s->n; i++)
        fprintf(f, "%s%.0f", i ? "," : "", s->r[i].t);
    fputs("],\n    \"identifier\": [", f);
    for (size_t i = 0; i < s->n; i++) {
        if (i)
            fputc(',', f);
        jstr(f, label(r, s->r[i].id));
    }
    fputs("]", f);
    for (int c = 0; c < ncols; c++) {
        fputs(",\n    ", f);
        jstr(f, cols[c]);
        fputs(": [", f);
        for (size_t i = 0; i < s->n; i++) {
            if (i)
                fputc(',', f);
            jnum(f, s->r[i].v[c]);
        }
        fputc(']', f);
    }
    fputs("\n  }", f);
}

static void write_summary(FILE *f, sim_run *r)
{
    const sim_totals *t = &r->tot;
    fprintf(f,
            "  \"summary\": {\n    \"seed\": %llu, \"arrivals\": %llu, \"interactions_started\": "
            "%llu, \"interactions_completed\": %llu, \"interactions_in_flight\": %llu, "
            "\"interactions_not_started\": %llu, \"events\": %llu, \"end_time\": ",
            (unsigned long long)r->o.seed, (unsigned long long)t->arrivals,
            (unsigned long long)t->inter_started, (unsigned long long)t->inter_completed,
            (unsigned long long)t->inter_in_flight, (unsigned long long)t->inter_pending,
            (unsigned long long)t->events);
    jnum(f, t->end_time);
    fprintf(f, ", \"warmup\": ");
    jnum(f, r->warmup_ns / NS);
    fputs(",\n    \"interactions\": [", f);
    for (int i = 0; i < r->nstats; i++) {
        sim_istat s;
        sim_run_istat(r, i, &s);
        fputs(i ? ",\n      {\"identifier\": " : "\n      {\"identifier\": ", f);
        jstr(f, s.label);
        fputs(", \"name\": ", f);
        jstr(f, s.name);
        fprintf(f, ", \"started\": %llu, \"completed\": %llu, \"mean\": ",
                (unsigned long long)s.started, (unsigned long long)s.completed);
        jnum(f, s.mean);
        fputs(", \"p50\": ", f);
        jnum(f, s.p50);
        fputs(", \"p95\": ", f);
        jnum(f, s.p95);
        fputs(", \"p99\": ", f);
        jnum(f, s.p99);
        fputs(", \"wait_mean\": ", f);
        jnum(f, s.wait_mean);
        fputs(", \"throughput\": ", f);
        jnum(f, s.throughput);
        fputc('}', f);
    }
    fputs("],\n    \"services\": [", f);
    for (int i = 0; i < r->nsvc; i++) {
        sim_sstat s;
        sim_run_sstat(r, i, &s);
        fputs(i ? ",\n      {\"identifier\": " : "\n      {\"identifier\": ", f);
        jstr(f, s.id);
        fputs(", \"utilisation_cpu\": ", f);
        jnum(f, s.util_cpu);
        fputs(", \"utilisation_ram\": ", f);
        jnum(f, s.util_ram);
        fprintf(f, ", \"peak_queue\": %llu, \"peak_replicas\": %d, \"final_replicas\": %d}",
                (unsigned long long)s.peak_queue, s.peak_replicas, s.final_replicas);
    }
    fputs("]\n  }", f);
}

int sim_run_write_json(sim_run *r, FILE *f)
{
    static const char *const dcols[] = {"completed", "expected"};
    static const char *const rcols[] = {"delay", "response time"};
    static const char *const ucols[] = {"CPU", "RAM", "NET", "IO", "replicas"};
    static const char *const ecols[] = {"active"};
    fputs("{\n", f);
    write_series(f, r, "dones", &r->s_dones, stat_label, dcols, 2);
    fputs(",\n", f);
    write_series(f, r, "response_time", &r->s_resp, stat_label, rcols, 2);
    fputs(",\n", f);
    write_series(f, r, "service_util", &r->s_util, util_label, ucols, 5);
    fputs(",\n", f);
    write_series(f, r, "sim_events", &r->s_events, event_label, ecols, 1);
    fputs(",\n", f);
    write_summary(f, r);
    fputs("\n}\n", f);
    return fflush(f) || ferror(f) ? EVD_EIO : 0;
}

void sim_run_print_summary(sim_run *r, FILE *f)
{
    const sim_totals *t = &r->tot;
    fprintf(f,
            "arrivals %llu; interactions started %llu, completed %llu, in flight %llu, not "
            "started %llu\n",
            (unsigned long long)t->arrivals, (unsigned long long)t->inter_started,
            (unsigned long long)t->inter_completed, (unsigned long long)t->inter_in_flight,
            (unsigned long long)t->inter_pending);
    fprintf(f, "simulated %.3f s in %.3f s wall (%.3f s CPU), %llu events (%.2fM events/s)\n",
            t->end_time, t->wall_s, t->cpu_s, (unsigned long long)t->events,
            t->wall_s > 0 ? (double)t->events / t->wall_s / 1e6 : 0);
    if (r->warmup_ns > 0)
        fprintf(f, "statistics exclude interactions started before %.3f s\n", r->warmup_ns / NS);
    fprintf(f, "\n%-28s %10s %10s %10s %10s %10s %10s %12s  %s\n", "interaction", "completed",
            "mean ms", "p50 ms", "p95 ms", "p99 ms", "wait ms", "throughput/s", "name");
    for (int i = 0; i < r->nstats; i++) {
        sim_istat s;
        sim_run_istat(r, i, &s);
        char name[64];
        snprintf(name, sizeof name, "%s", s.label);
        fprintf(f, "%-28s %10llu %10.3f %10.3f %10.3f %10.3f %10.3f %12.3f  %s\n", name,
                (unsigned long long)s.completed, s.mean * 1e3, s.p50 * 1e3, s.p95 * 1e3,
                s.p99 * 1e3, s.wait_mean * 1e3, s.throughput, s.name);
    }
    fprintf(f, "\n%-20s %12s %12s %12s %10s\n", "service", "mean CPU %", "mean RAM %", "peak queue",
            "replicas");
    for (int i = 0; i < r->nsvc; i++) {
        sim_sstat s;
        sim_run_sstat(r, i, &s);
        fprintf(f, "%-20s %12.2f %12.2f %12llu %5d..%-4d\n", s.id, s.util_cpu * 100,
                s.util_ram * 100, (unsigned long long)s.peak_queue, s.final_replicas,
                s.peak_replicas);
    }
}

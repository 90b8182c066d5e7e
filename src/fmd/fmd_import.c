/* fmd_import.c — copy a Flask-MonitoringDashboard database into an evodash
 * store: endpoints (with their levels), versions, requests (with their
 * hourly rollups), outliers and profiler lines.
 *
 * The source is read through src/store/fmd_source.c and written through
 * the store's write API; FMD's outlier text is converted by fmd_convert.c
 * into what live capture stores (frames, masked details).  Everything goes
 * in one transaction, the record of the import (src/store/imports.c)
 * first: an import lands whole or not at all, and a database imported once
 * is refused the next time unless forced.
 *
 * A source is known by its identity (fmd_src_identity: its first endpoint,
 * added to the microsecond), hashed: not by its path, which changes when
 * the file is copied, nor by its content, which grows while FMD still runs
 * and shrinks when FMD prunes it. */
#include <jansson.h>
#include <limits.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "evodash.h"
#include "fmd/fmd_convert.h"
#include "fmd/fmd_import.h"
#include "store/fmd_source.h"
#include "store/imports.h"
#include "store/read.h"
#include "store/store.h"

typedef struct idmap {
    int64_t *from, *to;
    size_t n, cap;
} idmap;

/* The requests of one (endpoint, version, hour) being summed into a rollup. */
typedef struct run {
    int64_t ep, version, hour;
    store_rollup_acc r;
} run;

typedef struct job {
    fmd_src *src;
    store *st;
    idmap eps;
    int64_t instance, service;
    char *version;      /* the version of the requests being read */
    int64_t version_id; /* and its id */
    run u;
    store_import rec;
    fmd_counts c;
    char err[1024];
} job;

static int fail(job *j, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int fail(job *j, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(j->err, sizeof j->err, fmt, ap);
    va_end(ap);
    return EVD_EIO;
}

static int map_put(idmap *m, int64_t from, int64_t to)
{
    if (m->n == m->cap) {
        size_t cap = m->cap ? m->cap * 2 : 64;
        int64_t *f = realloc(m->from, cap * sizeof *f);
        if (!f)
            return -1;
        m->from = f;
        int64_t *t = realloc(m->to, cap * sizeof *t);
        if (!t)
            return -1;
        m->to = t;
        m->cap = cap;
    }
    m->from[m->n] = from;
    m->to[m->n++] = to;
    return 0;
}

/* Endpoints are read in id order, so the map is sorted. */
static int64_t map_get(const idmap *m, int64_t from)
{
    size_t lo = 0, hi = m->n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (m->from[mid] < from)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < m->n && m->from[lo] == from ? m->to[lo] : -1;
}

/* "2024-03-01 12:00:00.123456" (or with 'T') as UTC microseconds. */
static int parse_time(const char *s, int64_t *us)
{
    struct tm tm;
    memset(&tm, 0, sizeof tm);
    int frac_at = 0;
    if (!s || sscanf(s, "%4d-%2d-%2d%*1[ T]%2d:%2d:%2d%n", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
                     &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &frac_at) != 6)
        return -1;
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    int64_t frac = 0;
    const char *p = s + frac_at;
    if (*p == '.') {
        int digits = 0;
        for (p++; *p >= '0' && *p <= '9'; p++)
            if (digits < 6) {
                frac = frac * 10 + (*p - '0');
                digits++;
            }
        for (; digits < 6; digits++)
            frac *= 10;
    }
    *us = (int64_t)timegm(&tm) * 1000000 + frac;
    return 0;
}

static int import_endpoint(void *u, const fmd_endpoint_row *e)
{
    job *j = u;
    int level = e->level < 0 ? 1 : e->level > 3 ? 3 : e->level;
    int64_t id, last;
    int stored_level;
    if (!e->name || !*e->name)
        return fail(j, "Endpoint id %lld: empty name", (long long)e->id);
    if (store_endpoint_upsert(j->st, j->service, e->name, NULL, NULL, level, &id, &stored_level) ||
        map_put(&j->eps, e->id, id))
        return fail(j, "storing endpoint %s: %s", e->name, store_errmsg(j->st));
    if (!parse_time(e->last_requested, &last) && store_endpoint_touch(j->st, id, last, 0))
        return fail(j, "storing endpoint %s: %s", e->name, store_errmsg(j->st));
    j->c.endpoints++;
    return 0;
}

/* The outlier of request rid, its text converted as live capture stores it. */
static int import_outlier(job *j, const fmd_request_row *r, int64_t rid, int64_t ep, int64_t ts,
                          int64_t dur)
{
    json_t *details = fmd_details(r->url, r->header, r->environment), *cpu = fmd_cpu(r->cpu);
    json_t *mem = fmd_memory(r->memory);
    char *stack = fmd_stack_frames(r->stacktrace);
    if (!mem && r->memory) /* not psutil's text: shown as it is (it holds no request data) */
        mem = json_pack("{s:s}", "text", r->memory);
    char *d = details ? json_dumps(details, JSON_COMPACT) : NULL;
    char *c = cpu ? json_dumps(cpu, JSON_COMPACT) : NULL;
    char *m = mem ? json_dumps(mem, JSON_COMPACT) : NULL;
    int rc = 0;
    if (!d)
        rc = fail(j, "out of memory");
    store_outlier o = {.request_id = rid,
                       .endpoint_id = ep,
                       .ts_us = ts,
                       .duration_us = dur,
                       .stack = stack,
                       .cpu = c,
                       .memory = m,
                       .details = d};
    if (!rc && store_insert_outlier(j->st, &o))
        rc = fail(j, "storing an outlier: %s", store_errmsg(j->st));
    if (!rc)
        j->c.outliers++;
    free(stack);
    free(d);
    free(c);
    free(m);
    json_decref(details);
    json_decref(cpu);
    json_decref(mem);
    return rc;
}

typedef struct profile_ctx {
    job *j;
    int64_t rid;
    const store_request *r;
    int lines;
} profile_ctx;

static int import_profile_line(void *u, const fmd_profile_row *l)
{
    profile_ctx *x = u;
    job *j = x->j;
    store_profile_line p = {.request_id = x->rid,
                            .position = l->position,
                            .indent = l->indent,
                            .duration_us = (int64_t)(l->duration_ms * 1000.0),
                            .function = l->function ? l->function : "?",
                            .file = l->file,
                            .line = l->line,
                            .samples = 1};
    if (store_insert_profile_line(j->st, &p))
        return fail(j, "storing a profiler line: %s", store_errmsg(j->st));
    if (!x->lines++ && store_insert_profiled(j->st, x->rid, x->r))
        return fail(j, "listing a profiled request: %s", store_errmsg(j->st));
    j->c.profile_lines++;
    return 0;
}

static int flush_run(job *j)
{
    run *u = &j->u;
    if (u->r.count && store_rollup_acc_merge(j->st, &u->r, u->ep, u->version, u->hour, j->instance))
        return fail(j, "storing a rollup: %s", store_errmsg(j->st));
    return 0;
}

/* The version of the requests from here on (they come ordered by version
 * within an endpoint). */
static int set_version(job *j, const char *name, int64_t ts)
{
    if (j->version && !strcmp(j->version, name)) {
        if (store_version_touch(j->st, name, ts, NULL))
            return fail(j, "storing version %s: %s", name, store_errmsg(j->st));
        return 0;
    }
    free(j->version);
    if (!(j->version = strdup(name)))
        return fail(j, "out of memory");
    /* the upsert keeps first_seen of an existing row; imported history may be older */
    if (store_version_touch(j->st, name, ts, &j->version_id) ||
        store_version_first_seen(j->st, j->version_id, ts))
        return fail(j, "storing version %s: %s", name, store_errmsg(j->st));
    return 0;
}

static int import_request(void *u, const fmd_request_row *r)
{
    job *j = u;
    int64_t ep = map_get(&j->eps, r->endpoint_id), ts, rid;
    int rc;
    if (ep < 0)
        return fail(j, "Request id %lld: endpoint_id %lld is not in the Endpoint table",
                    (long long)r->id, (long long)r->endpoint_id);
    if (parse_time(r->time_requested, &ts))
        return fail(j, "Request id %lld: time_requested: cannot read \"%.40s\"", (long long)r->id,
                    r->time_requested ? r->time_requested : "NULL");
    if ((rc = set_version(j, r->version ? r->version : "1.0", ts)))
        return rc;
    int64_t dur = r->duration_ms > 0 ? (int64_t)(r->duration_ms * 1000.0 + 0.5) : 0;
    /* FMD stores str(None) when no group_by function is set or it gave none */
    const char *group = r->group_by && strcmp(r->group_by, "None") ? r->group_by : NULL;
    store_request q = {.endpoint_id = ep,
                       .version_id = j->version_id,
                       .instance_id = j->instance,
                       .ts_us = ts,
                       .duration_us = dur,
                       .status = r->status,
                       .group = group,
                       .ip = r->ip};
    if (store_insert_request(j->st, &q, &rid))
        return fail(j, "storing Request id %lld: %s", (long long)r->id, store_errmsg(j->st));
    j->c.requests++;
    if (!j->rec.first_us || ts < j->rec.first_us)
        j->rec.first_us = ts;
    if (!j->rec.last_us || ts > j->rec.last_us)
        j->rec.last_us = ts;
    run *x = &j->u;
    int64_t hour = ts >= 0 ? ts / 3600000000LL : (ts - 3599999999LL) / 3600000000LL;
    if (x->r.count && (x->ep != ep || x->version != j->version_id || x->hour != hour) &&
        (rc = flush_run(j)))
        return rc;
    if (!x->r.count) {
        x->ep = ep;
        x->version = j->version_id;
        x->hour = hour;
    }
    store_rollup_acc_add(&x->r, dur, (double)dur, r->status);
    if (r->outlier && (rc = import_outlier(j, r, rid, ep, ts, dur)))
        return rc;
    profile_ctx p = {j, rid, &q, 0};
    return fmd_src_profile(j->src, r->id, import_profile_line, &p);
}

/* The service to import into: the one named, else the store's only one,
 * else one named after the source file. */
static int pick_service(job *j, const char *src, const char *service, int64_t now_us)
{
    char name[128];
    if (!service || !*service) {
        int64_t only = 0, n = 0;
        if (store_services_count(j->st, &n, &only))
            return fail(j, "%s", store_errmsg(j->st));
        if (n == 1) {
            j->service = only;
            return 0;
        }
        const char *base = strrchr(src, '/');
        base = base ? base + 1 : src;
        snprintf(name, sizeof name, "%.*s", (int)strcspn(base, "."), base);
        service = *name ? name : "flask";
    }
    if (store_service_register(j->st, service, now_us, &j->service))
        return fail(j, "%s", store_errmsg(j->st));
    return 0;
}

static int fingerprint(const char *identity, char hex[65])
{
    unsigned char h[crypto_hash_sha256_BYTES];
    if (sodium_init() < 0)
        return -1;
    crypto_hash_sha256(h, (const unsigned char *)identity, strlen(identity));
    sodium_bin2hex(hex, 65, h, sizeof h);
    return 0;
}

/* Record the import, or say when it was made before. */
static int claim(job *j, const char *src, int force, int64_t *id)
{
    store_import_prev prev;
    int rc = store_import_claim(j->st, &j->rec, force, id, &prev);
    if (rc == STORE_IMPORT_EDUP) {
        char when[64];
        time_t t = (time_t)(prev.imported_us / 1000000);
        struct tm tm;
        strftime(when, sizeof when, "%Y-%m-%d %H:%M UTC", gmtime_r(&t, &tm));
        fail(j,
             "%s: this Flask-MonitoringDashboard database was imported into %s already "
             "(on %s from %s, into service \"%s\": %lld requests%s); nothing was imported. "
             "--force imports it again, which counts its requests twice",
             src, store_display_url(j->st), when, prev.source, prev.service,
             (long long)prev.requests, prev.attempts > 1 ? ", not its first import" : "");
        return rc;
    }
    if (rc)
        return fail(j, "%s", store_errmsg(j->st));
    return 0;
}

static int run_import(job *j, const fmd_options *o, const char *into)
{
    char identity[1024], hex[65], source[PATH_MAX];
    int rc;
    if ((rc = fmd_src_open(o->source, &j->src, j->err, sizeof j->err)))
        return rc;
    if ((rc = fmd_src_identity(j->src, identity, sizeof identity)))
        return fail(j, "%s", fmd_src_errmsg(j->src));
    if (fingerprint(identity, hex))
        return fail(j, "libsodium cannot start");
    /* the record names the file wherever it was imported from */
    if (!realpath(o->source, source))
        snprintf(source, sizeof source, "%s", o->source);
    if ((rc = store_open(into, 0, &j->st)))
        return fail(j, "%s", j->st ? store_errmsg(j->st) : "out of memory");
    if (store_begin(j->st))
        return fail(j, "%s", store_errmsg(j->st));
    char host[64] = "localhost", name[160];
    gethostname(host, sizeof host - 1);
    snprintf(name, sizeof name, "import-fmd:%s", o->source);
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    int64_t now_us = (int64_t)now.tv_sec * 1000000 + now.tv_nsec / 1000, rec_id = 0;
    store_instance in = {.name = name, .host = host, .pid = (int)getpid()};
    j->rec =
        (store_import){.kind = "fmd", .fingerprint = hex, .source = source, .imported_us = now_us};
    if ((rc = pick_service(j, o->source, o->service, now_us)))
        goto out;
    j->rec.service_id = in.service_id = j->service;
    /* a database without endpoints holds nothing to import, nor to remember */
    if (*identity && (rc = claim(j, o->source, o->force, &rec_id)))
        goto out;
    if (store_instance_register(j->st, &in, now_us, &j->instance)) {
        rc = fail(j, "%s", store_errmsg(j->st));
        goto out;
    }
    if ((rc = fmd_src_endpoints(j->src, import_endpoint, j)) ||
        (rc = fmd_src_requests(j->src, import_request, j)) || (rc = flush_run(j)))
        goto out;
    fmd_src_counts n;
    if ((rc = fmd_src_count(j->src, &n)))
        goto out;
    j->c.versions = (long)n.versions;
    j->rec.endpoints = j->c.endpoints;
    j->rec.requests = j->c.requests;
    j->rec.outliers = j->c.outliers;
    j->rec.profile_lines = j->c.profile_lines;
    if (rec_id && store_import_finish(j->st, rec_id, &j->rec))
        rc = fail(j, "%s", store_errmsg(j->st));
out:
    if (rc && !j->err[0]) /* the source failed (the callbacks leave a message) */
        fail(j, "%s", fmd_src_errmsg(j->src));
    if (rc) {
        store_rollback(j->st);
        return rc;
    }
    if (store_commit(j->st))
        return fail(j, "%s", store_errmsg(j->st));
    return 0;
}

int fmd_import(const fmd_options *o, fmd_counts *out, char *err, size_t errcap)
{
    job *j = calloc(1, sizeof *j);
    int rc = EVD_ENOMEM;
    if (!j || store_rollup_acc_init(&j->u.r)) {
        snprintf(err, errcap, "out of memory");
        goto done;
    }
    rc = run_import(j, o, o->into ? o->into : "sqlite:///evodash.db");
    if (rc)
        snprintf(err, errcap, "%s", j->err);
    else if (out)
        *out = j->c;
    if (rc && rc != FMD_EIMPORTED && rc != EVD_ENOMEM)
        rc = EVD_EIO;
done:
    if (j) {
        store_close(j->st);
        fmd_src_close(j->src);
        store_rollup_acc_free(&j->u.r);
        free(j->version);
        free(j->eps.from);
        free(j->eps.to);
    }
    free(j);
    return rc;
}

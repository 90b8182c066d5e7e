/* fmd_import.c — copy a Flask-MonitoringDashboard SQLite database into an
 * evodash store: endpoints (with their levels), versions, requests (with
 * their hourly rollups), outliers and profiler lines.
 *
 * The source tables are <prefix>Endpoint, <prefix>Request, <prefix>Outlier,
 * <prefix>StackLine and <prefix>CodeLine (Flask-MonitoringDashboard's
 * documented schema; TABLE_PREFIX is found by looking for the Request
 * table).  Durations there are milliseconds (float) and times are UTC
 * "YYYY-MM-DD HH:MM:SS[.ffffff]" text.  Everything goes in one
 * transaction: an import either lands whole or not at all.
 */
#include <errno.h>
#include <jansson.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "evodash.h"
#include "core/secret.h"
#include "store/fmd_import.h"
#include "store/read.h"
#include "store/store.h"

typedef struct idmap {
    int64_t *from, *to;
    size_t n, cap;
} idmap;

typedef struct job {
    sqlite3 *src;
    store *st;
    char prefix[64];
    int has_outliers, has_stack;
    idmap eps;
    int64_t instance, service;
    fmd_counts c;
    char err[512];
} job;

static int fail(job *j, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int fail(job *j, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(j->err, sizeof j->err, fmt, ap);
    va_end(ap);
    return -1;
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

static int table_exists(sqlite3 *db, const char *name)
{
    sqlite3_stmt *q = NULL;
    int found = 0;
    if (sqlite3_prepare_v2(db, "SELECT 1 FROM sqlite_master WHERE type='table' AND name=?", -1, &q,
                           NULL) == SQLITE_OK) {
        sqlite3_bind_text(q, 1, name, -1, SQLITE_STATIC);
        found = sqlite3_step(q) == SQLITE_ROW;
    }
    sqlite3_finalize(q);
    return found;
}

static int find_prefix(job *j, const char *path)
{
    sqlite3_stmt *q = NULL;
    int rc = -1;
    if (sqlite3_prepare_v2(j->src,
                           "SELECT name FROM sqlite_master WHERE type='table' AND name LIKE "
                           "'%Request' ORDER BY length(name)",
                           -1, &q, NULL) != SQLITE_OK)
        return fail(j, "%s: not an SQLite database: %s", path, sqlite3_errmsg(j->src));
    while (sqlite3_step(q) == SQLITE_ROW) {
        const char *name = (const char *)sqlite3_column_text(q, 0);
        size_t plen = strlen(name) - strlen("Request");
        char ep[128];
        if (plen >= sizeof j->prefix)
            continue;
        snprintf(ep, sizeof ep, "%.*sEndpoint", (int)plen, name);
        if (table_exists(j->src, ep)) {
            snprintf(j->prefix, sizeof j->prefix, "%.*s", (int)plen, name);
            rc = 0;
            break;
        }
    }
    sqlite3_finalize(q);
    if (rc)
        return fail(j,
                    "%s: not a Flask-MonitoringDashboard database (no Endpoint and Request "
                    "tables)",
                    path);
    char t[128];
    snprintf(t, sizeof t, "%sOutlier", j->prefix);
    j->has_outliers = table_exists(j->src, t);
    snprintf(t, sizeof t, "%sStackLine", j->prefix);
    j->has_stack = table_exists(j->src, t);
    snprintf(t, sizeof t, "%sCodeLine", j->prefix);
    j->has_stack = j->has_stack && table_exists(j->src, t);
    return 0;
}

static int prepare(job *j, sqlite3_stmt **q, const char *fmt)
{
    char sql[1024];
    size_t at = 0, plen = strlen(j->prefix);
    /* every "%s" in fmt is the table prefix */
    for (const char *p = fmt; *p && at + plen + 1 < sizeof sql; p++) {
        if (p[0] == '%' && p[1] == 's') {
            memcpy(sql + at, j->prefix, plen);
            at += plen;
            p++;
        } else {
            sql[at++] = *p;
        }
    }
    sql[at] = 0;
    if (sqlite3_prepare_v2(j->src, sql, -1, q, NULL) != SQLITE_OK)
        return fail(j, "reading the source: %s (is the schema Flask-MonitoringDashboard's?)",
                    sqlite3_errmsg(j->src));
    return 0;
}

static const char *col_text(sqlite3_stmt *q, int i)
{
    return (const char *)sqlite3_column_text(q, i);
}

static int import_endpoints(job *j)
{
    sqlite3_stmt *q = NULL;
    int rc = prepare(j, &q,
                     "SELECT id, name, monitor_level, last_requested FROM \"%sEndpoint\" "
                     "ORDER BY id");
    while (!rc && sqlite3_step(q) == SQLITE_ROW) {
        const char *name = col_text(q, 1);
        int level = sqlite3_column_type(q, 2) == SQLITE_NULL ? 1 : sqlite3_column_int(q, 2);
        int64_t id, last;
        int stored_level;
        if (!name || !*name) {
            rc = fail(j, "Endpoint id %lld: empty name", (long long)sqlite3_column_int64(q, 0));
            break;
        }
        level = level < 0 ? 0 : level > 3 ? 3 : level;
        if (store_endpoint_upsert(j->st, j->service, name, NULL, NULL, level, &id, &stored_level) ||
            map_put(&j->eps, sqlite3_column_int64(q, 0), id)) {
            rc = fail(j, "storing endpoint %s: %s", name, store_errmsg(j->st));
            break;
        }
        if (!parse_time(col_text(q, 3), &last) && store_endpoint_touch(j->st, id, last, 0)) {
            rc = fail(j, "storing endpoint %s: %s", name, store_errmsg(j->st));
            break;
        }
        j->c.endpoints++;
    }
    sqlite3_finalize(q);
    return rc;
}

/* Flask-MonitoringDashboard's stacktrace is traceback.format_stack() text:
 *   File "app.py", line 12, in slow\n    code\n
 * Returns our "function\tfile\tline\n" frames (outermost first, as there),
 * malloc'd, or NULL. */
static char *convert_stack(const char *text)
{
    if (!text)
        return NULL;
    size_t cap = strlen(text) + 1, at = 0;
    char *out = malloc(cap);
    if (!out)
        return NULL;
    out[0] = 0;
    for (const char *p = text; (p = strstr(p, "File \""));) {
        const char *f = p + 6, *fe = strchr(f, '"');
        int line = 0, n = 0;
        if (!fe || sscanf(fe, "\", line %d, in %n", &line, &n) < 1 || !n) {
            p = f;
            continue;
        }
        const char *fn = fe + n, *fnend = fn + strcspn(fn, "\r\n");
        int w = snprintf(out + at, cap - at, "%.*s\t%.*s\t%d\n", (int)(fnend - fn), fn,
                         (int)(fe - f), f, line);
        if (w < 0 || (size_t)w >= cap - at)
            break;
        at += (size_t)w;
        p = fnend;
    }
    if (!at) { /* not a traceback: keep the text as one frame */
        free(out);
        return NULL;
    }
    return out;
}

/* "Name: value" lines into an object, secrets masked. */
static json_t *parse_headers(const char *text)
{
    json_t *o = json_object();
    for (const char *p = text; o && p && *p;) {
        const char *eol = p + strcspn(p, "\r\n"), *colon = memchr(p, ':', (size_t)(eol - p));
        if (colon && colon > p) {
            char name[128];
            snprintf(name, sizeof name, "%.*s", (int)(colon - p), p);
            const char *v = colon + 1;
            while (*v == ' ')
                v++;
            char *val = strndup(v, (size_t)(eol - v));
            if (val)
                json_object_set_new(o, name, json_string(secret_name(name) ? "***" : val));
            free(val);
        }
        p = eol + strspn(eol, "\r\n");
    }
    return o;
}

static int import_outlier(job *j, sqlite3_stmt *q, int64_t rid, int64_t ep, int64_t ts, int64_t dur)
{
    /* columns 8..13: header, environment, url, cpu, memory, stacktrace */
    json_t *details = json_object(), *cpu = NULL, *mem = json_object();
    if (!details || !mem)
        goto nomem;
    if (col_text(q, 10))
        json_object_set_new(details, "url", json_string(col_text(q, 10)));
    if (col_text(q, 8))
        json_object_set_new(details, "headers", parse_headers(col_text(q, 8)));
    if (col_text(q, 9))
        json_object_set_new(details, "environ", json_pack("{s:s}", "text", col_text(q, 9)));
    if (col_text(q, 11))
        cpu = json_loads(col_text(q, 11), JSON_DECODE_ANY, NULL);
    if (cpu && !json_is_array(cpu)) {
        json_decref(cpu);
        cpu = NULL;
    }
    if (col_text(q, 12))
        json_object_set_new(mem, "text", json_string(col_text(q, 12)));
    char *stack = convert_stack(col_text(q, 13));
    char *d = json_dumps(details, JSON_COMPACT), *c = cpu ? json_dumps(cpu, JSON_COMPACT) : NULL;
    char *m = json_dumps(mem, JSON_COMPACT);
    store_outlier o = {.request_id = rid,
                       .endpoint_id = ep,
                       .ts_us = ts,
                       .duration_us = dur,
                       .stack = stack ? stack : col_text(q, 13),
                       .cpu = c,
                       .memory = m,
                       .details = d};
    int rc = store_insert_outlier(j->st, &o);
    free(stack);
    free(d);
    free(c);
    free(m);
    json_decref(details);
    json_decref(cpu);
    json_decref(mem);
    if (rc)
        return fail(j, "storing an outlier: %s", store_errmsg(j->st));
    j->c.outliers++;
    return 0;
nomem:
    json_decref(details);
    json_decref(mem);
    return fail(j, "out of memory");
}

static int import_profile(job *j, sqlite3_stmt *sq, int64_t fmd_rid, int64_t rid,
                          const store_request *r)
{
    int rc = 0, lines = 0;
    sqlite3_bind_int64(sq, 1, fmd_rid);
    while (sqlite3_step(sq) == SQLITE_ROW) {
        store_profile_line p = {.request_id = rid,
                                .position = sqlite3_column_int(sq, 0),
                                .indent = sqlite3_column_int(sq, 1),
                                .duration_us = (int64_t)(sqlite3_column_double(sq, 2) * 1000.0),
                                .function = col_text(sq, 3) ? col_text(sq, 3) : "?",
                                .file = col_text(sq, 4),
                                .line = sqlite3_column_int(sq, 5),
                                .samples = 1};
        if (store_insert_profile_line(j->st, &p)) {
            rc = fail(j, "storing a profiler line: %s", store_errmsg(j->st));
            break;
        }
        if (!lines++ && store_insert_profiled(j->st, rid, r)) {
            rc = fail(j, "listing a profiled request: %s", store_errmsg(j->st));
            break;
        }
        j->c.profile_lines++;
    }
    sqlite3_reset(sq);
    return rc;
}

typedef struct run {
    int64_t ep, version, hour;
    store_rollup_acc r;
} run;

static int flush_run(job *j, run *u)
{
    if (!u->r.count)
        return 0;
    if (store_rollup_acc_merge(j->st, &u->r, u->ep, u->version, u->hour, j->instance))
        return fail(j, "storing a rollup: %s", store_errmsg(j->st));
    return 0;
}

static int touch_version(job *j, const char *name, int64_t ts, int64_t *id)
{
    /* the upsert keeps first_seen of an existing row; imported history may be older */
    if (store_version_touch(j->st, name, ts, id) || store_version_first_seen(j->st, *id, ts))
        return fail(j, "storing version %s: %s", name, store_errmsg(j->st));
    return 0;
}

static int import_requests(job *j)
{
    sqlite3_stmt *q = NULL, *sq = NULL;
    run *u = calloc(1, sizeof *u);
    char *last_version = NULL;
    int64_t version_id = 0;
    int rc;
    if (!u || store_rollup_acc_init(&u->r)) {
        free(u);
        return fail(j, "out of memory");
    }
    if (j->has_outliers)
        rc = prepare(j, &q,
                     "SELECT r.id, r.endpoint_id, r.duration, r.time_requested, "
                     "r.version_requested, r.group_by, r.ip, r.status_code, o.request_header, "
                     "o.request_environment, o.request_url, o.cpu_percent, o.memory, "
                     "o.stacktrace, o.id FROM \"%sRequest\" r LEFT JOIN \"%sOutlier\" o ON "
                     "o.request_id = r.id ORDER BY r.endpoint_id, r.version_requested, "
                     "r.time_requested");
    else
        rc = prepare(j, &q,
                     "SELECT id, endpoint_id, duration, time_requested, version_requested, "
                     "group_by, ip, status_code, NULL, NULL, NULL, NULL, NULL, NULL, NULL "
                     "FROM \"%sRequest\" ORDER BY endpoint_id, version_requested, "
                     "time_requested");
    sqlite3_stmt *vq = NULL;
    if (!rc &&
        !(rc = prepare(j, &vq,
                       "SELECT count(DISTINCT coalesce(version_requested, '1.0')) FROM "
                       "\"%sRequest\"")) &&
        sqlite3_step(vq) == SQLITE_ROW)
        j->c.versions = sqlite3_column_int(vq, 0);
    sqlite3_finalize(vq);
    if (!rc && j->has_stack)
        rc = prepare(j, &sq,
                     "SELECT s.position, s.indent, s.duration, c.function_name, c.filename, "
                     "c.line_number FROM \"%sStackLine\" s JOIN \"%sCodeLine\" c ON c.id = "
                     "s.code_id WHERE s.request_id = ? ORDER BY s.position");
    while (!rc && (rc = sqlite3_step(q)) == SQLITE_ROW) {
        rc = 0;
        int64_t fmd_id = sqlite3_column_int64(q, 0);
        int64_t ep = map_get(&j->eps, sqlite3_column_int64(q, 1)), ts;
        const char *version = col_text(q, 4) ? col_text(q, 4) : "1.0";
        if (ep < 0) {
            rc = fail(j, "Request id %lld: endpoint_id %lld is not in the Endpoint table",
                      (long long)fmd_id, (long long)sqlite3_column_int64(q, 1));
            break;
        }
        if (parse_time(col_text(q, 3), &ts)) {
            rc = fail(j, "Request id %lld: time_requested: cannot read \"%.40s\"",
                      (long long)fmd_id, col_text(q, 3) ? col_text(q, 3) : "NULL");
            break;
        }
        double ms = sqlite3_column_double(q, 2);
        int64_t dur = ms > 0 ? (int64_t)(ms * 1000.0 + 0.5) : 0;
        if (!last_version || strcmp(last_version, version)) {
            free(last_version);
            if (!(last_version = strdup(version))) {
                rc = fail(j, "out of memory");
                break;
            }
            if ((rc = touch_version(j, version, ts, &version_id)))
                break;
        } else if (store_version_touch(j->st, version, ts, NULL)) {
            rc = fail(j, "storing version %s: %s", version, store_errmsg(j->st));
            break;
        }
        int status = sqlite3_column_type(q, 7) == SQLITE_NULL ? 0 : sqlite3_column_int(q, 7);
        store_request r = {.endpoint_id = ep,
                           .version_id = version_id,
                           .instance_id = j->instance,
                           .ts_us = ts,
                           .duration_us = dur,
                           .status = status,
                           .group = col_text(q, 5),
                           .ip = col_text(q, 6)};
        int64_t rid;
        if (store_insert_request(j->st, &r, &rid)) {
            rc = fail(j, "storing Request id %lld: %s", (long long)fmd_id, store_errmsg(j->st));
            break;
        }
        j->c.requests++;
        int64_t hour = ts >= 0 ? ts / 3600000000LL : (ts - 3599999999LL) / 3600000000LL;
        if (u->r.count && (u->ep != ep || u->version != version_id || u->hour != hour) &&
            (rc = flush_run(j, u)))
            break;
        if (!u->r.count) {
            u->ep = ep;
            u->version = version_id;
            u->hour = hour;
        }
        store_rollup_acc_add(&u->r, dur, (double)dur, status);
        if (sqlite3_column_type(q, 14) != SQLITE_NULL &&
            (rc = import_outlier(j, q, rid, ep, ts, dur)))
            break;
        if (sq && (rc = import_profile(j, sq, fmd_id, rid, &r)))
            break;
    }
    if (rc == SQLITE_DONE)
        rc = flush_run(j, u);
    else if (rc > 0)
        rc = fail(j, "reading the source: %s", sqlite3_errmsg(j->src));
    free(last_version);
    store_rollup_acc_free(&u->r);
    free(u);
    sqlite3_finalize(q);
    sqlite3_finalize(sq);
    return rc;
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

static int run_import(job *j, const char *src, const char *into, const char *service)
{
    int rc;
    if (access(src, R_OK))
        return fail(j, "%s: cannot open: %s", src, strerror(errno));
    if (sqlite3_open_v2(src, &j->src, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK)
        return fail(j, "%s: cannot open: %s", src, j->src ? sqlite3_errmsg(j->src) : "no memory");
    if ((rc = find_prefix(j, src)))
        return rc;
    if ((rc = store_open(into, 0, &j->st)))
        return fail(j, "%s", j->st ? store_errmsg(j->st) : "out of memory");
    if (store_begin(j->st))
        return fail(j, "%s", store_errmsg(j->st));
    char host[64] = "localhost", name[160];
    gethostname(host, sizeof host - 1);
    snprintf(name, sizeof name, "import-fmd:%s", src);
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    int64_t now_us = (int64_t)now.tv_sec * 1000000 + now.tv_nsec / 1000;
    store_instance in = {.name = name, .host = host, .pid = (int)getpid()};
    if ((rc = pick_service(j, src, service, now_us))) {
        /* message set */
    } else if ((in.service_id = j->service,
                store_instance_register(j->st, &in, now_us, &j->instance))) {
        rc = fail(j, "%s", store_errmsg(j->st));
    } else if (!(rc = import_endpoints(j))) {
        rc = import_requests(j);
    }
    if (rc) {
        store_rollback(j->st);
        return rc;
    }
    if (store_commit(j->st))
        return fail(j, "%s", store_errmsg(j->st));
    return 0;
}

int fmd_import(const char *src, const char *into, const char *service, fmd_counts *out, char *err,
               size_t errcap)
{
    job *j = calloc(1, sizeof *j);
    if (!j) {
        snprintf(err, errcap, "out of memory");
        return EVD_ENOMEM;
    }
    int rc = run_import(j, src, into ? into : "sqlite:///evodash.db", service);
    store_close(j->st);
    sqlite3_close(j->src);
    if (rc)
        snprintf(err, errcap, "%s", j->err);
    else if (out)
        *out = j->c;
    free(j->eps.from);
    free(j->eps.to);
    free(j);
    return rc ? EVD_EIO : 0;
}

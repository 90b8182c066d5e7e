/* fmd_source.c — a Flask-MonitoringDashboard database, read (see
 * fmd_source.h).
 *
 * The source is FMD's own SQLite file, not a store: it is read with SQLite
 * directly rather than through the statement layer (sq.h), which speaks to
 * stores of either backend.  Its statements are below, each "%s" in them
 * standing for the table prefix.  Durations there are milliseconds (float),
 * times UTC "YYYY-MM-DD HH:MM:SS.ffffff" text; FMD writes request_url as
 * bytes, which SQLite keeps as a blob and hands back as text. */
#include <errno.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "evodash.h"
#include "store/fmd_source.h"

static const char SQL_TABLE_EXISTS[] = "SELECT 1 FROM sqlite_master WHERE type = 'table' AND "
                                       "name = ?";
static const char SQL_REQUEST_TABLES[] =
    "SELECT name FROM sqlite_master WHERE type = 'table' AND name LIKE '%Request' ORDER BY "
    "length(name)";
static const char SQL_FIRST_ENDPOINT[] =
    "SELECT id, name, time_added, version_added FROM \"%sEndpoint\" ORDER BY id LIMIT 1";
static const char SQL_COUNT_ENDPOINTS[] = "SELECT count(*) FROM \"%sEndpoint\"";
static const char SQL_COUNT_REQUESTS[] =
    "SELECT count(*), count(DISTINCT coalesce(version_requested, '1.0')) FROM \"%sRequest\"";
static const char SQL_COUNT_OUTLIERS[] = "SELECT count(*) FROM \"%sOutlier\"";
static const char SQL_COUNT_STACK[] = "SELECT count(*) FROM \"%sStackLine\"";
static const char SQL_ENDPOINTS[] = "SELECT id, name, monitor_level, time_added, last_requested "
                                    "FROM \"%sEndpoint\" ORDER BY id";
static const char SQL_REQUESTS_OUTLIERS[] =
    "SELECT r.id, r.endpoint_id, r.duration, r.time_requested, r.version_requested, r.group_by, "
    "r.ip, r.status_code, o.id, o.request_header, o.request_environment, o.request_url, "
    "o.cpu_percent, o.memory, o.stacktrace FROM \"%sRequest\" r LEFT JOIN \"%sOutlier\" o ON "
    "o.request_id = r.id ORDER BY r.endpoint_id, r.version_requested, r.time_requested, r.id";
static const char SQL_REQUESTS[] =
    "SELECT id, endpoint_id, duration, time_requested, version_requested, group_by, ip, "
    "status_code, NULL, NULL, NULL, NULL, NULL, NULL, NULL FROM \"%sRequest\" ORDER BY "
    "endpoint_id, version_requested, time_requested, id";
static const char SQL_PROFILE[] =
    "SELECT s.position, s.indent, s.duration, c.function_name, c.filename, c.line_number FROM "
    "\"%sStackLine\" s JOIN \"%sCodeLine\" c ON c.id = s.code_id WHERE s.request_id = ? ORDER BY "
    "s.position";

struct fmd_src {
    sqlite3 *db;
    char prefix[64];
    int has_outliers, has_profiles;
    sqlite3_stmt *profile; /* kept: asked once per request */
    char err[512];
};

static int src_fail(fmd_src *s, int rc, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int src_fail(fmd_src *s, int rc, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(s->err, sizeof s->err, fmt, ap);
    va_end(ap);
    return rc;
}

static int table_exists(fmd_src *s, const char *prefix, const char *table)
{
    char name[160];
    sqlite3_stmt *q = NULL;
    int found = 0;
    snprintf(name, sizeof name, "%s%s", prefix, table);
    if (sqlite3_prepare_v2(s->db, SQL_TABLE_EXISTS, -1, &q, NULL) == SQLITE_OK) {
        sqlite3_bind_text(q, 1, name, -1, SQLITE_STATIC);
        found = sqlite3_step(q) == SQLITE_ROW;
    }
    sqlite3_finalize(q);
    return found;
}

static int find_prefix(fmd_src *s, const char *path)
{
    sqlite3_stmt *q = NULL;
    int found = 0;
    if (sqlite3_prepare_v2(s->db, SQL_REQUEST_TABLES, -1, &q, NULL) != SQLITE_OK)
        return src_fail(s, EVD_ECORRUPT, "%s: not an SQLite database: %s", path,
                        sqlite3_errmsg(s->db));
    while (!found && sqlite3_step(q) == SQLITE_ROW) {
        const char *name = (const char *)sqlite3_column_text(q, 0);
        size_t plen = strlen(name) - strlen("Request");
        char prefix[sizeof s->prefix];
        if (plen >= sizeof prefix)
            continue;
        snprintf(prefix, sizeof prefix, "%.*s", (int)plen, name);
        if (table_exists(s, prefix, "Endpoint")) {
            memcpy(s->prefix, prefix, sizeof prefix);
            found = 1;
        }
    }
    sqlite3_finalize(q);
    if (!found)
        return src_fail(s, EVD_ECORRUPT,
                        "%s: not a Flask-MonitoringDashboard database (no Endpoint and Request "
                        "tables)",
                        path);
    s->has_outliers = table_exists(s, s->prefix, "Outlier");
    s->has_profiles =
        table_exists(s, s->prefix, "StackLine") && table_exists(s, s->prefix, "CodeLine");
    return 0;
}

/* Prepare fmd, every "%s" in it replaced by the table prefix. */
static int prepare(fmd_src *s, sqlite3_stmt **q, const char *fmd)
{
    char sql[1024];
    size_t at = 0, plen = strlen(s->prefix);
    for (const char *p = fmd; *p && at + plen + 1 < sizeof sql; p++) {
        if (p[0] == '%' && p[1] == 's') {
            memcpy(sql + at, s->prefix, plen);
            at += plen;
            p++;
        } else {
            sql[at++] = *p;
        }
    }
    sql[at] = 0;
    *q = NULL;
    if (sqlite3_prepare_v2(s->db, sql, -1, q, NULL) != SQLITE_OK)
        return src_fail(s, EVD_ECORRUPT,
                        "reading the source: %s (is the schema Flask-MonitoringDashboard's?)",
                        sqlite3_errmsg(s->db));
    return 0;
}

static const char *text(sqlite3_stmt *q, int i)
{
    return (const char *)sqlite3_column_text(q, i);
}

/* Step q to its end; SQLITE_DONE becomes 0, an error a message. */
static int finished(fmd_src *s, int rc)
{
    if (rc == SQLITE_DONE)
        return 0;
    return src_fail(s, EVD_EIO, "reading the source: %s", sqlite3_errmsg(s->db));
}

int fmd_src_open(const char *path, fmd_src **out, char *err, size_t cap)
{
    fmd_src *s = calloc(1, sizeof *s);
    int rc = 0;
    *out = NULL;
    if (!s) {
        snprintf(err, cap, "out of memory");
        return EVD_ENOMEM;
    }
    /* sqlite3_open_v2 would report a missing file only as "unable to open" */
    if (access(path, R_OK))
        rc = src_fail(s, EVD_EIO, "%s: cannot open: %s", path, strerror(errno));
    else if (sqlite3_open_v2(path, &s->db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK)
        rc = src_fail(s, EVD_EIO, "%s: cannot open: %s", path,
                      s->db ? sqlite3_errmsg(s->db) : "out of memory");
    else
        rc = find_prefix(s, path);
    if (rc) {
        snprintf(err, cap, "%s", s->err);
        fmd_src_close(s);
        return rc;
    }
    *out = s;
    return 0;
}

void fmd_src_close(fmd_src *s)
{
    if (!s)
        return;
    sqlite3_finalize(s->profile);
    sqlite3_close(s->db);
    free(s);
}

const char *fmd_src_errmsg(const fmd_src *s)
{
    return s ? s->err : "out of memory";
}

int fmd_src_has_profiles(const fmd_src *s)
{
    return s->has_profiles;
}

int fmd_src_identity(fmd_src *s, char *out, size_t cap)
{
    sqlite3_stmt *q;
    int rc = prepare(s, &q, SQL_FIRST_ENDPOINT);
    if (rc)
        return rc;
    out[0] = 0;
    if ((rc = sqlite3_step(q)) == SQLITE_ROW) {
        snprintf(out, cap, "%s\n%lld\n%s\n%s\n%s\n", s->prefix,
                 (long long)sqlite3_column_int64(q, 0), text(q, 1) ? text(q, 1) : "",
                 text(q, 2) ? text(q, 2) : "", text(q, 3) ? text(q, 3) : "");
        rc = SQLITE_DONE;
    }
    sqlite3_finalize(q);
    return finished(s, rc);
}

/* The integer columns of sql's one row into v[0..n). */
static int count_row(fmd_src *s, const char *sql, int64_t *v, int n)
{
    sqlite3_stmt *q;
    int rc = prepare(s, &q, sql);
    if (rc)
        return rc;
    if ((rc = sqlite3_step(q)) == SQLITE_ROW) {
        for (int i = 0; i < n; i++)
            v[i] = sqlite3_column_int64(q, i);
        rc = SQLITE_DONE;
    }
    sqlite3_finalize(q);
    return finished(s, rc);
}

int fmd_src_count(fmd_src *s, fmd_src_counts *c)
{
    int64_t rv[2] = {0, 0};
    int rc;
    memset(c, 0, sizeof *c);
    if ((rc = count_row(s, SQL_COUNT_ENDPOINTS, &c->endpoints, 1)) ||
        (rc = count_row(s, SQL_COUNT_REQUESTS, rv, 2)))
        return rc;
    c->requests = rv[0];
    c->versions = rv[1];
    if (s->has_outliers && (rc = count_row(s, SQL_COUNT_OUTLIERS, &c->outliers, 1)))
        return rc;
    if (s->has_profiles && (rc = count_row(s, SQL_COUNT_STACK, &c->profile_lines, 1)))
        return rc;
    return 0;
}

int fmd_src_endpoints(fmd_src *s, int (*cb)(void *u, const fmd_endpoint_row *r), void *u)
{
    sqlite3_stmt *q;
    int rc = prepare(s, &q, SQL_ENDPOINTS), step = SQLITE_DONE;
    while (!rc && (step = sqlite3_step(q)) == SQLITE_ROW) {
        fmd_endpoint_row r = {
            .id = sqlite3_column_int64(q, 0),
            .name = text(q, 1),
            .level = sqlite3_column_type(q, 2) == SQLITE_NULL ? -1 : sqlite3_column_int(q, 2),
            .time_added = text(q, 3),
            .last_requested = text(q, 4),
        };
        rc = cb(u, &r);
    }
    if (!rc)
        rc = finished(s, step);
    sqlite3_finalize(q);
    return rc;
}

int fmd_src_requests(fmd_src *s, int (*cb)(void *u, const fmd_request_row *r), void *u)
{
    sqlite3_stmt *q;
    int rc = prepare(s, &q, s->has_outliers ? SQL_REQUESTS_OUTLIERS : SQL_REQUESTS);
    int step = SQLITE_DONE;
    while (!rc && (step = sqlite3_step(q)) == SQLITE_ROW) {
        fmd_request_row r = {
            .id = sqlite3_column_int64(q, 0),
            .endpoint_id = sqlite3_column_int64(q, 1),
            .duration_ms = sqlite3_column_double(q, 2),
            .time_requested = text(q, 3),
            .version = text(q, 4),
            .group_by = text(q, 5),
            .ip = text(q, 6),
            .status = sqlite3_column_int(q, 7),
            .outlier = sqlite3_column_type(q, 8) != SQLITE_NULL,
            .header = text(q, 9),
            .environment = text(q, 10),
            .url = text(q, 11),
            .cpu = text(q, 12),
            .memory = text(q, 13),
            .stacktrace = text(q, 14),
        };
        rc = cb(u, &r);
    }
    if (!rc)
        rc = finished(s, step);
    sqlite3_finalize(q);
    return rc;
}

int fmd_src_profile(fmd_src *s, int64_t request_id, int (*cb)(void *u, const fmd_profile_row *r),
                    void *u)
{
    int rc = 0, step = SQLITE_DONE;
    if (!s->has_profiles)
        return 0;
    if (!s->profile && (rc = prepare(s, &s->profile, SQL_PROFILE)))
        return rc;
    sqlite3_bind_int64(s->profile, 1, request_id);
    while (!rc && (step = sqlite3_step(s->profile)) == SQLITE_ROW) {
        fmd_profile_row r = {
            .position = sqlite3_column_int(s->profile, 0),
            .indent = sqlite3_column_int(s->profile, 1),
            .duration_ms = sqlite3_column_double(s->profile, 2),
            .function = text(s->profile, 3),
            .file = text(s->profile, 4),
            .line = sqlite3_column_int(s->profile, 5),
        };
        rc = cb(u, &r);
    }
    if (!rc)
        rc = finished(s, step);
    sqlite3_reset(s->profile);
    return rc;
}

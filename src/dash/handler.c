/* handler.c — the dashboard handler: the route table, dispatch and access
 * checks, and the store connection pool (the reply helpers are in
 * reply.c, query parsing and the time-zone cache in params.c).
 *
 * DESIGN — evd_dash_handle() runs on the transport's threads, many at once.
 * Each request borrows one store connection from a small pool (SQLite
 * handles are opened NOMUTEX, so a handle is never shared by two threads
 * at a time); the pool and the time-zone cache sit behind one mutex, held
 * only for those few lookups, never across a query (the login rate limit
 * has its own, ratelimit.c).
 * When every pooled connection is busy a request opens its own and closes
 * it afterwards, so a burst never blocks. */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "evodash.h"
#include "core/clock.h"
#include "assets/assets.h"
#include "core/config.h"
#include "dash/dash_int.h"
#include "dash/helpers.h"
#include "dash/ratelimit.h"
#include "store/read.h"

/* Longer URLs and header blocks are refused with a JSON 414 / 431, as
 * common servers do (nginx and Apache stop at 8 KiB lines); below
 * libmicrohttpd's smallest per-connection memory (32 KiB), so its own
 * HTML error pages are never reached first. */
#define URL_MAX_BYTES     8192
#define HEADERS_MAX_BYTES 16384

/* ACC_READ_TOKEN: any session, or the bearer token (findings, for
 * alerting scripts) */
enum access { ACC_PUBLIC, ACC_READ, ACC_ADMIN, ACC_EXPORT, ACC_READ_TOKEN };

struct route {
    const char *method;
    const char *path; /* "{id}" matches one all-digit segment */
    int (*fn)(dctx *c);
    enum access access;
    int csrf; /* state-changing: needs the session's CSRF token */
};

static int route_index(dctx *c);
static int route_static(dctx *c);

static const struct route routes[] = {
    {.method = "POST", .path = "/login", .fn = route_login, .access = ACC_PUBLIC},
    {.method = "POST", .path = "/logout", .fn = route_logout, .access = ACC_READ, .csrf = 1},
    {.method = "GET", .path = "/metrics", .fn = route_metrics, .access = ACC_EXPORT},
    {.method = "GET", .path = "/api/session", .fn = route_session, .access = ACC_READ},
    {.method = "GET", .path = "/api/overview", .fn = api_overview, .access = ACC_READ},
    {.method = "GET", .path = "/api/rules", .fn = api_rules, .access = ACC_READ},
    {.method = "POST",
     .path = "/api/rules/{id}/level",
     .fn = api_set_level,
     .access = ACC_ADMIN,
     .csrf = 1},
    {.method = "GET", .path = "/api/heatmap", .fn = api_heatmap, .access = ACC_READ},
    {.method = "GET", .path = "/api/daily", .fn = api_daily, .access = ACC_READ},
    {.method = "GET", .path = "/api/hourly", .fn = api_hourly, .access = ACC_READ},
    {.method = "GET", .path = "/api/performance", .fn = api_performance, .access = ACC_READ},
    {.method = "GET", .path = "/api/versions", .fn = api_versions, .access = ACC_READ},
    {.method = "GET", .path = "/api/instances", .fn = api_instances, .access = ACC_READ},
    {.method = "GET", .path = "/api/services", .fn = api_services, .access = ACC_READ},
    {.method = "GET", .path = "/api/counters", .fn = api_counters, .access = ACC_READ},
    {.method = "GET", .path = "/api/matrix", .fn = api_matrix, .access = ACC_READ},
    {.method = "GET", .path = "/api/evolution", .fn = api_evolution, .access = ACC_READ},
    {.method = "GET",
     .path = "/api/endpoints/{id}/versions",
     .fn = api_ep_versions,
     .access = ACC_READ},
    {.method = "GET",
     .path = "/api/endpoints/{id}/groups",
     .fn = api_ep_groups,
     .access = ACC_READ},
    {.method = "GET", .path = "/api/endpoints/{id}/ips", .fn = api_ep_ips, .access = ACC_READ},
    {.method = "GET",
     .path = "/api/endpoints/{id}/bubbles",
     .fn = api_ep_bubbles,
     .access = ACC_READ},
    {.method = "GET",
     .path = "/api/endpoints/{id}/status",
     .fn = api_ep_status,
     .access = ACC_READ},
    {.method = "GET",
     .path = "/api/endpoints/{id}/heatmap",
     .fn = api_ep_heatmap,
     .access = ACC_READ},
    {.method = "GET",
     .path = "/api/endpoints/{id}/outliers",
     .fn = api_outliers,
     .access = ACC_READ},
    {.method = "GET",
     .path = "/api/endpoints/{id}/profile",
     .fn = api_ep_profile,
     .access = ACC_READ},
    {.method = "GET",
     .path = "/api/endpoints/{id}/profiled",
     .fn = api_ep_profiled,
     .access = ACC_READ},
    {.method = "GET", .path = "/api/outliers/{id}", .fn = api_outlier, .access = ACC_READ},
    {.method = "GET", .path = "/api/requests/{id}/profile", .fn = api_profiler, .access = ACC_READ},
    {.method = "GET", .path = "/api/export", .fn = api_export, .access = ACC_EXPORT},
    /* CI test timings (api_ci.c): the upload takes the bearer token */
    {.method = "POST",
     .path = "/api/ci/builds",
     .fn = api_ci_upload,
     .access = ACC_EXPORT,
     .csrf = 1},
    {.method = "GET", .path = "/api/ci/builds", .fn = api_ci_builds, .access = ACC_READ},
    {.method = "GET", .path = "/api/ci/boxes", .fn = api_ci_boxes, .access = ACC_READ},
    {.method = "GET", .path = "/api/ci/correlation", .fn = api_ci_correlation, .access = ACC_READ},
    {.method = "GET", .path = "/api/ci/regressions", .fn = api_ci_regressions, .access = ACC_READ},
    /* version verdicts: findings, comparisons, marks, renames */
    {.method = "GET", .path = "/api/findings", .fn = api_findings, .access = ACC_READ_TOKEN},
    {.method = "GET", .path = "/api/compare", .fn = api_compare, .access = ACC_READ},
    {.method = "GET",
     .path = "/api/endpoints/{id}/profile_diff",
     .fn = api_profile_diff,
     .access = ACC_READ},
    {.method = "POST",
     .path = "/api/versions/{id}/mark",
     .fn = api_version_mark,
     .access = ACC_ADMIN,
     .csrf = 1},
    {.method = "GET", .path = "/api/renames", .fn = api_renames, .access = ACC_READ},
    {.method = "POST",
     .path = "/api/renames",
     .fn = api_rename_add,
     .access = ACC_ADMIN,
     .csrf = 1},
    {.method = "POST",
     .path = "/api/renames/{id}/undo",
     .fn = api_rename_undo,
     .access = ACC_ADMIN,
     .csrf = 1},
    /* the Capacity page (api_capacity.c) */
    {.method = "GET", .path = "/api/capacity", .fn = api_capacity, .access = ACC_READ},
};

/* ---- lifetime -------------------------------------------------------------- */

static void set_err(evd_dash *d, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void set_err(evd_dash *d, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(d->err, sizeof d->err, fmt, ap);
    va_end(ap);
}

static void pool_put(evd_dash *d, store *st);

/* Open the store and bootstrap its users.  An embedded dashboard must not
 * stop its service when the store is down, so a failure here leaves the
 * handle answering 503 and evd_dash_handle() tries again, at most every
 * ATTACH_RETRY_US.  Under attach_mu. */
static int attach_unsafe(evd_dash *d)
{
    store *st = NULL;
    /* A read-only open first, so that a missing file is an error rather
     * than a fresh empty store. */
    int rc = store_open(d->db_url, STORE_RDONLY, &st);
    if (!rc) {
        store_close(st);
        st = NULL;
        /* Read-write: serve writes users, sessions, settings and levels
         * (and migrates an older store so those tables exist). */
        rc = store_open(d->db_url, 0, &st);
    }
    if (rc) {
        set_err(d, "%s", st ? store_errmsg(st) : "out of memory");
        store_close(st);
        return rc;
    }
    if ((rc = auth_bootstrap(d, st, d->cfg))) {
        store_close(st);
        return rc;
    }
    pool_put(d, st);
    atomic_store(&d->attached, 1);
    return 0;
}

static int attach(evd_dash *d)
{
    pthread_mutex_lock(&d->attach_mu);
    int rc = atomic_load(&d->attached) ? 0 : attach_unsafe(d);
    if (rc)
        d->attach_after_us = clock_mono_ns() / 1000 + ATTACH_RETRY_US;
    pthread_mutex_unlock(&d->attach_mu);
    return rc;
}

int evd_dash_serves(const evd_dash *d)
{
    return d && d->serves;
}

int evd_dash_open(const evd_config *cfg, const char *db_url, evd_dash **out)
{
    evd_config *own = NULL;
    int rc;
    evd_dash *d = calloc(1, sizeof *d);

    *out = d;
    if (!d)
        return EVD_ENOMEM;
    pthread_mutex_init(&d->lock, NULL);
    pthread_mutex_init(&d->attach_mu, NULL);
    if (sodium_init() < 0) {
        set_err(d, "libsodium failed to initialise");
        return EVD_EIO;
    }
    if (!cfg) {
        if (!(own = evd_config_new()))
            return EVD_ENOMEM;
        cfg = own;
    }
    const char *url = db_url ? db_url : config_str(cfg, "DATABASE");
    const char *link = config_str(cfg, "CUSTOM_LINK");
    const char *tz = config_str(cfg, "TIMEZONE");
    snprintf(d->prefix, sizeof d->prefix, "/%s", link && *link ? link : "dashboard");
    snprintf(d->tz_default, sizeof d->tz_default, "%s", tz && *tz ? tz : "UTC");
    d->session_ttl_us = (int64_t)config_int(cfg, "SESSION_HOURS") * 3600 * 1000000;
    d->cookie_secure = config_bool(cfg, "COOKIE_SECURE");
    d->raw_rows_max = config_int(cfg, "RAW_ROWS_MAX");
    d->retention_days = (int)config_int(cfg, "RETENTION_DAYS");
    d->findings_min_requests = config_int(cfg, "FINDINGS_MIN_REQUESTS");
    d->findings_min_ratio = config_double(cfg, "FINDINGS_MIN_RATIO");
    if (!(d->aggcache = aggcache_new()) || !(d->rawscan = rawscan_cache_new()) ||
        !(d->findings = findings_cache_new(d))) {
        rc = EVD_ENOMEM;
        goto done;
    }
    if (!(d->db_url = strdup(url ? url : "sqlite:///evodash.db"))) {
        rc = EVD_ENOMEM;
        goto done;
    }
    store_url_redact(d->db_url, d->db_shown, sizeof d->db_shown);
    tz_zone *z = NULL;
    char terr[160];
    if ((rc = tz_load(d->tz_default, NULL, &z, terr, sizeof terr))) {
        set_err(d, "TIMEZONE: %s", terr);
        goto done;
    }
    /* The configured zone is pinned: one reference that is never let go. */
    d->tz_cache[d->ntz++] = (tz_entry){.z = z, .refs = 1};
    const char *user = config_str(cfg, "USERNAME"), *pw = config_str(cfg, "PASSWORD");
    if (user && *user && (!pw || !*pw)) {
        set_err(d, "USERNAME is set but PASSWORD is not: set both, or neither to have a random "
                   "admin password generated");
        rc = EVD_EINVAL;
        goto done;
    }
    auth_token(d, cfg);
    /* kept for an attach retried later (the users come from it) */
    if (!(d->cfg = config_clone(cfg))) {
        rc = EVD_ENOMEM;
        goto done;
    }
    /* From here on the handle serves, whatever the store does: answering
     * 503 until it can be reached. */
    if (config_bool(cfg, "PACK_HOURS"))
        d->compactor = compactor_start(d->db_url);
    d->serves = 1;
    rc = attach(d);
done:
    evd_config_free(own);
    return rc;
}

void evd_dash_close(evd_dash *d)
{
    if (!d)
        return;
    compactor_stop(d->compactor); /* first: threads that read the handle */
    findings_cache_free(d->findings);
    for (int i = 0; i < d->npool; i++)
        store_close(d->pool[i]);
    for (int i = 0; i < d->ntz; i++)
        tz_free(d->tz_cache[i].z);
    aggcache_free(d->aggcache);
    rawscan_cache_free(d->rawscan);
    rl_free(d->rl);
    for (int i = 0; i < d->nguest_pw; i++) {
        sodium_memzero(d->guest_pw[i], strlen(d->guest_pw[i]));
        free(d->guest_pw[i]);
    }
    free(d->guest_pw);
    if (d->guest_key)
        sodium_memzero(d->guest_key, (size_t)d->nguest_pw * sizeof *d->guest_key);
    free(d->guest_key);
    if (d->db_url) {
        sodium_memzero(d->db_url, strlen(d->db_url)); /* may hold a password */
        free(d->db_url);
    }
    evd_config_free(d->cfg);
    pthread_mutex_destroy(&d->attach_mu);
    pthread_mutex_destroy(&d->lock);
    sodium_memzero(d->token_hash, sizeof d->token_hash);
    free(d);
}

const char *evd_dash_errmsg(const evd_dash *d)
{
    return d ? d->err : "out of memory";
}

const char *evd_dash_prefix(const evd_dash *d)
{
    return d->prefix;
}

void evd_dash_set_agent(evd_dash *d, const evd_agent *a)
{
    if (d)
        d->live = a;
}

const char *evd_dash_store(const evd_dash *d)
{
    return d->db_shown;
}

static store *pool_get(evd_dash *d)
{
    store *st = NULL;
    pthread_mutex_lock(&d->lock);
    if (d->npool)
        st = d->pool[--d->npool];
    pthread_mutex_unlock(&d->lock);
    if (st)
        return st;
    if (store_open(d->db_url, STORE_NOMIGRATE, &st)) {
        store_close(st);
        return NULL;
    }
    return st;
}

int evd_dash_warm(evd_dash *d)
{
    store *st = pool_get(d);
    if (!st)
        return EVD_EIO;
    int rc = aggcache_warm(d->aggcache, st);
    pool_put(d, st);
    return rc;
}

static void pool_put(evd_dash *d, store *st)
{
    if (!st)
        return;
    pthread_mutex_lock(&d->lock);
    if (d->npool < DASH_POOL_MAX) {
        d->pool[d->npool++] = st;
        st = NULL;
    }
    pthread_mutex_unlock(&d->lock);
    store_close(st);
}

/* ---- static pages -------------------------------------------------------- */

/* The dashboard app and ECharts, embedded by src/assets (spa.S, echarts.S):
 * served from memory, so nothing is ever read from disk. */
static int serve_asset(dctx *c, const char *name)
{
    size_t len;
    const char *type;
    const char *data = assets_get(name, &len, &type);
    if (!data)
        return dash_error(c, 404, "static: no asset '%.60s'", name);
    dash_reset_body(c->rs);
    c->rs->status = 200;
    c->rs->content_type = type;
    c->rs->body = (char *)data;
    c->rs->body_len = len;
    c->rs->body_static = 1;
    return 0;
}

static int route_index(dctx *c)
{
    return serve_asset(c, "index.html");
}

/* Names with "..", backslashes or control bytes are rejected before lookup
 * so a traversal attempt gets a clear 400. */
static int route_static(dctx *c)
{
    const char *name = c->sub + strlen("/static/");
    if (strstr(name, "..") || strchr(name, '\\') || name[0] == '/' || strstr(name, "//"))
        return dash_error(c, 400, "static: path '%.60s' leaves the asset folder", name);
    for (const char *p = name; *p; p++)
        if ((unsigned char)*p < 0x20 || *p == 0x7f)
            return dash_error(c, 400, "static: control character in the asset path");
    return serve_asset(c, name);
}

/* ---- dispatch ------------------------------------------------------------ */

/* The app's own files, served from memory without the store. */
static int is_asset(const char *sub)
{
    return !*sub || !strcmp(sub, "/") || !strcmp(sub, "/index.html") ||
           !strncmp(sub, "/static/", 8);
}

/* Match path against pattern; a "{id}" segment takes digits into *id.
 * Returns 1 on a match, 0 on none, -1 when only the id segment is bad. */
static int match(const char *pat, const char *path, int64_t *id)
{
    int bad_id = 0;
    while (*pat && *path) {
        if (!strncmp(pat, "{id}", 4)) {
            const char *e = path;
            while (*e && *e != '/')
                e++;
            char seg[24];
            size_t n = (size_t)(e - path);
            int64_t v = -1;
            if (n && n < sizeof seg) {
                memcpy(seg, path, n);
                seg[n] = 0;
                int digits = 1;
                for (size_t i = 0; i < n; i++)
                    digits &= isdigit((unsigned char)seg[i]) != 0;
                if (!digits || dash_parse_i64(seg, &v))
                    v = -1;
            }
            if (v < 0)
                bad_id = 1;
            *id = v;
            pat += 4;
            path = e;
            continue;
        }
        if (*pat != *path)
            return 0;
        pat++, path++;
    }
    if (*pat || *path)
        return 0;
    return bad_id ? -1 : 1;
}

/* A JSON body with a key twice ({"level":1,"level":3}) is refused here,
 * once for every route, rather than read as its last value; the routes'
 * own parsers report every other flaw.  Replies 400 and returns -1. */
static int json_body_duplicates(dctx *c)
{
    const char *b = c->rq->body, *ct = dash_header(c, "Content-Type");
    size_t n = c->rq->body_len, i = 0;
    if (!b || !n)
        return 0;
    while (i < n && isspace((unsigned char)b[i]))
        i++;
    if (!(ct && !strncasecmp(ct, "application/json", 16)) &&
        (i == n || (b[i] != '{' && b[i] != '[')))
        return 0;
    json_error_t je;
    json_t *doc = json_loadb(b, n, JSON_REJECT_DUPLICATES, &je);
    json_decref(doc);
    if (doc || json_error_code(&je) != json_error_duplicate_key)
        return 0;
    dash_error(c, 400, "body: %s (line %d)", je.text, je.line);
    return -1;
}

static int dispatch(dctx *c)
{
    const evd_dash_request *rq = c->rq;
    const char *method = rq->method ? rq->method : "";
    const char *sub = c->sub;

    if (!*sub || !strcmp(sub, "/") || !strcmp(sub, "/index.html")) {
        if (strcmp(method, "GET") && strcmp(method, "HEAD"))
            return dash_error(c, 405, "method %.10s not allowed here", method);
        return route_index(c);
    }
    if (!strncmp(sub, "/static/", 8)) {
        if (strcmp(method, "GET") && strcmp(method, "HEAD"))
            return dash_error(c, 405, "method %.10s not allowed here", method);
        return route_static(c);
    }
    const struct route *rt = NULL;
    int path_seen = 0;
    for (size_t i = 0; i < sizeof routes / sizeof routes[0] && !rt; i++) {
        int64_t id = 0;
        int m = match(routes[i].path, sub, &id);
        if (m == -1)
            return dash_error(c, 400, "path: the id segment must be a decimal number");
        if (m == 1) {
            path_seen = 1;
            if (!strcmp(routes[i].method, method)) {
                rt = &routes[i];
                c->id = id;
            }
        }
    }
    if (!rt) {
        if (path_seen)
            return dash_error(c, 405, "method %.10s not allowed here", method);
        return dash_error(c, 404, "no such route: %.100s", sub);
    }
    if (rt->access == ACC_PUBLIC)
        return rt->fn(c);
    int rc = auth_identify(c);
    if (rc)
        return dash_error(c, 500, "reading the session failed");
    if (c->role == ROLE_NONE)
        return dash_error(c, 401, "login required");
    if (rt->access == ACC_ADMIN && c->role != ROLE_ADMIN)
        return dash_error(c, 403, "admin role required");
    if (rt->access == ACC_EXPORT && c->role != ROLE_ADMIN && c->role != ROLE_TOKEN)
        return dash_error(c, 403, "admin role or SECURITY_TOKEN required");
    if (rt->access == ACC_READ && c->role == ROLE_TOKEN && strcmp(sub, "/api/session"))
        return dash_error(c, 403,
                          "the security token only grants export, metrics, findings and "
                          "test-result upload");
    if (rt->csrf && c->role != ROLE_TOKEN && !auth_csrf_ok(c))
        return dash_error(c, 403, "missing or wrong CSRF token (send it as X-CSRF-Token)");
    if (dash_filter(c) || json_body_duplicates(c))
        return 0;
    return rt->fn(c);
}

int evd_dash_handle(evd_dash *d, const evd_dash_request *rq, evd_dash_response *rs)
{
    memset(rs, 0, sizeof *rs);
    dctx c = {.d = d, .rq = rq, .rs = rs};
    const char *path = rq->path ? rq->path : "";
    size_t plen = strlen(d->prefix);
    char err[160];

    if (strncmp(path, d->prefix, plen) || (path[plen] && path[plen] != '/')) {
        dash_error(&c, 404, "not under %s", d->prefix);
        goto done;
    }
    c.sub = path + plen;
    size_t hbytes = 0;
    for (size_t i = 0; i < rq->nheaders; i++)
        hbytes += (rq->headers[i].name ? strlen(rq->headers[i].name) : 0) +
                  (rq->headers[i].value ? strlen(rq->headers[i].value) : 0) + 4;
    if (strlen(path) + (rq->query ? strlen(rq->query) + 1 : 0) > URL_MAX_BYTES) {
        dash_error(&c, 414, "URL longer than %d bytes", URL_MAX_BYTES);
        goto done;
    }
    if (hbytes > HEADERS_MAX_BYTES) {
        dash_error(&c, 431, "request headers larger than %d bytes", HEADERS_MAX_BYTES);
        goto done;
    }
    int st = dash_parse_query(&c, rq->query, err, sizeof err);
    if (st) {
        dash_error(&c, st, "%s", err);
        goto done;
    }
    /* A store that was down at start: try again now and then; meanwhile the
     * app's files are served and every API call says why it cannot answer. */
    if (!atomic_load(&d->attached) && !is_asset(c.sub)) {
        if (clock_mono_ns() / 1000 < d->attach_after_us || attach(d)) {
            /* a scraper still sees what this process could not keep */
            if (!strcmp(c.sub, "/metrics") && d->live && auth_bearer(&c)) {
                route_metrics_live(&c);
                goto done;
            }
            pthread_mutex_lock(&d->attach_mu);
            dash_error(&c, 503, "the store is unavailable: %s", d->err);
            pthread_mutex_unlock(&d->attach_mu);
            goto done;
        }
    }
    if (!is_asset(c.sub) && !(c.st = pool_get(d))) {
        dash_error(&c, 503, "the store cannot be opened");
        goto done;
    }
    dispatch(&c);
done:
    if (c.st)
        store_rollback(c.st); /* a route that failed inside a transaction */
    pool_put(d, c.st);
    dash_tz_release(&c);
    free(c.parambuf);
    free(c.svc_eps);
    sodium_memzero(c.csrf, sizeof c.csrf);
    return rs->body || rs->stream_ ? 0 : EVD_ENOMEM;
}

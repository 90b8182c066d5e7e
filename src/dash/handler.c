/* handler.c — the dashboard handler: the route table, query parsing, the
 * store connection pool and the reply helpers.
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
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "evodash.h"
#include "core/clock.h"
#include "assets/assets.h"
#include "core/config.h"
#include "core/utf8.h"
#include "dash/dash_int.h"
#include "dash/ratelimit.h"
#include "store/read.h"

#define PARAM_MAX_BYTES 8192
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
static int parse_i64(const char *s, int64_t *out);

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
    findings_cache_free(d->findings); /* first: its thread reads the handle */
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

/* ---- replies ------------------------------------------------------------- */

static void reset_body(evd_dash_response *rs)
{
    if (!rs->body_static)
        free(rs->body);
    rs->body = NULL;
    rs->body_len = 0;
    rs->body_static = 0;
}

int dash_text(dctx *c, int status, const char *type, const char *body, size_t len)
{
    reset_body(c->rs);
    c->rs->status = status;
    c->rs->content_type = type;
    if (!(c->rs->body = malloc(len + 1)))
        return EVD_ENOMEM;
    memcpy(c->rs->body, body, len);
    c->rs->body[len] = 0;
    c->rs->body_len = len;
    return 0;
}

int dash_json(dctx *c, int status, json_t *doc)
{
    if (!doc)
        return dash_error(c, 500, "out of memory building the response");
    char *s = json_dumps(doc, JSON_COMPACT);
    json_decref(doc);
    if (!s)
        return dash_error(c, 500, "out of memory building the response");
    reset_body(c->rs);
    c->rs->status = status;
    c->rs->content_type = "application/json";
    c->rs->body = s;
    c->rs->body_len = strlen(s);
    return 0;
}

int dash_error(dctx *c, int status, const char *fmt, ...)
{
    char raw[512], msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(raw, sizeof raw, fmt, ap);
    va_end(ap);
    /* Messages quote the client's input, cut to a few bytes: make them
     * UTF-8, or jansson refuses the string. */
    utf8_sanitize(raw, msg, sizeof msg);
    json_t *doc = json_pack("{s:s,s:i}", "error", msg, "status", status);
    char *s = doc ? json_dumps(doc, JSON_COMPACT) : NULL;
    json_decref(doc);
    reset_body(c->rs);
    c->rs->status = status;
    c->rs->content_type = "application/json";
    if (s) {
        c->rs->body = s;
        c->rs->body_len = strlen(s);
    } else {
        /* Not even a message fits: a fixed body still tells the client. */
        static char oom[] = "{\"error\":\"out of memory\",\"status\":500}";
        c->rs->status = 500;
        c->rs->body = oom;
        c->rs->body_len = sizeof oom - 1;
        c->rs->body_static = 1;
    }
    return 0;
}

int dash_store_error(dctx *c, int rc, const char *what)
{
    int status = rc == EVD_ENOENT ? 404 : rc == EVD_EBUSY ? 503 : rc == EVD_EINVAL ? 400 : 500;
    return dash_error(c, status, "%s: %s", what,
                      rc == EVD_ENOMEM ? "out of memory" : store_errmsg(c->st));
}

/* ?service=NAME|ID and ?instance=ID[,ID...] */
int dash_filter(dctx *c)
{
    const char *svc = dash_param(c, "service"), *inst = dash_param(c, "instance");
    c->filter = (store_filter){0, c->inst_ids, 0};
    if (svc && *svc) {
        int64_t id;
        int rc = parse_i64(svc, &id);
        if (rc || id <= 0) {
            rc = store_service_find(c->st, svc, &id);
            if (rc == EVD_ENOENT)
                return dash_error(c, 404, "service: no service named '%.60s'", svc), -1;
            if (rc)
                return dash_store_error(c, rc, "service"), -1;
        }
        c->filter.service_id = id;
    }
    for (const char *p = inst; p && *p;) {
        int64_t id;
        char tmp[24];
        size_t n = strcspn(p, ",");
        if (!n || n >= sizeof tmp)
            return dash_error(c, 400, "instance: expected instance ids separated by commas"), -1;
        memcpy(tmp, p, n);
        tmp[n] = 0;
        if (parse_i64(tmp, &id) || id <= 0)
            return dash_error(c, 400, "instance: '%.24s' is not an instance id", tmp), -1;
        if (c->filter.ninstances == DASH_INST_MAX)
            return dash_error(c, 400, "instance: at most %d", DASH_INST_MAX), -1;
        /* kept sorted and unique: the raw-row cache compares the lists */
        size_t k = c->filter.ninstances;
        while (k && c->inst_ids[k - 1] > id)
            k--;
        if (!(k && c->inst_ids[k - 1] == id)) {
            memmove(c->inst_ids + k + 1, c->inst_ids + k,
                    (c->filter.ninstances - k) * sizeof *c->inst_ids);
            c->inst_ids[k] = id;
            c->filter.ninstances++;
        }
        p += n;
        if (*p == ',')
            p++;
    }
    return 0;
}

/* ---- query parameters ---------------------------------------------------- */

static int hexval(int ch)
{
    if (ch >= '0' && ch <= '9')
        return ch - '0';
    ch = tolower(ch);
    if (ch >= 'a' && ch <= 'f')
        return ch - 'a' + 10;
    return -1;
}

/* Decode application/x-www-form-urlencoded src[0..n) into dst (NUL added);
 * dst needs n + 1 bytes.  Returns -1 on a broken escape or a NUL byte. */
int dash_urldecode(const char *src, size_t n, char *dst)
{
    size_t j = 0;
    for (size_t i = 0; i < n; i++) {
        char ch = src[i];
        if (ch == '+')
            ch = ' ';
        else if (ch == '%') {
            if (i + 2 >= n)
                return -1;
            int hi = hexval((unsigned char)src[i + 1]);
            int lo = hexval((unsigned char)src[i + 2]);
            if (hi < 0 || lo < 0)
                return -1;
            ch = (char)(hi * 16 + lo);
            i += 2;
        }
        if (!ch)
            return -1;
        dst[j++] = ch;
    }
    dst[j] = 0;
    return 0;
}

/* Split "a=1&b=2" into pairs, decoded into one buffer.  Duplicates keep the
 * first value.  Returns 0, or the HTTP status to refuse with (400, 414,
 * 500) and a reason in err. */
static int parse_query(dctx *c, const char *q, char *err, size_t ecap)
{
    if (!q || !*q)
        return 0;
    size_t len = strlen(q);
    if (len > PARAM_MAX_BYTES) {
        snprintf(err, ecap, "query string longer than %d bytes", PARAM_MAX_BYTES);
        return 414;
    }
    if (!(c->parambuf = malloc(len * 2 + 2))) {
        snprintf(err, ecap, "out of memory");
        return 500;
    }
    char *out = c->parambuf;
    const char *p = q;
    while (*p) {
        const char *amp = strchr(p, '&');
        size_t n = amp ? (size_t)(amp - p) : strlen(p);
        if (n) {
            const char *eq = memchr(p, '=', n);
            size_t kn = eq ? (size_t)(eq - p) : n;
            if (c->nparams == DASH_PARAMS_MAX) {
                snprintf(err, ecap, "more than %d query parameters", DASH_PARAMS_MAX);
                return 400;
            }
            dparam *pr = &c->params[c->nparams];
            pr->key = out;
            if (dash_urldecode(p, kn, out)) {
                snprintf(err, ecap, "malformed percent-escape in the query string");
                return 400;
            }
            if (!utf8_valid(out, strlen(out))) {
                snprintf(err, ecap, "a query parameter name is not valid UTF-8");
                return 400;
            }
            out += strlen(out) + 1;
            pr->val = out;
            if (dash_urldecode(eq ? eq + 1 : p + n, eq ? n - kn - 1 : 0, out)) {
                snprintf(err, ecap, "malformed percent-escape in parameter '%.40s'", pr->key);
                return 400;
            }
            if (!utf8_valid(out, strlen(out))) {
                snprintf(err, ecap, "parameter '%.40s' is not valid UTF-8", pr->key);
                return 400;
            }
            out += strlen(out) + 1;
            c->nparams++;
        }
        p += n;
        if (*p == '&')
            p++;
    }
    return 0;
}

const char *dash_param(const dctx *c, const char *key)
{
    for (int i = 0; i < c->nparams; i++)
        if (!strcmp(c->params[i].key, key))
            return c->params[i].val;
    return NULL;
}

static int parse_i64(const char *s, int64_t *out)
{
    char *end;
    if (!*s || isspace((unsigned char)*s))
        return -1;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno || *end)
        return -1;
    *out = v;
    return 0;
}

int dash_param_int(dctx *c, const char *key, int64_t lo, int64_t hi, int64_t def, int64_t *out)
{
    const char *s = dash_param(c, key);
    if (!s) {
        *out = def;
        return 0;
    }
    int64_t v;
    if (parse_i64(s, &v) || v < lo || v > hi) {
        dash_error(c, 400, "%s: expected an integer from %lld to %lld, got '%.40s'", key,
                   (long long)lo, (long long)hi, s);
        return -1;
    }
    *out = v;
    return 0;
}

/* The cached entry holding z, or NULL.  Called with d->lock held. */
static tz_entry *tz_entry_of_unsafe(evd_dash *d, const tz_zone *z)
{
    for (int i = 0; i < d->ntz; i++)
        if (d->tz_cache[i].z == z)
            return &d->tz_cache[i];
    return NULL;
}

/* Zones are shared by the requests that use them: an entry in use has
 * refs > 0 and is never evicted.  A new zone takes a free entry, else the
 * least recently used one that no request holds; when every entry is held,
 * the zone belongs to this request alone (c->tz_own) and is freed with it.
 * So a valid zone is never refused, however many are asked for. */
const tz_zone *dash_tz(dctx *c)
{
    if (c->tz)
        return c->tz;
    const char *name = dash_param(c, "tz");
    if (!name)
        name = c->d->tz_default;
    evd_dash *d = c->d;
    pthread_mutex_lock(&d->lock);
    for (int i = 0; i < d->ntz && !c->tz; i++)
        if (!strcmp(tz_name(d->tz_cache[i].z), name)) {
            d->tz_cache[i].refs++;
            d->tz_cache[i].used = ++d->tz_clock;
            c->tz = d->tz_cache[i].z;
        }
    pthread_mutex_unlock(&d->lock);
    if (c->tz)
        return c->tz;
    tz_zone *z, *evicted = NULL;
    char err[160];
    if (tz_load(name, NULL, &z, err, sizeof err)) {
        dash_error(c, 400, "%s", err);
        return NULL;
    }
    pthread_mutex_lock(&d->lock);
    tz_entry *e = NULL;
    for (int i = 0; i < d->ntz && !e; i++)
        if (!strcmp(tz_name(d->tz_cache[i].z), name))
            e = &d->tz_cache[i]; /* another request loaded it meanwhile */
    if (e) {
        evicted = z;
    } else if (d->ntz < DASH_TZ_CACHE) {
        e = &d->tz_cache[d->ntz++];
        *e = (tz_entry){.z = z};
    } else {
        for (int i = 0; i < d->ntz; i++)
            if (!d->tz_cache[i].refs && (!e || d->tz_cache[i].used < e->used))
                e = &d->tz_cache[i];
        if (e) {
            evicted = e->z;
            *e = (tz_entry){.z = z};
        }
    }
    if (e) {
        e->refs++;
        e->used = ++d->tz_clock;
        c->tz = e->z;
    }
    pthread_mutex_unlock(&d->lock);
    tz_free(evicted);
    if (!c->tz)
        c->tz = c->tz_own = z;
    return c->tz;
}

/* Let go of the zone the request used, if any. */
static void tz_release(dctx *c)
{
    if (c->tz_own) {
        tz_free(c->tz_own);
    } else if (c->tz) {
        pthread_mutex_lock(&c->d->lock);
        tz_entry *e = tz_entry_of_unsafe(c->d, c->tz);
        if (e)
            e->refs--;
        pthread_mutex_unlock(&c->d->lock);
    }
    c->tz = c->tz_own = NULL;
}

/* A time: epoch seconds, "YYYY-MM-DD" (local midnight in tz) or
 * "YYYY-MM-DDTHH:MM[:SS]" (local) with an optional trailing Z (UTC). */
static int parse_time(const char *s, const tz_zone *tz, int64_t *out_us)
{
    int64_t v;
    if (!parse_i64(s, &v)) {
        if (v < 0 || v > 253402300799LL) /* year 9999 */
            return -1;
        *out_us = v * 1000000;
        return 0;
    }
    int y, mo, da, h = 0, mi = 0, se = 0, n = 0;
    size_t len = strlen(s);
    if (sscanf(s, "%4d-%2d-%2d%n", &y, &mo, &da, &n) != 3 || n != 10)
        return -1;
    int utc = 0;
    if (len > 10) {
        int m = 0;
        if (s[10] != 'T' && s[10] != ' ')
            return -1;
        if (sscanf(s + 11, "%2d:%2d%n", &h, &mi, &m) != 2)
            return -1;
        const char *r = s + 11 + m;
        if (*r == ':') {
            int k = 0;
            if (sscanf(r + 1, "%2d%n", &se, &k) != 1)
                return -1;
            r += 1 + k;
        }
        if (*r == 'Z')
            utc = 1, r++;
        if (*r)
            return -1;
    }
    if (y < 1970 || y > 9999 || mo < 1 || mo > 12 || da < 1 || da > 31 || h > 23 || mi > 59 ||
        se > 60 || h < 0 || mi < 0 || se < 0)
        return -1;
    struct tm tm = {.tm_year = y - 1900, .tm_mon = mo - 1, .tm_mday = da};
    int64_t day = (int64_t)timegm(&tm) / 86400;
    int64_t secs = (int64_t)h * 3600 + mi * 60 + se;
    if (utc)
        *out_us = (day * 86400 + secs) * 1000000;
    else {
        int64_t start = tz_day_start(tz, day);
        int64_t t = day * 86400 + secs;
        t -= tz_offset(tz, t - tz_offset(tz, t));
        *out_us = (secs ? t : start) * 1000000;
    }
    return 0;
}

int dash_range(dctx *c, int64_t def_span_s, drange *r)
{
    if (!(r->tz = dash_tz(c)))
        return -1;
    const char *from = dash_param(c, "from"), *to = dash_param(c, "to");
    r->open_to = !to;
    r->open_from = !from;
    if (to) {
        if (parse_time(to, r->tz, &r->to_us))
            return dash_error(c, 400,
                              "to: expected epoch seconds or YYYY-MM-DD[THH:MM[:SS]][Z], got "
                              "'%.40s'",
                              to),
                   -1;
    } else
        r->to_us = clock_real_us();
    if (from) {
        if (parse_time(from, r->tz, &r->from_us))
            return dash_error(c, 400,
                              "from: expected epoch seconds or YYYY-MM-DD[THH:MM[:SS]][Z], "
                              "got '%.40s'",
                              from),
                   -1;
    } else
        r->from_us = def_span_s > 0 ? r->to_us - def_span_s * 1000000 : 0;
    if (r->from_us > r->to_us)
        return dash_error(c, 400, "from is after to"), -1;
    return 0;
}

int dash_page(dctx *c, dpage *p)
{
    if (dash_param_int(c, "page", 1, 1000000, 1, &p->page) ||
        dash_param_int(c, "per_page", 1, 1000, 100, &p->per_page))
        return -1;
    p->offset = (p->page - 1) * p->per_page;
    return 0;
}

json_t *dash_paged(json_t *items, const dpage *p)
{
    if (!items)
        return NULL;
    size_t total = json_array_size(items);
    json_t *slice = json_array();
    for (size_t i = (size_t)p->offset; slice && i < total && i < (size_t)(p->offset + p->per_page);
         i++)
        json_array_append(slice, json_array_get(items, i));
    json_decref(items);
    if (!slice)
        return NULL;
    return json_pack("{s:o,s:I,s:I,s:I}", "items", slice, "page", (json_int_t)p->page, "per_page",
                     (json_int_t)p->per_page, "total", (json_int_t)total);
}

typedef struct name_out {
    char *name;
    size_t cap;
    int64_t service_id;
} name_out;

static int ep_name(void *u, const store_endpoint_row *r)
{
    name_out *o = u;
    if (o->name)
        snprintf(o->name, o->cap, "%s", r->name);
    o->service_id = r->service_id;
    return 0;
}

int dash_endpoint_exists(dctx *c, char *name, size_t cap)
{
    name_out o = {name, cap, 0};
    int rc = store_endpoint_get(c->st, c->id, ep_name, &o);
    if (rc)
        return dash_store_error(c, rc, "looking up the endpoint"), -1;
    return 0;
}

const char *dash_header(const dctx *c, const char *name)
{
    for (size_t i = 0; i < c->rq->nheaders; i++)
        if (c->rq->headers[i].name && !strcasecmp(c->rq->headers[i].name, name))
            return c->rq->headers[i].value;
    return NULL;
}

void dash_iso(const tz_zone *tz, int64_t us, char *out, size_t cap)
{
    int64_t s = us / 1000000 - (us % 1000000 < 0);
    int32_t off = tz_offset(tz, s);
    time_t t = (time_t)(s + off);
    struct tm tm;
    gmtime_r(&t, &tm);
    char base[32];
    strftime(base, sizeof base, "%Y-%m-%dT%H:%M:%S", &tm);
    if (!off)
        snprintf(out, cap, "%sZ", base);
    else
        snprintf(out, cap, "%s%c%02d:%02d", base, off < 0 ? '-' : '+', abs(off) / 3600,
                 abs(off) % 3600 / 60);
}

json_t *dash_time(const tz_zone *tz, int64_t us)
{
    if (!us)
        return json_null();
    char buf[48];
    dash_iso(tz, us, buf, sizeof buf);
    return json_string(buf);
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
    reset_body(c->rs);
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
                if (!digits || parse_i64(seg, &v))
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
    int st = parse_query(&c, rq->query, err, sizeof err);
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
    tz_release(&c);
    free(c.parambuf);
    free(c.svc_eps);
    sodium_memzero(c.csrf, sizeof c.csrf);
    return rs->body || rs->stream_ ? 0 : EVD_ENOMEM;
}

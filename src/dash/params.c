/* params.c — what a route reads from its request: the decoded query
 * parameters, integers and pages, the time range and its zone (shared
 * through the handle's cache of zones), the ?service=/?instance= filter,
 * headers and the {id} endpoint.  Bad input is answered here with a 400
 * (or 404), so a route only returns. */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "evodash.h"
#include "core/clock.h"
#include "core/utf8.h"
#include "dash/dash_int.h"
#include "dash/helpers.h"
#include "store/read.h"

#define PARAM_MAX_BYTES 8192

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
int dash_parse_query(dctx *c, const char *q, char *err, size_t ecap)
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

int dash_parse_i64(const char *s, int64_t *out)
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
    if (dash_parse_i64(s, &v) || v < lo || v > hi) {
        dash_error(c, 400, "%s: expected an integer from %lld to %lld, got '%.40s'", key,
                   (long long)lo, (long long)hi, s);
        return -1;
    }
    *out = v;
    return 0;
}

/* ?service=NAME|ID and ?instance=ID[,ID...] */
int dash_filter(dctx *c)
{
    const char *svc = dash_param(c, "service"), *inst = dash_param(c, "instance");
    c->filter = (store_filter){0, c->inst_ids, 0};
    if (svc && *svc) {
        int64_t id;
        int rc = dash_parse_i64(svc, &id);
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
        if (dash_parse_i64(tmp, &id) || id <= 0)
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
void dash_tz_release(dctx *c)
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
    if (!dash_parse_i64(s, &v)) {
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

/* reply.c — the reply helpers of the dashboard's routes: JSON documents,
 * errors (a store failure mapped to its HTTP status), text bodies, pages
 * of a list and times in the view's zone.  They fill c->rs only, so route
 * files use them without the router (handler.c). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "evodash.h"
#include "core/utf8.h"
#include "dash/dash_int.h"
#include "dash/helpers.h"
#include "store/store.h"

void dash_reset_body(evd_dash_response *rs)
{
    if (!rs->body_static)
        free(rs->body);
    rs->body = NULL;
    rs->body_len = 0;
    rs->body_static = 0;
}

int dash_text(dctx *c, int status, const char *type, const char *body, size_t len)
{
    dash_reset_body(c->rs);
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
    dash_reset_body(c->rs);
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
    dash_reset_body(c->rs);
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

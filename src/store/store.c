/* store.c — the store handle: URLs, opening either backend, transactions,
 * and the messages every store function leaves on the handle. */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "evodash.h"
#include "store/sq.h"
#include "store/store_int.h"

int store_fail(store *st, int rc, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(st->err, sizeof st->err, fmt, ap);
    va_end(ap);
    return rc;
}

const char *store_errmsg(const store *st)
{
    return st ? st->err : "out of memory";
}

const char *store_backend_name(const store *st)
{
    return st && st->ops ? st->ops->name : "none";
}

const char *store_display_url(const store *st)
{
    return st && st->path ? st->path : "";
}

/* ---- URLs ----------------------------------------------------------------- */

static const char *const pg_keywords[] = {"host",     "hostaddr", "port",    "dbname",
                                          "user",     "password", "service", "sslmode",
                                          "passfile", "options",  NULL};

/* A libpq keyword string ("host=... dbname=..."): it starts with one of
 * libpq's connection keywords followed by '='. */
static int is_pg_keywords(const char *url)
{
    while (isspace((unsigned char)*url))
        url++;
    for (int i = 0; pg_keywords[i]; i++) {
        size_t n = strlen(pg_keywords[i]);
        if (!strncmp(url, pg_keywords[i], n)) {
            const char *p = url + n;
            while (isspace((unsigned char)*p))
                p++;
            if (*p == '=')
                return 1;
        }
    }
    return 0;
}

int store_url_kind(const char *url)
{
    if (!url)
        return STORE_URL_BAD;
    if (!strncmp(url, "postgresql://", 13) || !strncmp(url, "postgres://", 11))
        return STORE_URL_PG;
    if (is_pg_keywords(url))
        return STORE_URL_PG;
    return STORE_URL_SQLITE;
}

int store_url_path(const char *url, char *out, size_t cap, char *err, size_t errcap)
{
    const char *p = url;
    if (!url || !*url) {
        snprintf(err, errcap, "empty DATABASE URL");
        return EVD_EINVAL;
    }
    if (!strncmp(url, "sqlite://", 9)) {
        p = url + 9;
        /* SQLAlchemy style: sqlite:///rel.db is relative, sqlite:////abs.db absolute */
        if (*p != '/') {
            snprintf(err, errcap,
                     "%s: expected sqlite:///relative/path or "
                     "sqlite:////absolute/path",
                     url);
            return EVD_EINVAL;
        }
        p++;
    } else if (strstr(url, "://")) {
        char red[256];
        store_url_redact(url, red, sizeof red);
        snprintf(err, errcap,
                 "%s: unknown database URL scheme (expected sqlite:// or postgresql://)", red);
        return EVD_EINVAL;
    }
    if (!*p || strlen(p) >= cap) {
        snprintf(err, errcap, "%s: bad database path", url);
        return EVD_EINVAL;
    }
    strcpy(out, p);
    return 0;
}

/* Copy src[0..n) to out, masking it. */
static size_t put_mask(char *out, size_t o, size_t cap)
{
    static const char mask[] = "***";
    for (size_t k = 0; mask[k] && o + 1 < cap; k++)
        out[o++] = mask[k];
    return o;
}

void store_url_redact(const char *url, char *out, size_t cap)
{
    size_t o = 0;
    if (!cap)
        return;
    if (!url)
        url = "";
    const char *scheme = strstr(url, "://");
    const char *p = url;
    if (scheme) {
        /* scheme://user:password@host/...: the password runs from the
         * first ':' after the scheme to the last '@' of the authority */
        const char *auth = scheme + 3;
        const char *end = auth + strcspn(auth, "/?#");
        const char *at = NULL;
        for (const char *x = auth; x < end; x++)
            if (*x == '@')
                at = x;
        const char *colon = at ? memchr(auth, ':', (size_t)(at - auth)) : NULL;
        for (; *p && o + 1 < cap; p++) {
            if (colon && p == colon + 1) {
                o = put_mask(out, o, cap);
                p = at - 1;
                continue;
            }
            out[o++] = *p;
            /* password=... in the query string */
            if ((*p == '?' || *p == '&') && !strncmp(p + 1, "password=", 9)) {
                for (int k = 1; k <= 9 && o + 1 < cap; k++)
                    out[o++] = p[k];
                o = put_mask(out, o, cap);
                p += 9;
                while (p[1] && p[1] != '&' && p[1] != '#')
                    p++;
            }
        }
    } else {
        /* keyword form: password=value or password='quoted value' */
        while (*p && o + 1 < cap) {
            if ((p == url || isspace((unsigned char)p[-1])) && !strncmp(p, "password", 8)) {
                const char *q = p + 8;
                while (isspace((unsigned char)*q))
                    q++;
                if (*q == '=') {
                    q++;
                    while (isspace((unsigned char)*q))
                        q++;
                    for (const char *x = p; x < q && o + 1 < cap; x++)
                        out[o++] = *x;
                    if (*q == '\'') {
                        for (q++; *q && *q != '\''; q++)
                            if (*q == '\\' && q[1])
                                q++;
                        if (*q)
                            q++;
                    } else {
                        while (*q && !isspace((unsigned char)*q))
                            q++;
                    }
                    o = put_mask(out, o, cap);
                    p = q;
                    continue;
                }
            }
            out[o++] = *p++;
        }
    }
    out[o] = 0;
}

int store_query_int(store *st, const char *sql, int64_t *out)
{
    sq_text t = {sql, NULL, "running a query"};
    sq *q = sq_prepare(st, &t, 0);
    *out = 0;
    if (!q)
        return EVD_EIO;
    int rc = sq_step(q);
    if (rc == SQ_ROW)
        *out = sq_i64(q, 0);
    sq_free(q);
    return rc < 0 ? rc : 0;
}

/* ---- open and close ---------------------------------------------------------- */

int store_open(const char *url, int flags, store **out)
{
    store *st = calloc(1, sizeof *st);
    char path[4096];
    int rc;

    *out = st;
    if (!st)
        return EVD_ENOMEM;
    st->flags = flags;
    if (store_url_kind(url) == STORE_URL_PG) {
        char red[1024];
        store_url_redact(url, red, sizeof red);
        if (!(st->path = strdup(red)))
            return store_fail(st, EVD_ENOMEM, "out of memory");
        st->ops = &store_pg_ops;
        if ((rc = st->ops->open(st, url)))
            return rc;
    } else {
        if ((rc = store_url_path(url, path, sizeof path, st->err, sizeof st->err)))
            return rc;
        if (!(st->path = strdup(path)))
            return store_fail(st, EVD_ENOMEM, "out of memory");
        st->ops = &store_sqlite_ops;
        if ((rc = st->ops->open(st, path)))
            return rc;
    }
    /* The first read tells a non-database (or a foreign one) apart. */
    int version;
    if ((rc = store_schema_version(st, &version)))
        return rc;
    if (flags & STORE_RDONLY) {
        if (version > STORE_SCHEMA_VERSION)
            return store_fail(st, EVD_ESCHEMA,
                              "%s: schema version %d is newer than this evodash supports (%d)",
                              st->path, version, STORE_SCHEMA_VERSION);
        if (version < 1)
            return store_fail(st, EVD_ECORRUPT, "%s: not an evodash store (no schema)", st->path);
        if (version < STORE_SCHEMA_VERSION && !(flags & STORE_ANY_SCHEMA))
            return store_fail(st, EVD_ESCHEMA,
                              "%s: schema version %d is older than this evodash's (%d); open it "
                              "once with `evodash serve` (or a monitored service) to upgrade it",
                              st->path, version, STORE_SCHEMA_VERSION);
        return 0;
    }
    if ((rc = st->ops->tune(st)))
        return rc;
    if (flags & STORE_NOMIGRATE)
        return 0;
    return store_migrate_to(st, STORE_SCHEMA_VERSION);
}

void store_close(store *st)
{
    if (!st)
        return;
    if (st->ops) {
        for (int i = 0; i < Q__COUNT; i++)
            if (st->q[i])
                st->ops->free(st->q[i]);
        if (st->in_txn)
            st->ops->rollback(st);
        st->ops->close(st);
    }
    free(st->scratch);
    free(st->scratch_buf);
    free(st->acc_buf);
    free(st->path);
    free(st);
}

int store_is_stale(store *st)
{
    return st && st->ops && st->ops->stale(st);
}

int store_begin(store *st)
{
    int rc = st->ops->begin(st);
    if (!rc)
        st->in_txn = 1;
    return rc;
}

int store_commit(store *st)
{
    int rc = st->ops->commit(st);
    st->in_txn = 0;
    if (rc)
        st->id_next = st->id_end = 0; /* the reservation was rolled back too */
    return rc;
}

void store_rollback(store *st)
{
    st->ops->rollback(st);
    st->in_txn = 0;
    st->id_next = st->id_end = 0; /* a reservation made in it is undone too */
}

/* replay.c — build the simulator's arrivals from the requests the agent
 * recorded in the store (evodash simulate --from-db URL).  The store is
 * opened read-only; only the `requests` and `endpoints` tables are read. */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "evodash.h"
#include "sim/sim.h"

/* Keep the message on the model, where the CLI reads every load error. */
static int replay_fail(sim_model *m, int rc, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int replay_fail(sim_model *m, int rc, const char *fmt, ...)
{
    char msg[600];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    sim_model_set_error(m, msg);
    return rc;
}

struct ep {
    char *name;
    double *t; /* s since the first selected request */
    size_t n, cap;
    double *dur; /* us */
};

static int cmp_double(const void *x, const void *y)
{
    double a = *(const double *)x, b = *(const double *)y;
    return (a > b) - (a < b);
}

static int wanted(const sim_replay_opts *o, const char *name)
{
    if (!o->endpoints)
        return 1;
    for (const char **p = o->endpoints; *p; p++)
        if (!strcmp(*p, name))
            return 1;
    return 0;
}

/* sqlite:///rel/path.db -> "rel/path.db"; sqlite:////abs.db -> "/abs.db". */
static const char *url_path(const char *url)
{
    static const char pfx[] = "sqlite:///";
    if (strncmp(url, pfx, sizeof pfx - 1) || !url[sizeof pfx - 1])
        return NULL;
    return url + sizeof pfx - 1;
}

static const char SQL_MAX[] = "SELECT MIN(ts_us), MAX(ts_us) FROM requests";
static const char SQL_ROWS[] = "SELECT e.name, r.ts_us, r.duration_us FROM requests r "
                               "JOIN endpoints e ON e.id = r.endpoint_id "
                               "WHERE r.ts_us >= ?1 ORDER BY r.ts_us, r.id";

int sim_replay_load(sim_model *m, const sim_replay_opts *o, int have_profile, size_t *requests,
                    size_t *unmatched)
{
    int rc = 0;
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    struct ep *eps = NULL;
    size_t neps = 0;
    *requests = *unmatched = 0;
    const char *path = url_path(o->url);
    if (!path)
        return replay_fail(m, EVD_EINVAL,
                           "%s: expected sqlite:///relative/path.db or sqlite:////absolute/path.db",
                           o->url);
    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
        rc = replay_fail(m, EVD_EIO, "%s: cannot open: %s", path,
                         db ? sqlite3_errmsg(db) : "out of memory");
        goto done;
    }
    sqlite3_busy_timeout(db, 5000);
    if (sqlite3_prepare_v2(db, SQL_MAX, -1, &st, NULL) != SQLITE_OK) {
        rc = replay_fail(m, EVD_EIO, "%s: not an evodash store: %s", path, sqlite3_errmsg(db));
        goto done;
    }
    sqlite3_int64 tmax = 0;
    if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_type(st, 1) != SQLITE_NULL)
        tmax = sqlite3_column_int64(st, 1);
    else {
        rc = replay_fail(m, EVD_EINVAL, "%s: the store holds no requests", path);
        goto done;
    }
    sqlite3_finalize(st);
    st = NULL;
    sqlite3_int64 cutoff = o->days > 0 ? tmax - (sqlite3_int64)(o->days * 86400e6) : INT64_MIN;
    if (sqlite3_prepare_v2(db, SQL_ROWS, -1, &st, NULL) != SQLITE_OK) {
        rc = replay_fail(m, EVD_EIO, "%s: not an evodash store: %s", path, sqlite3_errmsg(db));
        goto done;
    }
    sqlite3_bind_int64(st, 1, cutoff);
    double speed = o->speedup > 0 ? o->speedup : 1;
    sqlite3_int64 t0 = 0;
    int first = 1, s;
    while ((s = sqlite3_step(st)) == SQLITE_ROW) {
        const char *name = (const char *)sqlite3_column_text(st, 0);
        if (!name || !wanted(o, name))
            continue;
        sqlite3_int64 ts = sqlite3_column_int64(st, 1);
        if (first) {
            t0 = ts;
            first = 0;
        }
        size_t k = 0;
        while (k < neps && strcmp(eps[k].name, name))
            k++;
        if (k == neps) {
            struct ep *a = realloc(eps, (neps + 1) * sizeof *a);
            if (!a)
                goto nomem;
            eps = a;
            memset(&eps[neps], 0, sizeof *eps);
            if (!(eps[neps].name = strdup(name)))
                goto nomem;
            neps++;
        }
        struct ep *e = &eps[k];
        if (e->n == e->cap) {
            size_t cap = e->cap ? e->cap * 2 : 256;
            double *t = realloc(e->t, cap * sizeof *t);
            if (!t)
                goto nomem;
            e->t = t;
            double *d = realloc(e->dur, cap * sizeof *d);
            if (!d)
                goto nomem;
            e->dur = d;
            e->cap = cap;
        }
        e->t[e->n] = (double)(ts - t0) / 1e6 / speed;
        e->dur[e->n] = (double)sqlite3_column_int64(st, 2);
        e->n++;
        (*requests)++;
    }
    if (s != SQLITE_DONE) {
        rc = replay_fail(m, EVD_EIO, "%s: reading requests: %s", path, sqlite3_errmsg(db));
        goto done;
    }
    if (*requests == 0) {
        rc = replay_fail(m, EVD_EINVAL, "%s: no requests match the endpoints and days given", path);
        goto done;
    }
    sim_model_clear_arrivals(m);
    for (size_t k = 0; k < neps; k++) {
        struct ep *e = &eps[k];
        int scen;
        if (have_profile) {
            scen = sim_model_find_scen_by_inter(m, e->name);
            if (scen < 0) {
                *unmatched += e->n;
                continue;
            }
        } else {
            /* No profile: the endpoint's median recorded duration is its work. */
            qsort(e->dur, e->n, sizeof *e->dur, cmp_double);
            scen = sim_model_add_simple(m, e->name, e->dur[e->n / 2] * 1e3);
            if (scen < 0) {
                rc = scen;
                goto done;
            }
        }
        if ((rc = sim_model_add_replay(m, scen, e->t, e->n)))
            goto done;
    }
    if (sim_model_narr(m) == 0)
        rc = replay_fail(m, EVD_EINVAL,
                         "%s: no recorded endpoint matches an interaction name of the profile",
                         path);
    goto done;
nomem:
    rc = replay_fail(m, EVD_ENOMEM, "out of memory");
done:
    sqlite3_finalize(st);
    sqlite3_close(db);
    for (size_t k = 0; k < neps; k++) {
        free(eps[k].name);
        free(eps[k].t);
        free(eps[k].dur);
    }
    free(eps);
    return rc;
}

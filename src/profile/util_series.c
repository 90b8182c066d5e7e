/* util_series.c — load and integrate the utilisation logger's files. */
#include <stdlib.h>
#include <string.h>

#include "evodash.h"
#include "profile/calllog.h"
#include "profile/lines.h"
#include "profile/util_series.h"

struct row {
    int64_t t;
    double cpu, mem;
};

static int row_cmp(const void *a, const void *b)
{
    const struct row *x = a, *y = b;
    return x->t < y->t ? -1 : x->t > y->t;
}

/* Split a CSV line in place into at most max fields.  The two files hold
 * numbers and ip:port only, never quoted fields, so no CSV library needed. */
static int split_csv(char *s, char **f, int max)
{
    int n = 0;
    f[n++] = s;
    for (char *p = s; *p; p++)
        if (*p == ',') {
            if (n == max)
                return max + 1;
            *p = '\0';
            f[n++] = p + 1;
        }
    return n;
}

static int parse_double(const char *s, double *v)
{
    char *end;
    if (!*s)
        return -1;
    *v = strtod(s, &end);
    return *end == '\0' && *v == *v ? 0 : -1;
}

/* Column positions from the header; docs/formats.md fixes the names. */
static int header_cols(char *line, const char *const *names, int *pos, int n)
{
    char *f[16];
    int nf = split_csv(line, f, 16);
    for (int k = 0; k < n; k++) {
        pos[k] = -1;
        for (int i = 0; i < nf && i < 16; i++)
            if (!strcmp(f[i], names[k]))
                pos[k] = i;
        if (pos[k] < 0)
            return -1;
    }
    return nf > 16 ? 16 : nf;
}

/* A CSV log whose header names three columns in any order (UtilLog.csv,
 * netLog.csv).  csv3_next() skips empty lines, reports a truncated last row
 * and rows with the wrong number of fields (at most max_reports of them to
 * diag), and hands out the others with their fields in `names` order. */
struct csv3 {
    struct lines *l;
    const char *path, *header, *malformed;
    const char *const *names;
    int pos[3], ncols, nrep, max_reports;
    FILE *diag;
    unsigned long ln;
    char *f[16];
};

static void csv3_report(struct csv3 *c, const char *what)
{
    if (c->diag && c->nrep++ < c->max_reports)
        fprintf(c->diag, "%s:%lu: %s\n", c->path, c->ln, what);
}

/* Report the current row as malformed (the caller's own checks failed). */
static void csv3_bad(struct csv3 *c)
{
    csv3_report(c, c->malformed);
}

/* 1 with out[0..2] set, 0 at the end of the file, or a negative EVD_E*
 * code with a message in err. */
static int csv3_next(struct csv3 *c, char *out[3], char *err, size_t errlen)
{
    char *line;
    size_t len;
    int complete, rc;
    while ((rc = lines_next(c->l, &line, &len, &complete, &c->ln)) == 1) {
        if (len == 0)
            continue;
        if (c->ncols == 0) {
            c->ncols = header_cols(line, c->names, c->pos, 3);
            if (c->ncols < 0) {
                snprintf(err, errlen, "%s:%lu: expected the header %s", c->path, c->ln, c->header);
                return EVD_EINVAL;
            }
            continue;
        }
        int nf = split_csv(line, c->f, 16);
        if (!complete) {
            csv3_report(c, "truncated last row skipped");
            continue;
        }
        if (nf != c->ncols) {
            csv3_bad(c);
            continue;
        }
        for (int i = 0; i < 3; i++)
            out[i] = c->f[c->pos[i]];
        return 1;
    }
    if (rc < 0) {
        snprintf(err, errlen, "%s: read error", c->path);
        return EVD_EIO;
    }
    return 0;
}

int util_series_load(struct util_series *s, const char *path, FILE *diag, int max_reports,
                     char *err, size_t errlen)
{
    static const char *const names[] = {"time", "cpu", "mem"};
    struct csv3 c = {.path = path,
                     .header = "time,cpu,mem",
                     .names = names,
                     .malformed = "malformed row skipped (expected time,cpu,mem numbers)",
                     .diag = diag,
                     .max_reports = max_reports};
    int rc = 0;
    size_t n = 0, cap = 0;
    struct row *rows = NULL;
    char *f[3];
    memset(s, 0, sizeof *s);
    if (!(c.l = lines_open(path, err, errlen)))
        return EVD_ENOENT;
    while ((rc = csv3_next(&c, f, err, errlen)) == 1) {
        struct row r;
        if (cl_parse_epoch_s(f[0], strlen(f[0]), &r.t) < 0 || parse_double(f[1], &r.cpu) < 0 ||
            parse_double(f[2], &r.mem) < 0) {
            csv3_bad(&c);
            continue;
        }
        if (n == cap) {
            cap = cap ? 2 * cap : 1024;
            struct row *nr = realloc(rows, cap * sizeof *nr);
            if (!nr) {
                rc = EVD_ENOMEM;
                snprintf(err, errlen, "out of memory");
                goto done;
            }
            rows = nr;
        }
        rows[n++] = r;
    }
    if (rc < 0)
        goto done;
    rc = 0;
    if (c.nrep > max_reports && diag)
        fprintf(diag, "%s: %d bad rows in all\n", path, c.nrep);
    if (n == 0) {
        snprintf(err, errlen, "%s: no valid row", path);
        rc = EVD_EINVAL;
        goto done;
    }
    qsort(rows, n, sizeof *rows, row_cmp);
    s->t = malloc(n * sizeof *s->t);
    s->cpu = malloc(n * sizeof *s->cpu);
    s->mem = malloc(n * sizeof *s->mem);
    s->cum_cpu = malloc(n * sizeof *s->cum_cpu);
    s->cum_mem = malloc(n * sizeof *s->cum_mem);
    if (!s->t || !s->cpu || !s->mem || !s->cum_cpu || !s->cum_mem) {
        util_series_free(s);
        snprintf(err, errlen, "out of memory");
        rc = EVD_ENOMEM;
        goto done;
    }
    s->n = n;
    for (size_t i = 0; i < n; i++) {
        s->t[i] = rows[i].t;
        s->cpu[i] = rows[i].cpu;
        s->mem[i] = rows[i].mem;
        if (i == 0) {
            s->cum_cpu[0] = s->cum_mem[0] = 0;
        } else {
            double dt = (double)(s->t[i] - s->t[i - 1]);
            s->cum_cpu[i] = s->cum_cpu[i - 1] + dt * (s->cpu[i] + s->cpu[i - 1]) / 2;
            s->cum_mem[i] = s->cum_mem[i - 1] + dt * (s->mem[i] + s->mem[i - 1]) / 2;
        }
    }
done:
    free(rows);
    lines_close(c.l);
    return rc;
}

void util_series_free(struct util_series *s)
{
    if (!s)
        return;
    free(s->t);
    free(s->cpu);
    free(s->mem);
    free(s->cum_cpu);
    free(s->cum_mem);
    memset(s, 0, sizeof *s);
}

/* Integral from t[0] to x of one column (cum, v), extended constant. */
static double integral_to(const struct util_series *s, const double *v, const double *cum,
                          int64_t x, double *val)
{
    size_t n = s->n;
    if (x <= s->t[0]) {
        *val = v[0];
        return (double)(x - s->t[0]) * v[0];
    }
    if (x >= s->t[n - 1]) {
        *val = v[n - 1];
        return cum[n - 1] + (double)(x - s->t[n - 1]) * v[n - 1];
    }
    size_t lo = 0, hi = n - 1; /* t[lo] <= x < t[hi] */
    while (hi - lo > 1) {
        size_t mid = lo + (hi - lo) / 2;
        if (s->t[mid] <= x)
            lo = mid;
        else
            hi = mid;
    }
    double span = (double)(s->t[hi] - s->t[lo]);
    double w = span > 0 ? (double)(x - s->t[lo]) / span : 0;
    *val = v[lo] + w * (v[hi] - v[lo]);
    return cum[lo] + (double)(x - s->t[lo]) * (v[lo] + *val) / 2;
}

void util_series_mean(const struct util_series *s, int64_t a, int64_t b, double *cpu, double *mem)
{
    double va, vb;
    if (!s || s->n == 0) {
        *cpu = *mem = 0;
        return;
    }
    if (b <= a) {
        integral_to(s, s->cpu, s->cum_cpu, a, cpu);
        integral_to(s, s->mem, s->cum_mem, a, mem);
        return;
    }
    double d = (double)(b - a);
    *cpu =
        (integral_to(s, s->cpu, s->cum_cpu, b, &vb) - integral_to(s, s->cpu, s->cum_cpu, a, &va)) /
        d;
    *mem =
        (integral_to(s, s->mem, s->cum_mem, b, &vb) - integral_to(s, s->mem, s->cum_mem, a, &va)) /
        d;
}

static int conn_cmp(const void *a, const void *b)
{
    const struct net_conn *x = a, *y = b;
    return x->start < y->start ? -1 : x->start > y->start;
}

int net_log_load(struct net_log *nl, const char *path, FILE *diag, int max_reports, char *err,
                 size_t errlen)
{
    static const char *const names[] = {"start", "target", "end"};
    struct csv3 cr = {.path = path,
                      .header = "start,target,end",
                      .names = names,
                      .malformed =
                          "malformed row skipped (expected start,ip:port,end with end >= start)",
                      .diag = diag,
                      .max_reports = max_reports};
    int rc = 0;
    size_t cap = 0;
    char *f[3];
    memset(nl, 0, sizeof *nl);
    if (!(cr.l = lines_open(path, err, errlen)))
        return EVD_ENOENT;
    while ((rc = csv3_next(&cr, f, err, errlen)) == 1) {
        struct net_conn c;
        if (cl_parse_epoch_s(f[0], strlen(f[0]), &c.start) < 0 ||
            cl_parse_epoch_s(f[2], strlen(f[2]), &c.end) < 0 || !strchr(f[1], ':') ||
            c.end < c.start) {
            csv3_bad(&cr);
            continue;
        }
        if (nl->n == cap) {
            cap = cap ? 2 * cap : 64;
            struct net_conn *nc = realloc(nl->c, cap * sizeof *nc);
            if (!nc)
                goto oom;
            nl->c = nc;
        }
        c.target = strdup(f[1]);
        if (!c.target)
            goto oom;
        nl->c[nl->n++] = c;
    }
    if (rc < 0)
        goto done;
    /* An empty file (no header either) means no connections: the original
     * tools' own test folder has a 0-byte net.csv. */
    rc = 0;
    if (nl->n)
        qsort(nl->c, nl->n, sizeof *nl->c, conn_cmp);
    goto done;
oom:
    snprintf(err, errlen, "out of memory");
    rc = EVD_ENOMEM;
done:
    if (rc < 0)
        net_log_free(nl);
    lines_close(cr.l);
    return rc;
}

void net_log_free(struct net_log *nl)
{
    if (!nl)
        return;
    for (size_t i = 0; i < nl->n; i++)
        free(nl->c[i].target);
    free(nl->c);
    memset(nl, 0, sizeof *nl);
}

size_t net_log_lower_bound(const struct net_log *nl, int64_t t)
{
    size_t lo = 0, hi = nl->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (nl->c[mid].start < t)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

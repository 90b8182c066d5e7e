/* util_series.c — load and integrate the utilisation logger's files. */
#include <stdlib.h>
#include <string.h>

#include "evodash.h"
#include "trace/calllog.h"
#include "trace/lines.h"
#include "trace/util_series.h"

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

/* Column positions from the header; FORMATS.md fixes the names. */
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

#define REPORT(...)                                                                                \
    do {                                                                                           \
        if (diag && (*nrep)++ < max_reports)                                                       \
            fprintf(diag, __VA_ARGS__);                                                            \
    } while (0)

int util_series_load(struct util_series *s, const char *path, FILE *diag, int max_reports,
                     char *err, size_t errlen)
{
    static const char *const names[] = {"time", "cpu", "mem"};
    int rc = 0, pos[3], ncols = 0, nrep_v = 0, *nrep = &nrep_v;
    size_t n = 0, cap = 0;
    struct row *rows = NULL;
    char *line;
    size_t len;
    int complete;
    unsigned long ln;
    memset(s, 0, sizeof *s);
    struct lines *l = lines_open(path, err, errlen);
    if (!l)
        return EVD_ENOENT;
    while ((rc = lines_next(l, &line, &len, &complete, &ln)) == 1) {
        if (len == 0)
            continue;
        if (ncols == 0) {
            ncols = header_cols(line, names, pos, 3);
            if (ncols < 0) {
                snprintf(err, errlen, "%s:%lu: expected the header time,cpu,mem", path, ln);
                rc = EVD_EINVAL;
                goto done;
            }
            continue;
        }
        char *f[16];
        int nf = split_csv(line, f, 16);
        struct row r;
        if (!complete) {
            REPORT("%s:%lu: truncated last row skipped\n", path, ln);
            continue;
        }
        if (nf != ncols || cl_parse_epoch_s(f[pos[0]], strlen(f[pos[0]]), &r.t) < 0 ||
            parse_double(f[pos[1]], &r.cpu) < 0 || parse_double(f[pos[2]], &r.mem) < 0) {
            REPORT("%s:%lu: malformed row skipped (expected time,cpu,mem numbers)\n", path, ln);
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
    if (rc < 0) {
        snprintf(err, errlen, "%s: read error", path);
        rc = EVD_EIO;
        goto done;
    }
    rc = 0;
    if (nrep_v > max_reports && diag)
        fprintf(diag, "%s: %d bad rows in all\n", path, nrep_v);
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
    lines_close(l);
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
    int rc = 0, pos[3], ncols = 0, nrep_v = 0, *nrep = &nrep_v;
    size_t cap = 0;
    char *line;
    size_t len;
    int complete;
    unsigned long ln;
    memset(nl, 0, sizeof *nl);
    struct lines *l = lines_open(path, err, errlen);
    if (!l)
        return EVD_ENOENT;
    while ((rc = lines_next(l, &line, &len, &complete, &ln)) == 1) {
        if (len == 0)
            continue;
        if (ncols == 0) {
            ncols = header_cols(line, names, pos, 3);
            if (ncols < 0) {
                snprintf(err, errlen, "%s:%lu: expected the header start,target,end", path, ln);
                rc = EVD_EINVAL;
                goto done;
            }
            continue;
        }
        char *f[16];
        int nf = split_csv(line, f, 16);
        struct net_conn c;
        if (!complete) {
            REPORT("%s:%lu: truncated last row skipped\n", path, ln);
            continue;
        }
        if (nf != ncols || cl_parse_epoch_s(f[pos[0]], strlen(f[pos[0]]), &c.start) < 0 ||
            cl_parse_epoch_s(f[pos[2]], strlen(f[pos[2]]), &c.end) < 0 || !strchr(f[pos[1]], ':') ||
            c.end < c.start) {
            REPORT("%s:%lu: malformed row skipped (expected start,ip:port,end with end >= start)\n",
                   path, ln);
            continue;
        }
        if (nl->n == cap) {
            cap = cap ? 2 * cap : 64;
            struct net_conn *nc = realloc(nl->c, cap * sizeof *nc);
            if (!nc)
                goto oom;
            nl->c = nc;
        }
        c.target = strdup(f[pos[1]]);
        if (!c.target)
            goto oom;
        nl->c[nl->n++] = c;
    }
    if (rc < 0) {
        snprintf(err, errlen, "%s: read error", path);
        rc = EVD_EIO;
        goto done;
    }
    rc = 0;
    if (ncols == 0) {
        snprintf(err, errlen, "%s: empty file (expected the header start,target,end)", path);
        rc = EVD_EINVAL;
        goto done;
    }
    if (nl->n)
        qsort(nl->c, nl->n, sizeof *nl->c, conn_cmp);
    goto done;
oom:
    snprintf(err, errlen, "out of memory");
    rc = EVD_ENOMEM;
done:
    if (rc < 0)
        net_log_free(nl);
    lines_close(l);
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

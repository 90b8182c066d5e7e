/* util_series.h — the utilisation logger's two files, loaded for the
 * profile builder: UtilLog.csv (time,cpu,mem) and netLog.csv
 * (start,target,end).  See docs/formats.md. */
#ifndef EVD_PROFILE_UTIL_SERIES_H
#define EVD_PROFILE_UTIL_SERIES_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

struct util_series {
    size_t n;
    int64_t *t;      /* ns since the epoch, ascending */
    double *cpu;     /* percent, 100 = one core */
    double *mem;     /* bytes */
    double *cum_cpu; /* integral of cpu from t[0] to t[i], percent*ns */
    double *cum_mem;
};

struct net_conn {
    int64_t start, end; /* ns */
    char *target;       /* "ip:port" */
};

struct net_log {
    size_t n;
    struct net_conn *c; /* sorted by start */
};

/* Load UtilLog.csv into *s (zeroed first).  Malformed rows are reported to
 * diag (with their line number, at most max_reports of them) and skipped;
 * rows out of time order are sorted.  Returns 0, or a negative EVD_E* code
 * with err filled (no such file, no header, no valid row).  Free with
 * util_series_free(). */
int util_series_load(struct util_series *s, const char *path, FILE *diag, int max_reports,
                     char *err, size_t errlen);

/* Free the arrays; the struct itself is the caller's.  NULL is a no-op. */
void util_series_free(struct util_series *s);

/* Mean CPU (percent) and memory (bytes) over [a, b] ns: the integral of the
 * series, interpolated linearly between samples and held constant before
 * the first and after the last, divided by b - a.  For a == b, the
 * interpolated value at a.  An empty series gives 0. */
void util_series_mean(const struct util_series *s, int64_t a, int64_t b, double *cpu, double *mem);

/* Load netLog.csv into *nl, like util_series_load(), except that a file
 * with no rows (even an empty one, without a header) is valid and holds no
 * connections.  Free with net_log_free(). */
int net_log_load(struct net_log *nl, const char *path, FILE *diag, int max_reports, char *err,
                 size_t errlen);

void net_log_free(struct net_log *nl);

/* Index of the first connection whose start is >= t. */
size_t net_log_lower_bound(const struct net_log *nl, int64_t t);

#endif

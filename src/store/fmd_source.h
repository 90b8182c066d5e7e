/* fmd_source.h — reading a Flask-MonitoringDashboard database for the
 * importer (src/fmd/fmd_import.c): its endpoints, requests with their
 * outliers, and profiler lines, as FMD wrote them (text, milliseconds).
 *
 * The source is an SQLite file opened read-only; its tables are
 * <prefix>Endpoint, <prefix>Request, <prefix>Outlier, <prefix>StackLine and
 * <prefix>CodeLine (FMD's schema, flask_monitoringdashboard/database), the
 * prefix (FMD's TABLE_PREFIX) found by looking for a Request table beside an
 * Endpoint table.
 *
 * Functions return 0 or a negative EVD_E* code with the message in
 * fmd_src_errmsg(); a reader calls cb once per row, its strings borrowed for
 * the call, and stops at cb's first nonzero return, which it returns. */
#ifndef EVD_STORE_FMD_SOURCE_H
#define EVD_STORE_FMD_SOURCE_H

#include <stddef.h>
#include <stdint.h>

typedef struct fmd_src fmd_src;

typedef struct fmd_endpoint_row {
    int64_t id;
    const char *name;
    int level;                  /* monitor_level; -1 for NULL */
    const char *time_added;     /* may be NULL */
    const char *last_requested; /* may be NULL */
} fmd_endpoint_row;

typedef struct fmd_request_row {
    int64_t id, endpoint_id;
    double duration_ms;
    const char *time_requested, *version, *group_by, *ip; /* each may be NULL */
    int status;                                           /* 0 for NULL */
    int outlier; /* nonzero: the request has an Outlier row, below */
    const char *header, *environment, *url, *cpu, *memory, *stacktrace;
} fmd_request_row;

typedef struct fmd_profile_row {
    int position, indent;
    double duration_ms;
    const char *function, *file; /* may be NULL */
    int line;
} fmd_profile_row;

typedef struct fmd_src_counts {
    int64_t endpoints, requests, versions, outliers, profile_lines;
} fmd_src_counts;

/* Open the FMD database at path read-only into *out (NULL on failure, the
 * message then in err[0..cap)).  EVD_EIO: cannot open it; EVD_ECORRUPT: not
 * an SQLite database, or no FMD tables in it.  Close with fmd_src_close(). */
int fmd_src_open(const char *path, fmd_src **out, char *err, size_t cap);
void fmd_src_close(fmd_src *s); /* accepts NULL */
const char *fmd_src_errmsg(const fmd_src *s);
/* Nonzero when the profiler's tables (StackLine, CodeLine) exist. */
int fmd_src_has_profiles(const fmd_src *s);

/* What stays the same for the life of an FMD database, however it grows or
 * is pruned, written into out[0..cap): its table prefix and its first
 * endpoint (id, name, time added to the microsecond, version added), each
 * field ended by '\n'.  "" when it has no endpoint. */
int fmd_src_identity(fmd_src *s, char *out, size_t cap);

/* Rows in each table; versions: distinct version_requested (NULL counts as
 * FMD's default "1.0"). */
int fmd_src_count(fmd_src *s, fmd_src_counts *c);

/* Endpoints in id order. */
int fmd_src_endpoints(fmd_src *s, int (*cb)(void *u, const fmd_endpoint_row *r), void *u);
/* Requests ordered by endpoint, version and time, each with its outlier. */
int fmd_src_requests(fmd_src *s, int (*cb)(void *u, const fmd_request_row *r), void *u);
/* The profiler lines of FMD request request_id in position order (none
 * without the profiler's tables).  May be called from fmd_src_requests's
 * callback. */
int fmd_src_profile(fmd_src *s, int64_t request_id, int (*cb)(void *u, const fmd_profile_row *r),
                    void *u);

#endif

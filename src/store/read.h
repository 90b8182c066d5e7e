/* read.h — the store's read side: named queries for the dashboard, the
 * CLI and the simulator's replay.  Each fills a struct per row and calls a
 * callback (strings in a row are borrowed for the callback's duration), or
 * fills a caller's struct.  A nonzero return from a callback stops the walk
 * and is returned; otherwise the functions return 0 or a negative EVD_E*
 * code with the message in store_errmsg().  Aggregates read the rollups;
 * only the functions named raw_* read the request log. */
#ifndef EVD_STORE_READ_H
#define EVD_STORE_READ_H

#include <stddef.h>
#include <stdint.h>

#include "store/store.h"

struct sketch;

/* What a view is narrowed to: one service (0: all) and some of its
 * instances (none: all). */
typedef struct store_filter {
    int64_t service_id;
    const int64_t *instances;
    size_t ninstances;
} store_filter;

/* ---- dimensions ------------------------------------------------------------------ */

typedef struct store_service_row {
    int64_t id;
    const char *name;
    int64_t created_us;
    int64_t endpoints, instances;
    int64_t last_seen_us; /* latest of its instances; 0 when none */
} store_service_row;
int store_services(store *st, int (*cb)(void *u, const store_service_row *r), void *u);
/* How many services there are, and the id of one of them. */
int store_services_count(store *st, int64_t *n, int64_t *some_id);
/* The id of a service by name; EVD_ENOENT when there is none. */
int store_service_find(store *st, const char *name, int64_t *id);

enum { STORE_EP_BY_ID, STORE_EP_BY_NAME, STORE_EP_BY_RULE };
typedef struct store_endpoint_row {
    int64_t id, service_id;
    const char *name, *rule, *methods; /* rule and methods may be NULL */
    const char *service;               /* the service's name */
    int level;
    int64_t last_access_us; /* 0: never */
    int64_t dropped;        /* every instance's drops, and older stores' */
} store_endpoint_row;
/* Every endpoint (of f->service_id when set), in the given order. */
int store_endpoints(store *st, const store_filter *f, int order,
                    int (*cb)(void *u, const store_endpoint_row *r), void *u);
/* One endpoint; EVD_ENOENT when there is no such id.  Strings borrowed
 * until the next call on st. */
int store_endpoint_get(store *st, int64_t id, int (*cb)(void *u, const store_endpoint_row *r),
                       void *u);

typedef struct store_version_row {
    int64_t id;
    const char *name;
    const char *label; /* "v1.4.0 · 3f2a9c1"; the name when none was recorded */
    int64_t first_seen_us, last_seen_us;
} store_version_row;
/* Every version, in the order first seen. */
int store_versions(store *st, int (*cb)(void *u, const store_version_row *r), void *u);

typedef struct store_instance_row {
    int64_t id, service_id, version_id;
    const char *name, *host, *service, *version; /* version may be NULL */
    const char *version_label;                   /* "v1.4.0 · 3f2a9c1", or NULL */
    int pid;
    int64_t started_us, last_seen_us;
    int64_t recorded, dropped, written, write_errors, truncated, outliers;
} store_instance_row;
int store_instances(store *st, const store_filter *f,
                    int (*cb)(void *u, const store_instance_row *r), void *u);

typedef struct store_size {
    int64_t bytes;         /* the database's size on disk */
    int64_t oldest_raw_us; /* the oldest raw request kept; 0 when none */
} store_size;
int store_size_of(store *st, store_size *out);

/* ---- rollups --------------------------------------------------------------------- */

/* One group of rollup rows.  With a sketch asked for, merge it into a
 * sketch of yours with store_rollup_sketch() inside the callback. */
typedef struct store_rollup_row {
    int64_t endpoint_id, version_id, day, hour;
    int64_t count, sum_us, min_us, max_us;
    int64_t cls[6]; /* [0] other, [1..5] 1xx..5xx */
    void *src_;     /* the store's cursor: for store_rollup_sketch */
    int col_;
} store_rollup_row;
int store_rollup_sketch(const store_rollup_row *r, struct sketch *into);

/* The rollups of hours [h0, h1) (of endpoint only_ep when >= 0, of f's
 * instances when given) grouped by (endpoint, version). */
int store_rollup_by_version(store *st, const store_filter *f, int64_t h0, int64_t h1,
                            int64_t only_ep, int want_sketch,
                            int (*cb)(void *u, const store_rollup_row *r), void *u);
/* The rollups of UTC days [d0, d1) grouped by (endpoint, version, day),
 * with sketches, in day order (the dashboard's day cache). */
int store_rollup_by_day(store *st, int64_t d0, int64_t d1,
                        int (*cb)(void *u, const store_rollup_row *r), void *u);
/* Requests, total, min and max duration per (endpoint, hour) in [h0, h1)
 * (of endpoint only_ep when >= 0, of f's instances when given), in hour
 * order. */
int store_rollup_by_hour(store *st, const store_filter *f, int64_t h0, int64_t h1, int64_t only_ep,
                         int (*cb)(void *u, const store_rollup_row *r), void *u);

/* The per-endpoint summary of `evodash stats` and the store's totals. */
typedef struct store_summary_row {
    const char *name; /* borrowed for the callback's duration */
    const char *service;
    int level;
    int64_t count;
    double p50_us, p99_us; /* < 0 when the endpoint has no requests */
    int64_t errors;        /* 4xx + 5xx */
    int64_t dropped;
    int64_t last_access_us; /* 0 = never */
} store_summary_row;
/* Call cb once per endpoint, busiest first. */
int store_summary(store *st, int (*cb)(void *u, const store_summary_row *r), void *u);

typedef struct store_totals {
    int64_t requests, endpoints, versions, instances, outliers, services;
    int64_t recorded, dropped, written, write_errors;
} store_totals;
int store_totals_get(store *st, store_totals *out);

/* ---- raw rows -------------------------------------------------------------------- */

typedef struct store_raw_row {
    const char *group, *ip; /* "" when none was recorded */
    int64_t ts_us, version_id, duration_us;
    int status;
} store_raw_row;
/* Every request of endpoint ep in [from, to) (of f's instances when
 * given), streamed newest first, so that a reader that needs only the
 * newest N stops after them. */
int store_raw_scan(store *st, const store_filter *f, int64_t ep, int64_t from_us, int64_t to_us,
                   int (*cb)(void *u, const store_raw_row *r), void *u);

enum { STORE_OUTLIERS_NEWEST, STORE_OUTLIERS_SLOWEST };
typedef struct store_outlier_row {
    int64_t id, request_id, endpoint_id, ts_us, duration_us;
    const char *endpoint;                       /* store_outlier_get only */
    const char *stack, *cpu, *memory, *details; /* store_outlier_get only */
} store_outlier_row;
/* One page of endpoint ep's outliers in [from, to), and how many the
 * range holds. */
int store_outliers_page(store *st, int64_t ep, int64_t from_us, int64_t to_us, int sort,
                        int64_t limit, int64_t offset, int64_t *total,
                        int (*cb)(void *u, const store_outlier_row *r), void *u);
/* One outlier with its captures; EVD_ENOENT when there is none. */
int store_outlier_get(store *st, int64_t id, int (*cb)(void *u, const store_outlier_row *r),
                      void *u);

typedef struct store_profiled_row {
    int64_t request_id, endpoint_id, ts_us, duration_us, lines;
    const char *version;
} store_profiled_row;
/* One page of endpoint ep's profiled requests in [from, to), newest first. */
int store_profiled_page(store *st, int64_t ep, int64_t from_us, int64_t to_us, int64_t limit,
                        int64_t offset, int64_t *total,
                        int (*cb)(void *u, const store_profiled_row *r), void *u);
/* One profiled request (lines: how many tree lines it has); EVD_ENOENT. */
int store_profiled_get(store *st, int64_t request_id, store_profiled_row *out);

typedef struct store_line_row {
    const char *version; /* store_profile_grouped only */
    int position, indent, line;
    const char *function, *file;
    int64_t duration_us, samples, requests;
} store_line_row;
/* The call tree of one request, in pre-order. */
int store_profile_lines(store *st, int64_t request_id, int (*cb)(void *u, const store_line_row *r),
                        void *u);
/* Every profiled request's lines of endpoint ep in [from, to), grouped per
 * version by (function, file, line, indent), versions in the order first
 * seen, heaviest lines first. */
int store_profile_grouped(store *st, int64_t ep, int64_t from_us, int64_t to_us,
                          int (*cb)(void *u, const store_line_row *r), void *u);

/* A cursor over every request in [from, to) in time order, for exports
 * that stream millions of rows.  Open it on a handle of its own. */
typedef struct store_cursor store_cursor;
typedef struct store_export_row {
    int64_t id, ts_us, duration_us;
    int status;
    const char *endpoint, *version, *group, *ip, *instance, *service; /* group, ip may be NULL */
} store_export_row;
int store_export_open(store *st, const store_filter *f, int64_t from_us, int64_t to_us,
                      store_cursor **out);
/* 1 with a row in *r (borrowed until the next call), 0 at the end, or a
 * negative code. */
int store_export_next(store_cursor *c, store_export_row *r);
void store_export_close(store_cursor *c);

/* ---- users, sessions, settings ------------------------------------------------------ */

typedef struct store_user_row {
    int64_t id;
    const char *username, *pw_hash, *role;
    int disabled;
} store_user_row;
/* The user `name`; EVD_ENOENT when there is none. */
int store_user_get(store *st, const char *name, int (*cb)(void *u, const store_user_row *r),
                   void *u);
int store_user_put(store *st, const char *name, const char *pw_hash, const char *role,
                   int64_t now_us);
int store_users_count(store *st, const char *role, int64_t *n);
/* Disable every enabled user not named in names[0..n) (the config is the
 * source of truth); *disabled gets how many. */
int store_users_disable_others(store *st, const char *const *names, size_t n, int64_t *disabled);

typedef struct store_session_row {
    int64_t user_id, expires_us;
    const char *csrf, *role, *username, *pw_hash;
    const unsigned char *pw_tag; /* the session's binding to its password */
    size_t pw_tag_len;
    int disabled;
} store_session_row;
/* The session whose token hashes to th[0..n); EVD_ENOENT when none. */
int store_session_get(store *st, const void *th, size_t n,
                      int (*cb)(void *u, const store_session_row *r), void *u);
int store_session_put(store *st, const void *th, size_t n, int64_t user_id, const char *csrf,
                      const void *pw_tag, size_t tag_len, int64_t now_us, int64_t expires_us);
int store_session_delete(store *st, const void *th, size_t n);
int store_sessions_expire(store *st, int64_t now_us);

#endif

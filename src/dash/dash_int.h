/* dash_int.h — the dashboard handler's internals, shared by src/dash only.
 *
 * A request becomes a dctx: the parsed query, the caller's identity, and a
 * store connection borrowed from the handle's pool for the request's
 * duration.  Route functions fill c->rs through the reply helpers. */
#ifndef EVD_DASH_INT_H
#define EVD_DASH_INT_H

#include <jansson.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include "evodash.h"
#include "dash/tz.h"
#include "store/read.h"
#include "store/store.h"

#define DASH_POOL_MAX   8
#define DASH_PARAMS_MAX 32
#define DASH_TZ_CACHE   16
#define DASH_INST_MAX   64 /* instances one view can be narrowed to */
#define ATTACH_RETRY_US (2LL * 1000000)

enum { ROLE_NONE = 0, ROLE_GUEST = 1, ROLE_ADMIN = 2, ROLE_TOKEN = 3 };

/* A cached time zone: refs requests hold it (the configured zone one more,
 * for good); used orders evictions. */
typedef struct tz_entry {
    tz_zone *z;
    int refs;
    uint64_t used;
} tz_entry;

struct evd_dash {
    char *db_url;
    char db_shown[512]; /* db_url with its password masked */
    char prefix[72];
    char tz_default[64];
    char token_hash[32]; /* BLAKE2b of SECURITY_TOKEN */
    int has_token;
    char guest_name[128];
    char **guest_pw;                /* extra GUEST_PASSWORD entries (a list is allowed) */
    unsigned char (*guest_key)[32]; /* their session-tag keys (auth.c) */
    int nguest_pw;
    int64_t session_ttl_us; /* SESSION_HOURS */
    int cookie_secure;      /* COOKIE_SECURE */
    int64_t raw_rows_max;   /* RAW_ROWS_MAX */
    int retention_days;     /* RETENTION_DAYS, shown beside the store's size */
    char dummy_hash[128];   /* verified against for unknown users: equal timing */

    /* the store, attached at open or later (a store down at start) */
    pthread_mutex_t attach_mu; /* attach, err */
    _Atomic int attached;
    int serves;              /* the handle answers requests (perhaps 503) */
    int64_t attach_after_us; /* monotonic: no attempt before */
    evd_config *cfg;         /* for a retried attach */
    const evd_agent *live;   /* this process's agent, when it has one */

    pthread_mutex_t lock; /* guards the pool and the tz cache */
    store *pool[DASH_POOL_MAX];
    int npool;
    struct ratelimit *rl; /* login failures (auth.c), behind a lock of its own */
    tz_entry tz_cache[DASH_TZ_CACHE];
    int ntz;
    uint64_t tz_clock;
    struct aggcache *aggcache;       /* closed days' rollups, merged (aggcache.c) */
    struct rawscan_cache *rawscan;   /* shared raw-row summaries (rawscan.c) */
    struct findings_cache *findings; /* computed findings (api_findings.c) */
    struct compactor *compactor;     /* packs past hours (compactor.c); NULL: PACK_HOURS off */
    int64_t findings_min_requests;   /* FINDINGS_MIN_REQUESTS */
    double findings_min_ratio;       /* FINDINGS_MIN_RATIO */
    char err[512];
};

typedef struct dparam {
    char *key, *val; /* decoded, in the dctx's param buffer */
} dparam;

typedef struct dctx {
    evd_dash *d;
    const evd_dash_request *rq;
    evd_dash_response *rs;
    store *st;
    const char *sub; /* path after the prefix: "/api/overview" */
    /* ?service= and ?instance=: what the view is narrowed to (dash_filter) */
    store_filter filter;
    int64_t inst_ids[DASH_INST_MAX];
    int64_t *svc_eps; /* the filtered service's endpoint ids, sorted; owned */
    size_t nsvc_eps;
    int svc_eps_loaded;
    int role;
    int64_t user_id;
    char username[128];
    char csrf[72];
    int64_t id; /* the {id} path segment, when the route has one */
    dparam params[DASH_PARAMS_MAX];
    int nparams;
    char *parambuf;
    const tz_zone *tz; /* the zone of dash_tz(), held until the request ends */
    tz_zone *tz_own;   /* ... and freed then, when no cache entry was free */
} dctx;

/* A time range from the query: [from_us, to_us) in UTC, and the zone that
 * views bucket by.  open_to: `to` was not given (the range ends now);
 * open_from: nor was `from` (the default span back from `to`). */
typedef struct drange {
    int64_t from_us, to_us;
    const tz_zone *tz;
    int open_from, open_to;
} drange;

typedef struct dpage {
    int64_t page, per_page, offset;
} dpage;

/* ---- reply.c, params.c (the router, handler.c, also uses helpers.h) ---- */
/* Reply with doc (stolen) as JSON.  Returns 0 or EVD_ENOMEM. */
int dash_json(dctx *c, int status, json_t *doc);
/* Reply {"error": message, "status": status}.  Returns 0. */
int dash_error(dctx *c, int status, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Reply with body (copied) of the given type. */
int dash_text(dctx *c, int status, const char *type, const char *body, size_t len);
/* The decoded value of a query parameter, or NULL.  Borrowed for the
 * request. */
const char *dash_param(const dctx *c, const char *key);
/* An integer parameter in [lo, hi] (def when absent).  On bad input it
 * replies 400 and returns -1. */
int dash_param_int(dctx *c, const char *key, int64_t lo, int64_t hi, int64_t def, int64_t *out);
/* from/to/tz; def_span_s is the span when from is absent.  Replies 400 and
 * returns -1 on bad input. */
int dash_range(dctx *c, int64_t def_span_s, drange *r);
/* The zone named by ?tz= or the configured TIMEZONE; replies 400 and
 * returns NULL on bad input.  Borrowed until the request ends. */
const tz_zone *dash_tz(dctx *c);
/* page/per_page.  Replies 400 and returns -1 on bad input. */
int dash_page(dctx *c, dpage *p);
/* Wrap a list into {"items", "page", "per_page", "total"}, taking only the
 * page's slice of items (stolen). */
json_t *dash_paged(json_t *items, const dpage *p);
/* Reply 404 unless endpoint c->id exists; returns -1 after replying. */
int dash_endpoint_exists(dctx *c, char *name, size_t cap);
/* A store failure rc: reply with its message, 404 for EVD_ENOENT, 503 when
 * the store is unreachable (EVD_EBUSY), else 500.  Returns 0. */
int dash_store_error(dctx *c, int rc, const char *what);
/* Parse ?service= (a name or id) and ?instance= (ids, comma-separated)
 * into c->filter.  Replies 400/404 and returns -1 on bad input. */
int dash_filter(dctx *c);
/* A request header (case-insensitive), or NULL. */
const char *dash_header(const dctx *c, const char *name);
/* Decode form-urlencoded src[0..n) into dst (n + 1 bytes).  Returns -1 on a
 * broken escape or an encoded NUL. */
int dash_urldecode(const char *src, size_t n, char *dst);
/* Format epoch microseconds as local ISO-8601 in tz into out[40]. */
void dash_iso(const tz_zone *tz, int64_t us, char *out, size_t cap);
json_t *dash_time(const tz_zone *tz, int64_t us); /* ISO string, or null for 0 */

/* ---- auth.c ---- */
/* SECURITY_TOKEN, from the config alone (the store is not needed). */
void auth_token(evd_dash *d, const evd_config *cfg);
int bearer_ok(const evd_dash *d, const char *value);
/* Nonzero when the request carries the bearer token. */
int auth_bearer(const dctx *c);
int auth_bootstrap(evd_dash *d, store *st, const evd_config *cfg);
/* Identify the caller from the session cookie or the bearer token. */
int auth_identify(dctx *c);
/* Nonzero when the request carries the session's CSRF token. */
int auth_csrf_ok(const dctx *c);
int route_login(dctx *c);
int route_logout(dctx *c);
int route_session(dctx *c);
/* Parse a login body (form or JSON) into user/pass.  Returns 0 or -1 with
 * a message in err.  Exposed for the fuzzer. */
int auth_parse_login(const char *body, size_t len, const char *ctype, char *user, size_t ucap,
                     char *pass, size_t pcap, char *err, size_t ecap);

/* ---- api_aggregate.c ---- */
int api_overview(dctx *c);
int api_rules(dctx *c);
int api_set_level(dctx *c);
int api_heatmap(dctx *c);
int api_daily(dctx *c);
int api_hourly(dctx *c);
int api_performance(dctx *c);
int api_versions(dctx *c);
int api_instances(dctx *c);
int api_counters(dctx *c);
int api_matrix(dctx *c);
int api_evolution(dctx *c);
int api_services(dctx *c);

/* Every version, in the order first seen (api_aggregate.c).  vers_load
 * replies and returns -1 on failure. */
typedef struct dver {
    int64_t id, first_us, last_us;
    char *name, *label;    /* label: tag and short hash, else the name */
    int important, hidden; /* an admin's marks (read_verdicts.h) */
} dver;
typedef struct verlist {
    dver *v;
    size_t n, cap;
} verlist;
int vers_load(dctx *c, verlist *l);
void vers_free(verlist *l);
const char *vers_name(const verlist *l, int64_t id);  /* "" when unknown */
const char *vers_label(const verlist *l, int64_t id); /* "" when unknown */

/* ---- api_endpoint.c ---- */
int api_ep_versions(dctx *c);
int api_ep_groups(dctx *c);
int api_ep_ips(dctx *c);
int api_ep_bubbles(dctx *c);
int api_ep_status(dctx *c);
int api_ep_heatmap(dctx *c);
int api_outliers(dctx *c);
int api_outlier(dctx *c);
int api_profiler(dctx *c);
int api_ep_profile(dctx *c);
int api_ep_profiled(dctx *c);

/* ---- export.c ---- */
int api_export(dctx *c);
int route_metrics(dctx *c);
/* /metrics while the store cannot be read: this process's live counters. */
int route_metrics_live(dctx *c);

/* ---- aggcache.c ---- rollup aggregates over hours, grouped */
enum { AG_EP, AG_VER, AG_VER_EP };
struct sketch;
typedef struct agg_acc {
    int64_t k1, k2; /* AG_EP: (endpoint, 0); AG_VER: (version, 0); AG_VER_EP: (version, endpoint) */
    int64_t count, sum, min, max;
    int64_t cls[6];    /* [0] other, [1..5] 1xx..5xx */
    struct sketch *sk; /* merged, when asked for and count > 0 */
} agg_acc;
typedef struct agg_result {
    agg_acc *v;
    size_t n;
    size_t *slot;
    size_t nslot;
} agg_result;
/* What to aggregate: the rollups of hours [h0, h1), of endpoint only_ep
 * when >= 0, of the sorted endpoint ids eps[0..neps) when eps is set (a
 * service's), of f's instances when f names some; grouped by `group`. */
typedef struct agg_ask {
    const store_filter *f;
    const int64_t *eps;
    size_t neps;
    int64_t h0, h1, only_ep;
    int group, want_sketch;
} agg_ask;
struct aggcache *aggcache_new(void);
void aggcache_free(struct aggcache *ac);
/* Build (or refresh) the cache now.  Returns 0 or a negative code (the
 * message on st). */
int aggcache_warm(struct aggcache *ac, store *st);
/* The same as if the UTC clock read now_us (for tests of the day roll). */
int aggcache_warm_at(struct aggcache *ac, store *st, int64_t now_us);
/* Aggregate as q asks.  0 or a negative code (message on st); free the
 * result with agg_free(). */
int aggcache_query(struct aggcache *ac, store *st, const agg_ask *q, agg_result *out);
/* Call cb with the request count of every (endpoint, UTC hour) of q's
 * range that has one.  0 or a negative code. */
int aggcache_hourly(struct aggcache *ac, store *st, const agg_ask *q,
                    void (*cb)(void *u, int64_t ep, int64_t hour, int64_t count), void *u);
agg_acc *agg_find(const agg_result *r, int64_t k1, int64_t k2);
void agg_free(agg_result *r);
/* The routes' use of the cache (api_aggregate.c): c's filter and service
 * applied, and on failure a reply and -1. */
int agg_query(dctx *c, int64_t h0, int64_t h1, int group, int64_t only_ep, int want_sketch,
              agg_result *out);
int agg_hourly(dctx *c, int64_t h0, int64_t h1, int64_t only_ep,
               void (*cb)(void *u, int64_t ep, int64_t hour, int64_t count), void *u);

/* ---- stats.c ---- box-plot statistics */
typedef struct boxstat {
    double min, q1, median, q3, max, mean;
    int64_t count;
} boxstat;
/* Exact, from raw durations (reordered in place). */
void box_from_values(int64_t *v, size_t n, boxstat *out);
json_t *box_json(const boxstat *b);
/* From an aggregate with its sketch (aggcache.c). */
void box_from_acc(const agg_acc *a, boxstat *out);

/* ---- rawscan.c ---- one shared pass over an endpoint's raw rows */
typedef struct rawscan_box {
    char key[64]; /* group or IP; "" when none was recorded */
    boxstat box;
} rawscan_box;
typedef struct rawscan_pair {
    char key[64];
    int64_t version_id, count;
    double sum_us;
} rawscan_pair;
/* One dimension: its boxes sorted by key, its (key, version) pairs
 * sorted by key then version id. */
typedef struct rawscan_dim {
    char name[64]; /* the grouping's name; "ip" for the IPs */
    rawscan_box *box;
    size_t nbox;
    rawscan_pair *pair;
    size_t npair;
} rawscan_dim;
/* Groupings beyond the first RAWSCAN_GROUPINGS seen are not read. */
#define RAWSCAN_GROUPINGS 8
typedef struct rawscan_code {
    int status;
    int64_t count;
} rawscan_code;
/* The summary of (endpoint, from, to, instances).  Immutable once ready. */
typedef struct rawscan {
    int64_t endpoint_id, from_us, to_us, rows;
    int64_t partial_from_us;     /* 0: every row of the range; else only the
                                  * newest, from this time on (see rawscan.c) */
    int64_t inst[DASH_INST_MAX]; /* the instances it covers (none: all) */
    size_t ninst;
    /* Per grouping (groupings.c), in the order of the newest request that
     * names them, then per IP.  A row without a grouping counts under "". */
    rawscan_dim group[RAWSCAN_GROUPINGS];
    size_t ngroup; /* at least 1: "group" when no row names any */
    rawscan_dim ip;
    rawscan_code *codes; /* sorted by status */
    size_t ncodes;
    /* the cache's bookkeeping, under its mutex */
    int refs, ready, detached, err_code;
    int64_t built_us; /* monotonic */
    char err[160];
    struct rawscan *next;
} rawscan;
struct rawscan_cache *rawscan_cache_new(void);
void rawscan_cache_free(struct rawscan_cache *rc);
/* The summary of endpoint ep's rows in r (its newest max_rows when it
 * holds more) of f's instances, scanned once and shared by concurrent and
 * recent callers.  NULL on failure, with the code in *rc and the message
 * in err.  The caller holds a reference until rawscan_release(). */
const rawscan *rawscan_get(struct rawscan_cache *cache, store *st, const store_filter *f,
                           int64_t ep, const drange *r, int64_t max_rows, int *rc, char *err,
                           size_t errcap);
void rawscan_release(struct rawscan_cache *cache, const rawscan *s);
/* Mark doc (a route's reply) with how much of the range s covers:
 * "partial": null, or {"from": time, "rows": n} when only the newest rows
 * were read. */
void rawscan_describe(const rawscan *s, const drange *r, json_t *doc);
/* The grouping called name (NULL or "": the first); NULL when the range
 * has none such. */
const rawscan_dim *rawscan_grouping(const rawscan *s, const char *name);

/* ---- api_ci.c ---- CI test timings beside live timings */
int api_ci_upload(dctx *c);      /* POST /api/ci/builds: a build's report */
int api_ci_builds(dctx *c);      /* GET /api/ci/builds */
int api_ci_boxes(dctx *c);       /* GET /api/ci/boxes?by=test|endpoint */
int api_ci_correlation(dctx *c); /* GET /api/ci/correlation?endpoint= */
int api_ci_regressions(dctx *c); /* GET /api/ci/regressions */
/* ---- version verdicts: findings, comparisons, marks, renames ---- */
struct store_vmark_row;
/* api_findings.c: the cache of computed findings */
/* compactor.c: packing past hours of raw rows in the background, on a
 * connection of its own to url (borrowed; it must outlive the compactor).
 * NULL when the thread could not start. */
typedef struct compactor compactor;
compactor *compactor_start(const char *url);
void compactor_stop(compactor *c); /* accepts NULL */

struct findings_cache *findings_cache_new(evd_dash *d);
void findings_cache_free(struct findings_cache *fc); /* joins its thread; NULL is fine */
void findings_cache_clear(struct findings_cache *fc);
/* The findings of a service (0: all) over r (NULL: all time), cached: *doc
 * is {"findings", "tests"} (a reference the caller drops), *stale set
 * while a newer result is being computed.  0 or a negative code (the
 * message on c->st). */
int findings_get(dctx *c, int64_t service_id, const drange *r, json_t **doc, int *stale,
                 int64_t *computed_us);
/* The marks of version id (zeros when it has none). */
int version_mark_get(dctx *c, int64_t id, struct store_vmark_row *out);
int api_findings(dctx *c);
int api_version_mark(dctx *c);
int api_renames(dctx *c);
int api_rename_add(dctx *c);
int api_rename_undo(dctx *c);
/* api_compare.c */
int api_compare(dctx *c);
int api_profile_diff(dctx *c);
/* aggcache.c: forget every cached day (after a rename) */
void aggcache_invalidate(struct aggcache *ac);

/* ---- api_capacity.c ---- the Capacity page: a model from live data, what-if */
int api_capacity(dctx *c); /* GET /api/capacity */

/* ---- groupings.c ---- a group text read as several groupings */
#define GROUPING_UNNAMED "group" /* the name of a part without "=" */
typedef struct grouping_part {
    const char *name, *value; /* within the text: not NUL-terminated */
    size_t nlen, vlen;
} grouping_part;
/* Split g ("v", or "name=v;name=v...") into at most max parts, each
 * grouping once (its first value), empty parts and names skipped; returns
 * how many. */
size_t groupings_split(const char *g, grouping_part *out, size_t max);
/* A text of EVD_GROUP_MAX bytes holds at most this many parts. */
#define GROUPINGS_PARTS_MAX (EVD_GROUP_MAX / 2 + 1)
/* The value of grouping name in g: 1 and value[0..*vlen), or 0 when g
 * does not name it. */
int groupings_value(const char *g, const char *name, const char **value, size_t *vlen);
/* strcmp for texts a[0..alen) and b[0..blen) (values within a group text). */
int groupings_cmp(const char *a, size_t alen, const char *b, size_t blen);

#endif

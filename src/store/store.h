/* store.h — the store interface, write side: one database opened by URL,
 * SQLite (a file, the default) or PostgreSQL (a server many hosts share).
 * The writer thread, the importers and the data generators write through
 * it; the read side is in read.h.
 *
 * Every function returns 0 or a negative EVD_E* code and leaves a message
 * in store_errmsg().  A store handle is used by one thread at a time. */
#ifndef EVD_STORE_H
#define EVD_STORE_H

#include <stddef.h>
#include <stdint.h>

typedef struct store store;

#define STORE_RDONLY    0x1 /* open read-only; never create or migrate */
#define STORE_NOMIGRATE 0x2 /* leave the schema as it is (tools, tests) */
/* with STORE_RDONLY: open an older schema too (only to read its version) */
#define STORE_ANY_SCHEMA 0x4

/* Open the store at url and bring its schema up to date:
 *   sqlite:///relative.db, sqlite:////abs.db or a plain path: SQLite;
 *   postgresql://user:password@host:port/dbname[?params], postgres://...,
 *   or libpq's keyword form ("host=... dbname=..."): PostgreSQL.
 * *out is set whenever memory allows, even on error, so the caller can
 * read store_errmsg(); release it with store_close().  EVD_ESCHEMA:
 * written by a newer evodash.  EVD_ECORRUPT: not a database, or not an
 * evodash one.  EVD_EIO: cannot open, create or reach it.  EVD_EINVAL: a
 * URL this build cannot serve.  No message ever holds the password. */
int store_open(const char *url, int flags, store **out);
void store_close(store *st);
const char *store_errmsg(const store *st);
/* "SQLite" or "PostgreSQL". */
const char *store_backend_name(const store *st);
/* The file, or the URL with its password masked: safe to print. */
const char *store_display_url(const store *st);

enum { STORE_URL_BAD = -1, STORE_URL_SQLITE = 0, STORE_URL_PG = 1 };
/* Which backend a DATABASE URL names. */
int store_url_kind(const char *url);
/* Parse a SQLite URL into a file path (written into out).  Returns 0 or
 * EVD_EINVAL (with a message in err). */
int store_url_path(const char *url, char *out, size_t cap, char *err, size_t errcap);
/* url with any password replaced by ***, into out[cap] (always
 * terminated). */
void store_url_redact(const char *url, char *out, size_t cap);

/* Schema (schema.c). */
#define STORE_SCHEMA_VERSION 8
int store_schema_version(store *st, int *version);
/* Migrate up to version `to` (tests use it to build older stores). */
int store_migrate_to(store *st, int to);
/* About how many raw requests the store holds (for progress messages). */
int store_request_estimate(store *st, int64_t *n);

/* Nonzero when st no longer reaches its store: the file was deleted or
 * replaced under it, or it opened read-only.  Close it and open the store
 * again (which recreates a deleted file where its folder allows). */
int store_is_stale(store *st);

/* Transactions.  begin takes the write lock at once in SQLite (BEGIN
 * IMMEDIATE), so concurrent writers queue instead of deadlocking on
 * upgrade; PostgreSQL writers run side by side. */
int store_begin(store *st);
int store_commit(store *st);
void store_rollback(store *st);

/* ---- dimensions --------------------------------------------------------------- */

/* The id of service `name`, created when new. */
int store_service_register(store *st, const char *name, int64_t now_us, int64_t *id);

typedef struct store_instance {
    const char *name; /* INSTANCE, or host:pid */
    const char *host; /* the machine's host name */
    int pid;
    int64_t service_id;
    int64_t version_id; /* 0: unknown */
} store_instance;
int store_instance_register(store *st, const store_instance *in, int64_t now_us, int64_t *id);
/* Upsert a version, extending its last-seen time; *id (may be NULL) gets
 * its id. */
int store_version_touch(store *st, const char *version, int64_t now_us, int64_t *id);
/* Set the label a version is shown as (its tag and short hash). */
int store_version_label(store *st, int64_t id, const char *label);
/* Move a version's first-seen time back to ts_us if earlier (importers). */
int store_version_first_seen(store *st, int64_t id, int64_t ts_us);
/* The endpoint `name` of a service, created with default_level when new;
 * sets its id and its stored level. */
int store_endpoint_upsert(store *st, int64_t service_id, const char *name, const char *rule,
                          const char *methods, int default_level, int64_t *id, int *level);
int store_endpoint_set_level(store *st, int64_t id, int level);
/* Calls cb for every endpoint of the service with its level. */
int store_endpoint_levels(store *st, int64_t service_id, void (*cb)(void *u, int64_t id, int level),
                          void *u);
int store_endpoint_touch(store *st, int64_t id, int64_t last_access_us, uint64_t dropped_delta);
/* Set (not add) how many records of endpoint id this instance dropped, so
 * that a retried sync never counts one twice. */
int store_endpoint_drops(store *st, int64_t endpoint_id, int64_t instance_id, uint64_t dropped);

/* ---- requests and what hangs off them -------------------------------------------- */

typedef struct store_request {
    int64_t endpoint_id, version_id, instance_id;
    int64_t ts_us, duration_us;
    int status;
    const char *group; /* may be NULL */
    const char *ip;    /* may be NULL */
} store_request;
/* Insert one request and return its id in *id (may be NULL).  Ids are
 * unique across every process writing the store and rise within one
 * writer; they are reserved a block at a time.  Inside a transaction;
 * PostgreSQL sends the rows at commit. */
int store_insert_request(store *st, const store_request *r, int64_t *id);

typedef struct store_outlier {
    int64_t request_id, endpoint_id, ts_us, duration_us;
    const char *stack;   /* frames, one per line; may be NULL */
    const char *cpu;     /* JSON array of per-core percentages */
    const char *memory;  /* JSON object */
    const char *details; /* JSON object from the adapter: url, headers, ... */
} store_outlier;
int store_insert_outlier(store *st, const store_outlier *o);

/* One node of a request's profiler call tree, in pre-order. */
typedef struct store_profile_line {
    int64_t request_id;
    int position, indent;
    const char *function, *file;
    int line;
    int64_t duration_us;
    int samples;
} store_profile_line;
int store_insert_profile_line(store *st, const store_profile_line *p);
/* List request id (inserted as r) among the profiled requests, so profile
 * views find it by endpoint and time; once per request with a tree. */
int store_insert_profiled(store *st, int64_t request_id, const store_request *r);

/* ---- rollups ------------------------------------------------------------------ */

/* Rollup of one (endpoint, version, hour, instance) to merge into the row. */
typedef struct store_rollup {
    int64_t endpoint_id, version_id, instance_id, hour; /* hour = UTC epoch hours */
    uint64_t count;
    int64_t sum_us, min_us, max_us;
    uint64_t status_class[6]; /* [1..5] = 1xx..5xx, [0] = anything else */
    const uint8_t *sketch;    /* encoded sketch (sketch.h) */
    size_t sketch_len;
} store_rollup;
int store_rollup_merge(store *st, const store_rollup *r);

/* A rollup being accumulated in memory, one request at a time, before it
 * is merged into its row: the writer, the FMD importer and the synthetic
 * data generators all build rollups this way. */
typedef struct store_rollup_acc {
    uint64_t count;
    int64_t sum_us, min_us, max_us;
    uint64_t status_class[6]; /* as in store_rollup */
    struct sketch *sk;        /* owned; allocated by init */
} store_rollup_acc;

/* Allocate the sketch and start empty.  Returns 0 or EVD_ENOMEM.  Release
 * with store_rollup_acc_free(), which accepts a never-initialised (zeroed)
 * accumulator too. */
int store_rollup_acc_init(store_rollup_acc *a);
void store_rollup_acc_free(store_rollup_acc *a);
void store_rollup_acc_reset(store_rollup_acc *a);
/* Add one request: its stored duration (whole us), its exact duration for
 * the sketch, and its status code. */
void store_rollup_acc_add(store_rollup_acc *a, int64_t dur_us, double exact_us, int status);
/* Merge a non-empty accumulator into the row of (endpoint, version, hour,
 * instance) and reset it.  Inside the caller's transaction. */
int store_rollup_acc_merge(store *st, store_rollup_acc *a, int64_t endpoint_id, int64_t version_id,
                           int64_t hour, int64_t instance_id);

/* ---- counters and retention ------------------------------------------------------ */

typedef struct store_counters {
    uint64_t recorded, dropped, written, write_errors, truncated, outliers;
} store_counters;
int store_instance_counters(store *st, int64_t id, const store_counters *c, int64_t now_us);

typedef struct store_pruned {
    int64_t requests, outliers, samples, profiled, segments;
} store_pruned;
/* Delete, in one short transaction, at most `batch` of each of the raw
 * requests, outliers and profiled requests (with their samples) older
 * than cutoff_us; rollups stay.  *n says how many went: call again until
 * they are all 0. */
int store_prune_batch(store *st, int64_t cutoff_us, int64_t batch, store_pruned *n);

/* Packing past hours of raw rows (compact.c): a scan reads an hour that
 * is packed, and still complete, as one value.  One batch packs up to max
 * (endpoint, instance, hour) groups whose packed copy is missing or
 * stale, newest first, from a window of the hours before before_hour
 * (hours since the epoch).  Call again with done->next_before while
 * done->more. */
#define STORE_COMPACT_SETTLE_US                                                                    \
    (10 * 60 * 1000000LL)          /* an hour is packed this long after it ended */
#define STORE_HOUR_US 3600000000LL /* rollups and packed hours are UTC hours */
/* The hour before which the hours are packed, at now_us. */
#define store_compact_before(now_us) (((now_us)-STORE_COMPACT_SETTLE_US) / STORE_HOUR_US)
typedef struct store_compacted {
    int64_t hours, rows, bytes; /* packed by this batch */
    int64_t next_before;
    int more;
} store_compacted;
int store_compact_batch(store *st, int64_t before_hour, int max, store_compacted *done);
/* How many groups before before_hour wait to be packed. */
int store_compact_pending(store *st, int64_t before_hour, int64_t *n);

/* PostgreSQL only: a commit whose answer was lost with the connection
 * leaves it unknown whether the batch is stored.  store_commit_pending()
 * says so; store_resolve_commit() asks the server once it is back (0 with
 * *stored set, or EVD_EBUSY while it cannot tell).  Always 0 for SQLite. */
int store_commit_pending(const store *st);
int store_resolve_commit(store *st, int *stored);
/* Give up on knowing (the writer counts the batch as lost). */
void store_forget_commit(store *st);

#endif

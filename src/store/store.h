/* store.h — the store interface: one SQLite database (the default), opened
 * by URL.  The writer thread writes through it; the CLI and the dashboard
 * read through store_db() and the queries in query.h.
 *
 * Every function returns 0 or a negative EVD_E* code and leaves a message
 * in store_errmsg().  A store handle is used by one thread at a time. */
#ifndef EVD_STORE_H
#define EVD_STORE_H

#include <stddef.h>
#include <stdint.h>

typedef struct store store;
struct sqlite3;

#define STORE_RDONLY    0x1 /* open read-only; never create or migrate */
#define STORE_NOMIGRATE 0x2 /* leave the schema as it is (tools, tests) */

/* Open the store at url ("sqlite:///relative.db", "sqlite:////abs.db", or a
 * plain path) and bring its schema up to date.  *out is set whenever memory
 * allows, even on error, so the caller can read store_errmsg(); release it
 * with store_close().  EVD_ESCHEMA: written by a newer evodash.
 * EVD_ECORRUPT: not a database, or not an evodash one.  EVD_EIO: cannot open
 * or create the file.  EVD_EINVAL: a URL this build cannot serve. */
int store_open(const char *url, int flags, store **out);
void store_close(store *st);
const char *store_errmsg(const store *st);
struct sqlite3 *store_db(store *st); /* borrowed for the store's life */

/* Parse a DATABASE URL into a file path (written into out).  Returns 0 or
 * EVD_EINVAL (with a message in err). */
int store_url_path(const char *url, char *out, size_t cap, char *err, size_t errcap);

/* Schema (schema.c). */
#define STORE_SCHEMA_VERSION 4
int store_schema_version(store *st, int *version);
/* Migrate up to version `to` (tests use it to build older stores). */
int store_migrate_to(store *st, int to);

/* Transactions.  begin takes the write lock at once (BEGIN IMMEDIATE), so
 * concurrent writers queue instead of deadlocking on upgrade. */
int store_begin(store *st);
int store_commit(store *st);
void store_rollback(store *st);

/* Upserts of the dimension tables; each returns the row id. */
int store_instance_register(store *st, const char *name, const char *host, int pid, int64_t now_us,
                            int64_t *id);
int store_version_touch(store *st, const char *version, int64_t now_us, int64_t *id);
int store_endpoint_upsert(store *st, const char *name, const char *rule, const char *methods,
                          int default_level, int64_t *id, int *level);
int store_endpoint_set_level(store *st, int64_t id, int level);
/* Calls cb for every endpoint with its level (for propagation). */
int store_endpoint_levels(store *st, void (*cb)(void *u, int64_t id, int level), void *u);
int store_endpoint_touch(store *st, int64_t id, int64_t last_access_us, uint64_t dropped_delta);

typedef struct store_request {
    int64_t endpoint_id, version_id, instance_id;
    int64_t ts_us, duration_us;
    int status;
    const char *group; /* may be NULL */
    const char *ip;    /* may be NULL */
} store_request;
/* Insert one request and return its id in *id (may be NULL).  Ids are
 * unique across every process writing the store and rise within one
 * writer; inside a transaction they are reserved a block at a time. */
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

typedef struct store_counters {
    uint64_t recorded, dropped, written, write_errors, truncated, outliers;
} store_counters;
int store_instance_counters(store *st, int64_t id, const store_counters *c, int64_t now_us);

/* Delete raw requests older than cutoff_us (rollups stay).  Returns the
 * number deleted in *n. */
int store_prune(store *st, int64_t cutoff_us, int64_t *n);

#endif

/* agent_int.h — the agent handle and what its threads share.  Only the
 * files of src/agent include this. */
#ifndef EVD_AGENT_INT_H
#define EVD_AGENT_INT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include "evodash.h"
#include "core/ring.h"

struct store;
struct calltree;

/* A running mean needs this many requests before it sets deadlines: fewer
 * makes the first slow-ish requests of a cold endpoint look like outliers. */
#define AGENT_MEAN_MIN_SAMPLES      10
#define AGENT_MAX_ENDPOINTS_DEFAULT 4096
#define AGENT_SLOTS                 1024  /* requests at level >= 2 in flight at once */
#define AGENT_BATCH_MAX             16384 /* a bigger batch merges fewer rollups a request */
#define AGENT_TEST_CHUNK            1024  /* test names per chunk */
#define AGENT_TEST_CHUNKS           ((EVD_TESTS_MAX + AGENT_TEST_CHUNK) / AGENT_TEST_CHUNK)

typedef struct endpoint {
    _Alignas(64) _Atomic int level;
    _Atomic int level_dirty;        /* set from code; writer pushes it to the store */
    _Atomic int64_t last_access_ns; /* UTC ns, 0 = never */
    _Atomic uint64_t dropped;       /* records of this endpoint lost */
    _Atomic uint64_t mean_n;        /* running mean for watchdog deadlines; the writer */
    _Atomic uint64_t mean_sum_ns;   /* alone updates it, from every record */
    /* writer-owned */
    int64_t store_id; /* 0 until the writer has registered it */
    uint64_t dropped_synced;
    int64_t access_synced;
    int level_pushed; /* pushed in the store transaction under way */
    /* immutable after registration */
    char *name, *rule, *methods;
} endpoint;

/* States of an in-flight slot (see inflight.c). */
enum { SLOT_FREE, SLOT_RUN, SLOT_BUSY, SLOT_END_BUSY, SLOT_ENDED, SLOT_ORPHAN_BUSY, SLOT_ORPHAN };

/* What the watchdog and sampler captured for one request; freed by the
 * writer (or by the watchdog for an orphan). */
typedef struct capture {
    int outlier;
    char *stack;   /* frames, one per line */
    char *cpu;     /* JSON array */
    char *memory;  /* JSON object */
    char *details; /* JSON object from the adapter */
    struct calltree *tree;
} capture;

typedef struct slot {
    _Atomic int state;
    int endpoint;
    _Atomic int level;
    int64_t t0;               /* monotonic ns */
    _Atomic int64_t deadline; /* monotonic ns; INT64_MAX = none */
    uint64_t thread;          /* pthread_self() */
    pid_t tid;                /* kernel thread id, for signals */
    void *ctx;
    capture *cap; /* written only in SLOT_BUSY by the capturing thread */
    int64_t last_sample;
} slot;

enum agent_thread { AGENT_WRITER, AGENT_WATCHDOG, AGENT_SAMPLER, AGENT_THREADS };

struct evd_agent {
    /* hot path, read-mostly */
    _Atomic int running;
    ring ring;
    endpoint *eps;
    int max_endpoints;
    _Atomic int n_endpoints;
    _Atomic int64_t clock_offset_ns; /* realtime - monotonic */
    double outlier_c;
    _Atomic uint64_t truncated;
    _Atomic uint64_t dropped_other; /* drops not tied to an endpoint (writer bound) */
    slot *slots;
    _Atomic int test_cur; /* the process's running test (citest.c), 0: none */

    /* configuration */
    evd_config *cfg;
    char version[128];
    char version_label[160]; /* "v1.4.0 · 3f2a9c1", or the version */
    char instance_name[320];
    char service_name[128];
    char host[256];    /* the machine's host name */
    int instance_auto; /* the name is host:pid, renamed in a forked child */
    int default_level;
    int sampling_ms;
    int stack_signal;
    int retention_days;
    int flush_ms; /* FLUSH_INTERVAL_MS: how long the writer gathers a batch */
    char *db_url;

    /* the function tracer (libevodash-trace.so), when the process has it */
    void (*trace_begin)(const char *name);
    void (*trace_end)(void);
    int (*trace_enabled)(void);

    /* adapter callbacks */
    evd_stack_fn stack_cb;
    evd_details_fn details_cb;
    void *cb_user;

    /* threads */
    pthread_mutex_t err_mu;  /* err, last_rc */
    pthread_mutex_t reg_mu;  /* endpoint registration */
    pthread_mutex_t fork_mu; /* held by the writer around store work; by fork */
    pthread_mutex_t cap_mu;  /* one stack capture at a time */
    pthread_mutex_t wake_mu;
    pthread_mutex_t level_mu; /* a level and its dirty flag change together */
    pthread_cond_t wake;
    int wake_pending; /* under wake_mu */
    pthread_t writer, watchdog, sampler;
    int threads_started;
    _Atomic int threads_ready; /* threads past their start-up allocations */
    /* the CPU clocks of the agent's own threads, by enum agent_thread, each
     * published by its thread as it starts (bit i of own_clocks): usage.c
     * counts the monitor's own CPU apart from the requests' */
    clockid_t own_clock[AGENT_THREADS];
    _Atomic int own_clocks;
    _Atomic int stopping;

    /* writer state */
    struct store *store;
    int64_t instance_id, version_id, service_id;
    _Atomic int64_t shown_instance; /* instance_id, for the dashboard's threads */
    /* per ring shard: the position up to which records are written or
     * counted (evd_flush waits for the positions it saw accepted) */
    _Atomic uint64_t done_pos[RING_SHARDS_MAX];
    /* evd_flush asks the writer for a store sync (last access, levels,
     * counters) by raising sync_req; the writer answers in sync_done */
    _Atomic uint64_t sync_req, sync_done;
    _Atomic uint64_t written;
    _Atomic uint64_t write_errors;
    _Atomic uint64_t outliers;
    uint64_t recorded_base; /* ring position at start (or fork) */
    ring_rec *batch;
    int last_rc;

    /* test names by id - 1, in chunks that never move once published
     * (citest.c): registered under reg_mu, read by the writer up to
     * n_tests (acquire) */
    char **test_chunk[AGENT_TEST_CHUNKS];
    _Atomic int n_tests;
    int test_header; /* TEST_HEADER */

    struct evd_agent *next_live; /* list of open agents, for fork and exit */
    char err[512];
};

/* agent.c */
int agent_fail(evd_agent *a, int rc, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
int64_t agent_now_us(const evd_agent *a);
void agent_wait(evd_agent *a, int ms);
void agent_wake(evd_agent *a);
/* The highest monitoring level of any endpoint: the watchdog and sampler
 * idle (waking every AGENT_IDLE_SCAN_MS) while it is below theirs. */
int agent_max_level(const evd_agent *a);
#define AGENT_IDLE_SCAN_MS 100
int agent_start_threads(evd_agent *a);
void agent_stop_threads(evd_agent *a);
/* Called by each agent thread once past its start-up allocations: counts
 * it ready and publishes its CPU clock. */
void agent_thread_ready(evd_agent *a, enum agent_thread which);

/* writer.c */
void *writer_main(void *arg);
/* Record drops of records that never reached the store. */
void writer_count_lost(evd_agent *a, const ring_rec *recs, size_t n);
/* Note every ring shard's drained position as done (the writer, after a
 * batch is written or counted; the fork child, after the reset). */
void agent_note_done(evd_agent *a);

/* inflight.c */
int inflight_claim(evd_agent *a, int endpoint, int level, int64_t t0, void *ctx);
/* Called by evd_req_end: returns the slot to carry in the record, or -1. */
int inflight_end(evd_agent *a, int idx);
void inflight_orphan(evd_agent *a, int idx);
/* Background capture protocol: begin returns 0 if the slot is now BUSY. */
int inflight_capture_begin(evd_agent *a, int idx);
void inflight_capture_end(evd_agent *a, int idx);
/* Writer: wait until the slot's capture is complete; returns it (owned by
 * the caller) and frees the slot. */
capture *inflight_take(evd_agent *a, int idx);
void inflight_reap_orphans(evd_agent *a);
void capture_free(capture *c);
void inflight_reset_after_fork(evd_agent *a);

/* citest.c: the name of test id (1..n_tests), or NULL; for the writer.
 * Apply TEST and TEST_HEADER at open; free the names at close. */
const char *agent_test_name(const evd_agent *a, int id);
int agent_tests_open(evd_agent *a);
void agent_tests_free(evd_agent *a);

/* watchdog.c, sampler.c */
void *watchdog_main(void *arg);
void *sampler_main(void *arg);

/* stack.c: the default capture for C services */
int stack_install(evd_agent *a);
int stack_capture(evd_agent *a, const slot *s, char *buf, size_t cap);
/* Adapter callback if set, else the built-in one. */
int stack_capture_any(evd_agent *a, const slot *s, char *buf, size_t cap);

/* calltree.c */
struct calltree *calltree_new(void);
void calltree_free(struct calltree *t);
/* Add one sample: frames text (outermost first) lasting period_us. */
int calltree_add(struct calltree *t, const char *frames, int64_t period_us);
/* Visit the tree in pre-order. */
typedef int (*calltree_visit_fn)(void *u, int position, int indent, const char *function,
                                 const char *file, int line, int64_t duration_us, int samples);
int calltree_walk(const struct calltree *t, calltree_visit_fn fn, void *u);

#endif

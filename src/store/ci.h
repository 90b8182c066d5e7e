/* ci.h — CI test timings in the store: builds, the tests run in them and
 * the requests those tests made.  Kept apart from live data in
 * tables of their own (ci_builds, ci_tests, ci_calls) and joined to it by
 * (service, endpoint name, version).
 *
 * Two ways in.  An agent that runs during a test records each request as a
 * call of that test (store_ci_record), unclaimed; a build's upload
 * (store_ci_put) stores the build and its tests and claims the unclaimed
 * calls of its tests that fall inside each test's time window, all in one
 * transaction.  An upload may also carry calls of its own (the pytest
 * plugin's, or those `evodash collect --calls-from` read).
 *
 * Functions return 0 or a negative EVD_E* code with the message on the
 * store (store_errmsg); the readers call cb once per row, strings borrowed
 * for the call. */
#ifndef EVD_STORE_CI_H
#define EVD_STORE_CI_H

#include <stddef.h>
#include <stdint.h>

#include "store/store.h"

/* store_ci_put: the build is stored already.  Distinct from every EVD_E*
 * code and from STATS_EDEGENERATE. */
#define STORE_CI_EDUP (-21)

#define STORE_CI_NAME_MAX 512 /* bytes of a test, suite or endpoint name */

typedef struct store_ci_call {
    const char *endpoint; /* the endpoint's name in the build's service */
    int64_t ts_us, duration_us;
    int status;
} store_ci_call;

typedef struct store_ci_test {
    const char *suite, *name; /* suite may be "" */
    const char *outcome;      /* "passed", "failed", "error" or "skipped" */
    int iteration;            /* 1, 2, ...: the run of the test within the build */
    int64_t duration_us;
    /* when it ran: the unclaimed calls recorded for it in [from, to] are
     * claimed; 0 and 0: every unclaimed call recorded for it */
    int64_t from_us, to_us;
    const store_ci_call *calls; /* carried by the upload; may be NULL */
    size_t ncalls;
} store_ci_test;

typedef struct store_ci_build {
    const char *service;         /* NULL or "": the store's only service */
    const char *build, *version; /* the CI's build id; the version tested */
    const char *label;           /* "v1.4.0 · 3f2a9c1"; may be NULL */
    int64_t created_us;
    const store_ci_test *tests;
    size_t ntests;
} store_ci_build;

typedef struct store_ci_stored {
    int64_t build_id, tests, calls; /* calls: carried plus claimed */
    int64_t claimed;                /* of which recorded by agents */
} store_ci_stored;

/* Store build b with its tests and calls in one transaction of its own:
 * all of it, or nothing.  STORE_CI_EDUP when (service, build) is stored
 * already; EVD_EINVAL for a build with no test, a missing name, or no
 * service named where the store has several (or none). */
int store_ci_put(store *st, const store_ci_build *b, store_ci_stored *out);

/* Record one request of endpoint (of service service_id) as a call of the
 * running test, unclaimed.  Inside the caller's transaction (the agent's
 * writer batch). */
int store_ci_record(store *st, int64_t service_id, const char *endpoint, const char *test,
                    int64_t ts_us, int64_t duration_us, int status);

/* The unclaimed calls of service (a name) recorded for test in [from, to]
 * (0, 0: any time), for an upload elsewhere: `test` matched as
 * store_ci_put matches it (name, suite::name or suite.name). */
int store_ci_unclaimed(store *st, const char *service, const char *suite, const char *name,
                       int64_t from_us, int64_t to_us, int (*cb)(void *u, const store_ci_call *c),
                       void *u);

/* ---- reading ------------------------------------------------------------------- */

typedef struct store_ci_build_row {
    int64_t id, service_id, created_us;
    const char *service, *build, *version, *label; /* label: the version when none */
    int64_t tests, failed, calls;                  /* failed: failed or error */
} store_ci_build_row;
/* The newest `limit` builds (of service_id when > 0), oldest first. */
int store_ci_builds(store *st, int64_t service_id, int64_t limit,
                    int (*cb)(void *u, const store_ci_build_row *r), void *u);

enum { STORE_CI_BY_TEST, STORE_CI_BY_ENDPOINT };
typedef struct store_ci_sample {
    int64_t build_id;
    const char *suite, *key; /* BY_TEST: suite and test name; BY_ENDPOINT: "" and endpoint */
    int64_t duration_us;
} store_ci_sample;
/* Every duration of builds[0..n): of each test run (BY_TEST), or of each
 * call per endpoint (BY_ENDPOINT); ordered by build, then key. */
int store_ci_samples(store *st, const int64_t *builds, size_t n, int by,
                     int (*cb)(void *u, const store_ci_sample *s), void *u);

typedef struct store_ci_version_sample {
    const char *version, *label;
    int64_t first_build_us; /* when the version's first build was stored */
    int64_t duration_us;
} store_ci_version_sample;
/* Every CI call of endpoint (of service_id when > 0), with the version of
 * its build, in the order the versions were first built. */
int store_ci_endpoint_samples(store *st, int64_t service_id, const char *endpoint,
                              int (*cb)(void *u, const store_ci_version_sample *s), void *u);

#endif

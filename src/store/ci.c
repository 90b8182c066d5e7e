/* ci.c — CI test timings: builds, their tests, and the calls the tests
 * made (see ci.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "evodash.h"
#include "store/ci.h"
#include "store/read.h"
#include "store/read_int.h"
#include "store/sq.h"
#include "store/store_int.h"

static const sq_text SQL_BUILD_INS =
    SQ("INSERT INTO ci_builds(service_id, build, version, label, created_us) VALUES(?1, ?2, ?3, "
       "?4, ?5) ON CONFLICT(service_id, build) DO NOTHING RETURNING id",
       "storing a CI build");
static const sq_text SQL_TEST_INS =
    SQ("INSERT INTO ci_tests(build_id, suite, name, iteration, duration_us, outcome) VALUES(?1, "
       "?2, ?3, ?4, ?5, ?6) RETURNING id",
       "storing a CI test");
static const sq_text SQL_CALL_INS =
    SQ("INSERT INTO ci_calls(service_id, endpoint, test, ts_us, duration_us, status, test_id) "
       "VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7)",
       "storing a CI call");
/* A runner names its test as its report does: the name alone, or with its
 * suite (JUnit classname) before it, joined by "::" or "." (bound ?3-?5),
 * recorded in [?6, ?7]. */
#define CI_TEST_MATCH "service_id = ?2 AND test IN (?3, ?4, ?5) AND ts_us >= ?6 AND ts_us <= ?7"
static const sq_text SQL_CLAIM =
    SQ("UPDATE ci_calls SET test_id = ?1 WHERE test_id IS NULL AND " CI_TEST_MATCH,
       "claiming recorded CI calls");
static const sq_text SQL_UNCLAIMED =
    SQ("SELECT endpoint, ts_us, duration_us, status FROM ci_calls WHERE test_id IS NULL AND ?1 = 0 "
       "AND " CI_TEST_MATCH " ORDER BY ts_us",
       "reading recorded CI calls");

/* The full names a test's calls may carry. */
typedef struct test_names {
    char colons[2 * STORE_CI_NAME_MAX + 4], dot[2 * STORE_CI_NAME_MAX + 4];
} test_names;

static void names_of(const char *suite, const char *name, test_names *n)
{
    snprintf(n->colons, sizeof n->colons, "%s::%s", suite ? suite : "", name);
    snprintf(n->dot, sizeof n->dot, "%s.%s", suite ? suite : "", name);
}

static void bind_match(sq *q, const char *suite, const char *name, const test_names *n,
                       int64_t from_us, int64_t to_us)
{
    sq_bind_str(q, 3, name);
    sq_bind_str(q, 4, suite && *suite ? n->colons : name);
    sq_bind_str(q, 5, suite && *suite ? n->dot : name);
    int any = !from_us && !to_us;
    sq_bind_i64(q, 6, any ? INT64_MIN : from_us);
    sq_bind_i64(q, 7, any ? INT64_MAX : to_us);
}

/* The service a build belongs to: the one named (created when new: CI may
 * run before the first deployment), else the store's only one. */
static int service_of(store *st, const char *name, int64_t now_us, int64_t *id)
{
    if (name && *name)
        return store_service_register(st, name, now_us, id);
    int64_t n = 0;
    int rc = store_services_count(st, &n, id);
    if (rc)
        return rc;
    if (n != 1)
        return store_fail(st, EVD_EINVAL,
                          n ? "the store holds %lld services: name the build's service"
                            : "the store has no service yet: name the build's service",
                          (long long)n);
    return 0;
}

static int check_build(store *st, const store_ci_build *b)
{
    if (!b->build || !*b->build)
        return store_fail(st, EVD_EINVAL, "a CI build needs a build id");
    if (!b->version || !*b->version)
        return store_fail(st, EVD_EINVAL, "build %s: no version", b->build);
    if (!b->ntests)
        return store_fail(st, EVD_EINVAL, "build %s: the report holds no test", b->build);
    for (size_t i = 0; i < b->ntests; i++) {
        const store_ci_test *t = &b->tests[i];
        if (!t->name || !*t->name || strlen(t->name) > STORE_CI_NAME_MAX ||
            (t->suite && strlen(t->suite) > STORE_CI_NAME_MAX))
            return store_fail(st, EVD_EINVAL, "build %s: test %zu has no name or one too long",
                              b->build, i + 1);
        for (size_t k = 0; k < t->ncalls; k++)
            if (!t->calls[k].endpoint || !*t->calls[k].endpoint)
                return store_fail(st, EVD_EINVAL, "build %s: test %s: a call without endpoint",
                                  b->build, t->name);
    }
    return 0;
}

/* One test: its row, its carried calls, its claimed ones. */
static int put_test(store *st, sq *tq, sq *cq, sq *claim, int64_t build_id, int64_t service_id,
                    const store_ci_test *t, store_ci_stored *out)
{
    test_names n;
    names_of(t->suite, t->name, &n);
    sq_bind_i64(tq, 1, build_id);
    sq_bind_str(tq, 2, t->suite ? t->suite : "");
    sq_bind_str(tq, 3, t->name);
    sq_bind_i64(tq, 4, t->iteration > 0 ? t->iteration : 1);
    sq_bind_i64(tq, 5, t->duration_us);
    sq_bind_str(tq, 6, t->outcome ? t->outcome : "passed");
    int rc = sq_step(tq);
    int64_t test_id = rc == SQ_ROW ? sq_i64(tq, 0) : 0;
    sq_reset(tq);
    if (rc < 0)
        return rc;
    if (rc != SQ_ROW)
        return store_fail(st, EVD_EIO, "storing a CI test: no id returned");
    for (size_t k = 0; k < t->ncalls; k++) {
        const store_ci_call *c = &t->calls[k];
        sq_bind_i64(cq, 1, service_id);
        sq_bind_str(cq, 2, c->endpoint);
        sq_bind_str(cq, 3, t->suite && *t->suite ? n.colons : t->name);
        sq_bind_i64(cq, 4, c->ts_us);
        sq_bind_i64(cq, 5, c->duration_us);
        sq_bind_i64(cq, 6, c->status);
        sq_bind_i64(cq, 7, test_id);
        if ((rc = sq_exec(cq)))
            return rc;
    }
    sq_bind_i64(claim, 1, test_id);
    sq_bind_i64(claim, 2, service_id);
    bind_match(claim, t->suite, t->name, &n, t->from_us, t->to_us);
    if ((rc = sq_step(claim)) < 0)
        return rc;
    int64_t claimed = sq_changes(claim);
    sq_reset(claim);
    out->tests++;
    out->calls += (int64_t)t->ncalls + claimed;
    out->claimed += claimed;
    return 0;
}

int store_ci_put(store *st, const store_ci_build *b, store_ci_stored *out)
{
    store_ci_stored res = {0};
    sq *bq = NULL, *tq = NULL, *cq = NULL, *claim = NULL;
    int64_t service_id = 0;
    int rc;

    if ((rc = check_build(st, b)))
        return rc;
    if ((rc = store_begin(st)))
        return rc;
    if ((rc = service_of(st, b->service, b->created_us, &service_id)))
        goto done;
    if (!(bq = sq_prepare(st, &SQL_BUILD_INS, 0)) || !(tq = sq_prepare(st, &SQL_TEST_INS, 0)) ||
        !(cq = sq_prepare(st, &SQL_CALL_INS, 0)) || !(claim = sq_prepare(st, &SQL_CLAIM, 0))) {
        rc = EVD_EIO;
        goto done;
    }
    sq_bind_i64(bq, 1, service_id);
    sq_bind_str(bq, 2, b->build);
    sq_bind_str(bq, 3, b->version);
    sq_bind_text(bq, 4, b->label);
    sq_bind_i64(bq, 5, b->created_us);
    rc = sq_step(bq);
    if (rc == SQ_ROW)
        res.build_id = sq_i64(bq, 0);
    sq_reset(bq);
    if (rc < 0)
        goto done;
    if (rc != SQ_ROW) {
        /* ON CONFLICT DO NOTHING returned no row: the same build again
         * (a retried CI job); keep what was stored the first time */
        rc = store_fail(st, STORE_CI_EDUP,
                        "build %s of this service is stored already; nothing was stored", b->build);
        goto done;
    }
    rc = 0;
    for (size_t i = 0; !rc && i < b->ntests; i++)
        rc = put_test(st, tq, cq, claim, res.build_id, service_id, &b->tests[i], &res);
done:
    sq_free(bq);
    sq_free(tq);
    sq_free(cq);
    sq_free(claim);
    if (!rc)
        rc = store_commit(st);
    else
        store_rollback(st);
    if (!rc && out)
        *out = res;
    return rc;
}

int store_ci_record(store *st, int64_t service_id, const char *endpoint, const char *test,
                    int64_t ts_us, int64_t duration_us, int status)
{
    sq *q = sq_prepare(st, &SQL_CALL_INS, 0);
    if (!q)
        return EVD_EIO;
    sq_bind_i64(q, 1, service_id);
    sq_bind_str(q, 2, endpoint);
    sq_bind_str(q, 3, test);
    sq_bind_i64(q, 4, ts_us);
    sq_bind_i64(q, 5, duration_us);
    sq_bind_i64(q, 6, status);
    sq_bind_null(q, 7);
    int rc = sq_exec(q);
    sq_free(q);
    return rc;
}

typedef struct unclaimed_ctx {
    int (*cb)(void *u, const store_ci_call *c);
    void *u;
} unclaimed_ctx;

static int unclaimed_row(sq *q, void *ctx)
{
    unclaimed_ctx *c = ctx;
    store_ci_call call = {.endpoint = sq_str(q, 0),
                          .ts_us = sq_i64(q, 1),
                          .duration_us = sq_i64(q, 2),
                          .status = (int)sq_i64(q, 3)};
    return c->cb(c->u, &call);
}

int store_ci_unclaimed(store *st, const char *service, const char *suite, const char *name,
                       int64_t from_us, int64_t to_us, int (*cb)(void *u, const store_ci_call *c),
                       void *u)
{
    int64_t service_id = 0;
    int rc = service && *service ? store_service_find(st, service, &service_id)
                                 : service_of(st, NULL, 0, &service_id);
    if (rc == EVD_ENOENT)
        return 0; /* nothing was recorded for a service the store never saw */
    if (rc)
        return rc;
    test_names n;
    names_of(suite, name, &n);
    sq *q = sq_prepare(st, &SQL_UNCLAIMED, 0);
    if (q) {
        sq_bind_i64(q, 1, 0);
        sq_bind_i64(q, 2, service_id);
        bind_match(q, suite, name, &n, from_us, to_us);
    }
    unclaimed_ctx c = {cb, u};
    return read_walk(q, unclaimed_row, &c);
}

/* ---- reading ------------------------------------------------------------------- */

static const sq_text SQL_BUILDS = SQ(
    "SELECT * FROM (SELECT b.id, b.service_id, b.created_us, s.name, b.build, b.version, "
    "coalesce(b.label, (SELECT v.label FROM versions v WHERE v.name = b.version), b.version), "
    "(SELECT count(*) FROM ci_tests t WHERE t.build_id = b.id), "
    "(SELECT count(*) FROM ci_tests t WHERE t.build_id = b.id AND t.outcome IN ('failed', "
    "'error')), (SELECT count(*) FROM ci_calls c JOIN ci_tests t ON t.id = c.test_id WHERE "
    "t.build_id = b.id) FROM ci_builds b JOIN services s ON s.id = b.service_id WHERE (?1 = 0 OR "
    "b.service_id = ?1) ORDER BY b.created_us DESC, b.id DESC LIMIT ?2) x ORDER BY 3, 1",
    "reading CI builds");

typedef struct builds_ctx {
    int (*cb)(void *u, const store_ci_build_row *r);
    void *u;
} builds_ctx;

static int build_row(sq *q, void *ctx)
{
    builds_ctx *c = ctx;
    store_ci_build_row r = {.id = sq_i64(q, 0),
                            .service_id = sq_i64(q, 1),
                            .created_us = sq_i64(q, 2),
                            .service = sq_str(q, 3),
                            .build = sq_str(q, 4),
                            .version = sq_str(q, 5),
                            .label = sq_str(q, 6),
                            .tests = sq_i64(q, 7),
                            .failed = sq_i64(q, 8),
                            .calls = sq_i64(q, 9)};
    return c->cb(c->u, &r);
}

int store_ci_builds(store *st, int64_t service_id, int64_t limit,
                    int (*cb)(void *u, const store_ci_build_row *r), void *u)
{
    sq *q = sq_prepare(st, &SQL_BUILDS, 0);
    if (q) {
        sq_bind_i64(q, 1, service_id);
        sq_bind_i64(q, 2, limit);
    }
    builds_ctx c = {cb, u};
    return read_walk(q, build_row, &c);
}

static const sq_text SQL_TEST_SAMPLES =
    SQ2("SELECT build_id, suite, name, duration_us FROM ci_tests WHERE "
        "build_id IN (SELECT value FROM json_each(?1)) AND outcome <> 'skipped' ORDER BY build_id, "
        "suite, name, iteration",
        "SELECT build_id, suite, name, duration_us FROM ci_tests WHERE build_id = ANY(CAST(?1 AS "
        "bigint[])) AND outcome <> 'skipped' ORDER BY build_id, suite, name, iteration",
        "reading CI test durations");
static const sq_text SQL_CALL_SAMPLES =
    SQ2("SELECT t.build_id, '', c.endpoint, c.duration_us FROM ci_calls c JOIN ci_tests t ON t.id "
        "= c.test_id WHERE t.build_id IN (SELECT value FROM json_each(?1)) ORDER BY t.build_id, "
        "c.endpoint, c.ts_us",
        "SELECT t.build_id, '', c.endpoint, c.duration_us FROM ci_calls c JOIN ci_tests t ON t.id "
        "= c.test_id WHERE t.build_id = ANY(CAST(?1 AS bigint[])) ORDER BY t.build_id, "
        "c.endpoint, c.ts_us",
        "reading CI call durations");

typedef struct samples_ctx {
    int (*cb)(void *u, const store_ci_sample *s);
    void *u;
} samples_ctx;

static int sample_row(sq *q, void *ctx)
{
    samples_ctx *c = ctx;
    store_ci_sample s = {.build_id = sq_i64(q, 0),
                         .suite = sq_str(q, 1),
                         .key = sq_str(q, 2),
                         .duration_us = sq_i64(q, 3)};
    if (!s.suite)
        s.suite = "";
    return c->cb(c->u, &s);
}

int store_ci_samples(store *st, const int64_t *builds, size_t n, int by,
                     int (*cb)(void *u, const store_ci_sample *s), void *u)
{
    if (!n)
        return 0; /* sq_bind_ids binds NULL for none: no filter, not "none" */
    sq *q = sq_prepare(st, by == STORE_CI_BY_TEST ? &SQL_TEST_SAMPLES : &SQL_CALL_SAMPLES, 0);
    if (q)
        sq_bind_ids(q, 1, builds, n);
    samples_ctx c = {cb, u};
    return read_walk(q, sample_row, &c);
}

static const sq_text SQL_EP_SAMPLES =
    SQ("SELECT b.version, coalesce(b.label, (SELECT v.label FROM versions v WHERE v.name = "
       "b.version), b.version), f.first_us, c.duration_us FROM ci_calls c "
       "JOIN ci_tests t ON t.id = c.test_id JOIN ci_builds b ON b.id = t.build_id JOIN (SELECT "
       "version, service_id, min(created_us) AS first_us FROM ci_builds GROUP BY version, "
       "service_id) f ON f.version = b.version AND f.service_id = b.service_id WHERE c.endpoint = "
       "?2 AND (?1 = 0 OR b.service_id = ?1) ORDER BY f.first_us, b.version, c.duration_us",
       "reading an endpoint's CI calls");

typedef struct ep_ctx {
    int (*cb)(void *u, const store_ci_version_sample *s);
    void *u;
} ep_ctx;

static int ep_row(sq *q, void *ctx)
{
    ep_ctx *c = ctx;
    store_ci_version_sample s = {.version = sq_str(q, 0),
                                 .label = sq_str(q, 1),
                                 .first_build_us = sq_i64(q, 2),
                                 .duration_us = sq_i64(q, 3)};
    return c->cb(c->u, &s);
}

int store_ci_endpoint_samples(store *st, int64_t service_id, const char *endpoint,
                              int (*cb)(void *u, const store_ci_version_sample *s), void *u)
{
    sq *q = sq_prepare(st, &SQL_EP_SAMPLES, 0);
    if (q) {
        sq_bind_i64(q, 1, service_id);
        sq_bind_str(q, 2, endpoint);
    }
    ep_ctx c = {cb, u};
    return read_walk(q, ep_row, &c);
}

/* ci_report.c — the JSON form of a CI build upload (see ci_report.h). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "evodash.h"
#include "core/hash.h"
#include "dash/ci_report.h"

static int fail(char *err, size_t cap, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int fail(char *err, size_t cap, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, cap, fmt, ap);
    va_end(ap);
    return EVD_EINVAL;
}

static int outcome_ok(const char *o)
{
    static const char *const known[] = {"passed", "failed", "error", "skipped"};
    for (size_t i = 0; i < sizeof known / sizeof known[0]; i++)
        if (!strcmp(o, known[i]))
            return 1;
    return 0;
}

/* Number the tests that came without an iteration by their occurrence:
 * the second run of (suite, name) is iteration 2.  A table of indices by
 * hash, so that a build of many thousand runs stays linear. */
static int number_iterations(store_ci_test *t, size_t n, const int *given)
{
    size_t cap = 16;
    while (cap < n * 2)
        cap *= 2;
    size_t *slot = malloc(cap * sizeof *slot);
    if (!slot)
        return EVD_ENOMEM;
    for (size_t i = 0; i < cap; i++)
        slot[i] = SIZE_MAX;
    for (size_t i = 0; i < n; i++) {
        uint64_t h = fnv1a64(t[i].suite) * FNV1A64_PRIME ^ fnv1a64(t[i].name);
        size_t k = (size_t)h & (cap - 1);
        while (slot[k] != SIZE_MAX &&
               (strcmp(t[slot[k]].suite, t[i].suite) || strcmp(t[slot[k]].name, t[i].name)))
            k = (k + 1) & (cap - 1);
        if (!given[i])
            t[i].iteration = slot[k] == SIZE_MAX ? 1 : t[slot[k]].iteration + 1;
        slot[k] = i; /* the latest run: the next one counts on from it */
    }
    free(slot);
    return 0;
}

static int parse_call(json_t *o, store_ci_call *c, size_t ti, size_t ci, char *err, size_t cap)
{
    json_error_t je;
    const char *ep;
    json_int_t dur, ts = 0, status = 200;
    if (json_unpack_ex(o, &je, JSON_STRICT, "{s:s,s:I,s?I,s?I}", "endpoint", &ep, "duration_us",
                       &dur, "ts_us", &ts, "status", &status))
        return fail(err, cap, "tests[%zu].calls[%zu]: %s", ti, ci, je.text);
    if (!*ep || strlen(ep) > STORE_CI_NAME_MAX || dur < 0 || status < 0 || status > 999)
        return fail(err, cap, "tests[%zu].calls[%zu]: endpoint, duration_us or status out of range",
                    ti, ci);
    *c = (store_ci_call){.endpoint = ep, .ts_us = ts, .duration_us = dur, .status = (int)status};
    return 0;
}

int ci_report_parse(const char *body, size_t len, int64_t now_us, ci_report *out, char *err,
                    size_t errcap)
{
    json_error_t je;
    json_t *tests = NULL;
    json_int_t created = now_us;
    int *given = NULL, rc = 0;

    memset(out, 0, sizeof *out);
    if (!body || !len)
        return fail(err, errcap, "send the build as a JSON object");
    if (!(out->doc = json_loadb(body, len, JSON_REJECT_DUPLICATES, &je)))
        return fail(err, errcap, "malformed JSON at line %d: %s", je.line, je.text);
    store_ci_build *b = &out->b;
    if (json_unpack_ex(out->doc, &je, JSON_STRICT, "{s:s,s:s,s?s,s?s,s?I,s:o}", "build", &b->build,
                       "version", &b->version, "label", &b->label, "service", &b->service,
                       "created_us", &created, "tests", &tests))
        return fail(err, errcap, "%s", je.text);
    b->created_us = created;
    if (!*b->build || strlen(b->build) > 200 || !*b->version || strlen(b->version) > 200)
        return fail(err, errcap, "build and version must be 1 to 200 bytes");
    if (!json_is_array(tests))
        return fail(err, errcap, "tests: expected an array");
    size_t n = json_array_size(tests), ncalls = 0, i;
    json_t *t;
    if (!n)
        return fail(err, errcap, "build %s: the report holds no test", b->build);
    json_array_foreach(tests, i, t)
    {
        json_t *calls = json_is_object(t) ? json_object_get(t, "calls") : NULL;
        ncalls += json_is_array(calls) ? json_array_size(calls) : 0;
    }
    out->tests = calloc(n, sizeof *out->tests);
    out->calls = calloc(ncalls ? ncalls : 1, sizeof *out->calls);
    given = calloc(n, sizeof *given);
    if (!out->tests || !out->calls || !given) {
        rc = EVD_ENOMEM;
        goto done;
    }
    size_t at = 0;
    json_array_foreach(tests, i, t)
    {
        store_ci_test *x = &out->tests[i];
        json_t *calls = NULL;
        json_int_t iter = 0, dur, from = 0, to = 0;
        const char *suite = "", *outcome = "passed";
        if (json_unpack_ex(t, &je, JSON_STRICT, "{s?s,s:s,s?I,s:I,s?s,s?I,s?I,s?o}", "suite",
                           &suite, "name", &x->name, "iteration", &iter, "duration_us", &dur,
                           "outcome", &outcome, "from_us", &from, "to_us", &to, "calls", &calls)) {
            rc = fail(err, errcap, "tests[%zu]: %s", i, je.text);
            goto done;
        }
        if (!*x->name || strlen(x->name) > STORE_CI_NAME_MAX || strlen(suite) > STORE_CI_NAME_MAX ||
            dur < 0 || iter < 0 || iter > 1000000 || !outcome_ok(outcome) ||
            (calls && !json_is_array(calls))) {
            rc = fail(err, errcap,
                      "tests[%zu]: name, duration_us, iteration, outcome (passed, failed, error, "
                      "skipped) or calls out of range",
                      i);
            goto done;
        }
        x->suite = suite;
        x->outcome = outcome;
        x->iteration = (int)iter;
        given[i] = iter > 0;
        x->duration_us = dur;
        x->from_us = from;
        x->to_us = to;
        x->calls = out->calls + at;
        size_t k;
        json_t *c;
        json_array_foreach(calls, k, c)
        {
            if ((rc = parse_call(c, &out->calls[at], i, k, err, errcap)))
                goto done;
            at++;
            x->ncalls++;
        }
    }
    if ((rc = number_iterations(out->tests, n, given)))
        goto done;
    b->tests = out->tests;
    b->ntests = n;
done:
    free(given);
    if (rc == EVD_ENOMEM)
        snprintf(err, errcap, "out of memory");
    return rc;
}

void ci_report_free(ci_report *r)
{
    if (!r)
        return;
    free(r->tests);
    free(r->calls);
    json_decref(r->doc);
    memset(r, 0, sizeof *r);
}

json_t *ci_report_json(const store_ci_build *b)
{
    json_t *tests = json_array();
    json_t *doc = json_pack("{s:s,s:s,s:I,s:o}", "build", b->build, "version", b->version,
                            "created_us", (json_int_t)b->created_us, "tests", tests);
    if (!doc)
        return NULL;
    if ((b->label && json_object_set_new(doc, "label", json_string(b->label))) ||
        (b->service && *b->service && json_object_set_new(doc, "service", json_string(b->service))))
        goto oom;
    for (size_t i = 0; i < b->ntests; i++) {
        const store_ci_test *t = &b->tests[i];
        json_t *calls = json_array();
        json_t *o =
            json_pack("{s:s,s:s,s:i,s:I,s:s,s:o}", "suite", t->suite ? t->suite : "", "name",
                      t->name, "iteration", t->iteration, "duration_us", (json_int_t)t->duration_us,
                      "outcome", t->outcome ? t->outcome : "passed", "calls", calls);
        if (!o || json_array_append_new(tests, o))
            goto oom;
        if ((t->from_us || t->to_us) &&
            (json_object_set_new(o, "from_us", json_integer(t->from_us)) ||
             json_object_set_new(o, "to_us", json_integer(t->to_us))))
            goto oom;
        for (size_t k = 0; k < t->ncalls; k++) {
            const store_ci_call *c = &t->calls[k];
            json_t *co = json_pack("{s:s,s:I,s:I,s:i}", "endpoint", c->endpoint, "duration_us",
                                   (json_int_t)c->duration_us, "ts_us", (json_int_t)c->ts_us,
                                   "status", c->status);
            if (!co || json_array_append_new(calls, co))
                goto oom;
        }
    }
    return doc;
oom:
    json_decref(doc);
    return NULL;
}

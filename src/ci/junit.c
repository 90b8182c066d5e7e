/* junit.c — JUnit XML reports into test cases (see junit.h). */
#include <errno.h>
#include <expat.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "evodash.h"
#include "ci/junit.h"

#define JUNIT_FILE_MAX (256u << 20) /* a report larger than this is not one */

typedef struct parse {
    XML_Parser xp;
    junit_set *set;
    size_t first; /* set->n before this report: undone on error */
    int in_case;  /* inside a <testcase> */
    int rc;
    char *err;
    size_t errcap;
    const char *what;
} parse;

static const char *attr(const XML_Char **a, const char *name)
{
    for (; a && a[0]; a += 2)
        if (!strcmp(a[0], name))
            return a[1];
    return NULL;
}

static void stop(parse *p, int rc, const char *msg)
{
    if (p->rc)
        return;
    p->rc = rc;
    snprintf(p->err, p->errcap, "%s:%lu: %s", p->what,
             (unsigned long)XML_GetCurrentLineNumber(p->xp), msg);
    XML_StopParser(p->xp, XML_FALSE);
}

/* "0.0123" seconds (pytest, ctest), or empty: microseconds. */
static int parse_time(const char *s, int64_t *us)
{
    if (!s || !*s) {
        *us = 0;
        return 0;
    }
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    while (*end == ' ')
        end++;
    if (errno || *end || !(v >= 0) || v > 1e7)
        return -1;
    *us = (int64_t)(v * 1e6 + 0.5);
    return 0;
}

static void on_start(void *u, const XML_Char *el, const XML_Char **a)
{
    parse *p = u;
    if (p->rc)
        return;
    if (!strcmp(el, "testcase")) {
        const char *name = attr(a, "name"), *cls = attr(a, "classname");
        int64_t us;
        if (p->in_case)
            return stop(p, EVD_EINVAL, "a testcase inside a testcase");
        if (!name || !*name)
            return stop(p, EVD_EINVAL, "a testcase without a name");
        if (parse_time(attr(a, "time"), &us))
            return stop(p, EVD_EINVAL, "a testcase whose time is not a number of seconds");
        junit_set *s = p->set;
        if (s->n == s->cap) {
            size_t nc = s->cap ? s->cap * 2 : 64;
            junit_case *nv = realloc(s->v, nc * sizeof *nv);
            if (!nv)
                return stop(p, EVD_ENOMEM, "out of memory");
            s->v = nv;
            s->cap = nc;
        }
        junit_case *c = &s->v[s->n];
        *c = (junit_case){.suite = strdup(cls ? cls : ""),
                          .name = strdup(name),
                          .outcome = "passed",
                          .duration_us = us};
        s->n++;
        if (!c->suite || !c->name)
            return stop(p, EVD_ENOMEM, "out of memory");
        /* ctest marks tests it did not run as status="notrun"/"disabled" */
        const char *status = attr(a, "status");
        if (status && (!strcmp(status, "notrun") || !strcmp(status, "disabled")))
            c->outcome = "skipped";
        p->in_case = 1;
        return;
    }
    if (!p->in_case)
        return;
    junit_case *c = &p->set->v[p->set->n - 1];
    /* an error outranks a failure, which outranks a skip */
    if (!strcmp(el, "error"))
        c->outcome = "error";
    else if (!strcmp(el, "failure") && strcmp(c->outcome, "error"))
        c->outcome = "failed";
    else if (!strcmp(el, "skipped") && !strcmp(c->outcome, "passed"))
        c->outcome = "skipped";
}

static void on_end(void *u, const XML_Char *el)
{
    parse *p = u;
    if (!strcmp(el, "testcase"))
        p->in_case = 0;
}

static void undo(junit_set *s, size_t first)
{
    for (size_t i = first; i < s->n; i++) {
        free(s->v[i].suite);
        free(s->v[i].name);
    }
    s->n = first;
}

int junit_parse(const char *buf, size_t len, const char *what, junit_set *into, char *err,
                size_t errcap)
{
    parse p = {.set = into, .first = into->n, .err = err, .errcap = errcap, .what = what};
    if (!(p.xp = XML_ParserCreate("UTF-8"))) {
        snprintf(err, errcap, "out of memory");
        return EVD_ENOMEM;
    }
    XML_SetUserData(p.xp, &p);
    XML_SetElementHandler(p.xp, on_start, on_end);
    if (XML_Parse(p.xp, buf, (int)len, XML_TRUE) == XML_STATUS_ERROR && !p.rc) {
        p.rc = EVD_EINVAL;
        snprintf(err, errcap, "%s:%lu: malformed XML: %s", what,
                 (unsigned long)XML_GetCurrentLineNumber(p.xp),
                 XML_ErrorString(XML_GetErrorCode(p.xp)));
    }
    XML_ParserFree(p.xp);
    if (!p.rc && into->n == p.first) {
        p.rc = EVD_EINVAL;
        snprintf(err, errcap, "%s: the report holds no test case", what);
    }
    if (p.rc)
        undo(into, p.first);
    return p.rc;
}

int junit_read_file(const char *path, junit_set *into, char *err, size_t errcap)
{
    FILE *f = fopen(path, "rb");
    char *buf = NULL;
    int rc;
    if (!f) {
        snprintf(err, errcap, "%s: %s", path, strerror(errno));
        return EVD_ENOENT;
    }
    size_t cap = 1 << 16, n = 0, got;
    if (!(buf = malloc(cap))) {
        rc = EVD_ENOMEM;
        snprintf(err, errcap, "out of memory");
        goto done;
    }
    while ((got = fread(buf + n, 1, cap - n, f)) > 0) {
        n += got;
        if (n == cap) {
            char *nb = cap < JUNIT_FILE_MAX ? realloc(buf, cap * 2) : NULL;
            if (!nb) {
                rc = EVD_EINVAL;
                snprintf(err, errcap, "%s: larger than %u MiB: not a test report", path,
                         JUNIT_FILE_MAX >> 20);
                goto done;
            }
            buf = nb;
            cap *= 2;
        }
    }
    if (ferror(f)) {
        rc = EVD_ENOENT;
        snprintf(err, errcap, "%s: %s", path, strerror(errno));
        goto done;
    }
    rc = junit_parse(buf, n, path, into, err, errcap);
done:
    free(buf);
    fclose(f);
    return rc;
}

void junit_set_free(junit_set *s)
{
    undo(s, 0);
    free(s->v);
    memset(s, 0, sizeof *s);
}

/* cmd_collect.c — `evodash collect`: a CI job's test timings into a store
 * or up to a dashboard.
 *
 * It reads JUnit XML reports (--junit FILE...), or runs a test command N
 * times and reads the reports of each run (--cmd, --times), and stores
 * them as one build (--build, or the CI's own build id) of one version (the
 * git HEAD as the agent reads it, or --version): straight into a store with
 * --db, or through POST /api/ci/builds with the dashboard's SECURITY_TOKEN.
 * Either way the build is stored whole or not at all.  Requests the
 * service under test recorded as calls of the tests (EVODASH_TEST,
 * X-Evodash-Test) are claimed by the build in the store they were recorded
 * into; --calls-from reads them from that store to send them along. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "evodash.h"
#include "ci/junit.h"
#include "ci/upload.h"
#include "cli/commands.h"
#include "core/clock.h"
#include "core/config.h"
#include "core/git_version.h"
#include "dash/ci_report.h"
#include "store/ci.h"
#include "store/store.h"

#define FILES_MAX 64
#define TIMES_MAX 1000

static void usage(FILE *f)
{
    fprintf(f, "usage: evodash collect --junit FILE... [--build ID] [--version V]\n"
               "                       (--url DASHBOARD_URL --token T | --db URL)\n"
               "       evodash collect --cmd \"COMMAND\" --times N --junit FILE... ...\n\n"
               "Store the test timings of a CI build, kept apart from live data, to set\n"
               "beside the live timings of the same endpoints and versions.\n\n"
               "  --junit FILE     a JUnit XML report (pytest --junitxml, ctest --output-junit);\n"
               "                   repeat it, or list several files after it\n"
               "  --cmd COMMAND    run COMMAND (with /bin/sh) and read the reports it writes;\n"
               "  --times N        ... N times (default 1): each run is one iteration\n"
               "  --build ID       the build id (default: GITHUB_RUN_ID, CI_PIPELINE_ID,\n"
               "                   BUILD_NUMBER, CIRCLE_BUILD_NUM, BUILDKITE_BUILD_NUMBER, ...)\n"
               "  --version V      the version tested (default: git HEAD, as the agent reads it)\n"
               "  --service NAME   the service (default: SERVICE_NAME, else the store's only one)\n"
               "  --url URL        upload to the dashboard at URL (https://host/dashboard) ...\n"
               "  --token T        ... with its SECURITY_TOKEN (default: $EVODASH_TOKEN)\n"
               "  --db URL         or write straight into the store at URL\n"
               "  --calls-from URL send along the calls the service under test recorded into\n"
               "                   the store at URL (with --url)\n"
               "  --config FILE    read GIT, APP_VERSION and SERVICE_NAME from FILE\n");
}

typedef struct opts {
    const char *files[FILES_MAX];
    int nfiles;
    const char *cmd, *build, *version, *service, *url, *token, *db, *calls_from, *config;
    int times;
} opts;

/* The CI's build id from its environment, into out; 0 or -1. */
static int ci_build_id(char *out, size_t cap)
{
    /* GitHub re-runs a workflow under the same run id: an attempt past
     * the first is a build of its own */
    const char *gh = getenv("GITHUB_RUN_ID"), *att = getenv("GITHUB_RUN_ATTEMPT");
    if (gh && *gh) {
        if (att && *att && strcmp(att, "1"))
            snprintf(out, cap, "%s.%s", gh, att);
        else
            snprintf(out, cap, "%s", gh);
        return 0;
    }
    static const char *const vars[] = {"CI_PIPELINE_ID",      "BUILD_NUMBER",
                                       "CIRCLE_BUILD_NUM",    "BUILDKITE_BUILD_NUMBER",
                                       "DRONE_BUILD_NUMBER",  "BITBUCKET_BUILD_NUMBER",
                                       "TRAVIS_BUILD_NUMBER", "BUILD_BUILDID"};
    for (size_t i = 0; i < sizeof vars / sizeof vars[0]; i++) {
        const char *v = getenv(vars[i]);
        if (v && *v) {
            snprintf(out, cap, "%s", v);
            return 0;
        }
    }
    return -1;
}

/* Run cmd with /bin/sh; its exit status (a failing test suite is data,
 * not an error), or -1 when it could not run. */
static int run_cmd(const char *cmd)
{
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
        _exit(127);
    }
    int st;
    while (waitpid(pid, &st, 0) < 0)
        if (errno != EINTR)
            return -1;
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + (WIFSIGNALED(st) ? WTERMSIG(st) : 0);
}

/* The tests of one run (iteration it, window [from, to]) appended to b. */
typedef struct runs {
    junit_set cases;
    store_ci_test *t;
    size_t n, cap;
} runs;

static int add_run(runs *r, size_t first, int it, int64_t from, int64_t to)
{
    for (size_t i = first; i < r->cases.n; i++) {
        if (r->n == r->cap) {
            size_t nc = r->cap ? r->cap * 2 : 64;
            store_ci_test *nv = realloc(r->t, nc * sizeof *nv);
            if (!nv)
                return EVD_ENOMEM;
            r->t = nv;
            r->cap = nc;
        }
        const junit_case *c = &r->cases.v[i];
        r->t[r->n++] = (store_ci_test){.suite = c->suite,
                                       .name = c->name,
                                       .outcome = c->outcome,
                                       .iteration = it,
                                       .duration_us = c->duration_us,
                                       .from_us = from,
                                       .to_us = to};
    }
    return 0;
}

/* Without --cmd: one report after another; a test met again is its next
 * iteration. */
static void number_by_occurrence(runs *r)
{
    for (size_t i = 0; i < r->n; i++) {
        int it = 1;
        for (size_t k = 0; k < i; k++)
            if (!strcmp(r->t[k].suite, r->t[i].suite) && !strcmp(r->t[k].name, r->t[i].name))
                it = r->t[k].iteration + 1;
        r->t[i].iteration = it;
    }
}

static int read_reports(const opts *o, runs *r, char *err, size_t errcap)
{
    int rc = 0;
    if (!o->cmd) {
        for (int f = 0; f < o->nfiles && !rc; f++)
            rc = junit_read_file(o->files[f], &r->cases, err, errcap);
        if (!rc && !(rc = add_run(r, 0, 1, 0, 0)))
            number_by_occurrence(r);
        return rc;
    }
    for (int it = 1; it <= o->times; it++) {
        /* a report left from the run before must not count again */
        for (int f = 0; f < o->nfiles; f++)
            unlink(o->files[f]);
        int64_t from = clock_real_ns() / 1000;
        int st = run_cmd(o->cmd);
        int64_t to = clock_real_ns() / 1000;
        if (st < 0) {
            snprintf(err, errcap, "cannot run %s: %s", o->cmd, strerror(errno));
            return EVD_EIO;
        }
        fprintf(stderr, "evodash collect: run %d of %d exited %d (%.1f s)\n", it, o->times, st,
                (double)(to - from) / 1e6);
        size_t first = r->cases.n;
        for (int f = 0; f < o->nfiles && !rc; f++)
            rc = junit_read_file(o->files[f], &r->cases, err, errcap);
        if (rc || (rc = add_run(r, first, it, from, to)))
            return rc;
    }
    return 0;
}

typedef struct calls {
    store_ci_call *v;
    char **names;
    size_t n, cap;
} calls;

static int keep_call(void *u, const store_ci_call *c)
{
    calls *l = u;
    if (l->n == l->cap) {
        size_t nc = l->cap ? l->cap * 2 : 256;
        store_ci_call *nv = realloc(l->v, nc * sizeof *nv);
        char **nn = nv ? realloc(l->names, nc * sizeof *nn) : NULL;
        if (nv)
            l->v = nv;
        if (!nn)
            return EVD_ENOMEM;
        l->names = nn;
        l->cap = nc;
    }
    if (!(l->names[l->n] = strdup(c->endpoint)))
        return EVD_ENOMEM;
    l->v[l->n] = *c;
    l->v[l->n].endpoint = l->names[l->n];
    l->n++;
    return 0;
}

/* --calls-from: each test's recorded calls, read from the local store and
 * carried by the upload (offsets into l, fixed up once l stops moving). */
static int calls_from(const char *url, const char *service, runs *r, calls *l, char *err,
                      size_t errcap)
{
    store *st = NULL;
    size_t *at = calloc(r->n + 1, sizeof *at);
    int rc = at ? store_open(url, STORE_RDONLY, &st) : EVD_ENOMEM;
    for (size_t i = 0; !rc && i < r->n; i++) {
        at[i] = l->n;
        rc = store_ci_unclaimed(st, service, r->t[i].suite, r->t[i].name, r->t[i].from_us,
                                r->t[i].to_us, keep_call, l);
        r->t[i].ncalls = l->n - at[i];
    }
    if (rc)
        snprintf(err, errcap, "%s", st ? store_errmsg(st) : "out of memory");
    for (size_t i = 0; !rc && i < r->n; i++)
        r->t[i].calls = r->t[i].ncalls ? l->v + at[i] : NULL;
    store_close(st);
    free(at);
    return rc;
}

static int parse_args(int argc, char **argv, opts *o)
{
    static const struct option lo[] = {{"junit", required_argument, NULL, 'j'},
                                       {"cmd", required_argument, NULL, 'c'},
                                       {"times", required_argument, NULL, 'n'},
                                       {"build", required_argument, NULL, 'b'},
                                       {"version", required_argument, NULL, 'v'},
                                       {"service", required_argument, NULL, 's'},
                                       {"url", required_argument, NULL, 'u'},
                                       {"token", required_argument, NULL, 't'},
                                       {"db", required_argument, NULL, 'd'},
                                       {"calls-from", required_argument, NULL, 'f'},
                                       {"config", required_argument, NULL, 'C'},
                                       {"help", no_argument, NULL, 'h'},
                                       {NULL, 0, NULL, 0}};
    int ch;
    char *end;
    o->times = 1;
    optind = 1;
    while ((ch = getopt_long(argc, argv, "j:c:n:b:v:s:u:t:d:f:C:h", lo, NULL)) != -1) {
        switch (ch) {
        case 'j':
            if (o->nfiles == FILES_MAX)
                return fprintf(stderr, "evodash collect: at most %d reports\n", FILES_MAX), 2;
            o->files[o->nfiles++] = optarg;
            break;
        case 'c':
            o->cmd = optarg;
            break;
        case 'n':
            o->times = (int)strtol(optarg, &end, 10);
            if (*end || o->times < 1 || o->times > TIMES_MAX)
                return fprintf(stderr, "evodash collect: --times takes 1 to %d\n", TIMES_MAX), 2;
            break;
        case 'b':
            o->build = optarg;
            break;
        case 'v':
            o->version = optarg;
            break;
        case 's':
            o->service = optarg;
            break;
        case 'u':
            o->url = optarg;
            break;
        case 't':
            o->token = optarg;
            break;
        case 'd':
            o->db = optarg;
            break;
        case 'f':
            o->calls_from = optarg;
            break;
        case 'C':
            o->config = optarg;
            break;
        case 'h':
            usage(stdout);
            return 0;
        default:
            usage(stderr);
            return 2;
        }
    }
    /* --junit a.xml b.xml: the files after the option */
    for (; optind < argc; optind++) {
        if (o->nfiles == FILES_MAX)
            return fprintf(stderr, "evodash collect: at most %d reports\n", FILES_MAX), 2;
        o->files[o->nfiles++] = argv[optind];
    }
    if (!o->token)
        o->token = getenv("EVODASH_TOKEN");
    const char *why = !o->nfiles                ? "name the reports with --junit FILE"
                      : !o->url == !o->db       ? "give one of --url (with --token) or --db"
                      : o->url && !o->token     ? "--url needs --token (or EVODASH_TOKEN)"
                      : o->times > 1 && !o->cmd ? "--times needs --cmd"
                      : o->calls_from && o->db  ? "--calls-from goes with --url (--db claims them)"
                                                : NULL;
    if (why) {
        fprintf(stderr, "evodash collect: %s\n\n", why);
        usage(stderr);
        return 2;
    }
    return -1;
}

int cmd_collect(int argc, char **argv)
{
    opts o = {0};
    runs r = {0};
    calls cl = {0};
    evd_config *cfg = NULL;
    store *st = NULL;
    json_t *doc = NULL;
    char *body = NULL;
    char err[600], build[256], version[128], label[GIT_LABEL_MAX + 8];
    int rc = parse_args(argc, argv, &o), status = 1;
    if (rc >= 0)
        return rc;

    if (!(cfg = evd_config_new()) || (o.config && evd_config_load(cfg, o.config)) ||
        evd_config_apply_env(cfg)) {
        fprintf(stderr, "evodash collect: %s\n", cfg ? evd_config_errmsg(cfg) : "out of memory");
        goto done;
    }
    if (o.build)
        snprintf(build, sizeof build, "%s", o.build);
    else if (ci_build_id(build, sizeof build)) {
        fprintf(stderr, "evodash collect: no build id: pass --build ID (no CI variable such as "
                        "GITHUB_RUN_ID or CI_PIPELINE_ID is set)\n");
        goto done;
    }
    if (o.version) {
        snprintf(version, sizeof version, "%s", o.version);
        snprintf(label, sizeof label, "%s", o.version);
    } else {
        if (git_resolve_version(cfg, version, sizeof version, err, sizeof err)) {
            fprintf(stderr, "evodash collect: %s\n", err);
            goto done;
        }
        if (git_resolve_label(cfg, label, sizeof label, err, sizeof err))
            snprintf(label, sizeof label, "%s", version);
    }
    const char *service = o.service ? o.service : config_str(cfg, "SERVICE_NAME");
    if ((rc = read_reports(&o, &r, err, sizeof err))) {
        fprintf(stderr, "evodash collect: %s; nothing was stored\n", err);
        goto done;
    }
    if (o.calls_from && calls_from(o.calls_from, service, &r, &cl, err, sizeof err)) {
        fprintf(stderr, "evodash collect: --calls-from: %s; nothing was stored\n", err);
        goto done;
    }
    store_ci_build b = {.service = service,
                        .build = build,
                        .version = version,
                        .label = label,
                        .created_us = clock_real_ns() / 1000,
                        .tests = r.t,
                        .ntests = r.n};
    store_ci_stored out = {0};
    if (o.db) {
        if (store_open(o.db, 0, &st) || store_ci_put(st, &b, &out)) {
            fprintf(stderr, "evodash collect: %s\n", st ? store_errmsg(st) : "out of memory");
            goto done;
        }
        printf("evodash collect: build %s (version %s): %lld test runs, %lld calls stored in %s\n",
               build, label, (long long)out.tests, (long long)out.calls, store_display_url(st));
        status = 0;
        goto done;
    }
    long http = 0;
    char reply[1024];
    if (!(doc = ci_report_json(&b)) || !(body = json_dumps(doc, JSON_COMPACT))) {
        fprintf(stderr, "evodash collect: out of memory\n");
        goto done;
    }
    if (ci_upload(o.url, o.token, body, &http, reply, sizeof reply, err, sizeof err)) {
        fprintf(stderr, "evodash collect: upload failed: %s; nothing was stored\n", err);
        goto done;
    }
    if (http != 201) {
        json_t *e = json_loads(reply, 0, NULL);
        const char *msg = e ? json_string_value(json_object_get(e, "error")) : NULL;
        fprintf(stderr, "evodash collect: the dashboard answered %ld%s%s%s\n", http,
                msg ? ": " : "", msg ? msg : "",
                http == 401 || http == 403 ? " (check --token); nothing was stored" : "");
        json_decref(e);
        goto done;
    }
    printf("evodash collect: build %s (version %s): %zu test runs uploaded: %s\n", build, label,
           r.n, reply);
    status = 0;
done:
    free(body);
    json_decref(doc);
    store_close(st);
    for (size_t i = 0; i < cl.n; i++)
        free(cl.names[i]);
    free(cl.names);
    free(cl.v);
    free(r.t);
    junit_set_free(&r.cases);
    evd_config_free(cfg);
    return status;
}

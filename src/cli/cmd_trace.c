/* cmd_trace.c — `evodash utillog`, `evodash profile` and `evodash validate`:
 * the command-line side of the profiling tool chain (src/utillog/, src/profile/). */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli/commands.h"
#include "profile/profile.h"
#include "profile/schema.h"
#include "utillog/utillog.h"

/* Options are parsed by hand because `profile -cl FILE` (a two-letter
 * single-dash option, kept from the original tool) is not getopt syntax. */
static const char *opt_value(int argc, char **argv, int *i, const char *cmd)
{
    if (*i + 1 >= argc) {
        fprintf(stderr, "evodash %s: %s needs a value\n", cmd, argv[*i]);
        return NULL;
    }
    return argv[++*i];
}

static int parse_double_opt(const char *s, double *v)
{
    char *end;
    errno = 0;
    *v = strtod(s, &end);
    return s[0] && !*end && !errno ? 0 : -1;
}

static int ensure_dir(const char *dir, const char *cmd)
{
    struct stat st;
    if (stat(dir, &st) == 0 && S_ISDIR(st.st_mode))
        return 0;
    if (mkdir(dir, 0777) == 0)
        return 0;
    fprintf(stderr, "evodash %s: %s: %s\n", cmd, dir, strerror(errno));
    return -1;
}

/* ---- utillog ---------------------------------------------------------------- */

static volatile sig_atomic_t g_stop;

static void on_signal(int sig)
{
    (void)sig;
    g_stop = 1;
}

static void utillog_usage(FILE *f)
{
    fprintf(f, "usage: evodash utillog -p PROGRAM [-o DIR] [--hz 10] [--duration SECONDS]\n"
               "                       [--refresh SECONDS]\n\n"
               "Write DIR/UtilLog.csv (time,cpu,mem: whole-system CPU in percent, 100 = one\n"
               "core, and used memory in bytes) at HZ samples per second, and DIR/netLog.csv\n"
               "(start,target,end) with the outgoing TCP and UDP connections of every\n"
               "process named PROGRAM.  The process list is refreshed every minute\n"
               "(--refresh).  Reads /proc only.  Stops cleanly on SIGINT or SIGTERM, or after\n"
               "--duration, and prints its own CPU use.  DIR defaults to '.'.\n");
}

int cmd_utillog(int argc, char **argv)
{
    struct utillog_opts o = {.outdir = ".", .hz = 10, .stop = &g_stop, .diag = stderr};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v;
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            utillog_usage(stdout);
            return 0;
        }
        if (!strcmp(a, "-p") || !strcmp(a, "-o") || !strcmp(a, "--hz") ||
            !strcmp(a, "--duration") || !strcmp(a, "--refresh")) {
            if (!(v = opt_value(argc, argv, &i, "utillog")))
                return 2;
            double d = 0;
            if (a[1] == 'p')
                o.program = v;
            else if (a[1] == 'o')
                o.outdir = v;
            else if (parse_double_opt(v, &d) < 0 || d < 0 ||
                     (a[2] == 'h' && !(d > 0 && d <= 1000))) {
                fprintf(stderr, "evodash utillog: %s: bad number '%s'\n", a, v);
                return 2;
            } else if (a[2] == 'h')
                o.hz = d;
            else if (a[2] == 'd')
                o.duration_s = d;
            else
                o.refresh_s = d;
            continue;
        }
        fprintf(stderr, "evodash utillog: unknown option '%s'\n", a);
        utillog_usage(stderr);
        return 2;
    }
    if (!o.program) {
        fprintf(stderr, "evodash utillog: -p PROGRAM is required\n");
        utillog_usage(stderr);
        return 2;
    }
    if (ensure_dir(o.outdir, "utillog") < 0)
        return 1;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal; /* no SA_RESTART: the sleep must wake up */
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    struct utillog_stats st;
    char err[512];
    int rc = utillog_run(&o, &st, err, sizeof err);
    if (rc < 0) {
        fprintf(stderr, "evodash utillog: %s\n", err);
        return 1;
    }
    double pct = st.wall_s > 0 ? 100.0 * st.cpu_s / st.wall_s : 0;
    printf("utillog: %llu samples, %llu connections logged in %.2f s\n",
           (unsigned long long)st.samples, (unsigned long long)st.connections, st.wall_s);
    printf("utillog: own CPU %.3f s = %.2f%% of one core\n", st.cpu_s, pct);
    return 0;
}

/* ---- profile ---------------------------------------------------------------- */

static void profile_usage(FILE *f)
{
    fprintf(f, "usage: evodash profile -cl CALLLOG [-l UtilLog.csv] [-n netLog.csv] [-d DEPTH]\n"
               "                       [-o DIR] [--name NAME] [--no-validate] [--no-html]\n"
               "                       [--max-reports N]\n\n"
               "Rebuild one call tree per thread from CALLLOG (text, 3 or 4 columns), cut it\n"
               "at DEPTH levels below each interaction (1 coarse .. 100 fine; default 3),\n"
               "attribute CPU and memory from UtilLog.csv, split out the connections of\n"
               "netLog.csv as remote calls, and write DIR/profile.json, services.json,\n"
               "mapping.json, gantt.html and callgraph.html (DIR defaults to '.').  Every\n"
               "output is validated against the shipped JSON Schemas.  Bad lines are\n"
               "reported with their line number (the first N of each kind, default 20).\n");
}

int cmd_profile(int argc, char **argv)
{
    struct profile_opts o = {
        .outdir = ".", .depth = 3, .validate = 1, .html = 1, .diag = stderr, .max_reports = 20};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v;
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            profile_usage(stdout);
            return 0;
        }
        if (!strcmp(a, "--no-validate")) {
            o.validate = 0;
            continue;
        }
        if (!strcmp(a, "--no-html")) {
            o.html = 0;
            continue;
        }
        if (!strcmp(a, "-cl") || !strcmp(a, "-l") || !strcmp(a, "-n") || !strcmp(a, "-o") ||
            !strcmp(a, "--name") || !strcmp(a, "-d") || !strcmp(a, "--max-reports")) {
            if (!(v = opt_value(argc, argv, &i, "profile")))
                return 2;
            if (!strcmp(a, "-cl"))
                o.calllog = v;
            else if (!strcmp(a, "-l"))
                o.utillog = v;
            else if (!strcmp(a, "-n"))
                o.netlog = v;
            else if (!strcmp(a, "-o"))
                o.outdir = v;
            else if (!strcmp(a, "--name"))
                o.name = v;
            else {
                char *end;
                long n = strtol(v, &end, 10);
                if (!v[0] || *end || n < (a[1] == 'd' ? 1 : 0) || n > 1000) {
                    fprintf(stderr,
                            "evodash profile: %s: expected an integer in %d..1000, got '%s'\n", a,
                            a[1] == 'd' ? 1 : 0, v);
                    return 2;
                }
                if (a[1] == 'd')
                    o.depth = (int)n;
                else
                    o.max_reports = (int)n;
            }
            continue;
        }
        fprintf(stderr, "evodash profile: unknown option '%s'\n", a);
        profile_usage(stderr);
        return 2;
    }
    if (!o.calllog) {
        fprintf(stderr, "evodash profile: -cl CALLLOG is required\n");
        profile_usage(stderr);
        return 2;
    }
    if (ensure_dir(o.outdir, "profile") < 0)
        return 1;
    struct profile_stats st;
    char err[1024];
    int rc = profile_build(&o, &st, err, sizeof err);
    fprintf(stderr,
            "profile: %llu lines (%llu malformed), %llu threads, %llu calls, %llu interactions, "
            "%llu functions, %llu remote calls; %llu unclosed, %llu unmatched ends, %llu calls "
            "outside interactions%s%s\n",
            (unsigned long long)st.lines, (unsigned long long)st.malformed,
            (unsigned long long)st.threads, (unsigned long long)st.calls,
            (unsigned long long)st.interactions, (unsigned long long)st.functions,
            (unsigned long long)st.remote_calls, (unsigned long long)st.unclosed,
            (unsigned long long)st.unmatched, (unsigned long long)st.outside,
            st.implicit_roots ? "; no startRoot: each top-level call is an interaction" : "",
            st.sorted_fallback ? "; lines were re-sorted by time" : "");
    if (rc < 0) {
        fprintf(stderr, "evodash profile: %s\n", err);
        return 1;
    }
    return 0;
}

/* ---- validate --------------------------------------------------------------- */

static void validate_usage(FILE *f)
{
    fprintf(f,
            "usage: evodash validate [--schema profile|services|mapping|distribution] FILE...\n\n"
            "Check each FILE against the JSON Schema evodash ships for it (chosen from the\n"
            "file's shape unless --schema is given).  Errors name the JSON path, e.g.\n"
            "$.scenarios[0].interactions[2].functions[0].cpu_time: expected number.\n"
            "--print-schema NAME prints a shipped schema.\n");
}

int cmd_validate(int argc, char **argv)
{
    const char *schema = NULL;
    int nfiles = 0, bad = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v;
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            validate_usage(stdout);
            return 0;
        }
        if (!strcmp(a, "--schema") || !strcmp(a, "--print-schema")) {
            if (!(v = opt_value(argc, argv, &i, "validate")))
                return 2;
            size_t len;
            const char *text = schema_text(v, &len);
            if (!text) {
                fprintf(stderr, "evodash validate: unknown schema '%s'\n", v);
                return 2;
            }
            if (a[2] == 'p') {
                fwrite(text, 1, len, stdout);
                return 0;
            }
            schema = v;
            continue;
        }
        if (a[0] == '-' && a[1]) {
            fprintf(stderr, "evodash validate: unknown option '%s'\n", a);
            validate_usage(stderr);
            return 2;
        }
        nfiles++;
        int rc = schema_validate_file(a, schema, stderr, 50);
        if (rc == 0)
            printf("%s: valid\n", a);
        else
            bad++;
    }
    if (!nfiles) {
        validate_usage(stderr);
        return 2;
    }
    return bad ? 1 : 0;
}

/* cmd_stats.c — `evodash stats --db URL`: what a store holds, per endpoint:
 * requests, median and p99 (from the rollups' sketches), errors, drops;
 * and the findings (dash/findings.h), most severe first. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "evodash.h"
#include "cli/commands.h"
#include "core/config.h"
#include "dash/findings.h"
#include "store/read.h"
#include "store/store.h"

static void usage(FILE *f)
{
    fprintf(f, "usage: evodash stats --db URL | --config FILE\n\n"
               "Print, per endpoint, the requests a store holds, their median and 99th\n"
               "percentile duration, errors (4xx/5xx) and dropped records.\n\n"
               "  --db URL        sqlite:///relative.db, sqlite:////absolute.db, a path, or\n"
               "                  postgresql://user:password@host:port/dbname\n"
               "  --config FILE   take DATABASE (and FINDINGS_*) from this config file\n"
               "  --findings-json print only the findings, as /dashboard/api/findings does\n"
               "  --min-requests N, --min-ratio X\n"
               "                  the findings' floors (FINDINGS_MIN_REQUESTS, _RATIO)\n");
}

static void fmt_us(char *out, size_t cap, double us)
{
    if (us < 0)
        snprintf(out, cap, "-");
    else if (us < 1000)
        snprintf(out, cap, "%.0f us", us);
    else if (us < 1000000)
        snprintf(out, cap, "%.1f ms", us / 1000);
    else
        snprintf(out, cap, "%.2f s", us / 1000000);
}

static int print_row(void *u, const store_summary_row *r)
{
    const store_totals *tot = u;
    char name[160];
    if (tot->services > 1)
        snprintf(name, sizeof name, "%s/%s", r->service, r->name);
    else
        snprintf(name, sizeof name, "%s", r->name);
    char p50[32], p99[32], last[32] = "never";
    fmt_us(p50, sizeof p50, r->p50_us);
    fmt_us(p99, sizeof p99, r->p99_us);
    if (r->last_access_us) {
        time_t t = (time_t)(r->last_access_us / 1000000);
        struct tm tm;
        gmtime_r(&t, &tm);
        strftime(last, sizeof last, "%Y-%m-%d %H:%M", &tm);
    }
    printf("%-28.28s %5d %10lld %10s %10s %8lld %8lld  %s\n", name, r->level, (long long)r->count,
           p50, p99, (long long)r->errors, (long long)r->dropped, last);
    return 0;
}

int cmd_stats(int argc, char **argv)
{
    static const struct option opts[] = {{"db", required_argument, NULL, 'd'},
                                         {"config", required_argument, NULL, 'c'},
                                         {"findings-json", no_argument, NULL, 'j'},
                                         {"min-requests", required_argument, NULL, 'n'},
                                         {"min-ratio", required_argument, NULL, 'r'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    const char *url = NULL, *cfgpath = NULL;
    int c, rc = 1, json_only = 0;
    long min_req = 0;
    double min_ratio = 0;
    json_t *found = NULL;
    evd_config *cfg = NULL;
    store *st = NULL;

    optind = 1;
    while ((c = getopt_long(argc, argv, "d:c:h", opts, NULL)) != -1) {
        switch (c) {
        case 'd':
            url = optarg;
            break;
        case 'c':
            cfgpath = optarg;
            break;
        case 'j':
            json_only = 1;
            break;
        case 'n':
            min_req = atol(optarg);
            break;
        case 'r':
            min_ratio = atof(optarg);
            break;
        case 'h':
            usage(stdout);
            return 0;
        default:
            usage(stderr);
            return 2;
        }
    }
    if (optind < argc || (!url && !cfgpath) || min_req < 0 || (min_ratio && !(min_ratio > 1))) {
        usage(stderr);
        return 2;
    }
    if (!url) {
        if (!(cfg = evd_config_new()))
            goto done;
        if (evd_config_load(cfg, cfgpath) || evd_config_apply_env(cfg)) {
            fprintf(stderr, "evodash stats: %s\n", evd_config_errmsg(cfg));
            goto done;
        }
        url = config_str(cfg, "DATABASE");
        if (!min_req)
            min_req = config_int(cfg, "FINDINGS_MIN_REQUESTS");
        if (!min_ratio)
            min_ratio = config_double(cfg, "FINDINGS_MIN_RATIO");
    }
    if (store_open(url, STORE_RDONLY, &st)) {
        fprintf(stderr, "evodash stats: %s\n", store_errmsg(st));
        goto done;
    }
    findings_opts fo = {.from_us = 0,
                        .to_us = INT64_MAX / 4,
                        .min_requests = min_req ? min_req : FINDINGS_MIN_REQUESTS_DEF,
                        .min_ratio = min_ratio ? min_ratio : FINDINGS_MIN_RATIO_DEF,
                        .prefix = "/dashboard"};
    if (findings_compute(st, NULL, &fo, &found)) {
        fprintf(stderr, "evodash stats: findings: %s\n", store_errmsg(st));
        goto done;
    }
    if (json_only) {
        json_dumpf(found, stdout, JSON_INDENT(1));
        printf("\n");
        rc = 0;
        goto done;
    }
    store_totals t = {0};
    if (store_totals_get(st, &t)) {
        fprintf(stderr, "evodash stats: %s\n", store_errmsg(st));
        goto done;
    }
    printf("store: %s (%s)\n\n", store_display_url(st), store_backend_name(st));
    printf("%-28s %5s %10s %10s %10s %8s %8s  %s\n",
           t.services > 1 ? "service/endpoint" : "endpoint", "level", "requests", "p50", "p99",
           "errors", "dropped", "last access (UTC)");
    if (store_summary(st, print_row, &t)) {
        fprintf(stderr, "evodash stats: %s\n", store_errmsg(st));
        goto done;
    }
    printf("\n%lld requests in %lld endpoints of %lld service%s, %lld versions, %lld instances; "
           "%lld outliers\n",
           (long long)t.requests, (long long)t.endpoints, (long long)t.services,
           t.services == 1 ? "" : "s", (long long)t.versions, (long long)t.instances,
           (long long)t.outliers);
    printf("recorded %lld, written %lld, dropped %lld, write errors %lld%s\n",
           (long long)t.recorded, (long long)t.written, (long long)t.dropped,
           (long long)t.write_errors, t.dropped ? "  <-- records were lost" : "");
    json_t *list = json_object_get(found, "findings");
    printf("\n%zu finding%s (at least %lld requests a side, changes of %.2fx or more)\n",
           json_array_size(list), json_array_size(list) == 1 ? "" : "s", (long long)fo.min_requests,
           fo.min_ratio);
    size_t i;
    json_t *f;
    json_array_foreach(list, i, f)
    {
        printf("  %-6s %-16s %s\n", json_string_value(json_object_get(f, "severity")),
               json_string_value(json_object_get(f, "kind")),
               json_string_value(json_object_get(f, "summary")));
    }
    rc = 0;
done:
    json_decref(found);
    store_close(st);
    evd_config_free(cfg);
    return rc;
}

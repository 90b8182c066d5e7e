/* cmd_stats.c — `evodash stats --db URL`: what a store holds, per endpoint:
 * requests, median and p99 (from the rollups' sketches), errors, drops. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "evodash.h"
#include "cli/commands.h"
#include "core/config.h"
#include "store/read.h"
#include "store/store.h"

static void usage(FILE *f)
{
    fprintf(f, "usage: evodash stats --db URL | --config FILE\n\n"
               "Print, per endpoint, the requests a store holds, their median and 99th\n"
               "percentile duration, errors (4xx/5xx) and dropped records.\n\n"
               "  --db URL        sqlite:///relative.db, sqlite:////absolute.db, a path, or\n"
               "                  postgresql://user:password@host:port/dbname\n"
               "  --config FILE   take DATABASE from this config file\n");
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
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    const char *url = NULL, *cfgpath = NULL;
    int c, rc = 1;
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
        case 'h':
            usage(stdout);
            return 0;
        default:
            usage(stderr);
            return 2;
        }
    }
    if (optind < argc || (!url && !cfgpath)) {
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
    }
    if (store_open(url, STORE_RDONLY, &st)) {
        fprintf(stderr, "evodash stats: %s\n", store_errmsg(st));
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
    rc = 0;
done:
    store_close(st);
    evd_config_free(cfg);
    return rc;
}

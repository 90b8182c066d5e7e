/* cmd_import.c — `evodash import-fmd DB [--into URL]`: bring an existing
 * Flask-MonitoringDashboard database into an evodash store. */
#include <getopt.h>
#include <stdio.h>

#include "cli/commands.h"
#include "store/fmd_import.h"
#include "store/store.h"

static void usage(FILE *f)
{
    fprintf(f, "usage: evodash import-fmd FMD_DB [--into URL] [--service NAME]\n\n"
               "Copy a Flask-MonitoringDashboard SQLite database (endpoints, versions,\n"
               "requests, outliers, profiler lines) into an evodash store, in one\n"
               "transaction.\n\n"
               "  --into URL      the store (default sqlite:///evodash.db)\n"
               "  --service NAME  the service to import into (default: the store's only\n"
               "                  service, else one named after the file)\n");
}

int cmd_import_fmd(int argc, char **argv)
{
    static const struct option opts[] = {{"into", required_argument, NULL, 'i'},
                                         {"service", required_argument, NULL, 's'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    const char *into = "sqlite:///evodash.db", *service = NULL;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "i:s:h", opts, NULL)) != -1) {
        if (c == 'i') {
            into = optarg;
        } else if (c == 's') {
            service = optarg;
        } else if (c == 'h') {
            usage(stdout);
            return 0;
        } else {
            usage(stderr);
            return 2;
        }
    }
    if (optind != argc - 1) {
        usage(stderr);
        return 2;
    }
    fmd_counts n;
    char err[512];
    if (fmd_import(argv[optind], into, service, &n, err, sizeof err)) {
        fprintf(stderr, "evodash import-fmd: %s\n", err);
        return 1;
    }
    char shown[512];
    store_url_redact(into, shown, sizeof shown);
    printf("imported %ld endpoints, %ld versions, %ld requests, %ld outliers, %ld profiler "
           "lines into %s\n",
           n.endpoints, n.versions, n.requests, n.outliers, n.profile_lines, shown);
    return 0;
}
